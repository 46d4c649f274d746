package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/correlate"
	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/store"
)

// compiledCorr is a correlation rule compiled for one loaded version.
type compiledCorr struct {
	version string
	spec    *analysis.Detection
	rule    *correlate.Rule
	err     error
}

// corrRules compiles the engine's correlation rules, caching each by its
// loaded version.
type corrRules struct {
	engine Engine
	mu     sync.Mutex
	cache  map[string]*compiledCorr
}

func newCorrRules(e Engine) *corrRules {
	return &corrRules{engine: e, cache: map[string]*compiledCorr{}}
}

// compiled returns d compiled.
func (c *corrRules) compiled(d *analysis.Detection) (*correlate.Rule, error) {
	version := c.engine.Version(d.ID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc := c.cache[d.ID]; cc != nil && cc.spec == d && cc.version == version {
		return cc.rule, cc.err
	}
	r, err := correlate.Compile(d)
	c.cache[d.ID] = &compiledCorr{version: version, spec: d, rule: r, err: err}
	return r, err
}

// readMatches reads the rule matches that rule reads, with event times in
// [from, to], from the lake's rule_matches table, oldest first. Each
// match's Fields hold only the part of its event that the rule's
// FieldPaths reach (see matchDecoder): a window may hold a million
// matches. When every match in the window was written with those values
// (p_correlation_fields, see CorrelationFields) it reads them instead of
// the events, a few bytes a match instead of kilobytes. Neither the event
// nor its log type is kept; matchEvents reads them back for the few
// matches that need them.
func (s *Scheduler) readMatches(ctx context.Context, rule *correlate.Rule, from, to time.Time, limit int, timeout time.Duration,
	progress func(done, total int64)) ([]correlate.Match, bool, error) {
	if len(rule.RuleIDs()) == 0 || !s.opts.Lake.HasTable(lake.TableRuleMatches) {
		return nil, false, nil
	}
	r := newMatchRange(rule.RuleIDs(), from, to)
	d := newMatchDecoder(rule.FieldPaths())
	columns := keyColumns
	if len(d.paths) > 0 {
		d.stored = s.storedCover(ctx, r, d.paths, timeout)
		columns = eventColumns
		if d.stored {
			columns = storedColumns
		}
	}
	var out []correlate.Match
	reserve := func(done, total int64) {
		if out == nil {
			// The whole window at once: growing by doubling would hold the
			// old array and the new one together.
			out = make([]correlate.Match, 0, min(total, int64(limit)))
		}
		if progress != nil {
			progress(done, total)
		}
	}
	truncated, err := s.scanMatches(ctx, r, columns, limit, timeout, reserve, func(row []any) {
		out = append(out, d.decode(row))
	})
	if err != nil {
		return nil, false, err
	}
	return out, truncated, nil
}

// matchRange selects the rule matches of some rules with event times in
// [from, end).
type matchRange struct {
	where     string // p_rule_id IN (?, …)
	params    []any
	from, end time.Time
}

// newMatchRange selects the matches of ruleIDs with event times in
// [from, to].
func newMatchRange(ruleIDs []string, from, to time.Time) matchRange {
	r := matchRange{where: "p_rule_id IN (" + placeholders(len(ruleIDs)) + ")", from: from, end: to.Add(time.Microsecond)}
	for _, id := range ruleIDs {
		r.params = append(r.params, id)
	}
	return r
}

// placeholders is n comma-separated parameter markers.
func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// scanMatches passes the rows (the given columns of rule_matches) of the
// matches in r to add, oldest first, up to limit of them; truncated says
// that more follow. Each row is valid only during the call. The table must
// exist.
func (s *Scheduler) scanMatches(ctx context.Context, r matchRange, columns string, limit int, timeout time.Duration,
	progress func(done, total int64), add func(row []any)) (truncated bool, err error) {
	sl, total, err := timeSlices(ctx, s.opts.Lake, lake.TableRuleMatches, r.where, r.params, r.from, r.end, 20_000, timeout)
	if err != nil {
		return false, err
	}
	c := &cursor{l: s.opts.Lake, table: lake.TableRuleMatches, where: r.where, params: r.params, slices: sl, pageSize: 10_000, timeout: timeout,
		columns: columns}
	if progress != nil {
		progress(0, total)
	}
	n := 0
	for {
		row, err := c.next(ctx)
		if err != nil {
			return false, err
		}
		if row == nil {
			if progress != nil {
				progress(int64(n), max(total, int64(n)))
			}
			return false, nil
		}
		if n == limit {
			return true, nil
		}
		add(row)
		n++
		if progress != nil && (n%10_000 == 0) {
			progress(int64(n), max(total, int64(n)))
		}
	}
}

// storedCover reports whether every match in r was written with the
// values of paths (its p_correlation_paths holds them all), so that a run
// can read those instead of the events. It is false when some were not
// (written before a correlation rule joined on those paths, or before the
// lake had the columns), and when the query fails: files from before the
// columns do not have them.
func (s *Scheduler) storedCover(ctx context.Context, r matchRange, paths []string, timeout time.Duration) bool {
	q := fmt.Sprintf(`SELECT count(*) FROM %s
WHERE p_occurs_between('%s', '%s') AND p_event_time < TIMESTAMP '%s'%s
  AND NOT coalesce(list_has_all(p_correlation_paths, [%s]), false)`, quoteIdent(lake.TableRuleMatches),
		sqlTime(r.from), sqlTime(r.end), sqlTime(r.end), andWhere(r.where), placeholders(len(paths)))
	args := slices.Clone(r.params)
	for _, p := range paths {
		args = append(args, p)
	}
	res, err := s.opts.Lake.Run(ctx, lake.Request{SQL: q, Params: args, Timeout: timeout, Limit: 1})
	return err == nil && len(res.Rows) == 1 && toInt64(res.Rows[0][0]) == 0
}

// matchEvent is the log type and event of a rule match.
type matchEvent struct {
	logType string
	event   json.RawMessage
}

// matchEvents reads back from rule_matches the log type and event of each
// of ms, by alert and row ID, for the alerts of correlation results
// (readMatches keeps neither). It queries up to 100 matches at a time, in
// event-time order, each query over the span of its matches' times. The
// map is keyed by matchKey; a match whose row is gone has no entry.
func (s *Scheduler) matchEvents(ctx context.Context, ms []*correlate.Match, timeout time.Duration) (map[string]matchEvent, error) {
	const batch = 100
	want := map[string]bool{}
	var todo []*correlate.Match
	for _, m := range ms {
		if k := matchKey(m); !want[k] {
			want[k] = true
			todo = append(todo, m)
		}
	}
	slices.SortFunc(todo, func(a, b *correlate.Match) int { return a.Time.Compare(b.Time) })
	out := make(map[string]matchEvent, len(todo))
	for len(todo) > 0 {
		part := todo[:min(batch, len(todo))]
		todo = todo[len(part):]
		from, to := part[0].Time, part[len(part)-1].Time.Add(time.Microsecond)
		conds := make([]string, len(part))
		params := make([]any, 0, 2*len(part))
		for i, m := range part {
			conds[i] = "(p_alert_id = ? AND p_row_id = ?)"
			params = append(params, m.AlertID, m.RowID)
		}
		q := fmt.Sprintf(`SELECT p_alert_id, p_row_id, p_log_type, event FROM %s
WHERE p_occurs_between('%s', '%s') AND p_event_time >= TIMESTAMP '%s' AND p_event_time < TIMESTAMP '%s'
  AND (%s)`, quoteIdent(lake.TableRuleMatches), sqlTime(from), sqlTime(to), sqlTime(from), sqlTime(to), strings.Join(conds, " OR "))
		res, err := s.opts.Lake.Run(ctx, lake.Request{SQL: q, Params: params, Limit: 10 * len(part), Timeout: timeout})
		if err != nil {
			return nil, fmt.Errorf("reading the events of correlated matches: %w", err)
		}
		for _, row := range res.Rows {
			if k := matchKey(&correlate.Match{AlertID: str(row[0]), RowID: str(row[1])}); want[k] {
				out[k] = matchEvent{logType: str(row[2]), event: json.RawMessage(str(row[3]))}
			}
		}
	}
	return out, nil
}

// lastMatches returns the last contributing match of each result: the
// match whose event a correlation alert carries.
func lastMatches(rs []*correlate.Result) []*correlate.Match {
	var out []*correlate.Match
	for _, r := range rs {
		if n := len(r.Contributing); n > 0 {
			out = append(out, &r.Contributing[n-1])
		}
	}
	return out
}

// matchKey names a contributing match in the store.
func matchKey(m *correlate.Match) string { return "m:" + m.AlertID + "/" + m.RowID }

// runCorrelation evaluates a correlation rule over the rule matches of its
// window and alerts on each correlation not alerted on before.
//
// A result is new unless its ID, or any of its contributing matches, was
// part of a result already alerted on: runs overlap (each reads the rule's
// whole Horizon), and as the window slides a burst may be cut into a
// result with a different ID. The keys stay in the store until no window
// can reach them, so a restart does not alert again either.
func (s *Scheduler) runCorrelation(ctx context.Context, d *analysis.Detection, at time.Time, trigger string) store.ScheduledRun {
	run := s.record(ctx, store.RunKindCorrelation, d.ID, trigger, at)
	rule, err := s.corr.compiled(d)
	if err != nil {
		run.Status, run.Error = store.RunError, err.Error()
		return s.finish(ctx, run)
	}
	select {
	case s.corrSem <- struct{}{}:
		defer func() { <-s.corrSem }()
	case <-ctx.Done():
		run.Status, run.Error = runStatus(ctx.Err()), ctx.Err().Error()
		return s.finish(ctx, run)
	}
	now := s.opts.Now()
	from, to := rule.Window(now)
	matches, truncated, err := s.readMatches(ctx, rule, from, to, s.opts.MaxMatches, timeout(d.Schedule), nil)
	if err != nil {
		run.Status, run.Error = runStatus(err), err.Error()
		return s.finish(ctx, run)
	}
	run.Status, run.Rows, run.Truncated = store.RunOK, int64(len(matches)), truncated
	if len(matches) == 0 {
		return s.finish(ctx, run)
	}
	out := rule.Run(matches, from, to)
	if out.Truncated {
		run.Truncated = true
	}
	if len(out.Results) == 0 {
		return s.finish(ctx, run)
	}
	seen, err := s.opts.Store.CorrelationSeen(ctx, d.ID, now)
	if err != nil {
		run.Status, run.Error = store.RunError, err.Error()
		return s.finish(ctx, run)
	}
	var fresh []*correlate.Result
	var keys []string
	var latest time.Time
	for i := range out.Results {
		r := &out.Results[i]
		if isSeen(seen, r) {
			continue
		}
		fresh = append(fresh, r)
		keys = append(keys, "r:"+r.ID)
		for j := range r.Contributing {
			k := matchKey(&r.Contributing[j])
			keys = append(keys, k)
			seen[k] = true
		}
		latest = maxTime(latest, r.End)
	}
	run.Matches = len(fresh)
	if len(fresh) == 0 {
		return s.finish(ctx, run)
	}
	events, err := s.matchEvents(ctx, lastMatches(fresh), timeout(d.Schedule))
	if err != nil {
		run.Status, run.Error = runStatus(err), err.Error()
		return s.finish(ctx, run)
	}
	ms := make([]alerts.Match, len(fresh))
	for i, r := range fresh {
		ms[i] = s.correlationMatch(d, r, events)
	}
	created, err := s.process(ctx, ms)
	if err != nil {
		run.Status, run.Error = store.RunError, err.Error()
		return s.finish(ctx, run)
	}
	run.Alerts = len(created)
	// Remembered until no window reaches the newest match (plus an hour
	// of slack for clock skew between event and processing time).
	expires := maxTime(latest, now).Add(rule.Horizon() + time.Hour)
	if err := s.opts.Store.MarkCorrelationSeen(context.WithoutCancel(ctx), d.ID, keys, expires, now); err != nil {
		run.Status, run.Error = store.RunError, err.Error()
	}
	return s.finish(ctx, run)
}

func isSeen(seen map[string]bool, r *correlate.Result) bool {
	if seen["r:"+r.ID] {
		return true
	}
	for j := range r.Contributing {
		if seen[matchKey(&r.Contributing[j])] {
			return true
		}
	}
	return false
}

// correlationMatch is the alert manager's view of a correlation: a RULE
// match of the correlation rule, with the result's title, severity and
// dedup, threshold 1, and an alert context that lists the contributing
// alerts and events. Its event is the last contributing match's, from
// events (see matchEvents; nil: no event).
func (s *Scheduler) correlationMatch(d *analysis.Detection, r *correlate.Result, events map[string]matchEvent) alerts.Match {
	m := alerts.Match{
		Type: alerts.TypeRule, RuleID: d.ID, RuleVersion: s.opts.Engine.Version(d.ID),
		Title: r.Title, Severity: r.Severity, Dedup: r.Dedup,
		Description: d.Description, Reference: d.Reference, Runbook: d.Runbook,
		OutputIDs: d.OutputIDs, Tags: d.Tags, Reports: d.Reports,
		DedupPeriod: dedupPeriod(d.DedupPeriodMinutes), Threshold: 1, Signal: !d.CreateAlert,
		AlertContext: correlationContext(r), EventTime: r.End,
	}
	if n := len(r.Contributing); n > 0 {
		last := &r.Contributing[n-1]
		m.RowID = last.RowID
		if ev, ok := events[matchKey(last)]; ok {
			m.LogType, m.Event = ev.logType, ev.event
		}
	}
	return m
}

// dedupPeriod applies Panther's rules, as for streaming rules: 0 is the
// 60-minute default and anything under 5 minutes counts as 5.
func dedupPeriod(minutes int) time.Duration {
	switch {
	case minutes <= 0:
		minutes = 60
	case minutes < 5:
		minutes = 5
	}
	return time.Duration(minutes) * time.Minute
}

// correlationContext is the alert context of a correlation alert: the
// result's ID, join key and span, and the contributing alerts and events,
// in all and per step.
func correlationContext(r *correlate.Result) json.RawMessage {
	type step struct {
		ID       string   `json:"id"`
		RuleID   string   `json:"rule_id,omitempty"`
		Matches  int      `json:"matches"`
		AlertIDs []string `json:"alert_ids"`
		RowIDs   []string `json:"row_ids"`
	}
	type alertContext struct {
		CorrelationID string    `json:"correlation_id"`
		Item          int       `json:"detection_item"`
		Key           []string  `json:"key"`
		Start         time.Time `json:"start"`
		End           time.Time `json:"end"`
		DecidedAt     time.Time `json:"decided_at"`
		AlertIDs      []string  `json:"alert_ids"`
		RowIDs        []string  `json:"row_ids"`
		Steps         []step    `json:"steps"`
	}
	c := alertContext{CorrelationID: r.ID, Item: r.Item, Key: nonNil(r.Key), Start: r.Start, End: r.End, DecidedAt: r.DecidedAt,
		AlertIDs: nonNil(r.AlertIDs()), RowIDs: nonNil(r.RowIDs()), Steps: []step{}}
	for _, st := range r.Steps {
		sr := correlate.Result{Contributing: st.Matches}
		c.Steps = append(c.Steps, step{ID: st.ID, RuleID: st.RuleID, Matches: len(st.Matches),
			AlertIDs: nonNil(sr.AlertIDs()), RowIDs: nonNil(sr.RowIDs())})
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil
	}
	return data
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
