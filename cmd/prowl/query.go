package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/api"
	"github.com/prowl-siem/prowl/internal/termsafe"
)

func newQueryCmd() *cobra.Command {
	c := &client{}
	var file, format string
	var limit, offset, width int
	var all bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "query [SQL | -]",
		Short: "Run a read-only SQL query over the data lake of a running prowl",
		Long: `Run one read-only SQL query (DuckDB SQL) over the security data lake of a
running prowl, through its API. The SQL comes from the argument, from a file
(-f FILE) or from standard input ("-" or -f -).

Each log type is a table (okta_systemlog, …) with the p_ columns; use
p_occurs_since('1 day'), p_occurs_between(start, end) or
p_occurs_around(time, '10 minutes') in WHERE to limit p_event_time and read
only the files of that time. Only a single SELECT may run, and it can read
only the lake: see docs/search.md.`,
		Example: `  prowl query "SELECT eventType, count(*) AS n FROM okta_systemlog WHERE p_occurs_since('1 day') GROUP BY ALL ORDER BY n DESC"
  prowl query -f hunt.sql --format csv > hunt.csv
  echo "SELECT count(*) FROM okta_systemlog" | prowl query -`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sql, err := readSQL(cmd.InOrStdin(), file, args)
			if err != nil {
				return err
			}
			switch format {
			case "table", "csv", "json":
			default:
				return fmt.Errorf("--format: want table, csv or json, got %q", format)
			}
			c.http.Timeout = timeout + 30*time.Second
			req := api.LakeQuery{SQL: sql, Limit: limit, Offset: offset, TimeoutSeconds: timeout.Seconds()}
			var res *api.QueryResponse
			for {
				page, err := c.query(req)
				if err != nil {
					return err
				}
				if res == nil {
					res = page
				} else {
					res.Rows = append(res.Rows, page.Rows...)
					res.Truncated, res.NextOffset = page.Truncated, page.NextOffset
					res.ElapsedMS += page.ElapsedMS
				}
				if !all || !page.Truncated || page.NextOffset == nil {
					break
				}
				req.Offset = *page.NextOffset
			}
			return printResult(cmd.OutOrStdout(), cmd.ErrOrStderr(), res, format, width)
		},
	}
	addClientFlags(cmd, c)
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", `read the SQL from FILE ("-": standard input)`)
	f.StringVar(&format, "format", "table", "table, csv or json")
	f.IntVar(&limit, "limit", api.DefaultQueryLimit, "rows per page")
	f.IntVar(&offset, "offset", 0, "rows to skip")
	f.BoolVar(&all, "all", false, "fetch every page (the query runs once per page)")
	f.IntVar(&width, "max-width", 60, "cut table cells longer than this many characters (0: never)")
	f.DurationVar(&timeout, "timeout", 60*time.Second, "statement timeout (the server's own limit still applies)")
	return cmd
}

// readSQL takes the SQL from -f, the argument or standard input.
func readSQL(stdin io.Reader, file string, args []string) (string, error) {
	var data []byte
	var err error
	switch {
	case file != "" && len(args) > 0:
		return "", errors.New("give the SQL as an argument or with -f, not both")
	case file == "-" || (len(args) == 1 && args[0] == "-"):
		data, err = io.ReadAll(stdin)
	case file != "":
		data, err = os.ReadFile(file)
	case len(args) == 1:
		data = []byte(args[0])
	default:
		return "", errors.New(`no SQL: give it as an argument, with -f FILE, or on standard input with "-"`)
	}
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(string(data)) == "" {
		return "", errors.New("the SQL is empty")
	}
	return string(data), nil
}

// query runs one page, keeping numbers exact.
func (c *client) query(req api.LakeQuery) (*api.QueryResponse, error) {
	var raw json.RawMessage
	if err := c.do("POST", "/api/v1/query", req, &raw); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var res api.QueryResponse
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("reading the query result: %w", err)
	}
	return &res, nil
}

func printResult(out, errOut io.Writer, res *api.QueryResponse, format string, width int) error {
	summary := fmt.Sprintf("%d row(s) in %.0f ms; %d file(s), %s scanned", len(res.Rows), res.ElapsedMS, res.FilesScanned, byteSize(res.BytesScanned))
	if res.Truncated && res.NextOffset != nil {
		summary += fmt.Sprintf("; more rows follow (--offset %d, or --all)", *res.NextOffset)
	}
	switch format {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
		fmt.Fprintln(errOut, summary)
	case "csv":
		terminal := isTerminalWriter(out)
		w := csv.NewWriter(out)
		header := make([]string, len(res.Columns))
		for i, col := range res.Columns {
			header[i] = col.Name
		}
		w.Write(header)
		for _, row := range res.Rows {
			rec := make([]string, len(row))
			for i, v := range row {
				rec[i] = cellText(v, "")
				if terminal {
					rec[i] = termsafe.Escape(rec[i])
				}
			}
			w.Write(rec)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		fmt.Fprintln(errOut, summary)
	default:
		tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
		for i, col := range res.Columns {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, termsafe.Escape(col.Name))
		}
		fmt.Fprintln(tw)
		for _, row := range res.Rows {
			for i, v := range row {
				if i > 0 {
					fmt.Fprint(tw, "\t")
				}
				text := strings.ReplaceAll(termsafe.Escape(cellText(v, "NULL")), "\t", " ")
				if width > 0 && utf8.RuneCountInString(text) > width {
					text = truncate(text, width)
				}
				fmt.Fprint(tw, text)
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		fmt.Fprintln(out, summary)
	}
	return nil
}

// cellText is a value as text: strings as they are, JSON for the rest.
func cellText(v any, null string) string {
	switch v := v.(type) {
	case nil:
		return null
	case string:
		return v
	case json.Number:
		return v.String()
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// isTerminalWriter reports whether w is a terminal.
func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
