package scheduler

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/batchrec"
	"github.com/prowl-siem/prowl/internal/engine"
	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/pyrt"
	"github.com/prowl-siem/prowl/internal/store"
	"github.com/prowl-siem/prowl/internal/wal"
)

// fakeClock is a clock the test moves; Timer channels fire when it
// reaches their time.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Timer(at time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if !at.After(c.now) {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at, ch})
	return ch
}

// Set moves the clock to t and fires the timers it reaches.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// world is a lake fed through a write-ahead log, a control-plane store, an
// engine over a detections directory and an alert manager, as the server
// wires them.
type world struct {
	t      testing.TB
	clock  *fakeClock
	reg    *logtypes.Registry
	norm   *logtypes.Normalizer
	log    *wal.Log
	lake   *lake.Lake
	q      *lake.Querier
	store  *store.Store
	engine *engine.Engine
	alerts *alerts.Manager

	mu       sync.Mutex
	notified []alerts.Alert
}

func newWorld(t *testing.T, start time.Time, detections map[string]string) *world {
	t.Helper()
	w := newLakeWorld(t, start)
	detDir := filepath.Join(t.TempDir(), "detections")
	if err := os.MkdirAll(detDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range detections {
		if err := os.WriteFile(filepath.Join(detDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.engine = newEngine(t, []string{detDir})
	w.newManager()
	return w
}

// newLakeWorld is a world without engine and alert manager (benchmarks
// use it: no Python workers).
func newLakeWorld(t testing.TB, start time.Time) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, clock: newFakeClock(start), reg: logtypes.NewRegistry()}
	w.norm = w.reg.NewNormalizer()
	var err error
	if w.log, err = wal.Open(wal.Options{Dir: filepath.Join(dir, "wal"), NoSync: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.log.Close() })
	if w.lake, err = lake.Open(lake.Options{Dir: filepath.Join(dir, "lake"), Log: w.log, Registry: w.reg, NoSync: true,
		FlushRows: 1, DefaultRetention: -1, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.lake.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("lake: %v", err)
		}
		w.lake.Close()
	})
	if w.q, err = lake.NewQuerier(w.lake.Snapshot, lake.QueryOptions{Dir: filepath.Join(dir, "lake"), MaxRows: 200_000, Threads: 1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.q.Close() })
	if w.store, err = store.Open(filepath.Join(dir, "prowl.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.store.Close() })
	return w
}

func newEngine(t *testing.T, dirs []string) *engine.Engine {
	t.Helper()
	repo, err := analysis.Load(dirs, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), repo, engine.Options{Python: pyrt.Config{Workers: 1, RuleTimeout: 10 * time.Second},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// newManager (re)creates the alert manager over the store, as a restart
// does.
func (w *world) newManager() {
	var err error
	if w.alerts, err = alerts.NewManager(context.Background(), w.store, alerts.Options{Now: w.clock.Now}); err != nil {
		w.t.Fatal(err)
	}
}

// scheduler starts a scheduler over the world; runs receives each
// finished run. It stops when the test ends (or when stop is called).
func (w *world) scheduler(runs chan<- store.ScheduledRun, adjust ...func(*Options)) (sch *Scheduler, stop func()) {
	w.t.Helper()
	opts := Options{Lake: NewLake(w.q, w.lake.Snapshot), Engine: w.engine, Alerts: w.alerts, Store: w.store, Registry: w.reg,
		Notify: func(_ context.Context, created []alerts.Alert) {
			w.mu.Lock()
			w.notified = append(w.notified, created...)
			w.mu.Unlock()
		},
		Now: w.clock.Now, Timer: w.clock.Timer, Logger: slog.New(slog.DiscardHandler), Concurrency: 1,
		OnRun: func(r store.ScheduledRun) {
			if runs != nil {
				runs <- r
			}
		},
		ReplayPython: pyrt.Config{Workers: 1, RuleTimeout: 10 * time.Second}}
	for _, f := range adjust {
		f(&opts)
	}
	sch = New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	if err := sch.Start(ctx); err != nil {
		w.t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); sch.Wait() }) }
	w.t.Cleanup(stop)
	return sch, stop
}

func (w *world) notifiedAlerts() []alerts.Alert {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]alerts.Alert(nil), w.notified...)
}

// ingest normalizes raw events of a log type, writes them ahead and waits
// until the lake holds them.
func (w *world) ingest(logType string, raws ...[]byte) []logtypes.Event {
	w.t.Helper()
	var events []logtypes.Event
	for _, raw := range raws {
		ev, err := w.norm.Normalize(logType, raw, logtypes.Meta{SourceID: "src-1", SourceLabel: "Test"})
		if err != nil {
			w.t.Fatalf("normalizing %s: %v", raw, err)
		}
		events = append(events, ev)
	}
	rec := &batchrec.Record{SourceID: "src-1", Events: events}
	if _, err := w.log.Append(context.Background(), [][]byte{batchrec.Encode(nil, rec)}); err != nil {
		w.t.Fatal(err)
	}
	// The lake flushes each record it reads (FlushRows 1) and then commits
	// the log offset it covers: wait for that.
	target := w.log.Next()
	deadline := time.Now().Add(60 * time.Second)
	for w.lake.Offset() < target {
		if time.Now().After(deadline) {
			w.t.Fatalf("the lake covers %d of %d", w.lake.Offset(), target)
		}
		runtime.Gosched()
	}
	return events
}

// writeMatches writes rule matches to the lake and flushes them.
func (w *world) writeMatches(ms ...lake.RuleMatch) {
	w.t.Helper()
	if err := w.lake.WriteRuleMatches(context.Background(), ms); err != nil {
		w.t.Fatal(err)
	}
	if err := w.lake.Flush(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// storedAlerts lists the alerts in the store of a rule, oldest first.
func (w *world) storedAlerts(ruleID string) []alerts.Alert {
	w.t.Helper()
	page, err := w.store.ListAlerts(context.Background(), alerts.Query{RuleID: ruleID, Sort: "created_at", Limit: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	out := page.Alerts
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// wait returns the next finished run, failing after a minute.
func wait(t *testing.T, runs <-chan store.ScheduledRun) store.ScheduledRun {
	t.Helper()
	select {
	case r := <-runs:
		return r
	case <-time.After(time.Minute):
		t.Fatal("no run finished within a minute")
	}
	return store.ScheduledRun{}
}

// noRun checks that no run has finished (none is in flight: the caller
// knows the schedule).
func noRun(t *testing.T, runs <-chan store.ScheduledRun) {
	t.Helper()
	select {
	case r := <-runs:
		t.Fatalf("unexpected run: %+v", r)
	default:
	}
}
