package destinations

import (
	"errors"
	"fmt"
	"time"
)

// Errors from Destination.Send are retryable unless marked Permanent: a
// network failure, a timeout or a 5xx response may pass, a rejected payload
// or a revoked webhook will not.

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot fix (a 4xx response, a
// bad config): the dispatcher records the delivery as failed at once.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked
// Permanent, or is a *ConfigError.
func IsPermanent(err error) bool {
	var p *permanentError
	var c *ConfigError
	return errors.As(err, &p) || errors.As(err, &c)
}

type retryAfterError struct {
	err   error
	delay time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter marks err as retryable no sooner than d from now, as a 429 or
// 503 response's Retry-After header asks. The dispatcher waits d instead of
// its own backoff (and gives up if d passes its MaxElapsed).
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, delay: max(d, 0)}
}

// RetryAfterOf returns the delay that err asks for with RetryAfter.
func RetryAfterOf(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.delay, true
	}
	return 0, false
}

// HTTPError is an unsuccessful HTTP response from a destination's endpoint.
// It never holds the request URL, which for Slack and Teams is a secret.
type HTTPError struct {
	StatusCode int
	Body       string // the start of the response body, for the error message
}

func (e *HTTPError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, e.Body)
}

// StatusCode returns the HTTP status of the response err reports, 0 if none.
func StatusCode(err error) int {
	var h *HTTPError
	if errors.As(err, &h) {
		return h.StatusCode
	}
	return 0
}
