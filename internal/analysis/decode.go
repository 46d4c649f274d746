package analysis

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder reads the specs of one YAML file, collecting problems with their
// lines.
type decoder struct {
	file        string // the YAML file, as given to the loader
	dir         string // its directory: Filename keys are relative to it
	ignoreExtra bool
	probs       Problems
}

// errorf records a problem at the line of n (line 0 when n is nil).
func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.probs = append(d.probs, Problem{Source{d.file, line}, fmt.Sprintf(format, args...)})
}

// fieldset is a YAML mapping being decoded: its values by key, checked
// against the keys its schema knows.
type fieldset struct {
	d    *decoder
	node *yaml.Node
	what string // what the mapping is, for messages: "rule spec", "test", ...
	ok   bool   // the node is a mapping
	keys map[string]*yaml.Node
	vals map[string]*yaml.Node
}

// fields starts decoding n, a mapping described as what, whose keys must be
// among known (unless unknown keys are ignored). A node that is not a
// mapping is a problem; the fieldset is then empty and not ok.
func (d *decoder) fields(n *yaml.Node, what string, known []string) *fieldset {
	n = resolve(n)
	f := &fieldset{d: d, node: n, what: what, keys: map[string]*yaml.Node{}, vals: map[string]*yaml.Node{}}
	if n == nil || n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected mapping, got %s", what, describe(n))
		return f
	}
	f.ok = true
	for _, p := range pairs(n) {
		k := keyString(p.key)
		f.keys[k], f.vals[k] = p.key, p.value
		if !d.ignoreExtra && !slices.Contains(known, k) {
			d.errorf(p.key, "unknown key %q in %s%s", k, what, didYouMean(k, known))
		}
	}
	return f
}

// has reports whether key k is present (even with a null value).
func (f *fieldset) has(k string) bool { return f.vals[k] != nil }

// get returns the value of k with aliases resolved, or nil when absent.
func (f *fieldset) get(k string) *yaml.Node { return resolve(f.vals[k]) }

// line returns the line of the value of k, or of the mapping when absent.
func (f *fieldset) line(k string) int {
	if v := f.vals[k]; v != nil {
		return v.Line
	}
	if f.node != nil {
		return f.node.Line
	}
	return 0
}

// missing records that required key k is absent.
func (f *fieldset) missing(k string) {
	f.d.errorf(f.node, "missing required key %q in %s", k, f.what)
}

// typeError records that the value of k is not of the wanted type.
func (f *fieldset) typeError(k, want string) {
	f.d.errorf(f.vals[k], "%s: expected %s, got %s", k, want, describe(f.vals[k]))
}

// require records a problem for each absent key; it reports whether all are
// present. It does nothing for a mapping that is not ok.
func (f *fieldset) require(keys ...string) bool {
	all := true
	for _, k := range keys {
		if f.ok && !f.has(k) {
			f.missing(k)
			all = false
		}
	}
	return all
}

// read returns conv of the value of k and whether k is present with a value
// conv accepts. conv reports whether it accepts the node; a value it refuses
// is a type problem ("expected want") and gives the zero T.
func read[T any](f *fieldset, k, want string, conv func(*yaml.Node) (T, bool)) (T, bool) {
	var zero T
	v := f.get(k)
	if v == nil {
		return zero, false
	}
	t, ok := conv(v)
	if !ok {
		f.typeError(k, want)
		return zero, false
	}
	return t, true
}

// convert returns conv of the value of k (the zero T when absent); an error
// from conv is recorded as a problem at the value, and conv's result kept.
func convert[T any](f *fieldset, k string, conv func(*yaml.Node) (T, error)) T {
	var zero T
	v := f.get(k)
	if v == nil {
		return zero
	}
	t, err := conv(v)
	if err != nil {
		f.d.errorf(v, "%s: %v", k, err)
	}
	return t
}

// ofKind accepts nodes of the given kind, as they are.
func ofKind(kind yaml.Kind) func(*yaml.Node) (*yaml.Node, bool) {
	return func(v *yaml.Node) (*yaml.Node, bool) { return v, v.Kind == kind }
}

// scalarOf accepts scalars with the given tag, decoded into a T.
func scalarOf[T any](tag string) func(*yaml.Node) (T, bool) {
	return func(v *yaml.Node) (T, bool) {
		var t T
		return t, v.Kind == yaml.ScalarNode && v.Tag == tag && v.Decode(&t) == nil
	}
}

// stringValue accepts string scalars.
func stringValue(v *yaml.Node) (string, bool) { return v.Value, isString(v) }

// str returns the string value of k ("" when absent or of the wrong type).
func (f *fieldset) str(k string) string {
	s, _ := read(f, k, "string", stringValue)
	return s
}

// reqStr is str for a required, non-empty key.
func (f *fieldset) reqStr(k string) string {
	if !f.require(k) {
		return ""
	}
	s := f.str(k)
	if s == "" && isString(f.get(k)) {
		f.d.errorf(f.vals[k], "%s must not be empty", k)
	}
	return s
}

var idPattern = regexp.MustCompile(`^[^<>&"%]+$`)

// id returns the required identifier k (RuleID, PolicyID, ...), which must
// match Panther's ^[^<>&"%]+$.
func (f *fieldset) id(k string) string {
	s := f.reqStr(k)
	if s != "" && !idPattern.MatchString(s) {
		f.d.errorf(f.vals[k], `%s %q must not contain any of < > & " %%`, k, s)
	}
	return s
}

// boolean returns the boolean value of k, or def when absent or invalid.
func (f *fieldset) boolean(k string, def bool) bool {
	if b, ok := read(f, k, "boolean", scalarOf[bool]("!!bool")); ok {
		return b
	}
	return def
}

// integer returns the integer value of k and whether it is present and
// valid; it is at least lo, or a problem is recorded.
func (f *fieldset) integer(k string, lo int) (int, bool) {
	i, ok := read(f, k, "integer", scalarOf[int]("!!int"))
	if !ok {
		return 0, false
	}
	if i < lo {
		f.d.errorf(f.get(k), "%s must be at least %d, got %d", k, lo, i)
		return 0, false
	}
	return i, true
}

// seq returns the items of the list k (nil when absent or not a list).
func (f *fieldset) seq(k string) []*yaml.Node {
	v, ok := read(f, k, "list", ofKind(yaml.SequenceNode))
	if !ok {
		return nil
	}
	return v.Content
}

// strList returns the list of strings k.
func (f *fieldset) strList(k string) []string {
	v, ok := read(f, k, "list of strings", ofKind(yaml.SequenceNode))
	if !ok {
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for i, e := range v.Content {
		e = resolve(e)
		if !isString(e) {
			f.d.errorf(e, "%s[%d]: expected string, got %s", k, i, describe(e))
			continue
		}
		out = append(out, e.Value)
	}
	return out
}

// raw returns the value of k as a Go value (see toValue).
func (f *fieldset) raw(k string) any { return convert(f, k, toValue) }

// rawList returns the value of k, which must be a list, as a Go value.
func (f *fieldset) rawList(k string) any {
	if _, ok := read(f, k, "list", ofKind(yaml.SequenceNode)); !ok {
		return nil
	}
	return f.raw(k)
}

// json returns the value of k as JSON text.
func (f *fieldset) json(k string) []byte { return convert(f, k, toJSON) }

// severityNames are the severities as Panther spells them in YAML.
var severityNames = []string{"Info", "Low", "Medium", "High", "Critical"}

// severity returns the severity k in upper case; any letter case is
// accepted.
func (f *fieldset) severity(k string, required bool) string {
	if required && !f.require(k) {
		return ""
	}
	s := f.str(k)
	if s == "" {
		if f.has(k) && isString(f.get(k)) {
			f.d.errorf(f.vals[k], "%s must be one of %s", k, quoteList(severityNames))
		}
		return ""
	}
	up := strings.ToUpper(s)
	if !slices.Contains(Severities, up) {
		f.d.errorf(f.vals[k], "%s %q is not one of %s", k, s, quoteList(severityNames))
		return ""
	}
	return up
}

// reports returns the Reports mapping: framework name to list of entries.
// Numeric entries (CIS 1.4) keep the text written in the YAML.
func (f *fieldset) reports(k string) map[string][]string {
	v, ok := read(f, k, "mapping of lists", ofKind(yaml.MappingNode))
	if !ok {
		return nil
	}
	out := map[string][]string{}
	for _, p := range pairs(v) {
		name := keyString(p.key)
		l := resolve(p.value)
		if l.Kind != yaml.SequenceNode {
			f.d.errorf(l, "%s.%s: expected list, got %s", k, name, describe(l))
			continue
		}
		entries := make([]string, 0, len(l.Content))
		for _, e := range l.Content {
			if e = resolve(e); e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
				f.d.errorf(e, "%s.%s: expected string or number, got %s", k, name, describe(e))
				continue
			}
			entries = append(entries, e.Value)
		}
		out[name] = entries
	}
	return out
}

// file resolves the Filename-like key k against the spec's directory and
// returns the absolute path; the file must exist.
func (f *fieldset) file(k string, required bool) string {
	if required && !f.require(k) {
		return ""
	}
	name := f.str(k)
	if name == "" {
		if f.has(k) && isString(f.get(k)) {
			f.d.errorf(f.vals[k], "%s must not be empty", k)
		}
		return ""
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(f.d.dir, name)
	}
	st, err := os.Stat(p)
	switch {
	case err != nil:
		f.d.errorf(f.vals[k], "%s %q: file %s does not exist", k, name, p)
		return ""
	case st.IsDir():
		f.d.errorf(f.vals[k], "%s %q: %s is a directory", k, name, p)
		return ""
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		f.d.errorf(f.vals[k], "%s %q: %v", k, name, err)
		return ""
	}
	return abs
}

// oneOf checks that exactly one of keys a and b is present; it returns
// which ones are.
func (f *fieldset) oneOf(a, b string) (hasA, hasB bool) {
	hasA, hasB = f.has(a), f.has(b)
	switch {
	case !f.ok:
	case hasA && hasB:
		f.d.errorf(f.keys[b], "only one of %q and %q may be set in %s", a, b, f.what)
	case !hasA && !hasB:
		f.d.errorf(f.node, "%s needs one of %q and %q", f.what, a, b)
	}
	return hasA, hasB
}
