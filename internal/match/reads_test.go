package match

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/prowl-siem/prowl/internal/jsondec"
)

// selected decodes what sel picks of event (JSON).
func selected(t *testing.T, event string, sel *jsondec.Selection) map[string]any {
	t.Helper()
	m, err := jsondec.DecodeSelected([]byte(event), nil, sel)
	if err != nil {
		t.Fatalf("DecodeSelected %s: %v", event, err)
	}
	return m
}

// checkReads fails unless m says got on event (JSON) decoded with what m
// reads.
func checkReads(t *testing.T, m *Matcher, event string, got bool) {
	t.Helper()
	if m.Match(selected(t, event, m.Reads())) != got {
		t.Errorf("the matcher says %v on the event and %v on what it reads of it: %s", got, !got, event)
	}
}

func TestReads(t *testing.T) {
	const event = `{"eventType":"x","EVENTTYPE":"y","other":1,
		"actor":{"id":"1","name":"n"},
		"target":[{"name":"a","id":"b"}],
		"client":{"ip":"192.0.2.1","user":{"name":"u","id":2}},
		"p_enrichment":{"t":{"s":{"f":1}}}}`
	check := func(what string, sel *jsondec.Selection, want string) {
		t.Helper()
		var w map[string]any
		dec := json.NewDecoder(strings.NewReader(want))
		dec.UseNumber()
		if err := dec.Decode(&w); err != nil {
			t.Fatal(err)
		}
		if got := selected(t, event, sel); !reflect.DeepEqual(got, w) {
			g, _ := json.Marshal(got)
			t.Errorf("%s reads %s, want %s", what, g, want)
		}
	}
	for _, tc := range []struct{ expr, want string }{
		{`[{Key: eventType, Condition: Equals, Value: x}]`, `{"eventType":"x","EVENTTYPE":"y"}`},
		{`[{DeepKey: [actor, id], Condition: Exists}, {Any: [{KeyPath: client.user.name, Condition: Equals, Value: u}]}]`,
			`{"actor":{"id":"1"},"client":{"user":{"name":"u"}}}`},
		// A comprehension reads its list, then the elements: not the event.
		{`[{Key: target, Condition: AnyElement, Expressions: [{Key: name, Condition: Equals, Value: a}, {Key: other, Condition: Exists}]}]`,
			`{"target":[{"name":"a","id":"b"}]}`},
		// Enrichment always starts at the event, even inside a comprehension.
		{`[{Key: target, Condition: AnyElement, Expressions: [{Enrichment: {Table: t, Selector: s, FieldPath: f}, Condition: Exists}]}]`,
			`{"target":[{"name":"a","id":"b"}],"p_enrichment":{"t":{"s":{"f":1}}}}`},
		{`[{Condition: Equals, Values: [{Key: actor}, {KeyPath: client.ip}]}]`, `{"actor":{"id":"1","name":"n"},"client":{"ip":"192.0.2.1"}}`},
		// A list step reads the value before it whole.
		{`[{KeyPath: "client.user[0].x", Condition: Exists}]`, `{"client":{"user":{"name":"u","id":2}}}`},
		{`[{Condition: AlwaysTrue}]`, `{}`},
	} {
		m, err := Compile(exprList(t, tc.expr))
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		check(tc.expr, m.Reads(), tc.want)
	}

	a, err := CompileAlert(AlertSpec{RuleID: "R", Title: "{actor.id} from {client.ip}",
		GroupBy:           parseYAML(t, `[{Key: other}]`),
		Context:           parseYAML(t, `[{KeyName: n, KeyValue: {DeepKey: [client, user, id]}}]`),
		DynamicSeverities: parseYAML(t, `[{ChangeTo: HIGH, Conditions: [{Key: target, Condition: IsNotNullOrEmpty}]}]`)})
	if err != nil {
		t.Fatal(err)
	}
	check("the alert", a.Reads(), `{"actor":{"id":"1"},"client":{"ip":"192.0.2.1","user":{"id":2}},"other":1,"target":[{"name":"a","id":"b"}]}`)
}
