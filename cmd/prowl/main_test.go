package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// prowl runs the CLI in-process and returns its output and exit code.
func prowl(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	var exit exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.code
	default:
		return out.String() + err.Error(), 2
	}
}

func TestInitThenTest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	out, code := prowl(t, "init", dir)
	if code != 0 || !strings.Contains(out, "rules/example_failed_logins.yml") {
		t.Fatalf("init: %d %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, ".github", "workflows", "prowl.yml")); err != nil {
		t.Errorf("init should write a CI workflow: %v", err)
	}
	out, code = prowl(t, "test", "--minimum-tests", "2", dir)
	if code != 0 || !strings.Contains(out, "2 passed, 0 failed") || !strings.Contains(out, "[title] Multiple Failed Logins for admin") {
		t.Errorf("test on a new repo: %d\n%s", code, out)
	}
	if _, code := prowl(t, "init", dir); code == 0 {
		t.Error("init into a non-empty directory must fail")
	}
}

func TestTestExitCodesAndReports(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "r.py"), []byte("def rule(event):\n    return True\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "r.yml"), []byte(`AnalysisType: rule
RuleID: R
Filename: r.py
Enabled: true
Severity: Low
LogTypes: [Okta.SystemLog]
Tests:
  - Name: should not match
    ExpectedResult: false
    Log: {}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yml"), []byte("AnalysisType: rule\nRuleID: Bad\nSeverty: Low\n"), 0o644)
	out, code := prowl(t, "test", dir)
	if code != 1 || !strings.Contains(out, "[FAIL] should not match") || !strings.Contains(out, `did you mean "Severity"`) {
		t.Errorf("failing run: %d\n%s", code, out)
	}
	report := filepath.Join(dir, "out.xml")
	if _, code := prowl(t, "test", "--format", "junit", "--output", report, dir); code != 1 {
		t.Errorf("junit run exit %d", code)
	}
	if data, _ := os.ReadFile(report); !bytes.Contains(data, []byte("<testsuites")) {
		t.Errorf("junit file: %s", data)
	}
	out, code = prowl(t, "validate", dir)
	if code != 1 || !strings.Contains(out, "bad.yml:3") {
		t.Errorf("validate: %d\n%s", code, out)
	}
	out, code = prowl(t, "debug", "--path", dir, "R", "should not match")
	if code != 1 || !strings.Contains(out, "[rule] returned true, expected false") {
		t.Errorf("debug: %d\n%s", code, out)
	}
}
