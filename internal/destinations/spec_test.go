package destinations_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/prowl-siem/prowl/internal/destinations"
)

func TestTypesRegistry(t *testing.T) {
	var names []string
	for _, ts := range destinations.Types() {
		names = append(names, ts.Type)
		if ts.Name == "" || ts.Summary == "" || ts.Description == "" || ts.New == nil || len(ts.Fields) == 0 {
			t.Errorf("%s: incomplete spec", ts.Type)
		}
		for _, f := range ts.Fields {
			if f.Description == "" || f.Type == "" {
				t.Errorf("%s.%s: incomplete field", ts.Type, f.Name)
			}
			if f.Secret && f.Default != "" {
				t.Errorf("%s.%s: a secret cannot have a default", ts.Type, f.Name)
			}
		}
	}
	if got := strings.Join(names, ","); got != "pagerduty,slack,teams,webhook" {
		t.Errorf("types %s", got)
	}
	// The spec serialises for the console's forms, without its functions.
	b, err := json.Marshal(destinations.Types())
	if err != nil || !strings.Contains(string(b), `"name":"webhook_url","type":"url"`) || !strings.Contains(string(b), `"secret":true`) {
		t.Errorf("spec JSON: %v %s", err, b)
	}
	defer func() {
		if recover() == nil {
			t.Error("duplicate Register did not panic")
		}
	}()
	destinations.Register(destinations.TypeSpec{Type: "slack", New: func(destinations.Config, *destinations.Settings) (destinations.Destination, error) { return nil, nil }})
}

func TestValidateConfig(t *testing.T) {
	ok := destinations.Config{ID: "1", Name: "Slack", Type: "slack", Severities: []string{"HIGH", "critical"}, AlertTypes: []string{"RULE"}}
	if err := destinations.ValidateConfig(ok); err != nil {
		t.Fatal(err)
	}
	f := func(mut func(*destinations.Config), want ...string) {
		t.Helper()
		c := ok
		mut(&c)
		err := destinations.ValidateConfig(c)
		var ce *destinations.ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("want a *ConfigError, got %v", err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v lacks %q", err, w)
			}
		}
	}
	f(func(c *destinations.Config) { c.Type = "slak" }, `unknown destination type "slak" (did you mean "slack"?)`)
	f(func(c *destinations.Config) { c.ID, c.Name = "", "" }, "id: is required", "name: is required")
	f(func(c *destinations.Config) { c.Name = "skip" }, "reserved")
	f(func(c *destinations.Config) { c.Severities = []string{"URGENT"} }, `severities: "URGENT" is not one of INFO, LOW, MEDIUM, HIGH, CRITICAL`)
	f(func(c *destinations.Config) { c.AlertTypes = []string{"POLICY"} }, "alert_types")
	f(func(c *destinations.Config) { c.Settings = json.RawMessage(`[1]`) }, "settings must be a JSON object")
	f(func(c *destinations.Config) { c.Settings = json.RawMessage(`{"context_fields":"3"}`) }, "settings.context_fields: want a JSON number")
	f(func(c *destinations.Config) { c.Settings = json.RawMessage(`{"context_fields":11}`) }, "above the maximum 10")
	f(func(c *destinations.Config) { c.Type = "teams"; c.Settings = json.RawMessage(`{"format":"html"}`) }, `"html" is not one of message_card, adaptive_card`)
}

func TestNewSecrets(t *testing.T) {
	cfg := destinations.Config{ID: "w", Name: "Hook", Type: "webhook", Settings: json.RawMessage(`{"url":"https://x.example"}`)}
	// Optional secrets may be missing: ErrNoSecret, wrapped or not, or "".
	for _, fn := range []func(string) (string, error){
		nil,
		func(string) (string, error) { return "", nil },
		func(n string) (string, error) {
			return "", errors.Join(errors.New("store: not found"), destinations.ErrNoSecret)
		},
	} {
		if _, err := destinations.New(cfg, fn); err != nil {
			t.Errorf("optional secrets unset: %v", err)
		}
	}
	// Any other error reading a secret is reported and is not permanent.
	_, err := destinations.New(cfg, func(string) (string, error) { return "", errors.New("database is locked") })
	if err == nil || destinations.IsPermanent(err) || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("secret read failure: %v", err)
	}
	// Config errors are permanent.
	cfg.Type = "nope"
	if _, err := destinations.New(cfg, nil); !destinations.IsPermanent(err) {
		t.Errorf("unknown type: %v", err)
	}
}
