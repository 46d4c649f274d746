package suggest

import "testing"

func TestClosest(t *testing.T) {
	keys := []string{"Severity", "RuleID", "Enabled", "LogTypes", "Equals", "IsIn"}
	f := func(word, want string) {
		t.Helper()
		if got := Closest(word, keys); got != want {
			t.Errorf("Closest(%q) = %q, want %q", word, got, want)
		}
	}
	f("Severty", "Severity")
	f("severity", "Severity") // case only
	f("ruleid", "RuleID")
	f("Equal", "Equals")
	f("LogType", "LogTypes")
	f("Severity", "") // exact: no suggestion
	f("Xy", "")       // short words do not match everything
	f("Completely", "")
	f("", "")
	if h := Hint("Enabeld", keys); h != ` (did you mean "Enabled"?)` {
		t.Errorf("Hint = %q", h)
	}
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"héllo", "hello", 1}, {"abc", "abc", 0}} {
		if got := Distance(c.a, c.b); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}
