package batchrec

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/prowl-siem/prowl/internal/logtypes"
)

// decodeBefore is Decode as it was before DecodeOwned and the faster
// decoder: the benchmarks compare against it, and the tests check that the
// new decoders agree with it. One line is added: the old Decode went on
// after a truncated source ID or checkpoint and could allocate an event
// array sized by bytes that were not a count (gigabytes: the process ran
// out of memory).
func decodeBefore(data []byte) (*Record, error) {
	if len(data) == 0 || data[0] < 1 || data[0] > Version {
		return nil, fmt.Errorf("batch record: unknown version")
	}
	version := data[0]
	data = append([]byte(nil), data...)
	r := &oldReader{b: data[1:]}
	out := &Record{SourceID: string(r.bytes())}
	if cp := r.bytes(); len(cp) > 0 {
		out.Checkpoint = cp
	}
	n := r.uvarint()
	if r.err != nil { // not in the old Decode, which went on to allocate n events: see TestDecodeRefusesHugeCount
		return nil, r.err
	}
	if r.err == nil && n > uint64(len(r.b)) {
		return nil, ErrShort
	}
	out.Events = make([]logtypes.Event, 0, n)
	var members []uint32 // one array for the record's member offsets
	for i := uint64(0); i < n && r.err == nil; i++ {
		e := logtypes.Event{LogType: string(r.bytes()), RowID: string(r.bytes())}
		e.Time, e.ParseTime = r.time(), r.time()
		e.JSON = r.bytes()
		if version >= 2 {
			k := r.uvarint()
			if k > uint64(len(e.JSON)) {
				return nil, fmt.Errorf("batch record: event %d has %d members in %d bytes", i, k, len(e.JSON))
			}
			if k > 0 {
				if members == nil {
					members = make([]uint32, 0, n*32)
				}
				start, off := len(members), uint64(0)
				for range k {
					off += r.uvarint()
					members = append(members, uint32(off))
				}
				if off >= uint64(len(e.JSON)) {
					return nil, fmt.Errorf("batch record: event %d has a member offset %d past its %d bytes", i, off, len(e.JSON))
				}
				e.Members = members[start:len(members):len(members)]
			}
		}
		out.Events = append(out.Events, e)
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

type oldReader struct {
	b   []byte
	err error
}

func (r *oldReader) bytes() []byte {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || uint64(len(r.b)-k) < n {
		r.err = ErrShort
		return nil
	}
	out := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return out
}

func (r *oldReader) uvarint() uint64 {
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = ErrShort
		return 0
	}
	r.b = r.b[k:]
	return n
}

func (r *oldReader) time() time.Time {
	n, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = ErrShort
		return time.Time{}
	}
	r.b = r.b[k:]
	return time.UnixMicro(n).UTC()
}
