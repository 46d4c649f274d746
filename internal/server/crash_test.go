package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/destinations"
	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/oktasim"
	"github.com/prowl-siem/prowl/internal/pipeline"
	"github.com/prowl-siem/prowl/internal/store"
	"github.com/prowl-siem/prowl/internal/wal"
)

// TestCrashRecoveryExactlyOnce kills `prowl up` with SIGKILL at random
// moments while it reads a simulated Okta org and runs the bundled Okta
// pack, restarts it on the same data directory, and finally lets it finish.
// Every event the org served must be in the event log exactly once, and the
// alerts must be exactly those of one uninterrupted run over the same
// events: same (rule, dedup) keys, same event counts, same stored events.
func TestCrashRecoveryExactlyOnce(t *testing.T) {
	bin := buildProwl(t)

	const (
		n        = 3000
		token    = "00crashTestT0kenForTheSimulator"
		sourceID = "okta-crash"
		pageSize = 50 // many small pages: many moments to be killed in
		deadline = 90 * time.Second
	)
	// The org's log: generated traffic with attacks, published over five
	// minutes that ended a few minutes ago.
	probe := &simProbe{sim: oktasim.New(oktasim.Options{Token: token, RateLimit: -1})}
	ts := httptest.NewServer(probe)
	defer ts.Close()
	want := map[string]bool{}
	opts := gen.OktaOptions{Count: n, Seed: 20240501, Start: time.Now().UTC().Add(-10 * time.Minute), Spacing: 100 * time.Millisecond,
		Attacks: []string{"brute_force", "password_spray"}}
	err := gen.OktaEvents(opts, func(e gen.Event) error {
		id, err := uuidOf(e.JSON)
		if err != nil {
			return err
		}
		if want[id] {
			return fmt.Errorf("the generator produced uuid %s twice", id)
		}
		want[id] = true
		return probe.sim.Add(e.JSON)
	})
	if err != nil {
		t.Fatal(err)
	}

	// The alerts go to a webhook; each data directory has its own path.
	hooks := &hookLog{got: map[string]map[string]int{}}
	receiver := httptest.NewServer(hooks)
	defer receiver.Close()

	onboard := func(dataDir, hookPath string) {
		t.Helper()
		st, err := store.Open(filepath.Join(dataDir, "prowl.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		cfg, _ := json.Marshal(map[string]any{"base_url": ts.URL, "poll_interval": "5s", "limit": pageSize})
		ctx := context.Background()
		if err := st.PutSource(ctx, store.SourceRecord{ID: sourceID, Label: "Okta (simulated)", Type: "okta",
			LogTypes: []string{"Okta.SystemLog"}, Config: cfg, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutSecret(ctx, sourceID, "api_token", []byte(token)); err != nil {
			t.Fatal(err)
		}
		settings, _ := json.Marshal(map[string]string{"url": receiver.URL + hookPath})
		if err := st.PutDestination(ctx, destinations.Config{ID: "soar", Name: "SOAR", Type: "webhook", Settings: settings, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	logDir := t.TempDir()
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, logDir)
		}
	})

	// The reference: one run that is never interrupted.
	refDir := t.TempDir()
	onboard(refDir, "/reference")
	began := time.Now()
	probe.reset()
	ref := startProwl(t, bin, refDir, filepath.Join(logDir, "reference.log"))
	refUp := ref.waitUp(t, deadline)
	refStart := time.Now()
	finish(t, ref, probe, deadline)
	refSpan := time.Since(refStart)
	refHealth := ref.lastHealth
	hooks.await(t, "/reference", refDir, deadline)
	ref.stop(t, deadline)
	t.Logf("reference run: up after %s, all %d events processed %s later", refUp.Sub(began).Round(time.Millisecond), n, refSpan.Round(time.Millisecond))
	if len(refHealth.Sources) != 1 || refHealth.Sources[0].Events != n {
		t.Errorf("health after an uninterrupted run: sources %+v, want %s with %d events", refHealth.Sources, sourceID, n)
	}
	refAlerts := readAlerts(t, refDir)
	// Without a crash every alert is delivered exactly once.
	for key, a := range refAlerts {
		if n := hooks.count("/reference", a.ID); n != 1 || a.Deliveries != 1 {
			t.Errorf("uninterrupted run: alert %s (%s %q) delivered %d times with %d delivery records, want 1 and 1",
				a.ID, key.RuleID, key.Dedup, n, a.Deliveries)
		}
	}
	refEvents := checkLog(t, refDir, want)
	// The attacks in the feed raise the alerts of their scenarios.
	raised := map[string]bool{}
	for k := range refAlerts {
		raised[k.RuleID] = true
	}
	for _, sc := range gen.OktaScenarios() {
		if slices.Contains(opts.Attacks, sc.Name) {
			for _, id := range sc.RuleIDs {
				if !raised[id] {
					t.Errorf("the uninterrupted run raised no %s alert for the %s attack", id, sc.Name)
				}
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The crash runs. The i-th of eight runs is killed (SIGKILL) a random
	// moment (0-8ms) after the org served a randomly chosen page of the
	// i-th eighth of the log, while the source writes that page ahead and
	// checkpoints it and the engine evaluates and commits what came before;
	// a run that drains the org first is killed a random moment later, in
	// the engine's catch-up. Then a last run finishes. PROWL_CRASH_SEED
	// replays a schedule.
	seed := time.Now().UnixNano()
	if v := os.Getenv("PROWL_CRASH_SEED"); v != "" {
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("PROWL_CRASH_SEED: %v", err)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	t.Logf("kill schedule seed %d", seed)
	dir := t.TempDir()
	onboard(dir, "/crash")
	probe.mu.Lock()
	probe.pages = 0 // count the crash runs' pages only
	probe.mu.Unlock()
	const kills = 8
	pages := (n + pageSize - 1) / pageSize
	// One more run, at a random place in the sequence, is killed while it
	// starts: opening the store and the log, reconciling checkpoints,
	// starting Python workers and the first requests.
	startupKill := rng.IntN(kills)
	run := 0
	for i := range kills {
		if i == startupKill {
			run++
			probe.reset()
			p := startProwl(t, bin, dir, filepath.Join(logDir, fmt.Sprintf("run-%d.log", run)))
			delay := time.Duration(rng.Int64N(int64(refUp.Sub(began)) + 1))
			select {
			case <-time.After(delay):
			case <-p.exited:
				t.Fatalf("run %d: prowl exited on its own: %v", run, p.waitErr)
			}
			p.kill(t)
			t.Logf("run %d: killed %s after it was started (%d requests)", run, delay.Round(time.Microsecond), probe.requests())
		}
		run++
		lo, hi := i*pages/kills+1, (i+1)*pages/kills
		at := lo + rng.IntN(hi-lo+1)
		probe.reset()
		hit, drained := probe.arm(at)
		p := startProwl(t, bin, dir, filepath.Join(logDir, fmt.Sprintf("run-%d.log", run)))
		var why string
		select {
		case <-hit:
			why = fmt.Sprintf("page %d served", at)
			time.Sleep(time.Duration(rng.IntN(8000)) * time.Microsecond)
		case <-drained:
			why = "org drained"
			time.Sleep(time.Duration(rng.Int64N(int64(refSpan) + 1)))
		case <-p.exited:
			t.Fatalf("run %d: prowl exited on its own: %v", run, p.waitErr)
		case <-time.After(deadline):
			t.Fatalf("run %d: the org did not serve page %d within %s", run, at, deadline)
		}
		p.kill(t)
		t.Logf("run %d: killed after %s (%d requests this run)", run, why, probe.requests())
	}
	probe.reset()
	last := startProwl(t, bin, dir, filepath.Join(logDir, "final.log"))
	last.waitUp(t, deadline)
	finish(t, last, probe, deadline)
	hooks.await(t, "/crash", dir, deadline)
	last.stop(t, deadline)

	got := readAlerts(t, dir)
	// Delivery is at least once: an alert may be sent again when a kill
	// comes between the webhook's answer and the record of it, but every
	// alert is delivered.
	resent := 0
	for key, a := range got {
		n := hooks.count("/crash", a.ID)
		switch {
		case n == 0 || a.Deliveries == 0 || a.Undelivered > 0:
			t.Errorf("alert %s (%s %q) delivered %d times, %d delivery records of which %d not delivered",
				a.ID, key.RuleID, key.Dedup, n, a.Deliveries, a.Undelivered)
		case n > 1 || a.Deliveries > 1:
			resent++
			t.Logf("alert %s (%s %q) delivered %d times, %d delivery records (at least once)", a.ID, key.RuleID, key.Dedup, n, a.Deliveries)
		}
	}
	gotEvents := checkLog(t, dir, want)
	checkLake(t, dir, len(want))
	compareAlerts(t, refAlerts, got)
	compareLogOrder(t, refEvents, gotEvents)
	if !t.Failed() {
		t.Logf("after %d kills: %d events exactly once, %d alerts identical to the uninterrupted run's, all delivered (%d more than once); total %s",
			run, n, len(got), resent, time.Since(began).Round(time.Millisecond))
	}
}

// buildProwl builds the prowl binary from this module.
func buildProwl(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(t.TempDir(), "prowl")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/prowl")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/prowl: %v\n%s", err, out)
	}
	return bin
}

// simProbe serves the simulated org and watches what it answers.
type simProbe struct {
	sim *oktasim.Server

	mu      sync.Mutex
	n       int  // requests since reset
	drained bool // an empty page was served since reset
	pages   int  // non-empty pages served, in all
	hitAt   int  // pages count that closes hit
	hit     chan struct{}
	dch     chan struct{} // closed when drained
}

func (p *simProbe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.sim.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if rec.Code != http.StatusOK {
		return
	}
	if string(bytes.TrimSpace(body)) == "[]" {
		if !p.drained && p.dch != nil {
			close(p.dch)
		}
		p.drained = true
		return
	}
	p.pages++
	if p.hit != nil && p.pages >= p.hitAt {
		close(p.hit)
		p.hit = nil
	}
}

func (p *simProbe) reset() {
	p.mu.Lock()
	p.n, p.drained, p.hit, p.dch = 0, false, nil, nil
	p.mu.Unlock()
}

// arm returns a channel closed once page number at (counting every
// non-empty page served since the probe was made) has been served, and one
// closed when an empty page is served.
func (p *simProbe) arm(at int) (hit, drained <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hitAt, p.hit, p.dch = at, make(chan struct{}), make(chan struct{})
	return p.hit, p.dch
}

func (p *simProbe) requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// caughtUp reports whether the org answered a poll with an empty page since
// reset: the source had acknowledged every earlier page, so every event is
// in the event log.
func (p *simProbe) caughtUp() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.drained
}

// hookLog is a webhook receiver that counts the alerts it gets, by path.
type hookLog struct {
	mu  sync.Mutex
	got map[string]map[string]int // path -> alert id -> requests
}

func (h *hookLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p destinations.Payload
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil || p.ID == "" {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	if h.got[r.URL.Path] == nil {
		h.got[r.URL.Path] = map[string]int{}
	}
	h.got[r.URL.Path][p.ID]++
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookLog) count(path, id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[path][id]
}

// await waits until path has received every alert of the running server
// on dataDir (read from its store, which SQLite lets another process read).
func (h *hookLog) await(t *testing.T, path, dataDir string, timeout time.Duration) {
	t.Helper()
	st, err := store.Open(filepath.Join(dataDir, "prowl.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eventually(t, timeout, "every alert to reach the webhook", func() (bool, string) {
		page, err := st.ListAlerts(context.Background(), alerts.Query{Limit: 1000})
		if err != nil {
			return false, err.Error()
		}
		missing := 0
		for _, a := range page.Alerts {
			if h.count(path, a.ID) == 0 {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d alerts not delivered", missing, len(page.Alerts))
	})
}

// prowlProcess is one `prowl up` child.
type prowlProcess struct {
	cmd        *exec.Cmd
	addr       chan string
	exited     chan struct{}
	waitErr    error
	api        string
	lastHealth healthView
}

func startProwl(t *testing.T, bin, dataDir, logPath string) *prowlProcess {
	t.Helper()
	cfgFile := filepath.Join(dataDir, "empty-prowl.yaml")
	if err := os.WriteFile(cfgFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "up", "--config", cfgFile, "--data-dir", dataDir, "--listen", "127.0.0.1:0",
		"--packs", "Prowl.Okta", "--python-workers", "1")
	cmd.Dir = dataDir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PROWL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout = logFile
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &prowlProcess{cmd: cmd, addr: make(chan string, 1), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if rest, ok := strings.CutPrefix(line, "prowl is up: API http://"); ok {
				addr, _, _ := strings.Cut(rest, " ")
				select {
				case p.addr <- addr:
				default:
				}
			}
		}
		io.Copy(logFile, stderr)
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *prowlProcess) waitUp(t *testing.T, timeout time.Duration) time.Time {
	t.Helper()
	select {
	case addr := <-p.addr:
		p.api = "http://" + addr
		return time.Now()
	case <-p.exited:
		t.Fatalf("prowl exited before it was up: %v", p.waitErr)
	case <-time.After(timeout):
		t.Fatalf("prowl was not up within %s", timeout)
	}
	return time.Time{}
}

// health reads the child's health; false if it cannot be read now.
func (p *prowlProcess) health() bool {
	var h healthView
	if err := getJSON(p.api, "/api/v1/health", &h); err != nil {
		return false
	}
	p.lastHealth = h
	return true
}

// watchUntil polls the child's health until t (for the kill report).
func (p *prowlProcess) watchUntil(t time.Time) {
	for {
		left := time.Until(t)
		if left <= 0 {
			return
		}
		p.health()
		time.Sleep(min(left, 50*time.Millisecond))
	}
}

func (p *prowlProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("prowl did not die within 30s of SIGKILL")
	}
}

// stop asks the child to shut down (SIGINT) and waits for a clean exit.
func (p *prowlProcess) stop(t *testing.T, timeout time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupt: %v", err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Fatalf("prowl exited with %v after SIGINT", p.waitErr)
		}
	case <-time.After(timeout):
		t.Fatalf("prowl did not stop within %s of SIGINT", timeout)
	}
}

// finish waits until the child has read the whole org and the engine has
// processed everything it wrote ahead.
func finish(t *testing.T, p *prowlProcess, probe *simProbe, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.exited:
			t.Fatalf("prowl exited unexpectedly: %v", p.waitErr)
		default:
		}
		// Health is read after the org was seen drained, so the lag covers
		// everything the source wrote ahead.
		drained := probe.caughtUp()
		if p.health() && drained && p.lastHealth.EngineLagRecords == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prowl did not finish within %s: org drained %v, last health %+v", timeout, drained, p.lastHealth)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alertKey identifies the dedup window of an alert, generation aside.
type alertKey struct{ Type, RuleID, Dedup string }

type alertSummary struct {
	ID         string
	EventCount int
	Events     []string // uuids of the matched events kept with the alert, sorted
	// Deliveries counts the alert's delivery records, Undelivered those
	// not delivered.
	Deliveries, Undelivered int
}

// readAlerts reads every alert of a stopped server's data directory. Two
// alerts with one key would be two windows (generations) of the same
// dedup, which a run shorter than every dedup period cannot produce.
func readAlerts(t *testing.T, dataDir string) map[alertKey]alertSummary {
	t.Helper()
	st, err := store.Open(filepath.Join(dataDir, "prowl.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	out := map[alertKey]alertSummary{}
	for offset := 0; ; {
		page, err := st.ListAlerts(ctx, alerts.Query{Limit: 1000, Offset: offset, Sort: "created_at"})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Alerts {
			key := alertKey{a.Type, a.RuleID, a.Dedup}
			if prev, dup := out[key]; dup {
				t.Errorf("%s: two alerts for %s dedup %q: %s and %s", dataDir, a.RuleID, a.Dedup, prev.ID, a.ID)
			}
			evs, err := st.AlertEvents(ctx, a.ID, 1000)
			if err != nil {
				t.Fatal(err)
			}
			s := alertSummary{ID: a.ID, EventCount: a.EventCount}
			ds, err := st.ListDeliveries(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				s.Deliveries++
				if d.Status != destinations.StatusDelivered {
					s.Undelivered++
				}
			}
			for _, ev := range evs {
				id, err := uuidOf(ev.Event)
				if err != nil {
					t.Fatalf("alert %s: %v", a.ID, err)
				}
				s.Events = append(s.Events, id)
			}
			sort.Strings(s.Events)
			out[key] = s
		}
		offset += len(page.Alerts)
		if len(page.Alerts) == 0 || offset >= page.Total {
			return out
		}
	}
}

// checkLake queries the data directory's lake: every event is in
// okta_systemlog exactly once (as many rows as distinct uuids as served).
func checkLake(t *testing.T, dataDir string, want int) {
	t.Helper()
	lk, err := lake.Open(lake.Options{Dir: filepath.Join(dataDir, "lake")})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	q, err := lake.NewQuerier(lk.Snapshot, lake.QueryOptions{Dir: filepath.Join(dataDir, "lake")})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	res, err := q.Run(context.Background(), lake.Request{SQL: "SELECT count(*) AS n, count(DISTINCT uuid) AS d FROM okta_systemlog"})
	if err != nil {
		t.Fatal(err)
	}
	n, d := fmt.Sprint(res.Rows[0][0]), fmt.Sprint(res.Rows[0][1])
	if n != fmt.Sprint(want) || d != fmt.Sprint(want) {
		t.Errorf("the lake holds %s rows of %s distinct events; want %d of each", n, d, want)
	}
}

// checkLog scans the data directory's event log: every uuid of want must be
// there exactly once, and nothing else. It returns the log's uuids in order.
func checkLog(t *testing.T, dataDir string, want map[string]bool) []string {
	t.Helper()
	l, err := wal.Open(wal.Options{Dir: filepath.Join(dataDir, "wal")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.First() != 0 {
		t.Fatalf("the event log was truncated to offset %d; the test needs all of it", l.First())
	}
	seen := map[string]int{}
	var order []string
	err = pipeline.Scan(context.Background(), l, l.First(), func(ev logtypes.Event) error {
		if ev.LogType != "Okta.SystemLog" {
			return fmt.Errorf("event of log type %s", ev.LogType)
		}
		id, err := uuidOf(ev.JSON)
		if err != nil {
			return err
		}
		seen[id]++
		order = append(order, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var missing, dups, unknown []string
	for id := range want {
		switch seen[id] {
		case 0:
			missing = append(missing, id)
		case 1:
		default:
			dups = append(dups, fmt.Sprintf("%s×%d", id, seen[id]))
		}
	}
	for id := range seen {
		if !want[id] {
			unknown = append(unknown, id)
		}
	}
	if len(missing)+len(dups)+len(unknown) > 0 {
		t.Errorf("%s: the event log holds %d events for %d served: %d missing %q, %d duplicated %q, %d unknown %q",
			dataDir, len(order), len(want), len(missing), firstFew(missing), len(dups), firstFew(dups), len(unknown), firstFew(unknown))
	}
	return order
}

func firstFew(list []string) []string {
	slices.Sort(list)
	return list[:min(len(list), 5)]
}

func compareAlerts(t *testing.T, want, got map[alertKey]alertSummary) {
	t.Helper()
	keys := map[alertKey]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	sorted := make([]alertKey, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, func(a, b alertKey) int { return strings.Compare(a.RuleID+"\x00"+a.Dedup, b.RuleID+"\x00"+b.Dedup) })
	for _, k := range sorted {
		w, inWant := want[k]
		g, inGot := got[k]
		switch {
		case !inGot:
			t.Errorf("missing alert %s %s dedup %q (%d events)", k.Type, k.RuleID, k.Dedup, w.EventCount)
		case !inWant:
			t.Errorf("extra alert %s %s dedup %q (%d events)", k.Type, k.RuleID, k.Dedup, g.EventCount)
		case g.ID != w.ID || g.EventCount != w.EventCount:
			t.Errorf("alert %s dedup %q: id %s with %d events, want %s with %d", k.RuleID, k.Dedup, g.ID, g.EventCount, w.ID, w.EventCount)
		case !slices.Equal(g.Events, w.Events):
			t.Errorf("alert %s dedup %q: %d stored events, want %d (the same uuids)", k.RuleID, k.Dedup, len(g.Events), len(w.Events))
		}
	}
}

// compareLogOrder checks that the crash runs wrote the log in the org's
// order, like the uninterrupted run.
func compareLogOrder(t *testing.T, want, got []string) {
	t.Helper()
	if !slices.Equal(want, got) {
		i := 0
		for i < min(len(want), len(got)) && want[i] == got[i] {
			i++
		}
		t.Errorf("the event log's order differs from the uninterrupted run's from position %d", i)
	}
}

func dumpLogs(t *testing.T, dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if len(b) > 20000 {
			b = b[len(b)-20000:]
		}
		t.Logf("=== %s (tail) ===\n%s", e.Name(), b)
	}
}
