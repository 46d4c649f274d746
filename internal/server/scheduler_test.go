package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const wiringQuery = `AnalysisType: scheduled_query
QueryName: Failed Logins
Enabled: true
Query: |
  SELECT (actor ->> '$.alternateId') AS username, count(*) AS failures
  FROM okta_systemlog
  WHERE p_occurs_in_lookback() AND (outcome ->> '$.result') = 'FAILURE'
  GROUP BY ALL
Schedule:
  CronExpression: "0 * * * *"
  TimeoutMinutes: 2
`

const wiringRule = `AnalysisType: scheduled_rule
RuleID: Wiring.ManyFailures
Filename: many.py
Enabled: true
Severity: High
ScheduledQueries: [Failed Logins]
`

const wiringCorrelation = `AnalysisType: correlation_rule
RuleID: Wiring.FailuresThenFailures
Enabled: true
Severity: High
Detection:
  - Sequence:
      - ID: A
        RuleID: ` + seedRuleID + `
      - ID: B
        RuleID: Wiring.ManyFailures
    Schedule:
      RateMinutes: 30
      TimeoutMinutes: 1
    LookbackWindowMinutes: 60
`

// The scheduler runs inside the server and answers through the API.
func TestSchedulerWiring(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dataDir, detections := t.TempDir(), t.TempDir()
	for name, text := range map[string]string{"failed_logins.py": seedRulePy, "failed_logins.yml": seedRuleYML,
		"query.yml": wiringQuery, "many.yml": wiringRule, "many.py": "def rule(event):\n    return event.get('failures', 0) > 3\n",
		"corr.yml": wiringCorrelation} {
		if err := os.WriteFile(filepath.Join(detections, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testConfig(t, "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--packs", "none", "--detections", detections, "--python-workers", "1")
	logs := &syncBuffer{}
	srv, err := New(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Stop(time.Second)
		cancel()
		srv.Wait()
		srv.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	base := "http://" + srv.Addr().String()
	post := func(path, body string, out any) int {
		t.Helper()
		resp, err := apiClient.Post(base+path, "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if out != nil && resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("POST %s: %v: %s", path, err, data)
			}
		}
		return resp.StatusCode
	}

	var list struct {
		Queries []struct {
			Name     string `json:"name"`
			Enabled  bool   `json:"enabled"`
			NextRun  string `json:"next_run"`
			Rules    []string
			Schedule struct {
				Description string `json:"description"`
			} `json:"schedule"`
		} `json:"queries"`
		Correlations []struct {
			RuleID  string `json:"rule_id"`
			Enabled bool   `json:"enabled"`
			NextRun string `json:"next_run"`
		} `json:"correlation_rules"`
	}
	if err := getJSON(base, "/api/v1/scheduled-queries", &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Queries) != 1 || !list.Queries[0].Enabled || list.Queries[0].NextRun == "" || strings.Join(list.Queries[0].Rules, ",") != "Wiring.ManyFailures" ||
		list.Queries[0].Schedule.Description != "0 * * * *" {
		t.Fatalf("scheduled queries: %+v", list.Queries)
	}
	// The bundled packs' correlation rules are listed, disabled (packs none).
	scheduled := 0
	for _, c := range list.Correlations {
		if c.Enabled != (c.NextRun != "") || c.Enabled != (c.RuleID == "Wiring.FailuresThenFailures") {
			t.Errorf("correlation rule: %+v", c)
		}
		if c.Enabled {
			scheduled++
		}
	}
	if scheduled != 1 {
		t.Fatalf("correlation rules: %+v", list.Correlations)
	}

	var run struct {
		Status, Trigger, Error string
		Rows                   int
	}
	if status := post("/api/v1/scheduled-queries/Failed%20Logins/run", "", &run); status != 200 || run.Status != "ok" || run.Trigger != "manual" {
		t.Fatalf("run now: %d %+v", status, run)
	}
	if status := post("/api/v1/scheduled-queries/Wiring.FailuresThenFailures/run", "", &run); status != 200 || run.Status != "ok" {
		t.Fatalf("run a correlation rule now: %d %+v", status, run)
	}
	var runs struct {
		Runs []struct{ Name, Status string } `json:"runs"`
	}
	if err := getJSON(base, "/api/v1/scheduled-queries/Failed%20Logins/runs", &runs); err != nil || len(runs.Runs) != 1 {
		t.Fatalf("runs: %+v, %v", runs, err)
	}
	var saved struct {
		Queries []any `json:"queries"`
	}
	if err := getJSON(base, "/api/v1/saved-queries", &saved); err != nil || saved.Queries == nil {
		t.Fatalf("saved queries: %+v, %v", saved, err)
	}

	var replay struct {
		RuleID     string `json:"rule_id"`
		Events     int64  `json:"events"`
		AlertCount int    `json:"alert_count"`
	}
	if status := post("/api/v1/detections/"+seedRuleID+"/replay", `{"since":"1d"}`, &replay); status != 200 || replay.RuleID != seedRuleID || replay.AlertCount != 0 {
		t.Fatalf("replay: %d %+v", status, replay)
	}
	for path, want := range map[string]int{
		"/api/v1/detections/Nope/replay":                   404,
		"/api/v1/detections/Wiring.ManyFailures/replay":    400, // a scheduled rule
		"/api/v1/scheduled-queries/Nope/run":               404,
		"/api/v1/detections/" + seedRuleID + "/replay?x=1": 200,
	} {
		if status := post(path, `{"since":"2h"}`, nil); status != want {
			t.Errorf("POST %s: %d, want %d", path, status, want)
		}
	}
}
