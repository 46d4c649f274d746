package logtypes

import (
	"cmp"
	"fmt"
	"github.com/prowl-siem/prowl/internal/suggest"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// FieldType is the type of a schema field.
type FieldType string

// The field types. Values of a field are checked against its type when an
// event is normalized; see docs/log-types.md for what each type accepts.
const (
	TypeString    FieldType = "string"    // a JSON string (numbers and booleans are converted)
	TypeInt       FieldType = "int"       // a 32-bit integer
	TypeBigint    FieldType = "bigint"    // a 64-bit integer
	TypeFloat     FieldType = "float"     // any JSON number
	TypeBoolean   FieldType = "boolean"   // true or false
	TypeTimestamp FieldType = "timestamp" // a time in the field's TimeFormat
	TypeArray     FieldType = "array"     // a list of Element values
	TypeObject    FieldType = "object"    // an object with the given Fields (others are kept unchecked)
	TypeJSON      FieldType = "json"      // any JSON value, unchecked
)

// fieldTypes lists the valid field types in documentation order.
var fieldTypes = []FieldType{TypeString, TypeInt, TypeBigint, TypeFloat, TypeBoolean,
	TypeTimestamp, TypeArray, TypeObject, TypeJSON}

// The timeFormat values with a fixed meaning; anything else containing a %
// is a strftime pattern.
const (
	TimeRFC3339 = "rfc3339"
	TimeUnix    = "unix"
	TimeUnixMs  = "unix_ms"
	TimeUnixUs  = "unix_us"
	TimeUnixNs  = "unix_ns"
)

// Field describes one field of a schema.
type Field struct {
	// Name is the JSON key of the field.
	Name string
	// Type is the field's type.
	Type FieldType
	// Required rejects events in which the field is absent or null (inside
	// an object field, only when that object is present).
	Required bool
	// Indicators names the indicator scanners applied to the field's values
	// (ip, domain, email, username, …; see Indicators()). They are allowed
	// on string, int, bigint and json fields; on a json field they apply to
	// every string inside it, keeping only values that look like the
	// indicator.
	Indicators []string
	// IsEventTime makes this timestamp field a candidate for p_event_time;
	// the first candidate present in an event, in schema order, wins.
	IsEventTime bool
	// TimeFormat is how a timestamp field is written: rfc3339, unix (seconds,
	// fractions allowed), unix_ms, unix_us, unix_ns or a strftime pattern
	// such as "%Y-%m-%d %H:%M:%S".
	TimeFormat string
	// Element describes the elements of an array field.
	Element *Field
	// Fields describes the known fields of an object field.
	Fields []Field
	// Description is documentation for people.
	Description string
}

// Schema describes one log type.
type Schema struct {
	// Name is the log type, e.g. Okta.SystemLog; custom schemas are named
	// Custom.Something.
	Name string
	// Version is the schema's version, written to p_schema_version.
	Version int
	// Description is documentation for people.
	Description string
	// ReferenceURL points to the vendor's documentation of the log format.
	ReferenceURL string
	// Fields are the top-level fields, in order.
	Fields []Field
	// TableName is the data-lake table of the log type: the name in lower
	// case with dots replaced by underscores (okta_systemlog). It is derived
	// from Name when empty.
	TableName string
}

// Limits on schemas.
const (
	maxSchemaNameLen   = 128
	maxFieldNameLen    = 255
	maxSchemaDepth     = 32
	maxSchemaFields    = 2000
	maxRequiredPerObj  = 64
	maxDescriptionRune = 4096
)

var (
	customNameRE  = regexp.MustCompile(`^Custom\.[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$`)
	builtinNameRE = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*(\.[A-Za-z0-9]+)+$`)
	tableNameRE   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// tableNameFor derives the data-lake table name of a log type.
func tableNameFor(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, ".", "_"))
}

// SchemaError is one problem with a schema, with the file and line where it
// is (Line is 0 when unknown, File is empty for schemas built in Go).
type SchemaError struct {
	File    string
	Line    int
	Message string
}

// Error formats the problem as "file:line: message".
func (e SchemaError) Error() string {
	switch {
	case e.File == "" && e.Line <= 0:
		return e.Message
	case e.Line <= 0:
		return e.File + ": " + e.Message
	default:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
}

// SchemaErrors is every problem found in a schema, sorted by line. Loading
// and adding schemas return it as the error.
type SchemaErrors []SchemaError

// Error joins the problems, one a line.
func (es SchemaErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es SchemaErrors) sorted() SchemaErrors {
	slices.SortStableFunc(es, func(a, b SchemaError) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	return slices.CompactFunc(es, func(a, b SchemaError) bool { return a == b })
}

// positions maps schema parts to YAML lines, so that validation problems can
// name lines. Nil positions (schemas built in Go) give line 0.
type positions struct {
	file   string
	keys   map[string]int      // top-level key → line of its value
	fields map[*Field]fieldPos // field → its mapping's lines
}

type fieldPos struct {
	line int            // line of the field's mapping
	keys map[string]int // key → line of its value
}

func (p *positions) schemaLine(key string) int {
	if p == nil {
		return 0
	}
	if l, ok := p.keys[key]; ok {
		return l
	}
	return p.keys[""]
}

func (p *positions) fieldLine(f *Field, key string) int {
	if p == nil {
		return 0
	}
	fp, ok := p.fields[f]
	if !ok {
		return 0
	}
	if l, ok := fp.keys[key]; ok && key != "" {
		return l
	}
	return fp.line
}

// validator checks a decoded schema.
type validator struct {
	pos     *positions
	errs    SchemaErrors
	nfields int
	builtin bool
	tooMany bool
	tooDeep bool
}

func (v *validator) errorf(line int, format string, args ...any) {
	file := ""
	if v.pos != nil {
		file = v.pos.file
	}
	v.errs = append(v.errs, SchemaError{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// validateSchema checks s and fills in its TableName. Custom schemas must
// be named Custom.*; built-in ones need only a dotted name.
func validateSchema(s *Schema, builtin bool, pos *positions) SchemaErrors {
	v := &validator{pos: pos}
	nameLine := pos.schemaLine("schema")
	switch {
	case s.Name == "":
		v.errorf(nameLine, "schema: a name is required, e.g. schema: Custom.MyApp")
	case len(s.Name) > maxSchemaNameLen:
		v.errorf(nameLine, "schema: the name is longer than %d characters", maxSchemaNameLen)
	case !builtin && !customNameRE.MatchString(s.Name):
		hint := ""
		if builtinNameRE.MatchString(s.Name) && !strings.HasPrefix(s.Name, "Custom.") {
			hint = fmt.Sprintf(" (did you mean %q?)", "Custom."+s.Name)
		}
		v.errorf(nameLine, "schema: %q is not a custom log type name: it must match Custom.Name, letters, digits and dots only%s", s.Name, hint)
	case builtin && !builtinNameRE.MatchString(s.Name):
		v.errorf(nameLine, "schema: %q is not a valid log type name", s.Name)
	}
	if s.Version < 0 {
		v.errorf(pos.schemaLine("version"), "version: must be 0 or more, not %d", s.Version)
	}
	if utf8.RuneCountInString(s.Description) > maxDescriptionRune {
		v.errorf(pos.schemaLine("description"), "description: longer than %d characters", maxDescriptionRune)
	}
	if s.TableName == "" {
		s.TableName = tableNameFor(s.Name)
	} else if !tableNameRE.MatchString(s.TableName) {
		v.errorf(0, "table name %q must be lower case letters, digits and underscores", s.TableName)
	}
	if len(s.Fields) == 0 {
		v.errorf(pos.schemaLine("fields"), "fields: a schema needs at least one field")
	}
	v.fields(s.Fields, "", 1, false, true)
	return v.errs.sorted()
}

// walkFields calls fn for every field, depth first in schema order,
// including array elements.
func walkFields(fs []Field, fn func(*Field)) {
	for i := range fs {
		walkField(&fs[i], fn)
	}
}

func walkField(f *Field, fn func(*Field)) {
	fn(f)
	if f.Element != nil {
		walkField(f.Element, fn)
	}
	walkFields(f.Fields, fn)
}

func (v *validator) fields(fs []Field, parent string, depth int, underArray, top bool) {
	if depth > maxSchemaDepth {
		if !v.tooDeep {
			v.tooDeep = true
			line := 0
			if len(fs) > 0 {
				line = v.pos.fieldLine(&fs[0], "")
			}
			v.errorf(line, "fields are nested more than %d levels deep", maxSchemaDepth)
		}
		return
	}
	seen := make(map[string]bool, len(fs))
	required := 0
	for i := range fs {
		f := &fs[i]
		path := f.Name
		if parent != "" {
			path = parent + "." + f.Name
		}
		if f.Name != "" {
			if seen[f.Name] {
				v.errorf(v.pos.fieldLine(f, "name"), "field %q is declared twice", path)
			}
			seen[f.Name] = true
		}
		if f.Required {
			required++
			if required == maxRequiredPerObj+1 {
				v.errorf(v.pos.fieldLine(f, "required"), "more than %d required fields in one object", maxRequiredPerObj)
			}
		}
		v.field(f, path, depth, underArray, top, false)
	}
}

// field checks one field; element is true for an array's element.
func (v *validator) field(f *Field, path string, depth int, underArray, top, element bool) {
	if v.nfields++; v.nfields > maxSchemaFields {
		if !v.tooMany {
			v.tooMany = true
			v.errorf(v.pos.fieldLine(f, ""), "the schema has more than %d fields", maxSchemaFields)
		}
		return
	}
	name := path
	if name == "" {
		name = "(unnamed)"
	}
	if element {
		if f.Name != "" {
			v.errorf(v.pos.fieldLine(f, "name"), "%s: an array element takes no name", name)
		}
		if f.Required {
			v.errorf(v.pos.fieldLine(f, "required"), "%s: required does not apply to an array element", name)
		}
	} else {
		switch {
		case f.Name == "":
			v.errorf(v.pos.fieldLine(f, "name"), "a field needs a name")
		case len(f.Name) > maxFieldNameLen:
			v.errorf(v.pos.fieldLine(f, "name"), "field name %.40q… is longer than %d bytes", f.Name, maxFieldNameLen)
		case !utf8.ValidString(f.Name) || strings.ContainsFunc(f.Name, func(r rune) bool { return r < 0x20 }):
			v.errorf(v.pos.fieldLine(f, "name"), "field name %q has control characters or invalid UTF-8", f.Name)
		case top && strings.HasPrefix(f.Name, "p_"):
			v.errorf(v.pos.fieldLine(f, "name"), "field %q: names starting with p_ are reserved for prowl's standard fields", f.Name)
		}
	}
	if utf8.RuneCountInString(f.Description) > maxDescriptionRune {
		v.errorf(v.pos.fieldLine(f, "description"), "%s: description longer than %d characters", name, maxDescriptionRune)
	}
	if !slices.Contains(fieldTypes, f.Type) {
		if f.Type == "" {
			v.errorf(v.pos.fieldLine(f, "type"), "%s: a type is required (one of %s)", name, typeList())
		} else {
			v.errorf(v.pos.fieldLine(f, "type"), "%s: unknown type %q%s; types are %s", name, f.Type,
				didYouMean(string(f.Type), typeNames()), typeList())
		}
	}
	if f.Type == TypeTimestamp {
		if f.TimeFormat == "" {
			v.errorf(v.pos.fieldLine(f, "type"), "%s: a timestamp field needs a timeFormat (rfc3339, unix, unix_ms, unix_us, unix_ns or a strftime pattern)", name)
		} else if _, err := compileTimeFormat(f.TimeFormat); err != nil {
			v.errorf(v.pos.fieldLine(f, "timeFormat"), "%s: timeFormat: %v", name, err)
		}
		if f.IsEventTime && underArray {
			v.errorf(v.pos.fieldLine(f, "isEventTime"), "%s: an event-time field cannot be inside an array", name)
		}
	} else {
		if f.TimeFormat != "" {
			v.errorf(v.pos.fieldLine(f, "timeFormat"), "%s: timeFormat applies only to timestamp fields", name)
		}
		if f.IsEventTime {
			v.errorf(v.pos.fieldLine(f, "isEventTime"), "%s: isEventTime applies only to timestamp fields", name)
		}
	}
	if f.Type == TypeArray {
		if f.Element == nil {
			v.errorf(v.pos.fieldLine(f, "type"), "%s: an array field needs an element, e.g. element: {type: string}", name)
		} else {
			v.field(f.Element, path+"[]", depth+1, true, false, true)
		}
	} else if f.Element != nil {
		v.errorf(v.pos.fieldLine(f, "element"), "%s: element applies only to array fields", name)
	}
	if f.Type == TypeObject {
		if len(f.Fields) == 0 {
			v.errorf(v.pos.fieldLine(f, "type"), "%s: an object field needs fields (use type json for free-form objects)", name)
		} else {
			v.fields(f.Fields, path, depth+1, underArray, false)
		}
	} else if len(f.Fields) > 0 {
		v.errorf(v.pos.fieldLine(f, "fields"), "%s: fields applies only to object fields", name)
	}
	if len(f.Indicators) > 0 {
		switch f.Type {
		case TypeString, TypeInt, TypeBigint, TypeJSON:
		case TypeArray:
			v.errorf(v.pos.fieldLine(f, "indicators"), "%s: put indicators on the array's element, not on the array", name)
		default:
			v.errorf(v.pos.fieldLine(f, "indicators"), "%s: indicators apply to string, int, bigint and json fields, not %s", name, f.Type)
		}
		seen := map[string]bool{}
		for _, ind := range f.Indicators {
			if _, ok := scannerByName[ind]; !ok {
				v.errorf(v.pos.fieldLine(f, "indicators"), "%s: unknown indicator %q%s; indicators are %s", name, ind,
					didYouMean(ind, Indicators()), strings.Join(Indicators(), ", "))
			} else if seen[ind] {
				v.errorf(v.pos.fieldLine(f, "indicators"), "%s: indicator %q is listed twice", name, ind)
			}
			seen[ind] = true
		}
	}
}

func typeNames() []string {
	out := make([]string, len(fieldTypes))
	for i, t := range fieldTypes {
		out[i] = string(t)
	}
	return out
}

func typeList() string { return strings.Join(typeNames(), ", ") }

// didYouMean is the " (did you mean ...?)" hint for a misspelled word.
func didYouMean(word string, candidates []string) string { return suggest.Hint(word, candidates) }
