package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prowl-siem/prowl/internal/alerts"
)

// The alert tables (migration 2) hold what alerts.Manager decides: dedup
// windows, alerts with their triage state and comments, the matched events
// kept with each alert, and the consumer offsets committed with them.

var (
	_ alerts.Store  = (*Store)(nil)
	_ alerts.Triage = (*Store)(nil)
)

// uniquesCheckMin is the size from which Commit compares a window's unique()
// values with the stored ones (count and digest, one small indexed read)
// before rewriting them: a window at MaxUniques keeps receiving matches, and
// rewriting its 100k values each time would cost milliseconds per Commit.
const uniquesCheckMin = 512

// LoadWindows implements alerts.Store: every stored dedup window.
func (s *Store) LoadWindows(ctx context.Context) ([]alerts.Window, error) {
	rows, err := s.db.QueryContext(ctx, `
SELECT w.key, w.rule_id, w.start, w.period, w.generation, w.matches, u.uniques, w.alert_id,
       w.first_event_at, w.last_event_at, w.log_types, w.stored_events
FROM alert_windows w LEFT JOIN alert_window_uniques u ON u.key = w.key AND w.has_uniques
ORDER BY w.key`)
	if err != nil {
		return nil, fmt.Errorf("store: loading alert windows: %w", err)
	}
	defer rows.Close()
	var out []alerts.Window
	for rows.Next() {
		var (
			w                  alerts.Window
			start, first, last sql.NullInt64
			period             int64
			uniques            []byte
			logTypes           string
		)
		if err := rows.Scan(&w.Key, &w.RuleID, &start, &period, &w.Generation, &w.Matches, &uniques, &w.AlertID,
			&first, &last, &logTypes, &w.StoredEvents); err != nil {
			return nil, fmt.Errorf("store: loading alert windows: %w", err)
		}
		w.Start, w.Period, w.FirstEventAt, w.LastEventAt = fromNanos(start), time.Duration(period), fromNanos(first), fromNanos(last)
		if uniques != nil {
			var vals []string
			if err := json.Unmarshal(uniques, &vals); err != nil {
				return nil, fmt.Errorf("store: alert window %q: uniques: %w", w.Key, err)
			}
			w.Uniques = make(map[string]struct{}, len(vals))
			for _, v := range vals {
				w.Uniques[v] = struct{}{}
			}
		}
		if err := json.Unmarshal([]byte(logTypes), &w.LogTypes); err != nil {
			return nil, fmt.Errorf("store: alert window %q: log types: %w", w.Key, err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: loading alert windows: %w", err)
	}
	return out, nil
}

// LoadOffset implements alerts.Store: the offset last committed for
// consumer, 0 when none was.
func (s *Store) LoadOffset(ctx context.Context, consumer string) (uint64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT value FROM consumer_offsets WHERE consumer = ?`, consumer).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: loading offset of %q: %w", consumer, err)
	}
	return uint64(v), nil
}

// Commit implements alerts.Store. It applies c in one transaction, all or
// nothing: windows are upserted by key; created alerts are inserted unless
// their ID exists (a replay keeps the stored alert and its triage), each
// new one with a pending notification (see PendingNotifications); updates
// set event_count, last_event_at, log_types and updated_at of existing
// alerts (unknown IDs are ignored); events are appended; the offset, when
// set, is upserted.
func (s *Store) Commit(ctx context.Context, c *alerts.Commit) error {
	if c == nil {
		return nil
	}
	// Encode what does not depend on the stored state before taking the
	// write lock.
	created := make([][]any, len(c.Created))
	for i := range c.Created {
		args, err := alertArgs(&c.Created[i])
		if err != nil {
			return err
		}
		created[i] = args
	}
	updated := make([][]any, len(c.Updated))
	for i, u := range c.Updated {
		lt, err := json.Marshal(u.LogTypes)
		if err != nil {
			return fmt.Errorf("store: alert %s: log types: %w", u.ID, err)
		}
		updated[i] = []any{u.EventCount, toNanos(u.LastEventAt), string(lt), toNanos(u.UpdatedAt), u.ID}
	}
	windows := make([]windowRow, len(c.Windows))
	for i := range c.Windows {
		w, err := newWindowRow(&c.Windows[i])
		if err != nil {
			return err
		}
		windows[i] = w
	}

	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := commitWindows(ctx, tx, windows); err != nil {
			return err
		}
		if len(created) > 0 {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO alerts (`+alertInsertCols+`) VALUES (`+placeholders(alertInsertN)+`)
ON CONFLICT (id) DO NOTHING`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for i, args := range created {
				res, err := stmt.ExecContext(ctx, args...)
				if err != nil {
					return fmt.Errorf("creating alert %s: %w", c.Created[i].ID, err)
				}
				// A new alert's notification is pending until its
				// deliveries are recorded (see PendingNotifications).
				if n, err := res.RowsAffected(); err != nil {
					return err
				} else if n == 1 {
					if _, err := tx.ExecContext(ctx, `INSERT INTO alert_notifications (alert_id) VALUES (?) ON CONFLICT DO NOTHING`,
						c.Created[i].ID); err != nil {
						return fmt.Errorf("creating alert %s: %w", c.Created[i].ID, err)
					}
				}
			}
		}
		if len(updated) > 0 {
			stmt, err := tx.PrepareContext(ctx, `
UPDATE alerts SET event_count = ?, last_event_at = ?, log_types = ?, updated_at = ? WHERE id = ?`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for i, args := range updated {
				if _, err := stmt.ExecContext(ctx, args...); err != nil {
					return fmt.Errorf("updating alert %s: %w", c.Updated[i].ID, err)
				}
			}
		}
		if err := insertEvents(ctx, tx, c.Events); err != nil {
			return err
		}
		if c.Offset != nil {
			if _, err := tx.ExecContext(ctx, `
INSERT INTO consumer_offsets (consumer, value) VALUES (?, ?)
ON CONFLICT (consumer) DO UPDATE SET value = excluded.value`, c.Offset.Consumer, int64(c.Offset.Value)); err != nil {
				return fmt.Errorf("saving offset of %q: %w", c.Offset.Consumer, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: committing alerts: %w", err)
	}
	return nil
}

// windowRow is a window encoded for alert_windows. Its unique() values are
// encoded later, only if they differ from the stored ones.
type windowRow struct {
	w        *alerts.Window
	logTypes string
	digest   int64 // of w.Uniques, when there are at least uniquesCheckMin
}

func newWindowRow(w *alerts.Window) (windowRow, error) {
	lt, err := json.Marshal(w.LogTypes)
	if err != nil {
		return windowRow{}, fmt.Errorf("store: alert window %q: log types: %w", w.Key, err)
	}
	r := windowRow{w: w, logTypes: string(lt)}
	if len(w.Uniques) >= uniquesCheckMin {
		r.digest = uniquesDigest(w.Uniques)
	}
	return r, nil
}

func commitWindows(ctx context.Context, tx *sql.Tx, rows []windowRow) error {
	if len(rows) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `
INSERT INTO alert_windows (key, rule_id, start, period, generation, matches, has_uniques, alert_id,
                           first_event_at, last_event_at, log_types, stored_events)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET rule_id = excluded.rule_id, start = excluded.start, period = excluded.period,
	generation = excluded.generation, matches = excluded.matches, has_uniques = excluded.has_uniques,
	alert_id = excluded.alert_id, first_event_at = excluded.first_event_at, last_event_at = excluded.last_event_at,
	log_types = excluded.log_types, stored_events = excluded.stored_events`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	var uniquesStmt *sql.Stmt
	defer func() {
		if uniquesStmt != nil {
			uniquesStmt.Close()
		}
	}()
	for _, r := range rows {
		w := r.w
		if _, err := stmt.ExecContext(ctx, w.Key, w.RuleID, toNanos(w.Start), int64(w.Period), w.Generation, w.Matches,
			w.Uniques != nil, w.AlertID, toNanos(w.FirstEventAt), toNanos(w.LastEventAt), r.logTypes, w.StoredEvents); err != nil {
			return fmt.Errorf("saving alert window %q: %w", w.Key, err)
		}
		if w.Uniques == nil {
			continue // has_uniques is 0: a stored row of values is ignored, and replaced when values come back
		}
		if len(w.Uniques) >= uniquesCheckMin {
			var n int
			var digest int64
			err := tx.QueryRowContext(ctx, `SELECT n, digest FROM alert_window_uniques WHERE key = ?`, w.Key).Scan(&n, &digest)
			switch {
			case err == nil && n == len(w.Uniques) && digest == r.digest:
				continue // unchanged
			case err != nil && !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("reading unique values of alert window %q: %w", w.Key, err)
			}
		}
		if uniquesStmt == nil {
			if uniquesStmt, err = tx.PrepareContext(ctx, `
INSERT INTO alert_window_uniques (key, n, digest, uniques) VALUES (?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET n = excluded.n, digest = excluded.digest, uniques = excluded.uniques`); err != nil {
				return err
			}
		}
		enc := appendUniques(make([]byte, 0, 24*len(w.Uniques)+2), w.Uniques)
		if _, err := uniquesStmt.ExecContext(ctx, w.Key, len(w.Uniques), r.digest, string(enc)); err != nil {
			return fmt.Errorf("saving unique values of alert window %q: %w", w.Key, err)
		}
	}
	return nil
}

// uniquesDigest is an order-independent digest of a set: the wrapping sum
// of a 64-bit hash of each value. (hash/maphash cannot be seeded
// deterministically, and FNV-1a, a byte at a time, is 3x slower.)
func uniquesDigest(set map[string]struct{}) int64 {
	var sum uint64
	for v := range set {
		sum += hashString(v)
	}
	return int64(sum)
}

// hashString is a simple multiply-xorshift hash over 8-byte words; it must
// never change, as digests are stored.
func hashString(s string) uint64 {
	const m = 0x9e3779b97f4a7c15
	h := uint64(len(s)) * m
	for ; len(s) >= 8; s = s[8:] {
		v := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		h = (h ^ v) * m
		h ^= h >> 29
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		v |= uint64(s[i]) << (8 * i)
	}
	h = (h ^ v ^ 0xff) * m
	h ^= h >> 32
	h *= 0xbf58476d1ce4e5b9
	return h ^ h>>31
}

// appendUniques appends set as a JSON array of strings. Most values need no
// escaping and are copied as they are, which is several times faster than
// encoding/json for 100k values.
func appendUniques(b []byte, set map[string]struct{}) []byte {
	b = append(b, '[')
	first := true
	for v := range set {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

func appendJSONString(b []byte, s string) []byte {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == '"' || c == '\\':
			return appendMarshalled(b, s)
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.ValidString(s) {
		// encoding/json replaces invalid bytes with U+FFFD.
		return appendMarshalled(b, s)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendMarshalled(b []byte, s string) []byte {
	j, _ := json.Marshal(s) // a string always marshals
	return append(b, j...)
}

func insertEvents(ctx context.Context, tx *sql.Tx, events []alerts.AlertEvent) error {
	if len(events) == 0 {
		return nil
	}
	// Several rows per statement: one Exec per event is the costliest part
	// of a large Commit.
	const perStmt = 32
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()
	args := make([]any, 0, 5*perStmt)
	for len(events) > 0 {
		n := min(len(events), perStmt)
		var st *sql.Stmt
		if n == perStmt {
			if stmt == nil {
				var err error
				if stmt, err = tx.PrepareContext(ctx, eventInsert(perStmt)); err != nil {
					return err
				}
			}
			st = stmt
		}
		args = args[:0]
		for _, e := range events[:n] {
			var ev any
			if e.Event != nil {
				ev = string(e.Event)
			}
			args = append(args, e.AlertID, e.RowID, e.LogType, toNanos(e.Time), ev)
		}
		var err error
		if st != nil {
			_, err = st.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, eventInsert(n), args...)
		}
		if err != nil {
			return fmt.Errorf("keeping events of alert %s: %w", events[0].AlertID, err)
		}
		events = events[n:]
	}
	return nil
}

func eventInsert(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO alert_events (alert_id, row_id, log_type, time, event) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?)")
	}
	return b.String()
}

// Columns of an alert, in the order of alertArgs and scanAlert.
const (
	alertInsertCols = `id, type, rule_id, rule_version, title, severity, severity_rank, dedup, search, status, assignee,
	created_at, updated_at, first_event_at, last_event_at, event_count, log_types, alert_context, description, reference,
	runbook, destinations, output_ids, tags, reports`
	alertInsertN = 25
	alertCols    = `id, type, rule_id, rule_version, title, severity, dedup, status, assignee,
	created_at, updated_at, first_event_at, last_event_at, event_count, log_types, alert_context, description, reference,
	runbook, destinations, output_ids, tags, reports`
)

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// searchSep separates the fields of the search column. A control character:
// a search for text containing it is the only one that can match across two
// fields.
const searchSep = "\x1f"

// searchText is what Query.Text is matched against: Go's (Unicode) lower
// case of title, rule ID and dedup string. SQLite's LIKE folds ASCII only.
func searchText(a *alerts.Alert) string {
	return strings.ToLower(a.Title) + searchSep + strings.ToLower(a.RuleID) + searchSep + strings.ToLower(a.Dedup)
}

func alertArgs(a *alerts.Alert) ([]any, error) {
	enc := func(field string, v any) (string, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("store: alert %s: %s: %w", a.ID, field, err)
		}
		return string(b), nil
	}
	logTypes, err := enc("log types", a.LogTypes)
	if err != nil {
		return nil, err
	}
	dests, err := enc("destinations", a.Destinations)
	if err != nil {
		return nil, err
	}
	outputs, err := enc("output IDs", a.OutputIDs)
	if err != nil {
		return nil, err
	}
	tags, err := enc("tags", a.Tags)
	if err != nil {
		return nil, err
	}
	reports, err := enc("reports", a.Reports)
	if err != nil {
		return nil, err
	}
	var ctxJSON any
	if a.AlertContext != nil {
		ctxJSON = string(a.AlertContext)
	}
	return []any{a.ID, a.Type, a.RuleID, a.RuleVersion, a.Title, a.Severity, alerts.SeverityRank(a.Severity), a.Dedup,
		searchText(a), a.Status, a.Assignee, toNanos(a.CreatedAt), toNanos(a.UpdatedAt), toNanos(a.FirstEventAt),
		toNanos(a.LastEventAt), a.EventCount, logTypes, ctxJSON, a.Description, a.Reference, a.Runbook,
		dests, outputs, tags, reports}, nil
}

func scanAlert(r scanner) (alerts.Alert, error) {
	var (
		a                                       alerts.Alert
		created, updated, first, last           sql.NullInt64
		logTypes, dests, outputs, tags, reports string
		ctxJSON                                 []byte
	)
	if err := r.Scan(&a.ID, &a.Type, &a.RuleID, &a.RuleVersion, &a.Title, &a.Severity, &a.Dedup, &a.Status, &a.Assignee,
		&created, &updated, &first, &last, &a.EventCount, &logTypes, &ctxJSON, &a.Description, &a.Reference,
		&a.Runbook, &dests, &outputs, &tags, &reports); err != nil {
		return a, err
	}
	a.CreatedAt, a.UpdatedAt, a.FirstEventAt, a.LastEventAt = fromNanos(created), fromNanos(updated), fromNanos(first), fromNanos(last)
	if ctxJSON != nil {
		a.AlertContext = json.RawMessage(ctxJSON)
	}
	for _, f := range []struct {
		name string
		src  string
		dst  any
	}{
		{"log types", logTypes, &a.LogTypes}, {"destinations", dests, &a.Destinations}, {"output IDs", outputs, &a.OutputIDs},
		{"tags", tags, &a.Tags}, {"reports", reports, &a.Reports},
	} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return a, fmt.Errorf("alert %s: %s: %w", a.ID, f.name, err)
		}
	}
	return a, nil
}

// read runs fn in a read-only transaction: one consistent snapshot.
func (s *Store) read(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// sortColumns maps Query.Sort keys to columns.
var sortColumns = map[string]string{
	"created_at":  "created_at",
	"updated_at":  "updated_at",
	"severity":    "severity_rank",
	"event_count": "event_count",
}

// likeEscaper escapes LIKE's wildcards (and its escape character) in user
// input, for ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// alertFilter turns q's filters into a WHERE clause and its arguments.
func alertFilter(q *alerts.Query) (string, []any) {
	var (
		conds []string
		args  []any
	)
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		conds = append(conds, col+" IN ("+placeholders(len(vals))+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("status", q.Status)
	in("severity", q.Severity)
	in("type", q.Type)
	if q.RuleID != "" {
		conds = append(conds, "rule_id = ?")
		args = append(args, q.RuleID)
	}
	if q.Assignee != "" {
		conds = append(conds, "assignee = ?")
		args = append(args, q.Assignee)
	}
	if !q.Since.IsZero() {
		conds = append(conds, "created_at >= ?")
		args = append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		// A zero CreatedAt (NULL) is before any Until, as in Query.Matches.
		conds = append(conds, "(created_at IS NULL OR created_at < ?)")
		args = append(args, q.Until.UnixNano())
	}
	if q.Text != "" {
		conds = append(conds, `search LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(strings.ToLower(q.Text))+"%")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// ListAlerts implements alerts.Triage: one page of the alerts matching q,
// sorted by q.Sort with ties broken by ID (in the same direction), and the
// total number of matches.
func (s *Store) ListAlerts(ctx context.Context, q alerts.Query) (alerts.Page, error) {
	if err := q.Normalize(); err != nil {
		return alerts.Page{}, err
	}
	col, dir := sortColumns[strings.TrimPrefix(q.Sort, "-")], "ASC"
	if strings.HasPrefix(q.Sort, "-") {
		dir = "DESC"
	}
	where, args := alertFilter(&q)
	page := alerts.Page{Offset: q.Offset, Limit: q.Limit}
	err := s.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM alerts`+where, args...).Scan(&page.Total); err != nil {
			return err
		}
		if q.Offset >= page.Total {
			return nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+alertCols+` FROM alerts`+where+
			` ORDER BY `+col+` `+dir+`, id `+dir+` LIMIT ? OFFSET ?`, append(args, q.Limit, q.Offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAlert(rows)
			if err != nil {
				return err
			}
			page.Alerts = append(page.Alerts, a)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return loadComments(ctx, tx, page.Alerts)
	})
	if err != nil {
		return alerts.Page{}, fmt.Errorf("store: listing alerts: %w", err)
	}
	return page, nil
}

// loadComments fills the comments of list, oldest first.
func loadComments(ctx context.Context, tx *sql.Tx, list []alerts.Alert) error {
	if len(list) == 0 {
		return nil
	}
	idx := make(map[string]int, len(list))
	args := make([]any, len(list))
	for i := range list {
		idx[list[i].ID] = i
		args[i] = list[i].ID
	}
	rows, err := tx.QueryContext(ctx, `SELECT alert_id, author, body, at FROM alert_comments
WHERE alert_id IN (`+placeholders(len(list))+`) ORDER BY id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			c  alerts.Comment
			at sql.NullInt64
		)
		if err := rows.Scan(&id, &c.Author, &c.Body, &at); err != nil {
			return err
		}
		c.At = fromNanos(at)
		if i, ok := idx[id]; ok {
			list[i].Comments = append(list[i].Comments, c)
		}
	}
	return rows.Err()
}

// GetAlert implements alerts.Triage. An unknown ID is alerts.ErrNotFound.
func (s *Store) GetAlert(ctx context.Context, id string) (alerts.Alert, error) {
	var a alerts.Alert
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return alerts.ErrNotFound
		}
		if err != nil {
			return err
		}
		list := []alerts.Alert{a}
		err = loadComments(ctx, tx, list)
		a = list[0]
		return err
	})
	if err != nil {
		return alerts.Alert{}, fmt.Errorf("store: alert %q: %w", id, err)
	}
	return a, nil
}

// AlertEvents implements alerts.Triage: up to limit of the events kept with
// the alert, in the order they were committed. An unknown ID is
// alerts.ErrNotFound.
func (s *Store) AlertEvents(ctx context.Context, id string, limit int) ([]alerts.AlertEvent, error) {
	var out []alerts.AlertEvent
	err := s.read(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM alerts WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return alerts.ErrNotFound
		}
		if err != nil || limit <= 0 {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT row_id, log_type, time, event FROM alert_events
WHERE alert_id = ? ORDER BY id LIMIT ?`, id, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e := alerts.AlertEvent{AlertID: id}
			var t sql.NullInt64
			if err := rows.Scan(&e.RowID, &e.LogType, &t, &e.Event); err != nil {
				return err
			}
			e.Time = fromNanos(t)
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: events of alert %q: %w", id, err)
	}
	return out, nil
}

// UpdateAlerts implements alerts.Triage: it applies p to every alert in ids
// and sets their updated_at to now, in one transaction. If any ID is
// unknown nothing changes and the error is alerts.ErrNotFound.
func (s *Store) UpdateAlerts(ctx context.Context, ids []string, p alerts.Patch, now time.Time) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	var status, assignee any
	if p.Status != nil {
		status = *p.Status
	}
	if p.Assignee != nil {
		assignee = *p.Assignee
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `
UPDATE alerts SET status = coalesce(?, status), assignee = coalesce(?, assignee), updated_at = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			res, err := stmt.ExecContext(ctx, status, assignee, toNanos(now), id)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return fmt.Errorf("%q: %w", id, alerts.ErrNotFound)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: updating alerts: %w", err)
	}
	return nil
}

// AddComment implements alerts.Triage. An unknown ID is alerts.ErrNotFound.
func (s *Store) AddComment(ctx context.Context, id string, c alerts.Comment) error {
	res, err := s.exec(ctx, `
INSERT INTO alert_comments (alert_id, author, body, at)
SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM alerts WHERE id = ?1)`, id, c.Author, c.Body, toNanos(c.At))
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = alerts.ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("store: commenting on alert %q: %w", id, err)
	}
	return nil
}
