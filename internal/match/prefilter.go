package match

import (
	"encoding/json"
	"strings"

	"github.com/prowl-siem/prowl/internal/prefilter"
)

// Prefilter returns a necessary condition of the matcher in the language of
// package prefilter: whenever Match would return true on an event decoded
// from JSON, the condition holds on that JSON, or the prefilter cannot
// decide it. The engine evaluates it on the raw event (with
// prefilter.BuildGo, whose key lookup allows for Go's) and decodes only the
// events that pass. Parts of an expression it does not translate become
// "true": they only make the condition weaker.
func (m *Matcher) Prefilter() prefilter.Cond { return m.pre }

// necessaryList is the condition of a list of expressions combined with AND.
func necessaryList(v any, filter bool) prefilter.Cond {
	l, _ := asList(v)
	args := make([]prefilter.Cond, 0, len(l))
	for _, x := range l {
		args = append(args, necessary(x, filter))
	}
	return conj("and", args)
}

// necessary translates one expression that Compile accepted.
func necessary(v any, filter bool) prefilter.Cond {
	m, _ := asMap(v)
	switch {
	case m["All"] != nil:
		return necessaryList(m["All"], filter)
	case m["Any"] != nil, m["OnlyOne"] != nil: // OnlyOne: at least one holds
		l, _ := asList(m["Any"])
		if m["OnlyOne"] != nil {
			l, _ = asList(m["OnlyOne"])
		}
		args := make([]prefilter.Cond, 0, len(l))
		for _, x := range l {
			args = append(args, necessary(x, filter))
		}
		return conj("or", args)
	}
	name, _ := m["Condition"].(string)
	src, _ := compileSource(&errorSink{}, "", m)
	path, ok := plainPath(src)
	if !ok {
		return prefilter.True
	}
	var c prefilter.Cond
	switch name {
	case "Equals", "StartsWith", "EndsWith", "Contains":
		if b, ok := m["Value"].(bool); ok && name == "Equals" {
			// Python's == also takes 1 and 1.0 for True: a weaker test.
			c = prefilter.Cond{Op: "eq", Path: path, Value: literal(b)}
			break
		}
		s, ok := m["Value"].(string)
		if !ok || !safeLiteral(s) {
			return prefilter.True
		}
		op := map[string]string{"Equals": "eq", "StartsWith": "startswith", "EndsWith": "endswith", "Contains": "contains"}[name]
		c = prefilter.Cond{Op: op, Path: path, Value: literal(s)}
	case "IEquals", "IStartsWith", "IEndsWith":
		s, ok := m["Value"].(string)
		// Unicode case folding and Python's lower() agree on ASCII; the
		// prefilter answers "unknown" for values that are not ASCII.
		if !ok || !isASCII(s) {
			return prefilter.True
		}
		op := map[string]string{"IEquals": "eq", "IStartsWith": "startswith", "IEndsWith": "endswith"}[name]
		c = prefilter.Cond{Op: op, Path: path, Value: literal(strings.ToLower(s)), Transform: []string{"lower"}}
	case "IsIn":
		l, _ := asList(m["Values"])
		c = prefilter.Cond{Op: "in", Path: path}
		for _, x := range l {
			s, isStr := x.(string)
			_, isBool := x.(bool)
			if !isBool && (!isStr || !safeLiteral(s)) {
				return prefilter.True
			}
			c.Values = append(c.Values, literal(x))
		}
	default:
		return prefilter.True
	}
	if filter { // an inline filter passes when the key is absent
		c = prefilter.Cond{Op: "or", Args: []prefilter.Cond{c, {Op: "type", Path: path, Types: []string{"missing"}}}}
	}
	return c
}

// plainPath is the keys of a source that reads one value from the event
// through mapping keys only (no list steps, no enrichment).
func plainPath(src *source) ([]string, bool) {
	if src == nil || src.fromEvent || src.path.multi {
		return nil, false
	}
	keys := make([]string, 0, len(src.path.steps))
	for _, st := range src.path.steps {
		if st.kind != stepKey {
			return nil, false
		}
		keys = append(keys, st.key)
	}
	return keys, len(keys) > 0
}

// safeLiteral excludes strings that Go's JSON decoding could produce from
// different text (U+FFFD replaces invalid UTF-8 and lone surrogates).
func safeLiteral(s string) bool { return !strings.ContainsRune(s, '\uFFFD') }

func literal(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// conj joins conditions with op ("and" or "or"), dropping what cannot
// matter: "true" in an AND, and an OR with a "true" branch is true.
func conj(op string, args []prefilter.Cond) prefilter.Cond {
	var kept []prefilter.Cond
	for _, a := range args {
		switch {
		case a.IsTrue() && op == "or":
			return prefilter.True
		case a.IsTrue():
			continue
		}
		kept = append(kept, a)
	}
	switch len(kept) {
	case 0:
		if op == "or" {
			return prefilter.Cond{Op: "false"}
		}
		return prefilter.True
	case 1:
		return kept[0]
	}
	return prefilter.Cond{Op: op, Args: kept}
}
