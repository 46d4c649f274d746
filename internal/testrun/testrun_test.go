package testrun

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

func load(t *testing.T, paths ...string) (*analysis.Repo, analysis.Problems) {
	t.Helper()
	repo, problems, err := analysis.LoadLenient(paths, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return repo, problems
}

func run(t *testing.T, repo *analysis.Repo, opts Options) *Report {
	t.Helper()
	if opts.Python.RuleTimeout == 0 {
		opts.Python.RuleTimeout = 2 * time.Second
	}
	r, err := Run(context.Background(), repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func find(r *Report, id, test string) *TestReport {
	for _, d := range r.Detections {
		if d.ID != id {
			continue
		}
		for _, tr := range d.Tests {
			if tr.Name == test {
				return tr
			}
		}
	}
	return nil
}

// writeRepo writes files (path -> content) under a temp dir.
func writeRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The seed walkthrough's two detections, code and test JSON verbatim.
func TestSeedWalkthrough(t *testing.T) {
	repo, problems := load(t, "testdata/seed")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	r := run(t, repo, Options{})
	if !r.OK() || r.Passed != 2 {
		t.Fatalf("want 2 passing tests, got passed=%d failed=%d invalid=%d", r.Passed, r.Failed, r.Invalid)
	}
	second := find(r, "Seed.OktaFailedLoginContext", "Failed admin login")
	o := second.Outputs
	if o.Title != "Multiple Failed Logins for admin" || o.Dedup != "111.111.111.111" || o.Severity != "CRITICAL" {
		t.Errorf("seed outputs: title %q dedup %q severity %q", o.Title, o.Dedup, o.Severity)
	}
	var text bytes.Buffer
	WriteText(&text, r, TextOptions{})
	for _, want := range []string{"[PASS] Failed admin login", "[title] Multiple Failed Logins for admin", "[dedup] 111.111.111.111", "[severity] CRITICAL"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

const header = "AnalysisType: rule\nEnabled: true\nSeverity: Medium\nLogTypes: [Okta.SystemLog]\n"

func ruleSpec(id, file, tests string) string {
	return header + "RuleID: " + id + "\nFilename: " + file + "\nTests:\n" + tests
}

const oneTest = "  - Name: t\n    ExpectedResult: true\n    Log: {\"a\": 1}\n"

func TestRuleErrorsFailTheirTests(t *testing.T) {
	dir := writeRepo(t, map[string]string{
		"raises.yml": ruleSpec("Raises", "raises.py", oneTest), "raises.py": "def rule(event):\n    return event['nope']\n",
		"wrong.yml": ruleSpec("Wrong", "wrong.py", oneTest), "wrong.py": "def rule(event):\n    return 1\n",
		"loop.yml": ruleSpec("Loop", "loop.py", oneTest), "loop.py": "def rule(event):\n    while True:\n        pass\n",
		"exit.yml": ruleSpec("Exit", "exit.py", oneTest), "exit.py": "import sys\ndef rule(event):\n    sys.exit(1)\n",
		"print.yml": ruleSpec("Print", "print.py", oneTest), "print.py": "def rule(event):\n    print('debug', event.get('a'))\n    return True\n",
		"import.yml": ruleSpec("Import", "import.py", oneTest), "import.py": "import nonexistent_mod\ndef rule(event):\n    return True\n",
		"aux.yml": ruleSpec("Aux", "aux.py", oneTest), "aux.py": "def rule(event):\n    return True\ndef title(event):\n    return 42\n",
	})
	repo, _ := load(t, dir)
	r := run(t, repo, Options{Python: pyrt.Config{RuleTimeout: 300 * time.Millisecond}})
	for id, typ := range map[string]string{"Raises": "KeyError", "Wrong": "FunctionReturnTypeError", "Loop": "RuleTimeout", "Exit": "SystemExit"} {
		tr := find(r, id, "t")
		if tr == nil || tr.Passed || tr.Error == nil || tr.Error.Type != typ {
			t.Errorf("%s: want a failing test with %s, got %+v", id, typ, tr)
		}
	}
	if tr := find(r, "Print", "t"); tr == nil || !tr.Passed || tr.Stdout != "debug 1\n" {
		t.Errorf("printing rule should pass and show its output: %+v", tr)
	}
	if tr := find(r, "Aux", "t"); tr == nil || tr.Passed || tr.FunctionErrors["title"] == nil {
		t.Errorf("an alert function error must fail an expected-alert test: %+v", tr)
	}
	var importProblem string
	for _, d := range r.Detections {
		if d.ID == "Import" && len(d.Problems) == 1 {
			importProblem = d.Problems[0]
		}
	}
	if !strings.Contains(importProblem, "import.yml") || !strings.Contains(importProblem, "nonexistent_mod") {
		t.Errorf("import error should name the file and module: %q", importProblem)
	}
	if r.OK() || r.Invalid != 1 || r.Passed != 1 || r.Failed != 5 {
		t.Errorf("summary passed=%d failed=%d invalid=%d", r.Passed, r.Failed, r.Invalid)
	}
}

func TestExpectedOutputsAndMocks(t *testing.T) {
	tests := `  - Name: right
    ExpectedResult: true
    ExpectedTitle: "hit alice"
    ExpectedSeverity: high
    ExpectedAlertContext: {"user": "alice", "n": 1}
    Log: {"user": "alice"}
  - Name: wrong title
    ExpectedResult: true
    ExpectedTitle: "hit bob"
    Log: {"user": "alice"}
  - Name: mocked
    ExpectedResult: true
    Mocks:
      - objectName: allowed_users
        returnValue: ["carol"]
    Log: {"user": "carol"}
`
	dir := writeRepo(t, map[string]string{
		"r.yml": ruleSpec("R", "r.py", tests),
		"r.py": `def allowed_users():
    return ["alice"]
def rule(event):
    return event.get("user") in allowed_users()
def title(event):
    return "hit " + event.get("user")
def severity(event):
    return "HIGH"
def alert_context(event):
    return {"n": 1, "user": event.get("user")}
`})
	repo, _ := load(t, dir)
	r := run(t, repo, Options{})
	if tr := find(r, "R", "right"); !tr.Passed {
		t.Errorf("right: %+v", tr.Mismatches)
	}
	tr := find(r, "R", "wrong title")
	if tr.Passed || len(tr.Mismatches) != 1 || tr.Mismatches[0].Expected != "hit bob" || tr.Mismatches[0].Actual != "hit alice" {
		t.Errorf("wrong title: %+v", tr.Mismatches)
	}
	if tr := find(r, "R", "mocked"); !tr.Passed {
		t.Errorf("a JSON list mock should replace the function's return value: %+v %+v", tr.Error, tr.Result)
	}
}

func TestFiltersMinimumTestsAndSkips(t *testing.T) {
	neg := "  - Name: n\n    ExpectedResult: false\n    Log: {\"a\": 2}\n"
	dir := writeRepo(t, map[string]string{
		"a.yml": strings.Replace(ruleSpec("A", "a.py", oneTest+neg), "Severity: Medium", "Severity: High", 1),
		"a.py":  "def rule(event):\n    return event.get('a') == 1\n",
		"b.yml": ruleSpec("B", "b.py", oneTest) + "Tags: [Okta]\n", "b.py": "def rule(event):\n    return True\n",
		"c.yml": strings.Replace(ruleSpec("C", "c.py", oneTest), "Enabled: true", "Enabled: false", 1), "c.py": "def rule(event):\n    return True\n",
	})
	repo, _ := load(t, dir)
	filter := func(s string) Filter {
		f, err := ParseFilter(s)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	ids := func(r *Report) string {
		var out []string
		for _, d := range r.Detections {
			out = append(out, d.ID)
		}
		return strings.Join(out, ",")
	}
	if got := ids(run(t, repo, Options{Filters: []Filter{filter("Severity=high,critical")}})); got != "A" {
		t.Errorf("severity filter: %s", got)
	}
	if got := ids(run(t, repo, Options{Filters: []Filter{filter("Tags!=okta")}})); got != "A,C" {
		t.Errorf("negated filter: %s", got)
	}
	if got := ids(run(t, repo, Options{Filters: []Filter{filter("Tags=")}})); got != "A,C" {
		t.Errorf("empty value matches absent key: %s", got)
	}
	r := run(t, repo, Options{MinimumTests: 2, SkipDisabledTests: true})
	if r.Invalid != 1 || r.Skipped != 1 || r.Passed != 2 {
		t.Errorf("minimum tests / skip disabled: passed=%d invalid=%d skipped=%d", r.Passed, r.Invalid, r.Skipped)
	}
	if _, err := ParseFilter("novalue"); err == nil {
		t.Error("a filter without = must be rejected")
	}
}

func TestMachineReadableReports(t *testing.T) {
	dir := writeRepo(t, map[string]string{
		"a.yml": ruleSpec("A", "a.py", oneTest+"  - Name: bad\n    ExpectedResult: false\n    Log: {\"a\": 1}\n"),
		"a.py":  "def rule(event):\n    return True\n",
	})
	repo, _ := load(t, dir)
	r := run(t, repo, Options{})
	var js bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Passed, Failed int
		Detections     []struct {
			Tests []struct {
				Name   string
				Passed bool
			}
		}
	}
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil || decoded.Passed != 1 || decoded.Failed != 1 || len(decoded.Detections[0].Tests) != 2 {
		t.Errorf("json report: %v %+v", err, decoded)
	}
	var junit bytes.Buffer
	if err := WriteJUnit(&junit, r); err != nil {
		t.Fatal(err)
	}
	var suites junitSuites
	if err := xml.Unmarshal(junit.Bytes(), &suites); err != nil || suites.Tests != 2 || suites.Failures != 1 || suites.Suites[0].Cases[1].Failure == nil {
		t.Errorf("junit report: %v %+v", err, suites)
	}
}

func TestTextEscapesControlCharacters(t *testing.T) {
	dir := writeRepo(t, map[string]string{
		"a.yml": ruleSpec("A", "a.py", "  - Name: t\n    ExpectedResult: true\n    Log: {\"u\": \"\\u001b[31mred\"}\n"),
		"a.py":  "def rule(event):\n    return True\ndef title(event):\n    return event.get('u')\n",
	})
	repo, _ := load(t, dir)
	var text bytes.Buffer
	WriteText(&text, run(t, repo, Options{}), TextOptions{})
	if strings.Contains(text.String(), "\x1b") || !strings.Contains(text.String(), `\x1b[31mred`) {
		t.Errorf("escape sequences from log content must be escaped:\n%q", text.String())
	}
}

func TestPoliciesScheduledRulesAndDestinations(t *testing.T) {
	dir := writeRepo(t, map[string]string{
		"p.yml": `AnalysisType: policy
PolicyID: P
Filename: p.py
Enabled: true
Severity: High
ResourceTypes: [AWS.S3.Bucket]
Tests:
  - Name: encrypted passes
    ExpectedResult: true
    Resource: {"Encryption": "AES256"}
  - Name: unencrypted alerts
    ExpectedResult: false
    Resource: {"Encryption": null}
`,
		"p.py":  "def policy(resource):\n    return resource.get('Encryption') is not None\ndef title(resource):\n    return 'unencrypted bucket'\n",
		"q.yml": "AnalysisType: saved_query\nQueryName: Q\nQuery: SELECT 1\n",
		"s.yml": `AnalysisType: scheduled_rule
RuleID: S
Filename: s.py
Enabled: true
Severity: Low
ScheduledQueries: [Q]
Tests:
  - Name: every row alerts
    ExpectedResult: true
    ExpectedTitle: "row x"
    Log: {"v": "x"}
`,
		"s.py":  "def title(event):\n    return 'row ' + event.get('v')\n",
		"d.yml": ruleSpec("D", "d.py", oneTest), "d.py": "def rule(event):\n    return True\ndef destinations(event):\n    return ['pager', 'slack-sec']\n",
	})
	repo, problems := load(t, dir)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	r := run(t, repo, Options{AvailableDestinations: []string{"slack-sec"}})
	if tr := find(r, "P", "encrypted passes"); tr == nil || !tr.Passed || tr.Outputs != nil {
		t.Errorf("a compliant resource must not alert: %+v", tr)
	}
	if tr := find(r, "P", "unencrypted alerts"); tr == nil || !tr.Passed || tr.Outputs == nil || tr.Outputs.Title != "unencrypted bucket" {
		t.Errorf("policy() returning False alerts: %+v", tr)
	}
	if tr := find(r, "S", "every row alerts"); tr == nil || !tr.Passed {
		t.Errorf("a scheduled rule without rule() matches every row: %+v", tr)
	}
	tr := find(r, "D", "t")
	if tr == nil || tr.Passed || tr.FunctionErrors["destinations"] == nil || tr.FunctionErrors["destinations"].Type != "UnknownDestinationError" {
		t.Errorf("destinations() naming an unavailable destination must fail: %+v", tr)
	}
	if tr := find(run(t, repo, Options{}), "D", "t"); tr == nil || !tr.Passed || strings.Join(tr.Outputs.Destinations, ",") != "pager,slack-sec" {
		t.Errorf("without --available-destination any name is accepted: %+v", tr)
	}
}

func TestSimpleDetectionsAndInlineFilters(t *testing.T) {
	dir := writeRepo(t, map[string]string{
		"simple.yml": `AnalysisType: rule
RuleID: Simple
Enabled: true
Severity: Medium
LogTypes: [Okta.SystemLog]
Detection:
  - Key: eventType
    Condition: Equals
    Value: user.session.start
  - DeepKey: [outcome, result]
    Condition: Equals
    Value: FAILURE
AlertTitle: "Failed login for {actor.alternateId}"
GroupBy:
  - KeyPath: client.ipAddress
Tests:
  - Name: failure
    ExpectedResult: true
    ExpectedTitle: Failed login for admin
    ExpectedDedup: 111.111.111.111
    Log: {"eventType": "user.session.start", "outcome": {"result": "FAILURE"}, "actor": {"alternateId": "admin"}, "client": {"ipAddress": "111.111.111.111"}}
  - Name: success
    ExpectedResult: false
    Log: {"eventType": "user.session.start", "outcome": {"result": "SUCCESS"}}
`,
		"filtered.yml": ruleSpec("Filtered", "f.py", `  - Name: kept
    ExpectedResult: true
    Log: {"env": "prod"}
  - Name: filtered out
    ExpectedResult: false
    Log: {"env": "dev"}
`) + "InlineFilters:\n  - Key: env\n    Condition: Equals\n    Value: prod\n",
		"f.py": "def rule(event):\n    return True\n",
	})
	repo, problems := load(t, dir)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	r := run(t, repo, Options{})
	if !r.OK() || r.Passed != 4 {
		var text bytes.Buffer
		WriteText(&text, r, TextOptions{Verbose: true})
		t.Fatalf("simple detection and inline filter tests:\n%s", text.String())
	}
	if tr := find(r, "Filtered", "filtered out"); !tr.FilteredOut {
		t.Errorf("the inline filter should have rejected the event: %+v", tr)
	}
}

// The bundled packs must load cleanly and pass, each detection with at
// least one matching and one non-matching test.
func TestBundledPacksPass(t *testing.T) {
	repo, problems := load(t, "../../packs")
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if len(repo.Detections) < 20 || len(repo.Packs) == 0 {
		t.Fatalf("want the Okta pack's 20+ detections and its pack spec, got %d detections, %d packs", len(repo.Detections), len(repo.Packs))
	}
	r := run(t, repo, Options{MinimumTests: 2})
	if !r.OK() {
		var text bytes.Buffer
		WriteText(&text, r, TextOptions{ShowFailuresOnly: true})
		t.Fatalf("bundled packs:\n%s", text.String())
	}
	for _, d := range repo.Detections {
		if d.Runbook == "" || d.Reference == "" || len(d.Reports["MITRE ATT&CK"]) == 0 {
			t.Errorf("%s needs a runbook, a reference and MITRE ATT&CK reports", d.ID)
		}
	}
}

// A correlation rule in the layout of panther-analysis's correlation_rules:
// push denials followed by a sign-in from a new country for the same user.
const fatigueCorrelation = `AnalysisType: correlation_rule
RuleID: Test.MFAFatigue.Then.NewCountry
DisplayName: MFA fatigue FOLLOWED BY sign-in from a new country
Enabled: true
Severity: High
Description: Several denied pushes, then the same user signs in from a new country.
Reference: https://example.com/runbooks/mfa-fatigue
Runbook: Call the user.
Detection:
  - Sequence:
      - ID: Denials
        RuleID: Okta.MFAPushFatigue
        MinMatchCount: 3
      - ID: NewCountry
        RuleID: Okta.SignInNewCountry
    Transitions:
      - ID: Denials FOLLOWED BY NewCountry
        From: Denials
        To: NewCountry
        WithinTimeFrameMinutes: 15
        Match:
          - On: actor.alternateId
    Schedule:
      RateMinutes: 10
      TimeoutMinutes: 2
    LookbackWindowMinutes: 30
Tests:
  - Name: Three denials then a new country
    ExpectedResult: true
    RuleOutputs:
      - ID: Denials
        Matches:
          actor.alternateId:
            jane.doe@example.com: [0, 1, 2]
      - ID: NewCountry
        Matches:
          actor.alternateId:
            jane.doe@example.com: [6]
  - Name: Sign-in for another user
    ExpectedResult: false
    RuleOutputs:
      - ID: Denials
        Matches:
          actor.alternateId:
            jane.doe@example.com: [0, 1, 2]
      - ID: NewCountry
        Matches:
          actor.alternateId:
            john.roe@example.com: [6]
  - Name: Timestamps work too
    ExpectedResult: true
    RuleOutputs:
      - ID: Denials
        Matches:
          actor.alternateId:
            jane.doe@example.com: ["2024-08-16T07:00:00Z", "2024-08-16T07:00:30Z", "2024-08-16T07:01:00Z"]
      - ID: NewCountry
        Matches:
          actor.alternateId:
            jane.doe@example.com: ["2024-08-16T07:10:00Z"]
  - Name: Wrong expectation
    ExpectedResult: true
    RuleOutputs:
      - ID: Denials
        Matches:
          actor.alternateId:
            jane.doe@example.com: [0, 1]
      - ID: NewCountry
        Matches:
          actor.alternateId:
            jane.doe@example.com: [6]
  - Name: Unknown step
    ExpectedResult: false
    RuleOutputs:
      - ID: Denial
        Matches:
          actor.alternateId:
            jane.doe@example.com: [0]
`

func TestCorrelationRuleTests(t *testing.T) {
	// The loader checks that transitions name steps; the compiler also
	// checks their order.
	broken := strings.NewReplacer("Test.MFAFatigue.Then.NewCountry", "Broken",
		"        From: Denials\n        To: NewCountry\n", "        From: NewCountry\n        To: Denials\n").Replace(fatigueCorrelation)
	dir := writeRepo(t, map[string]string{"fatigue.yml": fatigueCorrelation, "broken.yml": broken})
	repo, problems := load(t, dir)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	r := run(t, repo, Options{})
	if d := r.Detections[0]; d.ID != "Broken" || len(d.Tests) != 0 || len(d.Problems) != 1 || !strings.HasSuffix(d.Problems[0],
		`broken.yml: Detection[0].Transitions[0]: From "NewCountry" must come before To "Denials" in the Sequence`) || r.Invalid != 1 {
		t.Errorf("broken rule: %+v (invalid %d)", d, r.Invalid)
	}
	for name, want := range map[string]bool{
		"Three denials then a new country": true, "Sign-in for another user": true, "Timestamps work too": true,
		"Wrong expectation": false, "Unknown step": false,
	} {
		tr := find(r, "Test.MFAFatigue.Then.NewCountry", name)
		if tr == nil || tr.Passed != want {
			t.Errorf("%s: want passed=%v, got %+v", name, want, tr)
		}
	}
	first := find(r, "Test.MFAFatigue.Then.NewCountry", "Three denials then a new country")
	if o := first.Outputs; o == nil || o.Title != "MFA fatigue FOLLOWED BY sign-in from a new country" || o.Dedup != "jane.doe@example.com" ||
		o.Severity != "HIGH" || o.Runbook != "Call the user." {
		t.Errorf("outputs = %+v", first.Outputs)
	} else if !sameJSON(o.AlertContext, []byte(`{"correlations":1,"key":["jane.doe@example.com"],"steps":{"Denials":3,"NewCountry":1},
		"start":"2024-01-01T00:00:00Z","end":"2024-01-01T00:06:00Z"}`)) {
		t.Errorf("alert context = %s", o.AlertContext)
	}
	if tr := find(r, "Test.MFAFatigue.Then.NewCountry", "Wrong expectation"); tr.Result == nil || *tr.Result || tr.Outputs != nil {
		t.Errorf("wrong expectation: %+v", tr)
	}
	if tr := find(r, "Test.MFAFatigue.Then.NewCountry", "Unknown step"); tr.Error == nil || tr.Error.Type != "InvalidRuleOutputs" ||
		!strings.Contains(tr.Error.Message, `"Denial" names no step`) {
		t.Errorf("unknown step: %+v", tr)
	}
	if r.Passed != 3 || r.Failed != 2 || r.Skipped != 0 {
		t.Errorf("passed=%d failed=%d skipped=%d invalid=%d", r.Passed, r.Failed, r.Skipped, r.Invalid)
	}
	var text bytes.Buffer
	WriteText(&text, r, TextOptions{})
	for _, want := range []string{
		"[PASS] Three denials then a new country", "[title] MFA fatigue FOLLOWED BY sign-in from a new country",
		"[dedup] jane.doe@example.com", "[severity] HIGH", "[FAIL] Wrong expectation", "[rule] returned false, expected true",
		"[error] InvalidRuleOutputs: RuleOutputs[0].ID: \"Denial\" names no step",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "[SKIP]") {
		t.Errorf("correlation tests are no longer skipped:\n%s", text.String())
	}
	// --test-names and --minimum-tests apply as for other detections.
	r = run(t, repo, Options{TestNames: []string{"Sign-in for another user"}, MinimumTests: 2})
	if r.Passed != 1 || r.Failed != 0 {
		t.Errorf("test names: passed=%d failed=%d invalid=%d", r.Passed, r.Failed, r.Invalid)
	}
	r = run(t, repo, Options{MinimumTests: 6})
	if tr := find(r, "Test.MFAFatigue.Then.NewCountry", "Sign-in for another user"); tr != nil || r.Invalid != 2 {
		t.Errorf("minimum tests: invalid=%d", r.Invalid)
	}
}
