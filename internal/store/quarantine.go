package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Quarantined is an event that could not be parsed or normalized. It is
// kept, raw, until someone fixes the schema and replays it or deletes it.
type Quarantined struct {
	ID         int64 // assigned by Quarantine
	SourceID   string
	LogType    string // the log type it was tried as; "" if none matched
	Reason     string // short, machine-friendly: "invalid JSON", "missing required field", ...
	Detail     string // human detail: the parser's message with its offset or field path
	Raw        []byte
	ReceivedAt time.Time // defaults to now
}

// Quarantine stores events atomically: all of them or none.
func (s *Store) Quarantine(ctx context.Context, events []Quarantined) error {
	if len(events) == 0 {
		return nil
	}
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `
INSERT INTO quarantine (source_id, log_type, reason, detail, raw, received_at) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("store: quarantining: %w", err)
		}
		defer stmt.Close()
		for _, q := range events {
			at := q.ReceivedAt
			if at.IsZero() {
				at = now
			}
			raw := q.Raw
			if raw == nil {
				raw = []byte{}
			}
			if _, err := stmt.ExecContext(ctx, q.SourceID, q.LogType, q.Reason, q.Detail, raw, at.UnixNano()); err != nil {
				return fmt.Errorf("store: quarantining event of %q: %w", q.SourceID, err)
			}
		}
		return nil
	})
}

// ListQuarantine pages through quarantined events, oldest first. An empty
// sourceID lists every source's. limit <= 0 means 100.
func (s *Store) ListQuarantine(ctx context.Context, sourceID string, limit, offset int) ([]Quarantined, error) {
	if limit <= 0 {
		limit = 100
	}
	if offset < 0 {
		offset = 0
	}
	rows, err := s.db.QueryContext(ctx, `
SELECT id, source_id, log_type, reason, detail, raw, received_at FROM quarantine
WHERE ?1 = '' OR source_id = ?1 ORDER BY id LIMIT ?2 OFFSET ?3`, sourceID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("store: listing quarantine: %w", err)
	}
	defer rows.Close()
	var out []Quarantined
	for rows.Next() {
		var (
			q  Quarantined
			at int64
		)
		if err := rows.Scan(&q.ID, &q.SourceID, &q.LogType, &q.Reason, &q.Detail, &q.Raw, &at); err != nil {
			return nil, fmt.Errorf("store: listing quarantine: %w", err)
		}
		q.ReceivedAt = time.Unix(0, at).UTC()
		out = append(out, q)
	}
	return out, rows.Err()
}

// CountQuarantine counts the quarantined events held for a source (all
// sources when sourceID is "").
func (s *Store) CountQuarantine(ctx context.Context, sourceID string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM quarantine WHERE ?1 = '' OR source_id = ?1`, sourceID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: counting quarantine: %w", err)
	}
	return n, nil
}

// DeleteQuarantine removes quarantined events by id (after a replay, or by
// an operator's decision). Ids that do not exist are ignored.
func (s *Store) DeleteQuarantine(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `DELETE FROM quarantine WHERE id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			if _, err := stmt.ExecContext(ctx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: deleting quarantined events: %w", err)
	}
	return nil
}
