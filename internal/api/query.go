package api

// The security data lake over HTTP: SQL queries (POST /api/v1/query),
// indicator search (GET /api/v1/search) and the tables with their columns
// for the console's schema browser (GET /api/v1/tables).

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Lake runs read-only SQL and indicator searches over the data lake (the
// lake package's Querier, adapted in the server). Errors that are the
// request's fault (bad SQL, a refused statement, a limit) have a method
// ClientError() bool returning true and answer 400; errors with a method
// Timeout() bool returning true answer 504.
type Lake interface {
	Query(ctx context.Context, req LakeQuery) (*QueryResponse, error)
	Search(ctx context.Context, req LakeSearch) (*SearchResponse, error)
	Tables(ctx context.Context) ([]LakeTable, error)
}

// Query page sizes: the default, and the most one request may ask for
// (the lake's own row limit may be lower).
const (
	DefaultQueryLimit = 1000
	MaxQueryLimit     = 10_000
)

// LakeQuery is a query request (the body of POST /api/v1/query).
type LakeQuery struct {
	SQL string `json:"sql"`
	// Params are bound to ? / $1 placeholders in order.
	Params []any `json:"params,omitempty"`
	// Limit is the page size (default 1000), Offset the rows to skip.
	Limit  int `json:"limit,omitempty"`
	Offset int `json:"offset,omitempty"`
	// TimeoutSeconds shortens the statement timeout.
	TimeoutSeconds float64 `json:"timeout_seconds,omitempty"`
}

// Timeout is TimeoutSeconds as a duration (0: the lake's default).
func (q LakeQuery) Timeout() time.Duration {
	return time.Duration(q.TimeoutSeconds * float64(time.Second))
}

// QueryColumn is a result column.
type QueryColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// QueryResponse is one page of a query's result.
type QueryResponse struct {
	Columns []QueryColumn `json:"columns"`
	// Rows hold JSON values; timestamps are RFC 3339 strings.
	Rows [][]any `json:"rows"`
	// Truncated: more rows follow; NextOffset is the offset of the next
	// page (the query runs again, over the lake as it is then).
	Truncated  bool     `json:"truncated"`
	NextOffset *int     `json:"next_offset,omitempty"`
	ElapsedMS  float64  `json:"elapsed_ms"`
	Tables     []string `json:"tables"`
	// FilesScanned and BytesScanned are the Parquet files the query's
	// views covered after time-range pruning.
	FilesScanned int   `json:"files_scanned"`
	BytesScanned int64 `json:"bytes_scanned"`
}

// LakeSearch is an indicator search request.
type LakeSearch struct {
	Indicator string
	Kind      string // "" classifies the indicator
	From, To  time.Time
	Limit     int
}

// SearchResponse is what an indicator search found.
type SearchResponse struct {
	Indicator string          `json:"indicator"`
	Kind      string          `json:"kind"`
	Values    []string        `json:"values"`
	Columns   []string        `json:"columns"`
	From      time.Time       `json:"from"`
	To        time.Time       `json:"to"`
	Total     int64           `json:"total"`
	Tables    []SearchTable   `json:"tables"`
	Histogram SearchHistogram `json:"histogram"`
	Rows      []SearchRow     `json:"rows"`
	ElapsedMS float64         `json:"elapsed_ms"`
}

// SearchTable is the matches in one table.
type SearchTable struct {
	Table string `json:"table"`
	Count int64  `json:"count"`
}

// SearchHistogram counts matches in buckets of BucketSeconds from Start.
type SearchHistogram struct {
	Start         time.Time `json:"start"`
	BucketSeconds int64     `json:"bucket_seconds"`
	Counts        []int64   `json:"counts"`
}

// SearchRow is one matching row.
type SearchRow struct {
	Table string          `json:"table"`
	RowID string          `json:"p_row_id"`
	Time  time.Time       `json:"p_event_time"`
	Row   json.RawMessage `json:"row"`
}

// LakeTable is a lake table for the schema browser.
type LakeTable struct {
	Name    string        `json:"name"`
	Columns []QueryColumn `json:"columns"`
	Files   int           `json:"files"`
	Rows    int64         `json:"rows"`
	Bytes   int64         `json:"bytes"`
	MinTime *time.Time    `json:"min_time,omitempty"`
	MaxTime *time.Time    `json:"max_time,omitempty"`
}

func (s *Server) queryRoutes(handle func(string, handler)) {
	handle("POST /api/v1/query", s.runQuery)
	handle("GET /api/v1/search", s.searchIndicator)
	handle("GET /api/v1/tables", s.listTables)
}

// lakeError gives a lake error its status code.
func lakeError(err error) error {
	var client interface{ ClientError() bool }
	var timeout interface{ Timeout() bool }
	switch {
	case errors.As(err, &client) && client.ClientError():
		return &httpError{status: http.StatusBadRequest, msg: err.Error()}
	case errors.As(err, &timeout) && timeout.Timeout():
		return &httpError{status: http.StatusGatewayTimeout, msg: err.Error()}
	}
	return err
}

// runQuery runs one page of a query. The request's context is the query's:
// a client that goes away cancels it. Pages past the first run the query
// again with the offset (add ORDER BY and a time range for stable pages).
func (s *Server) runQuery(w http.ResponseWriter, r *http.Request) error {
	if s.Lake == nil {
		return notConfigured("lake queries")
	}
	var req LakeQuery
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.SQL) == "" {
		return badRequest("sql: the query is empty")
	}
	switch {
	case req.Limit < 0 || req.Limit > MaxQueryLimit:
		return badRequest("limit: want 1 to %d, got %d", MaxQueryLimit, req.Limit)
	case req.Offset < 0:
		return badRequest("offset: must not be negative, got %d", req.Offset)
	case req.TimeoutSeconds < 0:
		return badRequest("timeout_seconds: must not be negative")
	}
	if req.Limit == 0 {
		req.Limit = DefaultQueryLimit
	}
	res, err := s.Lake.Query(r.Context(), req)
	if err != nil {
		return lakeError(err)
	}
	if res.Truncated {
		next := req.Offset + len(res.Rows)
		res.NextOffset = &next
	}
	if res.Rows == nil {
		res.Rows = [][]any{}
	}
	if res.Columns == nil {
		res.Columns = []QueryColumn{}
	}
	if res.Tables == nil {
		res.Tables = []string{}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// searchIndicator: ?q=INDICATOR&kind=&since=7d&until=&limit=20.
func (s *Server) searchIndicator(w http.ResponseWriter, r *http.Request) error {
	if s.Lake == nil {
		return notConfigured("lake searches")
	}
	v := r.URL.Query()
	req := LakeSearch{Indicator: strings.TrimSpace(v.Get("q")), Kind: v.Get("kind")}
	if req.Indicator == "" {
		return badRequest("q: give the indicator to search for (an IP, e-mail, domain, hash, AWS ARN or account id, user name)")
	}
	since := v.Get("since")
	if since == "" {
		since = "7d"
	}
	var err error
	if req.From, err = parseTime(since); err != nil {
		return badRequest("since: %v", err)
	}
	if until := v.Get("until"); until != "" {
		if req.To, err = parseTime(until); err != nil {
			return badRequest("until: %v", err)
		}
	}
	if text := v.Get("limit"); text != "" {
		if req.Limit, err = strconv.Atoi(text); err != nil || req.Limit < 0 || req.Limit > MaxQueryLimit {
			return badRequest("limit: want 0 to %d, got %q", MaxQueryLimit, text)
		}
	}
	res, err := s.Lake.Search(r.Context(), req)
	if err != nil {
		return lakeError(err)
	}
	if res.Tables == nil {
		res.Tables = []SearchTable{}
	}
	if res.Rows == nil {
		res.Rows = []SearchRow{}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) listTables(w http.ResponseWriter, r *http.Request) error {
	if s.Lake == nil {
		return notConfigured("lake tables")
	}
	tables, err := s.Lake.Tables(r.Context())
	if err != nil {
		return lakeError(err)
	}
	if tables == nil {
		tables = []LakeTable{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tables": tables})
	return nil
}
