package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/wal"
)

func scanTestLog(t *testing.T) *wal.Log {
	t.Helper()
	l, err := wal.Open(wal.Options{Dir: filepath.Join(t.TempDir(), "wal"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func scanRecord(source string, checkpoint string, rowIDs ...string) []byte {
	rec := &batchRecord{SourceID: source, Checkpoint: []byte(checkpoint)}
	at := time.Date(2025, 3, 4, 17, 42, 9, 118_000_000, time.UTC)
	for i, id := range rowIDs {
		rec.Events = append(rec.Events, logtypes.Event{
			LogType: "Okta.SystemLog", RowID: id, Time: at.Add(time.Duration(i) * time.Millisecond), ParseTime: at.Add(time.Second),
			JSON: []byte(fmt.Sprintf(`{"uuid":%q}`, id)),
		})
	}
	return encodeRecord(nil, rec)
}

func scanAll(t *testing.T, l *wal.Log, from wal.Offset) []string {
	t.Helper()
	var got []string
	err := Scan(context.Background(), l, from, func(ev logtypes.Event) error {
		if want := fmt.Sprintf(`{"uuid":%q}`, ev.RowID); string(ev.JSON) != want {
			t.Errorf("event %s: JSON %s, want %s", ev.RowID, ev.JSON, want)
		}
		got = append(got, ev.RowID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestScan(t *testing.T) {
	ctx := context.Background()
	l := scanTestLog(t)
	if got := scanAll(t, l, 0); len(got) != 0 {
		t.Fatalf("empty log: got %v", got)
	}
	records := [][]byte{
		scanRecord("okta", `{"next":"/a"}`, "a1", "a2"),
		scanRecord("okta", `{"next":"/b"}`), // a checkpoint-only record: no events
		scanRecord("http", "", "b1"),
		scanRecord("okta", `{"next":"/c"}`, "c1", "c2", "c3"),
	}
	if _, err := l.Append(ctx, records); err != nil {
		t.Fatal(err)
	}
	if got, want := scanAll(t, l, 0), []string{"a1", "a2", "b1", "c1", "c2", "c3"}; !slices.Equal(got, want) {
		t.Errorf("from 0: got %v, want %v", got, want)
	}
	if got, want := scanAll(t, l, 2), []string{"b1", "c1", "c2", "c3"}; !slices.Equal(got, want) {
		t.Errorf("from 2: got %v, want %v", got, want)
	}
	if got := scanAll(t, l, l.Next()); len(got) != 0 {
		t.Errorf("from the end: got %v", got)
	}

	// Event fields survive the round trip.
	var first logtypes.Event
	stop := errors.New("stop")
	err := Scan(ctx, l, 0, func(ev logtypes.Event) error { first = ev; return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("Scan returned %v, want fn's error", err)
	}
	if first.LogType != "Okta.SystemLog" || first.RowID != "a1" || !first.Time.Equal(time.Date(2025, 3, 4, 17, 42, 9, 118_000_000, time.UTC)) ||
		!first.ParseTime.Equal(first.Time.Add(time.Second)) {
		t.Errorf("first event = %+v", first)
	}

	// Scan is a snapshot: records appended after it started are not waited for.
	n := 0
	err = Scan(ctx, l, 0, func(logtypes.Event) error {
		if n == 0 {
			if _, err := l.Append(ctx, [][]byte{scanRecord("okta", "", "late")}); err != nil {
				return err
			}
		}
		n++
		return nil
	})
	if err != nil || n != 6 {
		t.Errorf("snapshot scan: %d events, err %v; want 6, nil", n, err)
	}
	if got := scanAll(t, l, 4); !slices.Equal(got, []string{"late"}) {
		t.Errorf("after the late append: got %v", got)
	}
}

func TestScanBadRecord(t *testing.T) {
	l := scanTestLog(t)
	if _, err := l.Append(context.Background(), [][]byte{scanRecord("okta", "", "a1"), []byte("not a batch record")}); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := Scan(context.Background(), l, 0, func(ev logtypes.Event) error { got = append(got, ev.RowID); return nil })
	if err == nil {
		t.Fatal("Scan of a log with an undecodable record returned nil")
	}
	if !slices.Equal(got, []string{"a1"}) {
		t.Errorf("events before the bad record: got %v, want [a1]", got)
	}
}
