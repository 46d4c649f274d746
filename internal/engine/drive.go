package engine

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/logtypes"
)

// DriveOptions configure Drive.
type DriveOptions struct {
	// LogType of every record.
	LogType string
	// Registry holds the schemas (default: the built-in log types).
	Registry *logtypes.Registry
	// BatchSize is the number of events per Evaluate call (default 4096).
	BatchSize int
	// Normalizers is the number of goroutines normalizing (default: one per
	// CPU).
	Normalizers int
	// Evaluators is the number of Evaluate calls in flight (default 2), so
	// that Go prepares the next batch while Python works on one.
	Evaluators int
	// Alerts, when set, receives the matches of each batch, in order.
	Alerts *alerts.Manager
}

// DriveResult is what Drive did.
type DriveResult struct {
	Events, Rejected  int
	Matches, Alerts   int
	Bytes             int64
	Elapsed           time.Duration
	EventsPerSecond   float64
	MatchesByRuleType map[string]int
}

// Drive pushes raw records through the detection path of the pipeline in
// memory: normalize (in parallel), route, prefilter and evaluate (pipelined
// batches), then the alert manager in record order. It leaves out the
// write-ahead log and the lake, which makes it the yardstick for the engine
// itself: `prowl bench` and the engine benchmarks use it.
func Drive(ctx context.Context, e *Engine, raw [][]byte, opts DriveOptions) (DriveResult, error) {
	if opts.Registry == nil {
		opts.Registry = logtypes.NewRegistry()
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 4096
	}
	if opts.Normalizers <= 0 {
		opts.Normalizers = runtime.NumCPU()
	}
	if opts.Evaluators <= 0 {
		opts.Evaluators = 2
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type batch struct {
		seq      int
		events   []logtypes.Event
		rejected int
		bytes    int64
		matches  []alerts.Match
		mem      logtypes.BatchMemory
	}
	// Batches and their memory are reused once the alert manager is done
	// with them (matches and alerts keep copies of what they need), as the
	// pipeline does: fresh memory for each batch costs clearing and GC.
	// Enough are kept for every batch that can be in flight.
	free := make(chan *batch, 2*(opts.Normalizers+opts.Evaluators)+2)
	nb := (len(raw) + opts.BatchSize - 1) / opts.BatchSize
	jobs := make(chan int, nb)
	for i := range nb {
		jobs <- i
	}
	close(jobs)
	normalized := make(chan *batch, opts.Evaluators+opts.Normalizers)
	evaluated := make(chan *batch, opts.Evaluators+1)
	var errOnce sync.Once
	var firstErr error
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	start := time.Now()
	var nwg sync.WaitGroup
	for range opts.Normalizers {
		nwg.Add(1)
		go func() {
			defer nwg.Done()
			norm := opts.Registry.NewNormalizer()
			for seq := range jobs {
				recs := raw[seq*opts.BatchSize : min((seq+1)*opts.BatchSize, len(raw))]
				var b *batch
				select {
				case b = <-free:
				default:
					b = new(batch)
				}
				b.seq, b.events, b.rejected, b.bytes, b.matches = seq, b.events[:0], 0, 0, nil
				b.mem.Reset()
				// A batch is received at once, as in the pipeline: one parse time.
				meta := logtypes.Meta{ParseTime: time.Now()}
				for _, r := range recs {
					b.bytes += int64(len(r))
					ev, err := b.mem.Append(norm, opts.LogType, r, meta)
					if err != nil {
						b.rejected++
						continue
					}
					b.events = append(b.events, ev)
				}
				select {
				case normalized <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { nwg.Wait(); close(normalized) }()
	var ewg sync.WaitGroup
	for range opts.Evaluators {
		ewg.Add(1)
		go func() {
			defer ewg.Done()
			for b := range normalized {
				ms, err := e.Evaluate(ctx, b.events)
				if err != nil {
					fail(err)
					return
				}
				b.matches = ms
				select {
				case evaluated <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { ewg.Wait(); close(evaluated) }()
	res := DriveResult{MatchesByRuleType: map[string]int{}}
	pending := map[int]*batch{}
	next := 0
	for b := range evaluated {
		pending[b.seq] = b
		for pending[next] != nil {
			b := pending[next]
			delete(pending, next)
			next++
			res.Events += len(b.events)
			res.Rejected += b.rejected
			res.Bytes += b.bytes
			res.Matches += len(b.matches)
			for _, m := range b.matches {
				res.MatchesByRuleType[m.Type+" "+m.RuleID]++
			}
			if opts.Alerts != nil && len(b.matches) > 0 {
				created, err := opts.Alerts.Process(ctx, b.matches, nil)
				if err != nil {
					fail(err)
					continue
				}
				res.Alerts += len(created)
			}
			select {
			case free <- b:
			default:
			}
		}
	}
	res.Elapsed = time.Since(start)
	res.EventsPerSecond = float64(res.Events) / res.Elapsed.Seconds()
	if firstErr != nil {
		return res, firstErr
	}
	return res, ctx.Err()
}
