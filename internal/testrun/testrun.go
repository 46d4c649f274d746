// Package testrun runs the unit tests of detections, Python and simple alike,
// with the pass/fail semantics of Panther's tooling plus prowl's expected
// output assertions, and reports the result as text, JSON or JUnit XML.
package testrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/correlate"
	"github.com/prowl-siem/prowl/internal/detect"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

// Options select and tune a test run.
type Options struct {
	Filters           []Filter
	MinimumTests      int
	TestNames         []string // run only tests with these names
	SkipDisabledTests bool
	// AvailableDestinations lists destination names destinations() may
	// return; nil means any name is accepted.
	AvailableDestinations []string
	Python                pyrt.Config
}

// Report is the outcome of a run.
type Report struct {
	Detections []*DetectionReport `json:"detections"`
	Passed     int                `json:"passed"`
	Failed     int                `json:"failed"`
	Skipped    int                `json:"skipped"`
	// Invalid counts detections that could not be tested (load or compile
	// errors, too few tests).
	Invalid int `json:"invalid"`
	// LoadProblems are specs that could not be loaded.
	LoadProblems []string      `json:"load_problems,omitempty"`
	Duration     time.Duration `json:"duration_ns"`
	Python       string        `json:"python_version,omitempty"`
}

// OK reports whether nothing failed and nothing was invalid.
func (r *Report) OK() bool { return r.Failed == 0 && r.Invalid == 0 }

// DetectionReport is the outcome for one detection.
type DetectionReport struct {
	ID         string        `json:"id"`
	Kind       string        `json:"kind"`
	File       string        `json:"file"`
	Tests      []*TestReport `json:"tests"`
	Problems   []string      `json:"problems,omitempty"`
	SkipReason string        `json:"skip_reason,omitempty"`
}

// TestReport is the outcome of one test.
type TestReport struct {
	Name           string `json:"name"`
	Line           int    `json:"line,omitempty"`
	Passed         bool   `json:"passed"`
	ExpectedResult bool   `json:"expected_result"`
	// Result is what rule() (or policy()) returned; nil on error.
	Result         *bool                    `json:"result"`
	Error          *pyrt.PyError            `json:"error,omitempty"`
	Outputs        *pyrt.Outputs            `json:"outputs,omitempty"`
	FunctionErrors map[string]*pyrt.PyError `json:"function_errors,omitempty"`
	// Defined lists the alert functions the detection defines.
	Defined    []string   `json:"defined,omitempty"`
	Stdout     string     `json:"stdout,omitempty"`
	Mismatches []Mismatch `json:"mismatches,omitempty"`
	// FilteredOut is set when InlineFilters rejected the event.
	FilteredOut bool `json:"filtered_out,omitempty"`
}

// Mismatch is an asserted output (ExpectedTitle, ...) that differed.
type Mismatch struct {
	Field    string `json:"field"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
}

// Run tests the detections in repo that the options select.
func Run(ctx context.Context, repo *analysis.Repo, opts Options) (*Report, error) {
	start := time.Now()
	report := &Report{}
	var selected []*analysis.Detection
	for _, d := range repo.Detections {
		if MatchFilters(d, opts.Filters) {
			selected = append(selected, d)
		}
	}
	sort.Slice(selected, func(i, j int) bool { return selected[i].ID < selected[j].ID })

	set, problems := detect.Compile(repo, selected)
	byID := map[string]*DetectionReport{}
	for _, d := range selected {
		dr := &DetectionReport{ID: d.ID, Kind: string(d.Kind), File: d.Source.File}
		report.Detections = append(report.Detections, dr)
		byID[d.ID] = dr
	}
	for _, p := range problems {
		byID[p.ID].Problems = append(byID[p.ID].Problems, p.Error())
	}

	var pool *pyrt.Pool
	if len(set.Program.Detections) > 0 {
		cfg := opts.Python
		cfg.AvailableDestinations = opts.AvailableDestinations
		var err error
		if pool, err = pyrt.New(cfg, set.Program); err != nil {
			return nil, err
		}
		defer pool.Close()
		report.Python = pool.PythonVersion
		for id, e := range pool.LoadErrors {
			if dr := byID[id]; dr != nil {
				dr.Problems = append(dr.Problems, fmt.Sprintf("%s: cannot import %s: %s", dr.File, id, e.Message))
			} else if strings.HasPrefix(id, "datamodel:") {
				return nil, fmt.Errorf("data model %s: %s", strings.TrimPrefix(id, "datamodel:"), e.Message)
			}
		}
	}

	type pending struct {
		test  *TestReport
		det   *detect.Detection
		spec  *analysis.Test
		event map[string]any
	}
	var items []pyrt.Item
	var pyTests []pending
	for _, c := range set.Detections {
		d := c.Spec
		dr := byID[d.ID]
		if len(dr.Problems) > 0 {
			continue
		}
		if opts.SkipDisabledTests && !d.Enabled {
			dr.SkipReason = "disabled"
			continue
		}
		if msg := checkMinimum(d, opts.MinimumTests); msg != "" {
			dr.Problems = append(dr.Problems, msg)
			continue
		}
		if d.Kind == analysis.KindCorrelationRule {
			runCorrelationTests(d, dr, opts.TestNames)
			continue
		}
		for i := range d.Tests {
			t := &d.Tests[i]
			if len(opts.TestNames) > 0 && !slices.Contains(opts.TestNames, t.Name) {
				continue
			}
			tr := &TestReport{Name: t.Name, Line: t.Source.Line, ExpectedResult: t.ExpectedResult}
			dr.Tests = append(dr.Tests, tr)
			event, err := decodeEvent(t.Log)
			if err != nil {
				tr.Error = &pyrt.PyError{Type: "InvalidTestEvent", Message: err.Error()}
				continue
			}
			if c.Filter != nil && !c.Filter.Match(event) {
				tr.FilteredOut = true
				f := false
				tr.Result = &f
				continue
			}
			if c.Simple != nil {
				runSimple(c, event, tr)
				continue
			}
			item := pyrt.Item{Event: json.RawMessage(t.Log), LogType: t.LogType, Rules: []int{c.Python}}
			if d.Kind == analysis.KindScheduledRule {
				item.LogType = "-" // data models are not applied to scheduled rules
			}
			for _, m := range t.Mocks {
				item.Mocks = append(item.Mocks, pyrt.Mock{Name: m.ObjectName, Value: json.RawMessage(m.ReturnValue)})
			}
			items = append(items, item)
			pyTests = append(pyTests, pending{test: tr, det: c, spec: t})
		}
	}
	if len(items) > 0 {
		results, err := pool.Run(ctx, pyrt.ModeTest, items)
		if err != nil {
			return nil, err
		}
		for i, p := range pyTests {
			applyPython(p.test, results[i])
		}
	}
	for _, c := range set.Detections {
		dr := byID[c.Spec.ID]
		for i := range c.Spec.Tests {
			for _, tr := range dr.Tests {
				if tr.Name == c.Spec.Tests[i].Name {
					judge(c.Spec, &c.Spec.Tests[i], tr)
				}
			}
		}
	}
	for _, dr := range report.Detections {
		switch {
		case len(dr.Problems) > 0:
			report.Invalid++
		case dr.SkipReason != "":
			report.Skipped++
		}
		for _, t := range dr.Tests {
			if t.Passed {
				report.Passed++
			} else {
				report.Failed++
			}
		}
	}
	report.Duration = time.Since(start)
	return report, nil
}

func decodeEvent(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var event map[string]any
	if err := dec.Decode(&event); err != nil {
		return nil, fmt.Errorf("test event is not a JSON object: %w", err)
	}
	return event, nil
}

func checkMinimum(d *analysis.Detection, minimum int) string {
	if minimum <= 0 {
		return ""
	}
	if len(d.Tests) < minimum {
		return fmt.Sprintf("%s: %s has %d tests, the minimum is %d", d.Source.File, d.ID, len(d.Tests), minimum)
	}
	if minimum >= 2 {
		var pos, neg bool
		for _, t := range d.Tests {
			pos = pos || t.ExpectedResult
			neg = neg || !t.ExpectedResult
		}
		if !pos || !neg {
			return fmt.Sprintf("%s: %s needs at least one test expecting true and one expecting false", d.Source.File, d.ID)
		}
	}
	return ""
}

func runSimple(c *detect.Detection, event map[string]any, tr *TestReport) {
	matched := c.Simple.Match(event)
	tr.Result = &matched
	if !matched {
		return
	}
	out := c.Alert.Evaluate(event)
	ctx, err := json.Marshal(out.Context)
	if err != nil {
		ctx = []byte(`{"_error":"alert context is not serialisable"}`)
	}
	d := c.Spec
	tr.Outputs = &pyrt.Outputs{Title: out.Title, Dedup: out.Dedup, Severity: out.Severity, AlertContext: ctx,
		Description: d.Description, Reference: d.Reference, Runbook: d.Runbook}
	for _, key := range []struct {
		set  bool
		name string
	}{{d.AlertTitle != "", "title"}, {d.GroupBy != nil, "dedup"}, {d.DynamicSeverities != nil, "severity"}, {d.AlertContext != nil, "alert_context"}} {
		if key.set {
			tr.Defined = append(tr.Defined, key.name)
		}
	}
}

// runCorrelationTests runs a correlation rule's tests locally (Panther runs
// them on its servers): each test's RuleOutputs become rule matches, and the
// rule's result is whether they correlate at least once.
func runCorrelationTests(d *analysis.Detection, dr *DetectionReport, names []string) {
	rule, err := correlate.Compile(d)
	if err != nil {
		dr.Problems = append(dr.Problems, fmt.Sprintf("%s: %v", d.Source.File, err))
		return
	}
	for i := range d.Tests {
		t := &d.Tests[i]
		if len(names) > 0 && !slices.Contains(names, t.Name) {
			continue
		}
		tr := &TestReport{Name: t.Name, Line: t.Source.Line, ExpectedResult: t.ExpectedResult}
		dr.Tests = append(dr.Tests, tr)
		results, err := rule.EvaluateTest(t.RuleOutputs)
		if err != nil {
			tr.Error = &pyrt.PyError{Type: "InvalidRuleOutputs", Message: err.Error()}
			continue
		}
		matched := len(results) > 0
		tr.Result = &matched
		if !matched {
			continue
		}
		first := results[0]
		steps := map[string]int{}
		for _, s := range first.Steps {
			steps[s.ID] = len(s.Matches)
		}
		ctx, _ := json.Marshal(map[string]any{
			"correlations": len(results), "key": first.Key, "steps": steps,
			"start": first.Start.UTC().Format(time.RFC3339Nano), "end": first.End.UTC().Format(time.RFC3339Nano),
		})
		tr.Outputs = &pyrt.Outputs{Title: first.Title, Dedup: first.Dedup, Severity: first.Severity, AlertContext: ctx,
			Description: d.Description, Reference: d.Reference, Runbook: d.Runbook}
	}
}

func applyPython(tr *TestReport, results []pyrt.Result) {
	if len(results) == 0 {
		tr.Error = &pyrt.PyError{Type: "NoResult", Message: "the detection produced no result (it failed to load)"}
		return
	}
	r := results[0]
	tr.Result = r.RuleValue
	tr.Error = r.Error
	tr.Outputs = r.Outputs
	tr.FunctionErrors = r.FunctionErrors
	tr.Defined = r.Defined
	tr.Stdout = r.Stdout
}

// judge decides pass/fail: an expected alert needs the detection to alert
// with no alert-function error; otherwise the rule's value must equal
// ExpectedResult. Asserted outputs must match exactly.
func judge(d *analysis.Detection, t *analysis.Test, tr *TestReport) {
	if tr.Error != nil || tr.Result == nil {
		tr.Passed = false
		return
	}
	alertValue := d.Kind != analysis.KindPolicy
	expectAlert := t.ExpectedResult == alertValue
	tr.Passed = *tr.Result == t.ExpectedResult
	if expectAlert && tr.Passed && len(tr.FunctionErrors) > 0 {
		tr.Passed = false
	}
	if !expectAlert || tr.Outputs == nil {
		return
	}
	check := func(field string, want *string, got string) {
		if want != nil && *want != got {
			tr.Mismatches = append(tr.Mismatches, Mismatch{Field: field, Expected: *want, Actual: got})
		}
	}
	check("title", t.ExpectedTitle, tr.Outputs.Title)
	check("dedup", t.ExpectedDedup, tr.Outputs.Dedup)
	if t.ExpectedSeverity != nil {
		want := strings.ToUpper(*t.ExpectedSeverity)
		check("severity", &want, tr.Outputs.Severity)
	}
	if t.ExpectedAlertContext != nil && !sameJSON(t.ExpectedAlertContext, tr.Outputs.AlertContext) {
		tr.Mismatches = append(tr.Mismatches, Mismatch{Field: "alert_context",
			Expected: indentJSON(t.ExpectedAlertContext), Actual: indentJSON(tr.Outputs.AlertContext)})
	}
	if len(tr.Mismatches) > 0 {
		tr.Passed = false
	}
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xa, yb)
}

func indentJSON(raw []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

// AddProblems records spec problems found while loading (each an invalid
// spec that was not tested).
func (r *Report) AddProblems(problems analysis.Problems) {
	for _, p := range problems {
		r.LoadProblems = append(r.LoadProblems, p.Error())
	}
	r.Invalid += len(problems)
}
