package analysis

import (
	"cmp"
	"fmt"
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

// didYouMean returns ` (did you mean "X"?)` naming the candidate closest to
// word, or "" when none is close: a candidate is close when it equals word
// ignoring case or is at most two edits away (and fewer edits than word is
// long, so that short words do not match everything).
func didYouMean(word string, candidates []string) string {
	if s := closest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// closest returns the candidate closest to word as didYouMean describes, or "".
func closest(word string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if c == word {
			continue
		}
		if strings.EqualFold(c, word) {
			return c
		}
		if d := levenshtein(word, c); d < bestDist && d < len([]rune(word)) {
			best, bestDist = c, d
		}
	}
	return best
}

// levenshtein returns the edit distance between a and b, counted in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

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
