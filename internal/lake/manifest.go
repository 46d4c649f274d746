package lake

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// The manifest is the lake's source of truth: the live data files with
// their metadata, and the write-ahead-log offset that those files cover.
// A data file that the manifest does not list is not part of the lake (a
// leftover of a crash) and Open deletes it.
//
// It is an append-only file of commits, one a line:
//
//	CRC-32C of the JSON, 8 hex digits | space | JSON commit | newline
//
// A commit adds and removes files and sets the covered offset; it is
// durable once its line is fsynced, and a line torn by a crash (the last
// line, incomplete or failing its checksum) is ignored on load: that
// commit never happened, and its files are deleted as leftovers. The first
// line is a full state ("state" commit). When the file has grown by many
// commits, it is rewritten as one state line: written to a temporary file,
// fsynced, renamed over the old one, directory fsynced.
const (
	manifestName    = "manifest.log"
	manifestVersion = 1
	// rewriteEvery commits, the manifest is rewritten as one state line.
	rewriteEvery = 512
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileEntry is a live file in the manifest.
type fileEntry struct {
	Table string    `json:"table"`
	Path  string    `json:"path"` // relative to the lake directory, slash-separated
	Day   string    `json:"day"`
	Hour  int       `json:"hour"`
	Rows  int64     `json:"rows"`
	Bytes int64     `json:"bytes"`
	Min   time.Time `json:"min"`
	Max   time.Time `json:"max"`
}

// commitRec is one line of the manifest.
type commitRec struct {
	Kind    string              `json:"kind"` // "state" or "commit"
	Version int                 `json:"version,omitempty"`
	Reason  string              `json:"reason,omitempty"` // flush, compact, retention, recover
	Time    time.Time           `json:"time"`
	Offset  uint64              `json:"offset"`            // log offset covered after this commit
	Seq     uint64              `json:"seq"`               // next file sequence number
	Add     []fileEntry         `json:"add,omitempty"`     // files entering the live set
	Remove  []string            `json:"remove,omitempty"`  // paths leaving it
	Columns map[string][]Column `json:"columns,omitempty"` // tables whose columns are (re)defined
}

// manifestState is the result of every commit so far.
type manifestState struct {
	offset  uint64
	seq     uint64
	files   map[string]*fileEntry            // by path
	byTable map[string]map[string]*fileEntry // table → path → file
	columns map[string][]Column              // by table
}

func newState() manifestState {
	return manifestState{files: map[string]*fileEntry{}, byTable: map[string]map[string]*fileEntry{},
		columns: map[string][]Column{}}
}

// apply applies a commit. It returns the tables it touched.
func (s *manifestState) apply(c *commitRec) map[string]bool {
	touched := map[string]bool{}
	if c.Kind == "state" {
		for _, f := range s.files {
			touched[f.Table] = true
		}
		*s = newState()
	}
	s.offset, s.seq = c.Offset, max(s.seq, c.Seq)
	for _, p := range c.Remove {
		if f, ok := s.files[p]; ok {
			touched[f.Table] = true
			delete(s.files, p)
			delete(s.byTable[f.Table], p)
			if len(s.byTable[f.Table]) == 0 {
				delete(s.byTable, f.Table)
			}
		}
	}
	for i := range c.Add {
		f := c.Add[i]
		s.files[f.Path] = &f
		if s.byTable[f.Table] == nil {
			s.byTable[f.Table] = map[string]*fileEntry{}
		}
		s.byTable[f.Table][f.Path] = &f
		touched[f.Table] = true
	}
	for t, cols := range c.Columns {
		s.columns[t] = cols
		touched[t] = true
	}
	return touched
}

// full is the state as one commit.
func (s *manifestState) full(now time.Time) *commitRec {
	c := &commitRec{Kind: "state", Version: manifestVersion, Time: now, Offset: s.offset, Seq: s.seq,
		Columns: s.columns}
	for _, f := range s.files {
		c.Add = append(c.Add, *f)
	}
	slices.SortFunc(c.Add, func(a, b fileEntry) int { return compareStrings(a.Path, b.Path) })
	return c
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// manifest is the open manifest file.
type manifest struct {
	dir     string
	f       *os.File
	noSync  bool
	commits int   // lines since the last rewrite
	failed  error // sticky: the file could not be brought back to a known state
	state   manifestState
	torn    string // what load ignored at the tail, if anything
	fresh   bool   // there was no manifest: a new lake
}

func encodeLine(c *commitRec) ([]byte, error) {
	js, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	line := make([]byte, 0, len(js)+10)
	line = fmt.Appendf(line, "%08x ", crc32.Checksum(js, castagnoli))
	line = append(line, js...)
	return append(line, '\n'), nil
}

// openManifest loads the manifest of dir (an empty state if there is none)
// and rewrites it as one state line.
func openManifest(dir string, noSync bool, now time.Time) (*manifest, error) {
	m := &manifest{dir: dir, noSync: noSync, state: newState()}
	path := filepath.Join(dir, manifestName)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		m.fresh = true
	case err != nil:
		return nil, fmt.Errorf("lake: reading the manifest: %w", err)
	default:
		if err := m.load(path, data); err != nil {
			return nil, err
		}
	}
	os.Remove(path + ".tmp")
	if err := m.rewrite(now); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *manifest) load(path string, data []byte) error {
	lineNo := 0
	for len(data) > 0 {
		lineNo++
		nl := bytes.IndexByte(data, '\n')
		var line []byte
		if nl < 0 {
			line, data = data, nil
		} else {
			line, data = data[:nl], data[nl+1:]
		}
		c, err := decodeLine(line, nl < 0)
		if err != nil {
			if len(bytes.TrimSpace(data)) == 0 { // the last line: a commit torn by a crash
				m.torn = fmt.Sprintf("line %d (%d bytes): %v", lineNo, len(line), err)
				return nil
			}
			return fmt.Errorf("lake: the manifest %s is damaged at line %d: %v; restore it from a backup (data files it does not list are deleted on open)", path, lineNo, err)
		}
		if lineNo == 1 && c.Kind != "state" {
			return fmt.Errorf("lake: the manifest %s does not start with a state line", path)
		}
		if c.Kind == "state" && c.Version > manifestVersion {
			return fmt.Errorf("lake: the manifest %s has version %d; this prowl reads up to %d", path, c.Version, manifestVersion)
		}
		m.state.apply(c)
	}
	return nil
}

func decodeLine(line []byte, unterminated bool) (*commitRec, error) {
	if unterminated {
		return nil, errors.New("no newline: incomplete")
	}
	if len(line) < 10 || line[8] != ' ' {
		return nil, errors.New("malformed line")
	}
	sum, err := strconv.ParseUint(string(line[:8]), 16, 32)
	if err != nil {
		return nil, errors.New("malformed checksum")
	}
	js := line[9:]
	if crc32.Checksum(js, castagnoli) != uint32(sum) {
		return nil, errors.New("checksum mismatch")
	}
	var c commitRec
	if err := json.Unmarshal(js, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// rewrite replaces the manifest with one state line.
func (m *manifest) rewrite(now time.Time) error {
	line, err := encodeLine(m.state.full(now))
	if err != nil {
		return err
	}
	path := filepath.Join(m.dir, manifestName)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("lake: writing the manifest: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_, err = w.Write(line)
	if err == nil {
		err = w.Flush()
	}
	if err == nil && !m.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil && !m.noSync {
		err = syncDir(m.dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("lake: writing the manifest: %w", err)
	}
	if m.f != nil {
		m.f.Close()
	}
	m.f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		m.f = nil
		return fmt.Errorf("lake: opening the manifest: %w", err)
	}
	m.commits = 0
	return nil
}

// commit makes c durable and applies it. It returns the tables c touched.
// If the append fails, the manifest is rewritten from the state before c
// (so a partial line cannot stay in the file); if that fails too, the
// manifest refuses further commits until the lake is reopened.
func (m *manifest) commit(c *commitRec) (map[string]bool, error) {
	if m.failed != nil {
		return nil, m.failed
	}
	c.Kind = "commit"
	line, err := encodeLine(c)
	if err != nil {
		return nil, err
	}
	if m.f == nil {
		err = errors.New("manifest is not open")
	} else {
		_, err = m.f.Write(line)
		if err == nil && !m.noSync {
			err = m.f.Sync()
		}
	}
	if err != nil {
		if rerr := m.rewrite(c.Time); rerr != nil {
			m.failed = fmt.Errorf("lake: the manifest cannot be written (%v); reopen the lake", rerr)
		}
		return nil, fmt.Errorf("lake: committing to the manifest: %w", err)
	}
	touched := m.state.apply(c)
	m.commits++
	if m.commits >= rewriteEvery {
		// On failure the commit is still durable in the old file, which
		// stays valid; the next commit appends to it or retries.
		_ = m.rewrite(c.Time)
	}
	return touched, nil
}

func (m *manifest) close() error {
	if m.f == nil {
		return nil
	}
	err := m.f.Close()
	m.f = nil
	return err
}

// syncDir fsyncs a directory, making the entries created or removed in it
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirDurable creates dir and its missing parents, fsyncing the parent of
// every directory it creates.
func mkdirDurable(dir string, noSync bool) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirDurable(parent, noSync); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if noSync {
		return nil
	}
	return syncDir(parent)
}

// ---- snapshots ----

// view is one version of the live file set. Views are immutable; every
// manifest commit publishes a new one.
type view struct {
	version uint64
	files   map[string][]File   // by table, ordered by Min
	cols    map[string][]Column // by table
}

var _ Snapshot = (*snapshot)(nil)

// snapshot implements Snapshot over a view it pins.
type snapshot struct {
	l        *Lake
	v        *view
	released atomic.Bool
}

// Snapshot returns the lake's live files as they are now. Files in it are
// not deleted (by compaction or retention) until it is released, so a
// query reading them sees exactly this set: never a partial flush, never a
// file and its compacted copy.
func (l *Lake) Snapshot() Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pins[l.cur.version]++
	return &snapshot{l: l, v: l.cur}
}

// Tables lists the tables with at least one file, sorted.
func (s *snapshot) Tables() []string {
	return slices.Sorted(maps.Keys(s.v.files))
}

// Files returns a table's files whose [Min, Max] overlaps [from, to).
func (s *snapshot) Files(table string, from, to time.Time) []File {
	var out []File
	for _, f := range s.v.files[table] {
		if !from.IsZero() && f.Max.Before(from) {
			continue
		}
		if !to.IsZero() && !f.Min.Before(to) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// Columns returns a table's columns: those of its latest flush, or, for a
// table with no data yet, those it will have.
func (s *snapshot) Columns(table string) []Column {
	if cs, ok := s.v.cols[table]; ok {
		return slices.Clone(cs)
	}
	return s.l.TableColumns(table)
}

// Release unpins the snapshot's files. Calls after the first do nothing.
func (s *snapshot) Release() {
	if !s.released.CompareAndSwap(false, true) {
		return
	}
	l := s.l
	l.mu.Lock()
	if l.pins[s.v.version]--; l.pins[s.v.version] <= 0 {
		delete(l.pins, s.v.version)
	}
	victims := l.sweepLocked()
	closed := l.closed
	l.mu.Unlock()
	if !closed {
		l.remove(victims)
	}
}

// TableColumns returns the columns a table has or will have: a fixed
// table's, or those of the log type whose table it is; nil for an unknown
// table.
func (l *Lake) TableColumns(table string) []Column {
	if d, ok := fixedTables[table]; ok {
		return slices.Clone(d.cols)
	}
	for _, name := range l.opts.Registry.Names() {
		if TableName(l.opts.Registry, name) == table {
			return slices.Clone(l.defs.forLogType(name).cols)
		}
	}
	return nil
}
