package wal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

const readBufBytes = 512 << 10

// Reader reads records in offset order from a starting offset, following
// the log across segment rolls and waiting at its end for new appends. It
// returns only durable records. A Reader is not safe for concurrent use;
// each consumer opens its own.
type Reader struct {
	l    *Log
	f    *os.File
	base Offset // first offset of the open segment
	off  Offset // offset of the next record to return

	buf  []byte
	r, w int   // buf[r:w] holds unread segment bytes
	fpos int64 // segment position of buf[w]

	limit    int64  // readable bytes of the open segment
	sealed   bool   // the open segment is complete and limit is its size
	nextBase Offset // first offset of the following segment, once sealed
	closed   bool
}

// Reader returns a Reader positioned at from. from may be any offset from
// First() up to Next() inclusive; at Next() the reader waits for the next
// append. Offsets below First() return ErrTruncated.
func (l *Log) Reader(from Offset) (*Reader, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	first, next := l.segs[0].base, l.next
	i := l.findLocked(from)
	var base Offset
	if i >= 0 {
		base = l.segs[i].base
	}
	l.mu.Unlock()
	switch {
	case from < first:
		return nil, fmt.Errorf("%w: offset %d, oldest retained is %d", ErrTruncated, from, first)
	case from > next:
		return nil, fmt.Errorf("wal: offset %d is beyond the end of the log (next offset %d)", from, next)
	}
	r := &Reader{l: l, buf: make([]byte, readBufBytes)}
	if err := r.open(base); err != nil {
		return nil, err
	}
	for r.off < from { // skip to from inside the segment; these records are durable
		if _, _, err := r.Next(context.Background()); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// findLocked returns the index of the segment that holds off (the last
// segment whose base is <= off), or -1 if off is below the first segment.
func (l *Log) findLocked(off Offset) int {
	return sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > off }) - 1
}

// Next returns the next record and its offset, waiting until one is
// durable or ctx is done. rec points into the Reader's buffer: it is valid
// until the next call to Next or Close, and the caller must copy it to keep
// it (or call NextOwned). Once the Log is closed and every durable record
// has been read, Next returns ErrClosed. A damaged record returns an error
// wrapping ErrCorrupt that names the segment file and byte position.
func (r *Reader) Next(ctx context.Context) (rec []byte, off Offset, err error) {
	return r.next(ctx, false)
}

// NextOwned is Next for a caller that keeps records (and their parts):
// rec is newly allocated, exactly the record's size, and the Reader never
// uses it again. It is how to get a record without copying it twice: the
// part of a record beyond what the Reader has buffered (most of a large
// one) is read from the segment file straight into rec, and NextOwned
// reads ahead at most ownedReadAhead bytes into the Reader's buffer, which
// it then copies into the records. Next and NextOwned may be mixed.
func (r *Reader) NextOwned(ctx context.Context) (rec []byte, off Offset, err error) {
	return r.next(ctx, true)
}

const (
	// ownedReadAhead bounds each read of NextOwned into the Reader's
	// buffer: what it reads there is copied again into the records, unlike
	// the rest of a large record. Small records are still read many at a
	// time.
	ownedReadAhead = 64 << 10
	// directReadMin is the least remainder of a record that NextOwned
	// reads into the record directly rather than through the buffer.
	directReadMin = 8 << 10
)

func (r *Reader) next(ctx context.Context, owned bool) (rec []byte, off Offset, err error) {
	if r.closed {
		return nil, 0, errors.New("wal: reader closed")
	}
	for {
		if avail := r.w - r.r; avail >= recordHeaderSize {
			n := binary.LittleEndian.Uint32(r.buf[r.r:])
			if n > MaxRecordBytes {
				return nil, 0, r.corrupt(fmt.Sprintf("invalid record length %d", n))
			}
			size := recordHeaderSize + int(n)
			if avail >= size {
				h := r.buf[r.r : r.r+recordHeaderSize]
				rec = r.buf[r.r+recordHeaderSize : r.r+size]
				if recordCRC(h[:4], rec) != binary.LittleEndian.Uint32(h[4:]) {
					return nil, 0, r.corrupt("checksum mismatch")
				}
				if owned {
					rec = bytes.Clone(rec)[:len(rec):len(rec)]
				}
				r.r += size
				r.off++
				return rec, r.off - 1, nil
			}
			if rest := size - avail; owned && (rest >= directReadMin || size > len(r.buf)) && int64(rest) <= r.limit-r.fpos {
				return r.readDirect(size)
			}
			if len(r.buf) < size { // a record larger than the buffer
				nb := make([]byte, size)
				r.w = copy(nb, r.buf[r.r:r.w])
				r.r, r.buf = 0, nb
			}
		}
		if r.fpos < r.limit {
			readAhead := len(r.buf)
			if owned {
				readAhead = ownedReadAhead
			}
			if err := r.fill(readAhead); err != nil {
				return nil, 0, err
			}
			continue
		}
		wait, err := r.refresh()
		if err != nil {
			return nil, 0, err
		}
		if r.fpos < r.limit {
			continue
		}
		if r.sealed {
			if r.w > r.r {
				return nil, 0, r.corrupt("partial record at the end of a sealed segment")
			}
			if r.off != r.nextBase {
				return nil, 0, r.corrupt(fmt.Sprintf("segment ends at offset %d but the next one starts at %d", r.off, r.nextBase))
			}
			if err := r.open(r.nextBase); err != nil {
				return nil, 0, err
			}
			continue
		}
		if wait == nil {
			return nil, 0, ErrClosed
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// readDirect returns the record of size bytes (header included) that starts
// at buf[r.r], whose header and start are buffered and whose rest is
// durable in the segment, reading the rest from the file straight into the
// record: a newly allocated slice, owned by the caller.
func (r *Reader) readDirect(size int) ([]byte, Offset, error) {
	h := r.buf[r.r : r.r+recordHeaderSize]
	rec := make([]byte, size-recordHeaderSize)
	k := copy(rec, r.buf[r.r+recordHeaderSize:r.w])
	n, err := r.f.ReadAt(rec[k:], r.fpos)
	if n < len(rec)-k {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, 0, r.corrupt(fmt.Sprintf("file ends at byte %d, expected %d", r.fpos+int64(n), r.limit))
		}
		return nil, 0, fmt.Errorf("wal: reading %s: %w", r.f.Name(), err)
	}
	if recordCRC(h[:4], rec) != binary.LittleEndian.Uint32(h[4:]) {
		return nil, 0, r.corrupt("checksum mismatch")
	}
	r.fpos += int64(n)
	r.r, r.w = 0, 0
	r.off++
	return rec, r.off - 1, nil
}

// fill reads more of the segment into buf: up to its readable limit, the
// end of buf, and upTo bytes.
func (r *Reader) fill(upTo int) error {
	if r.r > 0 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	want := min(int64(upTo), int64(len(r.buf)-r.w), r.limit-r.fpos)
	n, err := r.f.ReadAt(r.buf[r.w:r.w+int(want)], r.fpos)
	r.w += n
	r.fpos += int64(n)
	if n < int(want) {
		if err == nil || errors.Is(err, io.EOF) {
			return r.corrupt(fmt.Sprintf("file ends at byte %d, expected %d", r.fpos, r.limit))
		}
		return fmt.Errorf("wal: reading %s: %w", r.f.Name(), err)
	}
	return nil
}

// refresh updates the readable limit of the open segment from the log. It
// returns the channel to wait on for more, or nil when the log is closed.
func (r *Reader) refresh() (wait <-chan struct{}, err error) {
	if r.sealed {
		return nil, nil
	}
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	i := l.findLocked(r.base)
	if i < 0 || l.segs[i].base != r.base {
		return nil, fmt.Errorf("%w: segment %d was deleted while offset %d was being read", ErrTruncated, r.base, r.off)
	}
	r.limit = l.segs[i].size
	if i+1 < len(l.segs) {
		r.sealed, r.nextBase = true, l.segs[i+1].base
	}
	if l.closed {
		return nil, nil
	}
	return l.notify, nil
}

// open switches the reader to the segment that starts at base.
func (r *Reader) open(base Offset) error {
	path := filepath.Join(r.l.dir, segmentName(base))
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: segment %s was deleted", ErrTruncated, path)
	}
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	h := make([]byte, headerSize)
	if _, err := f.ReadAt(h, 0); err != nil {
		f.Close()
		return fmt.Errorf("%w: %s: reading header: %v", ErrCorrupt, path, err)
	}
	if err := checkHeader(h, base); err != nil {
		f.Close()
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
	}
	if r.f != nil {
		r.f.Close()
	}
	r.f, r.base, r.off = f, base, base
	r.r, r.w, r.fpos = 0, 0, headerSize
	r.limit, r.sealed, r.nextBase = headerSize, false, 0
	return nil
}

func (r *Reader) corrupt(what string) error {
	return fmt.Errorf("%w: %s at byte %d (offset %d): %s",
		ErrCorrupt, r.f.Name(), r.fpos-int64(r.w-r.r), r.off, what)
}

// Close releases the reader's file. Records returned by Next are invalid
// afterwards.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.buf = nil
	if r.f != nil {
		return r.f.Close()
	}
	return nil
}
