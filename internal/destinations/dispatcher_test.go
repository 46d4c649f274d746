package destinations_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/destinations"
	"github.com/prowl-siem/prowl/internal/destinations/destinationstest"
)

var t0 = time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)

// harness runs a Dispatcher on a fake clock with Recorder destinations.
type harness struct {
	t        *testing.T
	clock    *destinationstest.Clock
	store    *destinations.MemoryStore
	rec      *destinationstest.Recorder
	d        *destinations.Dispatcher
	attempts chan destinations.Delivery

	mu   sync.Mutex
	cfgs []destinations.Config
}

func newHarness(t *testing.T, opts destinations.DispatcherOptions, store *destinations.MemoryStore, cfgs ...destinations.Config) *harness {
	h := &harness{t: t, clock: destinationstest.NewClock(t0), store: store, rec: destinationstest.NewRecorder(),
		attempts: make(chan destinations.Delivery, 100), cfgs: cfgs}
	if h.store == nil {
		h.store = destinations.NewMemoryStore()
	}
	if len(h.cfgs) == 0 {
		h.cfgs = []destinations.Config{{ID: "rec", Name: "Recorder", Type: "recorder", Enabled: true}}
	}
	opts.Clock = h.clock
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.OnAttempt = func(d destinations.Delivery) { h.attempts <- d }
	if opts.Backoff == nil {
		opts.Backoff = func(n int) time.Duration { return time.Duration(n) * time.Minute }
	}
	h.d = destinations.NewDispatcher(h.store, h.configs, func(destinations.Config) (destinations.Destination, error) { return h.rec, nil }, opts)
	t.Cleanup(h.d.Stop)
	return h
}

func (h *harness) configs() []destinations.Config {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]destinations.Config(nil), h.cfgs...)
}

func (h *harness) setConfigs(cfgs ...destinations.Config) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cfgs = cfgs
}

// next waits for the next recorded attempt. The timeout only keeps a broken
// dispatcher from hanging the test; it does not synchronise anything.
func (h *harness) next() destinations.Delivery {
	h.t.Helper()
	select {
	case d := <-h.attempts:
		return d
	case <-time.After(10 * time.Second):
		h.t.Fatal("no delivery attempt")
		return destinations.Delivery{}
	}
}

func (h *harness) enqueue(a destinations.Alert) {
	h.t.Helper()
	if err := h.d.Enqueue(context.Background(), a); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) stored(alertID string) []destinations.Delivery {
	h.t.Helper()
	ds, err := h.store.ListDeliveries(context.Background(), alertID)
	if err != nil {
		h.t.Fatal(err)
	}
	return ds
}

func TestDispatcherDelivers(t *testing.T) {
	h := newHarness(t, destinations.DispatcherOptions{}, nil,
		destinations.Config{ID: "a", Name: "A", Enabled: true},
		destinations.Config{ID: "b", Name: "B", Enabled: true, Severities: []string{"CRITICAL"}},
		destinations.Config{ID: "c", Name: "C", Enabled: true})
	a := sampleAlert()
	h.enqueue(a) // before Start: waits in the queue
	if ds := h.stored(a.ID); len(ds) != 2 || ds[0].Status != destinations.StatusPending || ds[0].DestinationID != "a" || ds[1].DestinationID != "c" {
		t.Fatalf("after Enqueue: %+v", ds)
	}
	h.d.Start(context.Background())
	got := map[string]bool{}
	for range 2 {
		d := h.next()
		got[d.DestinationID] = true
		if d.Status != destinations.StatusDelivered || d.Attempts != 1 || len(d.History) != 1 || d.History[0].Error != "" {
			t.Errorf("delivery %+v", d)
		}
	}
	if !got["a"] || !got["c"] {
		t.Errorf("delivered to %v", got)
	}
	for _, d := range h.stored(a.ID) {
		if d.Status != destinations.StatusDelivered || d.Alert.Title != a.Title || d.History[0].At != t0 {
			t.Errorf("stored %+v", d)
		}
	}
	c := <-h.rec.Calls
	if c.Alert.ID != a.ID || string(c.Alert.AlertContext) != string(a.AlertContext) {
		t.Errorf("destination got %+v", c.Alert)
	}
}

func TestDispatcherEnqueueSkipAndStoreErrors(t *testing.T) {
	h := newHarness(t, destinations.DispatcherOptions{}, nil)
	a := sampleAlert()
	a.Destinations = []string{"SKIP"}
	h.enqueue(a)
	if ds := h.stored(""); len(ds) != 0 {
		t.Errorf("SKIP recorded deliveries: %+v", ds)
	}

	broken := destinations.NewDispatcher(failingStore{destinations.NewMemoryStore()}, h.configs,
		func(destinations.Config) (destinations.Destination, error) { return h.rec, nil }, destinations.DispatcherOptions{})
	if err := broken.Enqueue(context.Background(), sampleAlert()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("store failure: %v", err)
	}
}

type failingStore struct{ *destinations.MemoryStore }

func (failingStore) AddDelivery(context.Context, destinations.Delivery) (int64, error) {
	return 0, errors.New("disk full")
}

func TestDispatcherRetriesWithBackoff(t *testing.T) {
	h := newHarness(t, destinations.DispatcherOptions{}, nil)
	h.rec.Fail(errTransient, errTransient)
	h.d.Start(context.Background())
	a := sampleAlert()
	h.enqueue(a)

	d := h.next()
	if d.Status != destinations.StatusPending || d.Attempts != 1 || d.LastError != "connection reset" || !d.NextAttempt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after 1st failure: %+v", d)
	}
	if s := h.stored(a.ID)[0]; s.Attempts != 1 || !s.NextAttempt.Equal(d.NextAttempt) {
		t.Fatalf("store not updated: %+v", s)
	}
	h.clock.Advance(time.Minute)
	d = h.next()
	if d.Status != destinations.StatusPending || d.Attempts != 2 || !d.NextAttempt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("after 2nd failure: %+v", d)
	}
	h.clock.Advance(2 * time.Minute)
	d = h.next()
	if d.Status != destinations.StatusDelivered || d.Attempts != 3 || d.LastError != "" {
		t.Fatalf("after success: %+v", d)
	}
	// Each attempt ran when its backoff had passed on the clock, not earlier.
	wantAt := []time.Time{t0, t0.Add(time.Minute), t0.Add(3 * time.Minute)}
	for i, at := range d.History {
		if !at.At.Equal(wantAt[i]) {
			t.Errorf("attempt %d at %v, want %v", i+1, at.At, wantAt[i])
		}
	}
	if d.History[0].Error != "connection reset" || d.History[2].Error != "" {
		t.Errorf("history %+v", d.History)
	}
}

func TestDispatcherHonoursRetryAfter(t *testing.T) {
	h := newHarness(t, destinations.DispatcherOptions{}, nil)
	h.rec.Fail(destinations.RetryAfter(&destinations.HTTPError{StatusCode: 429}, 90*time.Second))
	h.d.Start(context.Background())
	h.enqueue(sampleAlert())
	d := h.next()
	if !d.NextAttempt.Equal(t0.Add(90*time.Second)) || d.History[0].StatusCode != 429 {
		t.Fatalf("Retry-After 90s ignored (backoff would say 1m): %+v", d)
	}
	h.clock.Advance(90 * time.Second)
	if d = h.next(); d.Status != destinations.StatusDelivered || !d.History[1].At.Equal(t0.Add(90*time.Second)) {
		t.Fatalf("%+v", d)
	}
}

func TestDispatcherPermanentNotRetried(t *testing.T) {
	h := newHarness(t, destinations.DispatcherOptions{}, nil)
	h.rec.Fail(destinations.Permanent(&destinations.HTTPError{StatusCode: 400, Body: "invalid_payload"}))
	h.d.Start(context.Background())
	h.enqueue(sampleAlert())
	d := h.next()
	if d.Status != destinations.StatusFailed || d.Attempts != 1 || d.LastError != "HTTP 400: invalid_payload" {
		t.Fatalf("%+v", d)
	}
	if p, _ := h.store.PendingDeliveries(context.Background()); len(p) != 0 {
		t.Errorf("still pending: %+v", p)
	}
}

func TestDispatcherGivesUp(t *testing.T) {
	t.Run("max attempts", func(t *testing.T) {
		h := newHarness(t, destinations.DispatcherOptions{MaxAttempts: 3}, nil)
		h.rec.Fail(errTransient, errTransient, errTransient, errTransient)
		h.d.Start(context.Background())
		h.enqueue(sampleAlert())
		h.next()
		h.clock.Advance(time.Minute)
		h.next()
		h.clock.Advance(2 * time.Minute)
		d := h.next()
		if d.Status != destinations.StatusFailed || d.Attempts != 3 || !strings.HasPrefix(d.LastError, "gave up after 3 attempts: connection reset") {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("max elapsed", func(t *testing.T) {
		h := newHarness(t, destinations.DispatcherOptions{MaxElapsed: 2 * time.Minute}, nil)
		h.rec.Fail(errTransient, errTransient)
		h.d.Start(context.Background())
		h.enqueue(sampleAlert())
		h.next() // next at +1m: within 2m
		h.clock.Advance(time.Minute)
		d := h.next() // next would be +3m: past the limit
		if d.Status != destinations.StatusFailed || d.Attempts != 2 || !strings.Contains(d.LastError, "would pass the 2m0s limit") {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("Retry-After past max elapsed", func(t *testing.T) {
		h := newHarness(t, destinations.DispatcherOptions{MaxElapsed: time.Hour}, nil)
		h.rec.Fail(destinations.RetryAfter(errTransient, 2*time.Hour))
		h.d.Start(context.Background())
		h.enqueue(sampleAlert())
		if d := h.next(); d.Status != destinations.StatusFailed {
			t.Fatalf("%+v", d)
		}
	})
}

func TestDispatcherResumesAfterRestart(t *testing.T) {
	store := destinations.NewMemoryStore()
	// A delivery recorded just before a crash, never attempted.
	crashed := sampleAlert()
	crashed.ID = "crashed"
	if _, err := store.AddDelivery(context.Background(), destinations.Delivery{AlertID: "crashed", DestinationID: "rec",
		Status: destinations.StatusPending, NextAttempt: t0.Add(-time.Hour), CreatedAt: t0.Add(-time.Hour), Alert: crashed}); err != nil {
		t.Fatal(err)
	}

	// First run: the crashed delivery goes out; a new alert fails once.
	h1 := newHarness(t, destinations.DispatcherOptions{}, store)
	h1.rec.Fail(nil, errTransient) // crashed is due first
	h1.d.Start(context.Background())
	if d := h1.next(); d.AlertID != "crashed" || d.Status != destinations.StatusDelivered {
		t.Fatalf("crashed delivery not resumed: %+v", d)
	}
	h1.enqueue(sampleAlert())
	if d := h1.next(); d.Status != destinations.StatusPending {
		t.Fatalf("%+v", d)
	}
	h1.d.Stop()

	// Second run, same store: the retry is resumed and keeps its count.
	h2 := newHarness(t, destinations.DispatcherOptions{}, store)
	h2.d.Start(context.Background())
	h2.clock.Advance(time.Minute)
	d := h2.next()
	if d.AlertID != sampleAlert().ID || d.Status != destinations.StatusDelivered || d.Attempts != 2 || len(d.History) != 2 {
		t.Fatalf("after restart: %+v", d)
	}
	if c := <-h2.rec.Calls; c.Alert.Title != sampleAlert().Title {
		t.Errorf("resumed alert %+v", c.Alert)
	}
}

func TestDispatcherStopDoesNotCountInterruptedAttempt(t *testing.T) {
	h := newHarness(t, destinations.DispatcherOptions{}, nil)
	h.rec.Hold()
	h.d.Start(context.Background())
	h.enqueue(sampleAlert())
	<-h.rec.Started()
	h.d.Stop()
	ds := h.stored("")
	if len(ds) != 1 || ds[0].Status != destinations.StatusPending || ds[0].Attempts != 0 || len(ds[0].History) != 0 {
		t.Fatalf("after Stop: %+v", ds)
	}
	select {
	case d := <-h.attempts:
		t.Errorf("interrupted attempt recorded: %+v", d)
	default:
	}
}

func TestDispatcherBoundsConcurrency(t *testing.T) {
	h := newHarness(t, destinations.DispatcherOptions{Workers: 2}, nil)
	h.rec.Hold()
	h.d.Start(context.Background())
	for i := range 6 {
		a := sampleAlert()
		a.ID = fmt.Sprint("alert-", i)
		h.enqueue(a)
	}
	<-h.rec.Started()
	<-h.rec.Started()
	h.rec.Release()
	for range 6 {
		if d := h.next(); d.Status != destinations.StatusDelivered {
			t.Errorf("%+v", d)
		}
	}
	if n := h.rec.MaxInFlight(); n != 2 {
		t.Errorf("max in flight %d, want 2", n)
	}
}

func TestDispatcherDestinationChangedAfterEnqueue(t *testing.T) {
	h := newHarness(t, destinations.DispatcherOptions{}, nil,
		destinations.Config{ID: "x", Name: "X", Enabled: true}, destinations.Config{ID: "y", Name: "Y", Enabled: true})
	h.enqueue(sampleAlert())
	h.setConfigs(destinations.Config{ID: "x", Name: "X", Enabled: false}) // x disabled, y deleted
	h.d.Start(context.Background())
	errs := map[string]string{}
	for range 2 {
		d := h.next()
		if d.Status != destinations.StatusFailed {
			t.Errorf("%+v", d)
		}
		errs[d.DestinationID] = d.LastError
	}
	if errs["x"] != `destination "X" is disabled` || errs["y"] != "destination y no longer exists" {
		t.Errorf("errors %q", errs)
	}
}

func TestDispatcherBuildAndPanicErrors(t *testing.T) {
	store := destinations.NewMemoryStore()
	clock := destinationstest.NewClock(t0)
	attempts := make(chan destinations.Delivery, 10)
	var buildErr error
	var mu sync.Mutex
	cfgs := func() []destinations.Config {
		return []destinations.Config{{ID: "p", Name: "P", Enabled: true, Severities: []string{"HIGH"}},
			{ID: "q", Name: "Q", Enabled: true, Severities: []string{"LOW"}}}
	}
	d := destinations.NewDispatcher(store, cfgs, func(c destinations.Config) (destinations.Destination, error) {
		mu.Lock()
		defer mu.Unlock()
		if c.ID == "q" {
			return panicky{}, nil
		}
		return nil, buildErr
	}, destinations.DispatcherOptions{Clock: clock, Logger: slog.New(slog.DiscardHandler),
		OnAttempt: func(d destinations.Delivery) { attempts <- d }})
	t.Cleanup(d.Stop)
	d.Start(context.Background())

	a := sampleAlert()
	mu.Lock()
	buildErr = errors.New("reading secret: database is locked") // transient
	mu.Unlock()
	_ = d.Enqueue(context.Background(), a)
	if got := <-attempts; got.Status != destinations.StatusPending || !strings.Contains(got.LastError, "database is locked") {
		t.Errorf("transient build error: %+v", got)
	}
	mu.Lock()
	buildErr = &destinations.ConfigError{Type: "slack", Fields: []destinations.FieldError{{Field: "webhook_url", Message: "is required"}}}
	mu.Unlock()
	a.ID = "a2"
	_ = d.Enqueue(context.Background(), a)
	if got := <-attempts; got.AlertID != "a2" || got.Status != destinations.StatusFailed {
		t.Errorf("config error: %+v", got)
	}
	a.ID, a.Severity = "a3", "LOW"
	_ = d.Enqueue(context.Background(), a)
	if got := <-attempts; got.Status != destinations.StatusFailed || !strings.Contains(got.LastError, "panicked: boom") {
		t.Errorf("panic: %+v", got)
	}
}

type panicky struct{}

func (panicky) Send(context.Context, destinations.Alert) error { panic("boom") }

// TestDispatcherOverHTTP runs real webhook deliveries through the dispatcher:
// a 429 with Retry-After, then success.
func TestDispatcherOverHTTP(t *testing.T) {
	srv, reqs := receiver(t, func(w http.ResponseWriter, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	cfg := destinations.Config{ID: "wh", Name: "Hook", Type: "webhook", Enabled: true,
		Settings: json.RawMessage(fmt.Sprintf(`{"url":%q}`, srv.URL))}
	clock := destinationstest.NewClock(t0)
	attempts := make(chan destinations.Delivery, 10)
	d := destinations.NewDispatcher(destinations.NewMemoryStore(), func() []destinations.Config { return []destinations.Config{cfg} },
		func(c destinations.Config) (destinations.Destination, error) {
			return destinations.New(c, secrets(nil))
		},
		destinations.DispatcherOptions{Clock: clock, Logger: slog.New(slog.DiscardHandler), OnAttempt: func(d destinations.Delivery) { attempts <- d }})
	t.Cleanup(d.Stop)
	d.Start(context.Background())
	if err := d.Enqueue(context.Background(), sampleAlert()); err != nil {
		t.Fatal(err)
	}
	first := <-attempts
	if first.Status != destinations.StatusPending || first.History[0].StatusCode != 429 || !first.NextAttempt.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("after 429: %+v", first)
	}
	clock.Advance(30 * time.Second)
	if second := <-attempts; second.Status != destinations.StatusDelivered {
		t.Fatalf("%+v", second)
	}
	if len(reqs) != 2 {
		t.Errorf("%d requests, want 2", len(reqs))
	}
}

func TestDispatcherTestAction(t *testing.T) {
	srv, reqs := receiver(t, nil)
	store := destinations.NewMemoryStore()
	d := destinations.NewDispatcher(store, func() []destinations.Config { return nil },
		func(c destinations.Config) (destinations.Destination, error) {
			return destinations.New(c, secrets(nil))
		},
		destinations.DispatcherOptions{ConsoleURL: "https://prowl.example.com", Logger: slog.New(slog.DiscardHandler)})
	// Not saved, not enabled, not started: Test still sends, synchronously.
	cfg := destinations.Config{ID: "new", Name: "New hook", Type: "webhook", Settings: json.RawMessage(fmt.Sprintf(`{"url":%q}`, srv.URL))}
	if err := d.Test(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	p := decode(t, (<-reqs).Body)
	if p["test"] != true || p["type"] != "SYSTEM" || p["severity"] != "INFO" || !strings.HasPrefix(p["id"].(string), "test-") ||
		p["link"] != "https://prowl.example.com" || path(t, p, "alert_context", "destination") != "New hook" {
		t.Errorf("test alert %v", p)
	}
	if ds, _ := store.ListDeliveries(context.Background(), ""); len(ds) != 0 {
		t.Errorf("Test recorded deliveries: %+v", ds)
	}

	failing, _ := receiver(t, func(w http.ResponseWriter, _ int) { w.WriteHeader(500) })
	cfg.Settings = json.RawMessage(fmt.Sprintf(`{"url":%q}`, failing.URL))
	if err := d.Test(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), `test alert to "New hook": HTTP 500`) {
		t.Errorf("failing endpoint: %v", err)
	}
	cfg.Settings = json.RawMessage(`{}`)
	if err := d.Test(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "url: is required") {
		t.Errorf("bad config: %v", err)
	}
}

func TestExponentialBackoff(t *testing.T) {
	b := destinations.ExponentialBackoff(2*time.Second, 5*time.Minute)
	for n := 1; n <= 20; n++ {
		base := min(2*time.Second<<(n-1), 5*time.Minute)
		for range 50 {
			if d := b(n); d < base/2 || d > base {
				t.Fatalf("attempt %d: %v outside [%v, %v]", n, d, base/2, base)
			}
		}
	}
}
