package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// record returns the deterministic payload of the i-th record of a test:
// a recognisable prefix and filler of a length that varies with i.
func record(i int, maxFill int) []byte {
	p := fmt.Appendf(nil, "rec-%d|", i)
	n := 0
	if maxFill > 0 {
		n = (i * 7919) % maxFill
	}
	for j := range n {
		p = append(p, byte('a'+(i+j)%26))
	}
	return p
}

func openLog(t testing.TB, opts Options) *Log {
	t.Helper()
	l, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// appendN appends records [from, from+n) in batches of batch and checks the
// offsets Append returns.
func appendN(t testing.TB, l *Log, from, n, batch, maxFill int) {
	t.Helper()
	for i := from; i < from+n; i += batch {
		var recs [][]byte
		for j := i; j < min(i+batch, from+n); j++ {
			recs = append(recs, record(j, maxFill))
		}
		last, err := l.Append(context.Background(), recs)
		if err != nil {
			t.Fatalf("Append at %d: %v", i, err)
		}
		if want := Offset(i + len(recs) - 1); last != want {
			t.Fatalf("Append returned last offset %d, want %d", last, want)
		}
	}
}

// expectRecords reads [from, to) and checks each against record().
func expectRecords(t testing.TB, l *Log, from, to, maxFill int) {
	t.Helper()
	r, err := l.Reader(Offset(from))
	if err != nil {
		t.Fatalf("Reader(%d): %v", from, err)
	}
	defer r.Close()
	for i := from; i < to; i++ {
		rec, off, err := r.Next(context.Background())
		if err != nil {
			t.Fatalf("Next at %d: %v", i, err)
		}
		if off != Offset(i) || !bytes.Equal(rec, record(i, maxFill)) {
			t.Fatalf("record %d: got offset %d payload %.40q, want %.40q", i, off, rec, record(i, maxFill))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if rec, off, err := r.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after the last record: got offset %d %.40q err %v, want to wait", off, rec, err)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name         string
		segmentBytes int64
		records      int
		batch        int
		maxFill      int
		wantSegs     int // minimum number of segments
	}{
		{"one segment", 0, 500, 100, 300, 1},
		{"many segments", 1 << 10, 2000, 37, 200, 50},
		{"batch larger than a segment", 4 << 10, 1000, 250, 100, 10},
		{"records larger than a segment", 64, 50, 3, 300, 40},
		{"empty payloads", 256, 300, 10, 0, 10},
		{"single records", 512, 200, 1, 50, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Dir: dir, SegmentBytes: tc.segmentBytes}
			l := openLog(t, opts)
			appendN(t, l, 0, tc.records, tc.batch, tc.maxFill)
			if got := l.Next(); got != Offset(tc.records) {
				t.Fatalf("Next = %d, want %d", got, tc.records)
			}
			st := l.Stats()
			if st.Segments < tc.wantSegs {
				t.Fatalf("%d segments, want at least %d", st.Segments, tc.wantSegs)
			}
			if st.Records != uint64(tc.records) || st.Syncs == 0 {
				t.Fatalf("stats %+v", st)
			}
			expectRecords(t, l, 0, tc.records, tc.maxFill)
			for _, from := range []int{1, tc.records / 3, tc.records - 1, tc.records} {
				expectRecords(t, l, from, tc.records, tc.maxFill)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			l = openLog(t, opts)
			if rec := l.Recovered(); rec.DroppedBytes != 0 {
				t.Fatalf("clean reopen dropped bytes: %v", rec)
			}
			if got := l.Stats(); got.Segments != st.Segments || got.Bytes != st.Bytes || got.Next != st.Next {
				t.Fatalf("after reopen stats %+v, before %+v", got, st)
			}
			appendN(t, l, tc.records, 10, 5, tc.maxFill)
			expectRecords(t, l, 0, tc.records+10, tc.maxFill)
		})
	}
}

func TestSegmentFiles(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, Options{Dir: dir, SegmentBytes: headerSize + 2*48})
	// Each record is 8+40 bytes: two fit in a segment after the 20-byte header.
	for range 5 {
		if _, err := l.Append(context.Background(), [][]byte{make([]byte, 40)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), segmentExt) {
			names = append(names, e.Name())
		}
	}
	want := []string{"00000000000000000000.wal", "00000000000000000002.wal", "00000000000000000004.wal"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("segments %v, want %v", names, want)
	}
	if st := l.Stats(); st.Bytes != 3*headerSize+5*48 {
		t.Fatalf("Bytes = %d, want %d", st.Bytes, 3*headerSize+5*48)
	}
}

func TestConcurrentAppenders(t *testing.T) {
	for _, interval := range []time.Duration{0, DefaultSyncInterval} {
		t.Run(fmt.Sprint("interval=", interval), func(t *testing.T) {
			const writers, batches = 8, 40
			l := openLog(t, Options{Dir: t.TempDir(), SegmentBytes: 16 << 10, SyncInterval: interval})
			type batch struct {
				last Offset
				n    int
			}
			acks := make([][]batch, writers)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w), 1))
					for b := range batches {
						n := 1 + rng.IntN(20)
						recs := make([][]byte, n)
						for i := range recs {
							recs[i] = fmt.Appendf(nil, "w%d b%d r%d %s", w, b, i, strings.Repeat("x", rng.IntN(200)))
						}
						last, err := l.Append(context.Background(), recs)
						if err != nil {
							t.Error(err)
							return
						}
						acks[w] = append(acks[w], batch{last, n})
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			// Read everything once, then check every acknowledged batch sits
			// at its offsets, contiguous and in order.
			st := l.Stats()
			all := make([]string, st.Next)
			r, err := l.Reader(0)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for i := range all {
				rec, off, err := r.Next(context.Background())
				if err != nil || off != Offset(i) {
					t.Fatalf("record %d: off %d err %v", i, off, err)
				}
				all[i] = string(rec)
			}
			total := 0
			for w, bs := range acks {
				for b, ba := range bs {
					total += ba.n
					first := int(ba.last) - ba.n + 1
					for i := range ba.n {
						if want := fmt.Sprintf("w%d b%d r%d ", w, b, i); !strings.HasPrefix(all[first+i], want) {
							t.Fatalf("offset %d holds %.30q, want prefix %q", first+i, all[first+i], want)
						}
					}
				}
			}
			if total != len(all) {
				t.Fatalf("log holds %d records, %d acknowledged", len(all), total)
			}
			t.Logf("%d appends, %d fsyncs, %d segments", st.Appends, st.Syncs, st.Segments)
		})
	}
}

// idleReader appends records 0-2 of 20 bytes to l and returns a reader
// at their end, after checking that read, on that idle reader, waits
// until its context's deadline.
func idleReader(t *testing.T, l *Log, read func(*Reader, context.Context) error) *Reader {
	t.Helper()
	appendN(t, l, 0, 3, 3, 20)
	r, err := l.Reader(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := read(r, ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reading an idle log: %v, want deadline exceeded", err)
	}
	return r
}

// readResult is what a reader goroutine hands back.
type readResult struct {
	rec []byte
	off Offset
	err error
}

func TestReaderWaitsForAppend(t *testing.T) {
	l := openLog(t, Options{Dir: t.TempDir(), SegmentBytes: 128})
	r := idleReader(t, l, func(r *Reader, ctx context.Context) error { _, _, err := r.Next(ctx); return err })
	got := make(chan readResult)
	go func() {
		for range 30 {
			rec, off, err := r.Next(context.Background())
			got <- readResult{bytes.Clone(rec), off, err}
		}
		_, _, err := r.Next(context.Background()) // blocks until Close
		got <- readResult{err: err}
	}()
	for i := 3; i < 33; i++ { // one record at a time, crossing segments
		appendN(t, l, i, 1, 1, 20)
		res := <-got
		if res.err != nil || res.off != Offset(i) || !bytes.Equal(res.rec, record(i, 20)) {
			t.Fatalf("woke with %d %q %v, want %d %q", res.off, res.rec, res.err, i, record(i, 20))
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if res := <-got; !errors.Is(res.err, ErrClosed) {
		t.Fatalf("blocked reader after Close: %v, want ErrClosed", res.err)
	}
}

func TestReaderTailsConcurrentAppends(t *testing.T) {
	for _, noSync := range []bool{false, true} {
		t.Run(fmt.Sprint("NoSync=", noSync), func(t *testing.T) { testReaderTails(t, noSync) })
	}
}

func testReaderTails(t *testing.T, noSync bool) {
	const n = 3000
	l := openLog(t, Options{Dir: t.TempDir(), SegmentBytes: 8 << 10, NoSync: noSync})
	errc := make(chan error, 1)
	go func() {
		r, err := l.Reader(0)
		if err != nil {
			errc <- err
			return
		}
		defer r.Close()
		for i := range n {
			rec, off, err := r.Next(context.Background())
			if err != nil {
				errc <- err
				return
			}
			if off != Offset(i) || !bytes.Equal(rec, record(i, 500)) {
				errc <- fmt.Errorf("record %d: got offset %d %.30q", i, off, rec)
				return
			}
		}
		errc <- nil
	}()
	for i := 0; i < n; {
		k := 1 + i%13
		appendN(t, l, i, min(k, n-i), k, 500)
		i += k
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestReaderRange(t *testing.T) {
	l := openLog(t, Options{Dir: t.TempDir()})
	appendN(t, l, 0, 5, 5, 10)
	if _, err := l.Reader(6); err == nil {
		t.Fatal("Reader beyond the end succeeded")
	}
	if _, err := l.Reader(5); err != nil {
		t.Fatalf("Reader at the end: %v", err)
	}
}

func TestAppendErrors(t *testing.T) {
	l := openLog(t, Options{Dir: t.TempDir()})
	ctx := context.Background()
	if _, err := l.Append(ctx, nil); !errors.Is(err, ErrEmptyBatch) {
		t.Fatalf("empty batch: %v", err)
	}
	if _, err := l.Append(ctx, [][]byte{{1}, make([]byte, MaxRecordBytes+1)}); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("huge record: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Append(cctx, [][]byte{{1}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	if l.Next() != 0 {
		t.Fatalf("rejected appends wrote records: Next = %d", l.Next())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, [][]byte{{1}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := l.Reader(0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reader after Close: %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

func TestDirectoryLock(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, Options{Dir: dir})
	if _, err := Open(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open of the same directory: %v", err)
	}
	l.Close()
	openLog(t, Options{Dir: dir})
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{},
		{Dir: t.TempDir(), SegmentBytes: 10},
		{Dir: t.TempDir(), SyncInterval: -1},
	} {
		if l, err := Open(o); err == nil {
			l.Close()
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
}

func TestLargeRecords(t *testing.T) {
	sizes := []int{readBufBytes + 1, 1, 2 << 20, 10, 3 * readBufBytes}
	big := func(i, n int) []byte {
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(i + j*31)
		}
		return p
	}
	for _, segBytes := range []int64{0, 4 << 10} {
		opts := Options{Dir: t.TempDir(), SegmentBytes: segBytes}
		l := openLog(t, opts)
		for i, n := range sizes {
			if _, err := l.Append(context.Background(), [][]byte{big(i, n)}); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			r, err := l.Reader(0)
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range sizes {
				rec, off, err := r.Next(context.Background())
				if err != nil || off != Offset(i) || !bytes.Equal(rec, big(i, n)) {
					t.Fatalf("segment bytes %d: record %d: %d bytes at %d, %v", segBytes, i, len(rec), off, err)
				}
			}
			r.Close()
			l.Close()
			l = openLog(t, opts)
		}
	}
}

func TestCorruptSealedSegment(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
	}{
		{"flipped payload byte", func(t *testing.T, dir string) {
			path := filepath.Join(dir, segmentName(0))
			b, _ := os.ReadFile(path)
			b[headerSize+recordHeaderSize+2] ^= 0x40 // first record's payload
			os.WriteFile(path, b, 0o640)
		}, "00000000000000000000.wal at byte 20 (offset 0): checksum mismatch"},
		{"cut sealed segment", func(t *testing.T, dir string) {
			path := filepath.Join(dir, segmentName(0))
			b, _ := os.ReadFile(path)
			os.WriteFile(path, b[:len(b)-3], 0o640)
		}, "partial record at the end of a sealed segment"},
		{"missing segment", func(t *testing.T, dir string) {
			entries, _ := os.ReadDir(dir)
			os.Remove(filepath.Join(dir, entries[1].Name()))
		}, "but the next one starts at"},
		{"bad header", func(t *testing.T, dir string) {
			path := filepath.Join(dir, segmentName(0))
			b, _ := os.ReadFile(path)
			b[0] = 'X'
			os.WriteFile(path, b, 0o640)
		}, "bad magic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Dir: dir, SegmentBytes: 1 << 10}
			l := openLog(t, opts)
			appendN(t, l, 0, 100, 10, 100)
			l.Close()
			tc.damage(t, dir)
			l = openLog(t, opts) // only the last segment is checked at Open
			r, err := l.Reader(0)
			if err == nil {
				defer r.Close()
				for err == nil {
					_, _, err = r.Next(context.Background())
				}
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrCorrupt with %q", err, tc.want)
			}
		})
	}
}

func TestConsumerOffsets(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 512}
	l := openLog(t, opts)
	appendN(t, l, 0, 100, 10, 50)

	if off, err := l.CommittedOffset("engine"); err != nil || off != 0 {
		t.Fatalf("never committed: %d %v", off, err)
	}
	for _, c := range []struct {
		consumer string
		off      Offset
		ok       bool
	}{
		{"engine", 40, true},
		{"lake", 100, true},
		{"lake", 101, false}, // beyond the end
		{"", 1, false},
		{"../x", 1, false},
		{".hidden", 1, false},
		{"a b", 1, false},
		{strings.Repeat("x", 101), 1, false},
		{"engine", 41, true},
		{"replay.v2_x-1", 0, true},
	} {
		err := l.CommitOffset(c.consumer, c.off)
		if (err == nil) != c.ok {
			t.Errorf("CommitOffset(%q, %d) = %v, want ok=%v", c.consumer, c.off, err, c.ok)
		}
	}
	if off, err := l.RegisterConsumer("alerts"); err != nil || off != 0 {
		t.Fatalf("RegisterConsumer: %d %v", off, err)
	}
	if off, _ := l.RegisterConsumer("engine"); off != 41 {
		t.Fatalf("RegisterConsumer of a committed consumer = %d, want 41", off)
	}
	if err := l.UnregisterConsumer("replay.v2_x-1"); err != nil {
		t.Fatal(err)
	}
	l.Close()

	l = openLog(t, opts)
	want := map[string]Offset{"engine": 41, "lake": 100, "alerts": 0, "replay.v2_x-1": 0}
	for name, off := range want {
		if got, err := l.CommittedOffset(name); err != nil || got != off {
			t.Errorf("after reopen %s = %d %v, want %d", name, got, err, off)
		}
	}
	st := l.Stats()
	var got []string
	for _, c := range st.Consumers {
		got = append(got, fmt.Sprintf("%s@%d+%d", c.Name, c.Committed, c.Lag))
	}
	if fmt.Sprint(got) != "[alerts@0+100 engine@41+59 lake@100+0]" {
		t.Fatalf("consumers in stats: %v", got)
	}
	// A crash between writing the temporary file and renaming it leaves
	// the old offset in place.
	tmp := filepath.Join(dir, consumersDir, "engine.offset.tmp")
	if err := os.WriteFile(tmp, []byte("torn"), 0o640); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = openLog(t, opts)
	if got, _ := l.CommittedOffset("engine"); got != 41 {
		t.Fatalf("after a torn commit: %d, want 41", got)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temporary offset file left behind: %v", err)
	}
	// A damaged offset file is an error naming it, not a silent reset to 0.
	l.Close()
	if err := os.WriteFile(filepath.Join(dir, consumersDir, "lake.offset"), []byte("garbage!garbage!"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(opts); err == nil || !strings.Contains(err.Error(), "lake.offset") {
		t.Fatalf("Open with a damaged offset file: %v", err)
	}
}

func TestTruncate(t *testing.T) {
	// 10 records of 8+92 bytes per 1020-byte segment: segment k holds
	// offsets [10k, 10k+10).
	const perSeg, total = 10, 95
	fixed := func(i int) []byte {
		p := make([]byte, 92)
		copy(p, fmt.Sprintf("rec-%d|", i))
		return p
	}
	tests := []struct {
		name      string
		committed map[string]Offset
		wantFirst Offset
	}{
		{"no consumers keeps everything", nil, 0},
		{"registered, never committed", map[string]Offset{"engine": 0}, 0},
		{"inside a segment keeps that segment", map[string]Offset{"engine": 37}, 30},
		{"on a segment boundary", map[string]Offset{"engine": 40}, 40},
		{"minimum of all consumers", map[string]Offset{"engine": 90, "lake": 25}, 20},
		{"never deletes the active segment", map[string]Offset{"engine": total}, 90},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Dir: dir, SegmentBytes: headerSize + perSeg*100}
			l := openLog(t, opts)
			for i := range total {
				if _, err := l.Append(context.Background(), [][]byte{fixed(i)}); err != nil {
					t.Fatal(err)
				}
			}
			for name, off := range tc.committed {
				if off == 0 {
					if _, err := l.RegisterConsumer(name); err != nil {
						t.Fatal(err)
					}
				} else if err := l.CommitOffset(name, off); err != nil {
					t.Fatal(err)
				}
			}
			// A reader parked in the first segment.
			parked, err := l.Reader(3)
			if err != nil {
				t.Fatal(err)
			}
			defer parked.Close()
			if err := l.Truncate(); err != nil {
				t.Fatal(err)
			}
			check := func() {
				t.Helper()
				if got := l.First(); got != tc.wantFirst {
					t.Fatalf("First = %d, want %d", got, tc.wantFirst)
				}
				if got := l.Stats().Segments; got != (total+perSeg-1)/perSeg-int(tc.wantFirst)/perSeg {
					t.Fatalf("%d segments left", got)
				}
				r, err := l.Reader(tc.wantFirst)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				for i := int(tc.wantFirst); i < total; i++ {
					rec, off, err := r.Next(context.Background())
					if err != nil || off != Offset(i) || !bytes.Equal(rec, fixed(i)) {
						t.Fatalf("record %d after Truncate: %d %.20q %v", i, off, rec, err)
					}
				}
				if tc.wantFirst > 0 {
					if _, err := l.Reader(tc.wantFirst - 1); !errors.Is(err, ErrTruncated) {
						t.Fatalf("Reader below First: %v", err)
					}
				}
			}
			check()
			// The parked reader finishes its (possibly deleted) segment,
			// then either continues or reports the truncation.
			for i := 3; i < total; i++ {
				_, off, err := parked.Next(context.Background())
				if err != nil {
					if tc.wantFirst == 0 || !errors.Is(err, ErrTruncated) || i != perSeg {
						t.Fatalf("parked reader at %d: %v", i, err)
					}
					break
				}
				if off != Offset(i) {
					t.Fatalf("parked reader: offset %d, want %d", off, i)
				}
			}
			l.Close()
			l = openLog(t, opts)
			check()
			if err := l.Truncate(); err != nil { // idempotent
				t.Fatal(err)
			}
			check()
		})
	}
}

// TestFailStop: after a failed write the log refuses every later append
// with the same error instead of carrying on over a hole, and a reopen
// recovers.
func TestFailStop(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, Options{Dir: dir})
	appendN(t, l, 0, 10, 5, 50)
	l.active.Close() // make the next write fail
	_, err1 := l.Append(context.Background(), [][]byte{record(10, 50)})
	_, err2 := l.Append(context.Background(), [][]byte{record(10, 50)})
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
		t.Fatalf("appends after a write failure: %v, %v", err1, err2)
	}
	if !strings.Contains(err1.Error(), segmentName(0)) {
		t.Fatalf("error does not name the segment: %v", err1)
	}
	if l.Next() != 10 {
		t.Fatalf("Next moved to %d after failed appends", l.Next())
	}
	l.Close()
	l = openLog(t, Options{Dir: dir})
	appendN(t, l, 10, 5, 5, 50)
	expectRecords(t, l, 0, 15, 50)
}
