package logtypes

import (
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
	elem      *cnode
	obj       *cobj
}

// cobj is a compiled object: its known fields.
type cobj struct {
	fields  []*cnode
	reqMask uint64
	// table is an open-addressing hash table of the fields by name (nil
	// entries are empty), hashed by keyHash; small objects are searched
	// linearly instead.
	table []*cnode
	mask  uint32
}

// linearMax is the most fields an object may have to be searched linearly.
const linearMax = 8

// keyHash is a cheap hash of a key: its length and a few of its bytes.
// Schema field names differ in these far more often than not, and the
// table is at least four times larger than the field count.
func keyHash(k []byte) uint32 {
	h := uint32(len(k)) * 0x9e3779b1
	if len(k) > 0 {
		h ^= uint32(k[0])*0x85ebca6b ^ uint32(k[len(k)-1])*0xc2b2ae35 ^ uint32(k[len(k)/2])*0x27d4eb2f
	}
	return h ^ h>>15
}

// find returns the field named k, or nil.
func (o *cobj) find(k []byte) *cnode {
	if o.table == nil {
		for _, f := range o.fields {
			if len(f.name) == len(k) && f.name == string(k) {
				return f
			}
		}
		return nil
	}
	for i := keyHash(k) & o.mask; ; i = (i + 1) & o.mask {
		f := o.table[i]
		if f == nil {
			return nil
		}
		if len(f.name) == len(k) && f.name == string(k) {
			return f
		}
	}
}

// compiled is a validated schema ready for the normalizer.
type compiled struct {
	schema     *Schema
	root       *cobj
	eventTimes int
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
	o := &cobj{}
	bit := uint64(1)
	for i := range fs {
		n := c.node(&fs[i], underArray)
		if n.required {
			n.reqBit = bit
			o.reqMask |= bit
			bit <<= 1
		}
		o.fields = append(o.fields, n)
	}
	if len(o.fields) > linearMax {
		size := uint32(4)
		for size < uint32(4*len(o.fields)) {
			size <<= 1
		}
		o.table, o.mask = make([]*cnode, size), size-1
		for _, n := range o.fields {
			if o.find([]byte(n.name)) != nil {
				continue // duplicates are rejected by validation; keep the first
			}
			i := keyHash([]byte(n.name)) & o.mask
			for o.table[i] != nil {
				i = (i + 1) & o.mask
			}
			o.table[i] = n
		}
	}
	return o
}

func (c *compiled) node(f *Field, underArray bool) *cnode {
	n := &cnode{name: f.Name, typ: ftypeOf[f.Type], required: f.Required, ind: maskOf(f.Indicators), eventRank: -1}
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
