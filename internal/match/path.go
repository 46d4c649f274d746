package match

import (
	"fmt"
	"strconv"
	"strings"
)

type stepKind uint8

const (
	stepKey      stepKind = iota // a mapping key (exact, then case-insensitive)
	stepIndex                    // a list index; negative counts from the end
	stepWildcard                 // every element of a list
	stepFlatten                  // every element if the value is a list, else the value itself
)

type step struct {
	kind  stepKind
	key   string
	index int
}

// keyPath is a compiled key specifier: a sequence of steps from a root value.
type keyPath struct {
	steps []step
	multi bool // has a step that can yield several values
}

// lookupKey finds k in m: the exact key first, then a case-insensitive match,
// like Panther's event object. When several keys fold to k, the smallest in
// byte order wins so that results do not depend on map iteration order.
func lookupKey(m map[string]any, k string) (any, bool) {
	if v, ok := m[k]; ok {
		return v, true
	}
	var (
		best  string
		bestV any
		found bool
	)
	for mk, mv := range m {
		if strings.EqualFold(mk, k) && (!found || mk < best) {
			best, bestV, found = mk, mv, true
		}
	}
	return bestV, found
}

// get resolves a path without multi steps to one value.
func (p *keyPath) get(cur any) (any, bool) {
	for i := range p.steps {
		st := &p.steps[i]
		switch st.kind {
		case stepKey:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = lookupKey(m, st.key); !ok {
				return nil, false
			}
		case stepIndex:
			l, ok := cur.([]any)
			if !ok {
				return nil, false
			}
			idx := st.index
			if idx < 0 {
				idx += len(l)
			}
			if idx < 0 || idx >= len(l) {
				return nil, false
			}
			cur = l[idx]
		default:
			panic("match: get on a multi path")
		}
	}
	return cur, true
}

// walk resolves the path from step i on, calling fn for each value found
// until fn returns true. found reports whether any value was found, stop
// whether fn returned true.
func (p *keyPath) walk(cur any, i int, fn func(any) bool) (found, stop bool) {
	for ; i < len(p.steps); i++ {
		st := &p.steps[i]
		switch st.kind {
		case stepKey:
			m, ok := cur.(map[string]any)
			if !ok {
				return false, false
			}
			if cur, ok = lookupKey(m, st.key); !ok {
				return false, false
			}
		case stepIndex:
			l, ok := cur.([]any)
			if !ok {
				return false, false
			}
			idx := st.index
			if idx < 0 {
				idx += len(l)
			}
			if idx < 0 || idx >= len(l) {
				return false, false
			}
			cur = l[idx]
		case stepWildcard, stepFlatten:
			l, ok := cur.([]any)
			if !ok {
				if st.kind == stepFlatten {
					continue
				}
				return false, false
			}
			for _, e := range l {
				f, s := p.walk(e, i+1, fn)
				found = found || f
				if s {
					return found, true
				}
			}
			return found, false
		}
	}
	return true, fn(cur)
}

// parseKeyPath compiles KeyPath syntax: dot-separated keys, [N] indexes
// (negative from the end), [*] wildcards, ['quoted key'] or ["quoted key"]
// for keys holding dots or brackets, and an optional leading "$." or "$".
func parseKeyPath(orig string) (*keyPath, error) {
	s := orig
	if strings.HasPrefix(s, "$") {
		s = strings.TrimPrefix(s[1:], ".")
	}
	base := len(orig) - len(s)
	if s == "" {
		return nil, fmt.Errorf("empty path")
	}
	p := &keyPath{}
	i := 0
	first := true
	for {
		// A segment: a key name, then any number of [...] suffixes. Only the
		// first segment may start with a bracket (an index into the root).
		if i < len(s) && s[i] != '[' {
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' && s[j] != ']' {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("empty key at offset %d", base+i)
			}
			p.steps = append(p.steps, step{kind: stepKey, key: s[i:j]})
			i = j
		} else if !first || i >= len(s) {
			return nil, fmt.Errorf("empty key at offset %d", base+i)
		}
		first = false
		for i < len(s) && s[i] == '[' {
			open := i
			i++
			if i < len(s) && (s[i] == '\'' || s[i] == '"') {
				q := s[i]
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					return nil, fmt.Errorf("unterminated quoted key at offset %d", base+open)
				}
				key := s[i+1 : i+1+end]
				i += end + 2
				if i >= len(s) || s[i] != ']' {
					return nil, fmt.Errorf("want \"]\" after quoted key at offset %d", base+i)
				}
				i++
				p.steps = append(p.steps, step{kind: stepKey, key: key})
				continue
			}
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed \"[\" at offset %d", base+open)
			}
			inner := strings.TrimSpace(s[i : i+end])
			i += end + 1
			if inner == "*" {
				p.steps = append(p.steps, step{kind: stepWildcard})
				p.multi = true
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil {
				return nil, fmt.Errorf("bad index %q at offset %d: want a number, * or a quoted key", inner, base+open)
			}
			p.steps = append(p.steps, step{kind: stepIndex, index: n})
		}
		if i == len(s) {
			return p, nil
		}
		switch s[i] {
		case '.':
			i++
		default: // ']'
			return nil, fmt.Errorf("unexpected %q at offset %d", s[i], base+i)
		}
	}
}

// source is where a match expression reads its values: a key path from the
// current root (the event, or a list element inside a list comprehension),
// or an enrichment path from the top-level event.
type source struct {
	path      *keyPath
	fromEvent bool // enrichment: resolve from the top-level event
}

func (s *source) base(root any, ev map[string]any) any {
	if s.fromEvent {
		return ev
	}
	return root
}

// get resolves a single-valued source.
func (s *source) get(root any, ev map[string]any) (any, bool) {
	return s.path.get(s.base(root, ev))
}

// each calls fn on every value the source resolves to until fn returns true.
func (s *source) each(root any, ev map[string]any, fn func(any) bool) (found, stop bool) {
	if !s.path.multi {
		v, ok := s.path.get(s.base(root, ev))
		if !ok {
			return false, false
		}
		return true, fn(v)
	}
	return s.path.walk(s.base(root, ev), 0, fn)
}

// value returns what the source resolves to for alert output: the single
// value, or for multi-valued paths the list of values (nil when none).
func (s *source) value(root any, ev map[string]any) (any, bool) {
	if !s.path.multi {
		return s.get(root, ev)
	}
	var vals []any
	found, _ := s.path.walk(s.base(root, ev), 0, func(v any) bool {
		vals = append(vals, v)
		return false
	})
	return vals, found
}

var keySpecNames = []string{"Key", "DeepKey", "KeyPath", "Enrichment"}

var enrichmentKeys = []string{"Table", "Selector", "FieldPath"}

// compileSource reads the key specifier of m. present reports whether m has
// one at all (even an invalid one); src is nil when it is missing or invalid,
// in which case the error was reported.
func compileSource(sink *errorSink, path string, m map[string]any) (src *source, present bool) {
	var specs []string
	for _, k := range keySpecNames {
		if _, ok := m[k]; ok {
			specs = append(specs, k)
		}
	}
	if len(specs) == 0 {
		return nil, false
	}
	if len(specs) > 1 {
		sink.fail(path, "%s are mutually exclusive", joinAnd(specs))
		return nil, true
	}
	v := m[specs[0]]
	switch specs[0] {
	case "Key":
		k, ok := v.(string)
		if !ok || k == "" {
			sink.fail(path, "Key must be a non-empty string, got %s", describe(v))
			return nil, true
		}
		return &source{path: &keyPath{steps: []step{{kind: stepKey, key: k}}}}, true
	case "DeepKey":
		l, ok := asList(v)
		if !ok || len(l) == 0 {
			sink.fail(path, "DeepKey must be a non-empty list of keys, got %s", describe(v))
			return nil, true
		}
		p := &keyPath{}
		for i, x := range l {
			var k string
			switch y := x.(type) {
			case string:
				k = y
			default:
				if _, isNum := toNumber(x); !isNum {
					sink.fail(indexPath(path+".DeepKey", i), "a key must be a string, got %s", describe(x))
					return nil, true
				}
				k = render(x)
			}
			p.steps = append(p.steps, step{kind: stepKey, key: k})
		}
		return &source{path: p}, true
	case "KeyPath":
		s, ok := v.(string)
		if !ok {
			sink.fail(path, "KeyPath must be a string, got %s", describe(v))
			return nil, true
		}
		p, err := parseKeyPath(s)
		if err != nil {
			sink.fail(path, "invalid KeyPath %q: %v", s, err)
			return nil, true
		}
		return &source{path: p}, true
	default: // Enrichment
		return compileEnrichment(sink, path+".Enrichment", v), true
	}
}

// compileEnrichment compiles {Table, Selector, FieldPath}: the value at
// p_enrichment.<Table>.<Selector>, then FieldPath (KeyPath syntax) inside
// the enrichment row. Selector is the name of the event field the lookup
// table matched on, used as one literal key (it may contain dots). When the
// row is a list (a selector holding several values), FieldPath is read from
// every element.
func compileEnrichment(sink *errorSink, path string, v any) *source {
	m, ok := asMap(v)
	if !ok {
		sink.fail(path, "must be a mapping with Table, Selector and FieldPath, got %s", describe(v))
		return nil
	}
	bad := false
	for _, k := range sortedKeys(m) {
		if !contains(enrichmentKeys, k) {
			sink.fail(path, "unknown key %q%s", k, didYouMean(k, enrichmentKeys))
			bad = true
		}
	}
	str := func(k string, required bool) string {
		x, present := m[k]
		if !present {
			if required {
				sink.fail(path, "missing %s", k)
				bad = true
			}
			return ""
		}
		s, ok := x.(string)
		if !ok || s == "" {
			sink.fail(path, "%s must be a non-empty string, got %s", k, describe(x))
			bad = true
		}
		return s
	}
	table, selector, field := str("Table", true), str("Selector", true), str("FieldPath", false)
	if bad {
		return nil
	}
	p := &keyPath{steps: []step{
		{kind: stepKey, key: "p_enrichment"},
		{kind: stepKey, key: table},
		{kind: stepKey, key: selector},
	}}
	if field != "" {
		fp, err := parseKeyPath(field)
		if err != nil {
			sink.fail(path, "invalid FieldPath %q: %v", field, err)
			return nil
		}
		p.steps = append(p.steps, step{kind: stepFlatten})
		p.steps = append(p.steps, fp.steps...)
		p.multi = true
	}
	return &source{path: p, fromEvent: true}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
