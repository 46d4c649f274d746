package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTemp(t *testing.T, opts ...Option) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "prowl.db")
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenCreatesDirAndMigrates(t *testing.T) {
	s, path := openTemp(t)
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion() {
		t.Fatalf("user_version = %d, %v; want %d", v, err, SchemaVersion())
	}
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	// Reopening applies nothing and keeps the version.
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

func TestSourcesCRUDAndPersistence(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2025, 3, 4, 17, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	s, path := openTemp(t, WithClock(now))

	rec := SourceRecord{ID: "okta-prod", Label: "Okta prod", Type: "okta", LogTypes: []string{"Okta.SystemLog"},
		Config: json.RawMessage(`{"subdomain":"acme"}`), Enabled: true}
	if err := s.PutSource(ctx, rec); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Hour)
	rec.Label = "Okta production"
	if err := s.PutSource(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSource(ctx, SourceRecord{ID: "a-http", Type: "http"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSource(ctx, SourceRecord{ID: "bad", Type: "http", Config: json.RawMessage(`{`)}); err == nil {
		t.Fatal("invalid JSON config accepted")
	}
	if err := s.PutSource(ctx, SourceRecord{ID: "", Type: "http"}); err == nil {
		t.Fatal("empty id accepted")
	}

	s.Close()
	s, err := Open(path, WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	got, err := s.GetSource(ctx, "okta-prod")
	if err != nil {
		t.Fatal(err)
	}
	if got.Label != "Okta production" || got.Type != "okta" || !got.Enabled ||
		len(got.LogTypes) != 1 || got.LogTypes[0] != "Okta.SystemLog" || string(got.Config) != `{"subdomain":"acme"}` {
		t.Fatalf("got %+v", got)
	}
	if !got.CreatedAt.Equal(clock.Add(-time.Hour)) || !got.UpdatedAt.Equal(clock) {
		t.Fatalf("created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}
	list, err := s.ListSources(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "a-http" || list[1].ID != "okta-prod" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if string(list[0].Config) != "{}" || list[0].LogTypes == nil {
		t.Fatalf("defaults: %+v", list[0])
	}

	if err := s.PutSecret(ctx, "okta-prod", "api_token", []byte("t")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCheckpoint(ctx, "okta-prod", []byte("cp")); err != nil {
		t.Fatal(err)
	}
	if err := s.Quarantine(ctx, []Quarantined{{SourceID: "okta-prod", Raw: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSource(ctx, "okta-prod"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSource(ctx, "okta-prod"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.DeleteSource(ctx, "okta-prod"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.GetSecret(ctx, "okta-prod", "api_token"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("secret survived delete: %v", err)
	}
	if cp, _ := s.GetCheckpoint(ctx, "okta-prod"); cp != nil {
		t.Fatalf("checkpoint survived delete: %q", cp)
	}
	if n, _ := s.CountQuarantine(ctx, "okta-prod"); n != 1 {
		t.Fatalf("quarantine of a deleted source = %d, want kept", n)
	}
}

func TestSecretsEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	secret := []byte("00QCjAl4MlV-WPXM-SUPER-SECRET-TOKEN-ABCDEFG")
	if err := s.PutSecret(ctx, "okta", "api_token", secret); err != nil {
		t.Fatal(err)
	}
	// Key file created with mode 0600 beside the database.
	keyPath := filepath.Join(filepath.Dir(path), KeyFileName)
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
	got, err := s.GetSecret(ctx, "okta", "api_token")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("GetSecret = %q, %v", got, err)
	}
	if _, err := s.GetSecret(ctx, "okta", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing secret: %v", err)
	}
	s.Close()

	// Neither the database nor its WAL holds the plaintext.
	for _, f := range []string{path, path + "-wal"} {
		raw, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(raw, secret) || bytes.Contains(raw, secret[:16]) {
			t.Fatalf("%s holds the secret in plaintext", f)
		}
	}

	// Reopen: same key file, same secret.
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err = s2.GetSecret(ctx, "okta", "api_token")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("after reopen GetSecret = %q, %v", got, err)
	}
	// A sealed value moved to another row does not decrypt.
	if _, err := s2.db.Exec(`INSERT INTO source_secrets SELECT 'other', name, sealed, updated_at FROM source_secrets`); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.GetSecret(ctx, "other", "api_token"); err == nil {
		t.Fatal("secret copied to another source decrypted")
	}
	s2.Close()

	// Another key cannot read it, and the error does not leak the value.
	s3, err := Open(path, WithKey(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	_, err = s3.GetSecret(ctx, "okta", "api_token")
	if err == nil || strings.Contains(err.Error(), string(secret)) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestOpenKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested")
	k1, err := OpenKey(dir)
	if err != nil || len(k1) != 32 {
		t.Fatalf("OpenKey = %x, %v", k1, err)
	}
	k2, err := OpenKey(dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second OpenKey differs: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFileName), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKey(dir); err == nil {
		t.Fatal("malformed key file accepted")
	}
	if _, err := Open(MemoryPath, WithKey([]byte("short"))); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestCheckpoints(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	if cp, err := s.GetCheckpoint(ctx, "src"); err != nil || cp != nil {
		t.Fatalf("fresh checkpoint = %q, %v", cp, err)
	}
	for _, v := range []string{"one", "two"} {
		if err := s.PutCheckpoint(ctx, "src", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutCheckpoint(ctx, "empty", []byte{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if cp, err := s.GetCheckpoint(ctx, "src"); err != nil || string(cp) != "two" {
		t.Fatalf("after reopen = %q, %v", cp, err)
	}
	if cp, err := s.GetCheckpoint(ctx, "empty"); err != nil || cp == nil || len(cp) != 0 {
		t.Fatalf("empty checkpoint = %#v, %v", cp, err)
	}
	if err := s.PutCheckpoint(ctx, "src", nil); err != nil {
		t.Fatal(err)
	}
	if cp, err := s.GetCheckpoint(ctx, "src"); err != nil || cp != nil {
		t.Fatalf("deleted checkpoint = %q, %v", cp, err)
	}
}

func TestHealth(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2025, 3, 4, 17, 0, 0, 0, time.UTC)
	s, path := openTemp(t, WithClock(func() time.Time { return clock }))

	if h, err := s.GetHealth(ctx, "okta"); err != nil || h.SourceID != "okta" || h.Events != 0 || !h.LastPollAt.IsZero() {
		t.Fatalf("fresh health = %+v, %v", h, err)
	}
	ev1 := clock.Add(-time.Minute)
	if err := s.AddHealth(ctx, "okta", 10, 1000, 1, ev1); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Minute)
	// An older event time does not move LastEventAt back; an empty poll moves LastPollAt only.
	if err := s.AddHealth(ctx, "okta", 5, 500, 0, ev1.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	ingestAt := clock
	clock = clock.Add(time.Minute)
	if err := s.AddHealth(ctx, "okta", 0, 0, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSourceError(ctx, "okta", "401 E0000011: Invalid token provided"); err != nil {
		t.Fatal(err)
	}
	errAt := clock
	if err := s.SetSourceError(ctx, "http", "boom"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(path, WithClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	h, err := s.GetHealth(ctx, "okta")
	if err != nil {
		t.Fatal(err)
	}
	want := Health{SourceID: "okta", LastEventAt: ev1, LastIngestAt: ingestAt, LastPollAt: clock,
		Events: 15, Bytes: 1500, Quarantined: 1, LastError: "401 E0000011: Invalid token provided", LastErrorAt: errAt}
	if h != want {
		t.Fatalf("health\n got %+v\nwant %+v", h, want)
	}
	clock = clock.Add(time.Minute)
	if err := s.SetSourceError(ctx, "okta", ""); err != nil {
		t.Fatal(err)
	}
	h, _ = s.GetHealth(ctx, "okta")
	if h.LastError != "" || !h.LastErrorAt.Equal(errAt) {
		t.Fatalf("cleared error: %+v", h)
	}
	all, err := s.ListHealth(ctx)
	if err != nil || len(all) != 2 || all[0].SourceID != "http" || all[0].LastError != "boom" || all[1].SourceID != "okta" {
		t.Fatalf("ListHealth = %+v, %v", all, err)
	}
}

func TestQuarantine(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	at := time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)
	var batch []Quarantined
	for i := 0; i < 5; i++ {
		batch = append(batch, Quarantined{SourceID: "a", LogType: "Okta.SystemLog", Reason: "invalid JSON",
			Detail: "line 3, byte 17", Raw: []byte{'{', byte('0' + i), 0xff}, ReceivedAt: at})
	}
	batch = append(batch, Quarantined{SourceID: "b", Reason: "no log type", Raw: []byte("x")})
	if err := s.Quarantine(ctx, batch); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	for src, want := range map[string]int64{"a": 5, "b": 1, "": 6, "c": 0} {
		if n, err := s.CountQuarantine(ctx, src); err != nil || n != want {
			t.Fatalf("CountQuarantine(%q) = %d, %v; want %d", src, n, err, want)
		}
	}
	page, err := s.ListQuarantine(ctx, "a", 2, 1)
	if err != nil || len(page) != 2 {
		t.Fatalf("page = %+v, %v", page, err)
	}
	q := page[0]
	if q.SourceID != "a" || q.LogType != "Okta.SystemLog" || q.Reason != "invalid JSON" || q.Detail != "line 3, byte 17" ||
		!bytes.Equal(q.Raw, []byte{'{', '1', 0xff}) || !q.ReceivedAt.Equal(at) || q.ID == 0 || page[1].ID <= q.ID {
		t.Fatalf("quarantined = %+v", q)
	}
	all, _ := s.ListQuarantine(ctx, "", 0, 0)
	if len(all) != 6 || all[5].SourceID != "b" || all[5].ReceivedAt.IsZero() {
		t.Fatalf("all = %+v", all)
	}
	if err := s.DeleteQuarantine(ctx, []int64{all[0].ID, all[5].ID, 12345}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountQuarantine(ctx, ""); n != 4 {
		t.Fatalf("after delete count = %d", n)
	}
}

func TestMemoryStoreAndConcurrency(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"memory", "file"} {
		t.Run(name, func(t *testing.T) {
			var s *Store
			if name == "memory" {
				var err error
				if s, err = Open(MemoryPath); err != nil {
					t.Fatal(err)
				}
				defer s.Close()
			} else {
				s, _ = openTemp(t)
			}
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 25; i++ {
						if err := s.AddHealth(ctx, "src", 1, 10, 0, time.Now()); err != nil {
							t.Error(err)
							return
						}
						if _, err := s.GetHealth(ctx, "src"); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if err := s.PutSecret(ctx, "src", "k", []byte("v")); err != nil {
				t.Fatal(err)
			}
			if v, err := s.GetSecret(ctx, "src", "k"); err != nil || string(v) != "v" {
				t.Fatalf("secret = %q, %v", v, err)
			}
			h, _ := s.GetHealth(ctx, "src")
			if h.Events != 200 || h.Bytes != 2000 {
				t.Fatalf("events %d bytes %d", h.Events, h.Bytes)
			}
		})
	}
}

// Source health commits without waiting for the disk; everything else
// waits (synchronous FULL), and both see each other's writes.
func TestHealthCommitsLazily(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		db   interface {
			QueryRowContext(context.Context, string, ...any) *sql.Row
		}
		want int
	}{{"main", s.db, 2}, {"health", s.lazy, 1}} {
		var got int
		if err := c.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&got); err != nil || got != c.want {
			t.Errorf("%s handle: synchronous = %d (%v), want %d", c.name, got, err, c.want)
		}
	}
	if err := s.AddHealth(ctx, "src", 3, 30, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if h, err := s.GetHealth(ctx, "src"); err != nil || h.Events != 3 {
		t.Fatalf("health after AddHealth: %+v, %v", h, err)
	}
}
