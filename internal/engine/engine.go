// Package engine evaluates detections on normalized events. It routes each
// event to the enabled detections of its log type, decides InlineFilters and
// simple detections in Go, sends the remaining Python rules to the worker
// pool in batches, and turns verdicts into alert matches. Detections can be
// reloaded while it runs; a detection whose new version does not validate or
// import keeps running in its previous version.
package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/detect"
	"github.com/prowl-siem/prowl/internal/jsondec"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/match"
	"github.com/prowl-siem/prowl/internal/prefilter"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

// Options configure an engine.
type Options struct {
	Python pyrt.Config
	// SnapshotDir holds content-addressed copies of the Python files that
	// run, so that editing a file on disk never changes a running version.
	SnapshotDir string
	// Enabled decides which detections run (default: those with Enabled: true).
	Enabled func(*analysis.Detection) bool
	Logger  *slog.Logger
	// PrefiltersOff sends every Python rule of an event's log type to
	// Python, skipping the static prefilters, and decodes every event that
	// has simple detections or InlineFilters to evaluate, whole (for
	// benchmarks and diffing; the verdicts are the same either way).
	PrefiltersOff bool
	// Metrics, when set, receives the engine's counters (see Stats).
	Metrics prometheus.Registerer
}

// Stats counts what the engine did since it started.
type Stats struct {
	// Events is the number of events evaluated.
	Events uint64
	// PythonCandidates counts events that had Python rules to run after
	// routing and InlineFilters; PythonEvents those that reached Python
	// after the prefilters.
	PythonCandidates, PythonEvents uint64
	// RuleCalls counts the rule evaluations sent to Python; PrefilteredCalls
	// those the prefilters proved unnecessary.
	RuleCalls, PrefilteredCalls uint64
	// GoCandidates counts events that had simple detections or
	// InlineFilters to evaluate; GoDecoded those that their prefilters
	// admitted, which were decoded for the exact test.
	GoCandidates, GoDecoded uint64
	// PythonRules is the number of loaded Python detections; Prefiltered
	// the number of those rules that have a prefilter.
	Prefiltered, PythonRules int
}

// Engine evaluates events. Evaluate may be called concurrently with Reload.
type Engine struct {
	opts Options
	mu   sync.RWMutex
	cur  *compiled

	events, pyCandidates, pyEvents, ruleCalls, prefiltered, goCandidates, goDecoded atomic.Uint64
}

// compiled is one immutable version of the running detections.
type compiled struct {
	repo      *analysis.Repo
	set       *detect.Set
	pool      *pyrt.Pool // nil when there are no Python detections
	byLogType map[string][]*detect.Detection
	byPython  map[int]*detect.Detection
	versions  map[string]string // detection ID -> content hash
	problems  []string
	// filters are the Python rules' static prefilters; nil when off.
	filters    *prefilter.Set
	conds      map[int]prefilter.Cond
	prefilterN int
	// goFilters are the necessary conditions of the simple detections and
	// InlineFilters (match.Matcher.Prefilter), numbered per detection.
	goFilters *prefilter.Set
	routes    map[string]*route
}

// route is what Evaluate needs for the events of one log type.
type route struct {
	dets []*detect.Detection // the enabled detections of the log type, by ID
	// goRules are the numbers in goFilters of the detections that have a
	// simple detection or InlineFilters, in dets order.
	goRules []int
	// reads is what the simple detections and InlineFilters of dets read
	// of an event, which is all that is decoded; nil when they read whole
	// events or the prefilters are off.
	reads  *jsondec.Selection
	python bool // some detection of dets runs in Python
}

// New compiles repo and starts the worker pool.
func New(ctx context.Context, repo *analysis.Repo, opts Options) (*Engine, error) {
	if opts.Enabled == nil {
		opts.Enabled = func(d *analysis.Detection) bool { return d.Enabled }
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{opts: opts}
	c, err := e.compile(repo, nil, nil)
	if err != nil {
		return nil, err
	}
	e.cur = c
	if opts.Metrics != nil {
		e.register(opts.Metrics)
	}
	return e, nil
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.RLock()
	n, py := e.cur.prefilterN, len(e.cur.byPython)
	e.mu.RUnlock()
	return Stats{Events: e.events.Load(), PythonCandidates: e.pyCandidates.Load(), PythonEvents: e.pyEvents.Load(),
		RuleCalls: e.ruleCalls.Load(), PrefilteredCalls: e.prefiltered.Load(), Prefiltered: n, PythonRules: py,
		GoCandidates: e.goCandidates.Load(), GoDecoded: e.goDecoded.Load()}
}

func (e *Engine) register(reg prometheus.Registerer) {
	counter := func(name, help string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	for _, c := range []prometheus.Collector{
		counter("prowl_engine_events_total", "Events evaluated by the detection engine.", &e.events),
		counter("prowl_engine_python_candidate_events_total", "Events with Python rules to run before the static prefilters.", &e.pyCandidates),
		counter("prowl_engine_python_events_total", "Events sent to the Python workers (after the static prefilters).", &e.pyEvents),
		counter("prowl_engine_python_rule_calls_total", "Python rule evaluations sent to the workers.", &e.ruleCalls),
		counter("prowl_engine_prefiltered_rule_calls_total", "Python rule evaluations the static prefilters skipped.", &e.prefiltered),
		counter("prowl_engine_go_candidate_events_total", "Events with simple detections or InlineFilters to evaluate.", &e.goCandidates),
		counter("prowl_engine_go_decoded_events_total", "Events decoded for simple detections or InlineFilters (after their prefilters).", &e.goDecoded),
	} {
		if err := reg.Register(c); err != nil {
			e.opts.Logger.Warn("engine metrics", "error", err)
		}
	}
}

// Prefilter returns the static prefilter of the running Python rule id, as
// text, and whether it has one.
func (e *Engine) Prefilter(id string) (string, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	c := e.cur
	for py, d := range c.byPython {
		if d.Spec.ID == id && c.filters.Has(py) {
			return c.conds[py].String(), true
		}
	}
	return "", false
}

// Reload replaces the running detections with repo's. Detections that
// loadProblems name (their spec failed to load) or that fail to compile or
// import keep their previous version. It returns the problems found.
func (e *Engine) Reload(repo *analysis.Repo, loadProblems analysis.Problems) ([]string, error) {
	e.mu.RLock()
	old := e.cur
	e.mu.RUnlock()
	c, err := e.compile(repo, old, loadProblems)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.cur = c
	e.mu.Unlock()
	if old.pool != nil {
		// In-flight evaluations hold the read lock; none remain now.
		old.pool.Close()
	}
	return c.problems, nil
}

// Problems lists what is wrong with the running detections' sources.
func (e *Engine) Problems() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cur.problems
}

// Detections lists the running detections (enabled or not), sorted by ID.
func (e *Engine) Detections() []*analysis.Detection {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]*analysis.Detection, 0, len(e.cur.set.Detections))
	for _, d := range e.cur.set.Detections {
		out = append(out, d.Spec)
	}
	return out
}

// Repo is the repository the running detections came from.
func (e *Engine) Repo() *analysis.Repo {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cur.repo
}

// Version is the content hash of a running detection.
func (e *Engine) Version(id string) string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cur.versions[id]
}

// Close stops the worker pool.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur.pool != nil {
		e.cur.pool.Close()
	}
}

// Evaluate runs the detections of each event's log type and returns the
// matches and rule errors in event order (by rule ID within an event).
// The matches keep nothing of events: their Event is a copy (shared by the
// matches of one event), so the caller may reuse the events' memory, such as
// a batchrec.Decoder's, once Evaluate returns.
func (e *Engine) Evaluate(ctx context.Context, events []logtypes.Event) ([]alerts.Match, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	c := e.cur
	perEvent := make([][]alerts.Match, len(events))
	var items []pyrt.Item
	var itemEvent []int
	var python, ruleBuf, admitted []int
	var candidates, reached, calls, saved, goCandidates, goDecoded uint64
	e.events.Add(uint64(len(events)))
	var rt *route // of the log type lt, which events mostly share
	var lt string
	for i := range events {
		ev := &events[i]
		if rt == nil || ev.LogType != lt {
			rt, lt = c.routes[ev.LogType], ev.LogType
			if rt == nil {
				continue
			}
		}
		// Simple detections and InlineFilters: their prefilters first, then
		// the exact test on the decoded event for those admitted.
		admitted = admitted[:0]
		if len(rt.goRules) > 0 {
			goCandidates++
			admitted = c.goFilters.Candidates(ev.JSON, ev.Members, rt.goRules, admitted)
			if len(admitted) == 0 && !rt.python {
				continue // no detection can match
			}
		}
		var decoded map[string]any
		python = python[:0]
		goNext, next := 0, 0 // in goRules and admitted, both in dets order
		for _, d := range rt.dets {
			if d.Filter != nil || d.Simple != nil {
				r := rt.goRules[goNext]
				goNext++
				if next == len(admitted) || admitted[next] != r {
					continue // the prefilter proved it false
				}
				next++
				if decoded == nil {
					var err error
					if decoded, err = decode(ev, rt.reads); err != nil {
						return nil, fmt.Errorf("event %s: %w", ev.RowID, err)
					}
					goDecoded++
				}
			}
			if d.Filter != nil && !d.Filter.Match(decoded) {
				continue
			}
			if d.Simple != nil {
				if d.Simple.Match(decoded) {
					perEvent[i] = append(perEvent[i], c.simpleMatch(d, ev, decoded))
				}
				continue
			}
			if d.Python >= 0 {
				python = append(python, d.Python)
			}
		}
		if len(python) == 0 {
			continue
		}
		candidates++
		// The prefilters keep the rules that may return anything but False.
		start := len(ruleBuf)
		if c.filters != nil {
			ruleBuf = c.filters.Candidates(ev.JSON, ev.Members, python, ruleBuf)
		} else {
			ruleBuf = append(ruleBuf, python...)
		}
		rules := ruleBuf[start:len(ruleBuf):len(ruleBuf)]
		saved += uint64(len(python) - len(rules))
		if len(rules) > 0 {
			reached++
			calls += uint64(len(rules))
			items = append(items, pyrt.Item{Event: ev.JSON, LogType: ev.LogType, Rules: rules})
			itemEvent = append(itemEvent, i)
		}
	}
	e.pyCandidates.Add(candidates)
	e.pyEvents.Add(reached)
	e.ruleCalls.Add(calls)
	e.prefiltered.Add(saved)
	e.goCandidates.Add(goCandidates)
	e.goDecoded.Add(goDecoded)
	if len(items) > 0 {
		results, err := c.pool.Run(ctx, pyrt.ModeBatch, items)
		if err != nil {
			return nil, err
		}
		for k, rs := range results {
			i := itemEvent[k]
			for _, r := range rs {
				d := c.byPython[r.Rule]
				if d == nil {
					continue
				}
				switch {
				case r.Error != nil:
					perEvent[i] = append(perEvent[i], c.errorMatch(d, &events[i], r.Error))
				case r.Matched && r.Outputs != nil:
					perEvent[i] = append(perEvent[i], c.pythonMatch(d, &events[i], r.Outputs))
				}
			}
		}
	}
	var out []alerts.Match
	for i, ms := range perEvent {
		if len(ms) == 0 {
			continue
		}
		// Go and Python verdicts arrive separately; order them by rule.
		if len(ms) > 1 {
			sort.SliceStable(ms, func(a, b int) bool { return ms[a].RuleID < ms[b].RuleID })
		}
		event := bytes.Clone(events[i].JSON)
		for j := range ms {
			ms[j].Event = event
		}
		out = append(out, ms...)
	}
	return out, nil
}

// decode decodes what sel picks of an event (all of it when sel is nil)
// for the Go matchers, into the values encoding/json gives with UseNumber.
func decode(ev *logtypes.Event, sel *jsondec.Selection) (map[string]any, error) {
	m, err := jsondec.DecodeSelected(ev.JSON, ev.Members, sel)
	if err != nil {
		return nil, fmt.Errorf("decoding event: %w", err)
	}
	return m, nil
}

// base fills the fields every match of d shares.
func (c *compiled) base(d *detect.Detection, ev *logtypes.Event) alerts.Match {
	s := d.Spec
	return alerts.Match{
		Type: alerts.TypeRule, RuleID: s.ID, RuleVersion: c.versions[s.ID],
		Description: s.Description, Reference: s.Reference, Runbook: s.Runbook,
		OutputIDs: s.OutputIDs, Tags: s.Tags, Reports: s.Reports,
		DedupPeriod: dedupPeriod(s.DedupPeriodMinutes), Threshold: s.Threshold, Signal: !s.CreateAlert,
		LogType: ev.LogType, EventTime: ev.Time, Event: ev.JSON, RowID: ev.RowID,
	}
}

// dedupPeriod applies Panther's rules: 0 means the 60-minute default and
// anything under 5 minutes counts as 5.
func dedupPeriod(minutes int) time.Duration {
	switch {
	case minutes <= 0:
		minutes = 60
	case minutes < 5:
		minutes = 5
	}
	return time.Duration(minutes) * time.Minute
}

func (c *compiled) pythonMatch(d *detect.Detection, ev *logtypes.Event, o *pyrt.Outputs) alerts.Match {
	m := c.base(d, ev)
	m.Title, m.Dedup, m.Severity = o.Title, o.Dedup, o.Severity
	m.Description, m.Reference, m.Runbook = o.Description, o.Reference, o.Runbook
	m.AlertContext, m.Destinations, m.Unique = o.AlertContext, o.Destinations, o.Unique
	return m
}

func (c *compiled) simpleMatch(d *detect.Detection, ev *logtypes.Event, decoded map[string]any) alerts.Match {
	m := c.base(d, ev)
	out := d.Alert.Evaluate(decoded)
	m.Title, m.Dedup, m.Severity = out.Title, out.Dedup, out.Severity
	if ctx, err := json.Marshal(out.Context); err == nil {
		m.AlertContext = ctx
	}
	return m
}

// errorMatch is a rule error: keyed by error type, alerting without a
// threshold, at INFO severity (it asks for a fix, not an incident response).
func (c *compiled) errorMatch(d *detect.Detection, ev *logtypes.Event, e *pyrt.PyError) alerts.Match {
	m := c.base(d, ev)
	m.Type, m.Dedup, m.Severity, m.Signal = alerts.TypeRuleError, e.Type, "INFO", false
	m.Title = fmt.Sprintf("Error in %s: %s: %s", d.Spec.ID, e.Type, firstLine(e.Message))
	m.Description = e.Traceback
	ctx, _ := json.Marshal(map[string]any{"error_type": e.Type, "error_message": e.Message, "file": e.File, "line": e.Line})
	m.AlertContext = ctx
	return m
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// compile builds a version from repo. With an old version, a detection
// whose spec failed to load (its file is named in loadProblems), or that
// fails to compile or import, keeps its old version.
func (e *Engine) compile(repo *analysis.Repo, old *compiled, loadProblems analysis.Problems) (*compiled, error) {
	c := &compiled{byLogType: map[string][]*detect.Detection{}, byPython: map[int]*detect.Detection{}}
	for _, p := range loadProblems {
		c.problems = append(c.problems, p.Error())
	}
	snap := &snapshotter{dir: e.opts.SnapshotDir, versions: map[string]string{}}
	repo, err := snap.repo(repo)
	if err != nil {
		return nil, err
	}
	previous := map[string]*analysis.Detection{}
	if old != nil {
		for _, d := range old.repo.Detections {
			previous[d.ID] = d
		}
		repo.Detections = keepUnloaded(repo.Detections, old.repo.Detections, loadProblems)
		for id, v := range old.versions {
			if _, ok := snap.versions[id]; !ok {
				snap.versions[id] = v
			}
		}
	}
	// A detection that fails to compile, then one that fails to import,
	// is swapped for its previous version (or left out) and the set rebuilt.
	set, problems := detect.Compile(repo, repo.Detections)
	if len(problems) > 0 {
		failed := map[string]string{}
		for _, p := range problems {
			failed[p.ID] = p.Error()
		}
		repo.Detections = c.fallBack(repo.Detections, failed, previous, snap.versions, old)
		set, _ = detect.Compile(repo, repo.Detections)
	}
	var pool *pyrt.Pool
	pyCfg := e.opts.Python
	pyCfg.Prefilters = !e.opts.PrefiltersOff
	if len(set.Program.Detections) > 0 {
		if pool, err = pyrt.New(pyCfg, set.Program); err != nil {
			return nil, err
		}
		if len(pool.LoadErrors) > 0 {
			failed := map[string]string{}
			for id, pe := range pool.LoadErrors {
				failed[id] = fmt.Sprintf("%s: cannot import: %s: %s", id, pe.Type, pe.Message)
			}
			pool.Close()
			repo.Detections = c.fallBack(repo.Detections, failed, previous, snap.versions, old)
			set, _ = detect.Compile(repo, repo.Detections)
			if pool, err = pyrt.New(pyCfg, set.Program); err != nil {
				return nil, err
			}
		}
	}
	c.repo, c.set, c.pool, c.versions = repo, set, pool, snap.versions
	for _, d := range c.set.Detections {
		if d.Python >= 0 {
			c.byPython[d.Python] = d
		}
		if !e.opts.Enabled(d.Spec) || (pool != nil && d.Python >= 0 && pool.LoadErrors[d.Spec.ID] != nil) {
			continue
		}
		for _, lt := range d.Spec.LogTypes {
			c.byLogType[lt] = append(c.byLogType[lt], d)
		}
	}
	for lt := range c.byLogType {
		sort.Slice(c.byLogType[lt], func(i, j int) bool { return c.byLogType[lt][i].Spec.ID < c.byLogType[lt][j].Spec.ID })
	}
	if pool != nil && !e.opts.PrefiltersOff {
		c.buildPrefilters(pool, e.opts.Logger)
	}
	c.buildRoutes(!e.opts.PrefiltersOff)
	return c, nil
}

// buildRoutes routes each log type to its detections, indexes their
// simple detections and InlineFilters, and compiles their prefilters
// ("true" for all when on is false, so that every such event is decoded).
func (c *compiled) buildRoutes(on bool) {
	c.routes = map[string]*route{}
	goRule := map[*detect.Detection]int{}
	conds := map[int]prefilter.Cond{}
	for lt, dets := range c.byLogType {
		rt := &route{dets: dets}
		c.routes[lt] = rt
		var reads jsondec.Selection
		for _, d := range dets {
			if d.Python >= 0 {
				rt.python = true
			}
			if d.Filter == nil && d.Simple == nil {
				continue
			}
			r, ok := goRule[d]
			if !ok {
				r = len(goRule)
				goRule[d] = r
				var args []prefilter.Cond
				for _, m := range []*match.Matcher{d.Filter, d.Simple} {
					if m != nil && on {
						args = append(args, m.Prefilter())
					}
				}
				switch len(args) {
				case 0:
					conds[r] = prefilter.True
				case 1:
					conds[r] = args[0]
				default:
					conds[r] = prefilter.Cond{Op: "and", Args: args}
				}
			}
			rt.goRules = append(rt.goRules, r)
			for _, m := range []*match.Matcher{d.Filter, d.Simple} {
				if m != nil {
					reads.Add(m.Reads())
				}
			}
			if d.Alert != nil {
				reads.Add(d.Alert.Reads())
			}
		}
		if on && !reads.Whole() {
			rt.reads = &reads
		}
	}
	c.goFilters = prefilter.BuildGo(conds)
}

// buildPrefilters compiles the rules' static prefilters from the pool's
// load reply. A condition that does not parse leaves its rule unfiltered.
func (c *compiled) buildPrefilters(pool *pyrt.Pool, log *slog.Logger) {
	c.conds = map[int]prefilter.Cond{}
	for py, raw := range pool.Prefilters() {
		d := c.byPython[py]
		if d == nil || d.Spec.Kind != analysis.KindRule {
			continue
		}
		cond, err := prefilter.Parse(raw)
		if err != nil {
			log.Warn("ignoring a prefilter", "rule", d.Spec.ID, "error", err)
			continue
		}
		c.conds[py] = cond
	}
	c.filters = prefilter.Build(c.conds)
	for py := range c.conds {
		if c.filters.Has(py) {
			c.prefilterN++
		}
	}
}

// fallBack records the failures and replaces each failed detection with its
// previous version, or leaves it out when there is none.
func (c *compiled) fallBack(dets []*analysis.Detection, failed map[string]string, previous map[string]*analysis.Detection,
	versions map[string]string, old *compiled) []*analysis.Detection {
	var kept []*analysis.Detection
	for _, d := range dets {
		msg, bad := failed[d.ID]
		if !bad {
			kept = append(kept, d)
			continue
		}
		c.problems = append(c.problems, msg)
		if prev := previous[d.ID]; prev != nil && prev != d {
			kept = append(kept, prev)
			versions[d.ID] = old.versions[d.ID]
		} else {
			delete(versions, d.ID)
		}
	}
	return kept
}

// keepUnloaded adds back old detections whose spec file failed to load.
func keepUnloaded(dets, old []*analysis.Detection, problems analysis.Problems) []*analysis.Detection {
	if len(problems) == 0 {
		return dets
	}
	present := map[string]bool{}
	for _, d := range dets {
		present[d.ID] = true
	}
	badFiles := map[string]bool{}
	for _, p := range problems {
		badFiles[p.Source.File] = true
	}
	for _, d := range old {
		if !present[d.ID] && badFiles[d.Source.File] {
			dets = append(dets, d)
		}
	}
	return dets
}
