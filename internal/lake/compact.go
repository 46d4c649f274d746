package lake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prowl-siem/prowl/internal/lowprio"
)

// Compaction merges a partition's small files into one, their rows in the
// order the files were written (see compactOne), and swaps them in one
// manifest commit: the new file
// enters the live set and the old ones leave it together, so a snapshot
// holds either the old files or the new one, never both and never neither.
// The old files are deleted once no snapshot holds them.

// maxSmallFiles is how many small files an open partition (its hour not
// over) may have before compaction merges them.
const maxSmallFiles = 4

// compactGroup is a set of files of one partition to merge.
type compactGroup struct {
	table, day string
	hour       int
	files      []File
}

// Compact merges small files (smaller than TargetFileBytes) of every
// partition that has more than four of them, or at least two once the
// partition's hour is over (late events). While the hour is open it merges
// only files of comparable size (tierRun); once it is over,
// all of them. Merged files grow up to about TargetFileBytes. Run calls it
// every CompactInterval.
func (l *Lake) Compact(ctx context.Context) error {
	l.compactMu.Lock()
	defer l.compactMu.Unlock()
	if l.isClosed() {
		return errors.New("lake: closed")
	}
	snap := l.Snapshot().(*snapshot)
	defer snap.Release()
	var errs []error
	for _, g := range l.planCompaction(snap.v) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := l.compactOne(ctx, g); err != nil {
			errs = append(errs, fmt.Errorf("%s dt=%s hour=%02d: %w", g.table, g.day, g.hour, err))
		}
	}
	return errors.Join(errs...)
}

// planCompaction picks the groups to merge.
func (l *Lake) planCompaction(v *view) []compactGroup {
	type pkey struct {
		day  string
		hour int
	}
	settle := 2*l.opts.FlushInterval + time.Minute
	now := l.opts.Now()
	var out []compactGroup
	for _, table := range slices.Sorted(func(yield func(string) bool) {
		for t := range v.files {
			if !yield(t) {
				return
			}
		}
	}) {
		parts := map[pkey][]File{}
		for _, f := range v.files[table] {
			if f.Bytes < l.opts.TargetFileBytes {
				k := pkey{f.Day, f.Hour}
				parts[k] = append(parts[k], f)
			}
		}
		keys := make([]pkey, 0, len(parts))
		for k := range parts {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b pkey) int {
			if c := strings.Compare(a.day, b.day); c != 0 {
				return c
			}
			return a.hour - b.hour
		})
		for _, k := range keys {
			small := parts[k]
			if len(small) < 2 {
				continue
			}
			start, err := time.Parse(time.DateOnly, k.day)
			closed := err == nil && !now.Before(start.Add(time.Duration(k.hour+1)*time.Hour+settle))
			if !closed {
				if len(small) <= maxSmallFiles {
					continue
				}
				small = tierRun(small)
			}
			// Pack files, oldest first, into groups of up to the target size.
			var group []File
			var size int64
			flush := func() {
				if len(group) >= 2 {
					out = append(out, compactGroup{table: table, day: k.day, hour: k.hour, files: group})
				}
				group, size = nil, 0
			}
			for _, f := range small {
				if len(group) > 0 && size+f.Bytes > l.opts.TargetFileBytes {
					flush()
				}
				group = append(group, f)
				size += f.Bytes
			}
			flush()
		}
	}
	return out
}

// sizeTier is a file's size class while its hour is open: files under
// 1 MiB are tier 0, and each tier above spans four times the sizes of the
// one below (1–4 MiB, 4–16 MiB, ...).
func sizeTier(bytes int64) int { return (bits.Len64(uint64(bytes)>>20) + 1) / 2 }

// tierRun picks the files of an open partition to merge: those of the
// smallest size tier that holds more than maxSmallFiles of them, oldest
// (by newest event) first, or none. Merging only files of one tier, five
// or more at a time, rewrites each event about once per tier it climbs
// (about three times over an hour); merging every small file at each
// compaction would rewrite the growing merged file every time.
func tierRun(files []File) []File {
	tiers := map[int][]File{}
	for _, f := range files {
		t := sizeTier(f.Bytes)
		tiers[t] = append(tiers[t], f)
	}
	for _, t := range slices.Sorted(maps.Keys(tiers)) {
		if run := tiers[t]; len(run) > maxSmallFiles {
			slices.SortStableFunc(run, func(a, b File) int { return a.Max.Compare(b.Max) })
			return run
		}
	}
	return nil
}

// timeColumn is the column a table is partitioned by.
func timeColumn(table string) string {
	if d, ok := fixedTables[table]; ok {
		return d.cols[d.timeCol].Name
	}
	return "p_event_time"
}

// compactOne merges one group into a new file and swaps it in.
func (l *Lake) compactOne(ctx context.Context, g compactGroup) error {
	var rows int64
	minT, maxT := g.files[0].Min, g.files[0].Max
	paths := make([]string, len(g.files))
	for i, f := range g.files {
		rows += f.Rows
		paths[i] = sqlString(f.Path)
		if f.Min.Before(minT) {
			minT = f.Min
		}
		if f.Max.After(maxT) {
			maxT = f.Max
		}
	}
	seq := l.allocSeq(1)
	rel := fmt.Sprintf("%s/dt=%s/hour=%02d/c-%d.parquet", g.table, g.day, g.hour, seq)
	path := l.abs(rel)
	tmp := filepath.Join(filepath.Dir(path), tmpPrefix+filepath.Base(path))
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// No ORDER BY: sorting a target-sized group took the writer's whole
	// memory budget; the files are read in the order they were written,
	// which is about the events' arrival order. Row groups of 16,384 rows
	// keep the Parquet writer's buffers small.
	q := fmt.Sprintf("COPY (SELECT * FROM read_parquet([%s], union_by_name = true)) TO %s (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE %d)",
		strings.Join(paths, ", "), sqlString(tmp), rowGroupRows)
	var n int64
	// A merge keeps a core busy for seconds; on a low-priority thread it
	// takes the CPU ingestion and detection leave over.
	err = lowprio.Run(func() error {
		res, err := conn.ExecContext(ctx, q)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if n != rows {
		os.Remove(tmp)
		return fmt.Errorf("merged %d rows, the files hold %d; not swapping", n, rows)
	}
	size, err := l.install(tmp, path)
	if err != nil {
		return err
	}
	entry := fileEntry{Table: g.table, Path: rel, Day: g.day, Hour: g.hour, Rows: rows, Bytes: size, Min: minT, Max: maxT}
	err = l.commit(func(st *manifestState) (*commitRec, error) {
		c := &commitRec{Reason: "compact", Add: []fileEntry{entry}}
		for _, f := range g.files {
			p, _ := filepath.Rel(l.dir, f.Path)
			p = filepath.ToSlash(p)
			if _, ok := st.files[p]; !ok {
				return nil, errSuperseded // retention dropped it meanwhile
			}
			c.Remove = append(c.Remove, p)
		}
		return c, nil
	})
	if err != nil {
		os.Remove(path)
		if errors.Is(err, errSuperseded) {
			return nil
		}
		return err
	}
	l.mu.Lock()
	l.counters.compactions++
	l.counters.compactedFiles += uint64(len(g.files))
	l.mu.Unlock()
	return nil
}

var errSuperseded = errors.New("the files changed meanwhile")
