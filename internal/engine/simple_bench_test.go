package engine

import (
	"bytes"
	"context"
	"runtime"
	"slices"
	"testing"

	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/batchrec"
	"github.com/prowl-siem/prowl/internal/detect"
	"github.com/prowl-siem/prowl/internal/jsondec"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

// simpleBenchEvents is the corpus size of BenchmarkSimpleDetections.
const simpleBenchEvents = 100_000

// BenchmarkSimpleDetections measures issue #6's target for simple
// detections: the bundled Okta pack's rules that the match grammar can
// express (internal/benchdata/okta_simple) over 100k generated Okta
// events with every attack scenario, normalized as the pipeline does.
// Every figure is per core: the Go sub-benchmarks run on one goroutine
// with GOMAXPROCS=1, the baseline is one single-threaded Python process.
//
//   - engine,members: Engine.Evaluate as the pipeline runs it, on batches
//     of normalized events that carry the normalizer's offsets of their
//     top-level keys: the rules' prefilters on the raw JSON, then decoding
//     and the exact matchers only for the events they admit, and the alert
//     fields of the matches.
//   - engine,records: the same as the pipeline's engine consumer gets the
//     events: encoded as write-ahead log batch records of 500 events
//     (batchrec), each decoded (batchrec.Decode, which copies it as the
//     log reader does) and evaluated as one batch, decoding included.
//   - engine,records,decoder: the same with one batchrec.Decoder, which
//     copies each record into the memory of the one before.
//   - engine,scan: the same on events without the offsets (the prefilter
//     scans each event's top-level object).
//   - engine,prefilters=off: the same with Options.PrefiltersOff: every
//     event is decoded into a map and meets every matcher.
//   - match-only: the matchers over events decoded beforehand.
//   - baseline=python-loop: the pack's equivalent Python rules over the
//     same events in the plain Python loop (pyrt.RunBaseline).
//
// Each reports events/s per core and the number of matches per pass, so
// the two sides can be checked to agree; decode+match also reports the
// mean size of a normalized event.
func BenchmarkSimpleDetections(b *testing.B) {
	simple, err := analysis.Load([]string{"../benchdata/okta_simple"}, analysis.Options{})
	if err != nil {
		b.Fatal(err)
	}
	set, problems := detect.Compile(simple, simple.Detections)
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	var dets []*detect.Detection
	ids := map[string]bool{}
	for _, d := range set.Detections {
		if d.Simple == nil {
			b.Fatalf("%s is not a simple detection", d.Spec.ID)
		}
		dets = append(dets, d)
		ids[d.Spec.ID] = true
	}

	raw := benchCorpus(b, simpleBenchEvents)
	norm := logtypes.NewRegistry().NewNormalizer()
	normalized := make([][]byte, len(raw))
	for i, r := range raw {
		ev, err := norm.Normalize("Okta.SystemLog", r, logtypes.Meta{})
		if err != nil {
			b.Fatal(err)
		}
		normalized[i] = ev.JSON
	}
	n := len(normalized)
	size := 0
	for _, data := range normalized {
		size += len(data)
	}

	evaluate := func(ev map[string]any) int {
		hits := 0
		for _, d := range dets {
			if d.Simple.Match(ev) {
				d.Alert.Evaluate(ev)
				hits++
			}
		}
		return hits
	}
	perCore := func(b *testing.B, pass func() int) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		matches := 0
		b.ResetTimer()
		for b.Loop() {
			matches = pass()
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s/core")
		b.ReportMetric(float64(matches), "matches")
		b.ReportMetric(float64(len(dets)), "rules")
	}

	events := make([]logtypes.Event, n)
	for i, r := range raw {
		ev, err := norm.Normalize("Okta.SystemLog", r, logtypes.Meta{})
		if err != nil {
			b.Fatal(err)
		}
		ev.Members = norm.AppendMembers(nil)
		events[i] = ev
	}
	for _, tc := range []struct {
		name         string
		members, off bool
	}{{"engine,members", true, false}, {"engine,scan", false, false}, {"engine,prefilters=off", false, true}} {
		b.Run(tc.name, func(b *testing.B) {
			e, err := New(context.Background(), simple, Options{PrefiltersOff: tc.off})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			batch := slices.Clone(events)
			if !tc.members {
				for i := range batch {
					batch[i].Members = nil
				}
			}
			const batchSize = 4096
			perCore(b, func() int {
				matches := 0
				for start := 0; start < n; start += batchSize {
					ms, err := e.Evaluate(context.Background(), batch[start:min(start+batchSize, n)])
					if err != nil {
						b.Fatal(err)
					}
					matches += len(ms)
				}
				return matches
			})
			st := e.Stats()
			b.ReportMetric(100*float64(st.GoDecoded)/float64(st.GoCandidates), "%decoded")
			b.ReportMetric(float64(size)/float64(n), "bytes/event")
		})
	}

	const recordEvents = 500 // the pipeline's default engine batch
	var records [][]byte
	for start := 0; start < n; start += recordEvents {
		records = append(records, batchrec.Encode(nil, &batchrec.Record{Events: events[start:min(start+recordEvents, n)]}))
	}
	var dec batchrec.Decoder
	for _, tc := range []struct {
		name   string
		decode func([]byte) (*batchrec.Record, error)
	}{{"engine,records", batchrec.Decode}, {"engine,records,decoder", func(rec []byte) (*batchrec.Record, error) {
		dec.Reset()
		return dec.Decode(rec)
	}}} {
		b.Run(tc.name, func(b *testing.B) {
			e, err := New(context.Background(), simple, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			perCore(b, func() int {
				matches := 0
				for _, rec := range records {
					r, err := tc.decode(rec)
					if err != nil {
						b.Fatal(err)
					}
					ms, err := e.Evaluate(context.Background(), r.Events)
					if err != nil {
						b.Fatal(err)
					}
					matches += len(ms)
				}
				return matches
			})
		})
	}

	b.Run("match-only", func(b *testing.B) {
		decoded := make([]map[string]any, n)
		for i, data := range normalized {
			if decoded[i], err = jsondec.Decode(data); err != nil {
				b.Fatal(err)
			}
		}
		perCore(b, func() int {
			matches := 0
			for _, ev := range decoded {
				matches += evaluate(ev)
			}
			return matches
		})
	})

	b.Run("baseline=python-loop", func(b *testing.B) {
		pack := benchPack(b)
		var python []*analysis.Detection
		for _, d := range pack.Detections {
			if ids[d.ID] {
				python = append(python, d)
			}
		}
		if len(python) != len(dets) {
			b.Fatalf("%d of the %d simple detections have a Python rule in packs/okta", len(python), len(dets))
		}
		pset, problems := detect.Compile(pack, python)
		if len(problems) > 0 {
			b.Fatal(problems)
		}
		ndjson := append(bytes.Join(normalized, []byte("\n")), '\n')
		var seconds float64
		matches := 0
		for b.Loop() {
			res, err := pyrt.RunBaseline("", pset.Program, ndjson)
			if err != nil || res.Events != n {
				b.Fatal(err, res)
			}
			seconds += res.Seconds
			matches = res.Matches
		}
		b.ReportMetric(float64(n*b.N)/seconds, "events/s/core")
		b.ReportMetric(float64(matches), "matches")
		b.ReportMetric(float64(len(python)), "rules")
	})
}
