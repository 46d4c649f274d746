package prefilter

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"sort"
	"strings"
	"sync"
)

// Set is the compiled prefilters of a group of rules. It is safe for
// concurrent use.
type Set struct {
	goLookup bool       // key lookup as Go's match package does it (BuildGo)
	paths    []pathNode // paths[0] is the event itself
	byPath   map[string]int
	rules    []*ruleFilter // by rule index; nil: no prefilter
	indexes  []*index
	scratch  sync.Pool
}

// pathNode is one step of a path trie shared by all conditions: every
// distinct path is resolved at most once per event.
type pathNode struct {
	key      string
	lower    string // ASCII lower case of key, "" when key is not ASCII
	parent   int
	children []int
}

type ruleFilter struct {
	cond  Cond
	root  *node
	rest  *node // what remains to check once the index admitted the rule
	index int   // into Set.indexes, or -1
}

// index maps the string value at one path to the rules that require it:
// for most rules the event's eventType alone names the few that can match.
type index struct {
	path    int
	byValue map[string][]int
	rules   []int // every rule of this index, for values Go cannot read
}

// Build compiles the conditions of rules (by rule index). Rules without an
// entry, or whose condition is "true", always pass.
func Build(conds map[int]Cond) *Set { return build(conds, false) }

// BuildGo is Build for conditions derived from detections that Go evaluates
// on decoded events (package match). Their key lookup differs from the
// Python event's where an exact key is missing: the Go fallback picks among
// keys equal under Unicode case folding. A Set from BuildGo decides a path
// only when it finds the exact key, or when no other key could fold to it
// (it answers "unknown" otherwise); values compare as in Build.
func BuildGo(conds map[int]Cond) *Set { return build(conds, true) }

func build(conds map[int]Cond, goLookup bool) *Set {
	s := &Set{goLookup: goLookup, paths: []pathNode{{parent: -1}}, byPath: map[string]int{}}
	maxRule := -1
	for r := range conds {
		maxRule = max(maxRule, r)
	}
	s.rules = make([]*ruleFilter, maxRule+1)
	ids := make([]int, 0, len(conds))
	for r := range conds {
		if r >= 0 {
			ids = append(ids, r)
		}
	}
	sort.Ints(ids)
	keys := map[int]map[string]keyValues{}
	popularity := map[string]int{}
	for _, r := range ids {
		c := conds[r]
		root := s.compile(c)
		if root.op == opTrue || root.op == opUnknown {
			continue
		}
		s.rules[r] = &ruleFilter{cond: c, root: root, rest: root, index: -1}
		k := indexKeys(c)
		keys[r] = k
		for p := range k {
			popularity[p]++
		}
	}
	byKey := map[string]int{}
	for _, r := range ids {
		rf := s.rules[r]
		if rf == nil || len(keys[r]) == 0 {
			continue
		}
		// Share indexes: each rule uses the path most rules can be indexed by.
		best := ""
		for p := range keys[r] {
			if best == "" || popularity[p] > popularity[best] || (popularity[p] == popularity[best] && p < best) {
				best = p
			}
		}
		kv := keys[r][best]
		at, ok := byKey[best]
		if !ok {
			at = len(s.indexes)
			byKey[best] = at
			s.indexes = append(s.indexes, &index{path: s.pathID(kv.path), byValue: map[string][]int{}})
		}
		ix := s.indexes[at]
		for _, v := range kv.values {
			ix.byValue[v] = append(ix.byValue[v], r)
		}
		ix.rules = append(ix.rules, r)
		rf.index = at
		rf.rest = s.compile(withoutConjunct(rf.cond, kv.conjunct))
	}
	n := len(s.paths)
	nr := len(s.rules)
	s.scratch.New = func() any {
		return &scratch{set: s, slots: make([]slot, n), marks: make([]uint32, nr), kms: make([]keyMatch, n)}
	}
	return s
}

// pathID returns the trie node of path, adding it.
func (s *Set) pathID(path []string) int {
	key := strings.Join(path, "\x00")
	if id, ok := s.byPath[key]; ok {
		return id
	}
	parent := 0
	if len(path) > 1 {
		parent = s.pathID(path[:len(path)-1])
	}
	id := len(s.paths)
	s.paths = append(s.paths, pathNode{key: path[len(path)-1], lower: lowerKey(path[len(path)-1]), parent: parent})
	s.paths[parent].children = append(s.paths[parent].children, id)
	s.byPath[key] = id
	return id
}

// wholeCond marks a keyValues that is the whole condition.
const wholeCond = -2

// keyValues says: the condition implies that the value at path is one of
// values (strings compared exactly, no transform).
type keyValues struct {
	path     []string
	values   []string
	conjunct int // index of the top-level conjunct that says so, wholeCond, or -1
}

// indexKeys finds the paths whose exact string value the condition
// requires: eq/in atoms with string literals, through and (any conjunct)
// and or (the same path in every branch, values united).
func indexKeys(c Cond) map[string]keyValues {
	switch c.Op {
	case "eq", "in":
		if len(c.Transform) > 0 || len(c.Path) == 0 {
			return nil
		}
		raw := c.Values
		if c.Op == "eq" {
			raw = []json.RawMessage{c.Value}
		}
		var vals []string
		for _, v := range raw {
			l, ok := parseLit(v)
			if !ok || l.kind != litString {
				return nil
			}
			vals = append(vals, l.s)
		}
		return map[string]keyValues{strings.Join(c.Path, "\x00"): {path: c.Path, values: vals, conjunct: wholeCond}}
	case "and":
		out := map[string]keyValues{}
		for i, a := range c.Args {
			for p, kv := range indexKeys(a) {
				if prev, ok := out[p]; ok {
					kv.values = intersect(prev.values, kv.values)
					kv.conjunct = -1
				} else if a.Op == "eq" || a.Op == "in" {
					kv.conjunct = i
				} else {
					kv.conjunct = -1
				}
				out[p] = kv
			}
		}
		return out
	case "or":
		var out map[string]keyValues
		for i, a := range c.Args {
			k := indexKeys(a)
			if i == 0 {
				out = k
				continue
			}
			for p, kv := range out {
				other, ok := k[p]
				if !ok {
					delete(out, p)
					continue
				}
				kv.values = union(kv.values, other.values)
				kv.conjunct = -1
				out[p] = kv
			}
		}
		for p, kv := range out {
			kv.conjunct = -1
			out[p] = kv
		}
		return out
	}
	return nil
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, y := range b {
		found := false
		for _, x := range out {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			out = append(out, y)
		}
	}
	return out
}

// withoutConjunct drops the i-th conjunct of a top-level and, or the whole
// condition (wholeCond): the index checked it already. With -1 the
// condition stays whole.
func withoutConjunct(c Cond, i int) Cond {
	if i == wholeCond {
		return True
	}
	if c.Op != "and" || i < 0 || i >= len(c.Args) {
		return c
	}
	rest := Cond{Op: "and"}
	rest.Args = append(append(rest.Args, c.Args[:i]...), c.Args[i+1:]...)
	return rest
}

// slot is a path's resolution for the current event.
type slot struct {
	gen     uint32
	scanned uint32 // gen when the children of the object at `at` were resolved
	at      int
	v       value
}

// scratch is the per-call state: the event, resolved paths, rule marks.
type scratch struct {
	set     *Set
	ev      []byte
	members []uint32 // offsets of the event's top-level keys, or nil
	shapes  []*shape // most recently used first
	gen     uint32
	slots   []slot
	marks   []uint32
	kms     []keyMatch // by path node: the lookup of its key in the object being scanned
}

func (sc *scratch) reset(ev []byte, members []uint32) {
	sc.ev, sc.members = ev, members
	sc.gen++
	if sc.gen == 0 { // wrapped: forget every stamp
		for i := range sc.slots {
			sc.slots[i] = slot{}
		}
		for i := range sc.marks {
			sc.marks[i] = 0
		}
		sc.gen = 1
	}
}

// resolve returns the value at path node id, resolving each object's wanted
// children in one pass over it.
func (sc *scratch) resolve(id int) value {
	sl := &sc.slots[id]
	if sl.gen == sc.gen {
		return sl.v
	}
	if id == 0 {
		// The event object: its members are scanned when needed (members
		// reports text that ends early); its end is not needed.
		i := skipWS(sc.ev, 0)
		v := value{cl: clUnknown}
		if i < len(sc.ev) && sc.ev[i] == '{' {
			v = value{cl: clObject, s: i, e: len(sc.ev)}
		}
		sl.gen, sl.v = sc.gen, v
		return v
	}
	pid := sc.set.paths[id].parent
	parent := sc.resolve(pid)
	switch parent.cl {
	case clObject:
		sc.scanChildren(pid, parent)
		return sc.slots[id].v
	case clUnknown:
		sl.gen, sl.v = sc.gen, value{cl: clUnknown}
	default:
		sl.gen, sl.v = sc.gen, value{cl: clMissing}
	}
	return sl.v
}

// scanChildren resolves the children of path node pid, whose value obj is
// an object.
func (sc *scratch) scanChildren(pid int, obj value) {
	if sc.slots[pid].scanned == sc.gen {
		return
	}
	if pid != 0 || sc.members == nil || !sc.scanIndexed() {
		sc.scanObject(pid, obj.s)
	}
}

// scanIndexed resolves the event object's children through the
// normalizer's offsets of its top-level keys, which spare the scan of the
// values: from a remembered shape, or by reading every key (the shape is
// remembered then). It reports false when the text does not fit the
// offsets.
func (sc *scratch) scanIndexed() bool {
	kids := sc.set.paths[0].children
	for i, sh := range sc.shapes {
		if sh.resolve(sc.ev, sc.members, kids, sc.slots, sc.gen) {
			copy(sc.shapes[1:i+1], sc.shapes[:i])
			sc.shapes[0] = sh
			sc.slots[0].scanned = sc.gen
			return true
		}
	}
	sc.resetKeys(kids)
	sh := sc.newShape()
	if !indexedMembers(sc.ev, sc.members, func(m member) bool {
		sh.add(sc.ev[m.keyS:m.valS])
		sc.see(kids, &m)
		return true
	}) {
		sh.reset()
		return false
	}
	sh.learn(sc.kms, kids)
	sc.settle(0, true)
	return true
}

// scanObject resolves the children of path node pid in the object that
// starts at d[s], in one pass. It returns the index after the object, or
// -1 when the text is malformed (the children are unknown then).
func (sc *scratch) scanObject(pid, s int) int {
	kids := sc.set.paths[pid].children
	sc.resetKeys(kids)
	r := readObject(sc.ev, s)
	var m member
	for r.key(&m) {
		if m.valE = sc.valueEnd(pid, &m); m.valE >= 0 {
			sc.see(kids, &m)
		}
		r.next(m.valE)
	}
	sc.slots[pid].scanned, sc.slots[pid].at = sc.gen, s
	sc.settle(pid, r.end >= 0)
	return r.end
}

// valueEnd returns the end of m's value in the object of path node pid.
// Below the event object, a value that is an object under the exact key of
// a child with wanted children of its own is read by resolving them
// (scanObject), so that no object is read twice; the child's lookup may
// yet pick another member, and settle forgets them then. The event
// object's children are resolved only when needed: most events are
// decided by the path of an index alone.
func (sc *scratch) valueEnd(pid int, m *member) int {
	d := sc.ev
	if pid != 0 && m.valS < len(d) && d[m.valS] == '{' {
		for _, k := range sc.set.paths[pid].children {
			if p := &sc.set.paths[k]; len(p.children) > 0 && m.equals(p.key) {
				if e := sc.scanObject(k, m.valS); e >= 0 {
					return e
				}
				break // malformed inside: its children are unknown
			}
		}
	}
	return skipValue(d, m.valS)
}

// resetKeys starts the lookups of kids' keys.
func (sc *scratch) resetKeys(kids []int) {
	for _, k := range kids {
		p := &sc.set.paths[k]
		sc.kms[k] = keyMatch{key: p.key, lower: p.lower, goLookup: sc.set.goLookup}
	}
}

// see shows member m to the lookups of kids' keys.
func (sc *scratch) see(kids []int, m *member) {
	for _, k := range kids {
		sc.kms[k].see(m)
	}
}

// settle writes the values of pid's children from the lookups of their
// keys (unknown when the object was malformed), and forgets what was
// resolved below a child in a value that its lookup did not pick.
func (sc *scratch) settle(pid int, ok bool) {
	for _, k := range sc.set.paths[pid].children {
		v := value{cl: clUnknown}
		if ok {
			switch r, s, e := sc.kms[k].result(); r {
			case clKnown:
				v = value{cl: classify(sc.ev, s), s: s, e: e}
			case clMissing:
				v = value{cl: clMissing}
			}
		}
		sl := &sc.slots[k]
		sl.gen, sl.v = sc.gen, v
		if sl.scanned == sc.gen && (v.cl != clObject || v.s != sl.at) {
			sc.forget(k)
		}
	}
}

// forget undoes the resolution of the paths below node id.
func (sc *scratch) forget(id int) {
	sc.slots[id].scanned = 0
	for _, k := range sc.set.paths[id].children {
		sc.slots[k].gen = 0
		sc.forget(k)
	}
}

// maxShapes is how many event shapes a scratch remembers.
const maxShapes = 8

// newShape returns an empty shape at the front of the cache, reusing the
// least recently used one when the cache is full.
func (sc *scratch) newShape() *shape {
	var sh *shape
	if len(sc.shapes) < maxShapes {
		sh = &shape{}
		sc.shapes = append(sc.shapes, nil)
	} else {
		sh = sc.shapes[len(sc.shapes)-1]
	}
	copy(sc.shapes[1:], sc.shapes[:len(sc.shapes)-1])
	sc.shapes[0] = sh
	sh.reset()
	return sh
}

// shape remembers the top-level keys of an event read through its member
// offsets, and which member each wanted key resolved to. Events of one
// source mostly come in a few shapes (the keys of each event type, in the
// same order), so a later event needs only a comparison of its key bytes:
// the same key text in the same order gives the same lookups.
type shape struct {
	keys  []byte    // each member's `"key":` text, concatenated
	words []keyWord // each member's text as words, for resolve's comparison
	found []hit     // by child of the event object
}

// keyWord holds a member's key text for a comparison in three loads: its
// first, middle and last eight bytes, which overlap when the text is
// shorter than 24 bytes. Shorter texts (under 8 bytes) and longer ones
// (over 24) are compared as bytes.
type keyWord struct {
	first, mid, last uint64
	n, midAt         int
	off              int // where the text starts in shape.keys
}

func newKeyWord(text []byte) keyWord {
	w := keyWord{n: len(text)}
	if w.n >= 8 {
		w.midAt = min(8, w.n-8)
		w.first, w.mid, w.last = load64(text, 0), load64(text, w.midAt), load64(text, w.n-8)
	}
	return w
}

func load64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// diff is zero when d[i:] starts with the text, which keys holds at w.off;
// d must hold at least w.n bytes from i.
func (w *keyWord) diff(d []byte, i int, keys []byte) uint64 {
	if w.n < 8 || w.n > 24 {
		if string(d[i:i+w.n]) == string(keys[w.off:w.off+w.n]) {
			return 0
		}
		return 1
	}
	return (load64(d, i) ^ w.first) | (load64(d, i+w.midAt) ^ w.mid) | (load64(d, i+w.n-8) ^ w.last)
}

type hit struct {
	cl  class // clKnown (at member m), clMissing or clUnknown
	ord int
}

func (sh *shape) reset() {
	sh.keys, sh.words, sh.found = sh.keys[:0], sh.words[:0], sh.found[:0]
}

func (sh *shape) add(keyColon []byte) {
	w := newKeyWord(keyColon)
	w.off = len(sh.keys)
	sh.keys = append(sh.keys, keyColon...)
	sh.words = append(sh.words, w)
}

// learn records the members that the lookups of kids' keys found.
func (sh *shape) learn(kms []keyMatch, kids []int) {
	for _, k := range kids {
		cl, ord := kms[k].resultMember()
		sh.found = append(sh.found, hit{cl: cl, ord: ord})
	}
}

// resolve fills the slots of the event object's children when ev's keys
// are those remembered; it reports whether they were.
func (sh *shape) resolve(ev []byte, offs []uint32, kids []int, slots []slot, gen uint32) bool {
	n := len(ev)
	if len(sh.found) != len(kids) || len(offs) != len(sh.words) || n < 2 || ev[0] != '{' || ev[n-1] != '}' {
		return false
	}
	if len(offs) > 0 && (offs[0] != 1 || int(offs[len(offs)-1]) >= n) {
		return false
	}
	// Every key starts with a quote. Checking that first, in a loop of
	// independent loads, brings the keys of an event that is not in the
	// cache into it together rather than one at a time below.
	for _, o := range offs {
		if int(o) >= n || ev[o] != '"' {
			return false
		}
	}
	// Each key text must be where the offset says, followed by its value
	// and the comma before the next key (or the closing brace). The texts'
	// differences are collected, without a branch per key: a shape that
	// has the event's number of keys rarely differs.
	limit := n - 1
	var diff uint64
	for k := len(offs) - 1; k >= 0; k-- {
		i, w := int(offs[k]), &sh.words[k]
		if i < 1 || i+w.n > limit || (k > 0 && ev[i-1] != ',') {
			return false
		}
		diff |= w.diff(ev, i, sh.keys)
		limit = i - 1
	}
	if diff != 0 {
		return false
	}
	for j, k := range kids {
		v := value{cl: sh.found[j].cl}
		if v.cl == clKnown {
			m := sh.found[j].ord
			s, e := int(offs[m])+sh.words[m].n, n-1
			if m+1 < len(offs) {
				e = int(offs[m+1]) - 1
			}
			v = value{cl: classify(ev, s), s: s, e: e}
		}
		slots[k].gen, slots[k].v = gen, v
	}
	return true
}

// Candidates appends to dst the rules of rules (indexes as given to Build)
// that may match event: those without a prefilter, and those whose
// condition holds or cannot be decided on event, in the order given.
//
// members, when not nil, are the offsets of the event's top-level keys
// (logtypes.Event.Members): the event's fields are then found without
// scanning its values.
func (s *Set) Candidates(event []byte, members []uint32, rules []int, dst []int) []int {
	if s == nil {
		return append(dst, rules...)
	}
	sc := s.scratch.Get().(*scratch)
	defer s.scratch.Put(sc)
	sc.reset(event, members)
	for _, ix := range s.indexes {
		v := sc.resolve(ix.path)
		var admitted []int
		switch v.cl {
		case clUnknown:
			admitted = ix.rules
		case clString:
			body := event[v.s+1 : v.e-1]
			if bytes.IndexByte(body, '\\') < 0 {
				admitted = ix.byValue[string(body)]
			} else if d, ok := decodeString(body); ok {
				admitted = ix.byValue[d]
			} else {
				admitted = ix.rules
			}
		}
		for _, r := range admitted {
			sc.marks[r] = sc.gen
		}
	}
	for _, r := range rules {
		if r < 0 || r >= len(s.rules) || s.rules[r] == nil {
			dst = append(dst, r)
			continue
		}
		rf := s.rules[r]
		if rf.index >= 0 && sc.marks[r] != sc.gen {
			continue
		}
		if sc.eval(rf.rest) != fls {
			dst = append(dst, r)
		}
	}
	sc.ev, sc.members = nil, nil
	return dst
}

// Has reports whether rule r has a prefilter (a condition other than true).
func (s *Set) Has(r int) bool {
	return s != nil && r >= 0 && r < len(s.rules) && s.rules[r] != nil
}

// Eval decides the condition of rule r on event: true (or undecidable)
// means the rule must run. Rules without a prefilter are always true.
func (s *Set) Eval(r int, event []byte) bool {
	return len(s.Candidates(event, nil, []int{r}, nil)) == 1
}

// Indexed reports the path by which rule r is indexed, if any.
func (s *Set) Indexed(r int) (path []string, ok bool) {
	if !s.Has(r) || s.rules[r].index < 0 {
		return nil, false
	}
	id := s.indexes[s.rules[r].index].path
	for id > 0 {
		path = append([]string{s.paths[id].key}, path...)
		id = s.paths[id].parent
	}
	return path, true
}
