package scheduler

import (
	"strings"
	"unicode/utf8"

	"github.com/prowl-siem/prowl/internal/correlate"
	"github.com/prowl-siem/prowl/internal/jsondec"
)

// The columns readMatches selects from rule_matches, and their positions.
const matchColumns = "p_rule_id, p_event_time, p_alert_id, p_row_id, p_alert_context, event"

const (
	colRuleID = iota
	colTime
	colAlertID
	colRowID
	colAlertContext
	colEvent
)

// maxInterned bounds the strings a matchDecoder shares between matches.
const maxInterned = 1 << 16

// matchDecoder turns rule_matches rows into correlation matches whose
// Fields hold only the values of a rule's FieldPaths. It decodes just the
// members of the event and of p_alert_context that lookups of the paths
// can reach (their correlate.Selection), with internal/jsondec (which
// gives encoding/json's values, with UseNumber); the rest is skipped, not
// decoded. Nothing it returns shares memory with the row, so the page of
// whole events the rows came in is freed once read. Rule and alert IDs,
// keys and strings without escapes are shared between matches (up to
// maxInterned of them).
type matchDecoder struct {
	paths    []string
	sel      correlate.Selection
	buf      []byte         // jsondec's input; it copies what it returns
	interned map[string]any // strings, boxed once
}

func newMatchDecoder(paths []string) *matchDecoder {
	return &matchDecoder{paths: paths, sel: correlate.Select(paths), interned: map[string]any{}}
}

// decode turns a rule_matches row (the columns of matchColumns) into a
// correlation match whose Fields are the values of the paths (see
// correlate.Resolve; nil when none is found) in the event with
// p_alert_context, p_alert_id and p_rule_id added (they replace members of
// the event with those names). An event that is not a JSON object, or is
// malformed where it is read, gives no fields of its own; of the parts
// skipped only the strings and brackets are checked.
func (d *matchDecoder) decode(row []any) correlate.Match {
	at, _ := lakeTime(row[colTime])
	m := correlate.Match{RuleID: d.share(str(row[colRuleID])), Time: at, AlertID: d.share(str(row[colAlertID])), RowID: str(row[colRowID])}
	if len(d.sel) == 0 {
		return m
	}
	var fields map[string]any
	if ev := str(row[colEvent]); ev != "" {
		fields, _ = d.object(ev, d.sel)
	}
	if fields == nil {
		fields = map[string]any{}
	}
	if e := d.sel["p_alert_context"]; e != nil {
		if ac := strings.TrimSpace(str(row[colAlertContext])); ac != "" {
			if end := skipValue(ac, 0); end == len(ac) {
				scratch := map[string]any{}
				if d.member(scratch, "p_alert_context", e, ac) {
					delete(fields, "p_alert_context")
					if v, ok := scratch["p_alert_context"]; ok {
						fields["p_alert_context"] = v
					}
				}
			}
		}
	}
	for _, p := range [...]struct{ key, val string }{{"p_alert_id", m.AlertID}, {"p_rule_id", m.RuleID}} {
		switch e := d.sel[p.key]; {
		case e == nil:
		case e.Whole:
			fields[p.key] = p.val
		default:
			delete(fields, p.key) // a string: lookup cannot enter it
		}
	}
	m.Fields = correlate.Resolve(fields, d.paths)
	return m
}

// object decodes the members of the JSON object s that sel selects; the
// map is nil when it selects none. ok is false when s is not an object or
// is malformed.
func (d *matchDecoder) object(s string, sel correlate.Selection) (m map[string]any, ok bool) {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return nil, false
	}
	if i = skipSpace(s, i+1); i < len(s) && s[i] == '}' {
		return nil, true
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return nil, false
		}
		ke := skipString(s, i)
		if ke < 0 {
			return nil, false
		}
		key := s[i+1 : ke-1]
		if !plainString(key) {
			if key, ok = d.key(s[i:ke]); !ok {
				return nil, false
			}
		}
		if i = skipSpace(s, ke); i >= len(s) || s[i] != ':' {
			return nil, false
		}
		v := skipSpace(s, i+1)
		end := skipValue(s, v)
		if end < 0 {
			return nil, false
		}
		if e := sel[key]; e != nil {
			if m == nil {
				m = map[string]any{}
			}
			if !d.member(m, d.intern(key).(string), e, s[v:end]) {
				return nil, false
			}
		}
		switch i = skipSpace(s, end); {
		case i < len(s) && s[i] == ',':
			i = skipSpace(s, i+1)
		case i < len(s) && s[i] == '}':
			return m, true
		default:
			return nil, false
		}
	}
}

// member sets m[k] from the JSON value raw as selected by e: the whole
// value, or the selected part of an object. A value lookup cannot enter,
// or an object with nothing selected, deletes m[k] instead (a repeated
// key's last value wins, as in encoding/json). It reports whether raw was
// read.
func (d *matchDecoder) member(m map[string]any, k string, e *correlate.Selected, raw string) bool {
	switch {
	case e.Whole:
		v, ok := d.value(raw)
		if !ok {
			return false
		}
		m[k] = v
	case raw[0] == '{':
		sub, ok := d.object(raw, e.Sub)
		if !ok {
			return false
		}
		if len(sub) > 0 {
			m[k] = sub
		} else {
			delete(m, k)
		}
	default:
		delete(m, k)
	}
	return true
}

// value decodes the JSON value raw whole.
func (d *matchDecoder) value(raw string) (any, bool) {
	if n := len(raw); n >= 2 && raw[0] == '"' && plainString(raw[1:n-1]) {
		return d.intern(raw[1 : n-1]), true
	}
	d.buf = append(append(append(d.buf[:0], `{"":`...), raw...), '}')
	m, err := jsondec.Decode(d.buf)
	if err != nil {
		return nil, false
	}
	return m[""], true
}

// key decodes a key with escapes or invalid UTF-8 (quotes included).
func (d *matchDecoder) key(quoted string) (string, bool) {
	d.buf = append(append(append(d.buf[:0], '{'), quoted...), ":0}"...)
	m, err := jsondec.Decode(d.buf)
	if err != nil {
		return "", false
	}
	for k := range m {
		return k, true
	}
	return "", false
}

// intern returns a copy of s, boxed, shared with earlier calls while
// there are not too many.
func (d *matchDecoder) intern(s string) any {
	if v, ok := d.interned[s]; ok {
		return v
	}
	c := strings.Clone(s)
	var v any = c
	if len(d.interned) < maxInterned {
		d.interned[c] = v
	}
	return v
}

// share is intern for a string the decoder may keep as it is.
func (d *matchDecoder) share(s string) string {
	if v, ok := d.interned[s]; ok {
		return v.(string)
	}
	if len(d.interned) < maxInterned {
		d.interned[s] = s
	}
	return s
}

// plainString reports whether the body of a JSON string is its text: no
// escapes, no control characters, valid UTF-8.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c < 0x20 {
			return false
		}
	}
	return utf8.ValidString(s)
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string whose opening quote
// is at s[i], or -1.
func skipString(s string, i int) int {
	j := i + 1
	for {
		k := strings.IndexByte(s[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		// The quote ends the string unless an odd number of backslashes
		// escapes it.
		n := 0
		for b := j - 1; b > i && s[b] == '\\'; b-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

// skipValue returns the index after the JSON value at s[i] (no leading
// space), or -1. Only strings and brackets are checked.
func skipValue(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				if j = skipString(s, j); j < 0 {
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
	}
	j := i
	for j < len(s) {
		switch s[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if j == i {
				return -1
			}
			return j
		}
		j++
	}
	if j == i {
		return -1
	}
	return j
}
