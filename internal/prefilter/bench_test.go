package prefilter

import (
	"testing"

	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
)

// packConds are prefilters shaped like the bundled Okta pack's.
var packConds = []string{
	`{"op":"in","path":["eventType"],"values":["user.account.lock","user.account.lock.limit"]}`,
	`{"op":"eq","path":["eventType"],"value":"user.session.access_admin_app"}`,
	`{"op":"and","args":[{"op":"eq","path":["eventType"],"value":"group.privilege.grant"},{"op":"eq","path":["outcome","result"],"value":"SUCCESS"}]}`,
	`{"op":"and","args":[{"op":"eq","path":["eventType"],"value":"user.session.start"},{"op":"eq","path":["outcome","result"],"value":"FAILURE"},{"op":"truthy","path":["client","ipAddress"]}]}`,
	`{"op":"and","args":[{"op":"eq","path":["eventType"],"value":"user.session.start"},{"op":"eq","path":["outcome","result"],"value":"SUCCESS"}]}`,
	`{"op":"and","args":[{"op":"eq","path":["eventType"],"value":"user.session.start"},{"op":"eq","path":["outcome","result"],"value":"SUCCESS"},{"op":"eq","path":["debugContext","debugData","threatSuspected"],"value":"true","transform":["str","lower"]}]}`,
	`{"op":"and","args":[{"op":"eq","path":["eventType"],"value":"user.authentication.auth_via_mfa"},{"op":"eq","path":["outcome","result"],"value":"FAILURE"}]}`,
	`{"op":"eq","path":["eventType"],"value":"security.threat.detected"}`,
}

// BenchmarkCandidates measures the Go side alone on generated Okta events:
// 28 rules shaped like the Okta pack's, on the bare normalized JSON
// (scan=full) and with the normalizer's offsets of the top-level keys
// (scan=members, what the engine gets).
func BenchmarkCandidates(b *testing.B) {
	norm := logtypes.NewRegistry().NewNormalizer()
	var events []logtypes.Event
	gen.Okta(gen.OktaOptions{Count: 5000, Seed: 3, Attacks: []string{"brute_force", "mfa_fatigue"}}, func(raw []byte) error {
		ev, err := norm.Normalize("Okta.SystemLog", raw, logtypes.Meta{})
		if err == nil {
			ev.Members = norm.AppendMembers(nil)
			events = append(events, ev)
		}
		return nil
	})
	conds := map[int]Cond{}
	var rules []int
	for i := range 28 {
		conds[i] = mustParse(b, packConds[i%len(packConds)])
		rules = append(rules, i)
	}
	s := Build(conds)
	var bytes int64
	for _, e := range events {
		bytes += int64(len(e.JSON))
	}
	for _, withMembers := range []bool{false, true} {
		name := "scan=full"
		if withMembers {
			name = "scan=members"
		}
		b.Run(name, func(b *testing.B) {
			var dst []int
			b.SetBytes(bytes / int64(len(events)))
			i := 0
			for b.Loop() {
				ev := &events[i%len(events)]
				var members []uint32
				if withMembers {
					members = ev.Members
				}
				dst = s.Candidates(ev.JSON, members, rules, dst[:0])
				i++
			}
		})
	}
}
