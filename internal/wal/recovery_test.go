package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// snapshot holds the files of a closed log so each damage scenario can
// start from the same bytes.
type snapshot map[string][]byte

func takeSnapshot(t *testing.T, dir string) snapshot {
	t.Helper()
	s := snapshot{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		s[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s snapshot) restore(t *testing.T, damage func(name string, b []byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range s {
		b = bytes.Clone(b)
		if damage != nil {
			b = damage(name, b)
		}
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestTornTail damages the last segment the ways a crash (or a bad sector
// at the tail) can and checks what survives: every complete record before
// the damage, nothing from the damage on, and appends continue at the
// offset of the first lost record.
func TestTornTail(t *testing.T) {
	const n, maxFill = 40, 120
	opts := Options{NoSync: true, SegmentBytes: 2 << 10}
	src := t.TempDir()
	opts.Dir = src
	l := openLog(t, opts)
	appendN(t, l, 0, n, 3, maxFill)
	st := l.Stats()
	if st.Segments < 3 {
		t.Fatalf("want several segments, got %d", st.Segments)
	}
	l.Close()
	snap := takeSnapshot(t, src)

	// Locate the records of the last segment.
	var lastName string
	for name := range snap {
		if strings.HasSuffix(name, segmentExt) && name > lastName {
			lastName = name
		}
	}
	base, _ := parseSegmentName(lastName)
	seg := snap[lastName]
	var starts []int // byte position of each record in the last segment
	for pos := headerSize; pos < len(seg); {
		starts = append(starts, pos)
		pos += recordHeaderSize + len(record(int(base)+len(starts)-1, maxFill))
	}
	if int(base)+len(starts) != n || len(starts) < 4 {
		t.Fatalf("last segment %s: base %d, %d records", lastName, base, len(starts))
	}
	lastStart := starts[len(starts)-1]

	type scenario struct {
		name    string
		damage  func([]byte) []byte
		keep    int   // records that must survive
		dropped int64 // bytes Recovered must report
		reason  string
	}
	var scenarios []scenario
	// Cut the file at every byte of the last record: a torn append.
	for cut := lastStart; cut < len(seg); cut++ {
		reason := "partial record"
		if cut == lastStart {
			reason = ""
		}
		scenarios = append(scenarios, scenario{
			name:    "cut at byte " + strconv.Itoa(cut),
			damage:  func(b []byte) []byte { return b[:cut] },
			keep:    n - 1,
			dropped: int64(cut - lastStart),
			reason:  reason,
		})
	}
	// Flip every byte of the last record, length and checksum included.
	for pos := lastStart; pos < len(seg); pos++ {
		reason := "checksum mismatch"
		if pos == lastStart+3 {
			reason = "invalid record length" // more than MaxRecordBytes
		} else if pos < lastStart+4 {
			reason = "partial record" // the length now claims more than the file holds
		}
		scenarios = append(scenarios, scenario{
			name:    "flip byte " + strconv.Itoa(pos),
			damage:  func(b []byte) []byte { b[pos] ^= 0x80; return b },
			keep:    n - 1,
			dropped: int64(len(seg) - lastStart),
			reason:  reason,
		})
	}
	// Flip a payload byte of a middle record of the tail: it and every
	// record after it are cut.
	mid := len(starts) / 2
	scenarios = append(scenarios, scenario{
		name:    "flip a middle record",
		damage:  func(b []byte) []byte { b[starts[mid]+recordHeaderSize+1] ^= 1; return b },
		keep:    int(base) + mid,
		dropped: int64(len(seg) - starts[mid]),
		reason:  "checksum mismatch",
	})
	// Zeroes where the tail should be (an extended but unwritten file).
	scenarios = append(scenarios, scenario{
		name:    "zero-filled tail",
		damage:  func(b []byte) []byte { return append(b, make([]byte, 4096)...) },
		keep:    n,
		dropped: 4096,
		reason:  "checksum mismatch",
	})

	for _, sc := range scenarios {
		dir := snap.restore(t, func(name string, b []byte) []byte {
			if name == lastName {
				return sc.damage(b)
			}
			return b
		})
		opts.Dir = dir
		l, err := Open(opts)
		if err != nil {
			t.Fatalf("%s: Open: %v", sc.name, err)
		}
		rec := l.Recovered()
		if rec.DroppedBytes != sc.dropped || rec.Reason != sc.reason || rec.FirstDropped != Offset(sc.keep) ||
			rec.Segment != filepath.Join(dir, lastName) || (sc.dropped > 0 && rec.DroppedAt != int64(append(starts, len(seg))[sc.keep-int(base)])) {
			t.Fatalf("%s: Recovered() = %+v, want %d bytes dropped (%q), first dropped %d", sc.name, rec, sc.dropped, sc.reason, sc.keep)
		}
		if l.Next() != Offset(sc.keep) {
			t.Fatalf("%s: Next = %d, want %d", sc.name, l.Next(), sc.keep)
		}
		expectRecords(t, l, 0, sc.keep, maxFill)
		// Appends continue at the right offset, and the new records read
		// back after another reopen.
		appendN(t, l, sc.keep, 5, 2, maxFill)
		l.Close()
		l = openLog(t, opts)
		if rec := l.Recovered(); rec.DroppedBytes != 0 {
			t.Fatalf("%s: second reopen dropped %+v", sc.name, rec)
		}
		expectRecords(t, l, 0, sc.keep+5, maxFill)
		l.Close()
	}
}

// TestTornSegmentHeader covers a crash while a new segment was being
// created: the file exists but its header is incomplete.
func TestTornSegmentHeader(t *testing.T) {
	opts := Options{SegmentBytes: 256, Dir: t.TempDir()}
	l := openLog(t, opts)
	appendN(t, l, 0, 20, 4, 50)
	next := l.Next()
	l.Close()
	snap := takeSnapshot(t, opts.Dir)

	for _, size := range []int{0, 1, headerSize - 1, headerSize} {
		opts.Dir = snap.restore(t, nil)
		path := filepath.Join(opts.Dir, segmentName(next))
		if err := os.WriteFile(path, make([]byte, size), 0o640); err != nil {
			t.Fatal(err)
		}
		l := openLog(t, opts)
		if l.Next() != next || l.Recovered().DroppedBytes != int64(size) {
			t.Fatalf("header of %d zero bytes: Next %d (want %d), recovered %+v", size, l.Next(), next, l.Recovered())
		}
		appendN(t, l, int(next), 3, 3, 50)
		expectRecords(t, l, 0, int(next)+3, 50)
		l.Close()
	}

	// A bad header in front of data is damage, not a torn write: Open
	// refuses and names the file.
	opts.Dir = snap.restore(t, func(name string, b []byte) []byte {
		if name == segmentName(0) { // not the last segment: found by the reader
			b[0] = 'X'
		}
		return b
	})
	l = openLog(t, opts)
	r, err := l.Reader(0)
	if err == nil {
		r.Close()
		t.Fatal("Reader over a segment with a bad header succeeded")
	}
	l.Close()
	var lastName string
	for name := range snap {
		if strings.HasSuffix(name, segmentExt) && name > lastName {
			lastName = name
		}
	}
	opts.Dir = snap.restore(t, func(name string, b []byte) []byte {
		if name == lastName {
			b[0] = 'X'
		}
		return b
	})
	if l, err := Open(opts); err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), lastName) {
		if err == nil {
			l.Close()
		}
		t.Fatalf("Open with a damaged last-segment header: %v", err)
	}
}
