// Package alerts turns rule matches into deduplicated alerts with Panther's
// semantics: matches group by rule and dedup string into a window that opens
// at the first match and lasts the rule's dedup period (fixed, not sliding);
// the alert is created when the window's match count (or its count of
// distinct unique() values) reaches the rule's threshold, and later matches
// in the window update it without a new notification. Rule errors group by
// rule and error type and alert without a threshold. Windows use processing
// time.
package alerts

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// Alert types.
const (
	TypeRule      = "RULE"
	TypeRuleError = "RULE_ERROR"
	TypeSystem    = "SYSTEM"
)

// Alert statuses. An alert starts OPEN.
const (
	StatusOpen     = "OPEN"
	StatusTriaged  = "TRIAGED"
	StatusClosed   = "CLOSED"   // false positive
	StatusResolved = "RESOLVED" // handled
)

// Statuses lists the valid statuses.
var Statuses = []string{StatusOpen, StatusTriaged, StatusClosed, StatusResolved}

// Match is one detection verdict that may feed an alert: a rule match or a
// rule error, with the alert fields the detection produced.
type Match struct {
	Type        string // TypeRule or TypeRuleError
	RuleID      string
	RuleVersion string
	// Dedup is the dedup string (rule matches) or the error type (errors).
	Dedup        string
	Title        string
	Severity     string
	Description  string
	Reference    string
	Runbook      string
	AlertContext json.RawMessage
	Destinations []string // nil: not set by destinations()
	OutputIDs    []string
	Tags         []string
	Reports      map[string][]string
	// Unique, when set, makes the threshold count distinct values.
	Unique      *string
	DedupPeriod time.Duration // the rule's DedupPeriodMinutes (60 min when zero)
	Threshold   int           // the rule's Threshold (1 when zero)
	// CreateAlert false makes a signal: the match is counted, no alert made.
	Signal bool

	LogType   string
	EventTime time.Time
	Event     json.RawMessage // the matched event, normalized
	RowID     string          // p_row_id of the event
}

// Key is the dedup key of a match's window.
func (m *Match) Key() string {
	if m.Type == TypeRuleError {
		return m.RuleID + ":" + m.Dedup + ":error"
	}
	return m.RuleID + ":" + m.Dedup
}

// Alert is a stored alert.
type Alert struct {
	ID           string              `json:"id"`
	Type         string              `json:"type"`
	RuleID       string              `json:"rule_id"`
	RuleVersion  string              `json:"rule_version,omitempty"`
	Title        string              `json:"title"`
	Severity     string              `json:"severity"`
	Dedup        string              `json:"dedup"`
	Status       string              `json:"status"`
	Assignee     string              `json:"assignee,omitempty"`
	CreatedAt    time.Time           `json:"created_at"`
	UpdatedAt    time.Time           `json:"updated_at"`
	FirstEventAt time.Time           `json:"first_event_at"`
	LastEventAt  time.Time           `json:"last_event_at"`
	EventCount   int                 `json:"event_count"`
	LogTypes     []string            `json:"log_types"`
	AlertContext json.RawMessage     `json:"alert_context,omitempty"`
	Description  string              `json:"description,omitempty"`
	Reference    string              `json:"reference,omitempty"`
	Runbook      string              `json:"runbook,omitempty"`
	Destinations []string            `json:"destinations,omitempty"`
	OutputIDs    []string            `json:"output_ids,omitempty"`
	Tags         []string            `json:"tags,omitempty"`
	Reports      map[string][]string `json:"reports,omitempty"`
	Comments     []Comment           `json:"comments,omitempty"`
}

// Comment is an analyst's note on an alert.
type Comment struct {
	Author string    `json:"author"`
	Body   string    `json:"body"`
	At     time.Time `json:"at"`
}

// Window is the dedup state of one key.
type Window struct {
	Key        string
	RuleID     string
	Start      time.Time // processing time of the window's first match
	Period     time.Duration
	Generation int // how many windows this key has opened (part of the alert ID)
	Matches    int
	// Uniques holds the distinct unique() values seen (capped at MaxUniques).
	Uniques map[string]struct{}
	// AlertID is set once the window has produced its alert.
	AlertID string
	// What the window has seen, for the alert it creates or updates.
	FirstEventAt, LastEventAt time.Time
	LogTypes                  []string
	// StoredEvents counts the matched events kept with the alert.
	StoredEvents int
}

// MaxUniques caps the distinct unique() values a window remembers; the
// threshold counts up to that many.
const MaxUniques = 100_000

// alertID is md5(ruleID:generation:dedup), like Panther's: the same window
// always yields the same ID, which makes replays idempotent.
func alertID(ruleID string, generation int, dedup string) string {
	sum := md5.Sum([]byte(ruleID + ":" + strconv.Itoa(generation) + ":" + dedup))
	return hex.EncodeToString(sum[:])
}
