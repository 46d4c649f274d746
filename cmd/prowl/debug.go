package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/testrun"
)

func newDebugCmd() *cobra.Command {
	f := &testFlags{}
	var path string
	cmd := &cobra.Command{
		Use:   "debug RULE_ID TEST_NAME",
		Short: "Run one test of one detection with every output and full tracebacks",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, _, err := loadRepo([]string{path}, f)
			if err != nil {
				return err
			}
			d := repo.Detection(args[0])
			if d == nil {
				return fmt.Errorf("no detection %q under %s", args[0], path)
			}
			found := false
			for _, t := range d.Tests {
				found = found || t.Name == args[1]
			}
			if !found {
				return fmt.Errorf("detection %s has no test named %q", args[0], args[1])
			}
			opts, err := f.options()
			if err != nil {
				return err
			}
			opts.TestNames = []string{args[1]}
			opts.Filters = []testrun.Filter{{Key: "RuleID", Values: []string{d.ID}}, {Key: "PolicyID", Values: []string{d.ID}}}
			if d.Raw["PolicyID"] != nil {
				opts.Filters = opts.Filters[1:]
			} else {
				opts.Filters = opts.Filters[:1]
			}
			report, err := testrun.Run(cmd.Context(), repo, opts)
			if err != nil {
				return err
			}
			if err := testrun.WriteText(cmd.OutOrStdout(), report, testrun.TextOptions{Verbose: true}); err != nil {
				return err
			}
			if !report.OK() {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "path", ".", "the detections directory")
	f.addLoad(cmd)
	f.addRun(cmd)
	return cmd
}
