package logtypes

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"sync"
	"sync/atomic"
)

//go:embed schemas/*.yml
var builtinFS embed.FS

// builtinEntries parses the embedded schemas once per process.
var builtinEntries = sync.OnceValue(func() []*entry {
	files, err := fs.Glob(builtinFS, "schemas/*.yml")
	if err != nil {
		panic(err)
	}
	var out []*entry
	for _, f := range files {
		data, err := builtinFS.ReadFile(f)
		if err != nil {
			panic(err)
		}
		s, err := parseSchema(path.Join("internal/logtypes", f), data, true)
		if err != nil {
			panic(fmt.Sprintf("built-in schema: %v", err))
		}
		out = append(out, &entry{schema: s, compiled: compile(s), builtin: true})
	}
	return out
})

type entry struct {
	schema   *Schema
	compiled *compiled
	builtin  bool
}

// Registry holds the schemas of the known log types. It is safe for
// concurrent use. Schemas returned by Get are shared and must not be
// modified.
type Registry struct {
	mu      sync.RWMutex
	entries map[string]*entry
	gen     atomic.Uint64
}

// NewRegistry returns a registry with every built-in schema.
func NewRegistry() *Registry {
	r := &Registry{entries: map[string]*entry{}}
	for _, e := range builtinEntries() {
		r.entries[e.schema.Name] = e
	}
	return r
}

// Add validates a custom schema and adds it, replacing an earlier custom
// schema of the same name (normalizers pick up the change on their next
// event). Custom schemas must be named Custom.Something, must not collide
// with another log type's table name, and cannot replace built-in ones. The
// error is a SchemaErrors. Add takes ownership of s.
func (r *Registry) Add(s *Schema) error {
	if s == nil {
		return SchemaErrors{{Message: "no schema"}}
	}
	if errs := validateSchema(s, false, nil); len(errs) > 0 {
		return errs
	}
	c := compile(s)
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.entries[s.Name]; ok && old.builtin {
		return SchemaErrors{{Message: fmt.Sprintf("%s is a built-in log type and cannot be replaced", s.Name)}}
	}
	for name, e := range r.entries {
		if name != s.Name && e.schema.TableName == s.TableName {
			return SchemaErrors{{Message: fmt.Sprintf("%s would use table %s, which %s already uses", s.Name, s.TableName, name)}}
		}
	}
	r.entries[s.Name] = &entry{schema: s, compiled: c}
	r.gen.Add(1)
	return nil
}

// Get returns the schema of a log type.
func (r *Registry) Get(name string) (*Schema, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.entries[name]
	if !ok {
		return nil, false
	}
	return e.schema, true
}

// IsBuiltin reports whether name is a built-in log type.
func (r *Registry) IsBuiltin(name string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.entries[name]
	return ok && e.builtin
}

// Names returns the names of every log type, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.entries))
	for name := range r.entries {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func (r *Registry) generation() uint64 { return r.gen.Load() }

func (r *Registry) compiled(name string) (*compiled, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.entries[name]
	if !ok {
		return nil, false
	}
	return e.compiled, true
}
