package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/prowl-siem/prowl/internal/logtypes"
)

// A batch record is one acknowledged source batch in the write-ahead log:
// its normalized events and the source checkpoint that holds once they are
// in, written as one record so that both survive a crash or neither does.
//
//	version byte (1)
//	source id, checkpoint: uvarint length + bytes each
//	event count: uvarint
//	per event: log type, row id (uvarint length + bytes), event time and
//	parse time (varint unix microseconds), JSON (uvarint length + bytes)
const recordVersion = 1

type batchRecord struct {
	SourceID   string
	Checkpoint []byte
	Events     []logtypes.Event
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func encodeRecord(dst []byte, r *batchRecord) []byte {
	dst = append(dst, recordVersion)
	dst = appendBytes(dst, []byte(r.SourceID))
	dst = appendBytes(dst, r.Checkpoint)
	dst = binary.AppendUvarint(dst, uint64(len(r.Events)))
	for i := range r.Events {
		e := &r.Events[i]
		dst = appendBytes(dst, []byte(e.LogType))
		dst = appendBytes(dst, []byte(e.RowID))
		dst = binary.AppendVarint(dst, e.Time.UnixMicro())
		dst = binary.AppendVarint(dst, e.ParseTime.UnixMicro())
		dst = appendBytes(dst, e.JSON)
	}
	return dst
}

var errShortRecord = errors.New("batch record is truncated")

type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) bytes() []byte {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || uint64(len(r.b)-k) < n {
		r.err = errShortRecord
		return nil
	}
	out := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return out
}

func (r *recordReader) uvarint() uint64 {
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = errShortRecord
		return 0
	}
	r.b = r.b[k:]
	return n
}

func (r *recordReader) time() time.Time {
	n, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = errShortRecord
		return time.Time{}
	}
	r.b = r.b[k:]
	return time.UnixMicro(n).UTC()
}

// decodeRecord decodes a batch record. The result does not alias data.
func decodeRecord(data []byte) (*batchRecord, error) {
	if len(data) == 0 || data[0] != recordVersion {
		return nil, fmt.Errorf("batch record: unknown version")
	}
	data = append([]byte(nil), data...)
	r := &recordReader{b: data[1:]}
	out := &batchRecord{SourceID: string(r.bytes())}
	if cp := r.bytes(); len(cp) > 0 {
		out.Checkpoint = cp
	}
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		return nil, errShortRecord
	}
	out.Events = make([]logtypes.Event, 0, n)
	for i := uint64(0); i < n && r.err == nil; i++ {
		e := logtypes.Event{LogType: string(r.bytes()), RowID: string(r.bytes())}
		e.Time, e.ParseTime = r.time(), r.time()
		e.JSON = r.bytes()
		out.Events = append(out.Events, e)
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}
