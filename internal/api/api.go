// Package api serves prowl's HTTP JSON API (documented in openapi.yaml):
// alerts and their triage, rule errors, detections and server health; log
// sources and their quarantine (sources.go); destinations and the delivery
// log (destinations.go); one-off imports (import.go). Every error is a JSON
// object {"error": "..."} with a fitting status code; validation errors add
// "fields": [{"field", "message"}].
package api

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/store"
)

// OpenAPI is the API's description, served at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Detection is what the API shows of a running detection.
type Detection struct {
	ID                 string              `json:"id"`
	Kind               string              `json:"kind"`
	DisplayName        string              `json:"display_name,omitempty"`
	Enabled            bool                `json:"enabled"`
	Severity           string              `json:"severity"`
	LogTypes           []string            `json:"log_types"`
	Version            string              `json:"version"`
	DedupPeriodMinutes int                 `json:"dedup_period_minutes"`
	Threshold          int                 `json:"threshold"`
	Tags               []string            `json:"tags,omitempty"`
	Reports            map[string][]string `json:"reports,omitempty"`
	Description        string              `json:"description,omitempty"`
	Runbook            string              `json:"runbook,omitempty"`
	Reference          string              `json:"reference,omitempty"`
	File               string              `json:"file"`
	Tests              int                 `json:"tests"`
}

// Detections lists the running detections and their problems.
type Detections interface {
	List() []Detection
	Problems() []string
}

// Server holds the API's backends.
type Server struct {
	Alerts     alerts.Triage
	Detections Detections
	// Token, when set, is required as "Authorization: Bearer <token>".
	Token string
	// Health reports component status for /api/v1/health.
	Health func(ctx context.Context) map[string]any
	Now    func() time.Time
	Logger *slog.Logger

	// Sources keeps the configured log sources; Runner starts, restarts
	// and stops them in the running server; Reprocess replays a source's
	// quarantine. Any may be nil: their routes then answer 501.
	Sources   SourceStore
	Runner    SourceRunner
	Reprocess Reprocessor
	// Destinations keeps the alert destinations, Tester sends test alerts
	// and Deliveries is the delivery log.
	Destinations DestinationStore
	Tester       DestinationTester
	Deliveries   DeliveryLog
	// Ingest receives imported events (POST /api/v1/import).
	Ingest Ingester
	// ImportMaxBytes limits an import request's body, before and after
	// gzip decompression (default DefaultImportMaxBytes).
	ImportMaxBytes int64
	// LogTypes lists the known log types, to check those a request names.
	// nil accepts any.
	LogTypes func() []string
	// Lake runs SQL queries and indicator searches (query.go); nil → 501.
	Lake Lake
	// Scheduler runs scheduled queries, correlation rules and replays (scheduled.go); nil → 501.
	Scheduler Scheduler

	writeMu sync.Mutex // one change of sources or destinations at a time: ids stay unique, a delete cannot race a change
}

// handler is what Routes registers: a handler that may fail with an error
// that errorHandler turns into a JSON error.
type handler = func(w http.ResponseWriter, r *http.Request) error

// Routes registers the API on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	handle := func(pattern string, h handler) {
		mux.Handle(pattern, s.auth(errorHandler(s.Logger, h)))
	}
	mux.HandleFunc("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(OpenAPI)
	})
	handle("GET /api/v1/health", s.health)
	handle("GET /api/v1/alerts", s.listAlerts)
	handle("GET /api/v1/rule-errors", s.listRuleErrors)
	handle("GET /api/v1/alerts/{id}", s.getAlert)
	handle("GET /api/v1/alerts/{id}/events", s.alertEvents)
	handle("PATCH /api/v1/alerts/{id}", s.patchAlert)
	handle("POST /api/v1/alerts/bulk", s.bulkUpdate)
	handle("POST /api/v1/alerts/{id}/comments", s.addComment)
	handle("GET /api/v1/detections", s.listDetections)
	s.sourceRoutes(handle)
	s.destinationRoutes(handle)
	s.importRoutes(handle)
	s.queryRoutes(handle)
	s.scheduledRoutes(handle)
}

// httpError is an error with a status code for the client.
type httpError struct {
	status int
	msg    string
	extra  map[string]any // more members of the error object
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func errorHandler(logger *slog.Logger, h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		status := http.StatusInternalServerError
		var he *httpError
		body := map[string]any{}
		switch {
		case errors.As(err, &he):
			status = he.status
			for k, v := range he.extra {
				body[k] = v
			}
		case errors.Is(err, alerts.ErrNotFound), errors.Is(err, store.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, context.Canceled):
			status = 499
		}
		if status >= 500 {
			logger.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		body["error"] = err.Error()
		writeJSON(w, status, body)
	})
}

func (s *Server) auth(next http.Handler) http.Handler {
	if s.Token == "" {
		return next
	}
	want := []byte("Bearer " + s.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="prowl"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true) // log content never becomes markup
	enc.Encode(v)
}

// readJSON decodes a request body strictly (unknown fields are errors).
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("request body: %v", err)
	}
	return nil
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	out := map[string]any{"status": "ok", "time": s.Now().UTC()}
	if s.Health != nil {
		for k, v := range s.Health(r.Context()) {
			out[k] = v
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseQuery reads alert filters from the URL.
func parseQuery(r *http.Request) (alerts.Query, error) {
	v := r.URL.Query()
	q := alerts.Query{
		Status: splitUpper(v.Get("status")), Severity: splitUpper(v.Get("severity")), Type: splitUpper(v.Get("type")),
		RuleID: v.Get("rule_id"), Assignee: v.Get("assignee"), Text: v.Get("q"), Sort: v.Get("sort"),
	}
	for name, dst := range map[string]*time.Time{"since": &q.Since, "until": &q.Until} {
		if text := v.Get(name); text != "" {
			t, err := parseTime(text)
			if err != nil {
				return q, badRequest("%s: %v", name, err)
			}
			*dst = t
		}
	}
	for name, dst := range map[string]*int{"limit": &q.Limit, "offset": &q.Offset} {
		if text := v.Get(name); text != "" {
			n, err := strconv.Atoi(text)
			if err != nil || n < 0 {
				return q, badRequest("%s: want a whole number, got %q", name, text)
			}
			*dst = n
		}
	}
	if err := q.Normalize(); err != nil {
		return q, badRequest("%v", err)
	}
	return q, nil
}

// parseTime accepts RFC 3339 or a duration back from now ("24h", "7d").
func parseTime(text string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, text); err == nil {
		return t, nil
	}
	if d, ok := strings.CutSuffix(text, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil {
			return time.Now().Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(text); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 (2024-05-01T10:00:00Z) or a look-back such as 24h or 7d, got %q", text)
}

func splitUpper(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, strings.ToUpper(part))
		}
	}
	return out
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	page, err := s.Alerts.ListAlerts(r.Context(), q)
	if err != nil {
		return err
	}
	if page.Alerts == nil {
		page.Alerts = []alerts.Alert{}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) listRuleErrors(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	v.Set("type", alerts.TypeRuleError)
	r.URL.RawQuery = v.Encode()
	return s.listAlerts(w, r)
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Alerts.GetAlert(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) alertEvents(w http.ResponseWriter, r *http.Request) error {
	limit := 100
	if text := r.URL.Query().Get("limit"); text != "" {
		n, err := strconv.Atoi(text)
		if err != nil || n < 1 {
			return badRequest("limit: want a positive whole number, got %q", text)
		}
		limit = min(n, 1000)
	}
	events, err := s.Alerts.AlertEvents(r.Context(), r.PathValue("id"), limit)
	if err != nil {
		return err
	}
	type event struct {
		RowID   string          `json:"p_row_id"`
		LogType string          `json:"p_log_type"`
		Time    time.Time       `json:"p_event_time"`
		Event   json.RawMessage `json:"event"`
	}
	out := make([]event, len(events))
	for i, e := range events {
		out[i] = event{e.RowID, e.LogType, e.Time, e.Event}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
	return nil
}

func (s *Server) patchAlert(w http.ResponseWriter, r *http.Request) error {
	var p alerts.Patch
	if err := readJSON(r, &p); err != nil {
		return err
	}
	if err := s.update([]string{r.PathValue("id")}, p, r); err != nil {
		return err
	}
	return s.getAlert(w, r)
}

func (s *Server) bulkUpdate(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		IDs []string `json:"ids"`
		alerts.Patch
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if len(body.IDs) == 0 {
		return badRequest("ids: at least one alert id is needed")
	}
	if err := s.update(body.IDs, body.Patch, r); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"updated": len(body.IDs)})
	return nil
}

func (s *Server) update(ids []string, p alerts.Patch, r *http.Request) error {
	if p.Status == nil && p.Assignee == nil {
		return badRequest("nothing to change: give status and/or assignee")
	}
	if p.Status != nil {
		up := strings.ToUpper(*p.Status)
		p.Status = &up
	}
	if err := p.Validate(); err != nil {
		return badRequest("%v", err)
	}
	return s.Alerts.UpdateAlerts(r.Context(), ids, p, s.Now().UTC())
}

func (s *Server) addComment(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Body   string `json:"body"`
		Author string `json:"author"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Body) == "" {
		return badRequest("body: the comment is empty")
	}
	if body.Author == "" {
		body.Author = "anonymous"
	}
	c := alerts.Comment{Author: body.Author, Body: body.Body, At: s.Now().UTC()}
	if err := s.Alerts.AddComment(r.Context(), r.PathValue("id"), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) listDetections(w http.ResponseWriter, r *http.Request) error {
	out := map[string]any{"detections": []Detection{}, "problems": []string{}}
	if s.Detections != nil {
		if list := s.Detections.List(); list != nil {
			out["detections"] = list
		}
		if p := s.Detections.Problems(); p != nil {
			out["problems"] = p
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
