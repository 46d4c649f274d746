package destinations

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Delivery statuses.
const (
	StatusPending   = "pending"   // waiting for its next attempt
	StatusDelivered = "delivered" // the destination accepted it
	StatusFailed    = "failed"    // given up: permanent error, or retries exhausted
)

// Delivery is the delivery of one alert to one destination: a job while
// pending, a record afterwards.
type Delivery struct {
	ID            int64 // assigned by Store.AddDelivery
	AlertID       string
	DestinationID string
	Attempts      int    // attempts made so far
	Status        string // StatusPending, StatusDelivered or StatusFailed
	LastError     string // the latest attempt's error, "" after success
	NextAttempt   time.Time
	CreatedAt     time.Time // when it was enqueued; MaxElapsed counts from here
	UpdatedAt     time.Time
	// History has one entry per attempt, oldest first.
	History []Attempt
	// Alert is the alert as enqueued, so a restart can deliver it unchanged.
	Alert Alert
}

// Attempt records one try at a delivery.
type Attempt struct {
	At         time.Time     `json:"at"`
	Duration   time.Duration `json:"duration"`
	Error      string        `json:"error,omitempty"`       // "" on success
	StatusCode int           `json:"status_code,omitempty"` // the HTTP status of an HTTP failure, else 0
}

// Clone returns a deep copy of d.
func (d Delivery) Clone() Delivery {
	d.History = slices.Clone(d.History)
	d.Alert = d.Alert.Clone()
	return d
}

// Store persists deliveries so that no alert is lost to a crash and every
// attempt can be shown in the console. Implementations must be safe for
// concurrent use and must not keep references to the Delivery passed in
// (copy it).
type Store interface {
	// AddDelivery records a new delivery and returns its ID (> 0).
	AddDelivery(ctx context.Context, d Delivery) (int64, error)
	// UpdateDelivery replaces the delivery with d.ID.
	UpdateDelivery(ctx context.Context, d Delivery) error
	// PendingDeliveries returns every delivery with StatusPending, for the
	// dispatcher to resume after a restart.
	PendingDeliveries(ctx context.Context) ([]Delivery, error)
	// ListDeliveries returns the deliveries of one alert ("" lists all),
	// oldest first.
	ListDeliveries(ctx context.Context, alertID string) ([]Delivery, error)
}

// ErrNoDelivery is returned by MemoryStore.UpdateDelivery for an unknown ID.
var ErrNoDelivery = errors.New("no such delivery")

// MemoryStore is a Store in memory, for tests and for running without a
// database. Its zero value is not usable; call NewMemoryStore.
type MemoryStore struct {
	mu     sync.Mutex
	nextID int64
	rows   map[int64]Delivery
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{rows: map[int64]Delivery{}}
}

// AddDelivery implements Store.
func (m *MemoryStore) AddDelivery(_ context.Context, d Delivery) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	d = d.Clone()
	d.ID = m.nextID
	m.rows[d.ID] = d
	return d.ID, nil
}

// UpdateDelivery implements Store.
func (m *MemoryStore) UpdateDelivery(_ context.Context, d Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rows[d.ID]; !ok {
		return fmt.Errorf("updating delivery %d: %w", d.ID, ErrNoDelivery)
	}
	m.rows[d.ID] = d.Clone()
	return nil
}

// PendingDeliveries implements Store, ordered by NextAttempt then ID.
func (m *MemoryStore) PendingDeliveries(_ context.Context) ([]Delivery, error) {
	out := m.list(func(d Delivery) bool { return d.Status == StatusPending })
	slices.SortStableFunc(out, func(a, b Delivery) int { return a.NextAttempt.Compare(b.NextAttempt) })
	return out, nil
}

// ListDeliveries implements Store.
func (m *MemoryStore) ListDeliveries(_ context.Context, alertID string) ([]Delivery, error) {
	return m.list(func(d Delivery) bool { return alertID == "" || d.AlertID == alertID }), nil
}

func (m *MemoryStore) list(keep func(Delivery) bool) []Delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Delivery
	for _, d := range m.rows {
		if keep(d) {
			out = append(out, d.Clone())
		}
	}
	slices.SortFunc(out, func(a, b Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

var _ Store = (*MemoryStore)(nil)
