package lake

// SQL queries over the lake. Each query runs on a fresh DuckDB connection
// that sees one snapshot: a temporary view per lake table it names, over
// exactly that snapshot's Parquet files (read_parquet with
// hive_partitioning and union_by_name). Time-range macros (p_occurs_since,
// p_occurs_between, p_occurs_around) are rewritten in the parse tree into
// comparisons with constant timestamps, which both keeps only the files
// whose time range overlaps (partition pruning) and lets DuckDB skip row
// groups by their p_event_time min/max statistics.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// QueryOptions configures a Querier.
type QueryOptions struct {
	// Dir is the lake directory: the only directory queries may read.
	// Snapshot files must lie under it.
	Dir string
	// Timeout is the statement timeout (default 60s). A request may ask
	// for less, never more.
	Timeout time.Duration
	// MaxRows caps the rows a query returns (default 10,000). Past it the
	// result is cut and Result.Truncated is set; it is not an error.
	MaxRows int
	// MaxBytes, when set, refuses a query whose views cover more Parquet
	// bytes than this (after time-range pruning).
	MaxBytes int64
	// Threads and MemoryLimit ("4GB") bound DuckDB; zero values keep its
	// defaults (all cores, 80% of RAM).
	Threads     int
	MemoryLimit string
	// TempDir, when set, lets DuckDB spill to disk there; by default a
	// query that exceeds the memory limit fails instead.
	TempDir string
	// SearchRows is how many matching rows an indicator search returns by
	// default (20). Each costs decoding the rest of its file's columns,
	// about 6 ms for an hourly file of 14k Okta events.
	SearchRows int
	// ControlTables are tables kept outside the lake's Parquet files: an
	// NDJSON snapshot under Dir that its owner replaces atomically (by
	// rename), e.g. the alerts of the control plane. A missing file is an
	// empty table.
	ControlTables []ControlTable
	// Now is the clock of the time-range macros (default time.Now).
	Now func() time.Time
}

// Querier runs read-only SQL over snapshots of the lake.
type Querier struct {
	snap      func() Snapshot
	opts      QueryOptions
	connector *duckdb.Connector
	db        *sql.DB
	tmpl      astTemplates
}

// NewQuerier opens the query sandbox. snap returns the current snapshot;
// the Querier releases each snapshot it takes.
func NewQuerier(snap func() Snapshot, opts QueryOptions) (*Querier, error) {
	if opts.Dir == "" {
		return nil, errors.New("lake query: the lake directory is not set")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = 10_000
	}
	if opts.SearchRows <= 0 {
		opts.SearchRows = 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	connector, db, err := openSandbox(opts.Dir, opts)
	if err != nil {
		return nil, err
	}
	q := &Querier{snap: snap, opts: opts, connector: connector, db: db}
	if err := q.tmpl.load(context.Background(), db); err != nil {
		q.Close()
		return nil, err
	}
	return q, nil
}

// Close closes the DuckDB database.
func (q *Querier) Close() error {
	err := q.db.Close()
	return errors.Join(err, q.connector.Close())
}

// Request is one query.
type Request struct {
	SQL    string
	Params []any // bound to ? / $1 placeholders; never spliced into the text
	// Limit is the rows to return (default and maximum: MaxRows), after
	// skipping Offset rows.
	Limit  int
	Offset int
	// Timeout, when set and shorter, replaces the statement timeout.
	Timeout time.Duration
}

// Result is a query's answer. Rows hold JSON-friendly values: strings,
// numbers, booleans, nil, lists, objects; timestamps as RFC 3339 strings.
type Result struct {
	Columns []Column
	Rows    [][]any
	// Truncated: more rows follow (the next page starts at Offset+len(Rows)).
	Truncated bool
	Elapsed   time.Duration
	// Tables are the lake tables the query read; Files and Bytes the
	// Parquet files its views covered after pruning (an upper bound of
	// what DuckDB read).
	Tables []string
	Files  int
	Bytes  int64
}

// Query runs sql with params and returns up to MaxRows rows.
func (q *Querier) Query(ctx context.Context, sql string, params ...any) (*Result, error) {
	return q.Run(ctx, Request{SQL: sql, Params: params})
}

// Run runs a query request.
func (q *Querier) Run(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	limit := req.Limit
	if limit <= 0 || limit > q.opts.MaxRows {
		limit = q.opts.MaxRows
	}
	if req.Offset < 0 {
		return nil, invalid("offset must not be negative")
	}
	timeout := q.opts.Timeout
	if req.Timeout > 0 && req.Timeout < timeout {
		timeout = req.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := q.run(ctx, req, limit)
	if err != nil {
		return nil, queryErr(ctx, timeout, err)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func (q *Querier) run(ctx context.Context, req Request, limit int) (*Result, error) {
	conn, err := q.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	tree, err := q.parse(ctx, conn, req.SQL)
	if err != nil {
		return nil, err
	}
	if err := checkTableFunctions(tree); err != nil {
		return nil, err
	}
	if err := checkArrowPrecedence(req.SQL, tree); err != nil {
		return nil, err
	}
	snap := q.snap()
	defer snap.Release()
	plan, err := q.plan(ctx, conn, snap, tree)
	if err != nil {
		return nil, err
	}
	text := req.SQL
	if plan.rewritten {
		if text, err = q.deserialize(ctx, conn, tree); err != nil {
			return nil, err
		}
	}
	res := &Result{}
	if err := q.createViews(ctx, conn, snap, plan.ranges, res); err != nil {
		return nil, err
	}
	if q.opts.MaxBytes > 0 && res.Bytes > q.opts.MaxBytes {
		return nil, &QueryError{Kind: ErrLimit, Msg: fmt.Sprintf("query: refused: it would scan %s of Parquet files in %d file(s), over the limit of %s; narrow the time range (WHERE p_occurs_since('1 day'))",
			humanBytes(res.Bytes), res.Files, humanBytes(q.opts.MaxBytes))}
	}
	wrap := func(text string) string {
		return fmt.Sprintf("SELECT * FROM (\n%s\n) LIMIT %d OFFSET %d", text, limit+1, req.Offset)
	}
	exec := func(text string) error {
		return conn.Raw(func(dc any) error {
			stmt, err := prepareSelect(dc, wrap(text))
			var de *duckdb.Error
			if err != nil && errors.As(err, &de) && de.Type != duckdb.ErrorTypeParser {
				// A binder or catalog error: prepare the query unwrapped so
				// that the message's "LINE n" and caret point into it.
				if st, err2 := prepareSelect(dc, text); err2 != nil {
					return err2
				} else {
					st.Close()
				}
			}
			if err != nil {
				return err
			}
			defer stmt.Close()
			return readRows(ctx, stmt, req.Params, limit, res)
		})
	}
	err = exec(text)
	var de *duckdb.Error
	if err != nil && !plan.rewritten && errors.As(err, &de) && de.Type == duckdb.ErrorTypeParser {
		// The text parses alone but not inside a subquery (a trailing ";"
		// or comment): run DuckDB's own rendering of the parse tree.
		if text, err2 := q.deserialize(ctx, conn, tree); err2 == nil {
			err = exec(text)
		}
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// readRows runs the prepared statement and converts up to limit rows.
func readRows(ctx context.Context, stmt *duckdb.Stmt, params []any, limit int, res *Result) error {
	args := make([]driver.NamedValue, len(params))
	for i, p := range params {
		args[i] = driver.NamedValue{Ordinal: i + 1, Value: p}
	}
	rows, err := stmt.QueryContext(ctx, args)
	if err != nil {
		return err
	}
	defer rows.Close()
	names := rows.Columns()
	types := make([]string, len(names))
	tn, _ := rows.(driver.RowsColumnTypeDatabaseTypeName)
	for i, name := range names {
		if tn != nil {
			types[i] = tn.ColumnTypeDatabaseTypeName(i)
		}
		res.Columns = append(res.Columns, Column{Name: name, Type: types[i]})
	}
	res.Rows = [][]any{}
	dest := make([]driver.Value, len(names))
	for {
		if err := rows.Next(dest); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if len(res.Rows) == limit {
			res.Truncated = true
			return nil
		}
		row := make([]any, len(dest))
		for i, v := range dest {
			row[i] = jsonValue(v, types[i])
		}
		res.Rows = append(res.Rows, row)
	}
}

// parse returns the parse tree of the only statement of text, refusing
// anything but a single SELECT.
func (q *Querier) parse(ctx context.Context, conn *sql.Conn, text string) (map[string]any, error) {
	if strings.TrimSpace(text) == "" {
		return nil, invalid("the SQL is empty")
	}
	var out string
	if err := conn.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql($1::VARCHAR) AS VARCHAR)", text).Scan(&out); err != nil {
		return nil, err
	}
	doc, err := decodeJSON(out)
	if err != nil {
		return nil, err
	}
	if isErr, _ := doc["error"].(bool); isErr {
		if doc["error_type"] == "parser" {
			// Let DuckDB prepare it to get its message with the position
			// ("LINE 1: ... ^"); parsing fails before anything runs.
			err := conn.Raw(func(dc any) error {
				st, err := dc.(*duckdb.Conn).Prepare(text)
				if err == nil {
					st.Close()
				}
				return err
			})
			if err != nil {
				return nil, err
			}
			return nil, invalid("%v", doc["error_message"])
		}
		return nil, refused("only a single read-only SELECT statement may run (SELECT, WITH, FROM, VALUES, DESCRIBE, SUMMARIZE, SHOW); " +
			"COPY, ATTACH, INSTALL, LOAD, SET, CREATE, INSERT, UPDATE, DELETE, PRAGMA, CALL and EXPLAIN are not")
	}
	stmts, _ := doc["statements"].([]any)
	if len(stmts) != 1 {
		return nil, refused("the SQL holds %d statements; only one SELECT statement may run", len(stmts))
	}
	stmt, _ := stmts[0].(map[string]any)
	if stmt == nil {
		return nil, invalid("unexpected parse tree")
	}
	return stmt, nil
}

// checkArrowPrecedence refuses a JSON arrow applied to a boolean: DuckDB's
// -> and ->> bind more loosely than AND and OR, so
// "a = 1 AND col ->> '$.x' = 'y'" means "((a = 1 AND col) ->> '$.x') = 'y'".
func checkArrowPrecedence(text string, tree any) error {
	var bad error
	walkAST(tree, func(n map[string]any) {
		name, _ := n["function_name"].(string)
		if bad != nil || n["class"] != "FUNCTION" || (name != "->>" && name != "->") {
			return
		}
		args, _ := n["children"].([]any)
		if len(args) == 0 {
			return
		}
		if a, _ := args[0].(map[string]any); a["class"] == "CONJUNCTION" || a["class"] == "COMPARISON" {
			bad = invalid("%s applies to the boolean before it: DuckDB's -> and ->> bind more loosely than AND and OR; "+
				"put the extraction in parentheses, as in (outcome ->> '$.result') = 'FAILURE'%s", name, pointAt(text, n["query_location"]))
		}
	})
	return bad
}

// pointAt shows the line of text holding a parse tree's query_location,
// with a caret under it, as DuckDB's own errors do.
func pointAt(text string, loc any) string {
	num, ok := loc.(json.Number)
	if !ok {
		return ""
	}
	off, err := num.Int64()
	if err != nil || off < 0 || off > int64(len(text)) {
		return ""
	}
	lineStart := strings.LastIndexByte(text[:off], '\n') + 1
	lineEnd := strings.IndexByte(text[off:], '\n')
	if lineEnd < 0 {
		lineEnd = len(text)
	} else {
		lineEnd += int(off)
	}
	prefix := fmt.Sprintf("LINE %d: ", strings.Count(text[:lineStart], "\n")+1)
	return "\n\n" + prefix + text[lineStart:lineEnd] + "\n" + strings.Repeat(" ", len(prefix)+int(off)-lineStart) + "^"
}

// deserialize renders a (possibly rewritten) parse tree back to SQL.
func (q *Querier) deserialize(ctx context.Context, conn *sql.Conn, stmt any) (string, error) {
	data, err := json.Marshal(map[string]any{"error": false, "statements": []any{stmt}})
	if err != nil {
		return "", err
	}
	var text string
	if err := conn.QueryRowContext(ctx, "SELECT json_deserialize_sql(CAST($1 AS JSON))", string(data)).Scan(&text); err != nil {
		return "", err
	}
	return text, nil
}

func decodeJSON(s string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber() // query_location is a uint64 (often 2^64-1)
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decoding a parse tree: %w", err)
	}
	return doc, nil
}

// timeRange is an inclusive range of p_event_time; zero ends are unbounded.
type timeRange struct{ from, to time.Time }

func (r timeRange) unbounded() bool { return r.from.IsZero() && r.to.IsZero() }

// union is the smallest range holding both.
func (r timeRange) union(o timeRange) timeRange {
	out := r
	if r.from.IsZero() || o.from.IsZero() {
		out.from = time.Time{}
	} else if o.from.Before(r.from) {
		out.from = o.from
	}
	if r.to.IsZero() || o.to.IsZero() {
		out.to = time.Time{}
	} else if o.to.After(r.to) {
		out.to = o.to
	}
	return out
}

// intersect is the range in both.
func (r timeRange) intersect(o timeRange) timeRange {
	out := r
	if !o.from.IsZero() && (out.from.IsZero() || o.from.After(out.from)) {
		out.from = o.from
	}
	if !o.to.IsZero() && (out.to.IsZero() || o.to.Before(out.to)) {
		out.to = o.to
	}
	return out
}

// filesArgs turns the inclusive range into Snapshot.Files' [from, to).
func (r timeRange) filesArgs() (time.Time, time.Time) {
	to := r.to
	if !to.IsZero() {
		to = to.Add(time.Microsecond)
	}
	return r.from, to
}

// queryPlan is what a parse tree needs from the lake.
type queryPlan struct {
	ranges    map[string]timeRange // lake table → time range its views need
	rewritten bool                 // macros were replaced in the tree
}

// macro is one p_occurs_* call.
type macro struct {
	rng       timeRange
	qualifier string         // table alias of the column, "" if unqualified
	col       map[string]any // the time column's COLUMN_REF (nil: the table's time column)
}

// The time-range macros and their argument counts (without the optional
// last table alias or column).
var macroArgs = map[string]int{"p_occurs_since": 1, "p_occurs_between": 2, "p_occurs_around": 2}

// ControlTable is a table read from an NDJSON snapshot (see QueryOptions).
type ControlTable struct {
	Name    string
	File    string // absolute path under QueryOptions.Dir
	Columns []Column
}

func (q *Querier) controlTable(name string) *ControlTable {
	for i := range q.opts.ControlTables {
		if q.opts.ControlTables[i].Name == name {
			return &q.opts.ControlTables[i]
		}
	}
	return nil
}

// controlView is the view body of a control table.
func (c *ControlTable) view() string {
	var cols, nulls strings.Builder
	for i, col := range c.Columns {
		if i > 0 {
			cols.WriteString(", ")
			nulls.WriteString(", ")
		}
		fmt.Fprintf(&cols, "%s: '%s'", quoteLiteral(col.Name), col.Type)
		fmt.Fprintf(&nulls, "CAST(NULL AS %s) AS %s", col.Type, quoteIdent(col.Name))
	}
	if _, err := os.Stat(c.File); err != nil {
		return "SELECT " + nulls.String() + " LIMIT 0"
	}
	return "SELECT * FROM read_json(" + quoteLiteral(c.File) + ", format = 'newline_delimited', columns = {" + cols.String() + "})"
}

// plan finds the lake tables a parse tree reads and the time range each
// needs, and rewrites the time-range macros into comparisons.
func (q *Querier) plan(ctx context.Context, conn *sql.Conn, snap Snapshot, stmt map[string]any) (*queryPlan, error) {
	lakeTables := map[string]bool{}
	for _, t := range snap.Tables() {
		lakeTables[strings.ToLower(t)] = true
	}
	isLake := func(n map[string]any) (string, bool) {
		if n["type"] != "BASE_TABLE" || n["schema_name"] != "" || n["catalog_name"] != "" {
			return "", false
		}
		name, _ := n["table_name"].(string)
		name = strings.ToLower(name)
		if lakeTables[name] || len(snap.Columns(name)) > 0 || q.controlTable(name) != nil {
			return name, true
		}
		return "", false
	}

	// 1. Evaluate every macro call.
	macros := map[uintptr]*macro{}
	var firstErr error
	walkAST(stmt, func(n map[string]any) {
		if firstErr != nil || n["class"] != "FUNCTION" || n["type"] != "FUNCTION" {
			return
		}
		name, _ := n["function_name"].(string)
		if _, ok := macroArgs[strings.ToLower(name)]; !ok {
			return
		}
		m, err := q.evalMacro(ctx, conn, strings.ToLower(name), n)
		if err != nil {
			firstErr = err
			return
		}
		macros[nodeID(n)] = m
	})
	if firstErr != nil {
		return nil, firstErr
	}

	// 2. A macro that is a conjunct of a SELECT's WHERE narrows the lake
	// table its column belongs to in that SELECT's FROM.
	narrowed := map[uintptr]timeRange{}
	walkAST(stmt, func(n map[string]any) {
		if n["type"] != "SELECT_NODE" {
			return
		}
		type ref struct {
			id          uintptr
			name, alias string
		}
		var refs []ref
		var collect func(t any)
		collect = func(t any) {
			tm, _ := t.(map[string]any)
			switch {
			case tm == nil:
			case tm["type"] == "JOIN":
				collect(tm["left"])
				collect(tm["right"])
			default:
				if name, ok := isLake(tm); ok {
					alias, _ := tm["alias"].(string)
					refs = append(refs, ref{nodeID(tm), name, strings.ToLower(alias)})
				}
			}
		}
		collect(n["from_table"])
		for _, c := range conjuncts(n["where_clause"]) {
			m := macros[nodeID(c)]
			if m == nil {
				continue
			}
			var target []ref
			for _, r := range refs {
				if m.qualifier == "" || m.qualifier == r.alias || (r.alias == "" && m.qualifier == r.name) {
					target = append(target, r)
				}
			}
			if len(target) != 1 {
				continue // ambiguous: no pruning (DuckDB will say if it is an error)
			}
			if m.col == nil {
				m.col = q.tmpl.column(m.qualifier, timeColumn(target[0].name))
			}
			id := target[0].id
			if cur, ok := narrowed[id]; ok {
				narrowed[id] = cur.intersect(m.rng)
			} else {
				narrowed[id] = m.rng
			}
		}
	})

	// 3. Every reference of a lake table adds its range (all of time unless
	// narrowed) to the table's views.
	plan := &queryPlan{ranges: map[string]timeRange{}}
	walkAST(stmt, func(n map[string]any) {
		name, ok := isLake(n)
		if !ok {
			return
		}
		r := narrowed[nodeID(n)] // zero value: unbounded
		if cur, seen := plan.ranges[name]; seen {
			plan.ranges[name] = cur.union(r)
		} else {
			plan.ranges[name] = r
		}
	})

	// 4. Replace the macros by comparisons with constants.
	if len(macros) > 0 {
		replaceAST(stmt, func(n map[string]any) (any, bool) {
			m := macros[nodeID(n)]
			if m == nil {
				return nil, false
			}
			if m.col == nil {
				m.col = q.tmpl.column(m.qualifier, "p_event_time")
			}
			return q.tmpl.rangeNode(m), true
		})
		plan.rewritten = true
	}
	return plan, nil
}

// conjuncts flattens a WHERE clause's top-level ANDs.
func conjuncts(where any) []map[string]any {
	n, _ := where.(map[string]any)
	if n == nil {
		return nil
	}
	if n["type"] == "CONJUNCTION_AND" {
		var out []map[string]any
		children, _ := n["children"].([]any)
		for _, c := range children {
			out = append(out, conjuncts(c)...)
		}
		return out
	}
	return []map[string]any{n}
}

// nodeID identifies a parse-tree object (maps are references).
func nodeID(n map[string]any) uintptr { return reflect.ValueOf(n).Pointer() }

// replaceAST replaces, depth first from the top, every object for which f
// returns a replacement.
func replaceAST(v any, f func(map[string]any) (any, bool)) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if cm, ok := child.(map[string]any); ok {
				if r, ok := f(cm); ok {
					v[k] = r
					continue
				}
			}
			replaceAST(child, f)
		}
	case []any:
		for i, child := range v {
			if cm, ok := child.(map[string]any); ok {
				if r, ok := f(cm); ok {
					v[i] = r
					continue
				}
			}
			replaceAST(child, f)
		}
	}
}

// evalMacro checks a macro call's arguments and evaluates them.
func (q *Querier) evalMacro(ctx context.Context, conn *sql.Conn, name string, n map[string]any) (*macro, error) {
	usage := map[string]string{
		"p_occurs_since":   "p_occurs_since(offset [, table_alias]) with an offset such as '1 day', '6 hours', '30m', INTERVAL 2 DAY or a number of seconds",
		"p_occurs_between": "p_occurs_between(start, end [, table_alias]) with times such as '2024-05-01 00:00:00' or TIMESTAMP '2024-05-01'",
		"p_occurs_around":  "p_occurs_around(time, offset [, table_alias]): p_event_time within offset of time",
	}[name]
	args, _ := n["children"].([]any)
	want := macroArgs[name]
	if len(args) != want && len(args) != want+1 {
		return nil, invalid("%s takes %d or %d arguments: %s", name, want, want+1, usage)
	}
	m := &macro{}
	if len(args) == want+1 {
		c, _ := args[want].(map[string]any)
		names, _ := c["column_names"].([]any)
		if c["class"] != "COLUMN_REF" || len(names) == 0 {
			return nil, invalid("%s: the last argument names a table alias (t) or a time column (t.p_event_time): %s", name, usage)
		}
		if len(names) == 1 {
			alias, _ := names[0].(string)
			m.qualifier = strings.ToLower(alias)
		} else {
			m.col = c
			alias, _ := names[len(names)-2].(string)
			m.qualifier = strings.ToLower(alias)
		}
		args = args[:want]
	}
	for _, a := range args {
		var bad string
		walkAST(a, func(x map[string]any) {
			switch x["class"] {
			case "COLUMN_REF", "SUBQUERY", "PARAMETER", "STAR", "LAMBDA", "WINDOW":
				if bad == "" {
					bad = strings.ToLower(fmt.Sprint(x["class"]))
				}
			}
		})
		if bad != "" {
			return nil, invalid("%s: arguments must be constants (got a %s): %s", name, strings.ReplaceAll(bad, "_", " "), usage)
		}
	}
	vals, err := q.evalConstants(ctx, conn, args)
	if err != nil {
		return nil, invalid("%s: %v: %s", name, err, usage)
	}
	switch name {
	case "p_occurs_since":
		iv, err := toInterval(ctx, conn, vals[0])
		if err != nil {
			return nil, invalid("%s: %v: %s", name, err, usage)
		}
		m.rng = timeRange{from: subInterval(q.opts.Now().UTC(), iv)}
	case "p_occurs_between":
		from, err := toTime(ctx, conn, vals[0])
		if err != nil {
			return nil, invalid("%s: start: %v: %s", name, err, usage)
		}
		to, err := toTime(ctx, conn, vals[1])
		if err != nil {
			return nil, invalid("%s: end: %v: %s", name, err, usage)
		}
		m.rng = timeRange{from, to}
	case "p_occurs_around":
		at, err := toTime(ctx, conn, vals[0])
		if err != nil {
			return nil, invalid("%s: time: %v: %s", name, err, usage)
		}
		iv, err := toInterval(ctx, conn, vals[1])
		if err != nil {
			return nil, invalid("%s: offset: %v: %s", name, err, usage)
		}
		m.rng = timeRange{subInterval(at, iv), subInterval(at, duckdb.Interval{Months: -iv.Months, Days: -iv.Days, Micros: -iv.Micros})}
	}
	if !m.rng.to.IsZero() && m.rng.to.Before(m.rng.from) {
		return nil, invalid("%s: the range ends (%s) before it starts (%s)", name, m.rng.to.Format(time.RFC3339Nano), m.rng.from.Format(time.RFC3339Nano))
	}
	return m, nil
}

// evalConstants evaluates constant expressions of a parse tree.
func (q *Querier) evalConstants(ctx context.Context, conn *sql.Conn, exprs []any) ([]any, error) {
	stmt := q.tmpl.selectConstants(exprs)
	text, err := q.deserialize(ctx, conn, stmt)
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(exprs))
	ptrs := make([]any, len(exprs))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := conn.QueryRowContext(ctx, text).Scan(ptrs...); err != nil {
		var de *duckdb.Error
		if errors.As(err, &de) {
			return nil, errors.New(strings.SplitN(de.Msg, "\n", 2)[0])
		}
		return nil, err
	}
	return vals, nil
}

func toInterval(ctx context.Context, conn *sql.Conn, v any) (duckdb.Interval, error) {
	const seconds = 1_000_000
	switch v := v.(type) {
	case duckdb.Interval:
		return v, nil
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64, int, uint:
		n := reflect.ValueOf(v).Convert(reflect.TypeFor[int64]()).Int()
		return duckdb.Interval{Micros: n * seconds}, nil
	case float32, float64:
		f := reflect.ValueOf(v).Convert(reflect.TypeFor[float64]()).Float()
		return duckdb.Interval{Micros: int64(math.Round(f * seconds))}, nil
	case duckdb.Decimal:
		return duckdb.Interval{Micros: int64(math.Round(v.Float64() * seconds))}, nil
	case *big.Int:
		return duckdb.Interval{Micros: v.Int64() * seconds}, nil
	case string:
		var iv duckdb.Interval
		err := conn.QueryRowContext(ctx, "SELECT CAST($1::VARCHAR AS INTERVAL)", v).Scan(&iv)
		if err != nil {
			return iv, fmt.Errorf("%q is not an interval", v)
		}
		return iv, nil
	case nil:
		return duckdb.Interval{}, errors.New("the offset is NULL")
	}
	return duckdb.Interval{}, fmt.Errorf("the offset %v is not an interval or a number of seconds", v)
}

func toTime(ctx context.Context, conn *sql.Conn, v any) (time.Time, error) {
	switch v := v.(type) {
	case time.Time:
		return v.UTC(), nil
	case string:
		var t time.Time
		if err := conn.QueryRowContext(ctx, "SELECT CAST($1::VARCHAR AS TIMESTAMPTZ)", v).Scan(&t); err != nil {
			return t, fmt.Errorf("%q is not a time", v)
		}
		return t.UTC(), nil
	case nil:
		return time.Time{}, errors.New("the time is NULL")
	}
	return time.Time{}, fmt.Errorf("%v is not a time", v)
}

// subInterval is t minus iv.
func subInterval(t time.Time, iv duckdb.Interval) time.Time {
	return t.AddDate(0, -int(iv.Months), -int(iv.Days)).Add(-time.Duration(iv.Micros) * time.Microsecond)
}

// astTemplates are parse-tree pieces the rewrites copy.
type astTemplates struct {
	selectOne map[string]any // SELECT 1
	ge        map[string]any // x >= 'A'
	between   map[string]any // x BETWEEN 'A' AND 'B'
	col       map[string]any // p_event_time
	qualCol   map[string]any // t.p_event_time
}

func (t *astTemplates) load(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	get := func(text string) (map[string]any, error) {
		var out string
		if err := conn.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql($1::VARCHAR) AS VARCHAR)", text).Scan(&out); err != nil {
			return nil, err
		}
		doc, err := decodeJSON(out)
		if err != nil {
			return nil, err
		}
		stmts, _ := doc["statements"].([]any)
		if len(stmts) != 1 {
			return nil, fmt.Errorf("parsing the template %q: %s", text, out)
		}
		return stmts[0].(map[string]any), nil
	}
	var errs []error
	must := func(m map[string]any, err error) map[string]any {
		errs = append(errs, err)
		return m
	}
	t.selectOne = must(get("SELECT 1"))
	where := must(get("SELECT 1 WHERE p_event_time >= 'A' AND p_event_time BETWEEN 'A' AND 'B'"))
	cols := must(get("SELECT p_event_time, t.p_event_time"))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("loading query templates: %w", err)
	}
	parts := conjuncts(where["node"].(map[string]any)["where_clause"])
	list := cols["node"].(map[string]any)["select_list"].([]any)
	if len(parts) != 2 || len(list) != 2 {
		return errors.New("loading query templates: unexpected parse tree")
	}
	t.ge, t.between = parts[0], parts[1]
	t.col, t.qualCol = list[0].(map[string]any), list[1].(map[string]any)
	return nil
}

// column is a column reference, qualified by alias when set.
func (t *astTemplates) column(alias, name string) map[string]any {
	if alias == "" {
		c := cloneNode(t.col)
		c["column_names"] = []any{name}
		return c
	}
	c := cloneNode(t.qualCol)
	c["column_names"] = []any{alias, name}
	return c
}

// selectConstants is SELECT expr, expr, ….
func (t *astTemplates) selectConstants(exprs []any) map[string]any {
	s := cloneNode(t.selectOne)
	list := make([]any, len(exprs))
	for i, e := range exprs {
		c := cloneNode(e.(map[string]any))
		c["alias"] = ""
		list[i] = c
	}
	s["node"].(map[string]any)["select_list"] = list
	return s
}

// rangeNode is the comparison a macro stands for: col >= 'from' when the
// range is open-ended, else col BETWEEN 'from' AND 'to'. The literals are
// UTC with an explicit +00 offset, right for TIMESTAMP and TIMESTAMPTZ.
func (t *astTemplates) rangeNode(m *macro) map[string]any {
	lit := func(tm time.Time) string { return tm.UTC().Format("2006-01-02 15:04:05.999999") + "+00" }
	setConst := func(n any, s string) {
		n.(map[string]any)["value"].(map[string]any)["value"] = s
	}
	if m.rng.to.IsZero() {
		n := cloneNode(t.ge)
		n["left"] = cloneNode(m.col)
		setConst(n["right"], lit(m.rng.from))
		return n
	}
	n := cloneNode(t.between)
	n["input"] = cloneNode(m.col)
	setConst(n["lower"], lit(m.rng.from))
	setConst(n["upper"], lit(m.rng.to))
	return n
}

func cloneNode(n map[string]any) map[string]any {
	data, _ := json.Marshal(n)
	out, _ := decodeJSON(string(data))
	return out
}

// createViews creates a temporary view per lake table over the snapshot
// files in its time range, and counts them into res.
func (q *Querier) createViews(ctx context.Context, conn *sql.Conn, snap Snapshot, ranges map[string]timeRange, res *Result) error {
	names := make([]string, 0, len(ranges))
	for name := range ranges {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		from, to := ranges[name].filesArgs()
		files := snap.Files(name, from, to)
		var body string
		if ct := q.controlTable(name); ct != nil {
			body = ct.view()
		} else if len(files) > 0 {
			body = "SELECT * FROM " + readParquet(files)
			for _, f := range files {
				res.Bytes += f.Bytes
			}
			res.Files += len(files)
		} else if all := snap.Files(name, time.Time{}, time.Time{}); len(all) > 0 {
			// Nothing in range: the same columns as the files, no rows.
			body = "SELECT * FROM " + readParquet(all[len(all)-1:]) + " LIMIT 0"
		} else if cols := snap.Columns(name); len(cols) > 0 {
			var b strings.Builder
			b.WriteString("SELECT ")
			for i, c := range cols {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "CAST(NULL AS %s) AS %s", c.Type, quoteIdent(c.Name))
			}
			if !slices.ContainsFunc(cols, func(c Column) bool { return c.Name == "dt" }) {
				b.WriteString(", CAST(NULL AS DATE) AS dt, CAST(NULL AS BIGINT) AS hour") // the hive partition columns
			}
			b.WriteString(" LIMIT 0")
			body = b.String()
		} else {
			continue
		}
		if _, err := conn.ExecContext(ctx, "CREATE TEMP VIEW "+quoteIdent(name)+" AS "+body); err != nil {
			return fmt.Errorf("lake table %s: %w", name, err)
		}
		res.Tables = append(res.Tables, name)
	}
	return nil
}

// readParquet is the read_parquet call over files.
func readParquet(files []File) string {
	return "read_parquet([" + fileList(files) + "], hive_partitioning = true, union_by_name = true)"
}

// jsonValue makes a driver value JSON-friendly.
func jsonValue(v any, dbType string) any {
	switch v := v.(type) {
	case nil, bool, string, int8, int16, int32, int64, uint8, uint16, uint32, uint64, int, uint:
		return v
	case float32:
		return jsonFloat(float64(v))
	case float64:
		return jsonFloat(v)
	case time.Time:
		switch dbType {
		case "DATE":
			return v.Format("2006-01-02")
		case "TIME":
			return v.Format("15:04:05.999999")
		}
		return v.UTC().Format(time.RFC3339Nano)
	case duckdb.Interval:
		return formatInterval(v)
	case duckdb.Decimal:
		return json.Number(v.String())
	case *big.Int:
		if v.IsInt64() {
			return v.Int64()
		}
		return v.String()
	case []byte:
		if dbType == "UUID" && len(v) == 16 {
			return fmt.Sprintf("%x-%x-%x-%x-%x", v[0:4], v[4:6], v[6:8], v[8:10], v[10:16])
		}
		if json.Valid(v) && dbType == "JSON" {
			return json.RawMessage(v)
		}
		return base64.StdEncoding.EncodeToString(v)
	case []any:
		elem := strings.TrimSuffix(dbType, "[]")
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e, elem)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = jsonValue(e, "")
		}
		return out
	case duckdb.OrderedMap:
		out := make(map[string]any, v.Len())
		keys, vals := v.Keys(), v.Values()
		for i := range keys {
			out[fmt.Sprint(jsonValue(keys[i], ""))] = jsonValue(vals[i], "")
		}
		return out
	case duckdb.Union:
		return jsonValue(v.Value, "")
	case duckdb.UUID:
		return jsonValue(v[:], "UUID")
	case *duckdb.UUID:
		return jsonValue(v[:], "UUID")
	}
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprint(v)
}

func jsonFloat(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return f
}

// formatInterval writes an interval as DuckDB does ("1 day 02:00:00").
func formatInterval(iv duckdb.Interval) string {
	var parts []string
	plural := func(n int64, unit string) {
		if n == 0 {
			return
		}
		s := fmt.Sprintf("%d %s", n, unit)
		if n != 1 && n != -1 {
			s += "s"
		}
		parts = append(parts, s)
	}
	plural(int64(iv.Months/12), "year")
	plural(int64(iv.Months%12), "month")
	plural(int64(iv.Days), "day")
	if iv.Micros != 0 || len(parts) == 0 {
		us := iv.Micros
		sign := ""
		if us < 0 {
			sign, us = "-", -us
		}
		d := time.Duration(us) * time.Microsecond
		s := fmt.Sprintf("%s%02d:%02d:%02d", sign, int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
		if frac := us % 1_000_000; frac != 0 {
			s += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// TableInfo describes a lake table for a schema browser.
type TableInfo struct {
	Name    string
	Columns []Column
	Files   int
	Rows    int64
	Bytes   int64
	Min     time.Time // earliest p_event_time (zero if no files)
	Max     time.Time
}

// Tables lists the lake's tables with their columns and sizes.
func (q *Querier) Tables(ctx context.Context) ([]TableInfo, error) {
	snap := q.snap()
	defer snap.Release()
	var out []TableInfo
	for _, ct := range q.opts.ControlTables {
		out = append(out, TableInfo{Name: ct.Name, Columns: ct.Columns})
	}
	for _, name := range snap.Tables() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t := TableInfo{Name: name, Columns: snap.Columns(name)}
		for _, f := range snap.Files(name, time.Time{}, time.Time{}) {
			t.Files++
			t.Rows += f.Rows
			t.Bytes += f.Bytes
			if t.Min.IsZero() || f.Min.Before(t.Min) {
				t.Min = f.Min
			}
			if f.Max.After(t.Max) {
				t.Max = f.Max
			}
		}
		if t.Columns == nil {
			t.Columns = []Column{}
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b TableInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
