package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/gen"
)

func newGenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Generate realistic sample logs",
		Long:  "Generate deterministic, realistic sample logs with optional attack scenarios, for trying detections end to end.",
	}
	cmd.AddCommand(newGenOktaCmd())
	return cmd
}

func newGenOktaCmd() *cobra.Command {
	var (
		opts        gen.OktaOptions
		start       string
		output      string
		listAttacks bool
		noProgress  bool
	)
	cmd := &cobra.Command{
		Use:   "okta",
		Short: "Generate Okta System Log events (NDJSON)",
		Long: `Generate Okta System Log LogEvents as NDJSON, one compact event per line in
published order. The workforce, traffic and attacks are synthetic (example.com
accounts, documentation IP ranges) and depend only on the flags: the same
--seed gives byte-identical output.

--attacks injects scenarios (see --list-attacks) at evenly spread positions;
each alerts on the detections of packs/okta that --list-attacks names.`,
		Example: `  prowl gen okta --count 100000 --seed 7 -o okta.ndjson
  prowl gen okta --count 5000 --attacks brute_force,mfa_fatigue --label
  prowl gen okta --list-attacks`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listAttacks {
				return listOktaScenarios(cmd.OutOrStdout())
			}
			if start != "" {
				t, err := time.Parse(time.RFC3339Nano, start)
				if err != nil {
					return fmt.Errorf("--start: want RFC 3339 (2024-01-01T00:00:00Z): %v", err)
				}
				opts.Start = t
			}
			if opts.Count <= 0 {
				return fmt.Errorf("--count must be positive")
			}
			var out io.Writer = cmd.OutOrStdout()
			var progress *progressBar
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				out = f
				if !noProgress {
					progress = newProgressBar(cmd.ErrOrStderr(), opts.Count, "events")
				}
			}
			w := bufio.NewWriterSize(out, 1<<16)
			n := 0
			err := gen.Okta(opts, func(e []byte) error {
				n++
				progress.set(n)
				if _, err := w.Write(e); err != nil {
					return err
				}
				return w.WriteByte('\n')
			})
			if err == nil {
				err = w.Flush()
			}
			progress.done()
			if err != nil {
				return err
			}
			if output != "" && output != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d events to %s\n", n, output)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVarP(&opts.Count, "count", "n", 1000, "number of events, attack events included")
	f.Int64Var(&opts.Seed, "seed", 1, "random seed; the same seed gives the same output")
	f.StringSliceVar(&opts.Attacks, "attacks", nil, "comma-separated attack scenarios to inject (see --list-attacks)")
	f.StringVar(&start, "start", "", "published time of the first event, RFC 3339 (default 2024-01-01T00:00:00Z)")
	f.DurationVar(&opts.Spacing, "spacing", 100*time.Millisecond, "mean gap between events")
	f.IntVar(&opts.Users, "users", 200, "size of the synthetic workforce")
	f.IntVar(&opts.AttackEvery, "attack-every", 0, "replay the attack list, one scenario every N events (0: each once, evenly spread)")
	f.BoolVar(&opts.Label, "label", false, "mark attack events with debugContext.debugData.prowlScenario")
	f.StringVarP(&output, "output", "o", "", "write to this file instead of standard output (shows progress)")
	f.BoolVar(&noProgress, "no-progress", false, "no progress bar when writing to a file")
	f.BoolVar(&listAttacks, "list-attacks", false, "list the attack scenarios and the detections they trigger")
	return cmd
}

func listOktaScenarios(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tDETECTIONS\tDESCRIPTION")
	for _, s := range gen.OktaScenarios() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, strings.Join(s.RuleIDs, ","), s.Description)
	}
	return tw.Flush()
}

// progressBar draws "[#####.....]  52%  52000/100000 events" on one line,
// redrawn at most every 100ms. A nil bar does nothing.
type progressBar struct {
	w     io.Writer
	total int
	unit  string
	last  time.Time
	n     int
	drawn int
	start time.Time
}

func newProgressBar(w io.Writer, total int, unit string) *progressBar {
	return &progressBar{w: w, total: total, unit: unit, start: time.Now()}
}

func (p *progressBar) set(n int) {
	if p == nil {
		return
	}
	p.n = n
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || n == p.total {
		p.last = now
		p.draw()
	}
}

func (p *progressBar) draw() {
	p.drawn = p.n
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = float64(p.n) / float64(p.total)
	}
	filled := int(frac * width)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	fmt.Fprintf(p.w, "\r[%s] %3.0f%%  %d/%d %s", bar, frac*100, p.n, p.total, p.unit)
}

func (p *progressBar) done() {
	if p == nil {
		return
	}
	if p.drawn != p.n {
		p.draw()
	}
	fmt.Fprintf(p.w, "  (%s)\n", time.Since(p.start).Round(time.Millisecond))
}
