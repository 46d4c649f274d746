// Package suggest finds the likely intended word for a typo, for the
// "did you mean" hints of every validator in prowl.
package suggest

import (
	"fmt"
	"strings"
)

// Closest returns the candidate that word most likely misspells, or "".
// A candidate equal to word ignoring case wins; otherwise the one with the
// smallest case-insensitive edit distance, when that distance is at most
// max(2, len(word)/3) and smaller than word itself (so short words do not
// match everything). An exact match is not a suggestion.
func Closest(word string, candidates []string) string {
	if word == "" {
		return ""
	}
	lower := strings.ToLower(word)
	limit := min(max(2, len([]rune(word))/3), len([]rune(word))-1)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if c == word {
			continue
		}
		lc := strings.ToLower(c)
		if lc == lower {
			return c
		}
		if d := Distance(lower, lc); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// Hint formats Closest as ` (did you mean "X"?)`, or "" when nothing is close.
func Hint(word string, candidates []string) string {
	if s := Closest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// Distance is the Levenshtein edit distance between a and b, in runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) < len(rb) {
		ra, rb = rb, ra
	}
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
