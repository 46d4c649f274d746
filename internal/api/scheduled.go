package api

// Scheduled queries and rules, correlation rule runs, saved queries and
// replays (docs/scheduled.md): GET /api/v1/scheduled-queries,
// GET /api/v1/scheduled-queries/{name}/runs,
// POST /api/v1/scheduled-queries/{name}/run, GET /api/v1/saved-queries and
// POST /api/v1/detections/{id}/replay.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prowl-siem/prowl/internal/store"
)

// Scheduler runs scheduled queries, scheduled and correlation rules, and
// replays (the scheduler package, adapted in the server). Errors wrapping
// store.ErrNotFound answer 404, ErrBusy 409, ErrInvalid 400 and
// ErrUnavailable 503.
type Scheduler interface {
	ScheduledQueries(ctx context.Context) ([]ScheduledQuery, []ScheduledCorrelation, error)
	ScheduledRuns(ctx context.Context, name string, limit int) ([]store.ScheduledRun, error)
	RunScheduled(ctx context.Context, name string) (store.ScheduledRun, error)
	SavedQueries(ctx context.Context) ([]SavedQuery, error)
	Replay(ctx context.Context, ruleID string, since, until time.Time) (*ReplayResponse, error)
}

// Errors a Scheduler returns (wrapped) to set the status code.
var (
	ErrBusy        = errors.New("busy")
	ErrInvalid     = errors.New("invalid request")
	ErrUnavailable = errors.New("unavailable")
)

// QuerySchedule is a Schedule as written, with its meaning.
type QuerySchedule struct {
	RateMinutes    int    `json:"rate_minutes,omitempty"`
	CronExpression string `json:"cron_expression,omitempty"`
	TimeoutMinutes int    `json:"timeout_minutes,omitempty"`
	// Description is "every 15m" or the cron expression; Error says why
	// the schedule cannot run.
	Description string `json:"description,omitempty"`
	Error       string `json:"error,omitempty"`
}

// ScheduledQuery is a scheduled query spec with its next run and its last
// runs (newest first).
type ScheduledQuery struct {
	Name                  string               `json:"name"`
	Description           string               `json:"description,omitempty"`
	Enabled               bool                 `json:"enabled"`
	SQL                   string               `json:"sql"`
	Tags                  []string             `json:"tags,omitempty"`
	Schedule              QuerySchedule        `json:"schedule"`
	Lookback              bool                 `json:"lookback"`
	LookbackWindowSeconds int                  `json:"lookback_window_seconds,omitempty"`
	NextRun               *time.Time           `json:"next_run,omitempty"`
	Running               bool                 `json:"running"`
	Rules                 []string             `json:"rules"`
	File                  string               `json:"file"`
	LastRuns              []store.ScheduledRun `json:"last_runs"`
}

// ScheduledCorrelation is a running correlation rule's schedule and last
// runs.
type ScheduledCorrelation struct {
	RuleID                string               `json:"rule_id"`
	DisplayName           string               `json:"display_name,omitempty"`
	Severity              string               `json:"severity"`
	Enabled               bool                 `json:"enabled"`
	Schedule              QuerySchedule        `json:"schedule"`
	LookbackWindowMinutes int                  `json:"lookback_window_minutes"`
	NextRun               *time.Time           `json:"next_run,omitempty"`
	Running               bool                 `json:"running"`
	LastRuns              []store.ScheduledRun `json:"last_runs"`
}

// SavedQuery is a saved query spec.
type SavedQuery struct {
	Name                  string   `json:"name"`
	Description           string   `json:"description,omitempty"`
	SQL                   string   `json:"sql"`
	Tags                  []string `json:"tags,omitempty"`
	LookbackWindowSeconds int      `json:"lookback_window_seconds,omitempty"`
	File                  string   `json:"file"`
}

// ReplayRequest is the body of POST /api/v1/detections/{id}/replay: RFC
// 3339 times or look-backs such as 30d or 12h.
type ReplayRequest struct {
	Since string `json:"since"`
	Until string `json:"until,omitempty"`
}

// ReplayResponse is what a detection would have produced over a range.
type ReplayResponse struct {
	RuleID       string        `json:"rule_id"`
	Kind         string        `json:"kind"`
	From         time.Time     `json:"from"`
	To           time.Time     `json:"to"`
	Tables       []string      `json:"tables"`
	Total        int64         `json:"total"`
	Events       int64         `json:"events"`
	Matches      int           `json:"matches"`
	Errors       int           `json:"errors"`
	ErrorSamples []string      `json:"error_samples,omitempty"`
	AlertCount   int           `json:"alert_count"`
	Alerts       []ReplayAlert `json:"alerts"`
	ByDedup      []ReplayDedup `json:"by_dedup"`
	FirstMatch   *time.Time    `json:"first_match,omitempty"`
	LastMatch    *time.Time    `json:"last_match,omitempty"`
	Truncated    bool          `json:"truncated"`
	Stopped      string        `json:"stopped,omitempty"`
	ElapsedMS    float64       `json:"elapsed_ms"`
}

// ReplayAlert is an alert a replay would have created.
type ReplayAlert struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"`
	Title        string    `json:"title"`
	Severity     string    `json:"severity"`
	Dedup        string    `json:"dedup"`
	EventCount   int       `json:"event_count"`
	CreatedAt    time.Time `json:"created_at"`
	FirstEventAt time.Time `json:"first_event_at"`
	LastEventAt  time.Time `json:"last_event_at"`
}

// ReplayDedup counts a replay's alerts and matches of one dedup string.
type ReplayDedup struct {
	Dedup   string `json:"dedup"`
	Alerts  int    `json:"alerts"`
	Matches int    `json:"matches"`
}

func (s *Server) scheduledRoutes(handle func(string, handler)) {
	handle("GET /api/v1/scheduled-queries", s.listScheduled)
	handle("GET /api/v1/scheduled-queries/{name}/runs", s.scheduledRuns)
	handle("POST /api/v1/scheduled-queries/{name}/run", s.runScheduled)
	handle("GET /api/v1/saved-queries", s.listSaved)
	handle("POST /api/v1/detections/{id}/replay", s.replay)
}

// schedulerError gives a Scheduler error its status code.
func schedulerError(err error) error {
	status := 0
	switch {
	case errors.Is(err, ErrBusy):
		status = http.StatusConflict
	case errors.Is(err, ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, ErrUnavailable):
		status = http.StatusServiceUnavailable
	default:
		return lakeError(err)
	}
	return &httpError{status: status, msg: err.Error()}
}

func (s *Server) listScheduled(w http.ResponseWriter, r *http.Request) error {
	if s.Scheduler == nil {
		return notConfigured("scheduled queries")
	}
	queries, correlations, err := s.Scheduler.ScheduledQueries(r.Context())
	if err != nil {
		return schedulerError(err)
	}
	if queries == nil {
		queries = []ScheduledQuery{}
	}
	if correlations == nil {
		correlations = []ScheduledCorrelation{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"queries": queries, "correlation_rules": correlations})
	return nil
}

func (s *Server) scheduledRuns(w http.ResponseWriter, r *http.Request) error {
	if s.Scheduler == nil {
		return notConfigured("scheduled queries")
	}
	limit := 50
	if text := r.URL.Query().Get("limit"); text != "" {
		n, err := strconv.Atoi(text)
		if err != nil || n < 1 || n > store.KeepRuns {
			return badRequest("limit: want 1 to %d, got %q", store.KeepRuns, text)
		}
		limit = n
	}
	runs, err := s.Scheduler.ScheduledRuns(r.Context(), r.PathValue("name"), limit)
	if err != nil {
		return schedulerError(err)
	}
	if runs == nil {
		runs = []store.ScheduledRun{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
	return nil
}

// runScheduled runs a scheduled query (and its scheduled rules) or a
// correlation rule now and answers when it has finished.
func (s *Server) runScheduled(w http.ResponseWriter, r *http.Request) error {
	if s.Scheduler == nil {
		return notConfigured("scheduled queries")
	}
	run, err := s.Scheduler.RunScheduled(r.Context(), r.PathValue("name"))
	if err != nil {
		return schedulerError(err)
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

func (s *Server) listSaved(w http.ResponseWriter, r *http.Request) error {
	if s.Scheduler == nil {
		return notConfigured("saved queries")
	}
	queries, err := s.Scheduler.SavedQueries(r.Context())
	if err != nil {
		return schedulerError(err)
	}
	if queries == nil {
		queries = []SavedQuery{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"queries": queries})
	return nil
}

// replay runs a detection over the lake's history and answers when it is
// done (bounded by the scheduler's range, event and time limits).
func (s *Server) replay(w http.ResponseWriter, r *http.Request) error {
	if s.Scheduler == nil {
		return notConfigured("replays")
	}
	var req ReplayRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Since) == "" {
		return badRequest("since: give the start of the range (RFC 3339, or a look-back such as 30d or 12h)")
	}
	since, err := parseTime(req.Since)
	if err != nil {
		return badRequest("since: %v", err)
	}
	until := s.Now()
	if req.Until != "" {
		if until, err = parseTime(req.Until); err != nil {
			return badRequest("until: %v", err)
		}
	}
	res, err := s.Scheduler.Replay(r.Context(), r.PathValue("id"), since, until)
	if err != nil {
		return schedulerError(err)
	}
	if res.Tables == nil {
		res.Tables = []string{}
	}
	if res.Alerts == nil {
		res.Alerts = []ReplayAlert{}
	}
	if res.ByDedup == nil {
		res.ByDedup = []ReplayDedup{}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
