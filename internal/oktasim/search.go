package oktasim

import (
	"encoding/json"
	"strings"
)

// The q parameter: every keyword must equal (ignoring case) one of the
// event's search terms. The terms of a string value are the value itself,
// its words (split at white space and at the punctuation of Okta's
// rendered maps: , ; = { } ( ) [ ] " '), and the parts of hyphenated
// values and words. Numbers and booleans are terms as written.

func matchKeywords(doc map[string]any, keywords []string) bool {
	terms := map[string]bool{}
	addTerms(doc, terms)
	for _, k := range keywords {
		if !terms[k] {
			return false
		}
	}
	return true
}

func addTerms(v any, terms map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for _, y := range x {
			addTerms(y, terms)
		}
	case []any:
		for _, y := range x {
			addTerms(y, terms)
		}
	case string:
		addString(strings.ToLower(x), terms)
	case json.Number:
		terms[x.String()] = true
	case bool:
		if x {
			terms["true"] = true
		} else {
			terms["false"] = true
		}
	}
}

func addString(s string, terms map[string]bool) {
	addHyphenated(s, terms)
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || strings.ContainsRune(`,;={}()[]"'`, r)
	}) {
		addHyphenated(w, terms)
	}
}

func addHyphenated(s string, terms map[string]bool) {
	if s == "" {
		return
	}
	terms[s] = true
	if strings.Contains(s, "-") {
		for _, part := range strings.Split(s, "-") {
			if part != "" {
				terms[part] = true
			}
		}
	}
}
