package gen

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// OktaOptions configures the Okta System Log generator.
type OktaOptions struct {
	// Count is the number of events to produce, attack events included.
	// Zero means endless (only OktaStream supports it).
	Count int
	// Seed selects the output: the same options give byte-identical events.
	Seed int64
	// Start is the published time of the first event; default
	// 2024-01-01T00:00:00Z.
	Start time.Time
	// Spacing is the mean gap between events (default 100ms). Gaps are
	// jittered deterministically.
	Spacing time.Duration
	// Users is the size of the synthetic workforce (default 200).
	Users int
	// Attacks names the scenarios to inject (see OktaScenarios). Each is
	// injected once, at evenly spread positions, unless AttackEvery is set.
	Attacks []string
	// AttackEvery, when positive, replays the attack list cyclically: one
	// scenario starts every AttackEvery events. Endless streams default
	// to 5000.
	AttackEvery int
	// Label marks attack events with debugContext.debugData.prowlScenario
	// (the scenario name), which real Okta events never carry. Off by
	// default; OktaEvents reports the scenario either way.
	Label bool
}

// Scenario describes one injectable attack.
type Scenario struct {
	Name        string
	Description string
	// RuleIDs are the detections of the bundled Okta pack
	// (packs/okta) that the scenario's events alert on.
	RuleIDs []string
}

// Event is one generated LogEvent with its ground truth.
type Event struct {
	// JSON is the compact LogEvent.
	JSON []byte
	// Scenario is the attack the event belongs to; empty for benign traffic.
	Scenario string
	// Published is the event's published time.
	Published time.Time
}

// OktaScenarios lists the attack scenarios in a stable order.
func OktaScenarios() []Scenario {
	out := make([]Scenario, len(scenarioDefs))
	for i, d := range scenarioDefs {
		out[i] = d.Scenario
		out[i].RuleIDs = append([]string(nil), d.RuleIDs...)
	}
	return out
}

// Okta generates opts.Count LogEvents in published order and passes each,
// as compact JSON, to emit. It stops at the first error emit returns.
func Okta(opts OktaOptions, emit func(event []byte) error) error {
	return OktaEvents(opts, func(e Event) error { return emit(e.JSON) })
}

// OktaEvents is Okta with each event's scenario label.
func OktaEvents(opts OktaOptions, emit func(Event) error) error {
	if opts.Count <= 0 {
		return errors.New("gen: Count must be positive")
	}
	s, err := NewOktaStream(opts)
	if err != nil {
		return err
	}
	for {
		e, ok, err := s.Next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if err := emit(e); err != nil {
			return err
		}
	}
}

// OktaStream produces events one at a time; it is what Okta runs, and it
// also serves endless feeds (Count 0).
type OktaStream struct {
	opts    OktaOptions
	w       *world
	r       *rng
	clock   time.Time // published time of the next benign action
	last    time.Time // published time of the last event returned
	emitted int

	pending eventHeap
	seq     int

	schedule []scheduled // attacks not yet started, by position
	reserved int         // events of not-yet-started scheduled attacks
	attackN  int         // scenarios started so far (endless mode)
	sessions []*session
	byUser   map[*oktaUser]*session
	newHires int
}

type scheduled struct {
	pos   int
	def   *scenarioDef
	steps []step
}

// step is one event of an action or scenario: built when its time is known.
type step struct {
	at    time.Duration // offset from the start of the action
	build func(t time.Time) *logEvent
}

type pendingEvent struct {
	t        time.Time
	seq      int
	build    func(t time.Time) *logEvent
	scenario string
}

type eventHeap []pendingEvent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].t.Equal(h[j].t) {
		return h[i].t.Before(h[j].t)
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(pendingEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// NewOktaStream validates opts and prepares a stream.
func NewOktaStream(opts OktaOptions) (*OktaStream, error) {
	if opts.Count < 0 {
		return nil, errors.New("gen: Count must not be negative")
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.Spacing <= 0 {
		opts.Spacing = 100 * time.Millisecond
	}
	if opts.Users <= 0 {
		opts.Users = 200
	}
	if opts.Users < 30 {
		return nil, fmt.Errorf("gen: Users must be at least 30 (the spray scenarios need that many accounts), got %d", opts.Users)
	}
	defs := make([]*scenarioDef, 0, len(opts.Attacks))
	for _, name := range opts.Attacks {
		d := findScenario(name)
		if d == nil {
			return nil, fmt.Errorf("gen: unknown attack %q (known: %s)", name, strings.Join(scenarioNames(), ", "))
		}
		defs = append(defs, d)
	}
	if opts.Count == 0 && len(defs) > 0 && opts.AttackEvery <= 0 {
		opts.AttackEvery = 5000
	}
	s := &OktaStream{opts: opts, w: newWorld(opts.Seed, opts.Users), r: newRNG(opts.Seed, 2),
		clock: opts.Start.Truncate(time.Millisecond), byUser: map[*oktaUser]*session{}}
	s.last = s.clock
	if opts.Count > 0 && len(defs) > 0 {
		// Finite output: plan every injection now so that they all fit.
		var positions []int
		if opts.AttackEvery > 0 {
			for p := opts.AttackEvery; p < opts.Count; p += opts.AttackEvery {
				positions = append(positions, p)
			}
		} else {
			for i := range defs {
				positions = append(positions, int(int64(opts.Count)*int64(i+1)/int64(len(defs)+1)))
			}
		}
		for i, p := range positions {
			sc := s.plan(defs[i%len(defs)], i)
			sc.pos = p
			s.reserved += len(sc.steps)
			s.schedule = append(s.schedule, sc)
		}
		if s.reserved > opts.Count {
			return nil, fmt.Errorf("gen: the attacks need %d events but Count is %d", s.reserved, opts.Count)
		}
	} else if len(defs) > 0 {
		s.schedule = nil
		s.opts.Attacks = opts.Attacks
	}
	return s, nil
}

// plan builds the steps of the n-th injection.
func (s *OktaStream) plan(d *scenarioDef, n int) scheduled {
	ctx := &attackCtx{w: s.w, r: newRNG(s.opts.Seed, 1000+uint64(n)), n: n}
	steps := d.build(ctx)
	pos := 0
	if s.opts.AttackEvery > 0 {
		pos = s.opts.AttackEvery * (n + 1)
	}
	return scheduled{pos: pos, def: d, steps: steps}
}

// Next returns the next event; ok is false once Count events were produced.
func (s *OktaStream) Next() (Event, bool, error) {
	count := s.opts.Count
	if count > 0 && s.emitted >= count {
		return Event{}, false, nil
	}
	for {
		s.startDueAttacks()
		benignOK := count == 0 || s.emitted+len(s.pending)+s.reserved < count
		if benignOK && (len(s.pending) == 0 || s.pending[0].t.After(s.clock)) {
			s.benign(count)
			continue
		}
		if len(s.pending) == 0 {
			if len(s.schedule) == 0 {
				return Event{}, false, nil
			}
			// No room for benign traffic: start the next attack now.
			s.start(s.schedule[0])
			s.schedule = s.schedule[1:]
			continue
		}
		p := heap.Pop(&s.pending).(pendingEvent)
		if p.t.Before(s.last) {
			p.t = s.last
		}
		ev := p.build(p.t)
		if p.scenario != "" && s.opts.Label {
			ev.DebugContext.DebugData = ev.DebugContext.DebugData.with("prowlScenario", p.scenario)
		}
		data, err := marshalEvent(ev)
		if err != nil {
			return Event{}, false, err
		}
		s.last = p.t
		s.emitted++
		return Event{JSON: data, Scenario: p.scenario, Published: p.t}, true, nil
	}
}

// startDueAttacks starts the injections whose position has been reached.
func (s *OktaStream) startDueAttacks() {
	if s.opts.Count == 0 && len(s.opts.Attacks) > 0 {
		for s.emitted >= s.opts.AttackEvery*(s.attackN+1) {
			d := findScenario(s.opts.Attacks[s.attackN%len(s.opts.Attacks)])
			s.start(s.plan(d, s.attackN))
			s.attackN++
		}
		return
	}
	for len(s.schedule) > 0 && s.emitted >= s.schedule[0].pos {
		s.start(s.schedule[0])
		s.schedule = s.schedule[1:]
	}
}

func (s *OktaStream) start(sc scheduled) {
	s.reserved -= len(sc.steps)
	if s.reserved < 0 {
		s.reserved = 0
	}
	base := s.clock
	if s.last.After(base) {
		base = s.last
	}
	base = base.Add(time.Second)
	for _, st := range sc.steps {
		s.push(base.Add(st.at), st.build, sc.def.Name)
	}
}

func (s *OktaStream) push(t time.Time, build func(time.Time) *logEvent, scenario string) {
	s.seq++
	heap.Push(&s.pending, pendingEvent{t: t.Truncate(time.Millisecond), seq: s.seq, build: build, scenario: scenario})
}

// benign runs one action of ordinary traffic at the benign clock and
// advances the clock by one jittered gap per event it produced.
func (s *OktaStream) benign(count int) {
	steps := s.action()
	if count > 0 {
		room := count - s.emitted - len(s.pending) - s.reserved
		if len(steps) > room {
			steps = steps[:room]
		}
	}
	for _, st := range steps {
		s.push(s.clock.Add(st.at), st.build, "")
	}
	for range max(len(steps), 1) {
		s.clock = s.clock.Add(s.gap())
	}
}

// gap is a jittered spacing: uniform in [0.2, 1.8] × Spacing, at least 1ms.
func (s *OktaStream) gap() time.Duration {
	g := time.Duration(math.Round(float64(s.opts.Spacing) * (0.2 + 1.6*s.r.float())))
	g = g.Round(time.Millisecond)
	if g < time.Millisecond {
		g = time.Millisecond
	}
	return g
}

func findScenario(name string) *scenarioDef {
	for i := range scenarioDefs {
		if scenarioDefs[i].Name == name {
			return &scenarioDefs[i]
		}
	}
	return nil
}

func scenarioNames() []string {
	var names []string
	for _, d := range scenarioDefs {
		names = append(names, d.Name)
	}
	return names
}
