package destinations_test

import (
	"slices"
	"testing"

	"github.com/prowl-siem/prowl/internal/destinations"
)

func TestRoute(t *testing.T) {
	all := []destinations.Config{
		{ID: "id-slack", Name: "Slack #secops", Type: "slack", Enabled: true},                                        // every severity
		{ID: "id-pd", Name: "PagerDuty", Type: "pagerduty", Severities: []string{"HIGH", "CRITICAL"}, Enabled: true}, // high only
		{ID: "id-off", Name: "Old webhook", Type: "webhook", Enabled: false},
		{ID: "id-errors", Name: "Rule errors", Type: "webhook", AlertTypes: []string{"RULE_ERROR"}, Enabled: true},
		{ID: "id-low", Name: "Low noise", Type: "webhook", Severities: []string{"info", "low"}, Enabled: true}, // lower-case on purpose
	}
	f := func(name string, a destinations.Alert, want ...string) {
		t.Helper()
		var got []string
		for _, c := range destinations.Route(a, all) {
			got = append(got, c.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: routed to %v, want %v", name, got, want)
		}
	}
	rule := func(sev string) destinations.Alert {
		return destinations.Alert{ID: "a1", RuleID: "R", Type: "RULE", Severity: sev}
	}
	with := func(a destinations.Alert, fn func(*destinations.Alert)) destinations.Alert { fn(&a); return a }

	// Severity routing (no overrides).
	f("high", rule("HIGH"), "id-slack", "id-pd")
	f("info", rule("INFO"), "id-slack", "id-low")
	f("severity is case-insensitive", rule("critical"), "id-slack", "id-pd")
	f("rule error goes to the default-typed and the errors-only destination",
		with(rule("MEDIUM"), func(a *destinations.Alert) { a.Type = "RULE_ERROR" }), "id-slack", "id-errors")
	f("empty type means RULE", with(rule("MEDIUM"), func(a *destinations.Alert) { a.Type = "" }), "id-slack")

	// destinations() overrides.
	f("SKIP", with(rule("CRITICAL"), func(a *destinations.Alert) { a.Destinations = []string{"SKIP"} }))
	f("empty list is SKIP", with(rule("CRITICAL"), func(a *destinations.Alert) { a.Destinations = []string{} }))
	f("SKIP among names", with(rule("CRITICAL"), func(a *destinations.Alert) { a.Destinations = []string{"id-pd", "SKIP"} }))
	f("by id, ignoring severity filters", with(rule("INFO"), func(a *destinations.Alert) { a.Destinations = []string{"id-pd"} }), "id-pd")
	f("by display name", with(rule("INFO"), func(a *destinations.Alert) { a.Destinations = []string{"PagerDuty"} }), "id-pd")
	f("named twice, delivered once, in config order", with(rule("INFO"), func(a *destinations.Alert) {
		a.Destinations = []string{"PagerDuty", "id-slack", "id-pd"}
	}), "id-slack", "id-pd")
	f("unknown names ignored", with(rule("INFO"), func(a *destinations.Alert) { a.Destinations = []string{"nope", "Low noise"} }), "id-low")
	f("all unknown falls back to severity routing", with(rule("HIGH"), func(a *destinations.Alert) { a.Destinations = []string{"nope"} }),
		"id-slack", "id-pd")
	f("disabled destination never receives, even when named",
		with(rule("HIGH"), func(a *destinations.Alert) { a.Destinations = []string{"Old webhook"} }))
	f("destinations() beats OutputIds", with(rule("HIGH"), func(a *destinations.Alert) {
		a.Destinations = []string{"id-low"}
		a.OutputIDs = []string{"id-pd"}
	}), "id-low")

	// OutputIds.
	f("OutputIds", with(rule("INFO"), func(a *destinations.Alert) { a.OutputIDs = []string{"id-pd", "id-off"} }), "id-pd")
	f("OutputIds all unknown falls back", with(rule("INFO"), func(a *destinations.Alert) { a.OutputIDs = []string{"gone"} }),
		"id-slack", "id-low")

	if got := destinations.Route(rule("HIGH"), nil); len(got) != 0 {
		t.Errorf("no configs: routed to %v", got)
	}
}
