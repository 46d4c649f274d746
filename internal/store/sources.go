package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SourceRecord is a configured log source as the control plane keeps it.
// Config is the type-specific JSON object described by the source type's
// spec (internal/sources); secrets are kept apart, see PutSecret.
type SourceRecord struct {
	ID       string
	Label    string
	Type     string   // source type name, e.g. "okta", "http", "file"
	LogTypes []string // log types this source emits, e.g. ["Okta.SystemLog"]
	Config   json.RawMessage
	Enabled  bool

	CreatedAt time.Time // set by PutSource on first write
	UpdatedAt time.Time // set by PutSource on every write
}

// PutSource creates or replaces a source. CreatedAt is kept from the
// existing row, UpdatedAt is set to now.
func (s *Store) PutSource(ctx context.Context, rec SourceRecord) error {
	if rec.ID == "" {
		return errors.New("store: source id is empty")
	}
	if rec.Type == "" {
		return fmt.Errorf("store: source %q: type is empty", rec.ID)
	}
	cfg := rec.Config
	if len(cfg) == 0 {
		cfg = json.RawMessage("{}")
	}
	if !json.Valid(cfg) {
		return fmt.Errorf("store: source %q: config is not valid JSON", rec.ID)
	}
	logTypes := rec.LogTypes
	if logTypes == nil {
		logTypes = []string{}
	}
	lt, err := json.Marshal(logTypes)
	if err != nil {
		return err
	}
	now := s.now()
	created := rec.CreatedAt
	if created.IsZero() {
		created = now
	}
	_, err = s.exec(ctx, `
INSERT INTO sources (id, label, type, log_types, config, enabled, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
	label = excluded.label, type = excluded.type, log_types = excluded.log_types,
	config = excluded.config, enabled = excluded.enabled, updated_at = excluded.updated_at`,
		rec.ID, rec.Label, rec.Type, string(lt), string(cfg), rec.Enabled, created.UnixNano(), now.UnixNano())
	if err != nil {
		return fmt.Errorf("store: saving source %q: %w", rec.ID, err)
	}
	return nil
}

// GetSource returns the source with the given id, or an error wrapping
// ErrNotFound.
func (s *Store) GetSource(ctx context.Context, id string) (SourceRecord, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+sourceCols+` FROM sources WHERE id = ?`, id)
	rec, err := scanSource(row)
	if errors.Is(err, sql.ErrNoRows) {
		return SourceRecord{}, fmt.Errorf("store: source %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return SourceRecord{}, fmt.Errorf("store: reading source %q: %w", id, err)
	}
	return rec, nil
}

// ListSources returns all sources ordered by id.
func (s *Store) ListSources(ctx context.Context) ([]SourceRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sourceCols+` FROM sources ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: listing sources: %w", err)
	}
	defer rows.Close()
	var out []SourceRecord
	for rows.Next() {
		rec, err := scanSource(rows)
		if err != nil {
			return nil, fmt.Errorf("store: listing sources: %w", err)
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

// DeleteSource removes a source with its secrets, checkpoint and health.
// Its quarantined events are kept until DeleteQuarantine removes them:
// deleting a source never silently drops data. Deleting a missing source
// returns an error wrapping ErrNotFound.
func (s *Store) DeleteSource(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sources WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("store: deleting source %q: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: source %q: %w", id, ErrNotFound)
		}
		for _, table := range []string{"source_secrets", "checkpoints", "source_health"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE source_id = ?`, id); err != nil {
				return fmt.Errorf("store: deleting source %q: %w", id, err)
			}
		}
		return nil
	})
}

const sourceCols = `id, label, type, log_types, config, enabled, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanSource(r scanner) (SourceRecord, error) {
	var (
		rec              SourceRecord
		logTypes, config string
		created, updated int64
	)
	if err := r.Scan(&rec.ID, &rec.Label, &rec.Type, &logTypes, &config, &rec.Enabled, &created, &updated); err != nil {
		return rec, err
	}
	if err := json.Unmarshal([]byte(logTypes), &rec.LogTypes); err != nil {
		return rec, fmt.Errorf("source %q: log_types: %w", rec.ID, err)
	}
	rec.Config = json.RawMessage(config)
	rec.CreatedAt = time.Unix(0, created).UTC()
	rec.UpdatedAt = time.Unix(0, updated).UTC()
	return rec, nil
}
