package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/logtypes"
)

// benchQueryRuns is how often each query runs on each side.
const benchQueryRuns = 5

type ingestRow struct {
	name            string
	events          int
	rawBytes, bytes int64 // NDJSON in, Parquet out
	seconds         float64
}

// benchQuery is one question, asked of the lake and of the raw NDJSON.
type benchQuery struct{ name, lake, raw string }

type queryRow struct {
	name        string
	rows, files int // rows of the answer; lake files read after pruning
	lake, raw   []time.Duration
}

// benchLake writes the first --ingest-events events to zstd Parquet twice,
// in a temporary directory: with DuckDB's read_json and COPY of their
// NDJSON (the baseline) and along prowl's ingest path into a lake. Then it
// times queries on that lake against the same SQL on the NDJSON.
func benchLake(ctx context.Context, progress io.Writer, f *benchFlags, raw [][]byte) ([]ingestRow, []queryRow, error) {
	raw = raw[:min(f.ingestEvents, len(raw))]
	dir, err := os.MkdirTemp("", "prowl-bench-lake-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	ndjson := filepath.Join(dir, "events.ndjson")
	size, err := writeNDJSON(ndjson, raw)
	if err != nil {
		return nil, nil, err
	}
	duck, err := lake.OpenRawNDJSON(ndjson, "okta_systemlog")
	if err != nil {
		return nil, nil, err
	}
	defer duck.Close()

	fmt.Fprintf(progress, "lake ingest, baseline: DuckDB read_json + COPY of %d events...\n", len(raw))
	parquet := filepath.Join(dir, "baseline.parquet")
	start := time.Now()
	if err := duck.CopyToParquet(ctx, parquet); err != nil {
		return nil, nil, err
	}
	base := ingestRow{name: "baseline: DuckDB read_json + COPY", events: len(raw), rawBytes: size, seconds: time.Since(start).Seconds()}
	st, err := os.Stat(parquet)
	if err != nil {
		return nil, nil, err
	}
	base.bytes = st.Size()

	fmt.Fprintln(progress, "lake ingest, prowl: normalize, write-ahead log, lake consumer...")
	res, err := lake.Ingest(ctx, dir, raw, lake.IngestOptions{LogType: "Okta.SystemLog",
		Meta: logtypes.Meta{SourceID: "bench", SourceLabel: "prowl bench"}})
	if err != nil {
		return nil, nil, err
	}
	if res.Events != len(raw) {
		return nil, nil, fmt.Errorf("lake ingest: %d of %d events in the lake", res.Events, len(raw))
	}
	ingest := []ingestRow{base, {name: "prowl: normalize, write-ahead log, lake", events: res.Events, rawBytes: size,
		bytes: res.Bytes, seconds: res.Elapsed.Seconds()}}

	qs, err := benchQueries(raw)
	if err != nil {
		return nil, nil, err
	}
	queries, err := timeQueries(ctx, progress, filepath.Join(dir, "lake"), duck, qs)
	return ingest, queries, err
}

// writeNDJSON writes one event per line and returns the file's size.
func writeNDJSON(path string, raw [][]byte) (int64, error) {
	file, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	w := bufio.NewWriterSize(file, 1<<20)
	var size int64
	for _, r := range raw {
		w.Write(r)
		w.WriteByte('\n')
		size += int64(len(r)) + 1
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return size, file.Close()
}

// benchQueries are the questions of BenchmarkLakeQueries, on the events:
// a count over all of them, a needle (the IP of the middle event), and a
// time range (the last hour), which the lake answers with
// p_occurs_between (it reads only the files of that time) and the NDJSON
// by comparing published.
func benchQueries(raw [][]byte) ([]benchQuery, error) {
	var first, middle, last struct {
		Published time.Time `json:"published"`
		Client    struct {
			IPAddress string `json:"ipAddress"`
		} `json:"client"`
	}
	for _, e := range []struct {
		raw []byte
		to  any
	}{{raw[0], &first}, {raw[len(raw)/2], &middle}, {raw[len(raw)-1], &last}} {
		if err := json.Unmarshal(e.raw, e.to); err != nil {
			return nil, err
		}
	}
	const byType = `SELECT eventType, count(*) AS n FROM okta_systemlog GROUP BY ALL ORDER BY n DESC, eventType`
	needle := `SELECT published, eventType, actor ->> '$.alternateId' AS who FROM okta_systemlog
		WHERE (client ->> '$.ipAddress') = '` + strings.ReplaceAll(middle.Client.IPAddress, "'", "''") + `' ORDER BY ALL`
	const signIns = `SELECT actor ->> '$.alternateId' AS who, count(*) AS n FROM okta_systemlog
		WHERE %s AND eventType = 'user.session.start' GROUP BY ALL ORDER BY n DESC, who LIMIT 20`
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000000") }
	from := last.Published.Add(-time.Hour)
	if from.Before(first.Published) {
		from = first.Published
	}
	return []benchQuery{
		{"events by type", byType, byType},
		{"one IP's events", needle, needle},
		{"sign-ins by user, last hour",
			fmt.Sprintf(signIns, fmt.Sprintf("p_occurs_between('%s', '%s')", ts(from), ts(last.Published))),
			fmt.Sprintf(signIns, fmt.Sprintf("published BETWEEN TIMESTAMP '%s' AND TIMESTAMP '%s'", ts(from), ts(last.Published)))},
	}, nil
}

// timeQueries runs each query benchQueryRuns times on the lake, through
// the query API `prowl query` uses, and on the NDJSON, alternately; the
// first answers must agree.
func timeQueries(ctx context.Context, progress io.Writer, dir string, duck *lake.RawNDJSON, qs []benchQuery) ([]queryRow, error) {
	l, err := lake.Open(lake.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	q, err := lake.NewQuerier(l.Snapshot, lake.QueryOptions{Dir: dir})
	if err != nil {
		return nil, err
	}
	defer q.Close()
	var rows []queryRow
	for _, bq := range qs {
		fmt.Fprintf(progress, "lake query %q: %d runs on the lake and on the NDJSON...\n", bq.name, benchQueryRuns)
		row := queryRow{name: bq.name}
		for i := range benchQueryRuns {
			lr, err := q.Query(ctx, bq.lake)
			if err != nil {
				return nil, fmt.Errorf("query %q on the lake: %w", bq.name, err)
			}
			rr, err := duck.Query(ctx, bq.raw)
			if err != nil {
				return nil, fmt.Errorf("query %q on the NDJSON: %w", bq.name, err)
			}
			if i == 0 && (len(lr.Rows) == 0 || !reflect.DeepEqual(lr.Rows, rr.Rows)) {
				return nil, fmt.Errorf("query %q: the lake answered %d rows, the NDJSON %d, not the same ones", bq.name, len(lr.Rows), len(rr.Rows))
			}
			row.rows, row.files = len(lr.Rows), lr.Files
			row.lake, row.raw = append(row.lake, lr.Elapsed), append(row.raw, rr.Elapsed)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func printIngest(out io.Writer, rows []ingestRow) {
	fmt.Fprintf(out, "\nlake ingest: %d events, %.1f MB of NDJSON, to zstd Parquet (no fsync on either side)\n",
		rows[0].events, float64(rows[0].rawBytes)/1e6)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tMB/s\tevents/s\tseconds\tParquet\tof raw\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%.2f\t%.1f MB\t%.1f%%\t\n", r.name, float64(r.rawBytes)/1e6/r.seconds,
			thousands(float64(r.events)/r.seconds), r.seconds, float64(r.bytes)/1e6, 100*float64(r.bytes)/float64(r.rawBytes))
	}
	tw.Flush()
	fmt.Fprintf(out, "speed-up over the baseline: %.1fx\n", rows[0].seconds/rows[1].seconds)
}

func printQueries(out io.Writer, rows []queryRow) {
	fmt.Fprintf(out, "\nlake queries: %d runs each on the lake above (prowl's query API, as prowl query) and, as the baseline,\n"+
		"the same SQL over the NDJSON with DuckDB's read_json (the time range: published instead of p_occurs_between)\n", benchQueryRuns)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\trows\tlake files\tlake p50\tlake max\tbaseline p50\tbaseline max\tspeed-up (p50)\t")
	for _, r := range rows {
		lp50, lmax := percentiles(r.lake)
		rp50, rmax := percentiles(r.raw)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%.1fx\t\n", r.name, r.rows, r.files, ms(lp50), ms(lmax), ms(rp50), ms(rmax),
			rp50.Seconds()/lp50.Seconds())
	}
	tw.Flush()
}

// percentiles returns the median and the maximum.
func percentiles(d []time.Duration) (p50, top time.Duration) {
	d = slices.Sorted(slices.Values(d))
	return d[len(d)/2], d[len(d)-1]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", d.Seconds()*1000) }
