package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

const (
	consumersDir    = "consumers"
	offsetExt       = ".offset"
	offsetFileSize  = 16
	maxConsumerName = 100
)

var offsetMagic = [4]byte{'p', 'w', 'o', '1'}

// RegisterConsumer durably registers a consumer, so that Truncate keeps
// every record it has not committed, and returns its committed offset. A
// new consumer starts at First() (0 on a log that was never truncated). A
// registered consumer stays registered across restarts until
// UnregisterConsumer. Names are 1-100 characters of [A-Za-z0-9._-] and do
// not start with a dot.
func (l *Log) RegisterConsumer(name string) (Offset, error) {
	if err := checkConsumerName(name); err != nil {
		return 0, err
	}
	l.cmu.Lock()
	defer l.cmu.Unlock()
	if off, ok := l.consumers[name]; ok {
		return off, nil
	}
	off := l.First()
	if err := l.writeOffset(name, off); err != nil {
		return 0, err
	}
	l.consumers[name] = off
	return off, nil
}

// UnregisterConsumer forgets a consumer: Truncate no longer keeps records
// for it. Unregistering an unknown consumer is not an error.
func (l *Log) UnregisterConsumer(name string) error {
	if err := checkConsumerName(name); err != nil {
		return err
	}
	l.cmu.Lock()
	defer l.cmu.Unlock()
	if _, ok := l.consumers[name]; !ok {
		return nil
	}
	if err := os.Remove(l.offsetPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("wal: unregistering consumer %q: %w", name, err)
	}
	if err := syncDir(filepath.Join(l.dir, consumersDir)); err != nil {
		return err
	}
	delete(l.consumers, name)
	return nil
}

// CommitOffset durably records that consumer has processed every record
// below off, registering the consumer if needed. When it returns nil the
// offset survives a crash; after a crash the consumer sees either this
// offset or the one it committed before, never a damaged value. off must
// lie between First() and Next(); committing a lower offset than before is
// allowed (to replay).
func (l *Log) CommitOffset(consumer string, off Offset) error {
	if err := checkConsumerName(consumer); err != nil {
		return err
	}
	l.cmu.Lock() // held while reading First so Truncate cannot move it meanwhile
	defer l.cmu.Unlock()
	l.mu.Lock()
	first, next := l.segs[0].base, l.next
	l.mu.Unlock()
	if off > next {
		return fmt.Errorf("wal: consumer %q: cannot commit offset %d beyond the end of the log (next offset %d)", consumer, off, next)
	}
	if off < first {
		return fmt.Errorf("%w: consumer %q: cannot commit offset %d, oldest retained is %d", ErrTruncated, consumer, off, first)
	}
	if err := l.writeOffset(consumer, off); err != nil {
		return err
	}
	l.consumers[consumer] = off
	return nil
}

// CommittedOffset returns the offset consumer last committed: it has
// processed every record below it. It is 0 for a consumer that never
// committed nor registered. It does not register the consumer.
func (l *Log) CommittedOffset(consumer string) (Offset, error) {
	if err := checkConsumerName(consumer); err != nil {
		return 0, err
	}
	l.cmu.Lock()
	defer l.cmu.Unlock()
	return l.consumers[consumer], nil
}

// Truncate deletes the segments whose records are all below the lowest
// offset committed by any registered consumer, oldest first. Records at or
// after that offset are kept, and so is the segment being appended to.
// With no registered consumer it deletes nothing. A Reader positioned in a
// deleted segment keeps reading the records it had reached and then gets
// ErrTruncated.
func (l *Log) Truncate() error {
	l.truncMu.Lock()
	defer l.truncMu.Unlock()
	l.cmu.Lock()
	if len(l.consumers) == 0 {
		l.cmu.Unlock()
		return nil
	}
	low := Offset(1<<64 - 1)
	for _, off := range l.consumers {
		low = min(low, off)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.cmu.Unlock()
		return ErrClosed
	}
	k := 0
	for k+1 < len(l.segs) && l.segs[k+1].base <= low {
		k++
	}
	victims := slices.Clone(l.segs[:k])
	l.segs = append([]segment(nil), l.segs[k:]...)
	l.wakeLocked()
	l.mu.Unlock()
	l.cmu.Unlock()

	// Oldest first, each removal made durable before the next, so a crash
	// leaves a contiguous suffix of the log.
	for _, s := range victims {
		path := filepath.Join(l.dir, segmentName(s.base))
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("wal: truncating: %w", err)
		}
		if err := syncDir(l.dir); err != nil {
			return err
		}
	}
	return nil
}

func checkConsumerName(name string) error {
	if name == "" || len(name) > maxConsumerName || strings.HasPrefix(name, ".") {
		return fmt.Errorf("wal: invalid consumer name %q", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("wal: invalid consumer name %q: only letters, digits, '.', '_' and '-' are allowed", name)
		}
	}
	return nil
}

func (l *Log) offsetPath(name string) string {
	return filepath.Join(l.dir, consumersDir, name+offsetExt)
}

// writeOffset atomically replaces a consumer's offset file: write a
// temporary file, fsync it, rename it over the old one, fsync the directory.
func (l *Log) writeOffset(name string, off Offset) error {
	var b [offsetFileSize]byte
	copy(b[:], offsetMagic[:])
	binary.LittleEndian.PutUint64(b[4:], uint64(off))
	binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))

	path := l.offsetPath(name)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("wal: committing offset of %q: %w", name, err)
	}
	_, err = f.Write(b[:])
	if err == nil && !l.opts.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("wal: committing offset of %q: %w", name, err)
	}
	if !l.opts.NoSync {
		return syncDir(filepath.Dir(path))
	}
	return nil
}

// loadConsumers reads every consumer's offset file and removes temporary
// files left by a crash during a commit.
func (l *Log) loadConsumers() error {
	dir := filepath.Join(l.dir, consumersDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	l.consumers = make(map[string]Offset)
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(dir, name))
			continue
		}
		consumer, ok := strings.CutSuffix(name, offsetExt)
		if !ok || checkConsumerName(consumer) != nil {
			continue
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("wal: reading consumer offset: %w", err)
		}
		if len(b) != offsetFileSize || [4]byte(b[:4]) != offsetMagic ||
			crc32.Checksum(b[:12], castagnoli) != binary.LittleEndian.Uint32(b[12:]) {
			return fmt.Errorf("wal: consumer offset file %s is damaged (%d bytes); restore it or delete it to re-register the consumer", path, len(b))
		}
		l.consumers[consumer] = Offset(binary.LittleEndian.Uint64(b[4:]))
	}
	return nil
}
