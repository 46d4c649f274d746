package pyrt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Pool is a set of identical workers that evaluate batches in parallel.
type Pool struct {
	cfg  Config
	load loadRequest
	// LoadErrors maps detection IDs (and "datamodel:ID") whose module could
	// not be imported to the error; those detections never match.
	LoadErrors map[string]*PyError
	// PythonVersion is the workers' interpreter version.
	PythonVersion string

	// prefilters are the rules' static prefilters from the first load
	// reply (Config.Prefilters), by detection index.
	prefilters map[int]json.RawMessage

	idle   chan *worker
	mu     sync.Mutex
	closed bool
	all    map[*worker]struct{}
}

// New starts cfg.Workers processes and loads prog into each.
func New(cfg Config, prog *Program) (*Pool, error) {
	cfg = cfg.withDefaults()
	p := &Pool{cfg: cfg, load: buildLoad(cfg, prog), idle: make(chan *worker, cfg.Workers), all: map[*worker]struct{}{}}
	// The first worker finds load errors (and detections that kill the
	// interpreter on import); the others then load the same program.
	first, err := p.startLoaded()
	if err != nil {
		return nil, err
	}
	p.PythonVersion = first.python
	p.idle <- first
	var wg sync.WaitGroup
	errs := make([]error, cfg.Workers-1)
	for i := 1; i < cfg.Workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w, err := p.startLoaded()
			if err != nil {
				errs[i-1] = err
				return
			}
			p.idle <- w
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func buildLoad(cfg Config, prog *Program) loadRequest {
	req := loadRequest{Op: "load", RuleTimeout: cfg.RuleTimeout.Seconds(), AvailableDestinations: cfg.AvailableDestinations,
		Prefilters: cfg.Prefilters}
	for _, g := range prog.Globals {
		req.Globals = append(req.Globals, globalSpec{ID: g.Name, Path: abs(g.File)})
	}
	for _, m := range prog.DataModels {
		spec := dataModelSpec{ID: m.ID, LogTypes: m.LogTypes}
		if m.File != "" {
			spec.Path = abs(m.File)
		}
		for _, mp := range m.Mappings {
			spec.Mappings = append(spec.Mappings, mappingSpec{Name: mp.Name, Path: mp.Path, Method: mp.Method})
		}
		req.DataModels = append(req.DataModels, spec)
	}
	for _, d := range prog.Detections {
		kind := d.Kind
		if kind == "" {
			kind = "rule"
		}
		req.Detections = append(req.Detections, detectionSpec{
			ID: d.ID, Kind: kind, Path: abs(d.File), Severity: d.Severity, DisplayName: d.DisplayName,
			Description: d.Description, Reference: d.Reference, Runbook: d.Runbook,
		})
	}
	return req
}

func abs(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

// stallLimit is how long a worker may sit on one detection call before it
// is killed; the worker's own soft limit (RuleTimeout) normally fires first.
func (p *Pool) stallLimit() time.Duration { return 2*p.cfg.RuleTimeout + time.Second }

// startLoaded starts a worker and loads the program, skipping detections
// whose import kills or hangs the interpreter.
func (p *Pool) startLoaded() (*worker, error) {
	for attempt := 0; ; attempt++ {
		w, err := startWorker(p.cfg)
		if err != nil {
			return nil, err
		}
		p.mu.Lock()
		req := p.load
		p.mu.Unlock()
		var reply loadReply
		_, err = w.call(req, &reply, p.stallLimit())
		var failed *errWorkerFailed
		if errors.As(err, &failed) && failed.item == -1 && failed.rule >= 0 && failed.rule < len(req.Detections) && attempt < len(req.Detections) {
			p.mu.Lock()
			p.load.Skip = append(append([]int(nil), p.load.Skip...), failed.rule)
			if p.LoadErrors == nil {
				p.LoadErrors = map[string]*PyError{}
			}
			d := req.Detections[failed.rule]
			p.LoadErrors[d.ID] = &PyError{Type: "WorkerCrash", File: d.Path,
				Message: fmt.Sprintf("the python worker %s while importing %s", failed.cause, filepath.Base(d.Path))}
			p.mu.Unlock()
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("loading detections: %w", err)
		}
		if reply.Op != "loaded" {
			w.kill()
			return nil, fmt.Errorf("loading detections: %s", reply.Message)
		}
		p.mu.Lock()
		if p.LoadErrors == nil {
			p.LoadErrors = map[string]*PyError{}
		}
		for id, e := range reply.Errors {
			p.LoadErrors[id] = e
		}
		if p.prefilters == nil && req.Prefilters {
			p.prefilters = map[int]json.RawMessage{}
			for key, cond := range reply.Prefilters {
				if i, err := strconv.Atoi(key); err == nil && i >= 0 && i < len(req.Detections) {
					p.prefilters[i] = cond
				}
			}
		}
		p.all[w] = struct{}{}
		p.mu.Unlock()
		return w, nil
	}
}

// Prefilters returns the static prefilter of each rule that has one, by
// index into Program.Detections: a JSON condition (see package prefilter)
// that holds on every event for which the rule returns anything but False.
// It is empty unless Config.Prefilters is set. The map must not be changed.
func (p *Pool) Prefilters() map[int]json.RawMessage { return p.prefilters }

// Workers is the number of worker processes.
func (p *Pool) Workers() int { return p.cfg.Workers }

// pipelineDepth is how many batches a worker has queued at once, so that
// Python works on the next batch while Go encodes and decodes.
const pipelineDepth = 2

// batch is a slice of a Run's items and where their results go.
type batch struct {
	out     [][]Result
	work    []Item // what is still to evaluate
	pending []int  // work[i] is item pending[i] of the batch
	retried bool
}

// Run evaluates items and returns, per item, the results of its detections.
// Batches run in parallel across the workers, pipelined within each.
func (p *Pool) Run(ctx context.Context, mode Mode, items []Item) ([][]Result, error) {
	results := make([][]Result, len(items))
	size := p.cfg.BatchSize
	if per := (len(items) + p.cfg.Workers*pipelineDepth - 1) / (p.cfg.Workers * pipelineDepth); per < size {
		size = max(per, 1)
	}
	batches := make(chan *batch, (len(items)+size-1)/size)
	for start := 0; start < len(items); start += size {
		end := min(start+size, len(items))
		b := &batch{out: results[start:end], work: items[start:end], pending: make([]int, end-start)}
		for i := range b.pending {
			b.pending[i] = i
		}
		batches <- b
	}
	close(batches)
	// Once every batch is taken, more workers cannot help: stop waiting
	// for them. (Waiting would hold this Run until a concurrent Run frees
	// a worker, and make concurrent Runs finish in lockstep.)
	drained := make(chan struct{})
	var drainOnce sync.Once
	markDrained := func() { drainOnce.Do(func() { close(drained) }) }
	var wg sync.WaitGroup
	errs := make([]error, p.cfg.Workers)
	for i := range min(p.cfg.Workers, len(batches)) {
		var w *worker
		more := drained
		if i == 0 {
			more = nil // the first worker is always needed
		}
		select {
		case w = <-p.idle:
		case <-more:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		if w == nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := p.serve(ctx, w, mode, batches, markDrained)
			if w != nil {
				p.idle <- w
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return results, nil
}

// serve evaluates batches on w, keeping up to pipelineDepth in flight. When
// the worker dies or hangs on a detection, that detection gets a rule error
// for that event, a fresh worker takes over and every batch in flight is
// sent again, minus that one evaluation. (Replies die with the process, so
// detections with caching side effects may see those events twice.) It
// returns the worker to put back, nil when none could be started.
func (p *Pool) serve(ctx context.Context, w *worker, mode Mode, batches <-chan *batch, drained func()) (*worker, error) {
	var inflight []*batch
	send := func(b *batch) error {
		frame, err := appendRunRequest(nil, mode, b.work)
		if err != nil {
			return err
		}
		return w.send(rawFrame(frame))
	}
	for {
		for len(inflight) < pipelineDepth && ctx.Err() == nil {
			b, ok := <-batches
			if !ok {
				drained()
				break
			}
			if err := send(b); err != nil {
				return w, err
			}
			inflight = append(inflight, b)
		}
		if len(inflight) == 0 {
			return w, ctx.Err()
		}
		head := inflight[0]
		var reply runReply
		blobs, err := w.receive(&reply, p.stallLimit())
		var failed *errWorkerFailed
		if errors.As(err, &failed) {
			p.forget(w)
			next, startErr := p.startLoaded()
			if startErr != nil {
				return nil, startErr
			}
			w = next
			if failed.item >= 0 && failed.item < len(head.work) {
				orig := head.pending[failed.item]
				head.out[orig] = append(head.out[orig], Result{Rule: failed.rule, Error: p.workerError(failed)})
				head.work, head.pending = withoutPair(head.work, head.pending, failed.item, failed.rule)
			} else if head.retried {
				return w, fmt.Errorf("evaluating batch: %w", err)
			} else {
				head.retried = true // the failure was outside any detection: try once more
			}
			var resend []*batch
			for _, b := range inflight {
				if len(b.work) == 0 {
					continue
				}
				if err := send(b); err != nil {
					return w, err
				}
				resend = append(resend, b)
			}
			inflight = resend
			continue
		}
		if err != nil {
			return w, err
		}
		if reply.Op != "results" {
			return w, fmt.Errorf("evaluating batch: %s", reply.Message)
		}
		items, err := reply.results(blobs)
		if err != nil {
			return w, err
		}
		for i, rs := range items {
			head.out[head.pending[i]] = append(head.out[head.pending[i]], rs...)
		}
		inflight = inflight[1:]
	}
}

// withoutPair removes detection rule from item's list: it failed, and every
// other evaluation of the batch is redone (the replies died with the worker).
func withoutPair(work []Item, pending []int, item, rule int) ([]Item, []int) {
	var nextWork []Item
	var nextPending []int
	for i, it := range work {
		if i == item {
			rest := it
			rest.Rules = nil
			for _, r := range it.Rules {
				if r != rule {
					rest.Rules = append(rest.Rules, r)
				}
			}
			if len(rest.Rules) == 0 {
				continue
			}
			it = rest
		}
		nextWork = append(nextWork, it)
		nextPending = append(nextPending, pending[i])
	}
	return nextWork, nextPending
}

func (p *Pool) workerError(f *errWorkerFailed) *PyError {
	e := &PyError{Type: "WorkerCrash", Message: "the python worker " + f.cause + " while running this detection"}
	if f.rule >= 0 && f.rule < len(p.load.Detections) {
		e.File = p.load.Detections[f.rule].Path
	}
	return e
}

func (p *Pool) forget(w *worker) {
	p.mu.Lock()
	delete(p.all, w)
	p.mu.Unlock()
}

// Close stops every worker.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	workers := make([]*worker, 0, len(p.all))
	for w := range p.all {
		workers = append(workers, w)
	}
	p.mu.Unlock()
	for _, w := range workers {
		w.close()
	}
	return nil
}
