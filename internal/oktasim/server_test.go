package oktasim

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/gen"
)

var t0 = time.Date(2025, 3, 4, 17, 0, 0, 0, time.UTC)

func TestPollingPaginatesEveryEventOnce(t *testing.T) {
	clock := newClock(t0)
	s, base := NewTestServer(t, Options{Token: testToken, Now: clock.Now, RateLimit: -1})
	var want []string
	if err := gen.Okta(gen.OktaOptions{Count: 2500, Seed: 5, Start: t0.Add(-time.Hour)}, func(e []byte) error {
		return s.Add(e)
	}); err != nil {
		t.Fatal(err)
	}
	for _, e := range s.byPersisted {
		want = append(want, e.doc["uuid"].(string))
	}
	clock.Advance(time.Second)

	url := base + "/api/v1/logs?limit=1000&since=" + t0.Add(-2*time.Hour).Format(time.RFC3339)
	var got []string
	var sizes []int
	for {
		r := get(t, url, ssws(testToken))
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		next := r.next()
		if next == "" {
			t.Fatal("polling response without a next link")
		}
		if linkRel(r.header, "self") == "" {
			t.Fatal("no self link")
		}
		sizes = append(sizes, len(r.events))
		got = append(got, r.uuids()...)
		u, _ := urlParse(next)
		if u.Query().Get("limit") != "1000" || u.Query().Has("since") {
			t.Fatalf("next link should keep limit and drop since: %s", next)
		}
		if !regexp.MustCompile(`^\d{13}_\d+$`).MatchString(u.Query().Get("after")) {
			t.Fatalf("after cursor %q is not <epochms>_<n>", u.Query().Get("after"))
		}
		url = next
		if len(r.events) == 0 {
			break
		}
	}
	if fmt.Sprint(sizes) != "[1000 1000 500 0]" {
		t.Fatalf("page sizes %v", sizes)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %d events, want the %d in persistence order", len(got), len(want))
	}
	// The empty page's next link keeps working: new events show up there.
	r := get(t, url, ssws(testToken))
	if len(r.events) != 0 || r.next() == "" {
		t.Fatalf("second empty page: %d events, next %q", len(r.events), r.next())
	}
	clock.Advance(time.Second)
	s.Add(event(uuidN(1), t0, "user.session.start"))
	more, _ := pollAll(t, r.next())
	if fmt.Sprint(more) != "["+uuidN(1)+"]" {
		t.Fatalf("after the empty page: %v", more)
	}
}

func urlParse(s string) (*url.URL, error) { return url.Parse(s) }

func TestLateEventsAppearAfterCursor(t *testing.T) {
	clock := newClock(t0)
	s, base := NewTestServer(t, Options{Token: testToken, Now: clock.Now, RateLimit: -1})
	for i := 1; i <= 5; i++ {
		s.Add(event(uuidN(i), t0.Add(time.Duration(i)*time.Second), "user.session.start"))
	}
	clock.Advance(10 * time.Second)
	got, next := pollAll(t, base+"/api/v1/logs?limit=2")
	if len(got) != 5 {
		t.Fatalf("first pass: %v", got)
	}
	// A late event: published before everything already delivered.
	clock.Advance(time.Second)
	s.Add(event(uuidN(99), t0.Add(-time.Minute), "user.session.start"))
	s.Add(event(uuidN(6), t0.Add(11*time.Second), "user.session.start"))
	got, _ = pollAll(t, next)
	if fmt.Sprint(got) != fmt.Sprint([]string{uuidN(99), uuidN(6)}) {
		t.Fatalf("late event not delivered after the cursor in persistence order: %v", got)
	}
	// A bounded query sorts it by published instead.
	r := get(t, base+"/api/v1/logs?since="+t0.Add(-time.Hour).Format(time.RFC3339)+"&until="+t0.Add(time.Hour).Format(time.RFC3339), ssws(testToken))
	if r.uuids()[0] != uuidN(99) || len(r.events) != 7 {
		t.Fatalf("bounded order: %v", r.uuids())
	}
}

func TestBoundedOrderAndLastPage(t *testing.T) {
	clock := newClock(t0.Add(time.Hour))
	s, base := NewTestServer(t, Options{Token: testToken, Now: clock.Now, RateLimit: -1})
	// Added out of published order; two share a millisecond.
	offsets := []int{50, 10, 40, 20, 30, 20, 60}
	for i, off := range offsets {
		s.Add(event(uuidN(i), t0.Add(time.Duration(off)*time.Second), "user.session.start"))
	}
	since, until := t0.Add(15*time.Second).Format(time.RFC3339), t0.Add(55*time.Second).Format("2006-01-02T15:04:05.000-07:00")
	first := base + "/api/v1/logs?since=" + url.QueryEscape(since) + "&until=" + url.QueryEscape(until) + "&limit=2"
	var got []string
	link := first
	pages := 0
	for link != "" {
		r := get(t, link, ssws(testToken))
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		pages++
		got = append(got, r.uuids()...)
		if next := r.next(); next != "" {
			u, _ := url.Parse(next)
			if u.Query().Get("since") != since || u.Query().Get("until") != until || u.Query().Get("after") == "" {
				t.Fatalf("bounded next link must keep since/until and add after: %s", next)
			}
		}
		link = r.next()
	}
	// published 20 (i=3), 20 (i=5), 30, 40, 50; 10 and 60 are outside.
	want := []string{uuidN(3), uuidN(5), uuidN(4), uuidN(2), uuidN(0)}
	if fmt.Sprint(got) != fmt.Sprint(want) || pages != 3 {
		t.Fatalf("got %v in %d pages, want %v in 3", got, pages, want)
	}
	// Exactly a page's worth: the last full page has no next link.
	r := get(t, strings.Replace(first, "limit=2", "limit=5", 1), ssws(testToken))
	if len(r.events) != 5 || r.next() != "" {
		t.Fatalf("limit=5: %d events, next %q", len(r.events), r.next())
	}
	// Descending, following next links.
	got = nil
	link = first + "&sortOrder=DESCENDING"
	for link != "" {
		r := get(t, link, ssws(testToken))
		got = append(got, r.uuids()...)
		link = r.next()
	}
	if fmt.Sprint(got) != fmt.Sprint([]string{uuidN(0), uuidN(2), uuidN(4), uuidN(5), uuidN(3)}) {
		t.Fatalf("descending: %v", got)
	}
	// Descending without until is bounded (until = now): finite.
	r = get(t, base+"/api/v1/logs?sortOrder=DESCENDING&limit=100", ssws(testToken))
	if len(r.events) != 7 || r.next() != "" || r.uuids()[0] != uuidN(6) {
		t.Fatalf("descending without until: %v next %q", r.uuids(), r.next())
	}
	// Empty range: no next.
	r = get(t, base+"/api/v1/logs?since=2025-01-01T00:00:00Z&until=2025-01-02T00:00:00Z", ssws(testToken))
	if len(r.events) != 0 || r.next() != "" {
		t.Fatalf("empty bounded page: %v %q", r.uuids(), r.next())
	}
}

func TestAuthentication(t *testing.T) {
	_, base := NewTestServer(t, Options{Token: testToken})
	u := base + "/api/v1/logs"
	wantError(t, get(t, u, ""), 403, "E0000005", "Invalid session")
	wantError(t, get(t, u, "Basic "+testToken), 403, "E0000005", "Invalid session")
	wantError(t, get(t, u, testToken), 403, "E0000005", "Invalid session")
	wantError(t, get(t, u, "SSWS nope"), 401, "E0000011", "Invalid token provided")
	wantError(t, get(t, u, "SSWS "), 401, "E0000011", "Invalid token provided")
	for _, auth := range []string{"SSWS " + testToken, "Bearer " + testToken, "ssws " + testToken} {
		if r := get(t, u, auth); r.status != 200 {
			t.Fatalf("%s: %d %s", auth, r.status, r.body)
		}
	}
	// Without a configured token any token passes, the scheme still counts.
	_, open := NewTestServer(t, Options{})
	if r := get(t, open+"/api/v1/logs", "SSWS anything"); r.status != 200 {
		t.Fatalf("open server: %d", r.status)
	}
	wantError(t, get(t, open+"/api/v1/logs", ""), 403, "E0000005", "")
}

func TestValidationErrors(t *testing.T) {
	clock := newClock(t0)
	s, base := NewTestServer(t, Options{Token: testToken, Now: clock.Now, RateLimit: -1})
	s.Add(event(uuidN(1), t0, "user.session.start"))
	u := base + "/api/v1/logs?"
	auth := ssws(testToken)

	r := get(t, u+"until=01-01-2017", auth)
	wantError(t, r, 400, "E0000001", "Api validation failed: 'until': The date format in your query is not recognized. Please enter dates using ISO8601 string format.. 'until': must be a valid date-time or empty.")
	if len(r.err.ErrorCauses) != 2 || r.err.ErrorCauses[1].ErrorSummary != "until: must be a valid date-time or empty." {
		t.Fatalf("causes: %+v", r.err.ErrorCauses)
	}
	wantError(t, get(t, u+"since=foobar", auth), 400, "E0000001", "'since'")
	// Empty dates are allowed ("valid date-time or empty").
	if r := get(t, u+"since=&until=", auth); r.status != 200 {
		t.Fatalf("empty dates: %d %s", r.status, r.body)
	}
	wantError(t, get(t, u+"since=2025-03-01T00:00:00Z&after=1741000000000_1", auth), 400, "E0000001", "'after'")
	for _, l := range []string{"-1", "1001", "ten", "1.5"} {
		wantError(t, get(t, u+"limit="+l, auth), 400, "E0000001", "'limit'")
	}
	for _, l := range []string{"0", "1000"} {
		if r := get(t, u+"limit="+l, auth); r.status != 200 {
			t.Fatalf("limit=%s: %d", l, r.status)
		}
	}
	if r := get(t, u+"limit=0", auth); len(r.events) != 0 || r.next() == "" {
		t.Fatalf("limit=0: %d events, next %q", len(r.events), r.next())
	}
	wantError(t, get(t, u+"sortOrder=SIDEWAYS", auth), 400, "E0000001", "'sortOrder'")
	wantError(t, get(t, u+"q="+strings.Repeat("x", 41), auth), 400, "E0000001", "longer than 40 characters")
	if r := get(t, u+"q="+strings.Repeat("x", 40), auth); r.status != 200 {
		t.Fatalf("40-character keyword: %d", r.status)
	}
	wantError(t, get(t, u+"q="+url.QueryEscape(strings.Repeat("a ", 11)), auth), 400, "E0000001", "more than 10")
	wantError(t, get(t, u+"filter="+url.QueryEscape(`displayMessage eqq "Create okta user"`), auth), 400, "E0000053",
		`Invalid filter 'displayMessage eqq "Create okta user"': Unrecognized attribute operator 'eqq' at position 15.`)
	wantError(t, get(t, u+"filter="+url.QueryEscape(`some_invalid_field eq "x"`), auth), 400, "E0000053", "field is not valid: some_invalid_field")
	wantError(t, get(t, u+"filter="+url.QueryEscape(`published gt "2025-01-01T00:00:00Z"`), auth), 400, "E0000053", "published")
	wantError(t, get(t, u+"filter="+url.QueryEscape(`debugContext.debugData.url co "/api"`), auth), 400, "E0000031",
		"Operator: co, Field: debugContext.debugData.url")
	wantError(t, get(t, u+"filter="+url.QueryEscape(`debugContext.debugData.requestUri co "/api"`), auth), 400, "E0000031", "requestUri")
	if r := get(t, u+"filter="+url.QueryEscape(`debugContext.debugData.requestUri sw "/api"`), auth); r.status != 200 {
		t.Fatalf("sw on requestUri is allowed: %d %s", r.status, r.body)
	}
	wantError(t, get(t, u+"filter="+url.QueryEscape(`(eventType eq "x"`), auth), 400, "E0000053", "Missing ')'")
	wantError(t, get(t, u+"since=2024-08-01T00:00:00Z", auth), 400, "E0000053", "over 180 days")
	// Cursors: garbage, beyond the end, altered time.
	for _, after := range []string{"garbage", "1741107600000_7", "1_1", "-5_1"} {
		wantError(t, get(t, u+"after="+after, auth), 400, "E0000029", "cursor has not been altered")
	}
	r = get(t, u+"limit=1", auth)
	next, _ := url.Parse(r.next())
	c, _ := parseCursor(next.Query().Get("after"))
	if r := get(t, u+"after="+cursor{c.ms, c.seq}.String(), auth); r.status != 200 {
		t.Fatalf("genuine cursor refused: %s", r.body)
	}
	wantError(t, get(t, u+"after="+cursor{c.ms - 1, c.seq}.String(), auth), 400, "E0000029", "")
	// A polling cursor is not a bounded one.
	wantError(t, get(t, u+"since=2025-03-01T00:00:00Z&until=2025-03-05T00:00:00Z&after="+cursor{c.ms + 12345, c.seq}.String(), auth), 400, "E0000029", "")
	// Routing.
	wantError(t, get(t, base+"/api/v1/users", auth), 404, "E0000007", "/api/v1/users")
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/logs", nil)
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
}

func TestRetention(t *testing.T) {
	clock := newClock(t0)
	s, base := NewTestServer(t, Options{Token: testToken, Now: clock.Now, RateLimit: -1})
	s.Add(event(uuidN(1), t0.Add(-100*24*time.Hour), "user.session.start"), event(uuidN(2), t0.Add(-80*24*time.Hour), "user.session.start"))
	since := t0.Add(-120 * 24 * time.Hour).Format(time.RFC3339)
	r := get(t, base+"/api/v1/logs?since="+since+"&until="+t0.Format(time.RFC3339), ssws(testToken))
	if fmt.Sprint(r.uuids()) != "["+uuidN(2)+"]" {
		t.Fatalf("retention: %v", r.uuids())
	}
}

func TestHeaders(t *testing.T) {
	clock := newClock(t0.Add(17500 * time.Millisecond))
	s, base := NewTestServer(t, Options{Token: testToken, Now: clock.Now})
	s.Add(event(uuidN(1), t0, "user.session.start"))
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/logs?limit=20", nil)
	req.Header.Set("Authorization", ssws(testToken))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if got := h.Values("Link"); len(got) != 2 || !strings.HasSuffix(got[0], `>; rel="self"`) || !strings.HasSuffix(got[1], `>; rel="next"`) {
		t.Fatalf("link headers: %q", got)
	}
	if linkRel(h, "self") != base+"/api/v1/logs?limit=20" {
		t.Fatalf("self: %s", linkRel(h, "self"))
	}
	if h.Get("Content-Type") != "application/json" || len(h.Get("X-Okta-Request-Id")) != 27 {
		t.Fatalf("headers %v", h)
	}
	if h.Get("Date") != "Tue, 04 Mar 2025 17:00:17 GMT" {
		t.Fatalf("Date %q should come from the server clock", h.Get("Date"))
	}
	// The window opened at 17:00:17.5, so it resets at 17:01:18 (rounded up).
	if h.Get("X-Rate-Limit-Limit") != "60" || h.Get("X-Rate-Limit-Remaining") != "59" ||
		h.Get("X-Rate-Limit-Reset") != strconv.FormatInt(t0.Add(78*time.Second).Unix(), 10) {
		t.Fatalf("rate headers: %v / %v / %v", h.Get("X-Rate-Limit-Limit"), h.Get("X-Rate-Limit-Remaining"), h.Get("X-Rate-Limit-Reset"))
	}
	// Filebeat's pattern finds the next link in the merged form too.
	merged := strings.Join(h.Values("Link"), ", ")
	if !regexp.MustCompile(`<([^>]+)>; *rel="next"(?:,|$)`).MatchString(merged) {
		t.Fatal("Filebeat link regex does not match")
	}
}

func TestRateLimit(t *testing.T) {
	clock := newClock(t0.Add(250 * time.Millisecond))
	s, base := NewTestServer(t, Options{Token: testToken, Now: clock.Now, RateLimit: 3})
	u := base + "/api/v1/logs"
	reset := strconv.FormatInt(t0.Add(61*time.Second).Unix(), 10)
	for i, want := range []string{"2", "1", "0"} {
		r := get(t, u, ssws(testToken))
		if r.status != 200 || r.header.Get("X-Rate-Limit-Remaining") != want || r.header.Get("X-Rate-Limit-Reset") != reset {
			t.Fatalf("request %d: %d remaining %s reset %s", i, r.status, r.header.Get("X-Rate-Limit-Remaining"), r.header.Get("X-Rate-Limit-Reset"))
		}
		clock.Advance(10 * time.Second)
	}
	r := get(t, u, ssws(testToken))
	wantError(t, r, 429, "E0000047", "API call exceeded rate limit due to too many requests.")
	if r.header.Get("X-Rate-Limit-Remaining") != "0" || r.header.Get("X-Rate-Limit-Limit") != "3" || r.header.Get("X-Rate-Limit-Reset") != reset {
		t.Fatalf("429 headers: %v", r.header)
	}
	// Failed authentication counts against the limit too.
	wantError(t, get(t, u, ""), 429, "E0000047", "")
	clock.Advance(30*time.Second + 750*time.Millisecond) // exactly 60s after the window opened
	r = get(t, u, ssws(testToken))
	if r.status != 200 || r.header.Get("X-Rate-Limit-Remaining") != "2" ||
		r.header.Get("X-Rate-Limit-Reset") != strconv.FormatInt(t0.Add(121*time.Second).Unix(), 10) {
		t.Fatalf("after reset: %d %v", r.status, r.header)
	}
	if s.Requests() != 6 {
		t.Fatalf("Requests() = %d", s.Requests())
	}
	// Disabled: no limit, no headers.
	_, open := NewTestServer(t, Options{Token: testToken, RateLimit: -1})
	for range 100 {
		if r := get(t, open+"/api/v1/logs", ssws(testToken)); r.status != 200 || r.header.Get("X-Rate-Limit-Limit") != "" {
			t.Fatalf("disabled limiter: %d %v", r.status, r.header)
		}
	}
}

func TestFailNext(t *testing.T) {
	s, base := NewTestServer(t, Options{Token: testToken})
	s.FailNext(2, 500)
	wantError(t, get(t, base+"/api/v1/logs", ssws(testToken)), 500, "E0000009", "took too long")
	wantError(t, get(t, base+"/api/v1/logs", ssws(testToken)), 500, "E0000009", "")
	if r := get(t, base+"/api/v1/logs", ssws(testToken)); r.status != 200 {
		t.Fatalf("third request: %d", r.status)
	}
	s.FailNext(1, 429)
	r := get(t, base+"/api/v1/logs", ssws(testToken))
	wantError(t, r, 429, "E0000047", "")
	if r.header.Get("X-Rate-Limit-Remaining") != "0" {
		t.Fatalf("injected 429 with Remaining %q", r.header.Get("X-Rate-Limit-Remaining"))
	}
	s.FailNext(1, 503)
	wantError(t, get(t, base+"/api/v1/logs", ssws(testToken)), 503, "E0000009", "")
}

func TestFilterAndQ(t *testing.T) {
	clock := newClock(t0.Add(time.Hour))
	s, base := NewTestServer(t, Options{Token: testToken, Now: clock.Now, RateLimit: -1})
	var all []string
	if err := gen.OktaEvents(gen.OktaOptions{Count: 3000, Seed: 8, Start: t0, Attacks: []string{"brute_force", "mfa_fatigue"}}, func(e gen.Event) error {
		return s.Add(e.JSON)
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.byPersisted {
		all = append(all, r.doc["uuid"].(string))
	}
	count := func(pred func(map[string]any) bool) int {
		n := 0
		for _, r := range s.byPersisted {
			if pred(r.doc) {
				n++
			}
		}
		return n
	}
	str := func(d map[string]any, path ...string) string {
		var v any = d
		for _, p := range path {
			m, _ := v.(map[string]any)
			v = m[p]
		}
		s, _ := v.(string)
		return s
	}
	cases := []struct {
		filter string
		want   func(map[string]any) bool
	}{
		{`eventType eq "user.session.start"`, func(d map[string]any) bool { return str(d, "eventType") == "user.session.start" }},
		{`eventType EQ "user.session.start" AND outcome.result eq "FAILURE"`, func(d map[string]any) bool {
			return str(d, "eventType") == "user.session.start" && str(d, "outcome", "result") == "FAILURE"
		}},
		{`eventType eq "user.mfa.okta_verify.deny_push" or (eventType eq "user.account.lock")`, func(d map[string]any) bool {
			return str(d, "eventType") == "user.mfa.okta_verify.deny_push" || str(d, "eventType") == "user.account.lock"
		}},
		{`severity ge "WARN"`, func(d map[string]any) bool { return str(d, "severity") == "WARN" || str(d, "severity") == "ERROR" }},
		{`actor.alternateId ew "@EXAMPLE.COM" and not (eventType sw "user.")`, func(d map[string]any) bool {
			return strings.HasSuffix(str(d, "actor", "alternateId"), "@example.com") && !strings.HasPrefix(str(d, "eventType"), "user.")
		}},
		{`target.type eq "UserGroup"`, func(d map[string]any) bool {
			ts, _ := d["target"].([]any)
			for _, x := range ts {
				if x.(map[string]any)["type"] == "UserGroup" {
					return true
				}
			}
			return false
		}},
		{`client.ipAddress sw "203.0.113."`, func(d map[string]any) bool { return strings.HasPrefix(str(d, "client", "ipAddress"), "203.0.113.") }},
		{`debugContext.debugData.behaviors co "new country=positive"`, func(d map[string]any) bool {
			return strings.Contains(str(d, "debugContext", "debugData", "behaviors"), "New Country=POSITIVE")
		}},
		{`legacyEventType pr`, func(d map[string]any) bool { return str(d, "legacyEventType") != "" }},
		{`device pr`, func(d map[string]any) bool { return d["device"] != nil }},
		{`outcome.reason ne null and eventType ne "policy.evaluate_sign_on"`, func(d map[string]any) bool {
			return str(d, "outcome", "reason") != "" && str(d, "eventType") != "policy.evaluate_sign_on"
		}},
		{`securityContext.asNumber gt 20000 and securityContext.asNumber le 24940`, func(d map[string]any) bool {
			sc, _ := d["securityContext"].(map[string]any)
			n, ok := number(sc["asNumber"])
			return ok && n > 20000 && n <= 24940
		}},
	}
	for _, c := range cases {
		want := count(c.want)
		if want == 0 {
			t.Fatalf("%s: test data has no matching events", c.filter)
		}
		got, next := pollAll(t, base+"/api/v1/logs?limit=1000&since="+t0.Add(-time.Hour).Format(time.RFC3339)+"&filter="+url.QueryEscape(c.filter))
		if len(got) != want {
			t.Errorf("%s: %d events, want %d", c.filter, len(got), want)
		}
		if u, _ := url.Parse(next); u.Query().Get("filter") != c.filter {
			t.Errorf("next link lost the filter: %s", next)
		}
	}
	// q: every keyword must match, ignoring case; hyphenated parts count.
	victim := ""
	for _, r := range s.byPersisted {
		if r.doc["eventType"] == "user.mfa.okta_verify.deny_push" {
			victim = r.doc["actor"].(map[string]any)["alternateId"].(string)
		}
	}
	qcases := []struct {
		q    string
		want func(map[string]any) bool
	}{
		{strings.ToUpper(victim), func(d map[string]any) bool { return strings.Contains(string(mustJSON(d)), `"`+victim+`"`) }},
		{"rejected okta push verify", func(d map[string]any) bool { return str(d, "eventType") == "user.mfa.okta_verify.deny_push" }},
		{"LOCKED_OUT", func(d map[string]any) bool { return str(d, "outcome", "reason") == "LOCKED_OUT" }},
	}
	for _, c := range qcases {
		want := count(c.want)
		got, _ := pollAll(t, base+"/api/v1/logs?limit=1000&since="+t0.Add(-time.Hour).Format(time.RFC3339)+"&q="+url.QueryEscape(c.q))
		if len(got) != want || want == 0 {
			t.Errorf("q=%s: %d events, want %d", c.q, len(got), want)
		}
	}
	// Hyphen splitting: the parts of a uuid match.
	parts := strings.Split(all[7], "-")
	got, _ := pollAll(t, base+"/api/v1/logs?since="+t0.Add(-time.Hour).Format(time.RFC3339)+"&q="+parts[0]+"+"+parts[4])
	if len(got) != 1 || got[0] != all[7] {
		t.Errorf("hyphenated q: %v", got)
	}
	// A partial word does not match.
	got, _ = pollAll(t, base+"/api/v1/logs?since="+t0.Add(-time.Hour).Format(time.RFC3339)+"&q=rejecte")
	if len(got) != 0 {
		t.Errorf("partial keyword matched %d events", len(got))
	}
}

func TestConcurrentAddDuringPolling(t *testing.T) {
	s, base := NewTestServer(t, Options{Token: testToken, RateLimit: -1})
	const total = 3000
	events := make([][]byte, 0, total)
	if err := gen.Okta(gen.OktaOptions{Count: total, Seed: 13, Start: time.Now().Add(-time.Hour)}, func(e []byte) error {
		events = append(events, append([]byte(nil), e...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < total; i += 37 {
			// Each batch is added newest first, so most of its events are
			// late (older than one persisted before them).
			batch := append([][]byte(nil), events[i:min(i+37, total)]...)
			slices.Reverse(batch)
			if err := s.Add(batch...); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	seen := map[string]int{}
	link := base + "/api/v1/logs?limit=100"
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < total && time.Now().Before(deadline) {
		r := get(t, link, ssws(testToken))
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		for _, id := range r.uuids() {
			seen[id]++
		}
		link = r.next()
	}
	wg.Wait()
	if len(seen) != total {
		t.Fatalf("saw %d of %d events", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s delivered %d times", id, n)
		}
	}
}

func TestAddRejectsBadEvents(t *testing.T) {
	s := New(Options{})
	if err := s.Add([]byte(`[]`)); err == nil {
		t.Fatal("array accepted")
	}
	if err := s.Add([]byte(`{"uuid":"x","published":"yesterday"}`)); err == nil {
		t.Fatal("bad published accepted")
	}
	if err := s.Add(event(uuidN(1), t0, "a"), []byte(`{`)); err == nil || s.Len() != 0 {
		t.Fatalf("partial add: %v, Len %d", err, s.Len())
	}
}

func mustJSON(v any) []byte {
	data, _ := jsonMarshal(v)
	return data
}
