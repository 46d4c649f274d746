// Package store is prowl's control-plane database: sources, their secrets,
// checkpoints, health and the quarantine of events that did not normalize;
// alerts (dedup windows, triage, comments, kept events, consumer offsets:
// an alerts.Store and alerts.Triage) and their deliveries (a
// destinations.Store).
//
// It is the only package that writes SQL. The default backend is SQLite
// (modernc.org/sqlite, pure Go) in WAL mode with a busy timeout, so one
// writer and many readers can share the file. The schema is versioned in code
// (see migrations.go) and brought up to date by Open.
//
// Writes are committed with synchronous=FULL: when a method returns nil the
// change survives a crash or power loss. Sources rely on that, because a
// checkpoint must never claim more than what is durable.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// ErrNotFound is returned (wrapped) when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// MemoryPath opens a private in-memory database, for tests and throwaway runs.
// Its secrets are encrypted under a random key that lives only as long as the
// Store, unless WithKey or WithKeyFile says otherwise.
const MemoryPath = ":memory:"

// busyTimeout is how long a statement waits for another writer's lock before
// failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Store is a handle on the control-plane database. It is safe for
// concurrent use.
type Store struct {
	db   *sql.DB
	path string
	now  func() time.Time
	// wmu queues this process's writes (exec, tx). SQLite lets one writer
	// in at a time, and a writer that finds it taken sleeps and retries
	// (the busy timeout): under steady writes (source health on every
	// batch, alert commits) a writer could wait for seconds while the lock
	// sat free between the others' sleeps. Queued here, each waits only
	// for the writes ahead of it.
	wmu sync.Mutex
	// lazy is a second handle on the database whose commits do not wait
	// for the disk (synchronous=NORMAL), for source health, which every
	// batch of every source updates: with an fsync each, those writes
	// kept the disk busy and the engine's alert commits waited behind
	// them. In WAL mode a power cut may lose lazy's last commits, never
	// corrupt the database; a crash of prowl alone loses nothing.
	lazy *sql.DB

	keyMu   sync.Mutex
	key     []byte // AES-256 key; loaded lazily from keyPath
	keyPath string
}

// Option configures Open.
type Option func(*Store)

// WithKey sets the 32-byte AES-256 key that encrypts secrets, instead of the
// key file.
func WithKey(key []byte) Option {
	return func(s *Store) { s.key = append([]byte(nil), key...) }
}

// WithKeyFile sets where the secrets key lives. The default is
// KeyFileName next to the database file. The file is created (mode 0600)
// the first time a secret is written or read.
func WithKeyFile(path string) Option {
	return func(s *Store) { s.keyPath = path }
}

// WithClock replaces time.Now for the timestamps the store writes
// (UpdatedAt, LastPollAt, ...). Tests use it.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// Open opens (creating it and its directory if needed) the database at path
// and applies any pending schema migrations. path may be MemoryPath.
func Open(path string, opts ...Option) (*Store, error) {
	s := &Store{path: path, now: time.Now}
	memory := path == MemoryPath
	if !memory {
		if path == "" {
			return nil, errors.New("store: empty database path")
		}
		if strings.ContainsAny(path, "?#") {
			return nil, fmt.Errorf("store: database path %q must not contain '?' or '#'", path)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		s.path = abs
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return nil, fmt.Errorf("store: creating data directory: %w", err)
		}
		s.keyPath = filepath.Join(filepath.Dir(abs), KeyFileName)
	}
	for _, o := range opts {
		o(s)
	}
	if memory && s.key == nil && s.keyPath == "" {
		s.key = make([]byte, keySize)
		if _, err := rand.Read(s.key); err != nil {
			return nil, fmt.Errorf("store: generating key: %w", err)
		}
	}
	if s.key != nil && len(s.key) != keySize {
		return nil, fmt.Errorf("store: secrets key must be %d bytes, got %d", keySize, len(s.key))
	}

	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate") // writers take the lock up front: no deadlocked upgrades
	if !memory {
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "FULL")
	}
	db, err := sql.Open("sqlite", s.path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	s.db, s.lazy = db, db
	if memory {
		// Every connection to ":memory:" is a separate database: keep one.
		db.SetMaxOpenConns(1)
	}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	if !memory {
		q.Set("_synchronous", "NORMAL")
		if s.lazy, err = sql.Open("sqlite", s.path+"?"+q.Encode()); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: opening %s: %w", path, err)
		}
		s.lazy.SetMaxOpenConns(1)
	}
	return s, nil
}

// Path is the absolute path of the database file (or MemoryPath).
func (s *Store) Path() string { return s.path }

// Close closes the database. It does not wait for or cancel callers still
// using the Store.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.lazy != s.db {
		err = errors.Join(err, s.lazy.Close())
	}
	return err
}

// exec runs a write statement.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.execOn(ctx, s.db, query, args...)
}

// execOn runs a write statement on db (s.db or s.lazy).
func (s *Store) execOn(ctx context.Context, db *sql.DB, query string, args ...any) (sql.Result, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return db.ExecContext(ctx, query, args...)
}

// tx runs fn in a write transaction and commits it if fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Timestamps are stored as Unix nanoseconds; NULL is the zero time.

func toNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.Unix(0, v.Int64).UTC()
}
