package jsonscan

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSkipSpace(t *testing.T) {
	for _, tc := range []struct {
		in   string
		i    int
		want int
	}{{"", 0, 0}, {"  \t\r\nx", 0, 5}, {"x ", 1, 2}, {"ab", 1, 1}} {
		if got := SkipSpace([]byte(tc.in), tc.i); got != tc.want {
			t.Errorf("SkipSpace(%q, %d) = %d, want %d", tc.in, tc.i, got, tc.want)
		}
	}
}

func TestSkipToQuoteOrBackslash(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{{"abc", 0}, {"abcdefgh\"", 8}, {"abcdefghijklm\\nopqrstu", 13}, {"abcdefghijkl", 8}, {"ab\"defghijkl", 2}} {
		if got := SkipToQuoteOrBackslash([]byte(tc.in), 0); got != tc.want {
			t.Errorf("SkipToQuoteOrBackslash(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestAppendUnescaped(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{`plain`, "plain", true},
		{`a\"b\\c\/d\b\f\n\r\t`, "a\"b\\c/d\b\f\n\r\t", true},
		{`\u00e9\u00E9`, "éé", true},
		{`\ud83d\ude00!`, "😀!", true},
		{`\ud83d`, "\uFFFD", false},
		{`\ude00x`, "\uFFFDx", false},
		{`\ud83d\u0041`, "\uFFFDA", false},
		{`\x`, "x", false},
		{`\u12`, "", false},
		{`\u12zz`, "", false},
		{`a\`, "a", false},
	} {
		got, ok := AppendUnescaped(nil, []byte(tc.in))
		if string(got) != tc.want || ok != tc.ok {
			t.Errorf("AppendUnescaped(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if tc.ok {
			var s string
			if err := json.Unmarshal([]byte(`"`+tc.in+`"`), &s); err != nil || s != tc.want {
				t.Errorf("encoding/json reads %q as %q (%v)", tc.in, s, err)
			}
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\r", "\x00\x1f\x7f", "é ü 日本 🙂",
		"bad \xff utf8", "sep \u2028 \u2029", "<script>&"} {
		var back string
		out := AppendString(nil, []byte(s))
		if err := json.Unmarshal(out, &back); err != nil {
			t.Errorf("%q → %s: %v", s, out, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if back != want {
			t.Errorf("%q → %s → %q", s, out, back)
		}
	}
}

func TestIndexedMembers(t *testing.T) {
	type kv struct{ key, val string }
	collect := func(d string, offs []uint32) ([]kv, bool) {
		var got []kv
		ok := IndexedMembers([]byte(d), offs, func(k int, key, val []byte) bool {
			got = append(got, kv{string(key), string(val)})
			return true
		})
		return got, ok
	}
	d := `{"a":1,"b\"c":{"x":[1,",\"y\":"]},"d":"e,\"f\":g","":null}`
	got, ok := collect(d, []uint32{1, 7, 34, 50})
	want := []kv{{`"a"`, `1`}, {`"b\"c"`, `{"x":[1,",\"y\":"]}`}, {`"d"`, `"e,\"f\":g"`}, {`""`, `null`}}
	if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v %v\nwant %v", ok, got, want)
	}
	if _, ok := collect(`{}`, nil); !ok {
		t.Error("an empty object fits no offsets")
	}
	for _, bad := range []struct {
		d    string
		offs []uint32
	}{
		{`{"a":1}`, nil},                  // members missing
		{`{"a":1,"b":2}`, []uint32{2, 7}}, // not at a key
		{`{"a":1,"b":2}`, []uint32{1, 6}}, // not after a comma
		{`{"a" :1}`, []uint32{1}},         // not compact
		{`{"a":1,"b":2}`, []uint32{1, 40}},
		{`["a",1]`, []uint32{1}},
	} {
		if _, ok := collect(bad.d, bad.offs); ok {
			t.Errorf("%s with %v: want false", bad.d, bad.offs)
		}
	}
}
