package destinations

import (
	"fmt"
	"strings"
)

// MarkdownFields renders a type's settings as a Markdown table, for
// docs/destinations.md (a test keeps the committed docs in sync) and the CLI.
func MarkdownFields(t TypeSpec) string {
	var b strings.Builder
	b.WriteString("| Setting | Type | Default | Description |\n|---|---|---|---|\n")
	for _, f := range t.Fields {
		typ := string(f.Type)
		if f.Type == Enum {
			typ = "one of " + strings.Join(f.Options, ", ")
		}
		var notes []string
		if f.Required {
			notes = append(notes, "**required**")
		}
		if f.Secret {
			notes = append(notes, "**secret**")
		}
		if f.Min != "" || f.Max != "" {
			notes = append(notes, fmt.Sprintf("range %s–%s", orDefault(f.Min, "…"), orDefault(f.Max, "…")))
		}
		if f.Example != "" {
			notes = append(notes, "e.g. `"+f.Example+"`")
		}
		desc := f.Description
		if len(notes) > 0 {
			desc += " (" + strings.Join(notes, "; ") + ")"
		}
		def := ""
		if f.Default != "" {
			def = "`" + f.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, typ, def, strings.ReplaceAll(desc, "|", `\|`))
	}
	return b.String()
}
