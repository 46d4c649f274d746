package lake

import (
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/logtypes"
)

// smallFiles writes n flushes of per events each, spread over hours
// starting at 10:00 on 2025-03-04, giving n small files per hour.
func (h *storeHarness) smallFiles(hours, n, per int) int64 {
	h.t.Helper()
	h.run()
	defer h.stopRun()
	var total int64
	for i := 0; i < n; i++ {
		events := h.oktaEvents(per*hours, int64(100+i), time.Second)
		base := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
		for j := range events { // per events in each hour
			events[j].Time = base.Add(time.Duration(j/per)*time.Hour + time.Duration(j%per)*time.Minute + time.Duration(i)*time.Second)
		}
		h.appendEvents(events)
		h.waitRead()
		if err := h.lake.Flush(context.Background()); err != nil {
			h.t.Fatal(err)
		}
		total += int64(len(events))
	}
	return total
}

// TestCompactionUnderConcurrentSnapshots merges small files while readers
// keep counting the rows of fresh snapshots with DuckDB: the count never
// changes (no partial or duplicated view), files a snapshot holds survive
// until it is released, and the merged files hold the same rows, sorted.
func TestCompactionUnderConcurrentSnapshots(t *testing.T) {
	h := newStoreHarness(t, Options{})
	total := h.smallFiles(3, 10, 40) // 3 hours × 10 files
	st := h.lake.Stats()
	if st.Files != 30 || st.Rows != total {
		t.Fatalf("before compaction: %+v", st)
	}
	db := testDB(t)
	db.SetMaxOpenConns(4)

	before := h.lake.Snapshot()
	oldFiles := before.Files("okta_systemlog", time.Time{}, time.Time{})

	var stop atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for range 3 {
		wg.Go(func() {
			for !stop.Load() {
				snap := h.lake.Snapshot()
				files := snap.Files("okta_systemlog", time.Time{}, time.Time{})
				var n int64
				q := "SELECT count(*) FROM " + readFilesSQL(files)
				if err := db.QueryRow(q).Scan(&n); err != nil {
					errs <- err.Error()
				} else if n != total {
					errs <- "a snapshot counted " + strconv.FormatInt(n, 10) + " rows"
				}
				snap.Release()
				reads.Add(1)
			}
		})
	}
	for reads.Load() < 5 {
		time.Sleep(time.Millisecond)
	}
	r0 := reads.Load()
	if err := h.lake.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d snapshot counts ran during the compaction", reads.Load()-r0)
	for r := reads.Load(); reads.Load() < r+10; {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	st = h.lake.Stats()
	if st.Files != 3 || st.Rows != total || st.Compactions != 3 || st.CompactedFiles != 30 {
		t.Errorf("after compaction: %+v", st)
	}
	// The snapshot taken before still reads its files.
	for _, f := range oldFiles {
		if _, err := os.Stat(f.Path); err != nil {
			t.Fatalf("a file held by a snapshot was deleted: %v", err)
		}
	}
	if n := countRows(t, db, oldFiles); n != total {
		t.Errorf("the old snapshot counts %d", n)
	}
	if st.PendingDeletes != 30 {
		t.Errorf("pending deletes %d, want 30", st.PendingDeletes)
	}
	before.Release()
	for _, f := range oldFiles {
		if _, err := os.Stat(f.Path); !os.IsNotExist(err) {
			t.Errorf("%s outlived its last snapshot: %v", f.Path, err)
		}
	}
	if st := h.lake.Stats(); st.PendingDeletes != 0 {
		t.Errorf("pending deletes %d", st.PendingDeletes)
	}

	snap := h.lake.Snapshot()
	defer snap.Release()
	for _, f := range snap.Files("okta_systemlog", time.Time{}, time.Time{}) {
		var n int64
		var lo, hi time.Time
		err := db.QueryRow(`SELECT count(*), min(p_event_time), max(p_event_time) FROM read_parquet(`+sqlString(f.Path)+`)`).Scan(&n, &lo, &hi)
		if err != nil {
			t.Fatal(err)
		}
		if n != f.Rows || !lo.Equal(f.Min) || !hi.Equal(f.Max) {
			t.Errorf("%s: %d rows %v..%v; manifest %d rows %v..%v", f.Path, n, lo, hi, f.Rows, f.Min, f.Max)
		}
	}
	// Reopening sees the compacted lake.
	h.reopen()
	if st := h.lake.Stats(); st.Files != 3 || st.Rows != total {
		t.Errorf("after reopening: %+v", st)
	}
}

// TestCompactionPolicy checks which partitions are merged: an hour that is
// not over keeps up to four small files, then merges; a closed hour merges
// any two; files at the target size are left alone.
func TestCompactionPolicy(t *testing.T) {
	h := newStoreHarness(t, Options{})
	h.clk.t = time.Date(2025, 3, 4, 10, 30, 0, 0, time.UTC) // inside the files' hour
	h.smallFiles(1, 4, 50)
	ctx := context.Background()
	if err := h.lake.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if st := h.lake.Stats(); st.Files != 4 || st.Compactions != 0 {
		t.Fatalf("four files of an open hour: %+v", st)
	}
	h.smallFiles(1, 1, 50)
	if err := h.lake.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if st := h.lake.Stats(); st.Files != 1 || st.Compactions != 1 {
		t.Fatalf("five files of an open hour: %+v", st)
	}
	h.smallFiles(1, 1, 50)
	h.clk.t = time.Date(2025, 3, 4, 11, 0, 0, 0, time.UTC) // the hour is over, but late events may still come
	if err := h.lake.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if st := h.lake.Stats(); st.Files != 2 {
		t.Fatalf("just after the hour: %+v", st)
	}
	h.clk.t = time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC)
	if err := h.lake.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if st := h.lake.Stats(); st.Files != 1 || st.Rows != 300 {
		t.Fatalf("two files of a closed hour: %+v", st)
	}
	// Files at the target size are not small: nothing to merge.
	h.lake.opts.TargetFileBytes = 1
	h.smallFiles(1, 2, 50)
	if err := h.lake.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if st := h.lake.Stats(); st.Files != 3 {
		t.Fatalf("big files: %+v", st)
	}
}

// TestCompactionAcrossSchemaChange merges files written before and after a
// custom schema gained a field: the merged file has the union of columns.
func TestCompactionAcrossSchemaChange(t *testing.T) {
	h := newStoreHarness(t, Options{})
	add := func(extra string) {
		s, err := logtypes.ParseSchema("c.yml", []byte(`
schema: Custom.Evolving
fields:
  - name: at
    type: timestamp
    timeFormat: rfc3339
    isEventTime: true
  - name: a
    type: string
`+extra))
		if err != nil {
			t.Fatal(err)
		}
		if err := h.reg.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	add("")
	h.ingest(h.normalize("Custom.Evolving", []byte(`{"at":"2025-03-04T01:00:00Z","a":"x","b":5}`)))
	add("  - name: b\n    type: bigint\n")
	h.ingest(h.normalize("Custom.Evolving", []byte(`{"at":"2025-03-04T01:30:00Z","a":"y","b":6}`)))
	if err := h.lake.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := h.lake.Snapshot()
	defer snap.Release()
	files := snap.Files("custom_evolving", time.Time{}, time.Time{})
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	rows := tableRows(t, testDB(t), snap, "custom_evolving")
	if len(rows) != 2 || rows[0]["b"] != nil || rows[0]["p_extra"] != `{"b":5}` || rows[1]["b"] != float64(6) || rows[1]["p_extra"] != nil {
		t.Errorf("merged rows %v", rows)
	}
	if cols := snap.Columns("custom_evolving"); cols[1].Name != "a" || cols[2].Name != "b" {
		t.Errorf("columns %v", cols)
	}
}

// TestTierRunBoundsRewrites simulates an hour of 2 MiB flushes into an
// open partition, compacting after each as Compact does, and counts the
// bytes compaction rewrites: about three times the data, where merging
// every small file at each compaction rewrites it about 90 times.
func TestTierRunBoundsRewrites(t *testing.T) {
	const flushes, size = 360, 2 << 20 // every 10 s for an hour
	base := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	var files []File
	var written, rewritten int64
	maxFiles := 0
	for i := range flushes {
		at := base.Add(time.Duration(i) * 10 * time.Second)
		files = append(files, File{Path: strconv.Itoa(i), Bytes: size, Max: at})
		written += size
		if run := tierRun(files); len(run) > 0 {
			merged := File{Path: "c" + strconv.Itoa(i)}
			for _, f := range run {
				merged.Bytes += f.Bytes
				if f.Max.After(merged.Max) {
					merged.Max = f.Max
				}
				files = slices.DeleteFunc(files, func(g File) bool { return g.Path == f.Path })
			}
			files = append(files, merged)
			rewritten += merged.Bytes
		}
		maxFiles = max(maxFiles, len(files))
	}
	if amp := float64(rewritten) / float64(written); amp > 4 {
		t.Errorf("compaction rewrote %.1f times the data written", amp)
	}
	if maxFiles > 20 {
		t.Errorf("the open partition reached %d files", maxFiles)
	}
	var total int64
	for _, f := range files {
		total += f.Bytes
	}
	if total != written {
		t.Errorf("files hold %d bytes, %d were written", total, written)
	}
}

func TestTierRunTakesOneTier(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2025, 3, 4, 10, m, 0, 0, time.UTC) }
	file := func(name string, bytes int64, m int) File { return File{Path: name, Bytes: bytes, Max: at(m)} }
	paths := func(fs []File) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Path)
		}
		return out
	}
	const mib = 1 << 20
	mid := []File{file("m1", 3*mib, 1), file("m2", 2*mib, 2), file("m3", 3*mib, 3), file("m4", 2*mib, 4), file("m5", 3*mib, 5)}
	small := []File{file("s3", mib/2, 13), file("s1", mib/2, 11), file("s2", 1000, 12), file("s4", mib/4, 14), file("s5", mib/2, 15)}
	big := file("big", 100*mib, 0)
	// The smallest tier with five files wins, oldest first.
	if got := paths(tierRun(append(append([]File{big}, mid...), small...))); !slices.Equal(got, []string{"s1", "s2", "s3", "s4", "s5"}) {
		t.Errorf("tierRun = %v, want the five small files", got)
	}
	if got := paths(tierRun(append(append([]File{big}, mid...), small[:4]...))); !slices.Equal(got, []string{"m1", "m2", "m3", "m4", "m5"}) {
		t.Errorf("tierRun = %v, want the five 2-3 MiB files", got)
	}
	if got := tierRun(append(append([]File{big}, mid[:4]...), small[:4]...)); got != nil {
		t.Errorf("no tier has five files: tierRun = %v", paths(got))
	}
	if sizeTier(mib-1) != 0 || sizeTier(mib) != 1 || sizeTier(4*mib-1) != 1 || sizeTier(4*mib) != 2 || sizeTier(16*mib) != 3 {
		t.Error("size tiers are not 1, 4, 16 MiB apart")
	}
}
