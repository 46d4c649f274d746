package lake

import (
	"testing"

	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
)

// BenchmarkRow converts normalized Okta events into rows, with the
// normalizer's member offsets (indexed) and without them (scanned: every
// member's value is skipped by the scanner).
//
//	go test -run '^$' -bench Row ./internal/lake/
func BenchmarkRow(b *testing.B) {
	norm := logtypes.NewRegistry().NewNormalizer()
	var events []logtypes.Event
	var size int64
	err := gen.Okta(gen.OktaOptions{Count: 2000, Seed: 7}, func(raw []byte) error {
		ev, err := norm.Normalize("Okta.SystemLog", raw, logtypes.Meta{SourceID: "s", SourceLabel: "S"})
		if err != nil {
			return err
		}
		ev.JSON = append([]byte(nil), ev.JSON...)
		ev.Members = norm.AppendMembers(nil)
		events = append(events, ev)
		size += int64(len(ev.JSON))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	defs := tableDefs{reg: logtypes.NewRegistry()}
	rb := newRowBuilder(defs.forLogType("Okta.SystemLog"))
	for _, indexed := range []bool{true, false} {
		name := "scanned"
		if indexed {
			name = "indexed"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(size)
			for b.Loop() {
				for i := range events {
					ev := events[i]
					if !indexed {
						ev.Members = nil
					}
					rb.row(&ev)
				}
			}
		})
	}
}
