package scheduler

import (
	"context"
	"encoding/json"
	"strings"
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

// compiled returns d compiled, from a cache keyed by its version.
func (s *Scheduler) compiled(d *analysis.Detection) (*correlate.Rule, error) {
	version := s.opts.Engine.Version(d.ID)
	s.corrMu.Lock()
	defer s.corrMu.Unlock()
	if c := s.corrCache[d.ID]; c != nil && c.spec == d && c.version == version {
		return c.rule, c.err
	}
	r, err := correlate.Compile(d)
	s.corrCache[d.ID] = &compiledCorr{version: version, spec: d, rule: r, err: err}
	return r, err
}

// matchRow is a rule match read from the lake, with its event's JSON.
type matchRow struct {
	match   correlate.Match
	logType string
	event   json.RawMessage
}

// readMatches reads the rule matches of ruleIDs with event times in
// [from, to] from the lake's rule_matches table, oldest first.
func (s *Scheduler) readMatches(ctx context.Context, ruleIDs []string, from, to time.Time, limit int, timeout time.Duration,
	progress func(done, total int64)) ([]matchRow, bool, error) {
	if len(ruleIDs) == 0 || !s.opts.Lake.HasTable(lake.TableRuleMatches) {
		return nil, false, nil
	}
	where := "p_rule_id IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(ruleIDs)), ", ") + ")"
	params := make([]any, len(ruleIDs))
	for i, id := range ruleIDs {
		params[i] = id
	}
	end := to.Add(time.Microsecond) // [from, to] inclusive
	sl, total, err := timeSlices(ctx, s.opts.Lake, lake.TableRuleMatches, where, params, from, end, 20_000, timeout)
	if err != nil {
		return nil, false, err
	}
	c := &cursor{l: s.opts.Lake, table: lake.TableRuleMatches, where: where, params: params, slices: sl, pageSize: 10_000, timeout: timeout,
		columns: "p_rule_id, p_event_time, p_alert_id, p_row_id, p_log_type, p_alert_context, event"}
	var out []matchRow
	for {
		row, err := c.next(ctx)
		if err != nil {
			return nil, false, err
		}
		if row == nil {
			if progress != nil {
				progress(int64(len(out)), max(total, int64(len(out))))
			}
			return out, false, nil
		}
		if len(out) == limit {
			return out, true, nil
		}
		mr, err := decodeMatch(row)
		if err != nil {
			return nil, false, err
		}
		out = append(out, mr)
		if progress != nil && (len(out)%10_000 == 0) {
			progress(int64(len(out)), max(total, int64(len(out))))
		}
	}
}

// decodeMatch turns a rule_matches row (the columns readMatches selects)
// into a correlation match whose Fields are the event with p_alert_id,
// p_rule_id and p_alert_context added.
func decodeMatch(row []any) (matchRow, error) {
	at, _ := lakeTime(row[1])
	mr := matchRow{match: correlate.Match{RuleID: str(row[0]), Time: at, AlertID: str(row[2]), RowID: str(row[3])}, logType: str(row[4])}
	fields := map[string]any{}
	if ev := str(row[6]); ev != "" {
		mr.event = json.RawMessage(ev)
		dec := json.NewDecoder(strings.NewReader(ev))
		dec.UseNumber()
		if err := dec.Decode(&fields); err != nil || fields == nil {
			fields = map[string]any{}
		}
	}
	if ac := str(row[5]); ac != "" {
		dec := json.NewDecoder(strings.NewReader(ac))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			fields["p_alert_context"] = v
		}
	}
	fields["p_alert_id"] = mr.match.AlertID
	fields["p_rule_id"] = mr.match.RuleID
	mr.match.Fields = fields
	return mr, nil
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
	rule, err := s.compiled(d)
	if err != nil {
		run.Status, run.Error = store.RunError, err.Error()
		return s.finish(ctx, run)
	}
	now := s.opts.Now()
	from, to := rule.Window(now)
	rows, truncated, err := s.readMatches(ctx, rule.RuleIDs(), from, to, s.opts.MaxMatches, timeout(d.Schedule), nil)
	if err != nil {
		run.Status, run.Error = runStatus(err), err.Error()
		return s.finish(ctx, run)
	}
	run.Status, run.Rows, run.Truncated = store.RunOK, int64(len(rows)), truncated
	if len(rows) == 0 {
		return s.finish(ctx, run)
	}
	matches := make([]correlate.Match, len(rows))
	byKey := map[string]*matchRow{}
	for i := range rows {
		matches[i] = rows[i].match
		byKey[matchKey(&rows[i].match)] = &rows[i]
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
	var fresh []alerts.Match
	var keys []string
	var latest time.Time
	for i := range out.Results {
		r := &out.Results[i]
		if isSeen(seen, r) {
			continue
		}
		fresh = append(fresh, s.correlationMatch(d, r, byKey))
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
	created, err := s.process(ctx, fresh)
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
// alerts and events. Its event is the last contributing match's.
func (s *Scheduler) correlationMatch(d *analysis.Detection, r *correlate.Result, byKey map[string]*matchRow) alerts.Match {
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
		if mr := byKey[matchKey(last)]; mr != nil {
			m.LogType, m.Event = mr.logType, mr.event
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
