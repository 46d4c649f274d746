// Package destinationstest has test doubles for the destinations package: a
// fake Clock that moves only when told, and a Recorder destination that
// records what it is sent and fails on request.
package destinationstest

import (
	"context"
	"sync"
	"time"

	"github.com/prowl-siem/prowl/internal/destinations"
)

// Clock is a fake destinations.Clock. Time stands still until Advance.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
}

type timer struct {
	at time.Time
	c  chan time.Time
}

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now implements destinations.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// TimerAt implements destinations.Clock. A timer whose deadline has come
// has fired already.
func (c *Clock) TimerAt(deadline time.Time) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{at: deadline, c: make(chan time.Time, 1)}
	if !deadline.After(c.now) {
		t.c <- c.now
		return t.c, func() bool { return false }
	}
	c.timers = append(c.timers, t)
	return t.c, func() bool { return c.stop(t) }
}

func (c *Clock) stop(t *timer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// Advance moves the clock forward by d and fires the timers now due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.c <- c.now
		} else {
			kept = append(kept, t)
		}
	}
	c.timers = kept
}

// Call is one Send the Recorder received.
type Call struct {
	Alert destinations.Alert
	Err   error // what Send returned
}

// Recorder is a destinations.Destination that records every Send on the
// Calls channel (buffered; tests receive from it to wait for an attempt).
type Recorder struct {
	// Calls receives each attempt after it completes.
	Calls chan Call

	mu       sync.Mutex
	errs     []error
	hold     chan struct{}
	inFlight int
	maxIn    int
	started  chan struct{}
}

// NewRecorder returns a Recorder whose Calls channel buffers 100 attempts.
func NewRecorder() *Recorder {
	return &Recorder{Calls: make(chan Call, 100), started: make(chan struct{}, 100)}
}

// Fail makes the next len(errs) attempts return errs in order (nil entries
// succeed); later attempts succeed.
func (r *Recorder) Fail(errs ...error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, errs...)
}

// Hold makes attempts block, after signalling Started, until Release or
// their context ends.
func (r *Recorder) Hold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold = make(chan struct{})
}

// Release lets held attempts finish.
func (r *Recorder) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold != nil {
		close(r.hold)
		r.hold = nil
	}
}

// Started receives once each time an attempt starts.
func (r *Recorder) Started() <-chan struct{} { return r.started }

// MaxInFlight is the most attempts that were running at once.
func (r *Recorder) MaxInFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxIn
}

// Send implements destinations.Destination.
func (r *Recorder) Send(ctx context.Context, a destinations.Alert) error {
	r.mu.Lock()
	r.inFlight++
	r.maxIn = max(r.maxIn, r.inFlight)
	hold := r.hold
	var err error
	if len(r.errs) > 0 {
		err, r.errs = r.errs[0], r.errs[1:]
	}
	r.mu.Unlock()
	r.started <- struct{}{}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
	r.Calls <- Call{Alert: a, Err: err}
	return err
}

var _ destinations.Destination = (*Recorder)(nil)
var _ destinations.Clock = (*Clock)(nil)
