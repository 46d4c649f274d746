package analysis

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeTree creates files (path -> content) in a new temporary directory
// and makes it the working directory, so that problems name short paths.
func writeTree(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// problemLines returns the lines of a Load error, failing the test when the
// error is not a *Problems.
func problemLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load error is %T, want *Problems: %v", err, err)
	}
	return strings.Split(ps.Error(), "\n")
}

// mustLoad loads paths and fails the test on any problem.
func mustLoad(t *testing.T, paths []string, opts Options) *Repo {
	t.Helper()
	repo, err := Load(paths, opts)
	if err != nil {
		t.Fatalf("Load: unexpected problems:\n%v", err)
	}
	return repo
}

const pyRule = "def rule(event):\n    return True\n"

// ruleYAML is a valid Python rule spec; extra is appended from line 7.
func ruleYAML(extra string) string {
	return "AnalysisType: rule\n" +
		"RuleID: Test.Rule\n" +
		"Enabled: true\n" +
		"Severity: High\n" +
		"Filename: r.py\n" +
		"LogTypes: [Okta.SystemLog]\n" + extra
}

// testLoadProblems loads files and compares the problems with want.
func testLoadProblems(t *testing.T, files map[string]string, opts Options, want ...string) *Repo {
	t.Helper()
	writeTree(t, files)
	repo, err := Load([]string{"."}, opts)
	got := problemLines(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if repo == nil {
		t.Fatal("Load returned a nil repo")
	}
	return repo
}

func TestLoadRuleProblems(t *testing.T) {
	f := func(spec string, want ...string) {
		t.Helper()
		testLoadProblems(t, map[string]string{"r.yml": spec, "r.py": pyRule}, Options{}, want...)
	}
	// Valid.
	f(ruleYAML(""))
	// Unknown keys, with suggestions.
	f(ruleYAML("Severty: Low\n"), `r.yml:7: unknown key "Severty" in rule spec (did you mean "Severity"?)`)
	f(ruleYAML("tags: [a]\n"), `r.yml:7: unknown key "tags" in rule spec (did you mean "Tags"?)`)
	f(ruleYAML("Frobnicate: 1\n"), `r.yml:7: unknown key "Frobnicate" in rule spec`)
	// Missing required keys.
	f("AnalysisType: rule\nRuleID: X\nFilename: r.py\nLogTypes: [A]\n",
		`r.yml:1: missing required key "Enabled" in rule spec`,
		`r.yml:1: missing required key "Severity" in rule spec`)
	f("AnalysisType: rule\nEnabled: true\nSeverity: Low\nFilename: r.py\nLogTypes: [A]\n",
		`r.yml:1: missing required key "RuleID" in rule spec`)
	// Types.
	f(ruleYAML("Description: 12\n"), `r.yml:7: Description: expected string, got integer 12`)
	f(strings.Replace(ruleYAML(""), "Enabled: true", "Enabled: yes", 1), `r.yml:3: Enabled: expected boolean, got string "yes"`)
	f(strings.Replace(ruleYAML(""), "Enabled: true", "Enabled:", 1), `r.yml:3: Enabled: expected boolean, got null`)
	f(strings.Replace(ruleYAML(""), "LogTypes: [Okta.SystemLog]", "LogTypes: Okta.SystemLog", 1),
		`r.yml:6: LogTypes: expected list of strings, got string "Okta.SystemLog"`)
	f(strings.Replace(ruleYAML(""), "LogTypes: [Okta.SystemLog]", "LogTypes: []", 1), `r.yml:6: LogTypes must not be empty`)
	f(ruleYAML("Tags:\n  - a\n  - 2\n  - [x]\n"),
		`r.yml:9: Tags[1]: expected string, got integer 2`,
		`r.yml:10: Tags[2]: expected string, got list`)
	f(ruleYAML("Reports: [a]\n"), `r.yml:7: Reports: expected mapping of lists, got list`)
	f(ruleYAML("Reports:\n  MITRE ATT&CK: TA0001\n"), `r.yml:8: Reports.MITRE ATT&CK: expected list, got string "TA0001"`)
	f(ruleYAML("InlineFilters: {Key: a}\n"), `r.yml:7: InlineFilters: expected list, got mapping`)
	f(strings.Replace(ruleYAML("BaseDetection: X\n"), "AnalysisType: rule", "AnalysisType: scheduled_rule", 1),
		`r.yml:6: a scheduled_rule runs on ScheduledQueries, not LogTypes`,
		`r.yml:7: BaseDetection is only supported in rule specs, not scheduled_rule`)
	// Severity.
	f(strings.Replace(ruleYAML(""), "Severity: High", "Severity: Urgent", 1),
		`r.yml:4: Severity "Urgent" is not one of "Info", "Low", "Medium", "High" or "Critical"`)
	f(strings.Replace(ruleYAML(""), "Severity: High", "Severity: ''", 1),
		`r.yml:4: Severity must be one of "Info", "Low", "Medium", "High" or "Critical"`)
	// IDs.
	f(strings.Replace(ruleYAML(""), "RuleID: Test.Rule", `RuleID: "a<b"`, 1), `r.yml:2: RuleID "a<b" must not contain any of < > & " %`)
	f(strings.Replace(ruleYAML(""), "RuleID: Test.Rule", `RuleID: ""`, 1), `r.yml:2: RuleID must not be empty`)
	// Integers.
	f(ruleYAML("DedupPeriodMinutes: -1\n"), `r.yml:7: DedupPeriodMinutes must be at least 0, got -1`)
	f(ruleYAML("DedupPeriodMinutes: 1.5\n"), `r.yml:7: DedupPeriodMinutes: expected integer, got number 1.5`)
	f(ruleYAML("Threshold: 0\n"), `r.yml:7: Threshold must be at least 1, got 0`)
	// Filename / Detection and LogTypes / ScheduledQueries.
	f(strings.Replace(ruleYAML(""), "Filename: r.py", "Filename: missing.py", 1), `r.yml:5: Filename "missing.py": file missing.py does not exist`)
	f(ruleYAML("Detection:\n  - {KeyPath: a, Condition: Exists}\n"), `r.yml:7: only one of "Filename" and "Detection" may be set in rule spec`)
	f(strings.Replace(ruleYAML(""), "Filename: r.py\n", "", 1), `r.yml:1: rule spec needs one of "Filename" and "Detection"`)
	f(strings.Replace(ruleYAML(""), "LogTypes: [Okta.SystemLog]\n", "", 1), `r.yml:1: rule spec needs one of "LogTypes" and "ScheduledQueries"`)
	f(strings.Replace(ruleYAML(""), "AnalysisType: rule", "AnalysisType: scheduled_rule", 1),
		`r.yml:6: a scheduled_rule runs on ScheduledQueries, not LogTypes`)
	// AnalysisType.
	f(strings.Replace(ruleYAML(""), "AnalysisType: rule", "AnalysisType: rules", 1), `r.yml:1: unknown AnalysisType "rules" (did you mean "rule"?)`)
	f(strings.Replace(ruleYAML(""), "AnalysisType: rule", "AnalysisType: detection", 1),
		`r.yml:1: unknown AnalysisType "detection": must be one of "rule", "scheduled_rule", "policy", "correlation_rule", "global", "datamodel", "pack", "scheduled_query", "saved_query" or "lookup_table"`)
	f(strings.Replace(ruleYAML(""), "AnalysisType: rule", "AnalysisType: [rule]", 1), `r.yml:1: AnalysisType: expected string, got list`)
	// YAML-level problems.
	f(ruleYAML("Severity: Low\n"), `r.yml:7: duplicate key "Severity" (first at line 4)`)
	f(ruleYAML("Tags: [a\n"), `r.yml:7: invalid YAML: did not find expected ',' or ']'`)
	f(ruleYAML("Tags:\n  - x\n  y: 2\n"), `r.yml:8: invalid YAML: did not find expected '-' indicator`)
	f(ruleYAML("Tags: @x\n"), `r.yml:7: invalid YAML: found character that cannot start any token`)
	f(ruleYAML("Tags: *nope\n"), `r.yml: invalid YAML: unknown anchor 'nope' referenced`)
	f(ruleYAML("---\nfoo: 1\n"), `r.yml:7: more than one YAML document: a spec file holds one spec`)
}

func TestLoadTestProblems(t *testing.T) {
	f := func(tests string, want ...string) {
		t.Helper()
		testLoadProblems(t, map[string]string{"r.yml": ruleYAML("Tests:\n" + tests), "r.py": pyRule}, Options{}, want...)
	}
	// Line 7 is "Tests:", the first test item starts on line 8.
	f("  - Name: ok\n    ExpectedResult: true\n    Log: {a: 1}\n")
	f("  - ExpectedResult: true\n    Log: {a: 1}\n", `r.yml:8: missing required key "Name" in test`)
	f("  - Name: t\n    Log: {a: 1}\n", `r.yml:8: missing required key "ExpectedResult" in test`)
	f("  - Name: t\n    ExpectedResult: 'true'\n    Log: {a: 1}\n", `r.yml:9: ExpectedResult: expected boolean, got string "true"`)
	f("  - Name: t\n    ExpectedResult: true\n", `r.yml:8: missing required key "Log" in test`)
	f("  - Name: t\n    ExpectedResult: true\n    Log: '{\"a\": 1}'\n", `r.yml:10: Log: expected mapping, got string "{\"a\": 1}"`)
	f("  - Name: t\n    ExpectedResult: true\n    Log: {a: 1}\n    Logs: {}\n", `r.yml:11: unknown key "Logs" in test (did you mean "Log"?)`)
	f("  - Name: t\n    ExpectedResult: true\n    Log: {a: 1}\n  - Name: t\n    ExpectedResult: false\n    Log: {a: 2}\n",
		`r.yml:11: duplicate test name "t" (first at line 8)`)
	f("  - Name: t\n    ExpectedResult: true\n    Log: {a: .inf}\n", `r.yml:10: Log: line 10: .inf cannot be represented in JSON`)
	f("  Name: t\n", `r.yml:8: Tests: expected list, got mapping`)
	f("  - just a string\n", `r.yml:8: test: expected mapping, got string "just a string"`)
	// Mocks.
	f("  - Name: t\n    ExpectedResult: true\n    Log: {}\n    Mocks:\n      - objectName: f\n        returnValue: x\n")
	f("  - Name: t\n    ExpectedResult: true\n    Log: {}\n    Mocks:\n      - objectName: f\n",
		`r.yml:12: missing required key "returnValue" in mock`)
	f("  - Name: t\n    ExpectedResult: true\n    Log: {}\n    Mocks:\n      - objectname: f\n        returnValue: x\n",
		`r.yml:12: missing required key "objectName" in mock`,
		`r.yml:12: unknown key "objectname" in mock (did you mean "objectName"?)`)
	// Prowl extensions.
	f("  - Name: t\n    ExpectedResult: true\n    Log: {}\n    ExpectedSeverity: urgent\n",
		`r.yml:11: ExpectedSeverity "urgent" is not one of "Info", "Low", "Medium", "High" or "Critical"`)
	f("  - Name: t\n    ExpectedResult: true\n    Log: {}\n    ExpectedAlertContext: [a]\n",
		`r.yml:11: ExpectedAlertContext: expected mapping, got list`)
	f("  - Name: t\n    ExpectedResult: true\n    Log: {}\n    ExpectedTitle: 3\n",
		`r.yml:11: ExpectedTitle: expected string, got integer 3`)
}

func TestLoadNonSpecFiles(t *testing.T) {
	f := func(files map[string]string, want ...string) {
		t.Helper()
		files["r.yml"], files["r.py"] = ruleYAML(""), pyRule
		repo := testLoadProblems(t, files, Options{}, want...)
		if len(repo.Detections) != 1 {
			t.Errorf("loaded %d detections, want 1", len(repo.Detections))
		}
	}
	// YAML without AnalysisType is not a spec.
	f(map[string]string{"config.yml": "name: ci\non: [push]\n"})
	f(map[string]string{"list.yaml": "- a\n- b\n"})
	f(map[string]string{"empty.yml": ""})
	f(map[string]string{"comment.yml": "# nothing\n"})
	// Broken YAML that does not look like a spec is skipped too.
	f(map[string]string{"chart.yaml": "a: {{ .Values.x }}\n  b: [\n"})
	// Hidden directories and node_modules are not walked.
	f(map[string]string{".github/workflows/x.yml": "AnalysisType: bogus\n"})
	f(map[string]string{"node_modules/p/x.yml": "AnalysisType: bogus\n"})
	f(map[string]string{".hidden.yml": "AnalysisType: bogus\n"})
	// Other files are ignored.
	f(map[string]string{"README.md": "AnalysisType: bogus\n", "x.json": "{}"})
	// Specs that lost their AnalysisType are reported.
	f(map[string]string{"x.yml": "RuleID: X\nEnabled: true\n"},
		`x.yml:1: missing AnalysisType: must be one of "rule", "scheduled_rule", "policy", "correlation_rule", "global", "datamodel", "pack", "scheduled_query", "saved_query" or "lookup_table"`)
	f(map[string]string{"x.yml": "Enabled: true\nanalysisType: rule\n"}, `x.yml:2: unknown key "analysisType" (did you mean "AnalysisType"?)`)
	f(map[string]string{"x.yml": "AnalysisTyp: rule\n"}, `x.yml:1: unknown key "AnalysisTyp" (did you mean "AnalysisType"?)`)
	// Broken YAML that looks like a spec is reported.
	f(map[string]string{"x.yml": "AnalysisType: rule\nRuleID: [\n"}, `x.yml:2: invalid YAML: did not find expected node content`)
	f(map[string]string{"x.yml": "AnalysisType: rule\n\tRuleID: x\n"}, `x.yml:2: invalid YAML: found a tab character that violates indentation`)
}

func TestLoadPaths(t *testing.T) {
	writeTree(t, map[string]string{
		"rules/a.yml":           strings.Replace(ruleYAML(""), "Test.Rule", "A", 1),
		"rules/r.py":            pyRule,
		"rules/sub/b.yaml":      strings.Replace(strings.Replace(ruleYAML(""), "Test.Rule", "B", 1), "r.py", "../r.py", 1),
		"rules/templates/t.yml": "AnalysisType: rule\n",
		"other/c.yml":           strings.Replace(strings.Replace(ruleYAML(""), "Test.Rule", "C", 1), "r.py", "../rules/r.py", 1),
		"other/notes.txt":       "hi",
		"other/plain.yml":       "a: 1\n",
	})
	ids := func(r *Repo) []string {
		var out []string
		for _, d := range r.Detections {
			out = append(out, d.ID)
		}
		return out
	}
	f := func(paths []string, opts Options, wantIDs []string, wantProblems ...string) {
		t.Helper()
		repo, err := Load(paths, opts)
		if got := problemLines(t, err); !reflect.DeepEqual(got, wantProblems) {
			t.Errorf("Load(%q) problems:\n%s\nwant:\n%s", paths, strings.Join(got, "\n"), strings.Join(wantProblems, "\n"))
		}
		if got := ids(repo); !reflect.DeepEqual(got, wantIDs) {
			t.Errorf("Load(%q) IDs = %q, want %q", paths, got, wantIDs)
		}
	}
	ignoreTemplates := Options{IgnoreFiles: []string{"templates"}}
	f([]string{"rules"}, ignoreTemplates, []string{"A", "B"})
	f([]string{"rules"}, Options{}, []string{"A", "B"},
		`rules/templates/t.yml:1: missing required key "Enabled" in rule spec`,
		`rules/templates/t.yml:1: missing required key "RuleID" in rule spec`,
		`rules/templates/t.yml:1: missing required key "Severity" in rule spec`,
		`rules/templates/t.yml:1: rule spec needs one of "Filename" and "Detection"`,
		`rules/templates/t.yml:1: rule spec needs one of "LogTypes" and "ScheduledQueries"`)
	f([]string{"rules", "other"}, ignoreTemplates, []string{"A", "B", "C"})
	// Overlapping paths load each file once.
	f([]string{"rules", "rules/a.yml", "./rules/sub"}, ignoreTemplates, []string{"A", "B"})
	// Single files.
	f([]string{"other/c.yml"}, Options{}, []string{"C"})
	f([]string{"other/plain.yml"}, Options{}, nil,
		`other/plain.yml:1: missing AnalysisType: must be one of "rule", "scheduled_rule", "policy", "correlation_rule", "global", "datamodel", "pack", "scheduled_query", "saved_query" or "lookup_table"`)
	f([]string{"other/notes.txt"}, Options{}, nil, `other/notes.txt: not a YAML file (.yml or .yaml)`)
	f([]string{"nope"}, Options{}, nil, `nope: no such file or directory`)
	// Ignore patterns: base name, path relative to the root, path as walked.
	f([]string{"rules"}, Options{IgnoreFiles: []string{"templates", "b.yaml"}}, []string{"A"})
	f([]string{"rules"}, Options{IgnoreFiles: []string{"templates", "sub/*"}}, []string{"A"})
	f([]string{"rules"}, Options{IgnoreFiles: []string{"./rules/templates", "./rules/sub/*.yaml"}}, []string{"A"})
	f([]string{"other/c.yml"}, Options{IgnoreFiles: []string{"c.yml"}}, nil)
	f([]string{"rules"}, Options{IgnoreFiles: []string{"templates", "[", "*.py"}}, []string{"A", "B"}, `IgnoreFiles[1] "[": syntax error in pattern`)
}

func TestLoadIgnoreExtraKeys(t *testing.T) {
	files := map[string]string{
		"r.yml": ruleYAML("Severty: Low\nTests:\n  - Name: t\n    ExpectedResult: true\n    Log: {}\n    Extra: 1\n"),
		"r.py":  pyRule,
	}
	repo := testLoadProblems(t, files, Options{IgnoreExtraKeys: true})
	d := repo.Detection("Test.Rule")
	if d == nil || d.Raw["Severty"] != "Low" || len(d.Tests) != 1 {
		t.Errorf("detection = %+v", d)
	}
	testLoadProblems(t, files, Options{},
		`r.yml:7: unknown key "Severty" in rule spec (did you mean "Severity"?)`,
		`r.yml:12: unknown key "Extra" in test`)
}

// TestLoadPantherRule loads a rule as panther-analysis writes them: JSON
// test logs with trailing commas, mocks, CIS numbers in Reports.
func TestLoadPantherRule(t *testing.T) {
	spec := `AnalysisType: rule
Filename: okta_api_key_created.py
RuleID: "Okta.APIKeyCreated"
DisplayName: "Okta API Key Created"
Enabled: true
LogTypes:
  - Okta.SystemLog
Reports:
  MITRE ATT&CK:
    - TA0006:T1556
  CIS:
    - 1.4
    - 3.10
Severity: Info
Description: A user created an API Key in Okta
Reference: https://help.okta.com/en/prod/Content/Topics/Security/API.htm
Runbook: Reach out to the user if needed to validate the activity.
DedupPeriodMinutes: 30
Threshold: 2
SummaryAttributes:
  - eventType
  - p_any_ip_addresses
Tags:
  - Credential Access
Tests:
  - Name: API Key Created
    ExpectedResult: true
    Mocks:
      - objectName: lookup_user
        returnValue: >-
          {"login": "a@b.c"}
      - objectName: is_admin
        returnValue: true
    Log:
      {
        "uuid": "2a992f80-d1ad-4f62-900e-8c68bb72a21b",
        "published": "2020-11-25 21:27:03.496000000",
        "eventType": "system.api_token.create",
        "version": "0",
        "severity": "INFO",
        "displayMessage": "Create API token",
        "actor": {
          "alternateId": "user@example.com",
          "displayName": "Test User",
          "id": "00u3q14ei6KUOm4Xi2p4",
          "type": "User",
        },
        "outcome": { "result": "SUCCESS" },
        "target": [
          {
            "id": "00Tpki36zlWjhjQ1u2p4",
            "type": "Token",
            "alternateId": "unknown",
            "displayName": "test_key",
            "details": null,
          },
        ],
        "client": { "ipAddress": "1.2.3.4", "zone": "null" },
        "score": 1.0,
        "p_log_type": "Okta.SystemLog",
      }
  - Name: API Key Revoked
    ExpectedResult: false
    LogType: Okta.SystemLog
    ExpectedTitle: "title"
    ExpectedDedup: ""
    ExpectedSeverity: low
    ExpectedAlertContext: {actor: user@example.com, "n": [1, 2,],}
    Log: {"eventType": "system.api_token.revoke",}
`
	writeTree(t, map[string]string{
		"rules/okta_rules/okta_api_key_created.yml": spec,
		"rules/okta_rules/okta_api_key_created.py":  pyRule,
	})
	repo := mustLoad(t, []string{"rules"}, Options{})
	if len(repo.Detections) != 1 {
		t.Fatalf("loaded %d detections, want 1", len(repo.Detections))
	}
	d := repo.Detection("Okta.APIKeyCreated")
	if d == nil {
		t.Fatal("Okta.APIKeyCreated not loaded")
	}
	wantPy, _ := filepath.Abs("rules/okta_rules/okta_api_key_created.py")
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("Kind", d.Kind, KindRule)
	check("Source", d.Source, Source{"rules/okta_rules/okta_api_key_created.yml", 1})
	check("PythonFile", d.PythonFile, wantPy)
	check("IsSimple", d.IsSimple(), false)
	check("Enabled", d.Enabled, true)
	check("DisplayName", d.DisplayName, "Okta API Key Created")
	check("Severity", d.Severity, "INFO")
	check("LogTypes", d.LogTypes, []string{"Okta.SystemLog"})
	check("Reports", d.Reports, map[string][]string{"MITRE ATT&CK": {"TA0006:T1556"}, "CIS": {"1.4", "3.10"}})
	check("DedupPeriodMinutes", d.DedupPeriodMinutes, 30)
	check("Threshold", d.Threshold, 2)
	check("CreateAlert", d.CreateAlert, true)
	check("SummaryAttributes", d.SummaryAttributes, []string{"eventType", "p_any_ip_addresses"})
	check("Tags", d.Tags, []string{"Credential Access"})
	check("Runbook", d.Runbook, "Reach out to the user if needed to validate the activity.")
	check("Raw.RuleID", d.Raw["RuleID"], "Okta.APIKeyCreated")
	if len(d.Tests) != 2 {
		t.Fatalf("%d tests, want 2", len(d.Tests))
	}
	t0, t1 := d.Tests[0], d.Tests[1]
	check("Tests[0].Name", t0.Name, "API Key Created")
	check("Tests[0].Source", t0.Source, Source{"rules/okta_rules/okta_api_key_created.yml", 26})
	check("Tests[0].ExpectedResult", t0.ExpectedResult, true)
	wantLog := `{"uuid":"2a992f80-d1ad-4f62-900e-8c68bb72a21b","published":"2020-11-25 21:27:03.496000000",` +
		`"eventType":"system.api_token.create","version":"0","severity":"INFO","displayMessage":"Create API token",` +
		`"actor":{"alternateId":"user@example.com","displayName":"Test User","id":"00u3q14ei6KUOm4Xi2p4","type":"User"},` +
		`"outcome":{"result":"SUCCESS"},` +
		`"target":[{"id":"00Tpki36zlWjhjQ1u2p4","type":"Token","alternateId":"unknown","displayName":"test_key","details":null}],` +
		`"client":{"ipAddress":"1.2.3.4","zone":"null"},"score":1.0,"p_log_type":"Okta.SystemLog"}`
	check("Tests[0].Log", string(t0.Log), wantLog)
	check("Tests[0].Mocks", t0.Mocks, []Mock{
		{ObjectName: "lookup_user", ReturnValue: []byte(`"{\"login\": \"a@b.c\"}"`)},
		{ObjectName: "is_admin", ReturnValue: []byte(`true`)},
	})
	check("Tests[0].ExpectedTitle", t0.ExpectedTitle, (*string)(nil))
	check("Tests[0].ExpectedAlertContext", t0.ExpectedAlertContext, []byte(nil))
	check("Tests[1].Source.Line", t1.Source.Line, 62)
	check("Tests[1].LogType", t1.LogType, "Okta.SystemLog")
	check("Tests[1].Log", string(t1.Log), `{"eventType":"system.api_token.revoke"}`)
	check("Tests[1].ExpectedTitle", *t1.ExpectedTitle, "title")
	check("Tests[1].ExpectedDedup", *t1.ExpectedDedup, "")
	check("Tests[1].ExpectedSeverity", *t1.ExpectedSeverity, "LOW")
	check("Tests[1].ExpectedAlertContext", string(t1.ExpectedAlertContext), `{"actor":"user@example.com","n":[1,2]}`)
}

func TestLoadSimpleDetection(t *testing.T) {
	spec := `AnalysisType: rule
RuleID: Okta.Simple
Enabled: false
Severity: medium
LogTypes: [Okta.SystemLog]
CreateAlert: false
Status: Experimental
Detection:
  - KeyPath: eventType
    Condition: Equals
    Value: user.session.start
  - Any:
      - {KeyPath: outcome.result, Condition: Equals, Value: FAILURE}
InlineFilters:
  - KeyPath: p_log_type
    Condition: Exists
AlertTitle: "Login by {actor.alternateId}"
AlertContext:
  - KeyName: ip
    KeyValue: {KeyPath: client.ipAddress}
GroupBy:
  - KeyPath: actor.alternateId
DynamicSeverities:
  - ChangeTo: HIGH
    Conditions:
      - {KeyPath: x, Condition: Exists}
Tests:
  - Name: t
    ExpectedResult: true
    Log: {eventType: user.session.start}
`
	writeTree(t, map[string]string{"simple.yml": spec})
	d := mustLoad(t, []string{"."}, Options{}).Detection("Okta.Simple")
	if d == nil {
		t.Fatal("not loaded")
	}
	if !d.IsSimple() || d.PythonFile != "" || d.Enabled || d.CreateAlert || d.Severity != "MEDIUM" || d.Status != "experimental" {
		t.Errorf("detection = %+v", d)
	}
	wantMatch := []any{
		map[string]any{"KeyPath": "eventType", "Condition": "Equals", "Value": "user.session.start"},
		map[string]any{"Any": []any{map[string]any{"KeyPath": "outcome.result", "Condition": "Equals", "Value": "FAILURE"}}},
	}
	if !reflect.DeepEqual(d.Match, wantMatch) {
		t.Errorf("Match = %#v", d.Match)
	}
	if !reflect.DeepEqual(d.InlineFilters, []any{map[string]any{"KeyPath": "p_log_type", "Condition": "Exists"}}) {
		t.Errorf("InlineFilters = %#v", d.InlineFilters)
	}
	if d.AlertTitle != "Login by {actor.alternateId}" {
		t.Errorf("AlertTitle = %q", d.AlertTitle)
	}
	if !reflect.DeepEqual(d.AlertContext, []any{map[string]any{"KeyName": "ip", "KeyValue": map[string]any{"KeyPath": "client.ipAddress"}}}) {
		t.Errorf("AlertContext = %#v", d.AlertContext)
	}
	if !reflect.DeepEqual(d.GroupBy, []any{map[string]any{"KeyPath": "actor.alternateId"}}) {
		t.Errorf("GroupBy = %#v", d.GroupBy)
	}
	if ds, ok := d.DynamicSeverities.([]any); !ok || len(ds) != 1 {
		t.Errorf("DynamicSeverities = %#v", d.DynamicSeverities)
	}
}

func TestLoadPolicy(t *testing.T) {
	spec := `AnalysisType: policy
Filename: p.py
PolicyID: AWS.S3.Encrypted
Enabled: true
ResourceTypes: [AWS.S3.Bucket]
Severity: Low
Suppressions: ["arn:aws:s3:::logs-*"]
ActionDelaySeconds: 60
AutoRemediationID: fix
AutoRemediationParameters: {a: 1}
Reports:
  CIS: [2.1]
Tests:
  - Name: encrypted
    ExpectedResult: true
    ResourceType: AWS.S3.Bucket
    Resource: {"Name": "b", "EncryptionRules": [{}],}
`
	f := func(spec string, want ...string) *Repo {
		t.Helper()
		return testLoadProblems(t, map[string]string{"p.yml": spec, "p.py": "def policy(resource):\n    return True\n"}, Options{}, want...)
	}
	d := f(spec).Detection("AWS.S3.Encrypted")
	if d == nil {
		t.Fatal("not loaded")
	}
	if d.Kind != KindPolicy || d.Severity != "LOW" || !reflect.DeepEqual(d.ResourceTypes, []string{"AWS.S3.Bucket"}) ||
		!reflect.DeepEqual(d.Suppressions, []string{"arn:aws:s3:::logs-*"}) || len(d.Tests) != 1 {
		t.Fatalf("policy = %+v", d)
	}
	if tc := d.Tests[0]; string(tc.Log) != `{"Name":"b","EncryptionRules":[{}]}` || tc.LogType != "AWS.S3.Bucket" {
		t.Errorf("test = %+v (Log %s)", tc, tc.Log)
	}
	f(strings.Replace(spec, "Resource: {", "Log: {", 1),
		`p.yml:14: missing required key "Resource" in test`,
		`p.yml:17: unknown key "Log" in test`)
	f(strings.Replace(spec, "Filename: p.py\n", "", 1), `p.yml:1: missing required key "Filename" in policy spec`)
	f(strings.Replace(spec, "ActionDelaySeconds: 60", "ActionDelaySeconds: soon", 1), `p.yml:8: ActionDelaySeconds: expected integer, got string "soon"`)
	f(spec+"LogTypes: [A]\n", `p.yml:18: unknown key "LogTypes" in policy spec`)
}

func TestLoadDuplicateIDs(t *testing.T) {
	f := func(files map[string]string, wantDetections int, want ...string) {
		t.Helper()
		files["r.py"] = pyRule
		repo := testLoadProblems(t, files, Options{}, want...)
		if len(repo.Detections) != wantDetections {
			t.Errorf("loaded %d detections, want %d", len(repo.Detections), wantDetections)
		}
	}
	f(map[string]string{"a.yml": ruleYAML(""), "b.yml": ruleYAML("")}, 1,
		`b.yml:2: duplicate RuleID "Test.Rule": already defined in a.yml:2`)
	// Rules and policies share one namespace.
	f(map[string]string{
		"a.yml": ruleYAML(""),
		"b.yml": "AnalysisType: policy\nPolicyID: Test.Rule\nEnabled: true\nSeverity: Low\nFilename: r.py\n",
	}, 1, `b.yml:2: duplicate PolicyID "Test.Rule": already defined in a.yml:2`)
	// A duplicate of an invalid spec is still a duplicate.
	f(map[string]string{"a.yml": ruleYAML("Bogus: 1\n"), "b.yml": ruleYAML("")}, 0,
		`a.yml:7: unknown key "Bogus" in rule spec`,
		`b.yml:2: duplicate RuleID "Test.Rule": already defined in a.yml:2`)
	// Different namespaces may share an ID.
	f(map[string]string{
		"a.yml": ruleYAML(""),
		"g.yml": "AnalysisType: global\nGlobalID: Test.Rule\nFilename: r.py\n",
	}, 1)
	f(map[string]string{
		"g1.yml": "AnalysisType: global\nGlobalID: helpers\nFilename: r.py\n",
		"g2.yml": "AnalysisType: global\nGlobalID: helpers\nFilename: r.py\n",
	}, 0, `g2.yml:2: duplicate GlobalID "helpers": already defined in g1.yml:2`)
}

func TestLoadDerived(t *testing.T) {
	base := ruleYAML(`DisplayName: Base Rule
Description: base description
Tags: [base]
DedupPeriodMinutes: 120
InlineFilters:
  - {KeyPath: a, Condition: Exists}
Tests:
  - Name: base test
    ExpectedResult: true
    Log: {a: 1}
`)
	derived := `AnalysisType: rule
RuleID: Test.Derived
BaseDetection: Test.Rule
Severity: Critical
Tags: [derived]
InlineFilters:
  - {KeyPath: b, Condition: Exists}
`
	derived2 := `AnalysisType: rule
RuleID: Test.Derived2
BaseDetection: Test.Derived
Enabled: false
Tests:
  - Name: own test
    ExpectedResult: false
    Log: {b: 1}
`
	repo := testLoadProblems(t, map[string]string{
		"base.yml": base, "r.py": pyRule,
		// Derived specs may come before their base in walk order.
		"a_derived.yml": derived, "a_derived2.yml": derived2,
	}, Options{})
	b, d, d2 := repo.Detection("Test.Rule"), repo.Detection("Test.Derived"), repo.Detection("Test.Derived2")
	if b == nil || d == nil || d2 == nil {
		t.Fatalf("base %v, derived %v, derived2 %v", b, d, d2)
	}
	pyFile, _ := filepath.Abs("r.py")
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	// Inherited.
	check("d.PythonFile", d.PythonFile, pyFile)
	check("d.LogTypes", d.LogTypes, []string{"Okta.SystemLog"})
	check("d.Enabled", d.Enabled, true)
	check("d.DisplayName", d.DisplayName, "Base Rule")
	check("d.DedupPeriodMinutes", d.DedupPeriodMinutes, 120)
	check("d.Tests", len(d.Tests), 1)
	// Overridden.
	check("d.ID", d.ID, "Test.Derived")
	check("d.Source", d.Source, Source{"a_derived.yml", 1})
	check("d.BaseDetection", d.BaseDetection, "Test.Rule")
	check("d.Severity", d.Severity, "CRITICAL")
	check("d.Tags", d.Tags, []string{"derived"})
	check("d.InlineFilters", d.InlineFilters, []any{map[string]any{"KeyPath": "b", "Condition": "Exists"}})
	// The base is unchanged.
	check("b.Severity", b.Severity, "HIGH")
	check("b.Tags", b.Tags, []string{"base"})
	// A derived detection of a derived detection.
	check("d2.Severity", d2.Severity, "CRITICAL")
	check("d2.Enabled", d2.Enabled, false)
	check("d2.Tags", d2.Tags, []string{"derived"})
	check("d2.Tests[0].Name", d2.Tests[0].Name, "own test")
	check("d2.PythonFile", d2.PythonFile, pyFile)

	f := func(files map[string]string, want ...string) {
		t.Helper()
		files["base.yml"], files["r.py"] = base, pyRule
		testLoadProblems(t, files, Options{}, want...)
	}
	f(map[string]string{"d.yml": strings.Replace(derived, "BaseDetection: Test.Rule", "BaseDetection: Test.Rul", 1)},
		`d.yml:3: BaseDetection "Test.Rul": no such detection (did you mean "Test.Rule"?)`)
	f(map[string]string{"d.yml": derived + "LogTypes: [A]\nFilename: r.py\n"},
		`d.yml:8: LogTypes is not allowed in a derived detection: it comes from the BaseDetection`,
		`d.yml:9: Filename is not allowed in a derived detection: it comes from the BaseDetection`)
	f(map[string]string{
		"d.yml":  strings.Replace(derived, "BaseDetection: Test.Rule", "BaseDetection: Test.Derived2", 1),
		"d2.yml": derived2,
	},
		`d.yml:3: BaseDetection "Test.Derived2": derived detections form a cycle`,
		`d2.yml:3: BaseDetection "Test.Derived" could not be loaded (see its problems)`)
	f(map[string]string{"d.yml": strings.Replace(derived, "Test.Derived", "Test.Rule2", 1) + "Bogus: 1\n", "d2.yml": strings.Replace(derived2, "Test.Derived\n", "Test.Rule2\n", 1)},
		`d.yml:8: unknown key "Bogus" in derived rule spec`,
		`d2.yml:3: BaseDetection "Test.Rule2" could not be loaded (see its problems)`)
	f(map[string]string{
		"p.yml": "AnalysisType: policy\nPolicyID: P\nEnabled: true\nSeverity: Low\nFilename: r.py\n",
		"d.yml": strings.Replace(derived, "BaseDetection: Test.Rule", "BaseDetection: P", 1),
	}, `d.yml:3: BaseDetection "P" is a policy; only rules and scheduled rules can be derived from`)
}

func TestLoadQueries(t *testing.T) {
	scheduled := `AnalysisType: scheduled_query
QueryName: Failed Logins
Enabled: true
Description: failed logins per user
Tags: [okta]
Lookback: true
LookbackWindowSeconds: 3600
SnowflakeQuery: select 2
Query: |
  select actor from okta_systemlog
  where outcome = 'FAILURE'
Schedule:
  RateMinutes: 60
  TimeoutMinutes: 5
EmailConfig:
  Recipients: [a@b.c]
  SendEmpty: false
`
	saved := `AnalysisType: saved_query
QueryName: Saved One
AthenaQuery: select 1
`
	srule := `AnalysisType: scheduled_rule
RuleID: Sched.Rule
Enabled: true
Severity: Low
Filename: r.py
ScheduledQueries: [Failed Logins, Saved One]
`
	repo := testLoadProblems(t, map[string]string{"q.yml": scheduled, "s.yml": saved, "sr.yml": srule, "r.py": pyRule}, Options{})
	q, s := repo.Query("Failed Logins"), repo.Query("Saved One")
	if q == nil || s == nil {
		t.Fatalf("queries = %+v", repo.Queries)
	}
	wantQ := &Query{
		Kind: KindScheduledQuery, Name: "Failed Logins", Source: Source{"q.yml", 1}, Enabled: true,
		Description: "failed logins per user", Tags: []string{"okta"},
		SQL:      "select actor from okta_systemlog\nwhere outcome = 'FAILURE'\n",
		Schedule: &Schedule{RateMinutes: 60, TimeoutMinutes: 5}, Lookback: true, LookbackWindowSeconds: 3600,
	}
	if !reflect.DeepEqual(q, wantQ) {
		t.Errorf("scheduled query = %+v\nwant %+v", q, wantQ)
	}
	if s.Kind != KindSavedQuery || s.SQL != "select 1" || !s.Enabled || s.Schedule != nil {
		t.Errorf("saved query = %+v", s)
	}
	if d := repo.Detection("Sched.Rule"); d == nil || d.Kind != KindScheduledRule || !reflect.DeepEqual(d.ScheduledQueries, []string{"Failed Logins", "Saved One"}) {
		t.Errorf("scheduled rule = %+v", d)
	}

	f := func(files map[string]string, want ...string) {
		t.Helper()
		files["r.py"] = pyRule
		testLoadProblems(t, files, Options{}, want...)
	}
	sched := func(s string) map[string]string {
		return map[string]string{"q.yml": "AnalysisType: scheduled_query\nQueryName: Q\nEnabled: true\nQuery: select 1\n" + s}
	}
	f(sched("Schedule: {RateMinutes: 10, TimeoutMinutes: 5}\n"))
	f(sched("Schedule: {CronExpression: '0 * * * *', TimeoutMinutes: 5}\n"))
	f(sched(""), `q.yml:1: missing required key "Schedule" in scheduled_query spec`)
	f(sched("Schedule: {RateMinutes: 10, CronExpression: '* * * * *', TimeoutMinutes: 5}\n"),
		`q.yml:5: only one of "CronExpression" and "RateMinutes" may be set in Schedule`)
	f(sched("Schedule: {TimeoutMinutes: 5}\n"), `q.yml:5: Schedule needs one of "CronExpression" and "RateMinutes"`)
	f(sched("Schedule: {RateMinutes: 1, TimeoutMinutes: 1}\n"), `q.yml:5: RateMinutes must be greater than 1`)
	f(sched("Schedule: {RateMinutes: 5, TimeoutMinutes: 10}\n"), `q.yml:5: RateMinutes (5) must be at least TimeoutMinutes (10)`)
	f(sched("Schedule: {RateMinutes: 5}\n"), `q.yml:5: missing required key "TimeoutMinutes" in Schedule`)
	f(sched("Schedule: {RateMinutes: 5, TimeoutMinuts: 1}\n"),
		`q.yml:5: missing required key "TimeoutMinutes" in Schedule`,
		`q.yml:5: unknown key "TimeoutMinuts" in Schedule (did you mean "TimeoutMinutes"?)`)
	f(sched("Schedule: hourly\n"), `q.yml:5: Schedule: expected mapping, got string "hourly"`)
	f(sched("Schedule: {RateMinutes: 10, TimeoutMinutes: 5}\nEmailConfig: {Recipient: [a]}\n"),
		`q.yml:6: unknown key "Recipient" in EmailConfig (did you mean "Recipients"?)`)
	f(map[string]string{"q.yml": "AnalysisType: saved_query\nQueryName: Q\nDescription: x\n"},
		`q.yml:1: saved_query spec needs one of "Query", "SnowflakeQuery", "AthenaQuery" or "DatabricksQuery"`)
	f(map[string]string{"q.yml": "AnalysisType: saved_query\nQueryName: Q\nQuery: ''\n"}, `q.yml:3: Query must not be empty`)
	f(map[string]string{"q.yml": "AnalysisType: saved_query\nQueryName: Q\nQuery: x\nSchedule: {RateMinutes: 10, TimeoutMinutes: 5}\n"},
		`q.yml:4: unknown key "Schedule" in saved_query spec`)
	f(map[string]string{"sr.yml": srule, "s.yml": saved},
		`sr.yml:6: ScheduledQueries: no saved or scheduled query named "Failed Logins"`)
	f(map[string]string{"sr.yml": strings.Replace(srule, "Saved One", "Saved Onе", 1), "s.yml": saved, "q.yml": scheduled},
		`sr.yml:6: ScheduledQueries: no saved or scheduled query named "Saved Onе" (did you mean "Saved One"?)`)
	// A query with problems is reported once, not again at the rule.
	f(map[string]string{"sr.yml": srule, "s.yml": saved + "Bogus: 1\n", "q.yml": scheduled},
		`s.yml:4: unknown key "Bogus" in saved_query spec`)
	f(map[string]string{"sr.yml": strings.Replace(srule, "ScheduledQueries: [Failed Logins, Saved One]", "ScheduledQueries: []", 1)},
		`sr.yml:6: ScheduledQueries must not be empty`)
}

func TestLoadGlobalDataModelPackLookup(t *testing.T) {
	files := map[string]string{
		"global_helpers/panther_base_helpers.yml": "AnalysisType: global\nFilename: panther_base_helpers.py\nGlobalID: panther_base_helpers\nDescription: helpers\nTags: [core]\n",
		"global_helpers/panther_base_helpers.py":  "def deep_get(d, *k):\n    pass\n",
		"data_models/okta.yml": `AnalysisType: datamodel
LogTypes:
  - Okta.SystemLog
DataModelID: "Standard.Okta.SystemLog"
DisplayName: "Okta System Log"
Filename: okta_data_model.py
Enabled: true
Mappings:
  - Name: actor_user
    Method: get_actor_user
  - Name: source_ip
    Path: $.client.ipAddress
`,
		"data_models/okta_data_model.py": "def get_actor_user(event):\n    return None\n",
		"data_models/okta_disabled.yml": `AnalysisType: datamodel
LogTypes: [Okta.SystemLog]
DataModelID: Custom.Okta
Enabled: false
Mappings:
  - {Name: user, Path: actor.alternateId}
`,
		"packs/okta.yml": `AnalysisType: pack
PackID: PantherManaged.Okta
Description: Okta pack
DisplayName: "Panther Okta Pack"
PackDefinition:
  IDs:
    - Test.Rule
    - panther_base_helpers
    - Standard.Okta.SystemLog
    - Failed Logins
`,
		"queries/q.yml": "AnalysisType: saved_query\nQueryName: Failed Logins\nQuery: select 1\n",
		"lookup_tables/tor.yml": `AnalysisType: lookup_table
LookupName: "tor_exit_nodes"
Schema: Tor.ExitNode
Refresh:
  RoleARN: arn:aws:iam::123:role/x
  ObjectPath: s3://bucket/tor.csv
  PeriodMinutes: 60
Description: Tor Exit Nodes
Reference: https://metrics.torproject.org/onionoo.html
Enabled: true
LogTypeMap:
  PrimaryKey: ip
  AssociatedLogTypes:
    - LogType: AWS.CloudTrail
      Selectors:
        - 'sourceIPAddress'
`,
		"lookup_tables/baseline.yml": `AnalysisType: lookup_table
LookupName: okta_baseline_90d
Enabled: true
Refresh:
  PeriodMinutes: 1440
SnowflakeQuery: select 1
LogTypeMap:
  PrimaryKey: user_email
  AssociatedLogTypes:
    - LogType: Okta.SystemLog
      Selectors: ["$.actor.alternateId"]
`,
		"rules/r.yml": ruleYAML(""),
		"rules/r.py":  pyRule,
	}
	repo := testLoadProblems(t, files, Options{})
	g := repo.Global("panther_base_helpers")
	wantPy, _ := filepath.Abs("global_helpers/panther_base_helpers.py")
	if g == nil || g.PythonFile != wantPy || g.Description != "helpers" || !reflect.DeepEqual(g.Tags, []string{"core"}) {
		t.Errorf("global = %+v", g)
	}
	m := repo.DataModel("Standard.Okta.SystemLog")
	wantDM, _ := filepath.Abs("data_models/okta_data_model.py")
	wantMappings := []Mapping{{Name: "actor_user", Method: "get_actor_user"}, {Name: "source_ip", Path: "$.client.ipAddress"}}
	if m == nil || !m.Enabled || m.PythonFile != wantDM || m.DisplayName != "Okta System Log" || !reflect.DeepEqual(m.Mappings, wantMappings) {
		t.Errorf("data model = %+v", m)
	}
	if repo.DataModelFor("Okta.SystemLog") != m || repo.DataModelFor("AWS.CloudTrail") != nil {
		t.Errorf("DataModelFor: wrong model")
	}
	if len(repo.DataModels) != 2 {
		t.Errorf("%d data models, want 2", len(repo.DataModels))
	}
	p := repo.Pack("PantherManaged.Okta")
	if p == nil || p.DisplayName != "Panther Okta Pack" || len(p.IDs) != 4 {
		t.Errorf("pack = %+v", p)
	}
	lt := repo.LookupTable("tor_exit_nodes")
	if lt == nil || !lt.Enabled || lt.Raw["Schema"] != "Tor.ExitNode" || repo.LookupTable("okta_baseline_90d") == nil {
		t.Errorf("lookup table = %+v", lt)
	}
	if repo.Pack("nope") != nil || repo.Global("nope") != nil || repo.Query("nope") != nil || repo.DataModel("nope") != nil || repo.LookupTable("nope") != nil {
		t.Error("accessor found a missing ID")
	}

	f := func(files map[string]string, want ...string) {
		t.Helper()
		files["r.yml"], files["r.py"] = ruleYAML(""), pyRule
		testLoadProblems(t, files, Options{}, want...)
	}
	// Globals.
	f(map[string]string{"g.yml": "AnalysisType: global\nGlobalID: g\nFilename: g.py\n"}, `g.yml:3: Filename "g.py": file g.py does not exist`)
	f(map[string]string{"g.yml": "AnalysisType: global\nGlobalID: g\n"}, `g.yml:1: missing required key "Filename" in global spec`)
	// Data models.
	dm := func(id string, enabled bool, rest string) string {
		e := "true"
		if !enabled {
			e = "false"
		}
		return "AnalysisType: datamodel\nDataModelID: " + id + "\nEnabled: " + e + "\nLogTypes: [Okta.SystemLog]\nMappings:\n" + rest
	}
	ok := "  - {Name: user, Path: a.b}\n"
	f(map[string]string{"a.yml": dm("A", true, ok), "b.yml": dm("B", true, ok)},
		`b.yml:4: log type "Okta.SystemLog" already has an enabled data model: "A" in a.yml:2`)
	f(map[string]string{"a.yml": dm("A", true, ok), "b.yml": dm("B", false, ok)})
	f(map[string]string{"a.yml": strings.Replace(dm("A", true, ok), "[Okta.SystemLog]", "[Okta.SystemLog, AWS.CloudTrail]", 1)},
		`a.yml:4: LogTypes of a data model must list exactly one log type, got 2`)
	f(map[string]string{"a.yml": dm("A", true, "  - {Name: user, Path: a.b, Method: m}\n")},
		`a.yml:6: only one of "Path" and "Method" may be set in Mappings item`)
	f(map[string]string{"a.yml": dm("A", true, "  - {Name: user}\n")}, `a.yml:6: Mappings item needs one of "Path" and "Method"`)
	f(map[string]string{"a.yml": dm("A", true, "  - {Name: user, Method: m}\n")},
		`a.yml:6: Method "m" needs the data model's Filename (the .py defining it)`)
	f(map[string]string{"a.yml": dm("A", true, ok+ok)}, `a.yml:7: duplicate mapping Name "user" (first at line 6)`)
	// Packs.
	pack := "AnalysisType: pack\nPackID: P\nPackDefinition:\n  IDs:\n    - Test.Rule\n    - Test.Rul\n    - Nothing.At.All\n"
	f(map[string]string{"p.yml": pack},
		`p.yml:6: PackDefinition IDs: "Test.Rul" names nothing loaded (did you mean "Test.Rule"?)`,
		`p.yml:7: PackDefinition IDs: "Nothing.At.All" names nothing loaded`)
	f(map[string]string{"p.yml": "AnalysisType: pack\nPackID: P\nPackDefinition: {Ids: [a]}\n"},
		`p.yml:3: missing required key "IDs" in PackDefinition`,
		`p.yml:3: unknown key "Ids" in PackDefinition (did you mean "IDs"?)`)
	// Lookup tables.
	f(map[string]string{"l.yml": "AnalysisType: lookup_table\nLookupName: l\nEnabled: true\nLogTypeMap:\n  PrimaryKey: ip\n  AssociatedLogTypes:\n    - LogTyp: A\n"},
		`l.yml:7: missing required key "LogType" in AssociatedLogTypes item`,
		`l.yml:7: unknown key "LogTyp" in AssociatedLogTypes item (did you mean "LogType"?)`)
	f(map[string]string{"l.yml": "AnalysisType: lookup_table\nLookupName: l\nEnabled: true\nFilename: data.csv\nLogTypeMap: {PrimaryKey: ip, AssociatedLogTypes: []}\n"},
		`l.yml:4: Filename "data.csv": file data.csv does not exist`)
}

// okta_login_without_push.yml from panther-analysis, abridged.
const correlationSpec = `AnalysisType: correlation_rule
RuleID: "Okta.Login.Without.Push"
DisplayName: "Okta Login Without Push"
Enabled: false
Tags:
  - Push Security
Reports:
  MITRE ATT&CK:
    - T1212 # Exploitation for Credential Access
Severity: Critical
Detection:
  - Sequence:
      - ID: Okta
        RuleID: Okta.Login.Success
      - ID: Push
        RuleID: Push.Security.Authorized.IdP.Login
        Absence: true
    Transitions:
      - ID: Okta to Push
        From: Okta
        To: Push
        WithinTimeFrameMinutes: 10
        Match:
          - From: actor.alternateId
            To: new.email
    Schedule:
      RateMinutes: 5
      TimeoutMinutes: 2
    LookbackWindowMinutes: 30
Tests:
  - Name: Okta Login, Not Followed By Push Authorized Login
    ExpectedResult: true
    RuleOutputs:
      - ID: Okta
        Matches:
          actor.alternateId:
            frodo.baggins@hobbiton.com:
              - 0
`

const groupSpec = `AnalysisType: correlation_rule
RuleID: "GHAS.Change.Not.Archived"
Enabled: true
Severity: Critical
Detection:
  - Group:
      - ID: GHASChange
        RuleID: GitHub.Advanced.Security.Change
      - ID: RepoArchived
        RuleID: Github.Repo.Archived
        Absence: true
    MatchCriteria:
      field_name:
      - GroupID: GHASChange
        Match: p_alert_context.repo
      - GroupID: RepoArchived
        Match: p_alert_context.repo
    EventEvaluationOrder: Chronological
    Schedule:
      CronExpression: "0 * * * *"
      TimeoutMinutes: 10
Tests:
    - Name: only change
      ExpectedResult: true
      RuleOutputs:
        - ID: GHASChange
          Matches:
            p_alert_context.repo:
              my-org/example-repo:
                - "2024-06-01T10:00:00Z"
`

func TestLoadCorrelation(t *testing.T) {
	repo := testLoadProblems(t, map[string]string{"c.yml": correlationSpec, "g.yml": groupSpec}, Options{})
	c := repo.Detection("Okta.Login.Without.Push")
	if c == nil {
		t.Fatal("not loaded")
	}
	if c.Kind != KindCorrelationRule || c.IsSimple() || c.Severity != "CRITICAL" || c.Enabled ||
		c.LookbackWindowMinutes != 30 || !reflect.DeepEqual(c.Schedule, &Schedule{RateMinutes: 5, TimeoutMinutes: 2}) {
		t.Errorf("correlation rule = %+v", c)
	}
	if m, ok := c.Match.([]any); !ok || len(m) != 1 {
		t.Errorf("Match = %#v", c.Match)
	}
	if len(c.Tests) != 1 || !c.Tests[0].ExpectedResult || c.Tests[0].Log != nil {
		t.Fatalf("tests = %+v", c.Tests)
	}
	wantOutputs := []any{map[string]any{"ID": "Okta", "Matches": map[string]any{
		"actor.alternateId": map[string]any{"frodo.baggins@hobbiton.com": []any{0}},
	}}}
	if !reflect.DeepEqual(c.Tests[0].RuleOutputs, wantOutputs) {
		t.Errorf("RuleOutputs = %#v", c.Tests[0].RuleOutputs)
	}
	g := repo.Detection("GHAS.Change.Not.Archived")
	if g == nil || g.EventEvaluationOrder != "Chronological" || g.LookbackWindowMinutes != 15 ||
		!reflect.DeepEqual(g.Schedule, &Schedule{CronExpression: "0 * * * *", TimeoutMinutes: 10}) {
		t.Errorf("group rule = %+v", g)
	}

	f := func(spec string, want ...string) {
		t.Helper()
		testLoadProblems(t, map[string]string{"c.yml": spec}, Options{}, want...)
	}
	f(strings.Replace(correlationSpec, "        RuleID: Okta.Login.Success\n", "", 1), `c.yml:13: missing required key "RuleID" in Sequence item`)
	f(strings.Replace(correlationSpec, "        From: Okta\n", "        From: Okt\n", 1), `c.yml:20: From "Okt" names no Sequence ID (did you mean "Okta"?)`)
	f(strings.Replace(correlationSpec, "          - From: actor.alternateId\n", "          - On: actor.alternateId\n", 1),
		`c.yml:24: Match item sets both On and From/To`)
	f(strings.Replace(correlationSpec, "          - From: actor.alternateId\n            To: new.email\n", "          - {}\n", 1),
		`c.yml:24: Match item needs On, or From and To`)
	f(strings.Replace(correlationSpec, "    Schedule:\n      RateMinutes: 5\n      TimeoutMinutes: 2\n", "", 1),
		`c.yml:12: correlation rule needs a Schedule (RateMinutes or CronExpression, and TimeoutMinutes)`)
	f(strings.Replace(correlationSpec, "      - ID: Push\n", "      - ID: Okta\n", 1),
		`c.yml:15: duplicate Sequence ID "Okta"`,
		`c.yml:21: To "Push" names no Sequence ID`)
	f(strings.Replace(correlationSpec, "  - Sequence:", "  - Sequenc:", 1),
		`c.yml:12: correlation Detection item needs one of "Sequence" and "Group"`,
		`c.yml:12: unknown key "Sequenc" in correlation Detection item (did you mean "Sequence"?)`)
	f(strings.Replace(correlationSpec, "ExpectedResult: true\n    RuleOutputs:", "ExpectedResult: true\n    RuleOutput:", 1),
		`c.yml:31: missing required key "RuleOutputs" in test`,
		`c.yml:33: unknown key "RuleOutput" in test (did you mean "RuleOutputs"?)`)
	f(strings.Replace(correlationSpec, "      - ID: Okta\n        Matches:", "      - Id: Okta\n        Matches:", 1),
		`c.yml:34: missing required key "ID" in RuleOutputs item`,
		`c.yml:34: unknown key "Id" in RuleOutputs item (did you mean "ID"?)`)
	f(correlationSpec+"Schedule: {RateMinutes: 5, TimeoutMinutes: 2}\n", `c.yml:26: Schedule is set more than once`)
	f(strings.Replace(correlationSpec, "Detection:\n", "Detection: []\nX:\n", 1), `c.yml:11: Detection must not be empty`, `c.yml:12: unknown key "X" in correlation_rule spec`)
	f(strings.Replace(groupSpec, "EventEvaluationOrder: Chronological", "EventEvaluationOrder: chronological", 1),
		`c.yml:18: EventEvaluationOrder "chronological" is not one of "Chronological" or "ReverseChronological" (did you mean "Chronological"?)`)
	f(strings.Replace(groupSpec, "      - GroupID: RepoArchived", "      - GroupID: Archived", 1),
		`c.yml:16: GroupID "Archived" names no Group ID`)
	f(strings.Replace(groupSpec, "    MatchCriteria:", "    Transitions: []\n    MatchCriteria:", 1),
		`c.yml:12: Transitions are for Sequence; a Group uses MatchCriteria`)
}

// Panther allows a transition without Match: it then only orders the steps
// within the time frame.
func TestLoadTransitionWithoutMatch(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c.yml"), []byte(`AnalysisType: correlation_rule
RuleID: Seq.NoJoin
Enabled: true
Severity: Medium
Detection:
  - Sequence:
      - ID: A
        RuleID: Rule.A
      - ID: B
        RuleID: Rule.B
    Transitions:
      - ID: A to B
        From: A
        To: B
        WithinTimeFrameMinutes: 10
    Schedule:
      RateMinutes: 15
      TimeoutMinutes: 1
    LookbackWindowMinutes: 30
`), 0o644)
	repo, problems, err := LoadLenient([]string{dir}, Options{})
	if err != nil || len(problems) > 0 || repo.Detection("Seq.NoJoin") == nil {
		t.Fatalf("a transition without Match must load: %v %v", err, problems)
	}
}
