package lake

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"
)

// Retention drops whole hour partitions: a partition goes once its hour
// ended more than the table's retention ago. The drop is one manifest
// commit; the files are deleted once no snapshot holds them.

// RetentionOf returns how long a table keeps its data; 0 means forever.
func (l *Lake) RetentionOf(table string) time.Duration {
	d, ok := l.opts.Retention[table]
	if !ok {
		d = l.opts.DefaultRetention
	}
	return max(d, 0)
}

// EnforceRetention drops the partitions older than their table's
// retention. Run calls it at start and every RetentionInterval.
func (l *Lake) EnforceRetention(ctx context.Context) error {
	if l.isClosed() {
		return errors.New("lake: closed")
	}
	now := l.opts.Now()
	var dropped int
	err := l.commit(func(st *manifestState) (*commitRec, error) {
		c := &commitRec{Reason: "retention"}
		for _, table := range slices.Sorted(maps.Keys(st.byTable)) {
			keep := l.RetentionOf(table)
			if keep <= 0 {
				continue
			}
			cutoff := now.Add(-keep)
			for p, f := range st.byTable[table] {
				start, err := time.Parse(time.DateOnly, f.Day)
				if err != nil {
					continue
				}
				end := start.Add(time.Duration(f.Hour+1) * time.Hour)
				if !end.After(cutoff) {
					c.Remove = append(c.Remove, p)
				}
			}
		}
		if len(c.Remove) == 0 {
			return nil, nil
		}
		slices.Sort(c.Remove)
		dropped = len(c.Remove)
		return c, nil
	})
	if err == nil && dropped > 0 {
		l.mu.Lock()
		l.counters.retentionDrops += uint64(dropped)
		l.mu.Unlock()
	}
	return err
}
