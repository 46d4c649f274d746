package httpsrc

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prowl-siem/prowl/internal/sources/core"
	"github.com/prowl-siem/prowl/internal/sources/sourcestest"
)

const token = "push-token-123"

type env struct {
	t     *testing.T
	srv   *httptest.Server
	sink  *sourcestest.Recorder
	state *sourcestest.State
	src   *Source
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	if cfg.Auth == "" {
		cfg.Auth, cfg.Secret = AuthBearer, []byte(token)
	}
	if cfg.LogType == "" {
		cfg.LogType = "Custom.App"
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	src, err := New("app", "My app", cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, sink: sourcestest.NewRecorder(), state: sourcestest.NewState(), src: src}
	mux := NewMux()
	mux.Add(src)
	sm := http.NewServeMux()
	sm.Handle(Pattern, mux)
	e.srv = httptest.NewServer(sm)
	t.Cleanup(e.srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx, e.sink, e.state); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	// Wait until Run has attached the sink.
	for {
		src.mu.RLock()
		ok := src.sink != nil
		src.mu.RUnlock()
		if ok {
			break
		}
	}
	return e
}

type response struct {
	status int
	body   map[string]any
}

func (e *env) post(path string, body []byte, headers ...string) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	return do(e.t, req)
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r response
	r.status = resp.StatusCode
	if err := json.Unmarshal(b, &r.body); err != nil {
		t.Fatalf("response %d body %q is not JSON", resp.StatusCode, b)
	}
	return r
}

func events(ids ...int) []byte {
	var b bytes.Buffer
	for _, id := range ids {
		fmt.Fprintf(&b, "{\"id\":%d,\"msg\":\"event %d\"}\n", id, id)
	}
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func (e *env) ids() []int {
	var out []int
	for _, r := range e.sink.Records() {
		var m struct{ ID int }
		json.Unmarshal(r, &m)
		out = append(out, m.ID)
	}
	return out
}

func TestAcceptsFormats(t *testing.T) {
	e := newEnv(t, Config{})
	f := func(body []byte, want int, headers ...string) {
		t.Helper()
		before := e.sink.Len()
		r := e.post("/ingest/app", body, headers...)
		if r.status != 200 || r.body["accepted"] != float64(want) {
			t.Fatalf("status %d body %v, want 200 accepted %d", r.status, r.body, want)
		}
		if got := e.sink.Len() - before; got != want {
			t.Fatalf("sink got %d, want %d", got, want)
		}
	}
	f(events(1, 2, 3), 3)
	f([]byte("\r\n{\"id\":4}\r\n\r\n{\"id\":5}"), 2) // CRLF, blank lines, no final newline
	f([]byte(`[{"id":6},{"id":7}]`), 2, "Content-Type", "application/json")
	f([]byte(" [ ] "), 0, "Content-Type", "application/json")
	f([]byte("{\n  \"id\": 8,\n  \"nested\": {\"a\": [1,2]}\n}\n"), 1, "Content-Type", "application/json; charset=utf-8")
	f([]byte("\xef\xbb\xbf{\"id\":9}"), 1, "Content-Type", "") // BOM, no content type
	f(gz(events(10, 11)), 2, "Content-Encoding", "gzip")
	f([]byte(""), 0)
	if got := e.ids(); fmt.Sprint(got) != "[1 2 3 4 5 6 7 8 9 10 11]" {
		t.Fatalf("ids %v", got)
	}
	for _, b := range e.sink.Batches() {
		if b.SourceID != "app" || b.SourceLabel != "My app" || b.LogType != "Custom.App" {
			t.Fatalf("batch %+v", b)
		}
	}
	if h := e.state.Health("app"); h.Events != 11 || h.Bytes == 0 {
		t.Fatalf("health %+v", h)
	}
}

func TestMalformedRejectsWholeRequestAndSaysWhere(t *testing.T) {
	e := newEnv(t, Config{})
	e.post("/ingest/app", events(1, 2))
	f := func(body string, ct, want string, line int) {
		t.Helper()
		r := e.post("/ingest/app", []byte(body), "Content-Type", ct)
		msg, _ := r.body["error"].(string)
		if r.status != 400 || !strings.Contains(msg, want) || r.body["line"] != float64(line) {
			t.Fatalf("%q: status %d body %v; want 400 line %d containing %q", body, r.status, r.body, line, want)
		}
		if !strings.Contains(msg, "nothing from this request was accepted") {
			t.Fatalf("message %q", msg)
		}
	}
	nd := "application/x-ndjson"
	f("{\"id\":3}\n{\"id\":4}\n{\"id\": oops}\n{\"id\":6}\n", nd, "line 3, column 8 (byte 25)", 3)
	f("{\"id\":3}\n{\"id\":4", nd, "unexpected end of input", 2)
	f("{\"id\":3}\n42\n", nd, "record 2 is a number, not a JSON object", 2)
	f("{\"id\":3}\n[{\"id\":4}]\n", nd, "record 2 is an array", 2)
	f("[{\"id\":3},\n \"x\"]", "application/json", "record 2 is a string", 2)
	f("[{\"id\":3},\n{\"id\":4}", "application/json", "invalid JSON", 2)
	f("[{\"id\":3}]\n{\"id\":4}", "application/json", "unexpected data after the JSON array", 2)
	f("not json", nd, "invalid character 'o'", 1)
	// gzip that is not gzip
	r := e.post("/ingest/app", []byte("plain"), "Content-Encoding", "gzip")
	if r.status != 400 {
		t.Fatalf("bad gzip: %d %v", r.status, r.body)
	}
	// Nothing from the bad requests arrived; a corrected resend is accepted.
	if got := e.ids(); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("ids %v", got)
	}
	if r := e.post("/ingest/app", events(3, 4, 5, 6)); r.status != 200 {
		t.Fatalf("resend %d", r.status)
	}
	if got := e.ids(); fmt.Sprint(got) != "[1 2 3 4 5 6]" {
		t.Fatalf("ids %v", got)
	}
	if e.state.Health("app").LastError != "" || len(e.state.Health("app").Errors) == 0 {
		t.Fatalf("health %+v", e.state.Health("app"))
	}
}

func TestSizeLimits(t *testing.T) {
	e := newEnv(t, Config{MaxBody: 16 << 10})
	big := bytes.Repeat([]byte(`{"pad":"`+strings.Repeat("x", 100)+`"}`+"\n"), 170) // ~18 KB
	if r := e.post("/ingest/app", big); r.status != 413 {
		t.Fatalf("oversized: %d %v", r.status, r.body)
	}
	// A gzip bomb: tiny compressed, huge decompressed.
	bomb := gz(append([]byte(`{"pad":"`), bytes.Repeat([]byte("A"), 10<<20)...))
	if len(bomb) > 16<<10 {
		t.Fatalf("bomb is %d bytes compressed", len(bomb))
	}
	if r := e.post("/ingest/app", bomb, "Content-Encoding", "gzip"); r.status != 413 || !strings.Contains(r.body["error"].(string), "after decompression") {
		t.Fatalf("gzip bomb: %d %v", r.status, r.body)
	}
	if r := e.post("/ingest/app", events(1)); r.status != 200 {
		t.Fatalf("small: %d", r.status)
	}
	if e.sink.Len() != 1 {
		t.Fatalf("sink %d", e.sink.Len())
	}
}

func TestBearerAuth(t *testing.T) {
	e := newEnv(t, Config{})
	for _, auth := range []string{"", "Bearer wrong", "Basic " + token, token, "Bearer " + token + "x"} {
		r := e.post("/ingest/app", events(1), "Authorization", auth)
		if r.status != 401 {
			t.Fatalf("Authorization %q: %d", auth, r.status)
		}
	}
	if r := e.post("/ingest/app", events(1), "Authorization", "bearer "+token); r.status != 200 {
		t.Fatalf("lower-case scheme: %d", r.status)
	}
	if e.sink.Len() != 1 {
		t.Fatalf("sink %d", e.sink.Len())
	}
	errs := e.state.Health("app").Errors
	if len(errs) != 5 || !strings.Contains(errs[0], "401") || strings.Contains(strings.Join(errs, " "), token) {
		t.Fatalf("health errors %q", errs)
	}
}

func sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestHMACAuth(t *testing.T) {
	key := []byte("hmac-key")
	e := newEnv(t, Config{Auth: AuthHMAC, Secret: key, SignatureHeader: "X-Hub-Signature-256"})
	body := events(1, 2)
	ok := func(b []byte, headers ...string) {
		t.Helper()
		if r := e.post("/ingest/app", b, headers...); r.status != 200 {
			t.Fatalf("%d %v", r.status, r.body)
		}
	}
	ok(body, "Authorization", "", "X-Hub-Signature-256", sign(key, body))
	ok(body, "X-Hub-Signature-256", "sha256="+sign(key, body))
	zb := gz(events(3))
	ok(zb, "Content-Encoding", "gzip", "X-Hub-Signature-256", sign(key, zb)) // signed as sent
	for _, sig := range []string{"", "zz", sign([]byte("other"), body), sign(key, append(body, ' '))} {
		if r := e.post("/ingest/app", body, "X-Hub-Signature-256", sig); r.status != 401 {
			t.Fatalf("signature %q: %d", sig, r.status)
		}
	}
	if got := e.ids(); fmt.Sprint(got) != "[1 2 1 2 3]" {
		t.Fatalf("ids %v", got)
	}
}

func TestProtocolErrors(t *testing.T) {
	e := newEnv(t, Config{})
	if r := e.post("/ingest/app", events(1), "Content-Type", "application/xml"); r.status != 415 {
		t.Fatalf("xml: %d", r.status)
	}
	if r := e.post("/ingest/app", events(1), "Content-Encoding", "br"); r.status != 415 {
		t.Fatalf("br: %d", r.status)
	}
	if r := e.post("/ingest/nope", events(1)); r.status != 404 {
		t.Fatalf("unknown source: %d", r.status)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/ingest/app", nil)
	if r := do(t, req); r.status != 405 {
		t.Fatalf("GET: %d", r.status)
	}
	if e.sink.Len() != 0 {
		t.Fatal("events recorded")
	}
}

func TestSinkFailureIs503AndNothingAcknowledged(t *testing.T) {
	e := newEnv(t, Config{})
	e.sink.FailNext(1, nil)
	r := e.post("/ingest/app", events(1, 2))
	if r.status != 503 || strings.Contains(r.body["error"].(string), "injected") {
		t.Fatalf("%d %v", r.status, r.body)
	}
	if r := e.post("/ingest/app", events(1, 2)); r.status != 200 {
		t.Fatalf("retry %d", r.status)
	}
	if got := e.ids(); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("ids %v", got)
	}

	// A source that is not running refuses with 503.
	src, _ := New("idle", "", Config{Auth: AuthBearer, Secret: []byte(token)})
	w := httptest.NewRecorder()
	src.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/ingest/idle", strings.NewReader("{}")))
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("idle source: %d", w.Code)
	}
}

func TestConcurrentGoodAndBadRequests(t *testing.T) {
	e := newEnv(t, Config{})
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 4 {
			case 0:
				e.post("/ingest/app", []byte("{\"id\":-1}\n{bad\n"))
			case 1:
				e.post("/ingest/app", events(-2), "Authorization", "Bearer nope")
			default:
				if r := e.post("/ingest/app", events(i*10, i*10+1)); r.status != 200 {
					t.Errorf("good request %d: %d", i, r.status)
				}
			}
		}()
	}
	wg.Wait()
	seen := map[int]int{}
	for _, id := range e.ids() {
		seen[id]++
	}
	if len(seen) != 40 {
		t.Fatalf("got %d distinct events, want 40 (20 good requests x 2)", len(seen))
	}
	for id, n := range seen {
		if id < 0 || n != 1 {
			t.Fatalf("event %d seen %d times", id, n)
		}
	}
}

func TestSpec(t *testing.T) {
	secrets := map[string][]byte{"token": []byte(token + "\n"), "hmac_secret": []byte("k")}
	get := func(n string) ([]byte, error) {
		if v, ok := secrets[n]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("no secret %s", n)
	}
	c, err := Spec.Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Spec.New(core.Instance{ID: "a", LogTypes: []string{"AWS.CloudTrail"}}, c, get)
	if err != nil {
		t.Fatal(err)
	}
	src := s.(*Source)
	if src.cfg.LogType != "AWS.CloudTrail" || string(src.cfg.Secret) != token || src.cfg.MaxBody != DefaultMaxBody || src.cfg.Auth != AuthBearer {
		t.Fatalf("cfg %+v", src.cfg)
	}
	c, err = Spec.Parse(json.RawMessage(`{"auth":"hmac","signature_header":"x-sig","log_type":"Custom.X","max_body_bytes":2048}`))
	if err != nil {
		t.Fatal(err)
	}
	s, _ = Spec.New(core.Instance{ID: "b", LogTypes: []string{"A", "B"}}, c, get)
	src = s.(*Source)
	if src.cfg.SignatureHeader != "X-Sig" || src.cfg.LogType != "Custom.X" || src.cfg.MaxBody != 2048 || string(src.cfg.Secret) != "k" {
		t.Fatalf("cfg %+v", src.cfg)
	}
	if _, err := Spec.Parse(json.RawMessage(`{"signature_header":"bad header"}`)); err == nil {
		t.Fatal("bad header accepted")
	}
	delete(secrets, "hmac_secret")
	if _, err := Spec.New(core.Instance{ID: "b"}, c, get); err == nil {
		t.Fatal("missing secret accepted")
	}
}
