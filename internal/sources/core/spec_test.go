package core

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/spec"
)

var testSpec = Spec{Type: "t", Fields: []spec.Field{
	{Name: "name", Type: spec.String, Required: true},
	{Name: "on", Type: spec.Bool, Default: "true"},
	{Name: "every", Type: spec.Duration, Default: "1m", Min: "1s", Max: "1h"},
	{Name: "n", Type: spec.Int, Default: "5", Min: "1", Max: "10"},
	{Name: "mode", Type: spec.Enum, Default: "a", Options: []string{"a", "b"}},
	{Name: "url", Type: spec.URL},
	{Name: "key", Type: spec.String, Secret: true},
}}

func TestParse(t *testing.T) {
	c, err := testSpec.Parse(json.RawMessage(`{"name":"x","every":90,"on":false,"n":null,"url":"https://h/x/"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.String("name") != "x" || c.Bool("on") || c.Duration("every") != 90*time.Second || c.Int("n") != 5 ||
		c.String("mode") != "a" || c.String("url") != "https://h/x" {
		t.Fatal("values wrong")
	}
	if !c.IsSet("every") || c.IsSet("n") || c.IsSet("mode") {
		t.Fatal("IsSet wrong")
	}
	bad := func(cfg, want string) {
		t.Helper()
		_, err := testSpec.Parse(json.RawMessage(cfg))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want %q", cfg, err, want)
		}
	}
	bad(`{}`, "t source config: name: is required")
	bad(`{"name":1}`, "name: wrong type number for a string field")
	bad(`{"name":"x","on":"yes"}`, "on: want a JSON boolean, got a string")
	bad(`{"name":"x","every":"soon"}`, `every: "soon" is not a duration`)
	bad(`{"name":"x","every":"2h"}`, "every: 2h0m0s is above the maximum 1h")
	bad(`{"name":"x","n":1.5}`, "n: 1.5 is not an integer")
	bad(`{"name":"x","mode":"c"}`, `mode: "c" is not one of a, b`)
	bad(`{"name":"x","key":"s"}`, "key: is a secret")
	bad(`{"name":"x","nam":"y"}`, `nam: unknown field (did you mean "name"?)`)
	bad(`{"name":"x","url":{"a":1}}`, "url: wrong type object")
	bad(`"x"`, "must be a JSON object")
	// Several problems are reported together.
	_, err = testSpec.Parse(json.RawMessage(`{"n":0,"mode":"z"}`))
	if ce, ok := err.(*spec.ConfigError); !ok || len(ce.Fields) != 3 {
		t.Fatalf("%v", err)
	}
}

func TestAccessorOfUndeclaredFieldPanics(t *testing.T) {
	c, _ := testSpec.Parse(json.RawMessage(`{"name":"x"}`))
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	c.Int("name")
}
