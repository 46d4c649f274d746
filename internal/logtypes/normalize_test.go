package logtypes

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

var (
	testParseTime = time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)
	rowIDRE       = regexp.MustCompile(`"p_row_id":"([0-9a-f]{32})"`)
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

func compact(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestBuiltinSchemas normalizes a realistic sample of each built-in log type
// and checks the whole output: the original fields unchanged and in order
// (except values the schema coerces), then exactly the expected p_ fields.
func TestBuiltinSchemas(t *testing.T) {
	tests := []struct {
		logType, file string
		meta          Meta
		replace       []string // old, new pairs applied to the compacted input
		wantP         string   // the p_ fields after p_row_id
	}{{
		logType: "Okta.SystemLog", file: "okta_failed_login.json",
		meta: Meta{SourceID: "src-1", SourceLabel: "Okta \"Prod\"", ParseTime: testParseTime},
		wantP: `"p_event_time":"2025-03-04 17:42:09.118000","p_parse_time":"2025-03-05 00:00:00.000000","p_schema_version":0,` +
			`"p_source_id":"src-1","p_source_label":"Okta \"Prod\"",` +
			`"p_any_domain_names":["amazonaws.com"],"p_any_emails":["jane.doe@example.com"],"p_any_ip_addresses":["198.51.100.23"],` +
			`"p_any_usernames":["Okta Dashboard","jane.doe@example.com","unknown"]`,
	}, {
		logType: "AWS.CloudTrail", file: "cloudtrail_runinstances.json", meta: Meta{ParseTime: testParseTime},
		wantP: `"p_event_time":"2025-02-10 10:02:33.000000","p_parse_time":"2025-03-05 00:00:00.000000","p_schema_version":0,` +
			`"p_any_aws_account_ids":["123456789012"],` +
			`"p_any_aws_arns":["arn:aws:iam::123456789012:instance-profile/web","arn:aws:iam::123456789012:role/DeployRole","arn:aws:sts::123456789012:assumed-role/DeployRole/ci-deploy"],` +
			`"p_any_aws_instance_ids":["i-0abc1234def567890"],"p_any_domain_names":["ec2.us-east-1.amazonaws.com"],` +
			`"p_any_ip_addresses":["10.0.12.34","203.0.113.10"],"p_any_usernames":["DeployRole"]`,
	}, {
		logType: "GitHub.Audit", file: "github_hook_create.json", meta: Meta{ParseTime: testParseTime, SourceID: "gh"},
		wantP: `"p_event_time":"2025-02-10 10:22:33.417000","p_parse_time":"2025-03-05 00:00:00.000000","p_schema_version":0,"p_source_id":"gh",` +
			`"p_any_domain_names":["hooks.example.net"],"p_any_ip_addresses":["203.0.113.45"],"p_any_usernames":["octocat"]`,
	}, {
		logType: "GSuite.Reports", file: "gsuite_login_failure.json", meta: Meta{ParseTime: testParseTime},
		replace: []string{`"intValue":"3"`, `"intValue":3`},
		wantP: `"p_event_time":"2025-02-11 08:15:30.412000","p_parse_time":"2025-03-05 00:00:00.000000","p_schema_version":0,` +
			`"p_any_domain_names":["example.com"],"p_any_emails":["li.wei@example.com"],"p_any_ip_addresses":["2001:db8::1f"]`,
	}, {
		logType: "Syslog.RFC5424", file: "syslog_sshd.json", meta: Meta{ParseTime: testParseTime},
		replace: []string{`"procid":4123`, `"procid":"4123"`},
		wantP: `"p_event_time":"2025-01-20 08:11:12.123456","p_parse_time":"2025-03-05 00:00:00.000000","p_schema_version":0,` +
			`"p_any_domain_names":["bastion-01.corp.example.com"]`,
	}}
	reg := NewRegistry()
	for _, tt := range tests {
		t.Run(tt.logType, func(t *testing.T) {
			raw := readTestdata(t, tt.file)
			ev, err := reg.NewNormalizer().Normalize(tt.logType, raw, tt.meta)
			if err != nil {
				t.Fatal(err)
			}
			body := string(compact(t, raw))
			for i := 0; i+1 < len(tt.replace); i += 2 {
				if !strings.Contains(body, tt.replace[i]) {
					t.Fatalf("test input lacks %s", tt.replace[i])
				}
				body = strings.Replace(body, tt.replace[i], tt.replace[i+1], 1)
			}
			want := strings.TrimSuffix(body, "}") + `,"p_log_type":"` + tt.logType + `","p_row_id":"` + ev.RowID + `",` + tt.wantP + "}"
			if got := string(ev.JSON); got != want {
				t.Errorf("output differs\n got: %s\nwant: %s", got, want)
			}
			if !json.Valid(ev.JSON) {
				t.Error("output is not valid JSON")
			}
			if ev.LogType != tt.logType || !ev.ParseTime.Equal(testParseTime) {
				t.Errorf("event = %+v", ev)
			}
			if m := rowIDRE.FindSubmatch(ev.JSON); m == nil || string(m[1]) != ev.RowID {
				t.Errorf("p_row_id %q does not match Event.RowID %q", m, ev.RowID)
			}
			if got := ev.Time.Format(PantherTimeLayout); !strings.Contains(tt.wantP, `"p_event_time":"`+got+`"`) {
				t.Errorf("Event.Time = %s, not the p_event_time", got)
			}
		})
	}
}

// testSchema is a custom schema with one field of each kind.
const testSchema = `
schema: Custom.Test
version: 3
fields:
  - name: id
    type: string
    required: true
  - name: s
    type: string
  - name: i
    type: int
  - name: big
    type: bigint
  - name: f
    type: float
  - name: b
    type: boolean
  - name: ts
    type: timestamp
    timeFormat: rfc3339
    isEventTime: true
  - name: list
    type: array
    element:
      type: object
      fields:
        - name: k
          type: string
          required: true
        - name: v
          type: int
  - name: obj
    type: object
    fields:
      - name: must
        type: string
        required: true
      - name: n
        type: bigint
  - name: free
    type: json
`

func testRegistry(t testing.TB, schemas ...string) *Registry {
	t.Helper()
	reg := NewRegistry()
	for _, src := range schemas {
		s, err := ParseSchema("test.yml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// pFree returns the output without the p_ fields that vary (row ID, parse
// time) so that tests can compare it exactly.
func stripVolatile(out []byte) string {
	s := rowIDRE.ReplaceAllString(string(out), `"p_row_id":"ROW"`)
	return regexp.MustCompile(`"p_parse_time":"[^"]*"`).ReplaceAllString(s, `"p_parse_time":"PARSE"`)
}

func TestRejections(t *testing.T) {
	reg := testRegistry(t, testSchema)
	okta := string(readTestdata(t, "okta_failed_login.json"))
	deep := func(n int) string { return `{"id":"x","free":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}` }
	tests := []struct {
		name, logType, raw string
		reason, path       string
		detail             string // substring of Detail
	}{
		{"empty", "", "", ReasonInvalidJSON, "", "empty"},
		{"only spaces", "", " \n ", ReasonInvalidJSON, "", "empty"},
		{"not json", "", "hello", ReasonInvalidJSON, "", "unexpected character 'h'"},
		{"truncated", "", `{"id":"x","s":`, ReasonInvalidJSON, "s", "truncated"},
		{"truncated string", "", `{"id":"x","s":"abc`, ReasonInvalidJSON, "s", "truncated"},
		{"trailing comma", "", `{"id":"x",}`, ReasonInvalidJSON, "", "quoted key"},
		{"single quotes", "", `{'id':'x'}`, ReasonInvalidJSON, "", "quoted key"},
		{"leading zero", "", `{"id":"x","i":01}`, ReasonInvalidJSON, "", "expected ','"},
		{"bad escape", "", `{"id":"x","s":"a\qb"}`, ReasonInvalidJSON, "s", `invalid escape \q at offset 16`},
		{"bad unicode escape", "", `{"id":"x","s":"\u12G4"}`, ReasonInvalidJSON, "s", `\u escape`},
		{"raw control char", "", "{\"id\":\"x\",\"s\":\"a\tb\"}", ReasonInvalidJSON, "s", "control character 0x09"},
		{"bad literal", "", `{"id":"x","b":tru}`, ReasonInvalidJSON, "b", `"tru"`},
		{"two objects", "", `{"id":"x"} {"id":"y"}`, ReasonInvalidJSON, "", "after the event"},
		{"missing colon", "", `{"id" "x"}`, ReasonInvalidJSON, "", "expected ':'"},
		{"missing comma in array", "", `{"id":"x","free":[1 2]}`, ReasonInvalidJSON, "free", "expected ',' or ']'"},
		{"bare minus", "", `{"id":"x","f":-}`, ReasonInvalidJSON, "f", "malformed number"},
		{"stray byte", "", "{\"id\":\"x\",\"s\":\xff}", ReasonInvalidJSON, "s", "byte 0xff"},
		{"invalid utf8 value", "", "{\"id\":\"x\",\"s\":\"caf\xe9\"}", ReasonInvalidUTF8, "s", "0xe9"},
		{"invalid utf8 key", "", "{\"id\":\"x\",\"\xc3\":1}", ReasonInvalidUTF8, "", "invalid UTF-8"},
		{"surrogate bytes", "", "{\"id\":\"\xed\xa0\x80\"}", ReasonInvalidUTF8, "id", "invalid UTF-8"},
		{"too deep", "", deep(64), ReasonTooDeep, "free" + strings.Repeat("[0]", 63), "more than 64 levels"},
		{"array", "", `[{"id":"x"}]`, ReasonSchemaMismatch, "", "not an array"},
		{"string", "", `"x"`, ReasonSchemaMismatch, "", "not a string"},
		{"number", "", `42`, ReasonSchemaMismatch, "", "not a number"},
		{"null", "", `null`, ReasonSchemaMismatch, "", "not null"},
		{"required absent", "", `{"s":"x"}`, ReasonMissingRequired, "id", "missing or null"},
		{"required null", "", `{"id":null}`, ReasonMissingRequired, "id", "missing or null"},
		{"nested required", "", `{"id":"x","obj":{"n":1}}`, ReasonMissingRequired, "obj.must", ""},
		{"required in array element", "", `{"id":"x","list":[{"k":"a"},{"v":2}]}`, ReasonMissingRequired, "list[1].k", ""},
		{"okta uuid missing", "Okta.SystemLog", strings.Replace(okta, `"uuid":`, `"uuidx":`, 1), ReasonMissingRequired, "uuid", ""},
		{"okta target id null", "Okta.SystemLog", strings.Replace(okta, `"id":"0oa1c9d2e3F4g5H6i5d7"`, `"id":null`, 1), ReasonMissingRequired, "target[1].id", ""},
		{"object for string", "", `{"id":{"a":1}}`, ReasonBadType, "id", "expected a string, got an object"},
		{"array for string", "", `{"id":"x","s":[1]}`, ReasonBadType, "s", "got an array"},
		{"word for int", "", `{"id":"x","i":"abc"}`, ReasonBadType, "i", `expected an integer (int, 32-bit), got a string "abc"`},
		{"fraction for int", "", `{"id":"x","i":1.5}`, ReasonBadType, "i", "got a number 1.5"},
		{"int32 overflow", "", `{"id":"x","i":2147483648}`, ReasonBadType, "i", ""},
		{"bigint overflow", "", `{"id":"x","big":9223372036854775808}`, ReasonBadType, "big", ""},
		{"bigint overflow in string", "", `{"id":"x","big":"-9223372036854775809"}`, ReasonBadType, "big", ""},
		{"hex for float", "", `{"id":"x","f":"0x10"}`, ReasonBadType, "f", ""},
		{"nan for float", "", `{"id":"x","f":"NaN"}`, ReasonBadType, "f", ""},
		{"number for boolean", "", `{"id":"x","b":1}`, ReasonBadType, "b", "expected a boolean"},
		{"word for boolean", "", `{"id":"x","b":"yes"}`, ReasonBadType, "b", ""},
		{"bad timestamp", "", `{"id":"x","ts":"yesterday"}`, ReasonBadType, "ts", "expected an RFC 3339 timestamp string"},
		{"number for rfc3339", "", `{"id":"x","ts":1700000000}`, ReasonBadType, "ts", ""},
		{"impossible date", "", `{"id":"x","ts":"2025-02-30T00:00:00Z"}`, ReasonBadType, "ts", ""},
		{"object for array", "", `{"id":"x","list":{}}`, ReasonBadType, "list", "expected an array, got an object"},
		{"string in array of objects", "", `{"id":"x","list":["a"]}`, ReasonBadType, "list[0]", "expected an object"},
		{"int in nested object", "", `{"id":"x","obj":{"must":"m","n":true}}`, ReasonBadType, "obj.n", ""},
		{"escaped key in path", "", `{"id":"x","obj":{"must":"m","n":"z"}}`, ReasonBadType, "obj.n", ""},
		{"okta published", "Okta.SystemLog", strings.Replace(okta, `"2025-03-04T17:42:09.118Z"`, `"04/03/2025"`, 1), ReasonBadType, "published", ""},
		{"okta asNumber", "Okta.SystemLog", strings.Replace(okta, `"asNumber":14618`, `"asNumber":"AS14618"`, 1), ReasonBadType, "securityContext.asNumber", ""},
		{"okta target", "Okta.SystemLog", strings.Replace(okta, `"target":[`, `"target":[1,`, 1), ReasonBadType, "target[0]", ""},
		{"unknown log type", "Okta.SytemLog", okta, ReasonUnknownLogType, "", `did you mean "Okta.SystemLog"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logType := cmpOr(tt.logType, "Custom.Test")
			ev, err := reg.NewNormalizer().Normalize(logType, []byte(tt.raw), Meta{})
			var rej *Rejection
			if !errors.As(err, &rej) {
				t.Fatalf("want a *Rejection, got %v (event %s)", err, ev.JSON)
			}
			if rej.Reason != tt.reason || rej.Path != tt.path || !strings.Contains(rej.Detail, tt.detail) {
				t.Errorf("got reason %q path %q detail %q\nwant reason %q path %q detail containing %q", rej.Reason, rej.Path, rej.Detail, tt.reason, tt.path, tt.detail)
			}
			if !slices.Contains(Reasons(), rej.Reason) {
				t.Errorf("reason %q is not in Reasons()", rej.Reason)
			}
			if rej.Error() != rej.Reason+": "+rej.Detail {
				t.Errorf("Error() = %q", rej.Error())
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestSizeAndDepthLimits(t *testing.T) {
	reg := testRegistry(t, testSchema)
	n := reg.NewNormalizer()
	big := []byte(`{"id":"x","s":"` + strings.Repeat("a", MaxEventBytes) + `"}`)
	if _, err := n.Normalize("Custom.Test", big, Meta{}); err == nil || err.(*Rejection).Reason != ReasonTooLarge {
		t.Errorf("an event over MaxEventBytes: %v", err)
	}
	atLimit := []byte(`{"id":"x","s":"` + strings.Repeat("a", MaxEventBytes-17) + `"}`)
	if _, err := n.Normalize("Custom.Test", atLimit, Meta{}); err != nil {
		t.Errorf("an event of exactly MaxEventBytes: %v", err)
	}
	n.MaxEventBytes = 20
	if _, err := n.Normalize("Custom.Test", []byte(`{"id":"abcdefghijklmnop"}`), Meta{}); err == nil || err.(*Rejection).Reason != ReasonTooLarge {
		t.Errorf("MaxEventBytes=20: %v", err)
	}
	n.MaxEventBytes = 0
	deep := func(n int) []byte {
		return []byte(`{"id":"x","free":` + strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) + `}`)
	}
	if _, err := n.Normalize("Custom.Test", deep(MaxDepth-1), Meta{}); err != nil {
		t.Errorf("nesting of exactly MaxDepth: %v", err)
	}
	if _, err := n.Normalize("Custom.Test", deep(MaxDepth), Meta{}); err == nil || err.(*Rejection).Reason != ReasonTooDeep {
		t.Errorf("nesting of MaxDepth+1: %v", err)
	}
	n.MaxDepth = 3
	if _, err := n.Normalize("Custom.Test", deep(3), Meta{}); err == nil || err.(*Rejection).Reason != ReasonTooDeep {
		t.Errorf("MaxDepth=3: %v", err)
	}
}

// TestOutputShape checks unknown fields, key order, compaction, coercions
// and p_ fields present in the input.
func TestOutputShape(t *testing.T) {
	reg := testRegistry(t, testSchema)
	tests := []struct{ name, raw, want string }{
		{"unknown fields kept in order", `{"zeta":1,"id":"x","alpha":{"deep":[1,{"q":null}]},"obj":{"must":"m","extra":"e"},"list":[{"k":"a","other":true}]}`,
			`{"zeta":1,"id":"x","alpha":{"deep":[1,{"q":null}]},"obj":{"must":"m","extra":"e"},"list":[{"k":"a","other":true}],P}`},
		{"whitespace compacted", "{ \"id\" : \"a b\" ,\n\t\"free\": [ 1 , {\"x\" : \" y \\\" z\"} ] }\n",
			`{"id":"a b","free":[1,{"x":" y \" z"}],P}`},
		{"escapes kept", `{"id":"\u00e9\n\"\\\/"}`, `{"id":"\u00e9\n\"\\\/",P}`},
		{"numbers and booleans to string", `{"id":12,"s":true}`, `{"id":"12","s":"true",P}`},
		{"strings to numbers", `{"id":"x","i":"-42","big":"9223372036854775807","f":"1.5e3"}`, `{"id":"x","i":-42,"big":9223372036854775807,"f":1.5e3,P}`},
		{"escaped digits", `{"id":"x","i":"\u0034\u0032"}`, `{"id":"x","i":42,P}`},
		{"strings to booleans", `{"id":"x","b":"TRUE"}`, `{"id":"x","b":true,P}`},
		{"empty strings to null", `{"id":"x","i":"","b":"","ts":"","f":""}`, `{"id":"x","i":null,"b":null,"ts":null,"f":null,P}`},
		{"empty string is a string", `{"id":""}`, `{"id":"",P}`},
		{"nulls kept", `{"id":"x","s":null,"list":null,"obj":null}`, `{"id":"x","s":null,"list":null,"obj":null,P}`},
		{"input p_ fields replaced", `{"p_log_type":"Evil","id":"x","p_any_ip_addresses":["1.1.1.1"],"p_event_time":"bogus","p_x":{"a":1}}`, `{"id":"x",P}`},
		{"nested p_ fields kept", `{"id":"x","free":{"p_log_type":"kept"}}`, `{"id":"x","free":{"p_log_type":"kept"},P}`},
		{"coercion with whitespace and p_ field", "{\"p_row_id\": 1, \"id\": 7 ,\"i\" : \"8\"}", `{"id":"7","i":8,P}`},
	}
	const p = `"p_log_type":"Custom.Test","p_row_id":"ROW","p_event_time":"2025-03-05 00:00:00.000000","p_parse_time":"PARSE","p_schema_version":3`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := reg.NewNormalizer()
			ev, err := n.Normalize("Custom.Test", []byte(tt.raw), Meta{ParseTime: testParseTime})
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Replace(tt.want, "P", p, 1)
			if got := stripVolatile(ev.JSON); got != want {
				t.Errorf("\n got: %s\nwant: %s", got, want)
			}
			if !json.Valid(ev.JSON) {
				t.Errorf("invalid JSON: %s", ev.JSON)
			}
			checkMembers(t, n, ev.JSON)
		})
	}
	// Objects left with no fields.
	loose := testRegistry(t, "schema: Custom.Loose\nfields: [{name: a, type: string}]\n")
	for _, raw := range []string{`{}`, `{ }`, `{"p_row_id":"1"}`, ` {"p_a":1 , "p_b":[2]} `} {
		n := loose.NewNormalizer()
		ev, err := n.Normalize("Custom.Loose", []byte(raw), Meta{ParseTime: testParseTime, SourceID: "s", SourceLabel: "l"})
		if err != nil {
			t.Fatal(err)
		}
		checkMembers(t, n, ev.JSON)
		ev.JSON = bytes.Replace(ev.JSON, []byte(`,"p_source_id":"s","p_source_label":"l"`), nil, 1)
		want := `{"p_log_type":"Custom.Loose","p_row_id":"ROW","p_event_time":"2025-03-05 00:00:00.000000","p_parse_time":"PARSE","p_schema_version":0}`
		if got := stripVolatile(ev.JSON); got != want {
			t.Errorf("%s:\n got: %s\nwant: %s", raw, got, want)
		}
	}
}

func TestIndicators(t *testing.T) {
	schema := `
schema: Custom.Ind
fields:
  - {name: ip, type: string, indicators: [ip]}
  - {name: ips, type: array, element: {type: string, indicators: [ip]}}
  - {name: host, type: string, indicators: [hostname]}
  - {name: addr, type: string, indicators: [net_addr]}
  - {name: domain, type: string, indicators: [domain]}
  - {name: url, type: string, indicators: [url]}
  - {name: urls, type: array, element: {type: string, indicators: [url]}}
  - {name: email, type: string, indicators: [email, username]}
  - {name: user, type: string, indicators: [username]}
  - {name: md5, type: string, indicators: [md5]}
  - {name: sha1, type: string, indicators: [sha1]}
  - {name: sha256, type: string, indicators: [sha256]}
  - {name: trace, type: string, indicators: [trace_id]}
  - {name: arn, type: string, indicators: [aws_arn]}
  - {name: arnOnly, type: string, indicators: [aws_arn_only]}
  - {name: account, type: bigint, indicators: [aws_account_id]}
  - {name: instance, type: string, indicators: [aws_instance_id]}
  - {name: tag, type: string, indicators: [aws_tag]}
  - {name: blob, type: json, indicators: [ip, email, aws_arn, username, domain]}
`
	reg := testRegistry(t, schema)
	tests := []struct{ name, raw, want string }{
		{"none", `{"ip":"not an ip","host":"has space","domain":"."}`, ``},
		{"ip forms", `{"ip":" 192.0.2.1 ","ips":["192.0.2.1","2001:DB8:0:0::1","01.2.3.4","256.1.1.1","::ffff:10.0.0.1","1.2.3"]}`,
			`,"p_any_ip_addresses":["192.0.2.1","2001:db8::1","::ffff:10.0.0.1"]`},
		{"hostname and net_addr", `{"host":"WWW.Example.COM","addr":"10.1.1.1"}`,
			`,"p_any_domain_names":["www.example.com"],"p_any_ip_addresses":["10.1.1.1"]`},
		{"urls", `{"url":"https://user:pw@Login.Example.org:8443/a?b#c","urls":["http://[2001:db8::2]:80/x","ftp://198.51.100.9/f","not a url","mailto:x@y.z","https://evil.example.net"]}`,
			`,"p_any_domain_names":["evil.example.net","login.example.org"],"p_any_ip_addresses":["198.51.100.9","2001:db8::2"]`},
		{"email and username", `{"email":"Jane.Doe@Example.com","user":"jane"}`,
			`,"p_any_emails":["Jane.Doe@Example.com"],"p_any_usernames":["Jane.Doe@Example.com","jane"]`},
		{"not an email is still a username", `{"email":"system"}`, `,"p_any_usernames":["system"]`},
		{"hashes", `{"md5":"D41D8CD98F00B204E9800998ECF8427E","sha1":"da39a3ee5e6b4b0d3255bfef95601890afd80709","sha256":"abc"}`,
			`,"p_any_md5_hashes":["d41d8cd98f00b204e9800998ecf8427e"],"p_any_sha1_hashes":["da39a3ee5e6b4b0d3255bfef95601890afd80709"]`},
		{"aws", `{"arn":"arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0","arnOnly":"arn:aws:iam::444455556666:user/bob","account":111122223333,"instance":"i-deadbeef","tag":"env:prod","trace":"1-5759e988-bd862e3fe1be46a994272793"}`,
			`,"p_any_aws_account_ids":["111122223333"],"p_any_aws_arns":["arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0","arn:aws:iam::444455556666:user/bob"],` +
				`"p_any_aws_instance_ids":["i-0123456789abcdef0","i-deadbeef"],"p_any_aws_tags":["env:prod"],"p_any_trace_ids":["1-5759e988-bd862e3fe1be46a994272793"]`},
		{"json fields keep only look-alikes", `{"blob":{"a":"10.0.0.1","b":["x@example.com","plain words",{"c":"arn:aws:s3:::bucket/key"}],"d":12,"e":"example.net","f":"localhost","g":"1.2.3.4.5"}}`,
			`,"p_any_aws_arns":["arn:aws:s3:::bucket/key"],"p_any_domain_names":["example.net"],"p_any_emails":["x@example.com"],"p_any_ip_addresses":["10.0.0.1"]`},
		{"deduplicated and sorted", `{"ips":["10.0.0.2","10.0.0.1","10.0.0.2"],"ip":"10.0.0.1","host":"10.0.0.10","blob":["10.0.0.2"]}`,
			`,"p_any_ip_addresses":["10.0.0.1","10.0.0.10","10.0.0.2"]`},
		{"escaped values", `{"user":"a\"b\\c\u0001","ip":"\u0031.1.1.1"}`,
			`,"p_any_ip_addresses":["1.1.1.1"]`},
		{"unicode username", `{"user":"j\u00fcrgen"}`, `,"p_any_usernames":["jürgen"]`},
		{"surrogate pairs", `{"user":"\ud83d\ude00 \ud800 \udc00x \u00e9\t"}`, ",\"p_any_usernames\":[\"😀 \uFFFD \uFFFDx é\"]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := reg.NewNormalizer().Normalize("Custom.Ind", []byte(tt.raw), Meta{ParseTime: testParseTime})
			if err != nil {
				t.Fatal(err)
			}
			s := string(ev.JSON)
			got := s[strings.Index(s, `"p_schema_version":0`)+len(`"p_schema_version":0`) : len(s)-1]
			if got != tt.want {
				t.Errorf("\n got: %s\nwant: %s", got, tt.want)
			}
			if !json.Valid(ev.JSON) {
				t.Errorf("invalid JSON: %s", ev.JSON)
			}
		})
	}
}

func TestEventTimeFormats(t *testing.T) {
	tests := []struct {
		format, value string
		want          string // p_event_time, or "" for a bad_type rejection
	}{
		{"rfc3339", `"2025-03-04T17:42:09.118Z"`, "2025-03-04 17:42:09.118000"},
		{"rfc3339", `"2025-03-04T17:42:09Z"`, "2025-03-04 17:42:09.000000"},
		{"rfc3339", `"2025-03-04t17:42:09.123456789-05:30"`, "2025-03-04 23:12:09.123456"},
		{"rfc3339", `"2025-03-04T17:42:09+0100"`, "2025-03-04 16:42:09.000000"},
		{"rfc3339", `"2025-03-04 17:42:09.5"`, "2025-03-04 17:42:09.500000"},
		{"rfc3339", `"2024-02-29T00:00:00Z"`, "2024-02-29 00:00:00.000000"},
		{"rfc3339", `"2025-02-29T00:00:00Z"`, ""},
		{"rfc3339", `"2025-03-04T25:00:00Z"`, ""},
		{"rfc3339", `"2025-03-04"`, ""},
		{"rfc3339", `"2025-03-04T17:42:09.Z"`, ""},
		{"rfc3339", `"2025-03-04T17:42:09Zjunk"`, ""},
		{"unix", `1741110129`, "2025-03-04 17:42:09.000000"},
		{"unix", `1741110129.118`, "2025-03-04 17:42:09.118000"},
		{"unix", `"1741110129.5"`, "2025-03-04 17:42:09.500000"},
		{"unix", `1.741110129e9`, "2025-03-04 17:42:09.000000"},
		{"unix", `-1`, "1969-12-31 23:59:59.000000"},
		{"unix", `99999999999999`, ""},
		{"unix", `"soon"`, ""},
		{"unix_ms", `1741110129118`, "2025-03-04 17:42:09.118000"},
		{"unix_ms", `"1741110129118"`, "2025-03-04 17:42:09.118000"},
		{"unix_us", `1741110129118456`, "2025-03-04 17:42:09.118456"},
		{"unix_ns", `1741110129118456789`, "2025-03-04 17:42:09.118456"},
		{"unix_ns", `17411101291184567890`, ""},
		{"%Y-%m-%d %H:%M:%S", `"2025-03-04 17:42:09"`, "2025-03-04 17:42:09.000000"},
		{"%Y-%m-%d %H:%M:%S.%f", `"2025-03-04 17:42:09.118"`, "2025-03-04 17:42:09.118000"},
		{"%d/%b/%Y:%H:%M:%S %z", `"04/Mar/2025:17:42:09 -0700"`, "2025-03-05 00:42:09.000000"},
		{"%a, %d %b %Y %H:%M:%S %Z", `"Tue, 04 Mar 2025 17:42:09 GMT"`, "2025-03-04 17:42:09.000000"},
		{"%B %e, %Y %I:%M %p", `"March  4, 2025 05:42 PM"`, "2025-03-04 17:42:00.000000"},
		{"%B %e, %Y %I:%M %p", `"March 4, 2025 12:05 am"`, "2025-03-04 00:05:00.000000"},
		{"%Y-%j", `"2025-063"`, "2025-03-04 00:00:00.000000"},
		{"%F %T", `"2025-03-04 17:42:09"`, "2025-03-04 17:42:09.000000"},
		{"%D", `"03/04/25"`, "2025-03-04 00:00:00.000000"},
		{"%s", `"1741110129"`, "2025-03-04 17:42:09.000000"},
		{"%Y%m%dT%H%M%SZ", `"20250304T174209Z"`, "2025-03-04 17:42:09.000000"},
		{"%Y-%m-%d %H:%M:%S", `"2025-03-04T17:42:09"`, ""},
		{"%Y-%m-%d %H:%M:%S", `1741110129`, ""},
		{"%Y-%m-%d %H:%M:%S %Z", `"2025-03-04 17:42:09 PST"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.value, func(t *testing.T) {
			src := "schema: Custom.Time\nfields:\n  - name: t\n    type: timestamp\n    isEventTime: true\n    timeFormat: '" + tt.format + "'\n"
			reg := testRegistry(t, src)
			ev, err := reg.NewNormalizer().Normalize("Custom.Time", []byte(`{"t":`+tt.value+`}`), Meta{ParseTime: testParseTime})
			if tt.want == "" {
				if err == nil || err.(*Rejection).Reason != ReasonBadType || err.(*Rejection).Path != "t" {
					t.Fatalf("want bad_type at t, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ev.Time.Format(PantherTimeLayout); got != tt.want {
				t.Errorf("event time %s, want %s", got, tt.want)
			}
			if !bytes.Contains(ev.JSON, []byte(`"p_event_time":"`+tt.want+`"`)) {
				t.Errorf("output lacks p_event_time %s: %s", tt.want, ev.JSON)
			}
			if !bytes.Contains(ev.JSON, []byte(`{"t":`+tt.value+`,`)) {
				t.Errorf("the original timestamp must be kept as it was: %s", ev.JSON)
			}
		})
	}
}

func TestEventTimeChoice(t *testing.T) {
	src := `
schema: Custom.Times
fields:
  - {name: first, type: timestamp, timeFormat: unix, isEventTime: true}
  - name: nested
    type: object
    fields:
      - {name: second, type: timestamp, timeFormat: unix, isEventTime: true}
  - {name: third, type: timestamp, timeFormat: unix, isEventTime: true}
  - {name: other, type: timestamp, timeFormat: unix}
`
	reg := testRegistry(t, src)
	tests := []struct{ name, raw, want string }{
		{"schema order, not input order", `{"third":3,"nested":{"second":2},"first":1}`, "1970-01-01 00:00:01.000000"},
		{"first absent", `{"third":3,"nested":{"second":2}}`, "1970-01-01 00:00:02.000000"},
		{"first null", `{"first":null,"third":3}`, "1970-01-01 00:00:03.000000"},
		{"first empty", `{"first":"","third":3}`, "1970-01-01 00:00:03.000000"},
		{"not an event-time field", `{"other":4}`, "2025-03-05 00:00:00.000000"},
		{"none: the parse time", `{}`, "2025-03-05 00:00:00.000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := reg.NewNormalizer().Normalize("Custom.Times", []byte(tt.raw), Meta{ParseTime: testParseTime})
			if err != nil {
				t.Fatal(err)
			}
			if got := ev.Time.Format(PantherTimeLayout); got != tt.want {
				t.Errorf("event time %s, want %s", got, tt.want)
			}
		})
	}
	// Without Meta.ParseTime, the parse time is now, to the microsecond.
	n := reg.NewNormalizer()
	n.now = func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 6789, time.FixedZone("x", 3600)) }
	ev, err := n.Normalize("Custom.Times", []byte(`{}`), Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.ParseTime.Format(PantherTimeLayout); got != "2030-01-02 02:04:05.000006" || ev.ParseTime.Location() != time.UTC {
		t.Errorf("parse time %s", got)
	}
}

func TestRowIDs(t *testing.T) {
	reg := NewRegistry()
	raw := readTestdata(t, "syslog_sshd.json")
	seen := map[string]bool{}
	var last string
	for i := range 3 {
		n := reg.NewNormalizer()
		for j := range 100 {
			ev, err := n.Normalize("Syslog.RFC5424", raw, Meta{ParseTime: testParseTime.Add(time.Duration(i) * time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			if seen[ev.RowID] {
				t.Fatalf("duplicate row ID %s", ev.RowID)
			}
			seen[ev.RowID] = true
			if j > 0 && ev.RowID <= last {
				t.Errorf("row IDs of one normalizer must increase: %s after %s", ev.RowID, last)
			}
			last = ev.RowID
		}
	}
}

func TestNormalizeTo(t *testing.T) {
	reg := NewRegistry()
	n := reg.NewNormalizer()
	raw := readTestdata(t, "syslog_sshd.json")
	buf := []byte("prefix|")
	ev, err := n.NormalizeTo(buf, "Syslog.RFC5424", raw, Meta{ParseTime: testParseTime})
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(ev.JSON) || !bytes.HasPrefix(ev.JSON, []byte(`{"priority":86`)) {
		t.Errorf("JSON = %s", ev.JSON)
	}
	checkMembers(t, n, ev.JSON)
	if _, err := n.NormalizeTo(nil, "Syslog.RFC5424", []byte(`[]`), Meta{}); err == nil {
		t.Error("want a rejection")
	}
	// Normalize's result is the caller's: later calls do not change it.
	a, _ := n.Normalize("Syslog.RFC5424", raw, Meta{ParseTime: testParseTime})
	keep := string(a.JSON)
	n.Normalize("GitHub.Audit", readTestdata(t, "github_hook_create.json"), Meta{})
	if string(a.JSON) != keep {
		t.Error("Normalize's JSON was overwritten by the next call")
	}
}

func TestRegistry(t *testing.T) {
	reg := NewRegistry()
	want := []string{"AWS.CloudTrail", "GSuite.Reports", "GitHub.Audit", "Okta.SystemLog", "Syslog.RFC5424"}
	if got := reg.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v", got)
	}
	s, ok := reg.Get("Okta.SystemLog")
	if !ok || s.TableName != "okta_systemlog" || s.Version != 0 || !reg.IsBuiltin("Okta.SystemLog") {
		t.Errorf("Get(Okta.SystemLog) = %+v %v", s, ok)
	}
	if _, ok := reg.Get("Nope.Nope"); ok {
		t.Error("Get of an unknown name")
	}
	mk := func(name string, required bool) *Schema {
		return &Schema{Name: name, Fields: []Field{{Name: "a", Type: TypeString, Required: required}}}
	}
	n := reg.NewNormalizer()
	if err := reg.Add(mk("Custom.App", false)); err != nil {
		t.Fatal(err)
	}
	if got, _ := reg.Get("Custom.App"); got.TableName != "custom_app" || reg.IsBuiltin("Custom.App") {
		t.Errorf("custom schema %+v", got)
	}
	if _, err := n.Normalize("Custom.App", []byte(`{"b":1}`), Meta{}); err != nil {
		t.Fatal(err)
	}
	// Replacing a custom schema reaches existing normalizers.
	if err := reg.Add(mk("Custom.App", true)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Normalize("Custom.App", []byte(`{"b":1}`), Meta{}); err == nil {
		t.Error("the replaced schema requires a")
	}
	for _, tt := range []struct {
		s    *Schema
		want string
	}{
		{mk("Okta.SystemLog", false), "must match Custom.Name"},
		{mk("Custom.Okta.SystemLog", false), ""},
		{mk("Custom.APP", false), "would use table custom_app, which Custom.App already uses"},
		{mk("MyApp", false), "not a custom log type name"},
		{mk("Foo.Bar", false), `did you mean "Custom.Foo.Bar"`},
		{mk("Custom..X", false), "not a custom log type name"},
		{&Schema{Name: "Custom.Empty"}, "at least one field"},
		{&Schema{Name: "Custom.Bad", Fields: []Field{{Name: "a", Type: "strng"}}}, `unknown type "strng" (did you mean "string"?)`},
		{nil, "no schema"},
	} {
		err := reg.Add(tt.s)
		if tt.want == "" {
			if err != nil {
				t.Errorf("Add: %v", err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Add(%v): %v, want %q", tt.s, err, tt.want)
		}
	}
}

// TestConcurrentNormalizers runs normalizers on several goroutines while
// custom schemas are added (run with -race).
func TestConcurrentNormalizers(t *testing.T) {
	reg := NewRegistry()
	events := oktaEvents(50)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := reg.NewNormalizer()
			for _, raw := range events {
				if _, err := n.Normalize("Okta.SystemLog", raw, Meta{}); err != nil {
					t.Error(err)
					return
				}
				n.Normalize("Custom.Race", raw, Meta{})
			}
			_ = g
		}()
	}
	for i := range 20 {
		s := &Schema{Name: "Custom.Race", Version: i, Fields: []Field{{Name: "uuid", Type: TypeString}}}
		if err := reg.Add(s); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

// TestOktaEventsNormalize checks every generated benchmark event.
func TestOktaEventsNormalize(t *testing.T) {
	n := NewRegistry().NewNormalizer()
	for i, raw := range oktaEvents(200) {
		ev, err := n.Normalize("Okta.SystemLog", raw, Meta{})
		if err != nil {
			t.Fatalf("event %d: %v\n%s", i, err, raw)
		}
		var m map[string]any
		if err := json.Unmarshal(ev.JSON, &m); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if len(m["p_any_ip_addresses"].([]any)) == 0 || m["p_event_time"] == nil {
			t.Fatalf("event %d: %v", i, m)
		}
		checkMembers(t, n, ev.JSON)
	}
}

// FuzzNormalize checks that Normalize never panics, that it accepts only
// valid JSON, and that its output is valid JSON holding every input field.
//
//	go test ./internal/logtypes -run '^$' -fuzz FuzzNormalize -fuzztime 60s
func FuzzNormalize(f *testing.F) {
	for _, name := range []string{"okta_failed_login.json", "cloudtrail_runinstances.json", "github_hook_create.json", "gsuite_login_failure.json", "syslog_sshd.json"} {
		raw, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, uint8(0))
	}
	for _, s := range []string{`{}`, `{"id":"x","i":"1","b":"true","s":1,"p_x":2}`, "{ \"id\" : [ 1 ,{}] }", `[1]`, `{"id":"\ud800"}`, `{"a":"\u0000"}`} {
		f.Add([]byte(s), uint8(5))
	}
	reg := testRegistry(f, testSchema)
	names := append(reg.Names(), "Custom.Test")
	f.Fuzz(func(t *testing.T, raw []byte, which uint8) {
		n := reg.NewNormalizer()
		n.MaxDepth = 20
		logType := names[int(which)%len(names)]
		ev, err := n.Normalize(logType, raw, Meta{SourceLabel: string(raw[:min(len(raw), 8)])})
		if err != nil {
			var rej *Rejection
			if !errors.As(err, &rej) || !slices.Contains(Reasons(), rej.Reason) || rej.Detail == "" {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("accepted invalid JSON %q", raw)
		}
		if !json.Valid(ev.JSON) {
			t.Fatalf("invalid output %q from %q", ev.JSON, raw)
		}
		checkMembers(t, n, ev.JSON)
		var in, out map[string]json.RawMessage
		if err := json.Unmarshal(raw, &in); err != nil {
			t.Fatalf("accepted a non-object: %q", raw)
		}
		if err := json.Unmarshal(ev.JSON, &out); err != nil {
			t.Fatal(err)
		}
		for k := range in {
			if _, ok := out[k]; !ok && !strings.HasPrefix(k, "p_") {
				t.Fatalf("field %q lost: %q -> %q", k, raw, ev.JSON)
			}
		}
		if _, ok := out["p_row_id"]; !ok {
			t.Fatal("no p_row_id")
		}
	})
}

func TestSourceLabelEscaped(t *testing.T) {
	n := NewRegistry().NewNormalizer()
	ev, err := n.Normalize("Syslog.RFC5424", []byte(`{}`), Meta{SourceID: "id\"1", SourceLabel: "a\nb\x01\xff\\ \u2028"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ev.JSON, []byte(`"p_source_id":"id\"1","p_source_label":"a\nb\u0001\ufffd\\ \u2028"`)) || !json.Valid(ev.JSON) {
		t.Errorf("%s", ev.JSON)
	}
}

// TestRejectionTextIsSafe checks that attacker-controlled keys and values
// cannot put line breaks or invalid UTF-8 into a rejection's Detail, which
// reports print one a line.
func TestRejectionTextIsSafe(t *testing.T) {
	reg := testRegistry(t, testSchema)
	for _, raw := range []string{
		`{"id":"x","free":{"a\nforged.yml:1: ok":[1 2]}}`,
		`{"id":"x","obj":{"must":"m","n":"` + strings.Repeat("é", 40) + `"}}`,
		`{"id":"x","free":{"\u0000\u001b[31m":tru}}`,
	} {
		_, err := reg.NewNormalizer().Normalize("Custom.Test", []byte(raw), Meta{})
		if err == nil {
			t.Fatalf("%s: want a rejection", raw)
		}
		d := err.(*Rejection).Detail
		if strings.ContainsAny(d, "\n\r\x00\x1b") || !utf8.ValidString(d) {
			t.Errorf("unsafe detail %q", d)
		}
	}
}

func TestIndicatorNames(t *testing.T) {
	fields := IndicatorFields()
	want := []string{"p_any_aws_account_ids", "p_any_aws_arns", "p_any_aws_instance_ids", "p_any_aws_tags", "p_any_domain_names", "p_any_emails",
		"p_any_ip_addresses", "p_any_md5_hashes", "p_any_sha1_hashes", "p_any_sha256_hashes", "p_any_trace_ids", "p_any_usernames"}
	if !slices.Equal(fields, want) {
		t.Errorf("IndicatorFields() = %v", fields)
	}
	if got := Indicators(); len(got) != 16 || !slices.IsSorted(got) || !slices.Contains(got, "aws_arn_only") {
		t.Errorf("Indicators() = %v", got)
	}
}

// checkMembers compares the normalizer's member offsets for the event it
// last returned with the top-level keys encoding/json finds in json.
func checkMembers(t *testing.T, n *Normalizer, event []byte) {
	t.Helper()
	var want []uint32
	dec := json.NewDecoder(bytes.NewReader(event))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", event)
	}
	for dec.More() {
		// Compact JSON: the key starts right after the '{' or ','.
		off := dec.InputOffset()
		if event[off] == ',' {
			off++
		}
		want = append(want, uint32(off))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.AppendMembers(nil); !slices.Equal(got, want) {
		t.Errorf("members of %s\n got: %v\nwant: %v", event, got, want)
	}
}

// AppendEvent fills one batch's memory: every event keeps its JSON and key
// offsets while later events grow the arena past its capacity, and a
// rejected record leaves the arena and the offsets as they were.
func TestAppendEvent(t *testing.T) {
	n := NewRegistry().NewNormalizer()
	inputs := []struct{ logType, file string }{
		{"Syslog.RFC5424", "syslog_sshd.json"}, {"GitHub.Audit", "github_hook_create.json"},
		{"Syslog.RFC5424", "syslog_sshd.json"}, {"GitHub.Audit", "github_hook_create.json"},
	}
	free := make([]byte, 0, 64) // too small for even one event: it grows
	var members []uint32
	var events []Event
	var want []string
	var wantMembers [][]uint32
	for i, in := range inputs {
		ev, rest, grown, err := n.AppendEvent(free, members, in.logType, readTestdata(t, in.file), Meta{ParseTime: testParseTime})
		if err != nil {
			t.Fatal(err)
		}
		if cap(ev.JSON) != len(ev.JSON) || cap(ev.Members) != len(ev.Members) {
			t.Errorf("event %d is not capped: JSON %d/%d, members %d/%d", i, len(ev.JSON), cap(ev.JSON), len(ev.Members), cap(ev.Members))
		}
		checkMembers(t, n, ev.JSON)
		if !slices.Equal(ev.Members, n.AppendMembers(nil)) {
			t.Errorf("event %d: members %v, want %v", i, ev.Members, n.AppendMembers(nil))
		}
		events, want, wantMembers = append(events, ev), append(want, string(ev.JSON)), append(wantMembers, slices.Clone(ev.Members))
		free, members = rest, grown
		if _, r2, m2, err := n.AppendEvent(free, members, in.logType, []byte(`[]`), Meta{}); err == nil || cap(r2) != cap(free) || len(m2) != len(members) {
			t.Errorf("a rejected record must leave the arena (%d, now %d) and the offsets (%d, now %d) alone: %v",
				cap(free), cap(r2), len(members), len(m2), err)
		}
	}
	for i, ev := range events {
		if string(ev.JSON) != want[i] || !slices.Equal(ev.Members, wantMembers[i]) {
			t.Errorf("event %d changed after later events were appended:\n%s\nwas\n%s", i, ev.JSON, want[i])
		}
	}
}

// TestBatchMemory checks that a batch's events keep their memory until
// Reset, that a rejected record leaves the batch alone, and that the next
// batch reuses the arena, grown to the size of the one before.
func TestBatchMemory(t *testing.T) {
	n := NewRegistry().NewNormalizer()
	raw := readTestdata(t, "github_hook_create.json")
	var m BatchMemory
	var first []Event
	var want []string
	size := 0
	for range 3 {
		ev, err := m.Append(n, "GitHub.Audit", raw, Meta{ParseTime: testParseTime})
		if err != nil {
			t.Fatal(err)
		}
		first, want = append(first, ev), append(want, string(ev.JSON))
		size += len(ev.JSON)
		if _, err := m.Append(n, "GitHub.Audit", []byte(`[]`), Meta{}); err == nil {
			t.Fatal("a JSON array normalized as an event")
		}
	}
	for i, ev := range first {
		if string(ev.JSON) != want[i] || len(ev.Members) == 0 {
			t.Errorf("event %d of the batch changed: %s", i, ev.JSON)
		}
	}
	m.Reset()
	if cap(m.arena) < size || len(m.members) != 0 {
		t.Fatalf("after Reset the arena holds %d bytes for a batch of %d, %d offsets left", cap(m.arena), size, len(m.members))
	}
	ev, err := m.Append(n, "GitHub.Audit", raw, Meta{ParseTime: testParseTime})
	if err != nil {
		t.Fatal(err)
	}
	if &ev.JSON[0] != &m.arena[:1][0] {
		t.Error("the next batch does not start in the arena")
	}
}

// TestPantherTimeMatchesLayout renders times in runs that share a day, cross
// midnight and jump across years (before 1970 too) and checks each against
// time.Format with PantherTimeLayout.
func TestPantherTimeMatchesLayout(t *testing.T) {
	var p pantherTime
	rng := rand.New(rand.NewPCG(1, 2))
	at := time.Date(1969, 12, 31, 23, 59, 58, 999_999_000, time.UTC)
	for i := range 20000 {
		switch i % 100 {
		case 0: // a jump to another year, sometimes before the epoch
			at = time.Unix(rng.Int64N(4e9)-1e9, rng.Int64N(1e9)).UTC()
		default:
			at = at.Add(time.Duration(rng.Int64N(int64(3 * time.Hour))))
		}
		if i%7 == 0 { // a time in another zone renders in UTC
			at = at.In(time.FixedZone("x", -5*3600))
		}
		got := string(p.append(nil, at))
		if want := at.UTC().Format(PantherTimeLayout); got != want {
			t.Fatalf("%v: rendered %q, want %q", at, got, want)
		}
	}
}
