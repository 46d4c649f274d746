package destinations_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prowl-siem/prowl/internal/destinations"
)

func pagerDutyEvent(t *testing.T, a destinations.Alert) map[string]any {
	t.Helper()
	srv, reqs := receiver(t, func(w http.ResponseWriter, _ int) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"success","message":"Event processed","dedup_key":"x"}`))
	})
	d := build(t, "pagerduty", fmt.Sprintf(`{"url":%q}`, srv.URL+"/v2/enqueue"), map[string]string{"routing_key": "R0UTINGKEY"})
	if err := send(t, d, a); err != nil {
		t.Fatal(err)
	}
	return decode(t, (<-reqs).Body)
}

func TestPagerDutyEvent(t *testing.T) {
	a := sampleAlert()
	ev := pagerDutyEvent(t, a)
	want := map[string]any{"routing_key": "R0UTINGKEY", "event_action": "trigger", "dedup_key": a.ID,
		"client": "prowl", "client_url": a.Link}
	for k, v := range want {
		if ev[k] != v {
			t.Errorf("%s = %#v, want %#v", k, ev[k], v)
		}
	}
	p := path(t, ev, "payload").(map[string]any)
	want = map[string]any{"summary": a.Title, "severity": "error", "source": "prowl", "timestamp": "2026-03-14T09:26:55Z",
		"class": "Okta.AdminRoleAssigned", "component": "Okta.SystemLog"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("payload.%s = %#v, want %#v", k, p[k], v)
		}
	}
	cd := path(t, p, "custom_details").(map[string]any)
	if cd["alert_id"] != a.ID || cd["rule_id"] != a.RuleID || cd["event_count"] != 1.0 || cd["first_event_at"] != "2026-03-14T09:26:53Z" {
		t.Errorf("custom_details %v", cd)
	}
	if path(t, cd, "alert_context", "role") != "SUPER_ADMIN" {
		t.Errorf("alert_context not embedded as an object: %v", cd["alert_context"])
	}
	links := path(t, ev, "links").([]any)
	if len(links) != 2 || path(t, links, 0, "href") != a.Link || path(t, links, 1, "text") != "Reference" {
		t.Errorf("links %v", links) // the runbook is prose, not a URL: no link
	}
}

func TestPagerDutySeverityMapping(t *testing.T) {
	f := func(sev, want string) {
		t.Helper()
		a := sampleAlert()
		a.Severity = sev
		if got := path(t, pagerDutyEvent(t, a), "payload", "severity"); got != want {
			t.Errorf("%s → %v, want %s", sev, got, want)
		}
	}
	f("CRITICAL", "critical")
	f("HIGH", "error")
	f("MEDIUM", "warning")
	f("LOW", "info")
	f("INFO", "info")
	f("", "info")
}

func TestPagerDutyLimitsAndDefaults(t *testing.T) {
	a := sampleAlert()
	a.Title = strings.Repeat("x", 2000) + "\nsecond line"
	a.ID = strings.Repeat("i", 300)
	a.Link = "javascript:alert(1)"
	a.Test = true
	ev := pagerDutyEvent(t, a)
	if n := len([]rune(path(t, ev, "payload", "summary").(string))); n != 1024 {
		t.Errorf("summary length %d, want 1024", n)
	}
	if !strings.HasPrefix(path(t, ev, "payload", "summary").(string), "[TEST] ") {
		t.Error("test alert not marked in the summary")
	}
	if n := len([]rune(ev["dedup_key"].(string))); n > 255 {
		t.Errorf("dedup_key length %d exceeds 255", n)
	}
	if _, ok := ev["client_url"]; ok {
		t.Errorf("non-web link used as client_url: %v", ev["client_url"])
	}

	// An alert without a title is summarised by its rule id.
	a = sampleAlert()
	a.Title = " \n "
	if got := path(t, pagerDutyEvent(t, a), "payload", "summary"); got != "Okta.AdminRoleAssigned" {
		t.Errorf("untitled summary %q", got)
	}

	// The default endpoint is PagerDuty's; the routing key is a required secret.
	spec, _ := destinations.Lookup("pagerduty")
	s, err := spec.Parse(json.RawMessage(`{}`))
	if err != nil || s.String("url") != "https://events.pagerduty.com/v2/enqueue" {
		t.Errorf("default url %q %v", s.String("url"), err)
	}
	if _, err := destinations.New(destinations.Config{ID: "p", Name: "p", Type: "pagerduty"}, secrets(nil)); err == nil ||
		!strings.Contains(err.Error(), "routing_key: is required") {
		t.Errorf("missing routing key: %v", err)
	}

	// 400 (invalid event) is permanent, 429 retryable.
	for status, permanent := range map[int]bool{400: true, 429: false, 500: false} {
		srv, _ := receiver(t, func(w http.ResponseWriter, _ int) { w.WriteHeader(status) })
		err := send(t, build(t, "pagerduty", fmt.Sprintf(`{"url":%q}`, srv.URL), map[string]string{"routing_key": "k"}), sampleAlert())
		if err == nil || destinations.IsPermanent(err) != permanent {
			t.Errorf("HTTP %d: %v, permanent %v", status, err, destinations.IsPermanent(err))
		}
	}
}
