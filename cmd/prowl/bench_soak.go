package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/prowl-siem/prowl/internal/config"
	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/server"
	"github.com/prowl-siem/prowl/internal/sources"
	"github.com/prowl-siem/prowl/internal/store"
)

const (
	// soakBatch is the number of events per Ingest call, about one page of
	// a polled source.
	soakBatch = 500
	// soakFeeders is how many batches may be in Ingest at once, as from that
	// many sources.
	soakFeeders = 4
	// soakLagBound is how far behind (in seconds of traffic at the target
	// rate) the engine or the lake may fall for a run to count as keeping up.
	soakLagBound = 10 * time.Second
	// soakMaxRSS is the memory target of issue #6.
	soakMaxRSS = 1 << 30
)

// soakOptions are the flags of prowl bench soak.
type soakOptions struct {
	rate        int
	duration    time.Duration
	reportEvery time.Duration
	events      int
	dataDir     string   // "" for a temporary directory
	cpuProfile  string   // file for a CPU profile of the feeding period, or ""
	heapProfile string   // file for a heap profile at the Go heap's peak, or ""
	lagProfile  string   // file for a CPU profile of the first moment the engine falls behind, or ""
	environ     []string // PROWL_* settings the server may take
}

// soakSample is one reading, taken every second.
type soakSample struct {
	elapsed             time.Duration
	ingested            int64 // events the feeders saw acknowledged
	prowlRSS, pythonRSS int64 // bytes: this process; its descendants (the Python workers)
	goHeap              int64 // bytes of live and unswept Go heap objects
	goRuntime           int64 // bytes the Go runtime holds from the OS (heap, stacks, its own structures)
	engineLag, lakeLag  int64 // events written ahead but not yet evaluated; not yet in a Parquet file
	evaluated, alerts   int64 // events evaluated by the engine, alerts created
}

// soakReport sums up a run.
type soakReport struct {
	rate                          int
	elapsed                       time.Duration
	ingested, skipped             int64
	peakRSS, medianRSS, endRSS    int64
	atPeak                        soakSample // the sample of peakRSS
	hwmRSS                        int64      // sum of the processes' high-water marks: an upper bound of the peak
	peakHeap                      int64
	maxEngineLag, maxLakeLag      int64
	engineLagAt, lakeLagAt        time.Duration // when the largest lags were sampled
	evaluated, alerts             int64
	cpuSeconds                    float64
	loadStart, loadEnd            string
	pythonWorkers, metricFailures int
	start                         time.Time
	correlationRuns               []store.ScheduledRun // the runs that started during the soak
	correlationErr                error                // why they could not be read
}

func newBenchSoakCmd() *cobra.Command {
	o := soakOptions{}
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "Run prowl at a steady event rate and watch its memory and lag",
		Long: `Start prowl as prowl up does (embedded defaults, the bundled Okta pack, the
write-ahead log, the detection engine with its Python workers, the alert
manager, the lake writer; the API on a free loopback port; no demo feed) on
--data-dir, and feed it generated Okta System Log events (prowl gen okta,
every attack scenario) at --rate events/s for --duration: batches of 500
handed to the pipeline as a source hands them, by four feeders as from four
sources. The corpus of --events is written to a file and read in a loop, so
it is not part of the measured memory.

Every second it samples the resident memory of this process and of its
Python workers, the Go heap, how many written-ahead events the engine has
not evaluated yet, and how many are not yet in a Parquet file of the lake;
every --report-every it prints a line; at the end a summary with PASS or
FAIL against the targets: peak RSS under 1 GiB, and keeping up with the rate
(at least 99% of it achieved, engine and lake lag never above 10 s of
traffic). When prowl cannot keep up the feeder falls behind its schedule and
skips what it could not deliver rather than queueing it.

Other settings (python_workers, batch_size, ...) come from prowl.yaml and
PROWL_* variables as for prowl up.`,
		Example: `  prowl bench soak
  prowl bench soak --rate 20000 --duration 2m --report-every 5s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o.environ = os.Environ()
			_, err := runSoak(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
			return err
		},
	}
	cmd.Flags().IntVar(&o.rate, "rate", 50_000, "events per second")
	cmd.Flags().DurationVar(&o.duration, "duration", 10*time.Minute, "how long to feed events")
	cmd.Flags().StringVar(&o.dataDir, "data-dir", "", "data directory (default: a temporary directory, removed afterwards)")
	cmd.Flags().DurationVar(&o.reportEvery, "report-every", 10*time.Second, "interval of progress lines")
	cmd.Flags().IntVar(&o.events, "events", 200_000, "size of the generated corpus, fed in a loop")
	cmd.Flags().StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the feeding period (go tool pprof)")
	cmd.Flags().StringVar(&o.heapProfile, "heapprofile", "", "write a heap profile taken when the Go heap peaks (go tool pprof)")
	cmd.Flags().StringVar(&o.lagProfile, "lagprofile", "", "when the engine first falls 2 s of traffic behind, write a 10 s CPU profile from then (and FILE.goroutines, the goroutines then); not with --cpuprofile")
	return cmd
}

// runSoak runs the soak, printing progress and the summary to out and the
// server's warnings to logOut. An interrupted run (ctx done) still reports.
func runSoak(ctx context.Context, out, logOut io.Writer, o soakOptions) (soakReport, error) {
	if o.rate < 1 || o.duration <= 0 || o.reportEvery <= 0 || o.events < 1 {
		return soakReport{}, fmt.Errorf("--rate, --duration, --report-every and --events must be positive")
	}
	if o.cpuProfile != "" && o.lagProfile != "" {
		return soakReport{}, fmt.Errorf("--cpuprofile and --lagprofile cannot be used together: Go takes one CPU profile at a time")
	}
	work, err := os.MkdirTemp("", "prowl-soak-")
	if err != nil {
		return soakReport{}, err
	}
	defer os.RemoveAll(work)
	if o.dataDir == "" {
		o.dataDir = filepath.Join(work, "data")
	}
	cfg, err := soakConfig(o.dataDir, o.environ)
	if err != nil {
		return soakReport{}, err
	}
	fmt.Fprintf(out, "generating %d Okta events...\n", o.events)
	corpusFile := filepath.Join(work, "okta.ndjson")
	if err := writeSoakCorpus(corpusFile, o.events, o.rate); err != nil {
		return soakReport{}, err
	}
	c, err := openCorpus(corpusFile)
	if err != nil {
		return soakReport{}, err
	}
	defer c.f.Close()

	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	goLimit := applyGoMemoryLimit(cfg, o.environ)
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		return soakReport{}, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		srv.Stop(5 * time.Second) // what is written ahead stays in the log; no need to drain it all
		cancel()
		srv.Wait()
		srv.Close()
	}()
	if err := srv.Start(runCtx); err != nil {
		return soakReport{}, err
	}
	p := soakProbe{base: "http://" + srv.Addr().String(), token: cfg.AdminToken, client: &http.Client{Timeout: 5 * time.Second},
		table: lake.TableName(logtypes.NewRegistry(), "Okta.SystemLog")}
	if _, _, _, p.lakeRows0, err = p.read(); err != nil {
		return soakReport{}, err
	}

	r := soakReport{rate: o.rate, loadStart: loadAvg(), pythonWorkers: cfg.PythonWorkers}
	if r.pythonWorkers == 0 {
		r.pythonWorkers = runtime.NumCPU()
	}
	fmt.Fprintf(out, "prowl bench soak: %s events/s for %s, %d CPUs, %d Python workers, Go memory limit %s, load average %s, data in %s\n",
		thousands(float64(o.rate)), o.duration, runtime.NumCPU(), r.pythonWorkers, memLimit(goLimit), r.loadStart, cfg.DataDir)
	resetPeakRSS()
	if o.cpuProfile != "" {
		stopCPU, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return soakReport{}, err
		}
		defer stopCPU()
	}
	heap := heapProfiler{path: o.heapProfile}
	lagProf := lagProfiler{path: o.lagProfile, threshold: 2 * int64(o.rate), length: 10 * time.Second}
	defer lagProf.close()
	cpu0 := selfCPU() + liveChildrenCPU()
	start := time.Now()
	var ingested, skipped atomic.Int64
	fed := make(chan error, 1)
	go func() { fed <- feed(ctx, start.Add(o.duration), srv.Sink(), c, o.rate, &ingested, &skipped) }()

	sampleTick := time.NewTicker(time.Second)
	defer sampleTick.Stop()
	reportTick := time.NewTicker(o.reportEvery)
	defer reportTick.Stop()
	var samples []soakSample
	var last soakSample
	take := func() {
		s := soakSample{elapsed: time.Since(start), ingested: ingested.Load()}
		s.goHeap, s.goRuntime = goMemory()
		if err := heap.observe(s.goHeap); err != nil {
			fmt.Fprintf(logOut, "writing the heap profile: %v\n", err)
		}
		s.prowlRSS, s.pythonRSS = processRSS("VmRSS:")
		written, evaluated, alerts, lakeRows, err := p.read()
		if err != nil {
			r.metricFailures++
			s.engineLag, s.lakeLag, s.evaluated, s.alerts = last.engineLag, last.lakeLag, last.evaluated, last.alerts
		} else {
			s.engineLag, s.lakeLag = max(0, written-evaluated), max(0, written-(lakeRows-p.lakeRows0))
			s.evaluated, s.alerts = evaluated, alerts
		}
		samples, last = append(samples, s), s
		if err := lagProf.observe(s.engineLag, time.Now()); err != nil {
			fmt.Fprintf(logOut, "writing the lag profile: %v\n", err)
		}
	}
	var feedErr error
loop:
	for {
		select {
		case <-sampleTick.C:
			take()
		case <-reportTick.C:
			fmt.Fprintln(out, soakLine(last, samples, o.reportEvery))
		case feedErr = <-fed:
			break loop
		}
	}
	take()
	r.elapsed = min(last.elapsed, o.duration)
	r.cpuSeconds = selfCPU() + liveChildrenCPU() - cpu0
	self, children := processRSS("VmHWM:")
	r.hwmRSS = self + children
	r.loadEnd = loadAvg()
	r.ingested, r.skipped = ingested.Load(), skipped.Load()
	r.start = start
	r.correlationRuns, r.correlationErr = p.correlationRuns(start)
	r.summarize(samples)
	r.print(out)
	return r, feedErr
}

// soakConfig is prowl up's configuration (defaults, prowl.yaml when present,
// PROWL_* variables) on dataDir, with the API on a free loopback port and no
// demo feed.
func soakConfig(dataDir string, environ []string) (*config.Config, error) {
	fs := pflag.NewFlagSet("prowl bench soak", pflag.ContinueOnError)
	config.AddFlags(fs)
	if err := fs.Parse([]string{"--data-dir", dataDir, "--listen", "127.0.0.1:0", "--demo=false"}); err != nil {
		return nil, err
	}
	return config.Load(fs, environ)
}

// writeSoakCorpus writes n generated Okta events with every attack
// scenario, timed to end now at the given rate, to path as NDJSON.
func writeSoakCorpus(path string, n, rate int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var attacks []string
	for _, s := range gen.OktaScenarios() {
		attacks = append(attacks, s.Name)
	}
	spacing := time.Second / time.Duration(rate)
	w := bufio.NewWriterSize(f, 1<<20)
	err = gen.Okta(gen.OktaOptions{Count: n, Seed: 1, Attacks: attacks, Spacing: spacing, Start: time.Now().Add(-time.Duration(n) * spacing)},
		func(ev []byte) error {
			w.Write(ev)
			return w.WriteByte('\n')
		})
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// corpus reads an NDJSON file in a loop, a batch at a time: the events stay
// in the page cache, out of the measured memory. It is safe for concurrent
// use.
type corpus struct {
	mu      sync.Mutex
	f       *os.File
	sc      *bufio.Scanner
	scanBuf []byte
}

// batchBuf holds one batch of events; it is reused from batch to batch.
type batchBuf struct {
	buf  []byte
	ends []int
	recs [][]byte
}

func openCorpus(path string) (*corpus, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	c := &corpus{f: f, scanBuf: make([]byte, 1<<20)}
	if err := c.rewind(); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

func (c *corpus) rewind() error {
	if _, err := c.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	c.sc = bufio.NewScanner(c.f)
	c.sc.Buffer(c.scanBuf, len(c.scanBuf))
	return nil
}

// next reads the next n events into b, starting over at the end of the
// file. They are valid until b is used again.
func (c *corpus) next(n int, b *batchBuf) ([][]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b.buf, b.ends, b.recs = b.buf[:0], b.ends[:0], b.recs[:0]
	for len(b.ends) < n {
		if c.sc.Scan() {
			b.buf = append(b.buf, c.sc.Bytes()...)
			b.ends = append(b.ends, len(b.buf))
			continue
		}
		if err := c.sc.Err(); err != nil {
			return nil, err
		}
		if err := c.rewind(); err != nil {
			return nil, err
		}
	}
	from := 0
	for _, end := range b.ends {
		b.recs = append(b.recs, b.buf[from:end:end])
		from = end
	}
	return b.recs, nil
}

// feed hands sink rate events a second from now until the deadline, in
// batches paced by a ticker and delivered by soakFeeders goroutines, as by
// concurrent sources; ingested counts what was acknowledged. A batch is due
// at the start of its interval and waits for a free feeder. The schedule
// never runs more than a second ahead of the deliveries: events the
// pipeline was too slow to take in time are skipped (counted in skipped),
// not queued, so at most soakFeeders batches are ever in memory.
func feed(ctx context.Context, deadline time.Time, sink sources.Sink, c *corpus, rate int, ingested, skipped *atomic.Int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan struct{})
	failed := make(chan error, soakFeeders)
	var wg sync.WaitGroup
	for range soakFeeders {
		wg.Go(func() {
			var b batchBuf
			for range work {
				recs, err := c.next(soakBatch, &b)
				if err == nil {
					err = sink.Ingest(ctx, sources.Batch{SourceID: "bench-soak", SourceLabel: "prowl bench soak", LogType: "Okta.SystemLog", Records: recs})
				}
				if err != nil {
					if ctx.Err() == nil {
						failed <- err
					}
					return
				}
				ingested.Add(soakBatch)
			}
		})
	}
	defer func() {
		close(work)
		wg.Wait() // the batches in flight complete
	}()
	tick := time.NewTicker(max(time.Millisecond, time.Duration(float64(time.Second)*soakBatch/float64(rate))))
	defer tick.Stop()
	stop := time.NewTimer(time.Until(deadline))
	defer stop.Stop()
	start := time.Now()
	var offered int64 // handed to feeders, plus skipped
	for now := start; ; {
		due := int64(now.Sub(start).Seconds()*float64(rate)) + soakBatch
		if behind := due - offered - int64(rate); behind > 0 {
			skipped.Add(behind)
			offered += behind
		}
	dispatch:
		for due-offered >= soakBatch {
			select {
			case work <- struct{}{}:
				offered += soakBatch
			default:
				break dispatch // every feeder is busy: the rest waits for the next tick
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			return err
		case <-stop.C:
			return nil
		case now = <-tick.C:
		}
	}
}

// soakProbe reads the running server's counters over its API.
type soakProbe struct {
	client      *http.Client
	base, token string
	table       string // the lake table of Okta events
	lakeRows0   int64  // rows the table held before the run
}

// read returns the events written ahead and evaluated by the engine and
// the alerts created since the server started (/metrics), and the rows in
// the lake's Okta table (/api/v1/health).
func (p soakProbe) read() (written, evaluated, alerts, lakeRows int64, err error) {
	var health struct {
		Lake struct{ Tables []lake.TableStats } `json:"lake"`
	}
	if err = p.get("/api/v1/health", func(r io.Reader) error { return json.NewDecoder(r).Decode(&health) }); err != nil {
		return
	}
	for _, t := range health.Lake.Tables {
		if t.Name == p.table {
			lakeRows = t.Rows
		}
	}
	var sums map[string]float64
	err = p.get("/metrics", func(r io.Reader) (err error) {
		sums, err = promSums(r, "prowl_pipeline_events_total", "prowl_engine_events_total", "prowl_alerts_created_total")
		return err
	})
	return int64(sums["prowl_pipeline_events_total"]), int64(sums["prowl_engine_events_total"]), int64(sums["prowl_alerts_created_total"]), lakeRows, err
}

// correlationRuns lists the correlation rules' runs that started at or
// after since (the latest five of each rule), oldest first.
func (p soakProbe) correlationRuns(since time.Time) ([]store.ScheduledRun, error) {
	var list struct {
		Correlations []struct {
			LastRuns []store.ScheduledRun `json:"last_runs"`
		} `json:"correlation_rules"`
	}
	if err := p.get("/api/v1/scheduled-queries", func(r io.Reader) error { return json.NewDecoder(r).Decode(&list) }); err != nil {
		return nil, err
	}
	var out []store.ScheduledRun
	for _, c := range list.Correlations {
		for _, run := range c.LastRuns {
			if !run.StartedAt.Before(since) {
				out = append(out, run)
			}
		}
	}
	slices.SortFunc(out, func(a, b store.ScheduledRun) int { return a.StartedAt.Compare(b.StartedAt) })
	return out, nil
}

func (p soakProbe) get(path string, decode func(io.Reader) error) error {
	req, err := http.NewRequest(http.MethodGet, p.base+path, nil)
	if err != nil {
		return err
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return decode(resp.Body)
}

// promSums adds up the samples of each named metric in the Prometheus text
// format.
func promSums(r io.Reader, names ...string) (map[string]float64, error) {
	sums := map[string]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		i := strings.IndexAny(line, "{ ")
		if i < 0 || !slices.Contains(names, line[:i]) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: %q: %w", line, err)
		}
		sums[line[:i]] += v
	}
	return sums, sc.Err()
}

// processRSS reads a /proc/<pid>/status field (VmRSS:, VmHWM:) of this
// process and the sum over its descendants, in bytes.
func processRSS(field string) (self, children int64) {
	for _, pid := range descendants("self") {
		children += int64(procStatusKB(pid, field)) << 10
	}
	return int64(procStatusKB("self", field)) << 10, children
}

func descendants(pid string) []string {
	var out []string
	tasks, _ := filepath.Glob("/proc/" + pid + "/task/*/children")
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, child := range strings.Fields(string(data)) {
			out = append(append(out, child), descendants(child)...)
		}
	}
	return out
}

// goMemory returns the bytes of Go heap objects (live and not yet swept)
// and of all memory the Go runtime holds from the OS.
func goMemory() (heap, held int64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64() - s[2].Value.Uint64())
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

// soakLine is a progress line: the latest sample, with the rate over the
// last interval.
func soakLine(s soakSample, samples []soakSample, interval time.Duration) string {
	prev := soakSample{}
	for _, q := range samples {
		if q.elapsed <= s.elapsed-interval {
			prev = q
		}
	}
	rate := float64(s.ingested-prev.ingested) / (s.elapsed - prev.elapsed).Seconds()
	return fmt.Sprintf("%6s  ingested %s  %s ev/s  RSS %s (prowl %s, python %s)  Go heap %s  engine lag %s  lake lag %s  alerts %d",
		s.elapsed.Round(time.Second), thousands(float64(s.ingested)), thousands(rate), bytesMiB(s.prowlRSS+s.pythonRSS),
		bytesMiB(s.prowlRSS), bytesMiB(s.pythonRSS), bytesMiB(s.goHeap), thousands(float64(s.engineLag)), thousands(float64(s.lakeLag)), s.alerts)
}

func (r *soakReport) summarize(samples []soakSample) {
	var totals []int64
	for _, s := range samples {
		total := s.prowlRSS + s.pythonRSS
		totals = append(totals, total)
		if total > r.peakRSS {
			r.peakRSS, r.atPeak = total, s
		}
		r.peakHeap = max(r.peakHeap, s.goHeap)
		if s.engineLag > r.maxEngineLag {
			r.maxEngineLag, r.engineLagAt = s.engineLag, s.elapsed
		}
		if s.lakeLag > r.maxLakeLag {
			r.maxLakeLag, r.lakeLagAt = s.lakeLag, s.elapsed
		}
	}
	if len(samples) == 0 {
		return
	}
	end := samples[len(samples)-1]
	r.endRSS, r.evaluated, r.alerts = end.prowlRSS+end.pythonRSS, end.evaluated, end.alerts
	slices.Sort(totals)
	r.medianRSS = totals[len(totals)/2]
}

func (r *soakReport) achieved() float64 { return float64(r.ingested) / r.elapsed.Seconds() }

// memoryOK and keptUp are the verdicts against the targets. The memory
// verdict takes the high-water marks, which catch peaks between samples.
func (r *soakReport) memoryOK() bool { return max(r.peakRSS, r.hwmRSS) < soakMaxRSS }

func (r *soakReport) keptUp() bool {
	bound := int64(soakLagBound.Seconds() * float64(r.rate))
	return r.achieved() >= 0.99*float64(r.rate) && r.maxEngineLag <= bound && r.maxLakeLag <= bound
}

func (r *soakReport) print(out io.Writer) {
	lag := func(events int64, at time.Duration) string {
		return fmt.Sprintf("%s events (%.1f s of traffic) at %s", thousands(float64(events)), float64(events)/float64(r.rate), at.Round(time.Second))
	}
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	fmt.Fprintln(out, "\nsummary")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, row := range [][2]string{
		{"target rate", thousands(float64(r.rate)) + " ev/s"},
		{"achieved rate", fmt.Sprintf("%s ev/s (%s events; %s skipped by the feeder)", thousands(r.achieved()), thousands(float64(r.ingested)), thousands(float64(r.skipped)))},
		{"duration", r.elapsed.Round(time.Second).String()},
		{"peak RSS (1 s samples)", bytesMiB(r.peakRSS)},
		{"peak RSS (high-water marks)", bytesMiB(r.hwmRSS) + " (sum over the processes: an upper bound)"},
		{"  at the sampled peak", fmt.Sprintf("prowl %s (Go runtime %s, of which heap objects %s; the rest DuckDB, C libraries, binary), Python %s",
			bytesMiB(r.atPeak.prowlRSS), bytesMiB(r.atPeak.goRuntime), bytesMiB(r.atPeak.goHeap), bytesMiB(r.atPeak.pythonRSS))},
		{"RSS p50", bytesMiB(r.medianRSS)},
		{"RSS at the end", bytesMiB(r.endRSS)},
		{"peak Go heap", bytesMiB(r.peakHeap)},
		{"max engine lag", lag(r.maxEngineLag, r.engineLagAt)},
		{"max lake lag", lag(r.maxLakeLag, r.lakeLagAt)},
		{"events evaluated", thousands(float64(r.evaluated))},
		{"alerts created", strconv.FormatInt(r.alerts, 10)},
		{"CPU", fmt.Sprintf("%.2f cores (prowl and Python workers)", r.cpuSeconds/r.elapsed.Seconds())},
		{"load average", r.loadStart + " at start, " + r.loadEnd + " at the end"},
		{"peak RSS < 1 GiB", verdict(r.memoryOK())},
		{fmt.Sprintf("kept up (>= 99%% of the rate, lag <= %s of traffic)", soakLagBound), verdict(r.keptUp())},
	} {
		fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
	}
	tw.Flush()
	switch {
	case r.correlationErr != nil:
		fmt.Fprintf(out, "  correlation runs: could not be read: %v\n", r.correlationErr)
	case len(r.correlationRuns) == 0:
		fmt.Fprintln(out, "  correlation runs: none started during the soak")
	}
	for _, run := range r.correlationRuns {
		took := "still running at the end"
		if run.FinishedAt != nil {
			took = fmt.Sprintf("%s in %.1f s", run.Status, run.DurationMS/1000)
		}
		fmt.Fprintf(out, "  correlation run at %s: %s, %s matches read, %s\n", run.StartedAt.Sub(r.start).Round(time.Second), run.Name,
			thousands(float64(run.Rows)), took)
	}
	if r.metricFailures > 0 {
		fmt.Fprintf(out, "(%d samples could not read the server's metrics; they repeat the previous lag)\n", r.metricFailures)
	}
}

func bytesMiB(b int64) string { return mib(float64(b) / (1 << 20)) }
