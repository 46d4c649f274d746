package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/sources/core"
	"github.com/prowl-siem/prowl/internal/sources/sourcestest"
)

type watchEnv struct {
	t     *testing.T
	dir   string
	clock *sourcestest.Clock
	sink  *sourcestest.Recorder
	state *sourcestest.State
}

func newWatchEnv(t *testing.T) *watchEnv {
	return &watchEnv{t: t, dir: t.TempDir(), clock: sourcestest.NewClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)),
		sink: sourcestest.NewRecorder(), state: sourcestest.NewState()}
}

func (e *watchEnv) start(pattern string) (stop func()) {
	e.t.Helper()
	w, err := NewWatcher("dir", "Dir", WatchConfig{Dir: e.dir, Pattern: pattern, LogType: "T", PollInterval: time.Second,
		Settle: 10 * time.Second, Clock: e.clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, e.sink, e.state) }()
	return func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			e.t.Errorf("Run = %v", err)
		}
	}
}

func (e *watchEnv) write(name, data string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, name), []byte(data), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *watchEnv) append(name, data string) {
	e.t.Helper()
	f, err := os.OpenFile(filepath.Join(e.dir, name), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	f.WriteString(data)
	f.Close()
}

func (e *watchEnv) wait(n int) {
	e.t.Helper()
	if err := e.sink.WaitFor(n, 10*time.Second); err != nil {
		e.t.Fatal(err)
	}
}

// settle lets enough fake time pass for the watcher to see files as idle
// and poll a few more times.
func (e *watchEnv) settle() {
	e.t.Helper()
	polls := func() int { return e.state.Health("dir").Polls }
	p := polls()
	deadline := time.Now().Add(10 * time.Second)
	for polls() < p+15 {
		if time.Now().After(deadline) {
			e.t.Fatal("watcher is not polling")
		}
		time.Sleep(time.Millisecond)
	}
}

func (e *watchEnv) got() string {
	var s []string
	for _, r := range e.sink.Records() {
		s = append(s, string(r))
	}
	return strings.Join(s, " ")
}

func TestWatcherNewAndAppendedLines(t *testing.T) {
	e := newWatchEnv(t)
	e.write("a.ndjson", "{\"n\":1}\n{\"n\":2}\n")
	e.write(".hidden.ndjson", "{\"n\":99}\n")
	e.write("skip.txt", "{\"n\":98}\n")
	stop := e.start("*.ndjson")
	e.wait(2)
	e.append("a.ndjson", "{\"n\":3}\n{\"n\":")
	e.wait(3)
	e.settle() // the partial line is not taken while the file changes...
	if e.sink.Len() != 4 {
		// ...but after Settle without change it is.
		t.Fatalf("got %s", e.got())
	}
	if got := e.got(); got != `{"n":1} {"n":2} {"n":3} {"n":` {
		t.Fatalf("got %s", got)
	}
	for _, b := range e.sink.Batches() {
		if b.SourceID != "dir" || b.SourceLabel != "Dir" || b.LogType != "T" {
			t.Fatalf("batch %+v", b)
		}
	}
	stop()
	if h := e.state.Health("dir"); h.Events != 4 {
		t.Fatalf("health %+v", h)
	}
}

func TestWatcherWaitsForPartialLine(t *testing.T) {
	e := newWatchEnv(t)
	e.write("a.ndjson", "{\"n\":1}\n{\"n\":")
	stop := e.start("*")
	e.wait(1)
	// Complete the line before Settle passes: one record, not two halves.
	e.append("a.ndjson", "2}\n")
	e.wait(2)
	e.settle()
	stop()
	if got := e.got(); got != `{"n":1} {"n":2}` {
		t.Fatalf("got %s", got)
	}
}

func TestWatcherRestartDoesNotReingest(t *testing.T) {
	e := newWatchEnv(t)
	e.write("a.ndjson", string(lines(0, 1500)))
	e.write("b.json", `[{"n":"b1"},{"n":"b2"}]`)
	stop := e.start("*")
	e.wait(1502)
	stop()
	e.append("a.ndjson", "{\"n\":\"new\"}\n")
	stop = e.start("*")
	e.wait(1503)
	e.settle()
	stop()
	if n := e.sink.Len(); n != 1503 {
		t.Fatalf("%d records after restart, want 1503", n)
	}
	var cp watchCheckpoint
	raw, _ := e.state.GetCheckpoint(context.Background(), "dir")
	if err := json.Unmarshal(raw, &cp); err != nil {
		t.Fatal(err)
	}
	if a := cp.Files["a.ndjson"]; a == nil || a.Line != 1501 || a.FP == "" {
		t.Fatalf("checkpoint %s", raw)
	}
	if b := cp.Files["b.json"]; b == nil || !b.Done || b.Offset != 2 {
		t.Fatalf("checkpoint %s", raw)
	}
}

func TestWatcherGzipAndArrayWaitUntilSettled(t *testing.T) {
	e := newWatchEnv(t)
	stop := e.start("*")
	e.settle()
	e.write("c.ndjson.gz", string(gzipped([]byte("{\"n\":1}\n{\"n\":2}\n"))))
	e.write("d.json", "[{\"n\":3},\n{\"n\":4}]")
	e.wait(4)
	e.settle()
	stop()
	if n := e.sink.Len(); n != 4 {
		t.Fatalf("%d records: %s", n, e.got())
	}
}

func TestWatcherRotationAndTruncation(t *testing.T) {
	e := newWatchEnv(t)
	e.write("app.log", "{\"n\":1}\n{\"n\":2}\n")
	stop := e.start("app.log*")
	e.wait(2)
	// Rotate by rename; a new file takes the name.
	if err := os.Rename(filepath.Join(e.dir, "app.log"), filepath.Join(e.dir, "app.log.1")); err != nil {
		t.Fatal(err)
	}
	e.append("app.log.1", "{\"n\":3}\n")
	e.write("app.log", "{\"n\":4}\n")
	e.wait(4)
	e.settle()
	if got := e.got(); !strings.Contains(got, `{"n":3}`) || !strings.Contains(got, `{"n":4}`) || e.sink.Len() != 4 {
		t.Fatalf("after rotation: %s", got)
	}
	// Truncate and rewrite in place (copytruncate).
	e.write("app.log.1", "{\"n\":5}\n")
	e.wait(5)
	e.settle()
	stop()
	if e.sink.Len() != 5 {
		t.Fatalf("after truncation: %s", e.got())
	}
}

func TestWatcherSinkFailureKeepsOffset(t *testing.T) {
	e := newWatchEnv(t)
	e.write("a.ndjson", string(lines(0, 10)))
	e.sink.FailNext(3, nil)
	stop := e.start("*")
	e.wait(10)
	e.settle()
	stop()
	if e.sink.Len() != 10 || e.sink.Attempts() != 4 {
		t.Fatalf("records %d attempts %d", e.sink.Len(), e.sink.Attempts())
	}
	h := e.state.Health("dir")
	if len(h.Errors) == 0 || !strings.Contains(h.Errors[0], "a.ndjson: delivering records") || h.LastError != "" {
		t.Fatalf("health %+v", h)
	}
}

func TestWatcherBrokenArrayReportedOnce(t *testing.T) {
	e := newWatchEnv(t)
	e.write("bad.json", "[{\"n\":1},\n{\"n\":2}\n{\"n\":3}]")
	stop := e.start("*")
	e.wait(2)
	e.settle()
	attempts := e.sink.Attempts()
	e.settle()
	if e.sink.Attempts() != attempts {
		t.Fatal("a broken file is re-read without having changed")
	}
	h := e.state.Health("dir")
	if len(h.Errors) != 1 || !strings.HasPrefix(h.LastError, "bad.json: line 3, column 1: expected , or ]") {
		t.Fatalf("health %+v", h)
	}
	// Fixing the file (a rewrite) reads it again from the start.
	e.write("bad.json", "[{\"n\":1},\n{\"n\":2},\n{\"n\":3}]")
	e.wait(5)
	e.settle()
	stop()
	if got := e.got(); got != `{"n":1} {"n":2} {"n":1} {"n":2} {"n":3}` {
		t.Fatalf("got %s", got)
	}
	if h := e.state.Health("dir"); h.LastError != "" {
		t.Fatalf("error not cleared: %+v", h)
	}
}

func TestWatcherSpec(t *testing.T) {
	c, err := Spec.Parse(json.RawMessage(fmt.Sprintf(`{"dir":%q,"settle":"0s"}`, t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	src, err := Spec.New(core.Instance{ID: "f", LogTypes: []string{"X.Y"}}, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := src.(*Watcher)
	if w.cfg.LogType != "X.Y" || w.cfg.Settle != 0 || w.cfg.Pattern != "*" || w.cfg.PollInterval != 5*time.Second {
		t.Fatalf("cfg %+v", w.cfg)
	}
	for cfg, want := range map[string]string{
		`{}`:                               "dir: is required",
		`{"dir":"rel/path"}`:               "must be an absolute path",
		`{"dir":"/x","pattern":"[a"}`:      "not a valid glob",
		`{"dir":"/x","poll_interval":0.5}`: "below the minimum",
	} {
		if _, err := Spec.Parse(json.RawMessage(cfg)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", cfg, err, want)
		}
	}
}
