package core

import (
	"encoding/json"

	"github.com/prowl-siem/prowl/internal/spec"
)

// Config is a source's settings, validated against its Spec, with defaults
// filled in. Source types declare their fields with internal/spec.
type Config = spec.Values

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
	Fields      []spec.Field

	// Check validates combinations of fields after each field is valid on
	// its own (for example "subdomain or base_url"); a spec.FieldError it
	// returns blames one field. May be nil.
	Check func(c *Config) error
	// New builds a source from a validated config.
	New func(inst Instance, c *Config, secrets SecretFunc) (Source, error)
}

// Field returns the named field.
func (s *Spec) Field(name string) (spec.Field, bool) { return spec.Find(s.Fields, name) }

// Parse validates raw (a JSON object; empty means {}) against the spec and
// returns the config with defaults applied. Errors are a *spec.ConfigError.
func (s *Spec) Parse(raw json.RawMessage) (*Config, error) {
	return s.schema().Parse(raw)
}

// schema is the spec as internal/spec parses it. URL values lose their
// trailing slashes: sources append API paths to them.
func (s *Spec) schema() *spec.Schema {
	return &spec.Schema{Kind: "source", Noun: "config", Type: s.Type, Fields: s.Fields, Check: s.Check, TrimURLSlash: true}
}

// DropOffFieldName is the field every source type has for the drop-off
// alarm: alert when the source delivers no events for this long.
const DropOffFieldName = "dropoff_alarm"

// DropOffField returns the drop-off alarm field with a type's default
// ("0s" disables the alarm).
func DropOffField(def string) spec.Field {
	return spec.Field{Name: DropOffFieldName, Type: spec.Duration, Default: def, Min: "0s", Max: "720h",
		Description: "Raise a system alert when the source has delivered no events for this long; 0s turns the alarm off."}
}
