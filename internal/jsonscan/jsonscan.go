// Package jsonscan holds the low-level pieces shared by the in-place JSON
// scanners (internal/logtypes, internal/prefilter, internal/lake,
// internal/scheduler): skipping whitespace, strings and whole values,
// walking the members of an object, finding quotes and backslashes eight
// bytes at a time, and reading \u escapes. Everything here works on the
// raw bytes and allocates nothing.
package jsonscan

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace (len(d) when there is none).
func SkipSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// SWAR: bytes of interest, 8 at a time.
const (
	Lsb = 0x0101010101010101 // 0x01 in every byte
	Msb = 0x8080808080808080 // 0x80 in every byte
)

// HasByte has its lowest set bit at the first byte of x equal to b (higher
// bits may be spurious).
func HasByte(x, b uint64) uint64 {
	v := x ^ (Lsb * b)
	return (v - Lsb) &^ v & Msb
}

// SkipToQuoteOrBackslash skips eight bytes at a time from j while they hold
// no '"' and no '\\'. It returns the index of the first such byte, or the
// index where fewer than eight bytes are left (callers go on byte by byte).
func SkipToQuoteOrBackslash(d []byte, j int) int {
	for j+8 <= len(d) {
		x := binary.LittleEndian.Uint64(d[j:])
		if m := HasByte(x, '"') | HasByte(x, '\\'); m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
		j += 8
	}
	return j
}

// SkipString returns the index after the closing quote of the JSON string
// whose opening quote is at d[i], or -1 when the string does not end in d.
// Escapes are skipped, not checked.
func SkipString(d []byte, i int) int {
	j := i + 1
	for {
		j = SkipToQuoteOrBackslash(d, j)
		if j >= len(d) {
			return -1
		}
		switch d[j] {
		case '"':
			return j + 1
		case '\\':
			j += 2
		default:
			j++
		}
	}
}

// IsHexDigit reports whether c is 0-9, a-f or A-F.
func IsHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// hexVal is the value of the hex digits b, which must all be hex digits.
func hexVal(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// hex4 reads the four hex digits of a \u escape at b[i:i+4]; ok is false
// when they are not there.
func hex4(b []byte, i int) (r rune, ok bool) {
	if i+4 > len(b) {
		return 0, false
	}
	for _, c := range b[i : i+4] {
		if !IsHexDigit(c) {
			return 0, false
		}
	}
	return hexVal(b[i : i+4]), true
}

// AppendUnescaped appends the text of the JSON string body s (between the
// quotes) to dst, decoding its escapes. A surrogate pair written as two \u
// escapes becomes its character; a lone surrogate becomes U+FFFD. ok is
// false when s has a lone surrogate or an escape that is not JSON (whose
// character is then kept as it is); the text is decoded all the same.
func AppendUnescaped(dst, s []byte) (out []byte, ok bool) {
	ok = true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(s) {
			return dst, false
		}
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, hexOK := hex4(s, i+1)
			if !hexOK {
				return dst, false
			}
			i += 4
			if r >= 0xd800 && r < 0xe000 {
				paired := false
				// Only a high surrogate followed by an escaped low one is a character.
				if r < 0xdc00 && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if r2, hexOK := hex4(s, i+3); hexOK && r2 >= 0xdc00 && r2 < 0xe000 {
						r = (r-0xd800)<<10 | (r2 - 0xdc00) + 0x10000
						i += 6
						paired = true
					}
				}
				if !paired {
					ok = false
				}
			}
			dst = utf8.AppendRune(dst, r) // a lone surrogate encodes as U+FFFD
		default:
			ok = false
			dst = append(dst, s[i])
		}
	}
	return dst, ok
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD; control characters, quotes and backslashes are escaped, and so
// are U+2028 and U+2029 (line separators that break JavaScript embedding).
func AppendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
			case r == '\u2028' || r == '\u2029':
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\u202`...)
				dst = append(dst, hexDigits[r&0xf])
				i += size
				start = i
			default:
				i += size
			}
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// IndexedMembers calls fn, in order, for each member of the compact JSON
// object d whose keys start at the offsets offs (logtypes.Event.Members):
// k is the member's position, key its key with the quotes, val its value.
// Values are not scanned: each ends at the comma before the next key, the
// last at the closing brace. fn returns false to stop. The offsets are
// trusted to name every member (the normalizer wrote them); IndexedMembers
// checks that each is a key where one can be, and returns false, perhaps
// after calling fn for some members, when one is not: callers then scan d.
func IndexedMembers(d []byte, offs []uint32, fn func(k int, key, val []byte) bool) bool {
	n := len(d)
	if n < 2 || d[0] != '{' || d[n-1] != '}' || (len(offs) == 0 && n != 2) {
		return false
	}
	for k, off := range offs {
		i, end := int(off), n-1
		if k+1 < len(offs) {
			end = int(offs[k+1]) - 1
		}
		if i >= end || end >= n || d[i] != '"' || (k+1 < len(offs) && d[end] != ',') ||
			(k == 0 && i != 1) || (k > 0 && d[i-1] != ',') {
			return false
		}
		ke := SkipString(d[:end], i) // after the key's closing quote
		if ke < 0 || ke >= end || d[ke] != ':' {
			return false
		}
		if !fn(k, d[i:ke], d[ke+1:end]) {
			return true
		}
	}
	return true
}

// SkipValue returns the index after the JSON value that starts at d[i] (no
// leading whitespace), or -1 when no value starts there or it does not end
// in d. Only strings and brackets are checked: a string must end (its
// escapes are skipped, as in SkipString), brackets must balance (either
// closing bracket closes either opening one), and a number or literal is
// whatever nonempty text runs up to the next ',', '}', ']', whitespace or
// the end of d. Every JSON value is skipped exactly, but some text that is
// not JSON is skipped too.
func SkipValue(d []byte, i int) int {
	if i >= len(d) {
		return -1
	}
	switch d[i] {
	case '"':
		return SkipString(d, i)
	case '{', '[':
		// Byte by byte: in typical JSON a bracket or quote comes every
		// few bytes, too often for skipping eight at a time to pay.
		depth := 0
		for j := i; j < len(d); j++ {
			switch d[j] {
			case '"':
				if j = SkipString(d, j); j < 0 {
					return -1
				}
				j-- // the loop steps past the closing quote
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // a number or literal
		j := i
		for j < len(d) {
			switch d[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if j == i {
					return -1
				}
				return j
			}
			j++
		}
		return j // j > i: d[i] is not a terminator
	}
}

// EachMember calls fn, in order, for each member of the JSON object that
// starts d (after whitespace): rawKey is the member's key with its quotes,
// val its value; both are subslices of d (so cap(d)-cap(val) is val's
// offset in d). fn returns false to stop. Keys are skipped with SkipString
// and values with SkipValue, not decoded or checked further; a repeated key
// is passed each time. The bytes after the object's closing brace are not
// read. EachMember returns false when d does not start with an object or
// the object is malformed where it is read, having perhaps called fn for
// the members before the fault; it returns true when the object ends or fn
// stops it.
func EachMember(d []byte, fn func(rawKey, val []byte) bool) bool {
	i := SkipSpace(d, 0)
	if i >= len(d) || d[i] != '{' {
		return false
	}
	if i = SkipSpace(d, i+1); i < len(d) && d[i] == '}' {
		return true
	}
	for {
		if i >= len(d) || d[i] != '"' {
			return false
		}
		ke := SkipString(d, i)
		if ke < 0 {
			return false
		}
		k := i
		if i = SkipSpace(d, ke); i >= len(d) || d[i] != ':' {
			return false
		}
		v := SkipSpace(d, i+1)
		ve := SkipValue(d, v)
		if ve < 0 {
			return false
		}
		if !fn(d[k:ke], d[v:ve]) {
			return true
		}
		switch i = SkipSpace(d, ve); {
		case i < len(d) && d[i] == ',':
			i = SkipSpace(d, i+1)
		case i < len(d) && d[i] == '}':
			return true
		default:
			return false
		}
	}
}
