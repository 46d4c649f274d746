package jsonscan

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

func TestSkipValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		i    int
		want int
	}{
		// Each value ends where JSON says, whatever follows it.
		{`"abc"`, 0, 5},
		{`"a\"b\\",1`, 0, 8},
		{`"\\\\"x`, 0, 6},
		{`""`, 0, 2},
		{`x"ab"`, 1, 5},
		{`123,`, 0, 3},
		{`-1.5e+3}`, 0, 7},
		{`true]`, 0, 4},
		{"null\t", 0, 4},
		{"false\n", 0, 5},
		{"0\r", 0, 1},
		{`42`, 0, 2},
		{`{}`, 0, 2},
		{`[]`, 0, 2},
		{`{"a":1} ,`, 0, 7},
		{`[1,[2,[3]],{"x":[]}]]`, 0, 20},
		{`{"}":"]","[":"{"}`, 0, 17},
		{`{"a\"}":"\\"}x`, 0, 13},
		{`["\\\"]",{"k":"v\"}"}]`, 0, 22},
		{`{"long":"` + "abcdefghijklmnopqrstuvwxyz0123456789" + `","n":[1,2,3,4,5,6,7,8,9]}`, 0, 71},
		// Only strings and brackets are checked.
		{`tru,`, 0, 3},
		{`1:2,3`, 0, 3},
		{`{]`, 0, 2},
		{`[1 2}`, 0, 5},
		{`{"a" "b"}`, 0, 9},
		// Malformed.
		{``, 0, -1},
		{`1`, 1, -1},
		{`,`, 0, -1},
		{`}`, 0, -1},
		{`]`, 0, -1},
		{` 1`, 0, -1},
		{`"abc`, 0, -1},
		{`"abc\"`, 0, -1},
		{`"abc\`, 0, -1},
		{`{"a":1`, 0, -1},
		{`[[]`, 0, -1},
		{`{"a":"}"`, 0, -1},
		{`["\"]`, 0, -1},
		{`{"abcdefghijklmnopqrstuvwxyz":"0123456789\`, 0, -1},
	} {
		if got := SkipValue([]byte(tc.in), tc.i); got != tc.want {
			t.Errorf("SkipValue(%q, %d) = %d, want %d", tc.in, tc.i, got, tc.want)
		}
	}
}

func TestEachMember(t *testing.T) {
	collect := func(in string) ([]string, bool) {
		var got []string
		ok := EachMember([]byte(in), func(k, v []byte) bool {
			got = append(got, string(k)+"="+string(v))
			return true
		})
		return got, ok
	}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{` { "a" : 1 , "b\"c":{"x":[1,{"y":"}"}]}, "d":"e\\"  ,"f":[] ,"g":null}`,
			[]string{`"a"=1`, `"b\"c"={"x":[1,{"y":"}"}]}`, `"d"="e\\"`, `"f"=[]`, `"g"=null`}},
		{`{}`, nil},
		{" \t\r\n{ \n}", nil},
		{`{"a":1,"a":2}`, []string{`"a"=1`, `"a"=2`}},
		{`{"":""}`, []string{`""=""`}},
		{`{"k":"v"} trailing [ is not read`, []string{`"k"="v"`}},
		{`{"a":"],}{[\"","b":["}",{"c":"\\"}]}`, []string{`"a"="],}{[\""`, `"b"=["}",{"c":"\\"}]`}},
		{`{"n":-0.5e-3,"t":true,"f":false}`, []string{`"n"=-0.5e-3`, `"t"=true`, `"f"=false`}},
		// Values are only skipped.
		{`{"x":tru,"y":{]}`, []string{`"x"=tru`, `"y"={]`}},
	} {
		got, ok := collect(tc.in)
		if !ok || !slices.Equal(got, tc.want) {
			t.Errorf("EachMember(%q) = %v %q, want %q", tc.in, ok, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in     string
		before []string // members passed to fn before the fault
	}{
		{``, nil}, {`  `, nil}, {`[]`, nil}, {`"{}"`, nil}, {`null`, nil},
		{`{`, nil}, {`{"a"}`, nil}, {`{"a"`, nil}, {`{"a":}`, nil}, {`{"a":`, nil},
		{`{"a":1`, []string{`"a"=1`}},
		{`{"a":1 `, []string{`"a"=1`}},
		{`{"a":1,`, []string{`"a"=1`}},
		{`{"a":1,}`, []string{`"a"=1`}},
		{`{"a":"x}`, nil},
		{`{"a":1 "b":2}`, []string{`"a"=1`}},
		{`{"a":1]`, []string{`"a"=1`}},
		{`{1:2}`, nil},
		{`{a:1}`, nil},
		{`{"a\":1}`, nil},
		{`{"a":[1,{"b":2}`, nil},
		{`{"a":[1,{"b":2}}`, []string{`"a"=[1,{"b":2}}`}}, // brackets balance, the object does not end
	} {
		got, ok := collect(tc.in)
		if ok || !slices.Equal(got, tc.before) {
			t.Errorf("EachMember(%q) = %v %q, want false %q", tc.in, ok, got, tc.before)
		}
	}

	// fn stops the walk: true, with no more calls.
	d := []byte(`{"a":1,"b":2,"c":`)
	var keys []string
	if !EachMember(d, func(k, v []byte) bool { keys = append(keys, string(k)); return len(keys) < 2 }) || len(keys) != 2 {
		t.Errorf("stopped walk: %q", keys)
	}
	// The key and value are subslices of d.
	d = []byte(` {"key" : [1]}`)
	EachMember(d, func(k, v []byte) bool {
		if ko, vo := cap(d)-cap(k), cap(d)-cap(v); ko != 2 || vo != 10 || !bytes.Equal(d[ko:ko+len(k)], k) || !bytes.Equal(d[vo:vo+len(v)], v) {
			t.Errorf("offsets %d %d", ko, vo)
		}
		return true
	})
}

// FuzzEachMember checks SkipValue and EachMember against encoding/json: a
// JSON value is skipped exactly, a JSON object is walked whole, and its
// members are the ones encoding/json decodes (the last of a repeated key
// winning there). On any input neither may panic, and the pieces
// EachMember passes are a key and a nonempty value.
func FuzzEachMember(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { "a" : 1 , "b\"c":{"x":[1,{"y":"}"}]}, "d":"e\\"  ,"f":[] ,"g":null}`,
		`{"a":1,"a":{"b":[true,false,null,"\u00e9\ud83d\ude00"]}}`, `{"\u0061":1,"a":2}`, "{\"k\xff\":\"\xfe\"}",
		`[1,"]",{"}":2}]`, `"str\\"`, `-12.5e3`, `{"a":tru}`, `{"a":1,}`, `{"a" 1}`, `{"a":"x}`, ` null `,
		`{"x":{"y":{"z":[[[["deep"]]]]}},"n":0}`,
	} {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"abcdefgh":"ijklmnop\\\"qrstuvw","x":["}}}}}}}}",{"y":"\\"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		i := SkipSpace(data, 0)
		end := SkipValue(data, i)
		if end != -1 && (end <= i || end > len(data)) {
			t.Fatalf("SkipValue(%q, %d) = %d", data, i, end)
		}
		for j := range min(len(data), 4) {
			if got, want := SkipValue(data, j), skipValueRef(data, j); got != want {
				t.Fatalf("SkipValue(%q, %d) = %d, byte by byte %d", data, j, got, want)
			}
		}
		var members [][2][]byte
		ok := EachMember(data, func(k, v []byte) bool {
			if len(k) < 2 || k[0] != '"' || k[len(k)-1] != '"' || len(v) == 0 || SkipValue(v, 0) != len(v) {
				t.Fatalf("EachMember(%q) passed %q: %q", data, k, v)
			}
			members = append(members, [2][]byte{k, v})
			return true
		})
		if !json.Valid(data) {
			return
		}
		if want := len(bytes.TrimRight(data, " \t\r\n")); end != want {
			t.Fatalf("SkipValue(%q, %d) = %d, want %d", data, i, end, want)
		}
		if data[i] != '{' {
			if ok {
				t.Fatalf("EachMember accepts %q", data)
			}
			return
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("json.Valid but Unmarshal: %v", err)
		}
		if !ok {
			t.Fatalf("EachMember rejects the JSON object %q", data)
		}
		got := map[string][]byte{}
		for _, m := range members {
			var k string
			if err := json.Unmarshal(m[0], &k); err != nil {
				t.Fatalf("key %q of %q: %v", m[0], data, err)
			}
			got[k] = m[1]
		}
		if len(got) != len(want) {
			t.Fatalf("%q: members %q, encoding/json %q", data, got, want)
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || !bytes.Equal(g, bytes.TrimSpace(v)) {
				t.Fatalf("%q: member %q is %q, encoding/json %q", data, k, g, v)
			}
		}
	})
}

// skipValueRef is SkipValue byte by byte, as internal/lake and
// internal/scheduler had it: a quote ends a string unless an odd number of
// backslashes comes before it.
func skipValueRef(d []byte, i int) int {
	skipString := func(i int) int {
		for j := i + 1; j < len(d); j++ {
			if d[j] == '"' {
				n := 0
				for b := j - 1; b > i && d[b] == '\\'; b-- {
					n++
				}
				if n%2 == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	if i >= len(d) {
		return -1
	}
	switch d[i] {
	case '"':
		return skipString(i)
	case '{', '[':
		depth := 0
		for j := i; j < len(d); j++ {
			switch d[j] {
			case '"':
				if j = skipString(j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(d) && bytes.IndexByte([]byte(",}] \t\n\r"), d[j]) < 0 {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
