package match

import (
	"net/netip"
	"strings"
	"unicode/utf8"
)

// condClass is the shape of match expression a condition belongs to.
type condClass uint8

const (
	classBinary        condClass = iota // key + Value, or multi-key Values
	classSet                            // key + Values (IsIn, IsNotIn)
	classUnary                          // key only, a test on each value
	classExistence                      // key only, a test on presence/emptiness
	classComprehension                  // key + Expressions
	classAbsolute                       // nothing else
)

// opKind is what a binary condition's Value must be.
type opKind uint8

const (
	opScalar opKind = iota // string, number, bool or null
	opString
	opNumber
	opCIDR
	opIP
)

type compKind uint8

const (
	compAny compKind = iota
	compAll
	compOnlyOne
)

// condition describes one Condition name. A negated condition (neg) is the
// logical NOT of its positive counterpart, evaluated over all the values the
// key resolves to; see the package documentation.
type condition struct {
	name   string
	class  condClass
	neg    bool
	op     opKind
	unary  func(v any) bool
	binary func(v any, o *operand) bool
	comp   compKind
	always bool // AlwaysTrue
}

// operand is a compiled Value (or, for multi-key expressions, the value of
// the second key, compiled at evaluation time).
type operand struct {
	raw   any // nil, string, float64 or bool
	str   string
	isStr bool
	num   float64
	isNum bool
	b     bool
	isB   bool
	pfx   netip.Prefix
	ip    netip.Addr
	set   *valueSet
}

var conditionList = []*condition{
	{name: "Equals", op: opScalar, binary: predEquals},
	{name: "DoesNotEqual", neg: true, op: opScalar, binary: predEquals},
	{name: "IEquals", op: opString, binary: predIEquals},
	{name: "IDoesNotEqual", neg: true, op: opString, binary: predIEquals},
	{name: "StartsWith", op: opString, binary: predStartsWith},
	{name: "DoesNotStartWith", neg: true, op: opString, binary: predStartsWith},
	{name: "IStartsWith", op: opString, binary: predIStartsWith},
	{name: "IDoesNotStartWith", neg: true, op: opString, binary: predIStartsWith},
	{name: "EndsWith", op: opString, binary: predEndsWith},
	{name: "DoesNotEndWith", neg: true, op: opString, binary: predEndsWith},
	{name: "IEndsWith", op: opString, binary: predIEndsWith},
	{name: "IDoesNotEndWith", neg: true, op: opString, binary: predIEndsWith},
	{name: "Contains", op: opString, binary: predContains},
	{name: "DoesNotContain", neg: true, op: opString, binary: predContains},
	{name: "IContains", op: opString, binary: predIContains},
	{name: "IDoesNotContain", neg: true, op: opString, binary: predIContains},
	{name: "IsGreaterThan", op: opNumber, binary: onNumber(func(n, m float64) bool { return n > m })},
	{name: "IsGreaterThanOrEqual", op: opNumber, binary: onNumber(func(n, m float64) bool { return n >= m })},
	{name: "IsLessThan", op: opNumber, binary: onNumber(func(n, m float64) bool { return n < m })},
	{name: "IsLessThanOrEqual", op: opNumber, binary: onNumber(func(n, m float64) bool { return n <= m })},
	{name: "IsIPAddressInCIDR", op: opCIDR, binary: predInCIDR},
	{name: "IsIPAddressNotInCIDR", neg: true, op: opCIDR, binary: predInCIDR},
	{name: "CIDRContainsIPAddress", op: opIP, binary: predCIDRContains},
	{name: "CIDRDoesNotContainIPAddress", neg: true, op: opIP, binary: predCIDRContains},

	{name: "IsIn", class: classSet},
	{name: "IsNotIn", class: classSet, neg: true},

	{name: "Exists", class: classExistence, unary: func(any) bool { return true }},
	{name: "DoesNotExist", class: classExistence, neg: true, unary: func(any) bool { return true }},
	{name: "IsNotNull", class: classExistence, unary: func(v any) bool { return v != nil }},
	{name: "IsNull", class: classExistence, neg: true, unary: func(v any) bool { return v != nil }},
	{name: "IsNotNullOrEmpty", class: classExistence, unary: func(v any) bool { return !isEmpty(v) }},
	{name: "IsNullOrEmpty", class: classExistence, neg: true, unary: func(v any) bool { return !isEmpty(v) }},

	{name: "IsIPAddress", class: classUnary, unary: isIP(func(netip.Addr) bool { return true })},
	{name: "IsIPv4Address", class: classUnary, unary: isIPString(netip.Addr.Is4)},
	{name: "IsIPv6Address", class: classUnary, unary: isIPString(netip.Addr.Is6)},
	{name: "IsIPAddressPublic", class: classUnary, unary: isIP(isPublicIP)},
	{name: "IsIPAddressPrivate", class: classUnary, unary: isIP(isPrivateIP)},

	{name: "AnyElement", class: classComprehension, comp: compAny},
	{name: "AllElements", class: classComprehension, comp: compAll},
	{name: "OnlyOneElement", class: classComprehension, comp: compOnlyOne},
	{name: "NoElement", class: classComprehension, comp: compAny, neg: true},

	{name: "AlwaysTrue", class: classAbsolute, always: true},
	{name: "AlwaysFalse", class: classAbsolute},
}

// conditionAliases are other spellings seen in Panther's documentation.
var conditionAliases = map[string]string{
	"IsGreaterThanOrEquals":         "IsGreaterThanOrEqual",
	"IsLessThanOrEquals":            "IsLessThanOrEqual",
	"CIDRContainsIPAddresses":       "CIDRContainsIPAddress",
	"CIDRDoesNotContainIPAddresses": "CIDRDoesNotContainIPAddress",
}

var (
	conditionsByName = map[string]*condition{}
	conditionNames   []string // canonical names, for did-you-mean
)

func init() {
	for _, c := range conditionList {
		conditionsByName[c.name] = c
		conditionNames = append(conditionNames, c.name)
	}
	for alias, name := range conditionAliases {
		conditionsByName[alias] = conditionsByName[name]
	}
}

// ConditionNames returns the canonical names of every supported Condition.
func ConditionNames() []string {
	return append([]string(nil), conditionNames...)
}

// isIP is a test on values that are IP addresses (see parseIP): false for
// any other value.
func isIP(test func(netip.Addr) bool) func(any) bool {
	return func(v any) bool {
		a, ok := parseIP(v)
		return ok && test(a)
	}
}

// isIPString is a test on strings holding an IP address, looked at as
// written: an IPv4-mapped IPv6 address ("::ffff:192.0.2.1") is IPv6.
func isIPString(test func(netip.Addr) bool) func(any) bool {
	return func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return false
		}
		a, err := netip.ParseAddr(s)
		return err == nil && test(a)
	}
}

// onString makes a binary predicate of a test on strings, given the value
// and the operand's string: false for values that are not strings.
func onString(test func(s, operand string) bool) func(any, *operand) bool {
	return func(v any, o *operand) bool {
		s, ok := v.(string)
		return ok && test(s, o.str)
	}
}

// onNumber makes a binary predicate of a comparison of numbers, given the
// value (numeric strings included) and the operand's number: false for
// values that are not numbers.
func onNumber(cmp func(n, operand float64) bool) func(any, *operand) bool {
	return func(v any, o *operand) bool {
		n, ok := toNumberLoose(v)
		return ok && cmp(n, o.num)
	}
}

func predEquals(v any, o *operand) bool {
	switch {
	case o.isStr:
		s, ok := v.(string)
		return ok && s == o.str
	case o.isNum:
		n, ok := toNumber(v)
		return ok && n == o.num
	case o.isB:
		b, ok := v.(bool)
		return ok && b == o.b
	}
	return v == nil
}

var (
	predIEquals     = onString(equalFold)
	predStartsWith  = onString(strings.HasPrefix)
	predIStartsWith = onString(hasPrefixFold)
	predEndsWith    = onString(strings.HasSuffix)
	predIEndsWith   = onString(hasSuffixFold)
)

// predContains: substring for strings, membership for lists, key presence
// for mappings.
func predContains(v any, o *operand) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, o.str)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && s == o.str {
				return true
			}
		}
	case map[string]any:
		_, ok := x[o.str]
		return ok
	}
	return false
}

func predIContains(v any, o *operand) bool {
	switch x := v.(type) {
	case string:
		return containsFold(x, o.str)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && equalFold(s, o.str) {
				return true
			}
		}
	case map[string]any:
		_, ok := lookupKey(x, o.str)
		return ok
	}
	return false
}

func predInCIDR(v any, o *operand) bool {
	a, ok := parseIP(v)
	return ok && o.pfx.Contains(a)
}

func predCIDRContains(v any, o *operand) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	p, ok := parsePrefix(s)
	return ok && p.Contains(o.ip)
}

// valueSet holds IsIn/IsNotIn Values.
type valueSet struct {
	strs  map[string]struct{}
	nums  []float64
	bools [2]bool
	null  bool
}

func (s *valueSet) has(v any) bool {
	switch x := v.(type) {
	case string:
		_, ok := s.strs[x]
		return ok
	case bool:
		if x {
			return s.bools[1]
		}
		return s.bools[0]
	case nil:
		return s.null
	}
	if n, ok := toNumber(v); ok {
		for _, m := range s.nums {
			if m == n {
				return true
			}
		}
	}
	return false
}

// makeOperand compiles v as the Value of a condition needing kind k (or, in
// multi-key expressions, the second key's value). It returns a description
// of what was wanted when v does not fit. A numeric Value may be written as
// a string ("42").
func makeOperand(k opKind, v any) (operand, string) {
	var o operand
	switch k {
	case opScalar:
		switch x := v.(type) {
		case nil:
		case string:
			o.str, o.isStr, o.raw = x, true, x
		case bool:
			o.b, o.isB, o.raw = x, true, x
		default:
			n, ok := toNumber(v)
			if !ok {
				return o, "a string, number, boolean or null Value"
			}
			o.num, o.isNum, o.raw = n, true, n
		}
	case opString:
		s, ok := v.(string)
		if !ok {
			return o, "a string Value (quote numbers and booleans)"
		}
		o.str, o.isStr, o.raw = s, true, s
	case opNumber:
		n, ok := toNumber(v)
		if !ok {
			if s, isStr := v.(string); isStr {
				n, ok = parseNumber(s)
			}
		}
		if !ok {
			return o, "a numeric Value"
		}
		o.num, o.isNum, o.raw = n, true, n
	case opCIDR:
		s, ok := v.(string)
		var p netip.Prefix
		if ok {
			p, ok = parsePrefix(s)
		}
		if !ok {
			return o, "a CIDR block Value such as \"10.0.0.0/8\""
		}
		o.pfx, o.str, o.raw = p, s, s
	case opIP:
		a, ok := parseIP(v)
		if !ok {
			return o, "an IP address Value such as \"192.0.2.1\""
		}
		o.ip, o.raw = a, v
	}
	return o, ""
}

// equalFold compares strings ignoring case.
func equalFold(a, b string) bool {
	return strings.EqualFold(a, b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	if isASCII(s) && isASCII(prefix) {
		return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
	}
	return strings.HasPrefix(strings.ToLower(s), strings.ToLower(prefix))
}

func hasSuffixFold(s, suffix string) bool {
	if isASCII(s) && isASCII(suffix) {
		return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
	}
	return strings.HasSuffix(strings.ToLower(s), strings.ToLower(suffix))
}

// containsFold reports whether substr is in s, ignoring case, without
// allocating for ASCII text.
func containsFold(s, substr string) bool {
	if !isASCII(s) || !isASCII(substr) {
		return strings.Contains(strings.ToLower(s), strings.ToLower(substr))
	}
	n := len(substr)
	if n == 0 {
		return true
	}
	first := lowerASCII(substr[0])
	for i := 0; i+n <= len(s); i++ {
		if lowerASCII(s[i]) == first && strings.EqualFold(s[i:i+n], substr) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
