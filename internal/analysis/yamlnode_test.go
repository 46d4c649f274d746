package analysis

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func parseNode(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatalf("parsing %q: %v", src, err)
	}
	return doc.Content[0]
}

func TestToJSON(t *testing.T) {
	f := func(src, want string) {
		t.Helper()
		got, err := toJSON(parseNode(t, src))
		if err != nil {
			t.Fatalf("toJSON(%q): %v", src, err)
		}
		if string(got) != want {
			t.Errorf("toJSON(%q)\n got %s\nwant %s", src, got, want)
		}
	}
	// Key order is kept.
	f("z: 1\na: 2\nm: 3", `{"z":1,"a":2,"m":3}`)
	// JSON with trailing commas, as panther-analysis tests are written.
	f("{\n  \"b\": [1, 2,],\n  \"a\": {\"x\": null,},\n}", `{"b":[1,2],"a":{"x":null}}`)
	// Scalars.
	f("[true, false, ~, null, 1, -2, 0x1F, 1.5, 1.0, 2e3, 'x', \"y\"]", `[true,false,null,null,1,-2,31,1.5,1.0,2000.0,"x","y"]`)
	f("n: 12345678901234567890", `{"n":12345678901234567890}`)
	// Strings that look like other things stay strings.
	f("a: 'true'\nb: '1'\nc: yes\nd: 0777", `{"a":"true","b":"1","c":"yes","d":511}`)
	// Timestamps stay strings.
	f("t: 2023-01-02T03:04:05Z\nd: 2023-01-02", `{"t":"2023-01-02T03:04:05Z","d":"2023-01-02"}`)
	// No HTML escaping; unicode and control characters escaped properly.
	f(`s: "<a href='x'>&</a> é \t"`, `{"s":"<a href='x'>&</a> é \t"}`)
	// Non-string keys become their JSON text.
	f("1: a\ntrue: b\n~: c\n1.5: d", `{"1":"a","true":"b","null":"c","1.5":"d"}`)
	// Anchors, aliases and merge keys.
	f("a: &x {k: 1}\nb: *x", `{"a":{"k":1},"b":{"k":1}}`)
	f("base: &b {k: 1, j: 2}\nc:\n  <<: *b\n  j: 3\n  l: 4", `{"base":{"k":1,"j":2},"c":{"j":3,"l":4,"k":1}}`)
	f("a: &a {x: 1}\nb: &b {y: 2}\nc: {<<: [*a, *b], z: 3}", `{"a":{"x":1},"b":{"y":2},"c":{"z":3,"x":1,"y":2}}`)
	// Block scalars.
	f("q: |\n  line1\n  line2\n", `{"q":"line1\nline2\n"}`)
	f("[]", `[]`)
	f("{}", `{}`)
}

func TestToJSONErrors(t *testing.T) {
	f := func(src, wantErr string) {
		t.Helper()
		_, err := toJSON(parseNode(t, src))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("toJSON(%q) error = %v, want it to contain %q", src, err, wantErr)
		}
	}
	f("a: .inf", ".inf cannot be represented in JSON")
	f("a: .nan", ".nan cannot be represented in JSON")
	f("? [a, b]\n: c", "only scalar keys")
	// Recursive alias.
	n := parseNode(t, "a: &x [1]")
	seq := n.Content[1]
	seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.AliasNode, Alias: seq})
	if _, err := toJSON(n); err != errTooLarge {
		t.Errorf("recursive alias: error = %v, want errTooLarge", err)
	}
	if _, err := toValue(n); err != errTooLarge {
		t.Errorf("recursive alias: toValue error = %v, want errTooLarge", err)
	}
}

func TestToValue(t *testing.T) {
	f := func(src string, want any) {
		t.Helper()
		got, err := toValue(parseNode(t, src))
		if err != nil {
			t.Fatalf("toValue(%q): %v", src, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("toValue(%q)\n got %#v\nwant %#v", src, got, want)
		}
	}
	f("a: 1", map[string]any{"a": 1})
	f("- KeyPath: eventType\n  Condition: Equals\n  Value: user.session.start\n",
		[]any{map[string]any{"KeyPath": "eventType", "Condition": "Equals", "Value": "user.session.start"}})
	f("[1.5, true, ~, x, 2023-01-02]", []any{1.5, true, nil, "x", "2023-01-02"})
	f("{1: a, true: b}", map[string]any{"1": "a", "true": "b"})
	f("a: &x {k: [1]}\nb: {<<: *x, j: 2}", map[string]any{
		"a": map[string]any{"k": []any{1}},
		"b": map[string]any{"k": []any{1}, "j": 2},
	})
}

func TestDescribe(t *testing.T) {
	f := func(src, want string) {
		t.Helper()
		if got := describe(parseNode(t, "v: "+src).Content[1]); got != want {
			t.Errorf("describe(%q) = %q, want %q", src, got, want)
		}
	}
	f("yes", `string "yes"`)
	f("true", "boolean true")
	f("3", "integer 3")
	f("3.5", "number 3.5")
	f("~", "null")
	f("", "null")
	f("[1]", "list")
	f("{a: 1}", "mapping")
	f("2023-01-02", "timestamp 2023-01-02")
	f(strings.Repeat("x", 50), `string "`+strings.Repeat("x", 37)+`..."`)
}

func TestDuplicateKeys(t *testing.T) {
	f := func(src string, want ...string) {
		t.Helper()
		var got []string
		duplicateKeys(parseNode(t, src), func(k *yaml.Node, first int) {
			got = append(got, k.Value+"@"+strconv.Itoa(k.Line)+"<"+strconv.Itoa(first))
		})
		if !reflect.DeepEqual(got, want) {
			t.Errorf("duplicateKeys(%q) = %q, want %q", src, got, want)
		}
	}
	f("a: 1\nb: 2")
	f("a: 1\nb: 2\na: 3", "a@3<1")
	f("x:\n  a: 1\n  a: 2\ny: [{b: 1, b: 2}]", "a@3<2", "b@4<4")
	// Merged keys may be overridden.
	f("a: &x {k: 1}\nb:\n  <<: *x\n  k: 2")
}
