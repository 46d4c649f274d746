package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestGenOktaIsDeterministic(t *testing.T) {
	a, code := prowl(t, "gen", "okta", "--count", "300", "--seed", "7", "--attacks", "brute_force,admin_grant")
	if code != 0 {
		t.Fatalf("gen: %d %s", code, a)
	}
	b, _ := prowl(t, "gen", "okta", "--count", "300", "--seed", "7", "--attacks", "brute_force,admin_grant")
	if a != b {
		t.Error("the same seed must give the same events")
	}
	lines := strings.Split(strings.TrimSpace(a), "\n")
	if len(lines) != 300 {
		t.Fatalf("want 300 events, got %d", len(lines))
	}
	grants := 0
	for i, l := range lines {
		var ev struct {
			UUID      string `json:"uuid"`
			EventType string `json:"eventType"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.UUID == "" {
			t.Fatalf("line %d is not an Okta event: %v %s", i+1, err, l)
		}
		if ev.EventType == "user.account.privilege.grant" {
			grants++
		}
	}
	if grants == 0 {
		t.Error("the admin_grant scenario should add a privilege grant")
	}
	if out, code := prowl(t, "gen", "okta", "--attacks", "no_such_attack", "--count", "10"); code == 0 {
		t.Errorf("an unknown scenario must fail: %s", out)
	}
}
