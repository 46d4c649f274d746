package logtypes

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"time"
	"unicode/utf8"

	"github.com/prowl-siem/prowl/internal/jsonscan"
)

// This file is the single-pass JSON scanner of the normalizer. It validates
// the raw event (RFC 8259 grammar, UTF-8, depth) while walking it along the
// compiled schema, checking types and required fields, collecting
// indicators and the event time, and recording the few edits the output
// needs. It never builds a tree.

// skipSpace skips JSON whitespace from i.
func skipSpace(d []byte, i int) int { return jsonscan.SkipSpace(d, i) }

// skipWS skips whitespace inside the event, noting that the output must be
// compacted.
func (n *Normalizer) skipWS(i int) int {
	d := n.data
	if i < len(d) && d[i] > ' ' {
		return i
	}
	j := skipSpace(d, i)
	if j != i {
		n.ws = true
	}
	return j
}

func (n *Normalizer) reject(reason string, off int, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Offset: off, msg: fmt.Sprintf(format, args...)}
}

func (n *Normalizer) eof(i int) *Rejection {
	return n.reject(ReasonInvalidJSON, i, "the event ends early (truncated JSON)")
}

// describeByte names an unexpected input byte for messages.
func describeByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("character %q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// kindOf names the JSON type of the value starting with c.
func kindOf(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// value scans the JSON value at d[i] against nd (nil: any value, unchecked)
// and returns the index just after it.
func (n *Normalizer) value(i int, nd *cnode, depth int) (int, *Rejection) {
	d := n.data
	if i >= len(d) {
		return i, n.eof(i)
	}
	switch c := d[i]; c {
	case '"':
		end, esc, rej := n.str(i + 1)
		if rej != nil || nd == nil {
			return end, rej
		}
		return end, n.checkString(nd, i, end, esc)
	case '{':
		var o *cobj
		var free *cnode
		if nd != nil {
			switch nd.typ {
			case ftObject:
				o = nd.obj
			case ftJSON:
				if nd.ind != 0 {
					free = nd
				}
			default:
				return i, n.badType(nd, i, i+1)
			}
		}
		return n.object(i, o, free, depth+1, false)
	case '[':
		var elem *cnode
		if nd != nil {
			switch nd.typ {
			case ftArray:
				elem = nd.elem
			case ftJSON:
				if nd.ind != 0 {
					elem = nd
				}
			default:
				return i, n.badType(nd, i, i+1)
			}
		}
		return n.array(i, elem, depth+1)
	case 't':
		if i+4 > len(d) || string(d[i:i+4]) != "true" {
			return i, n.badLiteral(i)
		}
		return i + 4, n.checkBool(nd, i, i+4)
	case 'f':
		if i+5 > len(d) || string(d[i:i+5]) != "false" {
			return i, n.badLiteral(i)
		}
		return i + 5, n.checkBool(nd, i, i+5)
	case 'n':
		if i+4 > len(d) || string(d[i:i+4]) != "null" {
			return i, n.badLiteral(i)
		}
		return i + 4, nil
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			end, isInt, ok := scanNumber(d, i)
			if !ok {
				if end >= len(d) {
					return end, n.eof(end)
				}
				return end, n.reject(ReasonInvalidJSON, end, "malformed number at offset %d", i)
			}
			if nd == nil {
				return end, nil
			}
			return end, n.checkNumber(nd, i, end, isInt)
		}
		if c >= 0x80 {
			return i, n.reject(ReasonInvalidJSON, i, "unexpected %s at offset %d (not JSON)", describeByte(c), i)
		}
		return i, n.reject(ReasonInvalidJSON, i, "unexpected %s at offset %d where a value should be", describeByte(c), i)
	}
}

func (n *Normalizer) badLiteral(i int) *Rejection {
	j := i
	for j < len(n.data) && j-i < 8 && n.data[j] >= 'a' && n.data[j] <= 'z' {
		j++
	}
	if j == len(n.data) {
		return n.eof(j)
	}
	return n.reject(ReasonInvalidJSON, i, "unexpected %q at offset %d (not a JSON literal)", n.data[i:j], i)
}

// object scans an object starting at d[i] == '{'. o gives its known fields;
// free, for json fields with indicators, is passed to every member. top
// records the members of the event object.
func (n *Normalizer) object(i int, o *cobj, free *cnode, depth int, top bool) (int, *Rejection) {
	d := n.data
	if depth > n.maxDepth {
		return i, n.reject(ReasonTooDeep, i, "objects and arrays are nested more than %d levels deep at offset %d", n.maxDepth, i)
	}
	i = n.skipWS(i + 1)
	var seen uint64
	at := -1 // the place of the next key, when o is known (see key)
	if o != nil {
		at = o.pos
	}
	if i < len(d) && d[i] == '}' {
		i++
	} else {
		for {
			if i >= len(d) {
				return i, n.eof(i)
			}
			if d[i] != '"' {
				return i, n.reject(ReasonInvalidJSON, i, "expected a quoted key at offset %d, found %s", i, describeByte(d[i]))
			}
			keyStart := i
			kend, key, child, rej := n.key(i+1, o, at)
			if rej != nil {
				return kend, rej
			}
			at = -1
			if child != nil {
				at = child.pos
			}
			if o == nil {
				child = free
			}
			drop := top && len(key) >= 2 && key[0] == 'p' && key[1] == '_'
			if drop {
				n.drop = true
				child = nil
			}
			i = n.skipWS(kend)
			if i >= len(d) {
				return i, n.eof(i)
			}
			if d[i] != ':' {
				return i, n.reject(ReasonInvalidJSON, i, "expected ':' after a key at offset %d, found %s", i, describeByte(d[i]))
			}
			i = n.skipWS(i + 1)
			valStart := i
			// A string that needs no check is only scanned: skip value and
			// checkString.
			if i < len(d) && d[i] == '"' && (child == nil || child.anyString) {
				i, _, rej = n.str(i + 1)
			} else {
				i, rej = n.value(i, child, depth)
			}
			if rej != nil {
				return i, rej.inKey(n.unescape(d[keyStart+1 : kend-1]))
			}
			if child != nil && child.required && d[valStart] != 'n' && !n.emptied(valStart) {
				seen |= child.reqBit
			}
			if top {
				n.members = append(n.members, member{start: keyStart, end: i, drop: drop})
			}
			i = n.skipWS(i)
			if i >= len(d) {
				return i, n.eof(i)
			}
			if d[i] == ',' {
				i = n.skipWS(i + 1)
				continue
			}
			if d[i] == '}' {
				i++
				break
			}
			return i, n.reject(ReasonInvalidJSON, i, "expected ',' or '}' in an object at offset %d, found %s", i, describeByte(d[i]))
		}
	}
	if o != nil && seen != o.reqMask {
		for _, f := range o.fields {
			if f.required && seen&f.reqBit == 0 {
				return i, n.reject(ReasonMissingRequired, -1, "required field is missing or null").inKey([]byte(f.name))
			}
		}
	}
	return i, nil
}

// emptied reports whether the value at start was rewritten to null (an
// empty string in a non-string scalar field).
func (n *Normalizer) emptied(start int) bool {
	if len(n.edits) == 0 {
		return false
	}
	e := n.edits[len(n.edits)-1]
	return e.start == start && string(n.editBytes[e.roff:e.rend]) == "null"
}

// array scans an array starting at d[i] == '['.
func (n *Normalizer) array(i int, elem *cnode, depth int) (int, *Rejection) {
	d := n.data
	if depth > n.maxDepth {
		return i, n.reject(ReasonTooDeep, i, "objects and arrays are nested more than %d levels deep at offset %d", n.maxDepth, i)
	}
	i = n.skipWS(i + 1)
	if i < len(d) && d[i] == ']' {
		return i + 1, nil
	}
	for idx := 0; ; idx++ {
		var rej *Rejection
		if i, rej = n.value(i, elem, depth); rej != nil {
			return i, rej.inIndex(idx)
		}
		i = n.skipWS(i)
		if i >= len(d) {
			return i, n.eof(i)
		}
		if d[i] == ',' {
			i = n.skipWS(i + 1)
			continue
		}
		if d[i] == ']' {
			return i + 1, nil
		}
		return i, n.reject(ReasonInvalidJSON, i, "expected ',' or ']' in an array at offset %d, found %s", i, describeByte(d[i]))
	}
}

// str scans a string whose opening quote is at d[i-1]. It returns the index
// after the closing quote and whether the string has escapes.
func (n *Normalizer) str(i int) (int, bool, *Rejection) {
	d := n.data
	esc := false
	for {
		// Skip eight plain bytes at a time.
		for i+8 <= len(d) {
			if s := special(binary.LittleEndian.Uint64(d[i:])); s != 0 {
				i += bits.TrailingZeros64(s) / 8
				break
			}
			i += 8
		}
		if i >= len(d) {
			return i, esc, n.eof(i)
		}
		c := d[i]
		switch {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(d) {
				return i + 1, esc, n.eof(i + 1)
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) {
					return len(d), esc, n.eof(len(d))
				}
				for _, h := range d[i+2 : i+6] {
					if !jsonscan.IsHexDigit(h) {
						return i, esc, n.reject(ReasonInvalidJSON, i, "malformed \\u escape at offset %d", i)
					}
				}
				i += 6
			default:
				return i, esc, n.reject(ReasonInvalidJSON, i, "invalid escape \\%c at offset %d", d[i+1], i)
			}
		case c < 0x20:
			return i, esc, n.reject(ReasonInvalidJSON, i, "unescaped control character 0x%02x in a string at offset %d", c, i)
		case c >= 0x80:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size <= 1 {
				return i, esc, n.reject(ReasonInvalidUTF8, i, "invalid UTF-8 byte 0x%02x in a string at offset %d", c, i)
			}
			i += size
		default:
			i++
		}
	}
}

// special marks the bytes of x, eight string bytes loaded little-endian,
// that are not plain (printable ASCII other than '"' and '\\'): the lowest
// set bit is the high bit of the first such byte; bits above it may be
// spurious. It is zero when all eight are plain.
//
// A byte b sets its high bit in b^'"'-1 when b is '"' and in b^'\\'-1 when
// b is '\\' (or b >= 0x80, which the final |x marks anyway), and in b-0x20
// when b < 0x20. Borrows only run from a byte that is not plain to the
// bytes above it, so the lowest mark is exact.
func special(x uint64) uint64 {
	q := (x ^ (jsonscan.Lsb * '"')) - jsonscan.Lsb
	b := (x ^ (jsonscan.Lsb * '\\')) - jsonscan.Lsb
	return (q | b | (x - jsonscan.Lsb*0x20) | x) & jsonscan.Msb
}

// isPlain reports whether all bytes of b are plain (see special).
func isPlain(b []byte) bool {
	for ; len(b) >= 8; b = b[8:] {
		if special(binary.LittleEndian.Uint64(b)) != 0 {
			return false
		}
	}
	// Pad the last bytes with spaces, which are plain.
	return special(loadShort(b)|(jsonscan.Lsb*' ')<<(8*len(b))) == 0
}

// key scans the key whose opening quote is at d[i-1] and looks it up in o,
// which may be nil. It returns the index after the closing quote, the key
// (unescaped in n's scratch buffer when it has escapes) and its field.
// at is the key's place in o (see known), or -1: when the key is the one
// that came at that place before, comparing its bytes finds it, and a
// key found by lookup is remembered there. Keys of at most 15 plain bytes,
// most keys, are read as the words lookup compares, without a second pass.
func (n *Normalizer) key(i int, o *cobj, at int) (end int, key []byte, f *cnode, rej *Rejection) {
	d := n.data
	if i+16 < len(d) {
		w0, w1 := binary.LittleEndian.Uint64(d[i:]), binary.LittleEndian.Uint64(d[i+8:])
		if at >= 0 {
			// A guessed name is plain: equal bytes and a quote after
			// them are exactly that key.
			if s := n.next[at]; s != nil && w0&s.m0 == s.w0 && w1&s.m1 == s.w1 && d[i+s.n] == '"' {
				return i + s.n + 1, d[i : i+s.n], s.node, nil
			}
		}
		end = -1
		if s := special(w0); s != 0 {
			if p := bits.TrailingZeros64(s) / 8; d[i+p] == '"' {
				end, w0, w1 = i+p, w0&(1<<(8*p)-1), 0
			}
		} else if s := special(w1); s != 0 {
			if p := bits.TrailingZeros64(s) / 8; d[i+8+p] == '"' {
				end, w1 = i+8+p, w1&(1<<(8*p)-1)
			}
		}
		if end >= 0 {
			key = d[i:end]
			if o != nil {
				s := o.lookup(len(key), w0, w1)
				f = s.node
				if at >= 0 && f != nil && s.guessable() {
					n.next[at] = s
				}
			}
			return end + 1, key, f, nil
		}
	}
	end, esc, rej := n.str(i)
	if rej != nil {
		return end, nil, nil, rej
	}
	key = d[i : end-1]
	if esc {
		key = n.unescape(key)
	}
	if o != nil {
		f = o.find(key)
	}
	return end, key, f, nil
}

// unescape decodes the escapes of a validated string body into the
// normalizer's scratch buffer. Lone surrogates become U+FFFD.
func (n *Normalizer) unescape(s []byte) []byte {
	n.unesc, _ = jsonscan.AppendUnescaped(n.unesc[:0], s)
	return n.unesc
}

// scanNumber scans a JSON number at d[i]. ok is false when malformed; end
// is then where scanning stopped.
func scanNumber(d []byte, i int) (end int, isInt, ok bool) {
	if i < len(d) && d[i] == '-' {
		i++
	}
	if i >= len(d) {
		return i, false, false
	}
	switch c := d[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		for i++; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
	default:
		return i, false, false
	}
	isInt = true
	if i < len(d) && d[i] == '.' {
		i++
		s := i
		for ; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
		if i == s {
			return i, false, false
		}
		isInt = false
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		s := i
		for ; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
		if i == s {
			return i, false, false
		}
		isInt = false
	}
	return i, isInt, true
}

// isJSONNumber reports whether all of b is one JSON number.
func isJSONNumber(b []byte) (isInt, ok bool) {
	end, isInt, ok := scanNumber(b, 0)
	return isInt, ok && end == len(b)
}

// intInRange reports whether the integer text b fits in bitSize bits.
func intInRange(b []byte, bitSize int) bool {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) > 20 {
		return false
	}
	var v uint64
	for _, c := range b {
		nv := v*10 + uint64(c-'0')
		if nv/10 != v {
			return false
		}
		v = nv
	}
	limit := uint64(1) << (bitSize - 1)
	if neg {
		return v <= limit
	}
	return v < limit
}

// addEdit records that raw bytes [start,end) become repl in the output.
func (n *Normalizer) addEdit(start, end int, parts ...[]byte) {
	roff := len(n.editBytes)
	for _, p := range parts {
		n.editBytes = append(n.editBytes, p...)
	}
	n.edits = append(n.edits, edit{start: start, end: end, roff: roff, rend: len(n.editBytes)})
}

var (
	quote     = []byte{'"'}
	nullBytes = []byte("null")
	trueBytes = []byte("true")
	falseByte = []byte("false")
)

// typeDesc says what a field of nd's type accepts, for messages.
func typeDesc(nd *cnode) string {
	switch nd.typ {
	case ftString:
		return "a string"
	case ftInt:
		return "an integer (int, 32-bit)"
	case ftBigint:
		return "an integer (bigint, 64-bit)"
	case ftFloat:
		return "a number"
	case ftBoolean:
		return "a boolean"
	case ftTimestamp:
		switch nd.tf.kind {
		case tkRFC3339:
			return "an RFC 3339 timestamp string"
		case tkUnix:
			return "a Unix time in seconds"
		case tkUnixMs:
			return "a Unix time in milliseconds"
		case tkUnixUs:
			return "a Unix time in microseconds"
		case tkUnixNs:
			return "a Unix time in nanoseconds"
		default:
			return "a timestamp string in its strftime timeFormat"
		}
	case ftArray:
		return "an array"
	case ftObject:
		return "an object"
	}
	return "JSON"
}

// badType rejects the value d[start:end] of field nd.
func (n *Normalizer) badType(nd *cnode, start, end int) *Rejection {
	d := n.data
	got := kindOf(d[start])
	if d[start] == '"' || (d[start] != '{' && d[start] != '[') {
		v := d[start:end]
		if len(v) > 60 {
			cut := 57
			for cut > 0 && !utf8.RuneStart(v[cut]) {
				cut--
			}
			v = append(append([]byte{}, v[:cut]...), "..."...)
		}
		got += " " + string(v)
	}
	return n.reject(ReasonBadType, start, "expected %s, got %s", typeDesc(nd), got)
}

// checkString checks the string d[start:end] (quotes included) against nd.
func (n *Normalizer) checkString(nd *cnode, start, end int, esc bool) *Rejection {
	body := n.data[start+1 : end-1]
	switch nd.typ {
	case ftString, ftJSON:
		if nd.ind != 0 {
			if esc {
				body = n.unescape(body)
			}
			n.ind.scan(nd.ind, body, nd.typ == ftJSON)
		}
		return nil
	case ftArray, ftObject, ftBoolean:
		if nd.typ == ftBoolean {
			switch {
			case len(body) == 0:
				n.addEdit(start, end, nullBytes)
				return nil
			case isFold(body, "true"):
				n.addEdit(start, end, trueBytes)
				return nil
			case isFold(body, "false"):
				n.addEdit(start, end, falseByte)
				return nil
			}
		}
		return n.badType(nd, start, end)
	}
	if esc {
		body = n.unescape(body)
	}
	if len(body) == 0 {
		n.addEdit(start, end, nullBytes)
		return nil
	}
	switch nd.typ {
	case ftTimestamp:
		t, ok := nd.tf.parse(body, false)
		if !ok {
			return n.badType(nd, start, end)
		}
		n.eventTime(nd, t)
	case ftInt, ftBigint, ftFloat:
		isInt, ok := isJSONNumber(body)
		if !ok || (nd.typ != ftFloat && (!isInt || !intInRange(body, bitsOf(nd)))) {
			return n.badType(nd, start, end)
		}
		if nd.ind != 0 {
			n.ind.scan(nd.ind, body, false)
		}
		n.addEdit(start, end, body)
	}
	return nil
}

func bitsOf(nd *cnode) int {
	if nd.typ == ftInt {
		return 32
	}
	return 64
}

func isFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// checkNumber checks the number d[start:end] against nd.
func (n *Normalizer) checkNumber(nd *cnode, start, end int, isInt bool) *Rejection {
	text := n.data[start:end]
	switch nd.typ {
	case ftFloat:
		return nil
	case ftJSON:
		if nd.ind != 0 {
			n.ind.scan(nd.ind, text, true)
		}
		return nil
	case ftString:
		if nd.ind != 0 {
			n.ind.scan(nd.ind, text, false)
		}
		n.addEdit(start, end, quote, text, quote)
		return nil
	case ftInt, ftBigint:
		if !isInt || !intInRange(text, bitsOf(nd)) {
			return n.badType(nd, start, end)
		}
		if nd.ind != 0 {
			n.ind.scan(nd.ind, text, false)
		}
		return nil
	case ftTimestamp:
		t, ok := nd.tf.parse(text, true)
		if !ok {
			return n.badType(nd, start, end)
		}
		n.eventTime(nd, t)
		return nil
	}
	return n.badType(nd, start, end)
}

// checkBool checks the literal true or false at d[start:end] against nd.
func (n *Normalizer) checkBool(nd *cnode, start, end int) *Rejection {
	if nd == nil {
		return nil
	}
	switch nd.typ {
	case ftBoolean, ftJSON:
		return nil
	case ftString:
		n.addEdit(start, end, quote, n.data[start:end], quote)
		return nil
	}
	return n.badType(nd, start, end)
}

// eventTime offers t from field nd as the event time: the candidate first
// in schema order wins.
func (n *Normalizer) eventTime(nd *cnode, t time.Time) {
	if nd.eventRank >= 0 && (n.evRank < 0 || nd.eventRank < n.evRank) {
		n.evRank = nd.eventRank
		n.evTime = t
	}
}
