package batchrec

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/logtypes"
)

func TestRoundTrip(t *testing.T) {
	in := &Record{SourceID: "s", Checkpoint: []byte("cp"), Events: []logtypes.Event{
		{LogType: "Okta.SystemLog", RowID: "r1", Time: time.UnixMicro(1714557600123456).UTC(), ParseTime: time.UnixMicro(1714557601000000).UTC(), JSON: []byte(`{"a":1,"b":[2]}`), Members: []uint32{1, 7}},
		{LogType: "Syslog.RFC5424", RowID: "r2", Time: time.UnixMicro(-5).UTC(), ParseTime: time.UnixMicro(7).UTC(), JSON: []byte(`{}`)},
	}}
	data := Encode(nil, in)
	out, err := Decode(data)
	if err != nil || out.SourceID != "s" || string(out.Checkpoint) != "cp" || len(out.Events) != 2 {
		t.Fatalf("round trip: %v %+v", err, out)
	}
	for i := range in.Events {
		a, b := in.Events[i], out.Events[i]
		if a.LogType != b.LogType || a.RowID != b.RowID || !a.Time.Equal(b.Time) || !a.ParseTime.Equal(b.ParseTime) || string(a.JSON) != string(b.JSON) ||
			!slices.Equal(a.Members, b.Members) {
			t.Errorf("event %d: got %+v, want %+v", i, b, a)
		}
	}
	data[len(data)-2] = 'X' // the result must not alias the input
	if string(out.Events[1].JSON) != `{}` {
		t.Error("Decode aliases its input")
	}
	data = Encode(nil, in)
	for cut := 1; cut < len(data); cut++ {
		if _, err := Decode(data[:cut]); err == nil {
			t.Errorf("a record cut at %d must not decode", cut)
		}
	}
	if _, err := Decode(append([]byte{9}, data[1:]...)); err == nil {
		t.Error("an unknown version must not decode")
	}
	if !strings.Contains(string(data), `{"a":1,"b":[2]}`) {
		t.Error("events are stored as their JSON")
	}
	// Version 1 records (no members) still decode.
	v1 := []byte{1, 1, 's', 0, 1, 1, 'T', 1, 'r', 2, 4, 2, '{', '}'}
	if old, err := Decode(v1); err != nil || len(old.Events) != 1 || string(old.Events[0].JSON) != "{}" || old.Events[0].Members != nil {
		t.Errorf("version 1 record: %v %+v", err, old)
	}
	// Offsets outside the event are refused.
	bad := Encode(nil, &Record{Events: []logtypes.Event{{JSON: []byte(`{}`), Members: []uint32{5}}}})
	if _, err := Decode(bad); err == nil {
		t.Error("a member offset past the event must not decode")
	}
	empty, err := Decode(Encode(nil, &Record{}))
	if err != nil || empty.Checkpoint != nil || len(empty.Events) != 0 {
		t.Errorf("empty record: %v %+v", err, empty)
	}
}

// TestEncodeGrowsOnce checks that Encode sizes its buffer once: a batch of
// large events costs one allocation, not one per doubling.
func TestEncodeGrowsOnce(t *testing.T) {
	r := &Record{SourceID: "okta", Checkpoint: []byte("cursor")}
	for i := range 500 {
		r.Events = append(r.Events, logtypes.Event{LogType: "Okta.SystemLog", RowID: strings.Repeat("r", 20),
			Time: time.UnixMicro(int64(i) << 40).UTC(), ParseTime: time.UnixMicro(-int64(i) << 40).UTC(),
			JSON: []byte(`{"k":"` + strings.Repeat("v", 100+i) + `"}`), Members: []uint32{1, 1 << 31}})
	}
	if n := len(Encode(nil, r)); n > maxEncodedSize(r) {
		t.Fatalf("encoding is %d bytes, over the bound %d", n, maxEncodedSize(r))
	}
	// One allocation (the race detector may add one); growing by appends
	// would take about twenty.
	if allocs := testing.AllocsPerRun(10, func() { Encode(nil, r) }); allocs > 2 {
		t.Errorf("Encode allocated %v times, want 1", allocs)
	}
}
