package prefilter

import (
	"bytes"
	"unicode/utf8"

	"github.com/prowl-siem/prowl/internal/jsonscan"
)

// The scanner reads JSON in place: it finds value boundaries without
// building anything. Every function returns -1 when the text is not JSON
// it can follow; callers turn that into "unknown".

// skipWS skips JSON whitespace from i.
func skipWS(d []byte, i int) int { return jsonscan.SkipSpace(d, i) }

// skipString returns the index after the closing quote of the string whose
// opening quote is at i.
func skipString(d []byte, i int) int { return jsonscan.SkipString(d, i) }

// scanKey is skipString for keys, noting escapes and non-ASCII bytes.
func scanKey(d []byte, i int) (end int, escaped, nonASCII bool) {
	for j := i + 1; j < len(d); j++ {
		switch c := d[j]; {
		case c == '"':
			return j + 1, escaped, nonASCII
		case c == '\\':
			escaped = true
			j++
		case c >= 0x80:
			nonASCII = true
		}
	}
	return -1, false, false
}

// skipValue returns the index after the value that starts at i (no leading
// whitespace).
func skipValue(d []byte, i int) int { return jsonscan.SkipValue(d, i) }

// class is what a path resolves to.
type class uint8

const (
	clMissing class = iota
	clNull
	clString
	clNumber
	clBool
	clObject
	clArray
	clUnknown // cannot decide (malformed text, ambiguous key)
)

var classNames = map[string]class{"missing": clMissing, "null": clNull, "string": clString, "number": clNumber,
	"bool": clBool, "object": clObject, "array": clArray}

// classify returns the class of the value starting at d[i].
func classify(d []byte, i int) class {
	switch d[i] {
	case '"':
		return clString
	case '{':
		return clObject
	case '[':
		return clArray
	case 't', 'f':
		return clBool
	case 'n':
		return clNull
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return clNumber
	}
	return clUnknown
}

// decodeString returns the text of a JSON string body (between the quotes).
// ok is false for text Python would hold differently: lone surrogates and
// invalid escapes.
func decodeString(raw []byte) (s string, ok bool) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw), true
	}
	out, ok := jsonscan.AppendUnescaped(make([]byte, 0, len(raw)), raw)
	if !ok {
		return "", false
	}
	return string(out), true
}

func isASCII(s []byte) bool {
	for _, c := range s {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// equalFoldLower reports whether lower(k) == want, for ASCII k and a want
// that is already lower case.
func equalFoldLower(k []byte, want string) bool {
	if len(k) != len(want) {
		return false
	}
	for i := range k {
		if lowerASCII(k[i]) != want[i] {
			return false
		}
	}
	return true
}

// member is one key of an object: its decoded text (when it has escapes)
// or raw bytes, and the span of its value.
type member struct {
	ord        int // position in the object
	keyS       int // offset of the key's opening quote
	raw        []byte
	text       string // set when the key has escapes
	escaped    bool
	bad        bool // undecodable (lone surrogate): equals no valid key
	nonASCII   bool
	valS, valE int
}

func (m *member) bytes() []byte {
	if m.escaped {
		return []byte(m.text)
	}
	return m.raw
}

func (m *member) equals(key string) bool {
	if m.bad {
		return false
	}
	if m.escaped {
		return m.text == key
	}
	return string(m.raw) == key
}

// keyMember is the member whose key's quotes are d[i] and d[ke-1], as
// scanKey found it.
func keyMember(d []byte, i, ke int, escaped, nonASCII bool) member {
	m := member{keyS: i, raw: d[i+1 : ke-1], nonASCII: nonASCII}
	if escaped {
		m.escaped = true
		text, ok := decodeString(m.raw)
		m.text, m.bad = text, !ok
		m.nonASCII = !ok || !isASCIIString(text)
	}
	return m
}

// objectReader reads the members of an object in document order: key
// reads a member's key and the colon after it, the caller finds the end of
// its value, and next steps past that value to the comma or closing brace.
type objectReader struct {
	d   []byte
	i   int // where the next member's key starts
	end int // after the closing brace once read, else -1
}

// readObject starts reading the object at d[start]; end is -1 when none
// starts there.
func readObject(d []byte, start int) objectReader {
	r := objectReader{d: d, i: len(d), end: -1}
	if start < len(d) && d[start] == '{' {
		if r.i = skipWS(d, start+1); r.i < len(d) && d[r.i] == '}' {
			r.end = r.i + 1
		}
	}
	return r
}

// key reads the next member's key into m, and where its value starts; it
// returns false at the end of the object or on malformed text.
func (r *objectReader) key(m *member) bool {
	d, i := r.d, r.i
	if r.end >= 0 || i >= len(d) || d[i] != '"' {
		return false
	}
	ke, escaped, nonASCII := scanKey(d, i)
	if ke < 0 {
		return false
	}
	*m = keyMember(d, i, ke, escaped, nonASCII)
	if i = skipWS(d, ke); i >= len(d) || d[i] != ':' {
		return false
	}
	m.valS = skipWS(d, i+1)
	return true
}

// next steps past the value that ends at valE (-1: malformed).
func (r *objectReader) next(valE int) {
	d := r.d
	switch i := skipWS(d, max(valE, 0)); {
	case valE < 0 || i >= len(d):
		r.i = len(d)
	case d[i] == ',':
		r.i = skipWS(d, i+1)
	case d[i] == '}':
		r.end = i + 1
	default:
		r.i = len(d)
	}
}

// members calls fn for each member of the object at d[start] in document
// order; fn returns false to stop. It returns false on malformed text.
func members(d []byte, start int, fn func(m member) bool) bool {
	r := readObject(d, start)
	var m member
	for r.key(&m) {
		if m.valE = skipValue(d, m.valS); m.valE >= 0 && !fn(m) {
			return true
		}
		r.next(m.valE)
	}
	return r.end >= 0
}

// indexedMembers is members for the top-level object of a normalized
// event, whose keys start at the given offsets (jsonscan.IndexedMembers).
// It returns false, having perhaps called fn for some members, when the
// text does not fit the offsets.
func indexedMembers(d []byte, offs []uint32, fn func(m member) bool) bool {
	return jsonscan.IndexedMembers(d, offs, func(k int, key, val []byte) bool {
		i := int(offs[k])
		_, escaped, nonASCII := scanKey(key, 0)
		m := keyMember(d, i, i+len(key), escaped, nonASCII)
		m.ord, m.valS, m.valE = k, i+len(key)+1, i+len(key)+1+len(val)
		return fn(m)
	})
}

// keyMatch tracks, for one wanted key while an object is scanned, the
// exact match (last occurrence wins, as in json.loads) and the first
// case-insensitive match (and that key's last value).
type keyMatch struct {
	key, lower string // lower is "" when key is not ASCII
	goLookup   bool   // Set.goLookup: a missing exact key is unknown if any key might fold to it
	exact      bool
	exS, exE   int
	exOrd      int
	ci         bool
	ciKey      string
	ciS, ciE   int
	ciOrd      int
	uncertain  bool // an undecodable key came first: Python's lower() might map it to ours
}

func newKeyMatch(key string) keyMatch {
	return keyMatch{key: key, lower: lowerKey(key)}
}

// lowerKey is the ASCII lower case of key, or "" when key is not ASCII.
func lowerKey(key string) string {
	if !isASCIIString(key) {
		return ""
	}
	b := []byte(key)
	for i := range b {
		b[i] = lowerASCII(b[i])
	}
	return string(b)
}

func (km *keyMatch) see(m *member) {
	if km.goLookup && m.nonASCII {
		km.uncertain = true // Unicode folding could map it to the key
	}
	if m.equals(km.key) {
		km.exact, km.exS, km.exE, km.exOrd = true, m.valS, m.valE, m.ord
		return
	}
	if km.ci {
		if !m.bad && string(m.bytes()) == km.ciKey {
			km.ciS, km.ciE, km.ciOrd = m.valS, m.valE, m.ord
		}
		return
	}
	if m.nonASCII {
		if km.lower == "" {
			return // no exact match: result() says unknown anyway
		}
		switch folded, ok := kelvinFold(m); {
		case !ok:
			km.uncertain = true
		case folded == km.lower:
			km.ci, km.ciKey, km.ciS, km.ciE, km.ciOrd = true, string(m.bytes()), m.valS, m.valE, m.ord
		}
		return
	}
	if km.lower != "" && equalFoldLower(m.bytes(), km.lower) {
		km.ci, km.ciKey, km.ciS, km.ciE, km.ciOrd = true, string(m.bytes()), m.valS, m.valE, m.ord
	}
}

// kelvinFold is Python's str.lower() of a non-ASCII key when the result can
// be ASCII: U+212A KELVIN SIGN is the only non-ASCII character whose lower
// case is ASCII ('k'; TestOnlyKelvinLowersToASCII checks this against the
// interpreter). A key with any other non-ASCII character can equal no ASCII
// key case-insensitively: folded is "" then. ok is false when the key's
// text is not valid UTF-8.
func kelvinFold(m *member) (folded string, ok bool) {
	if m.bad {
		return "", false
	}
	b := m.bytes()
	if !utf8.Valid(b) {
		return "", false
	}
	out := make([]byte, 0, len(b))
	for _, r := range string(b) {
		switch {
		case r < 0x80:
			out = append(out, lowerASCII(byte(r)))
		case r == 0x212A:
			out = append(out, 'k')
		default:
			return "", true
		}
	}
	return string(out), true
}

// result is the value's span, or clMissing, or clUnknown.
func (km *keyMatch) result() (class, int, int) {
	switch {
	case km.exact:
		return clKnown, km.exS, km.exE
	case km.goLookup && km.ci:
		return clUnknown, 0, 0
	case km.lower == "" || km.uncertain:
		return clUnknown, 0, 0
	case km.ci:
		return clKnown, km.ciS, km.ciE
	}
	return clMissing, 0, 0
}

// resultMember is result with the position of the member found.
func (km *keyMatch) resultMember() (class, int) {
	cl, s, _ := km.result()
	switch {
	case cl != clKnown:
		return cl, -1
	case km.exact && s == km.exS:
		return cl, km.exOrd
	}
	return cl, km.ciOrd
}

// clKnown marks a found value in keyMatch.result; the caller classifies it.
const clKnown = clUnknown + 1
