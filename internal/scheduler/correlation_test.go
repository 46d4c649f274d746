package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/store"
)

// Denials then a sign-in by the same user within 30 minutes.
const denialsThenSignIn = `AnalysisType: correlation_rule
RuleID: Test.DenialsThenSignIn
DisplayName: Push denials followed by a sign-in
Enabled: true
Severity: High
Detection:
  - Sequence:
      - ID: Denials
        RuleID: Test.PushDenied
        MinMatchCount: 3
      - ID: SignIn
        RuleID: Test.SignIn
    Transitions:
      - ID: Denials FOLLOWED BY SignIn
        From: Denials
        To: SignIn
        WithinTimeFrameMinutes: 30
        Match:
          - On: actor.alternateId
    Schedule:
      RateMinutes: 15
      TimeoutMinutes: 1
    LookbackWindowMinutes: 60
`

// Denials NOT followed by a sign-in by the same user within 10 minutes.
const denialsNoSignIn = `AnalysisType: correlation_rule
RuleID: Test.DenialsNoSignIn
DisplayName: Push denials not followed by a sign-in
Enabled: true
Severity: Medium
Detection:
  - Sequence:
      - ID: Denials
        RuleID: Test.PushDenied
        MinMatchCount: 3
      - ID: SignIn
        RuleID: Test.SignIn
        Absence: true
    Transitions:
      - ID: Denials NOT FOLLOWED BY SignIn
        From: Denials
        To: SignIn
        WithinTimeFrameMinutes: 10
        Match:
          - On: actor.alternateId
    Schedule:
      CronExpression: "*/15 * * * *"
      TimeoutMinutes: 1
    LookbackWindowMinutes: 60
`

func ruleMatch(ruleID, user string, at time.Time, n int) lake.RuleMatch {
	ev, _ := json.Marshal(map[string]any{"eventType": "x", "actor": map[string]any{"alternateId": user}, "published": at.Format(time.RFC3339)})
	return lake.RuleMatch{RowID: fmt.Sprintf("row-%s-%d", user[:3], n), LogType: "Okta.SystemLog", EventTime: at,
		AlertID: fmt.Sprintf("alert-%s-%s", ruleID, user[:3]), RuleID: ruleID, Severity: "LOW",
		AlertContext: json.RawMessage(`{"who":"` + user + `"}`), AlertCreationTime: at, Event: ev}
}

func TestCorrelationLive(t *testing.T) {
	day := func(hhmm string) time.Time {
		t, _ := time.Parse("15:04", hhmm)
		return time.Date(2026, 3, 4, t.Hour(), t.Minute(), 0, 0, time.UTC)
	}
	w := newWorld(t, day("10:08"), map[string]string{"a.yml": denialsThenSignIn, "b.yml": denialsNoSignIn})
	w.writeMatches(
		// jane: three denials, then a sign-in: the sequence, and the
		// absence broken.
		ruleMatch("Test.PushDenied", "jane@example.com", day("10:01"), 1),
		ruleMatch("Test.PushDenied", "jane@example.com", day("10:02"), 2),
		ruleMatch("Test.PushDenied", "jane@example.com", day("10:04"), 3),
		ruleMatch("Test.SignIn", "jane@example.com", day("10:07"), 4),
		// amy: three denials and nothing after them.
		ruleMatch("Test.PushDenied", "amy@example.com", day("10:03"), 1),
		ruleMatch("Test.PushDenied", "amy@example.com", day("10:05"), 2),
		ruleMatch("Test.PushDenied", "amy@example.com", day("10:06"), 3),
		// bob: a sign-in after only two denials: nothing.
		ruleMatch("Test.PushDenied", "bob@example.com", day("10:01"), 1),
		ruleMatch("Test.PushDenied", "bob@example.com", day("10:02"), 2),
		ruleMatch("Test.SignIn", "bob@example.com", day("10:03"), 3),
	)
	runs := make(chan store.ScheduledRun, 8)
	sch, stop := w.scheduler(runs)
	byRule := func(n int) map[string]store.ScheduledRun {
		t.Helper()
		out := map[string]store.ScheduledRun{}
		for range n {
			r := wait(t, runs)
			if r.Kind != store.RunKindCorrelation || r.Status != store.RunOK {
				t.Fatalf("run: %+v", r)
			}
			out[r.Name] = r
		}
		return out
	}

	// 10:15: jane's sequence is decided; amy's absence window is open
	// until 10:16, so it waits.
	w.clock.Set(day("10:15"))
	got := byRule(2)
	if r := got["Test.DenialsThenSignIn"]; r.Rows != 10 || r.Matches != 1 || r.Alerts != 1 {
		t.Fatalf("sequence run: %+v", r)
	}
	if r := got["Test.DenialsNoSignIn"]; r.Rows != 10 || r.Alerts != 0 {
		t.Fatalf("absence run at 10:15: %+v", r)
	}
	seq := w.storedAlerts("Test.DenialsThenSignIn")
	if len(seq) != 1 {
		t.Fatalf("sequence alerts: %+v", seq)
	}
	a := seq[0]
	if a.Title != "Push denials followed by a sign-in" || a.Severity != "HIGH" || a.Dedup != "jane@example.com" || a.Type != "RULE" {
		t.Errorf("alert: %+v", a)
	}
	var ac struct {
		AlertIDs []string `json:"alert_ids"`
		RowIDs   []string `json:"row_ids"`
		Steps    []struct {
			ID      string `json:"id"`
			Matches int    `json:"matches"`
		} `json:"steps"`
		CorrelationID string `json:"correlation_id"`
	}
	if err := json.Unmarshal(a.AlertContext, &ac); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ac.AlertIDs, ",") != "alert-Test.PushDenied-jan,alert-Test.SignIn-jan" ||
		strings.Join(ac.RowIDs, ",") != "row-jan-1,row-jan-2,row-jan-3,row-jan-4" ||
		len(ac.Steps) != 2 || ac.Steps[0].Matches != 3 || ac.Steps[1].Matches != 1 || ac.CorrelationID == "" {
		t.Errorf("alert context: %s", a.AlertContext)
	}
	if !a.FirstEventAt.Equal(day("10:07")) {
		t.Errorf("the alert's event is the last contributing match: %s", a.FirstEventAt)
	}
	if n := w.notifiedAlerts(); len(n) != 1 {
		t.Errorf("notified: %+v", n)
	}

	// 10:30: jane's result again: seen, so not even a match for the alert
	// manager (whose dedup would otherwise fold it into the alert, adding
	// to its event count); amy's absence is now decided; jane's broken
	// absence never alerts.
	w.clock.Set(day("10:30"))
	got = byRule(2)
	if r := got["Test.DenialsThenSignIn"]; r.Alerts != 0 || r.Matches != 0 {
		t.Fatalf("sequence run at 10:30: %+v", r)
	}
	if r := got["Test.DenialsNoSignIn"]; r.Alerts != 1 {
		t.Fatalf("absence run at 10:30: %+v", r)
	}
	if seq := w.storedAlerts("Test.DenialsThenSignIn"); len(seq) != 1 || seq[0].EventCount != 1 {
		t.Fatalf("sequence alerts at 10:30: %+v", seq)
	}
	abs := w.storedAlerts("Test.DenialsNoSignIn")
	if len(abs) != 1 || abs[0].Dedup != "amy@example.com" {
		t.Fatalf("absence alerts: %+v", abs)
	}

	// A late sign-in by jane within the lookback: it joins her old burst,
	// which was alerted on: no new alert.
	w.writeMatches(ruleMatch("Test.SignIn", "jane@example.com", day("10:31"), 5))

	// Restart: a new scheduler and alert manager over the same store.
	stop()
	w.newManager()
	sch, _ = w.scheduler(runs)
	w.clock.Set(day("10:45"))
	got = byRule(2)
	if got["Test.DenialsThenSignIn"].Matches != 0 || got["Test.DenialsNoSignIn"].Matches != 0 {
		t.Fatalf("runs after the restart: %+v", got)
	}
	if n := len(w.storedAlerts("Test.DenialsThenSignIn")) + len(w.storedAlerts("Test.DenialsNoSignIn")); n != 2 {
		t.Fatalf("%d alerts after the restart, want 2", n)
	}

	// A new burst by amy, then a sign-in: a new correlation.
	w.writeMatches(
		ruleMatch("Test.PushDenied", "amy@example.com", day("10:50"), 4),
		ruleMatch("Test.PushDenied", "amy@example.com", day("10:51"), 5),
		ruleMatch("Test.PushDenied", "amy@example.com", day("10:52"), 6),
		ruleMatch("Test.SignIn", "amy@example.com", day("10:55"), 7),
	)
	w.clock.Set(day("11:00"))
	got = byRule(2)
	if got["Test.DenialsThenSignIn"].Alerts != 1 || got["Test.DenialsNoSignIn"].Alerts != 0 {
		t.Fatalf("runs at 11:00: %+v", got)
	}
	seq = w.storedAlerts("Test.DenialsThenSignIn")
	if len(seq) != 2 || seq[1].Dedup != "amy@example.com" {
		t.Fatalf("sequence alerts: %+v", seq)
	}

	// Run history and status.
	st, err := sch.Correlations(context.Background(), 10)
	if err != nil || len(st) != 2 {
		t.Fatalf("Correlations: %+v, %v", st, err)
	}
	if st[0].Rule.ID != "Test.DenialsNoSignIn" || st[0].Schedule != `*/15 * * * *` || !st[0].NextRun.Equal(day("11:15")) || len(st[0].LastRuns) != 4 {
		t.Errorf("status: %+v", st[0])
	}

	// Replay of the correlation rule over the morning: both of jane's and
	// amy's sequences, as alerts.
	res, err := sch.Replay(context.Background(), "Test.DenialsThenSignIn", day("09:00"), day("11:00"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var dedups []string
	for _, d := range res.ByDedup {
		dedups = append(dedups, fmt.Sprintf("%s:%d", d.Dedup, d.Alerts))
	}
	slices.Sort(dedups)
	if res.Matches != 2 || res.AlertCount != 2 || strings.Join(dedups, " ") != "amy@example.com:1 jane@example.com:1" || res.Total != 15 || res.Events != 15 {
		t.Fatalf("replay: %+v", res)
	}
	res, err = sch.Replay(context.Background(), "Test.DenialsNoSignIn", day("09:00"), day("11:00"), nil)
	if err != nil || res.AlertCount != 1 || res.Alerts[0].Dedup != "amy@example.com" {
		t.Fatalf("absence replay: %+v, %v", res, err)
	}
}

// overlapLake is a Lake that notes whether two correlation runs read
// rule_matches at once: the first read waits until a second one arrives
// or a deadline passes.
type overlapLake struct {
	Lake
	first   sync.Once
	active  atomic.Int32
	second  chan struct{}
	overlap atomic.Bool
}

func (l *overlapLake) Run(ctx context.Context, req lake.Request) (*lake.Result, error) {
	if l.active.Add(1) > 1 {
		l.overlap.Store(true)
		select {
		case l.second <- struct{}{}:
		default:
		}
	}
	defer l.active.Add(-1)
	l.first.Do(func() {
		select {
		case <-l.second:
		case <-time.After(2 * time.Second):
		}
	})
	return l.Lake.Run(ctx, req)
}

// TestCorrelationRunsOneAtATime checks that correlation rules on one
// schedule read their matches one after the other, even when the
// scheduler runs several jobs at once: each run holds its window's
// matches.
func TestCorrelationRunsOneAtATime(t *testing.T) {
	start := time.Date(2026, 3, 4, 10, 8, 0, 0, time.UTC)
	w := newWorld(t, start, map[string]string{"a.yml": denialsThenSignIn, "b.yml": denialsNoSignIn})
	w.writeMatches(ruleMatch("Test.PushDenied", "jane@example.com", start.Add(-5*time.Minute), 1),
		ruleMatch("Test.SignIn", "jane@example.com", start.Add(-time.Minute), 2))
	l := &overlapLake{Lake: NewLake(w.q, w.lake.Snapshot), second: make(chan struct{}, 1)}
	runs := make(chan store.ScheduledRun, 8)
	w.scheduler(runs, func(o *Options) { o.Lake, o.Concurrency = l, 2 })
	w.clock.Set(start.Add(7 * time.Minute))
	for range 2 {
		if r := wait(t, runs); r.Kind != store.RunKindCorrelation || r.Status != store.RunOK || r.Rows != 2 {
			t.Fatalf("run: %+v", r)
		}
	}
	if l.overlap.Load() {
		t.Error("two correlation runs read the lake at once")
	}
}
