package sources

import (
	"fmt"
	"strings"

	"github.com/prowl-siem/prowl/internal/sources/core"
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
		b.WriteString("| Field | Type | Default | Description |\n|---|---|---|---|\n")
		for _, f := range s.Fields {
			typ := string(f.Type)
			switch {
			case f.Secret:
				typ = "secret"
			case f.Type == core.Enum:
				typ = "one of `" + strings.Join(f.Options, "`, `") + "`"
			}
			if f.Min != "" || f.Max != "" {
				typ += fmt.Sprintf(" (%s..%s)", f.Min, f.Max)
			}
			def := ""
			if f.Default != "" {
				def = "`" + f.Default + "`"
			}
			desc := f.Description
			if f.Required {
				desc = "**Required.** " + desc
			}
			if f.Example != "" {
				desc += fmt.Sprintf(" Example: `%s`.", f.Example)
			}
			if f.Advanced {
				desc += " *(advanced)*"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, typ, def, strings.ReplaceAll(desc, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// Markers delimit the generated reference in docs/sources.md.
const (
	ReferenceBegin = "<!-- BEGIN GENERATED: sources.Reference(); update with PROWL_UPDATE_DOCS=1 go test ./internal/sources/ -->"
	ReferenceEnd   = "<!-- END GENERATED -->"
)
