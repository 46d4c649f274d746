package lake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every way out of the sandbox we know of is refused with a clear error,
// and none leaves a trace on disk.
func TestSandboxRefusesEscapes(t *testing.T) {
	q, snap, dir := qLake(t, 100, QueryOptions{})
	outside := t.TempDir()
	other := filepath.Join(outside, "other.parquet")
	if _, err := qWriter(t).Exec("COPY (SELECT 42 AS secret) TO " + quoteLiteral(other)); err != nil {
		t.Fatal(err)
	}
	lakeFile := snap.files["okta_systemlog"][0].Path
	written := []string{filepath.Join(outside, "x"), filepath.Join(outside, "x.db"), filepath.Join(dir, "x.parquet"),
		filepath.Join(dir, "logs"), filepath.Join(outside, "logs")}
	sub := func(s string) string {
		return strings.NewReplacer("$OUT", outside, "$LAKE", dir, "$OTHER", other, "$FILE", lakeFile).Replace(s)
	}

	const (
		notSelect  = "only a single read-only SELECT statement may run"
		permission = "disabled by configuration"
		tableFunc  = "is not allowed in lake queries"
	)
	for _, tc := range []struct{ sql, want string }{
		// Files outside the lake, through every reader.
		{"SELECT * FROM read_csv('/etc/passwd')", permission},
		{"SELECT * FROM read_text('/etc/passwd')", permission},
		{"SELECT * FROM read_blob('/etc/hostname')", permission},
		{"SELECT * FROM read_json('/etc/os-release')", permission},
		{"SELECT * FROM '/etc/passwd.csv'", permission},
		{"SELECT * FROM read_csv('$LAKE/../" + filepath.Base(outside) + "/x.csv')", permission},
		{"SELECT * FROM read_parquet('$OTHER')", permission},
		{"SELECT * FROM '$OTHER'", permission},
		{"SELECT * FROM read_parquet('$LAKE/../" + filepath.Base(outside) + "/other.parquet')", permission},
		{"SELECT * FROM parquet_metadata('$OTHER')", permission},
		{"SELECT * FROM glob('/etc/*')", permission},
		{"SELECT * FROM glob('$OUT/*')", permission},
		// Writing, attaching, extensions, settings, DDL, DML.
		{"COPY (SELECT 1) TO '$OUT/x'", notSelect},
		{"COPY (SELECT 1) TO '$LAKE/x.parquet'", notSelect},
		{"COPY okta_systemlog TO '$LAKE/x.parquet'", notSelect},
		{"EXPORT DATABASE '$OUT'", notSelect},
		{"ATTACH '$OUT/x.db'", notSelect},
		{"ATTACH ':memory:' AS m", notSelect},
		{"DETACH m", notSelect},
		{"INSTALL httpfs", notSelect},
		{"LOAD httpfs", notSelect},
		{"LOAD '$OUT/evil.duckdb_extension'", notSelect},
		{"SET enable_external_access = true", notSelect},
		{"SET memory_limit = '1GB'", notSelect},
		{"RESET lock_configuration", notSelect},
		{"SET VARIABLE v = 1", notSelect},
		{"PRAGMA enable_profiling", notSelect},
		{"CALL enable_logging()", notSelect},
		{"CREATE TABLE x AS SELECT 1", notSelect},
		{"CREATE MACRO m() AS 1", notSelect},
		{"CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", notSelect},
		{"INSERT INTO okta_systemlog (p_row_id) VALUES ('x')", notSelect},
		{"UPDATE okta_systemlog SET p_row_id = 'x'", notSelect},
		{"DELETE FROM okta_systemlog", notSelect},
		{"DROP VIEW okta_systemlog", notSelect},
		{"EXPLAIN ANALYZE COPY (SELECT 1) TO '$OUT/x'", notSelect},
		{"BEGIN TRANSACTION", notSelect},
		{"CHECKPOINT", notSelect},
		{"VACUUM", notSelect},
		// Several statements, the bad one hidden behind a good one.
		{"SELECT 1; COPY (SELECT 1) TO '$OUT/x'", notSelect},
		{"SELECT 1; SELECT 2", "holds 2 statements"},
		{"SELECT 1; ATTACH '$OUT/x.db'", notSelect},
		// Table functions with side effects or hidden SQL.
		{"SELECT * FROM enable_logging(storage = 'file', storage_path = '$LAKE/logs')", tableFunc},
		{"SELECT * FROM enable_logging(storage = 'file', storage_path = '$OUT/logs')", tableFunc},
		{"SELECT * FROM checkpoint()", tableFunc},
		{"SELECT * FROM query('SELECT * FROM enable_logging()')", tableFunc},
		{"SELECT * FROM query_table('okta_systemlog')", tableFunc},
		{"SELECT * FROM (SELECT 1) JOIN LATERAL (FROM enable_profiling()) ON true", tableFunc},
		{"WITH c AS (FROM json_execute_serialized_sql('{}')) FROM c", tableFunc},
	} {
		sql := sub(tc.sql)
		_, err := q.Query(context.Background(), sql)
		var qe *QueryError
		if err == nil || !errors.As(err, &qe) || qe.Kind != ErrRefused || !qe.ClientError() || !strings.Contains(err.Error(), tc.want) ||
			!strings.HasPrefix(err.Error(), "query: ") {
			t.Errorf("%s:\n  got %v\n  want a refusal containing %q", sql, err, tc.want)
		}
	}
	for _, p := range written {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
	// The configuration is as locked as before, and normal queries run.
	res := qMust(t, q, `SELECT current_setting('enable_external_access'), current_setting('lock_configuration'),
		current_setting('memory_limit') <> '1.0 GiB', current_setting('autoload_known_extensions')`)
	if got := res.Rows[0]; got[0] != false || got[1] != true || got[2] != true || got[3] != false {
		t.Errorf("settings after the attempts: %v", got)
	}
	// Reading the lake's own files directly is allowed: that is the lake.
	res = qMust(t, q, sub("SELECT count(*) FROM read_parquet('$FILE')"))
	if res.Rows[0][0].(int64) == 0 {
		t.Errorf("direct read of a lake file: %v", res.Rows)
	}
	res = qMust(t, q, `SELECT count(*) FROM okta_systemlog WHERE len(list_filter(p_any_emails, e -> e LIKE '%@example.com')) > 0`)
	if res.Rows[0][0] != int64(100) {
		t.Errorf("list lambda: %v", res.Rows)
	}
	res = qMust(t, q, `DESCRIBE okta_systemlog`)
	if len(res.Rows) < 20 {
		t.Errorf("DESCRIBE: %v", res.Rows)
	}
	res = qMust(t, q, `SUMMARIZE SELECT p_event_time FROM okta_systemlog`)
	if len(res.Rows) != 1 {
		t.Errorf("SUMMARIZE: %v", res.Rows)
	}
}

// A view may only cover files under the lake directory: a snapshot that
// names one elsewhere fails rather than reading it.
func TestSandboxViewsStayInTheLake(t *testing.T) {
	q, snap, _ := qLake(t, 100, QueryOptions{})
	other := filepath.Join(t.TempDir(), "other.parquet")
	if _, err := qWriter(t).Exec("COPY (SELECT TIMESTAMP '2026-03-30 00:00:00' AS p_event_time) TO " + quoteLiteral(other)); err != nil {
		t.Fatal(err)
	}
	snap.files["okta_systemlog"] = []File{{Table: "okta_systemlog", Path: other, Min: qEnd.AddDate(0, 0, -1), Max: qEnd.AddDate(0, 0, -1)}}
	_, err := q.Query(context.Background(), "SELECT * FROM okta_systemlog")
	if err == nil || !strings.Contains(err.Error(), "disabled by configuration") {
		t.Errorf("a snapshot file outside the lake: %v", err)
	}
}
