package prefilter

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// tri is a three-valued truth: false, true, or unknown (cannot decide, the
// rule runs).
type tri uint8

const (
	fls tri = iota
	tru
	unk
)

func triOf(b bool) tri {
	if b {
		return tru
	}
	return fls
}

type opKind uint8

const (
	opTrue opKind = iota
	opFalse
	opUnknown
	opAnd
	opOr
	opNot
	opType
	opEq
	opIn
	opStarts
	opEnds
	opContains
	opTruthy
)

type xform uint8

const (
	xfNone xform = iota
	xfLower
	xfUpper
	xfStr
	xfStrLower
	xfStrUpper
)

type litKind uint8

const (
	litString litKind = iota
	litNumber
	litBool
	litNull
)

// lit is a literal of a condition with Python's value semantics.
type lit struct {
	kind litKind
	s    string
	b    bool
	num  pyNum
}

// pyNum is a Python int (exact) or float.
type pyNum struct {
	isInt bool
	small bool // i64 holds the int
	i64   int64
	big   *big.Int
	f     float64
}

func (n pyNum) bigInt() *big.Int {
	if n.small {
		return big.NewInt(n.i64)
	}
	return n.big
}

// parseNum reads a JSON number token the way Python's json module does: no
// fraction or exponent makes an int, anything else a float.
func parseNum(tok []byte) (pyNum, bool) {
	if bytes.IndexAny(tok, ".eE") < 0 {
		if v, err := strconv.ParseInt(string(tok), 10, 64); err == nil {
			return pyNum{isInt: true, small: true, i64: v}, true
		}
		b, ok := new(big.Int).SetString(string(tok), 10)
		if !ok {
			return pyNum{}, false
		}
		return pyNum{isInt: true, big: b}, true
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return pyNum{}, false
		}
	}
	return pyNum{f: f}, true
}

func boolNum(b bool) pyNum {
	if b {
		return pyNum{isInt: true, small: true, i64: 1}
	}
	return pyNum{isInt: true, small: true}
}

// numEqual is Python's == on int and float values: exact.
func numEqual(a, b pyNum) bool {
	switch {
	case a.isInt && b.isInt:
		if a.small && b.small {
			return a.i64 == b.i64
		}
		return a.bigInt().Cmp(b.bigInt()) == 0
	case !a.isInt && !b.isInt:
		return a.f == b.f
	}
	if a.isInt {
		a, b = b, a
	}
	f := a.f // b is the int
	if math.IsInf(f, 0) || math.IsNaN(f) || f != math.Trunc(f) {
		return false
	}
	if b.small && math.Abs(f) < 1<<53 {
		return int64(f) == b.i64
	}
	fi, _ := new(big.Float).SetFloat64(f).Int(nil)
	return fi.Cmp(b.bigInt()) == 0
}

func parseLit(raw json.RawMessage) (lit, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return lit{}, false
	}
	switch classify(raw, 0) {
	case clString:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return lit{}, false
		}
		d, ok := decodeString(raw[1 : len(raw)-1])
		if !ok || d != s {
			return lit{}, false // lone surrogates and the like: not a text Python and Go agree on
		}
		return lit{kind: litString, s: s}, true
	case clNumber:
		n, ok := parseNum(raw)
		if !ok || (!n.isInt && (math.IsInf(n.f, 0) || math.IsNaN(n.f))) {
			return lit{}, false
		}
		return lit{kind: litNumber, num: n}, true
	case clBool:
		switch string(raw) {
		case "true":
			return lit{kind: litBool, b: true}, true
		case "false":
			return lit{kind: litBool}, true
		}
	case clNull:
		if string(raw) == "null" {
			return lit{kind: litNull}, true
		}
	}
	return lit{}, false
}

// node is a compiled condition.
type node struct {
	op    opKind
	path  int // index into Set.paths
	xf    xform
	types uint8 // opType: bit per class
	lits  []lit
	args  []*node
}

var (
	nodeTrue    = &node{op: opTrue}
	nodeFalse   = &node{op: opFalse}
	nodeUnknown = &node{op: opUnknown}
)

// compile turns c into a node; parts it does not understand become
// opUnknown (the rule runs).
func (s *Set) compile(c Cond) *node {
	switch c.Op {
	case "true":
		return nodeTrue
	case "false":
		return nodeFalse
	case "and", "or":
		n := &node{op: opAnd}
		if c.Op == "or" {
			n.op = opOr
		}
		for _, a := range c.Args {
			n.args = append(n.args, s.compile(a))
		}
		return n
	case "not":
		if len(c.Args) != 1 {
			return nodeUnknown
		}
		return &node{op: opNot, args: []*node{s.compile(c.Args[0])}}
	}
	if len(c.Path) == 0 {
		return nodeUnknown
	}
	n := &node{path: s.pathID(c.Path)}
	switch strings.Join(c.Transform, ",") {
	case "":
	case "lower":
		n.xf = xfLower
	case "upper":
		n.xf = xfUpper
	case "str":
		n.xf = xfStr
	case "str,lower":
		n.xf = xfStrLower
	case "str,upper":
		n.xf = xfStrUpper
	default:
		return nodeUnknown
	}
	one := func() bool {
		l, ok := parseLit(c.Value)
		n.lits = []lit{l}
		return ok
	}
	switch c.Op {
	case "type":
		if n.xf != xfNone {
			return nodeUnknown
		}
		n.op = opType
		for _, t := range c.Types {
			cl, ok := classNames[t]
			if !ok {
				return nodeUnknown
			}
			n.types |= 1 << cl
		}
	case "eq", "ne":
		n.op = opEq
		if !one() {
			return nodeUnknown
		}
		if c.Op == "ne" {
			return &node{op: opNot, args: []*node{n}}
		}
	case "in":
		n.op = opIn
		for _, v := range c.Values {
			l, ok := parseLit(v)
			if !ok {
				return nodeUnknown
			}
			n.lits = append(n.lits, l)
		}
	case "startswith", "endswith":
		n.op = opStarts
		if c.Op == "endswith" {
			n.op = opEnds
		}
		if !one() || n.lits[0].kind != litString {
			return nodeUnknown
		}
	case "contains":
		n.op = opContains
		if !one() {
			return nodeUnknown
		}
	case "truthy":
		n.op = opTruthy
	default:
		return nodeUnknown
	}
	return n
}

// eval decides n on the event held by sc.
func (sc *scratch) eval(n *node) tri {
	switch n.op {
	case opTrue:
		return tru
	case opFalse:
		return fls
	case opUnknown:
		return unk
	case opAnd:
		out := tru
		for _, a := range n.args {
			switch sc.eval(a) {
			case fls:
				return fls
			case unk:
				out = unk
			}
		}
		return out
	case opOr:
		out := fls
		for _, a := range n.args {
			switch sc.eval(a) {
			case tru:
				return tru
			case unk:
				out = unk
			}
		}
		return out
	case opNot:
		switch sc.eval(n.args[0]) {
		case tru:
			return fls
		case fls:
			return tru
		}
		return unk
	}
	v := sc.resolve(n.path)
	if v.cl == clUnknown {
		return unk
	}
	if n.op == opType {
		return triOf(n.types&(1<<v.cl) != 0)
	}
	if v.cl == clMissing || v.cl == clNull {
		return fls
	}
	return sc.atom(n, v)
}

// value is a resolved path: class and span in the event.
type value struct {
	cl   class
	s, e int
}

// text is a value after its transform: a string (maybe still to be folded
// to lower or upper case), or a reason it is none.
type text struct {
	raw  []byte // string content without quotes, escapes decoded
	fold xform  // xfNone, xfLower or xfUpper still to apply
}

// transformed applies n's transform: ok=false with fls when Python would
// raise (the analyser counts the raise elsewhere) or unk when Go cannot say.
func (sc *scratch) transformed(n *node, v value) (text, tri, bool) {
	var fold xform
	switch n.xf {
	case xfLower, xfStrLower:
		fold = xfLower
	case xfUpper, xfStrUpper:
		fold = xfUpper
	}
	str := n.xf == xfStr || n.xf == xfStrLower || n.xf == xfStrUpper
	var raw []byte
	switch v.cl {
	case clString:
		body := sc.ev[v.s+1 : v.e-1]
		if bytes.IndexByte(body, '\\') >= 0 {
			d, ok := decodeString(body)
			if !ok {
				return text{}, unk, false
			}
			body = []byte(d)
		}
		raw = body
	case clBool:
		if !str {
			return text{}, fls, false // bool has no lower()
		}
		if sc.ev[v.s] == 't' {
			raw = []byte("True")
		} else {
			raw = []byte("False")
		}
	default:
		if !str {
			return text{}, fls, false
		}
		return text{}, unk, false // str() of numbers and containers: not reproduced
	}
	if fold != xfNone && !isASCII(raw) {
		return text{}, unk, false // Python's Unicode case mapping: not reproduced
	}
	return text{raw: raw, fold: fold}, tru, true
}

func (t text) folded() []byte {
	if t.fold == xfNone {
		return t.raw
	}
	out := make([]byte, len(t.raw))
	for i, c := range t.raw {
		if t.fold == xfLower {
			out[i] = lowerASCII(c)
		} else {
			out[i] = upperASCII(c)
		}
	}
	return out
}

// eqFold reports whether fold(t) == s without allocating.
func (t text) eq(s string) bool {
	if len(t.raw) != len(s) {
		return false
	}
	switch t.fold {
	case xfLower:
		for i, c := range t.raw {
			if lowerASCII(c) != s[i] {
				return false
			}
		}
		return true
	case xfUpper:
		for i, c := range t.raw {
			if upperASCII(c) != s[i] {
				return false
			}
		}
		return true
	}
	return string(t.raw) == s
}

func (sc *scratch) atom(n *node, v value) tri {
	if n.op == opTruthy {
		return sc.truthy(n, v)
	}
	if n.xf == xfNone {
		switch n.op {
		case opEq, opIn:
			return sc.eqAny(n.lits, v)
		case opContains:
			return sc.contains(n.lits[0], v)
		}
		if v.cl != clString {
			return fls // startswith on a non-string: Python raises, counted elsewhere
		}
	}
	t, r, ok := sc.transformed(n, v)
	if !ok {
		return r
	}
	switch n.op {
	case opEq, opIn:
		for _, l := range n.lits {
			if l.kind == litString && t.eq(l.s) {
				return tru
			}
		}
		return fls
	case opStarts:
		return triOf(bytes.HasPrefix(t.folded(), []byte(n.lits[0].s)))
	case opEnds:
		return triOf(bytes.HasSuffix(t.folded(), []byte(n.lits[0].s)))
	case opContains:
		if n.lits[0].kind != litString {
			return fls
		}
		return triOf(bytes.Contains(t.folded(), []byte(n.lits[0].s)))
	}
	return unk
}

func (sc *scratch) eqAny(lits []lit, v value) tri {
	out := fls
	for _, l := range lits {
		switch sc.eqLit(l, v) {
		case tru:
			return tru
		case unk:
			out = unk
		}
	}
	return out
}

// eqLit is Python's value == literal for a JSON value (wrapped containers
// equal no scalar).
func (sc *scratch) eqLit(l lit, v value) tri {
	d := sc.ev
	switch v.cl {
	case clNull:
		return triOf(l.kind == litNull)
	case clString:
		if l.kind != litString {
			return fls
		}
		body := d[v.s+1 : v.e-1]
		if bytes.IndexByte(body, '\\') < 0 {
			return triOf(string(body) == l.s)
		}
		s, ok := decodeString(body)
		if !ok {
			return unk
		}
		return triOf(s == l.s)
	case clNumber:
		var ln pyNum
		switch l.kind {
		case litNumber:
			ln = l.num
		case litBool:
			ln = boolNum(l.b)
		default:
			return fls
		}
		vn, ok := parseNum(d[v.s:v.e])
		if !ok {
			return unk
		}
		return triOf(numEqual(vn, ln))
	case clBool:
		b := d[v.s] == 't'
		switch l.kind {
		case litBool:
			return triOf(b == l.b)
		case litNumber:
			return triOf(numEqual(boolNum(b), l.num))
		}
		return fls
	case clObject, clArray:
		return fls
	}
	return unk
}

// contains is Python's `literal in value` (no transform): substring of a
// string, member of an array, key of an object (the event object's key
// semantics); numbers and bools are not containers (Python raises).
func (sc *scratch) contains(l lit, v value) tri {
	d := sc.ev
	switch v.cl {
	case clString:
		if l.kind != litString {
			return fls
		}
		body := d[v.s+1 : v.e-1]
		if bytes.IndexByte(body, '\\') >= 0 {
			s, ok := decodeString(body)
			if !ok {
				return unk
			}
			body = []byte(s)
		}
		return triOf(bytes.Contains(body, []byte(l.s)))
	case clArray:
		out := fls
		i := skipWS(d, v.s+1)
		if i < len(d) && d[i] == ']' {
			return fls
		}
		for {
			e := skipValue(d, i)
			if e < 0 {
				return unk
			}
			el := value{cl: classify(d, i), s: i, e: e}
			if el.cl == clUnknown {
				return unk
			}
			switch sc.eqLit(l, el) {
			case tru:
				return tru
			case unk:
				out = unk
			}
			i = skipWS(d, e)
			if i >= len(d) {
				return unk
			}
			if d[i] == ']' {
				return out
			}
			if d[i] != ',' {
				return unk
			}
			i = skipWS(d, i+1)
		}
	case clObject:
		if l.kind != litString {
			return fls
		}
		km := newKeyMatch(l.s)
		if !members(d, v.s, func(m member) bool { km.see(&m); return true }) {
			return unk
		}
		switch r, _, _ := km.result(); r {
		case clKnown:
			return tru
		case clMissing:
			return fls
		}
		return unk
	}
	return fls
}

// truthy is Python's bool() of the (transformed) value.
func (sc *scratch) truthy(n *node, v value) tri {
	d := sc.ev
	if n.xf != xfNone {
		if v.cl == clString {
			return triOf(v.e-v.s > 2) // case mapping keeps a string non-empty
		}
		if n.xf == xfLower || n.xf == xfUpper {
			return fls // Python raises; counted elsewhere
		}
		return tru // str() of anything else is never empty
	}
	switch v.cl {
	case clString:
		return triOf(v.e-v.s > 2)
	case clBool:
		return triOf(d[v.s] == 't')
	case clNumber:
		num, ok := parseNum(d[v.s:v.e])
		if !ok {
			return unk
		}
		if num.isInt {
			return triOf(!(num.small && num.i64 == 0) && !(num.big != nil && num.big.Sign() == 0))
		}
		return triOf(num.f != 0)
	case clObject:
		i := skipWS(d, v.s+1)
		return triOf(i < len(d) && d[i] != '}')
	case clArray:
		i := skipWS(d, v.s+1)
		return triOf(i < len(d) && d[i] != ']')
	}
	return unk
}
