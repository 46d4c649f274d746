// Package httpsrc is the HTTP push source: clients POST events to
// /ingest/{sourceId} and get 200 {"accepted":N} once the events are durable.
//
// Request handling, in order:
//  1. Method must be POST (405), Content-Type JSON or NDJSON (415),
//     Content-Encoding identity or gzip (415).
//  2. Bearer auth is checked before the body is read (401).
//  3. The body is read up to the size limit (413), then HMAC auth, which
//     signs the body exactly as sent, is checked (401).
//  4. A gzip body is decompressed, bounded by the same limit after
//     decompression, so a small gzip bomb gets 413 too.
//  5. The body is parsed as a JSON array of objects, or as a stream of JSON
//     objects (NDJSON, or one object, pretty-printed or not). Any malformed
//     value rejects the whole request with 400 and says where (line, column,
//     byte offset), so the client can fix it and resend; nothing of a
//     rejected request is kept.
//  6. The events go to the sink as one batch; 200 only when it returned nil,
//     503 with Retry-After when it failed (nothing was acknowledged).
package httpsrc

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prowl-siem/prowl/internal/sources/core"
	"github.com/prowl-siem/prowl/internal/sources/rawjson"
)

// TypeName is the source type's registry name.
const TypeName = "http"

// DefaultMaxBody is the default limit on a request body, after decompression.
const DefaultMaxBody = 10 << 20

// DefaultSignatureHeader carries the HMAC-SHA256 signature by default.
const DefaultSignatureHeader = "X-Prowl-Signature"

// Auth methods.
const (
	AuthBearer = "bearer"
	AuthHMAC   = "hmac"
)

// Config configures a Source.
type Config struct {
	// LogType the events are parsed as; "" lets the pipeline classify them.
	LogType string
	// Auth is AuthBearer (Authorization: Bearer <Secret>) or AuthHMAC
	// (SignatureHeader: hex HMAC-SHA256 of the body under Secret, with an
	// optional "sha256=" prefix).
	Auth            string
	Secret          []byte
	SignatureHeader string
	MaxBody         int64 // bytes after decompression; default DefaultMaxBody
	Logger          *slog.Logger
}

// Source receives pushed events. It is an http.Handler for one source's
// endpoint; it accepts requests only while Run is running (503 otherwise).
type Source struct {
	id, label string
	cfg       Config
	log       *slog.Logger

	mu    sync.RWMutex
	sink  core.Sink
	state core.State
}

// New returns a push source.
func New(id, label string, cfg Config) (*Source, error) {
	if id == "" {
		return nil, errors.New("http source: empty id")
	}
	switch cfg.Auth {
	case AuthBearer, AuthHMAC:
	default:
		return nil, fmt.Errorf("http source %q: auth %q is not %s or %s", id, cfg.Auth, AuthBearer, AuthHMAC)
	}
	if len(cfg.Secret) == 0 {
		return nil, fmt.Errorf("http source %q: empty %s secret", id, cfg.Auth)
	}
	if cfg.SignatureHeader == "" {
		cfg.SignatureHeader = DefaultSignatureHeader
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Source{id: id, label: label, cfg: cfg, log: cfg.Logger.With("source", id, "type", TypeName)}, nil
}

// ID returns the source id.
func (s *Source) ID() string { return s.id }

// Run makes the endpoint accept requests, delivering to sink, until ctx is
// done.
func (s *Source) Run(ctx context.Context, sink core.Sink, state core.State) error {
	s.mu.Lock()
	if s.sink != nil {
		s.mu.Unlock()
		return fmt.Errorf("http source %q is already running", s.id)
	}
	s.sink, s.state = sink, state
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	s.sink, s.state = nil, nil
	s.mu.Unlock()
	return ctx.Err()
}

// httpError is an error response.
type httpError struct {
	status int
	msg    string
	// where the body is malformed (400 only)
	line, column int64
	offset       int64
}

func (e *httpError) Error() string { return e.msg }

func fail(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP handles one push request for this source.
func (s *Source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	sink, state := s.sink, s.state
	s.mu.RUnlock()
	if sink == nil {
		w.Header().Set("Retry-After", "5")
		writeError(w, fail(http.StatusServiceUnavailable, "source %q is not running", s.id))
		return
	}
	records, size, herr := s.read(w, r)
	if herr != nil {
		if herr.status == http.StatusUnauthorized || herr.status == http.StatusRequestEntityTooLarge ||
			herr.status == http.StatusBadRequest {
			s.noteRejection(r, state, herr)
		}
		writeError(w, herr)
		return
	}
	if len(records) > 0 {
		batch := core.Batch{SourceID: s.id, SourceLabel: s.label, LogType: s.cfg.LogType, Records: records}
		if err := sink.Ingest(r.Context(), batch); err != nil {
			s.log.Warn("sink did not accept pushed events", "err", err, "events", len(records))
			w.Header().Set("Retry-After", "5")
			writeError(w, fail(http.StatusServiceUnavailable, "events not accepted: the ingest pipeline is unavailable; retry later"))
			return
		}
		bg := context.WithoutCancel(r.Context())
		if err := state.AddHealth(bg, s.id, int64(len(records)), size, 0, time.Time{}); err != nil {
			s.log.Warn("recording source health", "err", err)
		}
		if err := state.SetSourceError(bg, s.id, ""); err != nil {
			s.log.Warn("clearing source error", "err", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "{\"accepted\":%d}\n", len(records))
}

// noteRejection shows the last rejected request in the source's health, so
// an operator can see why a client's events do not arrive.
func (s *Source) noteRejection(r *http.Request, state core.State, herr *httpError) {
	client := r.RemoteAddr
	if host, _, err := net.SplitHostPort(client); err == nil {
		client = host
	}
	msg := fmt.Sprintf("rejected a request from %s: %d %s", client, herr.status, herr.msg)
	s.log.Info("rejected push request", "client", client, "status", herr.status, "reason", herr.msg)
	if err := state.SetSourceError(context.WithoutCancel(r.Context()), s.id, msg); err != nil {
		s.log.Warn("recording source error", "err", err)
	}
}

// read checks the request and returns its records and decompressed size.
func (s *Source) read(w http.ResponseWriter, r *http.Request) ([][]byte, int64, *httpError) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, 0, fail(http.StatusMethodNotAllowed, "use POST")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !acceptedTypes[mt] {
			return nil, 0, fail(http.StatusUnsupportedMediaType,
				"content type %q is not supported; send application/json or application/x-ndjson", ct)
		}
	}
	gz := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gz = true
	default:
		return nil, 0, fail(http.StatusUnsupportedMediaType, "content encoding %q is not supported; use gzip or none", enc)
	}
	if s.cfg.Auth == AuthBearer && !s.bearerOK(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="prowl"`)
		return nil, 0, fail(http.StatusUnauthorized, "missing or wrong bearer token")
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, 0, fail(http.StatusRequestEntityTooLarge, "body larger than %d bytes", s.cfg.MaxBody)
		}
		return nil, 0, fail(http.StatusBadRequest, "reading body: %v", err)
	}
	if s.cfg.Auth == AuthHMAC {
		if herr := s.checkSignature(r, body); herr != nil {
			return nil, 0, herr
		}
	}
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, 0, fail(http.StatusBadRequest, "body is not valid gzip: %v", err)
		}
		plain, err := io.ReadAll(io.LimitReader(zr, s.cfg.MaxBody+1))
		if err != nil {
			return nil, 0, fail(http.StatusBadRequest, "body is not valid gzip: %v", err)
		}
		if int64(len(plain)) > s.cfg.MaxBody {
			return nil, 0, fail(http.StatusRequestEntityTooLarge, "body larger than %d bytes after decompression", s.cfg.MaxBody)
		}
		body = plain
	}
	records, herr := parseBody(body)
	return records, int64(len(body)), herr
}

var acceptedTypes = map[string]bool{
	"application/json":        true,
	"application/x-ndjson":    true,
	"application/ndjson":      true,
	"application/jsonl":       true,
	"application/x-jsonlines": true,
	"text/plain":              true, // what curl --data-binary and many shippers send
}

func (s *Source) bearerOK(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), s.cfg.Secret) == 1
}

func (s *Source) checkSignature(r *http.Request, body []byte) *httpError {
	sig := strings.TrimSpace(r.Header.Get(s.cfg.SignatureHeader))
	if sig == "" {
		return fail(http.StatusUnauthorized, "missing %s header", s.cfg.SignatureHeader)
	}
	if len(sig) > 7 && strings.EqualFold(sig[:7], "sha256=") {
		sig = sig[7:]
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return fail(http.StatusUnauthorized, "%s is not a hex HMAC-SHA256", s.cfg.SignatureHeader)
	}
	mac := hmac.New(sha256.New, s.cfg.Secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fail(http.StatusUnauthorized, "%s does not match the body", s.cfg.SignatureHeader)
	}
	return nil
}

// parseBody splits a body into JSON objects. A body whose first
// non-space byte is '[' is one JSON array of objects; anything else is a
// sequence of JSON objects separated by whitespace (NDJSON, or a single
// object over any number of lines).
func parseBody(body []byte) ([][]byte, *httpError) {
	r := rawjson.NewReader(bytes.NewReader(body), 0)
	var records [][]byte
	for {
		v, err := r.Next()
		if err == io.EOF {
			return records, nil
		}
		var se *rawjson.SyntaxError
		if errors.As(err, &se) {
			return nil, where(se.Line, se.Column, se.Offset, "invalid JSON: %s", se.Msg)
		}
		if err != nil {
			return nil, fail(http.StatusBadRequest, "reading body: %v", err)
		}
		if se := rawjson.Check(v); se != nil {
			return nil, where(se.Line, se.Column, se.Offset, "record %d: %s", v.Index, se.Msg)
		}
		if v.Data[0] != '{' {
			return nil, where(v.Line, v.Column, v.Offset, "record %d is %s, not a JSON object", v.Index, kind(v.Data))
		}
		records = append(records, v.Data)
	}
}

func kind(v []byte) string {
	switch v[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// where builds a 400 naming the line, column and byte offset of a problem.
func where(line, col, off int64, format string, args ...any) *httpError {
	e := fail(http.StatusBadRequest, format, args...)
	e.line, e.column, e.offset = line, col, off
	e.msg = fmt.Sprintf("line %d, column %d (byte %d): %s; nothing from this request was accepted", line, col, off, e.msg)
	return e
}

func writeError(w http.ResponseWriter, e *httpError) {
	body := map[string]any{"error": e.msg}
	if e.line > 0 {
		body["line"], body["column"], body["offset"] = e.line, e.column, e.offset
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(body)
}

// Pattern is the route the Mux serves, for net/http.ServeMux.
const Pattern = "/ingest/{sourceId}"

// Mux routes /ingest/{sourceId} to the push source with that id. Register
// it on a ServeMux with Pattern.
type Mux struct {
	mu      sync.RWMutex
	sources map[string]http.Handler
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{sources: map[string]http.Handler{}} }

// Add routes requests for src.ID() to it, replacing any previous source
// with that id.
func (m *Mux) Add(src *Source) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sources[src.ID()] = src
}

// Remove stops routing to the source.
func (m *Mux) Remove(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sources, id)
}

// ServeHTTP dispatches on the {sourceId} path value (or the path's last
// element when not routed by a pattern); unknown ids get 404.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("sourceId")
	if id == "" {
		id = strings.TrimPrefix(r.URL.Path, "/ingest/")
	}
	m.mu.RLock()
	h := m.sources[id]
	m.mu.RUnlock()
	if h == nil {
		writeError(w, fail(http.StatusNotFound, "no push source with id %q", id))
		return
	}
	h.ServeHTTP(w, r)
}

var (
	_ core.Source  = (*Source)(nil)
	_ http.Handler = (*Source)(nil)
	_ http.Handler = (*Mux)(nil)
)
