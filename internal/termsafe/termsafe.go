// Package termsafe makes untrusted text (log content, titles, alert
// context) safe to print on a terminal: control characters, which could
// move the cursor or change colours, are shown as \xNN escapes.
package termsafe

import (
	"fmt"
	"strings"
	"unicode"
)

// Escape makes s safe as one line: every control character but tab,
// newlines included (so text cannot forge extra lines), becomes \xNN.
func Escape(s string) string {
	return escape(s, func(r rune) bool { return r != '\t' && unicode.IsControl(r) })
}

// EscapeBlock is Escape for multi-line text: newlines are kept.
func EscapeBlock(s string) string {
	return escape(s, func(r rune) bool { return r != '\t' && r != '\n' && unicode.IsControl(r) })
}

func escape(s string, bad func(rune) bool) string {
	if !strings.ContainsFunc(s, bad) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if bad(r) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
