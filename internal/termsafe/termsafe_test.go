package termsafe

import "testing"

func TestEscape(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	f("plain text", "plain text")
	f("a\tb\nc", `a	b\x0ac`)
	if got := EscapeBlock("a\nb\x1b"); got != "a\nb\\x1b" {
		t.Errorf("EscapeBlock keeps newlines: %q", got)
	}
	f("\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`)
	f("bell\a and \u009b csi", `bell\x07 and \x9b csi`)
}
