package analysis

import (
	"cmp"
	"fmt"
	"github.com/prowl-siem/prowl/internal/suggest"
	"slices"
	"strings"
)

// Problem is one thing wrong with the analysis files: a YAML syntax error, an
// unknown key, a value of the wrong type, a missing Python file, a reference
// to something that does not exist, and so on.
type Problem struct {
	Source  Source
	Message string
}

// Error formats the problem as "file:line: message" ("file: message" when the
// line is unknown).
func (p Problem) Error() string {
	switch {
	case p.Source.File == "":
		return p.Message
	case p.Source.Line <= 0:
		return p.Source.File + ": " + p.Message
	default:
		return fmt.Sprintf("%s:%d: %s", p.Source.File, p.Source.Line, p.Message)
	}
}

// Problems is every problem Load found, sorted by file and line. Load returns
// it as a *Problems error.
type Problems []Problem

// Error joins the problems, one a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// normalize sorts the problems by file, line and message and drops
// duplicates.
func (ps Problems) normalize() Problems {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.Source.File, b.Source.File),
			cmp.Compare(a.Source.Line, b.Source.Line),
			cmp.Compare(a.Message, b.Message),
		)
	})
	return slices.Compact(ps)
}

// didYouMean is the " (did you mean ...?)" hint for a misspelled word.
func didYouMean(word string, candidates []string) string { return suggest.Hint(word, candidates) }

// quoteList formats values as `"a", "b" or "c"`.
func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
