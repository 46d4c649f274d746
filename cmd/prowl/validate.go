package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/detect"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

func newValidateCmd() *cobra.Command {
	f := &testFlags{}
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
			if len(set.Program.Detections) > 0 {
				pool, err := pyrt.New(pyrt.Config{Python: f.python, Workers: 1, RuleTimeout: f.ruleTimeout}, set.Program)
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
			}
			out := cmd.OutOrStdout()
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
	f.addLoad(cmd)
	f.addRun(cmd)
	return cmd
}
