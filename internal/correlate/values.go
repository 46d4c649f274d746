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
