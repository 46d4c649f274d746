package pyrt

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// writeRules writes name -> source files into a temp dir and returns the
// detections in the order given.
func writeRules(t *testing.T, rules ...[2]string) []Detection {
	t.Helper()
	dir := t.TempDir()
	var out []Detection
	for _, r := range rules {
		path := filepath.Join(dir, r[0]+".py")
		if err := os.WriteFile(path, []byte(r[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, Detection{ID: r[0], File: path, Severity: "MEDIUM", DisplayName: "Display " + r[0]})
	}
	return out
}

func newPool(t *testing.T, cfg Config, prog *Program) *Pool {
	t.Helper()
	p, err := New(cfg, prog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func runOne(t *testing.T, p *Pool, mode Mode, event string, rules ...int) []Result {
	t.Helper()
	res, err := p.Run(context.Background(), mode, []Item{{Event: json.RawMessage(event), Rules: rules}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

func resultFor(rs []Result, rule int) *Result {
	for i := range rs {
		if rs[i].Rule == rule {
			return &rs[i]
		}
	}
	return nil
}

const seedEvent = `{"actor":{"alternateId":"admin","displayName":"unknown","id":"unknown","type":"User"},
"client":{"ipAddress":"111.111.111.111"},"eventType":"user.session.start",
"outcome":{"reason":"VERIFICATION_ERROR","result":"FAILURE"},
"p_event_time":"2022-12-13 09:59:53.650807","p_log_type":"Okta.SystemLog","p_parse_time":"2022-12-13 10:02:33.650807"}`

func TestAlertFunctionsAndDefaults(t *testing.T) {
	dets := writeRules(t,
		[2]string{"full", `from panther_base_helpers import deep_get
def rule(event):
    return event.get("eventType") == 'user.session.start' and deep_get(event, 'outcome', 'result') == "FAILURE"
def severity(event):
    if deep_get(event, 'actor', 'alternateID') == "admin":
        return "CRITICAL"
    return "MEDIUM"
def title(event):
  return f"Multiple Failed Logins for {deep_get(event, 'actor', 'alternateID')}"
def dedup(event):
  return deep_get(event, 'client', 'ipAddress')
def alert_context(event):
    return {"ip": event.deep_get("client", "ipaddress"), "nested": event.get("actor")}
def destinations(event):
    return []
`},
		[2]string{"bare", "def rule(event):\n    return True\n"},
		[2]string{"titled", "def rule(event):\n    return True\ndef title(event):\n    return 'T' * 2000\n"},
		[2]string{"default_sev", "def rule(event):\n    return True\ndef severity(event):\n    return 'default'\n"},
	)
	p := newPool(t, Config{Workers: 1}, &Program{Detections: dets})
	rs := runOne(t, p, ModeBatch, seedEvent, 0, 1, 2, 3)
	full := resultFor(rs, 0)
	if full == nil || !full.Matched || full.Outputs == nil {
		t.Fatalf("full: %+v", full)
	}
	o := full.Outputs
	if o.Title != "Multiple Failed Logins for admin" || o.Dedup != "111.111.111.111" || o.Severity != "CRITICAL" {
		t.Errorf("outputs = %q %q %q", o.Title, o.Dedup, o.Severity)
	}
	if string(o.AlertContext) != `{"ip":"111.111.111.111","nested":{"alternateId":"admin","displayName":"unknown","id":"unknown","type":"User"}}` {
		t.Errorf("alert context = %s", o.AlertContext)
	}
	if len(o.Destinations) != 1 || o.Destinations[0] != "SKIP" {
		t.Errorf("destinations [] should become [SKIP], got %v", o.Destinations)
	}
	bare := resultFor(rs, 1).Outputs
	if bare.Title != "Display bare" || bare.Dedup != "defaultDedupString:bare" || bare.Severity != "MEDIUM" || string(bare.AlertContext) != "{}" {
		t.Errorf("defaults = %+v", bare)
	}
	titled := resultFor(rs, 2).Outputs
	if len(titled.Title) != 1000 || !strings.HasSuffix(titled.Title, "... (truncated)") || titled.Dedup != titled.Title {
		t.Errorf("truncated title len %d, dedup len %d", len(titled.Title), len(titled.Dedup))
	}
	if got := resultFor(rs, 3).Outputs.Severity; got != "MEDIUM" {
		t.Errorf(`severity "default" should give the rule severity, got %q`, got)
	}
}

func TestRuleErrorsAndHostileRules(t *testing.T) {
	dets := writeRules(t,
		[2]string{"raises", "def rule(event):\n    return event['missing'] == 1\n"},
		[2]string{"wrongtype", "def rule(event):\n    return 'yes'\n"},
		[2]string{"loops", "def rule(event):\n    while True:\n        pass\n"},
		[2]string{"prints", "def rule(event):\n    print('hello from rule')\n    return True\n"},
		[2]string{"exits", "import sys\ndef rule(event):\n    sys.exit(3)\n"},
		[2]string{"hardexit", "import os\ndef rule(event):\n    os._exit(7)\n"},
		[2]string{"memory", "def rule(event):\n    x = ' ' * (8 * 1024 * 1024 * 1024)\n    return True\n"},
		[2]string{"swallows", "def rule(event):\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass\n"},
		[2]string{"ok", "def rule(event):\n    return True\n"},
	)
	p := newPool(t, Config{Workers: 1, RuleTimeout: 500 * time.Millisecond, MemoryLimitMB: 1024}, &Program{Detections: dets})
	rs := runOne(t, p, ModeTest, `{"a":1}`, 0, 1, 2, 3, 4, 5, 6, 7, 8)
	want := map[int]string{0: "KeyError", 1: "FunctionReturnTypeError", 2: "RuleTimeout", 4: "SystemExit", 5: "WorkerCrash", 6: "MemoryError", 7: "WorkerCrash"}
	for rule, typ := range want {
		r := resultFor(rs, rule)
		if r == nil || r.Error == nil || r.Error.Type != typ {
			t.Errorf("%s: want error %s, got %+v", dets[rule].ID, typ, r)
		}
	}
	if r := resultFor(rs, 0); r != nil && r.Error != nil && (r.Error.Line != 2 || !strings.Contains(r.Error.Message, "raises.py, line 2")) {
		t.Errorf("rule error should name file and line: %+v", r.Error)
	}
	if r := resultFor(rs, 3); r == nil || !r.Matched || r.Stdout != "hello from rule\n" {
		t.Errorf("printing rule: %+v", r)
	}
	if r := resultFor(rs, 8); r == nil || !r.Matched {
		t.Errorf("the rule after the crashes must still run: %+v", r)
	}
	// The pool keeps working after the restarts.
	rs = runOne(t, p, ModeBatch, `{"a":1}`, 8)
	if r := resultFor(rs, 8); r == nil || !r.Matched {
		t.Errorf("after restarts: %+v", rs)
	}
}

func TestImportFailures(t *testing.T) {
	dets := writeRules(t,
		[2]string{"syntax", "def rule(event)\n    return True\n"},
		[2]string{"badimport", "import not_a_module_anywhere\ndef rule(event):\n    return True\n"},
		[2]string{"norule", "def title(event):\n    return 'x'\n"},
		[2]string{"killer", "import os\nos._exit(1)\n"},
		[2]string{"ok", "def rule(event):\n    return True\n"},
	)
	p := newPool(t, Config{Workers: 2}, &Program{Detections: dets})
	for id, typ := range map[string]string{"syntax": "SyntaxError", "badimport": "ModuleNotFoundError", "norule": "AttributeError", "killer": "WorkerCrash"} {
		if e := p.LoadErrors[id]; e == nil || e.Type != typ {
			t.Errorf("%s: want load error %s, got %+v", id, typ, e)
		}
	}
	if e := p.LoadErrors["syntax"]; e != nil && e.Line != 1 {
		t.Errorf("syntax error line = %d", e.Line)
	}
	rs := runOne(t, p, ModeBatch, `{}`, 0, 1, 2, 3, 4)
	if len(rs) != 1 || rs[0].Rule != 4 || !rs[0].Matched {
		t.Errorf("only the good rule should run: %+v", rs)
	}
}

func TestEventObject(t *testing.T) {
	dets := writeRules(t, [2]string{"ev", `import json
def rule(event):
    checks = [
        event.get("EVENTTYPE") == "x",
        event["eventType"] == "x",
        "Actor" in event,
        event.deep_get("actor", "ALTERNATEID") == "a@example.com",
        event.deep_get("nope", "x", default="d") == "d",
        event.deep_walk("target", "id") == ["t1", "t2"],
        event.deep_walk("target", "id", return_val="first") == "t1",
        event.get("target") == [{"id": "t1"}, {"id": "t2"}],
        not isinstance(event, dict),
        event.to_dict()["actor"]["alternateId"] == "a@example.com",
        event.udm("source_ip") == "192.0.2.1",
        event.udm("actor_user") == "a@example.com",
        event.udm("eventType") == "x",
        event.event_time_epoch() == 1670925593,
    ]
    try:
        event["actor"]["alternateId"] = "changed"
        checks.append(False)
    except TypeError:
        checks.append(True)
    return all(checks)
def alert_context(event):
    return {"checks": "ok"}
`})
	dm := filepath.Join(t.TempDir(), "dm.py")
	os.WriteFile(dm, []byte("def get_actor_user(event):\n    return event.deep_get('actor', 'alternateId')\n"), 0o644)
	prog := &Program{Detections: dets, DataModels: []DataModel{{ID: "m", LogTypes: []string{"Okta.SystemLog"}, File: dm,
		Mappings: []Mapping{{Name: "source_ip", Path: "$.client.ipAddress"}, {Name: "actor_user", Method: "get_actor_user"}}}}}
	p := newPool(t, Config{Workers: 1}, prog)
	rs := runOne(t, p, ModeTest, `{"eventType":"x","actor":{"alternateId":"a@example.com"},"client":{"ipAddress":"192.0.2.1"},
		"target":[{"id":"t1"},{"id":"t2"}],"p_log_type":"Okta.SystemLog","p_event_time":"2022-12-13 09:59:53.650807"}`, 0)
	if len(rs) != 1 || rs[0].Error != nil || !rs[0].Matched {
		t.Fatalf("event semantics: %+v %+v", rs, rs[0].Error)
	}
}

func TestGlobalsOverrideBuiltinsAndMocks(t *testing.T) {
	dir := t.TempDir()
	helper := filepath.Join(dir, "panther_base_helpers.py")
	os.WriteFile(helper, []byte("def deep_get(*a, **k):\n    return 'from the repo'\n"), 0o644)
	dets := writeRules(t,
		[2]string{"usesglobal", "from panther_base_helpers import deep_get\ndef rule(event):\n    return deep_get(event, 'x') == 'from the repo'\n"},
		[2]string{"mocked", "import json\ndef lookup():\n    return None\ndef rule(event):\n    v = lookup()\n    return isinstance(v, dict) and v['n'] == 3\n"},
	)
	p := newPool(t, Config{Workers: 1}, &Program{Detections: dets, Globals: []Module{{Name: "panther_base_helpers", File: helper}}})
	rs := runOne(t, p, ModeTest, `{}`, 0)
	if !rs[0].Matched {
		t.Errorf("repo global should win over the built-in: %+v", rs[0])
	}
	res, err := p.Run(context.Background(), ModeTest, []Item{{Event: json.RawMessage(`{}`), Rules: []int{1},
		Mocks: []Mock{{Name: "lookup", Value: json.RawMessage(`{"n":3}`)}}}})
	if err != nil || !res[0][0].Matched {
		t.Errorf("JSON mock should be returned as a dict: %+v %v", res, err)
	}
	res, _ = p.Run(context.Background(), ModeTest, []Item{{Event: json.RawMessage(`{}`), Rules: []int{1},
		Mocks: []Mock{{Name: "no_such_name", Value: json.RawMessage(`1`)}}}})
	if res[0][0].Error == nil || res[0][0].Error.Type != "AttributeError" {
		t.Errorf("mocking a missing name should fail clearly: %+v", res[0][0])
	}
}

func TestBatchFallbacksAndParallelism(t *testing.T) {
	dets := writeRules(t, [2]string{"fallback", `def rule(event):
    return event.get("n", 0) % 2 == 0
def title(event):
    raise ValueError("boom")
def alert_context(event):
    return ["not", "a", "dict"]
def severity(event):
    return "EXTREME"
`})
	p := newPool(t, Config{Workers: 2, BatchSize: 7}, &Program{Detections: dets})
	var items []Item
	for i := range 100 {
		items = append(items, Item{Event: json.RawMessage(`{"n":` + string(rune('0'+i%10)) + `}`), Rules: []int{0}})
	}
	res, err := p.Run(context.Background(), ModeBatch, items)
	if err != nil {
		t.Fatal(err)
	}
	matches := 0
	for i, rs := range res {
		if i%2 == 1 && len(rs) != 0 {
			t.Fatalf("item %d should not match: %+v", i, rs)
		}
		for _, r := range rs {
			matches++
			o := r.Outputs
			if o.Title != "fallback" || o.Severity != "MEDIUM" || !strings.Contains(string(o.AlertContext), "_error") {
				t.Fatalf("batch fallbacks: %+v", o)
			}
			if r.FunctionErrors["title"] == nil || r.FunctionErrors["severity"] == nil {
				t.Fatalf("function errors should be reported: %+v", r.FunctionErrors)
			}
		}
	}
	if matches != 50 {
		t.Errorf("matches = %d, want 50", matches)
	}
}

func TestPrefiltersFromLoad(t *testing.T) {
	dets := writeRules(t,
		[2]string{"typed", "def rule(event):\n    return event.get('eventType') == 'x'\n"},
		[2]string{"opaque", "def rule(event):\n    return len(event) > 3\n"},
		[2]string{"broken", "import not_a_module_anywhere\ndef rule(event):\n    return True\n"},
		[2]string{"pol", "def policy(resource):\n    return resource.get('x') == 1\n"},
	)
	dets[3].Kind = "policy"
	p := newPool(t, Config{Workers: 1, Prefilters: true}, &Program{Detections: dets})
	got := p.Prefilters()
	if string(got[0]) != `{"op":"eq","path":["eventType"],"value":"x"}` {
		t.Errorf("typed: %s", got[0])
	}
	if string(got[1]) != `{"op":"true"}` {
		t.Errorf("opaque: %s", got[1])
	}
	if _, ok := got[2]; ok {
		t.Error("a rule that does not import has no prefilter")
	}
	if _, ok := got[3]; ok {
		t.Error("policies get no prefilter")
	}
	if off := newPool(t, Config{Workers: 1}, &Program{Detections: dets[:1]}); len(off.Prefilters()) != 0 {
		t.Errorf("prefilters are only computed on request: %v", off.Prefilters())
	}
}

// The worker keeps per-event work (deep_get results, nested wrappers,
// lower-case indexes shared by events with the same keys): several events
// in one batch, and several rules on one event, must still each see their
// own event's values, and deep_get's default must not be remembered.
func TestEventCachesStayWithTheirEvent(t *testing.T) {
	dets := writeRules(t,
		[2]string{"first", `from panther_base_helpers import deep_get
def rule(event):
    return True
def title(event):
    return "|".join(str(v) for v in (
        deep_get(event, "actor", "alternateId"),
        event.deep_get("Actor", "AlternateId"),
        event.deep_get("client", "ip", default="-"),
        event.deep_get("nope", "x", default="d1"),
        event.get("CLIENT", {}).get("IP", "-"),
    ))
def dedup(event):
    # Same paths again, other defaults: the first call must not decide them.
    return "|".join(str(v) for v in (
        deep_get(event, "actor", "alternateId", default="x"),
        event.deep_get("nope", "x", default="d2"),
        event.deep_get("nope", "x"),
        event.get("actor") is event.get("actor"),
    ))
`},
		[2]string{"second", `def rule(event):
    return event.deep_get("actor", "alternateId") != "skip"
def title(event):
    return str(event.deep_get("ACTOR", "alternateid", default="none")) + "/" + str(event.get("client"))
`},
	)
	p := newPool(t, Config{Workers: 1}, &Program{Detections: dets})
	events := []string{
		`{"actor":{"alternateId":"a"},"Client":{"IP":"1"}}`,
		`{"actor":{"alternateId":"b"},"client":{"ip":"2"}}`,
		`{"ACTOR":{"alternateId":"c"},"actor":{"alternateId":"c2"}}`,
		`{"actor":{"alternateId":"d"},"Client":{"IP":"4"}}`,
		`{"actor":{"alternateId":"skip"}}`,
	}
	var items []Item
	for _, e := range events {
		items = append(items, Item{Event: json.RawMessage(e), Rules: []int{0, 1}})
	}
	res, err := p.Run(context.Background(), ModeBatch, items)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ title, dedup, second string }{
		{"a|a|1|d1|1", "a|d2|None|True", "a/{'IP': '1'}"},
		{"b|b|2|d1|2", "b|d2|None|True", "b/{'ip': '2'}"},
		// An exact key wins; otherwise the first key that matches by case.
		{"c2|c|-|d1|-", "c2|d2|None|True", "c/None"},
		{"d|d|4|d1|4", "d|d2|None|True", "d/{'IP': '4'}"},
		{"skip|skip|-|d1|-", "skip|d2|None|True", ""},
	}
	for i, w := range want {
		first, second := resultFor(res[i], 0), resultFor(res[i], 1)
		if first == nil || first.Outputs == nil || first.Outputs.Title != w.title || first.Outputs.Dedup != w.dedup {
			t.Errorf("event %d, rule first: %+v, want title %q dedup %q", i, first, w.title, w.dedup)
			if first != nil && first.Outputs != nil {
				t.Logf("got title %q dedup %q", first.Outputs.Title, first.Outputs.Dedup)
			}
		}
		if w.second == "" {
			if second != nil {
				t.Errorf("event %d: rule second should not match: %+v", i, second)
			}
		} else if second == nil || second.Outputs == nil || second.Outputs.Title != w.second {
			t.Errorf("event %d, rule second: %+v, want title %q", i, second, w.second)
		}
	}
}

// Events and mappings that a detection builds itself wrap data it may still
// change: they cache nothing.
func TestUserBuiltEventsCacheNothing(t *testing.T) {
	dets := writeRules(t, [2]string{"builds", `from panther_core.enriched_event import PantherEvent
from panther_core.immutable import ImmutableCaseInsensitiveDict
from panther_base_helpers import deep_get
def rule(event):
    data = {"a": {"b": 1}, "Upper": 1}
    ev = PantherEvent(data)
    m = ImmutableCaseInsensitiveDict(data)
    before = (deep_get(ev, "a", "b"), ev.deep_get("a", "b"), m.get("a").get("b"), ev.get("upper"), m.get("UPPER"))
    data["a"] = {"b": 2}
    data["upper"] = 2
    after = (deep_get(ev, "a", "b"), ev.deep_get("a", "b"), m.get("a").get("b"), ev["a"]["b"])
    return before == (1, 1, 1, 1, 1) and after == (2, 2, 2, 2)
`})
	p := newPool(t, Config{Workers: 1}, &Program{Detections: dets})
	if len(p.LoadErrors) > 0 {
		t.Fatalf("load: %+v", p.LoadErrors["builds"])
	}
	for _, mode := range []Mode{ModeTest, ModeBatch} {
		rs := runOne(t, p, mode, `{}`, 0)
		if len(rs) != 1 || !rs[0].Matched {
			t.Errorf("%s: a user-built event must see changes to its data: %+v", mode, rs)
		}
	}
}

// In batch mode the progress mark is written inline: a crash or a hang
// must still name the rule and the event, and a long batch of quick calls
// must not look like a hang.
func TestBatchProgressNamesTheRule(t *testing.T) {
	dets := writeRules(t,
		[2]string{"ok", "def rule(event):\n    return True\n"},
		[2]string{"crashes", "import os\ndef rule(event):\n    if event.get('n') == 1:\n        os._exit(9)\n    return False\n"},
		[2]string{"hangs", "def rule(event):\n    while event.get('n') == 2:\n        pass\n    return False\n"},
		[2]string{"slowish", "import time\ndef rule(event):\n    time.sleep(0.002)\n    return False\n"},
	)
	p := newPool(t, Config{Workers: 1, RuleTimeout: 400 * time.Millisecond}, &Program{Detections: dets})
	var items []Item
	for n := range 4 {
		items = append(items, Item{Event: json.RawMessage(`{"n":` + string(rune('0'+n)) + `}`), Rules: []int{0, 1, 2}})
	}
	res, err := p.Run(context.Background(), ModeBatch, items)
	if err != nil {
		t.Fatal(err)
	}
	for n, rs := range res {
		if r := resultFor(rs, 0); r == nil || !r.Matched {
			t.Errorf("event %d: ok should match: %+v", n, rs)
		}
		crash, hang := resultFor(rs, 1), resultFor(rs, 2)
		switch n {
		case 1:
			if crash == nil || crash.Error == nil || crash.Error.Type != "WorkerCrash" {
				t.Errorf("event 1: the crash should be blamed on crashes: %+v", rs)
			}
		case 2:
			if hang == nil || hang.Error == nil || hang.Error.Type != "RuleTimeout" {
				t.Errorf("event 2: the hang should be blamed on hangs: %+v", rs)
			}
		}
		if (crash != nil && n != 1) || (hang != nil && n != 2) {
			t.Errorf("event %d: errors on the wrong event: %+v", n, rs)
		}
	}
	// 300 calls of 2ms: longer than the limit in all, never in one call.
	items = items[:0]
	for range 300 {
		items = append(items, Item{Event: json.RawMessage(`{}`), Rules: []int{3}})
	}
	res, err = p.Run(context.Background(), ModeBatch, items)
	if err != nil {
		t.Fatal(err)
	}
	for i, rs := range res {
		if len(rs) != 0 {
			t.Fatalf("item %d: quick calls must not time out: %+v", i, rs[0].Error)
		}
	}
}

// Every alert function's fallback when it is missing, fails or returns the
// wrong type, in batch mode (Panther's production semantics).
func TestAlertFunctionFailures(t *testing.T) {
	dets := writeRules(t,
		[2]string{"allfail", `def rule(event):
    return True
def title(event):
    raise ValueError("t")
def dedup(event):
    return 5
def severity(event):
    return "EXTREME"
def alert_context(event):
    raise KeyError("ctx")
def description(event):
    return None
def reference(event):
    raise RuntimeError("r")
def runbook(event):
    return "R" * 1500
def destinations(event):
    return "not-a-list"
def unique(event):
    return 7
`},
		[2]string{"titlefails", `def rule(event):
    return True
def title(event):
    return None
def severity(event):
    return "low"
def alert_context(event):
    return {"n": float("nan")}
def destinations(event):
    return ("a", "b")
def unique(event):
    return "u"
`},
		[2]string{"statics", `def rule(event):
    return True
def title(event):
    return "T"
def alert_context(event):
    return {"big": "x" * (300 * 1024)}
`},
	)
	dets[2].Description, dets[2].Reference, dets[2].Runbook = "desc", "ref", strings.Repeat("b", 1200)
	p := newPool(t, Config{Workers: 1}, &Program{Detections: dets})
	rs := runOne(t, p, ModeBatch, `{}`, 0, 1, 2)
	type want struct {
		title, dedup, severity, context, description, reference, runbook string
		destinations                                                     []string
		unique                                                           *string
		errors                                                           []string
	}
	u := "u"
	wants := map[int]want{
		0: {"allfail", "defaultDedupString:allfail", "MEDIUM", `{"_error": "KeyError('ctx')"}`, "", "",
			strings.Repeat("R", 985) + "... (truncated)", nil, nil,
			[]string{"alert_context", "dedup", "description", "destinations", "reference", "severity", "title", "unique"}},
		1: {"titlefails", "defaultDedupString:titlefails", "LOW",
			`{"_error": "ValueError('Out of range float values are not JSON compliant')"}`, "", "", "",
			[]string{"a", "b"}, &u, []string{"alert_context", "title"}},
		2: {"T", "T", "MEDIUM",
			`{"_error": "alert_context size is [307210] characters, bigger than maximum of [204800] characters"}`,
			"desc", "ref", strings.Repeat("b", 985) + "... (truncated)", nil, nil, nil},
	}
	for rule, w := range wants {
		r := resultFor(rs, rule)
		if r == nil || !r.Matched || r.Outputs == nil {
			t.Fatalf("%s: %+v", dets[rule].ID, r)
		}
		o := r.Outputs
		got := want{o.Title, o.Dedup, o.Severity, string(o.AlertContext), o.Description, o.Reference, o.Runbook, o.Destinations, o.Unique, nil}
		for name := range r.FunctionErrors {
			got.errors = append(got.errors, name)
		}
		sort.Strings(got.errors)
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\n got %+v\nwant %+v", dets[rule].ID, got, w)
		}
	}
	if e := resultFor(rs, 0).FunctionErrors["dedup"]; e == nil || e.Type != "FunctionReturnTypeError" ||
		e.Message != "detection [allfail] function [dedup] returned [int], expected [str]" {
		t.Errorf("dedup error: %+v", e)
	}
}

// TestRuntimePackagesImport imports the runtime's packages as their
// documentation shows (docs/detections.md): the embedded runtime must
// carry their __init__.py files.
func TestRuntimePackagesImport(t *testing.T) {
	dets := writeRules(t, [2]string{"imports", `from panther_core import PantherEvent
import panther_detection_helpers.caching
def rule(event):
    return isinstance(event, PantherEvent) or event.get("x") == 1
`})
	p := newPool(t, Config{Workers: 1}, &Program{Detections: dets})
	if len(p.LoadErrors) > 0 {
		t.Fatalf("load: %+v", p.LoadErrors["imports"])
	}
	if rs := runOne(t, p, ModeTest, `{"x":1}`, 0); len(rs) != 1 || !rs[0].Matched {
		t.Errorf("%+v", rs)
	}
}
