package correlate

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// testEpoch is the time a test's integer time index counts minutes from.
var testEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// testTimeLayouts are the timestamp forms a test's time index may take.
var testTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// TestMatches turns the RuleOutputs of a correlation-rule test into matches:
//
//	RuleOutputs:
//	  - ID: <step ID>
//	    Matches:
//	      <field>:
//	        <value>: [<time>, ...]
//
// Each time is a minute offset from testEpoch (an integer, or a number
// with a fraction) or a timestamp ("2024-06-01T10:00:00Z"). Each entry is
// one match of the step whose field holds the value. Within one RuleOutputs
// item, entries of different fields at the same time are one match (the
// event has all those fields); two values of one field at one time are two
// matches.
func (r *Rule) TestMatches(ruleOutputs any) ([]Match, error) {
	list, ok := ruleOutputs.([]any)
	if !ok {
		if ruleOutputs == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("RuleOutputs: expected a list, got %s", describe(ruleOutputs))
	}
	var out []Match
	for i, raw := range list {
		path := fmt.Sprintf("RuleOutputs[%d]", i)
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: expected a mapping, got %s", path, describe(raw))
		}
		id, err := str(m, "ID", path, true)
		if err != nil {
			return nil, err
		}
		step := r.step(id)
		if step == nil {
			return nil, fmt.Errorf("%s.ID: %q names no step of %s (steps: %s)", path, id, r.ID, strings.Join(r.stepIDs(), ", "))
		}
		fields, ok := m["Matches"].(map[string]any)
		if !ok {
			if m["Matches"] == nil {
				continue
			}
			return nil, fmt.Errorf("%s.Matches: expected a mapping, got %s", path, describe(m["Matches"]))
		}
		type event struct {
			at     time.Time
			fields map[string]any
		}
		var events []*event
		for _, field := range sortedKeys(fields) {
			byValue, ok := fields[field].(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s.Matches.%s: expected a mapping of value to times, got %s", path, field, describe(fields[field]))
			}
			for _, value := range sortedKeys(byValue) {
				vp := fmt.Sprintf("%s.Matches.%s.%s", path, field, value)
				times, ok := byValue[value].([]any)
				if !ok {
					times = []any{byValue[value]}
				}
				for j, rt := range times {
					at, err := testTime(rt)
					if err != nil {
						return nil, fmt.Errorf("%s[%d]: %v", vp, j, err)
					}
					var ev *event
					for _, e := range events {
						if _, has := e.fields[field]; !has && e.at.Equal(at) {
							ev = e
							break
						}
					}
					if ev == nil {
						ev = &event{at: at, fields: map[string]any{}}
						events = append(events, ev)
					}
					ev.fields[field] = value
				}
			}
		}
		sort.SliceStable(events, func(a, b int) bool { return events[a].at.Before(events[b].at) })
		for n, ev := range events {
			out = append(out, Match{RuleID: step.RuleID, Step: id, Time: ev.at, Fields: ev.fields,
				RowID: fmt.Sprintf("%s#%d.%d", id, i, n+1)})
		}
	}
	return out, nil
}

// EvaluateTest runs a test's RuleOutputs through the rule. The window spans
// every match with the rule's horizon on each side, so every absence window
// is closed: a test sees the whole story.
func (r *Rule) EvaluateTest(ruleOutputs any) ([]Result, error) {
	ms, err := r.TestMatches(ruleOutputs)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	lo, hi := ms[0].Time, ms[0].Time
	for _, m := range ms {
		if m.Time.Before(lo) {
			lo = m.Time
		}
		if m.Time.After(hi) {
			hi = m.Time
		}
	}
	h := r.Horizon()
	return r.Evaluate(ms, lo.Add(-h), hi.Add(h)), nil
}

func testTime(v any) (time.Time, error) {
	var minutes float64
	switch x := v.(type) {
	case int:
		minutes = float64(x)
	case int64:
		minutes = float64(x)
	case uint64:
		minutes = float64(x)
	case float64:
		minutes = x
	case string:
		for _, layout := range testTimeLayouts {
			if t, err := time.Parse(layout, strings.TrimSpace(x)); err == nil {
				return t.UTC(), nil
			}
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q is neither a minute offset nor a timestamp (RFC 3339)", x)
		}
		minutes = f
	default:
		return time.Time{}, fmt.Errorf("expected a minute offset or a timestamp, got %s", describe(v))
	}
	if math.IsNaN(minutes) || math.Abs(minutes) > 1e8 {
		return time.Time{}, fmt.Errorf("minute offset %v is out of range", v)
	}
	return testEpoch.Add(time.Duration(minutes * float64(time.Minute))), nil
}

func (r *Rule) step(id string) *Step {
	for _, it := range r.Items {
		for _, s := range it.Steps {
			if s.ID == id {
				return s
			}
		}
	}
	return nil
}

func (r *Rule) stepIDs() []string {
	var ids []string
	for _, it := range r.Items {
		for _, s := range it.Steps {
			ids = append(ids, strconv.Quote(s.ID))
		}
	}
	return ids
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
