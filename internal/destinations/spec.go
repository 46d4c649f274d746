package destinations

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prowl-siem/prowl/internal/suggest"
)

// Destination sends alerts to one configured target.
type Destination interface {
	// Send makes one delivery attempt of a, returning nil once the target
	// accepted it. Errors are retryable unless marked Permanent; RetryAfter
	// asks for a delay. Send honours ctx's deadline and must be safe for
	// concurrent use.
	Send(ctx context.Context, a Alert) error
}

// FieldType is the type of a settings field's value.
type FieldType string

// Field types. In JSON, Duration accepts a Go duration string ("10s") or a
// number of seconds; URL an absolute http(s) URL; Enum one of the field's
// Options; Map an object of string values.
const (
	String   FieldType = "string"
	Int      FieldType = "int"
	Bool     FieldType = "bool"
	Duration FieldType = "duration"
	Enum     FieldType = "enum"
	URL      FieldType = "url"
	Map      FieldType = "map"
)

// Field describes one setting of a destination type.
type Field struct {
	Name        string    `json:"name"`
	Type        FieldType `json:"type"`
	Description string    `json:"description"`
	Default     string    `json:"default,omitempty"` // in the field's own syntax; "" means none
	Options     []string  `json:"options,omitempty"` // allowed values of an Enum
	Min         string    `json:"min,omitempty"`     // lower bound of an Int or Duration, in its syntax
	Max         string    `json:"max,omitempty"`     // upper bound
	Example     string    `json:"example,omitempty"`
	Required    bool      `json:"required,omitempty"`
	// Secret fields are never part of Config.Settings: they are stored
	// encrypted and handed to New through its secrets function, by name.
	Secret bool `json:"secret,omitempty"`
	// Advanced fields are folded away in forms; their defaults suit most users.
	Advanced bool `json:"advanced,omitempty"`
}

// TypeSpec describes a destination type: what it is, its settings and how to
// build it. Config validation, the console's forms and docs/destinations.md
// all read it.
type TypeSpec struct {
	Type        string  `json:"type"` // registry name, e.g. "slack"
	Name        string  `json:"name"` // display name, e.g. "Slack"
	Summary     string  `json:"summary"`
	Description string  `json:"description"`
	Fields      []Field `json:"fields"`

	// Check validates combinations of fields after each is valid on its
	// own. May be nil.
	Check func(s *Settings) error `json:"-"`
	// New builds a destination from validated settings with its secrets.
	New func(cfg Config, s *Settings) (Destination, error) `json:"-"`
}

// Field returns the named field.
func (t *TypeSpec) Field(name string) (Field, bool) {
	for _, f := range t.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

var (
	registryMu sync.RWMutex
	registry   = map[string]TypeSpec{}
)

// Register adds a destination type. Types call it from init(); it panics on
// a duplicate or incomplete spec, which is a programming error.
func Register(t TypeSpec) {
	if t.Type == "" || t.New == nil {
		panic("destinations: Register needs a Type and a New")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[t.Type]; dup {
		panic("destinations: type " + t.Type + " registered twice")
	}
	registry[t.Type] = t
}

// Types returns every registered destination type, sorted by Type.
func Types() []TypeSpec {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]TypeSpec, 0, len(registry))
	for _, t := range registry {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// Lookup returns the spec of a registered type.
func Lookup(typ string) (TypeSpec, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	t, ok := registry[typ]
	return t, ok
}

func typeHint(typ string) string {
	names := []string{}
	for _, t := range Types() {
		names = append(names, t.Type)
	}
	return suggest.Hint(typ, names)
}

// ErrNoSecret is what a secrets function returns (wrapped or not) for a
// secret that is not set. New treats it, and an empty value, as unset.
var ErrNoSecret = errors.New("secret not set")

// New builds the destination that cfg describes. secrets returns a secret
// setting by field name (ErrNoSecret or "" when unset); it may be nil when
// the type has no secrets. Config problems are a *ConfigError, which
// IsPermanent reports as permanent; an error reading a secret is not.
func New(cfg Config, secrets func(name string) (string, error)) (Destination, error) {
	spec, ok := Lookup(cfg.Type)
	if !ok {
		return nil, &ConfigError{Type: cfg.Type, Name: cfg.Name, Fields: []FieldError{{Field: "type",
			Message: fmt.Sprintf("unknown destination type %q%s", cfg.Type, typeHint(cfg.Type))}}}
	}
	s, err := spec.Parse(cfg.Settings)
	if err != nil {
		if ce, ok := err.(*ConfigError); ok {
			ce.Name = cfg.Name
		}
		return nil, err
	}
	missing := &ConfigError{Type: cfg.Type, Name: cfg.Name}
	for _, f := range spec.Fields {
		if !f.Secret {
			continue
		}
		v, err := "", ErrNoSecret
		if secrets != nil {
			v, err = secrets(f.Name)
		}
		if err != nil && !errors.Is(err, ErrNoSecret) {
			return nil, fmt.Errorf("%s destination %q: reading secret %s: %w", cfg.Type, cfg.Name, f.Name, err)
		}
		if err != nil || v == "" {
			if f.Required {
				missing.Fields = append(missing.Fields, FieldError{Field: f.Name, Message: "is required (a secret)"})
			}
			continue
		}
		if f.Type == URL {
			if _, perr := f.parseValue(v); perr != nil {
				// Never echo a secret value in the message.
				missing.Fields = append(missing.Fields, FieldError{Field: f.Name, Message: "is not an absolute http(s) URL"})
				continue
			}
		}
		s.secrets[f.Name] = v
	}
	if len(missing.Fields) > 0 {
		return nil, missing
	}
	d, err := spec.New(cfg, s)
	if err != nil {
		return nil, fmt.Errorf("%s destination %q: %w", cfg.Type, cfg.Name, err)
	}
	return d, nil
}

// Settings are a destination's validated settings with defaults applied,
// and (inside New) its secrets. Accessors panic on a name the spec does not
// declare with that type: that is a programming error, not a user one.
type Settings struct {
	spec    *TypeSpec
	values  map[string]any // string, int, bool, time.Duration or map[string]string
	secrets map[string]string
}

// Parse validates raw (a JSON object; empty means {}) against the spec and
// returns the settings with defaults applied. Errors are a *ConfigError.
func (t *TypeSpec) Parse(raw json.RawMessage) (*Settings, error) {
	s := &Settings{spec: t, values: map[string]any{}, secrets: map[string]string{}}
	cerr := &ConfigError{Type: t.Type}
	fail := func(field, format string, args ...any) {
		cerr.Fields = append(cerr.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	obj := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(raw)) > 0 && string(bytes.TrimSpace(raw)) != "null" {
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, &ConfigError{Type: t.Type, Fields: []FieldError{{Message: "settings must be a JSON object: " + err.Error()}}}
		}
	}
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names)
	fieldNames := make([]string, len(t.Fields))
	for i, f := range t.Fields {
		fieldNames[i] = f.Name
	}
	for _, name := range names {
		f, ok := t.Field(name)
		switch {
		case !ok:
			fail(name, "unknown field%s", suggest.Hint(name, fieldNames))
		case f.Secret:
			fail(name, "is a secret: store it with the destination's secrets, not in its settings")
		}
	}
	for _, f := range t.Fields {
		if f.Secret {
			continue
		}
		raw, isSet := obj[f.Name]
		isSet = isSet && string(raw) != "null"
		var v any
		var err error
		switch {
		case isSet && f.Type == Map:
			v, err = parseMap(raw)
		case isSet:
			var text string
			if text, err = jsonScalar(raw, f.Type); err == nil {
				v, err = f.parseValue(text)
			}
		case f.Default != "":
			v, err = f.parseValue(f.Default)
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
		s.values[f.Name] = v
	}
	if len(cerr.Fields) == 0 && t.Check != nil {
		if err := t.Check(s); err != nil {
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
	return s, nil
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
	return "", fmt.Errorf("wrong JSON type for a %s field", t)
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
		return 0, fmt.Errorf("%q is not a duration like 10s or 1m", text)
	}
	return d, nil
}

func (s *Settings) get(name string, t ...FieldType) any {
	f, ok := s.spec.Field(name)
	if !ok || !slices.Contains(t, f.Type) {
		panic(fmt.Sprintf("destinations: %s has no %v field %q", s.spec.Type, t, name))
	}
	return s.values[name]
}

// String returns a String, Enum or URL field ("" when unset without default).
func (s *Settings) String(name string) string {
	v, _ := s.get(name, String, Enum, URL).(string)
	return v
}

// Int returns an Int field (0 when unset without default).
func (s *Settings) Int(name string) int {
	v, _ := s.get(name, Int).(int)
	return v
}

// Bool returns a Bool field.
func (s *Settings) Bool(name string) bool {
	v, _ := s.get(name, Bool).(bool)
	return v
}

// Duration returns a Duration field.
func (s *Settings) Duration(name string) time.Duration {
	v, _ := s.get(name, Duration).(time.Duration)
	return v
}

// Map returns a Map field (nil when unset).
func (s *Settings) Map(name string) map[string]string {
	v, _ := s.get(name, Map).(map[string]string)
	return v
}

// Secret returns a secret field's value ("" when unset). Secrets are only
// filled in by New.
func (s *Settings) Secret(name string) string {
	if f, ok := s.spec.Field(name); !ok || !f.Secret {
		panic(fmt.Sprintf("destinations: %s has no secret field %q", s.spec.Type, name))
	}
	return s.secrets[name]
}

// validHeaderName reports whether name is an HTTP token (RFC 9110).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		if c >= 0x80 || !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
