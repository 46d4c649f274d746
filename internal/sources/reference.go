package sources

import (
	"fmt"
	"strings"

	"github.com/prowl-siem/prowl/internal/spec"
)

// Reference renders every source type's spec as Markdown: the field
// reference in docs/sources.md, between the markers below.
func Reference() string {
	var b strings.Builder
	for _, s := range Types() {
		fmt.Fprintf(&b, "### `%s`: %s\n\n%s\n\n%s\n\n", s.Type, s.Name, s.Summary, s.Description)
		if len(s.LogTypes) > 0 {
			fmt.Fprintf(&b, "Log types: `%s`.\n\n", strings.Join(s.LogTypes, "`, `"))
		}
		b.WriteString(spec.Markdown(s.Fields, spec.MarkdownStyle{Header: "Field"}))
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// Markers delimit the generated reference in docs/sources.md.
const (
	ReferenceBegin = "<!-- BEGIN GENERATED: sources.Reference(); update with PROWL_UPDATE_DOCS=1 go test ./internal/sources/ -->"
	ReferenceEnd   = "<!-- END GENERATED -->"
)
