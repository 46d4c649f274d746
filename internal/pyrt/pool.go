package pyrt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
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
	req := loadRequest{Op: "load", RuleTimeout: cfg.RuleTimeout.Seconds(), AvailableDestinations: cfg.AvailableDestinations}
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
		err = w.call(req, &reply, p.stallLimit())
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
		p.all[w] = struct{}{}
		p.mu.Unlock()
		return w, nil
	}
}

// Workers is the number of worker processes.
func (p *Pool) Workers() int { return p.cfg.Workers }

// Run evaluates items and returns, per item, the results of its detections.
// Batches run in parallel across the workers.
func (p *Pool) Run(ctx context.Context, mode Mode, items []Item) ([][]Result, error) {
	results := make([][]Result, len(items))
	size := p.cfg.BatchSize
	if per := (len(items) + p.cfg.Workers - 1) / p.cfg.Workers; per < size {
		size = max(per, 1)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	for start := 0; start < len(items); start += size {
		end := min(start+size, len(items))
		var w *worker
		select {
		case w = <-p.idle:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		if w == nil {
			wg.Wait()
			return nil, errClosed
		}
		wg.Add(1)
		go func(w *worker, start, end int) {
			defer wg.Done()
			w, err := p.runBatch(w, mode, items[start:end], results[start:end])
			if w != nil {
				p.idle <- w
			}
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		}(w, start, end)
	}
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	return results, nil
}

// runBatch runs one batch on w, recovering from a worker that dies or hangs
// on a detection: that detection gets a rule error for that event, a fresh
// worker takes over, and the rest of the batch is evaluated again (replies
// die with the process, so detections with caching side effects may see
// those events twice).
// It returns the worker to put back (nil when none could be started).
func (p *Pool) runBatch(w *worker, mode Mode, items []Item, out [][]Result) (*worker, error) {
	pending := make([]int, len(items)) // indexes into items
	work := make([]Item, len(items))
	for i := range items {
		pending[i] = i
		work[i] = items[i]
	}
	for round := 0; len(work) > 0; round++ {
		var reply runReply
		err := w.call(runRequest{Op: "run", Mode: mode, Items: work}, &reply, p.stallLimit())
		var failed *errWorkerFailed
		if errors.As(err, &failed) {
			p.forget(w)
			next, startErr := p.startLoaded()
			if startErr != nil {
				return nil, startErr
			}
			w = next
			if failed.item < 0 || failed.item >= len(work) || round > len(items)*4 {
				if round > 0 {
					return w, fmt.Errorf("evaluating batch: %w", err)
				}
				continue // retry once: the failure was outside any detection
			}
			orig := pending[failed.item]
			out[orig] = append(out[orig], Result{Rule: failed.rule, Error: p.workerError(failed)})
			work, pending = withoutPair(work, pending, failed.item, failed.rule)
			continue
		}
		if err != nil {
			return w, err
		}
		if reply.Op != "results" {
			return w, fmt.Errorf("evaluating batch: %s", reply.Message)
		}
		for i, rs := range reply.Items {
			out[pending[i]] = append(out[pending[i]], rs...)
		}
		return w, nil
	}
	return w, nil
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
