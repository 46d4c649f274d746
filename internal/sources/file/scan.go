package file

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"

	"github.com/prowl-siem/prowl/internal/sources/rawjson"
)

// MaxRecordBytes bounds one NDJSON line. A longer line is cut at this size
// and still delivered (the pipeline quarantines it as invalid JSON), so
// memory stays bounded and nothing is silently skipped.
const MaxRecordBytes = 16 << 20

// maxRecord is MaxRecordBytes, lowered by tests.
var maxRecord = MaxRecordBytes

// format of a file's content.
type format int

const (
	ndjson format = iota // one JSON value per line (also a single object on one line)
	array                // one JSON array of values
)

// record is one raw event and where it starts.
type record struct {
	data []byte
	line int64 // 1-based line of the record's start
	// end is the scanner offset just after the record: the decompressed
	// byte offset for NDJSON, the number of records read for arrays.
	end int64
	// partial is set on an NDJSON line that ends at EOF without '\n': the
	// file may still be being written.
	partial bool
	// truncated is set when the line was longer than MaxRecordBytes.
	truncated bool
}

// scanner reads records from decompressed content.
type scanner struct {
	br     *bufio.Reader
	format format
	line   int64 // lines consumed (NDJSON)
	off    int64 // bytes consumed (NDJSON) or records read (array)
	arr    *rawjson.Reader
	done   bool
	buf    []byte
}

// newScanner detects the format from the first non-space byte: '[' is a
// JSON array, anything else NDJSON. start and line resume a scan: for
// NDJSON, start bytes (already ingested, ending on a line boundary, line
// lines) are skipped; for an array, start records are skipped.
func newScanner(r io.Reader, start, line int64) (*scanner, error) {
	s := &scanner{br: bufio.NewReaderSize(r, 256<<10)}
	// Look past a BOM and whitespace for the first significant byte.
	head, err := s.br.Peek(4096)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, err
	}
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(head) > 0 && head[0] == '[' {
		s.format = array
	}
	if s.format == array {
		s.arr = rawjson.NewReader(s.br, maxRecord)
		for s.off < start {
			if _, err := s.arr.Next(); err != nil {
				if err == io.EOF {
					return nil, fmt.Errorf("resuming after record %d: the array now has only %d", start, s.off)
				}
				return nil, err
			}
			s.off++
		}
		return s, nil
	}
	if start > 0 {
		n, err := io.CopyN(io.Discard, s.br, start)
		if err != nil {
			return nil, fmt.Errorf("resuming at byte %d: file has only %d", start, n)
		}
		s.off, s.line = start, line
	} else if p, _ := s.br.Peek(3); bytes.Equal(p, []byte("\xef\xbb\xbf")) {
		s.br.Discard(3)
		s.off = 3
	}
	return s, nil
}

// next returns the next record, or io.EOF.
func (s *scanner) next() (record, error) {
	if s.done {
		return record{}, io.EOF
	}
	if s.format == array {
		v, err := s.arr.Next()
		if err != nil {
			s.done = true
			return record{}, err // io.EOF or a *rawjson.SyntaxError
		}
		s.off++
		return record{data: v.Data, line: v.Line, end: s.off, truncated: v.Truncated}, nil
	}
	for {
		s.buf = s.buf[:0]
		n := 0
		for {
			chunk, err := s.br.ReadSlice('\n')
			n += len(chunk)
			if room := maxRecord - len(s.buf); room > 0 {
				s.buf = append(s.buf, chunk[:min(len(chunk), room)]...)
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				s.done = true
				break
			}
			if err != nil {
				return record{}, err
			}
			break
		}
		if n == 0 {
			return record{}, io.EOF
		}
		partial := s.done // no '\n' at the end
		content := n
		if !partial {
			content--
		}
		truncated := content > maxRecord
		startLine := s.line + 1
		if !partial {
			s.line++
			s.off += int64(n)
		}
		data := bytes.TrimSpace(s.buf)
		if len(data) == 0 {
			if partial {
				return record{}, io.EOF
			}
			continue // blank line
		}
		rec := record{data: append([]byte(nil), data...), line: startLine, end: s.off, partial: partial, truncated: truncated}
		if partial {
			// Consumed only if the caller takes it: see take.
			rec.end = s.off + int64(n)
		}
		return rec, nil
	}
}

// takePartial marks a partial final line as consumed.
func (s *scanner) takePartial(r record) {
	if r.partial {
		s.off = r.end
		s.line++
	}
}

// maybeGzip wraps r in a gzip reader when it starts with the gzip magic.
func maybeGzip(br *bufio.Reader) (io.Reader, bool, error) {
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, true, fmt.Errorf("reading gzip: %w", err)
		}
		return zr, true, nil
	}
	return br, false, nil
}

// problem describes why a record will be quarantined, or "" if it is a
// JSON object.
func problem(r record) string {
	if r.truncated {
		return fmt.Sprintf("record longer than %d bytes (cut)", maxRecord)
	}
	d := bytes.TrimSpace(r.data)
	if !json.Valid(d) {
		var v any
		err := json.Unmarshal(d, &v)
		return "invalid JSON: " + err.Error()
	}
	if len(d) == 0 || d[0] != '{' {
		return "not a JSON object"
	}
	return ""
}
