package destinations

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook signature headers.
const (
	// SignatureHeader carries "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
	SignatureHeader = "X-Prowl-Signature"
	// TimestampHeader carries the Unix time (seconds) the request was signed.
	TimestampHeader = "X-Prowl-Timestamp"
)

// Webhook settings.
const (
	webhookURL     = "url"
	webhookHeaders = "headers"
	webhookAuth    = "authorization"
	webhookSecret  = "signing_secret"
	webhookTimeout = "timeout"
)

func init() {
	Register(TypeSpec{
		Type:    "webhook",
		Name:    "Webhook",
		Summary: "POSTs each alert as JSON to an HTTP endpoint, optionally signed with HMAC-SHA256.",
		Description: "The body is the alert in prowl's stable webhook schema (see docs/destinations.md). " +
			"Any 2xx response is success; 429 and 5xx responses and network errors are retried, honouring " +
			"Retry-After; other responses fail the delivery at once. Redirects are not followed. With a " +
			"signing secret, each request carries X-Prowl-Timestamp and X-Prowl-Signature headers so the " +
			"receiver can check that prowl sent it and reject replays.",
		Fields: []Field{
			{Name: webhookURL, Type: URL, Required: true, Example: "https://soar.example.com/hooks/prowl",
				Description: "Endpoint to POST alerts to."},
			{Name: webhookHeaders, Type: Map, Advanced: true, Example: `{"X-Team": "secops"}`,
				Description: "Extra request headers. Content-Type, Content-Length, Host, User-Agent, Authorization (use the authorization secret) and X-Prowl-* cannot be set."},
			{Name: webhookAuth, Type: String, Secret: true, Example: "Bearer 7f3c…",
				Description: "Value of the Authorization header, if the endpoint needs one."},
			{Name: webhookSecret, Type: String, Secret: true,
				Description: "Key for the HMAC-SHA256 request signature (X-Prowl-Signature). Without it requests are not signed."},
			{Name: webhookTimeout, Type: Duration, Default: "10s", Min: "1s", Max: "60s", Advanced: true,
				Description: "Timeout of each request."},
		},
		Check: checkWebhookHeaders,
		New:   newWebhook,
	})
}

var reservedHeaders = []string{"Content-Type", "Content-Length", "Host", "User-Agent", "Authorization", "Transfer-Encoding", "Connection"}

func checkWebhookHeaders(s *Settings) error {
	for name, value := range s.Map(webhookHeaders) {
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			return FieldError{Field: webhookHeaders, Message: fmt.Sprintf("%q is not a valid header name", name)}
		case strings.HasPrefix(canon, "X-Prowl-") || containsFold(reservedHeaders, canon):
			return FieldError{Field: webhookHeaders, Message: fmt.Sprintf("header %s is set by prowl and cannot be configured", canon)}
		case strings.ContainsAny(value, "\r\n\x00"):
			return FieldError{Field: webhookHeaders, Message: fmt.Sprintf("header %s: value contains a line break or NUL", canon)}
		}
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

type webhook struct {
	cfg    Config
	url    string
	header http.Header
	secret []byte
	client *http.Client
	now    func() time.Time
}

func newWebhook(cfg Config, s *Settings) (Destination, error) {
	w := &webhook{
		cfg:    cfg,
		url:    s.String(webhookURL),
		header: http.Header{},
		secret: []byte(s.Secret(webhookSecret)),
		client: newHTTPClient(s.Duration(webhookTimeout)),
		now:    time.Now,
	}
	for k, v := range s.Map(webhookHeaders) {
		w.header.Set(k, v)
	}
	if auth := s.Secret(webhookAuth); auth != "" {
		if strings.ContainsAny(auth, "\r\n\x00") {
			return nil, Permanent(errors.New("the authorization secret contains a line break or NUL"))
		}
		w.header.Set("Authorization", auth)
	}
	return w, nil
}

// Send implements Destination.
func (w *webhook) Send(ctx context.Context, a Alert) error {
	body, err := marshalJSON(NewPayload(a, w.cfg))
	if err != nil {
		return Permanent(fmt.Errorf("encoding payload: %w", err))
	}
	h := w.header.Clone()
	if len(w.secret) > 0 {
		ts := strconv.FormatInt(w.now().Unix(), 10)
		h.Set(TimestampHeader, ts)
		h.Set(SignatureHeader, Sign(w.secret, ts, body))
	}
	_, err = postJSON(ctx, w.client, w.url, body, h)
	return err
}

// Sign returns the X-Prowl-Signature value for body sent at timestamp (the
// X-Prowl-Timestamp value): "sha256=" followed by the lower-case hex
// HMAC-SHA256, keyed with secret, of timestamp + "." + body.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Signature verification errors.
var (
	ErrBadSignature = errors.New("signature does not match")
	ErrStaleRequest = errors.New("timestamp outside the allowed window")
)

// VerifySignature checks a signed webhook request as a receiver should: the
// signature must match the raw body and timestamp (compared in constant
// time), and the timestamp must be within tolerance of now, so that a
// captured request cannot be replayed later. Receivers that also remember
// the alert ids they have seen reject replays within the window too.
func VerifySignature(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	secs, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not a Unix time", ErrStaleRequest, timestamp)
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return ErrStaleRequest
	}
	want := Sign(secret, strings.TrimSpace(timestamp), body)
	if !hmac.Equal([]byte(want), []byte(strings.TrimSpace(signature))) {
		return ErrBadSignature
	}
	return nil
}

// marshalJSON encodes v without HTML escaping (so "<" stays readable; the
// receiver gets the same characters either way) and without a trailing
// newline.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

var _ Destination = (*webhook)(nil)
