package lake

// The query sandbox. A query may read the lake and nothing else, and may
// change nothing. Two layers enforce it, neither by matching strings:
//
//  1. DuckDB's own configuration, set once when the database opens and then
//     locked (lock_configuration), so no statement can set anything back:
//     enable_external_access=false with allowed_directories=[the lake
//     directory] (every file access elsewhere — read_csv('/etc/passwd'),
//     glob('/etc/*'), ATTACH, COPY TO — fails with a Permission Error),
//     no extension installing or autoloading, no community or unsigned
//     extensions, no spilling to disk unless a temp directory is given.
//  2. DuckDB's parser: the query is parsed with json_serialize_sql and must
//     be exactly one SELECT statement (WITH, FROM-first, VALUES, DESCRIBE,
//     SUMMARIZE, SHOW are SELECTs too); the prepared statement's type is
//     checked again before it runs. Every table function in the parse tree
//     must be on an allow-list of read-only ones: a few table functions
//     have side effects even inside a SELECT (enable_logging, checkpoint,
//     query() which runs SQL text the parse tree does not show).
//
// allowed_directories also lets COPY write into the lake directory, which
// is why the second layer refuses every statement that is not a SELECT.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// ErrorKind says what went wrong with a query.
type ErrorKind int

const (
	// ErrInvalid is a query DuckDB could not parse, bind or run (syntax,
	// unknown column, bad cast): the message says where.
	ErrInvalid ErrorKind = iota + 1
	// ErrRefused is a query the sandbox does not run (not a single
	// read-only SELECT, a forbidden function, a file outside the lake).
	ErrRefused
	// ErrLimit is a query over a limit (bytes to scan, memory).
	ErrLimit
	// ErrTimeout is a query stopped by its statement timeout.
	ErrTimeout
	// ErrCanceled is a query whose caller went away.
	ErrCanceled
	// ErrInternal is a failure that is not the query's fault.
	ErrInternal
)

// QueryError is the error of a query. Its message starts with "query:" and
// keeps DuckDB's pointer into the SQL ("LINE 1: ... ^") when there is one.
type QueryError struct {
	Kind ErrorKind
	Msg  string
	Err  error
}

func (e *QueryError) Error() string { return e.Msg }
func (e *QueryError) Unwrap() error { return e.Err }

// ClientError reports whether the query itself is at fault (an HTTP API
// answers 400): invalid, refused or over a limit.
func (e *QueryError) ClientError() bool {
	return e.Kind == ErrInvalid || e.Kind == ErrRefused || e.Kind == ErrLimit
}

// Timeout reports whether the statement timeout stopped the query.
func (e *QueryError) Timeout() bool { return e.Kind == ErrTimeout }

func refused(format string, args ...any) error {
	return &QueryError{Kind: ErrRefused, Msg: "query: refused: " + fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) error {
	return &QueryError{Kind: ErrInvalid, Msg: "query: " + fmt.Sprintf(format, args...)}
}

// queryErr turns an error of running a query into a *QueryError.
func queryErr(ctx context.Context, timeout time.Duration, err error) error {
	if err == nil {
		return nil
	}
	var qe *QueryError
	if errors.As(err, &qe) {
		return err
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &QueryError{Kind: ErrTimeout, Msg: fmt.Sprintf("query: stopped after the statement timeout of %s", timeout), Err: context.DeadlineExceeded}
	case errors.Is(ctx.Err(), context.Canceled):
		return &QueryError{Kind: ErrCanceled, Msg: "query: canceled", Err: context.Canceled}
	}
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return &QueryError{Kind: ErrInternal, Msg: "query: " + err.Error(), Err: err}
	}
	msg := "query: " + strings.TrimSpace(de.Msg)
	switch de.Type {
	case duckdb.ErrorTypePermission:
		return &QueryError{Kind: ErrRefused, Msg: msg + "\n(queries may read only the lake: see docs/search.md)", Err: err}
	case duckdb.ErrorTypeOutOfMemory:
		return &QueryError{Kind: ErrLimit, Msg: msg + "\n(the query needs more memory than the lake's query memory limit: narrow the time range or aggregate more)", Err: err}
	case duckdb.ErrorTypeInterrupt:
		return &QueryError{Kind: ErrCanceled, Msg: "query: interrupted", Err: err}
	case duckdb.ErrorTypeIO, duckdb.ErrorTypeFatal, duckdb.ErrorTypeInternal, duckdb.ErrorTypeConnection, duckdb.ErrorTypeNullPointer:
		return &QueryError{Kind: ErrInternal, Msg: msg, Err: err}
	}
	return &QueryError{Kind: ErrInvalid, Msg: msg, Err: err}
}

// openSandbox opens the in-memory DuckDB database queries run in, with
// file access limited to dir, and locks its configuration.
func openSandbox(dir string, opts QueryOptions) (*duckdb.Connector, *sql.DB, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	abs = strings.TrimRight(filepath.Clean(abs), string(filepath.Separator)) + string(filepath.Separator)
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, nil, fmt.Errorf("opening DuckDB: %w", err)
	}
	db := sql.OpenDB(connector)
	// Every query gets a fresh connection, so the views of one query's
	// snapshot are never seen by another (temporary views belong to their
	// connection) and nothing a query did survives it.
	db.SetMaxIdleConns(0)
	settings := []string{
		"SET GLOBAL TimeZone = 'UTC'",
		"SET GLOBAL temp_directory = " + quoteLiteral(opts.TempDir), // before external access is off
		"SET GLOBAL parquet_metadata_cache = true",
		"SET GLOBAL allowed_directories = [" + quoteLiteral(abs) + "]",
		"SET GLOBAL enable_external_access = false",
		"SET GLOBAL autoinstall_known_extensions = false",
		"SET GLOBAL autoload_known_extensions = false",
		"SET GLOBAL allow_community_extensions = false",
		"SET GLOBAL allow_unsigned_extensions = false",
		"SET GLOBAL allow_persistent_secrets = false",
	}
	if opts.Threads > 0 {
		settings = append(settings, fmt.Sprintf("SET GLOBAL threads = %d", opts.Threads))
	}
	if opts.MemoryLimit != "" {
		settings = append(settings, "SET GLOBAL memory_limit = "+quoteLiteral(opts.MemoryLimit))
	}
	for _, a := range allocatorSettings {
		settings = append(settings, "SET GLOBAL "+a)
	}
	settings = append(settings, "SET GLOBAL lock_configuration = true")
	for _, s := range settings {
		if _, err := db.Exec(s); err != nil {
			db.Close()
			connector.Close()
			return nil, nil, fmt.Errorf("configuring the query sandbox (%s): %w", s, err)
		}
	}
	return connector, db, nil
}

// allowedTableFunctions are the table functions a query may call: file
// readers (which the configuration limits to the lake directory), generators and
// catalog introspection. Anything else — enable_logging, checkpoint,
// query(), query_table(), json_execute_serialized_sql() — is refused.
var allowedTableFunctions = map[string]bool{
	"read_parquet": true, "parquet_scan": true, "parquet_metadata": true, "parquet_schema": true,
	"parquet_file_metadata": true, "parquet_kv_metadata": true, "parquet_bloom_probe": true,
	"read_csv": true, "read_csv_auto": true, "sniff_csv": true, "read_json": true, "read_json_auto": true,
	"read_ndjson": true, "read_ndjson_auto": true, "read_json_objects": true, "read_ndjson_objects": true,
	"read_text": true, "read_blob": true,
	"glob": true, "range": true, "generate_series": true, "unnest": true,
	"json_each": true, "json_tree": true,
	"histogram": true, "histogram_values": true,
	"duckdb_columns": true, "duckdb_tables": true, "duckdb_views": true, "duckdb_functions": true,
	"duckdb_types": true, "duckdb_keywords": true, "duckdb_settings": true,
	"pragma_table_info": true, "pragma_version": true, "pg_timezone_names": true, "icu_calendar_names": true,
}

// AllowedTableFunctions lists the table functions queries may call.
func AllowedTableFunctions() []string {
	out := make([]string, 0, len(allowedTableFunctions))
	for name := range allowedTableFunctions {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// checkTableFunctions refuses a parse tree that calls a table function not
// on the allow-list.
func checkTableFunctions(stmt any) error {
	var bad error
	walkAST(stmt, func(n map[string]any) {
		if bad != nil || n["type"] != "TABLE_FUNCTION" {
			return
		}
		fn, _ := n["function"].(map[string]any)
		name, _ := fn["function_name"].(string)
		if !allowedTableFunctions[strings.ToLower(name)] {
			bad = refused("the table function %s is not allowed in lake queries (allowed: %s)", name, strings.Join(AllowedTableFunctions(), ", "))
		}
	})
	return bad
}

// walkAST calls f on every JSON object of a parse tree, parents first.
func walkAST(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, k := range sortedKeys(v) {
			walkAST(v[k], f)
		}
	case []any:
		for _, e := range v {
			walkAST(e, f)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// prepareSelect prepares text as exactly one statement on the raw DuckDB
// connection and checks that it is a SELECT. database/sql's PrepareContext
// and QueryContext would run all but the last of several statements; the
// driver's context-free Prepare refuses more than one.
func prepareSelect(dc any, text string) (*duckdb.Stmt, error) {
	conn, ok := dc.(*duckdb.Conn)
	if !ok {
		return nil, fmt.Errorf("unexpected driver connection %T", dc)
	}
	st, err := conn.Prepare(text)
	if err != nil {
		return nil, err
	}
	stmt := st.(*duckdb.Stmt)
	typ, err := stmt.StatementType()
	if err != nil {
		stmt.Close()
		return nil, err
	}
	if typ != duckdb.STATEMENT_TYPE_SELECT {
		stmt.Close()
		return nil, refused("only a single read-only SELECT statement may run")
	}
	return stmt, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
