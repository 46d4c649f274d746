package destinations_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/prowl-siem/prowl/internal/destinations"
)

func teamsBody(t *testing.T, a destinations.Alert, settings string) (map[string]any, string) {
	t.Helper()
	srv, reqs := receiver(t, nil)
	d := build(t, "teams", settings, map[string]string{"webhook_url": srv.URL + "/webhookb2/x"})
	if err := send(t, d, a); err != nil {
		t.Fatal(err)
	}
	body := (<-reqs).Body
	return decode(t, body), string(body)
}

func TestTeamsMessageCard(t *testing.T) {
	a := sampleAlert()
	card, _ := teamsBody(t, a, "")
	if card["@type"] != "MessageCard" || card["themeColor"] != "E8590C" {
		t.Errorf("card header %v %v", card["@type"], card["themeColor"])
	}
	if card["title"] != "[HIGH] Okta admin role assigned to jane@example.com" {
		t.Errorf("title %q", card["title"])
	}
	facts := map[string]string{}
	for _, f := range path(t, card, "sections", 0, "facts").([]any) {
		facts[path(t, f, "name").(string)] = path(t, f, "value").(string)
	}
	if facts["Rule"] != `Okta.AdminRoleAssigned` || facts["Events"] != "1" || facts["role"] != `SUPER\_ADMIN` ||
		facts["First seen"] != "2026-03-14 09:26:53 UTC" {
		t.Errorf("facts %v", facts)
	}
	if path(t, card, "potentialAction", 0, "targets", 0, "uri") != a.Link {
		t.Errorf("no console action: %v", card["potentialAction"])
	}
}

func TestTeamsAdaptiveCard(t *testing.T) {
	a := sampleAlert()
	msg, _ := teamsBody(t, a, `{"format":"adaptive_card"}`)
	att := path(t, msg, "attachments", 0)
	if path(t, att, "contentType") != "application/vnd.microsoft.card.adaptive" {
		t.Errorf("contentType %v", path(t, att, "contentType"))
	}
	card := path(t, att, "content")
	if path(t, card, "type") != "AdaptiveCard" || path(t, card, "body", 0, "color") != "Attention" {
		t.Errorf("card %v", card)
	}
	if path(t, card, "actions", 0, "url") != a.Link {
		t.Errorf("actions %v", path(t, card, "actions"))
	}
}

func TestTeamsEscapesHostileContent(t *testing.T) {
	for _, format := range []string{"message_card", "adaptive_card"} {
		msg, _ := teamsBody(t, hostileAlert(), `{"format":"`+format+`"}`)
		b, _ := json.Marshal(msg)
		var all []string
		collectStrings(msg, &all)
		text := strings.Join(all, "\n")
		for _, bad := range []string{"[click](http", "<a href", "<http://evil", "](http://evil"} {
			if unescaped(text, bad) {
				t.Errorf("%s: %q reached Teams unescaped:\n%s", format, bad, b)
			}
		}
		if !strings.Contains(text, `\[click\]\(http://evil.example\)`) {
			t.Errorf("%s: markdown link not backslash-escaped:\n%s", format, text)
		}
	}
}

func collectStrings(v any, out *[]string) {
	switch v := v.(type) {
	case string:
		*out = append(*out, v)
	case map[string]any:
		for _, x := range v {
			collectStrings(x, out)
		}
	case []any:
		for _, x := range v {
			collectStrings(x, out)
		}
	}
}

// unescaped reports whether pat occurs in text other than right after a
// backslash (which makes Markdown show it literally).
func unescaped(text, pat string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], pat)
		if j < 0 {
			return false
		}
		if i+j == 0 || text[i+j-1] != '\\' {
			return true
		}
		i += j + 1
	}
}
