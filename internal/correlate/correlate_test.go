package correlate

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/analysis"
)

// compile loads spec (a correlation_rule YAML file) with the analysis
// loader and compiles it.
func compile(t *testing.T, spec string) *Rule {
	t.Helper()
	d := load(t, spec)
	r, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func load(t *testing.T, spec string) *analysis.Detection {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rule.yml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	repo, err := analysis.Load([]string{dir}, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(repo.Detections) != 1 {
		t.Fatalf("want one detection, got %d", len(repo.Detections))
	}
	return repo.Detections[0]
}

var t0 = time.Date(2024, 8, 16, 7, 0, 0, 0, time.UTC)

// at returns a match of rule at minute offset min for user.
func at(rule string, min float64, user string, extra ...any) Match {
	fields := map[string]any{"actor": map[string]any{"alternateId": user}}
	for i := 0; i+1 < len(extra); i += 2 {
		fields[extra[i].(string)] = extra[i+1]
	}
	tm := t0.Add(time.Duration(min * float64(time.Minute)))
	return Match{RuleID: rule, Time: tm, Fields: fields, RowID: fmt.Sprintf("%s@%v/%s", rule, min, user)}
}

func deny(min float64, user string) Match { return at("Okta.MFAPushFatigue", min, user) }
func success(min float64, user string) Match {
	return at("Okta.SignInNewCountry", min, user, "client", map[string]any{"geographicalContext": map[string]any{"country": "Singapore"}})
}

const fatigueSpec = `AnalysisType: correlation_rule
RuleID: Test.MFAFatigueThenSuccess
DisplayName: MFA fatigue then success
Enabled: true
Severity: High
Detection:
  - Sequence:
      - ID: Denials
        RuleID: Okta.MFAPushFatigue
        MinMatchCount: 3%s
      - ID: Success
        RuleID: Okta.SignInNewCountry%s
    Transitions:
      - ID: Denials FOLLOWED BY Success
        From: Denials
        To: Success
        WithinTimeFrameMinutes: %d
        Match:
          - On: actor.alternateId
    Schedule:
      RateMinutes: 10
      TimeoutMinutes: 2
    LookbackWindowMinutes: 30%s
`

func fatigue(t *testing.T, denialsExtra, successExtra string, within int, orderLine string) *Rule {
	return compile(t, fmt.Sprintf(fatigueSpec, denialsExtra, successExtra, within, orderLine))
}

// rows lists the RowIDs of each result's contributing matches.
func rows(rs []Result) [][]string {
	var out [][]string
	for _, r := range rs {
		out = append(out, r.RowIDs())
	}
	return out
}

func TestSequenceDetected(t *testing.T) {
	r := fatigue(t, "", "", 15, "")
	if r.Lookback != 30*time.Minute || r.Severity != "HIGH" || r.Title != "MFA fatigue then success" ||
		!reflect.DeepEqual(r.RuleIDs(), []string{"Okta.MFAPushFatigue", "Okta.SignInNewCountry"}) {
		t.Fatalf("compiled %+v", r)
	}
	ms := []Match{deny(0, "jane"), deny(1, "jane"), deny(2, "jane"), deny(2.5, "bob"), success(5, "jane")}
	got := r.Evaluate(ms, time.Time{}, time.Time{})
	if len(got) != 1 {
		t.Fatalf("want one result, got %d: %v", len(got), rows(got))
	}
	res := got[0]
	if res.Dedup != "jane" || !reflect.DeepEqual(res.Key, []string{"jane"}) || res.Title != "MFA fatigue then success" ||
		res.Severity != "HIGH" || res.RuleID != "Test.MFAFatigueThenSuccess" {
		t.Errorf("result = %+v", res)
	}
	if len(res.Steps) != 2 || res.Steps[0].ID != "Denials" || len(res.Steps[0].Matches) != 3 ||
		res.Steps[1].ID != "Success" || len(res.Steps[1].Matches) != 1 {
		t.Errorf("steps = %+v", res.Steps)
	}
	if !res.Start.Equal(t0) || !res.End.Equal(t0.Add(5*time.Minute)) || !res.DecidedAt.Equal(res.End) || len(res.Contributing) != 4 {
		t.Errorf("start %v end %v decided %v, %d contributing", res.Start, res.End, res.DecidedAt, len(res.Contributing))
	}
	if len(res.ID) != 32 {
		t.Errorf("ID %q", res.ID)
	}
	// Joining works on flat keys too, as tests write them.
	flat := []Match{
		{RuleID: "Okta.MFAPushFatigue", Time: t0, Fields: map[string]any{"actor.alternateId": "x"}},
		{RuleID: "Okta.MFAPushFatigue", Time: t0, Fields: map[string]any{"actor.alternateId": "x"}},
		{RuleID: "Okta.MFAPushFatigue", Time: t0, Fields: map[string]any{"actor.alternateId": "x"}},
		{RuleID: "Okta.SignInNewCountry", Time: t0, Fields: map[string]any{"actor": map[string]any{"alternateId": "x"}}},
	}
	if got := r.Evaluate(flat, time.Time{}, time.Time{}); len(got) != 1 || got[0].Dedup != "x" {
		t.Errorf("flat keys: %v", rows(got))
	}
}

func TestSequenceNotDetected(t *testing.T) {
	r := fatigue(t, "", "", 15, "")
	for name, ms := range map[string][]Match{
		"out of order":            {success(0, "jane"), deny(1, "jane"), deny(2, "jane"), deny(3, "jane")},
		"success between denials": {deny(0, "jane"), deny(1, "jane"), success(1.5, "jane"), deny(2, "jane")},
		"outside the time frame":  {deny(0, "jane"), deny(1, "jane"), deny(2, "jane"), success(17.5, "jane")},
		"outside the lookback":    {deny(0, "jane"), deny(10, "jane"), deny(20, "jane"), success(31, "jane")},
		"different users":         {deny(0, "jane"), deny(1, "jane"), deny(2, "jane"), success(5, "bob")},
		"too few denials":         {deny(0, "jane"), deny(1, "jane"), success(5, "jane")},
		"denials of mixed users":  {deny(0, "jane"), deny(1, "bob"), deny(2, "jane"), success(5, "jane")},
		"no user":                 {deny(0, ""), deny(1, ""), deny(2, ""), success(5, "")},
		"only denials":            {deny(0, "jane"), deny(1, "jane"), deny(2, "jane")},
		"other rules":             {at("Other", 0, "jane"), at("Other", 1, "jane"), at("Other", 2, "jane"), success(3, "jane")},
	} {
		if got := r.Evaluate(ms, time.Time{}, time.Time{}); len(got) != 0 {
			t.Errorf("%s: want no result, got %v", name, rows(got))
		}
	}
	// The time frame is inclusive: 15 minutes after the third denial.
	if got := r.Evaluate([]Match{deny(0, "jane"), deny(1, "jane"), deny(2, "jane"), success(17, "jane")}, time.Time{}, time.Time{}); len(got) != 1 {
		t.Errorf("15 minutes exactly: %v", rows(got))
	}
	// Matches outside [from, to] are not read.
	ms := []Match{deny(0, "jane"), deny(1, "jane"), deny(2, "jane"), success(5, "jane")}
	if got := r.Evaluate(ms, t0.Add(time.Minute), t0.Add(time.Hour)); len(got) != 0 {
		t.Errorf("window cut the first denial: %v", rows(got))
	}
}

func TestSequenceResultsAndDedup(t *testing.T) {
	r := fatigue(t, "", "", 15, "")
	// Five denials then two successes: one attack, one result listing all
	// of it. A match contributes to one result only.
	ms := []Match{deny(0, "jane"), deny(1, "jane"), deny(2, "jane"), deny(3, "jane"), deny(4, "jane"), success(6, "jane"), success(7, "jane"),
		// bob's attack completes later; it is a second result.
		deny(1, "bob"), deny(8, "bob"), deny(9, "bob"), success(10, "bob")}
	got := r.Evaluate(ms, time.Time{}, time.Time{})
	want := [][]string{
		{"Okta.MFAPushFatigue@0/jane", "Okta.MFAPushFatigue@1/jane", "Okta.MFAPushFatigue@2/jane", "Okta.MFAPushFatigue@3/jane",
			"Okta.MFAPushFatigue@4/jane", "Okta.SignInNewCountry@6/jane", "Okta.SignInNewCountry@7/jane"},
		{"Okta.MFAPushFatigue@1/bob", "Okta.MFAPushFatigue@8/bob", "Okta.MFAPushFatigue@9/bob", "Okta.SignInNewCountry@10/bob"},
	}
	if !reflect.DeepEqual(rows(got), want) {
		t.Fatalf("results:\n got %v\nwant %v", rows(got), want)
	}
	// Output does not depend on input order; IDs are stable.
	for i := range 20 {
		shuffled := append([]Match(nil), ms...)
		rand.New(rand.NewPCG(uint64(i), 7)).Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		again := r.Evaluate(shuffled, time.Time{}, time.Time{})
		if !reflect.DeepEqual(rows(again), want) || again[0].ID != got[0].ID || again[1].ID != got[1].ID {
			t.Fatalf("shuffle %d: %v", i, rows(again))
		}
	}
}

func TestSequenceMinMaxAndOrder(t *testing.T) {
	ms := []Match{deny(0, "jane"), deny(1, "jane"), deny(2, "jane"), deny(3, "jane"), deny(4, "jane"), success(6, "jane")}
	// MaxMatchCount caps what one result takes; Chronological takes the
	// oldest matches, ReverseChronological the newest.
	chrono := fatigue(t, "\n        MaxMatchCount: 3", "", 15, "")
	got := chrono.Evaluate(ms, time.Time{}, time.Time{})
	if want := [][]string{{"Okta.MFAPushFatigue@0/jane", "Okta.MFAPushFatigue@1/jane", "Okta.MFAPushFatigue@2/jane", "Okta.SignInNewCountry@6/jane"}}; !reflect.DeepEqual(rows(got), want) {
		t.Errorf("chronological: %v", rows(got))
	}
	reverse := fatigue(t, "\n        MaxMatchCount: 3", "", 15, "\n    EventEvaluationOrder: ReverseChronological")
	if reverse.Order != ReverseChronological {
		t.Fatal("order not read")
	}
	got = reverse.Evaluate(ms, time.Time{}, time.Time{})
	if want := [][]string{{"Okta.MFAPushFatigue@2/jane", "Okta.MFAPushFatigue@3/jane", "Okta.MFAPushFatigue@4/jane", "Okta.SignInNewCountry@6/jane"}}; !reflect.DeepEqual(rows(got), want) {
		t.Errorf("reverse chronological: %v", rows(got))
	}
	// Both orders detect the same situations.
	for _, r := range []*Rule{chrono, reverse} {
		if got := r.Evaluate([]Match{deny(0, "jane"), deny(1, "jane"), success(5, "jane")}, time.Time{}, time.Time{}); len(got) != 0 {
			t.Errorf("%s: two denials are below MinMatchCount 3: %v", r.Order, rows(got))
		}
		if got := r.Evaluate([]Match{success(0, "jane"), deny(1, "jane"), deny(2, "jane"), deny(3, "jane")}, time.Time{}, time.Time{}); len(got) != 0 {
			t.Errorf("%s: out of order: %v", r.Order, rows(got))
		}
		// The early denial is too far from the success; the later three
		// are close enough (backtracking finds them).
		got := r.Evaluate([]Match{deny(0, "jane"), deny(12, "jane"), deny(13, "jane"), deny(14, "jane"), success(29, "jane")}, time.Time{}, time.Time{})
		if len(got) != 1 || len(got[0].Steps[0].Matches) != 3 || !got[0].Start.Equal(t0.Add(12*time.Minute)) {
			t.Errorf("%s: backtracking: %v", r.Order, rows(got))
		}
	}
	// MinMatchCount on the second step.
	two := fatigue(t, "", "\n        MinMatchCount: 2", 15, "")
	if got := two.Evaluate(ms, time.Time{}, time.Time{}); len(got) != 0 {
		t.Errorf("one success is below MinMatchCount 2: %v", rows(got))
	}
	if got := two.Evaluate(append(ms, success(8, "jane")), time.Time{}, time.Time{}); len(got) != 1 || len(got[0].Steps[1].Matches) != 2 {
		t.Errorf("two successes: %v", rows(got))
	}
}

func TestSequenceAbsence(t *testing.T) {
	// Push denials NOT followed by a success within 10 minutes.
	r := fatigue(t, "", "\n        Absence: true", 10, "")
	if r.Horizon() != 40*time.Minute {
		t.Errorf("horizon = %v", r.Horizon())
	}
	denials := []Match{deny(0, "jane"), deny(1, "jane"), deny(2, "jane")}
	got := r.Evaluate(denials, time.Time{}, time.Time{})
	if len(got) != 1 || len(got[0].Steps) != 1 || len(got[0].Contributing) != 3 || !got[0].DecidedAt.Equal(t0.Add(12*time.Minute)) ||
		got[0].Dedup != "jane" {
		t.Fatalf("denials alone: %+v", got)
	}
	for name, c := range map[string]struct {
		extra []Match
		want  int
	}{
		"followed by a success":            {[]Match{success(5, "jane")}, 0},
		"success at the window's end":      {[]Match{success(12, "jane")}, 0},
		"success after the window":         {[]Match{success(12.5, "jane")}, 1},
		"success for someone else":         {[]Match{success(5, "bob")}, 1},
		"success before the denials":       {[]Match{success(-1, "jane")}, 1},
		"a later burst that is followed":   {[]Match{deny(20, "jane"), deny(21, "jane"), deny(22, "jane"), success(25, "jane")}, 1},
		"a later burst that is not":        {[]Match{deny(20, "jane"), deny(21, "jane"), deny(22, "jane"), success(5, "jane")}, 1},
		"two unanswered bursts":            {[]Match{deny(40, "jane"), deny(41, "jane"), deny(42, "jane")}, 2},
		"success between the bursts again": {[]Match{success(1.5, "jane"), deny(3, "jane")}, 1},
	} {
		ms := append(append([]Match(nil), denials...), c.extra...)
		if got := r.Evaluate(ms, time.Time{}, time.Time{}); len(got) != c.want {
			t.Errorf("%s: want %d results, got %v", name, c.want, rows(got))
		}
	}
	// While the window is open the result is undecided and not reported.
	if got := r.Evaluate(denials, t0, t0.Add(11*time.Minute)); len(got) != 0 {
		t.Errorf("open window: %v", rows(got))
	}
	if got := r.Evaluate(denials, t0, t0.Add(12*time.Minute)); len(got) != 1 {
		t.Errorf("closed window: %v", rows(got))
	}
	// Without a time frame the absence window is the lookback.
	noFrame := compile(t, strings.Replace(fmt.Sprintf(fatigueSpec, "", "\n        Absence: true", 10, ""), "        WithinTimeFrameMinutes: 10\n", "", 1))
	if got := noFrame.Evaluate(append(denials[:3:3], success(25, "jane")), time.Time{}, time.Time{}); len(got) != 0 {
		t.Errorf("success within the 30-minute lookback: %v", rows(got))
	}
	if got := noFrame.Evaluate(append(denials[:3:3], success(33, "jane")), time.Time{}, time.Time{}); len(got) != 1 {
		t.Errorf("success after the lookback: %v", rows(got))
	}
	// Absence with MinMatchCount: one success is not enough to count.
	two := fatigue(t, "", "\n        Absence: true\n        MinMatchCount: 2", 10, "")
	if got := two.Evaluate(append(denials[:3:3], success(5, "jane")), time.Time{}, time.Time{}); len(got) != 1 {
		t.Errorf("one success of two needed: %v", rows(got))
	}
	if got := two.Evaluate(append(denials[:3:3], success(5, "jane"), success(6, "jane")), time.Time{}, time.Time{}); len(got) != 0 {
		t.Errorf("two successes: %v", rows(got))
	}
	// ReverseChronological decides absence the same way.
	rev := fatigue(t, "", "\n        Absence: true", 10, "\n    EventEvaluationOrder: ReverseChronological")
	if got := rev.Evaluate(append(denials[:3:3], success(5, "jane")), time.Time{}, time.Time{}); len(got) != 0 {
		t.Errorf("reverse: followed: %v", rows(got))
	}
	if got := rev.Evaluate(denials, t0, t0.Add(11*time.Minute)); len(got) != 0 {
		t.Errorf("reverse: open window: %v", rows(got))
	}
	if got := rev.Evaluate(denials, t0, t0.Add(12*time.Minute)); len(got) != 1 || !got[0].DecidedAt.Equal(t0.Add(12*time.Minute)) {
		t.Errorf("reverse: closed window: %+v", got)
	}
}

const threeStepSpec = `AnalysisType: correlation_rule
RuleID: Test.ThreeSteps
Enabled: true
Severity: Medium
Detection:
  - Sequence:
      - ID: Login
        RuleID: Login
      - ID: NoMFA
        RuleID: MFA
        Absence: true
      - ID: Export
        RuleID: Export
    Transitions:
      - ID: Login TO NoMFA
        From: Login
        To: NoMFA
        Match:
          - On: user
      - ID: Login TO Export
        From: Login
        To: Export
        WithinTimeFrameMinutes: 20
        Match:
          - From: user
            To: exporter
    Schedule:
      RateMinutes: 10
      TimeoutMinutes: 2
`

func TestSequenceMiddleAbsenceAndFromTo(t *testing.T) {
	r := compile(t, threeStepSpec)
	m := func(rule string, min float64, field, value string) Match {
		return Match{RuleID: rule, Time: t0.Add(time.Duration(min * float64(time.Minute))), Fields: map[string]any{field: value}, AlertID: fmt.Sprintf("%s-%v", rule, min)}
	}
	for name, c := range map[string]struct {
		ms   []Match
		want int
	}{
		"login then export":                {[]Match{m("Login", 0, "user", "a"), m("Export", 5, "exporter", "a")}, 1},
		"MFA in between":                   {[]Match{m("Login", 0, "user", "a"), m("MFA", 2, "user", "a"), m("Export", 5, "exporter", "a")}, 0},
		"MFA by someone else":              {[]Match{m("Login", 0, "user", "a"), m("MFA", 2, "user", "b"), m("Export", 5, "exporter", "a")}, 1},
		"MFA after the export":             {[]Match{m("Login", 0, "user", "a"), m("Export", 5, "exporter", "a"), m("MFA", 6, "user", "a")}, 1},
		"export by someone else":           {[]Match{m("Login", 0, "user", "a"), m("Export", 5, "exporter", "b")}, 0},
		"export joined on the wrong field": {[]Match{m("Login", 0, "user", "a"), m("Export", 5, "user", "a")}, 0},
		"export too late":                  {[]Match{m("Login", 0, "user", "a"), m("Export", 21, "exporter", "a")}, 0},
	} {
		got := r.Evaluate(c.ms, time.Time{}, time.Time{})
		if len(got) != c.want {
			t.Errorf("%s: want %d, got %v", name, c.want, got)
		}
		if len(got) == 1 && (!reflect.DeepEqual(got[0].AlertIDs(), []string{"Login-0", "Export-5"}) || got[0].Dedup != "a") {
			t.Errorf("%s: %+v", name, got[0])
		}
	}
}

const groupSpec = `AnalysisType: correlation_rule
RuleID: Test.Group
Enabled: true
Severity: High
Detection:
  - Group:
      - ID: Failures
        RuleID: Login.Failed
        MinMatchCount: 5
      - ID: Success
        RuleID: Login.Success
    MatchCriteria:
      user:
        - GroupID: Failures
          Match: p_any_emails
        - GroupID: Success
          Match: p_any_emails
    Schedule:
      RateMinutes: 20
      TimeoutMinutes: 5
    LookbackWindowMinutes: 30
`

func TestGroup(t *testing.T) {
	r := compile(t, groupSpec)
	m := func(rule string, min float64, emails ...any) Match {
		return Match{RuleID: rule, Time: t0.Add(time.Duration(min * float64(time.Minute))),
			Fields: map[string]any{"p_any_emails": emails}, RowID: fmt.Sprintf("%s@%v", rule, min)}
	}
	fails := func(email string, mins ...float64) []Match {
		var out []Match
		for _, x := range mins {
			out = append(out, m("Login.Failed", x, email))
		}
		return out
	}
	for name, c := range map[string]struct {
		ms   []Match
		want int
	}{
		"five failures then success": {append(fails("u@x.com", 0, 2, 4, 6, 8), m("Login.Success", 10, "u@x.com")), 1},
		// A group has no order.
		"success first":            {append(fails("u@x.com", 2, 4, 6, 8, 10), m("Login.Success", 0, "u@x.com")), 1},
		"different user":           {append(fails("u@x.com", 0, 2, 4, 6, 8), m("Login.Success", 10, "o@x.com")), 0},
		"only three failures":      {append(fails("u@x.com", 0, 2, 4), m("Login.Success", 6, "u@x.com")), 0},
		"success after the window": {append(fails("u@x.com", 0, 2, 4, 6, 8), m("Login.Success", 45, "u@x.com")), 0},
		"list values intersect":    {append(fails("u@x.com", 0, 2, 4, 6, 8), m("Login.Success", 10, "z@x.com", "u@x.com")), 1},
		"one user of two triggers": {append(append(fails("u@x.com", 0, 2, 4, 6, 8), fails("o@x.com", 1, 3)...), m("Login.Success", 10, "u@x.com"), m("Login.Success", 11, "o@x.com")), 1},
	} {
		got := r.Evaluate(c.ms, time.Time{}, time.Time{})
		if len(got) != c.want {
			t.Errorf("%s: want %d, got %v", name, c.want, rows(got))
		}
		if len(got) == 1 && (got[0].Dedup != "u@x.com" || len(got[0].Steps[0].Matches) != 5 || len(got[0].Steps[1].Matches) != 1) {
			t.Errorf("%s: %+v", name, got[0])
		}
	}
	// Seven failures and a success are one result with all of them.
	got := r.Evaluate(append(fails("u@x.com", 0, 1, 2, 3, 4, 5, 6), m("Login.Success", 7, "u@x.com")), time.Time{}, time.Time{})
	if len(got) != 1 || len(got[0].Contributing) != 8 {
		t.Errorf("seven failures: %v", rows(got))
	}
	// ReverseChronological with a cap takes the newest failures.
	capped := compile(t, strings.NewReplacer("MinMatchCount: 5\n", "MinMatchCount: 5\n        MaxMatchCount: 5\n",
		"LookbackWindowMinutes: 30\n", "LookbackWindowMinutes: 30\n    EventEvaluationOrder: ReverseChronological\n").Replace(groupSpec))
	got = capped.Evaluate(append(fails("u@x.com", 0, 1, 2, 3, 4, 5, 6), m("Login.Success", 7, "u@x.com")), time.Time{}, time.Time{})
	if len(got) != 1 || !reflect.DeepEqual(got[0].RowIDs(), []string{"Login.Failed@2", "Login.Failed@3", "Login.Failed@4", "Login.Failed@5", "Login.Failed@6", "Login.Success@7"}) {
		t.Errorf("reverse capped: %v", rows(got))
	}
}

const groupAbsenceSpec = `AnalysisType: correlation_rule
RuleID: Test.Group.Absence
Enabled: true
Severity: Critical
Detection:
  - Group:
      - ID: Change
        RuleID: Security.Change
      - ID: Archived
        RuleID: Repo.Archived
        Absence: true
    MatchCriteria:
      repo:
        - GroupID: Change
          Match: p_alert_context.repo
        - GroupID: Archived
          Match: p_alert_context.repo
    LookbackWindowMinutes: 90
    Schedule:
      RateMinutes: 60
      TimeoutMinutes: 10
`

func TestGroupAbsence(t *testing.T) {
	r := compile(t, groupAbsenceSpec)
	m := func(rule string, min float64, repo string) Match {
		return Match{RuleID: rule, Time: t0.Add(time.Duration(min * float64(time.Minute))),
			Fields: map[string]any{"p_alert_context": map[string]any{"repo": repo}}}
	}
	for name, c := range map[string]struct {
		ms   []Match
		want int
	}{
		"change alone":            {[]Match{m("Security.Change", 0, "org/a")}, 1},
		"change then archived":    {[]Match{m("Security.Change", 0, "org/a"), m("Repo.Archived", 1, "org/a")}, 0},
		"archived then change":    {[]Match{m("Repo.Archived", 0, "org/a"), m("Security.Change", 1, "org/a")}, 0},
		"other repo archived":     {[]Match{m("Security.Change", 0, "org/a"), m("Repo.Archived", 1, "org/b")}, 1},
		"archived long after":     {[]Match{m("Security.Change", 0, "org/a"), m("Repo.Archived", 91, "org/a")}, 1},
		"archived long before":    {[]Match{m("Repo.Archived", -91, "org/a"), m("Security.Change", 0, "org/a")}, 1},
		"two repos, one archived": {[]Match{m("Security.Change", 0, "org/a"), m("Security.Change", 0, "org/b"), m("Repo.Archived", 5, "org/b")}, 1},
	} {
		if got := r.Evaluate(c.ms, time.Time{}, time.Time{}); len(got) != c.want {
			t.Errorf("%s: want %d, got %d", name, c.want, len(got))
		}
	}
	// Undecided until the window closes 90 minutes after the change.
	change := []Match{m("Security.Change", 0, "org/a")}
	if got := r.Evaluate(change, t0.Add(-3*time.Hour), t0.Add(89*time.Minute)); len(got) != 0 {
		t.Errorf("open window: %d", len(got))
	}
	if got := r.Evaluate(change, t0.Add(-3*time.Hour), t0.Add(90*time.Minute)); len(got) != 1 || !got[0].DecidedAt.Equal(t0.Add(90*time.Minute)) {
		t.Errorf("closed window: %+v", got)
	}
	if r.Horizon() != 180*time.Minute {
		t.Errorf("horizon %v", r.Horizon())
	}
	from, to := r.Window(t0)
	if !to.Equal(t0) || !from.Equal(t0.Add(-180*time.Minute)) {
		t.Errorf("window %v %v", from, to)
	}
}

func TestTestMatches(t *testing.T) {
	r := compile(t, groupAbsenceSpec)
	ms, err := r.TestMatches([]any{
		map[string]any{"ID": "Change", "Matches": map[string]any{
			"p_alert_context.repo": map[string]any{"org/a": []any{0, 5}, "org/b": []any{0}},
			"actor":                map[string]any{"octocat": []any{"2024-01-01T00:05:00Z"}},
		}},
		map[string]any{"ID": "Archived", "Matches": map[string]any{"p_alert_context.repo": map[string]any{"org/b": []any{2.5}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		step, row string
		min       float64
		fields    map[string]any
	}
	var got []row
	for _, m := range ms {
		got = append(got, row{m.Step, m.RowID, m.Time.Sub(testEpoch).Minutes(), m.Fields})
	}
	want := []row{
		// The actor entry at minute 5 merges into the org/a event at 5.
		{"Change", "Change#0.1", 0, map[string]any{"p_alert_context.repo": "org/a"}},
		{"Change", "Change#0.2", 0, map[string]any{"p_alert_context.repo": "org/b"}},
		{"Change", "Change#0.3", 5, map[string]any{"p_alert_context.repo": "org/a", "actor": "octocat"}},
		{"Archived", "Archived#1.1", 2.5, map[string]any{"p_alert_context.repo": "org/b"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("matches:\n got %+v\nwant %+v", got, want)
	}
	results, err := r.EvaluateTest([]any{
		map[string]any{"ID": "Change", "Matches": map[string]any{"p_alert_context.repo": map[string]any{"org/a": []any{0}}}},
	})
	if err != nil || len(results) != 1 || results[0].Dedup != "org/a" {
		t.Errorf("EvaluateTest: %v %+v", err, results)
	}
	for outputs, want := range map[string]any{
		`RuleOutputs[0].ID: "Nope" names no step of Test.Group.Absence (steps: "Change", "Archived")`: []any{map[string]any{"ID": "Nope"}},
		`RuleOutputs: expected a list, got mapping`:                                                   map[string]any{},
		`RuleOutputs[0].Matches.repo.org/a[0]: time "soon" is neither a minute offset nor a timestamp (RFC 3339)`: []any{map[string]any{"ID": "Change",
			"Matches": map[string]any{"repo": map[string]any{"org/a": []any{"soon"}}}}},
		`RuleOutputs[0].Matches.repo: expected a mapping of value to times, got list`: []any{map[string]any{"ID": "Change",
			"Matches": map[string]any{"repo": []any{"x"}}}},
	} {
		if _, err := r.TestMatches(want); err == nil || err.Error() != outputs {
			t.Errorf("want error %q, got %v", outputs, err)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	base := load(t, fmt.Sprintf(fatigueSpec, "", "", 15, ""))
	f := func(want string, mutate func(item map[string]any)) {
		t.Helper()
		d := *base
		item := clone(base.Match).([]any)[0].(map[string]any)
		mutate(item)
		d.Match = []any{item}
		_, err := Compile(&d)
		if err == nil || err.Error() != want {
			t.Errorf("want %q, got %v", want, err)
		}
	}
	steps := func(item map[string]any) []any { return item["Sequence"].([]any) }
	step := func(item map[string]any, i int) map[string]any { return steps(item)[i].(map[string]any) }
	trans := func(item map[string]any) map[string]any { return item["Transitions"].([]any)[0].(map[string]any) }
	f("Detection[0].Sequence[1]: missing RuleID", func(it map[string]any) { delete(step(it, 1), "RuleID") })
	f("Detection[0].Sequence[1]: missing ID", func(it map[string]any) { delete(step(it, 1), "ID") })
	f(`Detection[0].Sequence[1]: duplicate step ID "Denials"`, func(it map[string]any) { step(it, 1)["ID"] = "Denials" })
	f("Detection[0].Sequence[0]: MaxMatchCount 2 is less than MinMatchCount 3", func(it map[string]any) { step(it, 0)["MaxMatchCount"] = 2 })
	f("Detection[0].Sequence[0].MinMatchCount: must be at least 1, got 0", func(it map[string]any) { step(it, 0)["MinMatchCount"] = 0 })
	f("Detection[0].Sequence[0].MinMatchCount: expected an integer, got string \"3\"", func(it map[string]any) { step(it, 0)["MinMatchCount"] = "3" })
	f("Detection[0].Sequence[1].Absence: expected true or false, got string \"yes\"", func(it map[string]any) { step(it, 1)["Absence"] = "yes" })
	f("Detection[0].Sequence: every step is an Absence; at least one step must be present", func(it map[string]any) {
		step(it, 0)["Absence"], step(it, 1)["Absence"] = true, true
	})
	f("Detection[0].Sequence[0]: only one of RuleID and SignalMatch may be set", func(it map[string]any) { step(it, 0)["SignalMatch"] = "x" })
	f(`Detection[0].Transitions[0].To: "Nope" names no Sequence ID`, func(it map[string]any) { trans(it)["To"] = "Nope" })
	f(`Detection[0].Transitions[0]: From "Success" must come before To "Denials" in the Sequence`, func(it map[string]any) {
		trans(it)["From"], trans(it)["To"] = "Success", "Denials"
	})
	f("Detection[0].Transitions[0].Match[0]: sets both On and From/To", func(it map[string]any) {
		trans(it)["Match"].([]any)[0].(map[string]any)["From"] = "x"
	})
	f("Detection[0].Transitions[0].Match[0]: needs On, or From and To", func(it map[string]any) {
		trans(it)["Match"] = []any{map[string]any{"From": "x"}}
	})
	f("Detection[0].Transitions[0].WithinTimeFrameMinutes: must be at least 1, got -5", func(it map[string]any) { trans(it)["WithinTimeFrameMinutes"] = -5 })
	f("Detection[0]: only one of Sequence and Group may be set", func(it map[string]any) { it["Group"] = []any{} })
	f("Detection[0]: needs a Sequence or a Group", func(it map[string]any) { delete(it, "Sequence") })
	f("Detection[0].Sequence: expected a non-empty list of steps", func(it map[string]any) { it["Sequence"] = []any{} })
	f("Detection[0]: MatchCriteria is for Group; a Sequence uses Transitions", func(it map[string]any) { it["MatchCriteria"] = map[string]any{} })
	f("Detection[0].MatchCriteria.k[0].GroupID: \"Nope\" names no Group ID", func(it map[string]any) {
		it["Group"] = it["Sequence"]
		delete(it, "Sequence")
		delete(it, "Transitions")
		it["MatchCriteria"] = map[string]any{"k": []any{map[string]any{"GroupID": "Nope", "Match": "f"}}}
	})

	g := load(t, groupSpec)
	if _, err := Compile(g); err != nil {
		t.Fatal(err)
	}
	d := *g
	d.Kind = analysis.KindRule
	if _, err := Compile(&d); err == nil {
		t.Error("a rule is not a correlation rule")
	}
	d = *g
	d.EventEvaluationOrder = "Sideways"
	if _, err := Compile(&d); err == nil || !strings.Contains(err.Error(), "Sideways") {
		t.Errorf("order: %v", err)
	}
	d = *g
	d.Match = nil
	if _, err := Compile(&d); err == nil || !strings.HasPrefix(err.Error(), "Detection:") {
		t.Errorf("no detection: %v", err)
	}
}

func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = clone(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = clone(e)
		}
		return out
	}
	return v
}

// A sequence over many unrelated matches stays fast: the join index keeps
// each step's candidates to the joining user.
func TestSequenceScales(t *testing.T) {
	r := fatigue(t, "", "", 15, "")
	var ms []Match
	for u := range 2000 {
		user := fmt.Sprintf("user%d", u)
		base := float64(u%20) * 0.5
		ms = append(ms, deny(base, user), deny(base+0.1, user))
		if u%100 == 0 {
			ms = append(ms, deny(base+0.2, user))
		}
		ms = append(ms, success(base+1, user))
	}
	start := time.Now()
	out := r.Run(ms, time.Time{}, time.Time{})
	if len(out.Results) != 20 || out.Truncated {
		t.Errorf("want 20 results, got %d (truncated %v)", len(out.Results), out.Truncated)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}
