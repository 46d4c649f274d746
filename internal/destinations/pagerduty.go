package destinations

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// PagerDuty settings.
const (
	pdRoutingKey = "routing_key"
	pdURL        = "url"
	pdSource     = "source"
	pdTimeout    = "timeout"
)

// PagerDutyEventsURL is the Events API v2 endpoint.
const PagerDutyEventsURL = "https://events.pagerduty.com/v2/enqueue"

func init() {
	Register(TypeSpec{
		Type:    "pagerduty",
		Name:    "PagerDuty",
		Summary: "Triggers a PagerDuty incident for each alert through the Events API v2.",
		Description: "Each alert becomes a trigger event whose dedup_key is the alert id, so a retried or " +
			"repeated delivery updates the same PagerDuty alert instead of paging twice. Severities map " +
			"CRITICAL→critical, HIGH→error, MEDIUM→warning, LOW and INFO→info. The summary is the alert " +
			"title; custom_details carry the rule, counts, times and alert_context; links point to the " +
			"alert in the console. 429 and 5xx responses are retried; a 400 (invalid event) is not.",
		Fields: []Field{
			{Name: pdRoutingKey, Type: String, Secret: true, Required: true, Example: "R0123456789ABCDEF0123456789ABCDEF",
				Description: "The integration key of an Events API v2 integration on the PagerDuty service."},
			{Name: pdURL, Type: URL, Default: PagerDutyEventsURL, Advanced: true,
				Description: "Events API endpoint; change it only for a proxy or tests (for EU accounts PagerDuty documents https://events.eu.pagerduty.com/v2/enqueue)."},
			{Name: pdSource, Type: String, Default: "prowl", Advanced: true,
				Description: "The payload's source: where PagerDuty says the problem is."},
			{Name: pdTimeout, Type: Duration, Default: "10s", Min: "1s", Max: "60s", Advanced: true,
				Description: "Timeout of each request."},
		},
		New: func(cfg Config, s *Settings) (Destination, error) {
			return &pagerDuty{
				key:    s.Secret(pdRoutingKey),
				url:    s.String(pdURL),
				source: orDefault(s.String(pdSource), "prowl"),
				client: newHTTPClient(s.Duration(pdTimeout)),
			}, nil
		},
	})
}

type pagerDuty struct {
	key, url, source string
	client           *http.Client
}

// PagerDuty Events API v2 request body, only what prowl sends.
type (
	pdEvent struct {
		RoutingKey  string    `json:"routing_key"`
		EventAction string    `json:"event_action"`
		DedupKey    string    `json:"dedup_key"`
		Payload     pdPayload `json:"payload"`
		Client      string    `json:"client"`
		ClientURL   string    `json:"client_url,omitempty"`
		Links       []pdLink  `json:"links,omitempty"`
	}
	pdPayload struct {
		Summary       string         `json:"summary"`
		Source        string         `json:"source"`
		Severity      string         `json:"severity"`
		Timestamp     string         `json:"timestamp,omitempty"`
		Component     string         `json:"component,omitempty"`
		Class         string         `json:"class,omitempty"`
		CustomDetails map[string]any `json:"custom_details"`
	}
	pdLink struct {
		Href string `json:"href"`
		Text string `json:"text"`
	}
)

// pdSeverity maps prowl severities to the four PagerDuty accepts.
func pdSeverity(sev string) string {
	switch strings.ToUpper(sev) {
	case "CRITICAL":
		return "critical"
	case "HIGH":
		return "error"
	case "MEDIUM":
		return "warning"
	default:
		return "info"
	}
}

// Send implements Destination.
func (p *pagerDuty) Send(ctx context.Context, a Alert) error {
	body, err := marshalJSON(p.event(a))
	if err != nil {
		return Permanent(fmt.Errorf("encoding PagerDuty event: %w", err))
	}
	_, err = postJSON(ctx, p.client, p.url, body, nil)
	return err
}

func (p *pagerDuty) event(a Alert) pdEvent {
	summary := displayTitle(a)
	if a.Test {
		summary = "[TEST] " + summary
	}
	details := map[string]any{
		"alert_id":      a.ID,
		"alert_type":    orDefault(a.Type, TypeRule),
		"rule_id":       a.RuleID,
		"severity":      strings.ToUpper(a.Severity),
		"event_count":   a.EventCount,
		"log_types":     nonNil(a.LogTypes),
		"alert_context": contextObject(a.AlertContext),
	}
	for k, v := range map[string]string{"rule_version": a.RuleVersion, "description": a.Description,
		"runbook": a.Runbook, "reference": a.Reference, "dedup_string": a.DedupString} {
		if v != "" {
			details[k] = truncate(v, 2000)
		}
	}
	for k, t := range map[string]time.Time{"first_event_at": a.FirstEventAt, "last_event_at": a.LastEventAt} {
		if !t.IsZero() {
			details[k] = t.UTC().Format(time.RFC3339)
		}
	}
	if len(a.Tags) > 0 {
		details["tags"] = a.Tags
	}
	if a.Test {
		details["test"] = true
	}
	ev := pdEvent{
		RoutingKey:  p.key,
		EventAction: "trigger",
		DedupKey:    truncate(a.ID, 255),
		Payload: pdPayload{
			Summary:       truncate(summary, 1024),
			Source:        p.source,
			Severity:      pdSeverity(a.Severity),
			Class:         a.RuleID,
			CustomDetails: details,
		},
		Client: "prowl",
	}
	if !a.CreatedAt.IsZero() {
		ev.Payload.Timestamp = a.CreatedAt.UTC().Format(time.RFC3339)
	}
	if len(a.LogTypes) > 0 {
		ev.Payload.Component = a.LogTypes[0]
	}
	if isWebURL(a.Link) {
		ev.ClientURL = a.Link
		ev.Links = append(ev.Links, pdLink{Href: a.Link, Text: "View alert in prowl"})
	}
	if isWebURL(a.Runbook) {
		ev.Links = append(ev.Links, pdLink{Href: a.Runbook, Text: "Runbook"})
	}
	if isWebURL(a.Reference) {
		ev.Links = append(ev.Links, pdLink{Href: a.Reference, Text: "Reference"})
	}
	return ev
}

var _ Destination = (*pagerDuty)(nil)
