package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/batchrec"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

const seedRule = `from panther_base_helpers import deep_get

def rule(event):
    return event.get("eventType") == 'user.session.start' and deep_get(event, 'outcome', 'result') == "FAILURE"

def title(event):
    return f"Multiple Failed Logins for {deep_get(event, 'actor', 'alternateID')}"

def dedup(event):
    return deep_get(event, 'client', 'ipAddress')
`

const seedSpec = `AnalysisType: rule
Filename: seed.py
RuleID: Seed
Enabled: true
Severity: Medium
LogTypes: [Okta.SystemLog]
Threshold: 5
DedupPeriodMinutes: 30
`

const simpleSpec = `AnalysisType: rule
RuleID: Simple.AdminGrant
Enabled: true
Severity: High
LogTypes: [Okta.SystemLog]
Detection:
  - Key: eventType
    Condition: Equals
    Value: user.account.privilege.grant
AlertTitle: "Admin granted by {actor.alternateId}"
`

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func loadRepo(t *testing.T, dir string) (*analysis.Repo, analysis.Problems) {
	t.Helper()
	repo, problems, err := analysis.LoadLenient([]string{dir}, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return repo, problems
}

func newEngine(t *testing.T, dir string) *Engine {
	t.Helper()
	repo, problems := loadRepo(t, dir)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	e, err := New(context.Background(), repo, Options{Python: pyrt.Config{Workers: 1, RuleTimeout: time.Second}, SnapshotDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func event(logType, body string) logtypes.Event {
	return logtypes.Event{LogType: logType, RowID: "r-" + body[:min(8, len(body))], Time: time.Unix(1700000000, 0).UTC(), JSON: []byte(body)}
}

func evaluate(t *testing.T, e *Engine, events ...logtypes.Event) []alerts.Match {
	t.Helper()
	ms, err := e.Evaluate(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

const failure = `{"eventType":"user.session.start","outcome":{"result":"FAILURE"},"actor":{"alternateId":"admin"},"client":{"ipAddress":"111.111.111.111"}}`

func TestEvaluateRoutesAndBuildsMatches(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"seed.yml": seedSpec, "seed.py": seedRule, "simple.yml": simpleSpec,
		"broken.yml": strings.NewReplacer("Seed", "Broken", "seed.py", "broken.py").Replace(seedSpec),
		"broken.py":  "def rule(event):\n    return event['nope']\n",
		"off.yml":    strings.NewReplacer("Seed", "Off", "seed.py", "off.py", "Enabled: true", "Enabled: false").Replace(seedSpec),
		"off.py":     seedRule,
	})
	e := newEngine(t, dir)
	ms := evaluate(t, e,
		event("Okta.SystemLog", failure),
		event("AWS.CloudTrail", failure), // another log type: no Okta rule runs
		event("Okta.SystemLog", `{"eventType":"user.account.privilege.grant","actor":{"alternateId":"root@example.com"}}`),
	)
	var got []string
	for _, m := range ms {
		got = append(got, m.Type+" "+m.RuleID+" "+m.Title+" | "+m.Dedup)
	}
	want := []string{
		"RULE_ERROR Broken Error in Broken: KeyError: 'nope': broken.py, line 2 | KeyError",
		"RULE Seed Multiple Failed Logins for admin | 111.111.111.111",
		"RULE_ERROR Broken Error in Broken: KeyError: 'nope': broken.py, line 2 | KeyError",
		"RULE Simple.AdminGrant Admin granted by root@example.com | Admin granted by root@example.com",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("matches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	seed := ms[1]
	if seed.Threshold != 5 || seed.DedupPeriod != 30*time.Minute || seed.Severity != "MEDIUM" || seed.RuleVersion == "" || string(seed.Event) != failure {
		t.Errorf("match fields: %+v", seed)
	}
}

func TestReloadKeepsPreviousVersionOfBrokenDetections(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"seed.yml": seedSpec, "seed.py": seedRule})
	e := newEngine(t, dir)
	v1 := e.Version("Seed")

	// A new version that does not import: the old one keeps running.
	write(t, dir, map[string]string{"seed.py": "import not_installed_anywhere\n" + seedRule})
	repo, problems := loadRepo(t, dir)
	got, err := e.Reload(repo, problems)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !strings.Contains(got[0], "not_installed_anywhere") {
		t.Errorf("the import failure should be reported: %v", got)
	}
	if ms := evaluate(t, e, event("Okta.SystemLog", failure)); len(ms) != 1 || ms[0].Title != "Multiple Failed Logins for admin" || e.Version("Seed") != v1 {
		t.Fatalf("old version should still run: %+v", ms)
	}

	// A spec that no longer validates: the old version keeps running too.
	write(t, dir, map[string]string{"seed.yml": seedSpec + "Severty: High\n", "seed.py": strings.Replace(seedRule, "Multiple Failed Logins", "Changed", 1)})
	repo, problems = loadRepo(t, dir)
	if _, err := e.Reload(repo, problems); err != nil {
		t.Fatal(err)
	}
	if ms := evaluate(t, e, event("Okta.SystemLog", failure)); len(ms) != 1 || ms[0].Title != "Multiple Failed Logins for admin" {
		t.Fatalf("a spec with problems must not replace the running version: %+v", ms)
	}

	// A good new version replaces it.
	write(t, dir, map[string]string{"seed.yml": seedSpec})
	repo, problems = loadRepo(t, dir)
	if got, err := e.Reload(repo, problems); err != nil || len(got) != 0 {
		t.Fatal(err, got)
	}
	if ms := evaluate(t, e, event("Okta.SystemLog", failure)); len(ms) != 1 || ms[0].Title != "Changed for admin" || e.Version("Seed") == v1 {
		t.Fatalf("the new version should run: %+v", ms)
	}
}

func TestDedupPeriodRules(t *testing.T) {
	for minutes, want := range map[int]time.Duration{0: time.Hour, 1: 5 * time.Minute, 15: 15 * time.Minute} {
		if got := dedupPeriod(minutes); got != want {
			t.Errorf("dedupPeriod(%d) = %s, want %s", minutes, got, want)
		}
	}
}

func TestPrefiltersKeepEventsAwayFromPython(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"seed.yml": seedSpec, "seed.py": seedRule,
		"opaque.yml": strings.NewReplacer("Seed", "Opaque", "seed.py", "opaque.py").Replace(seedSpec),
		"opaque.py":  "def rule(event):\n    return len(event) > 100\n"})
	e := newEngine(t, dir)
	if p, ok := e.Prefilter("Seed"); !ok || p != `eventType == "user.session.start" and outcome.result == "FAILURE"` {
		t.Errorf("Seed prefilter: %q %v", p, ok)
	}
	if _, ok := e.Prefilter("Opaque"); ok {
		t.Error("Opaque cannot have a prefilter")
	}
	other := `{"eventType":"user.session.end","outcome":{"result":"FAILURE"}}`
	ms := evaluate(t, e, event("Okta.SystemLog", failure), event("Okta.SystemLog", other))
	if len(ms) != 1 || ms[0].RuleID != "Seed" {
		t.Fatalf("matches: %+v", ms)
	}
	st := e.Stats()
	want := Stats{Events: 2, PythonCandidates: 2, PythonEvents: 2, RuleCalls: 3, PrefilteredCalls: 1, Prefiltered: 1, PythonRules: 2}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

// The pack's new-country and new-device rules decide through a helper that
// collects POSITIVE behaviours in loops and a try: the analyser follows the
// helper's paths that skip them, so a sign-in without a POSITIVE verdict
// (most of them) stays in Go.
func TestPackHelperWithLoopsGetsPrefilter(t *testing.T) {
	e := newEngine(t, "../../packs/okta")
	want := `eventType == "user.session.start" and outcome.result == "SUCCESS" and ` +
		`(bool(debugContext.debugData.logOnlySecurityData) or ("POSITIVE" in debugContext.debugData.behaviors.upper() and ` +
		`type(debugContext.debugData.behaviors) in (string)) or type(debugContext.debugData.logOnlySecurityData) in (string))`
	for _, id := range []string{"Okta.SignInNewCountry", "Okta.SignInNewDevice"} {
		if p, ok := e.Prefilter(id); !ok || p != want {
			t.Errorf("%s prefilter: %q %v", id, p, ok)
		}
	}
	signIn := func(behaviors string) logtypes.Event {
		return event("Okta.SystemLog", `{"eventType":"user.session.start","outcome":{"result":"SUCCESS"},`+
			`"actor":{"alternateId":"a@example.com"},"debugContext":{"debugData":{"behaviors":"{`+behaviors+`}"}}}`)
	}
	ms := evaluate(t, e,
		signIn("New Device=NEGATIVE, New IP=NEGATIVE, New Country=NEGATIVE"),
		signIn("New Device=NEGATIVE, New IP=NEGATIVE, New Country=POSITIVE"),
		signIn("New Device=POSITIVE, New IP=POSITIVE, New Country=NEGATIVE"))
	var got []string
	for _, m := range ms {
		got = append(got, m.RuleID)
	}
	if strings.Join(got, " ") != "Okta.SignInNewCountry Okta.SignInNewDevice" {
		t.Errorf("matches %v, want the second sign-in on SignInNewCountry and the third on SignInNewDevice", got)
	}
	if st := e.Stats(); st.PythonEvents != 2 {
		t.Errorf("only the sign-ins with a POSITIVE verdict should reach Python: %+v", st)
	}
}

// TestMatchesKeepTheirEvents: the matches of a batch decoded into a reused
// batchrec.Decoder keep their events when the next batch overwrites that
// memory, Go and Python matches alike.
func TestMatchesKeepTheirEvents(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"seed.yml": seedSpec, "seed.py": seedRule, "simple.yml": simpleSpec})
	e := newEngine(t, dir)
	grant := `{"eventType":"user.account.privilege.grant","actor":{"alternateId":"root@example.com"}}`
	record := func(bodies ...string) []byte {
		var evs []logtypes.Event
		for _, b := range bodies {
			evs = append(evs, event("Okta.SystemLog", b))
		}
		return batchrec.Encode(nil, &batchrec.Record{Events: evs})
	}
	var dec batchrec.Decoder
	r, err := dec.Decode(record(failure, grant))
	if err != nil {
		t.Fatal(err)
	}
	ms := evaluate(t, e, r.Events...)
	if len(ms) != 2 || ms[0].RuleID != "Seed" || ms[1].RuleID != "Simple.AdminGrant" {
		t.Fatalf("matches: %+v", ms)
	}
	dec.Reset()
	// The same sizes: the next record takes the memory of this one.
	if _, err := dec.Decode(record(strings.ToUpper(failure), strings.ToUpper(grant))); err != nil {
		t.Fatal(err)
	}
	if string(ms[0].Event) != failure || string(ms[1].Event) != grant {
		t.Fatalf("the matches' events changed with the next batch: %s, %s", ms[0].Event, ms[1].Event)
	}
}
