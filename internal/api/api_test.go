package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/prowl-siem/prowl/internal/alerts"
)

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func newServer(t *testing.T, token string) (*httptest.Server, *alerts.MemoryStore) {
	t.Helper()
	store := alerts.NewMemoryStore()
	store.Commit(context.Background(), &alerts.Commit{Created: []alerts.Alert{
		{ID: "a1", Type: alerts.TypeRule, RuleID: "Okta.BruteForce", Title: `Failed logins for <script>alert(1)</script>`, Severity: "MEDIUM", Status: alerts.StatusOpen, CreatedAt: t0, EventCount: 5},
		{ID: "a2", Type: alerts.TypeRuleError, RuleID: "Okta.Broken", Title: "Error in Okta.Broken", Severity: "INFO", Status: alerts.StatusOpen, CreatedAt: t0.Add(time.Minute), EventCount: 1},
	}, Events: []alerts.AlertEvent{{AlertID: "a1", RowID: "r1", LogType: "Okta.SystemLog", Time: t0, Event: []byte(`{"eventType":"user.session.start"}`)}}})
	mux := http.NewServeMux()
	(&Server{Alerts: store, Token: token, Now: func() time.Time { return t0.Add(time.Hour) }}).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, store
}

func call(t *testing.T, srv *httptest.Server, method, path, body, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestAlertEndpoints(t *testing.T) {
	srv, store := newServer(t, "")
	f := func(method, path, body string, wantStatus int, wantBody ...string) {
		t.Helper()
		status, got := call(t, srv, method, path, body, "")
		if status != wantStatus {
			t.Errorf("%s %s: status %d, want %d: %s", method, path, status, wantStatus, got)
		}
		for _, w := range wantBody {
			if !strings.Contains(got, w) {
				t.Errorf("%s %s: body lacks %q: %s", method, path, w, got)
			}
		}
	}
	f("GET", "/api/v1/alerts", "", 200, `"total":2`, `"id":"a2"`)
	f("GET", "/api/v1/alerts?severity=medium&status=open", "", 200, `"total":1`, `"id":"a1"`)
	f("GET", "/api/v1/alerts?q=brute&sort=-event_count&limit=1", "", 200, `"total":1`, `"limit":1`)
	f("GET", "/api/v1/rule-errors", "", 200, `"total":1`, `"id":"a2"`)
	f("GET", "/api/v1/alerts?since=2024-05-01T10:00:30Z", "", 200, `"total":1`)
	f("GET", "/api/v1/alerts?since=yesterday", "", 400, "since: want RFC 3339")
	f("GET", "/api/v1/alerts?sort=title", "", 400, "sort must be one of")
	f("GET", "/api/v1/alerts?limit=-1", "", 400, "limit: want a whole number")
	// Log content is escaped in JSON: no raw markup reaches a browser.
	f("GET", "/api/v1/alerts/a1", "", 200, `\u003cscript\u003e`)
	f("GET", "/api/v1/alerts/nope", "", 404, "alert not found")
	f("GET", "/api/v1/alerts/a1/events", "", 200, `"p_row_id":"r1"`, `"eventType":"user.session.start"`)
	f("PATCH", "/api/v1/alerts/a1", `{"status":"triaged","assignee":"ana"}`, 200, `"status":"TRIAGED"`, `"assignee":"ana"`)
	f("PATCH", "/api/v1/alerts/a1", `{"status":"snoozed"}`, 400, "status must be one of")
	f("PATCH", "/api/v1/alerts/a1", `{"stauts":"CLOSED"}`, 400, `unknown field \"stauts\"`)
	f("PATCH", "/api/v1/alerts/a1", `{}`, 400, "nothing to change")
	f("POST", "/api/v1/alerts/bulk", `{"ids":["a1","a2"],"status":"RESOLVED"}`, 200, `"updated":2`)
	f("POST", "/api/v1/alerts/bulk", `{"ids":["a1","zz"],"status":"OPEN"}`, 404)
	f("POST", "/api/v1/alerts/a1/comments", `{"body":"benign: pentest","author":"ana"}`, 201, `"author":"ana"`)
	f("POST", "/api/v1/alerts/a1/comments", `{"body":"  "}`, 400, "the comment is empty")
	a, _ := store.GetAlert(context.Background(), "a1")
	if a.Status != alerts.StatusResolved || len(a.Comments) != 1 || !a.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("stored alert after triage: %+v", a)
	}
}

func TestTokenRequired(t *testing.T) {
	srv, _ := newServer(t, "s3cret")
	if status, _ := call(t, srv, "GET", "/api/v1/alerts", "", ""); status != 401 {
		t.Errorf("no token: %d", status)
	}
	if status, _ := call(t, srv, "GET", "/api/v1/alerts", "", "wrong"); status != 401 {
		t.Errorf("wrong token: %d", status)
	}
	if status, _ := call(t, srv, "GET", "/api/v1/alerts", "", "s3cret"); status != 200 {
		t.Errorf("right token: %d", status)
	}
}

// Every route the server registers is documented in openapi.yaml, and
// every documented path is served.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	src, _ := readSource()
	var registered []string
	for _, m := range regexp.MustCompile(`handle\("([A-Z]+ /api/v1/[^"]*)"`).FindAllStringSubmatch(src, -1) {
		registered = append(registered, m[1])
	}
	sort.Strings(documented)
	sort.Strings(registered)
	if strings.Join(documented, "\n") != strings.Join(registered, "\n") {
		t.Errorf("openapi.yaml and the routes differ:\ndocumented:\n%s\nregistered:\n%s", strings.Join(documented, "\n"), strings.Join(registered, "\n"))
	}
}

func readSource() (string, error) {
	var all strings.Builder
	for _, name := range []string{"api.go", "sources.go", "destinations.go", "import.go", "query.go", "scheduled.go"} {
		data, err := os.ReadFile(name)
		if err != nil {
			return "", err
		}
		all.Write(data)
	}
	return all.String(), nil
}
