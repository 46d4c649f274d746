package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/destinations"
	"github.com/prowl-siem/prowl/internal/sources"
	"github.com/prowl-siem/prowl/internal/store"
)

// fakeRunner records what the API asks of the running server.
type fakeRunner struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (f *fakeRunner) Restart(_ context.Context, rec store.SourceRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("restart %s enabled=%v", rec.ID, rec.Enabled))
	return f.fail
}

func (f *fakeRunner) Stop(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "stop "+id)
	return nil
}

func (f *fakeRunner) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// recordingSink keeps imported batches; records that are not JSON or lack
// "ok" count as quarantined, as the pipeline would quarantine what does
// not normalize.
type recordingSink struct {
	mu      sync.Mutex
	batches []sources.Batch
	fail    error
}

func (s *recordingSink) IngestCounted(_ context.Context, b sources.Batch) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	cp := b
	cp.Records = nil
	q := 0
	for _, r := range b.Records {
		cp.Records = append(cp.Records, bytes.Clone(r))
		if !json.Valid(r) || !bytes.Contains(r, []byte(`"ok"`)) {
			q++
		}
	}
	s.batches = append(s.batches, cp)
	return q, nil
}

func (s *recordingSink) records() (n int, sizes []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.batches {
		n += len(b.Records)
		sizes = append(sizes, len(b.Records))
	}
	return n, sizes
}

// fakeReprocess moves every quarantined event of a source whose raw
// holds "fixed" out of the quarantine.
type fakeReprocess struct{ st *store.Store }

func (f fakeReprocess) Reprocess(ctx context.Context, sourceID string) (moved, remaining int, err error) {
	items, err := f.st.ListQuarantine(ctx, sourceID, 1000, 0)
	if err != nil {
		return 0, 0, err
	}
	var ids []int64
	for _, q := range items {
		if bytes.Contains(q.Raw, []byte("fixed")) {
			ids = append(ids, q.ID)
		}
	}
	return len(ids), len(items) - len(ids), f.st.DeleteQuarantine(ctx, ids)
}

type onboarding struct {
	srv    *httptest.Server
	st     *store.Store
	runner *fakeRunner
	sink   *recordingSink
	api    *Server
}

func newOnboarding(t *testing.T) *onboarding {
	t.Helper()
	st, err := store.Open(store.MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	alertStore := alerts.NewMemoryStore()
	alertStore.Commit(context.Background(), &alerts.Commit{Created: []alerts.Alert{
		{ID: "a1", Type: alerts.TypeRule, RuleID: "Okta.BruteForce", Title: "Brute force", Severity: "HIGH", Status: alerts.StatusOpen, CreatedAt: t0, EventCount: 5},
	}})
	dispatch := destinations.NewDispatcher(st, func() []destinations.Config {
		c, _ := st.ListDestinations(context.Background())
		return c
	}, func(c destinations.Config) (destinations.Destination, error) {
		return destinations.New(c, func(name string) (string, error) {
			v, err := st.GetSecret(context.Background(), store.DestinationSecretOwner(c.ID), name)
			if errors.Is(err, store.ErrNotFound) {
				return "", destinations.ErrNoSecret
			}
			return string(v), err
		})
	}, destinations.DispatcherOptions{ConsoleURL: "http://prowl.test"})
	o := &onboarding{st: st, runner: &fakeRunner{}, sink: &recordingSink{}}
	o.api = &Server{Alerts: alertStore, Now: func() time.Time { return t0 },
		Sources: st, Runner: o.runner, Reprocess: fakeReprocess{st},
		Destinations: st, Tester: dispatch, Deliveries: st,
		Ingest: o.sink, LogTypes: func() []string { return []string{"Okta.SystemLog", "AWS.CloudTrail"} }}
	mux := http.NewServeMux()
	o.api.Routes(mux)
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

// expect calls the API and checks the status and that the body holds
// every want and none of the secrets.
func (o *onboarding) expect(t *testing.T, method, path, body string, status int, want ...string) string {
	t.Helper()
	code, got := call(t, o.srv, method, path, body, "")
	if code != status {
		t.Errorf("%s %s: status %d, want %d: %s", method, path, code, status, got)
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s %s: body lacks %q: %s", method, path, w, got)
		}
	}
	for _, secret := range []string{"00aOktaSecretToken", "00bRotatedToken", "whsec-do-not-leak", "pushT0ken"} {
		if strings.Contains(got, secret) {
			t.Errorf("%s %s: the answer contains the secret %q: %s", method, path, secret, got)
		}
	}
	return got
}

func TestSourceTypesForForms(t *testing.T) {
	o := newOnboarding(t)
	got := o.expect(t, "GET", "/api/v1/source-types", "", 200, `"type":"okta"`, `"type":"http"`, `"type":"file"`)
	var body struct {
		Types []sourceTypeView `json:"types"`
	}
	if err := json.Unmarshal([]byte(got), &body); err != nil {
		t.Fatal(err)
	}
	for _, typ := range body.Types {
		if typ.Type != "okta" {
			continue
		}
		fields := map[string]fieldView{}
		for _, f := range typ.Fields {
			fields[f.Name] = f
		}
		if f := fields["api_token"]; !f.Secret || !f.Required {
			t.Errorf("api_token should be a required secret: %+v", f)
		}
		if f := fields["domain"]; f.Default != "okta.com" || len(f.Options) != 3 {
			t.Errorf("domain: %+v", f)
		}
		if fields["subdomain"].Secret {
			t.Error("subdomain is not a secret")
		}
		return
	}
	t.Error("no okta type")
}

func TestOktaSourceOnboarding(t *testing.T) {
	o := newOnboarding(t)
	ctx := context.Background()

	// Validation names each field.
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","label":"Okta prod","config":{}}`, 400,
		`"field":"config.subdomain"`, "is required (or set base_url)")
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","label":"Okta prod","config":{"subdomain":"Acme Corp"}}`, 400,
		`"field":"config.subdomain"`, "is not a subdomain")
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","label":"Okta prod","config":{"subdomian":"acme"}}`, 400,
		`"field":"config.subdomian"`, `did you mean \"subdomain\"`)
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","label":"Okta prod","config":{"subdomain":"acme","api_token":"00aOktaSecretToken"}}`, 400,
		`"field":"config.api_token"`, "is a secret")
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","label":"Okta prod","config":{"subdomain":"acme"}}`, 400,
		`"field":"secrets.api_token"`, "is required")
	// Every problem at once, so a form can mark them all.
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","label":"Okta prod","config":{"subdomain":"acme","poll_interval":"1s"}}`, 400,
		`{"field":"config.poll_interval","message":"1s is below the minimum 5s"}`, `{"field":"secrets.api_token","message":"is required"}`)
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","label":"Okta prod","config":{"subdomain":"acme"},"secrets":{"api_tokn":"x"}}`, 400,
		`"field":"secrets.api_tokn"`, `did you mean \"api_token\"`)
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okat","label":"x"}`, 400, `"field":"type"`, `did you mean \"okta\"`)
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","config":{"subdomain":"acme"},"secrets":{"api_token":"00aOktaSecretToken"}}`, 400, `"field":"label"`)
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","label":"o","log_types":["Okta.SytemLog"],"config":{"subdomain":"acme"},"secrets":{"api_token":"00aOktaSecretToken"}}`, 400,
		`"field":"log_types"`, `did you mean \"Okta.SystemLog\"`)
	o.expect(t, "POST", "/api/v1/sources", `{"id":"Bad Id","type":"okta","label":"o","config":{"subdomain":"acme"},"secrets":{"api_token":"00aOktaSecretToken"}}`, 400, `"field":"id"`)
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","label":"o","colour":"red"}`, 400, `unknown field \"colour\"`)
	if calls := o.runner.take(); len(calls) != 0 {
		t.Errorf("invalid sources reached the runner: %v", calls)
	}
	if recs, _ := o.st.ListSources(ctx); len(recs) != 0 {
		t.Fatalf("invalid sources were saved: %+v", recs)
	}

	// The seed's onboarding: name, subdomain, API token.
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","label":"Okta prod","config":{"subdomain":"acme"},"secrets":{"api_token":"00aOktaSecretToken"}}`, 201,
		`"id":"okta-prod"`, `"secrets":["api_token"]`, `"subdomain":"acme"`, `"log_types":["Okta.SystemLog"]`, `"enabled":true`)
	if calls := o.runner.take(); strings.Join(calls, ",") != "restart okta-prod enabled=true" {
		t.Errorf("runner calls after create: %v", calls)
	}
	if v, err := o.st.GetSecret(ctx, "okta-prod", "api_token"); err != nil || string(v) != "00aOktaSecretToken" {
		t.Errorf("stored token: %q %v", v, err)
	}
	// The same label again gets its own id; an explicit taken id is a conflict.
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","label":"Okta prod","config":{"subdomain":"acme","domain":"oktapreview.com"},"secrets":{"api_token":"00aOktaSecretToken"},"enabled":false}`, 201,
		`"id":"okta-prod-2"`, `"enabled":false`)
	o.expect(t, "POST", "/api/v1/sources", `{"id":"okta-prod","type":"okta","label":"again","config":{"subdomain":"acme"},"secrets":{"api_token":"00aOktaSecretToken"}}`, 409, "exists already")
	o.runner.take()

	o.expect(t, "GET", "/api/v1/sources", "", 200, `"id":"okta-prod"`, `"id":"okta-prod-2"`, `"quarantined":0`, `"health":{`)
	o.expect(t, "GET", "/api/v1/sources/okta-prod", "", 200, `"label":"Okta prod"`)
	o.expect(t, "GET", "/api/v1/sources/nope", "", 404)

	// A partial change merges config, rotates the token and restarts.
	o.expect(t, "PATCH", "/api/v1/sources/okta-prod", `{"config":{"poll_interval":"30s"},"secrets":{"api_token":"00bRotatedToken"}}`, 200,
		`"subdomain":"acme"`, `"poll_interval":"30s"`)
	if calls := o.runner.take(); strings.Join(calls, ",") != "stop okta-prod,restart okta-prod enabled=true" {
		t.Errorf("runner calls after patch: %v", calls)
	}
	if v, _ := o.st.GetSecret(ctx, "okta-prod", "api_token"); string(v) != "00bRotatedToken" {
		t.Errorf("token after rotation: %q", v)
	}
	o.expect(t, "PATCH", "/api/v1/sources/okta-prod", `{"secrets":{"api_token":null}}`, 400, `"field":"secrets.api_token"`, "is required")
	o.expect(t, "PATCH", "/api/v1/sources/okta-prod", `{"type":"http"}`, 400, `"field":"type"`)
	o.expect(t, "PATCH", "/api/v1/sources/okta-prod", `{"config":{"poll_interval":"1s"}}`, 400, `"field":"config.poll_interval"`, "below the minimum")
	o.runner.take()
	o.st.PutCheckpoint(ctx, "okta-prod", []byte("/api/v1/logs?after=1"))
	o.expect(t, "PATCH", "/api/v1/sources/okta-prod", `{"enabled":false,"reset_checkpoint":true}`, 200, `"enabled":false`)
	if calls := o.runner.take(); strings.Join(calls, ",") != "stop okta-prod,restart okta-prod enabled=false" {
		t.Errorf("runner calls after disabling: %v", calls)
	}
	if cp, _ := o.st.GetCheckpoint(ctx, "okta-prod"); cp != nil {
		t.Errorf("checkpoint not reset: %q", cp)
	}

	// A start failure is reported, the source is kept.
	o.runner.fail = errors.New("boom")
	o.expect(t, "PATCH", "/api/v1/sources/okta-prod", `{"enabled":true}`, 200, `"start_error":"boom"`)
	o.runner.fail = nil

	o.expect(t, "DELETE", "/api/v1/sources/okta-prod", "", 204)
	if calls := o.runner.take(); calls[len(calls)-1] != "stop okta-prod" {
		t.Errorf("runner calls after delete: %v", calls)
	}
	o.expect(t, "GET", "/api/v1/sources/okta-prod", "", 404)
	o.expect(t, "DELETE", "/api/v1/sources/okta-prod", "", 404)
	if _, err := o.st.GetSecret(ctx, "okta-prod", "api_token"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("secret after delete: %v", err)
	}
}

func TestPushSourceOnboarding(t *testing.T) {
	o := newOnboarding(t)
	// Bearer auth (the default) needs a token; which secret is asked for
	// depends on the config.
	o.expect(t, "POST", "/api/v1/sources", `{"type":"http","label":"App events","config":{"log_type":"AWS.CloudTrail"}}`, 400,
		`"field":"secrets.token"`)
	o.expect(t, "POST", "/api/v1/sources", `{"type":"http","label":"App events","config":{"auth":"hmac"},"secrets":{"token":"pushT0ken"}}`, 400,
		`"field":"secrets.hmac_secret"`)
	o.expect(t, "POST", "/api/v1/sources", `{"type":"http","label":"App events","secrets":{"token":"pushT0ken"}}`, 201,
		`"id":"app-events"`, `"push_path":"/ingest/app-events"`, `"secrets":["token"]`)
	if calls := o.runner.take(); len(calls) != 1 || calls[0] != "restart app-events enabled=true" {
		t.Errorf("runner: %v", calls)
	}
	// "import" is the imports' source id.
	o.expect(t, "POST", "/api/v1/sources", `{"id":"import","type":"http","label":"x","secrets":{"token":"pushT0ken"}}`, 400, `"field":"id"`, "reserved")
}

func TestQuarantineListAndReprocess(t *testing.T) {
	o := newOnboarding(t)
	ctx := context.Background()
	o.expect(t, "POST", "/api/v1/sources", `{"type":"okta","label":"okta","config":{"subdomain":"acme"},"secrets":{"api_token":"00aOktaSecretToken"}}`, 201)
	o.st.Quarantine(ctx, []store.Quarantined{
		{SourceID: "okta", LogType: "Okta.SystemLog", Reason: "invalid JSON", Detail: "byte 9: unexpected end", Raw: []byte(`{"title":"<script>alert(1)</script>`)},
		{SourceID: "okta", LogType: "Okta.SystemLog", Reason: "missing required field", Detail: "uuid", Raw: []byte(`{"fixed":true}`)},
		{SourceID: "okta", LogType: "Okta.SystemLog", Reason: "invalid JSON", Detail: "not UTF-8", Raw: []byte("{\"a\":\"\xff\"}")},
	})
	o.expect(t, "GET", "/api/v1/sources/okta", "", 200, `"quarantined":3`)
	// Raw events are strings, escaped: never markup, never embedded JSON.
	got := o.expect(t, "GET", "/api/v1/sources/okta/quarantine?limit=2", "", 200,
		`"total":3`, `"limit":2`, `"reason":"invalid JSON"`, `"raw":"{\"title\":\"\u003cscript\u003ealert(1)\u003c/script\u003e"`, `"detail":"uuid"`)
	if strings.Contains(got, "raw_base64") {
		t.Errorf("valid UTF-8 needs no base64: %s", got)
	}
	o.expect(t, "GET", "/api/v1/sources/okta/quarantine?offset=2", "", 200, `"raw_base64":"eyJhIjoi/yJ9"`)
	o.expect(t, "GET", "/api/v1/sources/okta/quarantine?limit=0", "", 400, "limit")
	o.expect(t, "GET", "/api/v1/sources/ghost/quarantine", "", 404)
	o.expect(t, "POST", "/api/v1/sources/okta/quarantine/reprocess", "", 200, `{"moved":1,"remaining":2}`)
	o.expect(t, "GET", "/api/v1/sources/okta/quarantine", "", 200, `"total":2`)
	// Imports hold a quarantine without a source record.
	o.expect(t, "GET", "/api/v1/sources/import:backfill/quarantine", "", 200, `"total":0`, `"items":[]`)
}

// webhookReceiver counts requests and answers with status.
type webhookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	status int
}

func newReceiver(t *testing.T) *webhookReceiver {
	rc := &webhookReceiver{status: 200}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, string(data)+"\nsignature="+r.Header.Get(destinations.SignatureHeader))
		status := rc.status
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func TestDestinationOnboardingAndTest(t *testing.T) {
	o := newOnboarding(t)
	ctx := context.Background()
	rc := newReceiver(t)

	o.expect(t, "GET", "/api/v1/destination-types", "", 200, `"type":"slack"`, `"name":"webhook_url"`, `"secret":true`, `"severities":["INFO"`)
	o.expect(t, "POST", "/api/v1/destinations", `{"name":"SecOps","type":"slack"}`, 400, `"field":"secrets.webhook_url"`, "is required")
	o.expect(t, "POST", "/api/v1/destinations", `{"name":"SecOps","type":"slack","secrets":{"webhook_url":"not a url"}}`, 400, `"field":"secrets.webhook_url"`, "not an absolute")
	o.expect(t, "POST", "/api/v1/destinations", `{"name":"SOAR","type":"webhok"}`, 400, `"field":"type"`, `did you mean \"webhook\"`)
	o.expect(t, "POST", "/api/v1/destinations", `{"name":"SOAR","type":"webhook","settings":{"urll":"x"}}`, 400, `"field":"settings.urll"`, `"field":"settings.url"`)
	o.expect(t, "POST", "/api/v1/destinations", `{"name":"SOAR","type":"webhook","severities":["urgent"],"settings":{"url":"`+rc.URL+`"}}`, 400, `"field":"severities"`)
	o.expect(t, "POST", "/api/v1/destinations", `{"name":"SOAR","type":"webhook","settings":{"url":"`+rc.URL+`","signing_secret":"whsec-do-not-leak"}}`, 400, `"field":"settings.signing_secret"`, "is a secret")

	o.expect(t, "POST", "/api/v1/destinations", `{"name":"SOAR","type":"webhook","severities":["high","critical"],"settings":{"url":"`+rc.URL+`"},"secrets":{"signing_secret":"whsec-do-not-leak"}}`, 201,
		`"id":"soar"`, `"severities":["HIGH","CRITICAL"]`, `"secrets":["signing_secret"]`, `"enabled":true`)
	if v, _ := o.st.GetSecret(ctx, store.DestinationSecretOwner("soar"), "signing_secret"); string(v) != "whsec-do-not-leak" {
		t.Errorf("stored secret: %q", v)
	}
	o.expect(t, "GET", "/api/v1/destinations", "", 200, `"id":"soar"`)
	o.expect(t, "GET", "/api/v1/destinations/soar", "", 200, `"url":"`+rc.URL+`"`)

	// The test action sends one signed test alert.
	o.expect(t, "POST", "/api/v1/destinations/soar/test", "", 200, `"ok":true`)
	rc.mu.Lock()
	if len(rc.bodies) != 1 || !strings.Contains(rc.bodies[0], `"test":true`) || !strings.Contains(rc.bodies[0], "signature=sha256=") {
		t.Errorf("receiver got: %q", rc.bodies)
	}
	rc.status = 410
	rc.mu.Unlock()
	o.expect(t, "POST", "/api/v1/destinations/soar/test", "", 502, `"ok":false`, `"status_code":410`)
	o.expect(t, "POST", "/api/v1/destinations/nope/test", "", 404)

	o.expect(t, "PATCH", "/api/v1/destinations/soar", `{"enabled":false,"alert_types":["rule_error"],"settings":{"timeout":"5s"}}`, 200,
		`"enabled":false`, `"alert_types":["RULE_ERROR"]`, `"timeout":"5s"`, `"url":"`+rc.URL+`"`)
	o.expect(t, "PATCH", "/api/v1/destinations/soar", `{"secrets":{"signing_secret":null}}`, 200, `"secrets":[]`)
	o.expect(t, "PATCH", "/api/v1/destinations/soar", `{"id":"other"}`, 400, `"field":"id"`)
	o.expect(t, "DELETE", "/api/v1/destinations/soar", "", 204)
	o.expect(t, "GET", "/api/v1/destinations/soar", "", 404)
}

func TestAlertDeliveries(t *testing.T) {
	o := newOnboarding(t)
	ctx := context.Background()
	o.expect(t, "POST", "/api/v1/destinations", `{"id":"pd","name":"On call","type":"pagerduty","secrets":{"routing_key":"R0123456789ABCDEF0123456789ABCDEF"}}`, 201)
	_, err := o.st.AddDelivery(ctx, destinations.Delivery{AlertID: "a1", DestinationID: "pd", Attempts: 2, Status: destinations.StatusDelivered,
		CreatedAt: t0, UpdatedAt: t0.Add(3 * time.Second), History: []destinations.Attempt{
			{At: t0, Duration: 120 * time.Millisecond, Error: "HTTP 503: try later", StatusCode: 503},
			{At: t0.Add(3 * time.Second), Duration: 80 * time.Millisecond},
		}, Alert: destinations.Alert{ID: "a1"}})
	if err != nil {
		t.Fatal(err)
	}
	o.expect(t, "GET", "/api/v1/alerts/a1/deliveries", "", 200, `"destination_id":"pd"`, `"destination_name":"On call"`, `"status":"delivered"`,
		`"attempts":2`, `"status_code":503`, `"duration_ms":120`, `"error":"HTTP 503: try later"`)
	o.expect(t, "GET", "/api/v1/alerts/nope/deliveries", "", 404)
}

func TestImport(t *testing.T) {
	o := newOnboarding(t)
	var ndjson strings.Builder
	for i := range 12001 {
		fmt.Fprintf(&ndjson, "{\"ok\":true,\"n\":%d}\n", i)
	}
	o.expect(t, "POST", "/api/v1/import?log_type=Okta.SystemLog&source=Okta%20backfill", ndjson.String(), 200,
		`"accepted":12001`, `"quarantined":0`, `"source_id":"import:okta-backfill"`)
	n, sizes := o.sink.records()
	if n != 12001 || fmt.Sprint(sizes) != "[5000 5000 2001]" {
		t.Errorf("sink got %d records in batches %v", n, sizes)
	}
	b := o.sink.batches[0]
	if b.SourceID != "import:okta-backfill" || b.SourceLabel != "Okta backfill" || b.LogType != "Okta.SystemLog" || string(b.Records[7]) != `{"ok":true,"n":7}` {
		t.Errorf("batch: %s %s %s %s", b.SourceID, b.SourceLabel, b.LogType, b.Records[7])
	}

	// A gzip JSON array; records the pipeline quarantines are counted.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("[\n  {\"ok\": 1},\n  {\"missing\": 2}\n]\n"))
	zw.Close()
	req, _ := http.NewRequest("POST", o.srv.URL+"/api/v1/import?log_type=AWS.CloudTrail", &gz)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(data), `{"accepted":2,"log_type":"AWS.CloudTrail","quarantined":1,"source_id":"import"}`) {
		t.Errorf("gzip import: %d %s", resp.StatusCode, data)
	}

	// Malformed input is refused whole, naming where.
	before, _ := o.sink.records()
	o.expect(t, "POST", "/api/v1/import?log_type=Okta.SystemLog", "{\"ok\":1}\n{\"ok\":2}\n{\"ok\":3,}\n", 400,
		"line 3, column 9 (byte 26)", `"line":3`, "nothing from this request was imported")
	o.expect(t, "POST", "/api/v1/import?log_type=Okta.SystemLog", "{\"ok\":1}\n[1,2]\n", 400, "line 2", "not a JSON object")
	o.expect(t, "POST", "/api/v1/import?log_type=Okta.SystemLog", "[{\"ok\":1},\n{\"ok\":2}\n", 400, "unterminated array")
	if after, _ := o.sink.records(); after != before {
		t.Errorf("a rejected import reached the pipeline: %d -> %d records", before, after)
	}
	// ...unless the client asks for bad lines to be quarantined.
	o.expect(t, "POST", "/api/v1/import?log_type=Okta.SystemLog&on_invalid=quarantine", "{\"ok\":1}\r\n{\"ok\":2,\n\n[]\n", 200, `"accepted":3`, `"quarantined":2`)

	o.expect(t, "POST", "/api/v1/import", "{}", 400, "log_type: is required")
	o.expect(t, "POST", "/api/v1/import?log_type=Okta.SytemLog", "{}", 400, `did you mean \"Okta.SystemLog\"`)
	o.expect(t, "POST", "/api/v1/import?log_type=Okta.SystemLog&on_invalid=drop", "{}", 400, "on_invalid")
	o.api.ImportMaxBytes = 100
	o.expect(t, "POST", "/api/v1/import?log_type=Okta.SystemLog", strings.Repeat(`{"ok":1}`, 20), 413, "larger than 100 bytes")
	o.api.ImportMaxBytes = 0
	o.sink.fail = errors.New("disk full")
	o.expect(t, "POST", "/api/v1/import?log_type=Okta.SystemLog", `{"ok":1}`, 503, `"accepted":0`, "retry later")
}

func TestOnboardingNeedsTheToken(t *testing.T) {
	o := newOnboarding(t)
	o.api.Token = "s3cret"
	mux := http.NewServeMux()
	o.api.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/api/v1/sources", "/api/v1/destinations", "/api/v1/import?log_type=Okta.SystemLog"} {
		if status, _ := call(t, srv, "POST", path, "{}", ""); status != 401 {
			t.Errorf("POST %s without token: %d", path, status)
		}
	}
}
