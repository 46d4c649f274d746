package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/termsafe"
)

// client talks to a running prowl's API.
type client struct {
	server, token string
	http          *http.Client
}

func (c *client) do(method, path string, body any, out any) error {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, strings.TrimRight(c.server, "/")+path, r)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("is prowl running at %s? %w", c.server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s (HTTP %d)", method, path, e.Error, resp.StatusCode)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func addClientFlags(cmd *cobra.Command, c *client) {
	server := os.Getenv("PROWL_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	cmd.PersistentFlags().StringVar(&c.server, "server", server, "prowl API URL (env PROWL_SERVER)")
	cmd.PersistentFlags().StringVar(&c.token, "token", os.Getenv("PROWL_ADMIN_TOKEN"), "API bearer token (env PROWL_ADMIN_TOKEN)")
	c.http = &http.Client{Timeout: 30 * time.Second}
}

func newAlertsCmd() *cobra.Command {
	c := &client{}
	cmd := &cobra.Command{Use: "alerts", Short: "List, inspect and triage the alerts of a running prowl"}
	addClientFlags(cmd, c)
	cmd.AddCommand(newAlertsListCmd(c), newAlertsShowCmd(c), newAlertsUpdateCmd(c))
	return cmd
}

func newAlertsListCmd(c *client) *cobra.Command {
	var status, severity, rule, typ, since, text, sort, format string
	var limit, offset int
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List alerts, newest first",
		Example: "  prowl alerts list --status open --severity high,critical --since 24h",
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for k, v := range map[string]string{"status": status, "severity": severity, "rule_id": rule, "type": typ, "since": since, "q": text, "sort": sort} {
				if v != "" {
					q.Set(k, v)
				}
			}
			q.Set("limit", fmt.Sprint(limit))
			q.Set("offset", fmt.Sprint(offset))
			var page alerts.Page
			if err := c.do("GET", "/api/v1/alerts?"+q.Encode(), nil, &page); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(page)
			}
			tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCREATED\tSEVERITY\tSTATUS\tEVENTS\tRULE\tTITLE")
			for _, a := range page.Alerts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", a.ID[:min(12, len(a.ID))], a.CreatedAt.Local().Format("2006-01-02 15:04"),
					a.Severity, a.Status, a.EventCount, termsafe.Escape(a.RuleID), termsafe.Escape(truncate(a.Title, 80)))
			}
			tw.Flush()
			fmt.Fprintf(out, "%d of %d alerts\n", len(page.Alerts), page.Total)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "OPEN, TRIAGED, CLOSED, RESOLVED (comma-separated)")
	f.StringVar(&severity, "severity", "", "INFO … CRITICAL (comma-separated)")
	f.StringVar(&rule, "rule", "", "rule ID")
	f.StringVar(&typ, "type", "", "RULE, RULE_ERROR, SYSTEM")
	f.StringVar(&since, "since", "", "RFC 3339 time or a look-back such as 24h or 7d")
	f.StringVarP(&text, "query", "q", "", "text in the title, rule ID or dedup string")
	f.StringVar(&sort, "sort", "", "created_at, updated_at, severity or event_count; '-' for descending")
	f.IntVar(&limit, "limit", 50, "page size")
	f.IntVar(&offset, "offset", 0, "alerts to skip")
	f.StringVar(&format, "format", "table", "table or json")
	return cmd
}

func newAlertsShowCmd(c *client) *cobra.Command {
	var events int
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one alert with its matched events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var a alerts.Alert
			if err := c.do("GET", "/api/v1/alerts/"+url.PathEscape(args[0]), nil, &a); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s  [%s] %s\n", a.ID, a.Severity, termsafe.Escape(a.Title))
			for _, kv := range [][2]string{{"rule", a.RuleID}, {"type", a.Type}, {"status", a.Status}, {"assignee", a.Assignee},
				{"dedup", a.Dedup}, {"events", fmt.Sprint(a.EventCount)}, {"created", a.CreatedAt.Local().Format(time.RFC3339)},
				{"first event", a.FirstEventAt.Local().Format(time.RFC3339)}, {"last event", a.LastEventAt.Local().Format(time.RFC3339)},
				{"log types", strings.Join(a.LogTypes, ", ")}, {"runbook", a.Runbook}, {"reference", a.Reference}} {
				if kv[1] != "" {
					value := strings.ReplaceAll(termsafe.EscapeBlock(kv[1]), "\n", "\n"+strings.Repeat(" ", 15))
					fmt.Fprintf(out, "  %-12s %s\n", kv[0]+":", value)
				}
			}
			if len(a.AlertContext) > 0 {
				var pretty bytes.Buffer
				json.Indent(&pretty, a.AlertContext, "    ", "  ")
				fmt.Fprintf(out, "  context:\n    %s\n", termsafe.EscapeBlock(pretty.String()))
			}
			for _, cm := range a.Comments {
				fmt.Fprintf(out, "  comment by %s at %s: %s\n", termsafe.Escape(cm.Author), cm.At.Local().Format(time.RFC3339), termsafe.Escape(cm.Body))
			}
			if events > 0 {
				var ev struct {
					Events []struct {
						Event json.RawMessage `json:"event"`
					} `json:"events"`
				}
				if err := c.do("GET", fmt.Sprintf("/api/v1/alerts/%s/events?limit=%d", url.PathEscape(args[0]), events), nil, &ev); err != nil {
					return err
				}
				fmt.Fprintf(out, "  matched events (%d shown):\n", len(ev.Events))
				for _, e := range ev.Events {
					fmt.Fprintf(out, "    %s\n", termsafe.Escape(string(e.Event)))
				}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&events, "events", 5, "matched events to show")
	return cmd
}

func newAlertsUpdateCmd(c *client) *cobra.Command {
	var status, assignee, comment, author string
	cmd := &cobra.Command{
		Use:     "update ID...",
		Short:   "Set status and/or assignee of alerts, or comment on them",
		Example: "  prowl alerts update 3f2a9c1e0b7d --status closed --comment \"pentest traffic\"",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if status == "" && assignee == "" && comment == "" {
				return fmt.Errorf("nothing to do: give --status, --assignee and/or --comment")
			}
			patch := map[string]any{"ids": args}
			if status != "" {
				patch["status"] = strings.ToUpper(status)
			}
			if assignee != "" {
				patch["assignee"] = assignee
			}
			if len(patch) > 1 {
				if err := c.do("POST", "/api/v1/alerts/bulk", patch, nil); err != nil {
					return err
				}
			}
			if comment != "" {
				for _, id := range args {
					if err := c.do("POST", "/api/v1/alerts/"+url.PathEscape(id)+"/comments", map[string]string{"body": comment, "author": author}, nil); err != nil {
						return err
					}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "updated %d alert(s)\n", len(args))
			return nil
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "OPEN, TRIAGED, CLOSED (false positive) or RESOLVED")
	cmd.Flags().StringVar(&assignee, "assignee", "", "who handles it")
	cmd.Flags().StringVar(&comment, "comment", "", "a note to add")
	cmd.Flags().StringVar(&author, "author", os.Getenv("USER"), "comment author")
	return cmd
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
