package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/prowl-siem/prowl/internal/destinations"
)

// The deliveries table (migration 2) is the dispatcher's durable queue and
// delivery log: one row per alert and destination, with every attempt.

var _ destinations.Store = (*Store)(nil)

// storedAlert is how a delivery's alert is kept: destinations.Alert as
// encoding/json writes it (so fields added later are kept too), except its
// alert context. encoding/json would compact and re-escape a RawMessage
// (and refuse an empty or invalid one); the context is kept byte for byte
// instead, as a string when it is valid UTF-8.
type storedAlert struct {
	destinations.Alert
	// AlertContext shadows the embedded field. nil: the context was nil.
	AlertContext *string `json:"AlertContext,omitempty"`
	// AlertContextBytes holds a context that is not valid UTF-8.
	AlertContextBytes []byte `json:",omitempty"`
}

func encodeDeliveryAlert(a destinations.Alert) (string, error) {
	sa := storedAlert{Alert: a}
	sa.Alert.AlertContext = nil
	switch {
	case a.AlertContext == nil:
	case utf8.Valid(a.AlertContext):
		s := string(a.AlertContext)
		sa.AlertContext = &s
	default:
		sa.AlertContextBytes = a.AlertContext
	}
	b, err := json.Marshal(sa)
	return string(b), err
}

func decodeDeliveryAlert(s string) (destinations.Alert, error) {
	var sa storedAlert
	if err := json.Unmarshal([]byte(s), &sa); err != nil {
		return destinations.Alert{}, err
	}
	a := sa.Alert
	switch {
	case sa.AlertContext != nil:
		a.AlertContext = json.RawMessage(*sa.AlertContext)
	case sa.AlertContextBytes != nil:
		a.AlertContext = json.RawMessage(sa.AlertContextBytes)
	}
	return a, nil
}

// deliveryArgs are d's columns after id, in the order of deliveryCols.
func deliveryArgs(d *destinations.Delivery) ([]any, error) {
	alert, err := encodeDeliveryAlert(d.Alert)
	if err != nil {
		return nil, fmt.Errorf("encoding alert: %w", err)
	}
	history, err := json.Marshal(d.History)
	if err != nil {
		return nil, fmt.Errorf("encoding history: %w", err)
	}
	return []any{d.AlertID, d.DestinationID, d.Attempts, d.Status, d.LastError, toNanos(d.NextAttempt),
		toNanos(d.CreatedAt), toNanos(d.UpdatedAt), alert, string(history)}, nil
}

const deliveryCols = `alert_id, destination_id, attempts, status, last_error, next_attempt, created_at, updated_at, alert, history`

// AddDelivery implements destinations.Store: it records d (ignoring d.ID)
// and returns its new ID.
func (s *Store) AddDelivery(ctx context.Context, d destinations.Delivery) (int64, error) {
	args, err := deliveryArgs(&d)
	if err != nil {
		return 0, fmt.Errorf("store: recording delivery of alert %s: %w", d.AlertID, err)
	}
	var id int64
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err = s.db.QueryRowContext(ctx, `INSERT INTO deliveries (`+deliveryCols+`) VALUES (`+placeholders(10)+`) RETURNING id`,
		args...).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: recording delivery of alert %s: %w", d.AlertID, err)
	}
	return id, nil
}

// UpdateDelivery implements destinations.Store: it replaces the delivery
// with d.ID. An unknown ID is destinations.ErrNoDelivery.
func (s *Store) UpdateDelivery(ctx context.Context, d destinations.Delivery) error {
	args, err := deliveryArgs(&d)
	if err != nil {
		return fmt.Errorf("store: updating delivery %d: %w", d.ID, err)
	}
	res, err := s.exec(ctx, `
UPDATE deliveries SET alert_id = ?, destination_id = ?, attempts = ?, status = ?, last_error = ?, next_attempt = ?,
	created_at = ?, updated_at = ?, alert = ?, history = ?
WHERE id = ?`, append(args, d.ID)...)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = destinations.ErrNoDelivery
		}
	}
	if err != nil {
		return fmt.Errorf("store: updating delivery %d: %w", d.ID, err)
	}
	return nil
}

// PendingDeliveries implements destinations.Store: the deliveries still
// pending, by next attempt then ID.
func (s *Store) PendingDeliveries(ctx context.Context) ([]destinations.Delivery, error) {
	out, err := s.listDeliveries(ctx, `WHERE status = 'pending' ORDER BY next_attempt, id`)
	if err != nil {
		return nil, fmt.Errorf("store: reading pending deliveries: %w", err)
	}
	return out, nil
}

// ListDeliveries implements destinations.Store: the deliveries of one alert
// ("" lists all), oldest first.
func (s *Store) ListDeliveries(ctx context.Context, alertID string) ([]destinations.Delivery, error) {
	var (
		out []destinations.Delivery
		err error
	)
	if alertID == "" {
		out, err = s.listDeliveries(ctx, `ORDER BY id`)
	} else {
		out, err = s.listDeliveries(ctx, `WHERE alert_id = ? ORDER BY id`, alertID)
	}
	if err != nil {
		return nil, fmt.Errorf("store: listing deliveries: %w", err)
	}
	return out, nil
}

func (s *Store) listDeliveries(ctx context.Context, tail string, args ...any) ([]destinations.Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, `+deliveryCols+` FROM deliveries `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []destinations.Delivery
	for rows.Next() {
		var (
			d                      destinations.Delivery
			next, created, updated sql.NullInt64
			alert, history         string
		)
		if err := rows.Scan(&d.ID, &d.AlertID, &d.DestinationID, &d.Attempts, &d.Status, &d.LastError,
			&next, &created, &updated, &alert, &history); err != nil {
			return nil, err
		}
		d.NextAttempt, d.CreatedAt, d.UpdatedAt = fromNanos(next), fromNanos(created), fromNanos(updated)
		if d.Alert, err = decodeDeliveryAlert(alert); err != nil {
			return nil, fmt.Errorf("delivery %d: alert: %w", d.ID, err)
		}
		if err := json.Unmarshal([]byte(history), &d.History); err != nil {
			return nil, fmt.Errorf("delivery %d: history: %w", d.ID, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
