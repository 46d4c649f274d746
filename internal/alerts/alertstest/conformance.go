// Package alertstest holds the behaviour every alert store must show, run
// against each implementation.
package alertstest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
)

// Backend is what an alert store implements.
type Backend interface {
	alerts.Store
	alerts.Triage
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func alert(id, severity, status string, created time.Time, count int) alerts.Alert {
	return alerts.Alert{ID: id, Type: alerts.TypeRule, RuleID: "R." + id, Title: "Title " + id, Severity: severity, Dedup: "d-" + id,
		Status: status, CreatedAt: created, UpdatedAt: created, EventCount: count, LogTypes: []string{"Okta.SystemLog"},
		AlertContext: json.RawMessage(`{"k":"v"}`), Tags: []string{"t"}, Reports: map[string][]string{"MITRE ATT&CK": {"TA0006"}}}
}

// Run checks a fresh backend from newStore.
func Run(t *testing.T, newStore func(t *testing.T) Backend) {
	ctx := context.Background()
	t.Run("CommitRoundTrip", func(t *testing.T) {
		s := newStore(t)
		w := alerts.Window{Key: "R.a:d-a", RuleID: "R.a", Start: t0, Period: time.Hour, Generation: 2, Matches: 3,
			Uniques: map[string]struct{}{"u1": {}, "u2": {}}, AlertID: "a", FirstEventAt: t0, LastEventAt: t0.Add(time.Minute),
			LogTypes: []string{"Okta.SystemLog"}, StoredEvents: 3}
		c := &alerts.Commit{Windows: []alerts.Window{w}, Created: []alerts.Alert{alert("a", "HIGH", alerts.StatusOpen, t0, 3)},
			Events: []alerts.AlertEvent{{AlertID: "a", RowID: "r1", LogType: "Okta.SystemLog", Time: t0, Event: []byte(`{"x":1}`)}},
			Offset: &alerts.Offset{Consumer: "engine", Value: 42}}
		if err := s.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
		ws, err := s.LoadWindows(ctx)
		if err != nil || len(ws) != 1 || ws[0].Generation != 2 || len(ws[0].Uniques) != 2 || ws[0].AlertID != "a" || !ws[0].Start.Equal(t0) || ws[0].Period != time.Hour {
			t.Fatalf("windows: %v %+v", err, ws)
		}
		if off, err := s.LoadOffset(ctx, "engine"); err != nil || off != 42 {
			t.Fatalf("offset: %v %d", err, off)
		}
		got, err := s.GetAlert(ctx, "a")
		if err != nil || got.Title != "Title a" || got.EventCount != 3 || string(got.AlertContext) != `{"k":"v"}` || got.Reports["MITRE ATT&CK"][0] != "TA0006" {
			t.Fatalf("alert: %v %+v", err, got)
		}
		ev, err := s.AlertEvents(ctx, "a", 10)
		if err != nil || len(ev) != 1 || string(ev[0].Event) != `{"x":1}` {
			t.Fatalf("events: %v %+v", err, ev)
		}
		if _, err := s.GetAlert(ctx, "nope"); !errors.Is(err, alerts.ErrNotFound) {
			t.Errorf("unknown alert: %v", err)
		}
	})
	t.Run("ReplayDoesNotResetTriage", func(t *testing.T) {
		s := newStore(t)
		a := alert("a", "HIGH", alerts.StatusOpen, t0, 1)
		s.Commit(ctx, &alerts.Commit{Created: []alerts.Alert{a}})
		closed := alerts.StatusClosed
		if err := s.UpdateAlerts(ctx, []string{"a"}, alerts.Patch{Status: &closed}, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.Commit(ctx, &alerts.Commit{Created: []alerts.Alert{a}})
		s.Commit(ctx, &alerts.Commit{Updated: []alerts.AlertUpdate{{ID: "a", EventCount: 9, LastEventAt: t0.Add(2 * time.Hour), UpdatedAt: t0.Add(2 * time.Hour), LogTypes: []string{"Okta.SystemLog"}}}})
		got, _ := s.GetAlert(ctx, "a")
		if got.Status != alerts.StatusClosed || got.EventCount != 9 {
			t.Errorf("a replayed creation must not reset triage; updates move counts: %+v", got)
		}
		page, _ := s.ListAlerts(ctx, alerts.Query{})
		if page.Total != 1 {
			t.Errorf("a replayed creation must not duplicate: %d", page.Total)
		}
	})
	t.Run("QueryFilterSortPage", func(t *testing.T) {
		s := newStore(t)
		s.Commit(ctx, &alerts.Commit{Created: []alerts.Alert{
			alert("a", "LOW", alerts.StatusOpen, t0, 5),
			alert("b", "CRITICAL", alerts.StatusOpen, t0.Add(time.Minute), 1),
			alert("c", "MEDIUM", alerts.StatusResolved, t0.Add(2*time.Minute), 9),
		}})
		ids := func(q alerts.Query) string {
			t.Helper()
			page, err := s.ListAlerts(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, a := range page.Alerts {
				out += a.ID
			}
			return out
		}
		f := func(want string, q alerts.Query) {
			t.Helper()
			if got := ids(q); got != want {
				t.Errorf("query %+v: got %q, want %q", q, got, want)
			}
		}
		f("cba", alerts.Query{})
		f("abc", alerts.Query{Sort: "created_at"})
		f("bca", alerts.Query{Sort: "-severity"})
		f("cab", alerts.Query{Sort: "-event_count"})
		f("ba", alerts.Query{Status: []string{alerts.StatusOpen}})
		f("c", alerts.Query{Severity: []string{"MEDIUM"}})
		f("b", alerts.Query{Text: "TITLE B"})
		f("a", alerts.Query{RuleID: "R.a"})
		f("cb", alerts.Query{Since: t0.Add(time.Minute)})
		f("ab", alerts.Query{Until: t0.Add(2 * time.Minute), Sort: "created_at"})
		f("b", alerts.Query{Limit: 1, Offset: 1})
		if _, err := s.ListAlerts(ctx, alerts.Query{Sort: "title"}); err == nil {
			t.Error("an unknown sort key must be rejected")
		}
	})
	t.Run("TriageAndComments", func(t *testing.T) {
		s := newStore(t)
		s.Commit(ctx, &alerts.Commit{Created: []alerts.Alert{alert("a", "LOW", alerts.StatusOpen, t0, 1), alert("b", "LOW", alerts.StatusOpen, t0, 1)}})
		triaged, who := alerts.StatusTriaged, "ana@example.com"
		if err := s.UpdateAlerts(ctx, []string{"a", "b"}, alerts.Patch{Status: &triaged, Assignee: &who}, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		bogus := "SNOOZED"
		if err := s.UpdateAlerts(ctx, []string{"a"}, alerts.Patch{Status: &bogus}, t0); err == nil {
			t.Error("an unknown status must be rejected")
		}
		if err := s.UpdateAlerts(ctx, []string{"a", "zzz"}, alerts.Patch{Assignee: &bogus}, t0); !errors.Is(err, alerts.ErrNotFound) {
			t.Errorf("bulk update with an unknown id: %v", err)
		}
		if err := s.AddComment(ctx, "a", alerts.Comment{Author: who, Body: "<b>looks benign</b>", At: t0}); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetAlert(ctx, "a")
		if got.Status != triaged || got.Assignee != who || len(got.Comments) != 1 || got.Comments[0].Body != "<b>looks benign</b>" {
			t.Errorf("triaged alert: %+v", got)
		}
		if b, _ := s.GetAlert(ctx, "b"); b.Assignee != who {
			t.Errorf("bulk update must apply to every id; nothing when one is unknown: %+v", b)
		}
	})
}
