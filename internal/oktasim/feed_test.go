package oktasim

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/gen"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func TestFeedLateEvents(t *testing.T) {
	s := New(Options{RateLimit: -1})
	opts := gen.OktaOptions{Count: 1000, Seed: 4}
	err := s.Feed(context.Background(), func(emit func([]byte) error) error { return gen.Okta(opts, emit) },
		FeedOptions{Late: 0.05, LateBy: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1000 {
		t.Fatalf("Len %d", s.Len())
	}
	late := 0
	var newest int64
	for _, r := range s.byPersisted {
		if r.published < newest {
			late++
		}
		newest = max(newest, r.published)
	}
	if late < 40 {
		t.Fatalf("only %d late events", late)
	}
}

func TestFeedRealtime(t *testing.T) {
	s := New(Options{RateLimit: -1})
	start := time.Now().Add(50 * time.Millisecond).Truncate(time.Millisecond)
	produce := func(emit func([]byte) error) error {
		for i := range 20 {
			if err := emit(event(uuidN(i), start.Add(time.Duration(i)*5*time.Millisecond), "user.session.start")); err != nil {
				return err
			}
		}
		return nil
	}
	added := 0
	err := s.Feed(context.Background(), produce, FeedOptions{Realtime: true, OnAdd: func(ev []byte) {
		var head struct{ Published string }
		json.Unmarshal(ev, &head)
		pub, _ := parseTime(head.Published)
		if time.Now().Before(pub) {
			t.Errorf("event %d added before its published time", added)
		}
		added++
	}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 20 || added != 20 {
		t.Fatalf("Len %d, added %d", s.Len(), added)
	}
	if elapsed := time.Since(start); elapsed < 95*time.Millisecond {
		t.Fatalf("feed finished after %v, before the last event was due", elapsed)
	}
	// Cancellation stops a feed that is waiting.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	opts := gen.OktaOptions{Count: 20, Seed: 4, Start: time.Now().Add(time.Hour)}
	err = s.Feed(ctx, func(emit func([]byte) error) error { return gen.Okta(opts, emit) }, FeedOptions{Realtime: true})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
}
