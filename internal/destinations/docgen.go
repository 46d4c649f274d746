package destinations

import "github.com/prowl-siem/prowl/internal/spec"

// MarkdownFields renders a type's settings as a Markdown table, for
// docs/destinations.md (a test keeps the committed docs in sync) and the CLI.
func MarkdownFields(t TypeSpec) string {
	return spec.Markdown(t.Fields, spec.MarkdownStyle{Header: "Setting", Notes: true})
}
