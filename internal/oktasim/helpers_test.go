package oktasim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "00abcTESTtoken"

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// reply is a decoded response.
type reply struct {
	status int
	header http.Header
	events []map[string]any
	err    oktaError
	body   []byte
}

func (r reply) next() string { return linkRel(r.header, "next") }

func (r reply) uuids() []string {
	var out []string
	for _, e := range r.events {
		out = append(out, e["uuid"].(string))
	}
	return out
}

var linkRE = regexp.MustCompile(`<([^>]+)>;\s*rel="([a-z]+)"`)

func linkRel(h http.Header, rel string) string {
	for _, v := range h.Values("Link") {
		for _, m := range linkRE.FindAllStringSubmatch(v, -1) {
			if m[2] == rel {
				return m[1]
			}
		}
	}
	return ""
}

func get(t testing.TB, url, auth string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: body}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &r.events); err != nil {
			t.Fatalf("200 body is not an array of events: %v\n%s", err, body)
		}
	} else if err := json.Unmarshal(body, &r.err); err != nil {
		t.Fatalf("error body: %v\n%s", err, body)
	}
	return r
}

func ssws(token string) string { return "SSWS " + token }

// event builds a minimal LogEvent.
func event(uuid string, published time.Time, eventType string, extra ...string) []byte {
	fields := map[string]any{
		"uuid": uuid, "published": published.UTC().Format("2006-01-02T15:04:05.000Z"), "eventType": eventType,
		"version": "0", "severity": "INFO", "legacyEventType": nil, "displayMessage": "User login to Okta",
		"actor":   map[string]any{"id": "00u1", "type": "User", "alternateId": "jane.doe@example.com", "displayName": "Jane Doe", "detailEntry": nil},
		"outcome": map[string]any{"result": "SUCCESS", "reason": nil},
		"target":  []any{map[string]any{"id": "0oa1", "type": "AppInstance", "alternateId": "Okta Dashboard", "displayName": "Okta Dashboard"}},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		fields[extra[i]] = extra[i+1]
	}
	data, _ := json.Marshal(fields)
	return data
}

func uuidN(i int) string { return fmt.Sprintf("00000000-0000-1000-8000-%012d", i) }

// pollAll follows next links from url until a page is empty, returning
// the uuids in order and the last next link.
func pollAll(t testing.TB, url string) ([]string, string) {
	t.Helper()
	var all []string
	for range 10000 {
		r := get(t, url, ssws(testToken))
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", url, r.status, r.body)
		}
		next := r.next()
		if next == "" {
			t.Fatalf("polling page without next link: %s", url)
		}
		if len(r.events) == 0 {
			return all, next
		}
		all = append(all, r.uuids()...)
		url = next
	}
	t.Fatal("did not reach the end")
	return nil, ""
}

func wantError(t *testing.T, r reply, status int, code string, summaryPart string) {
	t.Helper()
	if r.status != status || r.err.ErrorCode != code {
		t.Fatalf("got %d %s (%s), want %d %s", r.status, r.err.ErrorCode, r.err.ErrorSummary, status, code)
	}
	if r.err.ErrorLink != code || !strings.HasPrefix(r.err.ErrorID, "oae") || r.err.ErrorCauses == nil {
		t.Fatalf("error body shape: %s", r.body)
	}
	if !strings.Contains(r.err.ErrorSummary, summaryPart) {
		t.Fatalf("summary %q lacks %q", r.err.ErrorSummary, summaryPart)
	}
	if r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Okta-Request-Id") == "" || r.header.Get("Date") == "" {
		t.Fatalf("headers: %v", r.header)
	}
}
