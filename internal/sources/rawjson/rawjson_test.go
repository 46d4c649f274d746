package rawjson

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func all(t *testing.T, in string, max int) ([]Value, error) {
	t.Helper()
	r := NewReader(strings.NewReader(in), max)
	var out []Value
	for {
		v, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
}

func TestSplit(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		vals, err := all(t, in, 0)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		var got []string
		for _, v := range vals {
			got = append(got, string(v.Data))
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("%q: got %q, want %q", in, got, want)
		}
	}
	f("")
	f("  \n ")
	f("[]")
	f(" [ ] \n")
	f(`[1,"a",{"b":[1,2]},[3],null,true]`, "1", `"a"`, `{"b":[1,2]}`, "[3]", "null", "true")
	f("[ 1 , 2 ]", "1", "2")
	f("{\"a\":1}\n{\"b\":\"x}]\\\"\"}\n", `{"a":1}`, `{"b":"x}]\""}`)
	f("{\"a\":1}{\"b\":2} 3 \"s\"", `{"a":1}`, `{"b":2}`, "3", `"s"`)
	f("\xef\xbb\xbf{\"a\":1}\r\n", `{"a":1}`)
	f("{\"n\" 3}\n[1 2]", `{"n" 3}`, "[1 2]") // invalid inside, still split
	f("{\n \"pretty\": true\n}\n", "{\n \"pretty\": true\n}")
}

func TestPositions(t *testing.T) {
	vals, err := all(t, "[\n  {\"a\":1},\n  {\"b\":2}\n]", 0)
	if err != nil {
		t.Fatal(err)
	}
	if v := vals[1]; v.Offset != 15 || v.Line != 3 || v.Column != 3 || v.Index != 2 {
		t.Fatalf("value %+v", v)
	}
	// Check locates the error inside a value.
	vals, _ = all(t, "{\"a\":1}\n{\"a\":\n oops}", 0)
	e := Check(vals[1])
	if e == nil || e.Line != 3 || e.Column != 2 || e.Offset != 15 {
		t.Fatalf("check %+v", e)
	}
	if Check(vals[0]) != nil {
		t.Fatal("valid value rejected")
	}
}

func TestStructuralErrors(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		_, err := all(t, in, 0)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(se.Error(), want) {
			t.Fatalf("%q: %v, want %q", in, err, want)
		}
	}
	f("[1,2", "line 1, column 5 (byte 4): unexpected end of input: unterminated array")
	f("[1,", "unterminated array")
	f("[1,]", "unexpected ] after a comma")
	f("[{\"a\":1} {\"b\":2}]", "column 10 (byte 9): expected , or ] after array element")
	f("[1]\n{}", "line 2, column 1 (byte 4): unexpected data after the JSON array")
	f("{\"a\":\"x", "unterminated string")
	f("{\"a\":[1}", "1 unclosed brackets")
	f("1,2", "unexpected ,")
	f("{}]", "unexpected ']'")
}

func TestTruncation(t *testing.T) {
	vals, err := all(t, `[{"a":"0123456789"},{"b":1}]`, 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 2 || !vals[0].Truncated || string(vals[0].Data) != `{"a":"01` || string(vals[1].Data) != `{"b":1}` {
		t.Fatalf("%+v", vals)
	}
	if e := Check(vals[0]); e == nil || !strings.Contains(e.Msg, "longer than") {
		t.Fatalf("check %v", e)
	}
}
