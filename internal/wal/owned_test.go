package wal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ownedSizes are record sizes around NextOwned's thresholds: small records
// read many at a time, remainders just under and over directReadMin,
// records over the read-ahead, over the Reader's buffer, and large.
var ownedSizes = []int{1, 10, directReadMin - 1, 300, directReadMin + 1, ownedReadAhead - 5, 40, ownedReadAhead + 1,
	0, readBufBytes + 1, 7, 2 << 20, 100, 3 * readBufBytes, 5}

func bigRecord(i, n int) []byte {
	p := make([]byte, n)
	for j := range p {
		p[j] = byte(i + j*31)
	}
	return p
}

func TestNextOwned(t *testing.T) {
	for _, segBytes := range []int64{0, 64 << 10} {
		opts := Options{Dir: t.TempDir(), SegmentBytes: segBytes}
		l := openLog(t, opts)
		var want [][]byte
		for i, n := range ownedSizes {
			want = append(want, bigRecord(i, n))
		}
		for _, batch := range [][][]byte{want[:4], want[4:5], want[5:]} {
			if _, err := l.Append(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
		}
		read := func(name string, next func(r *Reader) ([]byte, Offset, error), check func(i int, got [][]byte)) {
			t.Helper()
			r, err := l.Reader(0)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var got [][]byte
			for i := range want {
				rec, off, err := next(r)
				if err != nil || off != Offset(i) || !bytes.Equal(rec, want[i]) {
					t.Fatalf("segment bytes %d, %s: record %d: %d bytes at %d, %v", segBytes, name, i, len(rec), off, err)
				}
				got = append(got, rec)
				check(i, got)
			}
		}
		owned := func(r *Reader) ([]byte, Offset, error) { return r.NextOwned(context.Background()) }
		// Records stay as read while the reader goes on, and are slices of
		// their own: exactly their size, sharing nothing.
		read("kept", owned, func(i int, got [][]byte) {
			if cap(got[i]) != len(got[i]) {
				t.Fatalf("record %d: capacity %d, length %d", i, cap(got[i]), len(got[i]))
			}
			for j := range i + 1 {
				if !bytes.Equal(got[j], want[j]) {
					t.Fatalf("record %d changed once record %d was read", j, i)
				}
			}
		})
		// The caller may write to them: the reader does not look again.
		read("overwritten", owned, func(i int, got [][]byte) {
			for j := range got[i] {
				got[i][j] = 0xee
			}
		})
		// Next and NextOwned mix.
		read("mixed", func(r *Reader) ([]byte, Offset, error) {
			if r.off%2 == 0 {
				return r.Next(context.Background())
			}
			return r.NextOwned(context.Background())
		}, func(int, [][]byte) {})
	}
}

// TestNextOwnedWaits: a reader at the end of the log gets a large record
// appended later, read straight into the record once it is durable.
func TestNextOwnedWaits(t *testing.T) {
	l := openLog(t, Options{Dir: t.TempDir()})
	r := idleReader(t, l, func(r *Reader, ctx context.Context) error { _, _, err := r.NextOwned(ctx); return err })
	got := make(chan readResult, 1)
	go func() {
		rec, off, err := r.NextOwned(context.Background())
		got <- readResult{rec, off, err}
	}()
	big := bigRecord(3, 3*readBufBytes)
	if _, err := l.Append(context.Background(), [][]byte{big}); err != nil {
		t.Fatal(err)
	}
	if res := <-got; res.err != nil || res.off != 3 || !bytes.Equal(res.rec, big) {
		t.Fatalf("got %d bytes at %d, %v", len(res.rec), res.off, res.err)
	}
}

// TestNextOwnedCorrupt: the records NextOwned reads straight from the file
// are checked like the others, and damage is reported at the same place.
func TestNextOwnedCorrupt(t *testing.T) {
	sizes := []int{100, 2 << 20, 100}
	// The damaged record is the second segment's only one.
	const at = "at byte 20 (offset 1)"
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		want   string
	}{
		{"flipped byte near its end", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			b[headerSize+recordHeaderSize+(2<<20)-10] ^= 0x40
			os.WriteFile(path, b, 0o640)
		}, at + ": checksum mismatch"},
		{"flipped byte near its start", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			b[headerSize+recordHeaderSize+10] ^= 0x40
			os.WriteFile(path, b, 0o640)
		}, at + ": checksum mismatch"},
	} {
		for _, owned := range []bool{false, true} {
			dir := t.TempDir()
			opts := Options{Dir: dir, SegmentBytes: 1 << 10} // one record a segment
			l := openLog(t, opts)
			for i, n := range sizes {
				if _, err := l.Append(context.Background(), [][]byte{bigRecord(i, n)}); err != nil {
					t.Fatal(err)
				}
			}
			l.Close()
			path := filepath.Join(dir, segmentName(1))
			tc.damage(t, path)
			l = openLog(t, opts)
			r, err := l.Reader(0)
			if err != nil {
				t.Fatal(err)
			}
			var n int
			for err == nil {
				if owned {
					_, _, err = r.NextOwned(context.Background())
				} else {
					_, _, err = r.Next(context.Background())
				}
				n++
			}
			r.Close()
			if n != 2 || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), segmentName(1)+" "+tc.want) {
				t.Errorf("%s, owned %v: after %d records: got %v, want ErrCorrupt with %q", tc.name, owned, n-1, err, tc.want)
			}
		}
	}
}

// TestNextOwnedShortFile: a segment file shorter than the log says it is
// (cut behind the log's back) is reported, not returned as a record.
func TestNextOwnedShortFile(t *testing.T) {
	for _, owned := range []bool{false, true} {
		dir := t.TempDir()
		l := openLog(t, Options{Dir: dir})
		if _, err := l.Append(context.Background(), [][]byte{bigRecord(0, 2<<20)}); err != nil {
			t.Fatal(err)
		}
		r, err := l.Reader(0)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(filepath.Join(dir, segmentName(0)), 1<<20); err != nil {
			t.Fatal(err)
		}
		if owned {
			_, _, err = r.NextOwned(context.Background())
		} else {
			_, _, err = r.Next(context.Background())
		}
		r.Close()
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "file ends at byte") {
			t.Errorf("owned %v: got %v, want ErrCorrupt: file ends", owned, err)
		}
	}
}
