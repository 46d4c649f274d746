package destinations

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// PayloadVersion is the version of the webhook payload schema. It changes
// only when a field is removed or changes meaning; new fields may appear at
// any time, so receivers must ignore fields they do not know.
const PayloadVersion = 1

// Payload is the JSON body that the webhook destination POSTs: the alert,
// with stable snake_case field names. Every field is always present (times
// are null when unknown, lists are [] when empty). docs/destinations.md
// documents it field by field.
type Payload struct {
	Version      int                 `json:"version"`
	ID           string              `json:"id"`
	Type         string              `json:"type"`
	Test         bool                `json:"test"`
	RuleID       string              `json:"rule_id"`
	RuleVersion  string              `json:"rule_version"`
	Title        string              `json:"title"`
	Severity     string              `json:"severity"`
	Status       string              `json:"status"`
	DedupString  string              `json:"dedup_string"`
	Description  string              `json:"description"`
	Reference    string              `json:"reference"`
	Runbook      string              `json:"runbook"`
	CreatedAt    *time.Time          `json:"created_at"`
	UpdatedAt    *time.Time          `json:"updated_at"`
	FirstEventAt *time.Time          `json:"first_event_at"`
	LastEventAt  *time.Time          `json:"last_event_at"`
	EventCount   int                 `json:"event_count"`
	LogTypes     []string            `json:"log_types"`
	AlertContext json.RawMessage     `json:"alert_context"`
	Tags         []string            `json:"tags"`
	Reports      map[string][]string `json:"reports"`
	Link         string              `json:"link"`
	Destination  PayloadDestination  `json:"destination"`
}

// PayloadDestination names the destination a payload was sent to.
type PayloadDestination struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// NewPayload converts an alert for the destination cfg.
func NewPayload(a Alert, cfg Config) Payload {
	return Payload{
		Version:      PayloadVersion,
		ID:           a.ID,
		Type:         orDefault(a.Type, TypeRule),
		Test:         a.Test,
		RuleID:       a.RuleID,
		RuleVersion:  a.RuleVersion,
		Title:        a.Title,
		Severity:     strings.ToUpper(a.Severity),
		Status:       a.Status,
		DedupString:  a.DedupString,
		Description:  a.Description,
		Reference:    a.Reference,
		Runbook:      a.Runbook,
		CreatedAt:    timePtr(a.CreatedAt),
		UpdatedAt:    timePtr(a.UpdatedAt),
		FirstEventAt: timePtr(a.FirstEventAt),
		LastEventAt:  timePtr(a.LastEventAt),
		EventCount:   a.EventCount,
		LogTypes:     nonNil(a.LogTypes),
		AlertContext: contextObject(a.AlertContext),
		Tags:         nonNil(a.Tags),
		Reports:      nonNilMap(a.Reports),
		Link:         a.Link,
		Destination:  PayloadDestination{ID: cfg.ID, Name: cfg.Name, Type: cfg.Type},
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMap(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	return m
}

// contextObject returns the alert context as a compact JSON object: {} when
// empty, and an {"_error": ...} object (as Panther does for oversized
// contexts) when it is not a JSON object, so the payload stays valid.
func contextObject(raw json.RawMessage) json.RawMessage {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return json.RawMessage("{}")
	}
	var buf bytes.Buffer
	if trimmed[0] != '{' || json.Compact(&buf, trimmed) != nil {
		return json.RawMessage(`{"_error":"alert_context is not a JSON object"}`)
	}
	return buf.Bytes()
}

// contextField is one top-level entry of an alert context, for display.
type contextField struct {
	Key   string
	Value string // a string value as is; anything else as compact JSON
}

// contextFields returns up to n top-level fields of the alert context, in
// their original order. Values longer than maxLen runes are truncated.
func contextFields(raw json.RawMessage, n, maxLen int) (fields []contextField, more int) {
	dec := json.NewDecoder(bytes.NewReader(contextObject(raw)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, 0
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fields, more
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fields, more
		}
		if len(fields) >= n {
			more++
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		fields = append(fields, contextField{Key: truncate(oneLine(key), 80), Value: truncate(sanitize(s), maxLen)})
	}
	return fields, more
}

// displayTitle is the alert's title on one line, falling back to the rule
// id, for chat messages and incident summaries.
func displayTitle(a Alert) string {
	if t := oneLine(a.Title); t != "" {
		return t
	}
	return orDefault(oneLine(a.RuleID), "Untitled alert")
}
