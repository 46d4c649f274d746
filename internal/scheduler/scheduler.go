// Package scheduler runs what works over the data lake on a clock:
// scheduled queries (and the scheduled rules over their rows), correlation
// rules (over the rule matches in the lake), and, on demand, replays of a
// detection over the lake's history. It keeps the run history in the
// control-plane store. docs/scheduled.md describes the behaviour.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/lowprio"
	"github.com/prowl-siem/prowl/internal/pyrt"
	"github.com/prowl-siem/prowl/internal/store"
)

// Engine is the running detection engine (*engine.Engine).
type Engine interface {
	Repo() *analysis.Repo
	Detections() []*analysis.Detection
	Version(id string) string
	EvaluateRule(ctx context.Context, ruleID string, events []logtypes.Event) ([]alerts.Match, error)
}

// Alerts is the alert manager (*alerts.Manager).
type Alerts interface {
	Process(ctx context.Context, matches []alerts.Match, offset *alerts.Offset) ([]alerts.Alert, error)
}

// Store keeps run history and the correlations alerted on (*store.Store).
type Store interface {
	StartScheduledRun(ctx context.Context, r store.ScheduledRun) (int64, error)
	FinishScheduledRun(ctx context.Context, r store.ScheduledRun) error
	AbandonScheduledRuns(ctx context.Context, now time.Time) error
	ListScheduledRuns(ctx context.Context, kind, name string, limit int) ([]store.ScheduledRun, error)
	LatestScheduledRuns(ctx context.Context, kind string, perName int) (map[string][]store.ScheduledRun, error)
	CorrelationSeen(ctx context.Context, ruleID string, now time.Time) (map[string]bool, error)
	MarkCorrelationSeen(ctx context.Context, ruleID string, keys []string, expires, now time.Time) error
}

// Defaults and bounds.
const (
	// DefaultTimeout is a run's query timeout when TimeoutMinutes is not
	// set; MaxTimeout caps TimeoutMinutes.
	DefaultTimeout = 5 * time.Minute
	MaxTimeout     = time.Hour
	// DefaultMaxRows is how many rows of a scheduled query its rules see.
	DefaultMaxRows = 100_000
	// DefaultMaxMatches is how many rule matches a correlation run reads.
	DefaultMaxMatches = 1_000_000
	// replanEvery is how often the scheduler looks for new, changed or
	// removed queries and rules (reloads do not notify it).
	replanEvery = time.Minute
)

// Options configure a Scheduler.
type Options struct {
	Lake     Lake
	Engine   Engine
	Alerts   Alerts
	Store    Store
	Registry *logtypes.Registry // maps log types to lake tables (default: built-in)
	// Notify hands new alerts to the destinations (nil: not notified).
	Notify func(ctx context.Context, created []alerts.Alert)
	// Now is the clock (default time.Now). Timer returns a channel that
	// receives once Now reaches at (default: a real timer).
	Now   func() time.Time
	Timer func(at time.Time) <-chan time.Time
	// Enabled says which detections run (default: Enabled: true);
	// QueryEnabled which scheduled queries run (default: Enabled: true).
	Enabled      func(*analysis.Detection) bool
	QueryEnabled func(*analysis.Query) bool
	Logger       *slog.Logger
	// OnRun, when set, receives every finished run once its job may run
	// again (tests wait on it).
	OnRun func(store.ScheduledRun)
	// MaxRows bounds the rows of a scheduled query run (DefaultMaxRows);
	// MaxMatches the rule matches of a correlation run (DefaultMaxMatches).
	MaxRows    int
	MaxMatches int
	// Concurrency is how many runs go at once (default 2). A job whose
	// previous run has not finished skips its turn.
	Concurrency int

	// Replay: the Python workers of a replay's own engine (default one
	// worker, in-memory cache), and its bounds.
	ReplayPython    pyrt.Config
	ReplayMaxRange  time.Duration // default 90 days
	ReplayTimeout   time.Duration // default 10 minutes
	ReplayMaxEvents int64         // default 10 million
}

// Scheduler runs scheduled queries, scheduled rules and correlation rules.
type Scheduler struct {
	opts Options

	mu      sync.Mutex
	jobs    map[string]*job
	base    context.Context
	started bool
	wake    chan struct{}
	sem     chan struct{}
	// corrSem lets one correlation run read and evaluate at a time: each
	// holds its window's matches, and a window may hold a million (a few
	// hundred MB); rules on one schedule would otherwise hold theirs at
	// once.
	corrSem chan struct{}
	wg      sync.WaitGroup
	loop    chan struct{} // closed when the loop has returned

	corr *corrRules

	replaying chan struct{} // holds a token while a replay runs
}

// job is one scheduled query or correlation rule.
type job struct {
	kind, name string
	schedText  string
	sched      Schedule
	err        string // the schedule does not parse
	next       time.Time
	running    bool
}

func jobKey(kind, name string) string { return kind + ":" + name }

// New builds a scheduler; Start runs it.
func New(opts Options) *Scheduler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timer == nil {
		now := opts.Now
		opts.Timer = func(at time.Time) <-chan time.Time { return time.After(at.Sub(now())) }
	}
	if opts.Enabled == nil {
		opts.Enabled = func(d *analysis.Detection) bool { return d.Enabled }
	}
	if opts.QueryEnabled == nil {
		opts.QueryEnabled = func(q *analysis.Query) bool { return q.Enabled }
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Registry == nil {
		opts.Registry = logtypes.NewRegistry()
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	if opts.MaxMatches <= 0 {
		opts.MaxMatches = DefaultMaxMatches
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 2
	}
	if opts.ReplayPython.Workers <= 0 {
		opts.ReplayPython.Workers = 1
	}
	if opts.ReplayMaxRange <= 0 {
		opts.ReplayMaxRange = 90 * 24 * time.Hour
	}
	if opts.ReplayTimeout <= 0 {
		opts.ReplayTimeout = 10 * time.Minute
	}
	if opts.ReplayMaxEvents <= 0 {
		opts.ReplayMaxEvents = 10_000_000
	}
	return &Scheduler{opts: opts, jobs: map[string]*job{}, wake: make(chan struct{}, 1),
		sem: make(chan struct{}, opts.Concurrency), corrSem: make(chan struct{}, 1), corr: newCorrRules(opts.Engine),
		replaying: make(chan struct{}, 1), loop: make(chan struct{})}
}

// ErrNotRunning is returned by on-demand work before Start or after the
// scheduler stopped.
var ErrNotRunning = errors.New("the scheduler is not running")

// Start marks runs left unfinished by a previous process as errors, plans
// every job's next run from the clock (before it returns, so a test may
// move its clock right after) and runs the schedule until ctx is done.
func (s *Scheduler) Start(ctx context.Context) error {
	if err := s.opts.Store.AbandonScheduledRuns(ctx, s.opts.Now()); err != nil {
		return err
	}
	s.mu.Lock()
	s.base, s.started = ctx, true
	s.refresh(s.opts.Now())
	s.mu.Unlock()
	go s.run(ctx)
	return nil
}

// Wait returns once the schedule loop, the runs and the replays it
// started have returned (after ctx is done).
func (s *Scheduler) Wait() {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started {
		<-s.loop
	}
	s.wg.Wait()
}

// Replan asks the loop to look at the detections again now (after a
// reload).
func (s *Scheduler) Replan() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) run(ctx context.Context) {
	defer close(s.loop)
	for {
		now := s.opts.Now()
		s.mu.Lock()
		s.refresh(now)
		wakeAt := now.Add(replanEvery)
		for _, key := range sortedKeys(s.jobs) {
			j := s.jobs[key]
			if j.sched == nil {
				continue
			}
			if !j.next.After(now) {
				// A clock that jumped past several firing times (a paused
				// process) runs once, for the latest of them.
				at := j.next
				if latest := j.sched.Prev(now.Add(time.Nanosecond)); latest.After(at) {
					at = latest
				}
				j.next = j.sched.Next(now)
				if j.running {
					s.opts.Logger.Warn("scheduled run skipped: the previous run has not finished", "kind", j.kind, "name", j.name, "at", at)
				} else {
					j.running = true
					s.launch(ctx, j, at)
				}
			}
			if !j.next.IsZero() && j.next.Before(wakeAt) {
				wakeAt = j.next
			}
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-s.opts.Timer(wakeAt):
		}
	}
}

// launch starts a scheduled run of j (s.mu held).
func (s *Scheduler) launch(ctx context.Context, j *job, at time.Time) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		var run *store.ScheduledRun
		select {
		case s.sem <- struct{}{}:
			// Scheduled work yields the CPU to ingestion and detection.
			_ = lowprio.Run(func() error {
				run = s.runJob(ctx, j, at)
				return nil
			})
			<-s.sem
		case <-ctx.Done():
		}
		s.mu.Lock()
		j.running = false
		if cur := s.jobs[jobKey(j.kind, j.name)]; cur != nil {
			cur.running = false // j's schedule may have changed meanwhile
		}
		s.mu.Unlock()
		// Reported once the job may run again, so that whoever waits for
		// it can move the clock to its next turn.
		if run != nil && s.opts.OnRun != nil {
			s.opts.OnRun(*run)
		}
	}()
}

// runJob runs j for firing time at; nil when j's query or rule is gone.
func (s *Scheduler) runJob(ctx context.Context, j *job, at time.Time) *store.ScheduledRun {
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.Error("scheduled run panicked", "kind", j.kind, "name", j.name, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	var r store.ScheduledRun
	switch j.kind {
	case store.RunKindQuery:
		q := s.query(j.name)
		if q == nil {
			return nil
		}
		r = s.runQuery(ctx, q, at, store.TriggerSchedule)
	case store.RunKindCorrelation:
		d := s.detection(j.name)
		if d == nil {
			return nil
		}
		r = s.runCorrelation(ctx, d, at, store.TriggerSchedule)
	default:
		return nil
	}
	return &r
}

// refresh brings the jobs in line with the loaded queries and rules
// (s.mu held).
func (s *Scheduler) refresh(now time.Time) {
	want := map[string]*job{}
	add := func(kind, name string, sch *analysis.Schedule, def Schedule) {
		j := &job{kind: kind, name: name}
		var err error
		switch {
		case sch != nil:
			j.schedText = fmt.Sprintf("rate=%d cron=%q", sch.RateMinutes, sch.CronExpression)
			j.sched, err = ParseSchedule(sch)
		case def != nil:
			j.schedText, j.sched = def.String(), def
		default:
			err = errors.New("no Schedule")
		}
		if err != nil {
			j.sched, j.err = nil, err.Error()
		}
		want[jobKey(kind, name)] = j
	}
	repo := s.opts.Engine.Repo()
	if repo != nil {
		for _, q := range repo.Queries {
			if q.Kind == analysis.KindScheduledQuery && s.opts.QueryEnabled(q) {
				add(store.RunKindQuery, q.Name, q.Schedule, nil)
			}
		}
	}
	for _, d := range s.opts.Engine.Detections() {
		if d.Kind == analysis.KindCorrelationRule && s.opts.Enabled(d) {
			// A rule without a Schedule (which validation refuses) runs
			// every lookback window.
			lookback := max(d.LookbackWindowMinutes, 1)
			add(store.RunKindCorrelation, d.ID, d.Schedule, Rate{Every: time.Duration(lookback) * time.Minute})
		}
	}
	for key, j := range want {
		if old := s.jobs[key]; old != nil && old.schedText == j.schedText {
			old.err = j.err
			continue
		}
		if j.sched != nil {
			j.next = j.sched.Next(now)
		}
		if old := s.jobs[key]; old != nil {
			j.running = old.running
		}
		s.jobs[key] = j
	}
	for key := range s.jobs {
		if want[key] == nil {
			delete(s.jobs, key)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// query returns the loaded query named name, or nil.
func (s *Scheduler) query(name string) *analysis.Query {
	if repo := s.opts.Engine.Repo(); repo != nil {
		return repo.Query(name)
	}
	return nil
}

// detection returns the running detection id, or nil.
func (s *Scheduler) detection(id string) *analysis.Detection {
	for _, d := range s.opts.Engine.Detections() {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// scheduledRules are the enabled scheduled rules that read query name,
// by ID.
func (s *Scheduler) scheduledRules(name string) []*analysis.Detection {
	var out []*analysis.Detection
	for _, d := range s.opts.Engine.Detections() {
		if d.Kind == analysis.KindScheduledRule && s.opts.Enabled(d) && slices.Contains(d.ScheduledQueries, name) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b *analysis.Detection) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// QueryStatus is a scheduled query with its schedule and recent runs.
type QueryStatus struct {
	Query *analysis.Query
	// Enabled: the query runs on its schedule.
	Enabled bool
	// Schedule describes it; ScheduleError says why it cannot run.
	Schedule      string
	ScheduleError string
	NextRun       time.Time // zero when it does not run
	Running       bool
	Rules         []string // the enabled scheduled rules over its rows
	LastRuns      []store.ScheduledRun
}

// CorrelationStatus is a correlation rule's schedule and recent runs.
type CorrelationStatus struct {
	Rule          *analysis.Detection
	Schedule      string
	ScheduleError string
	NextRun       time.Time
	Running       bool
	LastRuns      []store.ScheduledRun
}

// Queries lists the scheduled queries of the loaded repository (enabled
// or not) with their next run and their last runs (up to lastRuns each).
func (s *Scheduler) Queries(ctx context.Context, lastRuns int) ([]QueryStatus, error) {
	runs, err := s.opts.Store.LatestScheduledRuns(ctx, store.RunKindQuery, lastRuns)
	if err != nil {
		return nil, err
	}
	repo := s.opts.Engine.Repo()
	var out []QueryStatus
	s.mu.Lock()
	defer s.mu.Unlock()
	if repo == nil {
		return out, nil
	}
	for _, q := range repo.Queries {
		if q.Kind != analysis.KindScheduledQuery {
			continue
		}
		st := QueryStatus{Query: q, Enabled: s.opts.QueryEnabled(q), LastRuns: runs[q.Name]}
		if sch, err := ParseSchedule(q.Schedule); err != nil {
			st.ScheduleError = err.Error()
		} else {
			st.Schedule = sch.String()
		}
		if j := s.jobs[jobKey(store.RunKindQuery, q.Name)]; j != nil {
			st.NextRun, st.Running = j.next, j.running
		}
		for _, d := range s.scheduledRules(q.Name) {
			st.Rules = append(st.Rules, d.ID)
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b QueryStatus) int { return strings.Compare(a.Query.Name, b.Query.Name) })
	return out, nil
}

// Correlations lists the running correlation rules with their schedule.
func (s *Scheduler) Correlations(ctx context.Context, lastRuns int) ([]CorrelationStatus, error) {
	runs, err := s.opts.Store.LatestScheduledRuns(ctx, store.RunKindCorrelation, lastRuns)
	if err != nil {
		return nil, err
	}
	var out []CorrelationStatus
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.opts.Engine.Detections() {
		if d.Kind != analysis.KindCorrelationRule {
			continue
		}
		st := CorrelationStatus{Rule: d, LastRuns: runs[d.ID]}
		if j := s.jobs[jobKey(store.RunKindCorrelation, d.ID)]; j != nil {
			st.NextRun, st.Running, st.ScheduleError = j.next, j.running, j.err
			if j.sched != nil {
				st.Schedule = j.sched.String()
			}
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b CorrelationStatus) int { return strings.Compare(a.Rule.ID, b.Rule.ID) })
	return out, nil
}

// SavedQueries lists the saved queries of the loaded repository.
func (s *Scheduler) SavedQueries() []*analysis.Query {
	var out []*analysis.Query
	if repo := s.opts.Engine.Repo(); repo != nil {
		for _, q := range repo.Queries {
			if q.Kind == analysis.KindSavedQuery {
				out = append(out, q)
			}
		}
	}
	slices.SortFunc(out, func(a, b *analysis.Query) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Runs returns the newest runs of a scheduled query or correlation rule.
func (s *Scheduler) Runs(ctx context.Context, name string, limit int) ([]store.ScheduledRun, error) {
	return s.opts.Store.ListScheduledRuns(ctx, "", name, limit)
}

// ErrUnknownQuery is returned by RunNow for a name that is not a loaded
// scheduled query or correlation rule.
var ErrUnknownQuery = errors.New("no scheduled query or correlation rule of that name")

// RunNow runs a scheduled query (with its scheduled rules) or a
// correlation rule at once, whether or not it is enabled, and returns the
// recorded run. It stops with ctx or when the scheduler stops.
func (s *Scheduler) RunNow(ctx context.Context, name string) (store.ScheduledRun, error) {
	ctx, done, err := s.joined(ctx)
	if err != nil {
		return store.ScheduledRun{}, err
	}
	defer done()
	var r store.ScheduledRun
	if q := s.query(name); q != nil && q.Kind == analysis.KindScheduledQuery {
		r = s.runQuery(ctx, q, time.Time{}, store.TriggerManual)
	} else if d := s.detection(name); d != nil && d.Kind == analysis.KindCorrelationRule {
		r = s.runCorrelation(ctx, d, time.Time{}, store.TriggerManual)
	} else {
		return store.ScheduledRun{}, fmt.Errorf("%w: %s", ErrUnknownQuery, name)
	}
	if s.opts.OnRun != nil {
		s.opts.OnRun(r)
	}
	return r, nil
}

// joined returns a context done when either ctx or the scheduler's is,
// counted in s.wg until done is called.
func (s *Scheduler) joined(ctx context.Context) (context.Context, func(), error) {
	s.mu.Lock()
	base := s.base
	if base == nil || base.Err() != nil {
		s.mu.Unlock()
		return nil, nil, ErrNotRunning
	}
	s.wg.Add(1)
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(base, cancel)
	return ctx, func() { stop(); cancel(); s.wg.Done() }, nil
}

// record starts a run record; finish completes it.
func (s *Scheduler) record(ctx context.Context, kind, name, trigger string, at time.Time) store.ScheduledRun {
	r := store.ScheduledRun{Kind: kind, Name: name, Trigger: trigger, ScheduledAt: at, StartedAt: s.opts.Now().UTC(), Status: store.RunRunning}
	id, err := s.opts.Store.StartScheduledRun(ctx, r)
	if err != nil {
		s.opts.Logger.Error("recording a scheduled run", "kind", kind, "name", name, "err", err)
	}
	r.ID = id
	return r
}

func (s *Scheduler) finish(ctx context.Context, r store.ScheduledRun) store.ScheduledRun {
	end := s.opts.Now().UTC()
	r.FinishedAt = &end
	r.DurationMS = float64(end.Sub(r.StartedAt).Microseconds()) / 1000
	if r.ID != 0 {
		if err := s.opts.Store.FinishScheduledRun(context.WithoutCancel(ctx), r); err != nil {
			s.opts.Logger.Error("recording a scheduled run", "kind", r.Kind, "name", r.Name, "err", err)
		}
	}
	level := slog.LevelInfo
	if r.Status != store.RunOK {
		level = slog.LevelWarn
	}
	s.opts.Logger.Log(ctx, level, "scheduled run", "kind", r.Kind, "name", r.Name, "trigger", r.Trigger, "status", r.Status,
		"rows", r.Rows, "matches", r.Matches, "alerts", r.Alerts, "error", r.Error)
	return r
}

// timeout is a Schedule's TimeoutMinutes as a duration, defaulted and
// capped.
func timeout(sch *analysis.Schedule) time.Duration {
	if sch == nil || sch.TimeoutMinutes <= 0 {
		return DefaultTimeout
	}
	return min(time.Duration(sch.TimeoutMinutes)*time.Minute, MaxTimeout)
}

// runStatus classifies a query error.
func runStatus(err error) string {
	var t interface{ Timeout() bool }
	if errors.As(err, &t) && t.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return store.RunTimeout
	}
	return store.RunError
}

// process hands matches to the alert manager and notifies what it created.
func (s *Scheduler) process(ctx context.Context, matches []alerts.Match) ([]alerts.Alert, error) {
	if len(matches) == 0 {
		return nil, nil
	}
	created, err := s.opts.Alerts.Process(ctx, matches, nil)
	if err != nil {
		return nil, err
	}
	if len(created) > 0 && s.opts.Notify != nil {
		s.opts.Notify(ctx, created)
	}
	return created, nil
}
