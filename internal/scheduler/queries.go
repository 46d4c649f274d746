package scheduler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/store"
)

// LookbackMacro is the time-range macro that stands for a scheduled
// query's lookback window: the scheduler rewrites p_occurs_in_lookback()
// (or p_occurs_in_lookback(alias)) into p_occurs_between(start, end) over
// [run time - lookback, run time).
const LookbackMacro = "p_occurs_in_lookback"

// window is the lookback window of a run of q at (the scheduled time; zero
// for a run on demand, which ends now).
func (s *Scheduler) window(q *analysis.Query, at time.Time) (from, to time.Time) {
	to = at
	manual := at.IsZero()
	if manual {
		to = s.opts.Now()
	}
	lookback := time.Duration(q.LookbackWindowSeconds) * time.Second
	if lookback <= 0 {
		if sch, err := ParseSchedule(q.Schedule); err == nil {
			end := to
			if manual {
				end = sch.Next(to) // the period that holds now
			}
			lookback = period(sch, end)
		}
	}
	if lookback <= 0 {
		lookback = time.Hour
	}
	return to.Add(-lookback), to
}

// runQuery runs a scheduled query and the scheduled rules over its rows,
// and records the run.
func (s *Scheduler) runQuery(ctx context.Context, q *analysis.Query, at time.Time, trigger string) store.ScheduledRun {
	run := s.record(ctx, store.RunKindQuery, q.Name, trigger, at)
	from, to := s.window(q, at)
	text := expandLookback(q.SQL, from, to)
	res, err := s.opts.Lake.Run(ctx, lake.Request{SQL: text, Limit: s.opts.MaxRows, Timeout: timeout(q.Schedule)})
	if err != nil {
		run.Status, run.Error = runStatus(err), err.Error()
		return s.finish(ctx, run)
	}
	run.Status, run.Rows, run.Truncated = store.RunOK, int64(len(res.Rows)), res.Truncated
	rules := s.scheduledRules(q.Name)
	if len(rules) == 0 || len(res.Rows) == 0 {
		return s.finish(ctx, run)
	}
	events, err := queryEvents(q.Name, to, res)
	if err != nil {
		run.Status, run.Error = store.RunError, err.Error()
		return s.finish(ctx, run)
	}
	var matches []alerts.Match
	var errs []string
	for _, d := range rules {
		ms, err := s.opts.Engine.EvaluateRule(ctx, d.ID, events)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", d.ID, err))
			continue
		}
		matches = append(matches, ms...)
	}
	run.Matches = len(matches)
	created, err := s.process(ctx, matches)
	if err != nil {
		errs = append(errs, err.Error())
	}
	run.Alerts = len(created)
	if len(errs) > 0 {
		run.Status, run.Error = store.RunError, strings.Join(errs, "; ")
	}
	return s.finish(ctx, run)
}

// queryEvents turns a query's rows into the events scheduled rules see:
// each row a JSON object of its columns. A row's p_event_time, p_row_id
// and p_log_type columns, when it has them, become the match's event time,
// row ID and log type; otherwise the event time is the end of the run's
// window and the row ID is derived from the query, the run and the row's
// position.
func queryEvents(name string, at time.Time, res *lake.Result) ([]logtypes.Event, error) {
	idx := map[string]int{}
	for i, c := range res.Columns {
		if _, dup := idx[c.Name]; !dup {
			idx[c.Name] = i
		}
	}
	col := func(row []any, name string) any {
		if i, ok := idx[name]; ok {
			return row[i]
		}
		return nil
	}
	events := make([]logtypes.Event, len(res.Rows))
	for i, row := range res.Rows {
		data, err := rowObject(res.Columns, row)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		ev := logtypes.Event{JSON: data, LogType: str(col(row, "p_log_type")), RowID: str(col(row, "p_row_id")), Time: at.UTC()}
		if t, ok := lakeTime(col(row, "p_event_time")); ok {
			ev.Time = t
		}
		if ev.RowID == "" {
			sum := sha256.Sum256([]byte(name + "\x00" + strconv.FormatInt(at.UnixNano(), 10) + "\x00" + strconv.Itoa(i)))
			ev.RowID = hex.EncodeToString(sum[:16])
		}
		events[i] = ev
	}
	return events, nil
}

// expandLookback rewrites each p_occurs_in_lookback([alias]) outside
// string literals, quoted identifiers and comments into
// p_occurs_between over [from, to) (the end is made inclusive one
// microsecond early).
func expandLookback(sql string, from, to time.Time) string {
	var b strings.Builder
	n := len(sql)
	isIdent := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i := 0; i < n; {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < n {
				if sql[j] == c {
					if j+1 < n && sql[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, n)
			b.WriteString(sql[i:j])
			i = j
			continue
		case c == '-' && i+1 < n && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				j = n - i
			}
			b.WriteString(sql[i : i+j])
			i += j
			continue
		case c == '/' && i+1 < n && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			end := n
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(sql[i:end])
			i = end
			continue
		case isIdent(c):
			j := i
			for j < n && isIdent(sql[j]) {
				j++
			}
			word := sql[i:j]
			if strings.EqualFold(word, LookbackMacro) && (i == 0 || !isIdent(sql[i-1])) {
				k := j
				for k < n && (sql[k] == ' ' || sql[k] == '\t' || sql[k] == '\n' || sql[k] == '\r') {
					k++
				}
				if k < n && sql[k] == '(' {
					if end := strings.IndexByte(sql[k:], ')'); end >= 0 {
						arg := strings.TrimSpace(sql[k+1 : k+end])
						fmt.Fprintf(&b, "p_occurs_between('%s', '%s'", sqlTime(from), sqlTime(to.Add(-time.Microsecond)))
						if arg != "" {
							b.WriteString(", " + arg)
						}
						b.WriteByte(')')
						i = k + end + 1
						continue
					}
				}
			}
			b.WriteString(word)
			i = j
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}
