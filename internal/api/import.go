package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/prowl-siem/prowl/internal/sources"
	"github.com/prowl-siem/prowl/internal/sources/rawjson"
	"github.com/prowl-siem/prowl/internal/suggest"
)

// Ingester takes imported events (*pipeline.Pipeline). IngestCounted
// returns nil only once every record of the batch is durable, and says how
// many of them were quarantined rather than written ahead.
type Ingester interface {
	IngestCounted(ctx context.Context, batch sources.Batch) (quarantined int, err error)
}

// DefaultImportMaxBytes is the default limit on an import request's body.
const DefaultImportMaxBytes = 64 << 20

// Import chunks: records handed to the pipeline at once.
const (
	importChunkRecords = 5000
	importChunkBytes   = 8 << 20
)

// ImportSourceID is the source id of imported events; with a source label
// it is ImportSourceID + ":" + the label's slug.
const ImportSourceID = "import"

func (s *Server) importRoutes(handle func(string, handler)) {
	handle("POST /api/v1/import", s.importEvents)
}

// importEvents loads a body of events into the pipeline:
//
//   - The body is NDJSON (or any whitespace-separated JSON objects) or one
//     JSON array of objects, optionally gzip-compressed (Content-Encoding:
//     gzip), up to ImportMaxBytes before and after decompression.
//   - By default (on_invalid=reject) the whole body is checked first: a
//     malformed value or one that is not an object rejects the request
//     with 400 naming its line, column and byte offset, and nothing is
//     kept.
//   - With on_invalid=quarantine the body is NDJSON read line by line, and
//     a line that is not a JSON object is passed on to be quarantined
//     with its reason (what `prowl ingest` sends, having listed those lines
//     with file:line itself).
//   - The records go to the pipeline in chunks of at most 5000; the answer
//     {accepted, quarantined} comes once all are durable. If the pipeline
//     fails midway the answer is 503 with the count of records already
//     accepted (the body's first ones, in order).
func (s *Server) importEvents(w http.ResponseWriter, r *http.Request) error {
	if s.Ingest == nil {
		return notConfigured("imports")
	}
	q := r.URL.Query()
	logType := strings.TrimSpace(q.Get("log_type"))
	if logType == "" {
		return badRequest("log_type: is required: the log type of the events, e.g. Okta.SystemLog")
	}
	if s.LogTypes != nil {
		if known := s.LogTypes(); !slices.Contains(known, logType) {
			return badRequest("log_type: no log type %q%s", logType, suggest.Hint(logType, known))
		}
	}
	sourceID, label := ImportSourceID, strings.TrimSpace(q.Get("source"))
	if label != "" {
		sl := slug(label)
		if sl == "" {
			return badRequest("source: %q has no letters or digits to name the import by", label)
		}
		sourceID += ":" + sl
	}
	lines := false
	switch mode := q.Get("on_invalid"); mode {
	case "", "reject":
	case "quarantine":
		lines = true
	default:
		return badRequest("on_invalid: want reject or quarantine, got %q", mode)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !importTypes[mt] {
			return &httpError{status: http.StatusUnsupportedMediaType,
				msg: fmt.Sprintf("content type %q is not supported; send application/json or application/x-ndjson", ct)}
		}
	}
	gz := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gz = true
	default:
		return &httpError{status: http.StatusUnsupportedMediaType, msg: fmt.Sprintf("content encoding %q is not supported; use gzip or none", enc)}
	}
	limit := s.ImportMaxBytes
	if limit <= 0 {
		limit = DefaultImportMaxBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("body larger than %d bytes; split the import", limit)}
		}
		return badRequest("reading body: %v", err)
	}
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return badRequest("body is not valid gzip: %v", err)
		}
		plain, err := io.ReadAll(io.LimitReader(zr, limit+1))
		if err != nil {
			return badRequest("body is not valid gzip: %v", err)
		}
		if int64(len(plain)) > limit {
			return &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("body larger than %d bytes after decompression; split the import", limit)}
		}
		body = plain
	}
	each := eachValue
	if lines {
		each = eachLine
	} else if err := eachValue(body, func([]byte) error { return nil }); err != nil {
		return err // checked whole before anything is kept
	}

	batch := sources.Batch{SourceID: sourceID, SourceLabel: label, LogType: logType}
	var accepted, quarantined, size int
	flush := func() error {
		if len(batch.Records) == 0 {
			return nil
		}
		n, err := s.Ingest.IngestCounted(r.Context(), batch)
		if err != nil {
			return err
		}
		accepted += len(batch.Records)
		quarantined += n
		batch.Records, size = batch.Records[:0], 0
		return nil
	}
	err = each(body, func(rec []byte) error {
		batch.Records = append(batch.Records, rec)
		size += len(rec)
		if len(batch.Records) >= importChunkRecords || size >= importChunkBytes {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		var he *httpError
		if errors.As(err, &he) {
			return err
		}
		s.Logger.Warn("import not fully accepted", "source", sourceID, "accepted", accepted, "err", err)
		msg := "events not accepted: the ingest pipeline is unavailable; retry later"
		if accepted > 0 {
			msg = fmt.Sprintf("the pipeline stopped accepting events after the first %d records of the body (those are durable); resend the rest later", accepted)
		}
		w.Header().Set("Retry-After", "5")
		return &httpError{status: http.StatusServiceUnavailable, msg: msg,
			extra: map[string]any{"accepted": accepted, "quarantined": quarantined}}
	}
	writeJSON(w, http.StatusOK, map[string]any{"accepted": accepted, "quarantined": quarantined, "source_id": sourceID, "log_type": logType})
	return nil
}

var importTypes = map[string]bool{
	"application/json":        true,
	"application/x-ndjson":    true,
	"application/ndjson":      true,
	"application/jsonl":       true,
	"application/x-jsonlines": true,
	"text/plain":              true,
}

// eachValue calls fn with every JSON object of body (NDJSON or a JSON
// array). A malformed value or one that is not an object is a 400 naming
// where it is.
func eachValue(body []byte, fn func([]byte) error) error {
	rd := rawjson.NewReader(bytes.NewReader(body), 0)
	for {
		v, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		var se *rawjson.SyntaxError
		if errors.As(err, &se) {
			return at(se.Line, se.Column, se.Offset, "invalid JSON: %s", se.Msg)
		}
		if err != nil {
			return badRequest("reading body: %v", err)
		}
		if se := rawjson.Check(v); se != nil {
			return at(se.Line, se.Column, se.Offset, "record %d: %s", v.Index, se.Msg)
		}
		if v.Data[0] != '{' {
			return at(v.Line, v.Column, v.Offset, "record %d is not a JSON object", v.Index)
		}
		if err := fn(v.Data); err != nil {
			return err
		}
	}
}

// eachLine calls fn with every non-blank line of body, whatever it holds.
func eachLine(body []byte, fn func([]byte) error) error {
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	return nil
}

// at is a 400 naming the line, column and byte offset (in the body after
// decompression) of a problem; nothing of the request was kept.
func at(line, col, off int64, format string, args ...any) error {
	msg := fmt.Sprintf("line %d, column %d (byte %d): %s; nothing from this request was imported", line, col, off, fmt.Sprintf(format, args...))
	return &httpError{status: http.StatusBadRequest, msg: msg, extra: map[string]any{"line": line, "column": col, "offset": off}}
}
