// Package batchrec is the format of a batch record in prowl's write-ahead
// log: one acknowledged source batch, holding its normalized events and the
// source checkpoint that holds once they are in, written as one record so
// that both survive a crash or neither does.
//
// The pipeline writes batch records; every log consumer (the detection
// engine, the lake writer, offline scans) reads them with
// wal.Reader.NextOwned and DecodeOwned, which copy each record once (from
// the file), or with Decode, which copies a record it is lent. It is a
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
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
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

// Decode decodes a batch record. The result does not alias data, so data
// may be a log reader's buffer, reused once Decode returns: Decode copies
// data once and decodes the copy as DecodeOwned does (the result shares the
// copy the way DecodeOwned's shares data). A caller that can hand data over
// uses DecodeOwned instead.
func Decode(data []byte) (*Record, error) {
	if err := checkVersion(data); err != nil {
		return nil, err
	}
	var m memory
	return m.decode(bytes.Clone(data))
}

// DecodeOwned decodes a batch record that the caller hands over, such as
// one from wal.Reader.NextOwned: it does not copy data, and the result
// aliases it. The caller must not modify data, nor reuse it, afterwards.
//
// The Record's Checkpoint and every event's JSON are slices of data, capped
// at their length (appending to one allocates; it never writes over the
// rest of the record), so keeping any of them keeps all of data alive, as
// a slice of Decode's copy keeps the copy. To keep an event long and little
// else, copy its JSON. Strings never alias data: the events of a record
// share one string per log type, and the row IDs of a record share one
// allocation (about 32 bytes an event), so keeping a RowID keeps that, not
// the record.
func DecodeOwned(data []byte) (*Record, error) {
	if err := checkVersion(data); err != nil {
		return nil, err
	}
	var m memory
	return m.decode(data)
}

// A Decoder decodes batch records into memory that it reuses once Reset
// says the records decoded before are no longer used. It is for a consumer
// that handles one batch at a time, such as the detection engine's: reading
// each record with wal.Reader.Next and decoding it here copies it once, as
// NextOwned and DecodeOwned do, but into memory already in use rather than
// a fresh allocation the size of the record, whose pages (each record's
// megabyte or so) the kernel must map and clear again and again. That
// costs more than the decoding itself.
//
// Like Decode's, the records do not alias the data given to Decode. Their
// strings (source IDs, log types, row IDs) are never reused: only byte
// slices, member offsets and the events slice are. The zero Decoder is
// ready to use; it is not safe for concurrent use.
type Decoder struct {
	m memory
}

// Decode decodes a batch record, as the package's Decode does, into the
// Decoder's memory. The record is valid until Reset; records decoded since
// the last Reset all stay valid.
func (d *Decoder) Decode(data []byte) (*Record, error) {
	if err := checkVersion(data); err != nil {
		return nil, err
	}
	m := &d.m
	start, events, members := len(m.copied), len(m.events), len(m.members)
	if cap(m.copied)-start < len(data) {
		// The slices of the records decoded before keep the old buffer.
		m.copied, start = make([]byte, 0, max(2*cap(m.copied), len(data))), 0
	}
	m.copied = append(m.copied, data...)
	rec, err := m.decode(m.copied[start:len(m.copied):len(m.copied)])
	if err != nil { // what the record took is free again
		m.copied, m.events, m.members = m.copied[:start], m.events[:events], m.members[:members]
	}
	return rec, err
}

// Reset lets the Decoder reuse the memory of every record it decoded: the
// caller must no longer use their byte slices (Checkpoint, an event's JSON
// or Members) nor their events slices.
func (d *Decoder) Reset() {
	d.m.copied, d.m.events, d.m.members = d.m.copied[:0], d.m.events[:0], d.m.members[:0]
}

func checkVersion(data []byte) error {
	if len(data) == 0 || data[0] < 1 || data[0] > Version {
		return errors.New("batch record: unknown version")
	}
	return nil
}

// decoder reads data[i:]; a read past the end sets short and returns zero.
type decoder struct {
	b     []byte
	i     int
	short bool
}

func (d *decoder) uvarint() uint64 {
	if i := d.i; i < len(d.b) && d.b[i] < 0x80 { // most lengths and deltas: one byte
		d.i = i + 1
		return uint64(d.b[i])
	}
	return d.uvarintSlow()
}

func (d *decoder) uvarintSlow() uint64 {
	if v, k := uvarint8(d.b, d.i); k > 0 {
		d.i += k
		return v
	}
	v, k := binary.Uvarint(d.b[d.i:])
	if k <= 0 {
		d.short = true
		return 0
	}
	d.i += k
	return v
}

// uvarint8 decodes the uvarint at b[i:] without a loop when it is at most
// 8 bytes long (times are 8 bytes, the odd member delta 2) and b holds 8
// bytes from i. Otherwise it returns k = 0: binary.Uvarint decodes it.
func uvarint8(b []byte, i int) (v uint64, k int) {
	if i < 0 || len(b)-i < 8 {
		return 0, 0
	}
	u := binary.LittleEndian.Uint64(b[i:])
	stop := ^u & 0x8080808080808080 // the high bit of each byte that ends it
	if stop == 0 {
		return 0, 0
	}
	last := bits.TrailingZeros64(stop) // 8k+7 for a varint of k+1 bytes
	u &= 1<<last<<1 - 1                // its bytes only
	u &= 0x7f7f7f7f7f7f7f7f            // their 7 payload bits, then packed:
	u = u&0x007f007f007f007f | u&0x7f007f007f007f00>>1
	u = u&0x00003fff00003fff | u&0x3fff00003fff0000>>2
	u = u&0x000000000fffffff | u&0x0fffffff00000000>>4
	return u, last>>3 + 1
}

// bytes returns a length-prefixed field, capped so that appending to it
// never writes into the next field.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.short || n > uint64(len(d.b)-d.i) {
		d.short = true
		return nil
	}
	j := d.i + int(n)
	out := d.b[d.i:j:j]
	d.i = j
	return out
}

func (d *decoder) time() time.Time {
	u, k := uvarint8(d.b, d.i) // a zigzag varint, 8 bytes for these times
	if k > 0 {
		d.i += k
	} else {
		u = d.uvarintSlow()
	}
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return time.UnixMicro(v).UTC()
}

// rowIDBytes is the usual length of a row ID (logtypes.Event.RowID).
const rowIDBytes = 32

// memory is where records are decoded: the events and member offsets of
// each record are appended to those of the records before (a Decoder's
// since its last Reset; none for DecodeOwned), and copied holds the copies
// of a Decoder's records.
type memory struct {
	copied  []byte
	events  []logtypes.Event
	members []uint32
}

// decode decodes data, which the record may alias (see DecodeOwned); its
// version is known to be valid.
func (m *memory) decode(data []byte) (*Record, error) {
	version := data[0]
	d := decoder{b: data, i: 1}
	out := &Record{SourceID: string(d.bytes())}
	if cp := d.bytes(); len(cp) > 0 {
		out.Checkpoint = cp
	}
	n := d.uvarint()
	if d.short || n > uint64(len(d.b)-d.i) { // an event takes a byte or more
		return nil, ErrShort
	}
	first := len(m.events)
	m.events = slices.Grow(m.events, int(n))[:first+int(n)]
	events := m.events[first:len(m.events):len(m.events)]
	clear(events) // reused memory: nothing of an earlier record remains
	if events == nil {
		events = []logtypes.Event{} // an empty record's events are empty, not nil
	}
	// Row IDs are appended to one buffer: ids.String() stays valid as it
	// grows, and each RowID is the string's part its event appended.
	var ids strings.Builder
	ids.Grow(min(int(n)*rowIDBytes, len(d.b)-d.i))
	// Events of a record share their log type's string: one per type
	// (records rarely hold more than a few), the last one tried first.
	var typeArr [8]string
	types, last := typeArr[:0], -1
	members := m.members // one array for the records' member offsets (~30 an event)
	for i := range events {
		e := &events[i]
		lt := d.bytes()
		if last < 0 || string(lt) != types[last] {
			last = -1
			for j, t := range types {
				if t == string(lt) {
					last = j
					break
				}
			}
			if last < 0 {
				if len(types) == cap(types) {
					types = types[:0]
				}
				types = append(types, string(lt))
				last = len(types) - 1
			}
		}
		e.LogType = types[last]
		if id := d.bytes(); len(id) > 0 {
			start := ids.Len()
			ids.Write(id)
			e.RowID = ids.String()[start:]
		}
		e.Time, e.ParseTime = d.time(), d.time()
		e.JSON = d.bytes()
		if d.short {
			return nil, ErrShort
		}
		if version < 2 {
			continue
		}
		k := d.uvarint()
		if d.short {
			return nil, ErrShort
		}
		if k > uint64(len(e.JSON)) {
			return nil, fmt.Errorf("batch record: event %d has %d members in %d bytes", i, k, len(e.JSON))
		}
		if k == 0 {
			continue
		}
		if k > uint64(len(d.b)-d.i) { // a delta takes a byte or more
			return nil, ErrShort
		}
		if cap(members) == 0 {
			members = make([]uint32, 0, min(int(n)*32, len(d.b)-d.i))
		}
		start := len(members)
		members = slices.Grow(members, int(k))[:start+int(k)]
		ms := members[start:]
		off, size := uint64(0), uint64(len(e.JSON))
		b, p := d.b, d.i
		for j := range ms {
			var delta uint64
			switch { // deltas of 1 and 2 bytes inline
			case p < len(b) && b[p] < 0x80:
				delta = uint64(b[p])
				p++
			case p+1 < len(b) && b[p+1] < 0x80:
				delta = uint64(b[p]&0x7f) | uint64(b[p+1])<<7
				p += 2
			default:
				d.i = p
				if delta = d.uvarintSlow(); d.short {
					return nil, ErrShort
				}
				p = d.i
			}
			if delta >= size-off { // off < size: this cannot wrap
				return nil, fmt.Errorf("batch record: event %d has a member offset %d past its %d bytes", i, off+delta, size)
			}
			off += delta
			ms[j] = uint32(off)
		}
		d.i = p
		e.Members = ms[:k:k]
	}
	m.members = members
	out.Events = events
	return out, nil
}
