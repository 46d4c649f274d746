package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"text/tabwriter"
	"time"

	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/benchdata"
	"github.com/prowl-siem/prowl/internal/engine"
	"github.com/prowl-siem/prowl/internal/logtypes"
)

type simpleRow struct {
	name            string
	events, matches int
	seconds, cpu    float64
	decoded         float64 // share of the events the matchers decoded
	rules           int
}

// benchSimple runs Engine.Evaluate over the normalized events with the
// Okta pack written as simple detections, on one core, with the
// prefilters off (the baseline: every event decoded for the matchers) and
// on.
func benchSimple(ctx context.Context, progress io.Writer, f *benchFlags, raw [][]byte) ([]simpleRow, error) {
	dir, err := os.MkdirTemp("", "prowl-bench-simple-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path, err := benchdata.ExtractOktaSimple(dir)
	if err != nil {
		return nil, err
	}
	repo, err := analysis.Load([]string{path}, analysis.Options{})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "simple detections: normalizing %d events...\n", len(raw))
	events, err := benchNormalize(raw)
	if err != nil {
		return nil, err
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var rows []simpleRow
	for _, off := range []bool{true, false} {
		name := "prefilters on"
		if off {
			name = "baseline: prefilters off"
		}
		fmt.Fprintf(progress, "simple detections, %s: Engine.Evaluate on one core...\n", name)
		e, err := engine.New(ctx, repo, engine.Options{PrefiltersOff: off, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, err
		}
		debug.FreeOSMemory()
		row := simpleRow{name: name, events: len(events), rules: len(repo.Detections)}
		cpu0, start := selfCPU(), time.Now()
		for i := 0; i < len(events); i += f.batch {
			ms, err := e.Evaluate(ctx, events[i:min(i+f.batch, len(events))])
			if err != nil {
				e.Close()
				return nil, err
			}
			row.matches += len(ms)
		}
		row.seconds, row.cpu = time.Since(start).Seconds(), selfCPU()-cpu0
		st := e.Stats()
		row.decoded = float64(st.GoDecoded) / float64(max(st.GoCandidates, 1))
		e.Close()
		rows = append(rows, row)
	}
	if rows[0].matches != rows[1].matches {
		return nil, fmt.Errorf("simple detections: %d matches with the prefilters off, %d with them on: the prefilters changed a verdict",
			rows[0].matches, rows[1].matches)
	}
	return rows, nil
}

// benchNormalize normalizes the events as the pipeline does, with the
// offsets of their top-level keys.
func benchNormalize(raw [][]byte) ([]logtypes.Event, error) {
	norm := logtypes.NewRegistry().NewNormalizer()
	events := make([]logtypes.Event, len(raw))
	for i, r := range raw {
		ev, err := norm.Normalize("Okta.SystemLog", r, logtypes.Meta{})
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		ev.Members = norm.AppendMembers(nil)
		events[i] = ev
	}
	return events, nil
}

func printSimple(out io.Writer, rows []simpleRow) {
	fmt.Fprintf(out, "\nsimple detections: the Okta pack as %d simple detections, Engine.Evaluate over %d normalized events, one core (GOMAXPROCS=1)\n",
		rows[0].rules, rows[0].events)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tevents/s/core\tseconds\tCPU seconds\tdecoded\tmatches\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%.1f%%\t%d\t\n", r.name, thousands(float64(r.events)/r.seconds),
			r.seconds, r.cpu, 100*r.decoded, r.matches)
	}
	tw.Flush()
	fmt.Fprintf(out, "speed-up over the baseline: %.1fx\n", rows[0].seconds/rows[1].seconds)
}
