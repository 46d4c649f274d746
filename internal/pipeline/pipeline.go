// Package pipeline joins prowl's stages: sources hand batches to Ingest,
// which normalizes them, quarantines what does not parse and appends the
// rest, with the source's checkpoint, to the write-ahead log as one record;
// only then is the batch acknowledged. The engine consumer reads the log,
// evaluates detections in batches and commits the resulting alert state
// together with its log offset, so a crash at any moment neither loses an
// acknowledged event nor counts one twice.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/batchrec"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/sources"
	"github.com/prowl-siem/prowl/internal/store"
	"github.com/prowl-siem/prowl/internal/wal"
)

// EngineConsumer names the engine's offset in the log and the alert store.
const EngineConsumer = "engine"

// Store is what the pipeline keeps in the control-plane database
// (*store.Store implements it).
type Store interface {
	Quarantine(ctx context.Context, q []store.Quarantined) error
	ListQuarantine(ctx context.Context, sourceID string, limit, offset int) ([]store.Quarantined, error)
	DeleteQuarantine(ctx context.Context, ids []int64) error
	PutCheckpoint(ctx context.Context, sourceID string, v []byte) error
	AddHealth(ctx context.Context, sourceID string, events, bytes, quarantined int64, lastEvent time.Time) error
}

// Evaluator runs detections (*engine.Engine implements it).
type Evaluator interface {
	Evaluate(ctx context.Context, events []logtypes.Event) ([]alerts.Match, error)
}

// Options wire the pipeline.
type Options struct {
	Log      *wal.Log
	Registry *logtypes.Registry
	Store    Store
	Engine   Evaluator
	Alerts   *alerts.Manager
	// Offsets reads the engine's committed offset (the alert store).
	Offsets alerts.Store
	// Notify receives the alerts each engine batch created.
	Notify func(ctx context.Context, created []alerts.Alert)
	// BatchSize caps an engine batch (default 500). A batch takes what the
	// log already holds, so it is small when traffic is light (low latency)
	// and fills up under load. BatchDelay, when positive, also waits up to
	// that long for more records (default 0: no waiting).
	BatchSize  int
	BatchDelay time.Duration
	// MaxLag is how many log records may wait for the engine before Ingest
	// blocks (backpressure; default 10,000).
	MaxLag  uint64
	Now     func() time.Time
	Logger  *slog.Logger
	Metrics prometheus.Registerer
}

// Pipeline is the running pipeline.
type Pipeline struct {
	opts        Options
	normalizers sync.Pool
	intake      sync.Pool     // of *intakeMem
	committed   atomic.Uint64 // engine offset: records below it are processed
	progress    chan struct{} // closed and replaced on every engine commit
	progressMu  sync.Mutex
	m           metrics
}

type metrics struct {
	events, quarantined *prometheus.CounterVec
	bytes               *prometheus.CounterVec
	matches, alerts     *prometheus.CounterVec
	engineBatches       prometheus.Histogram
	lag                 prometheus.GaugeFunc
}

// New prepares a pipeline; Reconcile, then Run start it.
func New(opts Options) *Pipeline {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.MaxLag == 0 {
		opts.MaxLag = 10_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Notify == nil {
		opts.Notify = func(context.Context, []alerts.Alert) {}
	}
	p := &Pipeline{opts: opts, progress: make(chan struct{})}
	p.normalizers.New = func() any { return opts.Registry.NewNormalizer() }
	p.intake.New = func() any { return new(intakeMem) }
	p.m = metrics{
		events:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "prowl_pipeline_events_total", Help: "Events normalized and written ahead, by source and log type."}, []string{"source", "log_type"}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "prowl_pipeline_quarantined_total", Help: "Records quarantined, by source and reason."}, []string{"source", "reason"}),
		bytes:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "prowl_pipeline_bytes_total", Help: "Raw bytes received, by source."}, []string{"source"}),
		matches:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "prowl_engine_matches_total", Help: "Rule matches and rule errors, by rule and type."}, []string{"rule", "type"}),
		alerts:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "prowl_alerts_created_total", Help: "Alerts created, by severity and type."}, []string{"severity", "type"}),
		engineBatches: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "prowl_engine_batch_seconds", Help: "Time to evaluate and commit one engine batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
	}
	p.m.lag = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "prowl_pipeline_engine_lag_records", Help: "Log records not yet processed by the engine."},
		func() float64 { return float64(p.Lag()) })
	if opts.Metrics != nil {
		for _, c := range []prometheus.Collector{p.m.events, p.m.quarantined, p.m.bytes, p.m.matches, p.m.alerts, p.m.engineBatches, p.m.lag} {
			opts.Metrics.MustRegister(c)
		}
	}
	return p
}

// Lag is the number of log records the engine has not processed yet.
func (p *Pipeline) Lag() uint64 {
	next, done := uint64(p.opts.Log.Next()), p.committed.Load()
	if next < done {
		return 0
	}
	return next - done
}

// Ingest implements sources.Sink: it returns nil only once every record is
// durable (written ahead, or quarantined) and the batch's checkpoint with it.
func (p *Pipeline) Ingest(ctx context.Context, batch sources.Batch) error {
	_, err := p.IngestCounted(ctx, batch)
	return err
}

// IngestCounted is Ingest that also says how many of the batch's records
// were quarantined (when err is nil; the rest were written ahead). The
// import API reports it to its client.
func (p *Pipeline) IngestCounted(ctx context.Context, batch sources.Batch) (quarantined int, err error) {
	now := p.opts.Now().UTC()
	norm := p.normalizers.Get().(*logtypes.Normalizer)
	defer p.normalizers.Put(norm)
	mem := p.intake.Get().(*intakeMem)
	rec := &batchRecord{SourceID: batch.SourceID, Checkpoint: batch.Checkpoint}
	var rejects []store.Quarantined
	var newest time.Time
	var size int64
	meta := logtypes.Meta{SourceID: batch.SourceID, SourceLabel: batch.SourceLabel, ParseTime: now}
	for _, raw := range batch.Records {
		size += int64(len(raw))
		ev, err := mem.events.Append(norm, batch.LogType, raw, meta)
		if err != nil {
			q := store.Quarantined{SourceID: batch.SourceID, LogType: batch.LogType, Reason: "invalid", Detail: err.Error(),
				Raw: append([]byte(nil), raw...), ReceivedAt: now}
			var rej *logtypes.Rejection
			if errors.As(err, &rej) {
				q.Reason, q.Detail = rej.Reason, rej.Detail
			}
			rejects = append(rejects, q)
			continue
		}
		if ev.Time.After(newest) {
			newest = ev.Time
		}
		rec.Events = append(rec.Events, ev)
	}
	if err := p.waitForRoom(ctx); err != nil {
		return 0, err
	}
	if len(rejects) > 0 {
		if err := p.opts.Store.Quarantine(ctx, rejects); err != nil {
			return 0, fmt.Errorf("quarantining %d records: %w", len(rejects), err)
		}
		for _, q := range rejects {
			p.m.quarantined.WithLabelValues(batch.SourceID, q.Reason).Inc()
		}
	}
	if len(rec.Events) > 0 || len(rec.Checkpoint) > 0 {
		mem.record = encodeRecord(mem.record[:0], rec)
		if _, err := p.opts.Log.Append(ctx, [][]byte{mem.record}); err != nil {
			// The log may still write the record: mem goes, not to the pool.
			return 0, fmt.Errorf("writing events ahead: %w", err)
		}
	}
	// The log now holds the checkpoint; the store's copy is what sources
	// read, and Reconcile repairs it if a crash comes between the two.
	bg := context.WithoutCancel(ctx)
	if len(rec.Checkpoint) > 0 {
		if err := p.opts.Store.PutCheckpoint(bg, batch.SourceID, rec.Checkpoint); err != nil {
			p.opts.Logger.Warn("saving source checkpoint after write-ahead", "source", batch.SourceID, "err", err)
		}
	}
	if batch.SourceID != "" {
		if err := p.opts.Store.AddHealth(bg, batch.SourceID, int64(len(rec.Events)), size, int64(len(rejects)), newest); err != nil {
			p.opts.Logger.Warn("recording source health", "source", batch.SourceID, "err", err)
		}
	}
	p.m.bytes.WithLabelValues(batch.SourceID).Add(float64(size))
	for i := range rec.Events {
		p.m.events.WithLabelValues(batch.SourceID, rec.Events[i].LogType).Inc()
	}
	// The log holds a copy of the events: their memory serves the next
	// batch, grown if this one did not fit.
	mem.events.Reset()
	p.intake.Put(mem)
	return len(rejects), nil
}

// intakeMem is the memory Ingest normalizes and encodes a batch in, pooled
// (see logtypes.BatchMemory).
type intakeMem struct {
	events logtypes.BatchMemory
	record []byte // the encoded batch record
}

// waitForRoom blocks while the engine is more than MaxLag records behind.
func (p *Pipeline) waitForRoom(ctx context.Context) error {
	for p.Lag() > p.opts.MaxLag {
		p.progressMu.Lock()
		ch := p.progress
		p.progressMu.Unlock()
		if p.Lag() <= p.opts.MaxLag {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the detection engine to catch up: %w", ctx.Err())
		}
	}
	return nil
}

func (p *Pipeline) advance(off uint64) {
	p.committed.Store(off)
	p.progressMu.Lock()
	close(p.progress)
	p.progress = make(chan struct{})
	p.progressMu.Unlock()
}

// Reconcile repairs source checkpoints from the log: the last batch record
// of each source carries the checkpoint that holds, whether or not the
// store's copy was written before a crash. It also loads the engine's
// offset. Call it once, before sources and Run start.
func (p *Pipeline) Reconcile(ctx context.Context) error {
	off, err := p.opts.Offsets.LoadOffset(ctx, EngineConsumer)
	if err != nil {
		return fmt.Errorf("loading the engine offset: %w", err)
	}
	p.committed.Store(max(off, uint64(p.opts.Log.First())))
	if _, err := p.opts.Log.RegisterConsumer(EngineConsumer); err != nil {
		return err
	}
	r, err := p.opts.Log.Reader(p.opts.Log.First())
	if err != nil {
		return err
	}
	defer r.Close()
	last := map[string][]byte{}
	end := p.opts.Log.Next()
	for off := p.opts.Log.First(); off < end; off++ {
		data, _, err := r.NextOwned(ctx)
		if err != nil {
			return fmt.Errorf("reading the log at %d: %w", off, err)
		}
		rec, err := decodeOwnedRecord(data)
		if err != nil {
			return fmt.Errorf("log record %d: %w", off, err)
		}
		if len(rec.Checkpoint) > 0 {
			last[rec.SourceID] = rec.Checkpoint
		}
	}
	for id, cp := range last {
		if err := p.opts.Store.PutCheckpoint(ctx, id, cp); err != nil {
			return fmt.Errorf("restoring the checkpoint of source %s: %w", id, err)
		}
	}
	return nil
}

// Run is the engine consumer: it reads the log from the engine's offset and
// evaluates batches until ctx is done. Failures are retried with backoff;
// nothing is committed until a batch is fully processed.
func (p *Pipeline) Run(ctx context.Context) error {
	start := wal.Offset(p.committed.Load())
	r, err := p.opts.Log.Reader(start)
	if err != nil {
		return err
	}
	defer r.Close()
	// Records are decoded into memory reused batch after batch: fresh memory
	// for each record (about a megabyte) costs page faults and clearing.
	var dec batchrec.Decoder
	next := start
	for ctx.Err() == nil {
		events, end, err := p.collect(ctx, r, &dec, next)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for attempt := 1; ; attempt++ {
			err := p.process(ctx, events, end)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			wait := min(time.Duration(attempt)*time.Second, 30*time.Second)
			p.opts.Logger.Error("engine batch failed; retrying", "err", err, "retry_in", wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil
			}
		}
		next = end
		dec.Reset() // the matches and alerts keep copies of what they need
	}
	return nil
}

// collect reads at least one record, then those already in the log (and,
// with a BatchDelay, those arriving within it) up to BatchSize events,
// decoding them with dec. end is the offset after the last record read.
func (p *Pipeline) collect(ctx context.Context, r *wal.Reader, dec *batchrec.Decoder, from wal.Offset) ([]logtypes.Event, wal.Offset, error) {
	var events []logtypes.Event
	end := from
	readCtx := ctx
	for len(events) < p.opts.BatchSize {
		if end > from && p.opts.BatchDelay <= 0 && end >= p.opts.Log.Next() {
			break // nothing more written: evaluate what we have
		}
		data, off, err := r.Next(readCtx)
		if err != nil {
			if readCtx != ctx && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				break // the batch delay passed
			}
			return nil, end, err
		}
		rec, err := dec.Decode(data)
		if err != nil {
			return nil, end, fmt.Errorf("log record %d: %w", off, err)
		}
		events = append(events, rec.Events...)
		end = off + 1
		if readCtx == ctx && p.opts.BatchDelay > 0 { // the first record starts the batch delay
			var cancel context.CancelFunc
			readCtx, cancel = context.WithTimeout(ctx, p.opts.BatchDelay)
			defer cancel()
		}
	}
	return events, end, nil
}

// process evaluates one batch and commits its alerts with the offset.
func (p *Pipeline) process(ctx context.Context, events []logtypes.Event, end wal.Offset) error {
	started := time.Now()
	matches, err := p.opts.Engine.Evaluate(ctx, events)
	if err != nil {
		return fmt.Errorf("evaluating detections: %w", err)
	}
	created, err := p.opts.Alerts.Process(ctx, matches, &alerts.Offset{Consumer: EngineConsumer, Value: uint64(end)})
	if err != nil {
		return err
	}
	if err := p.opts.Log.CommitOffset(EngineConsumer, end); err != nil {
		p.opts.Logger.Warn("recording the engine offset in the log", "err", err)
	}
	p.advance(uint64(end))
	for i := range matches {
		p.m.matches.WithLabelValues(matches[i].RuleID, matches[i].Type).Inc()
	}
	for _, a := range created {
		p.m.alerts.WithLabelValues(a.Severity, a.Type).Inc()
	}
	p.m.engineBatches.Observe(time.Since(started).Seconds())
	if len(created) > 0 {
		p.opts.Notify(ctx, created)
	}
	return nil
}

// Reprocess runs a source's quarantined records through normalization again
// (after a schema fix, say): those that now parse are written ahead and
// leave the quarantine; the others stay. It returns how many moved.
func (p *Pipeline) Reprocess(ctx context.Context, sourceID string) (moved, remaining int, err error) {
	const page = 500
	offset := 0
	for {
		items, err := p.opts.Store.ListQuarantine(ctx, sourceID, page, offset)
		if err != nil {
			return moved, remaining, err
		}
		if len(items) == 0 {
			return moved, remaining, nil
		}
		norm := p.normalizers.Get().(*logtypes.Normalizer)
		rec := &batchRecord{SourceID: sourceID}
		var ids []int64
		for _, q := range items {
			ev, err := norm.Normalize(q.LogType, q.Raw, logtypes.Meta{SourceID: q.SourceID, ParseTime: p.opts.Now().UTC()})
			if err != nil {
				remaining++
				continue
			}
			rec.Events = append(rec.Events, ev)
			ids = append(ids, q.ID)
		}
		p.normalizers.Put(norm)
		if len(rec.Events) > 0 {
			if _, err := p.opts.Log.Append(ctx, [][]byte{encodeRecord(nil, rec)}); err != nil {
				return moved, remaining, err
			}
			if err := p.opts.Store.DeleteQuarantine(ctx, ids); err != nil {
				return moved, remaining, err
			}
			moved += len(ids)
		}
		offset += len(items) - len(ids)
	}
}
