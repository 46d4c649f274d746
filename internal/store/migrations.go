package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations is the schema history. Entry i moves the database from
// user_version i to i+1. Append new entries; never edit one that has shipped.
var migrations = []string{
	// 1: sources, secrets, checkpoints, health, quarantine.
	`
CREATE TABLE sources (
	id         TEXT PRIMARY KEY,
	label      TEXT NOT NULL,
	type       TEXT NOT NULL,
	log_types  TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	config     TEXT NOT NULL DEFAULT '{}', -- JSON object, shape given by the type's spec
	enabled    INTEGER NOT NULL DEFAULT 1,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE TABLE source_secrets (
	source_id  TEXT NOT NULL,
	name       TEXT NOT NULL,
	sealed     BLOB NOT NULL,             -- nonce || AES-256-GCM ciphertext
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (source_id, name)
);
CREATE TABLE checkpoints (
	source_id  TEXT PRIMARY KEY,
	value      BLOB NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE TABLE source_health (
	source_id      TEXT PRIMARY KEY,
	last_event_at  INTEGER,
	last_ingest_at INTEGER,
	last_poll_at   INTEGER,
	events         INTEGER NOT NULL DEFAULT 0,
	bytes          INTEGER NOT NULL DEFAULT 0,
	quarantined    INTEGER NOT NULL DEFAULT 0,
	last_error     TEXT NOT NULL DEFAULT '',
	last_error_at  INTEGER
);
CREATE TABLE quarantine (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	source_id   TEXT NOT NULL,
	log_type    TEXT NOT NULL DEFAULT '',
	reason      TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT '',
	raw         BLOB NOT NULL,
	received_at INTEGER NOT NULL
);
CREATE INDEX quarantine_by_source ON quarantine (source_id, id);
`,
	// 2: alerts (dedup windows, alerts, comments, kept events, consumer
	// offsets) and alert deliveries.
	`
CREATE TABLE alert_windows (
	key            TEXT PRIMARY KEY,
	rule_id        TEXT NOT NULL,
	start          INTEGER,                   -- Unix ns; NULL is the zero time
	period         INTEGER NOT NULL,          -- ns
	generation     INTEGER NOT NULL,
	matches        INTEGER NOT NULL,
	has_uniques    INTEGER NOT NULL DEFAULT 0, -- 1: the values are in alert_window_uniques; 0: nil (a row there is stale)
	alert_id       TEXT NOT NULL DEFAULT '',
	first_event_at INTEGER,
	last_event_at  INTEGER,
	log_types      TEXT NOT NULL DEFAULT 'null', -- JSON array of strings
	stored_events  INTEGER NOT NULL DEFAULT 0
);
-- A window's distinct unique() values (up to 100k), apart so that updating
-- the window's counters does not rewrite them: SQLite rewrites a whole row
-- on update, and reading a column stored after a large value walks its
-- overflow pages. n and digest come first for the same reason.
CREATE TABLE alert_window_uniques (
	key     TEXT PRIMARY KEY REFERENCES alert_windows (key) ON DELETE CASCADE,
	n       INTEGER NOT NULL,                 -- number of values
	digest  INTEGER NOT NULL,                 -- order-independent digest of the values (see uniquesDigest)
	uniques TEXT NOT NULL                     -- JSON array of strings
);
CREATE TABLE alerts (
	id             TEXT PRIMARY KEY,
	type           TEXT NOT NULL,
	rule_id        TEXT NOT NULL,
	rule_version   TEXT NOT NULL DEFAULT '',
	title          TEXT NOT NULL DEFAULT '',
	severity       TEXT NOT NULL DEFAULT '',
	severity_rank  INTEGER NOT NULL DEFAULT 0, -- INFO 0 .. CRITICAL 4, for sorting
	dedup          TEXT NOT NULL DEFAULT '',
	search         TEXT NOT NULL DEFAULT '',  -- lower(title) US lower(rule_id) US lower(dedup), for Query.Text
	status         TEXT NOT NULL,
	assignee       TEXT NOT NULL DEFAULT '',
	created_at     INTEGER,
	updated_at     INTEGER,
	first_event_at INTEGER,
	last_event_at  INTEGER,
	event_count    INTEGER NOT NULL DEFAULT 0,
	log_types      TEXT NOT NULL DEFAULT 'null', -- JSON array of strings
	alert_context  TEXT,                      -- the detection's JSON, verbatim; NULL: none
	description    TEXT NOT NULL DEFAULT '',
	reference      TEXT NOT NULL DEFAULT '',
	runbook        TEXT NOT NULL DEFAULT '',
	destinations   TEXT NOT NULL DEFAULT 'null', -- JSON array; null: destinations() not set
	output_ids     TEXT NOT NULL DEFAULT 'null', -- JSON array
	tags           TEXT NOT NULL DEFAULT 'null', -- JSON array
	reports        TEXT NOT NULL DEFAULT 'null'  -- JSON object of arrays
);
CREATE INDEX alerts_by_created    ON alerts (created_at, id);
CREATE INDEX alerts_by_updated    ON alerts (updated_at, id);
CREATE INDEX alerts_by_severity   ON alerts (severity_rank, id);
CREATE INDEX alerts_by_count      ON alerts (event_count, id);
CREATE INDEX alerts_by_status     ON alerts (status, created_at);
CREATE INDEX alerts_by_sev_name   ON alerts (severity, created_at);
CREATE INDEX alerts_by_rule       ON alerts (rule_id, created_at);
CREATE INDEX alerts_by_type       ON alerts (type, created_at);
CREATE TABLE alert_comments (
	id       INTEGER PRIMARY KEY,
	alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
	author   TEXT NOT NULL DEFAULT '',
	body     TEXT NOT NULL DEFAULT '',
	at       INTEGER
);
CREATE INDEX alert_comments_by_alert ON alert_comments (alert_id, id);
-- No foreign key: events are kept from a window's first match, before the
-- window reaches its threshold and creates the alert.
CREATE TABLE alert_events (
	id       INTEGER PRIMARY KEY,
	alert_id TEXT NOT NULL,
	row_id   TEXT NOT NULL DEFAULT '',
	log_type TEXT NOT NULL DEFAULT '',
	time     INTEGER,
	event    TEXT                             -- the normalized event's JSON; NULL: none
);
CREATE INDEX alert_events_by_alert ON alert_events (alert_id, id);
CREATE TABLE consumer_offsets (
	consumer TEXT PRIMARY KEY,
	value    INTEGER NOT NULL                 -- a uint64, stored as its int64 bit pattern
);
CREATE TABLE deliveries (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	alert_id       TEXT NOT NULL,
	destination_id TEXT NOT NULL,
	attempts       INTEGER NOT NULL DEFAULT 0,
	status         TEXT NOT NULL,
	last_error     TEXT NOT NULL DEFAULT '',
	next_attempt   INTEGER,
	created_at     INTEGER,
	updated_at     INTEGER,
	alert          TEXT NOT NULL,             -- JSON of the alert as enqueued
	history        TEXT NOT NULL DEFAULT 'null' -- JSON array of attempts, oldest first
);
CREATE INDEX deliveries_by_alert ON deliveries (alert_id, id);
CREATE INDEX deliveries_pending ON deliveries (next_attempt, id) WHERE status = 'pending';
`,
	// 3: destination configurations (their secrets live in source_secrets
	// under the owner "destination:<id>").
	`
CREATE TABLE destinations (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	type        TEXT NOT NULL,
	severities  TEXT NOT NULL DEFAULT '[]',
	alert_types TEXT NOT NULL DEFAULT '[]',
	settings    TEXT NOT NULL DEFAULT '{}',
	enabled     INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
`,
	// 4: new alerts whose notification is pending: a row is written in the
	// transaction that creates the alert and deleted once the alert's
	// deliveries are recorded (NotificationsDone), so a crash in between
	// delays the notification instead of losing it.
	`
CREATE TABLE alert_notifications (
	alert_id TEXT PRIMARY KEY
);
`,
	// 5: the scheduler: the run history of scheduled queries and
	// correlation rules, and the correlation results already alerted on
	// (so that a restart or an overlapping window does not alert again).
	`
CREATE TABLE scheduled_runs (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	kind         TEXT NOT NULL,               -- query or correlation
	name         TEXT NOT NULL,               -- QueryName or the correlation rule's RuleID
	trigger      TEXT NOT NULL,               -- schedule or manual
	scheduled_at INTEGER,
	started_at   INTEGER NOT NULL,
	finished_at  INTEGER,
	status       TEXT NOT NULL,               -- running, ok, error, timeout
	rows         INTEGER NOT NULL DEFAULT 0,
	truncated    INTEGER NOT NULL DEFAULT 0,
	matches      INTEGER NOT NULL DEFAULT 0,
	alerts       INTEGER NOT NULL DEFAULT 0,
	error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX scheduled_runs_by_name ON scheduled_runs (kind, name, id);
CREATE TABLE correlation_seen (
	rule_id TEXT NOT NULL,
	key     TEXT NOT NULL,                    -- r:<result ID> or m:<alert ID>/<row ID> of a contributing match
	expires INTEGER NOT NULL,                 -- Unix ns after which no run's window reaches it
	PRIMARY KEY (rule_id, key)
);
CREATE INDEX correlation_seen_expiry ON correlation_seen (expires);
`,
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int { return len(migrations) }

// migrate applies pending migrations, each in its own transaction together
// with the version bump, so a crash leaves the schema at a whole version.
func (s *Store) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this prowl understands (%d); upgrade prowl", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return err
			}
			// PRAGMA does not take bound parameters; v is our own integer.
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrating schema to version %d: %w", v+1, err)
		}
	}
	return nil
}
