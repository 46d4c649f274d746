package testrun

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"github.com/prowl-siem/prowl/internal/termsafe"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// TextOptions tune the human-readable report.
type TextOptions struct {
	ShowFailuresOnly bool
	// Verbose prints tracebacks in full and every output, even for passes.
	Verbose bool
}

// maxContextShown is how much of an alert context non-verbose text shows.
const maxContextShown = 240

// outputOrder is the order alert outputs are printed in (Panther's order).
var outputOrder = []string{"title", "dedup", "alert_context", "description", "reference", "severity", "runbook", "destinations", "unique"}

// WriteText prints the report for people: per detection its tests with
// PASS/FAIL, the alert outputs of matches, printed output and errors.
func WriteText(w io.Writer, r *Report, opts TextOptions) error {
	p := &printer{w: w}
	for _, prob := range r.LoadProblems {
		p.line("[INVALID] %s", prob)
	}
	if len(r.LoadProblems) > 0 {
		p.line("")
	}
	for _, d := range r.Detections {
		failed := len(d.Problems) > 0
		for _, t := range d.Tests {
			failed = failed || !t.Passed
		}
		if opts.ShowFailuresOnly && !failed {
			continue
		}
		if len(d.Tests) == 0 && len(d.Problems) == 0 && d.SkipReason == "" {
			continue
		}
		p.line("%s  (%s)", d.ID, d.File)
		for _, prob := range d.Problems {
			p.line("    [INVALID] %s", prob)
		}
		if d.SkipReason != "" {
			p.line("    [SKIP] %s", d.SkipReason)
		}
		for _, t := range d.Tests {
			if opts.ShowFailuresOnly && t.Passed {
				continue
			}
			writeTest(p, t, opts)
		}
		p.line("")
	}
	p.line("Test Summary")
	p.line("    Passed:  %d", r.Passed)
	p.line("    Failed:  %d", r.Failed)
	p.line("    Skipped: %d", r.Skipped)
	p.line("    Invalid: %d", r.Invalid)
	p.line("%d passed, %d failed", r.Passed, r.Failed)
	return p.err
}

func writeTest(p *printer, t *TestReport, opts TextOptions) {
	status := "PASS"
	if !t.Passed {
		status = "FAIL"
	}
	p.line("    [%s] %s", status, t.Name)
	switch {
	case t.Error != nil:
		p.line("        [error] %s: %s", t.Error.Type, t.Error.Message)
		if t.Error.Traceback != "" {
			p.block("            ", t.Error.Traceback)
		}
	case t.Result != nil && *t.Result != t.ExpectedResult:
		why := ""
		if t.FilteredOut {
			why = " (InlineFilters rejected the event)"
		}
		p.line("        [rule] returned %t, expected %t%s", *t.Result, t.ExpectedResult, why)
	}
	if t.Outputs != nil {
		values := outputValues(t)
		for _, name := range outputOrder {
			if e := t.FunctionErrors[name]; e != nil {
				p.line("        [FAIL] [%s] %s: %s", name, e.Type, e.Message)
				if opts.Verbose && e.Traceback != "" {
					p.block("            ", e.Traceback)
				}
				continue
			}
			v, ok := values[name]
			if !ok {
				continue
			}
			if !slices.Contains(t.Defined, name) && !opts.Verbose && name != "title" && name != "dedup" && name != "severity" {
				continue
			}
			if name == "alert_context" && !opts.Verbose && len(v) > maxContextShown {
				v = v[:maxContextShown] + "... (-v shows all)"
			}
			p.line("        [%s] %s", name, v)
		}
	}
	for _, m := range t.Mismatches {
		p.line("        [mismatch] %s", m.Field)
		p.line("            expected: %s", quoteIfNeeded(m.Expected))
		p.line("            actual:   %s", quoteIfNeeded(m.Actual))
	}
	if t.Stdout != "" {
		p.line("        [output]")
		p.block("            ", t.Stdout)
	}
}

func outputValues(t *TestReport) map[string]string {
	o := t.Outputs
	out := map[string]string{"title": o.Title, "dedup": o.Dedup, "severity": o.Severity}
	if len(o.AlertContext) > 0 && string(o.AlertContext) != "{}" {
		out["alert_context"] = string(o.AlertContext)
	}
	for name, v := range map[string]string{"description": o.Description, "reference": o.Reference, "runbook": o.Runbook} {
		if v != "" {
			out[name] = v
		}
	}
	if o.Destinations != nil {
		out["destinations"] = strings.Join(o.Destinations, ", ")
	}
	if o.Unique != nil {
		out["unique"] = *o.Unique
	}
	return out
}

// quoteIfNeeded shows strings with surrounding or invisible characters quoted.
func quoteIfNeeded(s string) string {
	if strings.TrimSpace(s) != s || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintln(p.w, termsafe.Escape(fmt.Sprintf(format, args...)))
}

func (p *printer) block(indent, text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		p.line("%s%s", indent, l)
	}
}

// WriteJSON writes the report as one JSON document.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     float64      `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	File     string      `xml:"file,attr,omitempty"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML: a suite per detection.
func WriteJUnit(w io.Writer, r *Report) error {
	out := junitSuites{Time: r.Duration.Seconds()}
	if len(r.LoadProblems) > 0 {
		s := junitSuite{Name: "specs"}
		for _, prob := range r.LoadProblems {
			s.Cases = append(s.Cases, junitCase{Name: "load", Classname: "specs", Error: &junitMessage{Message: prob}})
		}
		s.Tests, s.Errors = len(s.Cases), len(s.Cases)
		out.Tests += s.Tests
		out.Errors += s.Errors
		out.Suites = append(out.Suites, s)
	}
	for _, d := range r.Detections {
		s := junitSuite{Name: d.ID, File: d.File}
		for _, prob := range d.Problems {
			s.Cases = append(s.Cases, junitCase{Name: "load", Classname: d.ID, Error: &junitMessage{Message: prob}})
			s.Errors++
		}
		if d.SkipReason != "" {
			s.Cases = append(s.Cases, junitCase{Name: "tests", Classname: d.ID, Skipped: &junitMessage{Message: d.SkipReason}})
			s.Skipped++
		}
		for _, t := range d.Tests {
			c := junitCase{Name: t.Name, Classname: d.ID, SystemOut: t.Stdout}
			if !t.Passed {
				var body strings.Builder
				writeTest(&printer{w: &body}, t, TextOptions{Verbose: true})
				msg := "test failed"
				if t.Error != nil {
					msg = t.Error.Type + ": " + t.Error.Message
				} else if len(t.Mismatches) > 0 {
					msg = "unexpected " + t.Mismatches[0].Field
				}
				c.Failure = &junitMessage{Message: msg, Body: body.String()}
				s.Failures++
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
