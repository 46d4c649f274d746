package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Health is what the console shows about a source and what the drop-off
// alarm ("no events processed for N minutes") reads.
type Health struct {
	SourceID     string
	LastEventAt  time.Time // newest event time reported by AddHealth (the events' own timestamps)
	LastIngestAt time.Time // wall-clock time events last arrived (events > 0)
	LastPollAt   time.Time // wall-clock time of the last AddHealth call: the source is alive
	Events       int64     // events received, total
	Bytes        int64     // raw bytes received, total
	Quarantined  int64     // events that failed to parse or normalize, total
	LastError    string    // "" when the source's last attempt succeeded
	LastErrorAt  time.Time
}

// AddHealth adds to a source's counters and records that it was active now.
// Its commit does not wait for the disk (see Store.lazy).
// lastEvent is the newest event timestamp in the batch, or the zero time if
// unknown; LastEventAt only moves forward. Call it with all zeros to record a
// poll that found nothing.
func (s *Store) AddHealth(ctx context.Context, sourceID string, events, bytes, quarantined int64, lastEvent time.Time) error {
	now := s.now().UnixNano()
	var ingest any
	if events > 0 {
		ingest = now
	}
	_, err := s.execOn(ctx, s.lazy, `
INSERT INTO source_health (source_id, last_event_at, last_ingest_at, last_poll_at, events, bytes, quarantined)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (source_id) DO UPDATE SET
	last_event_at  = CASE WHEN ?2 IS NOT NULL AND (last_event_at IS NULL OR ?2 > last_event_at) THEN ?2 ELSE last_event_at END,
	last_ingest_at = coalesce(?3, last_ingest_at),
	last_poll_at   = ?4,
	events         = events + ?5,
	bytes          = bytes + ?6,
	quarantined    = quarantined + ?7`,
		sourceID, toNanos(lastEvent), ingest, now, events, bytes, quarantined)
	if err != nil {
		return fmt.Errorf("store: updating health of %q: %w", sourceID, err)
	}
	return nil
}

// SetSourceError records the source's latest error for the console. An
// empty msg clears it (the source recovered) and keeps LastErrorAt. msg must
// not contain secrets; sources are responsible for that.
func (s *Store) SetSourceError(ctx context.Context, sourceID, msg string) error {
	var at any
	if msg != "" {
		at = s.now().UnixNano()
	}
	_, err := s.exec(ctx, `
INSERT INTO source_health (source_id, last_error, last_error_at) VALUES (?1, ?2, ?3)
ON CONFLICT (source_id) DO UPDATE SET last_error = ?2, last_error_at = coalesce(?3, last_error_at)`,
		sourceID, msg, at)
	if err != nil {
		return fmt.Errorf("store: recording error of %q: %w", sourceID, err)
	}
	return nil
}

// GetHealth returns a source's health. A source that never reported has a
// zero Health (with SourceID set), not an error.
func (s *Store) GetHealth(ctx context.Context, sourceID string) (Health, error) {
	h, err := scanHealth(s.db.QueryRowContext(ctx, `SELECT `+healthCols+` FROM source_health WHERE source_id = ?`, sourceID))
	if errors.Is(err, sql.ErrNoRows) {
		return Health{SourceID: sourceID}, nil
	}
	if err != nil {
		return Health{}, fmt.Errorf("store: reading health of %q: %w", sourceID, err)
	}
	return h, nil
}

// ListHealth returns the health of every source that has reported, by id.
func (s *Store) ListHealth(ctx context.Context) ([]Health, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+healthCols+` FROM source_health ORDER BY source_id`)
	if err != nil {
		return nil, fmt.Errorf("store: listing health: %w", err)
	}
	defer rows.Close()
	var out []Health
	for rows.Next() {
		h, err := scanHealth(rows)
		if err != nil {
			return nil, fmt.Errorf("store: listing health: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

const healthCols = `source_id, last_event_at, last_ingest_at, last_poll_at, events, bytes, quarantined, last_error, last_error_at`

func scanHealth(r scanner) (Health, error) {
	var (
		h                         Health
		event, ingest, poll, errT sql.NullInt64
	)
	err := r.Scan(&h.SourceID, &event, &ingest, &poll, &h.Events, &h.Bytes, &h.Quarantined, &h.LastError, &errT)
	h.LastEventAt, h.LastIngestAt, h.LastPollAt, h.LastErrorAt = fromNanos(event), fromNanos(ingest), fromNanos(poll), fromNanos(errT)
	return h, err
}
