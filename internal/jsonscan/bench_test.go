package jsonscan_test

import (
	"testing"

	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/jsonscan"
)

// BenchmarkSkip skips generated Okta events whole (SkipValue) and walks
// their top-level members (EachMember, skipping every value).
//
//	go test -run '^$' -bench Skip ./internal/jsonscan/
func BenchmarkSkip(b *testing.B) {
	var events [][]byte
	var size int64
	if err := gen.Okta(gen.OktaOptions{Count: 500, Seed: 7}, func(raw []byte) error {
		events = append(events, append([]byte(nil), raw...))
		size += int64(len(raw))
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.Run("SkipValue", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			for _, ev := range events {
				if jsonscan.SkipValue(ev, 0) != len(ev) {
					b.Fatalf("SkipValue(%s)", ev)
				}
			}
		}
	})
	b.Run("EachMember", func(b *testing.B) {
		b.SetBytes(size)
		n := 0
		for b.Loop() {
			for _, ev := range events {
				if !jsonscan.EachMember(ev, func(k, v []byte) bool { n++; return true }) {
					b.Fatalf("EachMember(%s)", ev)
				}
			}
		}
	})
}
