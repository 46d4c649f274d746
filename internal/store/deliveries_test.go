package store

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/destinations"
	"github.com/prowl-siem/prowl/internal/destinations/destinationstest"
)

var dt0 = time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)

func deliveryAlert(id string) destinations.Alert {
	return destinations.Alert{
		ID: id, RuleID: "Okta.AdminRoleAssigned", RuleVersion: "v3", Type: "RULE", Title: "Admin role <assigned> & more",
		Severity: "HIGH", DedupString: "jane@example.com", Description: "d", Reference: "r", Runbook: "rb", Status: "OPEN",
		CreatedAt: dt0, UpdatedAt: dt0.Add(time.Second), FirstEventAt: dt0.Add(-time.Minute), LastEventAt: dt0, EventCount: 3,
		LogTypes: []string{"Okta.SystemLog"}, AlertContext: json.RawMessage("{ \"actor\" : \"<!channel>\",\n\t\"n\": 1.50 }"),
		Tags: []string{"Okta"}, Reports: map[string][]string{"MITRE ATT&CK": {"TA0004:T1098"}}, OutputIDs: []string{"o1"},
		Destinations: []string{}, Link: "https://prowl.example.com/alerts/" + id, Test: true,
	}
}

func TestDeliveriesRoundTripAndPersistence(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)

	a1 := deliveryAlert("a1")
	d1 := destinations.Delivery{AlertID: "a1", DestinationID: "slack", Status: destinations.StatusPending,
		NextAttempt: dt0.Add(time.Minute), CreatedAt: dt0, UpdatedAt: dt0, Alert: a1}
	bare := destinations.Alert{ID: "a2"} // nil slices, nil context
	d2 := destinations.Delivery{AlertID: "a2", DestinationID: "hook", Status: destinations.StatusPending, NextAttempt: dt0, Alert: bare}
	odd := deliveryAlert("a1")
	odd.AlertContext = json.RawMessage("not json \xff")
	d3 := destinations.Delivery{AlertID: "a1", DestinationID: "pd", Status: destinations.StatusPending, NextAttempt: dt0.Add(time.Minute), Alert: odd}
	empty := deliveryAlert("a3")
	empty.AlertContext = json.RawMessage{}
	d4 := destinations.Delivery{AlertID: "a3", DestinationID: "teams", Status: destinations.StatusDelivered, Alert: empty}

	var want []destinations.Delivery
	for _, d := range []destinations.Delivery{d1, d2, d3, d4} {
		d.ID = 999 // ignored
		id, err := s.AddDelivery(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if id <= 0 || len(want) > 0 && id <= want[len(want)-1].ID {
			t.Fatalf("id %d after %+v", id, want)
		}
		d.ID = id
		want = append(want, d)
	}

	// An attempt recorded on d1.
	d1 = want[0]
	d1.Attempts, d1.LastError, d1.NextAttempt, d1.UpdatedAt = 1, "503 Service Unavailable", dt0.Add(3*time.Minute), dt0.Add(time.Second)
	d1.History = []destinations.Attempt{{At: dt0, Duration: 1500 * time.Millisecond, Error: "503 Service Unavailable", StatusCode: 503}}
	if err := s.UpdateDelivery(ctx, d1); err != nil {
		t.Fatal(err)
	}
	want[0] = d1
	if err := s.UpdateDelivery(ctx, destinations.Delivery{ID: 12345, Status: destinations.StatusFailed}); !errors.Is(err, destinations.ErrNoDelivery) {
		t.Fatalf("update of an unknown delivery: %v", err)
	}

	check := func(s *Store) {
		t.Helper()
		all, err := s.ListDeliveries(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(want) {
			t.Fatalf("%d deliveries, want %d", len(all), len(want))
		}
		for i := range want {
			if !deliveriesEqual(all[i], want[i]) {
				t.Errorf("delivery %d:\n got %#v\nwant %#v", i, all[i], want[i])
			}
		}
		if string(all[0].Alert.AlertContext) != string(a1.AlertContext) || string(all[2].Alert.AlertContext) != "not json \xff" ||
			all[1].Alert.AlertContext != nil || all[3].Alert.AlertContext == nil || len(all[3].Alert.AlertContext) != 0 {
			t.Errorf("alert contexts: %q %q %q %q", all[0].Alert.AlertContext, all[2].Alert.AlertContext, all[1].Alert.AlertContext, all[3].Alert.AlertContext)
		}
		byAlert, err := s.ListDeliveries(ctx, "a1")
		if err != nil || len(byAlert) != 2 || byAlert[0].ID != want[0].ID || byAlert[1].ID != want[2].ID {
			t.Errorf("deliveries of a1: %v %+v", err, byAlert)
		}
		if none, err := s.ListDeliveries(ctx, "zz"); err != nil || len(none) != 0 {
			t.Errorf("deliveries of zz: %v %+v", err, none)
		}
		// Pending: by next attempt, then ID; the delivered one is not.
		pending, err := s.PendingDeliveries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, d := range pending {
			ids = append(ids, d.ID)
		}
		if !reflect.DeepEqual(ids, []int64{want[1].ID, want[2].ID, want[0].ID}) {
			t.Errorf("pending %v", ids)
		}
	}
	check(s)
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	check(s2)
	// IDs are never reused.
	id, err := s2.AddDelivery(ctx, d2)
	if err != nil || id <= want[len(want)-1].ID {
		t.Errorf("new id %d %v", id, err)
	}
}

// deliveriesEqual compares deliveries with times by Equal and slices by
// content and nilness.
func deliveriesEqual(a, b destinations.Delivery) bool {
	norm := func(d destinations.Delivery) destinations.Delivery {
		d = d.Clone()
		utc := func(t *time.Time) { *t = t.UTC() }
		utc(&d.NextAttempt)
		utc(&d.CreatedAt)
		utc(&d.UpdatedAt)
		utc(&d.Alert.CreatedAt)
		utc(&d.Alert.UpdatedAt)
		utc(&d.Alert.FirstEventAt)
		utc(&d.Alert.LastEventAt)
		for i := range d.History {
			utc(&d.History[i].At)
		}
		return d
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// TestDispatcherResumesFromStore runs the dispatcher on the store, stops it
// with a delivery awaiting its retry, reopens the database and checks that
// a new dispatcher resumes it with its attempt count.
func TestDispatcherResumesFromStore(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	cfgs := func() []destinations.Config {
		return []destinations.Config{{ID: "rec", Name: "Recorder", Type: "recorder", Enabled: true}}
	}
	run := func(s destinations.Store) (*destinations.Dispatcher, *destinationstest.Clock, *destinationstest.Recorder, chan destinations.Delivery) {
		clock, rec, attempts := destinationstest.NewClock(dt0), destinationstest.NewRecorder(), make(chan destinations.Delivery, 10)
		d := destinations.NewDispatcher(s, cfgs, func(destinations.Config) (destinations.Destination, error) { return rec, nil },
			destinations.DispatcherOptions{Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				OnAttempt: func(d destinations.Delivery) { attempts <- d },
				Backoff:   func(n int) time.Duration { return time.Duration(n) * time.Minute }})
		t.Cleanup(d.Stop)
		return d, clock, rec, attempts
	}
	next := func(c chan destinations.Delivery) destinations.Delivery {
		t.Helper()
		select {
		case d := <-c:
			return d
		case <-time.After(10 * time.Second):
			t.Fatal("no delivery attempt")
			return destinations.Delivery{}
		}
	}

	// A delivery recorded just before a crash, never attempted.
	crashed := deliveryAlert("crashed")
	if _, err := s.AddDelivery(ctx, destinations.Delivery{AlertID: "crashed", DestinationID: "rec", Status: destinations.StatusPending,
		NextAttempt: dt0.Add(-time.Hour), CreatedAt: dt0.Add(-time.Hour), Alert: crashed}); err != nil {
		t.Fatal(err)
	}
	d1, _, rec1, attempts1 := run(s)
	rec1.Fail(nil, errors.New("connection reset"))
	d1.Start(ctx)
	if d := next(attempts1); d.AlertID != "crashed" || d.Status != destinations.StatusDelivered {
		t.Fatalf("crashed delivery not resumed: %+v", d)
	}
	fresh := deliveryAlert("fresh")
	fresh.Destinations, fresh.OutputIDs = nil, nil // routed by severity
	if err := d1.Enqueue(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if d := next(attempts1); d.AlertID != "fresh" || d.Status != destinations.StatusPending || d.Attempts != 1 {
		t.Fatalf("first attempt: %+v", d)
	}
	d1.Stop()
	s.Close()

	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	d2, clock2, rec2, attempts2 := run(s2)
	d2.Start(ctx)
	clock2.Advance(time.Minute)
	d := next(attempts2)
	if d.AlertID != "fresh" || d.Status != destinations.StatusDelivered || d.Attempts != 2 || len(d.History) != 2 ||
		d.History[0].Error != "connection reset" || d.History[1].Error != "" {
		t.Fatalf("after restart: %+v", d)
	}
	if c := <-rec2.Calls; c.Alert.Title != crashed.Title || string(c.Alert.AlertContext) != string(crashed.AlertContext) {
		t.Errorf("resumed alert %+v", c.Alert)
	}
	d2.Stop()
	all, err := s2.ListDeliveries(ctx, "")
	if err != nil || len(all) != 2 || all[0].Status != destinations.StatusDelivered || all[1].Status != destinations.StatusDelivered ||
		all[1].Attempts != 2 || len(all[1].History) != 2 {
		t.Fatalf("stored: %v %+v", err, all)
	}
	if pending, _ := s2.PendingDeliveries(ctx); len(pending) != 0 {
		t.Errorf("still pending: %+v", pending)
	}
}
