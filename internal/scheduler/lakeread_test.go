package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/lake"
)

// TestCursorPages checks that a cursor reads every row of its slices once,
// in (p_event_time, p_row_id) order, across pages that end inside runs of
// equal event times and across slices: each page is its keys and then its
// rows.
func TestCursorPages(t *testing.T) {
	start := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	w := newLakeWorld(t, start)
	rng := rand.New(rand.NewPCG(1, 2))
	var ms []lake.RuleMatch
	var want []string
	for i := range 67 {
		// Three hours, many rows sharing an event time.
		at := start.Add(time.Duration(rng.IntN(3))*time.Hour + time.Duration(rng.IntN(4))*time.Minute)
		id := fmt.Sprintf("row-%03d", rng.IntN(1000)*100+i)
		ms = append(ms, lake.RuleMatch{RowID: id, LogType: "Okta.SystemLog", EventTime: at, RuleID: "R", AlertID: "a"})
		want = append(want, sqlTime(at)+" "+id)
	}
	// Another rule's matches, which the cursor's condition leaves out.
	ms = append(ms, lake.RuleMatch{RowID: "other", LogType: "Okta.SystemLog", EventTime: start, RuleID: "S"})
	w.writeMatches(ms...)
	slices.Sort(want)

	l := NewLake(w.q, w.lake.Snapshot)
	ctx := context.Background()
	where, params := "p_rule_id = ?", []any{"R"}
	for i, pageSize := range []int{1, 4, 10, 100} {
		// Minute counts, and hour counts over more than 30 days.
		span := []time.Duration{4 * time.Hour, 40 * 24 * time.Hour}[i%2]
		sl, total, err := timeSlices(ctx, l, lake.TableRuleMatches, where, params, start, start.Add(span), 20, time.Minute)
		if err != nil || total != int64(len(want)) || len(sl) < 2 {
			t.Fatalf("timeSlices: %d slices, %d rows, %v", len(sl), total, err)
		}
		c := &cursor{l: l, table: lake.TableRuleMatches, columns: "p_event_time, p_row_id, p_rule_id", where: where, params: params,
			slices: sl, pageSize: pageSize, timeout: time.Minute}
		var got []string
		for {
			row, err := c.next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if row == nil {
				break
			}
			at, id := c.key(row)
			got = append(got, sqlTime(at)+" "+id)
		}
		if !slices.Equal(got, want) {
			t.Errorf("page size %d: read %d rows\n%v\nwant %d\n%v", pageSize, len(got), got, len(want), want)
		}
	}
}
