package destinations

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Teams settings.
const (
	teamsWebhookURL = "webhook_url"
	teamsFormat     = "format"
	teamsTimeout    = "timeout"
)

// Teams message formats.
const (
	teamsMessageCard  = "message_card"
	teamsAdaptiveCard = "adaptive_card"
)

func init() {
	Register(TypeSpec{
		Type:    "teams",
		Name:    "Microsoft Teams",
		Summary: "Posts each alert to a Microsoft Teams channel through an incoming webhook.",
		Description: "The card shows the severity (colour), title, rule, event count, first and last seen " +
			"times, the first alert_context fields and a button to the alert in the console. Use format " +
			"message_card for an Office 365 connector webhook and adaptive_card for a Teams Workflows " +
			"(Power Automate) webhook. Text from logs has its Markdown and HTML markup escaped so an " +
			"event cannot add links to the card.",
		Fields: []Field{
			{Name: teamsWebhookURL, Type: URL, Secret: true, Required: true,
				Example:     "https://example.webhook.office.com/webhookb2/…",
				Description: "The channel's incoming webhook URL. It is a secret: anyone with it can post to the channel."},
			{Name: teamsFormat, Type: Enum, Options: []string{teamsMessageCard, teamsAdaptiveCard}, Default: teamsMessageCard,
				Description: "message_card (legacy connector MessageCard) or adaptive_card (Adaptive Card 1.4 in a message attachment, for Workflows webhooks)."},
			{Name: teamsTimeout, Type: Duration, Default: "10s", Min: "1s", Max: "60s", Advanced: true,
				Description: "Timeout of each request."},
		},
		New: func(cfg Config, s *Settings) (Destination, error) {
			return &teams{
				url:      s.Secret(teamsWebhookURL),
				adaptive: s.String(teamsFormat) == teamsAdaptiveCard,
				client:   newHTTPClient(s.Duration(teamsTimeout)),
			}, nil
		},
	})
}

type teams struct {
	url      string
	adaptive bool
	client   *http.Client
}

// Send implements Destination.
func (t *teams) Send(ctx context.Context, a Alert) error {
	var msg any = teamsMessageCardOf(a)
	if t.adaptive {
		msg = teamsAdaptiveCardOf(a)
	}
	body, err := marshalJSON(msg)
	if err != nil {
		return Permanent(fmt.Errorf("encoding Teams message: %w", err))
	}
	_, err = postJSON(ctx, t.client, t.url, body, nil)
	return err
}

// TeamsEscape escapes alert text for Teams cards. MessageCards render
// Markdown and some HTML, Adaptive Cards a Markdown subset; both are
// neutralised: Markdown punctuation gets a backslash (so "[x](url)" cannot
// form a link), and for MessageCards &, < and > become entities (so "<a>"
// cannot form a tag).
func TeamsEscape(s string, html bool) string {
	var b strings.Builder
	for _, r := range sanitize(s) {
		switch {
		case html && r == '&':
			b.WriteString("&amp;")
		case html && r == '<':
			b.WriteString("&lt;")
		case html && r == '>':
			b.WriteString("&gt;")
		case strings.ContainsRune("\\`*_~[]()#|<>!", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

type teamsFact struct {
	Name  string `json:"name,omitempty"`  // MessageCard
	Title string `json:"title,omitempty"` // Adaptive Card
	Value string `json:"value"`
}

// teamsFacts returns the alert's facts as (label, escaped value) pairs.
func teamsFacts(a Alert, html bool) [][2]string {
	esc := func(s string) string { return TeamsEscape(s, html) }
	facts := [][2]string{
		{"Severity", esc(strings.ToUpper(a.Severity))},
		{"Rule", esc(truncate(orDefault(a.RuleID, "-"), 200))},
		{"Events", fmt.Sprint(a.EventCount)},
		{"First seen", timeOrDash(a.FirstEventAt)},
		{"Last seen", timeOrDash(a.LastEventAt)},
	}
	if len(a.LogTypes) > 0 {
		facts = append(facts, [2]string{"Log types", esc(truncate(strings.Join(a.LogTypes, ", "), 300))})
	}
	if t := orDefault(a.Type, TypeRule); t != TypeRule {
		facts = append(facts, [2]string{"Type", esc(t)})
	}
	cf, more := contextFields(a.AlertContext, 6, 200)
	for _, f := range cf {
		facts = append(facts, [2]string{esc(f.Key), esc(oneLine(f.Value))})
	}
	if more > 0 {
		facts = append(facts, [2]string{"…", fmt.Sprintf("%d more alert_context fields in the console", more)})
	}
	facts = append(facts, [2]string{"Alert ID", esc(truncate(a.ID, 100))})
	return facts
}

func teamsTitle(a Alert, html bool) string {
	prefix := ""
	if a.Test {
		prefix = "[TEST] "
	}
	return fmt.Sprintf("%s[%s] %s", prefix, TeamsEscape(strings.ToUpper(a.Severity), html), TeamsEscape(truncate(displayTitle(a), 250), html))
}

func teamsMessageCardOf(a Alert) map[string]any {
	var facts []teamsFact
	for _, f := range teamsFacts(a, true) {
		facts = append(facts, teamsFact{Name: f[0], Value: f[1]})
	}
	title := teamsTitle(a, true)
	section := map[string]any{"facts": facts, "markdown": true}
	if d := strings.TrimSpace(a.Description); d != "" {
		section["text"] = TeamsEscape(truncate(d, 1000), true)
	}
	card := map[string]any{
		"@type":      "MessageCard",
		"@context":   "https://schema.org/extensions",
		"summary":    title,
		"title":      title,
		"themeColor": strings.TrimPrefix(styleOf(a.Severity).color, "#"),
		"sections":   []any{section},
	}
	if isWebURL(a.Link) {
		card["potentialAction"] = []any{map[string]any{
			"@type": "OpenUri", "name": "View alert in prowl",
			"targets": []any{map[string]string{"os": "default", "uri": a.Link}},
		}}
	}
	return card
}

// adaptiveColor maps severities to Adaptive Card text colours.
func adaptiveColor(sev string) string {
	switch strings.ToUpper(sev) {
	case "CRITICAL", "HIGH":
		return "Attention"
	case "MEDIUM":
		return "Warning"
	case "LOW":
		return "Accent"
	}
	return "Default"
}

func teamsAdaptiveCardOf(a Alert) map[string]any {
	var facts []teamsFact
	for _, f := range teamsFacts(a, false) {
		facts = append(facts, teamsFact{Title: f[0], Value: f[1]})
	}
	body := []any{
		map[string]any{"type": "TextBlock", "text": teamsTitle(a, false), "weight": "Bolder", "size": "Medium",
			"wrap": true, "color": adaptiveColor(a.Severity)},
	}
	if d := strings.TrimSpace(a.Description); d != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": TeamsEscape(truncate(d, 1000), false), "wrap": true})
	}
	body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body":    body,
	}
	if isWebURL(a.Link) {
		card["actions"] = []any{map[string]string{"type": "Action.OpenUrl", "title": "View alert in prowl", "url": a.Link}}
	}
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content":     card,
		}},
	}
}

func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

var _ Destination = (*teams)(nil)
