package oktasim

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// query is a validated GET /api/v1/logs request.
type query struct {
	since, until time.Time
	after        *cursor
	limit        int
	descending   bool
	polling      bool
	filter       filterExpr // nil: no filter
	keywords     []string   // q, lower-cased

	// As given, for the next link.
	raw map[string]string
}

// parseTime accepts the ISO 8601 / RFC 3339 forms Okta documents
// (2017-05-03T16:22:18Z, 2017-10-01T00:00:00.000Z, +00:00 offsets) and the
// same without a colon in the offset.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999-07"} {
		if t, err2 := time.Parse(layout, s); err2 == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

func badDate(param string) *apiError {
	return errValidation(param,
		"The date format in your query is not recognized. Please enter dates using ISO8601 string format.",
		"must be a valid date-time or empty.")
}

// maxKeywords and maxKeywordLen are Okta's limits on q.
const (
	maxKeywords   = 10
	maxKeywordLen = 40
)

func (s *Server) parseQuery(v url.Values, now time.Time) (*query, *apiError) {
	q := &query{limit: s.opts.DefaultLimit, raw: map[string]string{}}
	for _, k := range []string{"since", "until", "after", "filter", "q", "limit", "sortOrder"} {
		if x := v.Get(k); x != "" {
			q.raw[k] = x
		}
	}
	var hasSince, hasUntil bool
	if x := q.raw["since"]; x != "" {
		t, err := parseTime(x)
		if err != nil {
			return nil, badDate("since")
		}
		q.since, hasSince = t, true
	}
	if x := q.raw["until"]; x != "" {
		t, err := parseTime(x)
		if err != nil {
			return nil, badDate("until")
		}
		q.until, hasUntil = t, true
	}
	if x := q.raw["limit"]; x != "" {
		n, err := strconv.Atoi(x)
		if err != nil || n < 0 || n > s.opts.MaxLimit {
			return nil, errValidation("limit", "must be an integer between 0 and "+strconv.Itoa(s.opts.MaxLimit)+".")
		}
		q.limit = n
	}
	switch strings.ToUpper(q.raw["sortOrder"]) {
	case "", "ASCENDING":
	case "DESCENDING":
		q.descending = true
	default:
		return nil, errValidation("sortOrder", "must be one of ASCENDING, DESCENDING.")
	}
	if x := q.raw["after"]; x != "" {
		// Polling pages continue from the cursor alone; bounded next links
		// legitimately repeat since and until.
		if hasSince && !hasUntil && !q.descending {
			return nil, errValidation("after", "cannot be used together with since; follow the next link instead.")
		}
		c, err := parseCursor(x)
		if err != nil {
			return nil, errBadCursor()
		}
		q.after = &c
	}
	if x := q.raw["q"]; x != "" {
		words := strings.Fields(x)
		if len(words) > maxKeywords {
			return nil, errValidation("q", "Freeform search cannot contain more than 10 items.")
		}
		for _, word := range words {
			if len([]rune(word)) > maxKeywordLen {
				return nil, errValidation("q", "Freeform search cannot contain items longer than 40 characters. Please shorten the following item: "+word)
			}
			q.keywords = append(q.keywords, strings.ToLower(word))
		}
	}
	if x := q.raw["filter"]; x != "" {
		f, e := parseFilter(x)
		if e != nil {
			return nil, e
		}
		q.filter = f
	}
	if !hasUntil {
		q.until = now
	}
	if !hasSince {
		q.since = q.until.Add(-7 * 24 * time.Hour)
	}
	if hasSince && q.since.Before(now.Add(-180*24*time.Hour)) {
		return nil, errFilter("Invalid parameter: The since parameter is over 180 days prior to the current day.")
	}
	q.polling = !hasUntil && !q.descending
	return q, nil
}

// matches applies filter and q.
func (q *query) matches(r *record) bool {
	if q.filter != nil && !q.filter.eval(r.doc) {
		return false
	}
	return len(q.keywords) == 0 || matchKeywords(r.doc, q.keywords)
}

// nextQuery is the query string of the next link. Polling links keep
// limit, filter, q and sortOrder and drop since; bounded links keep every
// parameter. Both carry the new after.
func (q *query) nextQuery(c cursor) string {
	keys := []string{"limit", "filter", "q", "sortOrder"}
	if !q.polling {
		keys = append([]string{"since", "until"}, keys...)
	}
	var b strings.Builder
	for _, k := range keys {
		if x, ok := q.raw[k]; ok {
			b.WriteString(k + "=" + url.QueryEscape(x) + "&")
		}
	}
	b.WriteString("after=" + c.String())
	return b.String()
}
