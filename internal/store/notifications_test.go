package store

import (
	"context"
	"testing"

	"github.com/prowl-siem/prowl/internal/alerts"
)

func pendingIDs(t *testing.T, s *Store) []string {
	t.Helper()
	list, err := s.PendingNotifications(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	return ids
}

func TestPendingNotifications(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	if ids := pendingIDs(t, s); len(ids) != 0 {
		t.Fatalf("new store: pending %v", ids)
	}
	a, b := testAlert("a", "HIGH", at0), testAlert("b", "LOW", at0.Add(1))
	a.AlertContext = []byte(`{"ip":"203.0.113.9"}`)
	mustCommit(t, s, &alerts.Commit{Created: []alerts.Alert{a, b}, Offset: &alerts.Offset{Consumer: "engine", Value: 7}})
	list, err := s.PendingNotifications(ctx)
	if err != nil || len(list) != 2 || !alertsEqual(list[0], a) || !alertsEqual(list[1], b) {
		t.Fatalf("pending after creating a and b: %v %+v", err, list)
	}
	// Updates and events of existing alerts do not notify again.
	mustCommit(t, s, &alerts.Commit{Updated: []alerts.AlertUpdate{{ID: "a", EventCount: 3, UpdatedAt: at0}},
		Events: []alerts.AlertEvent{{AlertID: "a", RowID: "r1"}}})
	if err := s.NotificationsDone(ctx, []string{"a", "unknown"}); err != nil {
		t.Fatal(err)
	}
	if ids := pendingIDs(t, s); len(ids) != 1 || ids[0] != "b" {
		t.Fatalf("pending after a is done: %v, want [b]", ids)
	}
	// A replayed commit keeps the stored alert and does not notify it again.
	mustCommit(t, s, &alerts.Commit{Created: []alerts.Alert{a}})
	if ids := pendingIDs(t, s); len(ids) != 1 || ids[0] != "b" {
		t.Fatalf("pending after a replay of a: %v, want [b]", ids)
	}
	// A failed commit leaves no pending notification behind: the alert and
	// its notification are one transaction.
	if _, err := s.db.Exec(`CREATE TRIGGER boom BEFORE UPDATE ON consumer_offsets BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, &alerts.Commit{Created: []alerts.Alert{testAlert("c", "LOW", at0)}, Offset: &alerts.Offset{Consumer: "engine", Value: 8}}); err == nil {
		t.Fatal("the commit did not fail")
	}
	if ids := pendingIDs(t, s); len(ids) != 1 || ids[0] != "b" {
		t.Fatalf("pending after a failed commit: %v, want [b]", ids)
	}
	ids := pendingIDs(t, s)
	// Pending notifications survive a restart.
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if ids2 := pendingIDs(t, s2); len(ids2) != len(ids) {
		t.Fatalf("after reopening: pending %v, want %v", ids2, ids)
	}
}
