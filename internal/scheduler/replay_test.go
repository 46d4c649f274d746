package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/packs"
)

// summary is what a run of a rule produced: its alerts and matches per
// dedup string, and the alerts' titles.
type summary struct {
	matches, errors int
	alerts          []string // "dedup|title|events", sorted
}

func (s summary) String() string {
	return fmt.Sprintf("%d matches, %d errors, %d alerts:\n  %s", s.matches, s.errors, len(s.alerts), strings.Join(s.alerts, "\n  "))
}

// The bundled Okta pack over generated traffic with every attack scenario:
// the live path (engine, then an alert manager whose clock is each
// event's time, as if processed when it happened) and a replay from the
// lake of the same events must make the same alerts, rule by rule.
func TestReplayMatchesLive(t *testing.T) {
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	w := newWorld(t, start, nil)
	packDir, err := packs.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w.engine = newEngine(t, []string{packDir})

	var names []string
	for _, sc := range gen.OktaScenarios() {
		names = append(names, sc.Name)
	}
	var raws [][]byte
	if err := gen.Okta(gen.OktaOptions{Count: 8000, Seed: 7, Start: start, Spacing: time.Second, Attacks: names, AttackEvery: 200},
		func(ev []byte) error { raws = append(raws, ev); return nil }); err != nil {
		t.Fatal(err)
	}
	var events []logtypes.Event
	for i := 0; i < len(raws); i += 500 {
		events = append(events, w.ingest("Okta.SystemLog", raws[i:min(i+500, len(raws))]...)...)
	}
	end := events[len(events)-1].Time.Add(time.Second)

	// Live.
	ctx := context.Background()
	var clock time.Time
	mem := alerts.NewMemoryStore()
	mgr, err := alerts.NewManager(ctx, mem, alerts.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]*summary{}
	get := func(m map[string]*summary, id string) *summary {
		if m[id] == nil {
			m[id] = &summary{}
		}
		return m[id]
	}
	for i := 0; i < len(events); i += 1000 {
		ms, err := w.engine.Evaluate(ctx, events[i:min(i+1000, len(events))])
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Type == alerts.TypeRuleError {
				get(live, m.RuleID).errors++
				continue
			}
			get(live, m.RuleID).matches++
			clock = m.EventTime
			if _, err := mgr.Process(ctx, []alerts.Match{m}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, a := range mem.Alerts() {
		s := get(live, a.RuleID)
		s.alerts = append(s.alerts, fmt.Sprintf("%s|%s|%d", a.Dedup, a.Title, a.EventCount))
	}
	var ruleIDs []string
	for id, s := range live {
		sort.Strings(s.alerts)
		ruleIDs = append(ruleIDs, id)
	}
	sort.Strings(ruleIDs)
	if len(ruleIDs) < 10 {
		t.Fatalf("the generated attacks fired only %d rules: %v", len(ruleIDs), ruleIDs)
	}
	// Two rules that did not fire replay to nothing too.
	quiet := 0
	for _, d := range w.engine.Detections() {
		if live[d.ID] == nil && d.Kind == "rule" && quiet < 2 {
			ruleIDs = append(ruleIDs, d.ID)
			live[d.ID] = &summary{}
			quiet++
		}
	}

	// Replay, rule by rule.
	sch, _ := w.scheduler(nil)
	alertsSeen := 0
	for _, id := range ruleIDs {
		var progressCalls int
		var lastDone, lastTotal int64
		res, err := sch.Replay(ctx, id, start.Add(-time.Hour), end, func(done, total int64) {
			progressCalls++
			lastDone, lastTotal = done, total
		})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		got := summary{matches: res.Matches, errors: res.Errors}
		for _, a := range res.Alerts {
			got.alerts = append(got.alerts, fmt.Sprintf("%s|%s|%d", a.Dedup, a.Title, a.EventCount))
		}
		sort.Strings(got.alerts)
		if got.String() != live[id].String() {
			t.Errorf("%s:\nreplay: %s\nlive:   %s", id, got, live[id])
		}
		if res.Total != int64(len(events)) || res.Events != res.Total || lastDone != res.Total || lastTotal != res.Total || progressCalls < 2 {
			t.Errorf("%s: total %d, events %d, progress %d/%d in %d calls", id, res.Total, res.Events, lastDone, lastTotal, progressCalls)
		}
		if res.AlertCount != len(got.alerts) || !slices.Equal(res.Tables, []string{"okta_systemlog"}) {
			t.Errorf("%s: %+v", id, res)
		}
		var byDedup int
		for _, d := range res.ByDedup {
			byDedup += d.Alerts
		}
		if byDedup != res.AlertCount {
			t.Errorf("%s: by dedup %d alerts, %d in all", id, byDedup, res.AlertCount)
		}
		alertsSeen += res.AlertCount
	}
	if alertsSeen == 0 {
		t.Fatal("no alerts replayed")
	}
	t.Logf("%d events, %d rules, %d alerts", len(events), len(ruleIDs), alertsSeen)

	// Limits: what was found until then is reported.
	small, _ := w.scheduler(nil, func(o *Options) { o.ReplayMaxEvents = 2500 })
	res, err := small.Replay(ctx, "Okta.BruteForceByUser", start, end, nil)
	if err != nil || !res.Truncated || res.Events != 2500 || !strings.Contains(res.Stopped, "2500 events") {
		t.Errorf("event limit: %+v, %v", res, err)
	}
	hurried, _ := w.scheduler(nil, func(o *Options) { o.ReplayTimeout = time.Nanosecond })
	res, err = hurried.Replay(ctx, "Okta.BruteForceByUser", start, end, nil)
	if err != nil || !res.Truncated || !strings.Contains(res.Stopped, "time limit") {
		t.Errorf("time limit: %+v, %v", res, err)
	}

	// Bounds.
	if _, err := sch.Replay(ctx, ruleIDs[0], end, start, nil); !errors.Is(err, ErrReplayRange) {
		t.Errorf("reversed range: %v", err)
	}
	if _, err := sch.Replay(ctx, ruleIDs[0], end.Add(-91*24*time.Hour), end, nil); !errors.Is(err, ErrReplayRange) {
		t.Errorf("range too long: %v", err)
	}
	if _, err := sch.Replay(ctx, "Nope", start, end, nil); !errors.Is(err, ErrUnknownDetection) {
		t.Errorf("unknown rule: %v", err)
	}
	if _, err := sch.Replay(ctx, "Prowl.Okta.SystemLog", start, end, nil); !errors.Is(err, ErrUnknownDetection) {
		t.Errorf("a data model: %v", err)
	}
	sch.replaying <- struct{}{} // as if another replay were running
	if _, err := sch.Replay(ctx, ruleIDs[0], start, end, nil); !errors.Is(err, ErrReplayBusy) {
		t.Errorf("a second replay: %v", err)
	}
	<-sch.replaying
}
