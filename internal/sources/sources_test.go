package sources

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/sources/file"
	"github.com/prowl-siem/prowl/internal/sources/httpsrc"
	"github.com/prowl-siem/prowl/internal/sources/okta"
	"github.com/prowl-siem/prowl/internal/store"
)

func TestRegistry(t *testing.T) {
	var names []string
	for _, s := range Types() {
		names = append(names, s.Type)
		if s.Name == "" || s.Summary == "" || s.New == nil {
			t.Errorf("%s: incomplete spec", s.Type)
		}
		seen := map[string]bool{}
		for _, f := range s.Fields {
			if seen[f.Name] || f.Description == "" {
				t.Errorf("%s.%s: duplicate or undocumented", s.Type, f.Name)
			}
			seen[f.Name] = true
			if f.Default != "" {
				if err := f.CheckValue(f.Default); err != nil {
					t.Errorf("%s.%s: default %q invalid: %v", s.Type, f.Name, f.Default, err)
				}
			}
		}
		if !seen["dropoff_alarm"] {
			t.Errorf("%s: no dropoff_alarm field", s.Type)
		}
	}
	if strings.Join(names, ",") != "file,http,okta" {
		t.Fatalf("types %v", names)
	}
	if _, ok := Lookup("okta"); !ok {
		t.Fatal("okta not found")
	}
}

func TestNewAndValidate(t *testing.T) {
	secrets := func(name string) ([]byte, error) {
		if name == "api_token" || name == "token" {
			return []byte("secret"), nil
		}
		return nil, store.ErrNotFound
	}
	rec := store.SourceRecord{ID: "okta-1", Label: "Okta", Type: "okta", Config: json.RawMessage(`{"subdomain":"acme"}`), Enabled: true}
	if err := Validate(rec); err != nil {
		t.Fatal(err)
	}
	src, err := New(rec, secrets)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(*okta.Source); !ok || src.ID() != "okta-1" {
		t.Fatalf("source %T %s", src, src.ID())
	}
	src, err = New(store.SourceRecord{ID: "h", Type: "http", LogTypes: []string{"Custom.A"}}, secrets)
	if _, ok := src.(*httpsrc.Source); !ok || err != nil {
		t.Fatalf("http: %T %v", src, err)
	}
	src, err = New(store.SourceRecord{ID: "f", Type: "file", Config: json.RawMessage(`{"dir":"/tmp"}`)}, nil)
	if _, ok := src.(*file.Watcher); !ok || err != nil {
		t.Fatalf("file: %T %v", src, err)
	}

	err = Validate(store.SourceRecord{ID: "x", Type: "kafka"})
	if err == nil || !strings.Contains(err.Error(), `unknown source type "kafka" (known: file, http, okta)`) {
		t.Fatalf("unknown type: %v", err)
	}
	err = Validate(store.SourceRecord{ID: "x", Type: "okta", Config: json.RawMessage(`{"subdomain":"acme","limit":0,"poll":"1m"}`)})
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Fields) != 2 || ce.Fields[0].Field != "poll" || ce.Fields[1].Field != "limit" {
		t.Fatalf("config error: %#v", err)
	}
	if _, err := New(store.SourceRecord{ID: "o", Type: "okta", Config: json.RawMessage(`{"subdomain":"acme"}`)}, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing secret: %v", err)
	}
}

func TestDropOff(t *testing.T) {
	now := time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)
	rec := store.SourceRecord{ID: "o", Type: "okta", Config: json.RawMessage(`{"subdomain":"acme"}`), Enabled: true,
		CreatedAt: now.Add(-3 * time.Hour)}
	f := func(rec store.SourceRecord, h store.Health, want bool) {
		t.Helper()
		got, _, err := DropOff(rec, h, now)
		if err != nil || got != want {
			t.Fatalf("DropOff = %v, %v; want %v", got, err, want)
		}
	}
	f(rec, store.Health{}, true)                                          // never delivered, created 3h ago, default 1h
	f(rec, store.Health{LastIngestAt: now.Add(-10 * time.Minute)}, false) // recent events
	f(rec, store.Health{LastIngestAt: now.Add(-2 * time.Hour)}, true)
	rec.Config = json.RawMessage(`{"subdomain":"acme","dropoff_alarm":"0s"}`)
	f(rec, store.Health{}, false) // disabled
	rec.Config = json.RawMessage(`{"subdomain":"acme"}`)
	rec.Enabled = false
	f(rec, store.Health{}, false) // disabled source
	f(store.SourceRecord{ID: "h", Type: "http", Enabled: true}, store.Health{}, false)
}

// TestDocsReferenceUpToDate keeps docs/sources.md in step with the specs.
func TestDocsReferenceUpToDate(t *testing.T) {
	const path = "../../docs/sources.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, ReferenceBegin), strings.Index(s, ReferenceEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated reference markers", path)
	}
	want := s[:i+len(ReferenceBegin)] + "\n\n" + Reference() + "\n" + s[j:]
	if want == s {
		return
	}
	if os.Getenv("PROWL_UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s is stale; run PROWL_UPDATE_DOCS=1 go test ./internal/sources/", path)
}
