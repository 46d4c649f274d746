package match

import "github.com/prowl-siem/prowl/internal/jsondec"

// This file works out what compiled expressions and alert keys read of an
// event, as a jsondec.Selection, so that a caller can decode only that: on
// the event decoded with the selection, Match and Evaluate give what they
// give on the whole event. Lookups find keys exactly or case-insensitively,
// as a Selection picks members.

// readPath adds a key path read from the value sel selects: each key step
// selects a member, the value at the end is read whole, and so is the value
// before a list step (index, wildcard or flattening).
func readPath(sel *jsondec.Selection, p *keyPath) {
	for _, st := range p.steps {
		if st.kind != stepKey {
			break
		}
		sel = sel.Member(st.key)
	}
	sel.SetWhole()
}

// readSpec adds the key specifiers of a decoded expression list or alert
// key: every mapping that holds one, at any depth. Those under Expressions
// (a list comprehension) read list elements, not the event, unless they
// are enrichment paths, which always start at the event.
func readSpec(sel *jsondec.Selection, v any, inElement bool) {
	if l, ok := asList(v); ok {
		for _, x := range l {
			readSpec(sel, x, inElement)
		}
		return
	}
	m, ok := asMap(v)
	if !ok {
		return
	}
	if src, _ := compileSource(&errorSink{}, "", m); src != nil && (src.fromEvent || !inElement) {
		readPath(sel, src.path)
	}
	for k, x := range m {
		readSpec(sel, x, inElement || k == "Expressions")
	}
}
