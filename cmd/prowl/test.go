package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/pyrt"
	"github.com/prowl-siem/prowl/internal/testrun"
)

// testFlags are shared by test, validate and debug.
type testFlags struct {
	filters               []string
	minimumTests          int
	testNames             []string
	skipDisabled          bool
	ignoreFiles           []string
	ignoreExtraKeys       bool
	availableDestinations []string
	showFailuresOnly      bool
	format                string
	output                string
	watch                 bool
	python                string
	workers               int
	ruleTimeout           time.Duration
	verbose               bool
}

func (f *testFlags) addLoad(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.ignoreFiles, "ignore-files", nil, "glob patterns of files to skip (repeatable)")
	cmd.Flags().BoolVar(&f.ignoreExtraKeys, "ignore-extra-keys", false, "accept unknown keys in specs")
}

func (f *testFlags) addRun(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.python, "python", "", "Python interpreter for detections (default /usr/bin/python3, else python3 on PATH)")
	cmd.Flags().IntVar(&f.workers, "workers", 0, "Python worker processes (default: one per CPU)")
	cmd.Flags().DurationVar(&f.ruleTimeout, "rule-timeout", 10*time.Second, "time limit of one detection function call")
	cmd.Flags().StringSliceVar(&f.availableDestinations, "available-destination", nil, "destination names destinations() may return (repeatable); unset accepts any")
}

func newTestCmd() *cobra.Command {
	f := &testFlags{}
	cmd := &cobra.Command{
		Use:   "test [PATH...]",
		Short: "Run the unit tests of detections",
		Long: `Run every detection's unit tests (default path: the current directory).

Per test it prints PASS or FAIL, the alert outputs a match produced (title,
dedup, severity, alert context, ...), what the detection printed, and the
traceback of any error. It exits 1 when a test fails or a spec is invalid.`,
		Example: `  prowl test packs/okta
  prowl test --filter Severity=High,Critical --filter LogTypes=Okta.SystemLog
  prowl test --format junit --output results.xml
  prowl test --watch`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			if f.watch {
				return watchTests(cmd.Context(), cmd.OutOrStdout(), args, f)
			}
			ok, err := runTests(cmd.Context(), cmd.OutOrStdout(), args, f)
			if err != nil {
				return err
			}
			if !ok {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&f.filters, "filter", nil, "KEY=V1,V2 keeps, KEY!=V drops detections by spec key (repeat to AND)")
	cmd.Flags().IntVar(&f.minimumTests, "minimum-tests", 0, "fail detections with fewer tests (2+ also needs a true and a false test)")
	cmd.Flags().StringSliceVar(&f.testNames, "test-names", nil, "run only the tests with these names")
	cmd.Flags().BoolVar(&f.skipDisabled, "skip-disabled-tests", false, "skip detections that are not enabled")
	cmd.Flags().BoolVar(&f.showFailuresOnly, "show-failures-only", false, "print only failing tests")
	cmd.Flags().StringVar(&f.format, "format", "text", "report format: text, json or junit")
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "write the report to this file instead of standard output")
	cmd.Flags().BoolVar(&f.watch, "watch", false, "run again whenever a file under the paths changes")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "print every output and full tracebacks")
	f.addLoad(cmd)
	f.addRun(cmd)
	return cmd
}

func (f *testFlags) options() (testrun.Options, error) {
	opts := testrun.Options{
		MinimumTests: f.minimumTests, TestNames: f.testNames, SkipDisabledTests: f.skipDisabled,
		AvailableDestinations: f.availableDestinations,
		Python:                pyrt.Config{Python: f.python, Workers: f.workers, RuleTimeout: f.ruleTimeout},
	}
	for _, text := range f.filters {
		filter, err := testrun.ParseFilter(text)
		if err != nil {
			return opts, err
		}
		opts.Filters = append(opts.Filters, filter)
	}
	return opts, nil
}

// loadRepo loads the paths; spec problems are returned separately so that
// the valid specs can still be tested.
func loadRepo(paths []string, f *testFlags) (*analysis.Repo, analysis.Problems, error) {
	return analysis.LoadLenient(paths, analysis.Options{IgnoreFiles: f.ignoreFiles, IgnoreExtraKeys: f.ignoreExtraKeys})
}

// runTests runs one round and writes the report; ok is false on failures.
func runTests(ctx context.Context, stdout io.Writer, paths []string, f *testFlags) (bool, error) {
	opts, err := f.options()
	if err != nil {
		return false, err
	}
	repo, problems, err := loadRepo(paths, f)
	if err != nil {
		return false, err
	}
	report, err := testrun.Run(ctx, repo, opts)
	if err != nil {
		return false, err
	}
	report.AddProblems(problems)
	w := stdout
	if f.output != "" {
		file, err := os.Create(f.output)
		if err != nil {
			return false, err
		}
		defer file.Close()
		w = file
	}
	switch f.format {
	case "text", "":
		err = testrun.WriteText(w, report, testrun.TextOptions{ShowFailuresOnly: f.showFailuresOnly, Verbose: f.verbose})
	case "json":
		err = testrun.WriteJSON(w, report)
	case "junit":
		err = testrun.WriteJUnit(w, report)
	default:
		return false, fmt.Errorf("unknown --format %q (want text, json or junit)", f.format)
	}
	if err != nil {
		return false, err
	}
	return report.OK(), nil
}

// watchTests runs the tests, then again after every change under the paths
// (changes within 200ms are taken together), until interrupted.
func watchTests(ctx context.Context, stdout io.Writer, paths []string, f *testFlags) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer watcher.Close()
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return watcher.Add(path)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for {
		if _, err := runTests(ctx, stdout, paths, f); err != nil {
			fmt.Fprintln(stdout, "prowl:", err)
		}
		fmt.Fprintln(stdout, "watching for changes (Ctrl-C to stop)...")
		if !waitForChange(ctx, watcher) {
			return nil
		}
	}
}

func waitForChange(ctx context.Context, watcher *fsnotify.Watcher) bool {
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return false
		case ev := <-watcher.Events:
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
					watcher.Add(ev.Name)
				}
			}
			if strings.HasSuffix(ev.Name, ".py") || strings.HasSuffix(ev.Name, ".yml") || strings.HasSuffix(ev.Name, ".yaml") {
				settle = time.After(200 * time.Millisecond)
			}
		case <-watcher.Errors:
		case <-settle:
			return true
		}
	}
}
