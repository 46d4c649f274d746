package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/engine"
	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/logtypes"
)

// Replay errors the caller can act on.
var (
	// ErrReplayBusy: another replay is running (one runs at a time).
	ErrReplayBusy = errors.New("another replay is running; try again when it has finished")
	// ErrReplayRange: the range is empty, reversed or too long.
	ErrReplayRange = errors.New("bad replay range")
	// ErrNotReplayable: the detection is not a rule or correlation rule.
	ErrNotReplayable = errors.New("only rules and correlation rules can be replayed")
	// ErrUnknownDetection: no running detection has that ID.
	ErrUnknownDetection = errors.New("no such detection")
)

// Replay sizes.
const (
	replayBatch      = 1000 // events per EvaluateRule call
	replayPage       = 5000 // rows per lake query
	maxReplayAlerts  = 1000 // alerts listed in a result
	maxReplayDedups  = 1000 // dedup strings listed
	maxErrorSamples  = 5
	replayQueryLimit = 5 * time.Minute // one lake query of a replay
)

// ReplayResult is what a detection would have produced over a time range.
type ReplayResult struct {
	RuleID string
	Kind   analysis.Kind
	// From and To are the range replayed: event times in [From, To).
	From, To time.Time
	// Tables are the lake tables read.
	Tables []string
	// Total is the events (rule matches, for a correlation rule) in range
	// when the replay began; Events those read and evaluated.
	Total, Events int64
	// Matches are the rule's matches (correlations found, for a
	// correlation rule); Errors its rule errors, with a few samples.
	Matches      int
	Errors       int
	ErrorSamples []string
	// AlertCount is the alerts the matches made through dedup and
	// threshold; Alerts lists them (up to 1000), oldest first, ByDedup
	// counts alerts and matches per dedup string, most alerts first.
	AlertCount int
	Alerts     []ReplayAlert
	ByDedup    []DedupCount
	// FirstMatch and LastMatch are the event times of the first and last
	// match.
	FirstMatch, LastMatch time.Time
	// Truncated: the replay stopped early, for the reason in Stopped (the
	// time or event limit); what it found until then is reported.
	Truncated bool
	Stopped   string
	Elapsed   time.Duration
}

// ReplayAlert is an alert a replay would have created.
type ReplayAlert struct {
	ID           string
	Type         string
	Title        string
	Severity     string
	Dedup        string
	EventCount   int
	CreatedAt    time.Time // the event time that created it
	FirstEventAt time.Time
	LastEventAt  time.Time
}

// DedupCount is a dedup string's share of a replay.
type DedupCount struct {
	Dedup   string
	Alerts  int
	Matches int
}

// Replay runs a rule (Python or simple) over the lake's events of its log
// types with event times in [from, to), in event-time order, or a
// correlation rule over the rule matches in the lake, and reports the
// alerts it would have produced. The matches go through a fresh alert
// manager whose clock is the event time, so dedup windows and thresholds
// behave as they would have live (with events processed as they
// happened). Python rules run on their own worker pool with an empty
// cache, so a replay does not touch the live rules' state.
//
// progress, when set, is called as events are evaluated. The replay stops
// at ReplayMaxEvents events or after ReplayTimeout and reports what it
// found until then (Truncated). One replay runs at a time.
func (s *Scheduler) Replay(ctx context.Context, ruleID string, from, to time.Time, progress func(done, total int64)) (*ReplayResult, error) {
	switch {
	case !from.Before(to):
		return nil, fmt.Errorf("%w: since (%s) must be before until (%s)", ErrReplayRange, from.Format(time.RFC3339), to.Format(time.RFC3339))
	case to.Sub(from) > s.opts.ReplayMaxRange:
		return nil, fmt.Errorf("%w: %s is longer than the limit of %s", ErrReplayRange, to.Sub(from).Round(time.Minute), s.opts.ReplayMaxRange)
	}
	d := s.detection(ruleID)
	if d == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownDetection, ruleID)
	}
	if d.Kind != analysis.KindRule && d.Kind != analysis.KindCorrelationRule {
		return nil, fmt.Errorf("%w: %s is a %s (a scheduled rule runs over its query: run the query now instead)", ErrNotReplayable, ruleID, d.Kind)
	}
	select {
	case s.replaying <- struct{}{}:
	default:
		return nil, ErrReplayBusy
	}
	defer func() { <-s.replaying }()
	ctx, done, err := s.joined(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	limited, cancel := context.WithTimeoutCause(ctx, s.opts.ReplayTimeout, errReplayTime)
	defer cancel()
	if progress == nil {
		progress = func(int64, int64) {}
	}
	start := time.Now()
	res := &ReplayResult{RuleID: d.ID, Kind: d.Kind, From: from.UTC(), To: to.UTC()}
	if d.Kind == analysis.KindCorrelationRule {
		err = s.replayCorrelation(limited, d, res, progress)
	} else {
		err = s.replayRule(limited, d, res, progress)
	}
	res.Elapsed = time.Since(start)
	if err != nil {
		if ctx.Err() == nil && errors.Is(context.Cause(limited), errReplayTime) {
			res.Truncated, res.Stopped = true, fmt.Sprintf("stopped at the time limit of %s", s.opts.ReplayTimeout)
			return res, nil
		}
		return nil, err
	}
	return res, nil
}

var errReplayTime = errors.New("replay time limit")

// replayRule replays a streaming rule.
func (s *Scheduler) replayRule(ctx context.Context, d *analysis.Detection, res *ReplayResult, progress func(done, total int64)) error {
	var cs []*cursor
	rebuilders := map[*cursor]*rebuilder{}
	for _, lt := range d.LogTypes {
		table := lake.TableName(s.opts.Registry, lt)
		if slices.Contains(res.Tables, table) || !s.opts.Lake.HasTable(table) {
			continue
		}
		sl, total, err := timeSlices(ctx, s.opts.Lake, table, "", nil, res.From, res.To, replayPage, replayQueryLimit)
		if err != nil {
			return err
		}
		res.Tables = append(res.Tables, table)
		res.Total += total
		c := &cursor{l: s.opts.Lake, table: table, columns: "*", slices: sl, pageSize: replayPage, timeout: replayQueryLimit}
		cs = append(cs, c)
		rebuilders[c] = newRebuilder(s.opts.Registry, lt)
	}
	progress(0, res.Total)
	if res.Total == 0 {
		return nil
	}
	live := s.opts.Engine.Repo()
	if live == nil {
		return errors.New("no detections are loaded")
	}
	repo := *live
	repo.Detections, repo.Queries = []*analysis.Detection{d}, nil
	eng, err := engine.New(ctx, &repo, engine.Options{Python: s.opts.ReplayPython, Logger: slog.New(slog.DiscardHandler),
		Enabled: func(*analysis.Detection) bool { return true }, PrefiltersOff: true})
	if err != nil {
		return fmt.Errorf("starting the replay's engine: %w", err)
	}
	defer eng.Close()
	t := newTally(ctx)
	m := &merged{cs: cs}
	batch := make([]logtypes.Event, 0, replayBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ms, err := eng.EvaluateRule(ctx, d.ID, batch)
		if err != nil {
			return err
		}
		if err := t.add(ms); err != nil {
			return err
		}
		res.Events += int64(len(batch))
		progress(res.Events, max(res.Total, res.Events))
		batch = batch[:0]
		return nil
	}
	for {
		row, c, err := m.next(ctx)
		if err != nil {
			return t.partial(res, err)
		}
		if row == nil {
			break
		}
		if res.Events+int64(len(batch)) >= s.opts.ReplayMaxEvents {
			res.Truncated, res.Stopped = true, fmt.Sprintf("stopped at the limit of %d events", s.opts.ReplayMaxEvents)
			break
		}
		ev, err := rebuilders[c].event(c.cols, row)
		if err != nil {
			return t.partial(res, fmt.Errorf("%s: %w", c.table, err))
		}
		batch = append(batch, ev)
		if len(batch) == replayBatch {
			if err := flush(); err != nil {
				return t.partial(res, err)
			}
		}
	}
	if err := flush(); err != nil {
		return t.partial(res, err)
	}
	t.report(res)
	return nil
}

// replayCorrelation replays a correlation rule over the rule matches in
// the lake: one evaluation over the whole range, then each result in the
// order it was decided through a fresh alert manager.
func (s *Scheduler) replayCorrelation(ctx context.Context, d *analysis.Detection, res *ReplayResult, progress func(done, total int64)) error {
	rule, err := s.corr.compiled(d)
	if err != nil {
		return err
	}
	res.Tables = []string{lake.TableRuleMatches}
	to := res.To.Add(-time.Microsecond) // Run's range is inclusive
	matches, truncated, err := s.readMatches(ctx, rule, res.From, to, int(min(s.opts.ReplayMaxEvents, 1<<31-1)), replayQueryLimit,
		func(done, total int64) { res.Events, res.Total = done, total; progress(done, total) })
	if err != nil {
		return err
	}
	res.Events = int64(len(matches))
	if truncated {
		res.Truncated, res.Stopped = true, fmt.Sprintf("stopped at the limit of %d rule matches", s.opts.ReplayMaxEvents)
	}
	out := rule.Run(matches, res.From, to)
	if out.Truncated {
		res.Truncated, res.Stopped = true, "the correlation search hit its work limit; some correlations may be missing"
	}
	results := out.Results
	sort.SliceStable(results, func(a, b int) bool { return results[a].DecidedAt.Before(results[b].DecidedAt) })
	t := newTally(ctx)
	for i := range results {
		// No event or log type: the tally drops events, and the replay's
		// alerts do not report log types.
		m := s.correlationMatch(d, &results[i], nil)
		m.EventTime = results[i].DecidedAt // the alert is made when the result is decided
		if err := t.add([]alerts.Match{m}); err != nil {
			return err
		}
	}
	t.report(res)
	// The matches' times are the correlations' spans, not their decisions.
	res.FirstMatch, res.LastMatch = time.Time{}, time.Time{}
	for i := range results {
		if res.FirstMatch.IsZero() || results[i].Start.Before(res.FirstMatch) {
			res.FirstMatch = results[i].Start
		}
		res.LastMatch = maxTime(res.LastMatch, results[i].End)
	}
	return nil
}

// tally feeds matches, in event-time order, to a fresh alert manager
// whose clock is each match's event time, and counts.
type tally struct {
	ctx     context.Context
	store   *alerts.MemoryStore
	mgr     *alerts.Manager
	clock   time.Time
	matches int
	errors  int
	samples []string
	byDedup map[string]*DedupCount
	first   time.Time
	last    time.Time
	err     error
}

func newTally(ctx context.Context) *tally {
	t := &tally{ctx: ctx, store: alerts.NewMemoryStore(), byDedup: map[string]*DedupCount{}}
	// A memory store cannot fail to load.
	t.mgr, t.err = alerts.NewManager(ctx, t.store, alerts.Options{Now: func() time.Time { return t.clock }, EventsPerAlert: 1})
	return t
}

func (t *tally) add(ms []alerts.Match) error {
	if t.err != nil {
		return t.err
	}
	for i := range ms {
		m := &ms[i]
		if m.Type == alerts.TypeRuleError {
			t.errors++
			if len(t.samples) < maxErrorSamples && !slices.Contains(t.samples, m.Title) {
				t.samples = append(t.samples, m.Title)
			}
			continue
		}
		t.matches++
		if t.first.IsZero() || m.EventTime.Before(t.first) {
			t.first = m.EventTime
		}
		t.last = maxTime(t.last, m.EventTime)
		dc := t.byDedup[m.Dedup]
		if dc == nil {
			dc = &DedupCount{Dedup: m.Dedup}
			t.byDedup[m.Dedup] = dc
		}
		dc.Matches++
		if m.EventTime.After(t.clock) {
			t.clock = m.EventTime
		}
		m.Event = nil // not kept: the replay reports alerts, not their events
		if _, err := t.mgr.Process(t.ctx, []alerts.Match{*m}, nil); err != nil {
			return err
		}
	}
	return nil
}

// partial reports what was counted when err stopped the replay, and
// returns err.
func (t *tally) partial(res *ReplayResult, err error) error {
	t.report(res)
	return err
}

func (t *tally) report(res *ReplayResult) {
	res.Matches, res.Errors, res.ErrorSamples = t.matches, t.errors, t.samples
	res.FirstMatch, res.LastMatch = t.first, t.last
	stored := t.store.Alerts()
	res.AlertCount = len(stored)
	res.Alerts = nil
	for _, a := range stored {
		if a.Type == alerts.TypeRule {
			if dc := t.byDedup[a.Dedup]; dc != nil {
				dc.Alerts++
			}
		}
		if len(res.Alerts) < maxReplayAlerts {
			res.Alerts = append(res.Alerts, ReplayAlert{ID: a.ID, Type: a.Type, Title: a.Title, Severity: a.Severity, Dedup: a.Dedup,
				EventCount: a.EventCount, CreatedAt: a.CreatedAt, FirstEventAt: a.FirstEventAt, LastEventAt: a.LastEventAt})
		}
	}
	res.ByDedup = nil
	for _, dc := range t.byDedup {
		res.ByDedup = append(res.ByDedup, *dc)
	}
	slices.SortFunc(res.ByDedup, func(a, b DedupCount) int {
		if a.Alerts != b.Alerts {
			return b.Alerts - a.Alerts
		}
		if a.Matches != b.Matches {
			return b.Matches - a.Matches
		}
		return strings.Compare(a.Dedup, b.Dedup)
	})
	if len(res.ByDedup) > maxReplayDedups {
		res.ByDedup = res.ByDedup[:maxReplayDedups]
	}
}
