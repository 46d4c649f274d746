package lake

import (
	"bytes"
	"context"
	"database/sql"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/batchrec"
	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/wal"
)

// BenchmarkIngestToParquet: 100k realistic Okta events from internal/gen,
// as NDJSON, turned into zstd Parquet three ways, side by side in every
// iteration (in rotating order):
//
//   - lake: the product's path — normalize each event, write 500-event
//     batch records ahead, and let the lake consumer (Run, default
//     FlushRows) write them to Parquet, until every event is in a file;
//   - lake_parquet: the lake consumer alone, over a log already written;
//   - duckdb: the baseline — DuckDB's own read_json of the same NDJSON file
//     and COPY to one zstd Parquet file.
//
// MB/s is raw NDJSON bytes per second; bytes/raw is the Parquet size over
// the raw size. The log and the lake skip fsync, as DuckDB's COPY does.
//
//	go test ./internal/lake/ -run '^$' -bench BenchmarkIngestToParquet -benchtime 3x

const benchEvents = 100_000

var benchData = sync.OnceValue(func() [][]byte {
	var out [][]byte
	err := gen.Okta(gen.OktaOptions{Count: benchEvents, Seed: 42}, func(b []byte) error {
		out = append(out, append([]byte(nil), b...))
		return nil
	})
	if err != nil {
		panic(err)
	}
	return out
})

func rawSize(raws [][]byte) int64 {
	var n int64
	for _, r := range raws {
		n += int64(len(r)) + 1 // NDJSON newline
	}
	return n
}

func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".parquet" {
			if st, err := d.Info(); err == nil {
				n += st.Size()
			}
		}
		return nil
	})
	return n
}

func BenchmarkIngestToParquet(b *testing.B) {
	raws := benchData()
	raw := rawSize(raws)
	reg := logtypes.NewRegistry()

	// writeAhead normalizes the events into batch records in log.
	writeAhead := func(b *testing.B, log *wal.Log) {
		norm := reg.NewNormalizer()
		meta := logtypes.Meta{SourceID: "okta-1", SourceLabel: "Okta", ParseTime: time.Now()}
		rec := &batchrec.Record{SourceID: "okta-1"}
		var buf []byte
		for i, r := range raws {
			ev, err := norm.Normalize("Okta.SystemLog", r, meta)
			if err != nil {
				b.Fatal(err)
			}
			rec.Events = append(rec.Events, ev)
			if len(rec.Events) == 500 || i == len(raws)-1 {
				buf = batchrec.Encode(buf[:0], rec)
				if _, err := log.Append(context.Background(), [][]byte{buf}); err != nil {
					b.Fatal(err)
				}
				rec.Events = rec.Events[:0]
			}
		}
	}
	dir := b.TempDir()
	ndjson := filepath.Join(dir, "okta.ndjson")
	if err := os.WriteFile(ndjson, append(bytes.Join(raws, []byte("\n")), '\n'), 0o644); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	// The three legs; each returns its output bytes.
	legs := []struct {
		name string
		run  func(dir string) (time.Duration, int64)
	}{
		{"lake", func(dir string) (time.Duration, int64) {
			log, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "wal"), NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer log.Close()
			start := time.Now()
			var wg sync.WaitGroup
			wg.Go(func() { writeAhead(b, log) })
			runLakeUntil(b, filepath.Join(dir, "lake"), log, reg, benchEvents)
			wg.Wait()
			return time.Since(start), dirBytes(filepath.Join(dir, "lake"))
		}},
		{"lake_parquet", func(dir string) (time.Duration, int64) {
			log, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "wal"), NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer log.Close()
			writeAhead(b, log)
			start := time.Now()
			runLakeUntil(b, filepath.Join(dir, "lake"), log, reg, benchEvents)
			return time.Since(start), dirBytes(filepath.Join(dir, "lake"))
		}},
		{"duckdb", func(dir string) (time.Duration, int64) {
			out := filepath.Join(dir, "okta.parquet")
			start := time.Now()
			_, err := db.Exec("COPY (SELECT * FROM read_json(" + sqlString(ndjson) + ", format = 'newline_delimited')) TO " +
				sqlString(out) + " (FORMAT parquet, COMPRESSION zstd)")
			if err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			st, _ := os.Stat(out)
			return elapsed, st.Size()
		}},
	}
	total := make([]time.Duration, len(legs))
	size := make([]int64, len(legs))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Rotate the order so that load from other work on the machine
		// falls on every leg alike.
		for k := range legs {
			j := (i + k) % len(legs)
			d, n := legs[j].run(b.TempDir())
			total[j] += d
			size[j] = n
		}
	}
	b.StopTimer()
	for j, leg := range legs {
		sec := total[j].Seconds() / float64(b.N)
		b.ReportMetric(float64(raw)/1e6/sec, leg.name+"_MB/s")
		b.ReportMetric(float64(benchEvents)/sec, leg.name+"_events/s")
		b.ReportMetric(float64(size[j])/float64(raw), leg.name+"_bytes/raw")
	}
	b.ReportMetric(float64(raw)/1e6, "raw_MB")
}

// runLakeUntil runs a lake until it has written rows events.
func runLakeUntil(b *testing.B, dir string, log *wal.Log, reg *logtypes.Registry, rows int) {
	l, err := Open(Options{Dir: dir, Log: log, Registry: reg, NoSync: true, DefaultRetention: -1,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	for {
		st := l.Stats()
		if st.Rows >= int64(rows) {
			break
		}
		if st.Rows+int64(st.Buffered) >= int64(rows) {
			l.Flush(ctx) // the tail: no need to wait FlushInterval
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	l.Close()
}
