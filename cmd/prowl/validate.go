package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/detect"
	"github.com/prowl-siem/prowl/internal/prefilter"
	"github.com/prowl-siem/prowl/internal/pyrt"
	"github.com/prowl-siem/prowl/internal/termsafe"
)

func newValidateCmd() *cobra.Command {
	f := &testFlags{}
	var showPrefilters bool
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check every spec, import every detection, run no tests",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			repo, problems, err := loadRepo(args, f)
			if err != nil {
				return err
			}
			set, compileProblems := detect.Compile(repo, repo.Detections)
			for _, p := range compileProblems {
				problems = append(problems, analysis.Problem{Source: p.Source, Message: p.ID + ": " + p.Err.Error()})
			}
			var prefilters map[int]json.RawMessage
			if len(set.Program.Detections) > 0 {
				pool, err := pyrt.New(pyrt.Config{Python: f.python, Workers: 1, RuleTimeout: f.ruleTimeout, Prefilters: showPrefilters}, set.Program)
				if err != nil {
					return err
				}
				defer pool.Close()
				for _, d := range repo.Detections {
					if e := pool.LoadErrors[d.ID]; e != nil {
						problems = append(problems, analysis.Problem{Source: analysis.Source{File: d.PythonFile, Line: e.Line},
							Message: fmt.Sprintf("%s: %s: %s", d.ID, e.Type, e.Message)})
					}
				}
				prefilters = pool.Prefilters()
			}
			out := cmd.OutOrStdout()
			if showPrefilters {
				writePrefilters(out, set, prefilters)
			}
			for _, p := range problems {
				fmt.Fprintln(out, p.Error())
			}
			fmt.Fprintf(out, "%d detections, %d globals, %d data models, %d packs, %d queries: %d problems\n",
				len(repo.Detections), len(repo.Globals), len(repo.DataModels), len(repo.Packs), len(repo.Queries), len(problems))
			if len(problems) > 0 {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&showPrefilters, "prefilters", false,
		"list the static prefilter of every Python rule: the condition Go checks before sending an event to Python")
	f.addLoad(cmd)
	f.addRun(cmd)
	return cmd
}

// writePrefilters lists each Python rule's prefilter and the field its
// rules are indexed by.
func writePrefilters(out io.Writer, set *detect.Set, raw map[int]json.RawMessage) {
	conds := map[int]prefilter.Cond{}
	for i, r := range raw {
		if c, err := prefilter.Parse(r); err == nil {
			conds[i] = c
		}
	}
	built := prefilter.Build(conds)
	type line struct{ id, text string }
	var lines []line
	rules, with := 0, 0
	for _, d := range set.Detections {
		if d.Python < 0 || d.Spec.Kind != analysis.KindRule {
			continue
		}
		rules++
		text := "(none: runs on every event of its log types)"
		if built.Has(d.Python) {
			with++
			text = conds[d.Python].String()
			if path, ok := built.Indexed(d.Python); ok {
				text += "  [indexed by " + strings.Join(path, ".") + "]"
			}
		}
		lines = append(lines, line{d.Spec.ID, termsafe.Escape(text)})
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].id < lines[j].id })
	fmt.Fprintf(out, "prefilters: %d of %d Python rules\n", with, rules)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, l := range lines {
		fmt.Fprintf(tw, "  %s\t%s\n", l.id, l.text)
	}
	tw.Flush()
}
