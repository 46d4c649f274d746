package batchrec

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/wal"
)

// oktaRecord is a batch record of n generated Okta events, normalized the
// way the pipeline does (members included).
func oktaRecord(tb testing.TB, n int) *Record {
	tb.Helper()
	norm := logtypes.NewRegistry().NewNormalizer()
	meta := logtypes.Meta{SourceID: "okta-prod", SourceLabel: "Okta", ParseTime: time.Date(2025, 3, 4, 18, 0, 0, 0, time.UTC)}
	r := &Record{SourceID: "okta-prod", Checkpoint: []byte(`{"after":"1714557600123_1"}`)}
	err := gen.Okta(gen.OktaOptions{Count: n, Seed: 1}, func(raw []byte) error {
		ev, err := norm.Normalize("Okta.SystemLog", raw, meta)
		if err != nil {
			return err
		}
		ev.Members = norm.AppendMembers(nil)
		r.Events = append(r.Events, ev)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// BenchmarkDecode decodes one batch record of 500 normalized Okta events
// (~2.6 KB each): "before" is the Decode this package had before
// DecodeOwned (kept as decodeBefore), next to Decode and DecodeOwned. See
// BenchmarkReadDecode for BALLAST_MB and cpu-ns/event.
func BenchmarkDecode(b *testing.B) {
	rec := oktaRecord(b, 500)
	data := Encode(nil, rec)
	n := len(rec.Events)
	run := func(name string, decode func([]byte) (*Record, error)) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				r, err := decode(data)
				if err != nil || len(r.Events) != n {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*n), "cpu-ns/event")
		})
	}
	defer keepBallast()()
	run("before", decodeBefore)
	run("Decode", Decode)
	run("DecodeOwned", DecodeOwned)
}

// BenchmarkReadDecode reads batch records of 500 Okta events from a
// write-ahead log (in the page cache) and decodes them, the way the log
// consumers do: with Next and a copying decoder ("before": the old Decode)
// or with NextOwned and DecodeOwned, which copy each record once. The
// variants without a decoder measure the reads alone. One op is one record.
//
// The cost of the fresh memory each record needs depends on the heap: with
// BALLAST_MB=256 in the environment the benchmark keeps that much live, as a
// server does, instead of a nearly empty heap that the collector cycles
// through every few records. cpu-ns/event is the process's CPU time (the
// collector's included), steadier than ns/event on a shared machine.
func BenchmarkReadDecode(b *testing.B) {
	const records = 24
	data := Encode(nil, oktaRecord(b, 500))
	events := 500
	log, err := wal.Open(wal.Options{Dir: b.TempDir(), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	for range records {
		if _, err := log.Append(context.Background(), [][]byte{data}); err != nil {
			b.Fatal(err)
		}
	}
	run := func(name string, owned bool, decode func([]byte) (*Record, error)) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			var r *wal.Reader
			defer func() {
				if r != nil {
					r.Close()
				}
			}()
			for i := 0; b.Loop(); i++ {
				if i%records == 0 { // a reader lives long: only its first record grows its buffer
					if r != nil {
						r.Close()
					}
					if r, err = log.Reader(0); err != nil {
						b.Fatal(err)
					}
				}
				next := r.Next
				if owned {
					next = r.NextOwned
				}
				rec, _, err := next(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if decode == nil {
					continue
				}
				if out, err := decode(rec); err != nil || len(out.Events) != events {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*events), "cpu-ns/event")
		})
	}
	defer keepBallast()()
	run("Next", false, nil)
	run("NextOwned", true, nil)
	run("before=Next+decodeBefore", false, decodeBefore)
	run("Next+Decode", false, Decode)
	run("NextOwned+DecodeOwned", true, DecodeOwned)
}

var ballast [][]byte

// keepBallast keeps BALLAST_MB megabytes live until the function it returns
// is called.
func keepBallast() func() {
	mb, _ := strconv.Atoi(os.Getenv("BALLAST_MB"))
	for range mb {
		ballast = append(ballast, make([]byte, 1<<20))
	}
	return func() { ballast = nil }
}

// cpuTime is the CPU time the process used (all threads, the garbage
// collector's included), in nanoseconds: on a shared machine it varies less
// than the elapsed time.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
