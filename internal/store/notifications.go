package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/prowl-siem/prowl/internal/alerts"
)

// PendingNotifications returns the alerts whose notification is pending,
// oldest first: Commit created them and NotificationsDone has not been
// called for them yet. The caller (the server, when it starts) hands them
// to the dispatcher; they are alerts whose process stopped between
// committing them and recording their deliveries.
func (s *Store) PendingNotifications(ctx context.Context) ([]alerts.Alert, error) {
	var out []alerts.Alert
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+alertCols+` FROM alerts
WHERE id IN (SELECT alert_id FROM alert_notifications) ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAlert(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: reading pending notifications: %w", err)
	}
	return out, nil
}

// NotificationsDone records that the alerts' deliveries have been recorded
// (or that they are routed nowhere): their notification is no longer
// pending. Unknown IDs are ignored.
func (s *Store) NotificationsDone(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM alert_notifications WHERE alert_id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: recording notifications: %w", err)
	}
	return nil
}
