package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/alerts/alertstest"
	"github.com/prowl-siem/prowl/internal/destinations"
)

func TestAlertsConformance(t *testing.T) {
	alertstest.Run(t, func(t *testing.T) alertstest.Backend {
		s, _ := openTemp(t)
		return s
	})
}

var at0 = time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)

func testAlert(id, severity string, created time.Time) alerts.Alert {
	return alerts.Alert{ID: id, Type: alerts.TypeRule, RuleID: "Rule." + id, Title: "Title " + id, Severity: severity,
		Dedup: "dedup-" + id, Status: alerts.StatusOpen, CreatedAt: created, UpdatedAt: created, EventCount: 1,
		LogTypes: []string{"Okta.SystemLog"}}
}

func mustCommit(t *testing.T, s alerts.Store, c *alerts.Commit) {
	t.Helper()
	if err := s.Commit(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

func TestAlertRoundTripExact(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	full := alerts.Alert{ID: "full", Type: alerts.TypeRuleError, RuleID: "R", RuleVersion: "v7", Title: "T", Severity: "CRITICAL",
		Dedup: "TypeError", Status: alerts.StatusOpen, Assignee: "x", CreatedAt: at0, UpdatedAt: at0.Add(time.Nanosecond),
		FirstEventAt: at0.Add(-time.Hour), LastEventAt: at0.Add(-time.Minute), EventCount: 12, LogTypes: []string{"A", "B"},
		AlertContext: json.RawMessage("{ \"spaced\" : [1, 2],\n \"html\": \"<b>&amp;</b>\" }"), Description: "d", Reference: "r",
		Runbook: "rb", Destinations: []string{}, OutputIDs: []string{"o1"}, Tags: []string{"t1", "t2"},
		Reports: map[string][]string{"MITRE ATT&CK": {"TA0001", "TA0002"}}}
	bare := alerts.Alert{ID: "bare", Type: alerts.TypeSystem, Status: alerts.StatusOpen}
	mustCommit(t, s, &alerts.Commit{Created: []alerts.Alert{full, bare}})
	for _, want := range []alerts.Alert{full, bare} {
		got, err := s.GetAlert(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !alertsEqual(got, want) {
			t.Errorf("round trip of %s:\n got %#v\nwant %#v", want.ID, got, want)
		}
	}
	got, _ := s.GetAlert(ctx, "full")
	if got.Destinations == nil {
		t.Error("an empty destinations() result (deliver nowhere) must not read back as nil (not set)")
	}
	if got, _ := s.GetAlert(ctx, "bare"); got.Destinations != nil || got.AlertContext != nil || got.LogTypes != nil {
		t.Errorf("nil fields must stay nil: %#v", got)
	}
}

// alertsEqual compares alerts field by field, times with Equal and nil
// slices apart from empty ones.
func alertsEqual(a, b alerts.Alert) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	nilness := func(x alerts.Alert) string {
		return fmt.Sprint(x.LogTypes == nil, x.AlertContext == nil, x.Destinations == nil, x.OutputIDs == nil, x.Tags == nil, x.Reports == nil)
	}
	return string(ja) == string(jb) && string(a.AlertContext) == string(b.AlertContext) && nilness(a) == nilness(b) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) &&
		a.FirstEventAt.Equal(b.FirstEventAt) && a.LastEventAt.Equal(b.LastEventAt)
}

func TestAlertWindowUniques(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	w := alerts.Window{Key: "R:big", RuleID: "R", Start: at0, Period: 90 * time.Minute, Generation: 3, Matches: 10_000,
		Uniques: map[string]struct{}{}, LogTypes: []string{"Okta.SystemLog"}, FirstEventAt: at0, LastEventAt: at0.Add(time.Second)}
	for i := range 10_000 {
		w.Uniques[fmt.Sprintf("user%05d@example.com", i)] = struct{}{}
	}
	odd := []string{`quote"d`, `back\slash`, "tab\tnew\nline", "ünïcødé ✓", "<html>&", "", "\u2028", "bad\xffutf8"}
	for _, v := range odd {
		w.Uniques[v] = struct{}{}
	}
	empty := alerts.Window{Key: "R:empty", RuleID: "R", Start: at0, Period: time.Hour, Generation: 1, Matches: 1, Uniques: map[string]struct{}{}}
	none := alerts.Window{Key: "R:none", RuleID: "R", Start: at0, Period: time.Hour, Generation: 1, Matches: 1}
	mustCommit(t, s, &alerts.Commit{Windows: []alerts.Window{w, empty, none}})

	load := func(s *Store) map[string]alerts.Window {
		t.Helper()
		ws, err := s.LoadWindows(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]alerts.Window{}
		for _, w := range ws {
			m[w.Key] = w
		}
		return m
	}
	check := func(got, want alerts.Window) {
		t.Helper()
		if got.Key != want.Key || got.RuleID != want.RuleID || !got.Start.Equal(want.Start) || got.Period != want.Period ||
			got.Generation != want.Generation || got.Matches != want.Matches || got.AlertID != want.AlertID ||
			!got.FirstEventAt.Equal(want.FirstEventAt) || !got.LastEventAt.Equal(want.LastEventAt) ||
			!slices.Equal(got.LogTypes, want.LogTypes) || got.StoredEvents != want.StoredEvents {
			t.Fatalf("window %s:\n got %+v\nwant %+v", want.Key, got, want)
		}
		if (got.Uniques == nil) != (want.Uniques == nil) || len(got.Uniques) != len(want.Uniques) {
			t.Fatalf("window %s: %d uniques (nil %v), want %d (nil %v)", want.Key, len(got.Uniques), got.Uniques == nil,
				len(want.Uniques), want.Uniques == nil)
		}
		for v := range want.Uniques {
			if _, ok := got.Uniques[v]; !ok && v != "bad\xffutf8" {
				t.Fatalf("window %s: lost unique %q", want.Key, v)
			}
		}
	}
	got := load(s)
	check(got[w.Key], w)
	check(got[empty.Key], empty)
	check(got[none.Key], none)

	// Same values, new counters: the values are kept (not rewritten), the
	// counters move.
	w.Matches, w.AlertID, w.StoredEvents = 10_050, "a1", 100
	mustCommit(t, s, &alerts.Commit{Windows: []alerts.Window{w}})
	check(load(s)[w.Key], w)
	// One more value: rewritten.
	w.Uniques["late@example.com"] = struct{}{}
	w.Matches++
	mustCommit(t, s, &alerts.Commit{Windows: []alerts.Window{w}})
	check(load(s)[w.Key], w)
	// Same count, different values (not something the manager does): a
	// store must still replace them.
	delete(w.Uniques, "user00000@example.com")
	w.Uniques["other@example.com"] = struct{}{}
	mustCommit(t, s, &alerts.Commit{Windows: []alerts.Window{w}})
	got = load(s)
	check(got[w.Key], w)
	if _, ok := got[w.Key].Uniques["user00000@example.com"]; ok {
		t.Fatal("a replaced unique value survived")
	}
	// A new generation drops them.
	w2 := alerts.Window{Key: w.Key, RuleID: "R", Start: at0.Add(2 * time.Hour), Period: time.Hour, Generation: 4, Matches: 1,
		Uniques: map[string]struct{}{"x": {}}}
	mustCommit(t, s, &alerts.Commit{Windows: []alerts.Window{w2}})
	check(load(s)[w.Key], w2)
	// Values dropped (nil), then back.
	w3 := w2
	w3.Uniques = nil
	mustCommit(t, s, &alerts.Commit{Windows: []alerts.Window{w3}})
	check(load(s)[w.Key], w3)
	mustCommit(t, s, &alerts.Commit{Windows: []alerts.Window{w2}})
	check(load(s)[w.Key], w2)

	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	check(load(s2)[w.Key], w2)
}

func TestCommitRollsBackOnFailure(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	w := alerts.Window{Key: "R.a:d-a", RuleID: "R.a", Start: at0, Period: time.Hour, Generation: 1, Matches: 1, AlertID: "a"}
	mustCommit(t, s, &alerts.Commit{Windows: []alerts.Window{w}, Created: []alerts.Alert{testAlert("a", "LOW", at0)},
		Events: []alerts.AlertEvent{{AlertID: "a", RowID: "r0"}}, Offset: &alerts.Offset{Consumer: "engine", Value: 1}})

	// A commit touching every table, failing at a chosen step.
	w2 := w
	w2.Matches = 2
	big := alerts.Window{Key: "R.b:d-b", RuleID: "R.b", Start: at0, Period: time.Hour, Generation: 1, Matches: 1000, Uniques: map[string]struct{}{}}
	for i := range 1000 {
		big.Uniques[fmt.Sprint(i)] = struct{}{}
	}
	c := &alerts.Commit{
		Windows: []alerts.Window{w2, big},
		Created: []alerts.Alert{testAlert("b", "HIGH", at0)},
		Updated: []alerts.AlertUpdate{{ID: "a", EventCount: 2, LastEventAt: at0.Add(time.Hour), UpdatedAt: at0.Add(time.Hour)}},
		Events:  []alerts.AlertEvent{{AlertID: "a", RowID: "r1"}, {AlertID: "b", RowID: "r2"}},
		Offset:  &alerts.Offset{Consumer: "engine", Value: 2},
	}
	for i := range 40 { // more than one multi-row statement
		c.Events = append(c.Events, alerts.AlertEvent{AlertID: "b", RowID: fmt.Sprint("bulk", i)})
	}
	c.Events = append(c.Events, alerts.AlertEvent{AlertID: "b", RowID: "last"})

	unchanged := func(step string) {
		t.Helper()
		if off, _ := s.LoadOffset(ctx, "engine"); off != 1 {
			t.Errorf("%s: offset %d", step, off)
		}
		ws, _ := s.LoadWindows(ctx)
		if len(ws) != 1 || ws[0].Matches != 1 {
			t.Errorf("%s: windows %+v", step, ws)
		}
		if a, _ := s.GetAlert(ctx, "a"); a.EventCount != 1 || !a.LastEventAt.IsZero() {
			t.Errorf("%s: update applied: %+v", step, a)
		}
		if _, err := s.GetAlert(ctx, "b"); !errors.Is(err, alerts.ErrNotFound) {
			t.Errorf("%s: alert created: %v", step, err)
		}
		if ev, _ := s.AlertEvents(ctx, "a", 100); len(ev) != 1 {
			t.Errorf("%s: events %+v", step, ev)
		}
		var n int
		s.db.QueryRow(`SELECT count(*) FROM alert_events`).Scan(&n)
		if n != 1 {
			t.Errorf("%s: %d events stored", step, n)
		}
	}
	// Failures injected with triggers, at the last event and at the offset
	// (the last statement of the transaction).
	for _, trig := range []string{
		`CREATE TRIGGER boom BEFORE INSERT ON alert_events WHEN NEW.row_id = 'last' BEGIN SELECT RAISE(ABORT, 'boom'); END`,
		`CREATE TRIGGER boom BEFORE UPDATE ON consumer_offsets BEGIN SELECT RAISE(ABORT, 'boom'); END`,
	} {
		if _, err := s.db.Exec(trig); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, c); err == nil || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("commit with %s: %v", trig, err)
		}
		unchanged(trig)
		if _, err := s.db.Exec(`DROP TRIGGER boom`); err != nil {
			t.Fatal(err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Commit(cancelled, c); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled commit: %v", err)
	}
	unchanged("cancelled")

	// And the same commit, retried, applies whole.
	mustCommit(t, s, c)
	if off, _ := s.LoadOffset(ctx, "engine"); off != 2 {
		t.Errorf("offset %d", off)
	}
	if a, _ := s.GetAlert(ctx, "a"); a.EventCount != 2 {
		t.Errorf("update: %+v", a)
	}
	if ev, _ := s.AlertEvents(ctx, "b", 1000); len(ev) != 42 || ev[0].RowID != "r2" || ev[41].RowID != "last" {
		t.Errorf("events of b: %d", len(ev))
	}
	if ws, _ := s.LoadWindows(ctx); len(ws) != 2 || len(ws[1].Uniques) != 1000 {
		t.Errorf("windows: %d", len(ws))
	}
}

func TestAlertsPersistAcrossReopenWithManager(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	clock := at0
	opts := alerts.Options{Now: func() time.Time { return clock }}
	m, err := alerts.NewManager(ctx, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	match := func(user, row string) alerts.Match {
		u := user
		return alerts.Match{Type: alerts.TypeRule, RuleID: "Okta.BruteForce", Dedup: "10.0.0.1", Title: "Brute force from 10.0.0.1",
			Severity: "HIGH", Unique: &u, Threshold: 3, DedupPeriod: time.Hour, LogType: "Okta.SystemLog",
			EventTime: clock.Add(-time.Second), Event: json.RawMessage(`{"user":"` + user + `"}`), RowID: row}
	}
	created, err := m.Process(ctx, []alerts.Match{match("u1", "1"), match("u2", "2"), match("u2", "3")}, &alerts.Offset{Consumer: "engine", Value: 3})
	if err != nil || len(created) != 0 {
		t.Fatalf("below threshold: %v %+v", err, created)
	}
	s.Close()

	// Restart: the window (with its two uniques) and the offset come back.
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if off, _ := s.LoadOffset(ctx, "engine"); off != 3 {
		t.Fatalf("offset after reopen: %d", off)
	}
	m, err = alerts.NewManager(ctx, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Minute)
	created, err = m.Process(ctx, []alerts.Match{match("u3", "4")}, &alerts.Offset{Consumer: "engine", Value: 4})
	if err != nil || len(created) != 1 || created[0].EventCount != 4 {
		t.Fatalf("threshold reached after restart: %v %+v", err, created)
	}
	id := created[0].ID
	closed, who := alerts.StatusClosed, "ana"
	if err := s.UpdateAlerts(ctx, []string{id}, alerts.Patch{Status: &closed, Assignee: &who}, clock); err != nil {
		t.Fatal(err)
	}
	if err := s.AddComment(ctx, id, alerts.Comment{Author: who, Body: "benign", At: clock}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Minute)
	if created, err := m.Process(ctx, []alerts.Match{match("u4", "5")}, nil); err != nil || len(created) != 0 {
		t.Fatalf("later match: %v %+v", err, created)
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.GetAlert(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != closed || a.Assignee != who || a.EventCount != 5 || len(a.Comments) != 1 || a.Comments[0].Body != "benign" ||
		!a.Comments[0].At.Equal(at0.Add(time.Minute)) || !a.UpdatedAt.Equal(clock) || !a.CreatedAt.Equal(at0.Add(time.Minute)) {
		t.Fatalf("after reopen: %+v", a)
	}
	ev, err := s.AlertEvents(ctx, id, 100)
	if err != nil || len(ev) != 5 || ev[0].RowID != "1" || ev[4].RowID != "5" || string(ev[0].Event) != `{"user":"u1"}` {
		t.Fatalf("events: %v %+v", err, ev)
	}
	if ev, _ := s.AlertEvents(ctx, id, 2); len(ev) != 2 {
		t.Errorf("limit 2: %d events", len(ev))
	}
	if ev, err := s.AlertEvents(ctx, id, 0); err != nil || len(ev) != 0 {
		t.Errorf("limit 0: %v %d events", err, len(ev))
	}
	if _, err := s.AlertEvents(ctx, "nope", 10); !errors.Is(err, alerts.ErrNotFound) {
		t.Errorf("events of unknown alert: %v", err)
	}
	if err := s.AddComment(ctx, "nope", alerts.Comment{Body: "x"}); !errors.Is(err, alerts.ErrNotFound) {
		t.Errorf("comment on unknown alert: %v", err)
	}
	ws, _ := s.LoadWindows(ctx)
	if len(ws) != 1 || len(ws[0].Uniques) != 4 || ws[0].Matches != 5 || ws[0].AlertID != id {
		t.Errorf("windows: %+v", ws)
	}
}

func TestLoadOffsetFullRange(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	if off, err := s.LoadOffset(ctx, "none"); err != nil || off != 0 {
		t.Fatalf("no offset: %d %v", off, err)
	}
	for _, v := range []uint64{1, 1 << 63, ^uint64(0)} {
		mustCommit(t, s, &alerts.Commit{Offset: &alerts.Offset{Consumer: "c", Value: v}})
		if off, err := s.LoadOffset(ctx, "c"); err != nil || off != v {
			t.Fatalf("offset %d read back as %d %v", v, off, err)
		}
	}
}

func TestListAlertsText(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	mk := func(id, title, rule, dedup string) alerts.Alert {
		a := testAlert(id, "LOW", at0)
		a.Title, a.RuleID, a.Dedup = title, rule, dedup
		return a
	}
	mustCommit(t, s, &alerts.Commit{Created: []alerts.Alert{
		mk("a", "Disk 50% full", "Host.Disk", "h1"),
		mk("b", "Disk 5 full", "Host.Disk", "h2"),
		mk("c", "Login from ÉCOLE", "Okta.Login", "a_b"),
		mk("d", "Login", "Okta.Login", "axb"),
		mk("e", `C:\Temp\x`, "Win.Path", "q"),
		mk("f", "other", "Other", "UPPER.Dedup"),
		mk("g", "500 errors", "Http.Errors", "g"),
	}})
	ids := func(text string) string {
		t.Helper()
		p, err := s.ListAlerts(ctx, alerts.Query{Text: text, Sort: "created_at"})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range p.Alerts {
			out = append(out, a.ID)
		}
		slices.Sort(out)
		if len(out) != p.Total {
			t.Errorf("text %q: total %d, %d alerts", text, p.Total, len(out))
		}
		return strings.Join(out, "")
	}
	for text, want := range map[string]string{
		"50%":           "a",
		"%":             "a",
		"5_":            "",
		"_":             "c",
		"a_b":           "c",
		"école":         "c",
		"DISK":          "ab",
		`\temp\`:        "e",
		`\`:             "e",
		"okta.login":    "cd",
		"upper.dedup":   "f",
		"nothing":       "",
		"disk 50% FULL": "a",
	} {
		if got := ids(text); got != want {
			t.Errorf("text %q matched %q, want %q", text, got, want)
		}
	}
}

// TestListAlertsMatchesMemoryStore runs random queries on the store and on
// alerts.MemoryStore (the reference) holding the same alerts.
func TestListAlertsMatchesMemoryStore(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	mem := alerts.NewMemoryStore()
	rng := rand.New(rand.NewPCG(1, 2))
	sevs := []string{"INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
	types := []string{alerts.TypeRule, alerts.TypeRuleError, alerts.TypeSystem}
	var created []alerts.Alert
	for i := range 300 {
		a := testAlert(fmt.Sprintf("id%03d", i), sevs[rng.IntN(5)], at0.Add(time.Duration(rng.IntN(50))*time.Minute))
		a.Type = types[rng.IntN(3)]
		a.RuleID = fmt.Sprintf("Rule.%d", rng.IntN(5))
		a.Title = fmt.Sprintf("Alert %d of %s", i, a.RuleID)
		a.EventCount = rng.IntN(10)
		a.UpdatedAt = a.CreatedAt.Add(time.Duration(rng.IntN(5)) * time.Minute)
		created = append(created, a)
	}
	for _, st := range []alerts.Store{s, mem} {
		mustCommit(t, st, &alerts.Commit{Created: created})
	}
	for i := range 30 {
		status := alerts.Statuses[i%4]
		who := fmt.Sprint("analyst", i%3)
		var ids []string
		for range 20 {
			ids = append(ids, created[rng.IntN(len(created))].ID)
		}
		for _, tr := range []alerts.Triage{s, mem} {
			if err := tr.UpdateAlerts(ctx, ids, alerts.Patch{Status: &status, Assignee: &who}, at0.Add(time.Duration(i)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	pick := func(from []string) []string {
		var out []string
		for _, v := range from {
			if rng.IntN(3) == 0 {
				out = append(out, v)
			}
		}
		return out
	}
	sortKey := func(key string, a alerts.Alert) string {
		switch key {
		case "updated_at":
			return a.UpdatedAt.String()
		case "severity":
			return fmt.Sprint(alerts.SeverityRank(a.Severity))
		case "event_count":
			return fmt.Sprint(a.EventCount)
		}
		return a.CreatedAt.String()
	}
	for i := range 300 {
		q := alerts.Query{Status: pick(alerts.Statuses), Severity: pick(sevs), Type: pick(types), Limit: 1000}
		if rng.IntN(3) == 0 {
			q.RuleID = fmt.Sprintf("Rule.%d", rng.IntN(6))
		}
		if rng.IntN(4) == 0 {
			q.Assignee = fmt.Sprint("analyst", rng.IntN(4))
		}
		if rng.IntN(3) == 0 {
			q.Since = at0.Add(time.Duration(rng.IntN(50)) * time.Minute)
		}
		if rng.IntN(3) == 0 {
			q.Until = at0.Add(time.Duration(rng.IntN(50)) * time.Minute)
		}
		if rng.IntN(4) == 0 {
			q.Text = []string{"alert 1", "RULE.3", "of", "d-", "dedup-id1"}[rng.IntN(5)]
		}
		q.Sort = []string{"", "created_at", "-updated_at", "severity", "-severity", "event_count", "-event_count", "updated_at"}[i%8]
		got, err := s.ListAlerts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := mem.ListAlerts(ctx, q)
		if got.Total != want.Total || len(got.Alerts) != len(want.Alerts) {
			t.Fatalf("query %+v: total %d (%d alerts), want %d (%d)", q, got.Total, len(got.Alerts), want.Total, len(want.Alerts))
		}
		key := strings.TrimPrefix(q.Sort, "-")
		if key == "" {
			key = "created_at"
		}
		gotIDs, wantIDs := map[string]alerts.Alert{}, map[string]bool{}
		for j := range got.Alerts {
			g, w := got.Alerts[j], want.Alerts[j]
			if sortKey(key, g) != sortKey(key, w) {
				t.Fatalf("query %+v: alert %d has %s %s, want %s", q, j, key, sortKey(key, g), sortKey(key, w))
			}
			gotIDs[g.ID], wantIDs[w.ID] = g, true
		}
		for id := range wantIDs {
			g, ok := gotIDs[id]
			if !ok {
				t.Fatalf("query %+v: missing %s", q, id)
			}
			w, _ := mem.GetAlert(ctx, id)
			if g.Status != w.Status || g.Assignee != w.Assignee || !g.UpdatedAt.Equal(w.UpdatedAt) {
				t.Fatalf("query %+v: %s is %+v, want %+v", q, id, g, w)
			}
		}
	}
}

func TestListAlertsPagingIsStable(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	var created []alerts.Alert
	for i := range 95 {
		created = append(created, testAlert(fmt.Sprintf("a%02d", (i*37)%95), "HIGH", at0)) // all tied
	}
	mustCommit(t, s, &alerts.Commit{Created: created})
	if err := s.AddComment(ctx, "a07", alerts.Comment{Author: "x", Body: "one", At: at0}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddComment(ctx, "a07", alerts.Comment{Author: "y", Body: "two", At: at0}); err != nil {
		t.Fatal(err)
	}
	for _, sort := range []string{"created_at", "-created_at", "severity", "-severity"} {
		var all []string
		for off := 0; ; off += 10 {
			p, err := s.ListAlerts(ctx, alerts.Query{Sort: sort, Limit: 10, Offset: off})
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != 95 || p.Offset != off || p.Limit != 10 {
				t.Fatalf("page %+v", p)
			}
			if len(p.Alerts) == 0 {
				break
			}
			for _, a := range p.Alerts {
				all = append(all, a.ID)
				if a.ID == "a07" && (len(a.Comments) != 2 || a.Comments[0].Body != "one" || a.Comments[1].Body != "two") {
					t.Errorf("comments in list: %+v", a.Comments)
				}
			}
		}
		if len(all) != 95 || len(slices.Compact(slices.Sorted(slices.Values(all)))) != 95 {
			t.Fatalf("sort %s: paging saw %d alerts, some twice or missing", sort, len(all))
		}
		if !slices.IsSorted(all) && !strings.HasPrefix(sort, "-") {
			t.Errorf("sort %s: ties not broken by id: %v", sort, all[:5])
		}
	}
	if p, _ := s.ListAlerts(ctx, alerts.Query{Offset: 500}); p.Total != 95 || len(p.Alerts) != 0 {
		t.Errorf("past the end: %+v", p)
	}
}

func TestUpdateAlertsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	mustCommit(t, s, &alerts.Commit{Created: []alerts.Alert{testAlert("a", "LOW", at0), testAlert("b", "LOW", at0)}})
	resolved := alerts.StatusResolved
	if err := s.UpdateAlerts(ctx, []string{"a", "b", "zz"}, alerts.Patch{Status: &resolved}, at0.Add(time.Hour)); !errors.Is(err, alerts.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	for _, id := range []string{"a", "b"} {
		if a, _ := s.GetAlert(ctx, id); a.Status != alerts.StatusOpen || !a.UpdatedAt.Equal(at0) {
			t.Errorf("%s changed by a failed bulk update: %+v", id, a)
		}
	}
	// An empty patch only touches updated_at.
	if err := s.UpdateAlerts(ctx, []string{"a"}, alerts.Patch{}, at0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.GetAlert(ctx, "a"); a.Status != alerts.StatusOpen || !a.UpdatedAt.Equal(at0.Add(time.Hour)) {
		t.Errorf("empty patch: %+v", a)
	}
	empty := ""
	s.UpdateAlerts(ctx, []string{"a"}, alerts.Patch{Assignee: &empty}, at0)
	if a, _ := s.GetAlert(ctx, "a"); a.Assignee != "" {
		t.Errorf("unassign: %+v", a)
	}
	if err := s.UpdateAlerts(ctx, nil, alerts.Patch{Status: &resolved}, at0); err != nil {
		t.Errorf("no ids: %v", err)
	}
}

// benchCommits builds commits the size of 500 matches: 100 windows (20 of
// them with unique() values), 20 new alerts, 80 updated ones, 500 events
// of about 800 bytes, and an offset. Commit i%len(out) is used at
// iteration i.
func benchCommits(n int) []*alerts.Commit {
	event := json.RawMessage(`{"actor":{"alternateId":"jane.doe@example.com","displayName":"Jane Doe","id":"00u1abcd2EFGH3ijk4l5","type":"User"},` +
		`"authenticationContext":{"authenticationStep":0,"externalSessionId":"102bZDNFfWaQSyEZQuDgWt-uQ"},"client":{"device":"Computer",` +
		`"geographicalContext":{"city":"Lisbon","country":"Portugal","geolocation":{"lat":38.7,"lon":-9.1}},"ipAddress":"198.51.100.7",` +
		`"userAgent":{"browser":"CHROME","os":"Mac OS X","rawUserAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"}},` +
		`"displayMessage":"User login to Okta","eventType":"user.session.start","outcome":{"reason":"INVALID_CREDENTIALS","result":"FAILURE"},` +
		`"published":"2025-06-01T12:00:00.000Z","severity":"INFO","uuid":"f0e1d2c3-b4a5-6789-0abc-def012345678","version":"0",` +
		`"p_log_type":"Okta.SystemLog","p_row_id":"a1b2c3d4e5f60718293a4b5c6d7e8f90"}`)
	out := make([]*alerts.Commit, n)
	for i := range out {
		c := &alerts.Commit{Offset: &alerts.Offset{Consumer: "engine", Value: uint64(i)}}
		for k := range 100 {
			key := fmt.Sprintf("Rule.%d:dedup-%d", k%10, k)
			id := fmt.Sprintf("%d-%d", i, k)
			w := alerts.Window{Key: key, RuleID: fmt.Sprintf("Rule.%d", k%10), Start: at0, Period: time.Hour, Generation: 1,
				Matches: 5 * (i + 1), AlertID: id, FirstEventAt: at0, LastEventAt: at0.Add(time.Duration(i) * time.Second),
				LogTypes: []string{"Okta.SystemLog"}, StoredEvents: 5}
			if k%5 == 0 {
				w.Uniques = map[string]struct{}{}
				for u := range 50 {
					w.Uniques[fmt.Sprintf("user%d@example.com", u)] = struct{}{}
				}
			}
			c.Windows = append(c.Windows, w)
			if k < 20 {
				a := testAlert(id, "HIGH", at0)
				a.AlertContext = json.RawMessage(`{"ip":"198.51.100.7","user":"jane.doe@example.com"}`)
				c.Created = append(c.Created, a)
			} else {
				c.Updated = append(c.Updated, alerts.AlertUpdate{ID: id, EventCount: 5, LastEventAt: w.LastEventAt,
					LogTypes: w.LogTypes, UpdatedAt: at0})
			}
			for e := range 5 {
				c.Events = append(c.Events, alerts.AlertEvent{AlertID: id, RowID: fmt.Sprint(e), LogType: "Okta.SystemLog", Time: at0, Event: event})
			}
		}
		out[i] = c
	}
	return out
}

func BenchmarkCommit500Matches(b *testing.B) {
	ctx := context.Background()
	commits := benchCommits(32)
	run := func(b *testing.B, s alerts.Store) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := s.Commit(ctx, commits[i%len(commits)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	}
	b.Run("MemoryStore", func(b *testing.B) { run(b, alerts.NewMemoryStore()) })
	b.Run("SQLite", func(b *testing.B) {
		s, err := Open(filepath.Join(b.TempDir(), "prowl.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, s)
	})
}

// BenchmarkCommitBigUniques is a window at MaxUniques receiving one more
// match per Commit: its values are compared, not rewritten.
func BenchmarkCommitBigUniques(b *testing.B) {
	ctx := context.Background()
	w := alerts.Window{Key: "R:k", RuleID: "R", Start: at0, Period: time.Hour, Generation: 1, Uniques: map[string]struct{}{}}
	for i := range alerts.MaxUniques {
		w.Uniques[fmt.Sprintf("user%06d@example.com", i)] = struct{}{}
	}
	for _, grow := range []bool{false, true} {
		b.Run(fmt.Sprintf("grow=%v", grow), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "prowl.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			w := w
			w.Uniques = maps.Clone(w.Uniques)
			for b.Loop() {
				w.Matches++
				if grow {
					w.Uniques[fmt.Sprint("new", w.Matches)] = struct{}{}
				}
				if err := s.Commit(ctx, &alerts.Commit{Windows: []alerts.Window{w}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMigrationFromVersion1 opens a database made by the previous schema:
// the alert and delivery tables are added, the sources kept.
func TestMigrationFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "prowl.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{migrations[0], "PRAGMA user_version = 1",
		`INSERT INTO sources (id, label, type, created_at, updated_at) VALUES ('s1', 'S', 'http', 1, 1)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetSource(ctx, "s1"); err != nil {
		t.Fatalf("source lost in migration: %v", err)
	}
	mustCommit(t, s, &alerts.Commit{Created: []alerts.Alert{testAlert("a", "LOW", at0)}})
	if _, err := s.AddDelivery(ctx, destinations.Delivery{AlertID: "a", DestinationID: "d", Status: destinations.StatusPending}); err != nil {
		t.Fatal(err)
	}
}
