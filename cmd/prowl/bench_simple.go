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
	"github.com/prowl-siem/prowl/internal/batchrec"
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

// logRecordEvents is the size of the log records of the from-log run: the
// pipeline's default engine batch (batch_size), which is also a source
// batch of the soak and of the Okta source's pages.
const logRecordEvents = 500

// benchSimple runs Engine.Evaluate over the normalized events with the
// Okta pack written as simple detections, on one core, with the
// prefilters off (the baseline: every event decoded for the matchers) and
// on; then on again as the pipeline's engine consumer runs it, decoding
// each batch from its write-ahead log record (a batchrec.Decoder) before
// evaluating it, decoding included in the time.
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
	var records [][]byte
	for i := 0; i < len(events); i += logRecordEvents {
		records = append(records, batchrec.Encode(nil, &batchrec.Record{Events: events[i:min(i+logRecordEvents, len(events))]}))
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var rows []simpleRow
	for _, run := range []struct {
		name         string
		off, fromLog bool
	}{{"baseline: prefilters off", true, false}, {"prefilters on", false, false}, {"prefilters on, from log records", false, true}} {
		fmt.Fprintf(progress, "simple detections, %s: Engine.Evaluate on one core...\n", run.name)
		e, err := engine.New(ctx, repo, engine.Options{PrefiltersOff: run.off, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, err
		}
		debug.FreeOSMemory()
		row := simpleRow{name: run.name, events: len(events), rules: len(repo.Detections)}
		cpu0, start := selfCPU(), time.Now()
		evaluate := func(batch []logtypes.Event) error {
			ms, err := e.Evaluate(ctx, batch)
			row.matches += len(ms)
			return err
		}
		if run.fromLog {
			var dec batchrec.Decoder // as the engine consumer decodes
			for _, rec := range records {
				dec.Reset() // the record before is evaluated
				r, err := dec.Decode(rec)
				if err == nil {
					err = evaluate(r.Events)
				}
				if err != nil {
					e.Close()
					return nil, err
				}
			}
		} else {
			for i := 0; i < len(events); i += f.batch {
				if err := evaluate(events[i:min(i+f.batch, len(events))]); err != nil {
					e.Close()
					return nil, err
				}
			}
		}
		row.seconds, row.cpu = time.Since(start).Seconds(), selfCPU()-cpu0
		st := e.Stats()
		row.decoded = float64(st.GoDecoded) / float64(max(st.GoCandidates, 1))
		e.Close()
		rows = append(rows, row)
	}
	for _, r := range rows[1:] {
		if r.matches != rows[0].matches {
			return nil, fmt.Errorf("simple detections: %d matches with %s, %d with %s: the prefilters changed a verdict",
				r.matches, r.name, rows[0].matches, rows[0].name)
		}
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
	fmt.Fprintf(out, "speed-up over the baseline: %.1fx (from log records, decoding included: %.1fx)\n",
		rows[0].seconds/rows[1].seconds, rows[0].seconds/rows[2].seconds)
}
