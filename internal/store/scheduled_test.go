package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestScheduledRuns(t *testing.T) {
	ctx := context.Background()
	s, err := Open(MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	run := func(kind, name string, i int, status string) int64 {
		t.Helper()
		at := t0.Add(time.Duration(i) * 15 * time.Minute)
		id, err := s.StartScheduledRun(ctx, ScheduledRun{Kind: kind, Name: name, Trigger: TriggerSchedule, ScheduledAt: at, StartedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		if status != RunRunning {
			end := at.Add(1500 * time.Millisecond)
			if err := s.FinishScheduledRun(ctx, ScheduledRun{ID: id, Kind: kind, Name: name, FinishedAt: &end, Status: status,
				Rows: int64(i), Truncated: i%2 == 0, Matches: i, Alerts: 1, Error: fmt.Sprint("e", i)}); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	for i := range KeepRuns + 3 {
		run(RunKindQuery, "q1", i, RunOK)
	}
	run(RunKindQuery, "q2", 0, RunTimeout)
	run(RunKindCorrelation, "q1", 0, RunOK) // same name, other kind
	run(RunKindQuery, "q2", 1, RunRunning)

	runs, err := s.ListScheduledRuns(ctx, RunKindQuery, "q1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != KeepRuns || runs[0].Rows != KeepRuns+2 || runs[len(runs)-1].Rows != 3 {
		t.Fatalf("kept %d runs, newest rows %d, oldest rows %d", len(runs), runs[0].Rows, runs[len(runs)-1].Rows)
	}
	r := runs[0]
	if r.Status != RunOK || r.DurationMS != 1500 || r.FinishedAt == nil || !r.Truncated || r.Error != fmt.Sprint("e", KeepRuns+2) || r.Trigger != TriggerSchedule ||
		!r.ScheduledAt.Equal(t0.Add(time.Duration(KeepRuns+2)*15*time.Minute)) {
		t.Errorf("run: %+v", r)
	}
	if both, _ := s.ListScheduledRuns(ctx, "", "q1", 3); len(both) != 3 || both[0].Kind != RunKindCorrelation {
		t.Errorf("both kinds: %+v", both)
	}
	latest, err := s.LatestScheduledRuns(ctx, RunKindQuery, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 2 || len(latest["q1"]) != 2 || len(latest["q2"]) != 2 || latest["q2"][0].Status != RunRunning || latest["q2"][1].Status != RunTimeout {
		t.Errorf("latest: %+v", latest)
	}
	if err := s.AbandonScheduledRuns(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	q2, _ := s.ListScheduledRuns(ctx, RunKindQuery, "q2", 1)
	if q2[0].Status != RunError || q2[0].Error == "" || q2[0].FinishedAt == nil {
		t.Errorf("abandoned run: %+v", q2[0])
	}
}

func TestCorrelationSeen(t *testing.T) {
	ctx := context.Background()
	s, err := Open(MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	keys := make([]string, 450) // more than one insert statement
	for i := range keys {
		keys[i] = fmt.Sprint("m:", i)
	}
	if err := s.MarkCorrelationSeen(ctx, "R1", keys, t0.Add(time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkCorrelationSeen(ctx, "R2", []string{"r:x"}, t0.Add(3*time.Hour), t0); err != nil {
		t.Fatal(err)
	}
	// Seen again with an earlier expiry: the later one stays.
	if err := s.MarkCorrelationSeen(ctx, "R1", []string{"m:0"}, t0.Add(time.Minute), t0); err != nil {
		t.Fatal(err)
	}
	seen, err := s.CorrelationSeen(ctx, "R1", t0.Add(30*time.Minute))
	if err != nil || len(seen) != 450 || !seen["m:449"] || seen["r:x"] {
		t.Fatalf("seen: %d keys, %v", len(seen), err)
	}
	if seen, _ := s.CorrelationSeen(ctx, "R1", t0.Add(2*time.Hour)); len(seen) != 0 {
		t.Errorf("expired keys still seen: %d", len(seen))
	}
	// Marking later forgets what expired.
	if err := s.MarkCorrelationSeen(ctx, "R2", []string{"r:y"}, t0.Add(5*time.Hour), t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	s.db.QueryRow("SELECT count(*) FROM correlation_seen").Scan(&n)
	if n != 2 {
		t.Errorf("%d keys kept, want 2", n)
	}
}
