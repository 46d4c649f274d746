package okta

import "strings"

// nextLink returns the target of the rel="next" link among Link header
// values, or "" if there is none. It accepts Okta's form (one link per
// header line) as well as links joined with commas into one line, as
// proxies and some HTTP stacks deliver them. URLs are taken verbatim from
// between the angle brackets, so commas inside a URL do no harm.
func nextLink(values []string) string {
	for _, v := range values {
		for {
			i := strings.IndexByte(v, '<')
			if i < 0 {
				break
			}
			j := strings.IndexByte(v[i:], '>')
			if j < 0 {
				break
			}
			target := v[i+1 : i+j]
			rest := v[i+j+1:]
			// Parameters run to the next link, which starts after a comma
			// followed by '<'.
			params := rest
			if k := strings.IndexByte(rest, '<'); k >= 0 {
				params = rest[:k]
			}
			if hasRel(params, "next") {
				return strings.TrimSpace(target)
			}
			v = rest
		}
	}
	return ""
}

// hasRel reports whether link parameters (`; rel="next"; title=...`)
// include the relation want. rel may be quoted or bare and may list several
// space-separated relations; names compare case-insensitively.
func hasRel(params, want string) bool {
	for _, p := range strings.Split(params, ";") {
		p = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(p), ","))
		name, value, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
			continue
		}
		value = strings.Trim(strings.TrimSpace(value), `"`)
		for _, r := range strings.Fields(value) {
			if strings.EqualFold(r, want) {
				return true
			}
		}
	}
	return false
}
