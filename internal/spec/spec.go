// Package spec is the self-describing settings machinery shared by prowl's
// pluggable components (source types in internal/sources, destination types
// in internal/destinations).
//
// A component type lists its settings as Fields: typed, with a description,
// a default, bounds, options, and flags for required, secret and advanced
// settings. From the same Fields come config validation (Schema.Parse, whose
// errors name each field, with a "did you mean" for unknown ones), typed
// access to the parsed values (Values), the console's forms (the API serves
// Fields as JSON) and the reference docs (Markdown).
package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prowl-siem/prowl/internal/suggest"
)

// FieldType is the type of a setting's value.
type FieldType string

// Field types. In JSON, Duration accepts a Go duration string ("90s",
// "24h") or a number of seconds; Int a JSON number; URL an absolute http(s)
// URL; Enum one of the field's Options; Map an object of string values.
const (
	String   FieldType = "string"
	Int      FieldType = "int"
	Bool     FieldType = "bool"
	Duration FieldType = "duration"
	Enum     FieldType = "enum"
	URL      FieldType = "url"
	Map      FieldType = "map"
)

// Field describes one setting of a component type. Its JSON form is what
// the console builds forms from.
type Field struct {
	Name        string    `json:"name"`
	Type        FieldType `json:"type"`
	Description string    `json:"description"`
	Default     string    `json:"default,omitempty"` // in the field's own syntax ("60s", "1000", "true"); "" means none
	Options     []string  `json:"options,omitempty"` // allowed values of an Enum
	Min         string    `json:"min,omitempty"`     // lower bound of an Int or Duration, in its syntax; "" means unbounded
	Max         string    `json:"max,omitempty"`     // upper bound
	Example     string    `json:"example,omitempty"`
	Required    bool      `json:"required,omitempty"`
	// Secret fields are never part of the JSON settings: they are kept
	// encrypted in the store and handed to the component by name.
	Secret bool `json:"secret,omitempty"`
	// Advanced fields are folded away in forms; their defaults suit most users.
	Advanced bool `json:"advanced,omitempty"`
}

// Find returns the field of fields with that name.
func Find(fields []Field, name string) (Field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// CheckValue validates a value given as text in the field's own syntax
// (as a form sends it, or as a secret is stored), with the rules of Parse.
func (f Field) CheckValue(text string) error {
	_, err := f.parseValue(text, false)
	return err
}

// Schema is what parsing needs to know of a component type.
type Schema struct {
	Kind string // what the component is, in messages: "source", "destination"
	Noun string // what its settings object is called in messages: "config", "settings"
	Type string // the component type, e.g. "okta"

	Fields []Field
	// Check validates combinations of fields after each field is valid on
	// its own (for example "subdomain or base_url"). It may return a
	// FieldError to blame one field. May be nil.
	Check func(v *Values) error
	// TrimURLSlash drops trailing slashes from URL values, for components
	// that append paths to them.
	TrimURLSlash bool
}

// Field returns the named field.
func (s *Schema) Field(name string) (Field, bool) { return Find(s.Fields, name) }

// Parse validates raw (a JSON object; empty or null means {}) against the
// schema and returns the values with defaults applied. Every problem is
// reported at once, in a *ConfigError.
func (s *Schema) Parse(raw json.RawMessage) (*Values, error) {
	v := &Values{schema: s, values: map[string]any{}, set: map[string]bool{}, secrets: map[string]string{}}
	cerr := &ConfigError{Kind: s.Kind, Type: s.Type}
	fail := func(field, format string, args ...any) {
		cerr.Fields = append(cerr.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	obj := map[string]json.RawMessage{}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && string(trimmed) != "null" {
		if err := json.Unmarshal(raw, &obj); err != nil {
			cerr.Fields = []FieldError{{Message: s.Noun + " must be a JSON object: " + err.Error()}}
			return nil, cerr
		}
	}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names)
	fieldNames := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		fieldNames[i] = f.Name
	}
	for _, name := range names {
		f, ok := s.Field(name)
		switch {
		case !ok:
			fail(name, "unknown field%s", suggest.Hint(name, fieldNames))
		case f.Secret:
			fail(name, "is a secret: store it with the %s's secrets, not in its %s", s.Kind, s.Noun)
		}
	}

	for _, f := range s.Fields {
		if f.Secret {
			continue
		}
		raw, isSet := obj[f.Name]
		isSet = isSet && string(raw) != "null"
		var x any
		var err error
		switch {
		case isSet && f.Type == Map:
			x, err = parseMap(raw)
		case isSet:
			var text string
			if text, err = jsonScalar(raw, f.Type); err == nil {
				x, err = f.parseValue(text, s.TrimURLSlash)
			}
		case f.Default != "":
			x, err = f.parseValue(f.Default, s.TrimURLSlash)
		case f.Required:
			fail(f.Name, "is required")
			continue
		default:
			continue
		}
		if err != nil {
			fail(f.Name, "%v", err)
			continue
		}
		v.values[f.Name] = x
		v.set[f.Name] = isSet
	}
	if len(cerr.Fields) == 0 && s.Check != nil {
		if err := s.Check(v); err != nil {
			var fe FieldError
			if errors.As(err, &fe) {
				cerr.Fields = append(cerr.Fields, fe)
			} else {
				fail("", "%v", err)
			}
		}
	}
	if len(cerr.Fields) > 0 {
		return nil, cerr
	}
	return v, nil
}

func parseMap(raw json.RawMessage) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errors.New("want a JSON object of string values")
	}
	return m, nil
}

// jsonScalar turns a JSON value into the text parseValue reads.
func jsonScalar(v json.RawMessage, t FieldType) (string, error) {
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return "", err
	}
	switch x := x.(type) {
	case string:
		if t == Int || t == Bool {
			return "", fmt.Errorf("want a JSON %s, got a string", map[FieldType]string{Int: "number", Bool: "boolean"}[t])
		}
		return x, nil
	case float64:
		if t == Int || t == Duration {
			return string(bytes.TrimSpace(v)), nil
		}
	case bool:
		if t == Bool {
			return strconv.FormatBool(x), nil
		}
	}
	return "", fmt.Errorf("wrong type %s for a %s field", jsonKind(x), t)
}

func jsonKind(x any) string {
	switch x.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

// parseValue parses text in the field's syntax and checks its bounds.
func (f Field) parseValue(text string, trimURLSlash bool) (any, error) {
	switch f.Type {
	case String:
		return text, nil
	case Enum:
		if !slices.Contains(f.Options, text) {
			return nil, fmt.Errorf("%q is not one of %s", text, strings.Join(f.Options, ", "))
		}
		return text, nil
	case URL:
		u, err := url.Parse(text)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q is not an absolute http(s) URL", text)
		}
		if trimURLSlash {
			text = strings.TrimRight(text, "/")
		}
		return text, nil
	case Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", text)
		}
		return b, nil
	case Int:
		n, err := strconv.Atoi(text)
		if err != nil {
			return nil, fmt.Errorf("%s is not an integer", text)
		}
		if lo, err := strconv.Atoi(f.Min); err == nil && n < lo {
			return nil, fmt.Errorf("%d is below the minimum %s", n, f.Min)
		}
		if hi, err := strconv.Atoi(f.Max); err == nil && n > hi {
			return nil, fmt.Errorf("%d is above the maximum %s", n, f.Max)
		}
		return n, nil
	case Duration:
		d, err := parseDuration(text)
		if err != nil {
			return nil, err
		}
		if lo, err := parseDuration(f.Min); err == nil && f.Min != "" && d < lo {
			return nil, fmt.Errorf("%s is below the minimum %s", d, f.Min)
		}
		if hi, err := parseDuration(f.Max); err == nil && f.Max != "" && d > hi {
			return nil, fmt.Errorf("%s is above the maximum %s", d, f.Max)
		}
		return d, nil
	case Map:
		return parseMap(json.RawMessage(text))
	}
	return nil, fmt.Errorf("field type %q is not supported", f.Type)
}

func parseDuration(text string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(text, 64); err == nil {
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration like 90s, 5m or 24h", text)
	}
	return d, nil
}

// Values are a component's settings, validated against its Schema, with
// defaults filled in, and (when its package sets them) its secrets.
// Accessors panic on a name the schema does not declare with that type:
// that is a programming error, not a user one.
type Values struct {
	schema  *Schema
	values  map[string]any // string, int, bool, time.Duration or map[string]string
	set     map[string]bool
	secrets map[string]string
}

func (v *Values) get(name string, t ...FieldType) any {
	f, ok := v.schema.Field(name)
	if !ok || !slices.Contains(t, f.Type) {
		panic(fmt.Sprintf("spec: %s %s has no %v field %q", v.schema.Type, v.schema.Kind, t, name))
	}
	return v.values[name]
}

// String returns a String, Enum or URL field ("" when unset without default).
func (v *Values) String(name string) string {
	x, _ := v.get(name, String, Enum, URL).(string)
	return x
}

// Int returns an Int field (0 when unset without default).
func (v *Values) Int(name string) int {
	x, _ := v.get(name, Int).(int)
	return x
}

// Bool returns a Bool field.
func (v *Values) Bool(name string) bool {
	x, _ := v.get(name, Bool).(bool)
	return x
}

// Duration returns a Duration field.
func (v *Values) Duration(name string) time.Duration {
	x, _ := v.get(name, Duration).(time.Duration)
	return x
}

// Map returns a Map field (nil when unset).
func (v *Values) Map(name string) map[string]string {
	x, _ := v.get(name, Map).(map[string]string)
	return x
}

// IsSet reports whether the settings gave the field explicitly (rather
// than taking its default or leaving it empty).
func (v *Values) IsSet(name string) bool { return v.set[name] }

// Secret returns a secret field's value ("" when unset).
func (v *Values) Secret(name string) string {
	v.secretField(name)
	return v.secrets[name]
}

// SetSecret sets a secret field's value, for the package that reads the
// component's secrets before building it. Check the value first with the
// field's CheckValue if its type matters.
func (v *Values) SetSecret(name, value string) {
	v.secretField(name)
	v.secrets[name] = value
}

func (v *Values) secretField(name string) {
	if f, ok := v.schema.Field(name); !ok || !f.Secret {
		panic(fmt.Sprintf("spec: %s %s has no secret field %q", v.schema.Type, v.schema.Kind, name))
	}
}
