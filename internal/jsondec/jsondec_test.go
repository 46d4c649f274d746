package jsondec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
)

// reference decodes data as the engine did before: encoding/json with
// UseNumber, requiring one object and nothing after it.
func reference(data []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	rest := data[dec.InputOffset():]
	return m, len(bytes.TrimLeft(rest, " \t\r\n")) == 0
}

var seeds = []string{
	`{}`, ` { "a" : [ 1 , -2.5e+3 , true , false , null , "x" , { } , [ ] ] } `,
	`{"a":1,"a":{"b":2}}`, `{"k":"\u00e9\ud83d\ude00\n\"\\\/\b\f\r\t"}`,
	`{"lone":"\ud800","low":"\udc00x","pair-broken":"\ud800\u0041","high-high":"\ud800\ud800"}`,
	"{\"bad\":\"\xff\xfeok\xe2\x82\"}", "{\"\xff\":1}", `{"n":0,"m":-0,"big":123456789012345678901234567890,"e":1E5}`,
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":tru}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}",
	`{"k":{"x":1,"y":2},"K":3,"\u212a":{"X":[1],"z":{}}}`, `{"Actor":{"alternateID":"a","id":"b"},"client":{"geographicalContext":{"country":"x","city":"y"}}}`,
	`{"a":1,}`, `{"a" 1}`, `[1]`, `"s"`, `null`, `{"a":1} x`, `{"a":1}{}`, `{"a":[1,]}`, `{"a":"`, `{`, ``,
}

// check compares Decode with encoding/json, and DecodeSelected (with
// offs, which may be nil) with what testSelection picks of the same.
func check(t *testing.T, data []byte, offs []uint32) {
	t.Helper()
	want, wantOK := reference(data)
	got, err := Decode(data)
	if (err == nil) != wantOK {
		t.Fatalf("%q: error %v, encoding/json accepts: %v", data, err, wantOK)
	}
	if !wantOK {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
	}
	got, err = DecodeSelected(data, offs, testSelection)
	if err != nil {
		t.Fatalf("%q: DecodeSelected: %v", data, err)
	}
	if want := project(want, testSelection); !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: DecodeSelected:\n got %#v\nwant %#v", data, got, want)
	}
}

// testSelection picks members whole and in part, by keys that differ in
// case from the data's, and by a key two members fold to.
var testSelection = func() *Selection {
	s := &Selection{}
	s.Member("a").SetWhole()
	s.Member("K")
	s.Member("\u212a").Member("x").SetWhole() // KELVIN SIGN folds to k
	s.Member("actor").Member("alternateId").SetWhole()
	s.Member("client").Member("geographicalContext").Member("COUNTRY").SetWhole()
	s.Member("client").Member("ipAddress").SetWhole()
	s.Member("eventType").SetWhole()
	s.Member("target").SetWhole()
	s.Member("p_any_ip_addresses").SetWhole()
	return s
}()

// project is what sel picks of a decoded value: the specification of
// DecodeSelected.
func project(v map[string]any, sel *Selection) map[string]any {
	out := map[string]any{}
	for k, x := range v {
		sub := sel.pick([]byte(k), isASCII(k))
		if sub == nil {
			continue
		}
		if m, ok := x.(map[string]any); ok && !sub.Whole() {
			x = project(m, sub)
		}
		out[k] = x
	}
	return out
}

func TestSameAsEncodingJSON(t *testing.T) {
	for _, s := range seeds {
		check(t, []byte(s), nil)
	}
	norm := logtypes.NewRegistry().NewNormalizer()
	n := 0
	err := gen.Okta(gen.OktaOptions{Count: 500, Seed: 4, Attacks: []string{"brute_force", "new_country"}}, func(raw []byte) error {
		check(t, raw, nil)
		ev, err := norm.Normalize("Okta.SystemLog", raw, logtypes.Meta{})
		if err != nil {
			return err
		}
		check(t, ev.JSON, nil)
		check(t, ev.JSON, norm.AppendMembers(nil))
		n++
		return nil
	})
	if err != nil || n != 500 {
		t.Fatal(err, n)
	}
}

// FuzzDecode compares Decode and DecodeSelected with encoding/json on
// arbitrary input.
//
//	go test ./internal/jsondec -run '^$' -fuzz FuzzDecode -fuzztime 60s
func FuzzDecode(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { check(t, data, nil) })
}

// oktaSimpleReads is what the Okta pack written as simple detections
// (internal/benchdata/okta_simple) reads of an event: the selection the
// engine decodes admitted events with.
var oktaSimpleReads = func() *Selection {
	s := &Selection{}
	for _, path := range [][]string{
		{"eventType"}, {"outcome", "result"}, {"outcome", "reason"}, {"actor", "alternateId"},
		{"client", "ipAddress"}, {"client", "geographicalContext", "country"}, {"target"},
		{"debugContext", "debugData", "threatSuspected"}, {"debugContext", "debugData", "privilegeGranted"},
		{"debugContext", "debugData", "requestUri"}, {"authenticationContext", "externalSessionId"},
		{"authenticationContext", "credentialType"}, {"securityContext", "asOrg"},
	} {
		sel := s
		for _, k := range path {
			sel = sel.Member(k)
		}
		sel.SetWhole()
	}
	return s
}()

// BenchmarkDecode decodes normalized Okta events whole, as the engine
// decodes them for the Okta pack's simple detections (oktaSimpleReads,
// with the normalizer's key offsets), and with encoding/json (the
// baseline).
func BenchmarkDecode(b *testing.B) {
	var events [][]byte
	var members [][]uint32 // the normalizer's offsets of the top-level keys
	norm := logtypes.NewRegistry().NewNormalizer()
	gen.Okta(gen.OktaOptions{Count: 2000, Seed: 4}, func(raw []byte) error {
		ev, err := norm.Normalize("Okta.SystemLog", raw, logtypes.Meta{})
		if err == nil {
			events = append(events, ev.JSON)
			members = append(members, norm.AppendMembers(nil))
		}
		return err
	})
	var size int
	for _, e := range events {
		size += len(e)
	}
	for _, tc := range []struct {
		name   string
		decode func(d []byte, offs []uint32) bool
	}{
		{"jsondec", func(d []byte, _ []uint32) bool { _, err := Decode(d); return err == nil }},
		{"jsondec,selected", func(d []byte, offs []uint32) bool {
			_, err := DecodeSelected(d, offs, oktaSimpleReads)
			return err == nil
		}},
		{"baseline=encoding/json", func(d []byte, _ []uint32) bool { _, ok := reference(d); return ok }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(size / len(events)))
			i := 0
			for b.Loop() {
				k := i % len(events)
				if !tc.decode(events[k], members[k]) {
					b.Fatal("decode failed")
				}
				i++
			}
		})
	}
}

func TestDecodeValue(t *testing.T) {
	for in, want := range map[string]any{
		` "a\u00e9" `: "aé", `12.5`: json.Number("12.5"), `true`: true, `null`: nil,
		`[1,"x"]`: []any{json.Number("1"), "x"}, `{"k":{}}`: map[string]any{"k": map[string]any{}},
	} {
		got, err := DecodeValue([]byte(in))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeValue(%s) = %#v, %v; want %#v", in, got, err, want)
		}
	}
	for _, in := range []string{``, `1 2`, `"a`, `{"a":1}x`, `tru`} {
		if _, err := DecodeValue([]byte(in)); err == nil || !strings.Contains(err.Error(), "offset") {
			t.Errorf("DecodeValue(%q): %v, want an error with its offset", in, err)
		}
	}
}
