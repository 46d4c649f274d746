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

func newSearchCmd() *cobra.Command {
	c := &client{}
	var since, until, kind, format string
	var limit int
	cmd := &cobra.Command{
		Use:   "search INDICATOR",
		Short: "Find an IP, e-mail, domain, hash, AWS id or user name in every lake table",
		Long: `Search the data lake of a running prowl for an indicator through the p_any_*
columns: an IP address, e-mail, domain, MD5/SHA-1/SHA-256 hash, AWS ARN,
account or instance id, or a user name. Shows the matches per table, a
histogram over time and the newest matching rows.`,
		Example: `  prowl search 203.0.113.77 --since 30d
  prowl search jane.doe@example.com --since 24h --limit 20
  prowl search admin --kind username`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format: want text or json, got %q", format)
			}
			q := url.Values{"q": {args[0]}, "since": {since}, "limit": {fmt.Sprint(limit)}}
			if until != "" {
				q.Set("until", until)
			}
			if kind != "" {
				q.Set("kind", kind)
			}
			c.http.Timeout = 2 * time.Minute
			var res api.SearchResponse
			if err := c.do("GET", "/api/v1/search?"+q.Encode(), nil, &res); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			printSearch(out, &res)
			return nil
		},
	}
	addClientFlags(cmd, c)
	f := cmd.Flags()
	f.StringVar(&since, "since", "7d", "RFC 3339 time or a look-back such as 24h or 7d")
	f.StringVar(&until, "until", "", "RFC 3339 time or a look-back (default now)")
	f.StringVar(&kind, "kind", "", "ip, email, domain, md5, sha1, sha256, aws_arn, aws_account_id, aws_instance_id, username, trace_id, aws_tag (default: from its form)")
	f.IntVar(&limit, "limit", 10, "newest matching rows to show")
	f.StringVar(&format, "format", "text", "text or json")
	return cmd
}

func printSearch(out io.Writer, res *api.SearchResponse) {
	fmt.Fprintf(out, "%s (%s) in %s, %s to %s UTC: %d match(es) in %.0f ms\n\n",
		termsafe.Escape(res.Indicator), res.Kind, strings.Join(res.Columns, ", "),
		res.From.UTC().Format("2006-01-02 15:04"), res.To.UTC().Format("2006-01-02 15:04"), res.Total, res.ElapsedMS)
	if len(res.Tables) == 0 {
		fmt.Fprintln(out, "no table has these columns yet")
		return
	}
	tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tMATCHES")
	for _, t := range res.Tables {
		fmt.Fprintf(tw, "%s\t%d\n", termsafe.Escape(t.Table), t.Count)
	}
	tw.Flush()
	if res.Total == 0 {
		return
	}
	fmt.Fprintln(out)
	bucket := time.Duration(res.Histogram.BucketSeconds) * time.Second
	fmt.Fprintf(out, "over time (%s buckets, UTC)\n", shortDuration(bucket))
	counts := res.Histogram.Counts
	first, last := 0, len(counts)-1
	for first < last && counts[first] == 0 {
		first++
	}
	for last > first && counts[last] == 0 {
		last--
	}
	var most int64
	for _, n := range counts {
		most = max(most, n)
	}
	layout := "2006-01-02 15:04"
	for i := first; i <= last; i++ {
		at := res.Histogram.Start.Add(time.Duration(i) * bucket).UTC()
		fmt.Fprintf(out, "  %s  %-40s %d\n", at.Format(layout), bar(counts[i], most, 40), counts[i])
	}
	if len(res.Rows) > 0 {
		fmt.Fprintf(out, "\nnewest %d match(es)\n", len(res.Rows))
		tw = tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
		for _, r := range res.Rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Time.UTC().Format(time.RFC3339), termsafe.Escape(r.Table),
				termsafe.Escape(r.RowID), termsafe.Escape(truncate(string(r.Row), 160)))
		}
		tw.Flush()
	}
}

// bar draws n of most as up to width cells, in eighths.
func bar(n, most int64, width int) string {
	if most == 0 || n == 0 {
		return ""
	}
	eighths := int(n * int64(width) * 8 / most)
	if eighths == 0 {
		eighths = 1
	}
	s := strings.Repeat("█", eighths/8)
	if r := eighths % 8; r > 0 {
		s += string([]rune("▏▎▍▌▋▊▉")[r-1])
	}
	return s
}

func shortDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}
