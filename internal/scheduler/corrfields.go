package scheduler

import (
	"encoding/json"
	"slices"

	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/lake"
)

// CorrelationFields fills in the correlation columns of rule matches as
// they are written (lake.RuleMatch's CorrelationPaths and
// CorrelationFields): for a match of a rule that correlation rules read,
// the paths those rules join on and the values the paths resolve to in
// the match, as a correlation run would decode them from its event. A run
// whose paths they cover reads them instead of the events: a few bytes a
// match instead of about two kilobytes (see scanMatches).
type CorrelationFields struct{ rules *corrRules }

// NewCorrelationFields reads the correlation rules loaded in e.
func NewCorrelationFields(e Engine) *CorrelationFields {
	return &CorrelationFields{rules: newCorrRules(e)}
}

// Add fills in the correlation columns of ms, for the correlation rules
// loaded now (enabled or not: a disabled rule may still be run by hand).
// Matches of rules that no correlation rule reads keep them empty.
func (c *CorrelationFields) Add(ms []lake.RuleMatch) {
	if len(ms) == 0 {
		return
	}
	paths := c.pathsByRule()
	decoders := map[string]*matchDecoder{}
	for i := range ms {
		m := &ms[i]
		p := paths[m.RuleID]
		if len(p) == 0 {
			continue
		}
		d := decoders[m.RuleID]
		if d == nil {
			d = newMatchDecoder(p)
			decoders[m.RuleID] = d
		}
		if fields, ok := storedFields(d, m); ok {
			m.CorrelationPaths, m.CorrelationFields = p, fields
		}
	}
}

// storedFields is p_correlation_fields for m: the values of d's paths
// (matchDecoder.resolve) as a JSON object keyed by path. ok is false when
// they cannot be encoded; the match is then read from its event.
func storedFields(d *matchDecoder, m *lake.RuleMatch) (json.RawMessage, bool) {
	values := d.resolve(m.RuleID, m.AlertID, string(m.AlertContext), string(m.Event))
	if values == nil {
		return json.RawMessage("{}"), true
	}
	b, err := json.Marshal(values)
	return b, err == nil
}

// pathsByRule maps each rule ID that correlation rules read to the paths
// they join on, sorted and without repeats.
func (c *CorrelationFields) pathsByRule() map[string][]string {
	out := map[string][]string{}
	for _, d := range c.rules.engine.Detections() {
		if d.Kind != analysis.KindCorrelationRule {
			continue
		}
		r, err := c.rules.compiled(d)
		if err != nil {
			continue
		}
		for _, id := range r.RuleIDs() {
			out[id] = append(out[id], r.FieldPaths()...)
		}
	}
	for id, p := range out {
		slices.Sort(p)
		out[id] = slices.Compact(p)
	}
	return out
}
