package alerts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Store persists what the manager decides. Commit must apply a whole
// Commit atomically: together with the consumer offset it carries, that is
// what makes reprocessing after a crash neither lose nor double-count.
type Store interface {
	LoadWindows(ctx context.Context) ([]Window, error)
	// LoadOffset returns the offset last committed for consumer (0: none).
	LoadOffset(ctx context.Context, consumer string) (uint64, error)
	Commit(ctx context.Context, c *Commit) error
}

// Commit is everything one call to Process decided.
type Commit struct {
	Windows []Window      // upserted by key
	Created []Alert       // new alerts, to store and notify
	Updated []AlertUpdate // progress of existing alerts (no notification)
	Events  []AlertEvent  // matched events kept with their alert
	// Offset, when set, is stored in the same transaction: the position in
	// the event log up to which matches have been processed.
	Offset *Offset
}

// AlertUpdate is the progress of an existing alert.
type AlertUpdate struct {
	ID          string
	EventCount  int
	LastEventAt time.Time
	LogTypes    []string
	UpdatedAt   time.Time
}

// AlertEvent is a matched event kept with its alert.
type AlertEvent struct {
	AlertID string
	RowID   string
	LogType string
	Time    time.Time
	Event   []byte
}

// Offset is a consumer's position in the event log.
type Offset struct {
	Consumer string
	Value    uint64
}

// Options tune the manager.
type Options struct {
	// Now is the processing clock (default time.Now).
	Now func() time.Time
	// AlertsPerHour caps new alerts per detection per clock hour (default
	// 1000); beyond it alerts are suppressed and one SYSTEM alert says so.
	AlertsPerHour int
	// EventsPerAlert caps the matched events kept with one alert (default 100).
	EventsPerAlert int
	// OnCommitted, when set, receives every match of a committed batch with
	// the ID of the alert its window stands for (whether or not the window
	// has reached its threshold yet), for the lake's rule-match tables.
	OnCommitted func(ctx context.Context, matches []Match, alertIDs []string)
}

// Manager applies matches to windows and alerts. Process is safe for
// concurrent use but serialises callers: windows are shared state.
type Manager struct {
	store   Store
	opts    Options
	mu      sync.Mutex
	windows map[string]*Window
	limiter limiter
}

// NewManager loads the persisted windows.
func NewManager(ctx context.Context, store Store, opts Options) (*Manager, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AlertsPerHour <= 0 {
		opts.AlertsPerHour = 1000
	}
	if opts.EventsPerAlert <= 0 {
		opts.EventsPerAlert = 100
	}
	loaded, err := store.LoadWindows(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading alert windows: %w", err)
	}
	m := &Manager{store: store, opts: opts, windows: make(map[string]*Window, len(loaded)), limiter: limiter{max: opts.AlertsPerHour}}
	for i := range loaded {
		w := loaded[i]
		m.windows[w.Key] = &w
	}
	return m, nil
}

// Process applies matches in order, commits the outcome (with offset, when
// given) and returns the alerts created, which the caller notifies.
func (m *Manager) Process(ctx context.Context, matches []Match, offset *Offset) ([]Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &Commit{Offset: offset}
	touched := map[string]*Window{}
	before := map[string]*Window{}
	updated := map[string]int{} // alert ID -> index in c.Updated
	now := m.opts.Now()
	ids := make([]string, len(matches))
	for i := range matches {
		match := &matches[i]
		key := match.Key()
		w := m.windows[key]
		if _, seen := before[key]; !seen {
			before[key] = cloneWindow(w)
		}
		if w == nil || !now.Before(w.Start.Add(w.Period)) {
			w = m.open(match, w, now)
		}
		touched[key] = w
		m.record(w, match)
		alertID := alertID(match.RuleID, w.Generation, match.Dedup)
		ids[i] = alertID
		if w.StoredEvents < m.opts.EventsPerAlert && !match.Signal {
			w.StoredEvents++
			c.Events = append(c.Events, AlertEvent{AlertID: alertID, RowID: match.RowID, LogType: match.LogType, Time: match.EventTime, Event: match.Event})
		}
		switch {
		case match.Signal:
		case w.AlertID == "" && m.count(w, match) >= threshold(match):
			if !m.limiter.allow(match.RuleID, now) {
				if m.limiter.firstDenial(match.RuleID, now) {
					c.Created = append(c.Created, m.throttleAlert(match, now))
				}
				continue
			}
			w.AlertID = alertID
			c.Created = append(c.Created, newAlert(match, w, now))
		case w.AlertID != "":
			u := AlertUpdate{ID: w.AlertID, EventCount: w.Matches, LastEventAt: w.LastEventAt, LogTypes: slices.Clone(w.LogTypes), UpdatedAt: now}
			if j, ok := updated[w.AlertID]; ok {
				c.Updated[j] = u
			} else if !createdNow(c.Created, w.AlertID) {
				updated[w.AlertID] = len(c.Updated)
				c.Updated = append(c.Updated, u)
			} else {
				refreshCreated(c.Created, w)
			}
		}
	}
	for _, w := range touched {
		c.Windows = append(c.Windows, cloneWindowValue(w))
	}
	slices.SortFunc(c.Windows, func(a, b Window) int { return strings.Compare(a.Key, b.Key) })
	if err := m.store.Commit(ctx, c); err != nil {
		// Nothing was applied: restore the windows so a retry starts over.
		for key, w := range before {
			if w == nil {
				delete(m.windows, key)
			} else {
				m.windows[key] = w
			}
		}
		m.limiter.rollback(c.Created)
		return nil, fmt.Errorf("committing alerts: %w", err)
	}
	if m.opts.OnCommitted != nil && len(matches) > 0 {
		m.opts.OnCommitted(ctx, matches, ids)
	}
	return c.Created, nil
}

// open starts a new window generation for match's key.
func (m *Manager) open(match *Match, prev *Window, now time.Time) *Window {
	period := match.DedupPeriod
	if period <= 0 {
		period = 60 * time.Minute
	}
	w := &Window{Key: match.Key(), RuleID: match.RuleID, Start: now, Period: period, Generation: 1}
	if prev != nil {
		w.Generation = prev.Generation + 1
	}
	m.windows[w.Key] = w
	return w
}

func (m *Manager) record(w *Window, match *Match) {
	w.Matches++
	if match.Unique != nil && len(w.Uniques) < MaxUniques {
		if w.Uniques == nil {
			w.Uniques = map[string]struct{}{}
		}
		w.Uniques[*match.Unique] = struct{}{}
	}
	t := match.EventTime
	if !t.IsZero() {
		if w.FirstEventAt.IsZero() || t.Before(w.FirstEventAt) {
			w.FirstEventAt = t
		}
		if t.After(w.LastEventAt) {
			w.LastEventAt = t
		}
	}
	if match.LogType != "" && !slices.Contains(w.LogTypes, match.LogType) {
		w.LogTypes = append(w.LogTypes, match.LogType)
		slices.Sort(w.LogTypes)
	}
}

// count is what the threshold compares: matches, or distinct unique() values.
func (m *Manager) count(w *Window, match *Match) int {
	if match.Unique != nil {
		return len(w.Uniques)
	}
	return w.Matches
}

func threshold(match *Match) int {
	if match.Type == TypeRuleError || match.Threshold <= 0 {
		return 1
	}
	return match.Threshold
}

func newAlert(match *Match, w *Window, now time.Time) Alert {
	return Alert{
		ID: w.AlertID, Type: match.Type, RuleID: match.RuleID, RuleVersion: match.RuleVersion,
		Title: match.Title, Severity: match.Severity, Dedup: match.Dedup, Status: StatusOpen,
		CreatedAt: now, UpdatedAt: now, FirstEventAt: w.FirstEventAt, LastEventAt: w.LastEventAt,
		EventCount: w.Matches, LogTypes: slices.Clone(w.LogTypes), AlertContext: match.AlertContext,
		Description: match.Description, Reference: match.Reference, Runbook: match.Runbook,
		Destinations: match.Destinations, OutputIDs: match.OutputIDs, Tags: match.Tags, Reports: match.Reports,
	}
}

func (m *Manager) throttleAlert(match *Match, now time.Time) Alert {
	hour := now.UTC().Truncate(time.Hour)
	id := alertID("prowl.limiter", int(hour.Unix()/3600), match.RuleID)
	return Alert{
		ID: id, Type: TypeSystem, RuleID: match.RuleID, Severity: "HIGH", Status: StatusOpen,
		Title:     fmt.Sprintf("Detection %s exceeded %d alerts this hour; further alerts are suppressed until %s", match.RuleID, m.opts.AlertsPerHour, hour.Add(time.Hour).Format(time.RFC3339)),
		Dedup:     "limiter:" + match.RuleID,
		CreatedAt: now, UpdatedAt: now, EventCount: 1,
		Description: "The alert limiter protects analysts and destinations from a detection that fires far more than expected. " +
			"Tune the detection (threshold, dedup, filters) or raise the limit.",
	}
}

func createdNow(created []Alert, id string) bool {
	for i := range created {
		if created[i].ID == id {
			return true
		}
	}
	return false
}

// refreshCreated folds later matches of this batch into an alert created
// earlier in the same batch.
func refreshCreated(created []Alert, w *Window) {
	for i := range created {
		if created[i].ID == w.AlertID {
			created[i].EventCount = w.Matches
			created[i].LastEventAt = w.LastEventAt
			created[i].LogTypes = slices.Clone(w.LogTypes)
		}
	}
}

func cloneWindow(w *Window) *Window {
	if w == nil {
		return nil
	}
	c := cloneWindowValue(w)
	return &c
}

func cloneWindowValue(w *Window) Window {
	c := *w
	c.LogTypes = slices.Clone(w.LogTypes)
	if w.Uniques != nil {
		c.Uniques = make(map[string]struct{}, len(w.Uniques))
		for k := range w.Uniques {
			c.Uniques[k] = struct{}{}
		}
	}
	return c
}

// limiter counts new alerts per detection per clock hour.
type limiter struct {
	max    int
	hour   time.Time
	counts map[string]int
	denied map[string]bool
}

func (l *limiter) roll(now time.Time) {
	if h := now.UTC().Truncate(time.Hour); !h.Equal(l.hour) {
		l.hour, l.counts, l.denied = h, map[string]int{}, map[string]bool{}
	}
}

func (l *limiter) allow(rule string, now time.Time) bool {
	l.roll(now)
	if l.counts[rule] >= l.max {
		return false
	}
	l.counts[rule]++
	return true
}

// firstDenial reports whether this is the rule's first suppressed alert
// this hour (which raises the SYSTEM alert).
func (l *limiter) firstDenial(rule string, now time.Time) bool {
	l.roll(now)
	if l.denied[rule] {
		return false
	}
	l.denied[rule] = true
	return true
}

// rollback forgets counts for alerts whose commit failed.
func (l *limiter) rollback(created []Alert) {
	for _, a := range created {
		if a.Type == TypeSystem {
			l.denied[a.RuleID] = false
			continue
		}
		if l.counts[a.RuleID] > 0 {
			l.counts[a.RuleID]--
		}
	}
}
