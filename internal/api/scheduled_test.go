package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/store"
)

// fakeScheduler answers from canned data and records replays.
type fakeScheduler struct {
	replays []string
}

func (f *fakeScheduler) ScheduledQueries(context.Context) ([]ScheduledQuery, []ScheduledCorrelation, error) {
	next := t0.Add(15 * time.Minute)
	return []ScheduledQuery{{Name: "Failed Logins", Enabled: true, SQL: "SELECT 1", Schedule: QuerySchedule{RateMinutes: 15, Description: "every 15m"},
		NextRun: &next, Rules: []string{"Test.Rule"}, LastRuns: []store.ScheduledRun{{ID: 1, Kind: "query", Name: "Failed Logins", Status: "ok", Rows: 3}}}}, nil, nil
}

func (f *fakeScheduler) ScheduledRuns(_ context.Context, name string, limit int) ([]store.ScheduledRun, error) {
	if name != "Failed Logins" {
		return nil, nil
	}
	return []store.ScheduledRun{{ID: 2, Name: name, Status: "timeout", Error: fmt.Sprint("limit ", limit)}}, nil
}

func (f *fakeScheduler) RunScheduled(_ context.Context, name string) (store.ScheduledRun, error) {
	if name != "Failed Logins" {
		return store.ScheduledRun{}, fmt.Errorf("%w: no scheduled query %s", store.ErrNotFound, name)
	}
	return store.ScheduledRun{ID: 3, Name: name, Trigger: "manual", Status: "ok"}, nil
}

func (f *fakeScheduler) SavedQueries(context.Context) ([]SavedQuery, error) {
	return []SavedQuery{{Name: "Recent", SQL: "SELECT 2"}}, nil
}

func (f *fakeScheduler) Replay(_ context.Context, id string, since, until time.Time) (*ReplayResponse, error) {
	f.replays = append(f.replays, fmt.Sprintf("%s %s %s", id, since.Format(time.RFC3339), until.Format(time.RFC3339)))
	switch id {
	case "Busy":
		return nil, fmt.Errorf("%w: another replay is running", ErrBusy)
	case "Policy":
		return nil, fmt.Errorf("%w: a policy", ErrInvalid)
	}
	return &ReplayResponse{RuleID: id, Kind: "rule", From: since, To: until, AlertCount: 1,
		Alerts: []ReplayAlert{{ID: "x", Title: "t", Dedup: "d", EventCount: 2}}}, nil
}

func TestScheduledEndpoints(t *testing.T) {
	fs := &fakeScheduler{}
	mux := http.NewServeMux()
	(&Server{Scheduler: fs, Now: func() time.Time { return t0 }}).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	status, body := call(t, srv, "GET", "/api/v1/scheduled-queries", "", "")
	var list struct {
		Queries      []ScheduledQuery       `json:"queries"`
		Correlations []ScheduledCorrelation `json:"correlation_rules"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Queries) != 1 || list.Correlations == nil ||
		list.Queries[0].LastRuns[0].Rows != 3 || !strings.Contains(body, `"correlation_rules":[]`) {
		t.Fatalf("list: %d %s", status, body)
	}
	status, body = call(t, srv, "GET", "/api/v1/scheduled-queries/Failed%20Logins/runs?limit=7", "", "")
	if status != 200 || !strings.Contains(body, `"status":"timeout"`) || !strings.Contains(body, "limit 7") {
		t.Fatalf("runs: %d %s", status, body)
	}
	if status, body = call(t, srv, "GET", "/api/v1/scheduled-queries/Nope/runs", "", ""); status != 200 || !strings.Contains(body, `"runs":[]`) {
		t.Fatalf("runs of an unknown query: %d %s", status, body)
	}
	if status, _ = call(t, srv, "GET", "/api/v1/scheduled-queries/x/runs?limit=0", "", ""); status != 400 {
		t.Fatalf("bad limit: %d", status)
	}
	if status, body = call(t, srv, "POST", "/api/v1/scheduled-queries/Failed%20Logins/run", "", ""); status != 200 || !strings.Contains(body, `"trigger":"manual"`) {
		t.Fatalf("run now: %d %s", status, body)
	}
	if status, _ = call(t, srv, "POST", "/api/v1/scheduled-queries/Nope/run", "", ""); status != 404 {
		t.Fatalf("run an unknown query: %d", status)
	}
	if status, body = call(t, srv, "GET", "/api/v1/saved-queries", "", ""); status != 200 || !strings.Contains(body, `"name":"Recent"`) {
		t.Fatalf("saved: %d %s", status, body)
	}

	status, body = call(t, srv, "POST", "/api/v1/detections/Okta.X/replay", `{"since":"2024-04-01T00:00:00Z"}`, "")
	if status != 200 || !strings.Contains(body, `"alert_count":1`) || !strings.Contains(body, `"by_dedup":[]`) {
		t.Fatalf("replay: %d %s", status, body)
	}
	if fs.replays[0] != "Okta.X 2024-04-01T00:00:00Z 2024-05-01T10:00:00Z" {
		t.Errorf("replay request: %s", fs.replays[0])
	}
	call(t, srv, "POST", "/api/v1/detections/Okta.X/replay", `{"since":"2024-04-01T00:00:00Z","until":"2024-04-02T00:00:00Z"}`, "")
	if fs.replays[1] != "Okta.X 2024-04-01T00:00:00Z 2024-04-02T00:00:00Z" {
		t.Errorf("replay request: %s", fs.replays[1])
	}
	for body, want := range map[string]int{`{}`: 400, `{"since":"yesterday"}`: 400, `{"since":"1d","until":"x"}`: 400, `{"since":"1d","extra":1}`: 400} {
		if status, _ := call(t, srv, "POST", "/api/v1/detections/Okta.X/replay", body, ""); status != want {
			t.Errorf("replay %s: %d, want %d", body, status, want)
		}
	}
	if status, _ = call(t, srv, "POST", "/api/v1/detections/Busy/replay", `{"since":"1d"}`, ""); status != 409 {
		t.Errorf("busy: %d", status)
	}
	if status, _ = call(t, srv, "POST", "/api/v1/detections/Policy/replay", `{"since":"1d"}`, ""); status != 400 {
		t.Errorf("not replayable: %d", status)
	}

	// Without a scheduler: 501.
	mux = http.NewServeMux()
	(&Server{}).Routes(mux)
	bare := httptest.NewServer(mux)
	t.Cleanup(bare.Close)
	if status, _ = call(t, bare, "GET", "/api/v1/scheduled-queries", "", ""); status != 501 {
		t.Errorf("no scheduler: %d", status)
	}
}
