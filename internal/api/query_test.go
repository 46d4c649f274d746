package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLake answers from canned data and records requests.
type fakeLake struct {
	mu       sync.Mutex
	queries  []LakeQuery
	searches []LakeSearch
	err      error
	canceled chan struct{} // closed when a blocking query sees its context end
}

type lakeErr struct {
	msg             string
	client, timeout bool
}

func (e lakeErr) Error() string     { return e.msg }
func (e lakeErr) ClientError() bool { return e.client }
func (e lakeErr) Timeout() bool     { return e.timeout }

func (f *fakeLake) Query(ctx context.Context, req LakeQuery) (*QueryResponse, error) {
	f.mu.Lock()
	f.queries = append(f.queries, req)
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if req.SQL == "block" {
		<-ctx.Done()
		close(f.canceled)
		return nil, ctx.Err()
	}
	// 25 rows in all, paged.
	res := &QueryResponse{Columns: []QueryColumn{{"n", "BIGINT"}}, ElapsedMS: 1.5, Tables: []string{"okta_systemlog"}}
	for i := req.Offset; i < 25 && len(res.Rows) < req.Limit; i++ {
		res.Rows = append(res.Rows, []any{i})
	}
	res.Truncated = req.Offset+len(res.Rows) < 25
	return res, nil
}

func (f *fakeLake) Search(ctx context.Context, req LakeSearch) (*SearchResponse, error) {
	f.mu.Lock()
	f.searches = append(f.searches, req)
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &SearchResponse{Indicator: req.Indicator, Kind: "ip", Total: 2, From: req.From, To: req.To,
		Tables: []SearchTable{{"okta_systemlog", 2}},
		Rows:   []SearchRow{{Table: "okta_systemlog", RowID: "r1", Time: t0, Row: json.RawMessage(`{"actor":"<img src=x>"}`)}}}, nil
}

func (f *fakeLake) Tables(ctx context.Context) ([]LakeTable, error) {
	return []LakeTable{{Name: "okta_systemlog", Columns: []QueryColumn{{"p_event_time", "TIMESTAMP"}}, Files: 3, Rows: 30}}, nil
}

func newLakeServer(t *testing.T, lake Lake) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	(&Server{Lake: lake, Now: func() time.Time { return t0 }}).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestQueryEndpoints(t *testing.T) {
	lake := &fakeLake{}
	srv := newLakeServer(t, lake)
	f := func(method, path, body string, wantStatus int, wantBody ...string) {
		t.Helper()
		status, got := call(t, srv, method, path, body, "")
		if status != wantStatus {
			t.Errorf("%s %s %s: status %d, want %d: %s", method, path, body, status, wantStatus, got)
		}
		for _, w := range wantBody {
			if !strings.Contains(got, w) {
				t.Errorf("%s %s %s: body lacks %q: %s", method, path, body, w, got)
			}
		}
	}
	f("POST", "/api/v1/query", `{"sql":"SELECT n FROM t","limit":10}`, 200, `"rows":[[0],[1],`, `"truncated":true`, `"next_offset":10`, `"columns":[{"name":"n","type":"BIGINT"}]`)
	f("POST", "/api/v1/query", `{"sql":"SELECT n FROM t","limit":10,"offset":20}`, 200, `"rows":[[20],[21],[22],[23],[24]]`, `"truncated":false`)
	f("POST", "/api/v1/query", `{"sql":"SELECT ?","params":["x",1],"timeout_seconds":2.5}`, 200)
	lake.mu.Lock()
	q := lake.queries[len(lake.queries)-1]
	lake.mu.Unlock()
	if q.Limit != DefaultQueryLimit || q.Timeout() != 2500*time.Millisecond || len(q.Params) != 2 {
		t.Errorf("request as passed on: %+v", q)
	}
	f("POST", "/api/v1/query", `{"sql":"  "}`, 400, "the query is empty")
	f("POST", "/api/v1/query", `{"sql":"SELECT 1","limit":100000}`, 400, "limit: want 1 to 10000")
	f("POST", "/api/v1/query", `{"sql":"SELECT 1","offset":-1}`, 400, "offset")
	f("POST", "/api/v1/query", `{"query":"SELECT 1"}`, 400, `unknown field \"query\"`)

	setErr := func(err error) { lake.mu.Lock(); lake.err = err; lake.mu.Unlock() }
	setErr(lakeErr{msg: "query: Binder Error: column \"x\" not found\n\nLINE 1: SELECT x\n               ^", client: true})
	f("POST", "/api/v1/query", `{"sql":"SELECT x"}`, 400, `LINE 1: SELECT x`)
	setErr(lakeErr{msg: "query: refused: only a single read-only SELECT statement may run", client: true})
	f("POST", "/api/v1/query", `{"sql":"COPY t TO 'x'"}`, 400, "refused")
	setErr(lakeErr{msg: "query: stopped after the statement timeout of 1m0s", timeout: true})
	f("POST", "/api/v1/query", `{"sql":"SELECT 1"}`, 504, "statement timeout")
	setErr(nil)

	f("GET", "/api/v1/search?q=1.2.3.4&since=24h&limit=5", "", 200, `"total":2`, `"kind":"ip"`, `\u003cimg src=x\u003e`)
	lake.mu.Lock()
	searches := append([]LakeSearch(nil), lake.searches...)
	lake.mu.Unlock()
	if s := searches[0]; s.Indicator != "1.2.3.4" || s.Limit != 5 || time.Since(s.From) < 23*time.Hour || !s.To.IsZero() {
		t.Errorf("search request: %+v", s)
	}
	f("GET", "/api/v1/search?q=x&kind=ip&until=2024-05-01T10:00:00Z", "", 200)
	lake.mu.Lock()
	searches = append([]LakeSearch(nil), lake.searches...)
	lake.mu.Unlock()
	if s := searches[1]; time.Since(s.From) < 6*24*time.Hour || !s.To.Equal(t0) || s.Kind != "ip" {
		t.Errorf("search defaults: %+v", s)
	}
	f("GET", "/api/v1/search", "", 400, "q: give the indicator")
	f("GET", "/api/v1/search?q=x&since=last+week", "", 400, "since:")
	f("GET", "/api/v1/tables", "", 200, `"name":"okta_systemlog"`, `"files":3`)

	// No lake: 501.
	bare := newLakeServer(t, nil)
	for _, p := range []string{"/api/v1/tables", "/api/v1/search?q=x"} {
		if status, _ := call(t, bare, "GET", p, "", ""); status != 501 {
			t.Errorf("GET %s without a lake: %d", p, status)
		}
	}
}

// A client that disconnects cancels its query.
func TestQueryCanceledWhenTheClientLeaves(t *testing.T) {
	lake := &fakeLake{canceled: make(chan struct{})}
	srv := newLakeServer(t, lake)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/v1/query", strings.NewReader(`{"sql":"block"}`))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-lake.canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("the query's context was not canceled when the client left")
	}
	<-done
}
