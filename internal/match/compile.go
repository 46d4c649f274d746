package match

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/prowl-siem/prowl/internal/jsondec"
	"github.com/prowl-siem/prowl/internal/prefilter"
)

// evalFn evaluates a compiled match expression. root is what key specifiers
// read from (the event, or a list element inside a list comprehension); ev is
// the top-level event, which enrichment expressions read from.
type evalFn func(root any, ev map[string]any) bool

// Matcher is a compiled list of match expressions, combined with AND. It is
// safe for concurrent use.
type Matcher struct {
	nodes []evalFn
	pre   prefilter.Cond
	reads jsondec.Selection
}

// Reads is what Match may read of an event: on the event decoded with it
// (jsondec.DecodeSelected), Match gives what it gives on the whole event.
func (m *Matcher) Reads() *jsondec.Selection { return &m.reads }

// Match reports whether event satisfies every match expression.
func (m *Matcher) Match(event map[string]any) bool {
	for _, n := range m.nodes {
		if !n(event, event) {
			return false
		}
	}
	return true
}

// Compile validates and compiles a list of match expressions (combined with
// AND), such as the value of a simple detection's Detection key. Error paths
// start with "Detection". An error lists every problem found, each as an
// *Error; see Errors.
func Compile(exprs any) (*Matcher, error) {
	return compileRoot("Detection", exprs, false)
}

// CompileInlineFilters compiles the value of an InlineFilters key. The
// grammar is that of Compile, with Panther's inline-filter semantics for
// absent fields: an expression whose key does not resolve in the event
// passes (evaluates to true), whatever its condition, except for the
// existence conditions (Exists, DoesNotExist, IsNull, IsNotNull,
// IsNullOrEmpty, IsNotNullOrEmpty), which test presence by design. A field
// that is present with a null value is not absent. An empty list matches
// every event. Error paths start with "InlineFilters".
func CompileInlineFilters(exprs any) (*Matcher, error) {
	return compileRoot("InlineFilters", exprs, true)
}

func compileRoot(root string, exprs any, filter bool) (*Matcher, error) {
	c := &compiler{filter: filter}
	nodes := c.list(root, exprs, 0, filter)
	if err := c.err(); err != nil {
		return nil, err
	}
	mt := &Matcher{nodes: nodes, pre: necessaryList(exprs, filter)}
	readSpec(&mt.reads, exprs, false)
	return mt, nil
}

const maxDepth = 64

type compiler struct {
	errorSink
	filter bool
}

var combinatorNames = []string{"All", "Any", "OnlyOne", "None"}

var exprKeys = []string{
	"Key", "DeepKey", "KeyPath", "Enrichment",
	"Condition", "Value", "Values", "Expressions",
	"All", "Any", "OnlyOne", "None",
}

func never(any, map[string]any) bool  { return false }
func always(any, map[string]any) bool { return true }

// list compiles a list of match expressions at path.
func (c *compiler) list(path string, v any, depth int, allowEmpty bool) []evalFn {
	items, ok := asList(v)
	if !ok {
		c.fail(path, "must be a list of match expressions, got %s", describe(v))
		return nil
	}
	if len(items) == 0 && !allowEmpty {
		c.fail(path, "must be a non-empty list of match expressions")
		return nil
	}
	out := make([]evalFn, len(items))
	for i, it := range items {
		out[i] = c.expr(indexPath(path, i), it, depth+1)
	}
	return out
}

// expr compiles one match expression. On error it reports and returns never.
func (c *compiler) expr(path string, v any, depth int) evalFn {
	if depth > maxDepth {
		c.fail(path, "match expressions nested too deeply (more than %d levels)", maxDepth)
		return never
	}
	m, ok := asMap(v)
	if !ok {
		c.fail(path, "expected a match expression (a mapping), got %s", describe(v))
		return never
	}
	keys := sortedKeys(m)
	unknown := unknownKeys(&c.errorSink, path, m, exprKeys)

	// Combinators: {All|Any|OnlyOne|None: [...]}, alone in their mapping.
	var comb []string
	for _, k := range combinatorNames {
		if _, ok := m[k]; ok {
			comb = append(comb, k)
		}
	}
	if len(comb) > 1 {
		c.fail(path, "%s are mutually exclusive; nest them", joinAnd(comb))
		return never
	}
	if len(comb) == 1 {
		name := comb[0]
		if len(m) > 1 {
			var others []string
			for _, k := range keys {
				if k != name {
					others = append(others, strconv.Quote(k))
				}
			}
			c.fail(path, "%s cannot be combined with other keys (%s); wrap the expression in the %s list", name, strings.Join(others, ", "), name)
			return never
		}
		return combine(name, c.list(path+"."+name, m[name], depth, false))
	}

	condV, ok := m["Condition"]
	if !ok {
		if !unknown { // a misspelt Condition key was reported already
			c.fail(path, "missing Condition")
		}
		return never
	}
	name, ok := condV.(string)
	if !ok {
		c.fail(path, "Condition must be a string, got %s", describe(condV))
		return never
	}
	cond := conditionsByName[name]
	if cond == nil {
		c.fail(path, "unknown Condition %q%s", name, didYouMean(name, conditionNames))
		return never
	}
	value, hasValue := m["Value"]
	values, hasValues := m["Values"]
	exprs, hasExprs := m["Expressions"]
	if hasValue && hasValues {
		c.fail(path, "Value and Values are mutually exclusive")
		return never
	}
	if hasExprs && cond.class != classComprehension {
		c.fail(path, "Expressions is only valid with the AnyElement, AllElements, OnlyOneElement and NoElement conditions, not %s", cond.name)
		return never
	}
	src, hasSrc := compileSource(&c.errorSink, path, m)
	if hasSrc && src == nil {
		return never // reported
	}
	// refuse reports msg, formatted with the condition's name, when bad
	// holds; it returns bad.
	refuse := func(bad bool, msg string) bool {
		if bad {
			c.fail(path, msg, cond.name)
		}
		return bad
	}
	const (
		needsKey     = "%s needs a key specifier (Key, DeepKey, KeyPath or Enrichment)"
		takesNoValue = "%s takes no Value or Values"
	)

	switch cond.class {
	case classAbsolute:
		if refuse(hasSrc || hasValue || hasValues, "%s takes no key specifier, Value or Values") {
			return never
		}
		if cond.always {
			return always
		}
		return never

	case classUnary, classExistence:
		if refuse(!hasSrc, needsKey) || refuse(hasValue || hasValues, takesNoValue) {
			return never
		}
		return c.leaf(src, cond, cond.unary)

	case classComprehension:
		if refuse(!hasSrc, needsKey) || refuse(hasValue || hasValues, takesNoValue) ||
			refuse(!hasExprs, "%s needs Expressions, the match expressions to test on each element") {
			return never
		}
		inner := c.list(path+".Expressions", exprs, depth, false)
		return c.comprehension(src, cond, inner)

	case classSet:
		if refuse(!hasSrc, needsKey) || refuse(hasValue, "%s takes Values (a list), not Value") ||
			refuse(!hasValues, "%s needs Values, the list to look in") {
			return never
		}
		set, ok := c.valueSet(path, values)
		if !ok {
			return never
		}
		return c.leaf(src, cond, set.has)

	default: // classBinary
		if !hasSrc && hasValues {
			return c.multiKey(path, cond, values)
		}
		if refuse(!hasSrc, needsKey) ||
			refuse(hasValues, "%s takes Value, not Values (Values is for IsIn and IsNotIn, or for comparing two keys without a key specifier)") ||
			refuse(!hasValue, "%s needs Value") {
			return never
		}
		op, want := makeOperand(cond.op, value)
		if want != "" {
			c.fail(path, "%s needs %s, got %s", cond.name, want, describe(value))
			return never
		}
		pred := cond.binary
		return c.leaf(src, cond, func(v any) bool { return pred(v, &op) })
	}
}

func (c *compiler) valueSet(path string, v any) (*valueSet, bool) {
	l, ok := asList(v)
	if !ok || len(l) == 0 {
		c.fail(path, "Values must be a non-empty list, got %s", describe(v))
		return nil, false
	}
	set := &valueSet{strs: map[string]struct{}{}}
	good := true
	for i, x := range l {
		switch y := x.(type) {
		case string:
			set.strs[y] = struct{}{}
		case bool:
			if y {
				set.bools[1] = true
			} else {
				set.bools[0] = true
			}
		case nil:
			set.null = true
		default:
			n, ok := toNumber(x)
			if !ok {
				c.fail(indexPath(path+".Values", i), "must be a string, number, boolean or null, got %s", describe(x))
				good = false
				continue
			}
			set.nums = append(set.nums, n)
		}
	}
	return set, good
}

// leaf builds the evaluator of a condition tested on each value of src:
// true when any value passes test, negated for negative conditions. When
// src resolves to nothing, the result is false for positive conditions and
// true for negated ones, or true for inline filters (except existence tests).
func (c *compiler) leaf(src *source, cond *condition, test func(any) bool) evalFn {
	neg := cond.neg
	missing := neg || (c.filter && cond.class != classExistence)
	if !src.path.multi {
		return func(root any, ev map[string]any) bool {
			v, ok := src.get(root, ev)
			if !ok {
				return missing
			}
			return test(v) != neg
		}
	}
	return func(root any, ev map[string]any) bool {
		found, hit := src.each(root, ev, test)
		if !found {
			return missing
		}
		return hit != neg
	}
}

// comprehension builds AnyElement/AllElements/OnlyOneElement/NoElement: the
// inner expressions (ANDed) are evaluated with each list element as root.
// Lists found at several wildcard positions are taken together. A key that
// does not resolve to a list counts as absent. AllElements is false for an
// empty list.
func (c *compiler) comprehension(src *source, cond *condition, inner []evalFn) evalFn {
	neg := cond.neg
	missing := neg || c.filter
	kind := cond.comp
	return func(root any, ev map[string]any) bool {
		found := false
		count, total := 0, 0
		mismatch := false
		src.each(root, ev, func(v any) bool {
			l, ok := v.([]any)
			if !ok {
				return false
			}
			found = true
			for _, e := range l {
				total++
				if allTrue(inner, e, ev) {
					count++
					if kind == compAny || (kind == compOnlyOne && count > 1) {
						return true
					}
				} else if kind == compAll {
					mismatch = true
					return true
				}
			}
			return false
		})
		if !found {
			return missing
		}
		var r bool
		switch kind {
		case compAny:
			r = count > 0
		case compAll:
			r = !mismatch && total > 0
		default:
			r = count == 1
		}
		return r != neg
	}
}

func allTrue(nodes []evalFn, root any, ev map[string]any) bool {
	for _, n := range nodes {
		if !n(root, ev) {
			return false
		}
	}
	return true
}

func anyTrue(nodes []evalFn, root any, ev map[string]any) bool {
	for _, n := range nodes {
		if n(root, ev) {
			return true
		}
	}
	return false
}

// unknownKeys reports each key of m that is not among known, and whether
// there was one.
func unknownKeys(sink *errorSink, path string, m map[string]any, known []string) bool {
	unknown := false
	for _, k := range sortedKeys(m) {
		if !contains(known, k) {
			sink.fail(path, "unknown key %q%s", k, didYouMean(k, known))
			unknown = true
		}
	}
	return unknown
}

// multiKey compiles {Condition, Values: [keyspec, keyspec]}: the condition
// applied with the first key's value on the left and the second key's value
// as the operand. With several values on either side (wildcards), it is true
// when any pair passes. Either key absent counts as absent.
func (c *compiler) multiKey(path string, cond *condition, v any) evalFn {
	l, ok := asList(v)
	if !ok {
		c.fail(path, "Values must be a list, got %s", describe(v))
		return never
	}
	if len(l) != 2 {
		c.fail(path, "a multi-key %s needs exactly 2 key specifiers in Values, got %d", cond.name, len(l))
		return never
	}
	var srcs [2]*source
	for i, x := range l {
		if srcs[i] = compileKeySpec(&c.errorSink, indexPath(path+".Values", i), x); srcs[i] == nil {
			return never // reported
		}
	}
	left, right := srcs[0], srcs[1]
	neg := cond.neg
	missing := neg || c.filter
	kind, pred := cond.op, cond.binary
	return func(root any, ev map[string]any) bool {
		leftFound, _ := left.each(root, ev, func(any) bool { return true })
		rightFound, hit := right.each(root, ev, func(r any) bool {
			op, want := makeOperand(kind, r)
			if want != "" {
				return false
			}
			_, h := left.each(root, ev, func(v any) bool { return pred(v, &op) })
			return h
		})
		if !leftFound || !rightFound {
			return missing
		}
		return hit != neg
	}
}

func combine(name string, nodes []evalFn) evalFn {
	switch name {
	case "All":
		return func(root any, ev map[string]any) bool { return allTrue(nodes, root, ev) }
	case "Any":
		return func(root any, ev map[string]any) bool { return anyTrue(nodes, root, ev) }
	case "OnlyOne":
		return func(root any, ev map[string]any) bool {
			count := 0
			for _, n := range nodes {
				if n(root, ev) {
					if count++; count > 1 {
						return false
					}
				}
			}
			return count == 1
		}
	case "None":
		return func(root any, ev map[string]any) bool { return !anyTrue(nodes, root, ev) }
	}
	panic(fmt.Sprintf("match: unknown combinator %q", name))
}
