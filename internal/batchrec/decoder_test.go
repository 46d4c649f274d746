package batchrec

import (
	"bytes"
	"reflect"
	"testing"
	"unsafe"

	"github.com/prowl-siem/prowl/internal/logtypes"
)

// TestDecoderReuse: after Reset, a record decoded into the memory of the
// one before has nothing of it (row IDs, members, checkpoint), and no
// record aliases the data it was decoded from.
func TestDecoderReuse(t *testing.T) {
	full := Encode(nil, mixedRecord())
	bare := &Record{SourceID: "other"} // no checkpoint, row IDs nor members
	for _, e := range mixedRecord().Events {
		bare.Events = append(bare.Events, logtypes.Event{LogType: "Syslog.RFC5424", JSON: bytes.ToUpper(e.JSON)})
	}
	sparse := Encode(nil, bare)
	var d Decoder
	first, err := d.Decode(full)
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{sparse, full, sparse} {
		d.Reset()
		want, _ := decodeBefore(data)
		got, err := d.Decode(bytes.Clone(data))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after Reset: got %+v, want %+v", got, want)
		}
		if &got.Events[0] != &first.Events[0] || unsafe.SliceData(got.Events[0].JSON) != unsafe.SliceData(first.Events[0].JSON) {
			t.Error("the Decoder did not reuse its memory")
		}
	}
}

// TestDecoderKeepsRecordsUntilReset: records decoded without a Reset in
// between stay as decoded, when the Decoder grows its memory too, and a
// record that fails to decode changes none of them.
func TestDecoderKeepsRecordsUntilReset(t *testing.T) {
	var d Decoder
	var got, want []*Record
	for i := range 5 {
		in := mixedRecord()
		in.Events = in.Events[:10*(i+1)]
		in.Events[0].JSON = nil // an empty JSON too
		data := Encode(nil, in)
		w, _ := decodeBefore(data)
		r, err := d.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		clear(data) // the records own their memory
		got, want = append(got, r), append(want, w)
		if _, err := d.Decode(Encode(nil, in)[:len(data)-1]); err == nil {
			t.Fatal("a truncated record decoded")
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("a record changed as the Decoder decoded the next ones")
	}
}
