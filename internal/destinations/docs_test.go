package destinations_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prowl-siem/prowl/internal/destinations"
)

var update = flag.Bool("update", false, "rewrite the generated sections of docs/destinations.md")

const docsPath = "../../docs/destinations.md"

// TestDocsInSync checks that the generated sections of docs/destinations.md
// (each type's settings table and example payload) match the code. Run
// `go test ./internal/destinations -run TestDocsInSync -update` to refresh.
func TestDocsInSync(t *testing.T) {
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	gen := map[string]string{}
	for _, ts := range destinations.Types() {
		gen["fields "+ts.Type] = destinations.MarkdownFields(ts)
		gen["payload "+ts.Type] = "```json\n" + examplePayload(t, ts.Type) + "\n```\n"
	}
	re := regexp.MustCompile(`(?s)(<!-- generated: ([a-z]+ [a-z]+) -->\n)(.*?)(<!-- end generated -->)`)
	seen := map[string]bool{}
	out := re.ReplaceAllStringFunc(string(doc), func(block string) string {
		m := re.FindStringSubmatch(block)
		body, ok := gen[m[2]]
		if !ok {
			t.Errorf("docs: unknown generated section %q", m[2])
			return block
		}
		seen[m[2]] = true
		return m[1] + body + m[4]
	})
	for k := range gen {
		if !seen[k] {
			t.Errorf("docs/destinations.md lacks the section <!-- generated: %s -->", k)
		}
	}
	if out == string(doc) {
		return
	}
	if *update {
		if err := os.WriteFile(docsPath, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/destinations.md is stale: run go test ./internal/destinations -run TestDocsInSync -update")
}

// examplePayload sends sampleAlert through a real destination of the type
// and returns the indented request body.
func examplePayload(t *testing.T, typ string) string {
	srv, reqs := receiver(t, nil)
	cfg := destinations.Config{ID: "4b1d5e0c-2f7a-4c8e-9d3b-6a5f1e2c7d90", Name: "SOAR webhook", Type: typ, Enabled: true}
	sec := map[string]string{"webhook_url": srv.URL, "routing_key": "YOUR_INTEGRATION_KEY"}
	switch typ {
	case "webhook", "pagerduty":
		cfg.Settings = json.RawMessage(fmt.Sprintf(`{"url":%q}`, srv.URL))
	}
	d, err := destinations.New(cfg, secrets(sec))
	if err != nil {
		t.Fatal(err)
	}
	if err := send(t, d, sampleAlert()); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, (<-reqs).Body, "", "  "); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(buf.String())
}
