package server

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/api"
	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/pyrt"
	"github.com/prowl-siem/prowl/internal/scheduler"
	"github.com/prowl-siem/prowl/internal/store"
)

// startScheduler runs scheduled queries (and the scheduled rules over their
// rows) and correlation rules on their schedules, and serves replays. It
// has its own query database: scheduled queries may run up to an hour
// (TimeoutMinutes), past the interactive statement timeout, and must not
// take the threads of people's searches. If it cannot start, the rest of
// prowl runs without it.
func (s *Server) startScheduler(ctx context.Context) {
	dir := filepath.Join(s.cfg.DataDir, "lake")
	q, err := lake.NewQuerier(s.lake.Snapshot, lake.QueryOptions{Dir: dir, Timeout: scheduler.MaxTimeout, MaxRows: 200_000,
		MemoryLimit: "2GB", Threads: 1})
	if err != nil {
		s.log.Error("the scheduler cannot start: scheduled queries, correlation rules and replays are off", "err", err)
		return
	}
	sch := scheduler.New(scheduler.Options{
		Lake: scheduler.NewLake(q, s.lake.Snapshot), Engine: s.engine, Alerts: s.alerts, Store: s.store, Registry: s.reg,
		Notify: s.notify, Now: s.now, Enabled: s.enabled, QueryEnabled: s.queryEnabled, Logger: s.log,
		ReplayPython: pyrt.Config{Python: s.cfg.PythonPath, Workers: 1, RuleTimeout: s.cfg.RuleTimeout,
			MemoryLimitMB: s.cfg.PythonMemoryMB, Output: logWriter{s.log}},
	})
	if err := sch.Start(ctx); err != nil {
		q.Close()
		s.log.Error("the scheduler cannot start: scheduled queries, correlation rules and replays are off", "err", err)
		return
	}
	s.sched = sch
	s.goRun("scheduler", func() error {
		<-ctx.Done()
		sch.Wait()
		return q.Close()
	})
}

// queryEnabled decides which scheduled queries run, as enabled does for
// detections.
func (s *Server) queryEnabled(q *analysis.Query) bool {
	if !q.Enabled {
		return false
	}
	if rel, err := filepath.Rel(s.bundledDir, q.Source.File); err == nil && filepath.IsLocal(rel) {
		return s.enabledPacks[q.Name]
	}
	return true
}

// schedulerAPI adapts the scheduler to api.Scheduler.
type schedulerAPI struct{ s *Server }

func (a schedulerAPI) sched() (*scheduler.Scheduler, error) {
	if a.s.sched == nil {
		return nil, apiErr{errors.New("the scheduler is not running (see the server log)"), api.ErrUnavailable}
	}
	return a.s.sched, nil
}

// apiErr is err with the api error that sets its status code.
type apiErr struct{ err, kind error }

func (e apiErr) Error() string   { return e.err.Error() }
func (e apiErr) Unwrap() []error { return []error{e.err, e.kind} }

// toAPIErr classifies the scheduler's errors for the API.
func toAPIErr(err error) error {
	switch {
	case errors.Is(err, scheduler.ErrUnknownQuery), errors.Is(err, scheduler.ErrUnknownDetection):
		return apiErr{err, store.ErrNotFound}
	case errors.Is(err, scheduler.ErrReplayBusy):
		return apiErr{err, api.ErrBusy}
	case errors.Is(err, scheduler.ErrReplayRange), errors.Is(err, scheduler.ErrNotReplayable):
		return apiErr{err, api.ErrInvalid}
	case errors.Is(err, scheduler.ErrNotRunning):
		return apiErr{err, api.ErrUnavailable}
	}
	return err
}

func apiSchedule(sch *analysis.Schedule, desc, errText string) api.QuerySchedule {
	out := api.QuerySchedule{Description: desc, Error: errText}
	if sch != nil {
		out.RateMinutes, out.CronExpression, out.TimeoutMinutes = sch.RateMinutes, sch.CronExpression, sch.TimeoutMinutes
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (a schedulerAPI) ScheduledQueries(ctx context.Context) ([]api.ScheduledQuery, []api.ScheduledCorrelation, error) {
	sch, err := a.sched()
	if err != nil {
		return nil, nil, err
	}
	qs, err := sch.Queries(ctx, 5)
	if err != nil {
		return nil, nil, err
	}
	cs, err := sch.Correlations(ctx, 5)
	if err != nil {
		return nil, nil, err
	}
	var queries []api.ScheduledQuery
	for _, st := range qs {
		q := st.Query
		queries = append(queries, api.ScheduledQuery{Name: q.Name, Description: q.Description, Enabled: st.Enabled, SQL: q.SQL, Tags: q.Tags,
			Schedule: apiSchedule(q.Schedule, st.Schedule, st.ScheduleError), Lookback: q.Lookback, LookbackWindowSeconds: q.LookbackWindowSeconds,
			NextRun: timePtr(st.NextRun), Running: st.Running, Rules: nonNilStrings(st.Rules), File: q.Source.File, LastRuns: nonNilRuns(st.LastRuns)})
	}
	var correlations []api.ScheduledCorrelation
	for _, st := range cs {
		d := st.Rule
		correlations = append(correlations, api.ScheduledCorrelation{RuleID: d.ID, DisplayName: d.DisplayName, Severity: d.Severity,
			Enabled: a.s.enabled(d), Schedule: apiSchedule(d.Schedule, st.Schedule, st.ScheduleError), LookbackWindowMinutes: d.LookbackWindowMinutes,
			NextRun: timePtr(st.NextRun), Running: st.Running, LastRuns: nonNilRuns(st.LastRuns)})
	}
	return queries, correlations, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilRuns(r []store.ScheduledRun) []store.ScheduledRun {
	if r == nil {
		return []store.ScheduledRun{}
	}
	return r
}

func (a schedulerAPI) ScheduledRuns(ctx context.Context, name string, limit int) ([]store.ScheduledRun, error) {
	sch, err := a.sched()
	if err != nil {
		return nil, err
	}
	return sch.Runs(ctx, name, limit)
}

func (a schedulerAPI) RunScheduled(ctx context.Context, name string) (store.ScheduledRun, error) {
	sch, err := a.sched()
	if err != nil {
		return store.ScheduledRun{}, err
	}
	run, err := sch.RunNow(ctx, name)
	return run, toAPIErr(err)
}

func (a schedulerAPI) SavedQueries(context.Context) ([]api.SavedQuery, error) {
	sch, err := a.sched()
	if err != nil {
		return nil, err
	}
	var out []api.SavedQuery
	for _, q := range sch.SavedQueries() {
		out = append(out, api.SavedQuery{Name: q.Name, Description: q.Description, SQL: q.SQL, Tags: q.Tags,
			LookbackWindowSeconds: q.LookbackWindowSeconds, File: q.Source.File})
	}
	return out, nil
}

func (a schedulerAPI) Replay(ctx context.Context, ruleID string, since, until time.Time) (*api.ReplayResponse, error) {
	sch, err := a.sched()
	if err != nil {
		return nil, err
	}
	res, err := sch.Replay(ctx, ruleID, since, until, nil)
	if err != nil {
		return nil, toAPIErr(err)
	}
	out := &api.ReplayResponse{RuleID: res.RuleID, Kind: string(res.Kind), From: res.From, To: res.To, Tables: res.Tables,
		Total: res.Total, Events: res.Events, Matches: res.Matches, Errors: res.Errors, ErrorSamples: res.ErrorSamples,
		AlertCount: res.AlertCount, FirstMatch: timePtr(res.FirstMatch), LastMatch: timePtr(res.LastMatch),
		Truncated: res.Truncated, Stopped: res.Stopped, ElapsedMS: float64(res.Elapsed.Microseconds()) / 1000}
	for _, al := range res.Alerts {
		out.Alerts = append(out.Alerts, api.ReplayAlert{ID: al.ID, Type: al.Type, Title: al.Title, Severity: al.Severity, Dedup: al.Dedup,
			EventCount: al.EventCount, CreatedAt: al.CreatedAt, FirstEventAt: al.FirstEventAt, LastEventAt: al.LastEventAt})
	}
	for _, d := range res.ByDedup {
		out.ByDedup = append(out.ByDedup, api.ReplayDedup{Dedup: d.Dedup, Alerts: d.Alerts, Matches: d.Matches})
	}
	return out, nil
}
