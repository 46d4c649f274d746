package engine

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/detect"
	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

func benchEvents(b *testing.B) int {
	if s := os.Getenv("PROWL_BENCH_EVENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err == nil && n > 0 {
			return n
		}
	}
	return 50_000
}

// benchCorpus is n generated Okta events with every attack scenario.
func benchCorpus(b *testing.B, n int) [][]byte {
	var names []string
	for _, s := range gen.OktaScenarios() {
		names = append(names, s.Name)
	}
	var out [][]byte
	if err := gen.Okta(gen.OktaOptions{Count: n, Seed: 7, Attacks: names}, func(ev []byte) error {
		out = append(out, ev)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return out
}

func benchPack(b *testing.B) *analysis.Repo {
	repo, err := analysis.Load([]string{"../../packs/okta"}, analysis.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return repo
}

// BenchmarkPrefilter compares, on the same generated Okta events and the
// bundled Okta pack: the naive baseline (one Python process, every rule on
// every event, events already normalized), and prowl's detection path end
// to end (normalize, route, prefilter, Python, alert manager) with the
// static prefilters off and on. PROWL_BENCH_EVENTS sets the corpus size
// (default 50,000).
func BenchmarkPrefilter(b *testing.B) {
	n := benchEvents(b)
	raw := benchCorpus(b, n)
	repo := benchPack(b)
	b.Run("baseline=python-loop", func(b *testing.B) {
		set, _ := detect.Compile(repo, repo.Detections)
		norm := logtypes.NewRegistry().NewNormalizer()
		var ndjson bytes.Buffer
		for _, r := range raw {
			ev, err := norm.Normalize("Okta.SystemLog", r, logtypes.Meta{})
			if err != nil {
				b.Fatal(err)
			}
			ndjson.Write(ev.JSON)
			ndjson.WriteByte('\n')
		}
		var seconds float64
		for b.Loop() {
			res, err := pyrt.RunBaseline("", set.Program, ndjson.Bytes())
			if err != nil || res.Events != n {
				b.Fatal(err, res)
			}
			seconds += res.Seconds
		}
		b.ReportMetric(float64(n*b.N)/seconds, "events/s")
	})
	for _, off := range []bool{true, false} {
		name := "prowl/prefilters=on"
		if off {
			name = "prowl/prefilters=off"
		}
		b.Run(name, func(b *testing.B) {
			e, err := New(context.Background(), repo, Options{Python: pyrt.Config{Output: io.Discard}, PrefiltersOff: off})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			mgr, err := alerts.NewManager(context.Background(), alerts.NewMemoryStore(), alerts.Options{AlertsPerHour: 1 << 30})
			if err != nil {
				b.Fatal(err)
			}
			before := e.Stats()
			b.ResetTimer()
			for b.Loop() {
				if _, err := Drive(context.Background(), e, raw, DriveOptions{LogType: "Okta.SystemLog", Alerts: mgr}); err != nil {
					b.Fatal(err)
				}
			}
			st := e.Stats()
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(100*float64(st.PythonEvents-before.PythonEvents)/float64(st.Events-before.Events), "%-to-python")
		})
	}
	// The Go side alone: prefilter decisions for every event, all rules.
	b.Run("prefilters-only", func(b *testing.B) {
		e, err := New(context.Background(), repo, Options{Python: pyrt.Config{Workers: 1, Output: io.Discard}})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		norm := logtypes.NewRegistry().NewNormalizer()
		events := make([][]byte, len(raw))
		for i, r := range raw {
			ev, err := norm.Normalize("Okta.SystemLog", r, logtypes.Meta{})
			if err != nil {
				b.Fatal(err)
			}
			events[i] = ev.JSON
		}
		c := e.cur
		var rules []int
		for py := range c.byPython {
			rules = append(rules, py)
		}
		var dst []int
		b.ResetTimer()
		for b.Loop() {
			for _, ev := range events {
				dst = c.filters.Candidates(ev, nil, rules, dst[:0])
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
