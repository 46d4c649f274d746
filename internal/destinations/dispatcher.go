package destinations

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"
)

// DispatcherOptions tune a Dispatcher. Zero values take the defaults.
type DispatcherOptions struct {
	Clock Clock // default RealClock
	// MaxAttempts is how many attempts a delivery gets, the first included
	// (default 10).
	MaxAttempts int
	// MaxElapsed is how long after enqueueing a delivery may still be
	// retried (default 1h). An attempt is never scheduled past it.
	MaxElapsed time.Duration
	// InitialBackoff and MaxBackoff bound the exponential backoff: after the
	// nth failed attempt the wait is about InitialBackoff·2ⁿ⁻¹, capped at
	// MaxBackoff, with jitter between half and all of it (defaults 2s, 5m).
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Backoff, when set, replaces the exponential backoff: it returns the
	// wait after the given number of failed attempts (1 after the first).
	Backoff func(failedAttempts int) time.Duration
	// Workers bounds the number of concurrent attempts (default 4).
	Workers int
	// Timeout bounds each attempt, on top of the type's own timeout
	// (default 30s).
	Timeout time.Duration
	Logger  *slog.Logger // default slog.Default()
	// OnAttempt, when set, is called after each attempt is recorded, with
	// the delivery as stored. It must not block: use it for metrics.
	OnAttempt func(Delivery)
	// ConsoleURL is the console's base URL, for the link of test alerts.
	ConsoleURL string
}

// Dispatcher delivers alerts: Enqueue records one Delivery per routed
// destination and returns; workers send them, retry transient failures with
// backoff and record every attempt. Deliveries still pending at Stop (or a
// crash) are resumed by the next Start from the Store.
//
// A Dispatcher runs once: Start after Stop does nothing.
type Dispatcher struct {
	store   Store
	configs func() []Config
	build   func(Config) (Destination, error)
	opts    DispatcherOptions
	clock   Clock
	log     *slog.Logger

	mu      sync.Mutex
	queue   deliveryQueue  // pending deliveries by NextAttempt
	tracked map[int64]bool // IDs queued or in flight
	wake    chan struct{}  // capacity 1: the queue changed
	state   int            // 0 new, 1 running, 2 stopped
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// NewDispatcher returns a dispatcher that reads deliveries from store,
// destinations from configs (called at each routing and attempt, so config
// changes apply at once) and builds them with build (typically a closure
// over New with the store's secrets).
func NewDispatcher(store Store, configs func() []Config, build func(Config) (Destination, error), opts DispatcherOptions) *Dispatcher {
	if opts.Clock == nil {
		opts.Clock = RealClock
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.MaxElapsed <= 0 {
		opts.MaxElapsed = time.Hour
	}
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = 2 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.Backoff == nil {
		opts.Backoff = ExponentialBackoff(opts.InitialBackoff, opts.MaxBackoff)
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Dispatcher{
		store: store, configs: configs, build: build, opts: opts,
		clock: opts.Clock, log: opts.Logger.With("component", "destinations"),
		tracked: map[int64]bool{}, wake: make(chan struct{}, 1),
	}
}

// ExponentialBackoff returns a backoff function: after n failed attempts it
// waits a random duration between half and all of initial·2ⁿ⁻¹, capped at
// maxWait ("equal jitter", so retries of many deliveries spread out while
// each wait still grows).
func ExponentialBackoff(initial, maxWait time.Duration) func(int) time.Duration {
	return func(n int) time.Duration {
		d := initial
		for i := 1; i < n && d < maxWait; i++ {
			d *= 2
		}
		d = min(d, maxWait)
		half := d / 2
		return half + mrand.N(d-half+1)
	}
}

// Start resumes pending deliveries from the store and starts the workers.
// It returns at once; the workers run until ctx is done or Stop.
func (d *Dispatcher) Start(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != 0 {
		return
	}
	d.state = 1
	ctx, d.cancel = context.WithCancel(ctx)
	work := make(chan Delivery)
	d.wg.Add(1 + d.opts.Workers)
	go func() {
		defer d.wg.Done()
		defer close(work)
		d.resume(ctx)
		d.schedule(ctx, work)
	}()
	for range d.opts.Workers {
		go func() {
			defer d.wg.Done()
			for job := range work {
				d.attempt(ctx, job)
			}
		}()
	}
}

// Stop stops the workers and waits for them. An attempt in flight is
// cancelled and stays pending in the store (it is not counted), so the next
// Start retries it: delivery is at least once.
func (d *Dispatcher) Stop() {
	d.mu.Lock()
	cancel := d.cancel
	d.state = 2
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	d.wg.Wait()
}

// resume queues the store's pending deliveries, retrying the read until it
// succeeds or ctx is done.
func (d *Dispatcher) resume(ctx context.Context) {
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		pending, err := d.store.PendingDeliveries(ctx)
		if err == nil {
			for _, p := range pending {
				d.push(p)
			}
			if len(pending) > 0 {
				d.log.Info("resuming pending deliveries", "count", len(pending))
			}
			return
		}
		d.log.Error("reading pending deliveries", "err", err, "retry_in", wait)
		c, stop := d.clock.TimerAt(d.clock.Now().Add(wait))
		select {
		case <-ctx.Done():
			stop()
			return
		case <-c:
		}
	}
}

// Enqueue routes a and records a pending delivery for each destination,
// then returns; the workers deliver them. It does not wait for any network.
// An error means some deliveries could not be recorded (the others were).
// Enqueue may be called before Start or after Stop: the deliveries wait in
// the store.
func (d *Dispatcher) Enqueue(ctx context.Context, a Alert) error {
	routes := route(a, d.configs(), d.log)
	if len(routes) == 0 {
		d.log.Debug("alert routed nowhere", "alert", a.ID, "rule", a.RuleID)
		return nil
	}
	a = a.Clone()
	now := d.clock.Now()
	var errs []error
	for _, cfg := range routes {
		del := Delivery{
			AlertID: a.ID, DestinationID: cfg.ID, Status: StatusPending,
			NextAttempt: now, CreatedAt: now, UpdatedAt: now, Alert: a,
		}
		id, err := d.store.AddDelivery(ctx, del)
		if err != nil {
			errs = append(errs, fmt.Errorf("recording delivery of alert %s to %s: %w", a.ID, cfg.Name, err))
			continue
		}
		del.ID = id
		d.push(del)
	}
	return errors.Join(errs...)
}

// push queues a pending delivery unless it is already queued or in flight.
func (d *Dispatcher) push(del Delivery) {
	d.mu.Lock()
	if d.tracked[del.ID] {
		d.mu.Unlock()
		return
	}
	d.tracked[del.ID] = true
	heap.Push(&d.queue, del)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// schedule hands due deliveries to the workers, in NextAttempt order.
func (d *Dispatcher) schedule(ctx context.Context, work chan<- Delivery) {
	for {
		d.mu.Lock()
		now := d.clock.Now()
		var job *Delivery
		var due time.Time // of the next delivery, when none is due now
		if len(d.queue) > 0 {
			if next := d.queue[0].NextAttempt; next.After(now) {
				due = next
			} else {
				j := heap.Pop(&d.queue).(Delivery)
				job = &j
			}
		}
		d.mu.Unlock()

		if job != nil {
			select {
			case work <- *job:
				continue
			case <-ctx.Done():
				return
			}
		}
		var timer <-chan time.Time
		stop := func() bool { return false }
		if !due.IsZero() {
			timer, stop = d.clock.TimerAt(due)
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case <-d.wake:
		case <-timer:
		}
		stop()
	}
}

// attempt makes one delivery attempt and records it.
func (d *Dispatcher) attempt(ctx context.Context, job Delivery) {
	start := d.clock.Now()
	err := d.sendOnce(ctx, job)
	if err != nil && ctx.Err() != nil {
		// Shutting down: not the destination's fault, so not an attempt.
		// The store still says pending; the next Start retries.
		d.log.Info("delivery attempt interrupted by shutdown", "delivery", job.ID, "alert", job.AlertID)
		d.untrack(job.ID)
		return
	}
	end := d.clock.Now()
	job.Attempts++
	job.UpdatedAt = end
	rec := Attempt{At: start, Duration: end.Sub(start)}
	log := d.log.With("delivery", job.ID, "alert", job.AlertID, "destination", job.DestinationID, "attempt", job.Attempts)
	switch {
	case err == nil:
		job.Status, job.LastError = StatusDelivered, ""
		log.Info("alert delivered")
	default:
		rec.Error, rec.StatusCode = truncate(err.Error(), 1000), StatusCode(err)
		job.LastError = rec.Error
		delay, hinted := RetryAfterOf(err)
		if !hinted {
			delay = d.opts.Backoff(job.Attempts)
		}
		next := end.Add(delay)
		deadline := job.CreatedAt.Add(d.opts.MaxElapsed)
		switch {
		case IsPermanent(err):
			job.Status = StatusFailed
			log.Warn("alert delivery failed permanently", "err", err)
		case job.Attempts >= d.opts.MaxAttempts:
			job.Status = StatusFailed
			job.LastError = fmt.Sprintf("gave up after %d attempts: %s", job.Attempts, rec.Error)
			log.Warn("alert delivery failed: attempts exhausted", "err", err)
		case next.After(deadline):
			job.Status = StatusFailed
			job.LastError = fmt.Sprintf("gave up after %d attempts: a retry in %s would pass the %s limit: %s",
				job.Attempts, delay.Round(time.Second), d.opts.MaxElapsed, rec.Error)
			log.Warn("alert delivery failed: retry deadline passed", "err", err)
		default:
			job.Status, job.NextAttempt = StatusPending, next
			log.Info("alert delivery failed; will retry", "err", err, "retry_in", delay, "retry_after_header", hinted)
		}
	}
	job.History = append(job.History, rec)

	// Record even while shutting down, so the attempt is not lost.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if uerr := d.store.UpdateDelivery(sctx, job); uerr != nil {
		log.Error("recording delivery attempt", "err", uerr)
	}
	cancel()

	d.mu.Lock()
	if job.Status == StatusPending {
		heap.Push(&d.queue, job)
	} else {
		delete(d.tracked, job.ID)
	}
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	if d.opts.OnAttempt != nil {
		d.opts.OnAttempt(job.Clone())
	}
}

func (d *Dispatcher) untrack(id int64) {
	d.mu.Lock()
	delete(d.tracked, id)
	d.mu.Unlock()
}

// sendOnce resolves the delivery's destination as configured now and sends.
func (d *Dispatcher) sendOnce(ctx context.Context, job Delivery) error {
	var cfg Config
	found := false
	for _, c := range d.configs() {
		if c.ID == job.DestinationID {
			cfg, found = c, true
			break
		}
	}
	switch {
	case !found:
		return Permanent(fmt.Errorf("destination %s no longer exists", job.DestinationID))
	case !cfg.Enabled:
		return Permanent(fmt.Errorf("destination %q is disabled", cfg.Name))
	}
	dest, err := d.build(cfg)
	if err != nil {
		return fmt.Errorf("building destination %q: %w", cfg.Name, err)
	}
	return d.send(ctx, dest, job.Alert)
}

// send runs one Send with the attempt timeout, turning a panic into a
// permanent error.
func (d *Dispatcher) send(ctx context.Context, dest Destination, a Alert) (err error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("destination panicked: %v", r))
		}
	}()
	return dest.Send(ctx, a)
}

// Test builds cfg (it need not be saved or enabled) and sends it a test
// alert once, synchronously: the console's "send a test alert" action.
// Nothing is recorded in the store.
func (d *Dispatcher) Test(ctx context.Context, cfg Config) error {
	dest, err := d.build(cfg)
	if err != nil {
		return err
	}
	if err := d.send(ctx, dest, NewTestAlert(cfg, d.clock.Now(), d.opts.ConsoleURL)); err != nil {
		return fmt.Errorf("test alert to %q: %w", cfg.Name, err)
	}
	return nil
}

// NewTestAlert returns the alert that Test sends: a SYSTEM alert of severity
// INFO with Test set, a fresh id, and link consoleURL (if any).
func NewTestAlert(cfg Config, now time.Time, consoleURL string) Alert {
	var b [8]byte
	_, _ = rand.Read(b[:])
	now = now.UTC().Truncate(time.Second)
	ctxJSON, _ := json.Marshal(map[string]string{"destination": cfg.Name, "note": "no action needed"})
	return Alert{
		ID:           "test-" + hex.EncodeToString(b[:]),
		RuleID:       "prowl.TestAlert",
		Type:         TypeSystem,
		Title:        "Test alert from prowl",
		Severity:     "INFO",
		Description:  fmt.Sprintf("A test alert sent to the destination %q to check that it works.", cfg.Name),
		Status:       "OPEN",
		CreatedAt:    now,
		UpdatedAt:    now,
		FirstEventAt: now,
		LastEventAt:  now,
		EventCount:   1,
		LogTypes:     []string{},
		AlertContext: ctxJSON,
		Link:         consoleURL,
		Test:         true,
	}
}

// deliveryQueue is a min-heap of deliveries by NextAttempt, then ID.
type deliveryQueue []Delivery

func (q deliveryQueue) Len() int { return len(q) }
func (q deliveryQueue) Less(i, j int) bool {
	if c := q[i].NextAttempt.Compare(q[j].NextAttempt); c != 0 {
		return c < 0
	}
	return q[i].ID < q[j].ID
}
func (q deliveryQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *deliveryQueue) Push(x any)   { *q = append(*q, x.(Delivery)) }
func (q *deliveryQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	old[len(old)-1] = Delivery{}
	*q = old[:len(old)-1]
	return x
}
