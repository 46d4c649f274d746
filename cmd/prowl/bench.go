package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/detect"
	"github.com/prowl-siem/prowl/internal/engine"
	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/pyrt"
	"github.com/prowl-siem/prowl/packs"
)

type benchFlags struct {
	events       int
	seed         int64
	path         string
	python       string
	workers      int
	batch        int
	skipBaseline bool
	cpuProfile   string
	ingestEvents int
	skipSimple   bool
	skipLake     bool
}

func newBenchCmd() *cobra.Command {
	f := &benchFlags{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure detections, lake ingest and lake queries, each against a baseline",
		Long: `Generate Okta System Log events (as prowl gen okta does, every attack
scenario injected) and run the same detections over the same events three
ways, in one run:

  baseline         one Python process calling every rule on every
                   (already normalized) event: how a Panther-style engine
                   evaluates Python rules; timed is its loop alone
  prefilters off   prowl's detection path end to end: normalize, route,
                   Python workers, alert manager (in memory), with every
                   rule of the log type sent to Python
  prefilters on    the same with the static prefilters deciding in Go which
                   rules can match each event

For each it reports events/s, CPU seconds (prowl and its Python processes),
peak resident memory (the process and its Python workers; the generated
corpus, held in memory, is part of it: "RSS at start" shows what was
resident when the run began) and the share of events that reached Python. The detections are the bundled Okta pack unless --path names others.

Then, each in a table of its own, with its baseline measured in the same run:

  simple detections  the Okta pack written as 24 simple detections, the
                     engine's Evaluate over the same events, normalized
                     beforehand, on one core (GOMAXPROCS=1): events/s per
                     core with the prefilters off (every event decoded for
                     the Go matchers: the baseline) and on, the share of
                     events decoded, and the matches, which must agree
  lake ingest        the first --ingest-events events to zstd Parquet:
                     prowl's path (normalize, write-ahead log, lake
                     consumer, until the manifest lists every event)
                     against DuckDB's read_json + COPY of their NDJSON
                     (the schema inferred beforehand, from the whole
                     file); MB/s of raw NDJSON and events/s
  lake queries       three queries on that lake through the query API
                     (as prowl query runs them) against the same SQL over
                     the NDJSON with DuckDB's read_json and that schema,
                     5 runs each: median and slowest latency`,
		Example: `  prowl bench
  prowl bench --events 100000 --cpuprofile prefilters.pprof
  prowl bench --events 200000 --skip-baseline --skip-lake`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	cmd.Flags().IntVar(&f.events, "events", 1_000_000, "number of generated events")
	cmd.Flags().Int64Var(&f.seed, "seed", 1, "generator seed")
	cmd.Flags().StringVar(&f.path, "path", "", "detections directory (default: the bundled packs)")
	cmd.Flags().StringVar(&f.python, "python", "", "Python interpreter (default: /usr/bin/python3 or python3)")
	cmd.Flags().IntVar(&f.workers, "workers", 0, "Python workers (default: one per CPU)")
	cmd.Flags().IntVar(&f.batch, "batch", 4096, "events per engine batch")
	cmd.Flags().BoolVar(&f.skipBaseline, "skip-baseline", false, "do not run the Python-loop baseline")
	cmd.Flags().StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the prefilters-on run (go tool pprof)")
	cmd.Flags().IntVar(&f.ingestEvents, "ingest-events", 100_000, "events written to the lake and queried (the first of the generated ones)")
	cmd.Flags().BoolVar(&f.skipSimple, "skip-simple", false, "do not measure the simple detections")
	cmd.Flags().BoolVar(&f.skipLake, "skip-lake", false, "do not measure lake ingest and queries")
	cmd.AddCommand(newBenchSoakCmd())
	return cmd
}

type benchRow struct {
	name            string
	events          int
	seconds         float64
	cpu             float64
	peakRSS         float64 // MiB
	startRSS        float64 // MiB, resident when the run started (the corpus, mostly)
	toPython        float64 // share, -1 when not applicable
	matches, alerts int
	note            string
}

func runBench(ctx context.Context, out, progress io.Writer, f *benchFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if f.events <= 0 {
		return fmt.Errorf("--events must be positive")
	}
	if f.ingestEvents <= 0 && !f.skipLake {
		return fmt.Errorf("--ingest-events must be positive")
	}
	repo, cleanup, err := benchRepo(f.path)
	if err != nil {
		return err
	}
	defer cleanup()
	var names []string
	for _, s := range gen.OktaScenarios() {
		names = append(names, s.Name)
	}
	fmt.Fprintf(progress, "generating %d Okta events...\n", f.events)
	start := time.Now()
	raw := make([][]byte, 0, f.events)
	var arena []byte
	err = gen.Okta(gen.OktaOptions{Count: f.events, Seed: f.seed, Attacks: names}, func(ev []byte) error {
		if cap(arena)-len(arena) < len(ev) {
			// Off the Go heap: a corpus of gigabytes would otherwise let the
			// heap grow to twice its size between collections.
			arena = offHeap(max(64<<20, len(ev)))
		}
		arena = append(arena, ev...)
		raw = append(raw, arena[len(arena)-len(ev):len(arena):len(arena)])
		return nil
	})
	if err != nil {
		return err
	}
	var rawBytes int64
	for _, r := range raw {
		rawBytes += int64(len(r))
	}
	fmt.Fprintf(progress, "  %s of events in %.1fs\n", mib(float64(rawBytes)/(1<<20)), time.Since(start).Seconds())

	var rows []benchRow
	if !f.skipBaseline {
		row, err := benchBaseline(progress, f, repo, raw)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	for _, off := range []bool{true, false} {
		row, err := benchEngine(ctx, progress, f, repo, raw, off)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	fmt.Fprintf(out, "prowl bench: %d generated Okta events (%s), %d CPUs, %s, Python %s\n",
		f.events, mib(float64(rawBytes)/(1<<20)), runtime.NumCPU(), runtime.Version(), pythonVersion(f.python))
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tevents/s\tseconds\tCPU seconds\tpeak RSS\tRSS at start\treached Python\tmatches\talerts\t")
	for _, r := range rows {
		share := "-"
		if r.toPython >= 0 {
			share = fmt.Sprintf("%.1f%%", 100*r.toPython)
		}
		alertsCol := "-"
		if r.alerts >= 0 {
			alertsCol = strconv.Itoa(r.alerts)
		}
		start := "-"
		if r.startRSS > 0 {
			start = mib(r.startRSS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%s\t%s\t%s\t%d\t%s\t\n", r.name, thousands(float64(r.events)/r.seconds),
			r.seconds, r.cpu, mib(r.peakRSS), start, share, r.matches, alertsCol)
	}
	tw.Flush()
	if len(rows) == 3 {
		base := float64(rows[0].events) / rows[0].seconds
		fmt.Fprintf(out, "speed-up over the baseline: prefilters off %.1fx, prefilters on %.1fx\n",
			float64(rows[1].events)/rows[1].seconds/base, float64(rows[2].events)/rows[2].seconds/base)
	}
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(out, "%s: %s\n", r.name, r.note)
		}
	}
	if !f.skipSimple {
		rows, err := benchSimple(ctx, progress, f, raw)
		if err != nil {
			return err
		}
		printSimple(out, rows)
	}
	if !f.skipLake {
		ingest, queries, err := benchLake(ctx, progress, f, raw)
		if err != nil {
			return err
		}
		printIngest(out, ingest)
		printQueries(out, queries)
	}
	return nil
}

// benchRepo loads the detections: the bundled packs, extracted to a
// temporary directory, or path.
func benchRepo(path string) (*analysis.Repo, func(), error) {
	cleanup := func() {}
	if path == "" {
		dir, err := os.MkdirTemp("", "prowl-bench-")
		if err != nil {
			return nil, nil, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		if path, err = packs.Extract(dir); err != nil {
			cleanup()
			return nil, nil, err
		}
	}
	repo, err := analysis.Load([]string{path}, analysis.Options{})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	var enabled []*analysis.Detection
	for _, d := range repo.Detections {
		if d.Enabled {
			enabled = append(enabled, d)
		}
	}
	repo.Detections = enabled
	return repo, cleanup, nil
}

func benchBaseline(progress io.Writer, f *benchFlags, repo *analysis.Repo, raw [][]byte) (benchRow, error) {
	fmt.Fprintln(progress, "baseline: normalizing, then one Python loop over every rule and event...")
	norm := logtypes.NewRegistry().NewNormalizer()
	var ndjson bytes.Buffer
	ndjson.Grow(len(raw) * 2600)
	for _, r := range raw {
		ev, err := norm.NormalizeTo(ndjson.AvailableBuffer(), "Okta.SystemLog", r, logtypes.Meta{})
		if err != nil {
			continue
		}
		ndjson.Write(ev.JSON)
		ndjson.WriteByte('\n')
	}
	set, problems := detect.Compile(repo, repo.Detections)
	if len(problems) > 0 {
		return benchRow{}, problems[0]
	}
	cpu0 := childrenCPU()
	res, err := pyrt.RunBaseline(f.python, set.Program, ndjson.Bytes())
	if err != nil {
		return benchRow{}, err
	}
	return benchRow{name: "baseline (Python loop)", events: res.Events, seconds: res.Seconds, cpu: childrenCPU() - cpu0,
		peakRSS: childMaxRSSMiB(), toPython: 1, matches: res.Matches + res.Errors, alerts: -1,
		note: "timed is the loop alone (decode, event object, rules, alert functions); CPU includes its start and reading its input; " +
			"it reads every event into memory first (peak RSS)"}, nil
}

func benchEngine(ctx context.Context, progress io.Writer, f *benchFlags, repo *analysis.Repo, raw [][]byte, off bool) (benchRow, error) {
	name := "prowl, prefilters on"
	if off {
		name = "prowl, prefilters off"
	}
	fmt.Fprintf(progress, "%s: normalize, route, prefilter, Python, alert manager...\n", name)
	e, err := engine.New(ctx, repo, engine.Options{
		Python:        pyrt.Config{Python: f.python, Workers: f.workers, Output: io.Discard},
		PrefiltersOff: off,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return benchRow{}, err
	}
	defer e.Close()
	mgr, err := alerts.NewManager(ctx, alerts.NewMemoryStore(), alerts.Options{AlertsPerHour: 1 << 30})
	if err != nil {
		return benchRow{}, err
	}
	debug.FreeOSMemory() // the baseline's copy of the corpus is garbage now
	resetPeakRSS()
	startRSS := rssMiB()
	if !off && f.cpuProfile != "" {
		stopCPU, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return benchRow{}, err
		}
		defer stopCPU()
	}
	cpu0 := selfCPU() + liveChildrenCPU()
	res, err := engine.Drive(ctx, e, raw, engine.DriveOptions{LogType: "Okta.SystemLog", BatchSize: f.batch, Alerts: mgr})
	if err != nil {
		return benchRow{}, err
	}
	cpu := selfCPU() + liveChildrenCPU() - cpu0
	st := e.Stats()
	row := benchRow{name: name, events: res.Events, seconds: res.Elapsed.Seconds(), cpu: cpu, peakRSS: peakRSSMiB(), startRSS: startRSS,
		toPython: float64(st.PythonEvents) / float64(max(st.Events, 1)), matches: res.Matches, alerts: res.Alerts}
	if !off {
		row.note = fmt.Sprintf("%d of %d Python rules have a prefilter; %d of %d rule calls skipped",
			st.Prefiltered, st.PythonRules, st.PrefilteredCalls, st.PrefilteredCalls+st.RuleCalls)
	}
	if res.Rejected > 0 {
		row.note += fmt.Sprintf(" (%d events rejected by the schema)", res.Rejected)
	}
	return row, nil
}

func pythonVersion(python string) string {
	if python == "" {
		python = pyrt.DefaultPython()
	}
	out, err := exec.Command(python, "-c", "import sys; print(sys.version.split()[0])").Output()
	if err != nil {
		return python
	}
	return python + " " + strings.TrimSpace(string(out))
}

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc.
const clockTicks = 100.0

// procCPU returns utime+stime and cutime+cstime of a /proc/<pid>/stat, in
// seconds.
func procCPU(pid string) (own, children float64) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, 0
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0
	}
	fields := strings.Fields(string(data[i+1:]))
	// fields[0] is field 3 (state): utime is field 14.
	at := func(n int) float64 {
		if n-3 >= len(fields) {
			return 0
		}
		v, _ := strconv.ParseFloat(fields[n-3], 64)
		return v / clockTicks
	}
	return at(14) + at(15), at(16) + at(17)
}

// selfCPU is this process's CPU time plus that of children it has reaped.
func selfCPU() float64 {
	own, children := procCPU("self")
	return own + children
}

func childrenCPU() float64 {
	_, children := procCPU("self")
	return children
}

func childPIDs() []string {
	var pids []string
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		pids = append(pids, strings.Fields(string(data))...)
	}
	sort.Strings(pids)
	return pids
}

func liveChildrenCPU() float64 {
	total := 0.0
	for _, pid := range childPIDs() {
		own, _ := procCPU(pid)
		total += own
	}
	return total
}

// resetPeakRSS resets this process's VmHWM (Linux: clear_refs 5).
func resetPeakRSS() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSSMiB is the VmHWM of this process plus its live children.
func peakRSSMiB() float64 {
	total := procStatusKB("self", "VmHWM:")
	for _, pid := range childPIDs() {
		total += procStatusKB(pid, "VmHWM:")
	}
	return float64(total) / 1024
}

// rssMiB is the VmRSS of this process plus its live children.
func rssMiB() float64 {
	total := procStatusKB("self", "VmRSS:")
	for _, pid := range childPIDs() {
		total += procStatusKB(pid, "VmRSS:")
	}
	return float64(total) / 1024
}

func procStatusKB(pid, field string) int {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb
		}
	}
	return 0
}

func mib(v float64) string {
	if v >= 1024 {
		return fmt.Sprintf("%.2f GiB", v/1024)
	}
	return fmt.Sprintf("%.0f MiB", v)
}

func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
