package okta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/sources/core"
	"github.com/prowl-siem/prowl/internal/sources/sourcestest"
)

const testToken = "00aBcD-test-token-XYZ987"

var t0 = time.Date(2025, 3, 4, 17, 0, 0, 0, time.UTC)

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	t     *testing.T
	clock *sourcestest.Clock
	sink  *sourcestest.Recorder
	state *sourcestest.State
	logs  *syncBuffer
	fake  *fakeOkta
	base  string
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, clock: sourcestest.NewClock(t0), sink: sourcestest.NewRecorder(),
		state: sourcestest.NewState(), logs: &syncBuffer{}}
	h.fake, h.base = newFakeOkta(t, testToken, h.clock.Now)
	return h
}

func (h *harness) config() Config {
	return Config{BaseURL: h.base, Token: testToken, PollInterval: time.Second, Limit: 100,
		Clock: h.clock, Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

// run starts the source and returns a stop function that waits for Run to
// return and checks it returned the context's error.
func (h *harness) run(cfg Config) (stop func()) {
	h.t.Helper()
	src, err := New("okta-test", "Okta test", cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, h.sink, h.state) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				h.t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			h.t.Fatal("Run did not stop")
		}
	}
}

func (h *harness) uuids() []string {
	var out []string
	for _, r := range h.sink.Records() {
		var m struct{ UUID string }
		if err := json.Unmarshal(r, &m); err != nil {
			h.t.Fatalf("record %q: %v", r, err)
		}
		out = append(out, m.UUID)
	}
	return out
}

// exactlyOnce checks the sink received want, each once, in order.
func (h *harness) exactlyOnce(want []string) {
	h.t.Helper()
	got := h.uuids()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		seen := map[string]int{}
		for _, u := range got {
			seen[u]++
		}
		for u, n := range seen {
			if n > 1 {
				h.t.Errorf("%s delivered %d times", u, n)
			}
		}
		h.t.Fatalf("got %d records, want %d (exactly once, in order)", len(got), len(want))
	}
}

func (h *harness) noTokenLeak() {
	h.t.Helper()
	if strings.Contains(h.logs.String(), testToken) {
		h.t.Error("token appears in the logs")
	}
	for _, e := range h.state.Health("okta-test").Errors {
		if strings.Contains(e, testToken) {
			h.t.Errorf("token appears in health error %q", e)
		}
	}
	cp, _ := h.state.GetCheckpoint(context.Background(), "okta-test")
	if bytes.Contains(cp, []byte(testToken)) {
		h.t.Error("token appears in the checkpoint")
	}
}

func TestNextLink(t *testing.T) {
	f := func(values []string, want string) {
		t.Helper()
		if got := nextLink(values); got != want {
			t.Errorf("nextLink(%q) = %q, want %q", values, got, want)
		}
	}
	self := `<https://acme.okta.com/api/v1/logs?limit=20>; rel="self"`
	next := `<https://acme.okta.com/api/v1/logs?limit=20&after=1627500044869_1>; rel="next"`
	want := "https://acme.okta.com/api/v1/logs?limit=20&after=1627500044869_1"
	f([]string{self, next}, want)                                     // Okta: two header lines
	f([]string{self + ", " + next}, want)                             // joined by a proxy
	f([]string{self + "," + next}, want)                              // joined without space
	f([]string{next + ", " + self}, want)                             // next first
	f([]string{self}, "")                                             // bounded query, last page
	f(nil, "")                                                        //
	f([]string{`<https://x/a?f=a,b>; rel=next`}, "https://x/a?f=a,b") // bare rel, comma in URL
	f([]string{`<https://x/p>; title="a"; REL="prev next"`}, "https://x/p")
	f([]string{`<https://x/p>; rel="nextish"`}, "")
	f([]string{`garbage <unterminated`}, "")
}

func TestRecentWindow(t *testing.T) {
	r := newRecent(3, []string{"a", "b"})
	r.add("c")
	r.add("b") // already there: no change
	r.add("d") // evicts a
	if r.has("a") || !r.has("b") || !r.has("d") {
		t.Fatalf("window = %v", r.list())
	}
	if got := strings.Join(r.list(), ","); got != "b,c,d" {
		t.Fatalf("list = %s", got)
	}
	r2 := newRecent(0, []string{"a"})
	if r2.has("a") {
		t.Fatal("disabled window remembers")
	}
}

func TestFollowsCursorAndCheckpoints(t *testing.T) {
	for _, joined := range []bool{false, true} {
		h := newHarness(t)
		h.fake.joined = joined
		want := h.fake.add(250, t0.Add(-time.Hour))
		stop := h.run(h.config())
		if err := h.sink.WaitFor(250, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		// Wait for the caught-up empty poll.
		waitUntil(t, func() bool { return len(h.fake.reqs()) >= 5 })
		stop()
		h.exactlyOnce(want)

		reqs := h.fake.reqs()
		q := reqs[0].URL.Query()
		if q.Get("since") != "2025-03-03T17:00:00.000Z" || q.Get("sortOrder") != "ASCENDING" || q.Get("limit") != "100" || q.Has("after") {
			t.Fatalf("first request %s", reqs[0].URL)
		}
		for i, r := range reqs[1:4] {
			if r.URL.Query().Get("after") != []string{"100", "200", "250"}[i] || r.URL.Query().Has("since") {
				t.Fatalf("request %d: %s", i+1, r.URL)
			}
		}
		for _, r := range reqs {
			if r.Header.Get("Authorization") != "SSWS "+testToken || r.Header.Get("Accept") != "application/json" {
				t.Fatalf("headers %v", r.Header)
			}
		}
		var cp checkpoint
		raw, _ := h.state.GetCheckpoint(context.Background(), "okta-test")
		if err := json.Unmarshal(raw, &cp); err != nil || cp.Next != "/api/v1/logs?limit=100&after=250" || len(cp.Seen) != 250 {
			t.Fatalf("checkpoint %s", raw)
		}
		for _, b := range h.sink.Batches() {
			if b.LogType != LogType || b.SourceID != "okta-test" || b.SourceLabel != "Okta test" {
				t.Fatalf("batch %+v", b)
			}
		}
		hl := h.state.Health("okta-test")
		if hl.Events != 250 || hl.Bytes == 0 || !hl.LastEventAt.Equal(t0.Add(-time.Hour)) {
			t.Fatalf("health %+v", hl)
		}
		h.noTokenLeak()
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCheckpointMovesOnlyAfterAck(t *testing.T) {
	h := newHarness(t)
	want := h.fake.add(150, t0.Add(-time.Hour))
	h.sink.FailNext(3, nil)
	stop := h.run(h.config())
	if err := h.sink.WaitFor(150, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	h.exactlyOnce(want)
	if a := h.sink.Attempts(); a < 5 {
		t.Fatalf("attempts = %d, want the 3 failures retried", a)
	}
	if errs := h.state.Health("okta-test").Errors; len(errs) != 3 || !strings.Contains(errs[0], "injected sink failure") {
		t.Fatalf("health errors %q", errs)
	}
	if h.state.Health("okta-test").LastError != "" {
		t.Fatal("error not cleared after recovery")
	}
}

func TestStopWhileSinkFailsKeepsCheckpoint(t *testing.T) {
	h := newHarness(t)
	want := h.fake.add(50, t0.Add(-time.Hour))
	h.sink.FailNext(1000, nil)
	stop := h.run(h.config())
	waitUntil(t, func() bool { return h.sink.Attempts() >= 3 })
	stop()
	raw, _ := h.state.GetCheckpoint(context.Background(), "okta-test")
	var cp checkpoint
	json.Unmarshal(raw, &cp)
	if !strings.Contains(cp.Next, "since=") {
		t.Fatalf("checkpoint moved without an acknowledgement: %s", raw)
	}
	// Restart with a healthy sink: everything arrives.
	h.sink = sourcestest.NewRecorder()
	stop = h.run(h.config())
	if err := h.sink.WaitFor(50, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	h.exactlyOnce(want)
}

func TestRestartResumesExactlyOnce(t *testing.T) {
	h := newHarness(t)
	want := h.fake.add(1000, t0.Add(-2*time.Hour))
	stop := h.run(h.config())
	if err := h.sink.WaitFor(300, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	if n := h.sink.Len(); n >= 1000 {
		t.Skipf("source finished before stop (%d)", n)
	}
	// New events arrive while the source is down, some late.
	want = append(want, h.fake.add(20, t0.Add(-3*time.Hour))...)
	stop = h.run(h.config())
	if err := h.sink.WaitFor(len(want), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	h.exactlyOnce(want)
}

func TestDedupByUUID(t *testing.T) {
	h := newHarness(t)
	h.fake.add(30, t0.Add(-time.Hour))
	// Okta serving an event again, and an event without uuid or not an object.
	h.fake.addRaw(`{"uuid":"uuid-00003","published":"2025-03-04T16:00:00.000Z"}`)
	h.fake.addRaw(`{"published":"2025-03-04T16:00:00.000Z"}`)
	h.fake.addRaw(`"not an object"`)
	stop := h.run(h.config())
	if err := h.sink.WaitFor(32, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return len(h.fake.reqs()) >= 3 })
	stop()
	recs := h.sink.Records()
	if len(recs) != 32 {
		t.Fatalf("got %d records, want 30 + 2 without uuid", len(recs))
	}
	if string(recs[31]) != `"not an object"` {
		t.Fatalf("last record %s", recs[31])
	}
}

func TestDedupAcrossRestartWithoutNextLink(t *testing.T) {
	h := newHarness(t)
	h.fake.noNext = true
	want := h.fake.add(40, t0.Add(-time.Hour))
	stop := h.run(h.config())
	if err := h.sink.WaitFor(40, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return len(h.fake.reqs()) >= 3 })
	stop()
	// The fallback cursor re-reads events at the newest published time;
	// the remembered uuids (persisted) drop them, across a restart too.
	stop = h.run(h.config())
	waitUntil(t, func() bool { return len(h.fake.reqs()) >= 6 })
	stop()
	h.exactlyOnce(want)
}

func TestRateLimitHeadersAndRetryAfter429(t *testing.T) {
	h := newHarness(t)
	h.fake.limit = 3
	want := h.fake.add(1000, t0.Add(-time.Hour))
	stop := h.run(h.config())
	if err := h.sink.WaitFor(1000, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	h.exactlyOnce(want)
	// 11 pages at 3 per minute: the source waited out the windows instead
	// of hammering. Every request was within its window's budget.
	reqs := h.fake.reqs()
	var long int
	for _, d := range h.clock.Sleeps() {
		if d >= 30*time.Second {
			long++
		}
	}
	if long < 3 {
		t.Fatalf("sleeps %v: want waits until the rate limit reset", h.clock.Sleeps())
	}
	if len(reqs) > 14 {
		t.Fatalf("%d requests for 11 pages: hammering", len(reqs))
	}
}

func TestRetries429SameURL(t *testing.T) {
	h := newHarness(t)
	want := h.fake.add(10, t0.Add(-time.Hour))
	h.fake.limit = 1
	stop := h.run(h.config())
	if err := h.sink.WaitFor(10, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return len(h.fake.reqs()) >= 3 })
	stop()
	h.exactlyOnce(want)
	// Request 1 uses the budget; the source waits for the reset rather
	// than get a 429.
	sl := h.clock.Sleeps()
	if len(sl) == 0 || sl[0] < 59*time.Second || sl[0] > 62*time.Second {
		t.Fatalf("first sleep %v, want ~61s (until reset + 1s)", sl)
	}

	// A 429 out of the blue (another client used the budget) waits and retries the same URL.
	h2 := newHarness(t)
	h2.fake.add(5, t0.Add(-time.Hour))
	h2.fake.failNext(1, 429)
	stop = h2.run(h2.config())
	if err := h2.sink.WaitFor(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	r := h2.fake.reqs()
	if r[0].URL.String() != r[1].URL.String() {
		t.Fatalf("429 retried %s, first was %s", r[1].URL, r[0].URL)
	}
	if errs := h2.state.Health("okta-test").Errors; len(errs) != 0 {
		t.Fatalf("a single 429 is not a health error: %q", errs)
	}
}

func TestServerErrorsBackOffExponentially(t *testing.T) {
	h := newHarness(t)
	want := h.fake.add(5, t0.Add(-time.Hour))
	h.fake.failNext(5, 500)
	cfg := h.config()
	cfg.RetryMin, cfg.RetryMax = time.Second, 10*time.Second
	stop := h.run(cfg)
	if err := h.sink.WaitFor(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	h.exactlyOnce(want)
	sl := h.clock.Sleeps()[:5]
	bounds := [][2]time.Duration{{500 * time.Millisecond, time.Second}, {time.Second, 2 * time.Second},
		{2 * time.Second, 4 * time.Second}, {4 * time.Second, 8 * time.Second}, {5 * time.Second, 10 * time.Second}}
	for i, d := range sl {
		if d < bounds[i][0] || d > bounds[i][1] {
			t.Fatalf("backoff %d = %v, want in %v (all: %v)", i, d, bounds[i], sl)
		}
	}
	r := h.fake.reqs()
	for i := 1; i < 6; i++ {
		if r[i].URL.String() != r[0].URL.String() {
			t.Fatalf("retry %d went to %s", i, r[i].URL)
		}
	}
	errs := h.state.Health("okta-test").Errors
	if len(errs) != 5 || !strings.Contains(errs[0], "HTTP 500") || h.state.Health("okta-test").LastError != "" {
		t.Fatalf("health errors %q, last %q", errs, h.state.Health("okta-test").LastError)
	}
}

func TestAuthErrorsReportedWithoutToken(t *testing.T) {
	h := newHarness(t)
	want := h.fake.add(5, t0.Add(-time.Hour))
	h.fake.failNext(2, 401)
	stop := h.run(h.config())
	if err := h.sink.WaitFor(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	h.exactlyOnce(want)
	errs := h.state.Health("okta-test").Errors
	if len(errs) != 2 || !strings.Contains(errs[0], "E0000011: Invalid token provided") {
		t.Fatalf("health errors %q", errs)
	}
	if sl := h.clock.Sleeps(); sl[0] < 15*time.Second {
		t.Fatalf("auth failure retried after %v: too eager", sl[0])
	}
	h.noTokenLeak()

	// A wrong token: the error is Okta's summary; the token stays out of it.
	h2 := newHarness(t)
	cfg := h2.config()
	cfg.Token = "wrong-" + testToken
	stop = h2.run(cfg)
	waitUntil(t, func() bool { return len(h2.state.Health("okta-test").Errors) >= 2 })
	stop()
	for _, e := range h2.state.Health("okta-test").Errors {
		if strings.Contains(e, cfg.Token) || !strings.Contains(e, "401") {
			t.Fatalf("error %q", e)
		}
	}
	if strings.Contains(h2.logs.String(), cfg.Token) {
		t.Fatal("token in logs")
	}
	if h2.sink.Len() != 0 {
		t.Fatal("events delivered with a bad token")
	}
}

func TestRefusesNextLinkToAnotherHost(t *testing.T) {
	h := newHarness(t)
	h.fake.add(5, t0.Add(-time.Hour))
	h.fake.nextHost = "http://evil.example"
	stop := h.run(h.config())
	waitUntil(t, func() bool { return len(h.state.Health("okta-test").Errors) >= 1 })
	stop()
	if e := h.state.Health("okta-test").Errors[0]; !strings.Contains(e, "refusing") {
		t.Fatalf("error %q", e)
	}
	for _, r := range h.fake.reqs() {
		if r.Host == "evil.example" {
			t.Fatal("followed the foreign link")
		}
	}
	if h.sink.Len() != 0 {
		t.Fatal("page with an unusable cursor acknowledged")
	}
}

func TestBadCheckpointIsAnError(t *testing.T) {
	h := newHarness(t)
	h.state.PutCheckpoint(context.Background(), "okta-test", []byte("{garbage"))
	src, _ := New("okta-test", "", h.config())
	err := src.Run(context.Background(), h.sink, h.state)
	if err == nil || !strings.Contains(err.Error(), "checkpoint") {
		t.Fatalf("Run = %v", err)
	}
}

func TestSpec(t *testing.T) {
	secrets := func(name string) ([]byte, error) {
		if name == "api_token" {
			return []byte(testToken + "\n"), nil
		}
		return nil, errors.New("no such secret")
	}
	c, err := Spec.Parse(json.RawMessage(`{"subdomain":"acme"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Duration("poll_interval") != time.Minute || c.Duration("lookback") != 24*time.Hour || c.Int("limit") != 1000 ||
		c.String("domain") != "okta.com" || c.String("auth_scheme") != "SSWS" {
		t.Fatalf("defaults wrong")
	}
	src, err := Spec.New(core.Instance{ID: "o", Label: "O"}, c, secrets)
	if err != nil {
		t.Fatal(err)
	}
	s := src.(*Source)
	if s.base.String() != "https://acme.okta.com" || s.cfg.Token != testToken || s.cfg.PollInterval != time.Minute {
		t.Fatalf("source %+v", s.cfg)
	}

	c, err = Spec.Parse(json.RawMessage(`{"base_url":"http://127.0.0.1:9/","poll_interval":"5s","dedup_window":0,"domain":"oktapreview.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	src, _ = Spec.New(core.Instance{ID: "o"}, c, secrets)
	if s := src.(*Source); s.base.String() != "http://127.0.0.1:9" || s.cfg.DedupWindow != 0 {
		t.Fatalf("base %s window %d", s.base, s.cfg.DedupWindow)
	}
	if _, err := Spec.New(core.Instance{ID: "o"}, c, func(string) ([]byte, error) { return nil, errors.New("missing") }); err == nil {
		t.Fatal("missing token accepted")
	}

	bad := func(cfg, want string) {
		t.Helper()
		_, err := Spec.Parse(json.RawMessage(cfg))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want %q", cfg, err, want)
		}
	}
	bad(`{}`, "subdomain: is required")
	bad(`{"subdomain":"acme.okta.com"}`, "not a subdomain")
	bad(`{"subdomain":"acme","domain":"okta.net"}`, `domain: "okta.net" is not one of`)
	bad(`{"subdomain":"acme","poll_interval":"1s"}`, "poll_interval: 1s is below the minimum 5s")
	bad(`{"subdomain":"acme","lookback":"2400h"}`, "above the maximum")
	bad(`{"subdomain":"acme","limit":5000}`, "limit: 5000 is above the maximum 1000")
	bad(`{"subdomain":"acme","limit":"5"}`, "want a JSON number")
	bad(`{"subdomain":"acme","api_token":"x"}`, "api_token: is a secret")
	bad(`{"subdomain":"acme","pol_interval":"5s"}`, `did you mean "poll_interval"`)
	bad(`{"base_url":"ftp://x"}`, "not an absolute http(s) URL")
	bad(`[1]`, "must be a JSON object")
}
