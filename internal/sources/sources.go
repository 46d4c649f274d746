// Package sources is how logs arrive in prowl: the contracts between
// sources and the pipeline (re-exported from internal/sources/core), and
// the registry of source types.
//
// Each source type (okta, http, file) describes itself with a Spec: its
// fields with types, defaults, bounds and which are secrets. The console's
// onboarding form, config validation (Validate), the docs
// (docs/sources.md, checked by a test) and New all read the same Spec.
package sources

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prowl-siem/prowl/internal/sources/core"
	"github.com/prowl-siem/prowl/internal/sources/file"
	"github.com/prowl-siem/prowl/internal/sources/httpsrc"
	"github.com/prowl-siem/prowl/internal/sources/okta"
	"github.com/prowl-siem/prowl/internal/spec"
	"github.com/prowl-siem/prowl/internal/store"
)

// The source contracts; see internal/sources/core.
type (
	Sink       = core.Sink
	Batch      = core.Batch
	State      = core.State
	Source     = core.Source
	Spec       = core.Spec
	Field      = spec.Field
	Config     = core.Config
	SecretFunc = core.SecretFunc
	// ConfigError lists a config's problems field by field.
	ConfigError = spec.ConfigError
)

// builtin lists the source types, wired explicitly.
var builtin = []*core.Spec{&okta.Spec, &httpsrc.Spec, &file.Spec}

// Types returns the specs of all source types, by type name.
func Types() []Spec {
	out := make([]Spec, 0, len(builtin))
	for _, s := range builtin {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// Lookup returns the spec of a source type.
func Lookup(typ string) (*Spec, bool) {
	for _, s := range builtin {
		if s.Type == typ {
			return s, true
		}
	}
	return nil, false
}

func lookup(typ string) (*Spec, error) {
	s, ok := Lookup(typ)
	if !ok {
		names := make([]string, 0, len(builtin))
		for _, b := range builtin {
			names = append(names, b.Type)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("unknown source type %q (known: %s)", typ, strings.Join(names, ", "))
	}
	return s, nil
}

// Validate checks a source record's type and config against its spec. It
// does not look at secrets. Config problems are a *ConfigError.
func Validate(rec store.SourceRecord) error {
	if rec.ID == "" {
		return fmt.Errorf("source has no id")
	}
	spec, err := lookup(rec.Type)
	if err != nil {
		return fmt.Errorf("source %q: %w", rec.ID, err)
	}
	if _, err := spec.Parse(rec.Config); err != nil {
		return fmt.Errorf("source %q: %w", rec.ID, err)
	}
	return nil
}

// New builds the source a record describes. secrets returns the source's
// secrets by field name (see SecretsFrom). The record's LogTypes default to
// the type's.
func New(rec store.SourceRecord, secrets func(name string) ([]byte, error)) (Source, error) {
	spec, err := lookup(rec.Type)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", rec.ID, err)
	}
	cfg, err := spec.Parse(rec.Config)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", rec.ID, err)
	}
	logTypes := rec.LogTypes
	if len(logTypes) == 0 {
		logTypes = spec.LogTypes
	}
	if secrets == nil {
		secrets = func(name string) ([]byte, error) { return nil, fmt.Errorf("no secret %q: %w", name, store.ErrNotFound) }
	}
	return spec.New(core.Instance{ID: rec.ID, Label: rec.Label, LogTypes: logTypes}, cfg, secrets)
}

// SecretsFrom reads a source's secrets from the store.
func SecretsFrom(ctx context.Context, st *store.Store, sourceID string) SecretFunc {
	return func(name string) ([]byte, error) { return st.GetSecret(ctx, sourceID, name) }
}

// DropOff reports whether a source has been silent for longer than its
// dropoff_alarm setting, and for how long. Silence is counted from the
// last delivered events, or from the source's creation if it never
// delivered any. A disabled alarm never fires.
func DropOff(rec store.SourceRecord, h store.Health, now time.Time) (silent bool, since time.Duration, err error) {
	spec, err := lookup(rec.Type)
	if err != nil {
		return false, 0, err
	}
	cfg, err := spec.Parse(rec.Config)
	if err != nil {
		return false, 0, err
	}
	after := cfg.Duration(core.DropOffFieldName)
	if after <= 0 || !rec.Enabled {
		return false, 0, nil
	}
	last := h.LastIngestAt
	if last.IsZero() {
		last = rec.CreatedAt
	}
	since = now.Sub(last)
	return since > after, since, nil
}

// The store keeps sources' state.
var _ State = (*store.Store)(nil)
