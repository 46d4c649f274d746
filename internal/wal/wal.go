package wal

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prowl-siem/prowl/internal/dirlock"
)

// Offset is the number of a record in the log: the first record ever
// appended is 0 and each record gets the next number, across segments. It
// is not a byte position.
type Offset uint64

const (
	// DefaultSegmentBytes is used when Options.SegmentBytes is 0.
	DefaultSegmentBytes = 64 << 20
	// DefaultSyncInterval is a group-commit window for disks where fsync
	// is expensive. The zero Options.SyncInterval means no window (see
	// Options.SyncInterval for the trade-off).
	DefaultSyncInterval = 2 * time.Millisecond

	maxGroupBytes = 8 << 20 // the writer hands a group to the syncer at this size
	writeBufBytes = 256 << 10
	reqQueueLen   = 256
	syncQueueLen  = 64
)

var (
	// ErrClosed is returned by operations on a closed Log, and by
	// Reader.Next once the Log is closed and the reader has caught up.
	ErrClosed = errors.New("wal: log closed")
	// ErrTruncated means the requested records were deleted by Truncate.
	ErrTruncated = errors.New("wal: offset no longer retained")
	// ErrCorrupt means a segment's bytes do not match their checksum or
	// structure. The error text names the file and byte position.
	ErrCorrupt = errors.New("wal: corrupt segment")
	// ErrEmptyBatch is returned by Append for a batch with no records.
	ErrEmptyBatch = errors.New("wal: empty batch")
	// ErrRecordTooLarge is returned by Append for a record larger than
	// MaxRecordBytes.
	ErrRecordTooLarge = errors.New("wal: record too large")
)

// Options configures a Log.
type Options struct {
	// Dir holds the segments and consumer offsets. It is created if missing
	// and may be used by one Log (one process) at a time.
	Dir string
	// SegmentBytes is the size at which a segment is rolled: a record that
	// would take the file past it starts a new segment. 0 means
	// DefaultSegmentBytes (64 MiB).
	SegmentBytes int64
	// SyncInterval is the group-commit window. Appends that arrive while
	// an fsync is running always share the next fsync. In addition, when
	// SyncInterval > 0 and other appends are on their way (being encoded,
	// queued or written), the next fsync waits for them, up to
	// SyncInterval, so they share it too; a lone appender is never
	// delayed. 0 means no waiting: each fsync covers what is written when
	// it starts (one sequential appender gets one fsync per Append).
	//
	// The window trades throughput for fewer fsyncs: waiting for appends on
	// their way stops the writer from overlapping the next write with the
	// running fsync. On the project machine (local disk, ~0.1 ms fsync) 0
	// is the faster setting (BenchmarkAppend); a window pays off where each
	// fsync is expensive, such as network block storage.
	SyncInterval time.Duration
	// NoSync skips every fsync: Append returns once the data is written to
	// the operating system. For benchmarks and tests only; it voids the
	// durability guarantee.
	NoSync bool
}

// Stats is a snapshot of a Log for metrics and the console.
type Stats struct {
	Dir      string
	Segments int
	Bytes    int64  // durable bytes in all segments, headers included
	First    Offset // oldest retained record
	Next     Offset // offset the next record will get
	// Counters since Open.
	Appends uint64 // acknowledged Append calls
	Records uint64 // acknowledged records
	Syncs   uint64 // fsyncs of segment data; Appends/Syncs is the group-commit factor
	// Consumers, sorted by name.
	Consumers []ConsumerStats
}

// ConsumerStats is one registered consumer's position.
type ConsumerStats struct {
	Name      string
	Committed Offset // everything below it is processed
	Lag       uint64 // Next - Committed: records not yet processed
}

// segment is the published view of one segment file.
type segment struct {
	base Offset // offset of its first record
	size int64  // bytes readers may read: durable bytes for the last segment, the file size for sealed ones
}

// appendReq is one Append call on its way through the log.
type appendReq struct {
	buf   []byte // encoded records
	n     int    // number of records
	first Offset // assigned by the writer
	done  chan error
}

// syncBatch is a group of appends the writer has written, on its way to
// the syncer, which fsyncs and acknowledges it.
type syncBatch struct {
	reqs    []*appendReq
	records uint64
	err     error    // the write failed: fail these appends
	file    *os.File // segment holding the end of the group
	base    Offset   // its first offset
	size    int64    // its size after the group
	next    Offset   // offset after the group's last record
	retire  []*os.File
}

var reqPool = sync.Pool{New: func() any { return &appendReq{done: make(chan error, 1)} }}

// Log is a durable, segmented, append-only record log. All methods are safe
// for concurrent use.
type Log struct {
	opts Options
	dir  string
	lock *os.File

	// Append → writer → syncer.
	sendMu    sync.RWMutex // write-held only by Close, to close reqs
	reqs      chan *appendReq
	sendDone  bool                  // under sendMu
	preparing atomic.Int64          // Append calls encoding their records
	writing   atomic.Bool           // the writer holds a group not yet sent to the syncer
	failure   atomic.Pointer[error] // sticky write/fsync error
	syncq     chan *syncBatch
	done      chan struct{} // closed when the syncer exits

	// Writer-owned.
	active     *os.File
	activeBase Offset
	w          *bufio.Writer
	activeSize int64
	assigned   Offset     // next offset to hand out
	retired    []*os.File // sealed segment files, closed by the syncer

	timer *time.Timer // syncer-owned: the SyncInterval window

	// Published state, under mu.
	mu      sync.Mutex
	segs    []segment
	next    Offset        // every record below it is durable
	notify  chan struct{} // closed and replaced whenever next or segs change
	closed  bool
	appends uint64
	records uint64
	syncs   uint64

	recovery Recovery

	// Consumer offsets, under cmu.
	cmu       sync.Mutex
	consumers map[string]Offset
	truncMu   sync.Mutex
}

// Open opens or creates the log in opts.Dir. It scans the last segment,
// cuts a torn tail (an incomplete record or one that fails its checksum,
// and anything after it) and reports what it cut through Recovered. Older
// segments are not scanned; readers verify their records as they go.
func Open(opts Options) (*Log, error) {
	if opts.Dir == "" {
		return nil, errors.New("wal: Options.Dir is empty")
	}
	if opts.SegmentBytes == 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.SegmentBytes < headerSize+recordHeaderSize {
		return nil, fmt.Errorf("wal: Options.SegmentBytes %d is too small", opts.SegmentBytes)
	}
	if opts.SyncInterval < 0 {
		return nil, fmt.Errorf("wal: Options.SyncInterval %v is negative", opts.SyncInterval)
	}
	dir := filepath.Clean(opts.Dir)
	if err := os.MkdirAll(filepath.Join(dir, consumersDir), 0o750); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	// The lock keeps two processes (or two Logs in one process) from
	// appending to the same log.
	lock, err := dirlock.Lock(dir, "wal", "Log")
	if err != nil {
		return nil, err
	}
	l := &Log{
		opts:   opts,
		dir:    dir,
		lock:   lock,
		reqs:   make(chan *appendReq, reqQueueLen),
		syncq:  make(chan *syncBatch, syncQueueLen),
		done:   make(chan struct{}),
		notify: make(chan struct{}),
		timer:  time.NewTimer(time.Hour),
	}
	l.timer.Stop()
	if err := l.load(); err != nil {
		lock.Close()
		return nil, err
	}
	if err := l.loadConsumers(); err != nil {
		l.active.Close()
		lock.Close()
		return nil, err
	}
	l.w = bufio.NewWriterSize(l.active, writeBufBytes)
	go l.writer()
	go l.syncer()
	return l, nil
}

// load finds the segments and recovers the last one.
func (l *Log) load() error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	var bases []Offset
	for _, e := range entries {
		if b, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			bases = append(bases, b)
		}
	}
	slices.Sort(bases)
	durable := !l.opts.NoSync
	if len(bases) == 0 {
		f, err := createSegment(l.dir, 0, durable)
		if err != nil {
			return err
		}
		l.active, l.activeBase, l.activeSize = f, 0, headerSize
		l.segs = []segment{{base: 0, size: headerSize}}
		l.recovery = Recovery{Segment: f.Name()}
		return nil
	}
	for _, b := range bases[:len(bases)-1] {
		st, err := os.Stat(filepath.Join(l.dir, segmentName(b)))
		if err != nil {
			return fmt.Errorf("wal: %w", err)
		}
		l.segs = append(l.segs, segment{base: b, size: st.Size()})
	}
	last := bases[len(bases)-1]
	f, rec, size, err := recoverSegment(l.dir, last, durable)
	if err != nil {
		return err
	}
	l.active, l.activeBase, l.activeSize = f, last, size
	l.segs = append(l.segs, segment{base: last, size: size})
	l.recovery = rec
	l.next = last + Offset(rec.Records)
	l.assigned = l.next
	return nil
}

// Recovered reports what Open found at the end of the log: how many bytes
// of torn tail it cut, where and why. DroppedBytes is 0 after a clean
// shutdown. After a crash only records whose Append never returned are in a
// torn tail; a non-zero DroppedBytes without a crash means media damage.
func (l *Log) Recovered() Recovery { return l.recovery }

// Append writes records as one batch and returns the offset of the last
// one (the first is last-len(records)+1). When it returns nil the records
// are durable: written and fsynced, possibly by an fsync shared with
// concurrent appends. The records are copied; the caller may reuse them as
// soon as Append returns.
//
// An error means the batch is not acknowledged. If ctx ends while the batch
// is already queued, Append returns ctx's error but the records may still
// reach the log, so a retry can duplicate them: delivery is at-least-once.
// After a write or fsync failure every later Append returns that failure;
// the Log must be closed and opened again.
func (l *Log) Append(ctx context.Context, records [][]byte) (last Offset, err error) {
	if len(records) == 0 {
		return 0, ErrEmptyBatch
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if f := l.failure.Load(); f != nil {
		return 0, *f
	}
	req := reqPool.Get().(*appendReq)
	l.preparing.Add(1)
	buf := req.buf[:0]
	for i, r := range records {
		if len(r) > MaxRecordBytes {
			l.preparing.Add(-1)
			reqPool.Put(req)
			return 0, fmt.Errorf("%w: record %d of the batch is %d bytes (max %d)", ErrRecordTooLarge, i, len(r), MaxRecordBytes)
		}
		buf = appendRecord(buf, r)
	}
	req.buf, req.n = buf, len(records)
	l.preparing.Add(-1)

	l.sendMu.RLock()
	if l.sendDone {
		l.sendMu.RUnlock()
		reqPool.Put(req)
		return 0, ErrClosed
	}
	select {
	case l.reqs <- req:
		l.sendMu.RUnlock()
	case <-ctx.Done():
		l.sendMu.RUnlock()
		reqPool.Put(req)
		return 0, ctx.Err()
	}
	select {
	case err = <-req.done:
	case <-ctx.Done():
		// The log still owns req; leave it to the garbage collector.
		return 0, ctx.Err()
	}
	last = req.first + Offset(req.n) - 1
	if cap(req.buf) <= 4<<20 {
		reqPool.Put(req)
	}
	if err != nil {
		return 0, err
	}
	return last, nil
}

// writer is the first stage of group commit: it takes queued appends in
// groups, assigns their offsets and writes them, then hands each group to
// the syncer. While the syncer fsyncs one group the writer writes the next,
// so a following fsync covers everything written meanwhile.
func (l *Log) writer() {
	defer close(l.syncq)
	for req := range l.reqs {
		l.writing.Store(true)
		group, open := l.gather([]*appendReq{req})
		b := &syncBatch{reqs: group}
		if f := l.failure.Load(); f != nil {
			b.err = *f
		} else if err := l.writeGroup(b); err != nil {
			b.err = l.fail(err)
		}
		b.file, b.base, b.size, b.next = l.active, l.activeBase, l.activeSize, l.assigned
		b.retire, l.retired = l.retired, nil
		l.syncq <- b
		l.writing.Store(false)
		if !open {
			return
		}
	}
}

// syncer is the second stage: it fsyncs the segment once for every group
// written so far, publishes the new durable end and acknowledges the
// appends.
func (l *Log) syncer() {
	defer close(l.done)
	var batches []*syncBatch
	for b := range l.syncq {
		batches = l.collect(append(batches[:0], b))
		last := batches[len(batches)-1]
		var err error
		if f := l.failure.Load(); f != nil {
			err = *f
		} else if !l.opts.NoSync {
			// Earlier groups in other segments were fsynced when the
			// writer sealed those segments.
			if serr := last.file.Sync(); serr != nil {
				err = l.fail(fmt.Errorf("wal: fsync %s: %w", last.file.Name(), serr))
			}
		}
		if err == nil {
			l.publish(last, batches)
		}
		for _, b := range batches {
			berr := err
			if b.err != nil {
				berr = b.err
			}
			for _, r := range b.reqs {
				r.done <- berr // r belongs to its Append again from here on
			}
			for _, f := range b.retire {
				f.Close()
			}
		}
		clear(batches)
	}
}

// collect adds to batches every group already written and, within the
// SyncInterval window, the groups of appends that are on their way (being
// encoded, queued or written), so that one fsync covers them all. With
// nothing on the way it returns at once: a lone appender never waits.
func (l *Log) collect(batches []*syncBatch) []*syncBatch {
	drain := func() bool {
		for {
			select {
			case b, ok := <-l.syncq:
				if !ok {
					return false
				}
				batches = append(batches, b)
			default:
				return true
			}
		}
	}
	if !drain() || l.opts.SyncInterval <= 0 || !l.moreComing() {
		return batches
	}
	l.timer.Reset(l.opts.SyncInterval)
	defer l.timer.Stop()
	for l.moreComing() {
		select {
		case b, ok := <-l.syncq:
			if !ok {
				return batches
			}
			batches = append(batches, b)
			if !drain() {
				return batches
			}
		case <-l.timer.C:
			return batches
		}
	}
	return batches
}

// moreComing reports whether appends are on their way to the syncer. Every
// one of them ends in a group sent on syncq, except an Append that fails
// validation, which the timer covers.
func (l *Log) moreComing() bool {
	return l.preparing.Load() > 0 || len(l.reqs) > 0 || l.writing.Load()
}

// publish makes the records up to last.next visible to readers and
// counts the acknowledged appends.
func (l *Log) publish(last *syncBatch, batches []*syncBatch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i := l.findLocked(last.base); i >= 0 && l.segs[i].base == last.base && l.segs[i].size < last.size {
		l.segs[i].size = last.size
	}
	l.next = max(l.next, last.next) // a roll may already have published further
	for _, b := range batches {
		if b.err == nil {
			l.appends += uint64(len(b.reqs))
			l.records += b.records
		}
	}
	if !l.opts.NoSync {
		l.syncs++
	}
	l.wakeLocked()
}

// gather adds every append already queued to group. open is false once
// reqs is closed.
func (l *Log) gather(group []*appendReq) (_ []*appendReq, open bool) {
	bytes := len(group[0].buf)
	for bytes < maxGroupBytes {
		select {
		case r, ok := <-l.reqs:
			if !ok {
				return group, false
			}
			group = append(group, r)
			bytes += len(r.buf)
		default:
			return group, true
		}
	}
	return group, true
}

// writeGroup assigns offsets to a group and writes it, rolling segments
// as needed.
func (l *Log) writeGroup(b *syncBatch) error {
	for _, r := range b.reqs {
		b.records += uint64(r.n)
		r.first = l.assigned
		if err := l.write(r.buf); err != nil {
			return err
		}
	}
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("wal: writing %s: %w", l.active.Name(), err)
	}
	return nil
}

// write appends encoded records to the active segment, splitting them at
// record boundaries across as many new segments as they need.
func (l *Log) write(data []byte) error {
	for len(data) > 0 {
		room := l.opts.SegmentBytes - l.activeSize
		n, count := 0, 0
		for n < len(data) {
			size := recordHeaderSize + int(binary.LittleEndian.Uint32(data[n:]))
			if int64(n+size) > room && (n > 0 || l.activeSize > headerSize) {
				break
			}
			n += size
			count++
		}
		if n > 0 {
			var err error
			if n >= writeBufBytes/4 { // large: skip the copy into the buffer
				if err = l.w.Flush(); err == nil {
					_, err = l.active.Write(data[:n])
				}
			} else {
				_, err = l.w.Write(data[:n])
			}
			if err != nil {
				return fmt.Errorf("wal: writing %s: %w", l.active.Name(), err)
			}
			l.activeSize += int64(n)
			l.assigned += Offset(count)
			data = data[n:]
		}
		if len(data) > 0 {
			if err := l.roll(); err != nil {
				return err
			}
		}
	}
	return nil
}

// roll seals the active segment (flush, fsync) and starts a new one at the
// next offset to assign. The new segment is created only once the sealed
// one is durable, so only the last segment can ever have a torn tail. The
// sealed records are published right away.
func (l *Log) roll() error {
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("wal: writing %s: %w", l.active.Name(), err)
	}
	durable := !l.opts.NoSync
	if durable {
		if err := l.active.Sync(); err != nil {
			return fmt.Errorf("wal: fsync %s: %w", l.active.Name(), err)
		}
	}
	f, err := createSegment(l.dir, l.assigned, durable)
	if err != nil {
		return err
	}
	// The syncer may still fsync the old file for groups queued before
	// this one; it closes the file after them.
	l.retired = append(l.retired, l.active)
	sealed := l.activeSize
	l.active, l.activeBase, l.activeSize = f, l.assigned, headerSize
	l.w.Reset(f)

	l.mu.Lock()
	l.segs[len(l.segs)-1].size = sealed
	l.segs = append(l.segs, segment{base: l.assigned, size: headerSize})
	l.next = max(l.next, l.assigned)
	if durable {
		l.syncs++
	}
	l.wakeLocked()
	l.mu.Unlock()
	return nil
}

// fail records a sticky failure: no later append can succeed on this Log.
func (l *Log) fail(err error) error {
	l.failure.CompareAndSwap(nil, &err)
	return *l.failure.Load()
}

// wakeLocked wakes every reader waiting for new records. l.mu must be held.
func (l *Log) wakeLocked() {
	close(l.notify)
	l.notify = make(chan struct{})
}

// Next returns the offset the next appended record will get when no Append
// is in flight. Every record below it is durable and readable.
func (l *Log) Next() Offset {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// First returns the oldest offset still in the log (0 until Truncate
// deletes a segment).
func (l *Log) First() Offset {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segs[0].base
}

// Stats returns a snapshot of the log's size, counters and consumers.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	s := Stats{
		Dir:      l.dir,
		Segments: len(l.segs),
		First:    l.segs[0].base,
		Next:     l.next,
		Appends:  l.appends,
		Records:  l.records,
		Syncs:    l.syncs,
	}
	for _, sg := range l.segs {
		s.Bytes += sg.size
	}
	l.mu.Unlock()
	l.cmu.Lock()
	for name, off := range l.consumers {
		lag := uint64(0)
		if s.Next > off {
			lag = uint64(s.Next - off)
		}
		s.Consumers = append(s.Consumers, ConsumerStats{Name: name, Committed: off, Lag: lag})
	}
	l.cmu.Unlock()
	sort.Slice(s.Consumers, func(i, j int) bool { return s.Consumers[i].Name < s.Consumers[j].Name })
	return s
}

// Close waits for queued appends to be committed, stops the log, wakes
// blocked readers (they return ErrClosed) and releases the directory.
// Appends that start after Close return ErrClosed.
func (l *Log) Close() error {
	l.sendMu.Lock()
	if l.sendDone {
		l.sendMu.Unlock()
		return ErrClosed
	}
	l.sendDone = true
	close(l.reqs)
	l.sendMu.Unlock()
	<-l.done

	l.mu.Lock()
	l.closed = true
	l.wakeLocked()
	l.mu.Unlock()

	err := l.active.Close()
	for _, f := range l.retired {
		f.Close()
	}
	if cerr := l.lock.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("wal: closing: %w", err)
	}
	return nil
}
