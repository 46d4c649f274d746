package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/api"
	"github.com/prowl-siem/prowl/internal/destinations"
	"github.com/prowl-siem/prowl/internal/sources"
	"github.com/prowl-siem/prowl/internal/store"
)

// A running prowl's API for the CLI: the real api.Server over an
// in-memory store, with a runner and an ingest pipeline that record.

type cliRunner struct {
	mu    sync.Mutex
	calls []string
}

func (r *cliRunner) Restart(_ context.Context, rec store.SourceRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("restart %s", rec.ID))
	return nil
}

func (r *cliRunner) Stop(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "stop "+id)
	return nil
}

type cliSink struct {
	mu      sync.Mutex
	records []string
	ids     map[string]bool
}

func (s *cliSink) IngestCounted(_ context.Context, b sources.Batch) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := 0
	for _, r := range b.Records {
		s.records = append(s.records, string(r))
		if !json.Valid(r) {
			q++
		}
	}
	s.ids[b.SourceID+" "+b.LogType] = true
	return q, nil
}

type cliAPI struct {
	url    string
	st     *store.Store
	runner *cliRunner
	sink   *cliSink
}

func startAPI(t *testing.T) *cliAPI {
	t.Helper()
	st, err := store.Open(store.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dispatch := destinations.NewDispatcher(st, func() []destinations.Config { c, _ := st.ListDestinations(context.Background()); return c },
		func(c destinations.Config) (destinations.Destination, error) {
			return destinations.New(c, func(name string) (string, error) {
				v, err := st.GetSecret(context.Background(), store.DestinationSecretOwner(c.ID), name)
				if errors.Is(err, store.ErrNotFound) {
					return "", destinations.ErrNoSecret
				}
				return string(v), err
			})
		}, destinations.DispatcherOptions{})
	a := &cliAPI{st: st, runner: &cliRunner{}, sink: &cliSink{ids: map[string]bool{}}}
	mux := http.NewServeMux()
	(&api.Server{Alerts: alerts.NewMemoryStore(), Token: "adm1n", Sources: st, Runner: a.runner, Destinations: st, Tester: dispatch,
		Deliveries: st, Ingest: a.sink, LogTypes: func() []string { return []string{"Okta.SystemLog"} }}).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

// prowlIn runs the CLI with standard input.
func prowlIn(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	var exit exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.code
	default:
		return out.String() + err.Error(), 2
	}
}

const oktaToken = "00aCLItokenNeverShown"

func TestSourcesCLI(t *testing.T) {
	a := startAPI(t)
	ctx := context.Background()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "okta-token")
	os.WriteFile(tokenFile, []byte(oktaToken+"\n"), 0o600)
	srv := []string{"--server", a.url, "--token", "adm1n"}
	run := func(stdin string, want int, args ...string) string {
		t.Helper()
		out, code := prowlIn(t, stdin, append(args, srv...)...)
		if code != want {
			t.Errorf("prowl %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
		}
		if strings.Contains(out, oktaToken) || strings.Contains(out, "pushSecret") {
			t.Errorf("prowl %s printed a secret:\n%s", strings.Join(args, " "), out)
		}
		return out
	}

	// The seed's onboarding: name, Okta subdomain, API token.
	out := run("", 0, "sources", "add", "okta", "--label", "Okta prod", "--subdomain", "acme", "--token-file", tokenFile)
	if !strings.Contains(out, "Added source okta-prod (okta") || !strings.Contains(out, "secrets stored (encrypted): api_token") {
		t.Errorf("add okta:\n%s", out)
	}
	if v, _ := a.st.GetSecret(ctx, "okta-prod", "api_token"); string(v) != oktaToken {
		t.Errorf("stored token %q", v)
	}
	// The token can come from standard input (piped, or a hidden prompt).
	run(oktaToken+"\n", 0, "sources", "add", "okta", "--label", "Okta preview", "--subdomain", "acme", "--domain", "oktapreview.com")
	if v, _ := a.st.GetSecret(ctx, "okta-preview", "api_token"); string(v) != oktaToken {
		t.Errorf("token from stdin %q", v)
	}
	// Never as a plain value.
	out = run("", 2, "sources", "add", "okta", "--label", "x", "--subdomain", "acme", "--secret", "api_token="+oktaToken)
	if !strings.Contains(out, "shell history") {
		t.Errorf("plain secret:\n%s", out)
	}
	// The server's validation names the field.
	out = run("", 2, "sources", "add", "okta", "--label", "x", "--subdomain", "Acme Corp", "--token-file", tokenFile)
	if !strings.Contains(out, "config.subdomain") {
		t.Errorf("bad subdomain:\n%s", out)
	}
	// Generic: typed --set values, a secret from the environment.
	t.Setenv("PUSH_TOKEN", "pushSecret")
	out = run("", 0, "sources", "add", "http", "--label", "App events", "--set", "log_type=Okta.SystemLog", "--set", "max_body_bytes=2048",
		"--secret", "token=env:PUSH_TOKEN")
	if !strings.Contains(out, "clients POST events to "+a.url+"/ingest/app-events") {
		t.Errorf("add http:\n%s", out)
	}
	if rec, _ := a.st.GetSource(ctx, "app-events"); !strings.Contains(string(rec.Config), `"max_body_bytes":2048`) {
		t.Errorf("config %s", rec.Config)
	}
	out = run("", 2, "sources", "add", "http", "--label", "x", "--set", "max_body_bytes=big", "--secret", "token=env:PUSH_TOKEN")
	if !strings.Contains(out, "want a whole number") {
		t.Errorf("typed --set:\n%s", out)
	}

	out = run("", 0, "sources", "list")
	for _, want := range []string{"okta-prod", "okta-preview", "app-events", "3 sources"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	a.st.Quarantine(ctx, []store.Quarantined{{SourceID: "okta-prod", Reason: "invalid JSON", Detail: "byte 3", Raw: []byte("{\"x\":\"\x1b[31mred\"")}})
	out = run("", 0, "sources", "show", "okta-prod")
	for _, want := range []string{"subdomain:", "acme", "secrets:", "api_token", "quarantined:   1", "invalid JSON: byte 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("show printed a raw escape sequence from an event:\n%q", out)
	}
	out = run("", 0, "sources", "types", "okta")
	if !strings.Contains(out, "--secret api_token=@FILE") || !strings.Contains(out, "--set subdomain=STRING") {
		t.Errorf("types:\n%s", out)
	}
	run("", 0, "sources", "delete", "okta-preview")
	if _, err := a.st.GetSource(ctx, "okta-preview"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	a.runner.mu.Lock()
	calls := strings.Join(a.runner.calls, ",")
	a.runner.mu.Unlock()
	if calls != "restart okta-prod,restart okta-preview,restart app-events,stop okta-preview" {
		t.Errorf("runner: %s", calls)
	}
	// Without the admin token the API refuses.
	if out, code := prowl(t, "sources", "list", "--server", a.url, "--token", ""); code == 0 || !strings.Contains(out, "HTTP 401") {
		t.Errorf("no token: %d %s", code, out)
	}
}

func TestDestinationsCLI(t *testing.T) {
	a := startAPI(t)
	var mu sync.Mutex
	var got []string
	status := 200
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(body))
		w.WriteHeader(status)
	}))
	defer recv.Close()
	keyFile := filepath.Join(t.TempDir(), "soar.key")
	os.WriteFile(keyFile, []byte("whsec-cli\n"), 0o600)
	srv := []string{"--server", a.url, "--token", "adm1n"}

	out, code := prowl(t, append([]string{"destinations", "add", "webhook", "--name", "SOAR", "--severity", "high,critical",
		"--set", "url=" + recv.URL, "--set", `headers={"X-Team":"secops"}`, "--secret", "signing_secret=@" + keyFile, "--test"}, srv...)...)
	if code != 0 || !strings.Contains(out, "Added destination soar (webhook") || !strings.Contains(out, "severities HIGH,CRITICAL") ||
		!strings.Contains(out, "Test alert to soar delivered") {
		t.Errorf("add webhook: %d\n%s", code, out)
	}
	mu.Lock()
	if len(got) != 1 || !strings.Contains(got[0], `"test":true`) {
		t.Errorf("receiver: %q", got)
	}
	status = 500
	mu.Unlock()
	out, code = prowl(t, append([]string{"destinations", "test", "soar"}, srv...)...)
	if code != 1 || !strings.Contains(out, "Test alert to soar failed") || !strings.Contains(out, "500") {
		t.Errorf("failing test: %d\n%s", code, out)
	}
	out, code = prowl(t, append([]string{"destinations", "list"}, srv...)...)
	if code != 0 || !strings.Contains(out, "soar") || !strings.Contains(out, "signing_secret") || strings.Contains(out, "whsec-cli") {
		t.Errorf("list: %d\n%s", code, out)
	}
	out, code = prowl(t, append([]string{"destinations", "add", "slack", "--name", "#secops"}, srv...)...)
	if code == 0 || !strings.Contains(out, "secrets.webhook_url: is required") {
		t.Errorf("slack without webhook: %d\n%s", code, out)
	}
	if out, code = prowl(t, append([]string{"destinations", "delete", "soar"}, srv...)...); code != 0 {
		t.Errorf("delete: %d %s", code, out)
	}
	if out, code = prowl(t, append([]string{"destinations", "test", "soar"}, srv...)...); code != 2 || !strings.Contains(out, "not found") {
		t.Errorf("test after delete: %d %s", code, out)
	}
}

func TestIngestToServer(t *testing.T) {
	a := startAPI(t)
	dir := t.TempDir()
	var nd strings.Builder
	for i := range 2500 {
		fmt.Fprintf(&nd, "{\"uuid\":\"u%d\"}\n", i)
	}
	nd.WriteString("{\"uuid\": \"broken\n")
	os.WriteFile(filepath.Join(dir, "a.ndjson"), []byte(nd.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "b.json"), []byte("[\n  {\n    \"uuid\": \"pretty\"\n  }\n]\n"), 0o644)

	out, code := prowl(t, "ingest", filepath.Join(dir, "a.ndjson"), filepath.Join(dir, "b.json"), "--log-type", "Okta.SystemLog",
		"--server", a.url, "--token", "adm1n", "--source", "Okta backfill", "--progress", "always")
	if code != 0 {
		t.Fatalf("ingest: %d\n%s", code, out)
	}
	for _, want := range []string{"a.ndjson:2501: ", "2 files, 2502 records", "(source import:okta-backfill): 2501 stored, 1 quarantined", "100%"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	a.sink.mu.Lock()
	n, last, ids := len(a.sink.records), a.sink.records[len(a.sink.records)-1], a.sink.ids
	a.sink.mu.Unlock()
	if n != 2502 || last != `{"uuid":"pretty"}` || !ids["import:okta-backfill Okta.SystemLog"] {
		t.Errorf("server got %d records, last %s, batches %v", n, last, ids)
	}

	// The server's checks reach the user.
	out, code = prowl(t, "ingest", filepath.Join(dir, "b.json"), "--log-type", "Okta.SytemLog", "--server", a.url, "--token", "adm1n")
	if code != 1 || !strings.Contains(out, `did you mean "Okta.SystemLog"`) {
		t.Errorf("unknown log type: %d\n%s", code, out)
	}
	// Without --server the files are only checked.
	out, code = prowl(t, "ingest", filepath.Join(dir, "a.ndjson"), "--log-type", "Okta.SystemLog")
	if code != 0 || !strings.Contains(out, "Check only: nothing was stored") || !strings.Contains(out, "1 would be quarantined") {
		t.Errorf("check only: %d\n%s", code, out)
	}
}
