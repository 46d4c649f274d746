package correlate

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
)

// lookup returns the value at a dotted path in fields. At each level the
// longest run of path segments that is a key wins, so both nested objects
// ({"actor": {"alternateId": …}}) and flat keys ("actor.alternateId", as
// tests write them) are found.
func lookup(fields map[string]any, path string) (any, bool) {
	if v, ok := fields[path]; ok {
		return v, true
	}
	segs := strings.Split(path, ".")
	return walk(fields, segs)
}

func walk(m map[string]any, segs []string) (any, bool) {
	for n := len(segs); n >= 1; n-- {
		v, ok := m[strings.Join(segs[:n], ".")]
		if !ok {
			continue
		}
		if n == len(segs) {
			return v, true
		}
		if sub, ok := v.(map[string]any); ok {
			if r, ok := walk(sub, segs[n:]); ok {
				return r, true
			}
		}
	}
	return nil, false
}

// Resolve returns the values of paths in fields, keyed by path: lookups
// of the paths find in it what they find in fields (a key that is the
// whole path is tried first), in one flat map, which is smaller than the
// objects the values sit in. It is nil when no path is found.
func Resolve(fields map[string]any, paths []string) map[string]any {
	var out map[string]any
	for _, p := range paths {
		if v, ok := lookup(fields, p); ok {
			if out == nil {
				out = make(map[string]any, len(paths))
			}
			out[p] = v
		}
	}
	return out
}

// A Selection is the part of a match's Fields that lookups of some paths
// can reach: at each level of the tree, the keys lookup may read. Since
// at each level lookup tries every run of leading path segments as a key,
// the path "actor.alternateId" selects the keys "actor.alternateId"
// (whole) and "actor" (and within it "alternateId").
//
// Lookups of the paths give the same values in fields pruned to their
// selection as in the whole fields, so a reader of rule matches need
// decode only the selection of Rule.FieldPaths (and keep only the values
// of the paths: Resolve).
type Selection map[string]*Selected

// Selected is one key of a Selection.
type Selected struct {
	// Whole is set when a path ends at the key: its value is kept as it
	// is, whatever it holds.
	Whole bool
	// Sub, when the key is not Whole, is the selection within its value,
	// which lookup enters only when it is an object.
	Sub Selection
}

// Select returns the selection of the dotted paths.
func Select(paths []string) Selection {
	sel := Selection{}
	for _, p := range paths {
		sel.add(strings.Split(p, "."))
	}
	return sel
}

func (s Selection) add(segs []string) {
	for n := 1; n <= len(segs); n++ {
		k := strings.Join(segs[:n], ".")
		e := s[k]
		if e == nil {
			e = &Selected{}
			s[k] = e
		}
		switch {
		case n == len(segs):
			e.Whole, e.Sub = true, nil
		case !e.Whole:
			if e.Sub == nil {
				e.Sub = Selection{}
			}
			e.Sub.add(segs[n:])
		}
	}
}

// Prune returns the part of fields that s selects: the values of Whole
// keys as they are (shared with fields), and objects pruned in turn for
// the others. Objects left empty and non-objects under keys that are not
// Whole are dropped: lookup could not enter them.
func (s Selection) Prune(fields map[string]any) map[string]any {
	out := map[string]any{}
	for k, e := range s {
		v, ok := fields[k]
		switch {
		case !ok:
		case e.Whole:
			out[k] = v
		default:
			if sub, ok := v.(map[string]any); ok {
				if p := e.Sub.Prune(sub); len(p) > 0 {
					out[k] = p
				}
			}
		}
	}
	return out
}

// joinValues returns the values a field contributes to a join, as sorted
// unique canonical strings: a scalar gives one value, a list gives its
// scalar elements (list-on-list joins intersect). Missing fields, nulls,
// empty strings and objects give none, so they never join.
func joinValues(fields map[string]any, path string) []string {
	v, ok := lookup(fields, path)
	if !ok {
		return nil
	}
	var out []string
	add := func(x any) {
		if s, ok := canonical(x); ok && s != "" {
			out = append(out, s)
		}
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			add(e)
		}
	case []string:
		for _, e := range x {
			add(e)
		}
	default:
		add(v)
	}
	if len(out) > 1 {
		sort.Strings(out)
		w := 1
		for i := 1; i < len(out); i++ {
			if out[i] != out[w-1] {
				out[w] = out[i]
				w++
			}
		}
		out = out[:w]
	}
	return out
}

// canonical renders a scalar for comparison: numbers by value (1, 1.0 and
// "1" all join), booleans as true/false.
func canonical(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return strconv.FormatInt(i, 10), true
		}
		if f, err := x.Float64(); err == nil {
			return number(f), true
		}
		return x.String(), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		return number(x), true
	case float32:
		return number(float64(x)), true
	}
	return "", false
}

func number(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// intersects reports whether two sorted value lists share a value.
func intersects(a, b []string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			return true
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return false
}

// intersect returns the values two sorted lists share.
func intersect(a, b []string) []string {
	var out []string
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			out = append(out, a[i])
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return out
}
