package oktasim

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// FeedOptions tunes Feed.
type FeedOptions struct {
	// Realtime adds each event when the server's clock reaches its
	// published time (events already in the past are added at once), so
	// a generator with Start near now produces a live log. Without it,
	// events are added as fast as they come. Waiting uses real timers.
	Realtime bool
	// Late is the share of events (0 to 1, spread evenly) committed late:
	// held back LateBy after their published time while newer events are
	// persisted, which is how Okta's eventual consistency shows in
	// polling results.
	Late float64
	// LateBy is the commit delay of late events (default 5s).
	LateBy time.Duration
	// OnAdd, when set, is called after every event added.
	OnAdd func(event []byte)
}

type heldEvent struct {
	due   time.Time
	event []byte
}

// Feed adds the events produce emits until it returns or ctx is done. A
// typical produce runs a generator:
//
//	s.Feed(ctx, func(emit func([]byte) error) error { return gen.Okta(opts, emit) }, oktasim.FeedOptions{Realtime: true})
//
// Events that fail to parse end the feed with an error.
func (s *Server) Feed(ctx context.Context, produce func(emit func(event []byte) error) error, opts FeedOptions) error {
	if opts.LateBy <= 0 {
		opts.LateBy = 5 * time.Second
	}
	var held []heldEvent
	share := 0.0
	add := func(ev []byte) error {
		if err := s.Add(ev); err != nil {
			return err
		}
		if opts.OnAdd != nil {
			opts.OnAdd(ev)
		}
		return nil
	}
	// flush adds the held events due by t.
	flush := func(t time.Time) error {
		for len(held) > 0 && !held[0].due.After(t) {
			ev := held[0].event
			held = held[1:]
			if err := add(ev); err != nil {
				return err
			}
		}
		return nil
	}
	// waitUntil sleeps until the clock reaches t, committing late events
	// that fall due meanwhile.
	waitUntil := func(t time.Time) error {
		for {
			if err := flush(s.opts.Now()); err != nil {
				return err
			}
			now := s.opts.Now()
			if !t.After(now) {
				return nil
			}
			next := t
			if len(held) > 0 && held[0].due.Before(next) {
				next = held[0].due
			}
			timer := time.NewTimer(next.Sub(now))
			select {
			case <-ctx.Done():
				timer.Stop()
				return ctx.Err()
			case <-timer.C:
			}
		}
	}
	emit := func(ev []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		var head struct {
			Published string `json:"published"`
		}
		if err := json.Unmarshal(ev, &head); err != nil {
			return fmt.Errorf("oktasim: feed: %v", err)
		}
		pub, err := parseTime(head.Published)
		if err != nil {
			return fmt.Errorf("oktasim: feed: bad published %q", head.Published)
		}
		if opts.Realtime {
			if err := waitUntil(pub); err != nil {
				return err
			}
		} else if err := flush(pub); err != nil {
			return err
		}
		ev = append([]byte(nil), ev...)
		if share += opts.Late; share >= 1 {
			share--
			held = append(held, heldEvent{due: pub.Add(opts.LateBy), event: ev})
			sort.SliceStable(held, func(i, j int) bool { return held[i].due.Before(held[j].due) })
			return nil
		}
		return add(ev)
	}
	err := produce(emit)
	if err == nil && len(held) > 0 {
		if opts.Realtime {
			err = waitUntil(held[len(held)-1].due)
		}
		if err == nil {
			err = flush(held[len(held)-1].due)
		}
	}
	return err
}
