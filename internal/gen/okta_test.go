package gen

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

func collect(t *testing.T, opts OktaOptions) []Event {
	t.Helper()
	var out []Event
	if err := OktaEvents(opts, func(e Event) error {
		out = append(out, Event{JSON: append([]byte(nil), e.JSON...), Scenario: e.Scenario, Published: e.Published})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func allNames() []string {
	var names []string
	for _, s := range OktaScenarios() {
		names = append(names, s.Name)
	}
	return names
}

func TestOktaDeterministic(t *testing.T) {
	opts := OktaOptions{Count: 3000, Seed: 42, Attacks: []string{"brute_force", "mfa_fatigue"}}
	var a, b bytes.Buffer
	for _, buf := range []*bytes.Buffer{&a, &b} {
		if err := Okta(opts, func(e []byte) error { buf.Write(e); buf.WriteByte('\n'); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same seed gave different output")
	}
	var c bytes.Buffer
	opts.Seed = 43
	if err := Okta(opts, func(e []byte) error { c.Write(e); c.WriteByte('\n'); return nil }); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("different seeds gave the same output")
	}
}

var publishedRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestOktaShape(t *testing.T) {
	start := time.Date(2025, 3, 4, 17, 0, 0, 0, time.UTC)
	events := collect(t, OktaOptions{Count: 20000, Seed: 7, Start: start, Attacks: allNames()})
	if len(events) != 20000 {
		t.Fatalf("got %d events, want 20000", len(events))
	}
	uuids := map[string]bool{}
	types := map[string]int{}
	scenarios := map[string]int{}
	var prev time.Time
	topKeys := []string{"uuid", "published", "eventType", "version", "severity", "legacyEventType", "displayMessage", "actor",
		"client", "device", "authenticationContext", "outcome", "securityContext", "debugContext", "transaction", "request", "target"}
	for i, e := range events {
		var m map[string]any
		if err := json.Unmarshal(e.JSON, &m); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		for _, k := range topKeys {
			if _, ok := m[k]; !ok {
				t.Fatalf("event %d lacks %q: %s", i, k, e.JSON)
			}
		}
		if len(m) != len(topKeys) {
			t.Fatalf("event %d has extra keys: %s", i, e.JSON)
		}
		pub := m["published"].(string)
		if !publishedRE.MatchString(pub) {
			t.Fatalf("published %q", pub)
		}
		ts, _ := time.Parse(time.RFC3339Nano, pub)
		if !ts.Equal(e.Published) {
			t.Fatalf("Published %v != %v", e.Published, ts)
		}
		if ts.Before(prev) {
			t.Fatalf("event %d out of order: %v before %v", i, ts, prev)
		}
		if i == 0 && !ts.Equal(start) {
			t.Fatalf("first event at %v, want %v", ts, start)
		}
		prev = ts
		id := m["uuid"].(string)
		if !uuidRE.MatchString(id) || uuids[id] {
			t.Fatalf("bad or duplicate uuid %q", id)
		}
		uuids[id] = true
		if m["version"] != "0" {
			t.Fatalf("version %v", m["version"])
		}
		types[m["eventType"].(string)]++
		scenarios[e.Scenario]++
		dbg := m["debugContext"].(map[string]any)["debugData"].(map[string]any)
		if _, ok := dbg["requestId"]; !ok {
			t.Fatalf("no requestId: %s", e.JSON)
		}
		if _, ok := dbg["prowlScenario"]; ok {
			t.Fatal("label present without Label")
		}
		tx := m["transaction"].(map[string]any)
		client := m["client"].(map[string]any)
		chain := m["request"].(map[string]any)["ipChain"].([]any)
		switch tx["type"] {
		case "WEB":
			if client["ipAddress"] == nil || len(chain) != 1 || chain[0].(map[string]any)["ip"] != client["ipAddress"] {
				t.Fatalf("WEB event without a consistent client address: %s", e.JSON)
			}
			geo := client["geographicalContext"].(map[string]any)
			if geo["country"] == "" {
				t.Fatalf("no geo: %s", e.JSON)
			}
		case "JOB":
			if client["ipAddress"] != nil || len(chain) != 0 {
				t.Fatalf("JOB event with a client: %s", e.JSON)
			}
		default:
			t.Fatalf("transaction type %v", tx["type"])
		}
	}
	for _, want := range []string{"user.session.start", "user.authentication.sso", "user.authentication.auth_via_mfa",
		"policy.evaluate_sign_on", "app.oauth2.as.token.grant", "user.session.end", "system.push.send_factor_verify_push",
		"group.user_membership.add", "application.user_membership.add"} {
		if types[want] == 0 {
			t.Errorf("no %s events (%v)", want, types)
		}
	}
	if types["user.authentication.sso"] < types["user.account.update_password"]*10 {
		t.Errorf("implausible mix: %v", types)
	}
	for _, name := range allNames() {
		if scenarios[name] == 0 {
			t.Errorf("scenario %s produced no events", name)
		}
	}
	if scenarios[""] < 15000 {
		t.Errorf("only %d benign events", scenarios[""])
	}
}

func TestOktaAddressesStable(t *testing.T) {
	// One address always resolves to one place and one network.
	events := collect(t, OktaOptions{Count: 10000, Seed: 3, Attacks: allNames()})
	where := map[string]string{}
	for _, e := range events {
		var m struct {
			Client struct {
				IP  *string         `json:"ipAddress"`
				Geo json.RawMessage `json:"geographicalContext"`
			} `json:"client"`
			Sec json.RawMessage `json:"securityContext"`
		}
		if err := json.Unmarshal(e.JSON, &m); err != nil {
			t.Fatal(err)
		}
		if m.Client.IP == nil {
			continue
		}
		// Proxies in the stuffing scenario flip isProxy; compare the place.
		key := string(m.Client.Geo)
		if old, ok := where[*m.Client.IP]; ok && old != key {
			t.Fatalf("%s seen at %s and %s", *m.Client.IP, old, key)
		}
		where[*m.Client.IP] = key
	}
}

func TestOktaLabel(t *testing.T) {
	events := collect(t, OktaOptions{Count: 2000, Seed: 1, Attacks: []string{"api_token"}, Label: true})
	n := 0
	for _, e := range events {
		has := strings.Contains(string(e.JSON), `"prowlScenario":"api_token"`)
		if has != (e.Scenario == "api_token") {
			t.Fatalf("label mismatch (%q): %s", e.Scenario, e.JSON)
		}
		if has {
			n++
		}
	}
	if n == 0 {
		t.Fatal("no labelled events")
	}
}

func TestOktaErrors(t *testing.T) {
	if err := Okta(OktaOptions{Count: 10, Attacks: []string{"nope"}}, func([]byte) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "brute_force") {
		t.Fatalf("unknown attack: %v", err)
	}
	if err := Okta(OktaOptions{Count: 20, Attacks: []string{"password_spray"}}, func([]byte) error { return nil }); err == nil {
		t.Fatal("want an error when the attack does not fit")
	}
	if err := Okta(OktaOptions{}, func([]byte) error { return nil }); err == nil {
		t.Fatal("want an error for Count 0")
	}
}

func TestOktaTightCount(t *testing.T) {
	// Exactly enough room: the output is the attack alone.
	s, err := NewOktaStream(OktaOptions{Count: 1, Attacks: []string{"api_token"}})
	if err == nil {
		t.Fatalf("expected error, got stream %v", s != nil)
	}
	events := collect(t, OktaOptions{Count: 2, Seed: 5, Attacks: []string{"api_token"}})
	for _, e := range events {
		if e.Scenario != "api_token" {
			t.Fatalf("benign event in a tight run: %s", e.JSON)
		}
	}
}

func TestOktaEndless(t *testing.T) {
	s, err := NewOktaStream(OktaOptions{Seed: 9, Attacks: []string{"brute_force", "api_token"}, AttackEvery: 500})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i := 0; i < 3000; i++ {
		e, ok, err := s.Next()
		if err != nil || !ok {
			t.Fatalf("stream ended at %d: %v", i, err)
		}
		seen[e.Scenario]++
	}
	if seen["brute_force"] < 15 || seen["api_token"] < 2 {
		t.Fatalf("attacks not replayed: %v", seen)
	}
}

func TestScenariosDocumented(t *testing.T) {
	for _, s := range OktaScenarios() {
		if s.Description == "" || len(s.RuleIDs) == 0 {
			t.Errorf("%s: missing description or rules", s.Name)
		}
	}
}
