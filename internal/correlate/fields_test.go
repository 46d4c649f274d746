package correlate

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Two items: a sequence joining on the same field (On), on different
// fields (From/To) and on p_alert_context, and a group with two criteria.
const twoItemSpec = `AnalysisType: correlation_rule
RuleID: Test.TwoItems
Enabled: true
Severity: Medium
Detection:
  - Sequence:
      - ID: Login
        RuleID: Login
      - ID: Export
        RuleID: Export
      - ID: Delete
        RuleID: Delete
    Transitions:
      - ID: Login TO Export
        From: Login
        To: Export
        Match:
          - On: actor.alternateId
          - From: client.ipAddress
            To: p_alert_context.ip
      - ID: Export TO Delete
        From: Export
        To: Delete
        Match:
          - From: target.id
            To: debugContext.debugData.requestUri
  - Group:
      - ID: Failures
        RuleID: Login.Failed
        MinMatchCount: 3
      - ID: Success
        RuleID: Login
    MatchCriteria:
      user:
        - GroupID: Failures
          Match: p_any_emails
        - GroupID: Success
          Match: actor.alternateId
      device:
        - GroupID: Failures
          Match: p_alert_context.device
    LookbackWindowMinutes: 30
    Schedule:
      RateMinutes: 10
      TimeoutMinutes: 2
`

// FieldPaths lists every path the rule joins on, as the spec names them
// in its transitions and criteria, and nothing else.
func TestFieldPaths(t *testing.T) {
	f := func(spec string, want ...string) {
		t.Helper()
		r := compile(t, spec)
		var named []string
		for _, it := range r.Items {
			for _, tr := range it.Transitions {
				for _, j := range tr.Match {
					named = append(named, j.From, j.To)
				}
			}
			for _, c := range it.Criteria {
				for _, e := range c.Entries {
					named = append(named, e.Field)
				}
			}
		}
		slices.Sort(named)
		named = slices.Compact(named)
		got := r.FieldPaths()
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(got, named) {
			t.Errorf("FieldPaths = %q, want %q (the spec names %q)", got, want, named)
		}
	}
	f(twoItemSpec, "actor.alternateId", "client.ipAddress", "debugContext.debugData.requestUri",
		"p_alert_context.device", "p_alert_context.ip", "p_any_emails", "target.id")
	f(threeStepSpec, "exporter", "user")
	f(groupAbsenceSpec, "p_alert_context.repo")
	f(fmt.Sprintf(fatigueSpec, "", "", 15, ""), "actor.alternateId")
	// A sequence with only implicit transitions joins on nothing.
	f(`AnalysisType: correlation_rule
RuleID: Test.NoJoin
Enabled: true
Severity: Low
Detection:
  - Sequence:
      - ID: Login
        RuleID: Login
      - ID: Export
        RuleID: Export
    Schedule:
      RateMinutes: 10
      TimeoutMinutes: 2
`, []string(nil)...)
}

func TestSelect(t *testing.T) {
	sel := Select([]string{"actor.alternateId", "actor", "a.b.c", "p_any_emails"})
	got, _ := json.Marshal(sel)
	want := `{"a":{"Whole":false,"Sub":{"b":{"Whole":false,"Sub":{"c":{"Whole":true,"Sub":null}}},"b.c":{"Whole":true,"Sub":null}}},` +
		`"a.b":{"Whole":false,"Sub":{"c":{"Whole":true,"Sub":null}}},"a.b.c":{"Whole":true,"Sub":null},` +
		`"actor":{"Whole":true,"Sub":null},"actor.alternateId":{"Whole":true,"Sub":null},"p_any_emails":{"Whole":true,"Sub":null}}`
	if string(got) != want {
		t.Errorf("Select:\n got %s\nwant %s", got, want)
	}
}

// Lookups of the selected paths find the same values in pruned fields, and
// in the resolved paths, as in the whole ones; the pruned fields hold
// nothing else.
func TestPrune(t *testing.T) {
	event := map[string]any{
		"actor":             map[string]any{"alternateId": "jane@example.com", "displayName": "Jane", "type": "User"},
		"actor.alternateId": "flat@example.com", // a flat key wins over the nested one
		"client": map[string]any{"ipAddress": "10.0.0.1", "userAgent": map[string]any{"rawUserAgent": "Mozilla/5.0"},
			"geographicalContext": map[string]any{"country": "Singapore", "geolocation": map[string]any{"lat": json.Number("1.3")}}},
		"target":       []any{map[string]any{"id": "00u1"}, map[string]any{"id": "00u2"}},
		"p_any_emails": []any{"jane@example.com", "x@example.com"},
		"a":            map[string]any{"b": "not an object"}, // a.b.c: lookup backs off to "a.b"
		"a.b":          map[string]any{"c": json.Number("42")},
		"n":            map[string]any{"x": nil},
		"big":          strings.Repeat("x", 1000),
	}
	f := func(paths []string, want map[string]any) {
		t.Helper()
		pruned := Select(paths).Prune(event)
		if !reflect.DeepEqual(pruned, want) {
			t.Errorf("Prune(%q):\n got %v\nwant %v", paths, pruned, want)
		}
		resolved := Resolve(event, paths)
		for _, p := range paths {
			v1, ok1 := lookup(event, p)
			v2, ok2 := lookup(pruned, p)
			v3, ok3 := lookup(resolved, p)
			if ok1 != ok2 || !reflect.DeepEqual(v1, v2) || !reflect.DeepEqual(joinValues(event, p), joinValues(pruned, p)) {
				t.Errorf("%s: whole %v %v, pruned %v %v", p, v1, ok1, v2, ok2)
			}
			if ok1 != ok3 || !reflect.DeepEqual(v1, v3) || (ok3 && !reflect.DeepEqual(resolved[p], v1)) {
				t.Errorf("%s: whole %v %v, resolved %v %v", p, v1, ok1, v3, ok3)
			}
		}
		if len(resolved) > len(paths) {
			t.Errorf("resolved %v", resolved)
		}
	}
	f(nil, map[string]any{})
	f([]string{"actor.alternateId"}, map[string]any{"actor.alternateId": "flat@example.com", "actor": map[string]any{"alternateId": "jane@example.com"}})
	f([]string{"client.geographicalContext.country", "client.geographicalContext.geolocation.lat"},
		map[string]any{"client": map[string]any{"geographicalContext": map[string]any{"country": "Singapore",
			"geolocation": map[string]any{"lat": json.Number("1.3")}}}})
	f([]string{"client.geographicalContext", "client.geographicalContext.country"},
		map[string]any{"client": map[string]any{"geographicalContext": event["client"].(map[string]any)["geographicalContext"]}})
	f([]string{"p_any_emails", "target.id", "missing.path"},
		map[string]any{"p_any_emails": event["p_any_emails"]}) // lookup does not enter lists
	f([]string{"a.b.c"}, map[string]any{"a.b": map[string]any{"c": json.Number("42")}})
	f([]string{"n.x"}, map[string]any{"n": map[string]any{"x": nil}})
}

// Random trees whose keys contain dots, and random paths: lookups of the
// paths agree on whole and pruned trees, and on the resolved paths.
func TestPruneRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{"a", "b", "a.b", "b.a", "a.b.a", "c"}
	var tree func(depth int) any
	tree = func(depth int) any {
		switch n := rng.IntN(6); {
		case depth < 3 && n < 3:
			m := map[string]any{}
			for range rng.IntN(4) {
				m[keys[rng.IntN(len(keys))]] = tree(depth + 1)
			}
			return m
		case n == 3:
			return []any{fmt.Sprint(rng.IntN(3)), json.Number("1")}
		case n == 4:
			return nil
		}
		return fmt.Sprint(rng.IntN(3))
	}
	segs := []string{"a", "b", "c"}
	for range 5000 {
		fields, _ := tree(0).(map[string]any)
		var paths []string
		for range 1 + rng.IntN(3) {
			var p []string
			for range 1 + rng.IntN(4) {
				p = append(p, segs[rng.IntN(len(segs))])
			}
			paths = append(paths, strings.Join(p, "."))
		}
		pruned, resolved := Select(paths).Prune(fields), Resolve(fields, paths)
		for _, p := range paths {
			v1, ok1 := lookup(fields, p)
			v2, ok2 := lookup(pruned, p)
			if ok1 != ok2 || !reflect.DeepEqual(v1, v2) {
				t.Fatalf("paths %q in %v: %s is %v %v whole, %v %v pruned (%v)", paths, fields, p, v1, ok1, v2, ok2, pruned)
			}
			if v3, ok3 := lookup(resolved, p); ok1 != ok3 || !reflect.DeepEqual(v1, v3) {
				t.Fatalf("paths %q in %v: %s is %v %v whole, %v %v resolved (%v)", paths, fields, p, v1, ok1, v3, ok3, resolved)
			}
		}
	}
}

// A rule evaluates matches whose Fields are pruned to its FieldPaths, or
// are the values of its FieldPaths, as it evaluates the whole events.
func TestPrunedFieldsEvaluateAlike(t *testing.T) {
	r := compile(t, twoItemSpec)
	sel := Select(r.FieldPaths())
	user := func(u string) map[string]any {
		return map[string]any{
			"actor":        map[string]any{"alternateId": u, "displayName": strings.ToUpper(u), "type": "User"},
			"client":       map[string]any{"ipAddress": "10.0.0." + u[:1], "userAgent": map[string]any{"rawUserAgent": "Mozilla/5.0"}},
			"target":       map[string]any{"id": "t-" + u},
			"debugContext": map[string]any{"debugData": map[string]any{"requestUri": "t-" + u, "url": "/x"}},
			"p_any_emails": []any{u, u + "@example.com"},
			"p_alert_context": map[string]any{"ip": "10.0.0." + u[:1], "device": json.Number("7"),
				"unused": map[string]any{"x": 1}},
			"p_alert_id": "alert-" + u,
		}
	}
	var ms []Match
	for i, u := range []string{"amy", "bob", "cat"} {
		base := float64(i)
		for j, rule := range []string{"Login.Failed", "Login.Failed", "Login.Failed", "Login", "Export", "Delete"} {
			if u == "bob" && rule == "Export" {
				continue
			}
			ms = append(ms, Match{RuleID: rule, Time: t0.Add(time.Duration((base + float64(j)) * float64(time.Minute))),
				Fields: user(u), RowID: fmt.Sprintf("%s-%d", u, j)})
		}
	}
	pruned, resolved := slices.Clone(ms), slices.Clone(ms)
	for i := range pruned {
		pruned[i].Fields = sel.Prune(ms[i].Fields)
		if _, ok := pruned[i].Fields["p_alert_id"]; ok || len(pruned[i].Fields) != 6 {
			t.Fatalf("pruned fields: %v", pruned[i].Fields)
		}
		resolved[i].Fields = Resolve(ms[i].Fields, r.FieldPaths())
		if len(resolved[i].Fields) != 7 {
			t.Fatalf("resolved fields: %v", resolved[i].Fields)
		}
	}
	summary := func(rs []Result) string {
		var b strings.Builder
		for _, x := range rs {
			fmt.Fprintf(&b, "%d %s %q %s %v\n", x.Item, x.ID, x.Key, x.Dedup, x.RowIDs())
		}
		return b.String()
	}
	whole := summary(r.Evaluate(ms, time.Time{}, time.Time{}))
	short, flat := summary(r.Evaluate(pruned, time.Time{}, time.Time{})), summary(r.Evaluate(resolved, time.Time{}, time.Time{}))
	if whole != short || whole != flat || strings.Count(whole, "\n") != 5 {
		t.Errorf("whole events:\n%s\npruned:\n%s\nresolved:\n%s", whole, short, flat)
	}
}
