package destinations_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/destinations"
)

func TestWebhookPayload(t *testing.T) {
	srv, reqs := receiver(t, nil)
	d := build(t, "webhook", fmt.Sprintf(`{"url":%q,"headers":{"X-Team":"secops"}}`, srv.URL),
		map[string]string{"authorization": "Bearer tok"})
	a := sampleAlert()
	a.Destinations = []string{"x"} // routing input, not part of the payload
	if err := send(t, d, a); err != nil {
		t.Fatal(err)
	}
	r := <-reqs
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q", got)
	}
	if r.Header.Get("X-Team") != "secops" || r.Header.Get("Authorization") != "Bearer tok" {
		t.Errorf("custom headers missing: %v", r.Header)
	}
	if r.Header.Get(destinations.SignatureHeader) != "" {
		t.Error("signed without a signing secret")
	}
	p := decode(t, r.Body)
	want := map[string]any{
		"version": 1.0, "id": a.ID, "type": "RULE", "test": false, "rule_id": "Okta.AdminRoleAssigned", "rule_version": "v3",
		"title": a.Title, "severity": "HIGH", "status": "OPEN", "dedup_string": "jane@example.com",
		"created_at": "2026-03-14T09:26:55Z", "first_event_at": "2026-03-14T09:26:53Z", "event_count": 1.0,
		"link": a.Link, "description": a.Description, "reference": a.Reference, "runbook": a.Runbook,
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %#v, want %#v", k, p[k], v)
		}
	}
	if got := path(t, p, "alert_context", "role"); got != "SUPER_ADMIN" {
		t.Errorf("alert_context.role = %v", got)
	}
	if got := path(t, p, "reports", "MITRE ATT&CK", 0); got != "TA0004:T1098" {
		t.Errorf("reports = %v", got)
	}
	if got := path(t, p, "destination"); fmt.Sprint(got) != "map[id:d1 name:dest one type:webhook]" {
		t.Errorf("destination = %v", got)
	}
	for _, k := range []string{"destinations", "output_ids", "OutputIDs"} {
		if _, ok := p[k]; ok {
			t.Errorf("payload has routing field %s", k)
		}
	}
	// Stable schema: every field present even when empty.
	if err := send(t, d, destinations.Alert{ID: "bare"}); err != nil {
		t.Fatal(err)
	}
	bare := decode(t, (<-reqs).Body)
	for _, k := range []string{"log_types", "tags"} {
		if v, ok := bare[k].([]any); !ok || len(v) != 0 {
			t.Errorf("empty %s = %#v, want []", k, bare[k])
		}
	}
	if v, ok := bare["first_event_at"]; !ok || v != nil {
		t.Errorf("unknown time = %#v, want null", v)
	}
	if fmt.Sprint(bare["alert_context"]) != "map[]" || bare["type"] != "RULE" {
		t.Errorf("bare alert: context %v type %v", bare["alert_context"], bare["type"])
	}
	if len(bare) != len(p) {
		t.Errorf("bare payload has %d fields, full one %d", len(bare), len(p))
	}
}

func TestWebhookSignature(t *testing.T) {
	srv, reqs := receiver(t, nil)
	secret := "s3cr3t-signing-key"
	d := build(t, "webhook", fmt.Sprintf(`{"url":%q}`, srv.URL), map[string]string{"signing_secret": secret})
	if err := send(t, d, sampleAlert()); err != nil {
		t.Fatal(err)
	}
	r := <-reqs
	ts, sig := r.Header.Get(destinations.TimestampHeader), r.Header.Get(destinations.SignatureHeader)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
		t.Fatalf("signature header %q", sig)
	}
	now := time.Now()
	if err := destinations.VerifySignature([]byte(secret), ts, sig, r.Body, now, 5*time.Minute); err != nil {
		t.Fatalf("genuine request rejected: %v", err)
	}
	// The documented recipe, done by hand: HMAC-SHA256 over "timestamp.body".
	if want := destinations.Sign([]byte(secret), ts, r.Body); sig != want {
		t.Errorf("signature %s, recomputed %s", sig, want)
	}
	tampered := append([]byte(nil), r.Body...)
	tampered[len(tampered)-2] ^= 1
	if err := destinations.VerifySignature([]byte(secret), ts, sig, tampered, now, 5*time.Minute); !errors.Is(err, destinations.ErrBadSignature) {
		t.Errorf("tampered body: %v", err)
	}
	if err := destinations.VerifySignature([]byte("wrong"), ts, sig, r.Body, now, 5*time.Minute); !errors.Is(err, destinations.ErrBadSignature) {
		t.Errorf("wrong secret: %v", err)
	}
	if err := destinations.VerifySignature([]byte(secret), ts, sig, r.Body, now.Add(10*time.Minute), 5*time.Minute); !errors.Is(err, destinations.ErrStaleRequest) {
		t.Errorf("replay 10 minutes later: %v", err)
	}
	// A replay with a fresh timestamp but the old signature fails too.
	if err := destinations.VerifySignature([]byte(secret), fmt.Sprint(now.Unix()+60), sig, r.Body, now, 5*time.Minute); err == nil {
		t.Error("old signature accepted with a new timestamp")
	}
}

func TestWebhookErrors(t *testing.T) {
	type resp struct {
		status     int
		retryAfter string
	}
	f := func(name string, r resp, wantPermanent bool, wantDelay time.Duration, wantHinted bool) {
		t.Helper()
		srv, _ := receiver(t, func(w http.ResponseWriter, _ int) {
			if r.retryAfter != "" {
				w.Header().Set("Retry-After", r.retryAfter)
			}
			if r.status >= 300 && r.status < 400 {
				w.Header().Set("Location", "https://elsewhere.example/")
			}
			w.WriteHeader(r.status)
			_, _ = w.Write([]byte(`{"error":"nope"}`))
		})
		err := send(t, build(t, "webhook", fmt.Sprintf(`{"url":%q}`, srv.URL+"/hook/T0KEN-IN-PATH"), nil), sampleAlert())
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if got := destinations.IsPermanent(err); got != wantPermanent {
			t.Errorf("%s: permanent = %v, want %v (%v)", name, got, wantPermanent, err)
		}
		d, hinted := destinations.RetryAfterOf(err)
		if hinted != wantHinted || d != wantDelay {
			t.Errorf("%s: retry after %v %v, want %v %v", name, d, hinted, wantDelay, wantHinted)
		}
		if destinations.StatusCode(err) != r.status {
			t.Errorf("%s: status code %d", name, destinations.StatusCode(err))
		}
		if strings.Contains(err.Error(), "T0KEN") {
			t.Errorf("%s: error leaks the URL: %v", name, err)
		}
	}
	f("500 retryable", resp{status: 500}, false, 0, false)
	f("502 retryable", resp{status: 502}, false, 0, false)
	f("408 retryable", resp{status: 408}, false, 0, false)
	f("429 with Retry-After seconds", resp{429, "7"}, false, 7*time.Second, true)
	f("429 without Retry-After", resp{status: 429}, false, 0, false)
	f("503 with Retry-After seconds", resp{503, "120"}, false, 2*time.Minute, true)
	f("400 permanent", resp{status: 400}, true, 0, false)
	f("404 permanent", resp{status: 404}, true, 0, false)
	f("410 permanent", resp{status: 410}, true, 0, false)
	f("302 not followed", resp{status: 302}, true, 0, false)

	// A connection failure is retryable and does not leak the URL either.
	srv, _ := receiver(t, nil)
	url := srv.URL + "/hook/T0KEN-IN-PATH"
	srv.Close()
	err := send(t, build(t, "webhook", fmt.Sprintf(`{"url":%q}`, url), nil), sampleAlert())
	if err == nil || destinations.IsPermanent(err) || strings.Contains(err.Error(), "T0KEN") {
		t.Errorf("connection refused: %v (permanent %v)", err, destinations.IsPermanent(err))
	}
}

func TestWebhookRetryAfterDate(t *testing.T) {
	srv, _ := receiver(t, func(w http.ResponseWriter, _ int) {
		w.Header().Set("Retry-After", time.Now().Add(2*time.Minute).UTC().Format(http.TimeFormat))
		w.WriteHeader(503)
	})
	err := send(t, build(t, "webhook", fmt.Sprintf(`{"url":%q}`, srv.URL), nil), sampleAlert())
	if d, ok := destinations.RetryAfterOf(err); !ok || d < 100*time.Second || d > 2*time.Minute {
		t.Errorf("Retry-After date: %v %v", d, ok)
	}
}

func TestWebhookConfig(t *testing.T) {
	f := func(settings string, wantErr string) {
		t.Helper()
		err := destinations.ValidateConfig(destinations.Config{ID: "x", Name: "x", Type: "webhook", Settings: json.RawMessage(settings)})
		if wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", settings, err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: error %v, want it to contain %q", settings, err, wantErr)
		}
	}
	f(`{"url":"https://x.example/h"}`, "")
	f(`{"url":"https://x.example/h","timeout":"30s","headers":{"X-Team":"a"}}`, "")
	f(`{}`, "settings.url: is required")
	f(`{"url":"ftp://x"}`, "not an absolute http(s) URL")
	f(`{"url":"https://x.example","headers":{"X-Prowl-Signature":"forged"}}`, "set by prowl")
	f(`{"url":"https://x.example","headers":{"content-type":"text/plain"}}`, "set by prowl")
	f(`{"url":"https://x.example","headers":{"Bad Name":"v"}}`, "not a valid header name")
	f(`{"url":"https://x.example","headers":{"X-A":"v\r\nX-B: injected"}}`, "line break")
	f(`{"url":"https://x.example","headers":["X-A"]}`, "object of string values")
	f(`{"url":"https://x.example","timeout":"2h"}`, "above the maximum")
	f(`{"url":"https://x.example","signing_secret":"plain"}`, "is a secret")
	f(`{"url":"https://x.example","timout":"5s"}`, `did you mean "timeout"`)
}
