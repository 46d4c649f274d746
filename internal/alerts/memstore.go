package alerts

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
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

// LoadOffset implements Store.
func (s *MemoryStore) LoadOffset(_ context.Context, consumer string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offsets[consumer], nil
}

// ListAlerts implements Triage.
func (s *MemoryStore) ListAlerts(_ context.Context, q Query) (Page, error) {
	if err := q.Normalize(); err != nil {
		return Page{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []Alert
	for _, id := range s.order {
		if a := s.alerts[id]; q.Matches(a) {
			all = append(all, *a)
		}
	}
	key, desc := strings.TrimPrefix(q.Sort, "-"), strings.HasPrefix(q.Sort, "-")
	slices.SortStableFunc(all, func(a, b Alert) int {
		var c int
		switch key {
		case "updated_at":
			c = a.UpdatedAt.Compare(b.UpdatedAt)
		case "severity":
			c = SeverityRank(a.Severity) - SeverityRank(b.Severity)
		case "event_count":
			c = a.EventCount - b.EventCount
		default:
			c = a.CreatedAt.Compare(b.CreatedAt)
		}
		if desc {
			c = -c
		}
		return c
	})
	page := Page{Total: len(all), Offset: q.Offset, Limit: q.Limit}
	if q.Offset < len(all) {
		page.Alerts = all[q.Offset:min(len(all), q.Offset+q.Limit)]
	}
	return page, nil
}

// GetAlert implements Triage.
func (s *MemoryStore) GetAlert(_ context.Context, id string) (Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alerts[id]
	if a == nil {
		return Alert{}, ErrNotFound
	}
	return *a, nil
}

// AlertEvents implements Triage.
func (s *MemoryStore) AlertEvents(_ context.Context, id string, limit int) ([]AlertEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alerts[id] == nil {
		return nil, ErrNotFound
	}
	ev := s.events[id]
	return slices.Clone(ev[:min(len(ev), max(limit, 0))]), nil
}

// UpdateAlerts implements Triage: all IDs must exist, or nothing changes.
func (s *MemoryStore) UpdateAlerts(_ context.Context, ids []string, p Patch, now time.Time) error {
	if err := p.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if s.alerts[id] == nil {
			return ErrNotFound
		}
	}
	for _, id := range ids {
		a := s.alerts[id]
		if p.Status != nil {
			a.Status = *p.Status
		}
		if p.Assignee != nil {
			a.Assignee = *p.Assignee
		}
		a.UpdatedAt = now
	}
	return nil
}

// AddComment implements Triage.
func (s *MemoryStore) AddComment(_ context.Context, id string, c Comment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alerts[id]
	if a == nil {
		return ErrNotFound
	}
	a.Comments = append(a.Comments, c)
	return nil
}

var _ Triage = (*MemoryStore)(nil)
var _ Store = (*MemoryStore)(nil)
