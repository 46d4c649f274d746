package lake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

// qSnap is a Snapshot over files the test wrote, recording the time
// ranges the querier asked for.
type qSnap struct {
	mu       sync.Mutex
	files    map[string][]File
	cols     map[string][]Column
	calls    []qFilesCall
	taken    atomic.Int32
	released atomic.Int32
}

type qFilesCall struct {
	table    string
	from, to time.Time
}

func (s *qSnap) Tables() []string {
	var out []string
	for t, fs := range s.files {
		if len(fs) > 0 {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

func (s *qSnap) Files(table string, from, to time.Time) []File {
	s.mu.Lock()
	s.calls = append(s.calls, qFilesCall{table, from, to})
	s.mu.Unlock()
	var out []File
	for _, f := range s.files[table] {
		if (!from.IsZero() && f.Max.Before(from)) || (!to.IsZero() && !f.Min.Before(to)) {
			continue
		}
		out = append(out, f)
	}
	return out
}

func (s *qSnap) Columns(table string) []Column { return s.cols[table] }
func (s *qSnap) Release()                      { s.released.Add(1) }

func (s *qSnap) get() Snapshot { s.taken.Add(1); return s }

func (s *qSnap) lastCalls() []qFilesCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.calls
	s.calls = nil
	return out
}

// qEventTypes are the synthetic Okta event types; one in 20 events is a
// user.session.start.
var qEventTypes = []string{
	"user.session.start", "user.authentication.sso", "user.authentication.auth_via_mfa", "user.session.end",
	"policy.evaluate_sign_on", "user.authentication.verify", "app.oauth2.as.authorize", "user.account.update_profile",
	"system.push.send_factor_verify_push", "user.mfa.okta_verify.deny_push", "group.user_membership.add",
	"user.lifecycle.create", "user.account.lock", "app.user_management.push_profile_success", "user.session.access_admin_app",
	"security.threat.detected", "user.account.reset_password", "application.user_membership.add",
	"user.authentication.auth_via_IDP", "user.account.privilege.grant",
}

// qNeedleIP appears in every 100,000th event (i % 100000 == 7).
const qNeedleIP = "203.0.113.77"

// qOktaEvents is a SELECT of n synthetic Okta System Log events, the i-th
// at start + i*step, with the Okta objects as STRUCTs: 5,000 users, 20%
// of events failing, IPs from 10.0.0.0/14.
func qOktaEvents(n int64, start time.Time, step time.Duration) string {
	return qOktaEventsRange(0, n, start, step)
}

// qOktaEventsRange is events lo to hi-1 of qOktaEvents.
func qOktaEventsRange(lo, hi int64, start time.Time, step time.Duration) string {
	types := make([]string, len(qEventTypes))
	for i, t := range qEventTypes {
		types[i] = quoteLiteral(t)
	}
	return fmt.Sprintf(`
WITH b AS (
  SELECT i, TIMESTAMP '%s' + to_microseconds(i * %d) AS ts, CAST(hash(i) >> 1 AS BIGINT) AS h FROM range(%d, %d) r(i)
), e AS (
  SELECT i, ts, h,
    'user' || (h %% 5000) || '@example.com' AS email,
    [%s][((h >> 20) %% 20) + 1] AS et,
    ((h >> 13) %% 100) < 20 AS failed,
    CASE WHEN i %% 100000 = 7 THEN '%s'
      ELSE '10.' || ((h >> 30) %% 4) || '.' || ((h >> 34) %% 256) || '.' || ((h >> 42) %% 256) END AS ip
  FROM b
)
SELECT i, ts, ip, email,
  lower(printf('%%08x-%%04x-11ee-%%04x-%%012x', h %% 4294967296, (h >> 32) %% 65536, (h >> 48) %% 65536, i)) AS uuid,
  et AS eventType, '0' AS version,
  CASE WHEN failed THEN 'WARN' ELSE 'INFO' END AS severity,
  CASE WHEN failed THEN 'User login to Okta failed' ELSE 'User login to Okta' END AS displayMessage,
  {'id': '00u' || (h %% 5000) || 'abcdEFGH1d7', 'type': 'User', 'alternateId': email, 'displayName': 'User ' || (h %% 5000)} AS actor,
  {'userAgent': {'rawUserAgent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'os': 'Mac OS X', 'browser': 'CHROME'},
   'zone': 'null', 'device': 'Computer', 'ipAddress': ip,
   'geographicalContext': {'city': 'Springfield', 'state': 'Oregon', 'country': 'United States', 'postalCode': '97477', 'geolocation': {'lat': 44.05, 'lon': -123.02}}} AS client,
  {'result': CASE WHEN failed THEN 'FAILURE' ELSE 'SUCCESS' END, 'reason': CASE WHEN failed THEN 'INVALID_CREDENTIALS' ELSE NULL END} AS outcome,
  {'requestId': 'req' || h, 'requestUri': '/api/v1/authn', 'url': '/api/v1/authn?'} AS debugContext,
  {'authenticationStep': 0, 'externalSessionId': 'trs' || (h %% 100000)} AS authenticationContext,
  {'type': 'WEB', 'id': 'trs' || (h %% 100000)} AS "transaction"
FROM e`, start.UTC().Format("2006-01-02 15:04:05"), step.Microseconds(), lo, hi, strings.Join(types, ", "), qNeedleIP)
}

// qOktaParquet is the lake table form of qOktaEvents: Okta objects as JSON
// text (VARCHAR), the p_ columns, and the dt/hour partition keys.
func qOktaParquet(events string) string {
	return `SELECT uuid, ts AS published, eventType, version, severity, displayMessage,
  CAST(to_json(actor) AS VARCHAR) AS actor, CAST(to_json(client) AS VARCHAR) AS client,
  CAST(to_json(outcome) AS VARCHAR) AS outcome, CAST(to_json(debugContext) AS VARCHAR) AS debugContext,
  CAST(to_json(authenticationContext) AS VARCHAR) AS authenticationContext, CAST(to_json("transaction") AS VARCHAR) AS "transaction",
  'Okta.SystemLog' AS p_log_type, printf('%016x', i) AS p_row_id, ts AS p_event_time, ts AS p_parse_time,
  CAST(0 AS BIGINT) AS p_schema_version, 'okta' AS p_source_id, 'Okta' AS p_source_label,
  [ip] AS p_any_ip_addresses, [email] AS p_any_emails, [email] AS p_any_usernames,
  ['example.com'] AS p_any_domain_names, CAST(NULL AS VARCHAR[]) AS p_any_md5_hashes,
  CAST(NULL AS VARCHAR) AS p_extra,
  strftime(ts, '%Y-%m-%d') AS dt, strftime(ts, '%H') AS hour
FROM (` + events + `)`
}

// qWriter is an unsandboxed DuckDB for writing test files.
func qWriter(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// qWriteTable writes the rows of sel (which has dt and hour columns) as a
// hive-partitioned table under dir and adds its files to snap.
func qWriteTable(t testing.TB, db *sql.DB, snap *qSnap, dir, table, sel string) {
	t.Helper()
	out := filepath.Join(dir, table)
	if _, err := db.Exec(fmt.Sprintf(`COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt, hour), OVERWRITE_OR_IGNORE)`, sel, quoteLiteral(out))); err != nil {
		t.Fatalf("writing %s: %v", table, err)
	}
	qAddFiles(t, db, snap, dir, table)
}

// qAddFiles lists a table's Parquet files with their stats into snap.
func qAddFiles(t testing.TB, db *sql.DB, snap *qSnap, dir, table string) {
	t.Helper()
	tc := quoteIdent(timeColumn(table))
	rows, err := db.Query(fmt.Sprintf(`SELECT filename, count(*), min(%s), max(%s)
		FROM read_parquet(%s, filename = true, hive_partitioning = false) GROUP BY filename ORDER BY filename`,
		tc, tc, quoteLiteral(filepath.Join(dir, table, "*", "*", "*.parquet"))))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if snap.files == nil {
		snap.files, snap.cols = map[string][]File{}, map[string][]Column{}
	}
	snap.files[table] = nil
	for rows.Next() {
		var f File
		if err := rows.Scan(&f.Path, &f.Rows, &f.Min, &f.Max); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		f.Table, f.Bytes, f.Day, f.Hour = table, st.Size(), f.Min.Format("2006-01-02"), f.Min.Hour()
		snap.files[table] = append(snap.files[table], f)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(snap.files[table]) == 0 {
		t.Fatalf("no files written for %s", table)
	}
	crows, err := db.Query(fmt.Sprintf("DESCRIBE SELECT * FROM read_parquet(%s)", quoteLiteral(snap.files[table][0].Path)))
	if err != nil {
		t.Fatal(err)
	}
	defer crows.Close()
	snap.cols[table] = nil
	for crows.Next() {
		var name, typ string
		var null, key, def, extra sql.NullString
		if err := crows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
			t.Fatal(err)
		}
		snap.cols[table] = append(snap.cols[table], Column{Name: name, Type: typ})
	}
}

// qEnd is the end of the synthetic data: the tests' "now".
var qEnd = time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)

// qLake is a lake of 30 days of synthetic Okta events (n events, evenly
// spaced, ending at qEnd) and a querier over it whose clock is qEnd.
func qLake(t testing.TB, n int64, opts QueryOptions) (*Querier, *qSnap, string) {
	t.Helper()
	dir := t.TempDir()
	snap := &qSnap{}
	span := 30 * 24 * time.Hour
	step := span / time.Duration(n)
	qWriteTable(t, qWriter(t), snap, dir, "okta_systemlog", qOktaParquet(qOktaEvents(n, qEnd.Add(-span), step)))
	opts.Dir = dir
	if opts.Now == nil {
		opts.Now = func() time.Time { return qEnd }
	}
	q, err := NewQuerier(snap.get, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q, snap, dir
}

func qMust(t *testing.T, q *Querier, sql string, params ...any) *Result {
	t.Helper()
	res, err := q.Query(context.Background(), sql, params...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return res
}

func TestQueryReadsTheLake(t *testing.T) {
	q, snap, _ := qLake(t, 30*24*10, QueryOptions{}) // 10 events an hour
	res := qMust(t, q, `SELECT count(*) AS n, min(p_event_time) AS first, max(p_event_time) AS last FROM okta_systemlog`)
	if got := res.Rows[0][0]; got != int64(7200) {
		t.Errorf("count = %v, want 7200", got)
	}
	if res.Columns[0] != (Column{"n", "BIGINT"}) || res.Columns[1].Type != "TIMESTAMP" {
		t.Errorf("columns = %+v", res.Columns)
	}
	if got := res.Rows[0][1]; got != "2026-03-01T00:00:00Z" {
		t.Errorf("first = %v (%T), want an RFC 3339 string", got, got)
	}
	if res.Files != len(snap.files["okta_systemlog"]) || res.Bytes == 0 || !slices.Equal(res.Tables, []string{"okta_systemlog"}) {
		t.Errorf("files %d bytes %d tables %v", res.Files, res.Bytes, res.Tables)
	}
	if snap.released.Load() != snap.taken.Load() {
		t.Errorf("snapshots taken %d, released %d", snap.taken.Load(), snap.released.Load())
	}

	// JSON text columns, list functions over p_any_*, aggregations.
	res = qMust(t, q, `SELECT actor ->> '$.alternateId' AS who, count(*) AS failures,
		list_distinct(flatten(list(p_any_ip_addresses)))[1] LIKE '10.%' OR true AS ips
		FROM okta_systemlog
		WHERE eventType = 'user.session.start' AND (outcome ->> '$.result') = 'FAILURE'
		GROUP BY ALL ORDER BY failures DESC, who LIMIT 3`)
	if len(res.Rows) != 3 || !strings.HasSuffix(res.Rows[0][0].(string), "@example.com") {
		t.Errorf("failed logins per user: %v", res.Rows)
	}
	res = qMust(t, q, `SELECT p_any_ip_addresses, p_any_md5_hashes, len(p_any_emails) AS n, client::JSON -> '$.geographicalContext' AS geo,
		{'a': 1, 'b': [INTERVAL 90 MINUTE]} AS s, DATE '2026-01-02' AS d, 1.5::DECIMAL(4,2) AS dec, 'NaN'::DOUBLE AS nan, gen_random_uuid() IS NOT NULL AS u
		FROM okta_systemlog WHERE list_contains(p_any_ip_addresses, ?) LIMIT 1`, qNeedleIP)
	if len(res.Rows) != 1 {
		t.Fatalf("needle: %v", res.Rows)
	}
	row := res.Rows[0]
	if ips, ok := row[0].([]any); !ok || len(ips) != 1 || ips[0] != qNeedleIP {
		t.Errorf("list column = %#v", row[0])
	}
	if row[1] != nil || row[2] != int64(1) {
		t.Errorf("null list %#v, len %#v", row[1], row[2])
	}
	if geo, ok := row[3].(map[string]any); !ok || geo["city"] != "Springfield" {
		t.Errorf("JSON value = %#v", row[3])
	}
	if s, ok := row[4].(map[string]any); !ok || fmt.Sprint(s["b"]) != "[01:30:00]" {
		t.Errorf("struct = %#v", row[4])
	}
	if row[5] != "2026-01-02" || fmt.Sprint(row[6]) != "1.5" || row[7] != "NaN" {
		t.Errorf("date %#v decimal %#v nan %#v", row[5], row[6], row[7])
	}
}

func TestQueryLimitsAndPages(t *testing.T) {
	q, _, _ := qLake(t, 24*30, QueryOptions{MaxRows: 50})
	res := qMust(t, q, `SELECT p_row_id FROM okta_systemlog ORDER BY p_event_time`)
	if len(res.Rows) != 50 || !res.Truncated {
		t.Fatalf("rows %d truncated %v, want 50 and true", len(res.Rows), res.Truncated)
	}
	var all []any
	for off := 0; ; off += 50 {
		res, err := q.Run(context.Background(), Request{SQL: `SELECT p_row_id FROM okta_systemlog ORDER BY p_event_time`, Limit: 100, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) > 50 {
			t.Fatalf("limit above MaxRows: %d rows", len(res.Rows))
		}
		for _, r := range res.Rows {
			all = append(all, r[0])
		}
		if !res.Truncated {
			break
		}
	}
	if len(all) != 720 || all[0] != "0000000000000000" || all[719] != fmt.Sprintf("%016x", 719) {
		t.Errorf("paged %d rows, first %v last %v", len(all), all[0], all[len(all)-1])
	}
	// A trailing semicolon and comment survive the LIMIT wrapping.
	res = qMust(t, q, "SELECT 42 AS answer; -- the end")
	if res.Rows[0][0] != int32(42) {
		t.Errorf("got %v", res.Rows)
	}
	// MaxBytes refuses a scan over it.
	q2, _, _ := qLake(t, 24*30, QueryOptions{MaxBytes: 1000})
	_, err := q2.Query(context.Background(), "SELECT count(*) FROM okta_systemlog")
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Kind != ErrLimit || !strings.Contains(err.Error(), "p_occurs_since") {
		t.Errorf("over MaxBytes: %v", err)
	}
}

func TestQueryErrorsPointAtTheSQL(t *testing.T) {
	q, _, _ := qLake(t, 100, QueryOptions{})
	f := func(sql string, want ...string) {
		t.Helper()
		_, err := q.Query(context.Background(), sql)
		var qe *QueryError
		if !errors.As(err, &qe) || qe.Kind != ErrInvalid || !qe.ClientError() {
			t.Fatalf("%s: want an invalid-query error, got %v", sql, err)
		}
		for _, w := range append(want, "query: ") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", sql, err, w)
			}
		}
	}
	f("SELEC 1", "syntax error", "LINE 1:", "^")
	f("SELECT nope FROM okta_systemlog", `"nope" not found`, "LINE 1:", "^")
	f("SELECT * FROM no_such_table", "no_such_table", "LINE 1:")
	f("SELECT CAST('x' AS INTEGER)", "Conversion Error")
	f("", "empty")
	f("SELECT count(*) FROM okta_systemlog\nWHERE eventType = 'user.session.start' AND outcome ->> '$.result' = 'FAILURE'",
		"bind more loosely", "(outcome ->> '$.result') = 'FAILURE'", "LINE 2: WHERE eventType", "\n"+strings.Repeat(" ", 8+51)+"^")
	f("SELECT * FROM okta_systemlog WHERE p_occurs_since(eventType)", "constants")
	f("SELECT * FROM okta_systemlog WHERE p_occurs_since('yesterday-ish')", "not an interval")
	f("SELECT * FROM okta_systemlog WHERE p_occurs_between('2026-01-02', '2026-01-01')", "ends")
}

func TestQueryTimeoutAndCancel(t *testing.T) {
	q, _, _ := qLake(t, 100, QueryOptions{Timeout: 300 * time.Millisecond})
	slow := `SELECT count(*) FROM range(1000000000000) a(x) WHERE x % 7 = 3`
	start := time.Now()
	_, err := q.Query(context.Background(), slow)
	var qe *QueryError
	if !errors.As(err, &qe) || !qe.Timeout() || !strings.Contains(err.Error(), "timeout of 300ms") {
		t.Fatalf("want a timeout, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timeout took %v to stop the query", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = q.Run(ctx, Request{SQL: slow, Timeout: time.Hour})
	if !errors.As(err, &qe) || qe.Kind != ErrCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("want canceled, got %v", err)
	}
	// The connection pool is still healthy.
	qMust(t, q, "SELECT 1")
}

func TestQuerySeesOnlyItsSnapshot(t *testing.T) {
	q, snap, _ := qLake(t, 24*30, QueryOptions{})
	all := snap.files["okta_systemlog"]
	total := qMust(t, q, "SELECT count(*) FROM okta_systemlog").Rows[0][0].(int64)
	// A snapshot without the first half of the files: the view shows only
	// the rest, even though the files are still on disk.
	snap.files["okta_systemlog"] = all[len(all)/2:]
	half := qMust(t, q, "SELECT count(*) FROM okta_systemlog").Rows[0][0].(int64)
	var want int64
	for _, f := range all[len(all)/2:] {
		want += f.Rows
	}
	if half != want || half >= total {
		t.Errorf("count over half the files = %d, want %d (all: %d)", half, want, total)
	}
	// A table with columns but no files is an empty table, not an error.
	snap.files["okta_systemlog"] = nil
	res := qMust(t, q, "SELECT p_row_id, dt FROM okta_systemlog")
	if len(res.Rows) != 0 || len(res.Columns) != 2 {
		t.Errorf("empty table: %+v", res)
	}
	if snap.released.Load() != snap.taken.Load() {
		t.Errorf("snapshots taken %d, released %d", snap.taken.Load(), snap.released.Load())
	}
	// Errors release the snapshot too.
	q.Query(context.Background(), "SELECT nope FROM okta_systemlog")
	if snap.released.Load() != snap.taken.Load() {
		t.Errorf("after an error: snapshots taken %d, released %d", snap.taken.Load(), snap.released.Load())
	}
}

func TestConcurrentQueriesKeepTheirViews(t *testing.T) {
	q, snap, dir := qLake(t, 24*30, QueryOptions{})
	all := snap.files["okta_systemlog"]
	// Two snapshots of different sizes queried at once.
	small := &qSnap{files: map[string][]File{"okta_systemlog": all[:1]}, cols: snap.cols}
	qs, err := NewQuerier(small.get, QueryOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer qs.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qq, want := q, int64(720)
			if i%2 == 1 {
				qq, want = qs, all[0].Rows
			}
			res, err := qq.Query(context.Background(), "SELECT count(*) FROM okta_systemlog")
			if err != nil {
				errs <- err
				return
			}
			if got := res.Rows[0][0].(int64); got != want {
				errs <- fmt.Errorf("count %d, want %d", got, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestTimeRangeMacros(t *testing.T) {
	q, snap, _ := qLake(t, 30*24*60, QueryOptions{}) // one event a minute for 30 days
	all := snap.files["okta_systemlog"]
	count := func(sql string) (int64, *Result) {
		t.Helper()
		res := qMust(t, q, sql)
		return res.Rows[0][0].(int64), res
	}
	explicit := func(where string) int64 {
		n, _ := count("SELECT count(*) FROM okta_systemlog WHERE " + where)
		return n
	}

	// The last day: 1,440 events, from the last 24 hourly files (+1 for the
	// boundary event at exactly now-1d, which the hour before holds).
	snap.lastCalls()
	n, res := count(`SELECT count(*) FROM okta_systemlog WHERE p_occurs_since('1 day')`)
	calls := snap.lastCalls()
	if len(calls) != 1 || !calls[0].from.Equal(qEnd.Add(-24*time.Hour)) || !calls[0].to.IsZero() {
		t.Errorf("Files calls = %+v", calls)
	}
	if want := explicit(`p_event_time >= TIMESTAMP '2026-03-30 00:00:00'`); n != want || n != 1440 {
		t.Errorf("since 1 day: %d, want %d (1440)", n, want)
	}
	if res.Files > 25 || res.Files < 24 || len(all) < 700 {
		t.Errorf("since 1 day opened %d of %d files, want the last day's 24", res.Files, len(all))
	}
	// The other spellings of a day.
	for _, d := range []string{"'24h'", "'1d'", "86400", "INTERVAL 1 DAY", "'24 hours'", "86400.0"} {
		if n2, _ := count(`SELECT count(*) FROM okta_systemlog WHERE p_occurs_since(` + d + `)`); n2 != n {
			t.Errorf("p_occurs_since(%s) = %d, want %d", d, n2, n)
		}
	}

	// Between is inclusive at both ends.
	n, res = count(`SELECT count(*) FROM okta_systemlog WHERE p_occurs_between('2026-03-10 00:00:00', TIMESTAMP '2026-03-10 01:00:00')`)
	if n != 61 || res.Files > 3 {
		t.Errorf("between: %d rows from %d files, want 61 from ≤3", n, res.Files)
	}
	// Around a time; with an RFC 3339 offset.
	n, res = count(`SELECT count(*) FROM okta_systemlog WHERE p_occurs_around('2026-03-10T12:00:00+02:00', '30 minutes') AND eventType IS NOT NULL`)
	if want := explicit(`p_event_time BETWEEN '2026-03-10 09:30:00' AND '2026-03-10 10:30:00'`); n != want || n != 61 || res.Files > 3 {
		t.Errorf("around: %d from %d files, want %d", n, res.Files, want)
	}

	// With a table alias, in a join: each side is pruned by its own macro.
	n, res = count(`SELECT count(*) FROM okta_systemlog a JOIN okta_systemlog b ON a.p_row_id = b.p_row_id
		WHERE p_occurs_since('2 hours', a) AND p_occurs_since(7200, b)`)
	if n != 120 || res.Files > 3 {
		t.Errorf("self-join since 2h: %d from %d files", n, res.Files)
	}
	// A column argument; in a CTE; in a subquery.
	n, _ = count(`WITH recent AS (FROM okta_systemlog o WHERE p_occurs_since('2 hours', o.p_parse_time)) SELECT count(*) FROM recent`)
	if n != 120 {
		t.Errorf("CTE: %d", n)
	}
	n, res = count(`SELECT count(*) FROM (SELECT * FROM okta_systemlog WHERE p_occurs_since('1 hour')) WHERE eventType <> ''`)
	if n != 60 || res.Files > 2 {
		t.Errorf("subquery: %d from %d files", n, res.Files)
	}

	// Under OR the macro still filters, but nothing is pruned.
	n, res = count(`SELECT count(*) FROM okta_systemlog WHERE p_occurs_since('1 hour') OR p_row_id = '0000000000000000'`)
	if n != 61 || res.Files != len(all) {
		t.Errorf("OR: %d from %d files (all %d)", n, res.Files, len(all))
	}
	// A second, unrestricted reference of the table widens its view to all.
	_, res = count(`SELECT (SELECT count(*) FROM okta_systemlog WHERE p_occurs_since('1 hour')) + (SELECT count(*) FROM okta_systemlog)`)
	if res.Files != len(all) {
		t.Errorf("mixed references opened %d of %d files", res.Files, len(all))
	}
	// Nothing in range: an empty result, not an error.
	n, res = count(`SELECT count(*) FROM okta_systemlog WHERE p_occurs_between('2020-01-01', '2020-01-02')`)
	if n != 0 || res.Files != 0 {
		t.Errorf("out of range: %d rows, %d files", n, res.Files)
	}
	// The quarantine's time column is received_at: an unqualified macro
	// over it uses that.
	qWriteTable(t, qWriter(t), snap, filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(all[0].Path)))), "quarantine",
		`SELECT 'raw' || i AS raw, TIMESTAMP '2026-03-01 00:00:00' + to_days(i) AS received_at,
		strftime(TIMESTAMP '2026-03-01 00:00:00' + to_days(i), '%Y-%m-%d') AS dt, '00' AS hour FROM range(30) r(i)`)
	n, res = count(`SELECT count(*) FROM quarantine WHERE p_occurs_since('2 days')`)
	if n != 2 || res.Files != 2 {
		t.Errorf("quarantine since 2 days: %d rows from %d files", n, res.Files)
	}
	// Parameters still bind after the rewrite.
	n, _ = count2(t, q, `SELECT count(*) FROM okta_systemlog WHERE p_occurs_since('1 day') AND eventType = ?`, "user.session.start")
	if n == 0 || n > 1440 {
		t.Errorf("parameter after rewrite: %d", n)
	}
}

func count2(t *testing.T, q *Querier, sql string, params ...any) (int64, *Result) {
	t.Helper()
	res := qMust(t, q, sql, params...)
	return res.Rows[0][0].(int64), res
}

func TestTables(t *testing.T) {
	q, snap, _ := qLake(t, 24*30, QueryOptions{})
	tables, err := q.Tables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || tables[0].Name != "okta_systemlog" || tables[0].Rows != 720 ||
		tables[0].Files != len(snap.files["okta_systemlog"]) || len(tables[0].Columns) < 20 || !tables[0].Min.Equal(qEnd.Add(-30*24*time.Hour)) {
		t.Errorf("tables = %+v", tables)
	}
}

// The querier over the lake's own snapshots: what the writer stores is
// what a query reads, and the macros prune its hourly files.
func TestQuerierOverTheLake(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var ms []RuleMatch
	for i := range 72 { // one match an hour for 3 days
		at := qEnd.Add(-time.Duration(72-i) * time.Hour).Add(30 * time.Minute)
		ms = append(ms, RuleMatch{RowID: fmt.Sprintf("r%02d", i), LogType: "Okta.SystemLog", EventTime: at, AlertID: "a1", RuleID: "Okta.BruteForce",
			Severity: "HIGH", Tags: []string{"okta"}, AlertContext: []byte(`{"ip":"203.0.113.77"}`), AlertCreationTime: at, Event: []byte(`{"eventType":"user.session.start"}`)})
	}
	ctx := context.Background()
	if err := l.WriteRuleMatches(ctx, ms); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := NewQuerier(l.Snapshot, QueryOptions{Dir: dir, Now: func() time.Time { return qEnd }})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	res, err := q.Query(ctx, `SELECT count(*), min(p_event_time), any_value(p_alert_context ->> '$.ip'), any_value(dt), any_value(p_rule_tags) FROM rule_matches WHERE p_occurs_since('1 day')`)
	if err != nil {
		t.Fatal(err)
	}
	row := res.Rows[0]
	if row[0] != int64(24) || row[1] != "2026-03-30T00:30:00Z" || row[2] != "203.0.113.77" || fmt.Sprint(row[4]) != "[okta]" {
		t.Errorf("rule matches of the last day: %v", row)
	}
	if res.Files < 1 || res.Files > 24 {
		t.Errorf("opened %d files", res.Files)
	}
	all, err := q.Query(ctx, `SELECT count(*) FROM rule_matches`)
	if err != nil || all.Rows[0][0] != int64(72) || all.Files < res.Files {
		t.Errorf("all rule matches: %v %v", all, err)
	}
	tables, err := q.Tables(ctx)
	if err != nil || len(tables) != 1 || tables[0].Name != "rule_matches" || tables[0].Rows != 72 {
		t.Errorf("tables: %+v %v", tables, err)
	}
}
