package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/api"
	"github.com/prowl-siem/prowl/internal/termsafe"
)

func newReplayCmd() *cobra.Command {
	c := &client{}
	var since, until, format string
	var top int
	cmd := &cobra.Command{
		Use:   "replay RULE_ID",
		Short: "Run a detection over the lake's history and show the alerts it would have produced",
		Long: `Replay a rule (Python or simple) over the events of its log types in the data lake
of a running prowl, or a correlation rule over the rule matches in the lake, and
report the alerts it would have produced: the matches go through a fresh alert
manager whose clock is the event time, so dedup and thresholds apply as they
would have live. Nothing is stored and nobody is notified.

The range is at most 90 days; a replay stops after 10 minutes or 10 million
events and reports what it found until then. One replay runs at a time.`,
		Example: `  prowl replay Okta.BruteForceByUser --since 30d
  prowl replay Okta.Correlation.MFAFatigueThenSuccess --since 2026-03-01T00:00:00Z --until 2026-03-08T00:00:00Z
  prowl replay My.Rule --since 7d --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format: want text or json, got %q", format)
			}
			c.http.Timeout = 15 * time.Minute
			req := api.ReplayRequest{Since: since, Until: until}
			var res api.ReplayResponse
			stop := spinner(cmd.ErrOrStderr(), fmt.Sprintf("replaying %s since %s", args[0], since))
			err := c.do("POST", "/api/v1/detections/"+url.PathEscape(args[0])+"/replay", req, &res)
			stop()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			printReplay(out, &res, top)
			return nil
		},
	}
	addClientFlags(cmd, c)
	f := cmd.Flags()
	f.StringVar(&since, "since", "7d", "start: RFC 3339 time or a look-back such as 30d or 12h")
	f.StringVar(&until, "until", "", "end: RFC 3339 time or a look-back (default now)")
	f.StringVar(&format, "format", "text", "text or json")
	f.IntVar(&top, "top", 20, "dedup strings and alerts to list")
	return cmd
}

// spinner shows a spinner with the elapsed time on w while the caller
// waits, when w is a terminal; stop clears it.
func spinner(w io.Writer, what string) (stop func()) {
	if !isTerminalWriter(w) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		start := time.Now()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r%c %s… %s ", frames[i%len(frames)], what, time.Since(start).Truncate(time.Second))
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

func printReplay(out io.Writer, res *api.ReplayResponse, top int) {
	layout := "2006-01-02 15:04"
	fmt.Fprintf(out, "%s (%s) over %s to %s UTC, %s\n", termsafe.Escape(res.RuleID), res.Kind,
		res.From.UTC().Format(layout), res.To.UTC().Format(layout), strings.Join(res.Tables, ", "))
	if res.Truncated {
		fmt.Fprintf(out, "STOPPED EARLY: %s; the counts below cover what was read\n", res.Stopped)
	}
	what := "events"
	if res.Kind == "correlation_rule" {
		what = "rule matches"
	}
	tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "%s read\t%d of %d\n", what, res.Events, res.Total)
	fmt.Fprintf(tw, "matches\t%d\n", res.Matches)
	fmt.Fprintf(tw, "rule errors\t%d\n", res.Errors)
	fmt.Fprintf(tw, "alerts\t%d (%d dedup strings)\n", res.AlertCount, len(res.ByDedup))
	if res.FirstMatch != nil && res.LastMatch != nil {
		fmt.Fprintf(tw, "first / last match\t%s / %s\n", res.FirstMatch.UTC().Format(time.RFC3339), res.LastMatch.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "elapsed\t%s\n", (time.Duration(res.ElapsedMS) * time.Millisecond).Round(time.Millisecond))
	tw.Flush()
	for _, e := range res.ErrorSamples {
		fmt.Fprintf(out, "  error: %s\n", termsafe.Escape(e))
	}
	if len(res.ByDedup) > 0 {
		fmt.Fprintln(out)
		tw = tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "DEDUP\tALERTS\tMATCHES")
		for i, d := range res.ByDedup {
			if i == top {
				fmt.Fprintf(tw, "… %d more\t\t\n", len(res.ByDedup)-top)
				break
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\n", termsafe.Escape(truncate(d.Dedup, 60)), d.Alerts, d.Matches)
		}
		tw.Flush()
	}
	if len(res.Alerts) > 0 {
		fmt.Fprintln(out)
		tw = tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "CREATED (EVENT TIME)\tSEVERITY\tEVENTS\tTITLE")
		for i, a := range res.Alerts {
			if i == top {
				fmt.Fprintf(tw, "… %d more\t\t\t\n", res.AlertCount-top)
				break
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", a.CreatedAt.UTC().Format(time.RFC3339), a.Severity, a.EventCount, termsafe.Escape(truncate(a.Title, 100)))
		}
		tw.Flush()
	}
}
