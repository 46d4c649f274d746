// Package sourcestest has test doubles for the source contracts: a
// recording Sink that can be told to fail, an in-memory State and a fake
// Clock whose Sleep returns at once after moving time forward.
package sourcestest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prowl-siem/prowl/internal/sources/core"
)

// ErrInjected is the error Recorder.FailNext returns by default.
var ErrInjected = errors.New("sourcestest: injected sink failure")

// Recorder is a Sink that keeps a copy of every acknowledged batch.
type Recorder struct {
	mu       sync.Mutex
	batches  []core.Batch
	failures []error
	attempts int
	changed  chan struct{}
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{changed: make(chan struct{})} }

// Ingest records a copy of the batch, or returns the next queued failure
// (recording nothing, like a sink that acknowledged nothing).
func (r *Recorder) Ingest(ctx context.Context, b core.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if len(r.failures) > 0 {
		err := r.failures[0]
		r.failures = r.failures[1:]
		return err
	}
	cp := b
	cp.Records = make([][]byte, len(b.Records))
	for i, rec := range b.Records {
		cp.Records[i] = append([]byte(nil), rec...)
	}
	r.batches = append(r.batches, cp)
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// FailNext makes the next n Ingest calls fail with err (ErrInjected if nil).
func (r *Recorder) FailNext(n int, err error) {
	if err == nil {
		err = ErrInjected
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for range n {
		r.failures = append(r.failures, err)
	}
}

// Batches returns the acknowledged batches.
func (r *Recorder) Batches() []core.Batch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]core.Batch(nil), r.batches...)
}

// Records returns every acknowledged record, in order.
func (r *Recorder) Records() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	for _, b := range r.batches {
		out = append(out, b.Records...)
	}
	return out
}

// Len is the number of acknowledged records.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.batches {
		n += len(b.Records)
	}
	return n
}

// Attempts counts Ingest calls, failed ones included.
func (r *Recorder) Attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

// WaitFor blocks until at least n records were acknowledged, or fails
// after timeout (real time).
func (r *Recorder) WaitFor(n int, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		got, ch := 0, r.changed
		for _, b := range r.batches {
			got += len(b.Records)
		}
		r.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-deadline:
			return fmt.Errorf("sourcestest: %d records after %v, want %d", got, timeout, n)
		}
	}
}

// Discard is a Sink that acknowledges everything and keeps nothing, for
// benchmarks.
type Discard struct{}

// Ingest returns nil.
func (Discard) Ingest(context.Context, core.Batch) error { return nil }

// Health is what State accumulated for one source.
type Health struct {
	Events, Bytes, Quarantined int64
	LastEventAt                time.Time
	Polls                      int
	LastError                  string
	Errors                     []string // every non-empty message ever set, in order
}

// State is an in-memory core.State.
type State struct {
	mu          sync.Mutex
	checkpoints map[string][]byte
	health      map[string]*Health
	puts        int
	// FailPuts makes PutCheckpoint fail while positive, counting down.
	FailPuts int
}

// NewState returns an empty State.
func NewState() *State {
	return &State{checkpoints: map[string][]byte{}, health: map[string]*Health{}}
}

// GetCheckpoint implements core.State.
func (s *State) GetCheckpoint(_ context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.checkpoints[id]
	if !ok {
		return nil, nil
	}
	return append([]byte{}, v...), nil
}

// PutCheckpoint implements core.State.
func (s *State) PutCheckpoint(_ context.Context, id string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.FailPuts > 0 {
		s.FailPuts--
		return errors.New("sourcestest: injected checkpoint failure")
	}
	s.puts++
	if v == nil {
		delete(s.checkpoints, id)
	} else {
		s.checkpoints[id] = append([]byte{}, v...)
	}
	return nil
}

// CheckpointPuts counts successful PutCheckpoint calls.
func (s *State) CheckpointPuts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}

func (s *State) h(id string) *Health {
	h := s.health[id]
	if h == nil {
		h = &Health{}
		s.health[id] = h
	}
	return h
}

// AddHealth implements core.State.
func (s *State) AddHealth(_ context.Context, id string, events, bytes, quarantined int64, lastEvent time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.h(id)
	h.Events += events
	h.Bytes += bytes
	h.Quarantined += quarantined
	h.Polls++
	if lastEvent.After(h.LastEventAt) {
		h.LastEventAt = lastEvent
	}
	return nil
}

// SetSourceError implements core.State.
func (s *State) SetSourceError(_ context.Context, id, msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.h(id)
	h.LastError = msg
	if msg != "" {
		h.Errors = append(h.Errors, msg)
	}
	return nil
}

// Health returns a copy of what was recorded for a source.
func (s *State) Health(id string) Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := *s.h(id)
	h.Errors = append([]string(nil), h.Errors...)
	return h
}

// Clock is a fake core.Clock. Sleep moves its time forward by the requested
// duration and returns at once (after yielding briefly in real time, so a
// polling loop under test does not starve other goroutines).
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	// Yield is the real time each Sleep takes; default 200µs.
	Yield time.Duration
}

// NewClock returns a fake clock set to start.
func NewClock(start time.Time) *Clock { return &Clock{now: start, Yield: 200 * time.Microsecond} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the fake time forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sleep records d, advances the clock by it and returns ctx.Err().
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	y := c.Yield
	c.mu.Unlock()
	if y > 0 {
		t := time.NewTimer(y)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return ctx.Err()
}

// Sleeps returns every duration Sleep was asked for, in order.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

var (
	_ core.Sink  = (*Recorder)(nil)
	_ core.Sink  = Discard{}
	_ core.State = (*State)(nil)
	_ core.Clock = (*Clock)(nil)
)
