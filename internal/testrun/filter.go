package testrun

import (
	"fmt"
	"strings"

	"github.com/prowl-siem/prowl/internal/analysis"
)

// Filter selects detections by a spec key, like panther_analysis_tool's
// --filter: KEY=V1,V2 keeps detections whose KEY equals any of the values
// (any element, for list keys); KEY!=V1,V2 drops them. An empty value
// matches a key that is absent. Several filters must all hold.
type Filter struct {
	Key    string
	Values []string
	Negate bool
}

// ParseFilter parses "KEY=V1,V2" or "KEY!=V1,V2".
func ParseFilter(text string) (Filter, error) {
	var f Filter
	key, values, ok := strings.Cut(text, "!=")
	if ok {
		f.Negate = true
	} else if key, values, ok = strings.Cut(text, "="); !ok {
		return f, fmt.Errorf("filter %q: want KEY=VALUE[,VALUE...] or KEY!=VALUE[,VALUE...]", text)
	}
	f.Key = strings.TrimSpace(key)
	if f.Key == "" {
		return f, fmt.Errorf("filter %q: the key is empty", text)
	}
	for _, v := range strings.Split(values, ",") {
		f.Values = append(f.Values, strings.TrimSpace(v))
	}
	return f, nil
}

// MatchFilters reports whether d passes every filter.
func MatchFilters(d *analysis.Detection, filters []Filter) bool {
	for _, f := range filters {
		if f.matches(d) == f.Negate {
			return false
		}
	}
	return true
}

func (f Filter) matches(d *analysis.Detection) bool {
	actual, present := d.Raw[f.Key]
	for _, want := range f.Values {
		if want == "" {
			if !present || actual == nil {
				return true
			}
			continue
		}
		if present && valueMatches(actual, want) {
			return true
		}
	}
	return false
}

func valueMatches(actual any, want string) bool {
	switch v := actual.(type) {
	case []any:
		for _, e := range v {
			if valueMatches(e, want) {
				return true
			}
		}
		return false
	case map[string]any:
		for k := range v {
			if strings.EqualFold(k, want) {
				return true
			}
		}
		return false
	default:
		return strings.EqualFold(fmt.Sprint(v), want)
	}
}
