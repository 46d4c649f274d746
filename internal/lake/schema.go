package lake

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/prowl-siem/prowl/internal/jsonscan"
	"github.com/prowl-siem/prowl/internal/logtypes"
)

// This file turns a normalized event (compact JSON with the p_ fields at
// the end) into a row of its table without decoding it into maps: one pass
// over the top-level members, each value converted by its column's kind.
// A value that does not fit its column (which the normalizer's checks make
// rare) goes to p_extra with the fields the schema does not name, so no
// field is ever lost.

// rowBuilder converts events of one table into rows. It reuses its buffers:
// the row it returns is valid until the next call.
type rowBuilder struct {
	def   *tableDef
	vals  []driver.Value
	set   []bool
	extra []byte
	str   []byte // unescape scratch
}

func newRowBuilder(d *tableDef) *rowBuilder {
	return &rowBuilder{def: d, vals: make([]driver.Value, len(d.cols)), set: make([]bool, len(d.cols))}
}

// row converts ev. Values in the row may alias ev.JSON ([]byte values of
// VARCHAR columns), so ev must not change until the row is appended.
func (b *rowBuilder) row(ev *logtypes.Event) []driver.Value {
	d := b.def
	reset := func() {
		clear(b.vals)
		clear(b.set)
		b.extra = append(b.extra[:0], '{')
	}
	reset()
	member := func(rawKey, val []byte) bool {
		key := rawKey[1 : len(rawKey)-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			key = unescape(nil, rawKey)
		}
		i, ok := d.byKey[string(key)]
		if !ok {
			i, ok = d.pIdx[string(key)]
			if ok && d.meta[i] {
				return true // set from the event's metadata below
			}
			if i == d.extra {
				ok = false
			}
		}
		if ok && !b.set[i] {
			if v, fits := b.convert(i, val); fits {
				b.vals[i], b.set[i] = v, true
				return true
			}
		}
		if len(b.extra) > 1 {
			b.extra = append(b.extra, ',')
		}
		b.extra = append(b.extra, rawKey...)
		b.extra = append(b.extra, ':')
		b.extra = append(b.extra, val...)
		return true
	}
	// The normalizer's offsets of the top-level keys spare scanning the
	// values (most of the bytes); without them, or if the text does not fit
	// them, the event is scanned.
	ok := ev.Members != nil && jsonscan.IndexedMembers(ev.JSON, ev.Members, func(_ int, key, val []byte) bool {
		return member(key, val)
	})
	if !ok {
		reset()
		ok = jsonscan.EachMember(ev.JSON, member)
	}
	if !ok {
		// Not an object we can read (cannot happen for normalized events):
		// keep it whole.
		b.extra = append(b.extra[:0], `{"p_unparsed":`...)
		b.extra = appendJSONString(b.extra, ev.JSON)
	}
	// The event's own metadata is authoritative for these.
	b.vals[d.pIdx["p_log_type"]] = ev.LogType
	b.vals[d.pIdx["p_row_id"]] = ev.RowID
	b.vals[d.pIdx["p_event_time"]] = ev.Time.UTC()
	b.vals[d.pIdx["p_parse_time"]] = ev.ParseTime.UTC()
	if len(b.extra) > 1 {
		b.extra = append(b.extra, '}')
		b.vals[d.extra] = string(b.extra) // b.extra is reused: copy
	}
	return b.vals
}

// convert converts a JSON value for column i; fits is false when it does
// not fit the column's type. null is NULL.
func (b *rowBuilder) convert(i int, val []byte) (v driver.Value, fits bool) {
	if len(val) == 0 {
		return nil, false
	}
	if val[0] == 'n' {
		return nil, string(val) == "null"
	}
	switch b.def.kinds[i] {
	case kString:
		switch val[0] {
		case '"':
			return jsonBytes(val), true
		case '{', '[':
			return nil, false
		default: // a number or boolean: its text
			return string(val), true
		}
	case kJSON:
		return val, true
	case kInt:
		s := val
		if s[0] == '"' {
			s = s[1 : len(s)-1]
		}
		n, ok := parseInt(s)
		return n, ok
	case kFloat:
		s := val
		if s[0] == '"' {
			s = s[1 : len(s)-1]
		}
		f, err := strconv.ParseFloat(string(s), 64)
		return f, err == nil
	case kBool:
		switch string(val) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
		return nil, false
	case kTimestamp:
		return b.timestamp(i, val)
	case kList:
		return stringList(val)
	}
	return nil, false
}

func (b *rowBuilder) timestamp(i int, val []byte) (driver.Value, bool) {
	if b.def.parsers[i] == nil {
		return nil, false
	}
	var t time.Time
	var ok bool
	if val[0] == '"' {
		b.str = unescape(b.str[:0], val)
		t, ok = b.def.parsers[i].Parse(b.str, false)
	} else {
		t, ok = b.def.parsers[i].Parse(val, true)
	}
	if !ok {
		return nil, false
	}
	return t.UTC(), true
}

// parseInt parses a JSON integer without allocating.
func parseInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
		if len(s) == 0 {
			return 0, false
		}
	}
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// jsonBytes returns the value of a JSON string literal, aliasing lit when
// it has no escapes.
func jsonBytes(lit []byte) []byte {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	return unescape(nil, lit)
}

// jsonString returns the value of a JSON string literal.
func jsonString(lit []byte) string {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner)
	}
	return string(unescape(nil, lit))
}

// unescape appends the value of the JSON string literal lit to dst.
func unescape(dst, lit []byte) []byte {
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return append(dst, lit[1:len(lit)-1]...)
	}
	return append(dst, s...)
}

// stringList converts a JSON array of strings (p_any_* lists, tags).
func stringList(val []byte) (driver.Value, bool) {
	if val[0] != '[' {
		return nil, false
	}
	out := []any{}
	i := jsonscan.SkipSpace(val, 1)
	if i < len(val) && val[i] == ']' {
		return out, true
	}
	for i < len(val) {
		if val[i] != '"' {
			return nil, false
		}
		end := jsonscan.SkipString(val, i)
		if end < 0 {
			return nil, false
		}
		out = append(out, jsonString(val[i:end]))
		i = jsonscan.SkipSpace(val, end)
		if i >= len(val) {
			return nil, false
		}
		if val[i] == ']' {
			return out, true
		}
		if val[i] != ',' {
			return nil, false
		}
		i = jsonscan.SkipSpace(val, i+1)
	}
	return nil, false
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst, s []byte) []byte {
	b, _ := json.Marshal(string(s))
	return append(dst, b...)
}

// validUTF8 returns s if it is valid UTF-8, else s with every invalid byte
// written as the escape \xNN (DuckDB's VARCHAR holds only valid UTF-8).
func validUTF8(s []byte) string {
	if utf8.Valid(s) {
		return string(s)
	}
	out := make([]byte, 0, len(s)+16)
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError && n <= 1 {
			out = append(out, '\\', 'x', "0123456789abcdef"[s[0]>>4], "0123456789abcdef"[s[0]&15])
			s = s[1:]
			continue
		}
		out = append(out, s[:n]...)
		s = s[n:]
	}
	return string(out)
}
