package logtypes

import (
	"bytes"
	"strings"
	"testing"
)

func TestInfer(t *testing.T) {
	samples := `{"ts":"2025-03-04T17:42:09.118Z","user":"jane","email":"jane@example.com","src":"192.0.2.1","host":"web-1.corp.example.com","count":3,"ratio":0.5,"ok":true,"tags":["a","b"],"meta":{"created":1741110129118,"file":"report.pdf"},"mixed":1,"nothing":null,"p_row_id":"x"}
{"ts":"2025-03-04T17:43:00Z","user":"john","email":"john@example.org","src":"2001:db8::1","host":"db.example.net","count":4,"ratio":1,"ok":false,"tags":[],"meta":{"created":1741110129999,"file":"notes.txt"},"mixed":"one","nothing":null,"url":"https://example.com/x","when":"04/Mar/2025:17:42:09 +0000","sha":"da39a3ee5e6b4b0d3255bfef95601890afd80709","list":[{"k":1},{"k":2,"v":"x"}]}
`
	in := NewInferrer()
	err := ReadSamples([]byte(samples), func(line int, raw []byte) error { return in.Add(raw) })
	if err != nil {
		t.Fatal(err)
	}
	if in.Events() != 2 {
		t.Fatalf("events = %d", in.Events())
	}
	s, err := in.Schema("Custom.Sample")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteSchemaYAML(&buf, s); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	want := `schema: Custom.Sample
description: Inferred by prowl schema infer from 2 sample events; review before use.
version: 0
fields:
  - name: ts
    type: timestamp
    timeFormat: rfc3339
    isEventTime: true
  - name: user
    type: string
    indicators: [username]
  - name: email
    type: string
    indicators: [email]
  - name: src
    type: string
    indicators: [ip]
  - name: host
    type: string
    indicators: [domain]
  - name: count
    type: bigint
  - name: ratio
    type: float
  - name: ok
    type: boolean
  - name: tags
    type: array
    element:
      type: string
  - name: meta
    type: object
    fields:
      - name: created
        type: timestamp
        timeFormat: unix_ms
      - name: file
        type: string
  - name: mixed
    type: json
  - name: nothing
    type: json
  - name: url
    type: string
    indicators: [url]
  - name: when
    type: timestamp
    timeFormat: '%d/%b/%Y:%H:%M:%S %z'
  - name: sha
    type: string
    indicators: [sha1]
  - name: list
    type: array
    element:
      type: object
      fields:
        - name: k
          type: bigint
        - name: v
          type: string
`
	if got != want {
		t.Errorf("inferred:\n%s\nwant:\n%s", got, want)
	}
	// The proposal loads as a custom schema and accepts every sample.
	back, err := ParseSchema("inferred.yml", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	if err := reg.Add(back); err != nil {
		t.Fatal(err)
	}
	n := reg.NewNormalizer()
	ReadSamples([]byte(samples), func(line int, raw []byte) error {
		if _, err := n.Normalize("Custom.Sample", raw, Meta{}); err != nil {
			t.Errorf("sample line %d: %v", line, err)
		}
		return nil
	})
}

func TestInferEventTimeChoice(t *testing.T) {
	tests := []struct{ samples, want string }{
		{`{"created_at":"2025-01-01T00:00:00Z","eventTime":"2025-01-01T00:00:00Z"}`, "eventTime"},
		{`{"a":"2025-01-01T00:00:00Z","b":"2025-01-01T00:00:00Z"}`, "a"},
		{`{"x":1,"id":{"time":"2025-01-01T00:00:00Z"}}`, "id.time"},
		{`{"@timestamp":1741110129118}`, "@timestamp"},
		{`{"count":1741110129}`, ""}, // a number only counts as a time when its name says so
	}
	for _, tt := range tests {
		in := NewInferrer()
		if err := in.Add([]byte(tt.samples)); err != nil {
			t.Fatal(err)
		}
		s, err := in.Schema("")
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		var walk func(prefix string, fs []Field)
		walk = func(prefix string, fs []Field) {
			for _, f := range fs {
				if f.IsEventTime {
					got = prefix + f.Name
				}
				walk(prefix+f.Name+".", f.Fields)
			}
		}
		walk("", s.Fields)
		if got != tt.want || s.Name != "Custom.Inferred" {
			t.Errorf("%s: event time %q, want %q", tt.samples, got, tt.want)
		}
	}
}

func TestInferErrors(t *testing.T) {
	in := NewInferrer()
	if _, err := in.Schema("Custom.X"); err == nil {
		t.Error("no samples")
	}
	for _, bad := range []string{`[1]`, `{"a":`, `"x"`, `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`} {
		if err := in.Add([]byte(bad)); err == nil {
			t.Errorf("Add(%q) must fail", bad)
		}
	}
	in.Add([]byte(`{"p_x":1,"":2}`))
	if _, err := in.Schema("Custom.X"); err == nil {
		t.Error("no usable fields")
	}
	in.Add([]byte(`{"a":1}`))
	if _, err := in.Schema("NotCustom"); err == nil {
		t.Error("a bad name must be rejected")
	}
}

func TestReadSamples(t *testing.T) {
	type got struct {
		line int
		raw  string
	}
	tests := []struct {
		name, data string
		want       []got
		err        string
	}{
		{"ndjson", "{\"a\":1}\n\n  \n{\"a\":2}\r\nnot json\n{\"a\":3}", []got{{1, `{"a":1}`}, {4, `{"a":2}`}, {5, "not json"}, {6, `{"a":3}`}}, ""},
		{"byte order mark", "\ufeff{\"a\":1}\n", []got{{1, `{"a":1}`}}, ""},
		{"array", "[\n  {\"a\": 1},\n  {\n    \"a\": 2\n  }\n]\n", []got{{2, `{"a": 1}`}, {3, "{\n    \"a\": 2\n  }"}}, ""},
		{"empty array", "[]", nil, ""},
		{"broken array", "[\n{\"a\":1},\n{\"a\":\n", []got{{2, `{"a":1}`}}, "line 3: unexpected EOF"},
		{"pretty stream", "{\n  \"a\": 1\n}\n{\"a\": 2}\n", []got{{1, "{\n  \"a\": 1\n}"}, {4, `{"a": 2}`}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gots []got
			err := ReadSamples([]byte(tt.data), func(line int, raw []byte) error {
				gots = append(gots, got{line, string(raw)})
				return nil
			})
			if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want %q", err, tt.err)
			}
			if len(gots) != len(tt.want) {
				t.Fatalf("got %v, want %v", gots, tt.want)
			}
			for i := range gots {
				if gots[i] != tt.want[i] {
					t.Errorf("sample %d: got %v, want %v", i, gots[i], tt.want[i])
				}
			}
		})
	}
}
