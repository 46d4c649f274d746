// Package okta is the Okta System Log source: it polls GET /api/v1/logs,
// follows the rel="next" cursor, and checkpoints the cursor only after the
// sink has acknowledged the page.
//
// Guarantees:
//   - At-least-once delivery. The cursor (the next link's path and query)
//     moves only after sink.Ingest returned nil, and is saved even when the
//     source is being stopped, so a graceful stop and restart neither loses
//     nor repeats events.
//   - Duplicates are suppressed by event uuid over a window of the most
//     recently delivered uuids, kept in the checkpoint (default 5000), which
//     covers overlap from a missing next link and Okta returning an event
//     twice. A crash between the sink's acknowledgement and the checkpoint
//     write can still repeat that one page.
//   - Late events: polling requests are ordered by Okta's persistence time,
//     so events that are committed late (with an older published time) come
//     on a later page; following the cursor picks them up.
//   - Rate limits: when X-Rate-Limit-Remaining reaches 0 the source sleeps
//     until X-Rate-Limit-Reset; a 429 is retried on the same URL after the
//     reset. Server errors and network failures back off exponentially with
//     jitter. 401/403 are reported as the source's health error with Okta's
//     errorSummary and retried slowly. The token is never logged or put in
//     an error.
package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prowl-siem/prowl/internal/sources/core"
)

// TypeName is the source type's registry name.
const TypeName = "okta"

// LogType is the log type of Okta System Log events.
const LogType = "Okta.SystemLog"

// Defaults.
const (
	DefaultPollInterval = 60 * time.Second
	DefaultLookback     = 24 * time.Hour
	DefaultLimit        = 1000
	DefaultDedupWindow  = 5000
)

const (
	maxPageBytes   = 64 << 20 // a page of 1000 events is a few MB; refuse absurd bodies
	requestTimeout = 60 * time.Second
	// rateLimitMargin is added to waits until X-Rate-Limit-Reset, which has
	// one-second resolution and comes from another clock.
	rateLimitMargin = time.Second
	maxRateWait     = 5 * time.Minute
)

// Config configures a Source. Build it from a stored source with the Spec
// (which applies defaults and limits), or directly in tests.
type Config struct {
	// BaseURL is the org's URL, e.g. https://acme.okta.com (no trailing /).
	BaseURL string
	// Token is the API token (AuthScheme "SSWS") or OAuth 2.0 access token
	// with scope okta.logs.read (AuthScheme "Bearer").
	Token      string
	AuthScheme string // "SSWS" (default) or "Bearer"

	PollInterval time.Duration // wait after an empty page; default 60s
	Lookback     time.Duration // where a source without a checkpoint starts; default 24h
	Limit        int           // events per page, 1..1000; default 1000
	DedupWindow  int           // uuids remembered for de-duplication; 0 means 5000, negative disables

	// Backoff bounds for server errors and network failures (default
	// 1s..5m) and for authorization and other client errors (30s..15m).
	RetryMin, RetryMax time.Duration
	AuthRetryMin       time.Duration
	AuthRetryMax       time.Duration

	Client *http.Client // default: a client with a 60s timeout
	Clock  core.Clock   // default: the wall clock
	Logger *slog.Logger // default: slog.Default()
}

// Source polls one Okta org's System Log.
type Source struct {
	id, label string
	cfg       Config
	base      *url.URL
	auth      string // the Authorization header value: never log it
	log       *slog.Logger
	clock     core.Clock

	// rlResetAt is set (on the source's clock) when the last response said
	// no requests remain until the rate limit resets.
	rlResetAt time.Time
}

// New returns a source with the given id and label.
func New(id, label string, cfg Config) (*Source, error) {
	if id == "" {
		return nil, errors.New("okta source: empty id")
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("okta source %q: base URL %q is not an http(s) URL", id, cfg.BaseURL)
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("okta source %q: no API token", id)
	}
	switch cfg.AuthScheme {
	case "":
		cfg.AuthScheme = "SSWS"
	case "SSWS", "Bearer":
	default:
		return nil, fmt.Errorf("okta source %q: auth scheme %q is not SSWS or Bearer", id, cfg.AuthScheme)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Lookback <= 0 {
		cfg.Lookback = DefaultLookback
	}
	if cfg.Limit <= 0 || cfg.Limit > 1000 {
		cfg.Limit = DefaultLimit
	}
	switch {
	case cfg.DedupWindow == 0:
		cfg.DedupWindow = DefaultDedupWindow
	case cfg.DedupWindow < 0:
		cfg.DedupWindow = 0 // disabled
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	if cfg.AuthRetryMin <= 0 {
		cfg.AuthRetryMin = 30 * time.Second
	}
	if cfg.AuthRetryMax <= 0 {
		cfg.AuthRetryMax = 15 * time.Minute
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: requestTimeout}
	}
	if cfg.Clock == nil {
		cfg.Clock = core.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Source{
		id: id, label: label, cfg: cfg, base: base,
		auth:  cfg.AuthScheme + " " + cfg.Token,
		log:   cfg.Logger.With("source", id, "type", TypeName),
		clock: cfg.Clock,
	}, nil
}

// ID returns the source id.
func (s *Source) ID() string { return s.id }

// checkpoint is what the source persists. Next is the request URI (path and
// query) of the next page, relative to the base URL, so a checkpoint never
// sends the token to a host other than the configured one.
type checkpoint struct {
	V    int      `json:"v"`
	Next string   `json:"next"`
	Seen []string `json:"seen,omitempty"` // recent uuids, oldest first
}

// Run polls until ctx is done. See the package doc for its guarantees.
func (s *Source) Run(ctx context.Context, sink core.Sink, state core.State) error {
	cp, err := s.loadCheckpoint(ctx, state)
	if err != nil {
		return err
	}
	seen := newRecent(s.cfg.DedupWindow, cp.Seen)
	// bg is for bookkeeping that must finish even when ctx is cancelled
	// right after the sink acknowledged a page.
	bg := context.WithoutCancel(ctx)

	var (
		failures int // consecutive failed fetches
		// lastErr is the last health error we set, to clear it once. It
		// starts set, so the first success also clears an error that an
		// earlier run of this source left behind.
		lastErr = "(from an earlier run)"
	)
	setErr := func(msg string) {
		msg = s.redact(msg)
		lastErr = msg
		if err := state.SetSourceError(bg, s.id, msg); err != nil {
			s.log.Warn("recording source error", "err", err)
		}
	}

	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		pg, err := s.fetch(ctx, cp.Next)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures++
			wait := s.retryWait(err, failures)
			var ae *apiError
			if errors.As(err, &ae) && ae.status == http.StatusTooManyRequests {
				s.log.Info("rate limited by Okta; waiting", "wait", wait)
			} else {
				s.log.Warn("fetching Okta System Log failed; retrying", "err", s.redact(err.Error()), "retry_in", wait)
				setErr(fmt.Sprintf("%s (retrying in %s)", err, wait.Round(time.Second)))
			}
			if err := s.clock.Sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		failures = 0

		// De-duplicate and find the newest event time.
		var (
			records  [][]byte
			uuids    []string
			newest   time.Time
			nbytes   int64
			dupCount int
		)
		batchSeen := map[string]bool{}
		for _, ev := range pg.events {
			var meta struct {
				UUID      string `json:"uuid"`
				Published string `json:"published"`
			}
			_ = json.Unmarshal(ev, &meta) // not an object: deliver anyway, the normalizer quarantines it
			if meta.UUID != "" && (seen.has(meta.UUID) || batchSeen[meta.UUID]) {
				dupCount++
				continue
			}
			if meta.UUID != "" {
				batchSeen[meta.UUID] = true
				uuids = append(uuids, meta.UUID)
			}
			if t, err := time.Parse(time.RFC3339Nano, meta.Published); err == nil {
				if t.After(newest) {
					newest = t
				}
			}
			records = append(records, ev)
			nbytes += int64(len(ev))
		}
		if dupCount > 0 {
			s.log.Debug("dropped duplicate events", "count", dupCount)
		}

		// The cursor after this page; it moves once the page is acknowledged.
		prev, next := cp.Next, pg.next
		if next == "" {
			// Polling requests always carry a next link; if one is
			// missing, restart from the newest event seen (the uuid window
			// absorbs the overlap) or ask for the same page again.
			if !newest.IsZero() {
				next = s.sinceURI(newest)
			} else {
				next = cp.Next
			}
			s.log.Warn("Okta response had no rel=\"next\" link; continuing from the newest event time")
		}
		if len(records) > 0 {
			for _, u := range uuids {
				seen.add(u)
			}
			cpBytes, err := json.Marshal(checkpoint{V: 1, Next: next, Seen: seen.list()})
			if err != nil {
				return err
			}
			batch := core.Batch{SourceID: s.id, SourceLabel: s.label, LogType: LogType, Records: records, Checkpoint: cpBytes}
			for attempt := 1; ; attempt++ {
				err := sink.Ingest(ctx, batch)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return ctx.Err() // not acknowledged: the checkpoint stays, the page is fetched again
				}
				wait := backoff(attempt, s.cfg.RetryMin, time.Minute)
				s.log.Warn("sink did not accept Okta events; retrying", "err", err, "retry_in", wait)
				setErr(fmt.Sprintf("delivering events: %v (retrying in %s)", err, wait.Round(time.Second)))
				if err := s.clock.Sleep(ctx, wait); err != nil {
					return err
				}
			}
		}

		cp = checkpoint{V: 1, Next: next, Seen: seen.list()}
		if err := s.saveCheckpoint(bg, state, cp); err != nil {
			// Keep going with the in-memory cursor; a restart before the
			// next successful save re-reads pages, which the uuid window
			// mostly absorbs.
			s.log.Error("saving Okta checkpoint failed", "err", err)
			setErr(fmt.Sprintf("saving checkpoint: %v", err))
		} else if lastErr != "" {
			lastErr = ""
			if err := state.SetSourceError(bg, s.id, ""); err != nil {
				s.log.Warn("clearing source error", "err", err)
			}
		}
		if err := state.AddHealth(bg, s.id, int64(len(records)), nbytes, 0, newest); err != nil {
			s.log.Warn("recording source health", "err", err)
		}

		if len(pg.events) == 0 || next == prev {
			// Caught up: Okta has no more events for now.
			if err := s.clock.Sleep(ctx, s.cfg.PollInterval); err != nil {
				return err
			}
		}
	}
}

// loadCheckpoint reads the checkpoint, or creates and saves the starting
// one (since = now - lookback), so a restart before the first page is
// acknowledged starts from the same place. Store errors are retried.
func (s *Source) loadCheckpoint(ctx context.Context, state core.State) (checkpoint, error) {
	for attempt := 1; ; attempt++ {
		cp, err := s.tryLoadCheckpoint(ctx, state)
		if err == nil {
			return cp, nil
		}
		var bad badCheckpointError
		if errors.As(err, &bad) {
			state.SetSourceError(context.WithoutCancel(ctx), s.id, err.Error())
			return cp, err
		}
		if ctx.Err() != nil {
			return cp, ctx.Err()
		}
		wait := backoff(attempt, s.cfg.RetryMin, s.cfg.RetryMax)
		s.log.Warn("reading checkpoint failed; retrying", "err", err, "retry_in", wait)
		if err := s.clock.Sleep(ctx, wait); err != nil {
			return cp, err
		}
	}
}

type badCheckpointError struct{ msg string }

func (e badCheckpointError) Error() string { return e.msg }

func (s *Source) tryLoadCheckpoint(ctx context.Context, state core.State) (checkpoint, error) {
	var cp checkpoint
	raw, err := state.GetCheckpoint(ctx, s.id)
	if err != nil {
		return cp, err
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &cp); err != nil || cp.Next == "" || !strings.HasPrefix(cp.Next, "/") {
			return cp, badCheckpointError{fmt.Sprintf("okta source %q: checkpoint is unreadable; reset it to start over from the lookback window", s.id)}
		}
		s.log.Info("resuming from checkpoint", "remembered_uuids", len(cp.Seen))
		return cp, nil
	}
	cp = checkpoint{V: 1, Next: s.sinceURI(s.clock.Now().Add(-s.cfg.Lookback))}
	if err := s.saveCheckpoint(ctx, state, cp); err != nil {
		return cp, err
	}
	s.log.Info("starting without checkpoint", "lookback", s.cfg.Lookback)
	return cp, nil
}

func (s *Source) saveCheckpoint(ctx context.Context, state core.State, cp checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	return state.PutCheckpoint(ctx, s.id, b)
}

// sinceURI is a polling request (no until, ascending) from t.
func (s *Source) sinceURI(t time.Time) string {
	q := url.Values{}
	q.Set("since", t.UTC().Format("2006-01-02T15:04:05.000Z"))
	q.Set("sortOrder", "ASCENDING")
	q.Set("limit", strconv.Itoa(s.cfg.Limit))
	return s.base.EscapedPath() + "/api/v1/logs?" + q.Encode()
}

// page is one response of the System Log API.
type page struct {
	events []json.RawMessage
	next   string // request URI of the next page; "" if the response had none
}

// apiError is a non-2xx response. Its text carries Okta's errorCode and
// errorSummary, never request headers.
type apiError struct {
	status  int
	code    string
	summary string
	wait    time.Duration // for 429: until the rate limit resets
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("Okta API: HTTP %d", e.status)
	if e.code != "" {
		msg += " " + e.code
	}
	if e.summary != "" {
		msg += ": " + e.summary
	}
	return msg
}

// fetch GETs one page, first waiting out an exhausted rate limit.
func (s *Source) fetch(ctx context.Context, uri string) (page, error) {
	if wait := s.rlResetAt.Sub(s.clock.Now()); wait > 0 {
		s.log.Info("Okta rate limit exhausted; waiting for reset", "wait", wait)
		if err := s.clock.Sleep(ctx, wait); err != nil {
			return page{}, err
		}
	}
	u := *s.base
	ref, err := url.Parse(uri)
	if err != nil {
		return page{}, fmt.Errorf("bad cursor %q: %w", uri, err)
	}
	u.Path, u.RawPath, u.RawQuery = ref.Path, ref.RawPath, ref.RawQuery
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return page{}, err
	}
	req.Header.Set("Authorization", s.auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "prowl-okta-source/1")
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return page{}, fmt.Errorf("requesting %s: %w", u.Redacted(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBytes+1))
	if err != nil {
		return page{}, fmt.Errorf("reading response: %w", err)
	}
	s.noteRateLimit(resp.Header)

	if resp.StatusCode != http.StatusOK {
		ae := &apiError{status: resp.StatusCode}
		var eb struct {
			ErrorCode    string `json:"errorCode"`
			ErrorSummary string `json:"errorSummary"`
			ErrorCauses  []struct {
				ErrorSummary string `json:"errorSummary"`
			} `json:"errorCauses"`
		}
		if json.Unmarshal(body, &eb) == nil {
			ae.code, ae.summary = eb.ErrorCode, eb.ErrorSummary
			for _, c := range eb.ErrorCauses {
				if c.ErrorSummary != "" {
					ae.summary += " (" + c.ErrorSummary + ")"
				}
			}
		}
		if ae.summary == "" {
			ae.summary = http.StatusText(resp.StatusCode)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			ae.wait = s.rlResetAt.Sub(s.clock.Now())
		}
		return page{}, ae
	}
	if len(body) > maxPageBytes {
		return page{}, fmt.Errorf("response larger than %d MiB", maxPageBytes>>20)
	}
	var pg page
	if err := json.Unmarshal(body, &pg.events); err != nil {
		return page{}, fmt.Errorf("response is not a JSON array of events: %w", err)
	}
	if next := nextLink(resp.Header.Values("Link")); next != "" {
		nu, err := u.Parse(next)
		if err != nil {
			return page{}, fmt.Errorf("unreadable next link: %w", err)
		}
		if nu.Scheme != s.base.Scheme || nu.Host != s.base.Host {
			// Following it would send the token elsewhere.
			return page{}, fmt.Errorf("next link points to %s://%s, not the configured %s://%s; refusing to follow it",
				nu.Scheme, nu.Host, s.base.Scheme, s.base.Host)
		}
		pg.next = nu.RequestURI()
	}
	return pg, nil
}

// noteRateLimit reads X-Rate-Limit-Remaining and X-Rate-Limit-Reset. When
// nothing remains it sets rlResetAt; the wait is measured against the
// response's Date when present, since Reset and Date come from the same
// clock, and is bounded to [1s, 5m] against bogus values.
func (s *Source) noteRateLimit(h http.Header) {
	s.rlResetAt = time.Time{}
	rem, err1 := strconv.Atoi(h.Get("X-Rate-Limit-Remaining"))
	reset, err2 := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64)
	if err1 != nil || err2 != nil || rem > 0 {
		return
	}
	now := s.clock.Now()
	serverNow := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		serverNow = d
	}
	wait := time.Unix(reset, 0).Sub(serverNow) + rateLimitMargin
	s.rlResetAt = now.Add(min(max(wait, rateLimitMargin), maxRateWait))
}

// retryWait is how long to wait after the n-th consecutive failure.
func (s *Source) retryWait(err error, n int) time.Duration {
	var ae *apiError
	if errors.As(err, &ae) {
		switch {
		case ae.status == http.StatusTooManyRequests:
			// Until the reset, and never less than exponential backoff
			// for repeated 429s.
			return max(ae.wait, backoff(n, s.cfg.RetryMin, s.cfg.RetryMax))
		case ae.status >= 400 && ae.status < 500:
			return backoff(n, s.cfg.AuthRetryMin, s.cfg.AuthRetryMax)
		}
	}
	return backoff(n, s.cfg.RetryMin, s.cfg.RetryMax)
}

// backoff is exponential (min·2^(n-1), capped at max) with jitter: the
// result is uniformly spread over [d/2, d].
func backoff(n int, min, max time.Duration) time.Duration {
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// redact removes the token from a message, in case a server echoes it.
func (s *Source) redact(msg string) string {
	if s.cfg.Token == "" {
		return msg
	}
	return strings.ReplaceAll(msg, s.cfg.Token, "[redacted]")
}

// unwrapURLError drops *url.Error's own copy of the URL (the caller adds a
// redacted one).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

var _ core.Source = (*Source)(nil)
