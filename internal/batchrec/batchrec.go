// Package batchrec is the format of a batch record in prowl's write-ahead
// log: one acknowledged source batch, holding its normalized events and the
// source checkpoint that holds once they are in, written as one record so
// that both survive a crash or neither does.
//
// The pipeline writes batch records; every log consumer (the detection
// engine, the lake writer, offline scans) reads them with Decode. It is a
// package of its own so that consumers need not import the pipeline.
//
// # Format
//
//	version byte (2; version 1 records, without members, still decode)
//	source id, checkpoint: uvarint length + bytes each
//	event count: uvarint
//	per event: log type, row id (uvarint length + bytes), event time and
//	parse time (varint unix microseconds), JSON (uvarint length + bytes),
//	then (version 2) the member offsets (logtypes.Event.Members): a
//	uvarint count and each offset as a uvarint delta from the previous one;
//	a count of 0 means unknown
package batchrec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prowl-siem/prowl/internal/logtypes"
)

// Version is the first byte of every batch record written.
const Version = 2

// Record is one source batch.
type Record struct {
	SourceID   string
	Checkpoint []byte
	Events     []logtypes.Event
}

// ErrShort reports a truncated record.
var ErrShort = errors.New("batch record is truncated")

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// Encode appends the encoding of r to dst and returns the extended slice.
func Encode(dst []byte, r *Record) []byte {
	dst = slices.Grow(dst, maxEncodedSize(r))
	dst = append(dst, Version)
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
		dst = binary.AppendUvarint(dst, uint64(len(e.Members)))
		prev := uint32(0)
		for _, m := range e.Members {
			dst = binary.AppendUvarint(dst, uint64(m-prev))
			prev = m
		}
	}
	return dst
}

// maxEncodedSize bounds the size of r's encoding, so that Encode grows its
// buffer once instead of copying it again and again as it fills.
func maxEncodedSize(r *Record) int {
	n := 1 + 3*binary.MaxVarintLen64 + len(r.SourceID) + len(r.Checkpoint)
	for i := range r.Events {
		e := &r.Events[i]
		n += 6*binary.MaxVarintLen64 + len(e.LogType) + len(e.RowID) + len(e.JSON) + len(e.Members)*binary.MaxVarintLen32
	}
	return n
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes() []byte {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || uint64(len(r.b)-k) < n {
		r.err = ErrShort
		return nil
	}
	out := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return out
}

func (r *reader) uvarint() uint64 {
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = ErrShort
		return 0
	}
	r.b = r.b[k:]
	return n
}

func (r *reader) time() time.Time {
	n, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = ErrShort
		return time.Time{}
	}
	r.b = r.b[k:]
	return time.UnixMicro(n).UTC()
}

// Decode decodes a batch record. The result does not alias data, so data
// may be a log reader's buffer.
func Decode(data []byte) (*Record, error) {
	if len(data) == 0 || data[0] < 1 || data[0] > Version {
		return nil, fmt.Errorf("batch record: unknown version")
	}
	version := data[0]
	data = append([]byte(nil), data...)
	r := &reader{b: data[1:]}
	out := &Record{SourceID: string(r.bytes())}
	if cp := r.bytes(); len(cp) > 0 {
		out.Checkpoint = cp
	}
	n := r.uvarint()
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
