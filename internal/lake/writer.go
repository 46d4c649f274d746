package lake

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/prowl-siem/prowl/internal/batchrec"
	"github.com/prowl-siem/prowl/internal/dirlock"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/wal"
)

// Consumer is the lake's default consumer name in the write-ahead log.
const Consumer = "lake"

// Defaults of Options.
const (
	DefaultFlushRows         = 50_000
	DefaultFlushBytes        = 32 << 20
	DefaultFlushInterval     = 5 * time.Second
	DefaultTargetFileBytes   = 128 << 20
	DefaultRetention         = 90 * 24 * time.Hour
	DefaultCompactInterval   = time.Minute
	DefaultRetentionInterval = 10 * time.Minute
	DefaultMemoryLimit       = "512MB"
)

// Options configure a Lake.
type Options struct {
	// Dir is the lake directory: the manifest and one directory per table.
	Dir string
	// Log is the write-ahead log Run consumes. It may be nil for a lake
	// written only through the Write methods (or only read).
	Log *wal.Log
	// Consumer is the lake's consumer name in Log (default "lake").
	Consumer string
	// Registry maps log types to tables and columns (default: the
	// built-in log types only).
	Registry *logtypes.Registry
	// FlushRows flushes the buffers once they hold this many rows
	// (default 50,000).
	FlushRows int
	// FlushBytes flushes the buffers once the events they hold add up to
	// this many bytes of JSON (default 32 MiB), which bounds the writer's
	// memory whatever the size of the events.
	FlushBytes int64
	// FlushInterval flushes the buffers at the latest this long after
	// their first row arrived (default 5s): events are queryable within
	// about that delay.
	FlushInterval time.Duration
	// MaxBufferedRows stops reading the log while a flush is failing and
	// this many rows wait (default 4 × FlushRows).
	MaxBufferedRows int
	// TargetFileBytes is the size compaction merges small files up to
	// (default 128 MiB). A file smaller than it is "small".
	TargetFileBytes int64
	// Retention is how long each table keeps its data, by table name;
	// whole hour partitions older than that are dropped. A value <= 0
	// keeps the table forever. Tables not listed get DefaultRetention.
	Retention map[string]time.Duration
	// DefaultRetention applies to tables not in Retention (default 90
	// days; negative: forever).
	DefaultRetention time.Duration
	// CompactInterval and RetentionInterval are how often Run compacts and
	// enforces retention (defaults 1 minute and 10 minutes).
	CompactInterval   time.Duration
	RetentionInterval time.Duration
	// MemoryLimit bounds the writer's DuckDB (default 512MB), which
	// compaction's merges use; they spill to Dir/_tmp beyond it.
	MemoryLimit string
	// Now is the clock (default time.Now): flush delays, retention and
	// when a partition counts as closed for compaction.
	Now func() time.Time
	// Logger receives warnings and errors (default slog.Default()).
	Logger *slog.Logger
	// NoSync skips fsyncs. For tests and benchmarks only: it voids the
	// durability guarantees.
	NoSync bool
}

// Lake writes and holds the data lake: it consumes the write-ahead log
// into Parquet files, keeps the manifest of live files, compacts small
// files, enforces retention and hands out Snapshots to queries. Its
// methods are safe for concurrent use.
type Lake struct {
	opts Options
	dir  string
	lock *os.File
	db   *sql.DB
	defs tableDefs

	flushMu   sync.Mutex // one flush at a time; held before commitMu
	compactMu sync.Mutex // one compaction at a time; held before commitMu

	commitMu sync.Mutex // manifest writes; held before mu
	man      *manifest
	nextSeq  uint64 // next file sequence number

	mu       sync.Mutex
	cur      *view
	pins     map[uint64]int    // view version → snapshots holding it
	added    map[string]uint64 // live file (relative path) → version it entered in
	doomed   []doomedFile      // removed from the manifest, not yet deleted
	offset   wal.Offset        // log offset the manifest covers
	bufs     *buffers
	bufTo    wal.Offset // log offset after the last record in the buffers
	firstAt  time.Time  // when the buffers became non-empty
	counters counters
	closed   bool

	running atomic.Bool
	kick    chan struct{} // asks Run to flush now
}

type counters struct {
	flushes, flushedRows, compactions, compactedFiles, retentionDrops uint64
	lastFlush                                                         time.Time
	lastError                                                         string
}

// doomedFile is a file removed from the manifest: it was in the views of
// versions [from, to) and is deleted once no snapshot of those holds it.
type doomedFile struct {
	path     string // absolute
	from, to uint64
}

// Open opens (or creates) the lake in opts.Dir: it loads the manifest,
// deletes data files the manifest does not list (a crash's leftovers),
// drops files the manifest lists but the disk lost (logging an error) and
// registers the lake's consumer in the log. Run starts writing.
func Open(opts Options) (*Lake, error) {
	if opts.Dir == "" {
		return nil, errors.New("lake: Options.Dir is empty")
	}
	if opts.Consumer == "" {
		opts.Consumer = Consumer
	}
	if opts.Registry == nil {
		opts.Registry = logtypes.NewRegistry()
	}
	if opts.FlushRows <= 0 {
		opts.FlushRows = DefaultFlushRows
	}
	if opts.FlushBytes <= 0 {
		opts.FlushBytes = DefaultFlushBytes
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.MaxBufferedRows <= 0 {
		opts.MaxBufferedRows = 4 * opts.FlushRows
	}
	if opts.TargetFileBytes <= 0 {
		opts.TargetFileBytes = DefaultTargetFileBytes
	}
	if opts.DefaultRetention == 0 {
		opts.DefaultRetention = DefaultRetention
	}
	if opts.CompactInterval <= 0 {
		opts.CompactInterval = DefaultCompactInterval
	}
	if opts.RetentionInterval <= 0 {
		opts.RetentionInterval = DefaultRetentionInterval
	}
	if opts.MemoryLimit == "" {
		opts.MemoryLimit = DefaultMemoryLimit
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	if err := mkdirDurable(dir, opts.NoSync); err != nil {
		return nil, fmt.Errorf("lake: %w", err)
	}
	// The lock keeps two writers (processes or Lakes in one process) out
	// of one lake directory.
	lock, err := dirlock.Lock(dir, "lake", "Lake")
	if err != nil {
		return nil, err
	}
	l := &Lake{opts: opts, dir: dir, lock: lock, defs: tableDefs{reg: opts.Registry},
		pins: map[uint64]int{}, added: map[string]uint64{}, bufs: newBuffers(), kick: make(chan struct{}, 1)}
	if err := l.open(); err != nil {
		l.closeAll()
		return nil, err
	}
	return l, nil
}

func (l *Lake) open() error {
	man, err := openManifest(l.dir, l.opts.NoSync, l.opts.Now().UTC())
	if err != nil {
		return err
	}
	l.man = man
	l.nextSeq = man.state.seq
	if man.torn != "" {
		l.opts.Logger.Warn("lake: ignored a manifest commit torn by a crash; its files are deleted and its rows written again", "torn", man.torn)
	}
	os.RemoveAll(filepath.Join(l.dir, "_tmp"))
	if err := l.removeLeftovers(); err != nil {
		return err
	}
	// Files the manifest lists but the disk lost.
	var missing []string
	for p := range man.state.files {
		if _, err := os.Stat(l.abs(p)); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		l.opts.Logger.Error("lake: files listed in the manifest are missing; their rows are lost from the lake", "files", len(missing), "first", missing[0])
		if _, err := man.commit(&commitRec{Reason: "recover", Time: l.opts.Now().UTC(), Offset: man.state.offset, Seq: l.nextSeq, Remove: missing}); err != nil {
			return err
		}
	}
	l.cur = &view{version: 1, files: map[string][]File{}, cols: map[string][]Column{}}
	for p := range man.state.files {
		l.added[p] = 1
	}
	for t := range man.state.byTable {
		l.cur.files[t] = l.tableFiles(t)
	}
	maps.Copy(l.cur.cols, man.state.columns)
	l.offset = wal.Offset(man.state.offset)
	if log := l.opts.Log; log != nil {
		committed, err := log.RegisterConsumer(l.opts.Consumer)
		if err != nil {
			return fmt.Errorf("lake: %w", err)
		}
		first, next := log.First(), log.Next()
		switch {
		case l.offset > next:
			l.opts.Logger.Error("lake: the manifest covers log offsets beyond the end of the log (was the log replaced?); reading the log from its start",
				"manifest_offset", l.offset, "log_next", next)
			l.offset = first
		case l.offset < first && man.fresh:
			l.offset = first // a new lake starts at the oldest record the log holds
		case l.offset < first:
			l.opts.Logger.Error("lake: the log no longer holds records the lake has not written; they are missing from the lake",
				"manifest_offset", l.offset, "log_first", first)
			l.offset = first
		}
		if committed != l.offset {
			// The manifest is the truth: a crash after a manifest commit
			// and before the offset commit, or a lake that lost its data.
			if err := log.CommitOffset(l.opts.Consumer, l.offset); err != nil {
				l.opts.Logger.Warn("lake: recording the lake's offset in the log", "err", err)
			}
		}
	}
	l.bufTo = l.offset

	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return fmt.Errorf("lake: starting DuckDB: %w", err)
	}
	l.db = sql.OpenDB(connector)
	ctx := context.Background()
	settings := []string{
		"SET memory_limit = " + sqlString(l.opts.MemoryLimit),
		"SET temp_directory = " + sqlString(filepath.Join(l.dir, "_tmp")),
		// Files need no particular row order (readers filter by time
		// and sort what they need), and keeping it costs memory.
		"SET preserve_insertion_order = false",
		"SET threads = 1",
		// Compaction reads each file once, then deletes it: caching files
		// would only hold memory.
		"SET enable_external_file_cache = false",
		// COPY buffers this many row groups before writing them (default
		// 5, tens of MB each for 16,384 rows of events).
		"SET write_buffer_row_group_count = 1",
	}
	for _, a := range allocatorSettings {
		settings = append(settings, "SET "+a)
	}
	for _, s := range settings {
		if _, err := l.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("lake: configuring DuckDB (%s): %w", s, err)
		}
	}
	return nil
}

// removeLeftovers deletes temporary files and data files the manifest does
// not list, then empty partition directories.
func (l *Lake) removeLeftovers() error {
	var dirs []string
	err := filepath.WalkDir(l.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(l.dir, path)
		if d.IsDir() {
			if rel != "." && strings.Count(rel, string(filepath.Separator)) >= 1 {
				dirs = append(dirs, path)
			}
			return nil
		}
		depth := strings.Count(rel, string(filepath.Separator))
		if depth != 3 { // <table>/dt=…/hour=…/<file>
			return nil
		}
		name := d.Name()
		switch {
		case strings.HasPrefix(name, tmpPrefix):
		case strings.HasSuffix(name, ".parquet"):
			if _, ok := l.man.state.files[filepath.ToSlash(rel)]; ok {
				return nil
			}
		default:
			return nil
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("lake: removing leftover %s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("lake: scanning %s: %w", l.dir, err)
	}
	slices.SortFunc(dirs, func(a, b string) int { return len(b) - len(a) }) // deepest first
	for _, d := range dirs {
		os.Remove(d) // only succeeds when empty
	}
	return nil
}

func (l *Lake) abs(rel string) string { return filepath.Join(l.dir, filepath.FromSlash(rel)) }

// tableFiles builds a table's live files from the manifest state, ordered
// by time. Call with commitMu held (or during Open).
func (l *Lake) tableFiles(table string) []File {
	entries := l.man.state.byTable[table]
	out := make([]File, 0, len(entries))
	for _, f := range entries {
		out = append(out, File{Table: f.Table, Path: l.abs(f.Path), Day: f.Day, Hour: f.Hour,
			Rows: f.Rows, Bytes: f.Bytes, Min: f.Min, Max: f.Max})
	}
	slices.SortFunc(out, func(a, b File) int {
		if c := a.Min.Compare(b.Min); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out
}

// Close closes the lake. Run must have returned. Snapshots may still be
// released afterwards; files they held are then deleted on the next Open.
func (l *Lake) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.compactMu.Lock()
	defer l.compactMu.Unlock()
	l.commitMu.Lock()
	defer l.commitMu.Unlock()
	return l.closeAll()
}

func (l *Lake) closeAll() error {
	var errs []error
	if l.db != nil {
		errs = append(errs, l.db.Close())
	}
	if l.man != nil {
		errs = append(errs, l.man.close())
	}
	if l.lock != nil {
		errs = append(errs, l.lock.Close())
	}
	return errors.Join(errs...)
}

// Offset is the log offset the lake covers: every record below it is in
// the lake's files (and stays there across a crash).
func (l *Lake) Offset() wal.Offset {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.offset
}

// ---- buffers ----

// partKey names a partition: a table and an hour (Unix hours, UTC).
type partKey struct {
	table string
	hour  int64
}

func unixHour(t time.Time) int64 {
	s := t.Unix()
	h := s / 3600
	if s%3600 < 0 {
		h--
	}
	return h
}

func (k partKey) start() time.Time { return time.Unix(k.hour*3600, 0).UTC() }
func (k partKey) day() string      { return k.start().Format(time.DateOnly) }

// partBuf holds a partition's rows until the next flush: normalized events
// for log-type tables (converted at flush), rows for fixed tables.
type partBuf struct {
	def      *tableDef // fixed tables
	events   []logtypes.Event
	rows     [][]driver.Value
	min, max time.Time
}

func (p *partBuf) len() int { return len(p.events) + len(p.rows) }

func (p *partBuf) stretch(t time.Time) {
	if p.min.IsZero() && p.max.IsZero() || t.Before(p.min) {
		p.min = t
	}
	if t.After(p.max) {
		p.max = t
	}
}

type buffers struct {
	parts map[partKey]*partBuf
	rows  int
	bytes int64 // JSON bytes of the buffered events
}

func newBuffers() *buffers { return &buffers{parts: map[partKey]*partBuf{}} }

func (b *buffers) part(k partKey) *partBuf {
	p := b.parts[k]
	if p == nil {
		p = &partBuf{}
		b.parts[k] = p
	}
	return p
}

// addEvents buffers the events of log records ending before end.
func (l *Lake) addEvents(events []logtypes.Event, end wal.Offset) {
	tables := map[string]string{}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range events {
		ev := &events[i]
		t, ok := tables[ev.LogType]
		if !ok {
			t = TableName(l.opts.Registry, ev.LogType)
			tables[ev.LogType] = t
		}
		p := l.bufs.part(partKey{t, unixHour(ev.Time)})
		p.events = append(p.events, *ev)
		p.stretch(ev.Time)
		l.bufs.bytes += int64(len(ev.JSON))
	}
	l.bufs.rows += len(events)
	if end > l.bufTo {
		l.bufTo = end
	}
	if l.firstAt.IsZero() && (l.bufs.rows > 0 || l.bufTo > l.offset) {
		l.firstAt = l.opts.Now()
	}
}

// addRows buffers rows of a fixed table; at is each row's partition time.
func (l *Lake) addRows(def *tableDef, rows [][]driver.Value) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return errors.New("lake: closed")
	}
	for _, r := range rows {
		t, _ := r[def.timeCol].(time.Time)
		p := l.bufs.part(partKey{def.name, unixHour(t)})
		p.def = def
		p.rows = append(p.rows, r)
		p.stretch(t)
	}
	l.bufs.rows += len(rows)
	if l.firstAt.IsZero() && l.bufs.rows > 0 {
		l.firstAt = l.opts.Now()
	}
	full := l.bufs.rows >= l.opts.FlushRows
	l.mu.Unlock()
	if full {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// restore puts the buffers of a failed flush back in front of what arrived
// since.
func (l *Lake) restore(old *buffers, firstAt time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, p := range old.parts {
		if cur, ok := l.bufs.parts[k]; ok {
			p.events = append(p.events, cur.events...)
			p.rows = append(p.rows, cur.rows...)
			if cur.def != nil {
				p.def = cur.def
			}
			if cur.len() > 0 {
				p.stretch(cur.min)
				p.stretch(cur.max)
			}
		}
		l.bufs.parts[k] = p
	}
	l.bufs.rows += old.rows
	l.bufs.bytes += old.bytes
	if !firstAt.IsZero() && (l.firstAt.IsZero() || firstAt.Before(l.firstAt)) {
		l.firstAt = firstAt
	}
}

// ---- flush ----

// tmpPrefix starts the names of files being written; Open deletes them.
const tmpPrefix = ".tmp-"

// Flush writes every buffered row to Parquet now and commits the files to
// the manifest with the log offset they cover, then records that offset in
// the log. Run flushes on its own (FlushRows, FlushInterval); call Flush to
// make rows from the Write methods durable and queryable at once. On error
// the rows stay buffered for the next attempt.
func (l *Lake) Flush(ctx context.Context) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	return l.flushLocked(ctx)
}

func (l *Lake) flushLocked(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return errors.New("lake: closed")
	}
	bufs, from, to, firstAt := l.bufs, l.offset, l.bufTo, l.firstAt
	if bufs.rows == 0 && to == from {
		l.mu.Unlock()
		return nil
	}
	l.bufs, l.firstAt = newBuffers(), time.Time{}
	l.mu.Unlock()

	added, cols, err := l.writeFiles(ctx, bufs, from, to)
	if err == nil {
		testHook("written")
		err = l.commit(func(st *manifestState) (*commitRec, error) {
			c := &commitRec{Reason: "flush", Offset: uint64(to), Add: added}
			for t, cs := range cols {
				if !slices.Equal(st.columns[t], cs) {
					if c.Columns == nil {
						c.Columns = map[string][]Column{}
					}
					c.Columns[t] = cs
				}
			}
			return c, nil
		})
	}
	if err != nil {
		for _, f := range added {
			os.Remove(l.abs(f.Path))
		}
		l.restore(bufs, firstAt)
		l.mu.Lock()
		l.counters.lastError = err.Error()
		l.mu.Unlock()
		return err
	}
	testHook("committed")
	l.mu.Lock()
	l.counters.flushes++
	l.counters.flushedRows += uint64(bufs.rows)
	l.counters.lastFlush = l.opts.Now()
	l.mu.Unlock()
	if log := l.opts.Log; log != nil {
		if err := log.CommitOffset(l.opts.Consumer, to); err != nil {
			// The manifest holds the offset; Open repairs the log's copy.
			l.opts.Logger.Warn("lake: recording the lake's offset in the log", "offset", to, "err", err)
		}
	}
	return nil
}

// allocSeq reserves n file sequence numbers.
func (l *Lake) allocSeq(n int) uint64 {
	l.commitMu.Lock()
	defer l.commitMu.Unlock()
	s := l.nextSeq
	l.nextSeq += uint64(n)
	return s
}

// flushWorkers write a flush's files in parallel, each with its own
// DuckDB connection and staging table. A partition with at least
// 2 × splitRows rows is split into one file per worker, so that a large
// flush uses every core, and so is one with 2 × minSplitRows that holds
// most of the flush's rows (events arriving in real time mostly fall in
// one hour); compaction merges the pieces later.
const (
	flushWorkers = 2
	splitRows    = 16_384
	minSplitRows = 2048
)

// fileJob is one file of a flush.
type fileJob struct {
	key  partKey
	def  *tableDef
	part *partBuf
	rel  string
}

// split cuts a partition buffer into n pieces of about equal size.
func (p *partBuf) split(n int) []*partBuf {
	size := (p.len() + n - 1) / n
	var out []*partBuf
	for i := 0; i < len(p.events); i += size {
		c := &partBuf{events: p.events[i:min(i+size, len(p.events))]}
		for j := range c.events {
			c.stretch(c.events[j].Time)
		}
		out = append(out, c)
	}
	for i := 0; i < len(p.rows); i += size {
		c := &partBuf{def: p.def, rows: p.rows[i:min(i+size, len(p.rows))]}
		for _, r := range c.rows {
			t, _ := r[p.def.timeCol].(time.Time)
			c.stretch(t)
		}
		out = append(out, c)
	}
	return out
}

// writeFiles writes the buffered partitions to Parquet files (one per
// partition, or one per worker for a large partition). It returns the
// files and the columns of every table written. On error it removes what
// it wrote.
func (l *Lake) writeFiles(ctx context.Context, bufs *buffers, from, to wal.Offset) ([]fileEntry, map[string][]Column, error) {
	keys := slices.Collect(maps.Keys(bufs.parts))
	slices.SortFunc(keys, func(a, b partKey) int {
		if c := strings.Compare(a.table, b.table); c != 0 {
			return c
		}
		return int(a.hour - b.hour)
	})
	defs := map[string]*tableDef{}
	cols := map[string][]Column{}
	var jobs []fileJob
	for _, k := range keys {
		p := bufs.parts[k]
		if p.len() == 0 {
			continue
		}
		def := p.def
		if def == nil {
			if def = defs[k.table]; def == nil {
				def = l.defs.forLogType(p.events[0].LogType)
				defs[k.table] = def
			}
		}
		cols[k.table] = def.cols
		pieces := []*partBuf{p}
		if p.len() >= 2*splitRows || p.len() >= 2*minSplitRows && 2*p.len() > bufs.rows {
			pieces = p.split(flushWorkers)
		}
		for _, c := range pieces {
			jobs = append(jobs, fileJob{key: k, def: def, part: c})
		}
	}
	seq := l.allocSeq(len(jobs))
	for i := range jobs {
		k := jobs[i].key
		jobs[i].rel = fmt.Sprintf("%s/dt=%s/hour=%02d/%d-%d-%d.parquet", k.table, k.day(), k.start().Hour(), from, to, seq+uint64(i))
	}
	out := make([]fileEntry, len(jobs))
	done := make([]bool, len(jobs))
	errs := make([]error, len(jobs))
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(flushWorkers, len(jobs)) {
		wg.Go(func() {
			for i := range next {
				j := jobs[i]
				size, err := l.writePartition(wctx, j.def, j.part, j.rel)
				if err != nil {
					errs[i] = fmt.Errorf("lake: writing %s: %w", j.rel, err)
					cancel()
					continue
				}
				k := j.key
				out[i] = fileEntry{Table: k.table, Path: j.rel, Day: k.day(), Hour: k.start().Hour(),
					Rows: int64(j.part.len()), Bytes: size, Min: j.part.min, Max: j.part.max}
				done[i] = true
			}
		})
	}
	for i := range jobs {
		if wctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	err := errors.Join(errs...)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		for i := range out {
			if done[i] {
				os.Remove(l.abs(out[i].Path))
			}
		}
		return nil, nil, err
	}
	return out, cols, nil
}

// writePartition writes a partition's rows to a temporary Parquet file,
// fsyncs it and renames it into place.
func (l *Lake) writePartition(ctx context.Context, def *tableDef, p *partBuf, rel string) (int64, error) {
	path := l.abs(rel)
	if err := mkdirDurable(filepath.Dir(path), l.opts.NoSync); err != nil {
		return 0, err
	}
	tmp := filepath.Join(filepath.Dir(path), tmpPrefix+filepath.Base(path))
	if err := writeParquet(ctx, tmp, def, p.events, p.rows); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	testHook("copied")
	return l.install(tmp, path)
}

// testHook lets tests stop the writer (kill the process) at a stage of a
// flush: "copied" (a temporary file is written), "written" (data files are
// in place, the manifest does not list them), "committed" (the manifest
// lists them, the log offset is not committed).
var testHook = func(stage string) {}

// rowGroupRows is the Parquet row group size of the lake's files, smaller
// than DuckDB's default (122,880) so that writing a file buffers less.
const rowGroupRows = 16384

// install fsyncs a finished temporary file, renames it to path and fsyncs
// the directory. It returns the file's size.
func (l *Lake) install(tmp, path string) (int64, error) {
	f, err := os.Open(tmp)
	if err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err == nil && !l.opts.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil && !l.opts.NoSync {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return st.Size(), nil
}

// commit runs build under the manifest lock; a non-nil commit it returns
// is made durable and published to new snapshots. Files the commit removes
// are deleted once no snapshot holds them.
func (l *Lake) commit(build func(st *manifestState) (*commitRec, error)) error {
	l.commitMu.Lock()
	defer l.commitMu.Unlock()
	if l.isClosed() {
		return errors.New("lake: closed")
	}
	c, err := build(&l.man.state)
	if err != nil || c == nil {
		return err
	}
	if c.Reason != "flush" {
		c.Offset = l.man.state.offset
	}
	c.Seq = l.nextSeq
	c.Time = l.opts.Now().UTC()
	touched, err := l.man.commit(c)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.cur
	nv := &view{version: old.version + 1, files: maps.Clone(old.files), cols: maps.Clone(old.cols)}
	for t := range touched {
		if fs := l.tableFiles(t); len(fs) > 0 {
			nv.files[t] = fs
		} else {
			delete(nv.files, t)
		}
		if cs, ok := l.man.state.columns[t]; ok {
			nv.cols[t] = cs
		}
	}
	for _, f := range c.Add {
		l.added[f.Path] = nv.version
	}
	for _, p := range c.Remove {
		l.doomed = append(l.doomed, doomedFile{path: l.abs(p), from: l.added[p], to: nv.version})
		delete(l.added, p)
	}
	l.cur = nv
	l.offset = wal.Offset(l.man.state.offset)
	victims := l.sweepLocked()
	l.mu.Unlock()
	l.remove(victims)
	return nil
}

func (l *Lake) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// sweepLocked takes the doomed files no snapshot holds any more.
func (l *Lake) sweepLocked() []string {
	var victims []string
	keep := l.doomed[:0]
	for _, d := range l.doomed {
		held := false
		for v := range l.pins {
			if v >= d.from && v < d.to {
				held = true
				break
			}
		}
		if held {
			keep = append(keep, d)
		} else {
			victims = append(victims, d.path)
		}
	}
	l.doomed = keep
	return victims
}

// remove deletes files and then their partition directories if empty.
func (l *Lake) remove(paths []string) {
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			l.opts.Logger.Warn("lake: deleting a file no longer in the lake; Open deletes it next time", "path", p, "err", err)
			continue
		}
		hourDir := filepath.Dir(p)
		if os.Remove(hourDir) == nil {
			os.Remove(filepath.Dir(hourDir))
		}
	}
}

// ---- Run ----

// Run consumes the write-ahead log into the lake until ctx is done: it
// reads batch records from the offset the manifest covers, buffers their
// events per partition and flushes when FlushRows rows wait or
// FlushInterval has passed since the first; in the background it compacts
// small files and enforces retention. A failed flush is retried with
// backoff (rows stay buffered; reading pauses at MaxBufferedRows). When
// ctx is done it flushes what is buffered and returns nil. It returns an
// error for a log record it cannot read.
func (l *Lake) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("lake: Run is already running")
	}
	defer l.running.Store(false)
	var wg sync.WaitGroup
	defer wg.Wait()
	bgCtx, stopBg := context.WithCancel(ctx)
	defer stopBg()
	wg.Go(func() { l.maintain(bgCtx) })

	type item struct {
		events []logtypes.Event
		end    wal.Offset
	}
	// A few records of read-ahead keep the loop fed; more would only hold
	// decoded events in memory while a flush runs (the log keeps them).
	items := make(chan item, 8)
	readErr := make(chan error, 1)
	if log := l.opts.Log; log != nil {
		l.mu.Lock()
		start := l.bufTo
		l.mu.Unlock()
		r, err := log.Reader(start)
		if err != nil {
			return fmt.Errorf("lake: reading the log from %d: %w", start, err)
		}
		wg.Go(func() {
			defer r.Close()
			for {
				data, off, err := r.NextOwned(bgCtx)
				if err != nil {
					if bgCtx.Err() == nil && !errors.Is(err, wal.ErrClosed) {
						readErr <- fmt.Errorf("lake: reading the log: %w", err)
					}
					return
				}
				rec, err := batchrec.DecodeOwned(data)
				if err != nil {
					readErr <- fmt.Errorf("lake: log record %d: %w", off, err)
					return
				}
				select {
				case items <- item{rec.Events, off + 1}:
				case <-bgCtx.Done():
					return
				}
			}
		})
	}

	tick := time.NewTicker(min(max(l.opts.FlushInterval/4, 5*time.Millisecond), 250*time.Millisecond))
	defer tick.Stop()
	var retryAt time.Time
	backoff := time.Duration(0)
	flush := func() {
		if !retryAt.IsZero() && time.Now().Before(retryAt) {
			return
		}
		if err := l.Flush(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			retryAt = time.Now().Add(backoff)
			l.opts.Logger.Error("lake: flush failed; rows stay buffered and the flush is retried", "err", err, "retry_in", backoff)
			return
		}
		backoff, retryAt = 0, time.Time{}
	}
	for {
		in := items
		if l.buffered() >= l.opts.MaxBufferedRows {
			in = nil // a failing flush: stop reading until it succeeds
		}
		select {
		case it := <-in:
			l.addEvents(it.events, it.end)
			if l.full() {
				flush()
			}
		case <-l.kick:
			flush()
		case <-tick.C:
			if l.due() {
				flush()
			}
		case err := <-readErr:
			stopBg()
			l.finalFlush(ctx)
			return err
		case <-ctx.Done():
			stopBg()
			l.finalFlush(ctx)
			return nil
		}
	}
}

func (l *Lake) finalFlush(ctx context.Context) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := l.Flush(fctx); err != nil {
		l.opts.Logger.Warn("lake: final flush failed; the rows will be written again from the log on the next run", "err", err)
	}
}

func (l *Lake) buffered() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bufs.rows
}

// full reports whether the buffers hold FlushRows rows or FlushBytes bytes.
func (l *Lake) full() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bufs.rows >= l.opts.FlushRows || l.bufs.bytes >= l.opts.FlushBytes
}

// due reports whether the buffers have waited FlushInterval.
func (l *Lake) due() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.firstAt.IsZero() && l.opts.Now().Sub(l.firstAt) >= l.opts.FlushInterval
}

// maintain compacts and enforces retention periodically.
func (l *Lake) maintain(ctx context.Context) {
	if err := l.EnforceRetention(ctx); err != nil && ctx.Err() == nil {
		l.opts.Logger.Error("lake: enforcing retention", "err", err)
	}
	compact := time.NewTicker(l.opts.CompactInterval)
	defer compact.Stop()
	retention := time.NewTicker(l.opts.RetentionInterval)
	defer retention.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-compact.C:
			if err := l.Compact(ctx); err != nil && ctx.Err() == nil {
				l.opts.Logger.Error("lake: compacting", "err", err)
			}
		case <-retention.C:
			if err := l.EnforceRetention(ctx); err != nil && ctx.Err() == nil {
				l.opts.Logger.Error("lake: enforcing retention", "err", err)
			}
		}
	}
}

// allocatorSettings make DuckDB's allocator (jemalloc on Linux), which
// keeps freed memory for reuse, return it after every task that used more
// than a little, in the background, so that RSS follows the memory in use
// rather than the highest peak so far. The writer and the query databases
// all use them.
var allocatorSettings = [...]string{"allocator_flush_threshold = '16MiB'", "allocator_background_threads = true"}

// ---- fixed tables ----

// RuleMatch is one event a rule matched, as stored in rule_matches.
type RuleMatch struct {
	RowID     string    // p_row_id of the event
	LogType   string    // p_log_type
	EventTime time.Time // p_event_time (partitions the table)
	AlertID   string
	RuleID    string
	Severity  string
	Tags      []string
	// Reports maps frameworks to IDs (p_rule_reports, stored as JSON).
	Reports map[string][]string
	// AlertContext is the alert_context output, JSON text.
	AlertContext json.RawMessage
	// AlertCreationTime is when the alert the match went to was created.
	AlertCreationTime time.Time
	// Event is the matched event, normalized (JSON text).
	Event json.RawMessage
	// CorrelationPaths are the join fields of the correlation rules that
	// read RuleID's matches, when it was written (p_correlation_paths),
	// and CorrelationFields a JSON object of the values they resolve to in
	// the match (p_correlation_fields; a path that resolves to nothing has
	// no member). A correlation run whose paths they cover reads them
	// instead of the event. Both are stored only in rule_matches.
	CorrelationPaths  []string
	CorrelationFields json.RawMessage
}

// RuleError is a rule that raised an error on an event (rule_errors).
type RuleError struct {
	RuleMatch
	Error string // p_rule_error
}

// Quarantined is an event that could not be normalized (quarantine).
type Quarantined struct {
	SourceID   string
	LogType    string // the log type it was tried as
	Reason     string
	Detail     string
	Raw        []byte // stored as text; invalid UTF-8 bytes as \xNN
	ReceivedAt time.Time
}

// WriteRuleMatches buffers rule matches for rule_matches. They are written
// with the next flush (at most FlushInterval later while Run runs, or by
// Flush): rows written this way are not in the write-ahead log, so a crash
// before that flush loses them. Write copies what it keeps.
func (l *Lake) WriteRuleMatches(ctx context.Context, ms []RuleMatch) error {
	rows := make([][]driver.Value, len(ms))
	for i := range ms {
		m := &ms[i]
		var paths driver.Value
		if m.CorrelationPaths != nil {
			paths = listValue(m.CorrelationPaths)
		}
		rows[i] = append(l.matchRow(m), paths, jsonRaw(m.CorrelationFields))
	}
	return l.addRows(ruleMatchesTable, rows)
}

// WriteRuleErrors buffers rule errors for rule_errors, like
// WriteRuleMatches.
func (l *Lake) WriteRuleErrors(ctx context.Context, es []RuleError) error {
	rows := make([][]driver.Value, len(es))
	for i := range es {
		rows[i] = append(l.matchRow(&es[i].RuleMatch), nullable(es[i].Error))
	}
	return l.addRows(ruleErrorsTable, rows)
}

// WriteQuarantine buffers quarantined events for the quarantine table,
// like WriteRuleMatches.
func (l *Lake) WriteQuarantine(ctx context.Context, qs []Quarantined) error {
	rows := make([][]driver.Value, len(qs))
	for i, q := range qs {
		at := q.ReceivedAt
		if at.IsZero() {
			at = l.opts.Now()
		}
		rows[i] = []driver.Value{nullable(q.SourceID), nullable(q.LogType), nullable(q.Reason), nullable(q.Detail),
			validUTF8(q.Raw), at.UTC()}
	}
	return l.addRows(quarantineTable, rows)
}

// matchRow is the row of ruleMatchColumns for m.
func (l *Lake) matchRow(m *RuleMatch) []driver.Value {
	at := m.EventTime
	if at.IsZero() {
		at = m.AlertCreationTime
	}
	if at.IsZero() {
		at = l.opts.Now()
	}
	var reports driver.Value
	if m.Reports != nil {
		b, _ := json.Marshal(m.Reports)
		reports = string(b)
	}
	var created driver.Value
	if !m.AlertCreationTime.IsZero() {
		created = m.AlertCreationTime.UTC()
	}
	return []driver.Value{nullable(m.RowID), nullable(m.LogType), at.UTC(), nullable(m.AlertID), nullable(m.RuleID),
		nullable(m.Severity), listValue(m.Tags), jsonText(m.Reports == nil, reports), jsonRaw(m.AlertContext), created, jsonRaw(m.Event)}
}

// listValue is a VARCHAR[] row value.
func listValue(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func jsonText(null bool, v driver.Value) driver.Value {
	if null {
		return nil
	}
	return v
}

// jsonRaw stores JSON text; text that is not valid JSON is stored as a
// JSON string holding it, so that the column always parses.
func jsonRaw(b json.RawMessage) driver.Value {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return string(b)
	}
	return string(appendJSONString(nil, b))
}

func nullable(s string) driver.Value {
	if s == "" {
		return nil
	}
	return s
}

// ---- stats ----

// Stats describes the lake for the API and health checks.
type Stats struct {
	Dir    string
	Offset uint64 // log offset the lake covers
	// Buffered rows wait for the next flush.
	Buffered int
	Tables   []TableStats // sorted by name
	Files    int
	Rows     int64
	Bytes    int64
	// PendingDeletes are files out of the lake that snapshots still hold.
	PendingDeletes int
	// Counters since Open.
	Flushes        uint64
	FlushedRows    uint64
	Compactions    uint64 // merged files written
	CompactedFiles uint64 // small files they replaced
	RetentionDrops uint64 // files dropped by retention
	LastFlush      time.Time
	LastError      string // of the last failed flush, if any
}

// TableStats describes one table.
type TableStats struct {
	Name       string
	Files      int
	Partitions int
	Rows       int64
	Bytes      int64
	Oldest     time.Time // smallest time in the table
	Newest     time.Time // largest
}

// Stats returns the lake's current figures.
func (l *Lake) Stats() Stats {
	l.mu.Lock()
	v, c := l.cur, l.counters
	s := Stats{Dir: l.dir, Offset: uint64(l.offset), Buffered: l.bufs.rows, PendingDeletes: len(l.doomed),
		Flushes: c.flushes, FlushedRows: c.flushedRows, Compactions: c.compactions, CompactedFiles: c.compactedFiles,
		RetentionDrops: c.retentionDrops, LastFlush: c.lastFlush, LastError: c.lastError}
	l.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(v.files)) {
		ts := TableStats{Name: name}
		parts := map[string]bool{}
		for _, f := range v.files[name] {
			ts.Files++
			ts.Rows += f.Rows
			ts.Bytes += f.Bytes
			parts[fmt.Sprintf("%s/%02d", f.Day, f.Hour)] = true
			if ts.Oldest.IsZero() || f.Min.Before(ts.Oldest) {
				ts.Oldest = f.Min
			}
			if f.Max.After(ts.Newest) {
				ts.Newest = f.Max
			}
		}
		ts.Partitions = len(parts)
		s.Tables = append(s.Tables, ts)
		s.Files += ts.Files
		s.Rows += ts.Rows
		s.Bytes += ts.Bytes
	}
	return s
}
