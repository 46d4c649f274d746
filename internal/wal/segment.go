package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	headerSize       = 20 // segment header: magic, version, first offset
	recordHeaderSize = 8  // record header: length, CRC-32C
	formatVersion    = 1
	segmentExt       = ".wal"
	segmentNameLen   = 20 // decimal digits in a segment file name

	// MaxRecordBytes is the largest payload Append accepts. A normalized
	// event is a few kilobytes; the bound keeps a corrupt length field from
	// making a reader allocate gigabytes.
	MaxRecordBytes = 64 << 20
)

var (
	segmentMagic = [8]byte{'p', 'r', 'o', 'w', 'l', 'W', 'A', 'L'}
	castagnoli   = crc32.MakeTable(crc32.Castagnoli)
)

// segmentName is the file name of the segment whose first record is base.
func segmentName(base Offset) string {
	s := strconv.FormatUint(uint64(base), 10)
	return strings.Repeat("0", segmentNameLen-len(s)) + s + segmentExt
}

// parseSegmentName returns the first offset encoded in a segment file name.
func parseSegmentName(name string) (Offset, bool) {
	digits, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(digits) != segmentNameLen {
		return 0, false
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return Offset(v), true
}

func encodeHeader(base Offset) []byte {
	h := make([]byte, headerSize)
	copy(h, segmentMagic[:])
	binary.LittleEndian.PutUint32(h[8:], formatVersion)
	binary.LittleEndian.PutUint64(h[12:], uint64(base))
	return h
}

// checkHeader validates a segment header read from the file of segment base.
func checkHeader(h []byte, base Offset) error {
	if len(h) < headerSize || [8]byte(h[:8]) != segmentMagic {
		return errors.New("not a prowl WAL segment (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(h[8:]); v != formatVersion {
		return fmt.Errorf("unsupported segment format version %d (want %d)", v, formatVersion)
	}
	if b := Offset(binary.LittleEndian.Uint64(h[12:])); b != base {
		return fmt.Errorf("header says first offset %d, file name says %d", b, base)
	}
	return nil
}

// appendRecord appends the encoded record (header + payload) to dst.
func appendRecord(dst, payload []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, 0, 0, 0, 0)
	dst = append(dst, payload...)
	binary.LittleEndian.PutUint32(dst[start+4:], recordCRC(dst[start:start+4], payload))
	return dst
}

// recordCRC is the checksum stored in a record header. It covers the length
// field too, so a damaged length is caught rather than trusted.
func recordCRC(length, payload []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, length), castagnoli, payload)
}

// createSegment creates the segment file for base, writes its header and,
// when durable, fsyncs the file and the directory, so a segment that exists
// after a crash always has a complete header. The file is returned open for
// appending.
func createSegment(dir string, base Offset, durable bool) (*os.File, error) {
	path := filepath.Join(dir, segmentName(base))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("wal: creating segment: %w", err)
	}
	if _, err := f.Write(encodeHeader(base)); err != nil {
		f.Close()
		return nil, fmt.Errorf("wal: writing header of %s: %w", path, err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("wal: syncing %s: %w", path, err)
		}
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// syncDir fsyncs a directory so that file creations, renames and removals
// in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("wal: opening directory for sync: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wal: syncing directory %s: %w", dir, err)
	}
	return nil
}

// Recovery describes what Open found at the end of the log. The zero
// DroppedBytes means the last segment ended on a complete record.
type Recovery struct {
	Segment      string // path of the last segment, the one Open scanned
	Records      uint64 // complete records kept in it
	DroppedBytes int64  // bytes cut from its tail
	DroppedAt    int64  // file position of the cut (the end of the last complete record)
	FirstDropped Offset // the offset the first dropped record would have had (= Next after Open)
	Reason       string // why the tail was cut: "partial record", "checksum mismatch", ...
}

// String describes the recovery for logs, e.g. "….wal: checksum mismatch at
// byte 4120 (offset 96): dropped 1032 bytes, kept 4 records".
func (r Recovery) String() string {
	if r.DroppedBytes == 0 {
		return fmt.Sprintf("%s: clean, %d records", r.Segment, r.Records)
	}
	return fmt.Sprintf("%s: %s at byte %d (offset %d): dropped %d bytes, kept %d records",
		r.Segment, r.Reason, r.DroppedAt, r.FirstDropped, r.DroppedBytes, r.Records)
}

// recoverSegment opens the last segment of the log, validates every record
// and truncates the file after the last complete one. It returns the file
// (open for appending), the number of records kept and its new size.
func recoverSegment(dir string, base Offset, durable bool) (*os.File, Recovery, int64, error) {
	path := filepath.Join(dir, segmentName(base))
	rec := Recovery{Segment: path, FirstDropped: base}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, rec, 0, fmt.Errorf("wal: opening last segment: %w", err)
	}
	fail := func(err error) (*os.File, Recovery, int64, error) {
		f.Close()
		return nil, rec, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("wal: %w", err))
	}
	size := st.Size()
	hdr := make([]byte, headerSize)
	n, err := f.ReadAt(hdr, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fail(fmt.Errorf("wal: reading header of %s: %w", path, err))
	}
	if herr := checkHeader(hdr[:n], base); herr != nil {
		if size > headerSize {
			// Records are written only after the header's fsync returned,
			// so a bad header followed by data is damage, not a torn write.
			return fail(fmt.Errorf("wal: %s: %w: %v", path, ErrCorrupt, herr))
		}
		// Crash while the segment was being created: it holds no records.
		if err := f.Truncate(0); err != nil {
			return fail(fmt.Errorf("wal: resetting %s: %w", path, err))
		}
		if _, err := f.WriteAt(encodeHeader(base), 0); err != nil {
			return fail(fmt.Errorf("wal: rewriting header of %s: %w", path, err))
		}
		if durable {
			if err := f.Sync(); err != nil {
				return fail(fmt.Errorf("wal: syncing %s: %w", path, err))
			}
		}
		if size > 0 {
			rec.DroppedBytes, rec.Reason = size, "incomplete segment header"
		}
		return reopenAppend(f, path, rec, headerSize)
	}

	count, end, reason, err := scanRecords(f, size)
	if err != nil {
		return fail(err)
	}
	rec.Records, rec.FirstDropped = count, base+Offset(count)
	if end < size {
		rec.DroppedBytes, rec.DroppedAt, rec.Reason = size-end, end, reason
		if err := f.Truncate(end); err != nil {
			return fail(fmt.Errorf("wal: truncating torn tail of %s: %w", path, err))
		}
		if durable {
			if err := f.Sync(); err != nil {
				return fail(fmt.Errorf("wal: syncing %s: %w", path, err))
			}
		}
	}
	return reopenAppend(f, path, rec, end)
}

func reopenAppend(f *os.File, path string, rec Recovery, size int64) (*os.File, Recovery, int64, error) {
	if err := f.Close(); err != nil {
		return nil, rec, 0, fmt.Errorf("wal: %w", err)
	}
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, rec, 0, fmt.Errorf("wal: reopening last segment: %w", err)
	}
	return w, rec, size, nil
}

// scanRecords reads the records after the header of a segment of the given
// size and stops at the first one that is incomplete or fails its checksum.
// It returns how many complete records precede that point, the byte position
// where they end and, when the segment does not end there, why.
func scanRecords(f *os.File, size int64) (count uint64, end int64, reason string, err error) {
	br := bufio.NewReaderSize(io.NewSectionReader(f, headerSize, size-headerSize), 1<<20)
	end = headerSize
	var h [recordHeaderSize]byte
	var payload []byte
	for end < size {
		if size-end < recordHeaderSize {
			return count, end, "partial record", nil
		}
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return count, end, "", fmt.Errorf("wal: reading %s at byte %d: %w", f.Name(), end, err)
		}
		n := int64(binary.LittleEndian.Uint32(h[:4]))
		if n > MaxRecordBytes {
			return count, end, "invalid record length", nil
		}
		if size-end-recordHeaderSize < n {
			return count, end, "partial record", nil
		}
		if int64(cap(payload)) < n {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(br, payload); err != nil {
			return count, end, "", fmt.Errorf("wal: reading %s at byte %d: %w", f.Name(), end, err)
		}
		if recordCRC(h[:4], payload) != binary.LittleEndian.Uint32(h[4:]) {
			return count, end, "checksum mismatch", nil
		}
		count++
		end += recordHeaderSize + n
	}
	return count, end, "", nil
}
