package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/destinations"
	"github.com/prowl-siem/prowl/internal/oktasim"
	"github.com/prowl-siem/prowl/internal/store"
)

// The seed walkthrough's detection: repeated failed Okta sign-ins from one
// IP address within an hour.
const seedRuleID = "Walkthrough.FailedLogins"

const seedRulePy = `from panther_base_helpers import deep_get


def rule(event):
    return event.get("eventType") == "user.session.start" and deep_get(event, "outcome", "result") == "FAILURE"


def severity(event):
    if deep_get(event, "actor", "alternateId") == "admin":
        return "CRITICAL"
    return "MEDIUM"


def title(event):
    return f"Multiple Failed Logins for {deep_get(event, 'actor', 'alternateId')}"


def dedup(event):
    return deep_get(event, "client", "ipAddress")
`

const seedRuleYML = `AnalysisType: rule
Filename: failed_logins.py
RuleID: ` + seedRuleID + `
DisplayName: Multiple failed Okta logins
Enabled: true
LogTypes:
  - Okta.SystemLog
Severity: Medium
DedupPeriodMinutes: 60
Threshold: 5
`

// webhookCall is one request the test receiver got.
type webhookCall struct {
	payload destinations.Payload
	raw     []byte
}

// TestEndToEndSeedScenario runs the product as `prowl up` wires it: an Okta
// source polling a simulated org, the seed walkthrough's detection, the
// alert manager on an injectable clock, a webhook destination and the API.
// A non-admin user fails to sign in six times from one address: one MEDIUM
// alert, delivered once. An hour later (processing time) five more
// failures open a new dedup window: a second alert, delivered once.
func TestEndToEndSeedScenario(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	clock := newFakeClock(t0)

	const token = "00Xq3v7tT3stT0kenForTheSimulat0r"
	sim, simURL := oktasim.NewTestServer(t, oktasim.Options{Token: token, RateLimit: -1})

	hooks := make(chan webhookCall, 64)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		var p destinations.Payload
		if err == nil {
			err = json.Unmarshal(raw, &p)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case hooks <- webhookCall{payload: p, raw: raw}:
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		}
	}))
	defer receiver.Close()

	dataDir := t.TempDir()
	detections := t.TempDir()
	for name, text := range map[string]string{"failed_logins.py": seedRulePy, "failed_logins.yml": seedRuleYML} {
		if err := os.WriteFile(filepath.Join(detections, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Onboard the Okta org and the webhook the way the control plane keeps
	// them; the server starts stored sources.
	st, err := store.Open(filepath.Join(dataDir, "prowl.db"))
	if err != nil {
		t.Fatal(err)
	}
	const sourceID, destID = "okta-acme", "soar-webhook"
	srcConfig, _ := json.Marshal(map[string]any{"base_url": simURL, "poll_interval": "5s"})
	hookSettings, _ := json.Marshal(map[string]any{"url": receiver.URL + "/hooks/prowl"})
	err = errors.Join(
		st.PutSource(ctx, store.SourceRecord{ID: sourceID, Label: "Acme Okta", Type: "okta", LogTypes: []string{"Okta.SystemLog"}, Config: srcConfig, Enabled: true}),
		st.PutSecret(ctx, sourceID, "api_token", []byte(token)),
		st.PutDestination(ctx, destinations.Config{ID: destID, Name: "SOAR", Type: "webhook", Settings: hookSettings, Enabled: true}),
		st.Close(),
	)
	if err != nil {
		t.Fatal(err)
	}

	cfg := testConfig(t, "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--packs", "none",
		"--detections", detections, "--python-workers", "1")
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := New(ctx, cfg, logger, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	if err := srv.Start(ctx); err != nil {
		cancel()
		srv.Wait()
		srv.Close()
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		srv.Stop(10 * time.Second)
		cancel()
		srv.Wait()
		srv.Close()
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	api := "http://" + srv.Addr().String()

	var dets struct {
		Detections []struct {
			ID      string `json:"id"`
			Enabled bool   `json:"enabled"`
		} `json:"detections"`
		Problems []string `json:"problems"`
	}
	if err := getJSON(api, "/api/v1/detections", &dets); err != nil {
		t.Fatal(err)
	}
	if len(dets.Problems) > 0 {
		t.Errorf("detection problems: %q", dets.Problems)
	}
	enabled := 0
	for _, d := range dets.Detections {
		if d.Enabled {
			enabled++
			if d.ID != seedRuleID {
				t.Errorf("detection %s is enabled; with packs none only %s should be", d.ID, seedRuleID)
			}
		}
	}
	if enabled != 1 {
		t.Fatalf("%d enabled detections, want 1 (%s)", enabled, seedRuleID)
	}

	jane := oktaUser{ID: "00u1f2e3d4c5B6a7Z8y9", Login: "jane.doe@example.com", Name: "Jane Doe"}
	const attacker = "203.0.113.77"
	inject := func(n int) {
		t.Helper()
		base := time.Now().UTC().Add(-time.Duration(n+1) * time.Second)
		events := make([][]byte, n)
		for i := range events {
			events[i] = failedSignIn(jane, attacker, base.Add(time.Duration(i)*time.Second))
		}
		if err := sim.Add(events...); err != nil {
			t.Fatal(err)
		}
	}
	wantTitle := "Multiple Failed Logins for " + jane.Login
	checkAlert := func(a alerts.Alert, events int, created time.Time) {
		t.Helper()
		if a.Type != alerts.TypeRule || a.RuleID != seedRuleID || a.Severity != "MEDIUM" || a.Title != wantTitle ||
			a.Dedup != attacker || a.EventCount != events || a.Status != alerts.StatusOpen {
			t.Errorf("alert %s: type %s rule %s severity %s title %q dedup %q events %d status %s;\n"+
				"want RULE %s MEDIUM %q %q %d OPEN", a.ID, a.Type, a.RuleID, a.Severity, a.Title, a.Dedup, a.EventCount, a.Status,
				seedRuleID, wantTitle, attacker, events)
		}
		if !a.CreatedAt.Equal(created) {
			t.Errorf("alert %s created at %s, want the processing clock's %s", a.ID, a.CreatedAt, created)
		}
	}
	// awaitDelivery waits for the webhook call of alert id and checks that
	// it is delivered exactly once: one delivery record, delivered on the
	// first attempt (a delivered record is never attempted again).
	awaitDelivery := func(id string, minEvents int) {
		t.Helper()
		select {
		case call := <-hooks:
			p := call.payload
			if p.ID != id || p.RuleID != seedRuleID || p.Title != wantTitle || p.Severity != "MEDIUM" || p.DedupString != attacker ||
				p.EventCount < minEvents || p.Destination.ID != destID || p.Test {
				t.Errorf("webhook got %s, want alert %s of %s (%q, MEDIUM, dedup %s, at least %d events)", call.raw, id, seedRuleID, wantTitle, attacker, minEvents)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("alert %s was not delivered to the webhook within 30s", id)
		}
		eventually(t, 10*time.Second, "the delivery record of alert "+id, func() (bool, string) {
			ds, err := srv.store.ListDeliveries(ctx, id)
			if err != nil {
				return false, err.Error()
			}
			if len(ds) != 1 {
				return false, fmt.Sprintf("%d delivery records", len(ds))
			}
			d := ds[0]
			if d.Status == destinations.StatusPending {
				return false, "pending"
			}
			if d.Status != destinations.StatusDelivered || d.Attempts != 1 || d.DestinationID != destID {
				t.Fatalf("delivery of %s: status %s after %d attempts to %s (%s)", id, d.Status, d.Attempts, d.DestinationID, d.LastError)
			}
			return true, ""
		})
	}

	// Six failed sign-ins of a regular user from one address: threshold 5
	// is crossed, one alert.
	inject(6)
	var first alerts.Alert
	eventually(t, 30*time.Second, "one alert with 6 events", func() (bool, string) {
		list, err := listAlerts(api, seedRuleID)
		if err != nil {
			return false, err.Error()
		}
		if len(list) > 1 {
			t.Fatalf("%d alerts after six failures from one address, want 1: %+v", len(list), list)
		}
		if len(list) == 0 {
			return false, "no alert"
		}
		first = list[0]
		return first.EventCount >= 6, fmt.Sprintf("alert %s with %d events", first.ID, first.EventCount)
	})
	checkAlert(first, 6, t0)
	awaitDelivery(first.ID, 5)
	t.Logf("first alert %s with %d events after %s", first.ID, first.EventCount, time.Since(started).Round(time.Millisecond))

	// An hour later (processing time) the window has closed: five more
	// failures reach the threshold in a new window, which is a new alert.
	t1 := clock.Advance(61 * time.Minute)
	inject(5)
	var second alerts.Alert
	eventually(t, 30*time.Second, "a second alert with 5 events", func() (bool, string) {
		list, err := listAlerts(api, seedRuleID)
		if err != nil {
			return false, err.Error()
		}
		if len(list) > 2 {
			t.Fatalf("%d alerts, want 2: %+v", len(list), list)
		}
		if len(list) < 2 {
			return false, fmt.Sprintf("%d alerts", len(list))
		}
		if list[0].ID != first.ID {
			t.Fatalf("the oldest alert is %s, want %s", list[0].ID, first.ID)
		}
		first, second = list[0], list[1]
		return second.EventCount >= 5, fmt.Sprintf("second alert %s with %d events", second.ID, second.EventCount)
	})
	if second.ID == first.ID {
		t.Fatalf("the second window reused alert id %s", first.ID)
	}
	checkAlert(first, 6, t0) // the first window is closed: it is not updated
	checkAlert(second, 5, t1)
	awaitDelivery(second.ID, 5)
	t.Logf("second alert %s with %d events after %s", second.ID, second.EventCount, time.Since(started).Round(time.Millisecond))

	var health healthView
	if err := getJSON(api, "/api/v1/health", &health); err != nil {
		t.Fatal(err)
	}
	if len(health.Sources) != 1 || health.Sources[0].SourceID != sourceID || health.Sources[0].Events != 11 || health.Sources[0].LastError != "" {
		t.Errorf("health of the sources: %+v, want %s with 11 events and no error", health.Sources, sourceID)
	}

	// Once the server has stopped nothing can be sent any more: the
	// receiver got each alert exactly once.
	stop()
	for len(hooks) > 0 {
		t.Errorf("extra webhook call: %s", (<-hooks).raw)
	}
}
