package lake

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRetention drops whole hour partitions older than each table's
// retention, keeps the rest, honours "forever", defers deletion while a
// snapshot holds the files, and runs in the background from Run.
func TestRetention(t *testing.T) {
	h := newStoreHarness(t, Options{Retention: map[string]time.Duration{"okta_systemlog": 48 * time.Hour, TableQuarantine: 0},
		DefaultRetention: 24 * time.Hour})
	ctx := context.Background()
	now := h.clk.Now() // 2025-03-04 18:00
	events := h.oktaEvents(5, 11, time.Second)
	for i, age := range []time.Duration{72 * time.Hour, 49 * time.Hour, 48*time.Hour + 30*time.Minute, 47*time.Hour + 30*time.Minute, time.Hour} {
		events[i].Time = now.Add(-age)
	}
	h.ingest(events)
	old := now.Add(-30 * 24 * time.Hour)
	h.lake.WriteRuleMatches(ctx, []RuleMatch{{RowID: "old", EventTime: old}, {RowID: "new", EventTime: now.Add(-time.Hour)}})
	h.lake.WriteQuarantine(ctx, []Quarantined{{Raw: []byte("x"), ReceivedAt: old}})
	if err := h.lake.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	held := h.lake.Snapshot()
	doomed := held.Files("okta_systemlog", time.Time{}, now.Add(-48*time.Hour))

	if err := h.lake.EnforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	snap := h.lake.Snapshot()
	defer snap.Release()
	var hours []int
	for _, f := range snap.Files("okta_systemlog", time.Time{}, time.Time{}) {
		hours = append(hours, int(now.Sub(f.Min).Hours()))
	}
	// An event 48h30m old is in the hour that ended 48h ago: dropped. One
	// 47h30m old is in the hour that ended 47h ago: kept.
	if len(hours) != 2 || hours[0] != 47 || hours[1] != 1 {
		t.Errorf("okta partitions left, by age in hours: %v", hours)
	}
	if fs := snap.Files(TableRuleMatches, time.Time{}, time.Time{}); len(fs) != 1 || fs[0].Rows != 1 {
		t.Errorf("rule_matches (default retention 24h): %+v", fs)
	}
	if fs := snap.Files(TableQuarantine, time.Time{}, time.Time{}); len(fs) != 1 {
		t.Errorf("quarantine (kept forever): %+v", fs)
	}
	if len(doomed) != 2 { // the 49h and 48h30m events share the 17:00 partition
		t.Fatalf("%d doomed files", len(doomed))
	}
	for _, f := range doomed {
		if _, err := os.Stat(f.Path); err != nil {
			t.Errorf("a dropped file was deleted while a snapshot holds it")
		}
	}
	held.Release()
	for _, f := range doomed {
		if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
			t.Errorf("%s survived its release", f.Path)
		}
		if _, err := os.Stat(filepath.Dir(f.Path)); !os.IsNotExist(err) {
			t.Errorf("the empty partition directory %s stays", filepath.Dir(f.Path))
		}
	}
	if st := h.lake.Stats(); st.RetentionDrops != 3 {
		t.Errorf("retention drops %d", st.RetentionDrops)
	}

	// In the background: Run enforces retention when it starts.
	h.clk.Advance(48 * time.Hour)
	h.run()
	deadline := time.Now().Add(10 * time.Second)
	for h.lake.Stats().Files != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	h.stopRun()
	if st := h.lake.Stats(); st.Files != 1 || st.Tables[0].Name != TableQuarantine {
		t.Errorf("after two more days: %+v", st.Tables)
	}
	if h.lake.RetentionOf("okta_systemlog") != 48*time.Hour || h.lake.RetentionOf(TableQuarantine) != 0 || h.lake.RetentionOf("x") != 24*time.Hour {
		t.Error("RetentionOf")
	}
}
