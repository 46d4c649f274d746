package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/correlate"
	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/store"
)

// wholeMatch is a rule match as readMatches used to keep it: the whole
// event decoded into Fields, and the event's JSON.
type wholeMatch struct {
	match correlate.Match
	event json.RawMessage
}

// decodeWhole is the former decodeMatch: the reference for matchDecoder
// (whose Fields must be its Fields pruned) and the baseline of
// BenchmarkReadMatches. (It also kept p_log_type, which readMatches no
// longer selects: a few bytes a match.)
func decodeWhole(row []any) wholeMatch {
	at, _ := lakeTime(row[colTime])
	mr := wholeMatch{match: correlate.Match{RuleID: str(row[colRuleID]), Time: at, AlertID: str(row[colAlertID]), RowID: str(row[colRowID])}}
	fields := map[string]any{}
	if ev := str(row[colEvent]); ev != "" {
		mr.event = json.RawMessage(ev)
		dec := json.NewDecoder(strings.NewReader(ev))
		dec.UseNumber()
		if err := dec.Decode(&fields); err != nil || fields == nil {
			fields = map[string]any{}
		}
	}
	if ac := str(row[colAlertContext]); ac != "" {
		dec := json.NewDecoder(strings.NewReader(ac))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			fields["p_alert_context"] = v
		}
	}
	fields["p_alert_id"] = mr.match.AlertID
	fields["p_rule_id"] = mr.match.RuleID
	mr.match.Fields = fields
	return mr
}

// oktaEvents returns n generated Okta events, normalized.
func oktaEvents(tb testing.TB, n int, start time.Time) []logtypes.Event {
	tb.Helper()
	var names []string
	for _, sc := range gen.OktaScenarios() {
		names = append(names, sc.Name)
	}
	norm := logtypes.NewRegistry().NewNormalizer()
	var out []logtypes.Event
	err := gen.Okta(gen.OktaOptions{Count: n, Seed: 11, Start: start, Spacing: 100 * time.Millisecond, Attacks: names, AttackEvery: 500},
		func(raw []byte) error {
			ev, err := norm.Normalize("Okta.SystemLog", raw, logtypes.Meta{SourceID: "src-1", SourceLabel: "Test"})
			if err != nil {
				return err
			}
			ev.JSON = slices.Clone(ev.JSON)
			out = append(out, ev)
			return nil
		})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// oktaMatches makes a rule match of each event, for one of ruleIDs in turn.
func oktaMatches(events []logtypes.Event, ruleIDs ...string) []lake.RuleMatch {
	out := make([]lake.RuleMatch, len(events))
	for i, ev := range events {
		rule := ruleIDs[i%len(ruleIDs)]
		out[i] = lake.RuleMatch{RowID: ev.RowID, LogType: ev.LogType, EventTime: ev.Time, AlertID: fmt.Sprintf("alert-%s-%d", rule, i/100),
			RuleID: rule, Severity: "LOW", AlertContext: json.RawMessage(fmt.Sprintf(`{"who":"user%d","n":%d,"ip":"10.0.0.%d"}`, i%50, i, i%7)),
			AlertCreationTime: ev.Time, Event: ev.JSON}
	}
	return out
}

// loadSpec loads a detection spec.
func loadSpec(tb testing.TB, spec string) *analysis.Detection {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rule.yml"), []byte(spec), 0o644); err != nil {
		tb.Fatal(err)
	}
	repo, err := analysis.Load([]string{dir}, analysis.Options{})
	if err != nil || len(repo.Detections) != 1 {
		tb.Fatalf("loading the rule: %v", err)
	}
	return repo.Detections[0]
}

// compileSpec loads and compiles a correlation rule spec.
func compileSpec(tb testing.TB, spec string) *correlate.Rule {
	tb.Helper()
	r, err := correlate.Compile(loadSpec(tb, spec))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// detectionsEngine is an Engine that has loaded some detections (and
// does nothing else).
type detectionsEngine struct {
	Engine
	ds []*analysis.Detection
}

func (e detectionsEngine) Detections() []*analysis.Detection { return e.ds }
func (e detectionsEngine) Version(string) string             { return "1" }

// A group over p_alert_context, an Okta field and p_rule_id.
const contextGroup = `AnalysisType: correlation_rule
RuleID: Test.ContextGroup
Enabled: true
Severity: Low
Detection:
  - Group:
      - ID: Denials
        RuleID: Test.PushDenied
        MinMatchCount: 2
      - ID: SignIn
        RuleID: Test.SignIn
    MatchCriteria:
      who:
        - GroupID: Denials
          Match: p_alert_context.who
        - GroupID: SignIn
          Match: p_alert_context.who
      ip:
        - GroupID: Denials
          Match: client.ipAddress
      rule:
        - GroupID: SignIn
          Match: p_rule_id
    Schedule:
      RateMinutes: 15
      TimeoutMinutes: 1
    LookbackWindowMinutes: 60
`

// The matches readMatches returns hold in Fields only the values of the
// paths their rule joins on, not the event.
func TestReadMatchesKeepOnlyJoinFields(t *testing.T) {
	start := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	w := newLakeWorld(t, start)
	events := oktaEvents(t, 600, start)
	w.writeMatches(oktaMatches(events, "Test.PushDenied", "Test.SignIn")...)
	s := &Scheduler{opts: Options{Lake: NewLake(w.q, w.lake.Snapshot)}}
	ctx := context.Background()
	from, to := start.Add(-time.Minute), events[len(events)-1].Time

	// Denials then a sign-in, on actor.alternateId: that and nothing else.
	rule := compileSpec(t, denialsThenSignIn)
	ms, truncated, err := s.readMatches(ctx, rule, from, to, 1000, time.Minute, nil)
	if err != nil || truncated || len(ms) != len(events) {
		t.Fatalf("read %d matches (truncated %v), want %d: %v", len(ms), truncated, len(events), err)
	}
	users := map[string]bool{}
	for _, m := range ms {
		user, _ := m.Fields["actor.alternateId"].(string)
		if len(m.Fields) != 1 || user == "" {
			t.Fatalf("%s: Fields %v, want only actor.alternateId", m.RowID, m.Fields)
		}
		users[user] = true
	}
	if len(users) < 10 {
		t.Errorf("only %d users", len(users))
	}

	// p_alert_context, a nested field and a p_ field.
	rule = compileSpec(t, contextGroup)
	ms, _, err = s.readMatches(ctx, rule, from, to, 1000, time.Minute, nil)
	if err != nil || len(ms) != len(events) {
		t.Fatalf("read %d matches: %v", len(ms), err)
	}
	for i, m := range ms {
		if len(m.Fields) != 3 || m.Fields["p_alert_context.who"] != fmt.Sprintf("user%d", i%50) || m.Fields["client.ipAddress"] == nil ||
			m.Fields["p_rule_id"] != m.RuleID {
			t.Fatalf("match %d: Fields %v", i, m.Fields)
		}
	}

	// Whatever the paths, Fields are their values in the whole event.
	for _, paths := range [][]string{
		{"actor.alternateId"},
		{"p_alert_context.who", "client.ipAddress", "p_rule_id"},
		{"p_alert_context", "p_alert_id", "p_any_ip_addresses", "target", "client.geographicalContext.geolocation.lat",
			"debugContext.debugData", "authenticationContext.externalSessionId", "securityContext.isProxy", "outcome.reason"},
		{"p_alert_context.n", "p_alert_id.x", "actor.alternateId.x", "published", "p_event_time", "displayMessage"},
		{},
	} {
		d := newMatchDecoder(paths)
		var got, want []correlate.Match
		if _, err := s.scanMatches(ctx, newMatchRange(rule.RuleIDs(), from, to), eventColumns, 1000, time.Minute, nil, func(row []any) {
			w := decodeWhole(row).match
			w.Fields = correlate.Resolve(w.Fields, paths)
			got, want = append(got, d.decode(row)), append(want, w)
		}); err != nil || len(got) != len(events) {
			t.Fatalf("%q: %d rows: %v", paths, len(got), err)
		}
		// Compared once all are read: a match must not share the buffers
		// the decoder reuses for later rows.
		for n := range got {
			if !reflect.DeepEqual(got[n], want[n]) {
				t.Fatalf("%q: row %d:\n got %+v\nwant %+v", paths, n, got[n], want[n])
			}
		}
	}
}

// oddEvents are events and alert contexts in unusual JSON: escaped and
// repeated keys, keys with dots, spacing, numbers, non-ASCII and
// malformed text.
var oddEvents = [][2]string{
	{`{"actor":{"alternateId":"jane@example.com","displayName":"Jane"},"other":[1,{"x":"}"}]}`, `{"who":"jane"}`},
	{` { "actor" : { "alternateId" : "j\u00e9" } , "n" : -1.5e3 , "list" : [ "a" , 2 , null , [ 3 ] ] } `, ` {"who": 7} `},
	{`{"act\u006fr":{"alternate\u0049d":"x\"y\\"},"s":"tab\there"}`, ``},
	{`{"actor":{"alternateId":"a"},"actor":5,"s":"é✓"}`, `[1]`},
	{`{"actor":5,"actor":{"alternateId":"b"},"n":0}`, `"scalar"`},
	{`{"a":{"b":"no"},"a.b":{"c":true},"a.b.c":false}`, `null`},
	{`{"a":{"b":{"c":"deep"}},"obj":{"k":[{}]},"p_alert_context":{"who":"event's own"},"p_alert_id":"x","p_rule_id":{"x":1}}`, `{"other":1}`},
	{`{"p_alert_context":{"who":"kept: the context is malformed"}}`, `{"who":`},
	{"{\"s\":\"bad \xff byte\",\"actor\":{\"alternateId\":\"\xfe\"},\"k\xff\":1}", ``},
	{`{"actor":{"alternateId":"unterminated"}`, `{}`},
	{`not json`, `{}`},
	{`{}`, ``},
	{``, `{"who":"only the context"}`},
	{`[1,2]`, ``},
}

// oddPaths are join paths into oddEvents.
var oddPaths = []string{"actor.alternateId", "a.b.c", "n", "list", "p_alert_context.who", "p_alert_id", "p_rule_id.x", "s", "obj"}

// A correlation run reads the values written with the matches
// (p_correlation_fields) when every match in its window has them, and the
// events when one does not.
func TestReadMatchesPrefersStoredFields(t *testing.T) {
	start := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	w := newLakeWorld(t, start)
	events := oktaEvents(t, 200, start)
	ms := oktaMatches(events, "Test.PushDenied", "Test.SignIn", "Test.Other")
	// The matches of the rule's two rules get stored fields, the other none.
	NewCorrelationFields(detectionsEngine{ds: []*analysis.Detection{loadSpec(t, denialsThenSignIn)}}).Add(ms)
	for i := range ms {
		want := ms[i].RuleID != "Test.Other"
		if got := slices.Equal(ms[i].CorrelationPaths, []string{"actor.alternateId"}) && len(ms[i].CorrelationFields) > 0; got != want {
			t.Fatalf("%s of %s: correlation columns %q %s", ms[i].RowID, ms[i].RuleID, ms[i].CorrelationPaths, ms[i].CorrelationFields)
		}
		// Events that say otherwise show which of the two was read.
		ms[i].Event = json.RawMessage(`{"actor":{"alternateId":"decoy"}}`)
	}
	w.writeMatches(ms...)
	s := &Scheduler{opts: Options{Lake: NewLake(w.q, w.lake.Snapshot)}}
	ctx := context.Background()
	from, to := start.Add(-time.Minute), start.Add(time.Hour)
	rule := compileSpec(t, denialsThenSignIn)
	users := func() map[any]int {
		t.Helper()
		got, _, err := s.readMatches(ctx, rule, from, to, 1000, time.Minute, nil)
		want := 0
		for _, m := range ms {
			if m.RuleID != "Test.Other" {
				want++
			}
		}
		if err != nil || len(got) != want {
			t.Fatalf("read %d matches, want %d: %v", len(got), want, err)
		}
		n := map[any]int{}
		for _, m := range got {
			n[m.Fields["actor.alternateId"]]++
		}
		return n
	}
	if n := users(); n["decoy"] != 0 || len(n) < 10 {
		t.Errorf("with every match's fields stored, users %v", n)
	}
	// One match written without them (as before a correlation rule joined
	// on the path): the window is read from the events.
	late := oktaMatches(events[:1], "Test.SignIn")
	late[0].RowID, late[0].Event = "late", json.RawMessage(`{"actor":{"alternateId":"decoy"}}`)
	w.writeMatches(late...)
	ms = append(ms, late...)
	if n := users(); len(n) != 1 || n["decoy"] == 0 {
		t.Errorf("with one match's fields missing, users %v, want only the events' decoy", n)
	}
}

// The decoder agrees with the whole-event decoding on unusual JSON.
func TestMatchDecoder(t *testing.T) {
	for _, odd := range oddEvents {
		event, alertContext := odd[0], odd[1]
		row := []any{"Rule.X", "2026-03-04T10:00:00Z", "alert-1", "row-1", alertContext, event}
		d := newMatchDecoder(oddPaths)
		got, want := d.decode(row), decodeWhole(row).match
		want.Fields = correlate.Resolve(want.Fields, oddPaths)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s | %s:\n got %#v\nwant %#v", event, alertContext, got.Fields, want.Fields)
		}
	}
}

// A match's p_correlation_fields, written for the paths of every rule
// that reads it, give each rule the Fields its event gives: a run reads
// either and finds the same.
func TestStoredFieldsMatchEvents(t *testing.T) {
	start := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	ms := oktaMatches(oktaEvents(t, 300, start), "Rule.X")
	for i, odd := range oddEvents {
		ms = append(ms, lake.RuleMatch{RuleID: "Rule.X", AlertID: "alert-1", RowID: fmt.Sprint("odd-", i), EventTime: start,
			AlertContext: json.RawMessage(odd[1]), Event: json.RawMessage(odd[0])})
	}
	okta := []string{"actor.alternateId", "client.ipAddress", "p_alert_context", "p_alert_context.who", "p_any_ip_addresses", "target",
		"client.geographicalContext.geolocation.lat", "debugContext.debugData", "outcome.reason", "p_rule_id", "actor.alternateId.x",
		"published", "securityContext.isProxy"}
	union := slices.Concat(okta, oddPaths)
	slices.Sort(union)
	union = slices.Compact(union)
	write := newMatchDecoder(union)
	for _, paths := range [][]string{union, {"actor.alternateId"}, {"p_alert_context.who", "client.ipAddress", "p_rule_id"},
		{"target", "debugContext.debugData", "n", "list", "obj"}, {"p_alert_id", "p_rule_id.x", "s", "a.b.c"}} {
		events, stored := newMatchDecoder(paths), newMatchDecoder(paths)
		stored.stored = true
		var got, want []correlate.Match
		for i := range ms {
			m := &ms[i]
			fields, ok := storedFields(write, m)
			if !ok {
				t.Fatalf("%s: no stored fields", m.RowID)
			}
			at := m.EventTime.Format(time.RFC3339Nano)
			want = append(want, events.decode([]any{m.RuleID, at, m.AlertID, m.RowID, string(m.AlertContext), string(m.Event)}))
			got = append(got, stored.decode([]any{m.RuleID, at, m.AlertID, m.RowID, string(fields)}))
		}
		found := 0
		for i := range got {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("%q: %s:\n got %#v\nwant %#v", paths, got[i].RowID, got[i].Fields, want[i].Fields)
			}
			if len(want[i].Fields) > 0 {
				found++
			}
		}
		if found < len(ms)/2 {
			t.Errorf("%q: values found in only %d of %d matches", paths, found, len(ms))
		}
	}
}

// Denials then a sign-in whose rule match has its own log type: the
// correlation alert carries the sign-in's event and log type, read back
// from the lake.
func TestCorrelationAlertCarriesLastEvent(t *testing.T) {
	day := func(hhmm string) time.Time {
		t, _ := time.Parse("15:04", hhmm)
		return time.Date(2026, 3, 4, t.Hour(), t.Minute(), 0, 0, time.UTC)
	}
	w := newWorld(t, day("10:08"), map[string]string{"a.yml": denialsThenSignIn})
	signIn := ruleMatch("Test.SignIn", "jane@example.com", day("10:07"), 4)
	signIn.LogType = "Test.SignInLog"
	signIn.Event = json.RawMessage(`{"eventType":"user.session.start","actor":{"alternateId":"jane@example.com"},"client":{"ipAddress":"10.1.2.3"}}`)
	w.writeMatches(
		ruleMatch("Test.PushDenied", "jane@example.com", day("10:01"), 1),
		ruleMatch("Test.PushDenied", "jane@example.com", day("10:02"), 2),
		ruleMatch("Test.PushDenied", "jane@example.com", day("10:04"), 3),
		signIn,
		// The same row matched by a rule the correlation does not read:
		// another alert, so not the event looked for.
		ruleMatch("Test.Other", "jane@example.com", day("10:07"), 4),
	)
	runs := make(chan store.ScheduledRun, 4)
	w.scheduler(runs)
	w.clock.Set(day("10:15"))
	if r := wait(t, runs); r.Status != store.RunOK || r.Alerts != 1 {
		t.Fatalf("run: %+v", r)
	}
	as := w.storedAlerts("Test.DenialsThenSignIn")
	if len(as) != 1 || !slices.Equal(as[0].LogTypes, []string{"Test.SignInLog"}) || !as[0].FirstEventAt.Equal(day("10:07")) {
		for _, a := range as {
			t.Errorf("alert %s: log types %q, first event at %s", a.ID, a.LogTypes, a.FirstEventAt)
		}
		t.Fatalf("%d alerts, want one with log type Test.SignInLog", len(as))
	}
	evs, err := w.store.AlertEvents(context.Background(), as[0].ID, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events: %+v, %v", evs, err)
	}
	var got, want any
	if err := json.Unmarshal(evs[0].Event, &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(signIn.Event, &want)
	if e := evs[0]; e.RowID != "row-jan-4" || e.LogType != "Test.SignInLog" || !reflect.DeepEqual(got, want) {
		t.Errorf("event: %+v %s", e, e.Event)
	}
}

// BenchmarkReadMatches reads 20k rule matches of generated Okta events
// for a rule that joins on actor.alternateId, keeping whole events (as
// readMatches once did), what the rule reads decoded from the events, or
// the values written with the matches (readMatches now). Besides B/op it reports the
// heap the matches hold once read (live bytes and in-use spans after a GC,
// less those before the read). A short run is enough:
//
//	go test -run '^$' -bench ReadMatches -benchtime 3x ./internal/scheduler/
func BenchmarkReadMatches(b *testing.B) {
	const n = 20_000
	start := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	w := newLakeWorld(b, start)
	events := oktaEvents(b, n, start)
	from, to := start.Add(-time.Minute), start.Add(time.Hour)
	var size int64
	for _, ev := range events {
		size += int64(len(ev.JSON))
	}
	ms := oktaMatches(events, "Test.PushDenied", "Test.SignIn")
	NewCorrelationFields(detectionsEngine{ds: []*analysis.Detection{loadSpec(b, denialsThenSignIn)}}).Add(ms)
	w.writeMatches(ms...)
	events, ms = nil, nil
	s := &Scheduler{opts: Options{Lake: NewLake(w.q, w.lake.Snapshot)}}
	rule := compileSpec(b, denialsThenSignIn)
	r := newMatchRange(rule.RuleIDs(), from, to)
	ctx := context.Background()

	bench := func(b *testing.B, read func() (any, int)) {
		b.ReportAllocs()
		b.SetBytes(size)
		var live, inuse int64
		for b.Loop() {
			b.StopTimer()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.StartTimer()
			got, count := read()
			b.StopTimer()
			if count != n {
				b.Fatalf("read %d matches, want %d", count, n)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(got)
			live += int64(after.HeapAlloc) - int64(before.HeapAlloc)
			inuse += int64(after.HeapInuse) - int64(before.HeapInuse)
			b.StartTimer()
		}
		b.ReportMetric(float64(live)/float64(b.N), "retained-live-B/op")
		b.ReportMetric(float64(inuse)/float64(b.N), "retained-inuse-B/op")
	}
	b.Run("whole", func(b *testing.B) {
		bench(b, func() (any, int) {
			var out []wholeMatch
			if _, err := s.scanMatches(ctx, r, eventColumns, n, time.Minute, nil, func(row []any) {
				out = append(out, decodeWhole(row))
			}); err != nil {
				b.Fatal(err)
			}
			return out, len(out)
		})
	})
	b.Run("pruned", func(b *testing.B) {
		bench(b, func() (any, int) {
			var out []correlate.Match
			d := newMatchDecoder(rule.FieldPaths())
			if _, err := s.scanMatches(ctx, r, eventColumns, n, time.Minute, nil, func(row []any) {
				out = append(out, d.decode(row))
			}); err != nil {
				b.Fatal(err)
			}
			return out, len(out)
		})
	})
	b.Run("stored", func(b *testing.B) {
		bench(b, func() (any, int) {
			ms, _, err := s.readMatches(ctx, rule, from, to, n, time.Minute, nil)
			if err != nil {
				b.Fatal(err)
			}
			return ms, len(ms)
		})
	})
}

// BenchmarkMatchDecoder decodes rule_matches rows of generated Okta events
// (without DuckDB: the rows are built here), for the paths of a rule that
// joins on one field and for many paths.
//
//	go test -run '^$' -bench MatchDecoder ./internal/scheduler/
func BenchmarkMatchDecoder(b *testing.B) {
	const n = 2000
	start := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	events := oktaEvents(b, n, start)
	var rows [][]any
	var size int64
	for i, ev := range events {
		ac := fmt.Sprintf(`{"who":"user%d","n":%d,"ip":"10.0.0.%d"}`, i%50, i, i%7)
		rows = append(rows, []any{"Test.SignIn", ev.Time, fmt.Sprintf("alert-%d", i/100), ev.RowID, ac, string(ev.JSON)})
		size += int64(len(ev.JSON))
	}
	for _, bc := range []struct {
		name  string
		paths []string
	}{
		{"one", []string{"actor.alternateId"}},
		{"many", []string{"p_alert_context.who", "client.ipAddress", "target", "debugContext.debugData",
			"client.geographicalContext.geolocation.lat", "outcome.reason", "p_rule_id"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(size)
			for b.Loop() {
				d := newMatchDecoder(bc.paths)
				for _, row := range rows {
					d.decode(row)
				}
			}
		})
	}
}

// TestMatchesShareFields checks that matches whose join values are the
// same strings share one Fields map (a window may hold a million matches
// of a few thousand users), and that other matches do not.
func TestMatchesShareFields(t *testing.T) {
	d := newMatchDecoder([]string{"actor.alternateId", "client.ipAddress"})
	row := func(n int, event string) []any {
		return []any{"R", "2026-03-04T10:00:00Z", "a", fmt.Sprint("row-", n), "", event}
	}
	jane1 := d.decode(row(1, `{"actor":{"alternateId":"jane"},"client":{"ipAddress":"1.2.3.4"}}`))
	jane2 := d.decode(row(2, `{"client":{"ipAddress":"1.2.3.4"},"actor":{"alternateId":"jane","id":"x"}}`))
	janeOther := d.decode(row(3, `{"actor":{"alternateId":"jane"},"client":{"ipAddress":"5.6.7.8"}}`))
	janeOnly := d.decode(row(4, `{"actor":{"alternateId":"jane"}}`))
	ipOnly := d.decode(row(5, `{"client":{"ipAddress":"jane"}}`))
	number := d.decode(row(6, `{"actor":{"alternateId":7},"client":{"ipAddress":"1.2.3.4"}}`))
	number2 := d.decode(row(7, `{"actor":{"alternateId":7},"client":{"ipAddress":"1.2.3.4"}}`))
	same := func(a, b correlate.Match) bool {
		return reflect.ValueOf(a.Fields).Pointer() == reflect.ValueOf(b.Fields).Pointer()
	}
	if !same(jane1, jane2) {
		t.Error("two matches of jane from one IP do not share their fields")
	}
	for _, m := range []correlate.Match{janeOther, janeOnly, ipOnly, number} {
		if same(jane1, m) {
			t.Errorf("%s shares jane's fields: %v", m.RowID, m.Fields)
		}
	}
	if same(number, number2) {
		t.Error("fields holding a number are shared")
	}
	if !reflect.DeepEqual(jane2.Fields, map[string]any{"actor.alternateId": "jane", "client.ipAddress": "1.2.3.4"}) ||
		!reflect.DeepEqual(ipOnly.Fields, map[string]any{"client.ipAddress": "jane"}) {
		t.Errorf("fields: %v, %v", jane2.Fields, ipOnly.Fields)
	}
}
