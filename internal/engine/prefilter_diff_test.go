package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

// corpusRules are the rules written inline in other packages' tests
// (internal/pyrt, internal/testrun, internal/engine), minus those that hang,
// exit or exhaust memory on purpose.
var corpusRules = map[string]string{
	"pyrt_full": `from panther_base_helpers import deep_get
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
`,
	"pyrt_raises":    "def rule(event):\n    return event['missing'] == 1\n",
	"pyrt_wrongtype": "def rule(event):\n    return 'yes' if event.get('eventType') == 'user.session.end' else False\n",
	"pyrt_prints":    "def rule(event):\n    print('hello from rule')\n    return event.get('eventType') == 'user.lifecycle.create'\n",
	"pyrt_event_object": `import json
def rule(event):
    checks = [
        event.get("EVENTTYPE") == "x",
        event["eventType"] == "x",
        "Actor" in event,
        event.deep_get("actor", "ALTERNATEID") == "a@example.com",
        event.deep_get("nope", "x", default="d") == "d",
        event.deep_walk("target", "id") == ["t1", "t2"],
        not isinstance(event, dict),
        event.udm("source_ip") == "192.0.2.1",
    ]
    return all(checks)
`,
	"pyrt_usesglobal": "from panther_base_helpers import deep_get\ndef rule(event):\n    return deep_get(event, 'x') == 'from the repo'\n",
	"pyrt_mocked":     "import json\ndef lookup():\n    return None\ndef rule(event):\n    v = lookup()\n    return isinstance(v, dict) and v['n'] == 3\n",
	"pyrt_fallback": `def rule(event):
    return event.get("n", 0) % 2 == 0 and event.get("eventType") == "user.session.end"
def title(event):
    raise ValueError("boom")
def alert_context(event):
    return ["not", "a", "dict"]
`,
	"testrun_raises":  "def rule(event):\n    return event['nope']\n",
	"testrun_allowed": "def allowed_users():\n    return [\"alice\"]\ndef rule(event):\n    return event.get(\"user\") in allowed_users()\n",
	"testrun_a":       "def rule(event):\n    return event.get('a') == 1\n",
	"engine_broken":   "def rule(event):\n    return event['nope']\n",
	"engine_seed":     seedRule,
}

// inlineFilterRules are InlineFilters put on a Python rule in
// soundnessRepo.
var inlineFilterRules = map[string]string{
	"session":  "  - {KeyPath: eventType, Condition: Equals, Value: user.session.start}\n  - {KeyPath: outcome.result, Condition: Equals, Value: FAILURE}\n",
	"outcomes": "  - {DeepKey: [outcome, result], Condition: IsIn, Values: [SUCCESS, FAILURE]}\n  - {KeyPath: eventType, Condition: IStartsWith, Value: User.Account.}\n",
	"absent":   "  - {KeyPath: eventType, Condition: Equals, Value: user.account.lock}\n  - {KeyPath: debugContext.debugData.threatSuspected, Condition: Equals, Value: \"true\"}\n",
	"either":   "  - Any:\n      - {Key: eventType, Condition: EndsWith, Value: .lock}\n      - {KeyPath: client.geographicalContext.country, Condition: Contains, Value: Fr}\n",
}

func copyDir(t testing.TB, from, to string, keep func(string) bool) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || !keep(e.Name()) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func ruleYAML(id, file string) string {
	return fmt.Sprintf("AnalysisType: rule\nRuleID: %s\nFilename: %s\nEnabled: true\nSeverity: Low\nLogTypes: [Okta.SystemLog]\nDedupPeriodMinutes: 60\n", id, file)
}

// soundnessRepo assembles every rule prowl ships or tests with: the bundled
// packs, the test runner's and the scaffold's rules, the inline rules of
// other tests and the hand-written tricky rules of testdata/prefilter.
func soundnessRepo(t testing.TB) *analysis.Repo {
	t.Helper()
	dir := t.TempDir()
	all := func(string) bool { return true }
	packs, _ := os.ReadDir("../../packs")
	for _, p := range packs {
		if p.IsDir() {
			sub := filepath.Join(dir, "pack_"+p.Name())
			os.MkdirAll(sub, 0o755)
			copyDir(t, filepath.Join("../../packs", p.Name()), sub, all)
		}
	}
	for name, from := range map[string]string{"seed": "../testrun/testdata/seed", "scaffold": "../scaffold/template/rules"} {
		sub := filepath.Join(dir, name)
		os.MkdirAll(sub, 0o755)
		copyDir(t, from, sub, all)
	}
	tricky := filepath.Join(dir, "tricky")
	os.MkdirAll(tricky, 0o755)
	copyDir(t, "testdata/prefilter", tricky, func(n string) bool { return strings.HasSuffix(n, ".py") })
	files, _ := filepath.Glob(filepath.Join(tricky, "*.py"))
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".py")
		spec := ruleYAML("Tricky."+base, base+".py")
		if base == "prefilter_test_helpers" {
			spec = "AnalysisType: global\nGlobalID: prefilter_test_helpers\nFilename: prefilter_test_helpers.py\n"
		}
		os.WriteFile(filepath.Join(tricky, base+".yml"), []byte(spec), 0o644)
	}
	corpus := filepath.Join(dir, "corpus")
	os.MkdirAll(corpus, 0o755)
	for name, src := range corpusRules {
		os.WriteFile(filepath.Join(corpus, name+".py"), []byte(src), 0o644)
		os.WriteFile(filepath.Join(corpus, name+".yml"), []byte(ruleYAML("Corpus."+name, name+".py")), 0o644)
	}
	// The Okta pack as simple detections (IDs prefixed), and Python and
	// simple rules with InlineFilters: the Go-side prefilters.
	simple := filepath.Join(dir, "simple")
	os.MkdirAll(simple, 0o755)
	copyDir(t, "../benchdata/okta_simple", simple, all)
	specs, _ := filepath.Glob(filepath.Join(simple, "*.yml"))
	for _, f := range specs {
		data, _ := os.ReadFile(f)
		os.WriteFile(f, bytes.Replace(data, []byte("RuleID: Okta."), []byte("RuleID: Simple.Okta."), 1), 0o644)
	}
	filtered := filepath.Join(dir, "filtered")
	os.MkdirAll(filtered, 0o755)
	for name, filters := range inlineFilterRules {
		src := "def rule(event):\n    return event.deep_get('client', 'ipAddress', default='').startswith('10.')\n"
		os.WriteFile(filepath.Join(filtered, name+".py"), []byte(src), 0o644)
		os.WriteFile(filepath.Join(filtered, name+".yml"), []byte(ruleYAML("Filtered."+name, name+".py")+"InlineFilters:\n"+filters), 0o644)
	}
	repo, problems := loadRepo(t.(*testing.T), dir)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	return repo
}

// jv is a JSON value that keeps member order and repeated keys, so that
// mutations can re-case, shadow and repeat keys.
type jv struct {
	raw   json.RawMessage // scalars
	keys  []string        // objects: raw key text (escaped, without quotes)
	vals  []*jv
	elems []*jv
	kind  byte // 'o', 'a' or 's'
}

func parseJV(dec *json.Decoder) (*jv, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := tok.(type) {
	case json.Delim:
		if x == '{' {
			v := &jv{kind: 'o'}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				kb, _ := json.Marshal(k.(string))
				child, err := parseJV(dec)
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, string(kb[1:len(kb)-1]))
				v.vals = append(v.vals, child)
			}
			_, err := dec.Token()
			return v, err
		}
		v := &jv{kind: 'a'}
		for dec.More() {
			child, err := parseJV(dec)
			if err != nil {
				return nil, err
			}
			v.elems = append(v.elems, child)
		}
		_, err := dec.Token()
		return v, err
	case json.Number:
		return &jv{kind: 's', raw: json.RawMessage(x.String())}, nil
	default:
		b, _ := json.Marshal(x)
		return &jv{kind: 's', raw: b}, nil
	}
}

func (v *jv) write(b *bytes.Buffer) {
	switch v.kind {
	case 'o':
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + k + `":`)
			v.vals[i].write(b)
		}
		b.WriteByte('}')
	case 'a':
		b.WriteByte('[')
		for i, e := range v.elems {
			if i > 0 {
				b.WriteByte(',')
			}
			e.write(b)
		}
		b.WriteByte(']')
	default:
		b.Write(v.raw)
	}
}

// The fields the rules read, which the mutations aim at.
var hotKeys = map[string]bool{"eventType": true, "outcome": true, "result": true, "reason": true, "actor": true,
	"alternateId": true, "client": true, "ipAddress": true, "debugContext": true, "debugData": true,
	"threatSuspected": true, "behaviors": true, "securityContext": true, "isProxy": true, "asNumber": true,
	"severity": true, "target": true, "p_any_ip_addresses": true, "version": true, "zone": true, "device": true}

var swapValues = []string{`0`, `1`, `7922`, `9009`, `1.0`, `-0.0`, `null`, `true`, `false`, `[]`, `["203.0.113.45"]`, `{}`,
	`{"result":"FAILURE","Result":"SUCCESS"}`, `"USER.SESSION.START"`, `"user.session.end"`, `"user.session.start"`,
	`"user.lifecycle.create"`, `"user.mfa.okta_verify.deny_push"`, `"FAILURE"`, `"SUCCESS"`, `"true"`, `"TRUE"`,
	`"unknown"`, `""`, `"\u0075ser.session.start"`, `"New Device=POSITIVE"`, `"user.account.update_password"`}

func recaseKey(r *rand.Rand, k string) string {
	b := []byte(k)
	for i := range b {
		if r.IntN(3) == 0 {
			if b[i] >= 'a' && b[i] <= 'z' {
				b[i] -= 32
			} else if b[i] >= 'A' && b[i] <= 'Z' {
				b[i] += 32
			}
		}
	}
	return string(b)
}

// mutate changes 1-4 members of v in place (at hot keys when it can):
// re-cased keys, shadowing keys that differ in case, repeated keys,
// deleted members and values swapped for other types.
func mutate(r *rand.Rand, v *jv) {
	var objs []*jv
	var walk func(*jv)
	walk = func(x *jv) {
		switch x.kind {
		case 'o':
			objs = append(objs, x)
			for _, c := range x.vals {
				walk(c)
			}
		case 'a':
			for _, c := range x.elems {
				walk(c)
			}
		}
	}
	walk(v)
	for range 1 + r.IntN(4) {
		var o *jv
		var i int
		for try := 0; try < 20; try++ {
			o = objs[r.IntN(len(objs))]
			if len(o.keys) == 0 {
				continue
			}
			i = r.IntN(len(o.keys))
			if hotKeys[o.keys[i]] || try > 15 {
				break
			}
		}
		if o == nil || len(o.keys) == 0 {
			continue
		}
		swap := &jv{kind: 's', raw: json.RawMessage(swapValues[r.IntN(len(swapValues))])}
		switch r.IntN(6) {
		case 0: // re-case the key
			o.keys[i] = recaseKey(r, o.keys[i])
		case 1: // a differently cased key before it (exact lookups still win)
			o.keys = append(o.keys[:i], append([]string{recaseKey(r, o.keys[i])}, o.keys[i:]...)...)
			o.vals = append(o.vals[:i], append([]*jv{swap}, o.vals[i:]...)...)
		case 2: // re-cased, with a re-cased twin first: the first one wins
			k := recaseKey(r, o.keys[i])
			o.keys[i] = strings.ToUpper(k)
			o.keys = append(o.keys[:i], append([]string{strings.ToLower(k)}, o.keys[i:]...)...)
			o.vals = append(o.vals[:i], append([]*jv{swap}, o.vals[i:]...)...)
		case 3: // the same key again at the end: the last value wins
			o.keys = append(o.keys, o.keys[i])
			o.vals = append(o.vals, swap)
		case 4: // delete
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			o.vals = append(o.vals[:i], o.vals[i+1:]...)
		default: // another type or value
			o.vals[i] = swap
		}
	}
}

// soundnessCorpus is n generated Okta events with every attack scenario,
// normalized, plus a mutated copy of every other one.
func soundnessCorpus(t testing.TB, n int) []logtypes.Event {
	t.Helper()
	var names []string
	for _, s := range gen.OktaScenarios() {
		names = append(names, s.Name)
	}
	norm := logtypes.NewRegistry().NewNormalizer()
	var events []logtypes.Event
	err := gen.Okta(gen.OktaOptions{Count: n, Seed: 20240806, Attacks: names}, func(raw []byte) error {
		ev, err := norm.Normalize("Okta.SystemLog", raw, logtypes.Meta{})
		if err != nil {
			return err
		}
		ev.Members = norm.AppendMembers(nil)
		events = append(events, ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(42, 6))
	originals := len(events)
	for i := 0; i < originals; i += 2 {
		dec := json.NewDecoder(bytes.NewReader(events[i].JSON))
		dec.UseNumber()
		v, err := parseJV(dec)
		if err != nil {
			t.Fatal(err)
		}
		mutate(r, v)
		var b bytes.Buffer
		v.write(&b)
		ev := events[i]
		ev.JSON, ev.Members = b.Bytes(), nil // found by scanning
		ev.RowID = "mutated-" + strconv.Itoa(i)
		events = append(events, ev)
	}
	return events
}

// TestPrefiltersAreSound runs every rule prowl ships or tests with, with
// and without prefilters, over a large generated Okta corpus plus mutated
// copies, and requires exactly the same matches and rule errors.
func TestPrefiltersAreSound(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	if s := os.Getenv("PROWL_SOUNDNESS_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	repo := soundnessRepo(t)
	events := soundnessCorpus(t, n)
	cfg := pyrt.Config{RuleTimeout: 5 * time.Second, Output: io.Discard}
	on, err := New(context.Background(), repo, Options{Python: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer on.Close()
	off, err := New(context.Background(), repo, Options{Python: cfg, PrefiltersOff: true})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if len(on.Problems()) > 0 {
		t.Fatal(on.Problems())
	}
	var ids []string
	for _, d := range on.Detections() {
		if d.PythonFile == "" {
			continue
		}
		p, ok := on.Prefilter(d.ID)
		if !ok {
			p = "(none)"
		}
		ids = append(ids, d.ID+": "+p)
	}
	sort.Strings(ids)
	t.Logf("%d Python rules, %d events; prefilters:\n  %s", len(ids), len(events), strings.Join(ids, "\n  "))

	total, perRule := sameVerdicts(t, on, off, events)
	so, sf := on.Stats(), off.Stats()
	t.Logf("identical verdicts: %d matches and rule errors; %v", total, perRule)
	t.Logf("events reaching Python: %d with prefilters, %d without (of %d); rule calls %d vs %d",
		so.PythonEvents, sf.PythonEvents, so.Events, so.RuleCalls, sf.RuleCalls)
	t.Logf("events decoded for simple detections and InlineFilters: %d with prefilters, %d without (of %d)",
		so.GoDecoded, sf.GoDecoded, so.GoCandidates)
	if so.RuleCalls*2 >= sf.RuleCalls || so.Prefiltered*2 < so.PythonRules || so.GoDecoded*2 >= sf.GoDecoded {
		t.Errorf("the prefilters did not filter: %+v vs %+v", so, sf)
	}
}

// TestSimpleDetectionsAreSound: for a log type with simple detections
// only, Evaluate skips the events that no prefilter admits; the matches
// must be those without prefilters.
func TestSimpleDetectionsAreSound(t *testing.T) {
	n := 20_000
	if testing.Short() {
		n = 4_000
	}
	repo, err := analysis.Load([]string{"../benchdata/okta_simple"}, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	on, err := New(context.Background(), repo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer on.Close()
	off, err := New(context.Background(), repo, Options{PrefiltersOff: true})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	total, perRule := sameVerdicts(t, on, off, soundnessCorpus(t, n))
	if so := on.Stats(); total == 0 || so.GoDecoded*2 >= so.GoCandidates {
		t.Errorf("%d matches %v; the prefilters admitted %d of %d events", total, perRule, so.GoDecoded, so.GoCandidates)
	}
}

// sameVerdicts evaluates events in chunks with on and off and requires the
// same matches and rule errors; it returns their number, in all and by
// rule.
func sameVerdicts(t *testing.T, on, off *Engine, events []logtypes.Event) (int, map[string]int) {
	t.Helper()
	total, perRule := 0, map[string]int{}
	const chunk = 2000
	for start := 0; start < len(events); start += chunk {
		batch := events[start:min(start+chunk, len(events))]
		a, err := on.Evaluate(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		b, err := off.Evaluate(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		ka, kb := keys(a), keys(b)
		if strings.Join(ka, "\n") != strings.Join(kb, "\n") {
			reportDiff(t, ka, kb)
			t.FailNow()
		}
		total += len(a)
		for _, m := range a {
			perRule[m.Type+" "+m.RuleID]++
		}
	}
	return total, perRule
}

func keys(ms []alerts.Match) []string {
	out := make([]string, len(ms))
	for i := range ms {
		b, _ := json.Marshal(ms[i])
		out[i] = string(b)
	}
	return out
}

func reportDiff(t *testing.T, a, b []string) {
	t.Helper()
	inA := map[string]int{}
	for _, x := range a {
		inA[x]++
	}
	for _, x := range b {
		if inA[x] > 0 {
			inA[x]--
			continue
		}
		t.Errorf("UNSOUND: only without prefilters:\n%.2000s", x)
	}
	for x, c := range inA {
		if c > 0 {
			t.Errorf("only with prefilters:\n%.2000s", x)
		}
	}
}
