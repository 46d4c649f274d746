package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/detect"
	"github.com/prowl-siem/prowl/internal/engine"
	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/pyrt"
	"github.com/prowl-siem/prowl/internal/sources"
	"github.com/prowl-siem/prowl/internal/store"
	"github.com/prowl-siem/prowl/internal/wal"
)

// benchPipeline is the real pipeline of `prowl up`: write-ahead log and
// SQLite on disk, the bundled Okta pack in the engine.
type benchPipeline struct {
	p       *Pipeline
	created chan []alerts.Alert
	cancel  func()
	done    chan error
}

func loadPack(b *testing.B) *analysis.Repo {
	repo, err := analysis.Load([]string{"../../packs"}, analysis.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return repo
}

func startBenchPipeline(b *testing.B, repo *analysis.Repo) *benchPipeline {
	dir := b.TempDir()
	eng, err := engine.New(context.Background(), repo, engine.Options{SnapshotDir: filepath.Join(dir, "snap")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(eng.Close)
	log, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "wal")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { log.Close() })
	st, err := store.Open(filepath.Join(dir, "prowl.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	mgr, err := alerts.NewManager(context.Background(), st, alerts.Options{AlertsPerHour: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	bp := &benchPipeline{created: make(chan []alerts.Alert, 1024), done: make(chan error, 1)}
	bp.p = New(Options{Log: log, Registry: logtypes.NewRegistry(), Store: st, Engine: eng, Alerts: mgr, Offsets: st,
		Notify: func(_ context.Context, a []alerts.Alert) { bp.created <- a }, MaxLag: 1 << 40})
	if err := bp.p.Reconcile(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	bp.cancel = cancel
	go func() { bp.done <- bp.p.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-bp.done
	})
	return bp
}

func oktaCorpus(b *testing.B, n int) [][]byte {
	var out [][]byte
	err := gen.Okta(gen.OktaOptions{Count: n, Seed: 42, Attacks: []string{"brute_force", "password_spray", "mfa_fatigue", "admin_grant", "new_country"}},
		func(ev []byte) error {
			out = append(out, ev)
			return nil
		})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkEndToEnd compares, on the same generated Okta events and the
// same bundled Okta pack, the plain single-process Python loop with the
// whole prowl pipeline: normalize, write ahead (fsync), route, Python
// workers, alert manager with SQLite commits.
func BenchmarkEndToEnd(b *testing.B) {
	const n = 20000
	events := oktaCorpus(b, n)
	repo := loadPack(b)
	b.Run("baseline=python-loop", func(b *testing.B) {
		set, _ := detect.Compile(repo, repo.Detections)
		var normalized [][]byte
		norm := logtypes.NewRegistry().NewNormalizer()
		for _, raw := range events {
			ev, err := norm.Normalize("Okta.SystemLog", raw, logtypes.Meta{})
			if err != nil {
				b.Fatal(err)
			}
			normalized = append(normalized, ev.JSON)
		}
		ndjson := bytes.Join(normalized, []byte("\n"))
		var seconds float64
		for b.Loop() {
			res, err := pyrt.RunBaseline("", set.Program, ndjson)
			if err != nil || res.Events != n {
				b.Fatal(err, res)
			}
			seconds += res.Seconds
		}
		b.ReportMetric(float64(n*b.N)/seconds, "events/s")
	})
	b.Run("prowl=pipeline", func(b *testing.B) {
		bp := startBenchPipeline(b, repo)
		b.ResetTimer()
		for b.Loop() {
			for start := 0; start < n; start += 1000 {
				batch := sources.Batch{SourceID: "bench", LogType: "Okta.SystemLog", Records: events[start:min(start+1000, n)]}
				if err := bp.p.Ingest(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			deadline := time.Now().Add(5 * time.Minute)
			for bp.p.Lag() > 0 {
				if time.Now().After(deadline) {
					b.Fatal("the engine did not catch up")
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// BenchmarkSteadyRate feeds generated Okta traffic at a steady rate for a
// few seconds and, every 100ms, a probe event that a threshold-1 rule turns
// into its own alert; it reports the probes' event-to-alert latency and the
// peak resident memory of prowl's process and its Python workers. It
// compares with the same probes on an idle pipeline (the baseline).
func BenchmarkSteadyRate(b *testing.B) {
	repo := loadPack(b)
	for _, rate := range []int{0, 1000, 5000} {
		name := "baseline=idle"
		if rate > 0 {
			name = "rate=" + strconv.Itoa(rate) + "ev/s"
		}
		b.Run(name, func(b *testing.B) {
			bp := startBenchPipeline(b, repo)
			feed := oktaCorpus(b, 50000)
			var lat []time.Duration
			for b.Loop() {
				lat = append(lat, steadyRun(b, bp, feed, rate, 5*time.Second)...)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
		})
	}
}

var probeSeq int

func probe(user string) []byte {
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	return []byte(`{"uuid":"probe-` + user + `","published":"` + now + `","eventType":"user.account.privilege.grant","version":"0","severity":"INFO",` +
		`"displayMessage":"Grant user privilege","actor":{"id":"00uadmin","type":"User","alternateId":"admin@example.com","displayName":"Admin"},` +
		`"client":{"ipAddress":"198.51.100.5"},"outcome":{"result":"SUCCESS"},` +
		`"target":[{"id":"00u` + user + `","type":"User","alternateId":"` + user + `@example.com","displayName":"Probe"}],` +
		`"debugContext":{"debugData":{"privilegeGranted":"Super administrator"}}}`)
}

func steadyRun(b *testing.B, bp *benchPipeline, feed [][]byte, rate int, d time.Duration) []time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	if rate > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			const tick = 50 * time.Millisecond
			per := max(1, rate*int(tick)/int(time.Second))
			t := time.NewTicker(tick)
			defer t.Stop()
			i := 0
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				batch := make([][]byte, 0, per)
				for range per {
					batch = append(batch, feed[i%len(feed)])
					i++
				}
				if err := bp.p.Ingest(ctx, sources.Batch{SourceID: "feed", LogType: "Okta.SystemLog", Records: batch}); err != nil && ctx.Err() == nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	sent := map[string]time.Time{}
	var lat []time.Duration
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for ctx.Err() == nil {
		select {
		case <-t.C:
			probeSeq++
			user := fmt.Sprintf("probe%d", probeSeq)
			at := time.Now()
			if err := bp.p.Ingest(context.Background(), sources.Batch{SourceID: "probe", LogType: "Okta.SystemLog", Records: [][]byte{probe(user)}}); err != nil {
				b.Fatal(err)
			}
			sent[user+"@example.com"] = at
		case created := <-bp.created:
			lat = append(lat, collect(created, sent)...)
		case <-ctx.Done():
		}
	}
	wg.Wait()
	// Collect the probes still in flight.
	deadline := time.After(30 * time.Second)
	for len(sent) > 0 {
		select {
		case created := <-bp.created:
			lat = append(lat, collect(created, sent)...)
		case <-deadline:
			b.Fatalf("%d probes never alerted", len(sent))
		}
	}
	return lat
}

func collect(created []alerts.Alert, sent map[string]time.Time) []time.Duration {
	var out []time.Duration
	for _, a := range created {
		if at, ok := sent[a.Dedup]; ok && a.RuleID == "Okta.AdminRoleAssignedToUser" {
			out = append(out, time.Since(at))
			delete(sent, a.Dedup)
		}
	}
	return out
}

// peakRSSMB is the peak resident memory (VmHWM) of this process plus its
// child processes (the Python workers), in MiB.
func peakRSSMB() float64 {
	total := hwm("self")
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, pid := range strings.Fields(string(data)) {
			total += hwm(pid)
		}
	}
	return float64(total) / 1024
}

func hwm(pid string) int {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb
		}
	}
	return 0
}
