package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The scheduler's records: the run history of scheduled queries and
// correlation rules, and the correlation results already alerted on.

// Kinds of scheduled runs.
const (
	RunKindQuery       = "query"
	RunKindCorrelation = "correlation"
)

// Statuses of a scheduled run.
const (
	RunRunning = "running"
	RunOK      = "ok"
	RunError   = "error"
	RunTimeout = "timeout"
)

// Triggers of a scheduled run.
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
)

// KeepRuns is how many runs of one query or rule the history keeps.
const KeepRuns = 500

// ScheduledRun is one run of a scheduled query (and the scheduled rules
// over its rows) or of a correlation rule.
type ScheduledRun struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Trigger     string     `json:"trigger"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	Status      string     `json:"status"`
	// Rows is the query's rows (correlation runs: the rule matches read);
	// Truncated says the row limit cut the result.
	Rows      int64 `json:"rows"`
	Truncated bool  `json:"truncated,omitempty"`
	// Matches and Alerts are what the run's rules produced: matches (and
	// rule errors), and the alerts they created.
	Matches    int     `json:"matches"`
	Alerts     int     `json:"alerts"`
	Error      string  `json:"error,omitempty"`
	DurationMS float64 `json:"duration_ms"`
}

// StartScheduledRun records a run that starts (Status running) and
// returns its ID.
func (s *Store) StartScheduledRun(ctx context.Context, r ScheduledRun) (int64, error) {
	res, err := s.exec(ctx, `
INSERT INTO scheduled_runs (kind, name, trigger, scheduled_at, started_at, status) VALUES (?, ?, ?, ?, ?, ?)`,
		r.Kind, r.Name, r.Trigger, toNanos(r.ScheduledAt), r.StartedAt.UnixNano(), RunRunning)
	if err != nil {
		return 0, fmt.Errorf("store: recording a run of %s: %w", r.Name, err)
	}
	return res.LastInsertId()
}

// FinishScheduledRun records the outcome of run r.ID and drops the oldest
// runs of the same query or rule beyond KeepRuns.
func (s *Store) FinishScheduledRun(ctx context.Context, r ScheduledRun) error {
	var finished time.Time
	if r.FinishedAt != nil {
		finished = *r.FinishedAt
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
UPDATE scheduled_runs SET finished_at = ?, status = ?, rows = ?, truncated = ?, matches = ?, alerts = ?, error = ? WHERE id = ?`,
			toNanos(finished), r.Status, r.Rows, boolInt(r.Truncated), r.Matches, r.Alerts, r.Error, r.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
DELETE FROM scheduled_runs WHERE kind = ? AND name = ? AND id <= (
	SELECT id FROM scheduled_runs WHERE kind = ? AND name = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
			r.Kind, r.Name, r.Kind, r.Name, KeepRuns)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: recording the end of run %d: %w", r.ID, err)
	}
	return nil
}

// AbandonScheduledRuns marks runs still "running" (the process stopped
// during them) as errors.
func (s *Store) AbandonScheduledRuns(ctx context.Context, now time.Time) error {
	_, err := s.exec(ctx, `
UPDATE scheduled_runs SET status = ?, finished_at = ?, error = 'prowl stopped during the run' WHERE status = ?`,
		RunError, now.UnixNano(), RunRunning)
	if err != nil {
		return fmt.Errorf("store: closing interrupted runs: %w", err)
	}
	return nil
}

// ListScheduledRuns returns the newest runs (up to limit) of a query or
// rule, newest first. An empty kind lists both kinds.
func (s *Store) ListScheduledRuns(ctx context.Context, kind, name string, limit int) ([]ScheduledRun, error) {
	if limit <= 0 || limit > KeepRuns {
		limit = KeepRuns
	}
	q := `SELECT ` + runColumns + ` FROM scheduled_runs WHERE name = ?`
	args := []any{name}
	if kind != "" {
		q += ` AND kind = ?`
		args = append(args, kind)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: listing the runs of %s: %w", name, err)
	}
	defer rows.Close()
	out := []ScheduledRun{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LatestScheduledRuns returns, for every query or rule of a kind, its
// newest runs (up to perName), newest first.
func (s *Store) LatestScheduledRuns(ctx context.Context, kind string, perName int) (map[string][]ScheduledRun, error) {
	rows, err := s.db.QueryContext(ctx, `
SELECT `+runColumns+` FROM (
	SELECT *, row_number() OVER (PARTITION BY name ORDER BY id DESC) AS n FROM scheduled_runs WHERE kind = ?
) WHERE n <= ? ORDER BY name, id DESC`, kind, perName)
	if err != nil {
		return nil, fmt.Errorf("store: listing runs: %w", err)
	}
	defer rows.Close()
	out := map[string][]ScheduledRun{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out[r.Name] = append(out[r.Name], r)
	}
	return out, rows.Err()
}

const runColumns = `id, kind, name, trigger, scheduled_at, started_at, finished_at, status, rows, truncated, matches, alerts, error`

func scanRun(rows *sql.Rows) (ScheduledRun, error) {
	var r ScheduledRun
	var scheduled, finished sql.NullInt64
	var started int64
	var truncated int
	if err := rows.Scan(&r.ID, &r.Kind, &r.Name, &r.Trigger, &scheduled, &started, &finished, &r.Status, &r.Rows, &truncated,
		&r.Matches, &r.Alerts, &r.Error); err != nil {
		return r, fmt.Errorf("store: reading a run: %w", err)
	}
	r.ScheduledAt = fromNanos(scheduled)
	r.StartedAt = time.Unix(0, started).UTC()
	r.Truncated = truncated != 0
	if finished.Valid {
		f := fromNanos(finished)
		r.FinishedAt = &f
		r.DurationMS = float64(f.Sub(r.StartedAt).Microseconds()) / 1000
	}
	return r, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CorrelationSeen returns the keys recorded for a correlation rule (see
// MarkCorrelationSeen) that have not expired by now.
func (s *Store) CorrelationSeen(ctx context.Context, ruleID string, now time.Time) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key FROM correlation_seen WHERE rule_id = ? AND expires >= ?`, ruleID, now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("store: reading the correlations of %s: %w", ruleID, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// MarkCorrelationSeen durably records keys of a correlation rule (result
// IDs, contributing matches) until expires, and forgets every key that
// expired before now.
func (s *Store) MarkCorrelationSeen(ctx context.Context, ruleID string, keys []string, expires, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM correlation_seen WHERE expires < ?`, now.UnixNano()); err != nil {
			return err
		}
		for len(keys) > 0 {
			n := min(len(keys), 200)
			args := make([]any, 0, 3*n)
			for _, k := range keys[:n] {
				args = append(args, ruleID, k, expires.UnixNano())
			}
			q := `INSERT INTO correlation_seen (rule_id, key, expires) VALUES ` + strings.Repeat("(?, ?, ?),", n-1) + `(?, ?, ?)
ON CONFLICT (rule_id, key) DO UPDATE SET expires = max(expires, excluded.expires)`
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			keys = keys[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: recording the correlations of %s: %w", ruleID, err)
	}
	return nil
}
