package lake

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/prowl-siem/prowl/internal/batchrec"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/wal"
)

// IngestOptions configure Ingest.
type IngestOptions struct {
	// LogType of every record.
	LogType string
	// Meta is the source of every record (a zero ParseTime: when Ingest
	// starts).
	Meta logtypes.Meta
	// Registry holds the schemas (default: the built-in log types).
	Registry *logtypes.Registry
	// BatchSize is the number of events per batch record (default 500).
	BatchSize int
	// LogFirst writes the whole log before the lake consumer starts and
	// times the consumer alone.
	LogFirst bool
}

// IngestResult is what Ingest did.
type IngestResult struct {
	// Events is the number of rows in the lake's files.
	Events int
	// Elapsed runs from the first record normalized (with LogFirst: from
	// the consumer's start) until the manifest lists every event; opening
	// the log and the lake is left out.
	Elapsed time.Duration
	// Bytes is the size of the lake's Parquet files.
	Bytes int64
}

// Ingest writes raw records into a new lake in dir/lake along prowl's
// ingest path, sources left out: it normalizes each record, appends batch
// records to a write-ahead log in dir/wal and runs the lake consumer (Run,
// default flush settings) alongside, until every event is in a file the
// manifest lists. The log and the lake skip fsync, as DuckDB's COPY does.
// A record the schema rejects is an error, and so is no record. It is the
// yardstick of the lake's ingest: `prowl bench` and
// BenchmarkIngestToParquet use it.
func Ingest(ctx context.Context, dir string, raw [][]byte, opts IngestOptions) (IngestResult, error) {
	if opts.Registry == nil {
		opts.Registry = logtypes.NewRegistry()
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.Meta.ParseTime.IsZero() {
		opts.Meta.ParseTime = time.Now()
	}
	if len(raw) == 0 {
		return IngestResult{}, errors.New("lake ingest: no records")
	}
	log, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "wal"), NoSync: true})
	if err != nil {
		return IngestResult{}, err
	}
	defer log.Close()
	writeAhead := func(ctx context.Context) (last wal.Offset, err error) {
		norm := opts.Registry.NewNormalizer()
		rec := &batchrec.Record{SourceID: opts.Meta.SourceID}
		var buf []byte
		var mem logtypes.BatchMemory // a record's events are normalized into it
		for i, r := range raw {
			ev, err := mem.Append(norm, opts.LogType, r, opts.Meta)
			if err != nil {
				return 0, err
			}
			rec.Events = append(rec.Events, ev)
			if len(rec.Events) == opts.BatchSize || i == len(raw)-1 {
				buf = batchrec.Encode(buf[:0], rec)
				if last, err = log.Append(ctx, [][]byte{buf}); err != nil {
					return 0, err
				}
				// Encode copied the events: mem serves the next record.
				mem.Reset()
				rec.Events = rec.Events[:0]
			}
		}
		return last, nil
	}
	l, err := Open(Options{Dir: filepath.Join(dir, "lake"), Log: log, Registry: opts.Registry, NoSync: true,
		DefaultRetention: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return IngestResult{}, err
	}
	defer l.Close()
	ctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()

	type written struct {
		last wal.Offset
		err  error
	}
	logged := make(chan written, 1)
	if opts.LogFirst {
		last, err := writeAhead(ctx)
		if err != nil {
			return IngestResult{}, err
		}
		logged <- written{last, nil}
	}
	start := time.Now()
	if !opts.LogFirst {
		wg.Go(func() {
			last, err := writeAhead(ctx)
			logged <- written{last, err}
		})
	}
	ran := make(chan error, 1)
	wg.Go(func() { ran <- l.Run(ctx) })

	// Wait until the lake covers the last record, flushing the tail as
	// soon as it is read rather than after FlushInterval.
	end := wal.Offset(0) // after the last record, once known
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for end == 0 || l.Offset() < end {
		select {
		case w := <-logged:
			if w.err != nil {
				return IngestResult{}, w.err
			}
			end = w.last + 1
		case err := <-ran: // a record it cannot read, or ctx is done
			if err == nil {
				err = context.Cause(ctx)
			}
			return IngestResult{}, err
		case <-tick.C:
			if end != 0 && l.read(end) {
				if err := l.Flush(ctx); err != nil {
					return IngestResult{}, err
				}
			}
		}
	}
	res := IngestResult{Elapsed: time.Since(start)}
	stop()
	if err := <-ran; err != nil {
		return IngestResult{}, err
	}
	st := l.Stats()
	res.Events, res.Bytes = int(st.Rows), st.Bytes
	return res, nil
}

// read reports whether the lake has read the log up to end.
func (l *Lake) read(end wal.Offset) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bufTo >= end
}
