package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prowl-siem/prowl/internal/logtypes"
)

func TestEvaluateRule(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"seed.yml": seedSpec, "seed.py": seedRule, "simple.yml": simpleSpec,
		"off.yml": strings.NewReplacer("Seed", "Off", "seed.py", "off.py", "Enabled: true", "Enabled: false").Replace(seedSpec),
		"off.py":  seedRule,
		"q.yml":   "AnalysisType: scheduled_query\nQueryName: Q\nEnabled: true\nQuery: SELECT 1\nSchedule:\n  RateMinutes: 15\n  TimeoutMinutes: 1\n",
		// A scheduled rule without rule(): every row matches.
		"sched.yml":  "AnalysisType: scheduled_rule\nRuleID: Sched\nFilename: sched.py\nEnabled: true\nSeverity: Low\nScheduledQueries: [Q]\n",
		"sched.py":   "def title(event):\n    return f\"{event.get('user')} x{event.get('n')}\"\n\ndef dedup(event):\n    return event.get('user')\n",
		"broken.yml": "AnalysisType: scheduled_rule\nRuleID: Broken\nFilename: broken.py\nEnabled: true\nSeverity: Low\nScheduledQueries: [Q]\n",
		"broken.py":  "def rule(event):\n    return 1 / event.get('n') > 0\n",
	})
	e := newEngine(t, dir)
	ctx := context.Background()
	rows := []logtypes.Event{
		{RowID: "r1", JSON: []byte(`{"user":"jane","n":4}`)},
		{RowID: "r2", JSON: []byte(`{"user":"bob","n":0}`)},
	}
	var got []string
	for _, id := range []string{"Sched", "Broken"} {
		ms, err := e.EvaluateRule(ctx, id, rows)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			got = append(got, m.Type+" "+m.RowID+" "+m.Title+" | "+m.Dedup)
		}
	}
	want := []string{"RULE r1 jane x4 | jane", "RULE r2 bob x0 | bob",
		"RULE r1 Broken | defaultDedupString:Broken", "RULE_ERROR r2 Error in Broken: ZeroDivisionError: division by zero: broken.py, line 2 | ZeroDivisionError"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("scheduled rule:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A streaming rule runs whatever the events' log type and even when
	// disabled; a simple one too.
	events := []logtypes.Event{event("AWS.CloudTrail", failure), event("Okta.SystemLog", `{"eventType":"x"}`), event("Okta.SystemLog", failure)}
	for _, id := range []string{"Seed", "Off"} {
		ms, err := e.EvaluateRule(ctx, id, events)
		if err != nil || len(ms) != 2 || ms[0].RowID != events[0].RowID || ms[1].RowID != events[2].RowID || ms[0].Threshold != 5 {
			t.Fatalf("%s: %+v, %v", id, ms, err)
		}
	}
	ms, err := e.EvaluateRule(ctx, "Simple.AdminGrant", []logtypes.Event{event("Okta.SystemLog", `{"eventType":"user.account.privilege.grant","actor":{"alternateId":"root"}}`)})
	if err != nil || len(ms) != 1 || ms[0].Title != "Admin granted by root" {
		t.Fatalf("simple: %+v, %v", ms, err)
	}
	if _, err := e.EvaluateRule(ctx, "Nope", events); !errors.Is(err, ErrUnknownDetection) {
		t.Errorf("unknown rule: %v", err)
	}
	if ms, err := e.EvaluateRule(ctx, "Seed", nil); err != nil || len(ms) != 0 {
		t.Errorf("no events: %v %v", ms, err)
	}
}
