package destinations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/prowl-siem/prowl/internal/spec"
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

// The settings machinery is internal/spec's, shared with sources.
type (
	// FieldType is the type of a settings field's value.
	FieldType = spec.FieldType
	// Field describes one setting of a destination type.
	Field = spec.Field
	// Settings are a destination's validated settings with defaults
	// applied, and (inside New) its secrets.
	Settings = spec.Values
	// FieldError is a problem with one config field.
	FieldError = spec.FieldError
	// ConfigError lists every problem found in a destination's config, so
	// a form can mark each field at once.
	ConfigError = spec.ConfigError
)

// Field types; see internal/spec.
const (
	String   = spec.String
	Int      = spec.Int
	Bool     = spec.Bool
	Duration = spec.Duration
	Enum     = spec.Enum
	URL      = spec.URL
	Map      = spec.Map
)

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
func (t *TypeSpec) Field(name string) (Field, bool) { return spec.Find(t.Fields, name) }

// Parse validates raw (a JSON object; empty means {}) against the spec and
// returns the settings with defaults applied. Errors are a *ConfigError.
func (t *TypeSpec) Parse(raw json.RawMessage) (*Settings, error) {
	return t.schema().Parse(raw)
}

func (t *TypeSpec) schema() *spec.Schema {
	return &spec.Schema{Kind: kind, Noun: "settings", Type: t.Type, Fields: t.Fields, Check: t.Check}
}

// kind is what a destination is called in config errors.
const kind = "destination"

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
	ts, ok := Lookup(cfg.Type)
	if !ok {
		return nil, &ConfigError{Kind: kind, Type: cfg.Type, Name: cfg.Name, Fields: []FieldError{{Field: "type",
			Message: fmt.Sprintf("unknown destination type %q%s", cfg.Type, typeHint(cfg.Type))}}}
	}
	s, err := ts.Parse(cfg.Settings)
	if err != nil {
		if ce, ok := err.(*ConfigError); ok {
			ce.Name = cfg.Name
		}
		return nil, err
	}
	missing := &ConfigError{Kind: kind, Type: cfg.Type, Name: cfg.Name}
	for _, f := range ts.Fields {
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
			if f.CheckValue(v) != nil {
				// Never echo a secret value in the message.
				missing.Fields = append(missing.Fields, FieldError{Field: f.Name, Message: "is not an absolute http(s) URL"})
				continue
			}
		}
		s.SetSecret(f.Name, v)
	}
	if len(missing.Fields) > 0 {
		return nil, missing
	}
	d, err := ts.New(cfg, s)
	if err != nil {
		return nil, fmt.Errorf("%s destination %q: %w", cfg.Type, cfg.Name, err)
	}
	return d, nil
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
