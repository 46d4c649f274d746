package lake

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
)

// BenchmarkIngestToParquet: 100k realistic Okta events from internal/gen,
// as NDJSON, turned into zstd Parquet three ways, side by side in every
// iteration (in rotating order):
//
//   - lake: the product's path (Ingest) — normalize each event, write
//     500-event batch records ahead, and let the lake consumer (Run,
//     default FlushRows) write them to Parquet, until every event is in a
//     file;
//   - lake_parquet: the lake consumer alone, over a log already written
//     (Ingest with LogFirst);
//   - duckdb: the baseline (RawNDJSON) — DuckDB's own read_json of the
//     same NDJSON file, with the schema it inferred beforehand, and COPY
//     to one zstd Parquet file.
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

func BenchmarkIngestToParquet(b *testing.B) {
	raws := benchData()
	raw := rawSize(raws)
	dir := b.TempDir()
	ndjson := filepath.Join(dir, "okta.ndjson")
	if err := os.WriteFile(ndjson, append(bytes.Join(raws, []byte("\n")), '\n'), 0o644); err != nil {
		b.Fatal(err)
	}
	duck, err := OpenRawNDJSON(ndjson, "okta")
	if err != nil {
		b.Fatal(err)
	}
	defer duck.Close()

	// The three legs; each returns its output bytes.
	lake := func(logFirst bool) func(dir string) (time.Duration, int64) {
		return func(dir string) (time.Duration, int64) {
			res, err := Ingest(context.Background(), dir, raws, IngestOptions{LogType: "Okta.SystemLog",
				Meta: logtypes.Meta{SourceID: "okta-1", SourceLabel: "Okta"}, LogFirst: logFirst})
			if err != nil || res.Events != benchEvents {
				b.Fatal(err, res.Events)
			}
			return res.Elapsed, res.Bytes
		}
	}
	legs := []struct {
		name string
		run  func(dir string) (time.Duration, int64)
	}{
		{"lake", lake(false)},
		{"lake_parquet", lake(true)},
		{"duckdb", func(dir string) (time.Duration, int64) {
			out := filepath.Join(dir, "okta.parquet")
			start := time.Now()
			if err := duck.CopyToParquet(context.Background(), out); err != nil {
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
