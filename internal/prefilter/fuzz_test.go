package prefilter

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// FuzzEvaluate: the evaluator never panics on any text and condition, and
// answers the same for the same JSON laid out differently (indented).
func FuzzEvaluate(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		c, _ := json.Marshal(randCond(r, 0))
		f.Add(randObject(r, 0), string(c))
	}
	f.Add(`{"a":"\ud800","A":{"b":[1,{"c":null}]}}`, `{"op":"contains","path":["a"],"value":"x"}`)
	f.Add(`{"k":1e999,"K":-0}`, `{"op":"eq","path":["k"],"value":1}`)
	f.Fuzz(func(t *testing.T, event, cond string) {
		c, err := Parse([]byte(cond))
		if err != nil {
			return
		}
		s := Build(map[int]Cond{0: c})
		root := s.compile(c)
		sc := s.scratch.Get().(*scratch)
		defer s.scratch.Put(sc)
		sc.reset([]byte(event), nil)
		got := sc.eval(root)
		s.Candidates([]byte(event), nil, []int{0, 1}, nil)
		if !json.Valid([]byte(event)) {
			return
		}
		var indented bytes.Buffer
		if json.Indent(&indented, []byte(event), "", "\t ") != nil {
			return
		}
		sc.reset(indented.Bytes(), nil)
		if again := sc.eval(root); again != got {
			t.Fatalf("%s on %s: %v, indented %v", cond, event, got, again)
		}
		// Compact, with the offsets of the top-level keys: the same answer.
		var compacted bytes.Buffer
		if json.Compact(&compacted, []byte(event)) != nil || !bytes.HasPrefix(compacted.Bytes(), []byte("{")) {
			return
		}
		ev := compacted.Bytes()
		sc.reset(ev, topKeys(t, ev))
		if again := sc.eval(root); again != got {
			t.Fatalf("%s on %s: %v, with member offsets %v", cond, ev, got, again)
		}
		// Go lookup decides less, never differently.
		g := BuildGo(map[int]Cond{0: c})
		gsc := g.scratch.Get().(*scratch)
		defer g.scratch.Put(gsc)
		gsc.reset(ev, nil)
		if gv := gsc.eval(g.compile(c)); gv != got && gv != unk {
			t.Fatalf("%s on %s: %v, with Go lookup %v", cond, ev, got, gv)
		}
	})
}
