package pyrt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/detect"
	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/prefilter"
	"github.com/prowl-siem/prowl/internal/pyrt"
)

// reachingItems are the events of a generated Okta corpus (every attack
// scenario injected, as prowl bench makes it) that the bundled pack's
// static prefilters send to Python, each with the rules they admit: the
// work the Python workers do in production.
var reaching struct {
	once   sync.Once
	prog   *pyrt.Program
	items  []pyrt.Item
	events int
	err    error
}

func reachingItems(b *testing.B, events int) (*pyrt.Program, []pyrt.Item) {
	b.Helper()
	reaching.once.Do(func() {
		repo, problems, err := analysis.LoadLenient([]string{filepath.Join("..", "..", "packs", "okta")}, analysis.Options{})
		if err != nil || len(problems) > 0 {
			b.Fatalf("loading the pack: %v %v", err, problems)
		}
		set, ps := detect.Compile(repo, repo.Detections)
		if len(ps) > 0 {
			b.Fatalf("compile: %v", ps)
		}
		// Prefilters come from a worker's analysis of the rules at load.
		pool, err := pyrt.New(pyrt.Config{Workers: 1, Prefilters: true}, set.Program)
		if err != nil {
			reaching.err = err
			return
		}
		conds := map[int]prefilter.Cond{}
		for r, raw := range pool.Prefilters() {
			if c, err := prefilter.Parse(raw); err == nil {
				conds[r] = c
			}
		}
		pool.Close()
		filters := prefilter.Build(conds)
		var rules []int
		for i := range set.Program.Detections {
			rules = append(rules, i)
		}
		var names []string
		for _, s := range gen.OktaScenarios() {
			names = append(names, s.Name)
		}
		norm := logtypes.NewRegistry().NewNormalizer()
		parseTime := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
		reaching.err = gen.Okta(gen.OktaOptions{Count: events, Seed: 1, Attacks: names}, func(raw []byte) error {
			ev, err := norm.Normalize("Okta.SystemLog", raw, logtypes.Meta{ParseTime: parseTime})
			if err != nil {
				return err
			}
			if admitted := filters.Candidates(ev.JSON, ev.Members, rules, nil); len(admitted) > 0 {
				reaching.items = append(reaching.items, pyrt.Item{Event: json.RawMessage(ev.JSON), LogType: ev.LogType, Rules: admitted})
			}
			return nil
		})
		reaching.prog = set.Program
		reaching.events = events
	})
	if reaching.err != nil {
		b.Fatal(reaching.err)
	}
	return reaching.prog, reaching.items
}

// BenchmarkPythonReachingEvents runs the events that reach Python through
// one worker, in production (batch) mode: us/event is the cost of one such
// event, mostly the worker's CPU (request decoding, the rules and the alert
// functions of matches, the reply).
func BenchmarkPythonReachingEvents(b *testing.B) {
	prog, items := reachingItems(b, 20000)
	pool, err := pyrt.New(pyrt.Config{Workers: 1, Output: nil}, prog)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	if _, err := pool.Run(ctx, pyrt.ModeBatch, items); err != nil { // warm up
		b.Fatal(err)
	}
	cpu := workersCPU()
	b.ResetTimer()
	for b.Loop() {
		if _, err := pool.Run(ctx, pyrt.ModeBatch, items); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N * len(items))
	b.ReportMetric(float64(b.Elapsed().Microseconds())/n, "us/event")
	if cpu >= 0 {
		b.ReportMetric(float64((workersCPU()-cpu).Microseconds())/n, "py-cpu-us/event")
	}
	b.ReportMetric(float64(len(items))/float64(reaching.events)*100, "%reaching")
}

// workersCPU is the CPU time (user and system) of this process's Python
// worker children so far, from /proc; -1 where that cannot be read.
func workersCPU() time.Duration {
	const ticks = 100 // USER_HZ
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	self := strconv.Itoa(os.Getpid())
	var total int64
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if !bytes.Contains(cmdline, []byte("prowl_worker.py")) {
			continue
		}
		// Fields after the command (which may hold spaces): state ppid ... utime(14) stime(15).
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 13 || f[1] != self {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		total += utime + stime
	}
	return time.Duration(total) * time.Second / ticks
}
