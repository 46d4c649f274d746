package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/logtypes"
)

// newSchemaCmd is `prowl schema`: list, show, infer and test log-type
// schemas.
func newSchemaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "List, show, infer and test log-type schemas",
		Long: "Log-type schemas describe the JSON events of a source: field types, required fields, indicators " +
			"and the event-time field. See docs/log-types.md.",
	}
	cmd.AddCommand(newSchemaListCmd(), newSchemaShowCmd(), newSchemaInferCmd(), newSchemaTestCmd())
	return cmd
}

func newSchemaListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the built-in log types",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := logtypes.NewRegistry()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "LOG TYPE\tTABLE\tVERSION\tDESCRIPTION")
			for _, name := range reg.Names() {
				s, _ := reg.Get(name)
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", s.Name, s.TableName, s.Version, s.Description)
			}
			return w.Flush()
		},
	}
}

func newSchemaShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show LOG_TYPE|SCHEMA_FILE",
		Short: "Print a schema as YAML (a built-in log type, or a custom schema file after checking it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := schemaArg(logtypes.NewRegistry(), args[0])
			if err != nil {
				return err
			}
			return logtypes.WriteSchemaYAML(cmd.OutOrStdout(), s)
		},
	}
}

// schemaArg resolves a command-line schema: a file when one exists at that
// path, else a built-in log type name.
func schemaArg(reg *logtypes.Registry, arg string) (*logtypes.Schema, error) {
	if _, err := os.Stat(arg); err == nil {
		return logtypes.LoadSchemaFile(arg)
	}
	if s, ok := reg.Get(arg); ok {
		return s, nil
	}
	return nil, fmt.Errorf("%s: no such file, and not a log type (built-in log types: %s)", arg, strings.Join(reg.Names(), ", "))
}

// progress reports long runs on stderr when it is a terminal.
type progress struct {
	w     io.Writer
	on    bool
	last  time.Time
	count int
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	return p
}

func (p *progress) tick(file string) {
	p.count++
	if p.on && p.count%1024 == 0 && time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		fmt.Fprintf(p.w, "\r%s: %d events…", file, p.count)
	}
}

func (p *progress) done() {
	if p.on && !p.last.IsZero() {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func newSchemaInferCmd() *cobra.Command {
	var name, output string
	cmd := &cobra.Command{
		Use:   "infer FILE...",
		Short: "Propose a custom schema from sample events (NDJSON or a JSON array)",
		Long: "infer reads sample events and prints a schema YAML that accepts them: field types, timestamps " +
			"recognised by their format, an event-time field, and indicators for values that look like IP " +
			"addresses, emails, domains, URLs or hashes. Review the proposal, mark required fields, then check " +
			"it with `prowl schema test`.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := logtypes.NewInferrer()
			stderr := cmd.ErrOrStderr()
			prog := newProgress(stderr)
			skipped := 0
			for _, file := range args {
				data, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				err = logtypes.ReadSamples(data, func(line int, raw []byte) error {
					prog.tick(file)
					if err := in.Add(raw); err != nil {
						skipped++
						fmt.Fprintf(stderr, "%s:%d: skipped: %v\n", file, line, err)
					}
					return nil
				})
				if err != nil {
					return fmt.Errorf("%s: %w", file, err)
				}
			}
			prog.done()
			s, err := in.Schema(name)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output != "" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			fmt.Fprintf(out, "# Proposed by prowl schema infer from %d events in %s.\n", in.Events(), strings.Join(args, ", "))
			fmt.Fprintln(out, "# Review the types, add required: true where a field is always present, then run prowl schema test.")
			if err := logtypes.WriteSchemaYAML(out, s); err != nil {
				return err
			}
			if output != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d events, %d skipped)\n", output, in.Events(), skipped)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "Custom.Inferred", "log type name of the proposed schema (Custom.Something)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the schema to this file instead of standard output")
	return cmd
}

func newSchemaTestCmd() *cobra.Command {
	var print bool
	cmd := &cobra.Command{
		Use:   "test SCHEMA_FILE|LOG_TYPE SAMPLE_FILE...",
		Short: "Normalize sample events with a schema and report every event it rejects",
		Long: "test checks a custom schema file (or a built-in log type) against sample events, NDJSON or a " +
			"JSON array, and prints file:line, the rejection reason and what is wrong for each event that would " +
			"be quarantined. It exits with status 1 when any event is rejected. With --print, the normalized " +
			"events go to standard output and the report to standard error.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg := logtypes.NewRegistry()
			s, err := schemaArg(reg, args[0])
			if err != nil {
				return err
			}
			if !reg.IsBuiltin(s.Name) {
				if err := reg.Add(s); err != nil {
					return err
				}
			}
			report := cmd.OutOrStdout()
			if print {
				report = cmd.ErrOrStderr()
			}
			n := reg.NewNormalizer()
			prog := newProgress(cmd.ErrOrStderr())
			total, rejected, noTime := 0, 0, 0
			reasons := map[string]int{}
			parseTime := time.Now()
			for _, file := range args[1:] {
				data, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				err = logtypes.ReadSamples(data, func(line int, raw []byte) error {
					prog.tick(file)
					total++
					ev, err := n.Normalize(s.Name, raw, logtypes.Meta{SourceLabel: "prowl schema test", ParseTime: parseTime})
					var rej *logtypes.Rejection
					if errors.As(err, &rej) {
						rejected++
						reasons[rej.Reason]++
						prog.done()
						fmt.Fprintf(report, "%s:%d: %s: %s\n", file, line, rej.Reason, rej.Detail)
						return nil
					}
					if err != nil {
						return err
					}
					if ev.Time.Equal(ev.ParseTime) {
						noTime++
					}
					if print {
						cmd.OutOrStdout().Write(append(ev.JSON, '\n'))
					}
					return nil
				})
				if err != nil {
					prog.done()
					return fmt.Errorf("%s: %w", file, err)
				}
			}
			prog.done()
			fmt.Fprintf(report, "%s: %d events, %d normalized, %d rejected%s\n", s.Name, total, total-rejected, rejected, reasonSummary(reasons))
			if noTime > 0 {
				fmt.Fprintf(report, "note: %d normalized events had no event-time field; their p_event_time is the parse time\n", noTime)
			}
			if rejected > 0 || total == 0 {
				if total == 0 {
					fmt.Fprintln(report, "no sample events found")
				}
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&print, "print", false, "print the normalized events (NDJSON) to standard output")
	return cmd
}

// reasonSummary formats rejection counts as " (bad_type 2, invalid_json 1)".
func reasonSummary(reasons map[string]int) string {
	if len(reasons) == 0 {
		return ""
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, reasons[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
