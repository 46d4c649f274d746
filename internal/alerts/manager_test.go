package alerts

import (
	"context"
	"errors"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func setup(t *testing.T, opts Options) (*Manager, *MemoryStore, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2024, 5, 1, 10, 7, 0, 0, time.UTC)}
	opts.Now = c.now
	store := NewMemoryStore()
	m, err := NewManager(context.Background(), store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, store, c
}

func failedLogin(dedup string) Match {
	return Match{Type: TypeRule, RuleID: "Okta.BruteForce", Dedup: dedup, Title: "Failed logins from " + dedup, Severity: "MEDIUM",
		DedupPeriod: 60 * time.Minute, Threshold: 5, LogType: "Okta.SystemLog", EventTime: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
}

func process(t *testing.T, m *Manager, matches ...Match) []Alert {
	t.Helper()
	created, err := m.Process(context.Background(), matches, nil)
	if err != nil {
		t.Fatal(err)
	}
	return created
}

func TestThresholdAndDedupWindow(t *testing.T) {
	m, store, clk := setup(t, Options{})
	for i := range 4 {
		if got := process(t, m, failedLogin("203.0.113.9")); len(got) != 0 {
			t.Fatalf("match %d: no alert before the threshold, got %+v", i+1, got)
		}
	}
	created := process(t, m, failedLogin("203.0.113.9"))
	if len(created) != 1 || created[0].EventCount != 5 || created[0].Severity != "MEDIUM" || created[0].Status != StatusOpen {
		t.Fatalf("the 5th match crosses the threshold: %+v", created)
	}
	first := created[0].ID
	clk.advance(59 * time.Minute)
	if got := process(t, m, failedLogin("203.0.113.9"), failedLogin("203.0.113.9")); len(got) != 0 {
		t.Fatalf("matches inside the window update the alert without a new one: %+v", got)
	}
	if a := store.Alerts(); len(a) != 1 || a[0].EventCount != 7 {
		t.Fatalf("stored alert should count 7 events: %+v", a)
	}
	// The window is fixed from its first match (10:07), so at 11:07 a new
	// generation starts and needs the threshold again.
	clk.advance(time.Minute)
	if got := process(t, m, failedLogin("203.0.113.9")); len(got) != 0 {
		t.Fatalf("a new window starts counting from one: %+v", got)
	}
	created = process(t, m, failedLogin("203.0.113.9"), failedLogin("203.0.113.9"), failedLogin("203.0.113.9"), failedLogin("203.0.113.9"))
	if len(created) != 1 || created[0].ID == first || created[0].EventCount != 5 {
		t.Fatalf("second window's alert: %+v", created)
	}
	if n := len(store.Events(first)); n != 7 {
		t.Errorf("first alert keeps its 7 events, got %d", n)
	}
	// Another dedup string is another window.
	for range 4 {
		process(t, m, failedLogin("198.51.100.1"))
	}
	if len(store.Alerts()) != 2 {
		t.Errorf("another dedup string must not join the first window")
	}
}

func TestUniqueThresholdCountsDistinctValues(t *testing.T) {
	m, _, _ := setup(t, Options{})
	spray := func(user string) Match {
		mt := failedLogin("203.0.113.9")
		mt.Threshold, mt.Unique = 3, &user
		return mt
	}
	if got := process(t, m, spray("a"), spray("a"), spray("b"), spray("b")); len(got) != 0 {
		t.Fatalf("two distinct users are below a threshold of 3: %+v", got)
	}
	created := process(t, m, spray("c"))
	if len(created) != 1 || created[0].EventCount != 5 {
		t.Fatalf("the third distinct user alerts, counting all 5 events: %+v", created)
	}
}

func TestRuleErrorsAreSeparateAndNotThresholded(t *testing.T) {
	m, _, _ := setup(t, Options{})
	rule := failedLogin("KeyError")
	ruleErr := rule
	ruleErr.Type, ruleErr.Title = TypeRuleError, "KeyError('actor')"
	created := process(t, m, rule, ruleErr)
	if len(created) != 1 || created[0].Type != TypeRuleError {
		t.Fatalf("a rule error alerts at once, apart from rule matches with the same dedup: %+v", created)
	}
	if got := process(t, m, ruleErr); len(got) != 0 {
		t.Errorf("the same error type within the dedup period joins the alert: %+v", got)
	}
}

func TestLimiterSuppressesAndRaisesOneSystemAlert(t *testing.T) {
	m, _, clk := setup(t, Options{AlertsPerHour: 2})
	single := func(dedup string) Match {
		mt := failedLogin(dedup)
		mt.Threshold = 1
		return mt
	}
	created := process(t, m, single("a"), single("b"), single("c"), single("d"))
	var rule, system int
	for _, a := range created {
		switch a.Type {
		case TypeRule:
			rule++
		case TypeSystem:
			system++
		}
	}
	if rule != 2 || system != 1 {
		t.Fatalf("want 2 alerts and 1 system alert, got %d and %d: %+v", rule, system, created)
	}
	clk.advance(time.Hour)
	if got := process(t, m, single("e")); len(got) != 1 || got[0].Type != TypeRule {
		t.Errorf("a new hour allows alerts again: %+v", got)
	}
}

func TestStateSurvivesRestartAndFailedCommitsRollBack(t *testing.T) {
	m, store, clk := setup(t, Options{})
	process(t, m, failedLogin("x"), failedLogin("x"), failedLogin("x"))
	restarted, err := NewManager(context.Background(), store, Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	store.Fail = errors.New("disk full")
	if _, err := restarted.Process(context.Background(), []Match{failedLogin("x"), failedLogin("x")}, &Offset{Consumer: "engine", Value: 9}); err == nil {
		t.Fatal("a failed commit must be reported")
	}
	created, err := restarted.Process(context.Background(), []Match{failedLogin("x"), failedLogin("x")}, &Offset{Consumer: "engine", Value: 9})
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 1 || created[0].EventCount != 5 {
		t.Fatalf("after restart and a failed commit the window holds 3 + 2 matches: %+v", created)
	}
	if off, _ := store.LoadOffset(context.Background(), "engine"); off != 9 {
		t.Errorf("the offset commits with the alerts")
	}
	// Replaying the same alert ID (a crash after commit, before the offset
	// moved elsewhere) does not duplicate it.
	if n := len(store.Alerts()); n != 1 {
		t.Errorf("alerts stored: %d", n)
	}
}

func TestSignalsCountWithoutAlerting(t *testing.T) {
	m, store, _ := setup(t, Options{})
	sig := failedLogin("s")
	sig.Threshold, sig.Signal = 1, true
	if got := process(t, m, sig, sig); len(got) != 0 || len(store.Alerts()) != 0 {
		t.Errorf("CreateAlert: false must not alert: %+v", got)
	}
}

func TestAlertIDIsDeterministic(t *testing.T) {
	if alertID("R", 1, "d") != alertID("R", 1, "d") || alertID("R", 1, "d") == alertID("R", 2, "d") {
		t.Error("alert IDs derive from rule, generation and dedup")
	}
}

func TestOnCommittedSeesEveryMatchWithItsAlertID(t *testing.T) {
	var gotIDs []string
	m, _, _ := setup(t, Options{OnCommitted: func(_ context.Context, ms []Match, ids []string) {
		if len(ms) != len(ids) {
			t.Errorf("%d matches, %d ids", len(ms), len(ids))
		}
		gotIDs = append(gotIDs, ids...)
	}})
	process(t, m, failedLogin("a"), failedLogin("a"), failedLogin("b"))
	created := process(t, m, failedLogin("a"), failedLogin("a"), failedLogin("a"))
	if len(gotIDs) != 6 || gotIDs[0] != gotIDs[1] || gotIDs[0] == gotIDs[2] || len(created) != 1 || created[0].ID != gotIDs[0] {
		t.Errorf("matches of one window share the ID of the alert it creates: %v %+v", gotIDs, created)
	}
}
