// Package server wires prowl's components into the running product that
// `prowl up` starts: control-plane store, write-ahead log, detections
// (bundled packs and the user's directories, reloaded on change), engine,
// alert manager, destinations, pipeline, sources, the optional demo feed and
// the HTTP API. Start order is explicit here; Stop runs it in reverse.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/api"
	"github.com/prowl-siem/prowl/internal/config"
	"github.com/prowl-siem/prowl/internal/destinations"
	"github.com/prowl-siem/prowl/internal/engine"
	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/pipeline"
	"github.com/prowl-siem/prowl/internal/pyrt"
	"github.com/prowl-siem/prowl/internal/scheduler"
	"github.com/prowl-siem/prowl/internal/sources"
	"github.com/prowl-siem/prowl/internal/sources/httpsrc"
	"github.com/prowl-siem/prowl/internal/store"
	"github.com/prowl-siem/prowl/internal/wal"
	"github.com/prowl-siem/prowl/packs"
)

// Server is a running prowl.
type Server struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *store.Store
	wal      *wal.Log
	reg      *logtypes.Registry
	lake     *lake.Lake
	querier  *lake.Querier
	sched    *scheduler.Scheduler // nil until startScheduler (or when it could not start)
	engine   *engine.Engine
	corr     *scheduler.CorrelationFields // fills in rule_matches' correlation columns
	alerts   *alerts.Manager
	dispatch *destinations.Dispatcher
	pipe     *pipeline.Pipeline
	ingest   *httpsrc.Mux
	http     *http.Server
	addr     net.Addr
	metrics  *prometheus.Registry

	now          func() time.Time
	enabledPacks map[string]bool // detection IDs of enabled bundled packs
	bundledDir   string

	sourcesMu  sync.Mutex
	running    map[string]context.CancelFunc
	sourceDone map[string]chan struct{} // closed when the source's goroutine has returned
	sourcesCtx context.Context          // what sources run under, set by startSources
	sourceOps  sync.Mutex               // serializes RestartSource and StopSource
	wg         sync.WaitGroup
}

// Option adjusts a server for tests.
type Option func(*Server)

// WithClock replaces the processing clock of alert windows and ingestion.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New opens the data directory and builds every component. Nothing runs
// until Start.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, opts ...Option) (*Server, error) {
	s := &Server{cfg: cfg, log: logger, running: map[string]context.CancelFunc{}, metrics: prometheus.NewRegistry(), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	var err error
	if s.store, err = store.Open(filepath.Join(cfg.DataDir, "prowl.db")); err != nil {
		return nil, err
	}
	if s.wal, err = wal.Open(wal.Options{Dir: filepath.Join(cfg.DataDir, "wal"), SyncInterval: cfg.WALSync}); err != nil {
		s.store.Close()
		return nil, err
	}
	if rec := s.wal.Recovered(); rec.DroppedBytes > 0 {
		logger.Warn("the event log had a torn tail from a crash; unacknowledged bytes were cut", "recovery", rec.String())
	}
	s.reg = logtypes.NewRegistry()
	// The lake registers its log consumer when it opens, before anything
	// could truncate the log.
	retention, _ := cfg.TableRetentions() // validated by config.Load
	defaultRetention := time.Duration(cfg.RetentionDays) * 24 * time.Hour
	if cfg.RetentionDays == 0 {
		defaultRetention = -1 // forever
	}
	for table, d := range retention {
		if d == 0 {
			retention[table] = -1
		}
	}
	if s.lake, err = lake.Open(lake.Options{Dir: filepath.Join(cfg.DataDir, "lake"), Log: s.wal, Registry: s.reg, Logger: logger, Now: s.now,
		Retention: retention, DefaultRetention: defaultRetention}); err != nil {
		s.Close()
		return nil, err
	}
	// Queries get their own DuckDB, bounded so they cannot starve the rest.
	if s.querier, err = lake.NewQuerier(s.lake.Snapshot, lake.QueryOptions{Dir: filepath.Join(cfg.DataDir, "lake"), MemoryLimit: "4GB", Threads: 2,
		ControlTables: []lake.ControlTable{alertsTable(filepath.Join(cfg.DataDir, "lake"))}}); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.loadDetections(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.corr = scheduler.NewCorrelationFields(s.engine)
	if s.alerts, err = alerts.NewManager(ctx, s.store, alerts.Options{AlertsPerHour: cfg.AlertsPerHour, EventsPerAlert: cfg.EventsPerAlert, Now: s.now,
		OnCommitted: s.recordMatches}); err != nil {
		s.Close()
		return nil, err
	}
	s.dispatch = destinations.NewDispatcher(s.store, s.destinationConfigs, s.buildDestination,
		destinations.DispatcherOptions{Logger: logger, ConsoleURL: s.publicURL()})
	s.pipe = pipeline.New(pipeline.Options{
		Log: s.wal, Registry: s.reg, Store: quarantineTee{s.store, s.lake, logger}, Engine: s.engine, Alerts: s.alerts, Offsets: s.store,
		Notify: s.notify, BatchSize: cfg.BatchSize, BatchDelay: cfg.BatchDelay, Logger: logger, Metrics: s.metrics, Now: s.now,
	})
	s.ingest = httpsrc.NewMux()
	return s, nil
}

// loadDetections loads the bundled packs and the user's directories and
// starts the engine.
func (s *Server) loadDetections(ctx context.Context) error {
	dir, err := packs.Extract(filepath.Join(s.cfg.DataDir, "packs"))
	if err != nil {
		return fmt.Errorf("bundled packs: %w", err)
	}
	s.bundledDir = dir
	repo, problems, err := s.loadRepo()
	if err != nil {
		return err
	}
	for _, p := range problems {
		s.log.Warn("detection problem", "problem", p.Error())
	}
	s.enabledPacks = map[string]bool{}
	for _, id := range s.cfg.Packs {
		if id == "none" {
			continue
		}
		pack := repo.Pack(id)
		if pack == nil {
			return fmt.Errorf("packs: no bundled pack %q", id)
		}
		for _, member := range pack.IDs {
			s.enabledPacks[member] = true
		}
	}
	s.engine, err = engine.New(ctx, repo, engine.Options{
		Python: pyrt.Config{Python: s.cfg.PythonPath, Workers: s.cfg.PythonWorkers, RuleTimeout: s.cfg.RuleTimeout,
			MemoryLimitMB: s.cfg.PythonMemoryMB, KVPath: filepath.Join(s.cfg.DataDir, "kv.db"), Output: logWriter{s.log}},
		SnapshotDir: filepath.Join(s.cfg.DataDir, "snapshots"),
		Enabled:     s.enabled,
		Logger:      s.log,
		Metrics:     s.metrics,
	})
	return err
}

func (s *Server) loadRepo() (*analysis.Repo, analysis.Problems, error) {
	paths := append([]string{s.bundledDir}, s.cfg.Detections...)
	repo, err := analysis.Load(paths, analysis.Options{})
	var problems *analysis.Problems
	if err != nil && !errors.As(err, &problems) {
		return nil, nil, err
	}
	if problems != nil {
		return repo, *problems, nil
	}
	return repo, nil, nil
}

// enabled decides which loaded detections run: those marked Enabled that
// belong to an enabled bundled pack or come from the user's directories.
func (s *Server) enabled(d *analysis.Detection) bool {
	if !d.Enabled {
		return false
	}
	if rel, err := filepath.Rel(s.bundledDir, d.Source.File); err == nil && filepath.IsLocal(rel) {
		return s.enabledPacks[d.ID]
	}
	return true
}

// Start runs everything: the pipeline, the dispatcher, the sources, the
// demo feed (when configured), the detection watcher and the HTTP server.
// It returns once the HTTP server listens.
func (s *Server) Start(ctx context.Context) error {
	if err := s.pipe.Reconcile(ctx); err != nil {
		return err
	}
	s.dispatch.Start(ctx)
	if err := s.resumeNotifications(ctx); err != nil {
		return err
	}
	s.goRun("pipeline", func() error { return s.pipe.Run(ctx) })
	s.goRun("lake", func() error { return s.lake.Run(ctx) })
	s.goRun("alerts table", func() error { s.syncAlerts(ctx); return nil })
	if s.cfg.Demo {
		if err := s.startDemo(ctx); err != nil {
			return err
		}
	}
	if err := s.startSources(ctx); err != nil {
		return err
	}
	s.goRun("drop-off alarm", func() error { s.watchDropOffs(ctx); return nil })
	s.goRun("truncate", func() error { s.truncateLog(ctx); return nil })
	s.startScheduler(ctx)
	if len(s.cfg.Detections) > 0 {
		s.goRun("detections watcher", func() error { return s.watchDetections(ctx) })
	}
	return s.startHTTP()
}

func (s *Server) goRun(name string, fn func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := fn(); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error(name+" stopped", "err", err)
		}
	}()
}

// Addr is the address the HTTP server listens on.
func (s *Server) Addr() net.Addr { return s.addr }

func (s *Server) publicURL() string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	return "http://" + s.cfg.Listen
}

func (s *Server) startHTTP() error {
	mux := http.NewServeMux()
	(&api.Server{Alerts: s.store, Detections: detectionsView{s}, Token: s.cfg.AdminToken, Health: s.health, Logger: s.log,
		Sources: s.store, Runner: sourceRunner{s}, Reprocess: s.pipe, Ingest: s.pipe, LogTypes: s.reg.Names,
		ImportMaxBytes: int64(s.cfg.ImportMaxMB) << 20,
		Destinations:   s.store, Tester: s.dispatch, Deliveries: s.store, Lake: lakeAPI{s.querier},
		Scheduler: schedulerAPI{s}}).Routes(mux)
	mux.Handle("/ingest/", s.ingest)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.cfg.Listen, err)
	}
	s.addr = ln.Addr()
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.goRun("http", func() error {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	s.log.Info("prowl is up", "api", "http://"+s.addr.String(), "data_dir", s.cfg.DataDir, "detections", len(s.engine.Detections()))
	return nil
}

// Stop shuts down gracefully: intake first (HTTP, sources), then the engine
// drains what was acknowledged (up to drain), then the rest.
func (s *Server) Stop(drain time.Duration) {
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.http.Shutdown(ctx)
		cancel()
	}
	s.sourcesMu.Lock()
	for _, cancel := range s.running {
		cancel()
	}
	s.sourcesMu.Unlock()
	deadline := time.Now().Add(drain)
	for s.pipe.Lag() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}

// Wait blocks until every goroutine Start began has returned (after the
// context given to Start is done).
func (s *Server) Wait() { s.wg.Wait() }

// Close releases everything; call it after Wait.
func (s *Server) Close() {
	if s.dispatch != nil {
		s.dispatch.Stop()
	}
	if s.engine != nil {
		s.engine.Close()
	}
	if s.querier != nil {
		s.querier.Close()
	}
	if s.lake != nil {
		s.lake.Close()
	}
	if s.wal != nil {
		s.wal.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
}

func (s *Server) notify(ctx context.Context, created []alerts.Alert) {
	var queued []string
	for _, a := range created {
		s.log.Info("alert", "id", a.ID, "severity", a.Severity, "rule", a.RuleID, "title", a.Title, "events", a.EventCount)
		if err := s.dispatch.Enqueue(ctx, toDestinationAlert(a, s.publicURL())); err != nil {
			s.log.Error("queueing alert delivery (retried at the next start)", "alert", a.ID, "err", err)
			continue
		}
		queued = append(queued, a.ID)
	}
	// Until now the store kept these notifications pending (see
	// resumeNotifications).
	if err := s.store.NotificationsDone(context.WithoutCancel(ctx), queued); err != nil {
		s.log.Warn("recording queued alert deliveries", "err", err)
	}
}

func toDestinationAlert(a alerts.Alert, base string) destinations.Alert {
	return destinations.Alert{
		ID: a.ID, RuleID: a.RuleID, RuleVersion: a.RuleVersion, Type: a.Type, Title: a.Title, Severity: a.Severity,
		DedupString: a.Dedup, Description: a.Description, Reference: a.Reference, Runbook: a.Runbook, Status: a.Status,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, FirstEventAt: a.FirstEventAt, LastEventAt: a.LastEventAt,
		EventCount: a.EventCount, LogTypes: a.LogTypes, AlertContext: a.AlertContext, Tags: a.Tags, Reports: a.Reports,
		OutputIDs: a.OutputIDs, Destinations: a.Destinations, Link: base + "/alerts/" + a.ID,
	}
}

func (s *Server) destinationConfigs() []destinations.Config {
	configs, err := s.store.ListDestinations(context.Background())
	if err != nil {
		s.log.Error("reading destinations", "err", err)
	}
	return configs
}

func (s *Server) buildDestination(c destinations.Config) (destinations.Destination, error) {
	return destinations.New(c, func(name string) (string, error) {
		v, err := s.store.GetSecret(context.Background(), store.DestinationSecretOwner(c.ID), name)
		if errors.Is(err, store.ErrNotFound) {
			return "", destinations.ErrNoSecret
		}
		return string(v), err
	})
}

// startSources runs every enabled source in the store.
func (s *Server) startSources(ctx context.Context) error {
	s.sourcesMu.Lock()
	s.sourcesCtx = ctx
	s.sourcesMu.Unlock()
	recs, err := s.store.ListSources(ctx)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.Enabled {
			s.runSource(ctx, rec)
		}
	}
	return nil
}

// runSource starts one source; a source that stops with an error is
// restarted after a pause, until ctx is done or the source is stopped.
// A previous instance must have stopped (see StopSource): two instances of
// one source would share its checkpoint.
func (s *Server) runSource(ctx context.Context, rec store.SourceRecord) error {
	src, err := sources.New(rec, sources.SecretsFrom(ctx, s.store, rec.ID))
	if err != nil {
		s.log.Error("source cannot start", "source", rec.ID, "err", err)
		s.store.SetSourceError(ctx, rec.ID, err.Error())
		return err
	}
	if h, ok := src.(*httpsrc.Source); ok {
		s.ingest.Add(h)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	s.sourcesMu.Lock()
	if old := s.running[rec.ID]; old != nil {
		old()
	}
	s.running[rec.ID] = cancel
	if s.sourceDone == nil {
		s.sourceDone = map[string]chan struct{}{}
	}
	s.sourceDone[rec.ID] = done
	s.sourcesMu.Unlock()
	s.goRun("source "+rec.ID, func() error {
		defer close(done)
		defer s.ingest.Remove(rec.ID)
		for {
			err := src.Run(sctx, s.pipe, sourceState{s.store})
			if sctx.Err() != nil {
				return nil
			}
			s.log.Error("source stopped; restarting in 30s", "source", rec.ID, "err", err)
			s.store.SetSourceError(context.WithoutCancel(sctx), rec.ID, fmt.Sprint(err))
			select {
			case <-time.After(30 * time.Second):
			case <-sctx.Done():
				return nil
			}
		}
	})
	return nil
}

// watchDropOffs raises a SYSTEM alert when a source has been silent for
// longer than its drop-off alarm (checked every minute).
func (s *Server) watchDropOffs(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.checkDropOffs(ctx, s.now())
		}
	}
}

func (s *Server) checkDropOffs(ctx context.Context, now time.Time) {
	recs, err := s.store.ListSources(ctx)
	if err != nil {
		return
	}
	for _, rec := range recs {
		h, err := s.store.GetHealth(ctx, rec.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			continue
		}
		silent, since, err := sources.DropOff(rec, h, now)
		if err != nil || !silent {
			continue
		}
		created, err := s.alerts.Process(ctx, []alerts.Match{{
			Type: alerts.TypeSystem, RuleID: "prowl.source.dropoff", Dedup: rec.ID, Severity: "HIGH",
			Title:       fmt.Sprintf("Source %s (%s) has sent no events for %s", rec.Label, rec.ID, since.Round(time.Minute)),
			Description: "A source that goes quiet may be broken (expired token, revoked access, network) rather than idle. Check its health and last error.",
			DedupPeriod: 6 * time.Hour, Threshold: 1,
		}}, nil)
		if err == nil {
			s.notify(ctx, created)
		}
	}
}

// truncateLog deletes log segments every consumer has processed.
func (s *Server) truncateLog(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := s.wal.Truncate(); err != nil {
				s.log.Warn("truncating the event log", "err", err)
			}
		}
	}
}

func (s *Server) health(ctx context.Context) map[string]any {
	hs, _ := s.store.ListHealth(ctx)
	st := s.wal.Stats()
	return map[string]any{
		"engine_lag_records": s.pipe.Lag(),
		"event_log":          map[string]any{"segments": st.Segments, "bytes": st.Bytes, "next_offset": st.Next},
		"sources":            hs,
		"detection_problems": s.engine.Problems(),
		"lake":               s.lake.Stats(),
	}
}

// detectionsView shows the engine's detections to the API.
type detectionsView struct{ s *Server }

func (v detectionsView) List() []api.Detection {
	var out []api.Detection
	for _, d := range v.s.engine.Detections() {
		out = append(out, api.Detection{
			ID: d.ID, Kind: string(d.Kind), DisplayName: d.DisplayName, Enabled: v.s.enabled(d), Severity: d.Severity,
			LogTypes: d.LogTypes, Version: v.s.engine.Version(d.ID), DedupPeriodMinutes: d.DedupPeriodMinutes,
			Threshold: d.Threshold, Tags: d.Tags, Reports: d.Reports, Description: d.Description, Runbook: d.Runbook,
			Reference: d.Reference, File: d.Source.File, Tests: len(d.Tests),
		})
	}
	slices.SortFunc(out, func(a, b api.Detection) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (v detectionsView) Problems() []string { return v.s.engine.Problems() }

// logWriter forwards what detections print to the log.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Debug("detection output", "text", string(p))
	return len(p), nil
}

func randomToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
