package oktasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The filter parameter is a SCIM filter (RFC 7644 §3.4.2.2) without the
// [ ] value-path syntax, as Okta documents it for the System Log:
//
//	filter = or
//	or     = and *("or" and)
//	and    = unary *("and" unary)
//	unary  = "not" "(" filter ")" / "(" filter ")" / attrPath "pr" / attrPath op value
//	op     = eq / ne / co / sw / ew / gt / ge / lt / le
//	value  = "string" / number / true / false / null
//
// Attribute names are case-sensitive and checked against the LogEvent
// schema; operators and and/or/not are not. Where an attribute crosses an
// array (target, request.ipChain) the comparison holds if any element
// satisfies it. eq and ne compare strings exactly; co, sw and ew ignore
// case (SCIM's default for non-case-exact attributes). gt/ge/lt/le compare
// numbers numerically, severity by level (DEBUG < INFO < WARN < ERROR) and
// other strings lexically.

type filterExpr interface {
	eval(doc map[string]any) bool
}

type andExpr struct{ l, r filterExpr }
type orExpr struct{ l, r filterExpr }
type notExpr struct{ x filterExpr }

type cmpExpr struct {
	attr  string
	path  []string
	op    string
	value any // string, float64, bool or nil
}

func (e andExpr) eval(d map[string]any) bool { return e.l.eval(d) && e.r.eval(d) }
func (e orExpr) eval(d map[string]any) bool  { return e.l.eval(d) || e.r.eval(d) }
func (e notExpr) eval(d map[string]any) bool { return !e.x.eval(d) }

// schema lists the filterable LogEvent attributes: nil is a leaf, a map an
// object, and an object with key "*" accepts any path below it.
var schema = func() map[string]any {
	anything := map[string]any{"*": nil}
	geo := map[string]any{"city": nil, "state": nil, "country": nil, "postalCode": nil,
		"geolocation": map[string]any{"lat": nil, "lon": nil}}
	actor := map[string]any{"id": nil, "type": nil, "alternateId": nil, "displayName": nil, "detailEntry": anything}
	target := map[string]any{"id": nil, "type": nil, "alternateId": nil, "displayName": nil, "detailEntry": anything, "changeDetails": anything}
	return map[string]any{
		"uuid": nil, "eventType": nil, "version": nil, "severity": nil, "legacyEventType": nil, "displayMessage": nil,
		"actor": actor, "target": target,
		"client": map[string]any{"userAgent": map[string]any{"rawUserAgent": nil, "os": nil, "browser": nil},
			"zone": nil, "device": nil, "id": nil, "ipAddress": nil, "geographicalContext": geo},
		"device": map[string]any{"id": nil, "name": nil, "os_platform": nil, "os_version": nil, "managed": nil, "registered": nil,
			"device_integrator": anything, "disk_encryption_type": nil, "screen_lock_type": nil, "jailbreak": nil, "secure_hardware_present": nil},
		"authenticationContext": map[string]any{"authenticationProvider": nil, "credentialProvider": nil, "credentialType": nil,
			"issuer": map[string]any{"id": nil, "type": nil}, "interface": nil, "authenticationStep": nil,
			"externalSessionId": nil, "rootSessionId": nil},
		"securityContext": map[string]any{"asNumber": nil, "asOrg": nil, "isp": nil, "domain": nil, "isProxy": nil,
			"risk": anything, "ipDetails": anything, "userBehaviors": anything, "botProtection": anything},
		"debugContext": map[string]any{"debugData": anything},
		"outcome":      map[string]any{"result": nil, "reason": nil},
		"request": map[string]any{"ipChain": map[string]any{"ip": nil, "geographicalContext": geo, "version": nil, "source": nil,
			"ipDetails": anything}},
		"transaction": map[string]any{"type": nil, "id": nil, "detail": anything},
	}
}()

func validAttr(path []string) bool {
	var node any = schema
	for _, p := range path {
		m, ok := node.(map[string]any)
		if !ok {
			return false // below a leaf
		}
		if _, free := m["*"]; free {
			return true
		}
		node, ok = m[p]
		if !ok {
			return false
		}
	}
	return true
}

// noContains are attributes co is not supported on (400 E0000031).
var noContains = map[string]bool{"debugContext.debugData.url": true, "debugContext.debugData.requestUri": true}

type token struct {
	kind byte // '(' ')' '"' (string) 'w' (word)
	text string
	pos  int
}

type filterParser struct {
	src    string
	toks   []token
	i      int
	depth  int
	failed *apiError
	cmps   []cmpExpr
}

const maxFilterDepth = 64

func parseFilter(src string) (filterExpr, *apiError) {
	p := &filterParser{src: src}
	if e := p.lex(); e != nil {
		return nil, e
	}
	if len(p.toks) == 0 {
		return nil, p.fail("Empty filter")
	}
	x := p.or()
	if p.failed != nil {
		return nil, p.failed
	}
	if p.i < len(p.toks) {
		t := p.toks[p.i]
		if t.kind == ')' {
			return nil, p.fail(fmt.Sprintf("Unexpected ')' at position %d", t.pos))
		}
		return nil, p.fail(fmt.Sprintf("Expected 'and' or 'or' at position %d but found '%s'", t.pos, t.text))
	}
	// Syntax first (as Okta reports a bad operator before a bad field),
	// then the attributes.
	for _, c := range p.cmps {
		if c.attr == "published" {
			return nil, p.fail("published is not supported in a filter; use the since and until parameters")
		}
		if !validAttr(c.path) {
			return nil, p.fail("field is not valid: " + c.attr)
		}
		if c.op == "co" && noContains[c.attr] {
			return nil, &apiError{status: http.StatusBadRequest, code: codeBadOperator,
				summary: "The supplied combination of operator and field is not currently supported. Operator: co, Field: " + c.attr}
		}
	}
	return x, nil
}

func (p *filterParser) fail(detail string) *apiError {
	if p.failed == nil {
		p.failed = errFilter(fmt.Sprintf("Invalid filter '%s': %s", p.src, detail))
	}
	return p.failed
}

func (p *filterParser) lex() *apiError {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			p.toks = append(p.toks, token{kind: c, text: string(c), pos: i})
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return p.fail(fmt.Sprintf("Unterminated string at position %d", i))
			}
			var v string
			if err := json.Unmarshal([]byte(s[i:j+1]), &v); err != nil {
				return p.fail(fmt.Sprintf("Invalid string at position %d", i))
			}
			p.toks = append(p.toks, token{kind: '"', text: v, pos: i})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()\"", rune(s[j])) {
				j++
			}
			p.toks = append(p.toks, token{kind: 'w', text: s[i:j], pos: i})
			i = j
		}
	}
	return nil
}

func (p *filterParser) peekWord(words ...string) bool {
	if p.i >= len(p.toks) || p.toks[p.i].kind != 'w' {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(p.toks[p.i].text, w) {
			return true
		}
	}
	return false
}

func (p *filterParser) or() filterExpr {
	x := p.and()
	for p.failed == nil && p.peekWord("or") {
		p.i++
		x = orExpr{x, p.and()}
	}
	return x
}

func (p *filterParser) and() filterExpr {
	x := p.unary()
	for p.failed == nil && p.peekWord("and") {
		p.i++
		x = andExpr{x, p.unary()}
	}
	return x
}

func (p *filterParser) end() int { return len(p.src) }

func (p *filterParser) group() filterExpr {
	open := p.toks[p.i]
	p.i++
	p.depth++
	if p.depth > maxFilterDepth {
		p.fail(fmt.Sprintf("Filter nested too deeply at position %d", open.pos))
		return nil
	}
	x := p.or()
	p.depth--
	if p.failed != nil {
		return nil
	}
	if p.i >= len(p.toks) || p.toks[p.i].kind != ')' {
		p.fail(fmt.Sprintf("Missing ')' for '(' at position %d", open.pos))
		return nil
	}
	p.i++
	return x
}

func (p *filterParser) unary() filterExpr {
	if p.failed != nil {
		return nil
	}
	if p.i >= len(p.toks) {
		p.fail(fmt.Sprintf("Expected an attribute at position %d", p.end()))
		return nil
	}
	t := p.toks[p.i]
	switch {
	case t.kind == '(':
		return p.group()
	case t.kind == 'w' && strings.EqualFold(t.text, "not") && p.i+1 < len(p.toks) && p.toks[p.i+1].kind == '(':
		p.i++
		x := p.group()
		if p.failed != nil {
			return nil
		}
		return notExpr{x}
	case t.kind != 'w':
		p.fail(fmt.Sprintf("Expected an attribute at position %d but found '%s'", t.pos, t.text))
		return nil
	}
	return p.comparison()
}

func (p *filterParser) comparison() filterExpr {
	attr := p.toks[p.i]
	p.i++
	path := strings.Split(attr.text, ".")
	for _, seg := range path {
		if !isIdent(seg) {
			p.fail(fmt.Sprintf("Invalid attribute '%s' at position %d", attr.text, attr.pos))
			return nil
		}
	}
	if p.i >= len(p.toks) {
		p.fail(fmt.Sprintf("Expected an attribute operator at position %d", p.end()))
		return nil
	}
	opTok := p.toks[p.i]
	op := strings.ToLower(opTok.text)
	switch op {
	case "pr":
		p.i++
		c := cmpExpr{attr: attr.text, path: path, op: op}
		p.cmps = append(p.cmps, c)
		return c
	case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
	default:
		p.fail(fmt.Sprintf("Unrecognized attribute operator '%s' at position %d. Expected: eq,ne,co,sw,ew,pr,gt,ge,lt,le", opTok.text, opTok.pos))
		return nil
	}
	if opTok.kind != 'w' {
		p.fail(fmt.Sprintf("Unrecognized attribute operator '%s' at position %d. Expected: eq,ne,co,sw,ew,pr,gt,ge,lt,le", opTok.text, opTok.pos))
		return nil
	}
	p.i++
	if p.i >= len(p.toks) {
		p.fail(fmt.Sprintf("Expected a value at position %d", p.end()))
		return nil
	}
	vt := p.toks[p.i]
	p.i++
	var value any
	switch {
	case vt.kind == '"':
		value = vt.text
	case vt.kind == 'w' && strings.EqualFold(vt.text, "true"):
		value = true
	case vt.kind == 'w' && strings.EqualFold(vt.text, "false"):
		value = false
	case vt.kind == 'w' && strings.EqualFold(vt.text, "null"):
		value = nil
	default:
		f, err := strconv.ParseFloat(vt.text, 64)
		if vt.kind != 'w' || err != nil {
			p.fail(fmt.Sprintf("Invalid value '%s' at position %d. Expected a quoted string, a number, true, false or null", vt.text, vt.pos))
			return nil
		}
		value = f
	}
	if (op == "co" || op == "sw" || op == "ew") && vt.kind != '"' {
		p.fail(fmt.Sprintf("Operator '%s' at position %d needs a quoted string", opTok.text, opTok.pos))
		return nil
	}
	c := cmpExpr{attr: attr.text, path: path, op: op, value: value}
	p.cmps = append(p.cmps, c)
	return c
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// collect gathers the values at path, fanning out across arrays.
func collect(v any, path []string, out []any) []any {
	if arr, ok := v.([]any); ok {
		for _, x := range arr {
			out = collect(x, path, out)
		}
		return out
	}
	if len(path) == 0 {
		return append(out, v)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return out
	}
	x, ok := m[path[0]]
	if !ok {
		return out
	}
	return collect(x, path[1:], out)
}

var severityRank = map[string]int{"DEBUG": 0, "INFO": 1, "WARN": 2, "ERROR": 3}

func (e cmpExpr) eval(doc map[string]any) bool {
	values := collect(doc, e.path, nil)
	switch e.op {
	case "pr":
		for _, v := range values {
			if present(v) {
				return true
			}
		}
		return false
	case "eq":
		return e.anyEqual(values)
	case "ne":
		return !e.anyEqual(values)
	}
	for _, v := range values {
		if e.compare(v) {
			return true
		}
	}
	return false
}

func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func (e cmpExpr) anyEqual(values []any) bool {
	if e.value == nil {
		for _, v := range values {
			if v != nil {
				return false
			}
		}
		return true
	}
	for _, v := range values {
		switch lit := e.value.(type) {
		case string:
			if s, ok := v.(string); ok && s == lit {
				return true
			}
		case float64:
			if f, ok := number(v); ok && f == lit {
				return true
			}
		case bool:
			if b, ok := v.(bool); ok && b == lit {
				return true
			}
		}
	}
	return false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}

// compare applies co, sw, ew, gt, ge, lt or le to one value.
func (e cmpExpr) compare(v any) bool {
	switch e.op {
	case "co", "sw", "ew":
		s, ok := v.(string)
		lit, _ := e.value.(string)
		if !ok {
			return false
		}
		s, lit = strings.ToLower(s), strings.ToLower(lit)
		switch e.op {
		case "co":
			return strings.Contains(s, lit)
		case "sw":
			return strings.HasPrefix(s, lit)
		}
		return strings.HasSuffix(s, lit)
	}
	var c int
	switch lit := e.value.(type) {
	case float64:
		f, ok := number(v)
		if !ok {
			return false
		}
		c = cmpFloat(f, lit)
	case string:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if e.attr == "severity" {
			a, okA := severityRank[strings.ToUpper(s)]
			b, okB := severityRank[strings.ToUpper(lit)]
			if !okA || !okB {
				return false
			}
			c = a - b
		} else {
			c = strings.Compare(s, lit)
		}
	default:
		return false
	}
	switch e.op {
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	}
	return c <= 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
