package alerts

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// ErrNotFound is returned for an unknown alert ID.
var ErrNotFound = errors.New("alert not found")

// Query selects alerts. Empty fields do not filter.
type Query struct {
	Status   []string
	Severity []string
	Type     []string
	RuleID   string
	Assignee string
	Since    time.Time // created at or after
	Until    time.Time // created before
	// Text matches title, rule ID or dedup string, case-insensitively.
	Text string
	// Sort is created_at, updated_at, severity or event_count, with a
	// leading '-' for descending; default -created_at.
	Sort   string
	Limit  int // default 50, at most 1000
	Offset int
}

// SortKeys lists the accepted Query.Sort values (without the '-').
var SortKeys = []string{"created_at", "updated_at", "severity", "event_count"}

// Page is one page of a query's result.
type Page struct {
	Alerts []Alert `json:"alerts"`
	Total  int     `json:"total"`
	Offset int     `json:"offset"`
	Limit  int     `json:"limit"`
}

// Patch changes an alert's triage fields; nil fields stay as they are.
type Patch struct {
	Status   *string `json:"status,omitempty"`
	Assignee *string `json:"assignee,omitempty"`
}

// Validate checks the patch's values.
func (p Patch) Validate() error {
	if p.Status != nil && !slices.Contains(Statuses, *p.Status) {
		return errors.New("status must be one of " + strings.Join(Statuses, ", "))
	}
	return nil
}

// Triage reads and triages stored alerts: what the API and CLI need.
type Triage interface {
	ListAlerts(ctx context.Context, q Query) (Page, error)
	GetAlert(ctx context.Context, id string) (Alert, error)
	AlertEvents(ctx context.Context, id string, limit int) ([]AlertEvent, error)
	UpdateAlerts(ctx context.Context, ids []string, p Patch, now time.Time) error
	AddComment(ctx context.Context, id string, c Comment) error
}

// Normalize fills defaults and bounds.
func (q *Query) Normalize() error {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 1000)
	q.Offset = max(q.Offset, 0)
	if q.Sort == "" {
		q.Sort = "-created_at"
	}
	if !slices.Contains(SortKeys, strings.TrimPrefix(q.Sort, "-")) {
		return errors.New("sort must be one of " + strings.Join(SortKeys, ", ") + " (prefix '-' for descending)")
	}
	return nil
}

// SeverityRank orders severities from INFO (0) to CRITICAL (4).
func SeverityRank(s string) int {
	switch s {
	case "LOW":
		return 1
	case "MEDIUM":
		return 2
	case "HIGH":
		return 3
	case "CRITICAL":
		return 4
	}
	return 0
}

// Matches reports whether a satisfies q's filters.
func (q *Query) Matches(a *Alert) bool {
	if len(q.Status) > 0 && !slices.Contains(q.Status, a.Status) ||
		len(q.Severity) > 0 && !slices.Contains(q.Severity, a.Severity) ||
		len(q.Type) > 0 && !slices.Contains(q.Type, a.Type) ||
		q.RuleID != "" && a.RuleID != q.RuleID ||
		q.Assignee != "" && a.Assignee != q.Assignee ||
		!q.Since.IsZero() && a.CreatedAt.Before(q.Since) ||
		!q.Until.IsZero() && !a.CreatedAt.Before(q.Until) {
		return false
	}
	if q.Text != "" {
		t := strings.ToLower(q.Text)
		return strings.Contains(strings.ToLower(a.Title), t) || strings.Contains(strings.ToLower(a.RuleID), t) ||
			strings.Contains(strings.ToLower(a.Dedup), t)
	}
	return true
}
