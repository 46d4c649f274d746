package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/store"
)

const failedLoginsQuery = `AnalysisType: scheduled_query
QueryName: Failed Logins Per User
Enabled: true
Description: Failed Okta sign-ins per user over the last schedule period.
Query: |
  SELECT (actor ->> '$.alternateId') AS username, count(*) AS failures, max(p_event_time) AS p_event_time
  FROM okta_systemlog
  WHERE p_occurs_in_lookback()
    AND eventType = 'user.session.start'
    AND (outcome ->> '$.result') = 'FAILURE'
  GROUP BY ALL
  ORDER BY username
Schedule:
  RateMinutes: 15
  TimeoutMinutes: 1
`

const savedQuery = `AnalysisType: saved_query
QueryName: Recent Okta Events
Query: SELECT * FROM okta_systemlog WHERE p_occurs_since('1 hour') LIMIT 10
`

const manyFailuresSpec = `AnalysisType: scheduled_rule
RuleID: Test.ManyFailures
Filename: many_failures.py
Enabled: true
Severity: High
ScheduledQueries: [Failed Logins Per User]
`

const manyFailuresPy = `def rule(event):
    return event.get("failures", 0) >= 3


def title(event):
    return f"{event.get('username')} failed to sign in {event.get('failures')} times"


def dedup(event):
    return event.get("username")
`

// No rule(): every row matches. A threshold of 2 needs two rows (two runs)
// for the same user within the dedup period.
const anyFailureSpec = `AnalysisType: scheduled_rule
RuleID: Test.AnyFailure
Filename: any_failure.py
Enabled: true
Severity: Low
Threshold: 2
ScheduledQueries: [Failed Logins Per User]
`

const anyFailurePy = `def title(event):
    return f"failed sign-ins by {event.get('username')}"


def dedup(event):
    return event.get("username")
`

func oktaEvent(eventType, user, result string, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"uuid": fmt.Sprintf("%s-%s-%d", eventType, user, at.UnixNano()), "published": at.UTC().Format("2006-01-02T15:04:05.000Z"),
		"eventType": eventType, "version": "0", "severity": "INFO", "displayMessage": "User login to Okta",
		"actor":   map[string]any{"id": "00u" + user[:3], "type": "User", "alternateId": user, "displayName": user},
		"client":  map[string]any{"ipAddress": "203.0.113.7", "geographicalContext": map[string]any{"country": "Germany"}},
		"outcome": map[string]any{"result": result, "reason": "INVALID_CREDENTIALS"},
	})
	return b
}

func TestScheduledRuleFiresOnSchedule(t *testing.T) {
	start := time.Date(2026, 3, 4, 10, 7, 0, 0, time.UTC)
	w := newWorld(t, start, map[string]string{
		"failed_logins.yml": failedLoginsQuery, "recent.yml": savedQuery,
		"many_failures.yml": manyFailuresSpec, "many_failures.py": manyFailuresPy,
		"any_failure.yml": anyFailureSpec, "any_failure.py": anyFailurePy,
	})
	at := func(hhmm string) time.Time {
		t, _ := time.Parse("15:04", hhmm)
		return time.Date(2026, 3, 4, t.Hour(), t.Minute(), 0, 0, time.UTC)
	}
	var raws [][]byte
	for _, m := range []string{"10:02", "10:03", "10:05", "10:06"} {
		raws = append(raws, oktaEvent("user.session.start", "jane@example.com", "FAILURE", at(m)))
	}
	raws = append(raws,
		oktaEvent("user.session.start", "bob@example.com", "FAILURE", at("10:04")),
		oktaEvent("user.session.start", "bob@example.com", "SUCCESS", at("10:05")),
		oktaEvent("user.session.start", "jane@example.com", "FAILURE", at("09:58")), // before the first window
	)
	w.ingest("Okta.SystemLog", raws...)

	runs := make(chan store.ScheduledRun, 8)
	sch, _ := w.scheduler(runs)
	qs, err := sch.Queries(context.Background(), 5)
	if err != nil || len(qs) != 1 {
		t.Fatalf("Queries = %+v, %v", qs, err)
	}
	if q := qs[0]; !q.NextRun.Equal(at("10:15")) || q.Schedule != "every 15m" || strings.Join(q.Rules, ",") != "Test.AnyFailure,Test.ManyFailures" {
		t.Fatalf("query status: next %s, schedule %q, rules %v", q.NextRun, q.Schedule, q.Rules)
	}
	if saved := sch.SavedQueries(); len(saved) != 1 || saved[0].Name != "Recent Okta Events" {
		t.Fatalf("saved queries: %+v", saved)
	}

	// Nothing runs before 10:15.
	w.clock.Set(at("10:14"))
	noRun(t, runs)

	// 10:15: the query reads [10:00, 10:15): jane 4 failures, bob 1.
	w.clock.Set(at("10:15"))
	r := wait(t, runs)
	if r.Status != store.RunOK || r.Name != "Failed Logins Per User" || r.Trigger != store.TriggerSchedule || !r.ScheduledAt.Equal(at("10:15")) ||
		r.Rows != 2 || r.Matches != 3 || r.Alerts != 1 {
		t.Fatalf("first run: %+v", r)
	}
	many := w.storedAlerts("Test.ManyFailures")
	if len(many) != 1 || many[0].Title != "jane@example.com failed to sign in 4 times" || many[0].Dedup != "jane@example.com" || many[0].Severity != "HIGH" {
		t.Fatalf("Test.ManyFailures alerts: %+v", many)
	}
	if !many[0].LastEventAt.Equal(at("10:06")) {
		t.Errorf("the alert's event time is the row's p_event_time: %s", many[0].LastEventAt)
	}
	if got := w.storedAlerts("Test.AnyFailure"); len(got) != 0 {
		t.Fatalf("threshold 2 reached after one row: %+v", got)
	}
	if n := w.notifiedAlerts(); len(n) != 1 || n[0].ID != many[0].ID {
		t.Fatalf("notified: %+v", n)
	}

	// More failures by jane; the 10:30 run reads [10:15, 10:30).
	w.ingest("Okta.SystemLog",
		oktaEvent("user.session.start", "jane@example.com", "FAILURE", at("10:20")),
		oktaEvent("user.session.start", "jane@example.com", "FAILURE", at("10:21")))
	w.clock.Set(at("10:30"))
	r = wait(t, runs)
	// jane's second row is Test.AnyFailure's second match for her within
	// its dedup period: now it alerts. Test.ManyFailures' rule() is false
	// for 2 failures.
	if r.Status != store.RunOK || r.Rows != 1 || r.Matches != 1 || r.Alerts != 1 {
		t.Fatalf("second run: %+v", r)
	}
	anyF := w.storedAlerts("Test.AnyFailure")
	if len(anyF) != 1 || anyF[0].Title != "failed sign-ins by jane@example.com" || anyF[0].EventCount != 2 {
		t.Fatalf("Test.AnyFailure alerts: %+v", anyF)
	}

	// A clock that jumps past several firing times runs once, for the
	// latest of them.
	w.clock.Set(at("11:20"))
	r = wait(t, runs)
	if !r.ScheduledAt.Equal(at("11:15")) || r.Rows != 0 || r.Alerts != 0 {
		t.Fatalf("late run: %+v", r)
	}
	noRun(t, runs)

	// Run now: the lookback is the current schedule period, ending now.
	r, err = sch.RunNow(context.Background(), "Failed Logins Per User")
	if err != nil || r.Trigger != store.TriggerManual || r.Status != store.RunOK {
		t.Fatalf("RunNow: %+v, %v", r, err)
	}
	<-runs
	if _, err := sch.RunNow(context.Background(), "nope"); err == nil {
		t.Fatal("RunNow of an unknown query")
	}

	hist, err := sch.Runs(context.Background(), "Failed Logins Per User", 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hist {
		got = append(got, fmt.Sprintf("%s %s rows=%d matches=%d alerts=%d", h.Trigger, h.Status, h.Rows, h.Matches, h.Alerts))
		if h.FinishedAt == nil || h.StartedAt.IsZero() {
			t.Errorf("run %d has no start or end", h.ID)
		}
	}
	want := []string{
		"manual ok rows=0 matches=0 alerts=0",
		"schedule ok rows=0 matches=0 alerts=0",
		"schedule ok rows=1 matches=1 alerts=1",
		"schedule ok rows=2 matches=3 alerts=1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	qs, _ = sch.Queries(context.Background(), 2)
	if len(qs[0].LastRuns) != 2 || !qs[0].NextRun.Equal(at("11:30")) {
		t.Fatalf("status after the runs: %+v", qs[0])
	}
}

func TestScheduledQueryErrors(t *testing.T) {
	start := time.Date(2026, 3, 4, 10, 7, 0, 0, time.UTC)
	bad := strings.Replace(failedLoginsQuery, "count(*) AS failures", "count(nope) AS failures", 1)
	w := newWorld(t, start, map[string]string{"failed_logins.yml": bad, "many_failures.yml": manyFailuresSpec, "many_failures.py": manyFailuresPy})
	w.ingest("Okta.SystemLog", oktaEvent("user.session.start", "jane@example.com", "FAILURE", start))
	runs := make(chan store.ScheduledRun, 8)
	w.scheduler(runs)
	w.clock.Set(start.Add(8 * time.Minute))
	r := wait(t, runs)
	if r.Status != store.RunError || !strings.Contains(r.Error, "nope") {
		t.Fatalf("run of a broken query: %+v", r)
	}
}
