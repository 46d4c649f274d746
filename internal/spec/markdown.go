package spec

import (
	"cmp"
	"fmt"
	"strings"
)

// MarkdownStyle chooses how Markdown lays out a field table.
type MarkdownStyle struct {
	// Header is the title of the first column: "Field", "Setting".
	Header string
	// Notes puts a field's flags, range and example in parentheses after
	// its description: "(**required**; **secret**; range 1s–60s; e.g. `x`)".
	// Without it they are inline: the Type column reads "secret" for a
	// secret and ends with the range "(1s..60s)"; the description starts
	// with "**Required.**" and ends with "Example: `x`." and "*(advanced)*".
	Notes bool
}

// Markdown renders fields as a reference table with the columns
// Header, Type, Default and Description, one row per field in order.
func Markdown(fields []Field, style MarkdownStyle) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s | Type | Default | Description |\n|---|---|---|---|\n", style.Header)
	for _, f := range fields {
		var typ, desc string
		if style.Notes {
			typ, desc = f.notedCells()
		} else {
			typ, desc = f.inlineCells()
		}
		def := ""
		if f.Default != "" {
			def = "`" + f.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, typ, def, strings.ReplaceAll(desc, "|", `\|`))
	}
	return b.String()
}

// inlineCells are the Type and Description cells without Notes.
func (f Field) inlineCells() (typ, desc string) {
	typ = string(f.Type)
	switch {
	case f.Secret:
		typ = "secret"
	case f.Type == Enum:
		typ = "one of `" + strings.Join(f.Options, "`, `") + "`"
	}
	if f.Min != "" || f.Max != "" {
		typ += fmt.Sprintf(" (%s..%s)", f.Min, f.Max)
	}
	desc = f.Description
	if f.Required {
		desc = "**Required.** " + desc
	}
	if f.Example != "" {
		desc += fmt.Sprintf(" Example: `%s`.", f.Example)
	}
	if f.Advanced {
		desc += " *(advanced)*"
	}
	return typ, desc
}

// notedCells are the Type and Description cells with Notes.
func (f Field) notedCells() (typ, desc string) {
	typ = string(f.Type)
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
		notes = append(notes, fmt.Sprintf("range %s–%s", cmp.Or(f.Min, "…"), cmp.Or(f.Max, "…")))
	}
	if f.Example != "" {
		notes = append(notes, "e.g. `"+f.Example+"`")
	}
	desc = f.Description
	if len(notes) > 0 {
		desc += " (" + strings.Join(notes, "; ") + ")"
	}
	return typ, desc
}
