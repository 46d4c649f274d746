// Package detect compiles loaded detections into their runnable form: Go
// matchers for InlineFilters and simple detections, and the Python program
// the worker pool loads. The test runner and the live engine share it.
package detect

import (
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/match"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

// Detection is one compiled detection.
type Detection struct {
	Spec *analysis.Detection
	// Filter holds the InlineFilters; nil when there are none.
	Filter *match.Matcher
	// Simple and Alert evaluate a simple detection; nil for Python rules.
	Simple *match.Matcher
	Alert  *match.Alert
	// Python is the index in Set.Program.Detections, or -1.
	Python int
}

// Set is a compiled group of detections.
type Set struct {
	Detections []*Detection
	Program    *pyrt.Program
}

// Problem is a detection that does not compile.
type Problem struct {
	ID     string
	Source analysis.Source
	Err    error
}

func (p Problem) Error() string {
	return analysis.Problem{Source: p.Source, Message: p.ID + ": " + p.Err.Error()}.Error()
}

// Compile compiles dets (globals and data models come from repo). A
// detection that does not compile is left out and reported as a problem.
func Compile(repo *analysis.Repo, dets []*analysis.Detection) (*Set, []Problem) {
	set := &Set{Program: &pyrt.Program{}}
	var problems []Problem
	for _, g := range repo.Globals {
		set.Program.Globals = append(set.Program.Globals, pyrt.Module{Name: g.ID, File: g.PythonFile})
	}
	for _, m := range repo.DataModels {
		if !m.Enabled {
			continue
		}
		dm := pyrt.DataModel{ID: m.ID, LogTypes: m.LogTypes, File: m.PythonFile}
		for _, mp := range m.Mappings {
			dm.Mappings = append(dm.Mappings, pyrt.Mapping{Name: mp.Name, Path: mp.Path, Method: mp.Method})
		}
		set.Program.DataModels = append(set.Program.DataModels, dm)
	}
	for _, d := range dets {
		c, err := compileOne(d)
		if err != nil {
			problems = append(problems, Problem{ID: d.ID, Source: d.Source, Err: err})
			continue
		}
		c.Python = -1
		if d.PythonFile != "" {
			c.Python = len(set.Program.Detections)
			set.Program.Detections = append(set.Program.Detections, pyrt.Detection{
				ID: d.ID, Kind: string(d.Kind), File: d.PythonFile, Severity: d.Severity,
				DisplayName: d.DisplayName, Description: d.Description, Reference: d.Reference, Runbook: d.Runbook,
			})
		}
		set.Detections = append(set.Detections, c)
	}
	return set, problems
}

func compileOne(d *analysis.Detection) (*Detection, error) {
	c := &Detection{Spec: d}
	if d.InlineFilters != nil {
		m, err := match.CompileInlineFilters(d.InlineFilters)
		if err != nil {
			return nil, err
		}
		c.Filter = m
	}
	if d.IsSimple() && d.Match != nil {
		m, err := match.Compile(d.Match)
		if err != nil {
			return nil, err
		}
		c.Simple = m
		a, err := match.CompileAlert(match.AlertSpec{
			Title: d.AlertTitle, Context: d.AlertContext, GroupBy: d.GroupBy, DynamicSeverities: d.DynamicSeverities,
			Severity: d.Severity, RuleID: d.ID, DisplayName: d.DisplayName,
		})
		if err != nil {
			return nil, err
		}
		c.Alert = a
	}
	return c, nil
}
