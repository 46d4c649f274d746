package destinations_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/destinations"
)

func TestMain(m *testing.M) {
	// Route logs unknown destination names to the default logger; keep the
	// test output readable.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// request is one request an httptest receiver got.
type request struct {
	Header http.Header
	Body   []byte
}

// receiver starts an httptest server that records each request on the
// returned channel and answers with respond (nil: 200 "ok").
func receiver(t *testing.T, respond func(w http.ResponseWriter, n int)) (*httptest.Server, <-chan request) {
	t.Helper()
	reqs := make(chan request, 100)
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost {
			t.Errorf("method %s, want POST", r.Method)
		}
		n++
		reqs <- request{Header: r.Header.Clone(), Body: body}
		if respond != nil {
			respond(w, n)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

// secrets returns a secrets function reading m.
func secrets(m map[string]string) func(string) (string, error) {
	return func(name string) (string, error) {
		if v, ok := m[name]; ok {
			return v, nil
		}
		return "", destinations.ErrNoSecret
	}
}

// build builds a destination or fails the test.
func build(t *testing.T, typ string, settings string, secretValues map[string]string) destinations.Destination {
	t.Helper()
	d, err := destinations.New(destinations.Config{ID: "d1", Name: "dest one", Type: typ, Settings: json.RawMessage(settings), Enabled: true},
		secrets(secretValues))
	if err != nil {
		t.Fatalf("New %s: %v", typ, err)
	}
	return d
}

// sampleAlert is a realistic alert with fixed times.
func sampleAlert() destinations.Alert {
	t0 := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	return destinations.Alert{
		ID:           "3f1c9e0a8b7d6c5e4f3a2b1c0d9e8f7a",
		RuleID:       "Okta.AdminRoleAssigned",
		RuleVersion:  "v3",
		Type:         "RULE",
		Title:        "Okta admin role assigned to jane@example.com",
		Severity:     "HIGH",
		DedupString:  "jane@example.com",
		Description:  "A user was granted an Okta administrator role.",
		Reference:    "https://help.okta.com/en-us/content/topics/security/administrators-admin-comparison.htm",
		Runbook:      "Confirm the change with the actor; revoke the role if unexpected.",
		Status:       "OPEN",
		CreatedAt:    t0.Add(2 * time.Second),
		UpdatedAt:    t0.Add(2 * time.Second),
		FirstEventAt: t0,
		LastEventAt:  t0,
		EventCount:   1,
		LogTypes:     []string{"Okta.SystemLog"},
		AlertContext: json.RawMessage(`{"actor":"admin@example.com","target":"jane@example.com","role":"SUPER_ADMIN","client_ip":"198.51.100.7"}`),
		Tags:         []string{"Okta", "Privilege Escalation"},
		Reports:      map[string][]string{"MITRE ATT&CK": {"TA0004:T1098"}},
		OutputIDs:    nil,
		Link:         "https://prowl.example.com/alerts/3f1c9e0a8b7d6c5e4f3a2b1c0d9e8f7a",
	}
}

// hostileAlert carries injection attempts in every attacker-reachable field.
func hostileAlert() destinations.Alert {
	a := sampleAlert()
	a.Title = "Login by <!channel> <@U024BE7LH> <http://evil.example|click here> & [click](http://evil.example) <a href=\"http://evil.example\">x</a>\nSeverity: LOW"
	a.Description = "<!here> see <https://evil.example|the docs>"
	a.Runbook = "<!everyone> run <http://evil.example>"
	a.AlertContext = json.RawMessage(`{"user":"<!channel>","note":"<http://evil.example|reset your password>","md":"[x](http://evil.example)","tick":"` + "`<!here>`" + `"}`)
	a.LogTypes = []string{"Custom.<!channel>"}
	return a
}

func send(t *testing.T, d destinations.Destination, a destinations.Alert) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.Send(ctx, a)
}

// decode unmarshals a JSON body into a generic value.
func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, body)
	}
	return m
}

// path walks a decoded JSON value: strings index objects, ints arrays.
func path(t *testing.T, v any, keys ...any) any {
	t.Helper()
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: not an object: %v", k, v)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at [%d]: not an array that long: %v", k, v)
			}
			v = a[k]
		}
	}
	return v
}

var errTransient = errors.New("connection reset")
