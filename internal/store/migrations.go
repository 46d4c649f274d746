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
