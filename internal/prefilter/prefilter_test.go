package prefilter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func mustParse(t testing.TB, s string) Cond {
	t.Helper()
	c, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// decide evaluates one condition on one event: "T", "F" or "?".
func decide(t testing.TB, cond, event string) string { return decideWith(t, Build, cond, event) }

func decideWith(t testing.TB, build func(map[int]Cond) *Set, cond, event string) string {
	t.Helper()
	c := mustParse(t, cond)
	s := build(map[int]Cond{0: c})
	root := s.compile(c)
	sc := s.scratch.Get().(*scratch)
	defer s.scratch.Put(sc)
	sc.reset([]byte(event), nil)
	return [...]string{"F", "T", "?"}[sc.eval(root)]
}

// TestGoKeyLookup: a Set for Go-evaluated detections decides a path only
// by its exact key, or when no other key could fold to it.
func TestGoKeyLookup(t *testing.T) {
	eq := `{"op":"eq","path":["eventType"],"value":"x"}`
	nested := `{"op":"eq","path":["a","b"],"value":"x"}`
	for _, tc := range []struct{ cond, event, want string }{
		{eq, `{"eventType":"x"}`, "T"},
		{eq, `{"eventType":"y"}`, "F"},
		{eq, `{"other":"x"}`, "F"},                     // missing, no key could fold to it
		{eq, `{"EventType":"x"}`, "?"},                 // Go picks among folded keys its own way
		{eq, `{"EventType":"y","eventType":"x"}`, "T"}, // the exact key decides
		{eq, `{"eventType":"y","eventType":"x"}`, "T"}, // repeated key: last value, as encoding/json
		{eq, `{"évent":"q","other":"x"}`, "?"},         // a non-ASCII key might fold to an ASCII one
		{eq, `{"évent":"q","eventType":"x"}`, "T"},     //
		{nested, `{"a":{"B":"x"}}`, "?"},               //
		{nested, `{"a":{"b":"x","c":1}}`, "T"},         //
		{nested, `{"A":{"b":"x"}}`, "?"},               //
		{nested, `{"a":["b"]}`, "F"},                   //
	} {
		if got := decideWith(t, BuildGo, tc.cond, tc.event); got != tc.want {
			t.Errorf("%s on %s: got %s, want %s", tc.cond, tc.event, got, tc.want)
		}
	}
}

func TestKeyLookupSemantics(t *testing.T) {
	eq := func(path, value string) string {
		return fmt.Sprintf(`{"op":"eq","path":%s,"value":%s}`, path, value)
	}
	for _, tc := range []struct{ cond, event, want string }{
		{eq(`["eventType"]`, `"x"`), `{"eventType":"x"}`, "T"},
		{eq(`["eventType"]`, `"x"`), `{"EventType":"x"}`, "T"},                       // case-insensitive
		{eq(`["eventType"]`, `"x"`), `{"EVENTTYPE":"y","eventtype":"x"}`, "F"},       // first key in document order wins
		{eq(`["eventType"]`, `"x"`), `{"EVENTTYPE":"y","eventType":"x"}`, "T"},       // exact key first
		{eq(`["eventType"]`, `"x"`), `{"eventType":"y","eventType":"x"}`, "T"},       // repeated key: last value
		{eq(`["eventType"]`, `"x"`), `{"EventType":"x","a":1,"EventType":"y"}`, "F"}, // the winning key's last value
		{eq(`["eventType"]`, `"x"`), `{"EventType":"y","eventTYPE":"x","EventType":"z"}`, "F"},
		{eq(`["eventType"]`, `"x"`), `{"\u0065ventType":"x"}`, "T"},        // escaped key
		{eq(`["eventType"]`, `"x"`), `{"évent":"q","EventType":"x"}`, "T"}, // non-ASCII keys cannot fold to ASCII...
		{eq(`["k"]`, `"x"`), `{"\u212a":"q","K":"x"}`, "F"},                // ... but for the Kelvin sign
		{eq(`["kk"]`, `"x"`), `{"\u212aK":"x"}`, "T"},
		{eq(`["eventType"]`, `"x"`), `{"\udc00":"q","EventType":"x"}`, "?"}, // undecodable key first
		{eq(`["eventType"]`, `"x"`), `{"EventType":"x","évent":"q"}`, "T"},
		{eq(`["eventType"]`, `"x"`), `{"évent":"q","eventType":"x"}`, "T"},           // exact wins regardless
		{eq(`["eventType"]`, `"x"`), `{"eventType":"\u0078"}`, "T"},                  // escaped value
		{eq(`["eventType"]`, `"x"`), `{"eventType":"\ud800"}`, "?"},                  // lone surrogate
		{eq(`["a","b"]`, `"x"`), `{"A":{"B":"x"}}`, "T"},                             // nested
		{eq(`["a","b"]`, `"x"`), `{"a":["b"]}`, "F"},                                 // through a non-object: missing
		{`{"op":"type","path":["a","b"],"types":["missing"]}`, `{"a":"s"}`, "T"},     //
		{`{"op":"type","path":["a","b"],"types":["null"]}`, `{"a":{"b":null}}`, "T"}, //
		{`{"op":"type","path":["a","b"],"types":["missing"]}`, `{"a":null}`, "T"},    //
		{eq(`["n"]`, `1`), `{"n":1.0}`, "T"},                                         // 1 == 1.0
		{eq(`["n"]`, `1`), `{"n":true}`, "T"},                                        // True == 1
		{eq(`["n"]`, `true`), `{"n":1}`, "T"},                                        //
		{eq(`["n"]`, `1`), `{"n":"1"}`, "F"},                                         // "1" != 1
		{eq(`["n"]`, `"1"`), `{"n":1}`, "F"},                                         //
		{eq(`["n"]`, `9007199254740993`), `{"n":9007199254740992.0}`, "F"},           // exact int/float
		{eq(`["n"]`, `9007199254740992`), `{"n":9007199254740992.0}`, "T"},           //
		{eq(`["n"]`, `0.1`), `{"n":0.10000000000000001}`, "T"},                       // same float
		{eq(`["n"]`, `100`), `{"n":1e2}`, "T"},                                       //
		{eq(`["n"]`, `0`), `{"n":-0.0}`, "T"},                                        //
		{`{"op":"truthy","path":["n"]}`, `{"n":1e-400}`, "F"},                        // underflows to 0.0
		{`{"op":"truthy","path":["n"]}`, `{"n":[]}`, "F"},                            //
		{`{"op":"truthy","path":["n"]}`, `{"n":[0]}`, "T"},                           //
		{`{"op":"truthy","path":["n"]}`, `{"n":""}`, "F"},                            //
		{`{"op":"truthy","path":["n"]}`, `{"n":"0"}`, "T"},                           //
		{`{"op":"contains","path":["l"],"value":"b"}`, `{"l":["a","b"]}`, "T"},       // list member
		{`{"op":"contains","path":["l"],"value":"b"}`, `{"l":"abc"}`, "T"},           // substring
		{`{"op":"contains","path":["l"],"value":"b"}`, `{"l":{"B":1}}`, "T"},         // object key, case-insensitive
		{`{"op":"contains","path":["l"],"value":null}`, `{"l":[1,null]}`, "T"},       //
		{`{"op":"contains","path":["l"],"value":1}`, `{"l":[true]}`, "T"},            //
		{`{"op":"eq","path":["s"],"value":"abc","transform":["lower"]}`, `{"s":"AbC"}`, "T"},
		{`{"op":"eq","path":["s"],"value":"ABC","transform":["lower"]}`, `{"s":"AbC"}`, "F"},
		{`{"op":"eq","path":["s"],"value":"abc","transform":["lower"]}`, `{"s":"ÀbC"}`, "?"},
		{`{"op":"eq","path":["s"],"value":"true","transform":["str","lower"]}`, `{"s":true}`, "T"},
		{`{"op":"eq","path":["s"],"value":"1","transform":["str"]}`, `{"s":1}`, "?"},
		{`{"op":"startswith","path":["s"],"value":"ab"}`, `{"s":"abc"}`, "T"},
		{`{"op":"endswith","path":["s"],"value":"BC","transform":["upper"]}`, `{"s":"abc"}`, "T"},
		{`{"op":"not","args":[` + eq(`["k"]`, `"v"`) + `]}`, `{}`, "T"}, // ne is true when missing
		{`{"op":"ne","path":["k"],"value":"v"}`, `{"k":null}`, "T"},     //
		{`{"op":"bogus"}`, `{}`, "?"},                                   // unknown op: the rule runs
		{eq(`["k"]`, `"v"`), `{"k":"v"`, "?"},                           // malformed
		{eq(`["k"]`, `"v"`), `[1]`, "?"},                                // not an object
	} {
		if got := decide(t, tc.cond, tc.event); got != tc.want {
			t.Errorf("%s on %s = %s, want %s", tc.cond, tc.event, got, tc.want)
		}
	}
}

// TestNestedObjectsReadOnce: the children of an object below the event
// object are resolved while its parent is scanned (scanObject); the
// answers must be those of the lookup's last exact member, whatever came
// before it, in either order of evaluation, with or without member offsets.
func TestNestedObjectsReadOnce(t *testing.T) {
	c := `{"op":"eq","path":["a","b","c"],"value":"x"}`
	str := `{"op":"type","path":["a","b"],"types":["string"]}`
	for _, tc := range []struct {
		event        string
		want, wantGo string // of c, with Build and BuildGo
		isStr        bool   // a.b is a string
	}{
		{`{"a":{"b":{"c":"x"}}}`, "T", "T", false},
		{`{"a":{"b":{"c":"x"},"b":{"c":"y"}}}`, "F", "F", false}, // the last member wins
		{`{"a":{"b":{"c":"y"},"b":{"c":"x"}}}`, "T", "T", false},
		{`{"a":{"b":{"c":"x"},"b":{"d":1}}}`, "F", "F", false}, // missing in the last
		{`{"a":{"b":{"c":"x"},"b":"s"}}`, "F", "F", true},      // the last is no object
		{`{"a":{"b":{"c":"x"},"b":null}}`, "F", "F", false},
		{`{"a":{"b":{"c":"x"},"B":{"c":"y"}}}`, "T", "T", false}, // the exact key wins
		{`{"a":{"B":{"c":"x"},"b":{"c":"y"}}}`, "F", "F", false},
		{`{"a":{"B":{"c":"x"}}}`, "T", "?", false},                     // a folded key
		{`{"a":{"b":{"c":"x"}},"a":{"b":{"c":"y"}}}`, "F", "F", false}, // the last event member
		{`{"a":{"b":{"c":"x"},"b":{"c" "x"}}}`, "?", "?", false},       // malformed inside the last
		{`{"a":{"b":{"c" "x"},"b":{"c":"x"}}}`, "T", "T", false},       // ... inside an earlier one
		{`{"a":{"b":{"c":"x"},}}`, "?", "?", false},                    // malformed around it
	} {
		for _, b := range []struct {
			build func(map[int]Cond) *Set
			want  string
		}{{Build, tc.want}, {BuildGo, tc.wantGo}} {
			either := b.want // of c or str, in both orders
			if tc.isStr {
				either = "T"
			}
			for _, k := range []struct{ cond, want string }{
				{c, b.want},
				{`{"op":"or","args":[` + c + `,` + str + `]}`, either},
				{`{"op":"or","args":[` + str + `,` + c + `]}`, either},
			} {
				if got := decideWith(t, b.build, k.cond, tc.event); got != k.want {
					t.Errorf("%s on %s: %s, want %s", k.cond, tc.event, got, k.want)
				}
				ev := []byte(tc.event)
				if !json.Valid(ev) {
					continue
				}
				s := b.build(map[int]Cond{0: mustParse(t, k.cond)})
				if got := len(s.Candidates(ev, topKeys(t, ev), []int{0}, nil)) == 1; got != (k.want != "F") {
					t.Errorf("%s on %s with member offsets: admitted %v, want %s", k.cond, tc.event, got, k.want)
				}
			}
		}
	}
}

func TestCandidatesIndex(t *testing.T) {
	conds := map[int]Cond{
		0: mustParse(t, `{"op":"eq","path":["eventType"],"value":"a"}`),
		1: mustParse(t, `{"op":"and","args":[{"op":"in","path":["eventType"],"values":["a","b"]},{"op":"eq","path":["outcome","result"],"value":"SUCCESS"}]}`),
		2: mustParse(t, `{"op":"or","args":[{"op":"eq","path":["eventType"],"value":"c"},{"op":"and","args":[{"op":"eq","path":["eventType"],"value":"d"},{"op":"truthy","path":["x"]}]}]}`),
		3: True,
		4: mustParse(t, `{"op":"eq","path":["other"],"value":"z"}`),
	}
	s := Build(conds)
	for r := range 3 {
		if p, ok := s.Indexed(r); !ok || len(p) != 1 || p[0] != "eventType" {
			t.Errorf("rule %d should be indexed by eventType: %v %v", r, p, ok)
		}
	}
	all := []int{0, 1, 2, 3, 4, 9}
	for _, tc := range []struct {
		event string
		want  string
	}{
		{`{"eventType":"a","outcome":{"result":"SUCCESS"}}`, "[0 1 3 9]"},
		{`{"eventType":"a","outcome":{"result":"FAILURE"}}`, "[0 3 9]"},
		{`{"eventType":"b","OUTCOME":{"Result":"SUCCESS"}}`, "[1 3 9]"},
		{`{"eventType":"d","x":1}`, "[2 3 9]"},
		{`{"eventType":"d","x":0}`, "[3 9]"},
		{`{"eventType":"z","other":"z"}`, "[3 4 9]"},
		{`{"eventType":5}`, "[3 9]"},
		{`{"\ud800":1,"EventType":"a"}`, "[0 1 2 3 4 9]"}, // undecidable lookup: every indexed rule runs
	} {
		if got := fmt.Sprint(s.Candidates([]byte(tc.event), nil, all, nil)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.event, got, tc.want)
		}
	}
}

// TestSkipValue: value boundaries are found exactly, whatever the strings
// hold (brackets, escaped quotes, backslash runs) and however long they are.
func TestSkipValue(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{`{`, `}`, `[`, `]`, `\"`, `\\`, `\\\"`, `,`, `:`, `a`, `é`, `\u005c`, strings.Repeat("x", 9)}
	str := func() string {
		var b strings.Builder
		b.WriteByte('"')
		for range r.IntN(12) {
			b.WriteString(pick(r, pieces))
		}
		b.WriteByte('"')
		return b.String()
	}
	var value func(depth int) string
	value = func(depth int) string {
		switch r.IntN(5) {
		case 0, 1:
			return str()
		case 2:
			return pick(r, []string{"1", "-2.5e3", "true", "null"})
		case 3:
			if depth < 4 {
				var parts []string
				for range r.IntN(4) {
					parts = append(parts, str()+": "+value(depth+1))
				}
				return "{" + strings.Join(parts, ", ") + "}"
			}
		}
		if depth < 4 {
			var parts []string
			for range r.IntN(4) {
				parts = append(parts, value(depth+1))
			}
			return "[" + strings.Join(parts, ",") + "]"
		}
		return str()
	}
	for range 20000 {
		v := value(0)
		if !json.Valid([]byte(v)) {
			t.Fatalf("generator made invalid JSON: %s", v)
		}
		d := []byte(v + ` ,"tail"`)
		if got := skipValue(d, 0); got != len(v) {
			t.Fatalf("skipValue(%s) = %d, want %d", v, got, len(v))
		}
	}
}

// topKeys is what logtypes.Event.Members holds for a compact event: the
// offsets of its top-level keys.
func topKeys(t testing.TB, event []byte) []uint32 {
	t.Helper()
	offs := []uint32{}
	if !members(event, 0, func(m member) bool { offs = append(offs, uint32(m.keyS)); return true }) {
		t.Fatalf("not an object: %s", event)
	}
	return offs
}

// TestShapeCache: events that share their top-level keys reuse the lookups
// of the previous one; every answer must equal a fresh scan's, including
// for events whose keys differ only in case, order or count.
func TestShapeCache(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	keys := []string{"eventType", "EventType", "outcome", "a", "b", `\u0061`, "é"}
	conds := []string{
		`{"op":"eq","path":["eventType"],"value":"x"}`,
		`{"op":"eq","path":["outcome","result"],"value":"x"}`,
		`{"op":"or","args":[{"op":"eq","path":["a"],"value":"x"},{"op":"truthy","path":["b"]}]}`,
		`{"op":"type","path":["a"],"types":["missing"]}`,
	}
	values := []string{`"x"`, `"y"`, `{"result":"x"}`, `{"result":"y","Result":"x"}`, `null`, `1`, `["x"]`, `""`}
	for _, build := range []func(map[int]Cond) *Set{Build, BuildGo} {
		for _, cs := range conds {
			c := mustParse(t, cs)
			s := build(map[int]Cond{0: c})
			root := s.compile(c)
			cached := s.scratch.Get().(*scratch)
			fresh := s.scratch.Get().(*scratch)
			var shapeKeys []string
			for i := range 400 {
				if i%20 == 0 || r.IntN(10) == 0 { // a new shape, or a one-off variant
					shapeKeys = shapeKeys[:0]
					for range r.IntN(4) + 1 {
						shapeKeys = append(shapeKeys, keys[r.IntN(len(keys))])
					}
				}
				var parts []string
				for _, k := range shapeKeys {
					parts = append(parts, `"`+k+`":`+values[r.IntN(len(values))])
				}
				ev := []byte("{" + strings.Join(parts, ",") + "}")
				cached.reset(ev, topKeys(t, ev))
				got := cached.eval(root)
				fresh.reset(ev, nil)
				if want := fresh.eval(root); got != want {
					t.Fatalf("%s on %s: %v after earlier events, %v scanned", cs, ev, got, want)
				}
			}
		}
	}
}

// TestKeyWordComparesEveryByte checks the shape cache's key comparison:
// for key texts of every length up to 40 it must accept the text itself
// and refuse it with any one byte changed, at any position and with any
// bytes around it.
func TestKeyWordComparesEveryByte(t *testing.T) {
	for n := 0; n <= 40; n++ {
		text := make([]byte, n)
		for i := range text {
			text[i] = byte('a' + i%26)
		}
		w := newKeyWord(text)
		for _, pad := range []int{0, 3} {
			d := append(append(bytes.Repeat([]byte{'x'}, pad), text...), ",{}"...)
			if w.diff(d, pad, text) != 0 {
				t.Fatalf("length %d, at %d: the text itself was refused", n, pad)
			}
			for i := range n {
				d[pad+i] ^= 0x20
				if w.diff(d, pad, text) == 0 {
					t.Errorf("length %d, at %d: a change at byte %d was not seen", n, pad, i)
				}
				d[pad+i] ^= 0x20
			}
		}
	}
}
