package analysis

import (
	"strings"
	"testing"
)

func TestDidYouMean(t *testing.T) {
	keys := []string{"Severity", "LogTypes", "Log", "RuleID", "Tests", "ID", "To"}
	f := func(word, want string) {
		t.Helper()
		if got := didYouMean(word, keys); got != want {
			t.Errorf("didYouMean(%q) = %q, want %q", word, got, want)
		}
	}
	f("Severty", ` (did you mean "Severity"?)`)
	f("severity", ` (did you mean "Severity"?)`)
	f("LOGTYPES", ` (did you mean "LogTypes"?)`)
	f("LogType", ` (did you mean "LogTypes"?)`)
	f("Logs", ` (did you mean "Log"?)`)
	f("ruleid", ` (did you mean "RuleID"?)`)
	f("Test", ` (did you mean "Tests"?)`)
	f("Description", "")
	f("IX", ` (did you mean "ID"?)`) // short words: fewer edits than letters
	f("XY", "")
	f("Severity", "") // exact matches are not suggestions
}

func TestProblemError(t *testing.T) {
	f := func(p Problem, want string) {
		t.Helper()
		if got := p.Error(); got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	}
	f(Problem{Source{"a.yml", 3}, "bad"}, "a.yml:3: bad")
	f(Problem{Source{"a.yml", 0}, "bad"}, "a.yml: bad")
	f(Problem{Source{}, "bad"}, "bad")
}

func TestProblemsNormalize(t *testing.T) {
	ps := Problems{
		{Source{"b.yml", 1}, "x"},
		{Source{"a.yml", 10}, "y"},
		{Source{"a.yml", 2}, "z"},
		{Source{"a.yml", 2}, "a"},
		{Source{"a.yml", 10}, "y"},
	}
	got := ps.normalize().Error()
	want := strings.Join([]string{"a.yml:2: a", "a.yml:2: z", "a.yml:10: y", "b.yml:1: x"}, "\n")
	if got != want {
		t.Errorf("normalize:\n%s\nwant:\n%s", got, want)
	}
}

func TestQuoteList(t *testing.T) {
	f := func(in []string, want string) {
		t.Helper()
		if got := quoteList(in); got != want {
			t.Errorf("quoteList(%q) = %s, want %s", in, got, want)
		}
	}
	f(nil, "")
	f([]string{"a"}, `"a"`)
	f([]string{"a", "b"}, `"a" or "b"`)
	f([]string{"a", "b", "c"}, `"a", "b" or "c"`)
}
