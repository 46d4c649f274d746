package lake

// Indicator search: find an IP, e-mail, domain, hash, AWS id or user name
// in every table through the p_any_* columns the normalizer fills, with
// counts per table, a histogram over time and the newest matching rows.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Indicator kinds and the p_any_* columns each is looked for in.
var indicatorColumns = map[string][]string{
	"ip":              {"p_any_ip_addresses"},
	"email":           {"p_any_emails", "p_any_usernames"},
	"domain":          {"p_any_domain_names"},
	"md5":             {"p_any_md5_hashes"},
	"sha1":            {"p_any_sha1_hashes"},
	"sha256":          {"p_any_sha256_hashes"},
	"aws_arn":         {"p_any_aws_arns"},
	"aws_account_id":  {"p_any_aws_account_ids"},
	"aws_instance_id": {"p_any_aws_instance_ids"},
	"username":        {"p_any_usernames", "p_any_actor_ids"},
	"trace_id":        {"p_any_trace_ids"},
	"aws_tag":         {"p_any_aws_tags"},
}

// IndicatorKinds lists the kinds Search accepts.
func IndicatorKinds() []string {
	out := make([]string, 0, len(indicatorColumns))
	for k := range indicatorColumns {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var (
	reHex       = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	reAccountID = regexp.MustCompile(`^[0-9]{12}$`)
	reInstance  = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	reDomain    = regexp.MustCompile(`^(?i)([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)+[a-z][a-z0-9-]*[a-z0-9]\.?$`)
	reEmail     = regexp.MustCompile(`^[^\s@<>"(),;]+@[^\s@<>"(),;]+$`)
)

// ClassifyIndicator says what kind of indicator s is and gives the forms
// it is stored in (IPv6 canonical, hashes and domains lower-case). A value
// that is nothing more specific is a user name.
func ClassifyIndicator(s string) (kind string, values []string) {
	s = strings.TrimSpace(s)
	if ip, err := netip.ParseAddr(s); err == nil {
		return "ip", []string{ip.String()}
	}
	lower := strings.ToLower(s)
	switch {
	case reHex.MatchString(s) && len(s) == 32:
		return "md5", []string{lower}
	case reHex.MatchString(s) && len(s) == 40:
		return "sha1", []string{lower}
	case reHex.MatchString(s) && len(s) == 64:
		return "sha256", []string{lower}
	case strings.HasPrefix(s, "arn:") && strings.Count(s, ":") >= 5:
		return "aws_arn", []string{s}
	case reAccountID.MatchString(s):
		return "aws_account_id", []string{s}
	case reInstance.MatchString(s):
		return "aws_instance_id", []string{s}
	case reEmail.MatchString(s) && reDomain.MatchString(s[strings.LastIndexByte(s, '@')+1:]):
		return "email", dedup(s, lower)
	case reDomain.MatchString(s):
		return "domain", []string{strings.TrimSuffix(lower, ".")}
	}
	return "username", []string{s}
}

// indicatorValues are the stored forms of s as an indicator of kind.
func indicatorValues(kind, s string) []string {
	s = strings.TrimSpace(s)
	switch kind {
	case "ip":
		if ip, err := netip.ParseAddr(s); err == nil {
			return []string{ip.String()}
		}
	case "md5", "sha1", "sha256", "domain":
		return []string{strings.TrimSuffix(strings.ToLower(s), ".")}
	case "email":
		return dedup(s, strings.ToLower(s))
	}
	return []string{s}
}

func dedup(vals ...string) []string {
	out := vals[:0:0]
	for _, v := range vals {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// SearchRequest is an indicator search.
type SearchRequest struct {
	Indicator string
	// Kind forces the indicator kind (see IndicatorKinds); "" classifies it.
	Kind string
	// From and To bound p_event_time, [From, To); zero To is now and zero
	// From is seven days before To.
	From, To time.Time
	// Limit is how many matching rows to return (default SearchRows, at
	// most MaxRows).
	Limit int
}

// SearchResult is what an indicator search found.
type SearchResult struct {
	Indicator string
	Kind      string
	Values    []string // the forms searched for
	Columns   []string // the p_any_* columns searched
	From, To  time.Time
	Total     int64
	Tables    []TableCount // every table searched, with its matches
	Histogram Histogram
	Rows      []SearchRow // the newest matches, newest first
	Elapsed   time.Duration
}

// TableCount is the matches in one table.
type TableCount struct {
	Table string
	Count int64
}

// Histogram counts matches in equal time buckets from Start.
type Histogram struct {
	Start  time.Time
	Bucket time.Duration
	Counts []int64
}

// SearchRow is one matching row.
type SearchRow struct {
	Table string
	RowID string
	Time  time.Time
	Row   json.RawMessage // the whole row as a JSON object
}

// Search finds an indicator in [from, to) of every table that has a
// p_any_* column for its kind.
func (q *Querier) Search(ctx context.Context, indicator string, from, to time.Time) (*SearchResult, error) {
	return q.SearchWith(ctx, SearchRequest{Indicator: indicator, From: from, To: to})
}

// SearchWith runs a search request.
func (q *Querier) SearchWith(ctx context.Context, req SearchRequest) (*SearchResult, error) {
	start := time.Now()
	if strings.TrimSpace(req.Indicator) == "" {
		return nil, invalid("search: the indicator is empty")
	}
	res := &SearchResult{Indicator: req.Indicator, Tables: []TableCount{}, Rows: []SearchRow{}}
	if req.Kind == "" {
		res.Kind, res.Values = ClassifyIndicator(req.Indicator)
	} else if _, ok := indicatorColumns[req.Kind]; ok {
		res.Kind, res.Values = req.Kind, indicatorValues(req.Kind, req.Indicator)
	} else {
		return nil, invalid("search: unknown indicator kind %q (kinds: %s)", req.Kind, strings.Join(IndicatorKinds(), ", "))
	}
	res.Columns = indicatorColumns[res.Kind]
	res.To = req.To
	if res.To.IsZero() {
		res.To = q.opts.Now()
	}
	res.From = req.From
	if res.From.IsZero() {
		res.From = res.To.Add(-7 * 24 * time.Hour)
	}
	res.From, res.To = res.From.UTC(), res.To.UTC()
	if !res.From.Before(res.To) {
		return nil, invalid("search: the time range is empty (from %s to %s)", res.From.Format(time.RFC3339), res.To.Format(time.RFC3339))
	}
	limit := req.Limit
	if limit <= 0 {
		limit = q.opts.SearchRows
	}
	limit = min(limit, q.opts.MaxRows)
	res.Histogram.Bucket = bucketFor(res.To.Sub(res.From))
	res.Histogram.Start = res.From.Truncate(res.Histogram.Bucket)
	n := int((res.To.Sub(res.Histogram.Start) + res.Histogram.Bucket - 1) / res.Histogram.Bucket)
	res.Histogram.Counts = make([]int64, n)

	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	if err := q.search(ctx, res, limit); err != nil {
		return nil, queryErr(ctx, q.opts.Timeout, err)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// search scans each table once: a GROUP BY of time bucket counts matches
// and keeps the newest rows of each bucket (max_by(..., n)) by row id and
// file; then only those files are read again for the whole rows. No views:
// the search reads the snapshot's files in its time range directly.
func (q *Querier) search(ctx context.Context, res *SearchResult, limit int) error {
	conn, err := q.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	snap := q.snap()
	defer snap.Release()

	// The tables with at least one of the columns, and which they have.
	type target struct {
		table string
		cols  []string
		files []File
	}
	var targets []target
	for _, table := range snap.Tables() {
		var cols []string
		hasTime := false
		for _, c := range snap.Columns(table) {
			if slices.Contains(res.Columns, c.Name) && strings.HasSuffix(c.Type, "[]") {
				cols = append(cols, c.Name)
			}
			hasTime = hasTime || c.Name == "p_event_time"
		}
		if len(cols) > 0 && hasTime {
			targets = append(targets, target{table, cols, snap.Files(table, res.From, res.To)})
		}
	}
	slices.SortFunc(targets, func(a, b target) int { return strings.Compare(a.table, b.table) })
	index := map[string]int{}
	for i, t := range targets {
		res.Tables = append(res.Tables, TableCount{Table: t.table})
		index[t.table] = i
	}

	// The indicator's forms are parameters $1 and $2 (the same value twice
	// when there is one form); times are literals of our own making.
	lit := func(t time.Time) string { return quoteLiteral(t.Format("2006-01-02 15:04:05.999999")) }
	startUS, bucketUS := res.Histogram.Start.UnixMicro(), res.Histogram.Bucket.Microseconds()
	var parts []string
	for _, t := range targets {
		if len(t.files) == 0 {
			continue
		}
		var or []string
		for _, c := range t.cols {
			or = append(or, fmt.Sprintf("list_contains(%s, $1) OR list_contains(%s, $2)", quoteIdent(c), quoteIdent(c)))
		}
		parts = append(parts, fmt.Sprintf("SELECT %s AS tbl, (epoch_us(p_event_time) - %d) // %d AS b, CAST(p_row_id AS VARCHAR) AS id, p_event_time AS ts, __prowl_file AS f\n"+
			"FROM read_parquet([%s], union_by_name = true, filename = '__prowl_file')\nWHERE p_event_time >= %s AND p_event_time < %s AND (%s)",
			quoteLiteral(t.table), startUS, bucketUS, fileList(t.files), lit(res.From), lit(res.To), strings.Join(or, " OR ")))
	}
	if len(parts) == 0 {
		return nil
	}
	v1, v2 := res.Values[0], res.Values[len(res.Values)-1]
	sql := fmt.Sprintf("SELECT tbl, b, count(*), max_by({'id': id, 'ts': ts, 'f': f}, ts, %d) FROM (\n%s\n) GROUP BY ALL",
		max(limit, 1), strings.Join(parts, "\nUNION ALL\n"))
	rows, err := conn.QueryContext(ctx, sql, v1, v2)
	if err != nil {
		return err
	}
	type hit struct {
		table, id, file string
		ts              time.Time
	}
	var hits []hit
	for rows.Next() {
		var table string
		var bucket, count int64
		var top []any
		if err := rows.Scan(&table, &bucket, &count, &top); err != nil {
			rows.Close()
			return err
		}
		res.Total += count
		res.Tables[index[table]].Count += count
		if bucket >= 0 && bucket < int64(len(res.Histogram.Counts)) {
			res.Histogram.Counts[bucket] += count
		}
		for _, e := range top {
			m, _ := e.(map[string]any)
			h := hit{table: table}
			h.id, _ = m["id"].(string)
			h.file, _ = m["f"].(string)
			h.ts, _ = m["ts"].(time.Time)
			hits = append(hits, h)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(hits) == 0 || limit == 0 {
		return nil
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := b.ts.Compare(a.ts); c != 0 {
			return c
		}
		if c := strings.Compare(a.table, b.table); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	hits = hits[:min(limit, len(hits))]

	// The whole rows, from the few files that hold them.
	rowJSON := map[[2]string]string{}
	for _, t := range targets {
		var files []File
		var ids []any
		for _, h := range hits {
			if h.table != t.table {
				continue
			}
			ids = append(ids, h.id)
			if !slices.ContainsFunc(files, func(f File) bool { return f.Path == h.file }) {
				files = append(files, File{Path: h.file})
			}
		}
		if len(ids) == 0 {
			continue
		}
		marks := make([]string, len(ids))
		for i := range ids {
			marks[i] = fmt.Sprintf("$%d", i+1)
		}
		rows, err := conn.QueryContext(ctx, fmt.Sprintf("SELECT CAST(p_row_id AS VARCHAR), CAST(to_json(t) AS VARCHAR) FROM read_parquet([%s], union_by_name = true, hive_partitioning = true) t WHERE p_row_id IN (%s)",
			fileList(files), strings.Join(marks, ", ")), ids...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, row string
			if err := rows.Scan(&id, &row); err != nil {
				rows.Close()
				return err
			}
			rowJSON[[2]string{t.table, id}] = row
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, h := range hits {
		r := SearchRow{Table: h.table, RowID: h.id, Time: h.ts.UTC()}
		if row, ok := rowJSON[[2]string{h.table, h.id}]; ok {
			r.Row = json.RawMessage(row)
		}
		res.Rows = append(res.Rows, r)
	}
	return nil
}

// fileList is the quoted paths of files, comma-separated.
func fileList(files []File) string {
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = quoteLiteral(f.Path)
	}
	return strings.Join(quoted, ", ")
}

// bucketFor picks a histogram bucket giving at most about 60 buckets.
func bucketFor(span time.Duration) time.Duration {
	for _, b := range []time.Duration{
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 30 * 24 * time.Hour,
	} {
		if span/b <= 60 {
			return b
		}
	}
	return 365 * 24 * time.Hour
}
