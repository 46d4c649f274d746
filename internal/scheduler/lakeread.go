package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/prowl-siem/prowl/internal/jsonscan"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/logtypes"
)

// Lake is what the scheduler reads: SQL over the lake (a *lake.Querier)
// and whether a table has data yet.
type Lake interface {
	Run(ctx context.Context, req lake.Request) (*lake.Result, error)
	HasTable(name string) bool
}

// NewLake adapts a querier and the snapshots of its lake.
func NewLake(q *lake.Querier, snapshot func() lake.Snapshot) Lake { return lakeReader{q, snapshot} }

type lakeReader struct {
	*lake.Querier
	snapshot func() lake.Snapshot
}

func (l lakeReader) HasTable(name string) bool {
	s := l.snapshot()
	defer s.Release()
	return slices.Contains(s.Tables(), name)
}

// sqlTime is a TIMESTAMP literal's text (UTC, microseconds): times the
// scheduler computes are spliced into SQL only in this form.
func sqlTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000000") }

// lakeTime reads a timestamp value of a query result (RFC 3339 text).
func lakeTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// span is a half-open time range [from, to).
type span struct{ from, to time.Time }

// timeSlices splits [from, to) of a table into ranges that each hold about
// target rows (at least one minute, or one hour over more than 30 days),
// from the table's row count per minute (hour), skipping empty ones. It
// returns them with the total row count. Slices of about target rows keep
// the work of each page's query to its slice: with hour slices, a window
// of a million rule matches in one hour had each of its hundred pages
// order the keys of all of them.
func timeSlices(ctx context.Context, l Lake, table, where string, params []any, from, to time.Time, target int, timeout time.Duration) ([]span, int64, error) {
	unit, step := "minute", time.Minute
	if to.Sub(from) > 30*24*time.Hour {
		unit, step = "hour", time.Hour // fewer count rows for a long replay
	}
	q := fmt.Sprintf(`SELECT date_trunc('%s', p_event_time) AS m, count(*) AS n FROM %s
WHERE p_occurs_between('%s', '%s') AND p_event_time < TIMESTAMP '%s'%s
GROUP BY 1 ORDER BY 1`, unit, quoteIdent(table), sqlTime(from), sqlTime(to), sqlTime(to), andWhere(where))
	res, err := l.Run(ctx, lake.Request{SQL: q, Params: params, Timeout: timeout, Limit: 1 << 30})
	if err != nil {
		return nil, 0, err
	}
	if res.Truncated {
		return nil, 0, fmt.Errorf("%s: too many %ss to replay at once", table, unit)
	}
	var out []span
	var total, acc int64
	for _, row := range res.Rows {
		m, ok := lakeTime(row[0])
		if !ok {
			return nil, 0, fmt.Errorf("%s: unexpected %s %v", table, unit, row[0])
		}
		n := toInt64(row[1])
		total += n
		start, end := maxTime(m, from), minTime(m.Add(step), to)
		if len(out) > 0 && acc+n <= int64(target) && !out[len(out)-1].to.Before(m) {
			out[len(out)-1].to = end
			acc += n
			continue
		}
		out = append(out, span{start, end})
		acc = n
	}
	return out, total, nil
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case uint64:
		return int64(n)
	case float64:
		return int64(n)
	case json.Number:
		i, _ := n.Int64()
		return i
	}
	return 0
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func andWhere(where string) string {
	if where == "" {
		return ""
	}
	return "\n  AND (" + where + ")"
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// cursor pages through a table's rows in (p_event_time, p_row_id) order,
// one time slice after the other, keeping one page in memory. Each page is
// two queries, its keys and then its rows, whose time-range macros cover
// only the rest of its slice, so the lake opens only that slice's files.
type cursor struct {
	l        Lake
	table    string
	columns  string // the select list; holds p_event_time and p_row_id
	where    string // an extra conjunct with ? placeholders, or ""
	params   []any
	slices   []span
	pageSize int
	timeout  time.Duration

	cols     []lake.Column
	timeIdx  int
	rowIdx   int
	page     [][]any
	pos      int
	slice    int
	lastTime time.Time
	lastRow  string
	started  bool // a page of the current slice has been read
	done     bool
}

// peek returns the next row without consuming it, nil at the end.
func (c *cursor) peek(ctx context.Context) ([]any, error) {
	for c.pos >= len(c.page) {
		if c.done {
			return nil, nil
		}
		if err := c.fetch(ctx); err != nil {
			return nil, err
		}
	}
	return c.page[c.pos], nil
}

func (c *cursor) next(ctx context.Context) ([]any, error) {
	row, err := c.peek(ctx)
	if row != nil {
		c.pos++
	}
	return row, err
}

// fetch reads the next page (moving to the next slice when the current one
// is exhausted).
func (c *cursor) fetch(ctx context.Context) error {
	if c.slice >= len(c.slices) {
		c.done = true
		c.page, c.pos = nil, 0
		return nil
	}
	sl := c.slices[c.slice]
	from := sl.from
	var keyset string
	params := slices.Clone(c.params)
	if c.started {
		from = c.lastTime
		keyset = "\n  AND (p_event_time > CAST(? AS TIMESTAMP) OR (p_event_time = CAST(? AS TIMESTAMP) AND p_row_id > ?))"
		params = append(params, sqlTime(c.lastTime), sqlTime(c.lastTime), c.lastRow)
	}
	// The page's keys first, then its rows: ordering whole rows (events
	// included) made DuckDB hold every row of the slice to keep the first
	// pageSize: for a slice of a million rule matches, 2.3 GB and 10 s a
	// page, against 0.26 GB and 0.6 s for the keys and then the rows.
	where := fmt.Sprintf("p_event_time >= TIMESTAMP '%s' AND p_event_time < TIMESTAMP '%s'%s%s",
		sqlTime(sl.from), sqlTime(sl.to), andWhere(c.where), keyset)
	keys, err := c.l.Run(ctx, lake.Request{SQL: fmt.Sprintf(`SELECT p_event_time, p_row_id FROM %s
WHERE p_occurs_between('%s', '%s') AND %s
ORDER BY p_event_time, p_row_id
LIMIT %d`, quoteIdent(c.table), sqlTime(from), sqlTime(sl.to), where, c.pageSize), Params: params, Limit: c.pageSize, Timeout: c.timeout})
	if err != nil {
		return fmt.Errorf("reading %s: %w", c.table, err)
	}
	if len(keys.Rows) == 0 {
		c.page, c.pos = nil, 0
		c.nextSlice()
		return nil
	}
	endTime, _ := lakeTime(keys.Rows[len(keys.Rows)-1][0])
	endRow := str(keys.Rows[len(keys.Rows)-1][1])
	q := fmt.Sprintf(`SELECT %s FROM %s
WHERE p_occurs_between('%s', '%s') AND %s
  AND p_event_time <= CAST(? AS TIMESTAMP) AND (p_event_time < CAST(? AS TIMESTAMP) OR p_row_id <= ?)
ORDER BY p_event_time, p_row_id
LIMIT %d`, c.columns, quoteIdent(c.table), sqlTime(from), sqlTime(endTime.Add(time.Microsecond)), where, c.pageSize)
	params = append(params, sqlTime(endTime), sqlTime(endTime), endRow)
	res, err := c.l.Run(ctx, lake.Request{SQL: q, Params: params, Limit: c.pageSize, Timeout: c.timeout})
	if err != nil {
		return fmt.Errorf("reading %s: %w", c.table, err)
	}
	if c.cols == nil {
		c.cols = res.Columns
		c.timeIdx, c.rowIdx = -1, -1
		for i, col := range res.Columns {
			switch col.Name {
			case "p_event_time":
				c.timeIdx = i
			case "p_row_id":
				c.rowIdx = i
			}
		}
		if c.timeIdx < 0 || c.rowIdx < 0 {
			return fmt.Errorf("reading %s: the result lacks p_event_time or p_row_id", c.table)
		}
	}
	c.page, c.pos = res.Rows, 0
	if len(res.Rows) > 0 {
		last := res.Rows[len(res.Rows)-1]
		c.lastTime, _ = lakeTime(last[c.timeIdx])
		c.lastRow = str(last[c.rowIdx])
		c.started = true
	}
	if len(keys.Rows) < c.pageSize && len(res.Rows) < c.pageSize || len(res.Rows) == 0 {
		c.nextSlice()
	}
	return nil
}

// nextSlice moves the cursor to the start of the next slice.
func (c *cursor) nextSlice() { c.slice, c.started = c.slice+1, false }

// key is a row's position in the merge order.
func (c *cursor) key(row []any) (time.Time, string) {
	t, _ := lakeTime(row[c.timeIdx])
	return t, str(row[c.rowIdx])
}

// merged reads several cursors as one stream in (p_event_time, p_row_id)
// order.
type merged struct{ cs []*cursor }

// next returns the next row and the cursor it came from; nil at the end.
func (m *merged) next(ctx context.Context) ([]any, *cursor, error) {
	if len(m.cs) == 1 {
		row, err := m.cs[0].next(ctx)
		return row, m.cs[0], err
	}
	var best *cursor
	var bt time.Time
	var br string
	for _, c := range m.cs {
		row, err := c.peek(ctx)
		if err != nil {
			return nil, nil, err
		}
		if row == nil {
			continue
		}
		t, r := c.key(row)
		if best == nil || t.Before(bt) || (t.Equal(bt) && r < br) {
			best, bt, br = c, t, r
		}
	}
	if best == nil {
		return nil, nil, nil
	}
	row, err := best.next(ctx)
	return row, best, err
}

// rebuilder turns rows of a log type's lake table back into normalized
// events: the schema's fields (JSON text columns as they are, timestamps
// written in their field's format), the fields kept in p_extra, then the
// p_ fields. What it cannot restore: the original order of the fields, and
// a timestamp's original text (an rfc3339 field is written in RFC 3339 UTC
// with the fraction trimmed; unix* fields as numbers; strftime fields in
// RFC 3339).
type rebuilder struct {
	logType string
	fields  map[string]*logtypes.Field
	keys    map[string][]byte // column name → its JSON key and colon
	buf     []byte
}

func newRebuilder(reg *logtypes.Registry, logType string) *rebuilder {
	b := &rebuilder{logType: logType, fields: map[string]*logtypes.Field{}, keys: map[string][]byte{}}
	if s, ok := reg.Get(logType); ok {
		for i := range s.Fields {
			b.fields[s.Fields[i].Name] = &s.Fields[i]
		}
	}
	return b
}

// pOrder is the order of the p_ fields in a rebuilt event.
var pOrder = append([]string{"p_log_type", "p_row_id", "p_event_time", "p_parse_time", "p_schema_version", "p_source_id", "p_source_label"},
	logtypes.IndicatorFields()...)

func (b *rebuilder) key(name string) []byte {
	k, ok := b.keys[name]
	if !ok {
		k = append(jsonscan.AppendString(nil, []byte(name)), ':')
		b.keys[name] = k
	}
	return k
}

func (b *rebuilder) event(cols []lake.Column, row []any) (logtypes.Event, error) {
	ev := logtypes.Event{LogType: b.logType}
	buf := append(b.buf[:0], '{')
	member := func(key []byte, raw []byte) {
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = append(buf, key...)
		buf = append(buf, raw...)
	}
	pvals := make(map[string]any, len(pOrder))
	var extra string
	var scratch []byte
	for i, col := range cols {
		v := row[i]
		if strings.HasPrefix(col.Name, "p_") {
			if col.Name == "p_extra" {
				extra = str(v)
			} else {
				pvals[col.Name] = v
			}
			continue
		}
		f := b.fields[col.Name]
		if f == nil && (col.Name == "dt" || col.Name == "hour") {
			continue // the partition columns
		}
		if v == nil {
			continue
		}
		var err error
		if scratch, err = b.value(scratch[:0], f, v); err != nil {
			return ev, fmt.Errorf("column %s: %w", col.Name, err)
		}
		member(b.key(col.Name), scratch)
	}
	if extra != "" {
		members, err := objectMembers([]byte(extra))
		if err != nil {
			return ev, fmt.Errorf("p_extra: %w", err)
		}
		if len(members) == 1 && members[0].key == "p_unparsed" {
			// The writer could not split the event: it kept it whole.
			var whole string
			if json.Unmarshal(members[0].raw, &whole) == nil && json.Valid([]byte(whole)) {
				return b.meta(ev, pvals, []byte(whole)), nil
			}
		}
		for _, m := range members {
			member(b.key(m.key), m.raw)
		}
	}
	for _, name := range pOrder {
		v, ok := pvals[name]
		if !ok || v == nil {
			continue
		}
		if name == "p_event_time" || name == "p_parse_time" {
			t, ok := lakeTime(v)
			if !ok {
				continue
			}
			scratch = append(t.AppendFormat(append(scratch[:0], '"'), "2006-01-02 15:04:05.000000"), '"')
			member(b.key(name), scratch)
			continue
		}
		var err error
		if scratch, err = appendJSON(scratch[:0], v); err != nil {
			return ev, err
		}
		member(b.key(name), scratch)
	}
	buf = append(buf, '}')
	b.buf = buf
	return b.meta(ev, pvals, slices.Clone(buf)), nil
}

func (b *rebuilder) meta(ev logtypes.Event, pvals map[string]any, data []byte) logtypes.Event {
	ev.JSON = data
	if lt := str(pvals["p_log_type"]); lt != "" {
		ev.LogType = lt
	}
	ev.RowID = str(pvals["p_row_id"])
	ev.Time, _ = lakeTime(pvals["p_event_time"])
	ev.ParseTime, _ = lakeTime(pvals["p_parse_time"])
	return ev
}

// value appends the JSON of a column's value for field f (nil: not a
// schema field). The lake keeps object, array and json fields as the JSON
// text of the normalized event, which is valid JSON.
func (b *rebuilder) value(dst []byte, f *logtypes.Field, v any) ([]byte, error) {
	if f != nil {
		switch f.Type {
		case logtypes.TypeObject, logtypes.TypeArray, logtypes.TypeJSON:
			if s, ok := v.(string); ok && s != "" {
				return append(dst, s...), nil
			}
		case logtypes.TypeTimestamp:
			if t, ok := lakeTime(v); ok {
				return appendTimestamp(dst, t, f.TimeFormat), nil
			}
		}
	}
	return appendJSON(dst, v)
}

// appendJSON appends v, a query result value, as JSON.
func appendJSON(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return jsonscan.AppendString(dst, []byte(x)), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendJSON(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	}
	raw, err := json.Marshal(v)
	return append(dst, raw...), err
}

// appendTimestamp writes t as a field of the given timeFormat would hold
// it.
func appendTimestamp(dst []byte, t time.Time, format string) []byte {
	num := func(n int64, unit int64) []byte {
		if n%unit == 0 {
			return strconv.AppendInt(dst, n/unit, 10)
		}
		return strconv.AppendFloat(dst, float64(n)/float64(unit), 'f', -1, 64)
	}
	ns := t.UnixNano()
	switch format {
	case "unix":
		return num(ns, 1e9)
	case "unix_ms":
		return num(ns, 1e6)
	case "unix_us":
		return num(ns, 1e3)
	case "unix_ns":
		return strconv.AppendInt(dst, ns, 10)
	}
	return append(t.UTC().AppendFormat(append(dst, '"'), time.RFC3339Nano), '"')
}

type rawMember struct {
	key string
	raw json.RawMessage
}

// objectMembers splits a JSON object into its members, in order.
func objectMembers(data []byte) ([]rawMember, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	var out []rawMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out = append(out, rawMember{key, raw})
	}
	return out, nil
}

// rowObject is a query result row as a JSON object, in column order (the
// first of two columns with the same name wins).
func rowObject(cols []lake.Column, row []any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	seen := map[string]bool{}
	for i, col := range cols {
		if seen[col.Name] {
			continue
		}
		seen[col.Name] = true
		if len(seen) > 1 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(col.Name)
		buf.Write(k)
		buf.WriteByte(':')
		v, err := json.Marshal(row[i])
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", col.Name, err)
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
