package destinations

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// userAgent is sent with every request.
const userAgent = "prowl-destinations/1"

// transport is shared by every destination so connections are reused.
var transport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 4
	return t
}()

// newHTTPClient returns a client with the given timeout that does not follow
// redirects: a webhook that moved must be reconfigured, and following would
// re-send signed payloads to a host nobody configured.
func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Transport:     transport,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// postJSON POSTs body to target and classifies the outcome:
//   - 2xx: nil, with the start of the response body;
//   - 429 and 503: retryable, after the Retry-After header if present;
//   - 408, 425 and other 5xx, network errors, timeouts: retryable;
//   - 3xx and other 4xx: Permanent.
//
// Errors never contain target, which may hold a secret token.
func postJSON(ctx context.Context, client *http.Client, target string, body []byte, header http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, Permanent(errors.New("building request: invalid URL"))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL
		}
		return nil, fmt.Errorf("sending request: %w", err)
	}
	defer resp.Body.Close()
	const keep = 4 << 10
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, keep))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection can be reused

	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return respBody, nil
	}
	herr := &HTTPError{StatusCode: code, Body: truncate(strings.TrimSpace(sanitize(string(respBody))), 300)}
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return nil, RetryAfter(herr, d)
		}
		return nil, herr
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly || code >= 500:
		return nil, herr
	case code >= 300 && code < 400:
		herr.Body = "redirect not followed; configure the final URL"
		return nil, Permanent(herr)
	default:
		return nil, Permanent(herr)
	}
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, 7*24*3600)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// truncate cuts s to at most n runes, ending with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + "…"
}

// sanitize replaces control characters (other than newline and tab) and
// invalid UTF-8, so a response body or log value cannot garble a message.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// oneLine sanitizes s and folds its line breaks into spaces, for fields that
// are shown on one line (titles), so content cannot fake extra lines.
func oneLine(s string) string {
	return strings.Join(strings.Fields(sanitize(s)), " ")
}

// isWebURL reports whether s is an absolute http(s) URL (safe for a link or
// button).
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
