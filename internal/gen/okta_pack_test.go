package gen

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/detect"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

// packRunner evaluates the bundled Okta pack (packs/okta) on events.
type packRunner struct {
	pool *pyrt.Pool
	dets []*analysis.Detection // by pyrt detection index
}

func newPackRunner(t *testing.T) *packRunner {
	t.Helper()
	repo, problems, err := analysis.LoadLenient([]string{filepath.Join("..", "..", "packs", "okta")}, analysis.Options{})
	if err != nil || len(problems) > 0 {
		t.Fatalf("loading the pack: %v %v", err, problems)
	}
	set, ps := detect.Compile(repo, repo.Detections)
	if len(ps) > 0 {
		t.Fatalf("compile: %v", ps)
	}
	pr := &packRunner{}
	for _, d := range set.Detections {
		if d.Python >= 0 {
			pr.dets = append(pr.dets, nil)
		}
	}
	for _, d := range set.Detections {
		if d.Python >= 0 {
			pr.dets[d.Python] = d.Spec
		}
	}
	pool, err := pyrt.New(pyrt.Config{Workers: 1}, set.Program)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	pr.pool = pool
	return pr
}

// match is one rule match on one event.
type match struct {
	rule     *analysis.Detection
	event    int
	at       time.Time
	dedup    string
	unique   *string
	severity string
}

func (pr *packRunner) run(t *testing.T, events []Event) []match {
	t.Helper()
	all := make([]int, len(pr.dets))
	for i := range all {
		all[i] = i
	}
	items := make([]pyrt.Item, len(events))
	for i, e := range events {
		items[i] = pyrt.Item{Event: e.JSON, LogType: "Okta.SystemLog", Rules: all}
	}
	results, err := pr.pool.Run(context.Background(), pyrt.ModeBatch, items)
	if err != nil {
		t.Fatal(err)
	}
	var out []match
	for i, rs := range results {
		for _, r := range rs {
			if r.Error != nil {
				t.Fatalf("%s raised on event %d: %v\n%s", pr.dets[r.Rule].ID, i, r.Error, events[i].JSON)
			}
			if !r.Matched {
				continue
			}
			m := match{rule: pr.dets[r.Rule], event: i, at: events[i].Published}
			if r.Outputs != nil {
				m.dedup, m.unique, m.severity = r.Outputs.Dedup, r.Outputs.Unique, r.Outputs.Severity
			}
			out = append(out, m)
		}
	}
	return out
}

// alert is what the engine would send once a threshold is reached.
type alert struct {
	rule, dedup, severity string
}

// alerts applies each rule's Threshold and DedupPeriodMinutes the way the
// alerting path does: matches group by dedup string; a group's window opens
// at its first match and lasts DedupPeriodMinutes; the alert fires when the
// window holds Threshold matches (distinct unique() values when the rule
// defines unique) and fires once per window.
func alerts(ms []match) []alert {
	type window struct {
		start time.Time
		count int
		seen  map[string]bool
		fired bool
	}
	windows := map[string]*window{}
	var out []alert
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].at.Before(ms[j].at) })
	for _, m := range ms {
		key := m.rule.ID + "\x00" + m.dedup
		period := time.Duration(m.rule.DedupPeriodMinutes) * time.Minute
		w := windows[key]
		if w == nil || m.at.Sub(w.start) >= period {
			w = &window{start: m.at, seen: map[string]bool{}}
			windows[key] = w
		}
		if m.unique != nil {
			w.seen[*m.unique] = true
			w.count = len(w.seen)
		} else {
			w.count++
		}
		threshold := max(m.rule.Threshold, 1)
		if !w.fired && w.count >= threshold {
			w.fired = true
			out = append(out, alert{rule: m.rule.ID, dedup: m.dedup, severity: m.severity})
		}
	}
	return out
}

func alertedRules(as []alert) []string {
	set := map[string]bool{}
	for _, a := range as {
		set[a.rule] = true
	}
	var ids []string
	for id := range set {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// TestScenariosTriggerPack runs the pack over every scenario and checks
// that exactly the detections the scenario names alert on its events.
func TestScenariosTriggerPack(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python detections")
	}
	pr := newPackRunner(t)
	events := collect(t, OktaOptions{Count: 12000, Seed: 11, Start: time.Date(2025, 5, 6, 8, 0, 0, 0, time.UTC), Attacks: allNames()})
	byScenario := map[string][]Event{}
	for _, e := range events {
		byScenario[e.Scenario] = append(byScenario[e.Scenario], e)
	}
	ruleIDs := map[string]bool{}
	for _, d := range pr.dets {
		ruleIDs[d.ID] = true
	}
	covered := map[string]bool{}
	for _, sc := range OktaScenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			for _, id := range sc.RuleIDs {
				if !ruleIDs[id] {
					t.Fatalf("scenario names %s, which is not in the pack", id)
				}
				covered[id] = true
			}
			got := alertedRules(alerts(pr.run(t, byScenario[sc.Name])))
			want := append([]string(nil), sc.RuleIDs...)
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("alerts on %s: %v, want %v", sc.Name, got, want)
			}
		})
	}
	// The whole mixed stream alerts on every scenario's detections too.
	got := map[string]bool{}
	for _, id := range alertedRules(alerts(pr.run(t, events))) {
		got[id] = true
	}
	for id := range covered {
		if !got[id] {
			t.Errorf("%s did not alert on the mixed stream", id)
		}
	}
	for id := range ruleIDs {
		if !covered[id] {
			t.Errorf("no scenario exercises %s", id)
		}
	}
}

// TestBenignIsQuiet checks that ordinary traffic raises no High or Critical
// alerts and hardly any others.
func TestBenignIsQuiet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Python detections")
	}
	pr := newPackRunner(t)
	events := collect(t, OktaOptions{Count: 20000, Seed: 21})
	as := alerts(pr.run(t, events))
	for _, a := range as {
		if a.severity == "HIGH" || a.severity == "CRITICAL" {
			t.Errorf("benign traffic raised %s alert %s (%s)", a.severity, a.rule, a.dedup)
		}
	}
	if len(as) > 3 {
		t.Errorf("benign traffic raised %d alerts: %v", len(as), as)
	}
}
