package destinations_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/prowl-siem/prowl/internal/destinations"
)

// texts returns every "text" string in a decoded Slack message.
func texts(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "text" {
				out = append(out, s)
			} else {
				out = append(out, texts(x)...)
			}
		}
	case []any:
		for _, x := range v {
			out = append(out, texts(x)...)
		}
	}
	return out
}

func slackMessage(t *testing.T, a destinations.Alert, settings string) (map[string]any, string) {
	t.Helper()
	srv, reqs := receiver(t, nil)
	d := build(t, "slack", settings, map[string]string{"webhook_url": srv.URL + "/services/T0/B0/XYZ"})
	if err := send(t, d, a); err != nil {
		t.Fatal(err)
	}
	r := <-reqs
	return decode(t, r.Body), strings.Join(texts(decode(t, r.Body)), "\n")
}

func TestSlackMessage(t *testing.T) {
	a := sampleAlert()
	msg, all := slackMessage(t, a, "")
	if got := msg["text"]; got != "[HIGH] Okta admin role assigned to jane@example.com" {
		t.Errorf("notification text %q", got)
	}
	att := path(t, msg, "attachments", 0)
	if c := path(t, att, "color"); c != "#E8590C" {
		t.Errorf("colour %v", c)
	}
	head := path(t, att, "blocks", 0, "text", "text").(string)
	if !strings.HasPrefix(head, ":large_orange_circle: *HIGH* *Okta admin role assigned to jane@example.com*") {
		t.Errorf("headline %q", head)
	}
	for _, want := range []string{
		"*Rule*\n`Okta.AdminRoleAssigned`",
		"*Events*\n1",
		"*First seen*\n<!date^1773480413^{date_short_pretty} {time_secs}|2026-03-14 09:26:53 UTC>",
		"*Log types*\nOkta.SystemLog",
		"• *actor*: `admin@example.com`",
		"• *role*: `SUPER_ADMIN`",
		"*Runbook*\nConfirm the change",
		"prowl · alert `3f1c9e0a8b7d6c5e4f3a2b1c0d9e8f7a`",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("message lacks %q:\n%s", want, all)
		}
	}
	var button map[string]any
	for _, b := range path(t, att, "blocks").([]any) {
		if b.(map[string]any)["type"] == "actions" {
			button = path(t, b, "elements", 0).(map[string]any)
		}
	}
	if button == nil || button["url"] != a.Link || path(t, button, "text", "text") != "View alert in prowl" {
		t.Errorf("console button %v", button)
	}
	if strings.Contains(all, "*Type*") {
		t.Error("RULE alerts should not show their type")
	}

	// Rule errors say so; test alerts are marked; no link, no button.
	a.Type, a.Test, a.Link = "RULE_ERROR", true, ""
	msg, all = slackMessage(t, a, "")
	if !strings.Contains(all, "*Type*\nRULE_ERROR") || !strings.HasPrefix(msg["text"].(string), "[TEST] [HIGH]") {
		t.Errorf("rule error / test marking missing:\n%s", all)
	}
	if b, _ := json.Marshal(msg); strings.Contains(string(b), `"actions"`) {
		t.Error("button without a link")
	}
}

func TestSlackEscapesHostileContent(t *testing.T) {
	_, all := slackMessage(t, hostileAlert(), "")
	// Only prowl's own date tokens may open a Slack control sequence.
	rest := regexp.MustCompile(`<!date\^\d+\^\{date_short_pretty\} \{time_secs\}\|[0-9: -]+UTC>`).ReplaceAllString(all, "")
	if i := strings.IndexAny(rest, "<>"); i >= 0 {
		t.Fatalf("unescaped < or > reached Slack at %q:\n%s", rest[max(0, i-20):min(len(rest), i+30)], all)
	}
	for _, want := range []string{
		"&lt;!channel&gt;", "&lt;@U024BE7LH&gt;", "&lt;http://evil.example|click here&gt; &amp;",
		"&lt;!here&gt; see", "&lt;!everyone&gt;", "*user*: `&lt;!channel&gt;`", "Custom.&lt;!channel&gt;",
		"`ˋ&lt;!here&gt;ˋ`", // backticks cannot close the code span
	} {
		if !strings.Contains(all, want) {
			t.Errorf("escaped form %q missing:\n%s", want, all)
		}
	}
	// The title's line break cannot fake a new line.
	if strings.Contains(all, "\nSeverity: LOW") {
		t.Error("title line break reached the message")
	}
	if got := destinations.SlackEscape("a & b <c> \x00"); got != "a &amp; b &lt;c&gt; \uFFFD" {
		t.Errorf("SlackEscape = %q", got)
	}
}

func TestSlackLimits(t *testing.T) {
	a := sampleAlert()
	a.Title = strings.Repeat("<", 5000)
	a.Description = strings.Repeat("&", 5000)
	a.Runbook = strings.Repeat(">", 5000)
	ctx := map[string]string{}
	for i := range 30 {
		ctx[fmt.Sprintf("k%02d", i)] = strings.Repeat("<&>", 1000)
	}
	a.AlertContext, _ = json.Marshal(ctx)
	msg, _ := slackMessage(t, a, `{"context_fields":10}`)
	for _, b := range path(t, msg, "attachments", 0, "blocks").([]any) {
		if s, ok := path(t, b, "text").(map[string]any); ok {
			if n := len([]rune(s["text"].(string))); n > 3000 {
				t.Errorf("section text of %d chars exceeds Slack's 3000", n)
			}
		}
		if fs, ok := path(t, b, "fields").([]any); ok {
			if len(fs) > 10 {
				t.Errorf("%d fields exceed Slack's 10", len(fs))
			}
			for _, f := range fs {
				if n := len([]rune(path(t, f, "text").(string))); n > 2000 {
					t.Errorf("field of %d chars exceeds Slack's 2000", n)
				}
			}
		}
	}
	_, all := slackMessage(t, a, `{"context_fields":10}`)
	if !strings.Contains(all, "more in the console_") {
		t.Error("hidden context fields are not counted")
	}
}

func TestSlackSecretsAndErrors(t *testing.T) {
	// The webhook URL is a secret: refused in settings, required as a secret.
	err := destinations.ValidateConfig(destinations.Config{ID: "s", Name: "s", Type: "slack",
		Settings: json.RawMessage(`{"webhook_url":"https://hooks.slack.com/services/T/B/X"}`)})
	if err == nil || !strings.Contains(err.Error(), "is a secret") {
		t.Errorf("webhook_url in settings: %v", err)
	}
	_, err = destinations.New(destinations.Config{ID: "s", Name: "s", Type: "slack"}, secrets(nil))
	if err == nil || !destinations.IsPermanent(err) || !strings.Contains(err.Error(), "webhook_url: is required") {
		t.Errorf("missing secret: %v", err)
	}
	_, err = destinations.New(destinations.Config{ID: "s", Name: "s", Type: "slack"},
		secrets(map[string]string{"webhook_url": "not a url/T0KEN"}))
	if err == nil || strings.Contains(err.Error(), "T0KEN") {
		t.Errorf("bad secret URL: %v (must not echo the secret)", err)
	}

	// Slack answers 404 no_service for a revoked webhook: permanent.
	srv, _ := receiver(t, func(w http.ResponseWriter, _ int) {
		w.WriteHeader(404)
		_, _ = w.Write([]byte("no_service"))
	})
	err = send(t, build(t, "slack", "", map[string]string{"webhook_url": srv.URL + "/services/T0KEN"}), sampleAlert())
	if !destinations.IsPermanent(err) || !strings.Contains(err.Error(), "no_service") || strings.Contains(err.Error(), "T0KEN") {
		t.Errorf("revoked webhook: %v", err)
	}
}
