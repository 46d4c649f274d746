// Package rawjson splits a stream into raw JSON values without decoding
// them: the elements of one top-level array, or a sequence of values
// separated by whitespace (NDJSON and friends). It finds value boundaries
// by bracket and string structure only, so a value whose inside is not
// valid JSON is still returned whole (callers check it with json.Valid and
// can pass it on for quarantine); only structural damage, such as an
// unterminated string or a missing comma, stops the stream. It reports
// exact byte offsets and line numbers, which encoding/json's streaming
// Decoder does not for arrays.
package rawjson

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// SyntaxError is structural damage at Offset (0-based byte offset in the
// stream), on Line (1-based) and Column (1-based, in bytes).
type SyntaxError struct {
	Offset       int64
	Line, Column int64
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d (byte %d): %s", e.Line, e.Column, e.Offset, e.Msg)
}

// Value is one raw JSON value and where it starts.
type Value struct {
	Data         []byte // the value's bytes (cut at the reader's limit)
	Offset       int64  // byte offset of its first byte
	Line, Column int64  // of its first byte
	Truncated    bool   // longer than the limit; Data holds its start
	Index        int64  // 1-based position in the stream
}

// Reader reads raw JSON values.
type Reader struct {
	br    *bufio.Reader
	max   int
	array bool
	state int // 0 before the first value, 1 inside, 2 finished

	off       int64 // bytes consumed
	line, col int64 // position of the next byte
	index     int64
	buf       []byte
}

// NewReader returns a reader over r. A stream whose first non-space byte
// (after an optional UTF-8 BOM) is '[' is read as one array, whose
// elements are the values; anything else as a sequence of values. Values
// longer than max bytes are cut (Value.Truncated); max <= 0 means no limit.
func NewReader(r io.Reader, max int) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &Reader{br: br, max: max, line: 1, col: 1}
}

// IsArray reports whether the stream is an array. It is known after the
// first call to Next.
func (r *Reader) IsArray() bool { return r.array }

// Offset is the number of bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

// Line is the current line (1-based).
func (r *Reader) Line() int64 { return r.line }

func (r *Reader) readByte() (byte, error) {
	c, err := r.br.ReadByte()
	if err != nil {
		return 0, err
	}
	r.off++
	if c == '\n' {
		r.line, r.col = r.line+1, 1
	} else {
		r.col++
	}
	return c, nil
}

func (r *Reader) unread() {
	// Only used right after reading a byte that is not '\n'.
	r.br.UnreadByte()
	r.off--
	r.col--
}

func (r *Reader) errorf(format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: r.off, Line: r.line, Column: r.col, Msg: fmt.Sprintf(format, args...)}
}

// errAt is a syntax error at the byte just read.
func (r *Reader) errAt(format string, args ...any) *SyntaxError {
	e := r.errorf(format, args...)
	e.Offset--
	e.Column--
	return e
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// skipSpace consumes whitespace and returns the next byte, unread.
func (r *Reader) skipSpace() (byte, error) {
	for {
		c, err := r.readByte()
		if err != nil {
			return 0, err
		}
		if !isSpace(c) {
			if c != '\n' {
				r.unread()
			}
			return c, nil
		}
	}
}

// Next returns the next value, io.EOF at the end of the stream, or a
// *SyntaxError (after which the stream cannot be read further).
func (r *Reader) Next() (Value, error) {
	switch r.state {
	case 2:
		return Value{}, io.EOF
	case 0:
		// Skip a BOM.
		if p, _ := r.br.Peek(3); len(p) == 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf {
			r.br.Discard(3)
			r.off += 3
		}
		c, err := r.skipSpace()
		if err == io.EOF {
			r.state = 2
			return Value{}, io.EOF
		}
		if err != nil {
			return Value{}, err
		}
		r.state = 1
		if c == '[' {
			r.array = true
			r.readByte()
			c, err := r.skipSpace()
			if err == io.EOF {
				return Value{}, r.fail(r.errorf("unexpected end of input: unterminated array"))
			}
			if err != nil {
				return Value{}, err
			}
			if c == ']' {
				r.readByte()
				return Value{}, r.finishArray()
			}
		}
	default:
		if r.array {
			c, err := r.skipSpace()
			if err == io.EOF {
				return Value{}, r.fail(r.errorf("unexpected end of input: unterminated array"))
			}
			if err != nil {
				return Value{}, err
			}
			r.readByte()
			switch c {
			case ']':
				return Value{}, r.finishArray()
			case ',':
			default:
				return Value{}, r.fail(r.errAt("expected , or ] after array element, found %q", c))
			}
		}
	}
	c, err := r.skipSpace()
	if err == io.EOF {
		if r.array {
			return Value{}, r.fail(r.errorf("unexpected end of input: unterminated array"))
		}
		r.state = 2
		return Value{}, io.EOF
	}
	if err != nil {
		return Value{}, err
	}
	if r.array && c == ']' {
		return Value{}, r.fail(r.errorf("unexpected ] after a comma"))
	}
	return r.value()
}

func (r *Reader) fail(e *SyntaxError) error {
	r.state = 2
	return e
}

// finishArray checks that only whitespace follows the array.
func (r *Reader) finishArray() error {
	r.state = 2
	c, err := r.skipSpace()
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return err
	}
	_ = c
	return r.errorf("unexpected data after the JSON array")
}

// value reads one value starting at the next (non-space) byte.
func (r *Reader) value() (Value, error) {
	v := Value{Offset: r.off, Line: r.line, Column: r.col}
	r.index++
	v.Index = r.index
	r.buf = r.buf[:0]
	add := func(c byte) {
		if r.max <= 0 || len(r.buf) < r.max {
			r.buf = append(r.buf, c)
		} else {
			v.Truncated = true
		}
	}
	depth := 0
	inString, escaped := false, false
	for {
		c, err := r.readByte()
		if err == io.EOF {
			if inString {
				return Value{}, r.fail(r.errorf("unexpected end of input: unterminated string"))
			}
			if depth > 0 {
				return Value{}, r.fail(r.errorf("unexpected end of input: %d unclosed brackets", depth))
			}
			break // a scalar at the end of the stream
		}
		if err != nil {
			return Value{}, err
		}
		if inString {
			add(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
				if depth == 0 {
					goto done
				}
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				// Ends a scalar inside an array (or is stray).
				if c != '\n' {
					r.unread()
				}
				if len(r.buf) == 0 {
					r.readByte()
					return Value{}, r.fail(r.errAt("unexpected %q", c))
				}
				goto done
			}
			depth--
		case ',':
			if depth == 0 {
				r.unread()
				if !r.array || len(r.buf) == 0 {
					r.readByte()
					return Value{}, r.fail(r.errAt("unexpected ,"))
				}
				goto done
			}
		default:
			if isSpace(c) && depth == 0 {
				if c != '\n' {
					r.unread()
				}
				goto done
			}
		}
		add(c)
		if depth == 0 && (c == '}' || c == ']') {
			goto done
		}
	}
done:
	v.Data = append([]byte(nil), r.buf...)
	return v, nil
}

// Check validates a value's content as JSON. It returns nil, or an error
// whose Offset is absolute in the stream (using the value's Offset; line
// and column are computed from the value's own bytes).
func Check(v Value) *SyntaxError {
	if v.Truncated {
		return &SyntaxError{Offset: v.Offset, Line: v.Line, Column: v.Column, Msg: fmt.Sprintf("value longer than %d bytes", len(v.Data))}
	}
	if json.Valid(v.Data) {
		return nil
	}
	var x any
	err := json.Unmarshal(v.Data, &x)
	var se *json.SyntaxError
	rel := int64(0)
	msg := "invalid JSON"
	if errors.As(err, &se) {
		rel = max(se.Offset-1, 0)
		msg = "invalid JSON: " + se.Error()
		if se.Error() == "unexpected end of JSON input" {
			rel = int64(len(v.Data))
		}
	} else if err != nil {
		msg = "invalid JSON: " + err.Error()
	}
	line, col := v.Line, v.Column
	for _, c := range v.Data[:min(rel, int64(len(v.Data)))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &SyntaxError{Offset: v.Offset + rel, Line: line, Column: col, Msg: msg}
}
