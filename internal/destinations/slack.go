package destinations

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Slack settings.
const (
	slackWebhookURL    = "webhook_url"
	slackContextFields = "context_fields"
	slackTimeout       = "timeout"
)

func init() {
	Register(TypeSpec{
		Type:    "slack",
		Name:    "Slack",
		Summary: "Posts each alert to a Slack channel through an incoming webhook.",
		Description: "The message shows the severity (emoji and colour bar), title, rule, event count, " +
			"first and last seen times, the first alert_context fields and a button to the alert in the " +
			"console. Text from logs is escaped, so an event cannot add links or mentions (<!channel>) to " +
			"the message. Slack's 429 responses are retried after their Retry-After delay.",
		Fields: []Field{
			{Name: slackWebhookURL, Type: URL, Secret: true, Required: true,
				Example:     "https://hooks.slack.com/services/T000/B000/XXXX",
				Description: "The incoming webhook URL of the channel (Slack app → Incoming Webhooks). It is a secret: anyone with it can post to the channel."},
			{Name: slackContextFields, Type: Int, Default: "6", Min: "0", Max: "10", Advanced: true,
				Description: "How many alert_context fields to show (each value is cut to 200 characters)."},
			{Name: slackTimeout, Type: Duration, Default: "10s", Min: "1s", Max: "60s", Advanced: true,
				Description: "Timeout of each request."},
		},
		New: func(cfg Config, s *Settings) (Destination, error) {
			return &slack{
				url:           s.Secret(slackWebhookURL),
				contextFields: s.Int(slackContextFields),
				client:        newHTTPClient(s.Duration(slackTimeout)),
			}, nil
		},
	})
}

type slack struct {
	url           string
	contextFields int
	client        *http.Client
}

// Send implements Destination.
func (s *slack) Send(ctx context.Context, a Alert) error {
	body, err := marshalJSON(slackMessage(a, s.contextFields))
	if err != nil {
		return Permanent(fmt.Errorf("encoding Slack message: %w", err))
	}
	_, err = postJSON(ctx, s.client, s.url, body, nil)
	return err
}

// SlackEscape escapes text from an alert for Slack mrkdwn: &, < and > become
// &amp;, &lt; and &gt;, which is all Slack decodes, so <!channel>, <@U123>
// and <http://evil|click> from a log line show as typed instead of mentioning
// or linking. Control characters are replaced.
func SlackEscape(s string) string {
	return slackEscaper.Replace(sanitize(s))
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackCode formats s as inline code: escaped, with backticks (which would
// end the span) replaced by a look-alike.
func slackCode(s string) string {
	return "`" + strings.ReplaceAll(SlackEscape(s), "`", "ˋ") + "`"
}

type severityStyle struct {
	emoji, color string // Slack emoji, hex colour
}

var severityStyles = map[string]severityStyle{
	"CRITICAL": {":red_circle:", "#B71C1C"},
	"HIGH":     {":large_orange_circle:", "#E8590C"},
	"MEDIUM":   {":large_yellow_circle:", "#F2C744"},
	"LOW":      {":large_blue_circle:", "#1E88E5"},
	"INFO":     {":white_circle:", "#9E9E9E"},
}

func styleOf(sev string) severityStyle {
	if st, ok := severityStyles[strings.ToUpper(sev)]; ok {
		return st
	}
	return severityStyle{":grey_question:", "#9E9E9E"}
}

// Slack Block Kit types, only what prowl sends.
type (
	slackMsg struct {
		Text        string            `json:"text"`
		Attachments []slackAttachment `json:"attachments"`
	}
	slackAttachment struct {
		Color  string       `json:"color"`
		Blocks []slackBlock `json:"blocks"`
	}
	slackBlock struct {
		Type     string         `json:"type"`
		Text     *slackText     `json:"text,omitempty"`
		Fields   []slackText    `json:"fields,omitempty"`
		Elements []slackElement `json:"elements,omitempty"`
	}
	slackText struct {
		Type  string `json:"type"` // mrkdwn or plain_text
		Text  string `json:"text"`
		Emoji bool   `json:"emoji,omitempty"`
	}
	// slackElement is a context block's text or an actions block's button.
	slackElement struct {
		Type  string `json:"type"`
		Text  any    `json:"text,omitempty"` // string for mrkdwn elements, *slackText for buttons
		URL   string `json:"url,omitempty"`
		Style string `json:"style,omitempty"`
	}
)

func mrkdwn(s string) *slackText { return &slackText{Type: "mrkdwn", Text: s} }

// slackMessage renders an alert. Every alert-derived string goes through
// SlackEscape (or slackCode); only prowl's own markup is left unescaped.
// Lengths stay within Slack's limits (section text 3000, field 2000).
func slackMessage(a Alert, maxContext int) slackMsg {
	sev := strings.ToUpper(a.Severity)
	st := styleOf(sev)
	title := SlackEscape(truncate(displayTitle(a), 250))
	prefix := ""
	if a.Test {
		prefix = "[TEST] "
	}

	head := fmt.Sprintf("%s *%s%s* %s", st.emoji, prefix, SlackEscape(sev), "*"+title+"*")
	if desc := strings.TrimSpace(a.Description); desc != "" {
		head += "\n" + SlackEscape(truncate(desc, 300))
	}
	blocks := []slackBlock{{Type: "section", Text: mrkdwn(head)}}

	fields := []slackText{
		{Type: "mrkdwn", Text: "*Rule*\n" + slackCode(truncate(orDefault(a.RuleID, "-"), 200))},
		{Type: "mrkdwn", Text: fmt.Sprintf("*Events*\n%d", a.EventCount)},
		{Type: "mrkdwn", Text: "*First seen*\n" + slackDate(a.FirstEventAt)},
		{Type: "mrkdwn", Text: "*Last seen*\n" + slackDate(a.LastEventAt)},
	}
	if len(a.LogTypes) > 0 {
		fields = append(fields, slackText{Type: "mrkdwn", Text: "*Log types*\n" + SlackEscape(truncate(strings.Join(a.LogTypes, ", "), 300))})
	}
	if t := orDefault(a.Type, TypeRule); t != TypeRule {
		fields = append(fields, slackText{Type: "mrkdwn", Text: "*Type*\n" + SlackEscape(t)})
	}
	blocks = append(blocks, slackBlock{Type: "section", Fields: fields})

	if cf, more := contextFields(a.AlertContext, maxContext, 200); len(cf) > 0 {
		var b strings.Builder
		b.WriteString("*Alert context*")
		for i, f := range cf {
			line := fmt.Sprintf("\n• *%s*: %s", SlackEscape(f.Key), slackCode(oneLine(f.Value)))
			if b.Len()+len(line) > 2900 { // escaping can grow text; stay under Slack's 3000
				more += len(cf) - i
				break
			}
			b.WriteString(line)
		}
		if more > 0 {
			fmt.Fprintf(&b, "\n_…and %d more in the console_", more)
		}
		blocks = append(blocks, slackBlock{Type: "section", Text: mrkdwn(b.String())})
	}
	if rb := strings.TrimSpace(a.Runbook); rb != "" {
		blocks = append(blocks, slackBlock{Type: "section", Text: mrkdwn("*Runbook*\n" + SlackEscape(truncate(rb, 500)))})
	}
	if isWebURL(a.Link) && len(a.Link) <= 3000 {
		blocks = append(blocks, slackBlock{Type: "actions", Elements: []slackElement{{
			Type: "button", Text: &slackText{Type: "plain_text", Text: "View alert in prowl"}, URL: a.Link, Style: "primary",
		}}})
	}
	blocks = append(blocks, slackBlock{Type: "context", Elements: []slackElement{{
		Type: "mrkdwn", Text: "prowl · alert " + slackCode(truncate(a.ID, 100)),
	}}})

	return slackMsg{
		// The notification text (push, desktop): plain, escaped.
		Text:        fmt.Sprintf("%s[%s] %s", prefix, SlackEscape(sev), title),
		Attachments: []slackAttachment{{Color: st.color, Blocks: blocks}},
	}
}

// slackDate renders t in each reader's time zone, with a UTC fallback.
func slackDate(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time_secs}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04:05 UTC"))
}

var _ Destination = (*slack)(nil)
