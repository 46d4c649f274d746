package oktasim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Server.
type Options struct {
	// Token is the accepted API token, sent as "SSWS <token>" or
	// "Bearer <token>". Empty accepts any token (the scheme is still
	// checked).
	Token string
	// RateLimit is the number of requests allowed per 60-second window
	// (default 60, the share of a Workforce org's 120/min one token gets);
	// negative disables rate limiting and its headers.
	RateLimit int
	// Now is the clock (default time.Now). It stamps persistence times,
	// drives the rate-limit window and the retention cut-off, and is the
	// default until and since of queries.
	Now func() time.Time
	// DefaultLimit is the page size without limit (default 100); MaxLimit
	// the largest limit accepted (default 1000).
	DefaultLimit, MaxLimit int
	// Retention is how far back events are served (default 90 days);
	// negative serves everything.
	Retention time.Duration
	// BaseURL, when set, is used in link headers instead of the request's
	// scheme and Host (for a simulator behind a proxy).
	BaseURL string
}

// Server is a simulated Okta org's System Log. It implements http.Handler.
type Server struct {
	opts Options

	mu          sync.RWMutex
	byPersisted []*record // persistence order; byPersisted[i].seq == i+1
	byPublished []*record // ordered by (published, seq)
	lastMS      int64

	limitMu     sync.Mutex
	windowStart time.Time
	windowCount int

	failMu     sync.Mutex
	failCount  int
	failStatus int

	requests atomic.Int64
}

// record is one stored LogEvent.
type record struct {
	seq       int64 // 1-based persistence order
	persisted int64 // persistence time, epoch ms
	published int64 // published, epoch ms
	raw       []byte
	doc       map[string]any
}

// New returns a Server with no events.
func New(opts Options) *Server {
	if opts.RateLimit == 0 {
		opts.RateLimit = 60
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DefaultLimit <= 0 {
		opts.DefaultLimit = 100
	}
	if opts.MaxLimit <= 0 {
		opts.MaxLimit = 1000
	}
	if opts.Retention == 0 {
		opts.Retention = 90 * 24 * time.Hour
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	return &Server{opts: opts}
}

// Add appends LogEvents (JSON objects with an RFC 3339 published). They are
// persisted in call order at the current time; an event older than ones
// added before it is a late event: polling clients get it after their
// cursor. Nothing is added when an event is invalid.
func (s *Server) Add(events ...[]byte) error {
	recs := make([]*record, 0, len(events))
	for i, ev := range events {
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(ev))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil || doc == nil {
			return fmt.Errorf("oktasim: event %d is not a JSON object: %v", i, err)
		}
		pub, _ := doc["published"].(string)
		t, err := parseTime(pub)
		if err != nil {
			return fmt.Errorf("oktasim: event %d: bad published %q", i, pub)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, ev); err != nil {
			return fmt.Errorf("oktasim: event %d: %v", i, err)
		}
		recs = append(recs, &record{published: t.UnixMilli(), raw: buf.Bytes(), doc: doc})
	}
	now := s.opts.Now().UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now < s.lastMS {
		now = s.lastMS // persistence time never goes backwards
	}
	s.lastMS = now
	for _, r := range recs {
		r.seq = int64(len(s.byPersisted) + 1)
		r.persisted = now
		s.byPersisted = append(s.byPersisted, r)
		i := sort.Search(len(s.byPublished), func(i int) bool { return s.byPublished[i].published > r.published })
		s.byPublished = append(s.byPublished, nil)
		copy(s.byPublished[i+1:], s.byPublished[i:])
		s.byPublished[i] = r
	}
	return nil
}

// FailNext makes the next n requests fail with status and Okta's error
// body for it (500 and other 5xx: E0000009; 429: E0000047; 401: E0000011;
// 403: E0000006; 404: E0000007; 400: E0000001).
func (s *Server) FailNext(n int, status int) {
	s.failMu.Lock()
	s.failCount, s.failStatus = n, status
	s.failMu.Unlock()
}

// Requests is the number of requests received so far.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// Len is the number of events stored.
func (s *Server) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byPersisted)
}

// ServeHTTP serves GET /api/v1/logs.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	now := s.opts.Now()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Okta-Request-Id", randToken(27))
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	if !s.rateLimit(h, now) {
		s.writeError(w, errRateLimited())
		return
	}
	if e := s.injectedFailure(); e != nil {
		if e.status == http.StatusTooManyRequests && s.opts.RateLimit >= 0 {
			h.Set("X-Rate-Limit-Remaining", "0")
		}
		s.writeError(w, e)
		return
	}
	if e := s.authenticate(r.Header.Get("Authorization")); e != nil {
		s.writeError(w, e)
		return
	}
	if r.URL.Path != "/api/v1/logs" {
		s.writeError(w, errNotFound(r.URL.Path))
		return
	}
	if r.Method != http.MethodGet {
		h.Set("Allow", http.MethodGet)
		s.writeError(w, errBadMethod())
		return
	}
	q, e := s.parseQuery(r.URL.Query(), now)
	if e != nil {
		s.writeError(w, e)
		return
	}
	page, next, e := s.run(q, now)
	if e != nil {
		s.writeError(w, e)
		return
	}
	base := s.baseURL(r)
	self := base
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	// Two separate header lines, lower case as Okta sends them.
	h["link"] = []string{"<" + self + `>; rel="self"`}
	if next != nil {
		h["link"] = append(h["link"], "<"+base+"?"+q.nextQuery(*next)+`>; rel="next"`)
	}
	var body bytes.Buffer
	body.WriteByte('[')
	for i, rec := range page {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(rec.raw)
	}
	body.WriteByte(']')
	h.Set("Content-Length", strconv.Itoa(body.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(body.Bytes())
}

func (s *Server) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL + "/api/v1/logs"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/api/v1/logs"
}

func (s *Server) authenticate(header string) *apiError {
	scheme, token, _ := strings.Cut(strings.TrimSpace(header), " ")
	if !strings.EqualFold(scheme, "SSWS") && !strings.EqualFold(scheme, "Bearer") {
		return errInvalidSession()
	}
	token = strings.TrimSpace(token)
	if token == "" || (s.opts.Token != "" && token != s.opts.Token) {
		return errInvalidToken()
	}
	return nil
}

// rateLimit counts the request in the current window, sets the
// X-Rate-Limit headers and reports whether it is allowed. The window opens
// with the first request after the previous one closed, so resets are not
// aligned to wall-clock minutes.
func (s *Server) rateLimit(h http.Header, now time.Time) bool {
	if s.opts.RateLimit < 0 {
		return true
	}
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	if s.windowStart.IsZero() || !now.Before(s.windowStart.Add(time.Minute)) {
		s.windowStart, s.windowCount = now, 0
	}
	s.windowCount++
	reset := s.windowStart.Add(time.Minute)
	resetSec := reset.Unix()
	if reset.Nanosecond() > 0 {
		resetSec++
	}
	remaining := max(s.opts.RateLimit-s.windowCount, 0)
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(resetSec, 10))
	return s.windowCount <= s.opts.RateLimit
}

func (s *Server) injectedFailure() *apiError {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	if s.failCount <= 0 {
		return nil
	}
	s.failCount--
	return injected(s.failStatus)
}

// cursor is the position an after token encodes: epoch ms and sequence.
type cursor struct {
	ms  int64
	seq int64
}

func (c cursor) String() string {
	return strconv.FormatInt(c.ms, 10) + "_" + strconv.FormatInt(c.seq, 10)
}

func parseCursor(s string) (cursor, error) {
	a, b, ok := strings.Cut(s, "_")
	ms, err1 := strconv.ParseInt(a, 10, 64)
	seq, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || ms < 0 || seq < 0 {
		return cursor{}, errors.New("bad cursor")
	}
	return cursor{ms, seq}, nil
}

// run executes a validated query: the page and, when there is one, the
// cursor of the next page.
func (s *Server) run(q *query, now time.Time) ([]*record, *cursor, *apiError) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	oldest := int64(-1 << 62)
	if s.opts.Retention > 0 {
		oldest = now.Add(-s.opts.Retention).UnixMilli()
	}
	keep := func(r *record) bool { return r.published >= oldest && q.matches(r) }
	if q.polling {
		return s.poll(q, keep)
	}
	return s.bounded(q, keep)
}

// poll pages through events in persistence order. The cursor is the
// persistence time and sequence of the last event looked at; a first page
// starts at since (persistence time).
func (s *Server) poll(q *query, keep func(*record) bool) ([]*record, *cursor, *apiError) {
	var c cursor
	n := int64(len(s.byPersisted))
	if q.after != nil {
		c = *q.after
		if c.seq > n || (c.seq > 0 && s.byPersisted[c.seq-1].persisted > c.ms) {
			return nil, nil, errBadCursor()
		}
	} else {
		since := q.since.UnixMilli()
		i := sort.Search(len(s.byPersisted), func(i int) bool { return s.byPersisted[i].persisted >= since })
		c = cursor{ms: since, seq: int64(i)}
	}
	var page []*record
	i := c.seq
	for ; i < n && len(page) < q.limit; i++ {
		r := s.byPersisted[i]
		if r.persisted < c.ms {
			continue
		}
		if keep(r) {
			page = append(page, r)
		}
	}
	if len(page) == q.limit && len(page) > 0 {
		last := page[len(page)-1]
		return page, &cursor{ms: last.persisted, seq: last.seq}, nil
	}
	// Everything up to i was examined: continue after it.
	next := c
	if i > c.seq {
		last := s.byPersisted[i-1]
		next = cursor{ms: max(last.persisted, c.ms), seq: last.seq}
	}
	return page, &next, nil
}

// bounded pages through [since, until) by published (then persistence
// sequence), ascending or descending. The cursor is the published time and
// sequence of the last event returned; there is a next page only when
// another event matches.
func (s *Server) bounded(q *query, keep func(*record) bool) ([]*record, *cursor, *apiError) {
	since, until := q.since.UnixMilli(), q.until.UnixMilli()
	lo := sort.Search(len(s.byPublished), func(i int) bool { return s.byPublished[i].published >= since })
	hi := sort.Search(len(s.byPublished), func(i int) bool { return s.byPublished[i].published >= until })
	if hi < lo {
		hi = lo
	}
	span := s.byPublished[lo:hi]
	if q.after != nil {
		c := *q.after
		if c.seq < 1 || c.seq > int64(len(s.byPersisted)) || s.byPersisted[c.seq-1].published != c.ms {
			return nil, nil, errBadCursor()
		}
		after := func(r *record) bool { // r comes after c in ascending order
			return r.published > c.ms || (r.published == c.ms && r.seq > c.seq)
		}
		k := sort.Search(len(span), func(i int) bool { return after(span[i]) })
		if q.descending {
			// Keep what precedes the cursor record.
			j := sort.Search(len(span), func(i int) bool {
				return span[i].published > c.ms || (span[i].published == c.ms && span[i].seq >= c.seq)
			})
			span = span[:j]
		} else {
			span = span[k:]
		}
	}
	var page []*record
	idx := func(i int) *record {
		if q.descending {
			return span[len(span)-1-i]
		}
		return span[i]
	}
	i := 0
	for ; i < len(span) && len(page) < q.limit; i++ {
		if r := idx(i); keep(r) {
			page = append(page, r)
		}
	}
	if len(page) == 0 || len(page) < q.limit {
		return page, nil, nil
	}
	for ; i < len(span); i++ {
		if keep(idx(i)) {
			last := page[len(page)-1]
			return page, &cursor{ms: last.published, seq: last.seq}, nil
		}
	}
	return page, nil, nil
}

// randToken returns n random alphanumeric characters (request and error
// ids; not security relevant).
func randToken(n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[rand.IntN(len(chars))]
	}
	return string(b)
}
