package oktasim

import (
	"net/http/httptest"
	"testing"
)

// NewTestServer starts s on a local httptest server that closes when the
// test ends, and returns it with its base URL (http://127.0.0.1:port; the
// API is at base + "/api/v1/logs").
func NewTestServer(tb testing.TB, opts Options) (*Server, string) {
	tb.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	tb.Cleanup(ts.Close)
	return s, ts.URL
}
