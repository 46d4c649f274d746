package spec

import (
	"fmt"
	"strings"
)

// FieldError is a problem with one setting. Check functions return it to
// blame a field.
type FieldError struct {
	Field   string // the field's path ("settings.url"); "" when the problem is not one field's
	Message string
}

func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Under returns the error with its field path inside parent: "url" under
// "settings" is "settings.url", and a problem of no one field is parent's.
func (e FieldError) Under(parent string) FieldError {
	e.Field = strings.TrimSuffix(parent+"."+e.Field, ".")
	return e
}

// ConfigError lists every problem found in a component's settings, so a
// form can mark each field at once.
type ConfigError struct {
	Kind   string // what the component is: "source", "destination"
	Type   string // its type, e.g. "okta"
	Name   string // its name, when known
	Fields []FieldError
}

// Error reads like `slack destination "SecOps" config: url: is required`.
func (e *ConfigError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Error()
	}
	what := strings.TrimSpace(e.Type + " " + e.Kind)
	if e.Name != "" {
		what += fmt.Sprintf(" %q", e.Name)
	}
	return fmt.Sprintf("%s config: %s", what, strings.Join(msgs, "; "))
}
