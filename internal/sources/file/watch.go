package file

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prowl-siem/prowl/internal/sources/core"
	"github.com/prowl-siem/prowl/internal/sources/rawjson"
)

// Watcher defaults.
const (
	DefaultPollInterval = 5 * time.Second
	DefaultSettle       = 30 * time.Second
)

// fingerprintLen is how many leading bytes identify a file's content.
const fingerprintLen = 1024

// WatchConfig configures a Watcher.
type WatchConfig struct {
	Dir     string
	Pattern string // shell glob matched against file names (not paths); default "*"
	LogType string
	// PollInterval is how often the directory is listed; default 5s.
	PollInterval time.Duration
	// Settle is how long a file must stay unchanged before a final line
	// without a newline, a gzip file or a JSON array file is read (they
	// cannot be read while incomplete); default 30s. Complete lines of a
	// plain NDJSON file are read as soon as they appear. Negative: no wait.
	Settle time.Duration
	Clock  core.Clock
	Logger *slog.Logger
}

// Watcher is a source that ingests the files of a directory: new files,
// and lines appended to files it has read. Hidden files (names starting
// with '.') are ignored, so writers can create a file under a hidden name
// and rename it when complete.
//
// Its checkpoint records, per file name, the file's identity (device and
// inode where available, and a fingerprint of its first KiB) and how far it
// was ingested. The offset moves only after the sink acknowledged the
// records before it, so a restart resumes without loss or re-ingestion. A
// file that is replaced or truncated is read again from the start.
type Watcher struct {
	id, label string
	cfg       WatchConfig
	log       *slog.Logger
	clock     core.Clock
	seen      map[string]change // when each file last changed, for Settle
}

type change struct {
	size int64
	mod  time.Time
	at   time.Time // clock time the change was noticed
}

// NewWatcher returns a directory source.
func NewWatcher(id, label string, cfg WatchConfig) (*Watcher, error) {
	if id == "" {
		return nil, errors.New("file source: empty id")
	}
	if cfg.Dir == "" {
		return nil, fmt.Errorf("file source %q: no directory", id)
	}
	if cfg.Pattern == "" {
		cfg.Pattern = "*"
	}
	if _, err := filepath.Match(cfg.Pattern, "x"); err != nil {
		return nil, fmt.Errorf("file source %q: pattern %q: %w", id, cfg.Pattern, err)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.Settle < 0 {
		cfg.Settle = 0
	} else if cfg.Settle == 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.Clock == nil {
		cfg.Clock = core.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Watcher{id: id, label: label, cfg: cfg, clock: cfg.Clock, seen: map[string]change{},
		log: cfg.Logger.With("source", id, "type", TypeName)}, nil
}

// ID returns the source id.
func (w *Watcher) ID() string { return w.id }

type watchCheckpoint struct {
	V     int                   `json:"v"`
	Files map[string]*fileState `json:"files"`
}

type fileState struct {
	Dev   uint64 `json:"dev,omitempty"`
	Ino   uint64 `json:"ino,omitempty"`
	FP    string `json:"fp"`    // hex SHA-256 of the first FPLen bytes
	FPLen int    `json:"fplen"` //
	// Offset is how far the file was ingested: decompressed bytes of whole
	// lines for NDJSON, records for a JSON array.
	Offset int64  `json:"offset"`
	Line   int64  `json:"line,omitempty"`   // NDJSON lines ingested
	Size   int64  `json:"size"`             // file size at the last read
	Done   bool   `json:"done,omitempty"`   // a gzip or array file read to its end
	Failed string `json:"failed,omitempty"` // why the rest of the file cannot be read; retried when it changes
}

// Run polls the directory until ctx is done.
func (w *Watcher) Run(ctx context.Context, sink core.Sink, state core.State) error {
	bg := context.WithoutCancel(ctx)
	var cp watchCheckpoint
	for attempt := 1; ; attempt++ {
		raw, err := state.GetCheckpoint(ctx, w.id)
		if err == nil {
			if len(raw) > 0 {
				if err := json.Unmarshal(raw, &cp); err != nil {
					msg := fmt.Sprintf("file source %q: checkpoint is unreadable (%v); reset it to read the directory again", w.id, err)
					state.SetSourceError(bg, w.id, msg)
					return errors.New(msg)
				}
			}
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.log.Warn("reading checkpoint failed; retrying", "err", err)
		if err := w.clock.Sleep(ctx, min(time.Duration(attempt)*time.Second, time.Minute)); err != nil {
			return err
		}
	}
	if cp.Files == nil {
		cp.Files = map[string]*fileState{}
	}
	cp.V = 1

	failures, shown := 0, ""
	for {
		err := w.poll(ctx, sink, state, &cp)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait, msg := w.cfg.PollInterval, ""
		if err != nil {
			failures++
			wait = min(w.cfg.PollInterval<<min(failures-1, 6), max(w.cfg.PollInterval, 5*time.Minute))
			w.log.Warn("reading directory failed", "err", err, "retry_in", wait)
			msg = err.Error()
		} else {
			failures = 0
			msg = stuckFiles(&cp)
		}
		if msg != shown {
			if err := state.SetSourceError(bg, w.id, msg); err != nil {
				w.log.Warn("recording source error", "err", err)
			}
			shown = msg
		}
		if err := state.AddHealth(bg, w.id, 0, 0, 0, time.Time{}); err != nil {
			w.log.Warn("recording source health", "err", err)
		}
		if err := w.clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// stuckFiles describes the files whose rest cannot be read, for the
// source's health, or returns "".
func stuckFiles(cp *watchCheckpoint) string {
	var names []string
	for name, st := range cp.Files {
		if st.Failed != "" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	msg := fmt.Sprintf("%s: %s", names[0], cp.Files[names[0]].Failed)
	if len(names) > 1 {
		msg += fmt.Sprintf(" (and %d more files)", len(names)-1)
	}
	return msg
}

type cand struct {
	name string
	fi   fs.FileInfo
}

// poll ingests what is new in the directory. It goes on past a file that
// fails and returns the first error.
func (w *Watcher) poll(ctx context.Context, sink core.Sink, state core.State, cp *watchCheckpoint) error {
	entries, err := os.ReadDir(w.cfg.Dir)
	if err != nil {
		return fmt.Errorf("listing %s: %w", w.cfg.Dir, err)
	}
	var files []cand
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !e.Type().IsRegular() {
			continue
		}
		if ok, _ := filepath.Match(w.cfg.Pattern, name); !ok {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		present[name] = true
		files = append(files, cand{name, fi})
	}
	// Oldest first, so events arrive roughly in the order they were written.
	sort.Slice(files, func(i, j int) bool {
		if a, b := files[i].fi.ModTime(), files[j].fi.ModTime(); !a.Equal(b) {
			return a.Before(b)
		}
		return files[i].name < files[j].name
	})

	w.relink(cp, files)

	var firstErr error
	for _, c := range files {
		if err := w.readFile(ctx, sink, state, cp, c.name, c.fi); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}

	// Forget files that are gone.
	pruned := false
	for name := range cp.Files {
		if !present[name] {
			delete(cp.Files, name)
			pruned = true
		}
	}
	for name := range w.seen {
		if !present[name] {
			delete(w.seen, name)
		}
	}
	if pruned {
		if err := w.save(ctx, state, cp); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func (w *Watcher) save(ctx context.Context, state core.State, cp *watchCheckpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	if err := state.PutCheckpoint(context.WithoutCancel(ctx), w.id, b); err != nil {
		return fmt.Errorf("saving checkpoint: %w", err)
	}
	return nil
}

// readFile ingests what is new in one file.
func (w *Watcher) readFile(ctx context.Context, sink core.Sink, state core.State, cp *watchCheckpoint, name string, fi fs.FileInfo) error {
	now := w.clock.Now()
	ch, ok := w.seen[name]
	if !ok || ch.size != fi.Size() || !ch.mod.Equal(fi.ModTime()) {
		ch = change{size: fi.Size(), mod: fi.ModTime(), at: now}
		w.seen[name] = ch
	}
	idle := now.Sub(ch.at) >= w.cfg.Settle
	if fi.Size() == 0 {
		return nil
	}

	path := filepath.Join(w.cfg.Dir, name)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	defer f.Close()

	st := cp.Files[name]
	if st != nil {
		if reason := w.changed(f, fi, st); reason != "" {
			w.log.Info("file was "+reason+"; reading it from the start", "file", name)
			st = nil
		}
	}
	if st == nil {
		st = &fileState{}
		st.Dev, st.Ino, _ = fileID(fi)
	}
	if (st.Done || st.Failed != "") && fi.Size() == st.Size {
		return nil // nothing new
	}
	if !st.Done && st.Failed == "" && st.Offset == fi.Size() && st.FP != "" {
		return nil // a plain NDJSON file read to its end
	}
	if err := st.fingerprint(f, fi.Size()); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}

	br := bufio.NewReaderSize(f, 256<<10)
	r, gz, err := maybeGzip(br)
	if err != nil {
		if !idle {
			return nil // perhaps still being written
		}
		return w.fail(ctx, state, cp, name, st, fi, err.Error())
	}
	if gz && !idle {
		return nil
	}
	sc, err := newScanner(r, st.Offset, st.Line)
	if err != nil {
		if !idle {
			return nil
		}
		return w.fail(ctx, state, cp, name, st, fi, err.Error())
	}
	whole := gz || sc.format == array
	if whole && !idle {
		return nil
	}

	batch := core.Batch{SourceID: w.id, SourceLabel: w.label, LogType: w.cfg.LogType}
	var (
		size    int64
		newest  = st.Offset // scanner offset after the last record read
		line    = st.Line
		invalid []string
	)
	flush := func() error {
		if len(batch.Records) > 0 {
			// The checkpoint once this batch is in travels with it.
			was, had := cp.Files[name]
			after := *st
			after.Offset, after.Line = newest, line
			cp.Files[name] = &after
			next, err := json.Marshal(cp)
			if had {
				cp.Files[name] = was
			} else {
				delete(cp.Files, name)
			}
			if err != nil {
				return err
			}
			batch.Checkpoint = next
			if err := sink.Ingest(ctx, batch); err != nil {
				return fmt.Errorf("%s: delivering records: %w", name, err)
			}
			if err := state.AddHealth(context.WithoutCancel(ctx), w.id, int64(len(batch.Records)), size, 0, time.Time{}); err != nil {
				w.log.Warn("recording source health", "err", err)
			}
			if len(invalid) > 0 {
				w.log.Warn("records that are not JSON objects were passed on for quarantine",
					"file", name, "count", len(invalid), "first", invalid[0])
			}
		}
		batch.Records, size, invalid = batch.Records[:0], 0, invalid[:0]
		st.Offset, st.Line = newest, line
		cp.Files[name] = st
		return w.save(ctx, state, cp)
	}
	for {
		rec, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			msg := err.Error()
			var se *rawjson.SyntaxError
			if errors.As(err, &se) {
				msg = fmt.Sprintf("line %d, column %d: %s; %d records before it were ingested, the rest of the file was not",
					se.Line, se.Column, se.Msg, st.Offset)
			}
			return w.fail(ctx, state, cp, name, st, fi, msg)
		}
		if rec.partial {
			if !idle {
				break // still being written: wait for the newline
			}
			sc.takePartial(rec)
		}
		if msg := problem(rec); msg != "" && len(invalid) < 3 {
			invalid = append(invalid, fmt.Sprintf("line %d: %s", rec.line, msg))
		}
		batch.Records = append(batch.Records, rec.data)
		size += int64(len(rec.data))
		newest, line = sc.off, sc.line
		if len(batch.Records) >= batchRecords || size >= batchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if whole {
		st.Done = true
	}
	st.Size = fi.Size()
	return flush()
}

// fail records that the rest of a file cannot be read; the source's
// health shows it until the file changes, when it is tried again.
func (w *Watcher) fail(ctx context.Context, state core.State, cp *watchCheckpoint, name string, st *fileState, fi fs.FileInfo, msg string) error {
	w.log.Warn("cannot read the rest of a file", "file", name, "problem", msg)
	st.Failed, st.Size = msg, fi.Size()
	cp.Files[name] = st
	return w.save(ctx, state, cp)
}

// relink follows renamed files (log rotation by rename): a checkpoint entry
// whose device and inode now appear under another name, which has no entry
// for that identity, moves to that name. Without it, app.log renamed to
// app.log.1 would be read again from the start.
func (w *Watcher) relink(cp *watchCheckpoint, files []cand) {
	type ident struct{ dev, ino uint64 }
	byID := map[ident]string{}
	nameID := map[string]ident{}
	for _, c := range files {
		if dev, ino, ok := fileID(c.fi); ok {
			byID[ident{dev, ino}] = c.name
			nameID[c.name] = ident{dev, ino}
		}
	}
	moves := map[string]string{}
	for name, st := range cp.Files {
		if st.Ino == 0 {
			continue
		}
		id := ident{st.Dev, st.Ino}
		if cur, ok := nameID[name]; ok && cur == id {
			continue // still in place
		}
		to, ok := byID[id]
		if !ok || to == name {
			continue
		}
		if other := cp.Files[to]; other != nil && other.Dev == st.Dev && other.Ino == st.Ino {
			continue
		}
		moves[name] = to
	}
	for from, to := range moves {
		w.log.Info("file was renamed; following it", "from", from, "to", to)
		st := cp.Files[from]
		delete(cp.Files, from)
		cp.Files[to] = st
	}
}

// changed reports why the file at name is no longer the one in st
// ("replaced", "truncated"), or "".
func (w *Watcher) changed(f *os.File, fi fs.FileInfo, st *fileState) string {
	if dev, ino, ok := fileID(fi); ok && st.Ino != 0 && (dev != st.Dev || ino != st.Ino) {
		return "replaced"
	}
	if fi.Size() < st.Size || fi.Size() < int64(st.FPLen) {
		return "truncated"
	}
	if st.FP != "" {
		fp, err := prefixHash(f, st.FPLen)
		if err != nil || fp != st.FP {
			return "replaced"
		}
	}
	return ""
}

// fingerprint sets (or lengthens, when the file has grown) the hash of the
// file's first bytes.
func (st *fileState) fingerprint(f *os.File, size int64) error {
	n := int(min(size, fingerprintLen))
	if st.FP != "" && st.FPLen >= n {
		return nil
	}
	fp, err := prefixHash(f, n)
	if err != nil {
		return err
	}
	st.FP, st.FPLen = fp, n
	return nil
}

func prefixHash(f *os.File, n int) (string, error) {
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return "", err
	}
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:]), nil
}

var _ core.Source = (*Watcher)(nil)
