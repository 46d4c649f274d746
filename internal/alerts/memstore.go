package alerts

import (
	"context"
	"slices"
	"sync"
)

// MemoryStore keeps windows, alerts and events in memory: for tests and
// for running without a control-plane database.
type MemoryStore struct {
	mu      sync.Mutex
	windows map[string]Window
	alerts  map[string]*Alert
	order   []string
	events  map[string][]AlertEvent
	offsets map[string]uint64
	// Fail, when set, makes the next Commit fail with it (then it clears).
	Fail error
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{windows: map[string]Window{}, alerts: map[string]*Alert{}, events: map[string][]AlertEvent{}, offsets: map[string]uint64{}}
}

// LoadWindows implements Store.
func (s *MemoryStore) LoadWindows(context.Context) ([]Window, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Window, 0, len(s.windows))
	for _, w := range s.windows {
		out = append(out, cloneWindowValue(&w))
	}
	return out, nil
}

// Commit implements Store, all or nothing.
func (s *MemoryStore) Commit(_ context.Context, c *Commit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Fail; err != nil {
		s.Fail = nil
		return err
	}
	for _, w := range c.Windows {
		s.windows[w.Key] = cloneWindowValue(&w)
	}
	for _, a := range c.Created {
		if _, exists := s.alerts[a.ID]; exists {
			continue // a replay: the alert is already stored
		}
		a := a
		s.alerts[a.ID] = &a
		s.order = append(s.order, a.ID)
	}
	for _, u := range c.Updated {
		if a := s.alerts[u.ID]; a != nil {
			a.EventCount, a.LastEventAt, a.LogTypes, a.UpdatedAt = u.EventCount, u.LastEventAt, slices.Clone(u.LogTypes), u.UpdatedAt
		}
	}
	for _, e := range c.Events {
		s.events[e.AlertID] = append(s.events[e.AlertID], e)
	}
	if c.Offset != nil {
		s.offsets[c.Offset.Consumer] = c.Offset.Value
	}
	return nil
}

// Alerts returns the stored alerts in creation order.
func (s *MemoryStore) Alerts() []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Alert, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.alerts[id])
	}
	return out
}

// Events returns the events kept with an alert.
func (s *MemoryStore) Events(alertID string) []AlertEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events[alertID])
}

// Offset returns a consumer's committed offset.
func (s *MemoryStore) Offset(consumer string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offsets[consumer]
}
