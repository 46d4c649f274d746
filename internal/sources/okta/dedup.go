package okta

// recent is a bounded set of the most recently delivered event uuids. When
// full, the oldest uuid is forgotten first. Its contents are persisted in
// the checkpoint, so duplicates are caught across restarts too.
type recent struct {
	max  int
	ring []string // insertion order, oldest first from head
	head int
	set  map[string]struct{}
}

func newRecent(max int, initial []string) *recent {
	r := &recent{max: max, set: make(map[string]struct{}, max)}
	for _, u := range initial {
		r.add(u)
	}
	return r
}

func (r *recent) has(uuid string) bool {
	_, ok := r.set[uuid]
	return ok
}

func (r *recent) add(uuid string) {
	if r.max <= 0 || uuid == "" || r.has(uuid) {
		return
	}
	if len(r.ring) < r.max {
		r.ring = append(r.ring, uuid)
	} else {
		delete(r.set, r.ring[r.head])
		r.ring[r.head] = uuid
		r.head = (r.head + 1) % r.max
	}
	r.set[uuid] = struct{}{}
}

// list returns the uuids oldest first.
func (r *recent) list() []string {
	out := make([]string, 0, len(r.ring))
	out = append(out, r.ring[r.head:]...)
	return append(out, r.ring[:r.head]...)
}
