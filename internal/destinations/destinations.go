// Package destinations delivers alerts to where analysts work: generic
// webhooks, Slack, PagerDuty and Microsoft Teams.
//
// The pieces, in the order an alert meets them:
//
//   - Route picks the destinations of an alert with Panther's semantics
//     (the alert's own destinations() override, else the rule's OutputIds,
//     else every enabled destination configured for the alert's severity
//     and type).
//   - A Dispatcher records one Delivery per routed destination in a Store
//     and returns; its workers send each delivery, retrying transient
//     failures with exponential backoff (honouring Retry-After) and recording
//     every attempt. Pending deliveries survive a restart.
//   - A Destination sends one alert once. Each destination type is one file
//     of this package that registers a TypeSpec in init(); the spec's
//     fields drive config validation, the console's forms and
//     docs/destinations.md alike.
//
// Delivery is at least once: a receiver may see the same alert twice (after
// a timeout whose request did arrive, or a crash between sending and
// recording), and should de-duplicate on the alert id.
package destinations

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Alert types.
const (
	TypeRule      = "RULE"
	TypeRuleError = "RULE_ERROR"
	TypeSystem    = "SYSTEM"
)

// AlertTypes lists the alert types, the default of Config.AlertTypes.
var AlertTypes = []string{TypeRule, TypeRuleError, TypeSystem}

// Severities lists the alert severities from lowest to highest.
var Severities = []string{"INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// Skip is the destinations() value that suppresses delivery.
const Skip = "SKIP"

// Alert is what destinations receive: an alert as the alert store keeps it,
// flattened for rendering. Every string may hold attacker-controlled log
// content (titles, descriptions and alert context are computed from
// events), so destinations escape them for their target's markup.
type Alert struct {
	ID          string
	RuleID      string
	RuleVersion string
	Type        string // RULE, RULE_ERROR or SYSTEM
	Title       string
	Severity    string // INFO, LOW, MEDIUM, HIGH or CRITICAL
	DedupString string
	Description string
	Reference   string
	Runbook     string
	Status      string

	CreatedAt    time.Time
	UpdatedAt    time.Time
	FirstEventAt time.Time
	LastEventAt  time.Time
	EventCount   int
	LogTypes     []string

	AlertContext json.RawMessage // a JSON object, or empty
	Tags         []string
	Reports      map[string][]string

	// OutputIDs are the rule's OutputIds.
	OutputIDs []string
	// Destinations is the result of the rule's destinations() function:
	// nil when not set, ["SKIP"] (or empty) to deliver nowhere.
	Destinations []string
	// Link is the console URL of the alert.
	Link string
	// Test marks the alert that Dispatcher.Test sends; payloads say so, so
	// receivers can tell it from a real alert.
	Test bool
}

// Clone returns a deep copy of a, so a copy kept in a queue or store does
// not change when the caller reuses its slices. nil slices stay nil.
func (a Alert) Clone() Alert {
	a.LogTypes = slices.Clone(a.LogTypes)
	a.AlertContext = slices.Clone(a.AlertContext)
	a.Tags = slices.Clone(a.Tags)
	a.OutputIDs = slices.Clone(a.OutputIDs)
	a.Destinations = slices.Clone(a.Destinations)
	if a.Reports != nil {
		r := make(map[string][]string, len(a.Reports))
		for k, v := range maps.All(a.Reports) {
			r[k] = slices.Clone(v)
		}
		a.Reports = r
	}
	return a
}

// Config is one configured destination.
type Config struct {
	ID   string // stable id (a UUID in Panther); OutputIds and destinations() name it
	Name string // display name; destinations() may name it too
	Type string // a registered type: webhook, slack, pagerduty, teams
	// Severities routes alerts of these severities here by default (empty
	// means all). Alerts that name their destinations ignore it.
	Severities []string
	// AlertTypes routes alerts of these types here by default (empty means
	// RULE, RULE_ERROR and SYSTEM).
	AlertTypes []string
	// Settings are the type's non-secret settings as a JSON object; secret
	// fields are kept apart and read through New's secrets function.
	Settings json.RawMessage
	// Enabled is false to deliver nothing here, even to alerts that name it.
	Enabled bool
}

// ValidateConfig checks everything about cfg that can be checked without
// its secrets: identity, type, severities, alert types and settings. The
// error is a *ConfigError listing every problem.
func ValidateConfig(cfg Config) error {
	cerr := &ConfigError{Kind: kind, Type: cfg.Type, Name: cfg.Name}
	fail := func(field, format string, args ...any) {
		cerr.Fields = append(cerr.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(cfg.ID) == "" {
		fail("id", "is required")
	}
	switch name := strings.TrimSpace(cfg.Name); {
	case name == "":
		fail("name", "is required")
	case strings.EqualFold(name, Skip):
		fail("name", "%q is reserved: destinations() returns it to deliver nowhere", Skip)
	}
	for _, s := range cfg.Severities {
		if !slices.Contains(Severities, strings.ToUpper(s)) {
			fail("severities", "%q is not one of %s", s, strings.Join(Severities, ", "))
		}
	}
	for _, t := range cfg.AlertTypes {
		if !slices.Contains(AlertTypes, strings.ToUpper(t)) {
			fail("alert_types", "%q is not one of %s", t, strings.Join(AlertTypes, ", "))
		}
	}
	ts, ok := Lookup(cfg.Type)
	if !ok {
		fail("type", "unknown destination type %q%s", cfg.Type, typeHint(cfg.Type))
	} else if _, err := ts.Parse(cfg.Settings); err != nil {
		if ce, ok := err.(*ConfigError); ok {
			for _, f := range ce.Fields {
				cerr.Fields = append(cerr.Fields, f.Under("settings"))
			}
		} else {
			fail("settings", "%v", err)
		}
	}
	if len(cerr.Fields) > 0 {
		return cerr
	}
	return nil
}
