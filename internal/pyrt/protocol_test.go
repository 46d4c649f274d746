package pyrt

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	gojson "github.com/goccy/go-json"
)

// replyBodies are run replies as the worker writes them (json.dumps with
// ASCII escapes), with every field of Result and Outputs, escapes, lone
// surrogates, nulls and empty results.
var replyBodies = []string{
	`{"op":"results","items":[]}`,
	`{"op":"results","items":[[],[]]}`,
	`{"op":"error","message":"unknown op 'x'"}`,
	`{"op":"results","items":[[{"rule":3,"matched":true,"rule_value":true,"outputs":{"title":"Caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t","dedup":"d\u0000x","severity":"HIGH","alert_context_blob":[0,2],"description":"","reference":"https://example.com/?a=1&b=<2>","runbook":"r","destinations":["slack","\u2028"],"unique":"u"}}]]}`,
	`{"op":"results","items":[[{"rule":0,"matched":false,"error":{"type":"KeyError","message":"'x'","repr":"KeyError('x')","file":"/d/r.py","line":7,"traceback":"Traceback (most recent call last):\n  File \"/d/r.py\", line 7\nKeyError: 'x'\n"}},{"rule":1,"matched":true,"rule_value":false,"outputs":{"title":"lone \ud800 and \udc00 surrogates","dedup":"t","severity":"INFO","alert_context_blob":[2,3],"description":"d","reference":"","runbook":"","destinations":null,"unique":null},"function_errors":{"title":{"type":"ValueError","message":"bad","repr":"","file":"","line":0,"traceback":""}}}]]}`,
	`{"op":"results","items":[[{"rule":2,"matched":true,"rule_value":null,"outputs":{"title":"t","dedup":"t","severity":"LOW","description":"","reference":"","runbook":"","destinations":[],"unique":null},"stdout":"printed\n","defined":["dedup","rule","title"]}]]}`,
	`{"op":"results","items":[[{"rule":12,"matched":true,"outputs":{"title":"big 1e3 -0 12345678901","dedup":"x","severity":"CRITICAL","alert_context_blob":[0,0]},"unknown_field":{"nested":[1,2,{"a":null}]}}]],"extra":true}`,
}

// TestReplyDecodingMatchesEncodingJSON checks that go-json decodes the
// worker's replies into the wire types exactly as encoding/json does.
func TestReplyDecodingMatchesEncodingJSON(t *testing.T) {
	for i, body := range replyBodies {
		var want, got runReply
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("reply %d: encoding/json: %v", i, err)
		}
		if err := gojson.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("reply %d: go-json: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("reply %d decodes differently:\ngo-json:       %s\nencoding/json: %s", i, dump(got), dump(want))
		}
	}
}

func dump(r runReply) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%q %q", r.Op, r.Message)
	for _, rs := range r.Items {
		for _, w := range rs {
			fmt.Fprintf(&sb, " %+v", w.plainResult)
			if w.Outputs != nil {
				fmt.Fprintf(&sb, " outputs %+v blob %v", w.Outputs.plainOutputs, w.Outputs.Blob)
			}
		}
	}
	return sb.String()
}

// TestReplyResults checks that results point alert contexts at their blobs
// and refuse references outside them.
func TestReplyResults(t *testing.T) {
	var r runReply
	if err := gojson.Unmarshal([]byte(replyBodies[4]), &r); err != nil {
		t.Fatal(err)
	}
	items, err := r.results([]byte(`{}{"a"`))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || len(items[0]) != 2 {
		t.Fatalf("items %+v, want one with two results", items)
	}
	if e := items[0][0]; e.Outputs != nil || e.Error == nil || e.Error.Line != 7 {
		t.Errorf("the error result came back as %+v", e)
	}
	m := items[0][1]
	if m.Outputs == nil || string(m.Outputs.AlertContext) != `{"a` || m.Outputs.Title != "lone \ufffd and \ufffd surrogates" {
		t.Errorf("the match came back as %+v (outputs %+v)", m, m.Outputs)
	}
	if m.FunctionErrors["title"] == nil || m.FunctionErrors["title"].Message != "bad" {
		t.Errorf("function errors %+v", m.FunctionErrors)
	}
	if _, err := r.results([]byte(`{}{"`)); err == nil || !strings.Contains(err.Error(), "bytes 2..5 of 4") {
		t.Errorf("a reference past the blobs gave %v", err)
	}
}

// BenchmarkDecodeRunReply decodes a reply of 40 matches (and 20 events
// without one) with encoding/json, the baseline, and with go-json.
func BenchmarkDecodeRunReply(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"op":"results","items":[`)
	for i := range 60 {
		if i > 0 {
			sb.WriteString(",")
		}
		if i%3 == 0 {
			sb.WriteString("[]")
			continue
		}
		fmt.Fprintf(&sb, `[{"rule":%d,"matched":true,"rule_value":true,"outputs":{"title":"Okta brute force against amara.silva@example.com from 203.0.113.%d","dedup":"amara.silva@example.com","severity":"MEDIUM","alert_context_blob":[%d,1800],"description":"","reference":"https://help.okta.com/en/prod/Content/Topics/Security/threat-insight/configure-threatinsight-system-log.htm","runbook":"Check the user's recent sign-ins","destinations":null,"unique":null}}]`, i%28, i, i*1800)
	}
	sb.WriteString("]}")
	body := []byte(sb.String())
	for _, dec := range []struct {
		name      string
		unmarshal func([]byte, any) error
	}{{"encoding-json", json.Unmarshal}, {"go-json", gojson.Unmarshal}} {
		b.Run(dec.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var r runReply
				if err := dec.unmarshal(body, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
