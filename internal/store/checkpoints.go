package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// GetCheckpoint returns the source's opaque checkpoint, or nil (and no error)
// when it has none yet.
func (s *Store) GetCheckpoint(ctx context.Context, sourceID string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM checkpoints WHERE source_id = ?`, sourceID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading checkpoint of %q: %w", sourceID, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// PutCheckpoint durably replaces the source's checkpoint. A nil v deletes
// it, so the source starts over from its configured beginning.
func (s *Store) PutCheckpoint(ctx context.Context, sourceID string, v []byte) error {
	var err error
	if v == nil {
		_, err = s.exec(ctx, `DELETE FROM checkpoints WHERE source_id = ?`, sourceID)
	} else {
		_, err = s.exec(ctx, `
INSERT INTO checkpoints (source_id, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (source_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			sourceID, v, s.now().UnixNano())
	}
	if err != nil {
		return fmt.Errorf("store: saving checkpoint of %q: %w", sourceID, err)
	}
	return nil
}
