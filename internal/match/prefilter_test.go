package match

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/prowl-siem/prowl/internal/prefilter"
)

// checkAdmitted fails unless the matcher's prefilter admits event, both as
// written and compacted with the offsets of its top-level keys (as the
// engine sees normalized events).
func checkAdmitted(t *testing.T, m *Matcher, event string) {
	t.Helper()
	set := prefilter.BuildGo(map[int]prefilter.Cond{0: m.Prefilter()})
	if got := set.Candidates([]byte(event), nil, []int{0}, nil); len(got) != 1 {
		pj, _ := json.Marshal(m.Prefilter())
		t.Errorf("the prefilter %s rejects an event the matcher accepts:\n%s", pj, event)
	}
	var compact bytes.Buffer
	if json.Compact(&compact, []byte(event)) != nil {
		return
	}
	var offs []uint32
	dec := json.NewDecoder(bytes.NewReader(compact.Bytes()))
	dec.Token()
	for dec.More() {
		off := dec.InputOffset()
		if compact.Bytes()[off] == ',' {
			off++
		}
		offs = append(offs, uint32(off))
		dec.Token()
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	if got := set.Candidates(compact.Bytes(), offs, []int{0}, nil); len(got) != 1 {
		pj, _ := json.Marshal(m.Prefilter())
		t.Errorf("the prefilter %s rejects an event the matcher accepts (compact, with offsets):\n%s", pj, compact.Bytes())
	}
}

func TestPrefilterTranslation(t *testing.T) {
	for _, tc := range []struct {
		filter     bool
		expr, want string
	}{
		{false, `{Key: eventType, Condition: Equals, Value: user.session.start}`, `eventType == "user.session.start"`},
		{false, `{DeepKey: [outcome, result], Condition: IsIn, Values: [FAILURE, DENY]}`, `outcome.result in ("FAILURE", "DENY")`},
		{false, `[{KeyPath: eventType, Condition: StartsWith, Value: user.}, {KeyPath: a.b, Condition: EndsWith, Value: x}]`, `eventType.startswith("user.") and a.b.endswith("x")`},
		{false, `{Any: [{Key: a, Condition: Contains, Value: x}, {Key: b, Condition: Equals, Value: y}]}`, `"x" in a or b == "y"`},
		{false, `{OnlyOne: [{Key: a, Condition: Equals, Value: x}, {Key: b, Condition: Equals, Value: y}]}`, `a == "x" or b == "y"`},
		// What it leaves out only weakens the condition.
		{false, `[{Key: eventType, Condition: Equals, Value: x}, {Key: n, Condition: IsGreaterThan, Value: 3}]`, `eventType == "x"`},
		{false, `{Key: a, Condition: IEquals, Value: "TRUE"}`, `a.lower() == "true"`},
		{false, `{Key: a, Condition: IStartsWith, Value: "Ab"}`, `a.lower().startswith("ab")`},
		{false, `{Any: [{Key: eventType, Condition: Equals, Value: x}, {Key: a, Condition: IEquals, Value: é}]}`, `true`},
		{false, `{Key: a, Condition: IEndsWith, Value: "é"}`, `true`},
		{false, `{None: [{Key: a, Condition: Equals, Value: x}]}`, `true`},
		{false, `{Key: a, Condition: Equals, Value: 3}`, `true`},
		{false, `{Key: a, Condition: Equals, Value: true}`, `a == true`},
		{false, `{Key: a, Condition: IsIn, Values: [x, false]}`, `a in ("x", false)`},
		{false, `{Key: a, Condition: IsIn, Values: [x, 3]}`, `true`},
		{false, `{Key: a, Condition: IsIn, Values: [x, null]}`, `true`},
		{false, `{KeyPath: "a[0].b", Condition: Equals, Value: x}`, `true`},
		{false, `{KeyPath: "a[*].b", Condition: Equals, Value: x}`, `true`},
		{false, `{Key: a, Condition: DoesNotEqual, Value: x}`, `true`},
		{false, `{Key: a, Condition: Equals, Value: "bad \ufffd"}`, `true`},
		{false, `{Enrichment: {Table: t, Selector: s, FieldPath: f}, Condition: Equals, Value: x}`, `true`},
		// Inline filters pass when the key is absent.
		{true, `{Key: eventType, Condition: Equals, Value: x}`, `eventType == "x" or type(eventType) in (missing)`},
		{true, `[]`, `true`},
	} {
		compile := Compile
		if tc.filter {
			compile = CompileInlineFilters
		}
		m, err := compile(exprList(t, tc.expr))
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := m.Prefilter().String(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.expr, got, tc.want)
		}
	}
}

// TestPrefilterIsSound: on random match expressions and random events full
// of case variants, repeated keys, escapes, nulls and wrong types, whenever
// the matcher accepts an event its prefilter admits it.
func TestPrefilterIsSound(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	keys := []string{"eventType", "EventType", "EVENTTYPE", "outcome", "Outcome", "result", "a", "b", "k", "\u212a", "évent"}
	strs := []string{"x", "X", "user.session.start", "user.", "FAILURE", "", "é", `\u0078`, `\"q`, "x y", "ſſh", "\u212aey", "KEY", "TrUe"}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	var value func(depth int) string
	object := func(depth int) string {
		var parts []string
		for range r.IntN(5) + 1 {
			parts = append(parts, fmt.Sprintf("%q:%s", pick(keys), value(depth+1)))
		}
		return "{" + strings.Join(parts, pick([]string{",", " , "})) + "}"
	}
	value = func(depth int) string {
		switch x := r.IntN(10); {
		case x < 5:
			return `"` + pick(strs) + `"`
		case x == 5:
			return pick([]string{"null", "1", "true", "[]", `["x","FAILURE"]`})
		case depth < 3:
			return object(depth)
		}
		return `"x"`
	}
	var expr func(depth int) string
	expr = func(depth int) string {
		if depth < 2 && r.IntN(3) == 0 {
			var parts []string
			for range r.IntN(3) + 1 {
				parts = append(parts, expr(depth+1))
			}
			return fmt.Sprintf("{%s: [%s]}", pick([]string{"All", "Any", "OnlyOne", "None"}), strings.Join(parts, ", "))
		}
		k1, k2 := pick(keys), pick(keys)
		src := pick([]string{
			fmt.Sprintf("Key: %q", k1),
			fmt.Sprintf("DeepKey: [%q, %q]", k1, k2),
			fmt.Sprintf("KeyPath: %q", k1+"."+k2),
		})
		lit, _ := json.Marshal(pick([]string{"x", "X", "user.session.start", "user.", "FAILURE", "", "é", "ssh", "key", "true", "tRUE"}))
		if r.IntN(8) == 0 {
			return fmt.Sprintf("{%s, Condition: Equals, Value: %s}", src, pick([]string{"true", "false"}))
		}
		switch cond := pick([]string{"Equals", "StartsWith", "EndsWith", "Contains", "IsIn", "DoesNotEqual", "IEquals", "IStartsWith", "IEndsWith", "Exists"}); cond {
		case "IsIn":
			return fmt.Sprintf("{%s, Condition: IsIn, Values: [%s, FAILURE, %s]}", src, lit, pick([]string{"true", "false", "x"}))
		case "Exists":
			return fmt.Sprintf("{%s, Condition: Exists}", src)
		default:
			return fmt.Sprintf("{%s, Condition: %s, Value: %s}", src, cond, lit)
		}
	}
	var accepted int
	for range 3000 {
		e := expr(0)
		filter := r.IntN(4) == 0
		compile := Compile
		if filter {
			compile = CompileInlineFilters
		}
		m, err := compile(exprList(t, e))
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		for range 20 {
			ev := object(0)
			got := m.Match(parseEvent(t, ev, true))
			checkReads(t, m, ev, got)
			if got {
				accepted++
				checkAdmitted(t, m, ev)
			}
		}
	}
	if accepted < 1000 {
		t.Errorf("only %d accepted events: the test exercises too little", accepted)
	}
	t.Logf("%d accepted events, all admitted", accepted)
}
