package logtypes

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"github.com/prowl-siem/prowl/internal/jsonscan"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of the normalizer, the defaults of Normalizer.MaxEventBytes and
// Normalizer.MaxDepth.
const (
	// MaxEventBytes is the largest raw event accepted (1 MiB).
	MaxEventBytes = 1 << 20
	// MaxDepth is the deepest nesting of objects and arrays accepted; the
	// event object itself is depth 1.
	MaxDepth = 64
)

// Rejection reasons: the machine-readable Reason of a Rejection.
const (
	ReasonInvalidJSON     = "invalid_json"     // not JSON
	ReasonInvalidUTF8     = "invalid_utf8"     // a string is not valid UTF-8
	ReasonTooLarge        = "too_large"        // longer than MaxEventBytes
	ReasonTooDeep         = "too_deep"         // nested deeper than MaxDepth
	ReasonSchemaMismatch  = "schema_mismatch"  // valid JSON, but not an object
	ReasonMissingRequired = "missing_required" // a required field is absent or null
	ReasonBadType         = "bad_type"         // a field's value does not fit its type
	ReasonUnknownLogType  = "unknown_log_type" // no schema of that name
)

// Reasons returns every rejection reason, for metrics and documentation.
func Reasons() []string {
	return []string{ReasonInvalidJSON, ReasonInvalidUTF8, ReasonTooLarge, ReasonTooDeep,
		ReasonSchemaMismatch, ReasonMissingRequired, ReasonBadType, ReasonUnknownLogType}
}

// Rejection is why an event could not be normalized. The caller quarantines
// the raw event with it; Normalize never drops an event silently.
type Rejection struct {
	// Reason is a machine code, one of the Reason* constants.
	Reason string
	// Detail says what is wrong for people: which field, what was expected.
	Detail string
	// Path is the field at fault, like target[1].id, when there is one.
	Path string
	// Offset is the byte offset in the raw event where the problem was
	// found, or -1.
	Offset int

	msg  string
	segs []string // path segments, innermost first, while unwinding
}

// Error returns "reason: detail".
func (e *Rejection) Error() string { return e.Reason + ": " + e.Detail }

// inKey records that the rejection happened under key k.
func (e *Rejection) inKey(k []byte) *Rejection {
	if len(k) == 0 || strings.ContainsAny(string(k), ".[]\"") ||
		strings.ContainsFunc(string(k), func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError }) {
		e.segs = append(e.segs, "["+strconv.Quote(string(k))+"]")
	} else {
		e.segs = append(e.segs, "."+string(k))
	}
	return e
}

// inIndex records that the rejection happened in array element i.
func (e *Rejection) inIndex(i int) *Rejection {
	e.segs = append(e.segs, "["+strconv.Itoa(i)+"]")
	return e
}

// finish builds Path and Detail from the unwound segments.
func (e *Rejection) finish() *Rejection {
	var b strings.Builder
	for i := len(e.segs) - 1; i >= 0; i-- {
		b.WriteString(e.segs[i])
	}
	e.Path = strings.TrimPrefix(b.String(), ".")
	e.segs = nil
	if e.Path != "" {
		e.Detail = e.Path + ": " + e.msg
	} else {
		e.Detail = e.msg
	}
	return e
}

// Meta is what the source knows about an event.
type Meta struct {
	SourceID, SourceLabel string
	// ParseTime is when the event was received; the zero value means now.
	ParseTime time.Time
}

// Event is a normalized event.
type Event struct {
	// LogType is the schema name (p_log_type).
	LogType string
	// Time is the event time (p_event_time), in UTC, to the microsecond.
	Time time.Time
	// ParseTime is p_parse_time, in UTC, to the microsecond.
	ParseTime time.Time
	// RowID is p_row_id: 32 hex digits, unique, ordered by parse time.
	RowID string
	// JSON is the normalized event: compact JSON with every original field
	// in its original order, then the p_ fields.
	JSON []byte
	// Members, when not nil, are the offsets of the top-level keys in JSON
	// (see Normalizer.AppendMembers); readers use them to reach a field
	// without scanning the event. Nil means unknown.
	Members []uint32
}

// Normalizer normalizes events. It reuses its buffers between calls, so keep
// one per goroutine: it is not safe for concurrent use. Create it with
// Registry.NewNormalizer.
type Normalizer struct {
	// MaxEventBytes and MaxDepth bound accepted events; zero means the
	// package defaults.
	MaxEventBytes int
	MaxDepth      int

	reg   *Registry
	gen   uint64
	cache map[string]*known
	next  []*slot // the current schema's known.next

	// per-event state
	data      []byte
	maxDepth  int
	ws        bool // insignificant whitespace inside the event object
	drop      bool // a top-level p_ field is being dropped
	members   []member
	edits     []edit
	editBytes []byte
	unesc     []byte
	ind       indicators
	evRank    int
	evTime    time.Time
	tops      []uint32 // offsets of the last normalized event's top-level keys

	// eventClock and parseClock render p_event_time and p_parse_time.
	eventClock, parseClock pantherTime

	buf     []byte
	seed    [4]byte
	counter uint32
	now     func() time.Time
}

// known is a compiled schema with what the normalizer learned of its
// events: for each place in an object (cobj.pos, cnode.pos), the slot of
// the key that came there last. Events of a source mostly repeat their key
// order, so the key at a place is usually the one seen there before, and
// checking that guess is cheaper than a lookup (see key).
type known struct {
	c    *compiled
	next []*slot
}

// member is one top-level key/value of the event, by byte range.
type member struct {
	start, end int
	drop       bool
}

// edit replaces raw bytes [start,end) with editBytes[roff:rend].
type edit struct {
	start, end int
	roff, rend int
}

// NewNormalizer returns a normalizer over the registry's schemas, including
// custom schemas added later.
func (r *Registry) NewNormalizer() *Normalizer {
	n := &Normalizer{reg: r, cache: map[string]*known{}, now: time.Now}
	if _, err := rand.Read(n.seed[:]); err != nil {
		binary.BigEndian.PutUint32(n.seed[:], uint32(time.Now().UnixNano()))
	}
	return n
}

// schema returns the compiled schema of a log type, cached per normalizer
// and refreshed when the registry changes.
func (n *Normalizer) schema(logType string) (*known, bool) {
	if g := n.reg.generation(); g != n.gen {
		clear(n.cache)
		n.gen = g
	}
	if k, ok := n.cache[logType]; ok {
		return k, true
	}
	c, ok := n.reg.compiled(logType)
	if !ok {
		return nil, false
	}
	k := &known{c: c, next: make([]*slot, c.positions)}
	n.cache[logType] = k
	return k, true
}

// Normalize checks raw, one JSON event of the given log type, against its
// schema and returns the normalized event. The error, when not nil, is a
// *Rejection. The returned JSON is newly allocated and owned by the caller.
func (n *Normalizer) Normalize(logType string, raw []byte, meta Meta) (Event, error) {
	ev, err := n.normalize(n.buf[:0], logType, raw, meta)
	if err != nil {
		return Event{}, err
	}
	n.buf = ev.JSON[:0]
	ev.JSON = append([]byte(nil), ev.JSON...)
	return ev, nil
}

// NormalizeTo is Normalize appending the normalized JSON to dst: Event.JSON
// is the appended part and shares dst's memory. Use it to fill one batch
// buffer without an allocation per event.
func (n *Normalizer) NormalizeTo(dst []byte, logType string, raw []byte, meta Meta) (Event, error) {
	ev, err := n.normalize(dst, logType, raw, meta)
	if err != nil {
		return Event{}, err
	}
	return ev, nil
}

// AppendEvent normalizes raw into a batch's memory: arena is free space
// (its length is ignored: the event's JSON is written from its start, into
// its capacity when that suffices), and the event's key offsets
// (AppendMembers) are appended to members. It returns the event, whose JSON
// and Members are capped at their length, the free space after it and the
// grown members. Events appended before keep their memory when either
// grows. On error, arena and members come back as they were.
func (n *Normalizer) AppendEvent(arena []byte, members []uint32, logType string, raw []byte, meta Meta) (Event, []byte, []uint32, error) {
	ev, err := n.normalize(arena[:0], logType, raw, meta)
	if err != nil {
		return Event{}, arena, members, err
	}
	rest := ev.JSON[len(ev.JSON):]
	ev.JSON = ev.JSON[:len(ev.JSON):len(ev.JSON)]
	k := len(members)
	members = append(members, n.tops...)
	ev.Members = members[k:len(members):len(members)]
	return ev, rest, members, nil
}

// BatchMemory is memory for normalizing one batch of events after another
// with AppendEvent: a batch's events share one arena, which grows to fit
// the largest batch so far. Fresh memory for each batch (a megabyte or so)
// costs page faults and clearing. The zero BatchMemory is ready to use; it
// is not safe for concurrent use.
type BatchMemory struct {
	arena   []byte   // the arena the batch started in
	free    []byte   // what the batch has not used of it
	members []uint32 // the batch's events' key offsets
	used    int      // the JSON bytes of the batch's events
}

// Append normalizes raw with n into the batch (see AppendEvent).
func (m *BatchMemory) Append(n *Normalizer, logType string, raw []byte, meta Meta) (Event, error) {
	ev, free, members, err := n.AppendEvent(m.free, m.members, logType, raw, meta)
	if err != nil {
		return Event{}, err
	}
	m.free, m.members = free, members
	m.used += len(ev.JSON)
	return ev, nil
}

// Reset starts the next batch in the memory of the one before, whose
// events must no longer be used.
func (m *BatchMemory) Reset() {
	if cap(m.arena) < m.used {
		m.arena = make([]byte, 0, m.used+m.used/4)
	}
	m.free, m.members, m.used = m.arena, m.members[:0], 0
}

func (n *Normalizer) normalize(dst []byte, logType string, raw []byte, meta Meta) (Event, *Rejection) {
	maxBytes := n.MaxEventBytes
	if maxBytes <= 0 {
		maxBytes = MaxEventBytes
	}
	if len(raw) > maxBytes {
		return Event{}, (&Rejection{Reason: ReasonTooLarge, Offset: -1,
			msg: fmt.Sprintf("the event is %d bytes, more than the limit of %d", len(raw), maxBytes)}).finish()
	}
	k, ok := n.schema(logType)
	if !ok {
		return Event{}, (&Rejection{Reason: ReasonUnknownLogType, Offset: -1,
			msg: fmt.Sprintf("no schema named %q%s", logType, didYouMean(logType, n.reg.Names()))}).finish()
	}
	n.maxDepth = n.MaxDepth
	if n.maxDepth <= 0 {
		n.maxDepth = MaxDepth
	}
	c := k.c
	n.data, n.next = raw, k.next
	n.ws, n.drop = false, false
	n.members = n.members[:0]
	n.edits = n.edits[:0]
	n.editBytes = n.editBytes[:0]
	n.ind.reset()
	n.evRank = -1
	defer func() { n.data = nil }()

	i := skipSpace(raw, 0)
	if i == len(raw) {
		return Event{}, n.reject(ReasonInvalidJSON, i, "the event is empty").finish()
	}
	start := i
	var rej *Rejection
	if raw[i] != '{' {
		i, rej = n.value(i, nil, 0)
		if rej == nil {
			if i = skipSpace(raw, i); i != len(raw) {
				rej = n.reject(ReasonInvalidJSON, i, "unexpected %s after the JSON value", describeByte(raw[i]))
			} else {
				rej = n.reject(ReasonSchemaMismatch, start, "an event must be a JSON object, not %s", kindOf(raw[start]))
			}
		}
		return Event{}, rej.finish()
	}
	end, rej := n.object(i, c.root, nil, 1, true)
	if rej != nil {
		return Event{}, rej.finish()
	}
	if i = skipSpace(raw, end); i != len(raw) {
		return Event{}, n.reject(ReasonInvalidJSON, i, "unexpected %s after the event object", describeByte(raw[i])).finish()
	}

	parse := meta.ParseTime
	if parse.IsZero() {
		parse = n.now()
	}
	parse = parse.UTC().Truncate(time.Microsecond)
	evTime := parse
	if n.evRank >= 0 {
		evTime = n.evTime.Truncate(time.Microsecond)
	}
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], uint64(parse.UnixNano()))
	copy(id[8:12], n.seed[:])
	n.counter++
	binary.BigEndian.PutUint32(id[12:], n.counter)
	var idHex [32]byte
	hex.Encode(idHex[:], id[:])

	base := len(dst)
	n.tops = n.tops[:0]
	dst = n.appendObject(dst, base, start, end)
	dst = n.appendPFields(dst, base, c, meta, evTime, parse, idHex[:])
	return Event{LogType: c.schema.Name, Time: evTime, ParseTime: parse, RowID: string(idHex[:]), JSON: dst[base:]}, nil
}

// AppendMembers appends to dst the offsets, in the JSON of the event the
// last successful Normalize or NormalizeTo returned, of the opening quote of
// each top-level key, in document order (the p_ fields included). The
// normalized JSON is compact, so member k's value runs from after the colon
// that follows its key to the byte before offset k+1 (or before the closing
// brace): readers find any top-level field without scanning the values.
func (n *Normalizer) AppendMembers(dst []uint32) []uint32 { return append(dst, n.tops...) }

// top records that a top-level key starts at dst[at]; base is where the
// event starts in dst.
func (n *Normalizer) top(at, base int) { n.tops = append(n.tops, uint32(at-base)) }

// appendObject appends the event object without its closing brace: the
// original bytes when they need no change, else a compacted copy with edits
// applied and top-level p_ fields left out. It ends with a comma when any
// member was written. base is where the event starts in dst.
func (n *Normalizer) appendObject(dst []byte, base, start, end int) []byte {
	d := n.data
	if !n.ws && len(n.edits) == 0 && !n.drop {
		for _, m := range n.members {
			n.top(len(dst)+m.start-start, base)
		}
		dst = append(dst, d[start:end-1]...)
		if len(n.members) > 0 {
			dst = append(dst, ',')
		}
		return dst
	}
	dst = append(dst, '{')
	ei := 0
	for _, m := range n.members {
		if m.drop {
			for ei < len(n.edits) && n.edits[ei].start < m.end {
				ei++
			}
			continue
		}
		pos := m.start
		n.top(len(dst), base)
		for ei < len(n.edits) && n.edits[ei].start < m.end {
			e := n.edits[ei]
			dst = compactCopy(dst, d[pos:e.start])
			dst = append(dst, n.editBytes[e.roff:e.rend]...)
			pos = e.end
			ei++
		}
		dst = compactCopy(dst, d[pos:m.end])
		dst = append(dst, ',')
	}
	return dst
}

// compactCopy appends src without the whitespace outside strings; src must
// start outside a string.
func compactCopy(dst, src []byte) []byte {
	in := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if in {
			j := i
			for j < len(src) && src[j] != '"' && src[j] != '\\' {
				j++
			}
			dst = append(dst, src[i:j]...)
			if j == len(src) {
				break
			}
			if src[j] == '\\' {
				if j+1 < len(src) {
					dst = append(dst, src[j], src[j+1])
				}
				i = j + 1
				continue
			}
			dst = append(dst, '"')
			in = false
			i = j
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			in = true
		}
		dst = append(dst, c)
	}
	return dst
}

// appendPFields appends the p_ fields and the closing brace; base is where
// the event starts in dst.
func (n *Normalizer) appendPFields(dst []byte, base int, c *compiled, meta Meta, evTime, parse time.Time, rowID []byte) []byte {
	key := func(dst []byte, comma bool, k string) []byte {
		if comma {
			dst = append(dst, ',')
		}
		n.top(len(dst), base)
		dst = append(dst, '"')
		dst = append(dst, k...)
		return append(dst, '"', ':')
	}
	dst = key(dst, false, "p_log_type")
	dst = append(dst, c.logTypeJSON...)
	dst = key(dst, true, "p_row_id")
	dst = append(dst, '"')
	dst = append(dst, rowID...)
	dst = key(append(dst, '"'), true, "p_event_time")
	dst = append(dst, '"')
	dst = n.eventClock.append(dst, evTime)
	dst = key(append(dst, '"'), true, "p_parse_time")
	dst = append(dst, '"')
	dst = n.parseClock.append(dst, parse)
	dst = key(append(dst, '"'), true, "p_schema_version")
	dst = append(dst, c.versionJSON...)
	if meta.SourceID != "" {
		dst = key(dst, true, "p_source_id")
		dst = appendString(dst, []byte(meta.SourceID))
	}
	if meta.SourceLabel != "" {
		dst = key(dst, true, "p_source_label")
		dst = appendString(dst, []byte(meta.SourceLabel))
	}
	n.ind.sortDedup()
	kind := indKind(numIndKinds)
	for _, e := range n.ind.entries {
		if e.kind != kind {
			if kind != numIndKinds {
				dst = append(dst, ']')
			}
			kind = e.kind
			dst = key(dst, true, indFields[kind])
			dst = append(dst, '[')
		} else {
			dst = append(dst, ',')
		}
		dst = appendString(dst, n.ind.value(e))
	}
	if kind != numIndKinds {
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendString is jsonscan.AppendString, faster for the usual string of
// plain bytes, which is its own JSON text.
func appendString(dst, s []byte) []byte {
	if !isPlain(s) {
		return jsonscan.AppendString(dst, s)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
