package prefilter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowl-siem/prowl/internal/pyrt"
)

// The property tests compare the Go evaluator and the Python analyser with
// Python itself: testdata/oracle.py evaluates conditions with the reference
// semantics (prowl_prefilter.evaluate) and runs rules through the real
// event object.

var (
	oKeys = []string{"eventType", "outcome", "result", "reason", "actor", "alternateId", "k", "a", "b", "n", "l", "s"}
	oStrs = []string{"x", "X", "user.session.start", "SUCCESS", "FAILURE", "true", "True", "unknown", "UNKNOWN", "", "abc", "é"}
	oNums = []string{"0", "1", "1.0", "-1", "100", "0.5", "1e2", "-0", "-0.0", "9007199254740993", "9007199254740992.0", "1e-400", "1E400"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// recase returns key with random letter cases, sometimes a JSON escape or a
// Kelvin sign for k/K.
func recase(r *rand.Rand, key string) string {
	var b strings.Builder
	for _, c := range key {
		switch x := r.IntN(20); {
		case x < 3 && c >= 'a' && c <= 'z':
			b.WriteRune(c - 32)
		case x < 5 && c >= 'A' && c <= 'Z':
			b.WriteRune(c + 32)
		case x == 5:
			fmt.Fprintf(&b, `\u%04x`, c)
		case x == 6 && (c == 'k' || c == 'K'):
			b.WriteString(`\u212a`)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func randString(r *rand.Rand) string {
	s := pick(r, oStrs)
	switch r.IntN(12) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		if s != "" {
			return fmt.Sprintf(`\u%04x`, s[0]) + s[1:]
		}
	case 2:
		return s + " " + pick(r, oStrs)
	}
	return s
}

func randValue(r *rand.Rand, depth int) string {
	switch x := r.IntN(14); {
	case x < 5:
		return `"` + randString(r) + `"`
	case x < 7:
		return pick(r, oNums)
	case x == 7:
		return pick(r, []string{"true", "false"})
	case x == 8:
		return "null"
	case x < 11 && depth < 3:
		return randObject(r, depth+1)
	case depth < 3:
		n := r.IntN(4)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = randValue(r, depth+1)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return `"` + randString(r) + `"`
}

func randObject(r *rand.Rand, depth int) string {
	n := r.IntN(5)
	if depth == 0 {
		n += 2
	}
	var parts []string
	for range n {
		key := pick(r, oKeys)
		if r.IntN(30) == 0 {
			key = "é" + key
		}
		parts = append(parts, `"`+recase(r, key)+`":`+randValue(r, depth))
		if r.IntN(8) == 0 { // the same key again, maybe re-cased
			k := key
			if r.IntN(2) == 0 {
				k = recase(r, key)
			}
			parts = append(parts, `"`+k+`":`+randValue(r, depth))
		}
	}
	ws := pick(r, []string{",", ", ", " ,\n"})
	return "{" + strings.Join(parts, ws) + "}"
}

func randPath(r *rand.Rand) []string {
	p := []string{pick(r, oKeys)}
	for len(p) < 3 && r.IntN(2) == 0 {
		p = append(p, pick(r, oKeys))
	}
	return p
}

func randLit(r *rand.Rand) json.RawMessage {
	switch r.IntN(6) {
	case 0:
		return json.RawMessage(pick(r, []string{"0", "1", "1.0", "-1", "100", "0.5", "9007199254740993", "true", "false", "null"}))
	default:
		b, _ := json.Marshal(pick(r, oStrs))
		return b
	}
}

func randCond(r *rand.Rand, depth int) Cond {
	if depth < 3 && r.IntN(3) == 0 {
		c := Cond{Op: pick(r, []string{"and", "or", "not"})}
		n := 1
		if c.Op != "not" {
			n = 2 + r.IntN(2)
		}
		for range n {
			c.Args = append(c.Args, randCond(r, depth+1))
		}
		return c
	}
	c := Cond{Path: randPath(r)}
	switch r.IntN(8) {
	case 0:
		c.Op = "type"
		for t := range classNames {
			if r.IntN(3) == 0 {
				c.Types = append(c.Types, t)
			}
		}
		return c
	case 1:
		c.Op = "eq"
	case 2:
		c.Op = "in"
		for range 1 + r.IntN(3) {
			c.Values = append(c.Values, randLit(r))
		}
	case 3:
		c.Op = pick(r, []string{"startswith", "endswith"})
		b, _ := json.Marshal(pick(r, oStrs))
		c.Value = b
	case 4:
		c.Op = "contains"
	case 5:
		c.Op = "truthy"
	default:
		c.Op = pick(r, []string{"eq", "ne"})
	}
	if c.Value == nil && c.Op != "in" && c.Op != "truthy" {
		c.Value = randLit(r)
	}
	if r.IntN(4) == 0 {
		c.Transform = pick(r, [][]string{{"lower"}, {"upper"}, {"str"}, {"str", "lower"}, {"str", "upper"}})
	}
	return c
}

func runOracle(t *testing.T, mode string, req any, out any) {
	t.Helper()
	runtime, err := filepath.Abs("../pyrt/runtime")
	if err != nil {
		t.Fatal(err)
	}
	// Read the Python sources here so that Go's test cache notices changes.
	sources, _ := filepath.Glob(filepath.Join(runtime, "*.py"))
	for _, f := range append(sources, "testdata/oracle.py") {
		if _, err := os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	in, res := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.json")
	data, _ := json.Marshal(req)
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pyrt.DefaultPython(), "-B", "testdata/oracle.py", mode, in, res)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+runtime)
	if outText, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oracle.py %s: %v\n%s", mode, err, outText)
	}
	data, err = os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}

func randEvents(r *rand.Rand, n int) []string {
	events := make([]string, n)
	for i := range events {
		events[i] = randObject(r, 0)
	}
	return events
}

// TestEvaluatorMatchesPython: on random conditions and random events full
// of case variants, repeated keys, escapes, numbers and nesting, the Go
// evaluator answers exactly as the Python reference or "unknown".
func TestEvaluatorMatchesPython(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 1))
	events := randEvents(r, 400)
	conds := make([]Cond, 300)
	for i := range conds {
		conds[i] = randCond(r, 0)
	}
	var want []string
	runOracle(t, "eval", map[string]any{"conds": conds, "events": events}, &want)
	var decided, unknown, wrong int
	for i, c := range conds {
		s := Build(map[int]Cond{0: c})
		root := s.compile(c)
		sc := s.scratch.Get().(*scratch)
		for j, ev := range events {
			sc.reset([]byte(ev), nil)
			got := sc.eval(root)
			// The same event compacted, with its top-level key offsets (as
			// normalized events carry them), gets the same answer.
			var compacted bytes.Buffer
			if err := json.Compact(&compacted, []byte(ev)); err != nil {
				t.Fatal(err)
			}
			sc.reset(compacted.Bytes(), topKeys(t, compacted.Bytes()))
			if again := sc.eval(root); again != got {
				cj, _ := json.Marshal(c)
				t.Errorf("cond %s\non %s: %v, with member offsets %v", cj, compacted.Bytes(), got, again)
			}
			if got == unk {
				unknown++
				continue
			}
			decided++
			if (got == tru) != (want[i][j] == '1') {
				wrong++
				if wrong <= 10 {
					cj, _ := json.Marshal(c)
					t.Errorf("cond %s\non %s\nGo says %v, Python %c", cj, ev, got == tru, want[i][j])
				}
			}
		}
	}
	t.Logf("%d decisions agree with Python, %d unknown (%.1f%%)", decided-wrong, unknown, 100*float64(unknown)/float64(decided+unknown))
	if unknown*5 > decided {
		t.Errorf("too many unknowns: %d of %d", unknown, decided+unknown)
	}
}

type oracleRule struct {
	File     string          `json:"file"`
	Source   string          `json:"source"`
	Cond     json.RawMessage `json:"cond"`
	Verdicts string          `json:"verdicts"`
}

// TestAnalyserSoundOnRandomRules: random rules built from the constructs the
// analyser knows (and some it does not), run on random events by Python:
// wherever rule() returns anything but False, the Go evaluation of its
// prefilter must not be false.
func TestAnalyserSoundOnRandomRules(t *testing.T) {
	count := 600
	if testing.Short() {
		count = 150
	}
	r := rand.New(rand.NewPCG(7, 2))
	events := randEvents(r, 300)
	var rules []oracleRule
	runOracle(t, "rules", map[string]any{"seed": 11, "count": count, "dir": t.TempDir(), "events": events}, &rules)
	checkSound(t, rules, events)
}

func checkSound(t *testing.T, rules []oracleRule, events []string) {
	t.Helper()
	var filtered, falses, constrained int
	for _, rule := range rules {
		c, err := Parse(rule.Cond)
		if err != nil {
			t.Fatal(err)
		}
		if !c.IsTrue() {
			constrained++
		}
		s := Build(map[int]Cond{0: c})
		bad := 0
		for j, ev := range events {
			pass := s.Eval(0, []byte(ev))
			if rule.Verdicts[j] == 'F' {
				falses++
				if !pass {
					filtered++
				}
			} else if !pass {
				bad++
				if bad == 1 {
					t.Errorf("UNSOUND: %s drops an event the rule does not reject\nevent %s\nprefilter %s\n%s", rule.File, ev, c, rule.Source)
				}
			}
		}
	}
	t.Logf("%d rules (%d with a prefilter); prefilters dropped %d of %d events the rules reject (%.0f%%)",
		len(rules), constrained, filtered, falses, 100*float64(filtered)/float64(max(falses, 1)))
}
