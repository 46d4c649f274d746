package okta

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeOkta is a small stand-in for the System Log API, enough to test the
// source on its own: polling cursors (after=<index>), both Link header
// styles, a per-window rate limit, injected failures and duplicate pages.
type fakeOkta struct {
	mu       sync.Mutex
	token    string
	events   [][]byte // persistence order
	now      func() time.Time
	limit    int // requests per 60s window; 0 = unlimited
	window   time.Time
	used     int
	fail     []int // statuses to return next
	joined   bool  // send Link values comma-joined in one header
	noNext   bool  // omit rel="next"
	nextHost string
	requests []*http.Request
}

func newFakeOkta(t *testing.T, token string, now func() time.Time) (*fakeOkta, string) {
	f := &fakeOkta{token: token, now: now}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeOkta) add(n int, published time.Time) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("uuid-%05d", len(f.events))
		ev, _ := json.Marshal(map[string]any{"uuid": id, "published": published.Format("2006-01-02T15:04:05.000Z"),
			"eventType": "user.session.start"})
		f.events = append(f.events, ev)
		ids = append(ids, id)
	}
	return ids
}

func (f *fakeOkta) addRaw(ev string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, []byte(ev))
}

func (f *fakeOkta) failNext(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.fail = append(f.fail, status)
	}
}

func (f *fakeOkta) reqs() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.requests...)
}

func oktaError(w http.ResponseWriter, status int, code, summary string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errorCode":%q,"errorSummary":%q,"errorLink":%q,"errorId":"oaeFake","errorCauses":[]}`, code, summary, code)
}

func (f *fakeOkta) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	now := f.now()
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	if r.URL.Path != "/api/v1/logs" {
		oktaError(w, 404, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	switch r.Header.Get("Authorization") {
	case "SSWS " + f.token, "Bearer " + f.token:
	case "":
		oktaError(w, 403, "E0000005", "Invalid session")
		return
	default:
		oktaError(w, 401, "E0000011", "Invalid token provided")
		return
	}
	if f.limit > 0 {
		if f.window.IsZero() || !now.Before(f.window.Add(time.Minute)) {
			f.window, f.used = now, 0
		}
		f.used++
		remaining := max(f.limit-f.used, 0)
		w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(f.limit))
		w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
		w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(f.window.Add(time.Minute).Unix(), 10))
		if f.used > f.limit {
			oktaError(w, 429, "E0000047", "API call exceeded rate limit due to too many requests.")
			return
		}
	}
	if len(f.fail) > 0 {
		st := f.fail[0]
		f.fail = f.fail[1:]
		switch st {
		case 401:
			oktaError(w, 401, "E0000011", "Invalid token provided")
		default:
			oktaError(w, st, "E0000009", "Internal Server Error")
		}
		return
	}
	q := r.URL.Query()
	limit := 100
	if l := q.Get("limit"); l != "" {
		limit, _ = strconv.Atoi(l)
	}
	start := 0
	if a := q.Get("after"); a != "" {
		start, _ = strconv.Atoi(a)
	} else if s := q.Get("since"); s != "" {
		since, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			oktaError(w, 400, "E0000001", "Api validation failed: since")
			return
		}
		for start < len(f.events) {
			var m struct{ Published time.Time }
			json.Unmarshal(f.events[start], &m)
			if !m.Published.Before(since) {
				break
			}
			start++
		}
	}
	end := min(start+limit, len(f.events))
	if start > end {
		start = end
	}
	host := "http://" + r.Host
	self := fmt.Sprintf("<%s%s>; rel=\"self\"", host, r.URL.RequestURI())
	nq := nextQuery(limit, end)
	nh := host
	if f.nextHost != "" {
		nh = f.nextHost
	}
	next := fmt.Sprintf("<%s/api/v1/logs?%s>; rel=\"next\"", nh, nq)
	switch {
	case f.noNext:
		w.Header().Add("Link", self)
	case f.joined:
		w.Header().Set("Link", self+", "+next)
	default:
		w.Header().Add("Link", self)
		w.Header().Add("Link", next)
	}
	w.Header().Set("Content-Type", "application/json")
	var b strings.Builder
	b.WriteByte('[')
	for i, ev := range f.events[start:end] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(ev)
	}
	b.WriteByte(']')
	w.Write([]byte(b.String()))
}

func nextQuery(limit, after int) string {
	return fmt.Sprintf("limit=%d&after=%d", limit, after)
}
