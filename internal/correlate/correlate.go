// Package correlate evaluates correlation rules (AnalysisType
// correlation_rule): sequences and groups of rule matches, joined on field
// values, bounded in time, with optional absent steps. Compile turns a
// loaded spec into a Rule; Rule.Evaluate finds the correlations in a set of
// rule matches. The semantics are documented in docs/correlation.md.
package correlate

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prowl-siem/prowl/internal/analysis"
)

// DefaultLookback is the lookback window when LookbackWindowMinutes is not set.
const DefaultLookback = 15 * time.Minute

// Order is the EventEvaluationOrder of a rule.
type Order int

// The evaluation orders. Chronological builds each result from the oldest
// usable matches; ReverseChronological from the newest.
const (
	Chronological Order = iota
	ReverseChronological
)

func (o Order) String() string {
	if o == ReverseChronological {
		return "ReverseChronological"
	}
	return "Chronological"
}

// Rule is a compiled correlation rule.
type Rule struct {
	ID       string
	Title    string // DisplayName, else RuleID
	Severity string // upper case
	// Lookback bounds a result: all its contributing matches lie within
	// Lookback of each other, and each scheduled run reads at least this far
	// back (see Horizon).
	Lookback time.Duration
	Order    Order
	Schedule *analysis.Schedule
	// Items are the Detection items. Each is evaluated on its own; a rule
	// with several items alerts when any of them does.
	Items []*Item
}

// Kind says whether an item is a sequence or a group.
type Kind string

// Item kinds.
const (
	Sequence Kind = "Sequence"
	Group    Kind = "Group"
)

// Item is one Detection item: a Sequence with its Transitions or a Group
// with its MatchCriteria.
type Item struct {
	Kind        Kind
	Steps       []*Step
	Transitions []*Transition // Sequence only; explicit transitions as written
	Criteria    []*Criterion  // Group only

	conds []cond       // join conditions between (or within) steps
	trans []transition // sequences: explicit and implicit transitions, From < To
}

// Step is one element of a Sequence or Group.
type Step struct {
	ID string
	// RuleID names the rule (or scheduled or correlation rule) whose matches
	// feed the step. SignalMatch steps (a Panther filter expression over
	// signals) have no RuleID; they are fed only by matches that name the
	// step explicitly (Match.Step), as tests do.
	RuleID      string
	SignalMatch string
	// MinMatchCount is how many matches the step needs (1 by default); for an
	// Absence step, how many matches make it present.
	MinMatchCount int
	// MaxMatchCount caps how many of the step's matches one result takes
	// (0: no cap). Further matches are left for later results.
	MaxMatchCount int
	Absence       bool
}

// Transition links two sequence steps.
type Transition struct {
	ID       string
	From, To string
	// Within is WithinTimeFrameMinutes; the rule's lookback when not set.
	Within time.Duration
	Match  []Join
}

// Join is one Match condition of a transition: the value of From in the
// earlier step equals the value of To in the later one (On sets both).
type Join struct{ From, To string }

// Criterion is one named MatchCriteria entry of a Group: the listed steps'
// matches share a value, each step read at its own field.
type Criterion struct {
	Name    string
	Entries []CriterionEntry
}

// CriterionEntry is one {GroupID, Match} pair of a criterion.
type CriterionEntry struct {
	Step  string // GroupID
	Field string // Match
}

// cond says: the values of field fa of step a's matches intersect the values
// of field fb of step b's matches. a == b means step-mates agree.
type cond struct {
	a, b   int
	fa, fb string
}

// transition is a resolved sequence transition (from < to).
type transition struct {
	from, to int
	within   time.Duration
}

// Compile checks a correlation rule and prepares it for evaluation. Errors
// name the place in the spec, e.g. "Detection[0].Transitions[1]: ...".
func Compile(d *analysis.Detection) (*Rule, error) {
	if d.Kind != analysis.KindCorrelationRule {
		return nil, fmt.Errorf("%s is a %s, not a correlation_rule", d.ID, d.Kind)
	}
	r := &Rule{ID: d.ID, Title: d.DisplayName, Severity: strings.ToUpper(d.Severity), Schedule: d.Schedule,
		Lookback: time.Duration(d.LookbackWindowMinutes) * time.Minute}
	if r.Title == "" {
		r.Title = d.ID
	}
	if r.Lookback <= 0 {
		r.Lookback = DefaultLookback
	}
	switch d.EventEvaluationOrder {
	case "", "Chronological":
	case "ReverseChronological":
		r.Order = ReverseChronological
	default:
		return nil, fmt.Errorf("EventEvaluationOrder %q is not Chronological or ReverseChronological", d.EventEvaluationOrder)
	}
	items, ok := d.Match.([]any)
	if !ok || len(items) == 0 {
		return nil, fmt.Errorf("Detection: expected a non-empty list of Sequence or Group items")
	}
	for i, raw := range items {
		it, err := r.compileItem(raw, fmt.Sprintf("Detection[%d]", i))
		if err != nil {
			return nil, err
		}
		r.Items = append(r.Items, it)
	}
	return r, nil
}

func (r *Rule) compileItem(raw any, path string) (*Item, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: expected a mapping, got %s", path, describe(raw))
	}
	_, hasSeq := m["Sequence"]
	_, hasGroup := m["Group"]
	it := &Item{Kind: Sequence}
	switch {
	case hasSeq && hasGroup:
		return nil, fmt.Errorf("%s: only one of Sequence and Group may be set", path)
	case hasGroup:
		it.Kind = Group
	case !hasSeq:
		return nil, fmt.Errorf("%s: needs a Sequence or a Group", path)
	}
	stepsPath := path + "." + string(it.Kind)
	list, ok := m[string(it.Kind)].([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("%s: expected a non-empty list of steps", stepsPath)
	}
	ids := map[string]int{}
	present := 0
	for i, rs := range list {
		sp := fmt.Sprintf("%s[%d]", stepsPath, i)
		s, err := compileStep(rs, sp)
		if err != nil {
			return nil, err
		}
		if _, dup := ids[s.ID]; dup {
			return nil, fmt.Errorf("%s: duplicate step ID %q", sp, s.ID)
		}
		ids[s.ID] = i
		if !s.Absence {
			present++
		}
		it.Steps = append(it.Steps, s)
	}
	if present == 0 {
		return nil, fmt.Errorf("%s: every step is an Absence; at least one step must be present", stepsPath)
	}
	var err error
	if it.Kind == Sequence {
		if _, ok := m["MatchCriteria"]; ok {
			return nil, fmt.Errorf("%s: MatchCriteria is for Group; a Sequence uses Transitions", path)
		}
		err = it.compileTransitions(m["Transitions"], path+".Transitions", ids, r.Lookback)
	} else {
		if _, ok := m["Transitions"]; ok {
			return nil, fmt.Errorf("%s: Transitions are for Sequence; a Group uses MatchCriteria", path)
		}
		err = it.compileCriteria(m["MatchCriteria"], path+".MatchCriteria", ids)
	}
	if err != nil {
		return nil, err
	}
	it.addSelfConds()
	return it, nil
}

func compileStep(raw any, path string) (*Step, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: expected a mapping, got %s", path, describe(raw))
	}
	s := &Step{}
	var err error
	if s.ID, err = str(m, "ID", path, true); err != nil {
		return nil, err
	}
	if s.RuleID, err = str(m, "RuleID", path, false); err != nil {
		return nil, err
	}
	if s.SignalMatch, err = str(m, "SignalMatch", path, false); err != nil {
		return nil, err
	}
	switch {
	case s.RuleID != "" && s.SignalMatch != "":
		return nil, fmt.Errorf("%s: only one of RuleID and SignalMatch may be set", path)
	case s.RuleID == "" && s.SignalMatch == "":
		return nil, fmt.Errorf("%s: missing RuleID", path)
	}
	if s.MinMatchCount, err = integer(m, "MinMatchCount", path, 1, 1); err != nil {
		return nil, err
	}
	if s.MaxMatchCount, err = integer(m, "MaxMatchCount", path, 0, 1); err != nil {
		return nil, err
	}
	if s.MaxMatchCount > 0 && s.MaxMatchCount < s.MinMatchCount {
		return nil, fmt.Errorf("%s: MaxMatchCount %d is less than MinMatchCount %d", path, s.MaxMatchCount, s.MinMatchCount)
	}
	if v, ok := m["Absence"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("%s.Absence: expected true or false, got %s", path, describe(v))
		}
		s.Absence = b
	}
	return s, nil
}

func (it *Item) compileTransitions(raw any, path string, ids map[string]int, lookback time.Duration) error {
	if raw == nil {
		it.addImplicit(lookback)
		return nil
	}
	list, ok := raw.([]any)
	if !ok {
		return fmt.Errorf("%s: expected a list, got %s", path, describe(raw))
	}
	for i, rt := range list {
		tp := fmt.Sprintf("%s[%d]", path, i)
		m, ok := rt.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: expected a mapping, got %s", tp, describe(rt))
		}
		t := &Transition{}
		var err error
		if t.ID, err = str(m, "ID", tp, false); err != nil {
			return err
		}
		if t.From, err = str(m, "From", tp, true); err != nil {
			return err
		}
		if t.To, err = str(m, "To", tp, true); err != nil {
			return err
		}
		from, ok := ids[t.From]
		if !ok {
			return fmt.Errorf("%s.From: %q names no Sequence ID", tp, t.From)
		}
		to, ok := ids[t.To]
		if !ok {
			return fmt.Errorf("%s.To: %q names no Sequence ID", tp, t.To)
		}
		if from >= to {
			return fmt.Errorf("%s: From %q must come before To %q in the Sequence", tp, t.From, t.To)
		}
		mins, err := integer(m, "WithinTimeFrameMinutes", tp, 0, 1)
		if err != nil {
			return err
		}
		t.Within = time.Duration(mins) * time.Minute
		if t.Within == 0 {
			t.Within = lookback
		}
		if rm, ok := m["Match"]; ok && rm != nil {
			ml, ok := rm.([]any)
			if !ok {
				return fmt.Errorf("%s.Match: expected a list, got %s", tp, describe(rm))
			}
			for j, rj := range ml {
				jp := fmt.Sprintf("%s.Match[%d]", tp, j)
				jm, ok := rj.(map[string]any)
				if !ok {
					return fmt.Errorf("%s: expected a mapping, got %s", jp, describe(rj))
				}
				on, err := str(jm, "On", jp, false)
				if err != nil {
					return err
				}
				a, err := str(jm, "From", jp, false)
				if err != nil {
					return err
				}
				b, err := str(jm, "To", jp, false)
				if err != nil {
					return err
				}
				switch {
				case on != "" && (a != "" || b != ""):
					return fmt.Errorf("%s: sets both On and From/To", jp)
				case on != "":
					a, b = on, on
				case a == "" || b == "":
					return fmt.Errorf("%s: needs On, or From and To", jp)
				}
				t.Match = append(t.Match, Join{From: a, To: b})
				it.conds = append(it.conds, cond{a: from, b: to, fa: a, fb: b})
			}
		}
		it.Transitions = append(it.Transitions, t)
		it.trans = append(it.trans, transition{from: from, to: to, within: t.Within})
	}
	it.addImplicit(lookback)
	return nil
}

// addImplicit links each pair of consecutive steps that no transition links
// directly, with no join condition and the lookback as time frame.
func (it *Item) addImplicit(lookback time.Duration) {
	for i := 0; i+1 < len(it.Steps); i++ {
		linked := slices.ContainsFunc(it.trans, func(t transition) bool { return t.from == i && t.to == i+1 })
		if !linked {
			it.trans = append(it.trans, transition{from: i, to: i + 1, within: lookback})
		}
	}
}

func (it *Item) compileCriteria(raw any, path string, ids map[string]int) error {
	if raw == nil {
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: expected a mapping, got %s", path, describe(raw))
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		cp := path + "." + name
		list, ok := m[name].([]any)
		if !ok || len(list) == 0 {
			return fmt.Errorf("%s: expected a non-empty list of {GroupID, Match}", cp)
		}
		c := &Criterion{Name: name}
		var steps []int
		for i, re := range list {
			ep := fmt.Sprintf("%s[%d]", cp, i)
			em, ok := re.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: expected a mapping, got %s", ep, describe(re))
			}
			var e CriterionEntry
			var err error
			if e.Step, err = str(em, "GroupID", ep, true); err != nil {
				return err
			}
			if e.Field, err = str(em, "Match", ep, true); err != nil {
				return err
			}
			s, ok := ids[e.Step]
			if !ok {
				return fmt.Errorf("%s.GroupID: %q names no Group ID", ep, e.Step)
			}
			c.Entries = append(c.Entries, e)
			steps = append(steps, s)
		}
		for i := range c.Entries {
			for j := i + 1; j < len(c.Entries); j++ {
				it.conds = append(it.conds, cond{a: steps[i], b: steps[j], fa: c.Entries[i].Field, fb: c.Entries[j].Field})
			}
		}
		if len(c.Entries) == 1 {
			it.conds = append(it.conds, cond{a: steps[0], b: steps[0], fa: c.Entries[0].Field, fb: c.Entries[0].Field})
		}
		it.Criteria = append(it.Criteria, c)
	}
	return nil
}

// addSelfConds makes the matches of one step agree on every field the step
// joins on: three denials "for the same user" share the user.
func (it *Item) addSelfConds() {
	seen := map[cond]bool{}
	for _, c := range it.conds {
		seen[c] = true
	}
	n := len(it.conds)
	for _, c := range it.conds[:n] {
		for _, sc := range []cond{{a: c.a, b: c.a, fa: c.fa, fb: c.fa}, {a: c.b, b: c.b, fa: c.fb, fb: c.fb}} {
			if !seen[sc] {
				seen[sc] = true
				it.conds = append(it.conds, sc)
			}
		}
	}
}

// RuleIDs lists the rule IDs whose matches the rule reads, sorted.
func (r *Rule) RuleIDs() []string {
	var ids []string
	for _, it := range r.Items {
		for _, s := range it.Steps {
			if s.RuleID != "" && !slices.Contains(ids, s.RuleID) {
				ids = append(ids, s.RuleID)
			}
		}
	}
	sort.Strings(ids)
	return ids
}

// FieldPaths lists the paths the rule reads from its matches' Fields,
// sorted and without repeats: the join fields of every item (each
// transition's Match and each MatchCriteria entry). Evaluation reads
// nothing else of Fields, so a reader of rule matches may keep just their
// values (Resolve), decoding only what Select(r.FieldPaths()) selects.
func (r *Rule) FieldPaths() []string {
	var paths []string
	for _, it := range r.Items {
		for _, c := range it.conds {
			paths = append(paths, c.fa, c.fb)
		}
	}
	sort.Strings(paths)
	return slices.Compact(paths)
}

// Horizon is how far back a scheduled run reads rule matches: the lookback
// plus the longest absence window, so that a result whose absence window
// closed since the previous run is still seen whole.
func (r *Rule) Horizon() time.Duration {
	var extra time.Duration
	for _, it := range r.Items {
		for i, s := range it.Steps {
			if !s.Absence {
				continue
			}
			w := r.Lookback
			if it.Kind == Sequence {
				w = 0
				for _, t := range it.trans {
					if t.from == i || t.to == i {
						w = max(w, t.within)
					}
				}
				if w == 0 {
					w = r.Lookback
				}
			}
			extra = max(extra, w)
		}
	}
	return r.Lookback + extra
}

// Window is the range of match times a scheduled run at now evaluates.
func (r *Rule) Window(now time.Time) (from, to time.Time) {
	return now.Add(-r.Horizon()), now
}

func str(m map[string]any, k, path string, required bool) (string, error) {
	v, ok := m[k]
	if !ok || v == nil {
		if required {
			return "", fmt.Errorf("%s: missing %s", path, k)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s.%s: expected a string, got %s", path, k, describe(v))
	}
	if s == "" && required {
		return "", fmt.Errorf("%s: %s must not be empty", path, k)
	}
	return s, nil
}

func integer(m map[string]any, k, path string, def, min int) (int, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return def, nil
	}
	var n float64
	switch x := v.(type) {
	case int:
		n = float64(x)
	case int64:
		n = float64(x)
	case uint64:
		n = float64(x)
	case float64:
		n = x
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return 0, fmt.Errorf("%s.%s: expected an integer, got %q", path, k, x.String())
		}
		n = f
	default:
		return 0, fmt.Errorf("%s.%s: expected an integer, got %s", path, k, describe(v))
	}
	if n != math.Trunc(n) || n > math.MaxInt32 {
		return 0, fmt.Errorf("%s.%s: expected an integer, got %v", path, k, v)
	}
	if int(n) < min {
		return 0, fmt.Errorf("%s.%s: must be at least %d, got %d", path, k, min, int(n))
	}
	return int(n), nil
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "mapping"
	case []any:
		return "list"
	case string:
		return "string " + strconv.Quote(x)
	case bool:
		return "boolean"
	default:
		return fmt.Sprintf("%T %v", v, v)
	}
}
