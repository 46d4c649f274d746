package match

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzCompile checks that compiling arbitrary YAML never panics, and that a
// compiled matcher and alert evaluate a sample event without panicking.
// Run with:
//
//	go test ./internal/match/ -run '^$' -fuzz FuzzCompile -fuzztime 60s -fuzzminimizetime 2s
//
// (the default minimization of long new inputs can pause progress for a
// minute; that is not a hang).
func FuzzCompile(f *testing.F) {
	seeds := []string{
		`[{KeyPath: eventType, Condition: Equals, Value: user.session.start}]`,
		`[{Any: [{KeyPath: "target[*].type", Condition: IsIn, Values: [a, b]}, {Condition: AlwaysFalse}]}]`,
		`[{KeyPath: target, Condition: AnyElement, Expressions: [{Key: id, Condition: StartsWith, Value: t}]}]`,
		`[{Condition: IsGreaterThan, Values: [{KeyPath: a}, {DeepKey: [b, c]}]}]`,
		`[{Enrichment: {Table: t, Selector: s, FieldPath: "x[0].y"}, Condition: IsIPAddressInCIDR, Value: 10.0.0.0/8}]`,
		`[{None: [{OnlyOne: [{KeyPath: "$.a['b'][-1]", Condition: IsNullOrEmpty}]}]}]`,
		`[{KeyPath: "a[", Condition: Exists}]`,
		`{Key: 1}`,
		`[[[]]]`,
		`&a [*a]`,
	}
	for _, s := range seeds {
		f.Add(s, "{actor.id} {target[*].id} {{x}}")
	}
	event := parseEvent(f, okta, false)
	f.Fuzz(func(t *testing.T, src, title string) {
		var v any
		if err := yaml.Unmarshal([]byte(src), &v); err != nil {
			return
		}
		if m, err := Compile(v); err == nil {
			m.Match(event)
			m.Match(map[string]any{})
		}
		if m, err := CompileInlineFilters(v); err == nil {
			m.Match(event)
		}
		a, err := CompileAlert(AlertSpec{Title: title, GroupBy: v, Context: v, DynamicSeverities: v, RuleID: "R"})
		if err == nil {
			a.Evaluate(event)
		}
	})
}
