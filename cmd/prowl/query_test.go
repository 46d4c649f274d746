package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/api"
)

// cliLake is a canned lake behind a real API server.
type cliLake struct {
	mu  sync.Mutex
	sql []string
}

func (l *cliLake) Query(ctx context.Context, req api.LakeQuery) (*api.QueryResponse, error) {
	l.mu.Lock()
	l.sql = append(l.sql, req.SQL)
	l.mu.Unlock()
	rows := [][]any{
		{"alice@example.com", int64(9007199254740993), "2026-03-30T12:00:00Z", []any{"10.0.0.1"}},
		{"evil\x1b[31m\nuser", nil, "2026-03-30T12:01:00Z", nil},
		{"carol@example.com", int64(3), "2026-03-30T12:02:00Z", []any{}},
	}
	res := &api.QueryResponse{Columns: []api.QueryColumn{{Name: "who", Type: "VARCHAR"}, {Name: "n", Type: "BIGINT"}, {Name: "at", Type: "TIMESTAMP"}, {Name: "ips", Type: "VARCHAR[]"}},
		ElapsedMS: 12, FilesScanned: 24, BytesScanned: 3 << 20, Tables: []string{"okta_systemlog"}}
	end := min(req.Offset+req.Limit, len(rows))
	res.Rows = rows[req.Offset:end]
	res.Truncated = end < len(rows)
	return res, nil
}

func (l *cliLake) Search(ctx context.Context, req api.LakeSearch) (*api.SearchResponse, error) {
	start := time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)
	return &api.SearchResponse{Indicator: req.Indicator, Kind: "ip", Columns: []string{"p_any_ip_addresses"}, From: start, To: start.Add(24 * time.Hour),
		Total: 12, Tables: []api.SearchTable{{Table: "aws_cloudtrail"}, {Table: "okta_systemlog", Count: 12}},
		Histogram: api.SearchHistogram{Start: start, BucketSeconds: 3600, Counts: []int64{0, 0, 8, 0, 4, 0}},
		Rows:      []api.SearchRow{{Table: "okta_systemlog", RowID: "r1", Time: start.Add(4 * time.Hour), Row: json.RawMessage(`{"actor":"\u001b[2Jgotcha"}`)}}}, nil
}

func (l *cliLake) Tables(ctx context.Context) ([]api.LakeTable, error) { return nil, nil }

func cliLakeServer(t *testing.T) (*httptest.Server, *cliLake) {
	t.Helper()
	lake := &cliLake{}
	mux := http.NewServeMux()
	(&api.Server{Lake: lake}).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, lake
}

func TestQueryCommand(t *testing.T) {
	srv, lake := cliLakeServer(t)
	out, code := prowl(t, "query", "--server", srv.URL, "SELECT who FROM okta_systemlog")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, want := range []string{"who", "alice@example.com", "9007199254740993", `["10.0.0.1"]`, "NULL", `evil\x1b[31m\x0auser`, "3 row(s) in 12 ms; 24 file(s), 3.0 MiB scanned"} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("an escape sequence reached the terminal:\n%q", out)
	}

	out, code = prowl(t, "query", "--server", srv.URL, "--format", "csv", "--limit", "2", "SELECT 1")
	if code != 0 || !strings.HasPrefix(out, "who,n,at,ips\nalice@example.com,9007199254740993,2026-03-30T12:00:00Z,\"[\"\"10.0.0.1\"\"]\"\n") ||
		!strings.Contains(out, "more rows follow (--offset 2, or --all)") {
		t.Errorf("csv: exit %d:\n%s", code, out)
	}
	out, code = prowl(t, "query", "--server", srv.URL, "--format", "json", "--limit", "1", "--all", "SELECT 1")
	var res api.QueryResponse
	if code != 0 || json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &res) != nil || len(res.Rows) != 3 || res.Truncated {
		t.Errorf("json --all: exit %d:\n%s", code, out)
	}

	// SQL from a file and from standard input.
	file := filepath.Join(t.TempDir(), "hunt.sql")
	os.WriteFile(file, []byte("SELECT 'from a file'"), 0o644)
	if out, code = prowl(t, "query", "--server", srv.URL, "-f", file); code != 0 {
		t.Errorf("-f: %d %s", code, out)
	}
	cmd := newRootCmd()
	var buf strings.Builder
	cmd.SetOut(&buf)
	cmd.SetErr(&buf)
	cmd.SetIn(strings.NewReader("SELECT 'from stdin'\n"))
	cmd.SetArgs([]string{"query", "--server", srv.URL, "-"})
	if err := cmd.Execute(); err != nil {
		t.Errorf("stdin: %v", err)
	}
	lake.mu.Lock()
	got := strings.Join(lake.sql, "|")
	lake.mu.Unlock()
	if !strings.Contains(got, "SELECT 'from a file'") || !strings.Contains(got, "SELECT 'from stdin'\n") {
		t.Errorf("queries sent: %q", got)
	}
	if out, code = prowl(t, "query", "--server", srv.URL); code == 0 || !strings.Contains(out, "no SQL") {
		t.Errorf("no SQL: %d %s", code, out)
	}
	if out, code = prowl(t, "query", "--server", srv.URL, "--format", "xml", "SELECT 1"); code == 0 || !strings.Contains(out, "--format") {
		t.Errorf("bad format: %d %s", code, out)
	}
}

func TestSearchCommand(t *testing.T) {
	srv, _ := cliLakeServer(t)
	out, code := prowl(t, "search", "--server", srv.URL, "--since", "24h", "203.0.113.77")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, want := range []string{"203.0.113.77 (ip) in p_any_ip_addresses", "12 match(es)", "okta_systemlog  12", "aws_cloudtrail  0",
		"over time (1h buckets, UTC)", "2026-03-30 02:00  " + strings.Repeat("█", 40) + " 8", "2026-03-30 04:00  " + strings.Repeat("█", 20) + " ",
		"newest 1 match(es)", `\u001b[2Jgotcha`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "2026-03-30 00:00  ") || strings.Contains(out, "2026-03-30 05:00") || strings.Contains(out, "\x1b") {
		t.Errorf("empty edge buckets shown or raw escape:\n%q", out)
	}
}
