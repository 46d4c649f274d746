// Package jsondec decodes a JSON object into the Go values that
// encoding/json produces for a map[string]any with UseNumber: nested
// map[string]any and []any, string, json.Number, bool and nil. It gives
// the same values (FuzzDecode checks it against encoding/json) several
// times faster: one pass over the bytes, no reflection, and strings taken
// from the input without a second scan.
//
// The detection engine uses it for the events that its simple detections
// and InlineFilters must decode, and decodes only the parts they read
// (DecodeSelected).
package jsondec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/prowl-siem/prowl/internal/jsonscan"
)

// maxDepth bounds nesting, as encoding/json does (it allows 10000 levels).
const maxDepth = 10000

// Decode decodes data, which must hold exactly one JSON object.
func Decode(data []byte) (map[string]any, error) {
	i := jsonscan.SkipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, (&decoder{data: data}).fail(i, "expected a JSON object")
	}
	v, err := DecodeValue(data)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// DecodeValue decodes data, which must hold exactly one JSON value of any
// kind. Nothing it returns shares memory with data: its strings (keys,
// values, numbers) are slices of one copy of data, made once, so keeping
// any of them keeps that copy.
func DecodeValue(data []byte) (any, error) {
	d := decoder{data: data, text: string(data)}
	v, i, err := d.value(jsonscan.SkipSpace(data, 0), 0)
	if err != nil {
		return nil, err
	}
	if i = jsonscan.SkipSpace(data, i); i != len(data) {
		return nil, d.fail(i, "unexpected data after the value")
	}
	return v, nil
}

type decoder struct {
	data []byte
	text string // data as a string: strings without escapes are its slices
	buf  []byte // unescaping scratch
}

var errSyntax = errors.New("invalid JSON")

func (d *decoder) fail(i int, msg string) error {
	return fmt.Errorf("%w at offset %d: %s", errSyntax, i, msg)
}

// value decodes the value at d.data[i] (no leading space).
func (d *decoder) value(i, depth int) (any, int, error) {
	if i >= len(d.data) {
		return nil, i, d.fail(i, "unexpected end")
	}
	switch c := d.data[i]; {
	case c == '{':
		return d.object(i, depth)
	case c == '[':
		return d.array(i, depth)
	case c == '"':
		s, j, err := d.str(i)
		return s, j, err
	case c == 't':
		return true, i + 4, d.literal(i, "true")
	case c == 'f':
		return false, i + 5, d.literal(i, "false")
	case c == 'n':
		return nil, i + 4, d.literal(i, "null")
	case c == '-' || c >= '0' && c <= '9':
		end, ok := number(d.data, i)
		if !ok {
			return nil, i, d.fail(i, "malformed number")
		}
		return json.Number(d.text[i:end]), end, nil
	}
	return nil, i, d.fail(i, "unexpected character")
}

func (d *decoder) literal(i int, word string) error {
	if i+len(word) > len(d.data) || string(d.data[i:i+len(word)]) != word {
		return d.fail(i, "unexpected character")
	}
	return nil
}

func (d *decoder) object(i, depth int) (map[string]any, int, error) {
	if depth++; depth > maxDepth {
		return nil, i, d.fail(i, "nested too deeply")
	}
	m := map[string]any{}
	i = jsonscan.SkipSpace(d.data, i+1)
	if i < len(d.data) && d.data[i] == '}' {
		return m, i + 1, nil
	}
	for {
		if i >= len(d.data) || d.data[i] != '"' {
			return nil, i, d.fail(i, "expected a key")
		}
		k, j, err := d.str(i)
		if err != nil {
			return nil, j, err
		}
		i = jsonscan.SkipSpace(d.data, j)
		if i >= len(d.data) || d.data[i] != ':' {
			return nil, i, d.fail(i, "expected ':'")
		}
		v, j, err := d.value(jsonscan.SkipSpace(d.data, i+1), depth)
		if err != nil {
			return nil, j, err
		}
		m[k] = v // a repeated key keeps its last value
		more := false
		if i, more, err = d.next(j, '}'); err != nil || !more {
			return m, i, err
		}
	}
}

func (d *decoder) array(i, depth int) ([]any, int, error) {
	if depth++; depth > maxDepth {
		return nil, i, d.fail(i, "nested too deeply")
	}
	a := []any{}
	i = jsonscan.SkipSpace(d.data, i+1)
	if i < len(d.data) && d.data[i] == ']' {
		return a, i + 1, nil
	}
	for {
		v, j, err := d.value(i, depth)
		if err != nil {
			return nil, j, err
		}
		a = append(a, v)
		more := false
		if i, more, err = d.next(j, ']'); err != nil || !more {
			return a, i, err
		}
	}
}

// next reads what follows a member or an element from j: a comma (more
// follows, at the returned index) or the closing bracket (after it).
func (d *decoder) next(j int, closing byte) (i int, more bool, err error) {
	i = jsonscan.SkipSpace(d.data, j)
	switch {
	case i < len(d.data) && d.data[i] == ',':
		return jsonscan.SkipSpace(d.data, i+1), true, nil
	case i < len(d.data) && d.data[i] == closing:
		return i + 1, false, nil
	}
	return i, false, d.fail(i, "expected ',' or '"+string(closing)+"'")
}

// str decodes the string whose opening quote is at i. Like encoding/json,
// it turns invalid UTF-8 and lone surrogates into U+FFFD.
func (d *decoder) str(i int) (string, int, error) {
	end := jsonscan.SkipString(d.data, i)
	if end < 0 {
		return "", len(d.data), d.fail(i, "unterminated string")
	}
	j := end - 1 // the closing quote
	body := d.data[i+1 : j]
	escaped, plain := false, true
	for _, c := range body {
		switch {
		case c < 0x20:
			return "", i, d.fail(i, "control character in a string")
		case c == '\\':
			escaped = true
		case c >= utf8.RuneSelf:
			plain = false
		}
	}
	if !escaped && (plain || utf8.Valid(body)) {
		return d.text[i+1 : j], j + 1, nil
	}
	if escaped {
		var ok bool
		d.buf, ok = jsonscan.AppendUnescaped(d.buf[:0], body)
		if !ok && !validEscapes(body) {
			return "", i, d.fail(i, "invalid escape")
		}
		body = d.buf
	}
	if utf8.Valid(body) {
		return string(body), j + 1, nil
	}
	out := make([]byte, 0, len(body)+8)
	for len(body) > 0 {
		r, n := utf8.DecodeRune(body)
		out = utf8.AppendRune(out, r) // RuneError for each invalid byte
		body = body[n:]
	}
	return string(out), j + 1, nil
}

// validEscapes reports whether every escape in the string body s is JSON
// (AppendUnescaped also says false for lone surrogates, which are valid).
func validEscapes(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		i++
		if i >= len(s) {
			return false
		}
		switch s[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			if i+5 > len(s) {
				return false
			}
			for _, c := range s[i+1 : i+5] {
				if !jsonscan.IsHexDigit(c) {
					return false
				}
			}
			i += 4
		default:
			return false
		}
	}
	return true
}

// number returns the end of the JSON number at d[i].
func number(d []byte, i int) (int, bool) {
	if d[i] == '-' {
		i++
	}
	if i < len(d) && d[i] == '0' {
		i++
	} else if i = digits(d, i); i < 0 {
		return i, false
	}
	if i < len(d) && d[i] == '.' {
		if i = digits(d, i+1); i < 0 {
			return i, false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i = digits(d, i); i < 0 {
			return i, false
		}
	}
	return i, true
}

// digits returns the end of the run of one or more digits at d[i], or -1.
func digits(d []byte, i int) int {
	j := i
	for j < len(d) && d[j] >= '0' && d[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// Selection picks the parts of a JSON object to decode: some of its
// members, each whole or, if it is an object, selected further. A member is
// picked by a key equal to its own, exactly or case-insensitively (Unicode
// simple folding, as strings.EqualFold). The zero Selection picks no member.
type Selection struct {
	whole   bool
	members []selected
}

type selected struct {
	key   []byte
	ascii bool
	sel   *Selection
}

// everything is a whole selection, shared.
var everything = &Selection{whole: true}

// SetWhole makes s pick the whole value.
func (s *Selection) SetWhole() {
	if !s.whole { // everything is shared: only read it
		s.whole, s.members = true, nil
	}
}

// Whole reports whether s picks the whole value.
func (s *Selection) Whole() bool { return s.whole }

// Member returns the selection of the member key, adding it (picking
// nothing yet) when s has none. Under a whole selection it is whole.
func (s *Selection) Member(key string) *Selection {
	if s.whole {
		return everything
	}
	for _, m := range s.members {
		if string(m.key) == key {
			return m.sel
		}
	}
	m := selected{key: []byte(key), ascii: isASCII(key), sel: &Selection{}}
	s.members = append(s.members, m)
	return m.sel
}

// Add makes s also pick what o picks.
func (s *Selection) Add(o *Selection) {
	if o.whole {
		s.SetWhole()
	}
	for _, m := range o.members {
		if s.whole {
			return
		}
		s.Member(string(m.key)).Add(m.sel)
	}
}

// pick returns the selection of the member with key, or nil. ascii says
// that key is ASCII: then only keys of its length can equal it, even
// case-insensitively.
func (s *Selection) pick(key []byte, ascii bool) *Selection {
	var found *Selection
	for _, m := range s.members {
		if ascii && m.ascii && len(m.key) != len(key) {
			continue
		}
		if bytes.EqualFold(key, m.key) {
			if found != nil {
				return everything // picked by several keys: keep it whole
			}
			found = m.sel
		}
	}
	return found
}

// DecodeSelected decodes what sel picks of the JSON object data (all of it
// when sel is nil): on a valid object it gives what Decode gives, less the
// members sel does not pick (at every level it selects). Those are
// skipped, not decoded or checked, and the bytes after the object are not
// read. offs, when not nil, are the offsets of the object's top-level keys
// (as the normalizer records them), which spare scanning the skipped
// values.
func DecodeSelected(data []byte, offs []uint32, sel *Selection) (map[string]any, error) {
	if sel == nil || sel.whole {
		return Decode(data)
	}
	m := map[string]any{}
	var err error
	member := func(rawKey, val []byte) bool {
		key := rawKey[1 : len(rawKey)-1]
		ascii := plainASCII(key)
		if !ascii {
			d := decoder{data: rawKey, text: string(rawKey)}
			s, _, e := d.str(0)
			if e != nil {
				err = fmt.Errorf("key %s: %w", rawKey, e)
				return false
			}
			key = []byte(s)
			ascii = isASCII(s)
		}
		sub := sel.pick(key, ascii)
		if sub == nil {
			return true
		}
		var v any
		if i := jsonscan.SkipSpace(val, 0); sub.whole || i == len(val) || val[i] != '{' {
			v, err = DecodeValue(val)
		} else {
			v, err = DecodeSelected(val, nil, sub)
		}
		if err != nil {
			err = fmt.Errorf("member %s: %w", rawKey, err)
			return false
		}
		m[string(key)] = v // a repeated key keeps its last value
		return true
	}
	ok := offs != nil && jsonscan.IndexedMembers(data, offs, func(_ int, k, v []byte) bool { return member(k, v) })
	if !ok && err == nil {
		clear(m) // the offsets did not fit: scan
		ok = jsonscan.EachMember(data, member)
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: not a JSON object", errSyntax)
	}
	return m, nil
}

// isASCII reports whether s holds only ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// plainASCII reports whether a string body holds only printable ASCII and
// no escapes: its bytes are the decoded string.
func plainASCII(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
