package scheduler

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"github.com/prowl-siem/prowl/internal/correlate"
	"github.com/prowl-siem/prowl/internal/jsondec"
	"github.com/prowl-siem/prowl/internal/jsonscan"
)

// The columns readMatches selects from rule_matches: a match's keys, then
// either its alert context and event (eventColumns) or the values its
// correlation rules join on, as written with it (storedColumns; see
// CorrelationFields); and their positions.
const (
	keyColumns    = "p_rule_id, p_event_time, p_alert_id, p_row_id"
	eventColumns  = keyColumns + ", p_alert_context, event"
	storedColumns = keyColumns + ", p_correlation_fields"
)

const (
	colRuleID = iota
	colTime
	colAlertID
	colRowID
	colAlertContext
	colEvent
	colStored = colAlertContext // p_correlation_fields in storedColumns
)

// maxInterned bounds the strings a matchDecoder shares between matches.
const maxInterned = 1 << 16

// matchDecoder turns rule_matches rows into correlation matches whose
// Fields hold only the values of a rule's FieldPaths. It decodes just the
// members of the event and of p_alert_context that lookups of the paths
// can reach (their correlate.Selection), with internal/jsondec (which
// gives encoding/json's values, with UseNumber); the rest is skipped, not
// decoded. When stored is set it reads the rows of storedColumns instead,
// whose p_correlation_fields hold those values already, keyed by path.
// The scanning is internal/jsonscan's, on a copy of the row's text in a
// buffer reused from row to row (DuckDB gives strings; the copy costs less
// than the scan). Nothing it returns shares memory with the row or the
// buffer, so the page the rows came in is freed once read. Rule and alert
// IDs, keys and strings without escapes are shared between matches (up to
// maxInterned of them).
type matchDecoder struct {
	paths    []string
	sel      correlate.Selection
	stored   bool
	byPath   correlate.Selection // the paths as whole keys, for p_correlation_fields
	text     []byte              // the JSON being read, copied from the row
	interned map[string]any      // strings, boxed once

	fieldSets map[string]map[string]any // Fields holding only strings, by their values (shareFields)
	fieldsKey []byte
}

func newMatchDecoder(paths []string) *matchDecoder {
	byPath := correlate.Selection{}
	for _, p := range paths {
		byPath[p] = &correlate.Selected{Whole: true}
	}
	return &matchDecoder{paths: paths, sel: correlate.Select(paths), byPath: byPath, interned: map[string]any{},
		fieldSets: map[string]map[string]any{}}
}

// decode turns a rule_matches row (the columns of eventColumns, or of
// storedColumns when d.stored is set) into a correlation match whose
// Fields are the values of the paths (see resolve; nil when none is
// found).
func (d *matchDecoder) decode(row []any) correlate.Match {
	at, _ := lakeTime(row[colTime])
	m := correlate.Match{RuleID: d.share(str(row[colRuleID])), Time: at, AlertID: d.share(str(row[colAlertID])), RowID: str(row[colRowID])}
	if len(d.sel) == 0 {
		return m
	}
	var fields map[string]any
	if d.stored {
		d.text = append(d.text[:0], str(row[colStored])...)
		fields, _ = d.object(d.text, d.byPath)
	} else {
		fields = d.resolve(m.RuleID, m.AlertID, str(row[colAlertContext]), str(row[colEvent]))
	}
	m.Fields = d.shareFields(fields)
	return m
}

// resolve returns the values of the paths (correlate.Resolve, nil when
// none is found) in the event with p_alert_context, p_alert_id and
// p_rule_id added (they replace members of the event with those names).
// An event that is not a JSON object, or is malformed where it is read,
// gives no fields of its own; of the parts skipped only the strings and
// brackets are checked.
func (d *matchDecoder) resolve(ruleID, alertID, alertContext, event string) map[string]any {
	var fields map[string]any
	if event != "" {
		d.text = append(d.text[:0], event...)
		fields, _ = d.object(d.text, d.sel)
	}
	if fields == nil {
		fields = map[string]any{}
	}
	if e := d.sel["p_alert_context"]; e != nil {
		if ac := strings.TrimSpace(alertContext); ac != "" {
			d.text = append(d.text[:0], ac...)
			if end := jsonscan.SkipValue(d.text, 0); end == len(d.text) {
				scratch := map[string]any{}
				if d.member(scratch, "p_alert_context", e, d.text) {
					delete(fields, "p_alert_context")
					if v, ok := scratch["p_alert_context"]; ok {
						fields["p_alert_context"] = v
					}
				}
			}
		}
	}
	for _, p := range [...]struct{ key, val string }{{"p_alert_id", alertID}, {"p_rule_id", ruleID}} {
		switch e := d.sel[p.key]; {
		case e == nil:
		case e.Whole:
			fields[p.key] = p.val
		default:
			delete(fields, p.key) // a string: lookup cannot enter it
		}
	}
	return correlate.Resolve(fields, d.paths)
}

// shareFields returns a map decoded before that equals f when f holds only
// strings, the usual join keys (users, IPs): the matches of one user then
// share one map, which is most of a match's memory. Evaluation only reads
// Fields.
func (d *matchDecoder) shareFields(f map[string]any) map[string]any {
	if len(f) == 0 {
		return f
	}
	d.fieldsKey = d.fieldsKey[:0]
	for _, p := range d.paths {
		v, ok := f[p]
		if !ok {
			d.fieldsKey = append(d.fieldsKey, 0)
			continue
		}
		s, ok := v.(string)
		if !ok {
			return f
		}
		d.fieldsKey = binary.AppendUvarint(append(d.fieldsKey, 1), uint64(len(s)))
		d.fieldsKey = append(d.fieldsKey, s...)
	}
	if shared, ok := d.fieldSets[string(d.fieldsKey)]; ok {
		return shared
	}
	if len(d.fieldSets) < maxInterned {
		d.fieldSets[string(d.fieldsKey)] = f
	}
	return f
}

// object decodes the members of the JSON object s that sel selects; the
// map is nil when it selects none. ok is false when s is not an object or
// is malformed.
func (d *matchDecoder) object(s []byte, sel correlate.Selection) (m map[string]any, ok bool) {
	failed := false
	ok = jsonscan.EachMember(s, func(rawKey, val []byte) bool {
		var e *correlate.Selected
		var k string
		if body := rawKey[1 : len(rawKey)-1]; plainString(body) {
			if e = sel[string(body)]; e != nil {
				k = d.intern(body).(string)
			}
		} else {
			key, ok := d.key(rawKey)
			if !ok {
				failed = true
				return false
			}
			if e = sel[key]; e != nil {
				k = d.share(key)
			}
		}
		if e == nil {
			return true
		}
		if m == nil {
			m = map[string]any{}
		}
		if !d.member(m, k, e, val) {
			failed = true
			return false
		}
		return true
	})
	if !ok || failed {
		return nil, false
	}
	return m, true
}

// member sets m[k] from the JSON value raw as selected by e: the whole
// value, or the selected part of an object. A value lookup cannot enter,
// or an object with nothing selected, deletes m[k] instead (a repeated
// key's last value wins, as in encoding/json). It reports whether raw was
// read.
func (d *matchDecoder) member(m map[string]any, k string, e *correlate.Selected, raw []byte) bool {
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
func (d *matchDecoder) value(raw []byte) (any, bool) {
	if n := len(raw); n >= 2 && raw[0] == '"' && plainString(raw[1:n-1]) {
		return d.intern(raw[1 : n-1]), true
	}
	v, err := jsondec.DecodeValue(raw)
	return v, err == nil
}

// key decodes a key with escapes or invalid UTF-8 (quotes included).
func (d *matchDecoder) key(quoted []byte) (string, bool) {
	v, err := jsondec.DecodeValue(quoted)
	s, ok := v.(string)
	return s, err == nil && ok
}

// intern returns s as a string, boxed, shared with earlier calls while
// there are not too many.
func (d *matchDecoder) intern(s []byte) any {
	if v, ok := d.interned[string(s)]; ok {
		return v
	}
	c := string(s)
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
func plainString(s []byte) bool {
	var or byte
	for _, c := range s {
		if c == '\\' || c < 0x20 {
			return false
		}
		or |= c
	}
	return or < utf8.RuneSelf || utf8.Valid(s)
}
