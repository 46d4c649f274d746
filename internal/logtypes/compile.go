package logtypes

import "strconv"

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
	byName  map[string]*cnode
	reqMask uint64
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
	c.logTypeJSON = appendJSONString(nil, []byte(s.Name))
	c.versionJSON = strconv.AppendInt(nil, int64(s.Version), 10)
	return c
}

func (c *compiled) object(fs []Field, underArray bool) *cobj {
	o := &cobj{byName: make(map[string]*cnode, len(fs))}
	bit := uint64(1)
	for i := range fs {
		n := c.node(&fs[i], underArray)
		if n.required {
			n.reqBit = bit
			o.reqMask |= bit
			bit <<= 1
		}
		o.fields = append(o.fields, n)
		if _, dup := o.byName[n.name]; !dup {
			o.byName[n.name] = n
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
