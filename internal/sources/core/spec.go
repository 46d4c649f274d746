package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FieldType is the type of a config field's value.
type FieldType string

// Field types. In JSON, Duration accepts a Go duration string ("90s",
// "24h") or a number of seconds; Int a JSON number; URL an absolute http(s)
// URL; Enum one of the field's Options.
const (
	String   FieldType = "string"
	Int      FieldType = "int"
	Bool     FieldType = "bool"
	Duration FieldType = "duration"
	Enum     FieldType = "enum"
	URL      FieldType = "url"
)

// Field describes one setting of a source type. The console's onboarding
// form, config validation and docs/sources.md are all built from Fields.
type Field struct {
	Name        string
	Type        FieldType
	Description string
	Default     string   // in the field's own syntax ("60s", "1000", "true"); "" means none
	Options     []string // allowed values of an Enum
	Min, Max    string   // bounds of an Int or Duration, in its syntax; "" means unbounded
	Example     string
	Required    bool
	// Secret fields are never part of the JSON config: they are kept
	// encrypted in the store and handed to the constructor by name.
	Secret bool
	// Advanced fields are folded away in forms; their defaults suit most users.
	Advanced bool
}

// Instance is the identity of a configured source, as its constructor sees it.
type Instance struct {
	ID       string
	Label    string
	LogTypes []string
}

// SecretFunc returns a source's secret by field name. It returns an error
// (wrapping store.ErrNotFound when it is simply missing) if there is none.
type SecretFunc func(name string) ([]byte, error)

// Spec describes a source type: what it is, its settings and how to build it.
type Spec struct {
	Type        string   // registry name, e.g. "okta"
	Name        string   // display name, e.g. "Okta System Log"
	Summary     string   // one line
	Description string   // a paragraph or two: guarantees, limits
	LogTypes    []string // log types it emits when the source record names none
	Push        bool     // true when clients send data to prowl (the source is an http.Handler)
	Fields      []Field

	// Check validates combinations of fields after each field is valid on
	// its own (for example "subdomain or base_url"). May be nil.
	Check func(c *Config) error
	// New builds a source from a validated config.
	New func(inst Instance, c *Config, secrets SecretFunc) (Source, error)
}

// Field returns the named field.
func (s *Spec) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// FieldError is a problem with one config field.
type FieldError struct {
	Field   string // "" when the problem is not one field's
	Message string
}

func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// ConfigError lists every problem found in a source's config, so a form can
// mark each field at once.
type ConfigError struct {
	Type   string
	Fields []FieldError
}

func (e *ConfigError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Error()
	}
	return fmt.Sprintf("%s source config: %s", e.Type, strings.Join(msgs, "; "))
}

// Config is a source's settings, validated against its Spec, with defaults
// filled in. Accessors panic on a name the spec does not declare with that
// type: that is a programming error, not a user one.
type Config struct {
	spec   *Spec
	values map[string]any // string, int, bool or time.Duration
	set    map[string]bool
}

// Parse validates raw (a JSON object; empty means {}) against the spec and
// returns the config with defaults applied. Errors are a *ConfigError.
func (s *Spec) Parse(raw json.RawMessage) (*Config, error) {
	c := &Config{spec: s, values: map[string]any{}, set: map[string]bool{}}
	cerr := &ConfigError{Type: s.Type}
	fail := func(field, format string, args ...any) {
		cerr.Fields = append(cerr.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	obj := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		if err := dec.Decode(&obj); err != nil {
			return nil, &ConfigError{Type: s.Type, Fields: []FieldError{{Message: "config must be a JSON object: " + err.Error()}}}
		}
		if obj == nil {
			obj = map[string]json.RawMessage{}
		}
	}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, ok := s.Field(name)
		switch {
		case !ok:
			fail(name, "unknown field%s", s.suggest(name))
		case f.Secret:
			fail(name, "is a secret: store it with the source's secrets, not in its config")
		}
	}

	for _, f := range s.Fields {
		if f.Secret {
			continue
		}
		text, isSet := "", false
		if v, ok := obj[f.Name]; ok && string(v) != "null" {
			var err error
			text, err = jsonScalar(v, f.Type)
			if err != nil {
				fail(f.Name, "%v", err)
				continue
			}
			isSet = true
		} else if f.Default != "" {
			text = f.Default
		} else {
			if f.Required {
				fail(f.Name, "is required")
			}
			continue
		}
		v, err := f.parseValue(text)
		if err != nil {
			fail(f.Name, "%v", err)
			continue
		}
		c.values[f.Name] = v
		c.set[f.Name] = isSet
	}
	if len(cerr.Fields) == 0 && s.Check != nil {
		if err := s.Check(c); err != nil {
			if fe, ok := err.(FieldError); ok {
				cerr.Fields = append(cerr.Fields, fe)
			} else {
				fail("", "%v", err)
			}
		}
	}
	if len(cerr.Fields) > 0 {
		return nil, cerr
	}
	return c, nil
}

func (s *Spec) suggest(name string) string {
	best, bestD := "", 3
	for _, f := range s.Fields {
		if d := editDistance(strings.ToLower(name), f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
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
			return string(v), nil
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
func (f Field) parseValue(text string) (any, error) {
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
		return strings.TrimRight(text, "/"), nil
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
		if f.Min != "" {
			if min, _ := strconv.Atoi(f.Min); n < min {
				return nil, fmt.Errorf("%d is below the minimum %s", n, f.Min)
			}
		}
		if f.Max != "" {
			if max, _ := strconv.Atoi(f.Max); n > max {
				return nil, fmt.Errorf("%d is above the maximum %s", n, f.Max)
			}
		}
		return n, nil
	case Duration:
		d, err := parseDuration(text)
		if err != nil {
			return nil, err
		}
		if f.Min != "" {
			if min, _ := parseDuration(f.Min); d < min {
				return nil, fmt.Errorf("%s is below the minimum %s", d, f.Min)
			}
		}
		if f.Max != "" {
			if max, _ := parseDuration(f.Max); d > max {
				return nil, fmt.Errorf("%s is above the maximum %s", d, f.Max)
			}
		}
		return d, nil
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

func (c *Config) get(name string, t ...FieldType) any {
	f, ok := c.spec.Field(name)
	if !ok || !slices.Contains(t, f.Type) {
		panic(fmt.Sprintf("sources: %s has no %v field %q", c.spec.Type, t, name))
	}
	return c.values[name]
}

// String returns a String, Enum or URL field ("" when unset without default).
func (c *Config) String(name string) string {
	v, _ := c.get(name, String, Enum, URL).(string)
	return v
}

// Int returns an Int field (0 when unset without default).
func (c *Config) Int(name string) int {
	v, _ := c.get(name, Int).(int)
	return v
}

// Bool returns a Bool field.
func (c *Config) Bool(name string) bool {
	v, _ := c.get(name, Bool).(bool)
	return v
}

// Duration returns a Duration field.
func (c *Config) Duration(name string) time.Duration {
	v, _ := c.get(name, Duration).(time.Duration)
	return v
}

// IsSet reports whether the config gave the field explicitly (rather than
// taking its default or leaving it empty).
func (c *Config) IsSet(name string) bool { return c.set[name] }

// editDistance is the Levenshtein distance, for "did you mean" hints.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// DropOffFieldName is the field every source type has for the drop-off
// alarm: alert when the source delivers no events for this long.
const DropOffFieldName = "dropoff_alarm"

// DropOffField returns the drop-off alarm field with a type's default
// ("0s" disables the alarm).
func DropOffField(def string) Field {
	return Field{Name: DropOffFieldName, Type: Duration, Default: def, Min: "0s", Max: "720h",
		Description: "Raise a system alert when the source has delivered no events for this long; 0s turns the alarm off."}
}

// CheckValue validates a value given as text in the field's own syntax
// (as a form sends it), with the same rules as Parse.
func (f Field) CheckValue(text string) error {
	_, err := f.parseValue(text)
	return err
}
