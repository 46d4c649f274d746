package okta

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/oktasim"
)

// statusRecorder counts the simulator's responses by status.
type statusRecorder struct {
	mu     sync.Mutex
	counts map[int]int
	next   http.Handler
}

type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &codeWriter{ResponseWriter: w, code: 200}
	s.next.ServeHTTP(cw, r)
	s.mu.Lock()
	s.counts[cw.code]++
	s.mu.Unlock()
}

func (s *statusRecorder) count(code int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[code]
}

func simEvent(i int, published time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"uuid": fmt.Sprintf("5b1e7c2a-f91b-11ef-9a3c-%012d", i), "published": published.UTC().Format("2006-01-02T15:04:05.000Z"),
		"eventType": "user.session.start", "version": "0", "severity": "INFO", "displayMessage": "User login to Okta",
		"actor":   map[string]any{"id": "00u1", "type": "User", "alternateId": "jane.doe@example.com"},
		"outcome": map[string]any{"result": "SUCCESS"},
	})
	return b
}

// TestSimulatorExactlyOnceAcrossRestart is the Okta source's acceptance
// test: against the Okta simulator, which enforces a rate limit, commits
// some events late and fails one request with a 500, every event is
// delivered exactly once although the source is stopped mid-stream and
// restarted with the same state.
func TestSimulatorExactlyOnceAcrossRestart(t *testing.T) {
	h := newHarness(t)
	sim := oktasim.New(oktasim.Options{Token: testToken, RateLimit: 6, Now: h.clock.Now})
	rec := &statusRecorder{counts: map[int]int{}, next: sim}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	h.base = srv.URL

	var want []string
	add := func(from, to int, published func(i int) time.Time) {
		t.Helper()
		var evs [][]byte
		for i := from; i < to; i++ {
			evs = append(evs, simEvent(i, published(i)))
			want = append(want, fmt.Sprintf("5b1e7c2a-f91b-11ef-9a3c-%012d", i))
		}
		if err := sim.Add(evs...); err != nil {
			t.Fatal(err)
		}
	}
	recent := func(i int) time.Time { return t0.Add(-time.Hour + time.Duration(i)*time.Second) }
	late := func(i int) time.Time { return t0.Add(-3 * time.Hour) } // committed now, published long ago

	cfg := h.config()
	cfg.Limit = 40
	add(0, 300, recent)
	stop := h.run(cfg)
	if err := h.sink.WaitFor(120, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	add(300, 320, late)
	sim.FailNext(1, http.StatusInternalServerError)
	if err := h.sink.WaitFor(200, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stop() // mid-stream
	if h.sink.Len() >= 320 {
		t.Fatalf("source finished before it was stopped; the test proves nothing")
	}

	if n := rec.count(429); n != 0 {
		t.Fatalf("the source ran into the rate limit %d times: it should wait for the reset", n)
	}

	// While it is down more events arrive, late ones among them.
	add(320, 400, recent)
	add(400, 410, late)
	stop = h.run(cfg)
	if err := h.sink.WaitFor(410, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	add(410, 450, recent)
	if err := h.sink.WaitFor(450, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return sim.Requests() > 0 && h.state.Health("okta-test").Polls > 25 })
	stop()

	// Every event exactly once; persistence order is delivery order.
	h.exactlyOnce(want)
	h.noTokenLeak()
	if n := rec.count(500); n != 1 {
		t.Fatalf("%d responses were 500, want the one injected", n)
	}
	// A restarted source does not know the budget its predecessor used:
	// it may meet one 429, after which it waits for the reset.
	if n := rec.count(429); n > 1 {
		t.Fatalf("the source ran into the rate limit %d times: it should wait for the reset", n)
	}
	var waited bool
	for _, d := range h.clock.Sleeps() {
		if d > 30*time.Second {
			waited = true
		}
	}
	if !waited {
		t.Fatal("never waited for a rate-limit reset")
	}
	if hl := h.state.Health("okta-test"); hl.Events != 450 || hl.LastError != "" {
		t.Fatalf("health %+v", hl)
	}
}

// TestSimulatorAuthErrors checks that the simulator's error bodies end up,
// summarised and without the token, in the source's health.
func TestSimulatorAuthErrors(t *testing.T) {
	h := newHarness(t)
	sim, base := oktasim.NewTestServer(t, oktasim.Options{Token: testToken, Now: h.clock.Now})
	h.base = base
	sim.Add(simEvent(1, t0.Add(-time.Minute)))
	cfg := h.config()
	cfg.Token = "not-the-" + testToken
	stop := h.run(cfg)
	waitUntil(t, func() bool { return len(h.state.Health("okta-test").Errors) >= 2 })
	stop()
	if e := h.state.Health("okta-test").Errors[0]; !strings.HasPrefix(e, "Okta API: HTTP 401 E0000011: Invalid token provided (retrying in ") {
		t.Fatalf("error %q", e)
	}
	h.noTokenLeak()

	// OAuth access tokens go as Bearer.
	h2 := newHarness(t)
	sim2, base2 := oktasim.NewTestServer(t, oktasim.Options{Token: testToken, Now: h2.clock.Now})
	h2.base = base2
	sim2.Add(simEvent(2, t0.Add(-time.Minute)))
	cfg = h2.config()
	cfg.AuthScheme = "Bearer"
	stop = h2.run(cfg)
	if err := h2.sink.WaitFor(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
}
