package logtypes

import (
	"encoding/binary"
	"math/bits"
	"strconv"

	"github.com/prowl-siem/prowl/internal/jsonscan"
)

// ftype is a FieldType as a small integer for the scanner's switches.
type ftype uint8

const (
	ftString ftype = iota
	ftInt
	ftBigint
	ftFloat
	ftBoolean
	ftTimestamp
	ftArray
	ftObject
	ftJSON
)

var ftypeOf = map[FieldType]ftype{
	TypeString: ftString, TypeInt: ftInt, TypeBigint: ftBigint, TypeFloat: ftFloat,
	TypeBoolean: ftBoolean, TypeTimestamp: ftTimestamp, TypeArray: ftArray,
	TypeObject: ftObject, TypeJSON: ftJSON,
}

// cnode is a compiled field.
type cnode struct {
	name      string
	typ       ftype
	required  bool
	reqBit    uint64 // this field's bit in its object's required mask
	ind       indMask
	tf        *timeFormat
	eventRank int // position among event-time candidates, or -1
	// anyString is set when any string is a valid value that needs no
	// further work: a string or json field without indicators.
	anyString bool
	elem      *cnode
	obj       *cobj
	// pos numbers the place after this field's key in its object, where
	// the normalizer remembers which key came next (see Normalizer.key).
	pos int
}

// cobj is a compiled object: its known fields.
type cobj struct {
	fields  []*cnode
	reqMask uint64
	// table is an open-addressing hash table of the fields by name, hashed
	// by keyHash and at least four times larger than the field count; slots
	// with a nil node are empty.
	table []slot
	mask  uint64
	shift uint8 // keyHash(…)>>shift is the first slot to probe
	// pos numbers the place before the object's first key (see cnode.pos).
	pos int
}

// slot is a field in a cobj's table with its name's length and keyWords,
// so that most lookups compare two words and never read the name.
type slot struct {
	w0, w1 uint64
	n      int // len(node.name)
	node   *cnode
	// m0 and m1 mask the words of 16 input bytes down to the name's n
	// bytes. They are zero when the name is longer than 16 bytes or not
	// plain: then its raw bytes may not be the key, and it is never
	// guessed (see Normalizer.key).
	m0, m1 uint64
}

// guessable reports whether s may be guessed as the next key.
func (s *slot) guessable() bool { return s.m0 != 0 }

// keyMasks returns the masks of a slot for a plain name of n bytes.
func keyMasks(n int) (m0, m1 uint64) {
	switch {
	case n == 0 || n > 16:
		return 0, 0
	case n < 8:
		return 1<<(8*n) - 1, 0
	case n < 16:
		return ^uint64(0), 1<<(8*(n-8)) - 1
	}
	return ^uint64(0), ^uint64(0)
}

// keyWords returns the first 16 bytes of k as two little-endian words,
// zero-padded.
func keyWords(k []byte) (w0, w1 uint64) {
	switch {
	case len(k) >= 16:
		return binary.LittleEndian.Uint64(k), binary.LittleEndian.Uint64(k[8:])
	case len(k) >= 8:
		return binary.LittleEndian.Uint64(k), loadShort(k[8:])
	}
	return loadShort(k), 0
}

// loadShort returns b, shorter than 8 bytes, as a little-endian word,
// zero-padded. It reads b with overlapping loads, which agree where they
// overlap.
func loadShort(b []byte) uint64 {
	switch n := len(b); {
	case n >= 4:
		return uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[n-4:]))<<(8*(n-4))
	case n > 0:
		return uint64(b[0]) | uint64(b[n/2])<<(8*(n/2)) | uint64(b[n-1])<<(8*(n-1))
	}
	return 0
}

// keyHash hashes a key of length n by its keyWords.
func keyHash(w0, w1 uint64, n int) uint64 {
	return (w0 ^ bits.RotateLeft64(w1, 29) ^ uint64(n)) * 0x9e3779b97f4a7c15
}

// find returns the field named k, or nil. Keys longer than 16 bytes, which
// their words may not tell apart, are compared whole.
func (o *cobj) find(k []byte) *cnode {
	w0, w1 := keyWords(k)
	if len(k) <= 16 {
		return o.lookup(len(k), w0, w1).node
	}
	for i := keyHash(w0, w1, len(k)) >> o.shift; ; i++ {
		s := &o.table[i&o.mask]
		if s.node == nil || s.w0 == w0 && s.w1 == w1 && s.node.name == string(k) {
			return s.node
		}
	}
}

// lookup is find for a key of n <= 16 bytes, given its keyWords. It
// returns the key's slot, whose node is nil when o has no such field.
func (o *cobj) lookup(n int, w0, w1 uint64) *slot {
	for i := keyHash(w0, w1, n) >> o.shift; ; i++ {
		s := &o.table[i&o.mask]
		if s.node == nil || s.w0 == w0 && s.w1 == w1 && s.n == n {
			return s
		}
	}
}

// compiled is a validated schema ready for the normalizer.
type compiled struct {
	schema     *Schema
	root       *cobj
	eventTimes int
	positions  int // the places numbered by cobj.pos and cnode.pos
	// head is the rendered start of the p_ fields:
	// "p_log_type":"…","p_schema_version":N
	logTypeJSON []byte
	versionJSON []byte
}

// compile turns a validated schema into scanner form.
func compile(s *Schema) *compiled {
	c := &compiled{schema: s}
	c.root = c.object(s.Fields, false)
	c.logTypeJSON = jsonscan.AppendString(nil, []byte(s.Name))
	c.versionJSON = strconv.AppendInt(nil, int64(s.Version), 10)
	return c
}

func (c *compiled) object(fs []Field, underArray bool) *cobj {
	o := &cobj{pos: c.positions}
	c.positions++
	bit := uint64(1)
	for i := range fs {
		n := c.node(&fs[i], underArray)
		n.pos = c.positions
		c.positions++
		if n.required {
			n.reqBit = bit
			o.reqMask |= bit
			bit <<= 1
		}
		o.fields = append(o.fields, n)
	}
	size, log := 4, uint8(2)
	for size < 4*len(o.fields) {
		size, log = size<<1, log+1
	}
	o.table, o.mask, o.shift = make([]slot, size), uint64(size-1), 64-log
	for _, n := range o.fields {
		k := []byte(n.name)
		if o.find(k) != nil {
			continue // duplicates are rejected by validation; keep the first
		}
		w0, w1 := keyWords(k)
		i := keyHash(w0, w1, len(k)) >> o.shift
		for o.table[i].node != nil {
			i = (i + 1) & o.mask
		}
		o.table[i] = slot{w0: w0, w1: w1, n: len(k), node: n}
		if isPlain(k) {
			o.table[i].m0, o.table[i].m1 = keyMasks(len(k))
		}
	}
	return o
}

func (c *compiled) node(f *Field, underArray bool) *cnode {
	n := &cnode{name: f.Name, typ: ftypeOf[f.Type], required: f.Required, ind: maskOf(f.Indicators), eventRank: -1}
	n.anyString = (n.typ == ftString || n.typ == ftJSON) && n.ind == 0
	if f.Type == TypeTimestamp {
		n.tf, _ = compileTimeFormat(f.TimeFormat)
		if n.tf == nil {
			n.tf = &timeFormat{kind: tkRFC3339}
		}
		if f.IsEventTime && !underArray {
			n.eventRank = c.eventTimes
			c.eventTimes++
		}
	}
	if f.Element != nil {
		n.elem = c.node(f.Element, true)
	}
	if f.Type == TypeObject {
		n.obj = c.object(f.Fields, underArray)
	}
	return n
}
