package server

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/config"
)

// fakeClock is a processing clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// syncBuffer is a goroutine-safe log sink, dumped when a test fails.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testConfig builds the server config the way `prowl up` does, from flags
// over the defaults, with an empty config file and no environment.
func testConfig(t *testing.T, args ...string) *config.Config {
	t.Helper()
	file := filepath.Join(t.TempDir(), "prowl.yaml")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("prowl up", pflag.ContinueOnError)
	config.AddFlags(fs)
	if err := fs.Parse(append([]string{"--config", file}, args...)); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// eventually polls cond every 50ms until it holds or timeout passes; state
// describes what was last seen, for the failure message.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (ok bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last seen: %s", timeout, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var apiClient = &http.Client{Timeout: 10 * time.Second}

// getJSON GETs base+path and decodes the JSON answer into v.
func getJSON(base, path string, v any) error {
	resp, err := apiClient.Get(base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.300s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %v: %.300s", path, err, body)
	}
	return nil
}

// listAlerts returns every alert of a rule (oldest first) through the API.
func listAlerts(base, ruleID string) ([]alerts.Alert, error) {
	var page alerts.Page
	err := getJSON(base, "/api/v1/alerts?sort=created_at&limit=1000&rule_id="+url.QueryEscape(ruleID), &page)
	if err == nil && page.Total != len(page.Alerts) {
		err = fmt.Errorf("alerts page has %d of %d alerts", len(page.Alerts), page.Total)
	}
	return page.Alerts, err
}

// healthView is the part of GET /api/v1/health the tests read.
type healthView struct {
	Status           string `json:"status"`
	EngineLagRecords uint64 `json:"engine_lag_records"`
	EventLog         struct {
		NextOffset uint64 `json:"next_offset"`
	} `json:"event_log"`
	Sources []struct {
		SourceID  string
		Events    int64
		LastError string
	} `json:"sources"`
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newUUID returns a random RFC 4122 version 4 UUID.
func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// oktaUser is who a generated System Log event is about.
type oktaUser struct {
	ID, Login, Name string
}

// failedSignIn is an Okta System Log LogEvent of a failed primary
// authentication (user.session.start, outcome FAILURE) from ip, shaped like
// what GET /api/v1/logs returns for a wrong password in Okta Identity Engine.
func failedSignIn(u oktaUser, ip string, published time.Time) []byte {
	requestID := randomHex(13) + "AAAB"
	session := "idx" + randomHex(11)
	geo := map[string]any{
		"city": "Frankfurt am Main", "state": "Hesse", "country": "Germany", "postalCode": "60313",
		"geolocation": map[string]any{"lat": 50.1109, "lon": 8.6821},
	}
	ev := map[string]any{
		"uuid":            newUUID(),
		"published":       published.UTC().Format("2006-01-02T15:04:05.000Z"),
		"eventType":       "user.session.start",
		"version":         "0",
		"severity":        "WARN",
		"legacyEventType": "core.user_auth.login_failed",
		"displayMessage":  "User login to Okta",
		"actor": map[string]any{
			"id": u.ID, "type": "User", "alternateId": u.Login, "displayName": u.Name, "detailEntry": nil,
		},
		"client": map[string]any{
			"userAgent": map[string]any{
				"rawUserAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
				"os":           "Linux", "browser": "CHROME",
			},
			"zone": "null", "device": "Computer", "id": nil, "ipAddress": ip, "geographicalContext": geo,
		},
		"device": nil,
		"authenticationContext": map[string]any{
			"authenticationProvider": nil, "credentialProvider": nil, "credentialType": nil, "issuer": nil,
			"interface": nil, "authenticationStep": 0, "rootSessionId": session, "externalSessionId": session,
		},
		"outcome": map[string]any{"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
		"securityContext": map[string]any{
			"asNumber": 24940, "asOrg": "hetzner online gmbh", "isp": "hetzner online gmbh", "domain": "your-server.de", "isProxy": false,
		},
		"debugContext": map[string]any{"debugData": map[string]any{
			"requestId": requestID, "requestUri": "/idp/idx/identify", "url": "/idp/idx/identify?", "threatSuspected": "false",
		}},
		"transaction": map[string]any{"type": "WEB", "id": requestID, "detail": map[string]any{}},
		"request": map[string]any{"ipChain": []any{map[string]any{
			"ip": ip, "geographicalContext": geo, "version": "V4", "source": nil,
		}}},
		"target": []any{
			map[string]any{"id": "lae" + randomHex(8), "type": "AuthenticatorEnrollment", "alternateId": "unknown", "displayName": "Password", "detailEntry": nil},
			map[string]any{"id": "0oa" + randomHex(8), "type": "AppInstance", "alternateId": "Okta Dashboard", "displayName": "Okta Dashboard", "detailEntry": nil},
		},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// uuidOf returns the uuid field of an Okta event.
func uuidOf(event []byte) (string, error) {
	var head struct {
		UUID string `json:"uuid"`
	}
	if err := json.Unmarshal(event, &head); err != nil {
		return "", err
	}
	if head.UUID == "" {
		return "", fmt.Errorf("event has no uuid: %.200s", event)
	}
	return head.UUID, nil
}
