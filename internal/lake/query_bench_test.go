package lake

// Lake queries versus scanning the raw NDJSON of the same events, in one
// run:
//
//	go test -run '^$' -bench BenchmarkLakeQueries -benchtime 5x ./internal/lake
//	PROWL_BENCH_EVENTS=10000000 go test -run '^$' -bench BenchmarkLakeQueries -benchtime 3x -timeout 60m ./internal/lake
//
// The data (default 1M synthetic Okta System Log events over 30 days, one
// Parquet file per table/dt/hour and one NDJSON file per day) is generated
// once with DuckDB into $TMPDIR/prowl-lake-bench-N and reused.
//
// The "no lake" baseline is a Go scan of the NDJSON files, in parallel on
// every core (DuckDB uses every core too): a bytes.Contains prefilter on
// each line, encoding/json on the candidates, then the same question. It
// runs over every file (raw logs have no index), and for the last-day
// question also over the files of the days in range only (as if the raw
// archive were laid out by day).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func qbEvents(b *testing.B) int64 {
	n := int64(1_000_000)
	if s := os.Getenv("PROWL_BENCH_EVENTS"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 1000 {
			b.Fatalf("PROWL_BENCH_EVENTS=%q: want a number ≥ 1000", s)
		}
		n = v
	}
	return n
}

// qbData returns the lake and NDJSON directories of n events, making
// them if needed.
func qbData(b *testing.B, n int64) (lakeDir, ndjsonDir string, snap *qSnap) {
	root := filepath.Join(os.TempDir(), fmt.Sprintf("prowl-lake-bench-%d", n))
	lakeDir, ndjsonDir = filepath.Join(root, "lake"), filepath.Join(root, "ndjson")
	db := qWriter(b)
	snap = &qSnap{}
	if _, err := os.Stat(filepath.Join(root, "done")); err == nil {
		qAddFiles(b, db, snap, lakeDir, "okta_systemlog")
		return lakeDir, ndjsonDir, snap
	}
	os.RemoveAll(root)
	if err := errors.Join(os.MkdirAll(ndjsonDir, 0o755), os.MkdirAll(lakeDir, 0o755)); err != nil {
		b.Fatal(err)
	}
	span := 30 * 24 * time.Hour
	events := qOktaEvents(n, qEnd.Add(-span), span/time.Duration(n))
	start := time.Now()
	qWriteTable(b, db, snap, lakeDir, "okta_systemlog", qOktaParquet(events))
	b.Logf("wrote %d events as Parquet in %v", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	step := span / time.Duration(n)
	day := 24 * time.Hour
	for k := int64(0); k < 30; k++ {
		lo, hi := (k*int64(day)+int64(step)-1)/int64(step), ((k+1)*int64(day)+int64(step)-1)/int64(step)
		dayDir := filepath.Join(ndjsonDir, "dt="+qEnd.Add(-span+time.Duration(k)*day).Format("2006-01-02"))
		if err := os.MkdirAll(dayDir, 0o755); err != nil {
			b.Fatal(err)
		}
		_, err := db.Exec(fmt.Sprintf(`COPY (SELECT uuid, strftime(ts, '%%Y-%%m-%%dT%%H:%%M:%%S.%%gZ') AS published, eventType, version, severity, displayMessage,
			actor, client, outcome, debugContext, authenticationContext, "transaction"
			FROM (%s) ORDER BY i) TO %s (FORMAT json)`, qOktaEventsRange(lo, min(hi, n), qEnd.Add(-span), step), quoteLiteral(filepath.Join(dayDir, "events.json"))))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("wrote %d events as NDJSON in %v", n, time.Since(start).Round(time.Millisecond))
	if err := os.WriteFile(filepath.Join(root, "done"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return lakeDir, ndjsonDir, snap
}

func qbDirSize(b *testing.B, dir string) (files int, size int64) {
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				files++
				size += info.Size()
			}
		}
		return nil
	})
	return files, size
}

// qbNDJSONFiles lists the NDJSON files, by day; since keeps the days that
// may hold events at or after it.
func qbNDJSONFiles(b *testing.B, dir string, since time.Time) []string {
	days, err := filepath.Glob(filepath.Join(dir, "dt=*"))
	if err != nil {
		b.Fatal(err)
	}
	var out []string
	for _, d := range days {
		day, err := time.Parse("2006-01-02", strings.TrimPrefix(filepath.Base(d), "dt="))
		if err != nil || (!since.IsZero() && day.Add(24*time.Hour).Before(since)) {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(d, "*"))
		out = append(out, files...)
	}
	return out
}

// qbScanNDJSON calls fn on every line of files, a worker per core; fn's
// state is per worker (made by newState) and merged by the caller.
func qbScanNDJSON[S any](b *testing.B, files []string, newState func() S, fn func(S, []byte)) []S {
	workers := runtime.GOMAXPROCS(0)
	states := make([]S, workers)
	next := make(chan string)
	var wg sync.WaitGroup
	for w := range workers {
		states[w] = newState()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for path := range next {
				f, err := os.Open(path)
				if err != nil {
					b.Error(err)
					continue
				}
				r := bufio.NewReaderSize(f, 1<<20)
				for {
					line, err := r.ReadSlice('\n')
					if len(line) > 0 {
						fn(states[w], line)
					}
					if err != nil {
						break
					}
				}
				f.Close()
			}
		}()
	}
	for _, f := range files {
		next <- f
	}
	close(next)
	wg.Wait()
	return states
}

type qbUserCount struct {
	who string
	n   int64
}

func qbTopUsers(counts map[string]int64, n int) []qbUserCount {
	var out []qbUserCount
	for who, c := range counts {
		out = append(out, qbUserCount{who, c})
	}
	slices.SortFunc(out, func(a, b qbUserCount) int {
		if a.n != b.n {
			return int(b.n - a.n)
		}
		return strings.Compare(a.who, b.who)
	})
	return out[:min(n, len(out))]
}

// qbFailedLogins answers the failed-logins question from NDJSON.
func qbFailedLogins(b *testing.B, files []string, since time.Time) []qbUserCount {
	type ev struct {
		Published string `json:"published"`
		EventType string `json:"eventType"`
		Actor     struct {
			AlternateID string `json:"alternateId"`
		} `json:"actor"`
		Outcome struct {
			Result string `json:"result"`
		} `json:"outcome"`
	}
	states := qbScanNDJSON(b, files, func() map[string]int64 { return map[string]int64{} }, func(m map[string]int64, line []byte) {
		if !bytes.Contains(line, []byte(`"user.session.start"`)) || !bytes.Contains(line, []byte(`"FAILURE"`)) {
			return
		}
		var e ev
		if json.Unmarshal(line, &e) != nil || e.EventType != "user.session.start" || e.Outcome.Result != "FAILURE" {
			return
		}
		if t, err := time.Parse(time.RFC3339Nano, e.Published); err != nil || t.Before(since) {
			return
		}
		m[e.Actor.AlternateID]++
	})
	total := map[string]int64{}
	for _, m := range states {
		for k, v := range m {
			total[k] += v
		}
	}
	return qbTopUsers(total, 20)
}

type qbMatch struct {
	at   time.Time
	line []byte
}

// qbContainsString reports whether the JSON value v holds the string s.
func qbContainsString(v any, s string) bool {
	switch v := v.(type) {
	case string:
		return v == s
	case map[string]any:
		for _, e := range v {
			if qbContainsString(e, s) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if qbContainsString(e, s) {
				return true
			}
		}
	}
	return false
}

// qbSearch answers the indicator search from NDJSON: total, histogram
// (12-hour buckets, as the lake's search over 30 days) and the newest 20
// matches (the lake search's default).
func qbSearch(b *testing.B, files []string, indicator string, from time.Time) (int64, map[time.Time]int64, []qbMatch) {
	type state struct{ matches []qbMatch }
	needle := []byte(`"` + indicator + `"`)
	states := qbScanNDJSON(b, files, func() *state { return &state{} }, func(s *state, line []byte) {
		if !bytes.Contains(line, needle) {
			return
		}
		var v map[string]any
		if json.Unmarshal(line, &v) != nil || !qbContainsString(v, indicator) {
			return
		}
		pub, _ := v["published"].(string)
		t, err := time.Parse(time.RFC3339Nano, pub)
		if err != nil || t.Before(from) {
			return
		}
		s.matches = append(s.matches, qbMatch{t, bytes.Clone(line)})
	})
	var all []qbMatch
	for _, s := range states {
		all = append(all, s.matches...)
	}
	hist := map[time.Time]int64{}
	for _, m := range all {
		hist[m.at.Truncate(12*time.Hour)]++
	}
	slices.SortFunc(all, func(a, b qbMatch) int { return b.at.Compare(a.at) })
	return int64(len(all)), hist, all[:min(20, len(all))]
}

func BenchmarkLakeQueries(b *testing.B) {
	n := qbEvents(b)
	lakeDir, ndjsonDir, snap := qbData(b, n)
	q, err := NewQuerier(snap.get, QueryOptions{Dir: lakeDir, Now: func() time.Time { return qEnd }})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	lakeFiles, lakeBytes := qbDirSize(b, lakeDir)
	rawFiles, rawBytes := qbDirSize(b, ndjsonDir)
	b.Logf("%d events: lake %d Parquet files, %.1f MiB; NDJSON %d files, %.1f MiB (%.1f× the lake)",
		n, lakeFiles, float64(lakeBytes)/(1<<20), rawFiles, float64(rawBytes)/(1<<20), float64(rawBytes)/float64(lakeBytes))
	ctx := context.Background()
	since := qEnd.Add(-24 * time.Hour)
	allFiles := qbNDJSONFiles(b, ndjsonDir, time.Time{})
	dayFiles := qbNDJSONFiles(b, ndjsonDir, since)

	const failedLogins = `SELECT actor ->> '$.alternateId' AS who, count(*) AS failures
		FROM okta_systemlog
		WHERE p_occurs_since('1 day') AND eventType = 'user.session.start' AND (outcome ->> '$.result') = 'FAILURE'
		GROUP BY ALL ORDER BY failures DESC, who LIMIT 20`

	// The answers agree (checked once, outside the timings).
	res, err := q.Query(ctx, failedLogins)
	if err != nil {
		b.Fatal(err)
	}
	want := qbFailedLogins(b, dayFiles, since)
	if len(res.Rows) != len(want) || len(want) == 0 || res.Rows[0][0] != want[0].who || res.Rows[0][1] != want[0].n {
		b.Fatalf("failed logins differ: lake %v, NDJSON %v", res.Rows, want)
	}
	sres, err := q.Search(ctx, qNeedleIP, qEnd.Add(-30*24*time.Hour), time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	total, _, rows := qbSearch(b, allFiles, qNeedleIP, qEnd.Add(-30*24*time.Hour))
	if sres.Total != total || total == 0 || len(sres.Rows) != len(rows) {
		b.Fatalf("indicator search differs: lake %d (%d rows), NDJSON %d (%d rows)", sres.Total, len(sres.Rows), total, len(rows))
	}

	b.Run("failed_logins_1d/lake", func(b *testing.B) {
		for b.Loop() {
			res, err := q.Query(ctx, failedLogins)
			if err != nil || len(res.Rows) == 0 {
				b.Fatal(err)
			}
			b.ReportMetric(float64(res.Files), "files")
		}
	})
	b.Run("failed_logins_1d/ndjson_all_files", func(b *testing.B) {
		b.SetBytes(rawBytes)
		for b.Loop() {
			qbFailedLogins(b, allFiles, since)
		}
	})
	b.Run("failed_logins_1d/ndjson_day_files", func(b *testing.B) {
		for b.Loop() {
			qbFailedLogins(b, dayFiles, since)
		}
		b.ReportMetric(float64(len(dayFiles)), "files")
	})
	b.Run("indicator_search_30d/lake", func(b *testing.B) {
		for b.Loop() {
			res, err := q.Search(ctx, qNeedleIP, qEnd.Add(-30*24*time.Hour), time.Time{})
			if err != nil || res.Total == 0 {
				b.Fatal(err)
			}
		}
	})
	b.Run("indicator_search_30d/ndjson_all_files", func(b *testing.B) {
		b.SetBytes(rawBytes)
		for b.Loop() {
			qbSearch(b, allFiles, qNeedleIP, qEnd.Add(-30*24*time.Hour))
		}
	})
}
