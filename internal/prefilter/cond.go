// Package prefilter decides in Go, on the raw event JSON, which Python rules
// can be skipped for an event.
//
// At load time each worker analyses every rule's rule() function with
// Python's ast module (internal/pyrt/runtime/prowl_prefilter.py) and derives
// a necessary condition: if rule(event) returns anything but False (True,
// another value, or an exception), the condition holds on the event. The
// engine compiles the conditions of all rules into a Set and, per event,
// sends to Python only the rules whose condition holds or cannot be decided.
//
// Soundness rests on three things: the analyser builds conditions from exact
// atoms with and/or only (negating exact atoms only); the Go evaluator
// reproduces Python's semantics exactly where it answers true or false; and
// it answers "unknown" (the rule runs) wherever it cannot: malformed JSON,
// strings with lone surrogates, case-insensitive lookups that meet non-ASCII
// keys, str() of numbers and containers, and ops it does not know.
//
// Key lookup follows the event object of the Python runtime
// (prowl_event.ImmutableCaseInsensitiveDict): the exact key first; failing
// that, among the keys whose lower case equals the wanted key's lower case,
// the one that appears first in the JSON text. JSON objects with a repeated
// key behave as Python's json.loads builds them: the key keeps the position
// of its first occurrence and the value of its last.
package prefilter

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Cond is a condition on event fields, as the analyser writes it:
//
//	{"op":"true"} {"op":"false"}
//	{"op":"and"|"or","args":[...]} {"op":"not","args":[c]}
//	{"op":"type","path":[...],"types":["missing","null","string","number","bool","object","array"]}
//	{"op":"eq","path":[...],"value":v}          present, not null, value == v (Python ==)
//	{"op":"ne","path":[...],"value":v}          not eq (true when missing)
//	{"op":"in","path":[...],"values":[...]}     eq to any
//	{"op":"startswith"|"endswith","path":[...],"value":"s"}
//	{"op":"contains","path":[...],"value":v}    substring, array member or object key
//	{"op":"truthy","path":[...]}                present, not null, Python-truthy
//
// eq, ne, in, startswith, endswith, contains and truthy may carry
// "transform": ["lower"], ["upper"], ["str"], ["str","lower"] or
// ["str","upper"], applied to the value first. A path step through anything
// but an object, or a key that is absent, makes the path "missing".
type Cond struct {
	Op        string            `json:"op"`
	Path      []string          `json:"path,omitempty"`
	Value     json.RawMessage   `json:"value,omitempty"`
	Values    []json.RawMessage `json:"values,omitempty"`
	Types     []string          `json:"types,omitempty"`
	Transform []string          `json:"transform,omitempty"`
	Args      []Cond            `json:"args,omitempty"`
}

// Parse reads a condition. A condition that is well-formed JSON but uses
// ops or fields this version does not know still parses; Build treats the
// unknown parts as "cannot decide" (the rule runs).
func Parse(data []byte) (Cond, error) {
	var c Cond
	if err := json.Unmarshal(data, &c); err != nil {
		return Cond{}, fmt.Errorf("prefilter: %w", err)
	}
	return c, nil
}

// True is the condition that lets every event through.
var True = Cond{Op: "true"}

// IsTrue reports whether c lets every event through (the rule has no
// prefilter).
func (c Cond) IsTrue() bool { return c.Op == "true" }

// String renders c for people: eventType == "x" and outcome.result in (...).
func (c Cond) String() string {
	var b strings.Builder
	c.write(&b, false)
	return b.String()
}

func (c Cond) write(b *strings.Builder, nested bool) {
	path := strings.Join(c.Path, ".")
	if len(c.Transform) > 0 {
		inner := path
		for _, t := range c.Transform {
			if t == "str" {
				inner = "str(" + inner + ")"
			} else {
				inner += "." + t + "()"
			}
		}
		path = inner
	}
	switch c.Op {
	case "true", "false":
		b.WriteString(c.Op)
	case "and", "or":
		if nested {
			b.WriteByte('(')
		}
		for i, a := range c.Args {
			if i > 0 {
				b.WriteString(" " + c.Op + " ")
			}
			a.write(b, true)
		}
		if nested {
			b.WriteByte(')')
		}
	case "not":
		b.WriteString("not ")
		if len(c.Args) == 1 {
			c.Args[0].write(b, true)
		}
	case "type":
		fmt.Fprintf(b, "type(%s) in (%s)", path, strings.Join(c.Types, ", "))
	case "eq":
		fmt.Fprintf(b, "%s == %s", path, c.Value)
	case "ne":
		fmt.Fprintf(b, "%s != %s", path, c.Value)
	case "in":
		vals := make([]string, len(c.Values))
		for i, v := range c.Values {
			vals[i] = string(v)
		}
		fmt.Fprintf(b, "%s in (%s)", path, strings.Join(vals, ", "))
	case "startswith", "endswith":
		fmt.Fprintf(b, "%s.%s(%s)", path, c.Op, c.Value)
	case "contains":
		fmt.Fprintf(b, "%s in %s", c.Value, path)
	case "truthy":
		fmt.Fprintf(b, "bool(%s)", path)
	default:
		fmt.Fprintf(b, "<%s?>", c.Op)
	}
}
