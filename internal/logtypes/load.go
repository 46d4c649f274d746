package logtypes

import (
	"fmt"
	"os"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// This file reads schema YAML (built-in and custom) with the yaml.v3 Node
// API, so that every problem names its line.

// LoadSchemaFile reads a custom schema from a YAML file. The error is a
// SchemaErrors naming file:line for every problem found.
func LoadSchemaFile(path string) (*Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSchema(path, data)
}

// ParseSchema reads a custom schema from YAML text; file names it in
// errors.
func ParseSchema(file string, data []byte) (*Schema, error) {
	return parseSchema(file, data, false)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// maxSchemaFileBytes bounds schema files.
const maxSchemaFileBytes = 4 << 20

func parseSchema(file string, data []byte, builtin bool) (*Schema, error) {
	if len(data) > maxSchemaFileBytes {
		return nil, SchemaErrors{{File: file, Message: fmt.Sprintf("the file is larger than %d bytes", maxSchemaFileBytes)}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		line := 0
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		return nil, SchemaErrors{{File: file, Line: line, Message: "YAML syntax: " + msg}}
	}
	d := &decoder{pos: &positions{file: file, keys: map[string]int{}, fields: map[*Field]fieldPos{}}}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, SchemaErrors{{File: file, Line: 1, Message: "the file is empty; a schema starts with schema: Custom.Name"}}
	}
	root := d.resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, SchemaErrors{{File: file, Line: root.Line, Message: "a schema file must be a mapping with schema, version, description and fields"}}
	}
	s := &Schema{}
	d.pos.keys[""] = root.Line
	for _, kv := range d.pairs(root, schemaKeys) {
		d.pos.keys[kv.key] = kv.val.Line
		switch kv.key {
		case "schema":
			s.Name = d.str(kv)
		case "description":
			s.Description = d.str(kv)
		case "referenceURL":
			s.ReferenceURL = d.str(kv)
		case "version":
			s.Version = d.int(kv)
		case "fields":
			s.Fields = d.fieldList(kv.val)
		case "parser":
			d.errorf(kv.keyLine, "parser: prowl schemas describe JSON events; Panther's csv, regex and fastmatch parsers are not supported, so remove the parser key")
		}
	}
	errs := d.errs
	if len(errs) == 0 {
		errs = validateSchema(s, builtin, d.pos)
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	return s, nil
}

var (
	schemaKeys = []string{"schema", "description", "referenceURL", "version", "fields", "parser"}
	fieldKeys  = []string{"name", "type", "description", "required", "indicators", "isEventTime", "timeFormat", "element", "fields"}
)

type decoder struct {
	pos  *positions
	errs SchemaErrors
}

func (d *decoder) errorf(line int, format string, args ...any) {
	d.errs = append(d.errs, SchemaError{File: d.pos.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

// resolve follows aliases.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 50; i++ {
		n = n.Alias
	}
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

type kv struct {
	key     string
	keyLine int
	val     *yaml.Node
}

// pairs returns the entries of a mapping, reporting unknown and repeated
// keys.
func (d *decoder) pairs(m *yaml.Node, known []string) []kv {
	var out []kv
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := d.resolve(m.Content[i]), d.resolve(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, "a key must be a plain word")
			continue
		}
		key := k.Value
		if first, dup := seen[key]; dup {
			d.errorf(k.Line, "key %q is repeated (first at line %d)", key, first)
			continue
		}
		seen[key] = k.Line
		if !contains(known, key) {
			d.errorf(k.Line, "unknown key %q%s; keys here are %s", key, didYouMean(key, known), joinQuoted(known))
			continue
		}
		out = append(out, kv{key: key, keyLine: k.Line, val: v})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func joinQuoted(list []string) string {
	out := ""
	for i, s := range list {
		if s == "parser" {
			continue
		}
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}

func describeNode(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "nothing (null)"
	case n.Tag == "!!bool":
		return "boolean " + n.Value
	case n.Tag == "!!int", n.Tag == "!!float":
		return "number " + n.Value
	}
	return strconv.Quote(n.Value)
}

func (d *decoder) str(p kv) string {
	v := p.val
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Tag == "!!bool" {
		d.errorf(v.Line, "%s: expected text, got %s", p.key, describeNode(v))
		return ""
	}
	return v.Value
}

func (d *decoder) bool(p kv) bool {
	v := p.val
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		d.errorf(v.Line, "%s: expected true or false, got %s", p.key, describeNode(v))
		return false
	}
	return v.Value == "true" || v.Value == "True" || v.Value == "TRUE"
}

func (d *decoder) int(p kv) int {
	v := p.val
	if v.Kind == yaml.ScalarNode && v.Tag == "!!int" {
		if i, err := strconv.ParseInt(v.Value, 0, 32); err == nil {
			return int(i)
		}
	}
	d.errorf(v.Line, "%s: expected a whole number, got %s", p.key, describeNode(v))
	return 0
}

func (d *decoder) fieldList(v *yaml.Node) []Field {
	if v.Kind != yaml.SequenceNode {
		d.errorf(v.Line, "fields: expected a list of fields (- name: …), got %s", describeNode(v))
		return nil
	}
	if len(v.Content) > maxSchemaFields {
		d.errorf(v.Line, "fields: more than %d fields", maxSchemaFields)
		return nil
	}
	fs := make([]Field, len(v.Content))
	for i, item := range v.Content {
		d.field(&fs[i], d.resolve(item), false, 0)
	}
	return fs
}

func (d *decoder) field(f *Field, n *yaml.Node, element bool, depth int) {
	fp := fieldPos{line: n.Line, keys: map[string]int{}}
	d.pos.fields[f] = fp
	if n.Kind != yaml.MappingNode {
		what := "a field"
		if element {
			what = "an element"
		}
		d.errorf(n.Line, "expected %s (a mapping with name and type), got %s", what, describeNode(n))
		return
	}
	if depth > maxSchemaDepth {
		d.errorf(n.Line, "fields are nested more than %d levels deep", maxSchemaDepth)
		return
	}
	for _, p := range d.pairs(n, fieldKeys) {
		fp.keys[p.key] = p.val.Line
		switch p.key {
		case "name":
			f.Name = d.str(p)
		case "type":
			f.Type = FieldType(d.str(p))
		case "description":
			f.Description = d.str(p)
		case "required":
			f.Required = d.bool(p)
		case "isEventTime":
			f.IsEventTime = d.bool(p)
		case "timeFormat":
			f.TimeFormat = d.str(p)
		case "indicators":
			if p.val.Kind != yaml.SequenceNode {
				d.errorf(p.val.Line, "indicators: expected a list such as [ip, domain], got %s", describeNode(p.val))
				continue
			}
			for _, item := range p.val.Content {
				item = d.resolve(item)
				if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
					d.errorf(item.Line, "indicators: expected an indicator name, got %s", describeNode(item))
					continue
				}
				f.Indicators = append(f.Indicators, item.Value)
			}
		case "element":
			f.Element = &Field{}
			d.field(f.Element, p.val, true, depth+1)
		case "fields":
			if p.val.Kind != yaml.SequenceNode {
				d.errorf(p.val.Line, "fields: expected a list of fields, got %s", describeNode(p.val))
				continue
			}
			f.Fields = make([]Field, len(p.val.Content))
			for i, item := range p.val.Content {
				d.field(&f.Fields[i], d.resolve(item), false, depth+1)
			}
		}
	}
}
