package match

import (
	"fmt"
	"github.com/prowl-siem/prowl/internal/suggest"
	"sort"
	"strconv"
	"strings"
)

// Error is one compile error, located by a path into the YAML value such as
// "Detection[1].Any[0]" or "DynamicSeverities[0].Conditions[2]". The caller
// maps the path to a file and line.
type Error struct {
	Path string // where: "Detection[0].Values[1]"; empty for the whole value
	Msg  string // what: `unknown Condition "Equal" (did you mean "Equals"?)`
}

// Error returns "path: message".
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errors is every error found by one compilation, in the order found (at most
// maxErrors). Its message has one error a line. errors.As finds each *Error.
type Errors []*Error

// Error returns every error, one a line.
func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the errors one by one, for errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

const maxErrors = 50

// errorSink collects errors during compilation.
type errorSink struct{ errs Errors }

func (s *errorSink) fail(path, format string, args ...any) {
	if len(s.errs) < maxErrors {
		s.errs = append(s.errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
}

func (s *errorSink) err() error {
	if len(s.errs) == 0 {
		return nil
	}
	return s.errs
}

// didYouMean is the " (did you mean ...?)" hint for a misspelled name.
func didYouMean(name string, candidates []string) string { return suggest.Hint(name, candidates) }

// describe names a decoded YAML value for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:37] + "..."
		}
		return "the string " + strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	}
	if _, ok := toNumber(v); ok {
		return "the number " + render(v)
	}
	return fmt.Sprintf("a value of type %T", v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// joinAnd renders ["A","B","C"] as "A, B and C".
func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
