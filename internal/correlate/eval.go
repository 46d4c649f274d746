package correlate

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Match is one rule match a correlation rule reads.
type Match struct {
	// RuleID is the rule that matched; the match feeds every step with that
	// RuleID.
	RuleID string
	// Step, when set, feeds the match to the step with that ID only,
	// whatever its RuleID (tests use this: RuleOutputs name steps).
	Step string
	// Time is the event time of the match.
	Time time.Time
	// Fields is the matched event (decoded JSON, with p_alert_context and
	// the other p_ fields), or just the values of the rule's FieldPaths in
	// it (Resolve) or the part of it they reach (Selection.Prune). Join
	// fields are dotted paths into it; evaluation reads it only through
	// them.
	Fields  map[string]any
	AlertID string
	RowID   string
}

// Result is one correlation found: an alert's worth of matches.
type Result struct {
	RuleID   string
	Title    string
	Severity string
	// Key is the values the contributing matches were joined on, sorted.
	Key []string
	// Dedup is Key joined with ","; "defaultDedupString:<RuleID>" when the
	// rule joins on nothing.
	Dedup string
	// ID identifies the result by rule, item and contributing matches: runs
	// over overlapping windows that find the same correlation give the same
	// ID.
	ID string
	// Item is the index of the Detection item that produced the result.
	Item int
	// Steps lists the present steps, in spec order, with their matches.
	Steps []StepResult
	// Contributing is every contributing match, oldest first.
	Contributing []Match
	// Start and End are the times of the first and last contributing match.
	Start, End time.Time
	// DecidedAt is when the result became certain: End, or the close of
	// the last absence window.
	DecidedAt time.Time
}

// StepResult is a step's share of a result.
type StepResult struct {
	ID      string
	RuleID  string
	Matches []Match
}

// AlertIDs returns the distinct alert IDs of the contributing matches.
func (r *Result) AlertIDs() []string { return r.ids(func(m *Match) string { return m.AlertID }) }

// RowIDs returns the distinct row IDs of the contributing matches.
func (r *Result) RowIDs() []string { return r.ids(func(m *Match) string { return m.RowID }) }

func (r *Result) ids(f func(*Match) string) []string {
	var out []string
	seen := map[string]bool{}
	for i := range r.Contributing {
		if id := f(&r.Contributing[i]); id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Outcome is the result of one evaluation.
type Outcome struct {
	Results []Result
	// Truncated is set when the search hit its work limit; some
	// correlations may be missing.
	Truncated bool
}

// maxWork bounds the join checks one item's evaluation may make.
const maxWork = 4_000_000

const (
	minTime = math.MinInt64 / 4
	maxTime = math.MaxInt64 / 4
)

// Evaluate finds the correlations among matches whose time lies in
// [from, to] (a zero bound is open). Results are ordered by Start, End,
// Item and ID. See Run.
func (r *Rule) Evaluate(matches []Match, from, to time.Time) []Result {
	return r.Run(matches, from, to).Results
}

// Run is Evaluate that also reports whether the search was cut short.
//
// Each match contributes to at most one result per item. A result whose
// absence window has not closed by to is not reported: a later run decides
// it. A zero to means every window is closed.
func (r *Rule) Run(matches []Match, from, to time.Time) Outcome {
	idx := make([]int, 0, len(matches))
	for i := range matches {
		t := matches[i].Time
		if (!from.IsZero() && t.Before(from)) || (!to.IsZero() && t.After(to)) {
			continue
		}
		idx = append(idx, i)
	}
	sort.SliceStable(idx, func(a, b int) bool {
		x, y := &matches[idx[a]], &matches[idx[b]]
		if !x.Time.Equal(y.Time) {
			return x.Time.Before(y.Time)
		}
		if x.RowID != y.RowID {
			return x.RowID < y.RowID
		}
		return x.AlertID < y.AlertID
	})
	ms := make([]Match, len(idx))
	for i, j := range idx {
		ms[i] = matches[j]
	}
	closeBy := int64(maxTime)
	if !to.IsZero() {
		closeBy = to.UnixNano()
	}
	var out Outcome
	for i, it := range r.Items {
		e := newEvaluator(r, it, ms, closeBy)
		var found []found
		if it.Kind == Sequence {
			found = e.sequence()
		} else {
			found = e.group()
		}
		out.Truncated = out.Truncated || e.work > maxWork
		for _, f := range found {
			out.Results = append(out.Results, e.result(r, i, f))
		}
	}
	sort.SliceStable(out.Results, func(a, b int) bool {
		x, y := &out.Results[a], &out.Results[b]
		switch {
		case !x.Start.Equal(y.Start):
			return x.Start.Before(y.Start)
		case !x.End.Equal(y.End):
			return x.End.Before(y.End)
		case x.Item != y.Item:
			return x.Item < y.Item
		}
		return x.ID < y.ID
	})
	return out
}

// ocond is a join condition seen from one step: my field against the
// other step's field.
type ocond struct {
	other        int
	mine, theirs string
}

// found is one result in the evaluator's terms: blocks by original step
// index, and the decision time in real nanoseconds.
type found struct {
	blocks  [][]int
	decided int64
}

// evaluator searches one item. It works in a "direction": for
// ReverseChronological it mirrors time (t = -time) and, for sequences, the
// step order, so one forward search serves both orders.
type evaluator struct {
	it     *Item
	ms     []Match
	mirror bool
	steps  []*Step // direction order
	orig   []int   // direction step -> item step
	conds  [][]ocond
	trans  []transition
	t      []int64 // direction time of each match
	rank   []int
	// bySteps[d] holds the matches feeding step d, in direction order.
	bySteps [][]int
	// index[d][field][value] are positions in bySteps[d], ascending.
	index    []map[string]map[string][]int
	vals     []map[string][]string
	used     []bool
	inBlock  []bool
	lookback int64
	// closeBy bounds absence windows on the future side; openAfter on the
	// past side in direction time (used when mirrored).
	closeBy, openAfter int64
	work               int
	windows            [][2]int64 // absence windows of the current attempt
}

func newEvaluator(r *Rule, it *Item, ms []Match, closeBy int64) *evaluator {
	n := len(it.Steps)
	e := &evaluator{it: it, ms: ms, mirror: r.Order == ReverseChronological, lookback: int64(r.Lookback),
		closeBy: closeBy, openAfter: minTime}
	e.orig = make([]int, n)
	inv := make([]int, n)
	for d := range n {
		e.orig[d] = d
		if e.mirror && it.Kind == Sequence {
			e.orig[d] = n - 1 - d
		}
		inv[e.orig[d]] = d
	}
	for d := range n {
		e.steps = append(e.steps, it.Steps[e.orig[d]])
	}
	for _, t := range it.trans {
		a, b := inv[t.from], inv[t.to]
		if a > b {
			a, b = b, a
		}
		e.trans = append(e.trans, transition{from: a, to: b, within: t.within})
	}
	e.conds = make([][]ocond, n)
	fields := make([]map[string]bool, n)
	for d := range fields {
		fields[d] = map[string]bool{}
	}
	for _, c := range it.conds {
		a, b := inv[c.a], inv[c.b]
		e.conds[a] = append(e.conds[a], ocond{other: b, mine: c.fa, theirs: c.fb})
		if a != b || c.fa != c.fb {
			e.conds[b] = append(e.conds[b], ocond{other: a, mine: c.fb, theirs: c.fa})
		}
		fields[a][c.fa] = true
		fields[b][c.fb] = true
	}
	e.t = make([]int64, len(ms))
	e.rank = make([]int, len(ms))
	for i := range ms {
		e.t[i], e.rank[i] = ms[i].Time.UnixNano(), i
		if e.mirror {
			e.t[i], e.rank[i] = -e.t[i], -i
		}
	}
	if e.mirror {
		e.closeBy, e.openAfter = maxTime, -closeBy
	}
	e.vals = make([]map[string][]string, len(ms))
	e.used = make([]bool, len(ms))
	e.inBlock = make([]bool, len(ms))
	e.bySteps = make([][]int, n)
	e.index = make([]map[string]map[string][]int, n)
	for d, s := range e.steps {
		for i := range ms {
			m := &ms[i]
			if (m.Step != "" && m.Step == s.ID) || (m.Step == "" && m.RuleID != "" && m.RuleID == s.RuleID) {
				e.bySteps[d] = append(e.bySteps[d], i)
			}
		}
		list := e.bySteps[d]
		sort.Slice(list, func(a, b int) bool { return e.before(list[a], list[b]) })
		e.index[d] = map[string]map[string][]int{}
		for f := range fields[d] {
			byValue := map[string][]int{}
			for p, m := range list {
				for _, v := range e.values(m, f) {
					byValue[v] = append(byValue[v], p)
				}
			}
			e.index[d][f] = byValue
		}
	}
	return e
}

func (e *evaluator) before(a, b int) bool {
	if e.t[a] != e.t[b] {
		return e.t[a] < e.t[b]
	}
	return e.rank[a] < e.rank[b]
}

func (e *evaluator) values(m int, field string) []string {
	if e.vals[m] == nil {
		e.vals[m] = map[string][]string{}
	}
	v, ok := e.vals[m][field]
	if !ok {
		v = joinValues(e.ms[m].Fields, field)
		e.vals[m][field] = v
	}
	return v
}

func (e *evaluator) exhausted() bool { return e.work > maxWork }

// compat reports whether match c may join step d given the blocks chosen
// so far: every join condition of d holds against every chosen match.
func (e *evaluator) compat(c, d int, blocks [][]int) bool {
	for _, oc := range e.conds[d] {
		for _, m := range blocks[oc.other] {
			if m == c {
				continue
			}
			e.work++
			if !intersects(e.values(c, oc.mine), e.values(m, oc.theirs)) {
				return false
			}
		}
	}
	return true
}

// cands are candidate positions in bySteps[d], in direction order: either
// an explicit list (from the join index) or a range.
type cands struct {
	ps     []int
	lo, hi int
	ranged bool
}

func (c cands) len() int {
	if c.ranged {
		return c.hi - c.lo
	}
	return len(c.ps)
}

func (c cands) at(i int) int {
	if c.ranged {
		return c.lo + i
	}
	return c.ps[i]
}

// candidates returns step d's matches with direction time in [lo, hi],
// narrowed through the join index when d joins a chosen block.
func (e *evaluator) candidates(d int, lo, hi int64, blocks [][]int) cands {
	list := e.bySteps[d]
	for _, oc := range e.conds[d] {
		if len(blocks[oc.other]) == 0 {
			continue
		}
		byValue := e.index[d][oc.mine]
		inRange := func(ps []int) []int {
			a := sort.Search(len(ps), func(i int) bool { return e.t[list[ps[i]]] >= lo })
			b := sort.Search(len(ps), func(i int) bool { return e.t[list[ps[i]]] > hi })
			return ps[a:max(a, b)]
		}
		vals := e.values(blocks[oc.other][0], oc.theirs)
		if len(vals) == 1 {
			return cands{ps: inRange(byValue[vals[0]])} // shared, read-only
		}
		var ps []int
		for _, v := range vals {
			ps = append(ps, inRange(byValue[v])...)
		}
		sort.Ints(ps)
		w := 0
		for i, p := range ps {
			if i == 0 || p != ps[w-1] {
				ps[w] = p
				w++
			}
		}
		return cands{ps: ps[:w]}
	}
	a := sort.Search(len(list), func(i int) bool { return e.t[list[i]] >= lo })
	b := sort.Search(len(list), func(i int) bool { return e.t[list[i]] > hi })
	if b < a {
		b = a
	}
	return cands{lo: a, hi: b, ranged: true}
}

// grow adds to step d's block the compatible free matches of cs from index
// i on, up to limit matches and direction time hi.
func (e *evaluator) grow(d int, cs cands, i int, hi int64, blocks [][]int, limit int) {
	for ; i < cs.len() && len(blocks[d]) < limit && !e.exhausted(); i++ {
		c := e.bySteps[d][cs.at(i)]
		if e.t[c] > hi {
			break
		}
		if e.used[c] || e.inBlock[c] {
			continue
		}
		e.work++
		if e.compat(c, d, blocks) {
			blocks[d] = append(blocks[d], c)
			e.inBlock[c] = true
		}
	}
}

func (e *evaluator) clear(d int, blocks [][]int) {
	for _, m := range blocks[d] {
		e.inBlock[m] = false
	}
	blocks[d] = nil
}

func (e *evaluator) present() []int {
	var p []int
	for d, s := range e.steps {
		if !s.Absence {
			p = append(p, d)
		}
	}
	return p
}

// last is the time of step d's last chosen match.
func (e *evaluator) last(blocks [][]int, d int) int64 { return e.t[blocks[d][len(blocks[d])-1]] }

func (e *evaluator) first(blocks [][]int, d int) int64 { return e.t[blocks[d][0]] }

// sequence finds ordered correlations. Leaders of the first present step
// are tried oldest first (in direction order); each later step's block
// starts at or after the previous step's last match, its first match within
// the time frame of every transition into it, all within the lookback of
// the result's first match. The search backtracks over block leaders.
func (e *evaluator) sequence() []found {
	var out []found
	present := e.present()
	blocks := make([][]int, len(e.steps))
	d0 := present[0]
	all := e.candidates(d0, minTime, maxTime, blocks)
	for i := 0; i < all.len() && !e.exhausted(); i++ {
		c := e.bySteps[d0][all.at(i)]
		if e.used[c] {
			continue
		}
		e.windows = e.windows[:0]
		if !e.trySeq(present, 0, all, i, e.t[c], blocks) {
			continue
		}
		pre := make([]int64, len(e.steps)) // first match of each step before extension
		for _, d := range present {
			pre[d] = e.first(blocks, d)
		}
		for k, d := range present {
			limit := limitOf(e.steps[d])
			upper := e.t[c] + e.lookback
			if k+1 < len(present) {
				upper = pre[present[k+1]]
			} else if d+1 < len(e.steps) {
				continue // a trailing absence follows: keep the block as decided
			}
			cs := e.candidates(d, e.last(blocks, d), upper, blocks)
			e.grow(d, cs, 0, upper, blocks, limit)
		}
		out = append(out, e.take(blocks))
	}
	return out
}

func (e *evaluator) trySeq(present []int, k int, cs cands, li int, start int64, blocks [][]int) bool {
	d := present[k]
	p := cs.at(li)
	c := e.bySteps[d][p]
	if e.t[c] > e.hiFor(d, start, blocks) {
		return false
	}
	blocks[d] = []int{c}
	e.inBlock[c] = true
	hi := start + e.lookback
	mates := e.candidates(d, e.t[c], hi, blocks)
	e.grow(d, mates, sort.Search(mates.len(), func(i int) bool { return mates.at(i) > p }), hi, blocks, e.steps[d].MinMatchCount)
	if len(blocks[d]) < e.steps[d].MinMatchCount {
		e.clear(d, blocks)
		return false
	}
	if k+1 == len(present) {
		if e.absencesOK(blocks) {
			return true
		}
		e.clear(d, blocks)
		return false
	}
	nd := present[k+1]
	lo, nhi := e.last(blocks, d), e.hiFor(nd, start, blocks)
	if lo <= nhi {
		ncs := e.candidates(nd, lo, nhi, blocks)
		for j := 0; j < ncs.len() && !e.exhausted(); j++ {
			n := e.bySteps[nd][ncs.at(j)]
			if e.used[n] || e.inBlock[n] {
				continue
			}
			e.work++
			if !e.compat(n, nd, blocks) {
				continue
			}
			if e.trySeq(present, k+1, ncs, j, start, blocks) {
				return true
			}
		}
	}
	e.clear(d, blocks)
	return false
}

// hiFor is the latest direction time step d's first match may have: the
// lookback from the result's start, and each transition's time frame from
// the last match of its chosen From step.
func (e *evaluator) hiFor(d int, start int64, blocks [][]int) int64 {
	hi := start + e.lookback
	for _, t := range e.trans {
		if t.to == d && len(blocks[t.from]) > 0 {
			hi = min(hi, e.last(blocks, t.from)+int64(t.within))
		}
	}
	return hi
}

// absencesOK checks each absent step of a sequence: it must not have
// MinMatchCount joining matches in its window, which runs from the
// previous present step's completion to the next present step's first
// match, narrowed by the transitions' time frames. A window that has not
// closed yet fails the attempt (undecided).
func (e *evaluator) absencesOK(blocks [][]int) bool {
	for d, s := range e.steps {
		if !s.Absence {
			continue
		}
		prev, next := -1, -1
		for p := d - 1; p >= 0 && prev < 0; p-- {
			if len(blocks[p]) > 0 {
				prev = p
			}
		}
		for n := d + 1; n < len(e.steps) && next < 0; n++ {
			if len(blocks[n]) > 0 {
				next = n
			}
		}
		lo, hi := int64(minTime), int64(maxTime)
		if prev >= 0 {
			lo = e.last(blocks, prev)
		}
		if next >= 0 {
			hi = e.first(blocks, next)
		}
		loSet, hiSet := false, false
		for _, t := range e.trans {
			if t.to == d && len(blocks[t.from]) > 0 {
				hi, hiSet = min(hi, e.last(blocks, t.from)+int64(t.within)), true
			}
			if t.from == d && len(blocks[t.to]) > 0 {
				lo, loSet = max(lo, e.first(blocks, t.to)-int64(t.within)), true
			}
		}
		if next < 0 && !hiSet {
			hi = e.last(blocks, prev) + e.lookback
		}
		if prev < 0 && !loSet {
			lo = e.first(blocks, next) - e.lookback
		}
		if !e.absentOK(d, lo, hi, blocks) {
			return false
		}
	}
	return true
}

// absentOK checks one absence window [lo, hi] of step d.
func (e *evaluator) absentOK(d int, lo, hi int64, blocks [][]int) bool {
	if hi > e.closeBy || lo < e.openAfter {
		return false
	}
	e.windows = append(e.windows, [2]int64{lo, hi})
	cs := e.candidates(d, lo, hi, blocks)
	seen := 0
	for i := 0; i < cs.len(); i++ {
		c := e.bySteps[d][cs.at(i)]
		if e.inBlock[c] {
			continue
		}
		e.work++
		if e.compat(c, d, blocks) {
			if seen++; seen >= e.steps[d].MinMatchCount {
				return false
			}
		}
	}
	return true
}

// group finds unordered correlations. Every match of a present step is
// tried as the earliest match of a result (in direction order); each
// present step then takes its earliest joining free matches within the
// lookback of that leader.
func (e *evaluator) group() []found {
	type leader struct{ d, p int }
	var leaders []leader
	present := e.present()
	for _, d := range present {
		for p := range e.bySteps[d] {
			leaders = append(leaders, leader{d, p})
		}
	}
	sort.SliceStable(leaders, func(a, b int) bool {
		x, y := e.bySteps[leaders[a].d][leaders[a].p], e.bySteps[leaders[b].d][leaders[b].p]
		if x != y {
			return e.before(x, y)
		}
		return leaders[a].d < leaders[b].d
	})
	var out []found
	blocks := make([][]int, len(e.steps))
	for _, l := range leaders {
		if e.exhausted() {
			break
		}
		c := e.bySteps[l.d][l.p]
		if e.used[c] || e.inBlock[c] {
			continue
		}
		start := e.t[c]
		hi := start + e.lookback
		e.windows = e.windows[:0]
		blocks[l.d] = []int{c}
		e.inBlock[c] = true
		ok := true
		for _, d := range append([]int{l.d}, present...) {
			cs := e.candidates(d, start, hi, blocks)
			from := 0
			if d == l.d {
				if len(blocks[d]) >= e.steps[d].MinMatchCount {
					continue
				}
				from = sort.Search(cs.len(), func(i int) bool { return cs.at(i) > l.p })
			} else if len(blocks[d]) > 0 {
				continue
			}
			e.grow(d, cs, from, hi, blocks, e.steps[d].MinMatchCount)
			if len(blocks[d]) < e.steps[d].MinMatchCount {
				ok = false
				break
			}
		}
		if ok {
			end := start
			for _, d := range present {
				end = max(end, e.last(blocks, d))
			}
			for d, s := range e.steps {
				if s.Absence && !e.absentOK(d, end-e.lookback, start+e.lookback, blocks) {
					ok = false
					break
				}
			}
		}
		if !ok {
			for d := range blocks {
				e.clear(d, blocks)
			}
			continue
		}
		for _, d := range present {
			e.grow(d, e.candidates(d, start, hi, blocks), 0, hi, blocks, limitOf(e.steps[d]))
		}
		out = append(out, e.take(blocks))
	}
	return out
}

func limitOf(s *Step) int {
	if s.MaxMatchCount > 0 {
		return s.MaxMatchCount
	}
	return math.MaxInt
}

// take records the chosen blocks as a result, marks their matches used and
// clears the blocks.
func (e *evaluator) take(blocks [][]int) found {
	f := found{blocks: make([][]int, len(blocks)), decided: minTime}
	for d := range blocks {
		b := append([]int(nil), blocks[d]...)
		sort.Ints(b) // real time order: ms is sorted
		f.blocks[e.orig[d]] = b
		for _, m := range b {
			e.used[m] = true
			f.decided = max(f.decided, e.ms[m].Time.UnixNano())
		}
		e.clear(d, blocks)
	}
	for _, w := range e.windows {
		real := w[1]
		if e.mirror {
			real = -w[0]
		}
		f.decided = max(f.decided, real)
	}
	return f
}

func (e *evaluator) result(r *Rule, item int, f found) Result {
	res := Result{RuleID: r.ID, Title: r.Title, Severity: r.Severity, Item: item}
	var all []int
	for s, b := range f.blocks {
		if len(b) == 0 {
			continue
		}
		step := e.it.Steps[s]
		sr := StepResult{ID: step.ID, RuleID: step.RuleID}
		for _, m := range b {
			sr.Matches = append(sr.Matches, e.ms[m])
		}
		res.Steps = append(res.Steps, sr)
		all = append(all, b...)
	}
	sort.Ints(all)
	h := sha256.New()
	h.Write([]byte(r.ID + "\x00" + strconv.Itoa(item)))
	for s, b := range f.blocks {
		for _, m := range b {
			ms := &e.ms[m]
			id := ms.RowID
			if id == "" {
				id = ms.AlertID + "@" + ms.Time.UTC().Format(time.RFC3339Nano)
			}
			h.Write([]byte("\x00" + e.it.Steps[s].ID + "\x00" + id))
		}
	}
	res.ID = hex.EncodeToString(h.Sum(nil))[:32]
	for _, m := range all {
		res.Contributing = append(res.Contributing, e.ms[m])
	}
	res.Start, res.End = e.ms[all[0]].Time, e.ms[all[len(all)-1]].Time
	res.DecidedAt = time.Unix(0, f.decided).In(res.End.Location())
	if res.DecidedAt.Equal(res.End) {
		res.DecidedAt = res.End
	}
	res.Key = e.key(f.blocks)
	res.Dedup = strings.Join(res.Key, ",")
	if res.Dedup == "" {
		res.Dedup = "defaultDedupString:" + r.ID
	}
	return res
}

// key collects the values the result is joined on: for a join between two
// present steps, the values all their contributing matches share; for a
// field a present step joins only to absent steps (or nothing), the values
// its own matches share.
func (e *evaluator) key(blocks [][]int) []string {
	set := map[string]bool{}
	covered := map[[2]string]bool{}
	shared := func(s int, field string, vals []string, first bool) []string {
		for i, m := range blocks[s] {
			if first && i == 0 {
				vals = e.values(m, field)
				continue
			}
			vals = intersect(vals, e.values(m, field))
		}
		return vals
	}
	for _, c := range e.it.conds {
		if c.a == c.b || len(blocks[c.a]) == 0 || len(blocks[c.b]) == 0 {
			continue
		}
		for _, v := range shared(c.b, c.fb, shared(c.a, c.fa, nil, true), false) {
			set[v] = true
		}
		covered[[2]string{e.it.Steps[c.a].ID, c.fa}] = true
		covered[[2]string{e.it.Steps[c.b].ID, c.fb}] = true
	}
	for _, c := range e.it.conds {
		if c.a != c.b || c.fa != c.fb || len(blocks[c.a]) == 0 || covered[[2]string{e.it.Steps[c.a].ID, c.fa}] {
			continue
		}
		for _, v := range shared(c.a, c.fa, nil, true) {
			set[v] = true
		}
	}
	key := make([]string, 0, len(set))
	for v := range set {
		key = append(key, v)
	}
	sort.Strings(key)
	return key
}
