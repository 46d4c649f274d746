package spec

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func testSchema() *Schema {
	return &Schema{Kind: "widget", Noun: "settings", Type: "t", Fields: []Field{
		{Name: "name", Type: String, Required: true},
		{Name: "on", Type: Bool, Default: "true"},
		{Name: "every", Type: Duration, Default: "1m", Min: "1s", Max: "1h"},
		{Name: "n", Type: Int, Default: "5", Min: "1", Max: "10"},
		{Name: "mode", Type: Enum, Default: "a", Options: []string{"a", "b"}},
		{Name: "url", Type: URL},
		{Name: "headers", Type: Map},
		{Name: "key", Type: String, Secret: true},
	}}
}

func TestParse(t *testing.T) {
	s := testSchema()
	v, err := s.Parse(json.RawMessage(`{"name":"x","every":90,"on":false,"n":null,"url":"https://h/x/","headers":{"A":"b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if v.String("name") != "x" || v.Bool("on") || v.Duration("every") != 90*time.Second || v.Int("n") != 5 ||
		v.String("mode") != "a" || v.String("url") != "https://h/x/" || v.Map("headers")["A"] != "b" {
		t.Fatal("values wrong")
	}
	if !v.IsSet("every") || v.IsSet("n") || v.IsSet("mode") {
		t.Fatal("IsSet wrong")
	}
	for _, raw := range []string{``, ` `, `null`, `{}`} {
		if _, err := s.Parse(json.RawMessage(raw)); err == nil || !strings.Contains(err.Error(), "name: is required") {
			t.Errorf("Parse(%q) = %v", raw, err)
		}
	}
	s.TrimURLSlash = true
	if v, err = s.Parse(json.RawMessage(`{"name":"x","url":"https://h/x/"}`)); err != nil || v.String("url") != "https://h/x" {
		t.Errorf("TrimURLSlash: %v %q", err, v.String("url"))
	}
}

func TestParseErrors(t *testing.T) {
	s := testSchema()
	bad := func(cfg, want string) {
		t.Helper()
		_, err := s.Parse(json.RawMessage(cfg))
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%s) = %v, want %q", cfg, err, want)
		}
	}
	bad(`{}`, "t widget config: name: is required")
	bad(`{"name":1}`, "t widget config: name: wrong type number for a string field")
	bad(`{"name":"x","on":"yes"}`, "t widget config: on: want a JSON boolean, got a string")
	bad(`{"name":"x","n":"3"}`, "t widget config: n: want a JSON number, got a string")
	bad(`{"name":"x","every":"soon"}`, `t widget config: every: "soon" is not a duration like 90s, 5m or 24h`)
	bad(`{"name":"x","every":"2h"}`, "t widget config: every: 2h0m0s is above the maximum 1h")
	bad(`{"name":"x","every":0.5}`, "t widget config: every: 500ms is below the minimum 1s")
	bad(`{"name":"x","n":1.5}`, "t widget config: n: 1.5 is not an integer")
	bad(`{"name":"x","n":11}`, "t widget config: n: 11 is above the maximum 10")
	bad(`{"name":"x","mode":"c"}`, `t widget config: mode: "c" is not one of a, b`)
	bad(`{"name":"x","url":"ftp://h"}`, `t widget config: url: "ftp://h" is not an absolute http(s) URL`)
	bad(`{"name":"x","url":{"a":1}}`, "t widget config: url: wrong type object for a url field")
	bad(`{"name":"x","headers":{"a":1}}`, "t widget config: headers: want a JSON object of string values")
	bad(`{"name":"x","key":"s"}`, "t widget config: key: is a secret: store it with the widget's secrets, not in its settings")
	bad(`{"name":"x","nmae":"y"}`, `t widget config: nmae: unknown field (did you mean "name"?)`)
	bad(`"x"`, "t widget config: settings must be a JSON object: json: cannot unmarshal string into Go value of type map[string]json.RawMessage")
	// Several problems are reported together, unknown fields first.
	_, err := s.Parse(json.RawMessage(`{"zz":1,"n":0,"mode":"z"}`))
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Fields) != 4 || ce.Fields[0].Field != "zz" {
		t.Fatalf("%v", err)
	}
}

func TestCheck(t *testing.T) {
	s := testSchema()
	s.Check = func(v *Values) error {
		switch v.String("name") {
		case "field":
			return FieldError{Field: "mode", Message: "does not suit"}
		case "plain":
			return errors.New("nothing suits")
		}
		return nil
	}
	_, err := s.Parse(json.RawMessage(`{"name":"field"}`))
	if err == nil || err.Error() != "t widget config: mode: does not suit" {
		t.Error(err)
	}
	_, err = s.Parse(json.RawMessage(`{"name":"plain"}`))
	if err == nil || err.Error() != "t widget config: nothing suits" {
		t.Error(err)
	}
	// Check does not run on values that are invalid one by one.
	_, err = s.Parse(json.RawMessage(`{"name":"field","n":0}`))
	if err == nil || err.Error() != "t widget config: n: 0 is below the minimum 1" {
		t.Error(err)
	}
}

func TestSecrets(t *testing.T) {
	v, err := testSchema().Parse(json.RawMessage(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if v.Secret("key") != "" {
		t.Error("unset secret not empty")
	}
	v.SetSecret("key", "k")
	if v.Secret("key") != "k" {
		t.Error("secret not kept")
	}
	mustPanic(t, func() { v.Secret("name") })
	mustPanic(t, func() { v.SetSecret("nope", "x") })
	mustPanic(t, func() { v.Int("name") })
	mustPanic(t, func() { v.String("nope") })
}

func mustPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	f()
}

func TestCheckValue(t *testing.T) {
	f := Field{Name: "u", Type: URL}
	if f.CheckValue("https://h/") != nil || f.CheckValue("h") == nil {
		t.Error("URL")
	}
	f = Field{Name: "d", Type: Duration, Min: "0s", Max: "720h"}
	if f.CheckValue("1h") != nil || f.CheckValue("-1s") == nil || f.CheckValue("721h") == nil {
		t.Error("Duration")
	}
}

func TestErrors(t *testing.T) {
	fe := FieldError{Field: "url", Message: "is required"}
	if got := fe.Under("settings"); got.Field != "settings.url" {
		t.Error(got)
	}
	if got := (FieldError{Message: "bad"}).Under("settings"); got.Field != "settings" || got.Error() != "settings: bad" {
		t.Error(got)
	}
	ce := &ConfigError{Kind: "destination", Type: "slack", Name: "SecOps", Fields: []FieldError{fe, {Message: "bad"}}}
	if got := ce.Error(); got != `slack destination "SecOps" config: url: is required; bad` {
		t.Error(got)
	}
	ce.Name = ""
	if got := ce.Error(); got != `slack destination config: url: is required; bad` {
		t.Error(got)
	}
}

func TestMarkdown(t *testing.T) {
	fields := []Field{
		{Name: "url", Type: URL, Required: true, Example: "https://x", Description: "Where | to."},
		{Name: "mode", Type: Enum, Options: []string{"a", "b"}, Default: "a", Advanced: true, Description: "Mode."},
		{Name: "key", Type: String, Secret: true, Description: "Key."},
		{Name: "every", Type: Duration, Default: "1m", Min: "1s", Description: "How often."},
	}
	inline := "| Field | Type | Default | Description |\n|---|---|---|---|\n" +
		"| `url` | url |  | **Required.** Where \\| to. Example: `https://x`. |\n" +
		"| `mode` | one of `a`, `b` | `a` | Mode. *(advanced)* |\n" +
		"| `key` | secret |  | Key. |\n" +
		"| `every` | duration (1s..) | `1m` | How often. |\n"
	if got := Markdown(fields, MarkdownStyle{Header: "Field"}); got != inline {
		t.Errorf("inline:\n%s\nwant:\n%s", got, inline)
	}
	notes := "| Setting | Type | Default | Description |\n|---|---|---|---|\n" +
		"| `url` | url |  | Where \\| to. (**required**; e.g. `https://x`) |\n" +
		"| `mode` | one of a, b | `a` | Mode. |\n" +
		"| `key` | string |  | Key. (**secret**) |\n" +
		"| `every` | duration | `1m` | How often. (range 1s–…) |\n"
	if got := Markdown(fields, MarkdownStyle{Header: "Setting", Notes: true}); got != notes {
		t.Errorf("notes:\n%s\nwant:\n%s", got, notes)
	}
}
