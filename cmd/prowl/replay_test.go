package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/api"
	"github.com/prowl-siem/prowl/internal/store"
)

// cliScheduler answers replays from canned data.
type cliScheduler struct{ got []string }

func (s *cliScheduler) ScheduledQueries(context.Context) ([]api.ScheduledQuery, []api.ScheduledCorrelation, error) {
	return nil, nil, nil
}
func (s *cliScheduler) ScheduledRuns(context.Context, string, int) ([]store.ScheduledRun, error) {
	return nil, nil
}
func (s *cliScheduler) RunScheduled(context.Context, string) (store.ScheduledRun, error) {
	return store.ScheduledRun{}, nil
}
func (s *cliScheduler) SavedQueries(context.Context) ([]api.SavedQuery, error) { return nil, nil }

func (s *cliScheduler) Replay(_ context.Context, id string, since, until time.Time) (*api.ReplayResponse, error) {
	s.got = append(s.got, fmt.Sprintf("%s %s", id, until.Sub(since).Round(time.Hour)))
	if id == "Busy" {
		return nil, fmt.Errorf("%w: another replay is running", api.ErrBusy)
	}
	first, last := since.Add(time.Hour), since.Add(5*time.Hour)
	return &api.ReplayResponse{RuleID: id, Kind: "rule", From: since, To: until, Tables: []string{"okta_systemlog"}, Total: 1200, Events: 1200,
		Matches: 14, AlertCount: 3, FirstMatch: &first, LastMatch: &last, ElapsedMS: 2345,
		ByDedup: []api.ReplayDedup{{Dedup: "jane@example.com", Alerts: 2, Matches: 11}, {Dedup: "evil\x1b[31m", Alerts: 1, Matches: 3}},
		Alerts: []api.ReplayAlert{
			{Title: "Brute force on jane@example.com", Severity: "MEDIUM", EventCount: 6, CreatedAt: first},
			{Title: "Brute force on jane@example.com", Severity: "MEDIUM", EventCount: 5, CreatedAt: first.Add(2 * time.Hour)},
			{Title: "Brute force on evil\x1b[31m", Severity: "HIGH", EventCount: 3, CreatedAt: last},
		}}, nil
}

func TestReplayCommand(t *testing.T) {
	sch := &cliScheduler{}
	mux := http.NewServeMux()
	(&api.Server{Scheduler: sch}).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	out, code := prowl(t, "replay", "--server", srv.URL, "--since", "30d", "Okta.BruteForceByUser")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if sch.got[0] != "Okta.BruteForceByUser 720h0m0s" {
		t.Errorf("request: %s", sch.got[0])
	}
	for _, want := range []string{"Okta.BruteForceByUser (rule) over", "okta_systemlog", "events read         1200 of 1200", "matches             14",
		"alerts              3 (2 dedup strings)", "jane@example.com  2       11", `evil\x1b[31m`, "Brute force on jane@example.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("raw escape in the output: %q", out)
	}
	if out, code = prowl(t, "replay", "--server", srv.URL, "--since", "7d", "--format", "json", "Okta.X"); code != 0 || !strings.Contains(out, `"alert_count": 3`) {
		t.Errorf("json: %d %s", code, out)
	}
	if out, code = prowl(t, "replay", "--server", srv.URL, "Busy"); code == 0 || !strings.Contains(out, "HTTP 409") {
		t.Errorf("busy: %d %s", code, out)
	}
}
