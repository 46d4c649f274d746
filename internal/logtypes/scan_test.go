package logtypes

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prowl-siem/prowl/internal/jsonscan"
)

// This file checks the fast paths of the scanner (eight bytes at a time,
// keys read as words, the hash table of fields) against plain byte-by-byte
// oracles.

// isPlainByte is the definition special and isPlain implement.
func isPlainByte(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }

// TestSpecialFirstMark puts every byte value at every position of a word,
// after plain bytes and before arbitrary ones, and checks that special
// marks exactly the first byte that is not plain.
func TestSpecialFirstMark(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for p := range 8 {
		for b := range 256 {
			for range 20 {
				var w [8]byte
				for k := range w {
					switch {
					case k < p:
						w[k] = byte(0x20 + rng.IntN(0x60))
						if !isPlainByte(w[k]) {
							w[k] = 'a'
						}
					case k == p:
						w[k] = byte(b)
					default:
						w[k] = byte(rng.IntN(256))
					}
				}
				s := special(binary.LittleEndian.Uint64(w[:]))
				first := 8
				for k, c := range w {
					if !isPlainByte(c) {
						first = k
						break
					}
				}
				got := 8
				if s != 0 {
					got = bits.TrailingZeros64(s) / 8
					if bits.TrailingZeros64(s)%8 != 7 {
						t.Fatalf("%q: mark %#x is not a high bit", w, s)
					}
				}
				if got != first {
					t.Fatalf("%q: first mark at %d, want %d", w, got, first)
				}
			}
		}
	}
}

// refStr is str without its fast path, byte by byte: the oracle of str and
// of the key scanner. It returns where scanning ended, whether there were
// escapes, and the rejection's reason and offset ("" when none).
func refStr(d []byte, i int) (end int, esc bool, reason string, off int) {
	for {
		if i >= len(d) {
			return i, esc, ReasonInvalidJSON, i
		}
		switch c := d[i]; {
		case c == '"':
			return i + 1, esc, "", 0
		case c == '\\':
			esc = true
			if i+1 >= len(d) {
				return i + 1, esc, ReasonInvalidJSON, i + 1
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) {
					return len(d), esc, ReasonInvalidJSON, len(d)
				}
				for _, h := range d[i+2 : i+6] {
					if !jsonscan.IsHexDigit(h) {
						return i, esc, ReasonInvalidJSON, i
					}
				}
				i += 6
			default:
				return i, esc, ReasonInvalidJSON, i
			}
		case c < 0x20:
			return i, esc, ReasonInvalidJSON, i
		case c >= 0x80:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size <= 1 {
				return i, esc, ReasonInvalidUTF8, i
			}
			i += size
		default:
			i++
		}
	}
}

// oddBits are the string pieces the fast paths must stop at or hand over.
var oddBits = []string{`"`, `\"`, `\\`, `\/`, `\n`, `\u00e9`, `\uD83D\uDE00`, `\u12`, `\u12G4`, `\x`, `\`,
	"\x00", "\x01", "\x1f", "\x7f", "é", "€", "😀", "\u2028", "\xff", "\x80", "\xc3", "\xed\xa0\x80", "\xf0\x9f\x98"}

// stringCases returns JSON string bodies with each odd bit at every offset
// from 0 to 24, so at every position relative to the eight-byte words,
// and plain bodies of every length up to 40.
func stringCases() []string {
	var out []string
	for n := range 41 {
		out = append(out, strings.Repeat("abcdefghij", 5)[:n]+`"`)
	}
	for _, odd := range oddBits {
		for k := range 25 {
			for _, tail := range []string{`"`, `xyz"`, `abcdefghijklmnopq"`, ""} {
				out = append(out, strings.Repeat("k", k)+odd+tail)
			}
		}
	}
	return out
}

// TestStrFastPath checks str and key against refStr for every string case,
// at every alignment and with every amount of input after the string (the
// fast paths need 8 or 16 readable bytes).
func TestStrFastPath(t *testing.T) {
	reg := testRegistry(t)
	n := reg.NewNormalizer()
	names := []string{"kkk", "abcdefgh", "abcdefg", "abcdefghijklmno", "abcdefghijklmnop", "abcdefghijklmnopq", `a"b`, "k"}
	var fields []Field
	for _, name := range names {
		fields = append(fields, Field{Name: name, Type: TypeString})
	}
	o := (&compiled{}).object(fields, false)
	// Each key is also read with each field's slot remembered as the
	// guess for its place: a guess may save a lookup, never change a key.
	guesses := []*slot{nil}
	for i := range o.table {
		if o.table[i].node != nil {
			guesses = append(guesses, &o.table[i])
		}
	}
	bodies := stringCases()
	for _, name := range names {
		bodies = append(bodies, name+`"`, name+`x"`, name[:len(name)-1]+`"`, `\u0061`+name[1:]+`"`)
	}
	for _, body := range bodies {
		for lead := range 9 {
			for _, after := range []string{"", ":", `:"v"}`, `:"value value value"}`} {
				d := []byte(strings.Repeat(" ", lead) + `"` + body + after)
				i := lead + 1
				n.data = d
				wantEnd, wantEsc, wantReason, wantOff := refStr(d, i)

				end, esc, rej := n.str(i)
				if end != wantEnd || esc != wantEsc || reasonOf(rej) != wantReason || (rej != nil && rej.Offset != wantOff) {
					t.Fatalf("str(%q, %d) = %d, %v, %v; want %d, %v, %s at %d", d, i, end, esc, rej, wantEnd, wantEsc, wantReason, wantOff)
				}

				for _, guess := range guesses {
					n.next = []*slot{guess}
					kend, key, f, rej := n.key(i, o, 0)
					if kend != wantEnd || reasonOf(rej) != wantReason || (rej != nil && rej.Offset != wantOff) {
						t.Fatalf("key(%q, %d) = %d, %v; want %d, %s at %d", d, i, kend, rej, wantEnd, wantReason, wantOff)
					}
					if rej != nil {
						break
					}
					wantKey := d[i : wantEnd-1]
					if wantEsc {
						wantKey, _ = jsonscan.AppendUnescaped(nil, wantKey)
					}
					if !bytes.Equal(key, wantKey) || f != refFind(o, wantKey) {
						t.Fatalf("key(%q, %d) with guess %v = %q, %v; want %q, %v", d, i, guess, key, f, wantKey, refFind(o, wantKey))
					}
					if g := n.next[0]; f != nil && g != guess && g.node != f {
						t.Fatalf("key(%q, %d) found %q but remembered %v", d, i, f.name, g)
					}
				}
			}
		}
	}
}

func reasonOf(rej *Rejection) string {
	if rej == nil {
		return ""
	}
	return rej.Reason
}

// refFind is cobj.find by linear search: the oracle of the hash table.
func refFind(o *cobj, k []byte) *cnode {
	for _, f := range o.fields {
		if f.name == string(k) {
			return f
		}
	}
	return nil
}

// trickyNames share prefixes, lengths, first, middle and last bytes, and
// their first 16 bytes, and differ only in case, so that they collide in
// the hash table.
var trickyNames = func() []string {
	names := []string{"", "a", "A", "b", "id", "Id", "iD", "ID", "ip", "type", "Type", "tyPe", "uuid",
		"p_x", "p_", "_", "é", "ü", "user", "users", "username", "userName", "user_name", "usernames",
		"abcdefg", "abcdefgh", "abcdefghi", "abcdefgX", "Abcdefgh", "abcdefghijklmno", "abcdefghijklmnop",
		"abcdefghijklmnopq", "abcdefghijklmnoP", "abcdefghijklmnopqr", "abcdefghijklmnopqR",
		"authenticationContext", "authenticationContexts", "authenticationProvider", "authenticationStep",
		"geographicalContext", "geographicalcontext", "Geographicalcontext",
		"requestParameters.alpha.one", "requestParameters.beta..one", "requestParameters.alpha.onf",
		"0123456789abcdef0123456789abcdef0123456789", "0123456789abcdef0123456789abcdeF0123456789"}
	for k := range 40 {
		names = append(names, strings.Repeat("x", k)+"y")
	}
	return names
}()

// TestFindTable compiles objects of tricky names, small and large, and
// checks find and key against a linear search for every name and for
// mutations of every name.
func TestFindTable(t *testing.T) {
	n := testRegistry(t).NewNormalizer()
	for _, size := range []int{0, 1, 2, 7, 8, 9, 16, 31, len(trickyNames)} {
		var fs []Field
		for _, name := range trickyNames[:size] {
			fs = append(fs, Field{Name: name, Type: TypeString})
		}
		// A duplicate keeps the first field.
		fs = append(fs, Field{Name: "id", Type: TypeInt})
		o := (&compiled{}).object(fs, false)
		var probes []string
		for _, name := range trickyNames {
			probes = append(probes, name, name+"x", "x"+name, strings.ToUpper(name))
			for k := range 20 {
				// The same words as name, zero-padded, but longer.
				probes = append(probes, name+strings.Repeat("\x00", k+1))
			}
			for p := range len(name) {
				b := []byte(name)
				b[p] ^= 0x20
				probes = append(probes, string(b), name[:p], name[:p]+name[p+1:])
			}
		}
		for _, k := range probes {
			want := refFind(o, []byte(k))
			if got := o.find([]byte(k)); got != want {
				t.Fatalf("size %d: find(%q) = %v, want %v", size, k, got, want)
			}
			if !utf8.ValidString(k) || strings.ContainsAny(k, "\"\\") || strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 }) {
				continue
			}
			for _, after := range []string{"", `:1}`, `:"a long value to read past"}`} {
				n.data = []byte(`"` + k + `"` + after)
				_, key, f, rej := n.key(1, o, -1)
				if rej != nil || string(key) != k || f != want {
					t.Fatalf("size %d: key(%q) = %q, %v, %v; want %v", size, n.data, key, f, rej, want)
				}
			}
		}
	}
}

// TestNormalizeTrickyKeys normalizes events whose keys are tricky names
// against a schema of them, typed int so that finding the wrong field, or
// none, changes the outcome.
func TestNormalizeTrickyKeys(t *testing.T) {
	var schema strings.Builder
	schema.WriteString("schema: Custom.Keys\nfields:\n")
	var valid []string
	for _, name := range trickyNames {
		if name != "" && !strings.HasPrefix(name, "p_") && !strings.ContainsAny(name, ".") {
			fmt.Fprintf(&schema, "  - name: %q\n    type: int\n", name)
			valid = append(valid, name)
		}
	}
	reg := testRegistry(t, schema.String())
	n := reg.NewNormalizer()
	for _, name := range valid {
		for _, k := range []string{name, strings.ToUpper(name), name + "_"} {
			known := slices.Contains(valid, k)
			_, err := n.Normalize("Custom.Keys", fmt.Appendf(nil, `{%q:"x"}`, k), Meta{})
			if got := err != nil; got != known {
				t.Errorf("key %q: rejected %v, want %v (%v)", k, got, known, err)
			}
		}
	}
}

// TestAppendString checks the plain fast path of appendString against
// jsonscan.AppendString.
func TestAppendString(t *testing.T) {
	for _, body := range stringCases() {
		for _, s := range []string{body, strings.TrimSuffix(body, `"`)} {
			want := jsonscan.AppendString([]byte("x"), []byte(s))
			if got := appendString([]byte("x"), []byte(s)); !bytes.Equal(got, want) {
				t.Fatalf("appendString(%q) = %q, want %q", s, got, want)
			}
		}
	}
}

// TestSortDedup checks sortDedup against slices.SortFunc and CompactFunc
// for lists of every size up to 40, with many duplicates.
func TestSortDedup(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	values := []string{"", "a", "b", "ab", "abc", "abd", "B", "10.0.0.1", "10.0.0.10", "10.0.0.2", "é", "z"}
	for n := range 41 {
		for range 20 {
			var a indicators
			for range n {
				a.add(indKind(rng.IntN(int(numIndKinds))), []byte(values[rng.IntN(len(values))]), false)
			}
			want := slices.Clone(a.entries)
			slices.SortFunc(want, a.compare)
			want = slices.CompactFunc(want, func(x, y indEntry) bool { return a.compare(x, y) == 0 })
			a.sortDedup()
			if len(a.entries) != len(want) {
				t.Fatalf("%d entries: got %d after dedup, want %d", n, len(a.entries), len(want))
			}
			for k := range want {
				if a.compare(a.entries[k], want[k]) != 0 {
					t.Fatalf("%d entries: entry %d differs", n, k)
				}
			}
		}
	}
}
