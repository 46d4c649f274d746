package testrun

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/prowl-siem/prowl/internal/detect"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

const packDir = "../../packs/okta"

// BenchmarkPackTestSuite times `prowl test` on the bundled Okta pack: load,
// start the workers, run every test.
func BenchmarkPackTestSuite(b *testing.B) {
	for b.Loop() {
		repo, problems := load(&testing.T{}, packDir)
		if len(problems) > 0 {
			b.Fatal(problems)
		}
		r, err := Run(context.Background(), repo, Options{})
		if err != nil || !r.OK() {
			b.Fatalf("%v %+v", err, r)
		}
	}
}

// packCorpus returns the Okta pack's Python program and n events made by
// cycling through the pack's test events.
func packCorpus(b *testing.B, n int) (*pyrt.Program, [][]byte) {
	repo, _ := load(&testing.T{}, packDir)
	set, problems := detect.Compile(repo, repo.Detections)
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	var logs [][]byte
	for _, d := range repo.Detections {
		for _, t := range d.Tests {
			var compact bytes.Buffer
			json.Compact(&compact, t.Log)
			logs = append(logs, compact.Bytes())
		}
	}
	events := make([][]byte, n)
	for i := range events {
		events[i] = logs[i%len(logs)]
	}
	return set.Program, events
}

// BenchmarkRuleEvaluation compares, on the same events and the same Okta
// pack rules (every rule on every event, no prefiltering), the naive
// single-process Python loop with prowl's worker pool at 1 and 2 workers.
func BenchmarkRuleEvaluation(b *testing.B) {
	const n = 20000
	prog, events := packCorpus(b, n)
	all := make([]int, len(prog.Detections))
	for i := range all {
		all[i] = i
	}
	b.Run("baseline=python-loop", func(b *testing.B) {
		ndjson := bytes.Join(events, []byte("\n"))
		var seconds float64
		for b.Loop() {
			res, err := pyrt.RunBaseline("", prog, ndjson)
			if err != nil || res.Events != n {
				b.Fatal(err, res)
			}
			seconds += res.Seconds
		}
		b.ReportMetric(float64(n*b.N)/seconds, "events/s")
	})
	for _, workers := range []int{1, 2} {
		b.Run("prowl/workers="+string(rune('0'+workers)), func(b *testing.B) {
			pool, err := pyrt.New(pyrt.Config{Workers: workers}, prog)
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			items := make([]pyrt.Item, n)
			for i, e := range events {
				items[i] = pyrt.Item{Event: e, Rules: all}
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := pool.Run(context.Background(), pyrt.ModeBatch, items); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
