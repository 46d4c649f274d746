package logtypes

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadSchemaErrors(t *testing.T) {
	const field = "fields:\n  - name: a\n    type: string\n"
	tests := []struct {
		name, src string
		want      []string // each a line of the error, in order
	}{
		{"empty file", "", []string{"test.yml:1: the file is empty"}},
		{"not a mapping", "- a\n", []string{"test.yml:1: a schema file must be a mapping"}},
		{"yaml syntax", "schema: Custom.A\nfields: [\n", []string{"test.yml:2: YAML syntax: did not find expected node content"}},
		{"unknown top-level key", "schema: Custom.A\nversoin: 1\n" + field,
			[]string{`test.yml:2: unknown key "versoin" (did you mean "version"?); keys here are schema, description, referenceURL, version, fields`}},
		{"repeated key", "schema: Custom.A\nschema: Custom.B\n" + field, []string{`test.yml:2: key "schema" is repeated (first at line 1)`}},
		{"parser", "schema: Custom.A\nparser:\n  csv: {}\n" + field, []string{"test.yml:2: parser: prowl schemas describe JSON events"}},
		{"missing name", "version: 1\n" + field, []string{"test.yml:1: schema: a name is required"}},
		{"not custom", "schema: MyApp\n" + field, []string{`test.yml:1: schema: "MyApp" is not a custom log type name`}},
		{"needs Custom prefix", "schema: Acme.Audit\n" + field, []string{`(did you mean "Custom.Acme.Audit"?)`}},
		{"bad version", "schema: Custom.A\nversion: one\n" + field, []string{`test.yml:2: version: expected a whole number, got "one"`}},
		{"negative version", "schema: Custom.A\nversion: -1\n" + field, []string{`test.yml:2: version: must be 0 or more`}},
		{"no fields", "schema: Custom.A\n", []string{"test.yml:1: fields: a schema needs at least one field"}},
		{"fields not a list", "schema: Custom.A\nfields: {a: 1}\n", []string{"test.yml:2: fields: expected a list of fields"}},
		{"field not a mapping", "schema: Custom.A\nfields:\n  - a\n", []string{`test.yml:3: expected a field (a mapping with name and type), got "a"`}},
		{"unknown field key", "schema: Custom.A\nfields:\n  - name: t\n    type: timestamp\n    timeformat: unix\n",
			[]string{`test.yml:5: unknown key "timeformat" (did you mean "timeFormat"?)`}},
		{"unknown type", "schema: Custom.A\nfields:\n  - name: a\n    type: strng\n",
			[]string{`test.yml:4: a: unknown type "strng" (did you mean "string"?); types are string, int, bigint, float, boolean, timestamp, array, object, json`}},
		{"missing type", "schema: Custom.A\nfields:\n  - name: a\n", []string{"test.yml:3: a: a type is required"}},
		{"missing name", "schema: Custom.A\nfields:\n  - type: string\n", []string{"test.yml:3: a field needs a name"}},
		{"required not a boolean", "schema: Custom.A\nfields:\n  - name: a\n    type: string\n    required: yes\n",
			[]string{`test.yml:5: required: expected true or false, got "yes"`}},
		{"unknown indicator", "schema: Custom.A\nfields:\n  - name: a\n    type: string\n    indicators: [ip, emial]\n",
			[]string{`test.yml:5: a: unknown indicator "emial" (did you mean "email"?); indicators are aws_account_id,`}},
		{"indicator twice", "schema: Custom.A\nfields:\n  - name: a\n    type: string\n    indicators: [ip, ip]\n", []string{`indicator "ip" is listed twice`}},
		{"indicators on boolean", "schema: Custom.A\nfields:\n  - name: a\n    type: boolean\n    indicators: [ip]\n",
			[]string{"test.yml:5: a: indicators apply to string, int, bigint and json fields, not boolean"}},
		{"indicators on array", "schema: Custom.A\nfields:\n  - name: a\n    type: array\n    indicators: [ip]\n    element: {type: string}\n",
			[]string{"test.yml:5: a: put indicators on the array's element"}},
		{"timestamp without format", "schema: Custom.A\nfields:\n  - name: t\n    type: timestamp\n", []string{"test.yml:4: t: a timestamp field needs a timeFormat"}},
		{"bad time format", "schema: Custom.A\nfields:\n  - name: t\n    type: timestamp\n    timeFormat: unixms\n",
			[]string{`test.yml:5: t: timeFormat: "unixms" is neither rfc3339, unix, unix_ms, unix_us, unix_ns nor a strftime pattern (did you mean "unix_ms"?)`}},
		{"bad strftime", "schema: Custom.A\nfields:\n  - name: t\n    type: timestamp\n    timeFormat: '%Y %Q'\n", []string{"test.yml:5: t: timeFormat: unsupported conversion %Q"}},
		{"strftime without year", "schema: Custom.A\nfields:\n  - name: t\n    type: timestamp\n    timeFormat: '%b %d %H:%M:%S'\n", []string{"needs a year"}},
		{"timeFormat on string", "schema: Custom.A\nfields:\n  - name: a\n    type: string\n    timeFormat: unix\n", []string{"test.yml:5: a: timeFormat applies only to timestamp fields"}},
		{"isEventTime on string", "schema: Custom.A\nfields:\n  - name: a\n    type: string\n    isEventTime: true\n", []string{"test.yml:5: a: isEventTime applies only to timestamp fields"}},
		{"event time in array", "schema: Custom.A\nfields:\n  - name: l\n    type: array\n    element:\n      type: object\n      fields:\n        - name: t\n          type: timestamp\n          timeFormat: unix\n          isEventTime: true\n",
			[]string{"test.yml:11: l[].t: an event-time field cannot be inside an array"}},
		{"array without element", "schema: Custom.A\nfields:\n  - name: l\n    type: array\n", []string{"test.yml:4: l: an array field needs an element"}},
		{"element on string", "schema: Custom.A\nfields:\n  - name: l\n    type: string\n    element: {type: string}\n", []string{"test.yml:5: l: element applies only to array fields"}},
		{"named element", "schema: Custom.A\nfields:\n  - name: l\n    type: array\n    element: {name: x, type: string}\n", []string{"test.yml:5: l[]: an array element takes no name"}},
		{"required element", "schema: Custom.A\nfields:\n  - name: l\n    type: array\n    element:\n      type: string\n      required: true\n", []string{"test.yml:7: l[]: required does not apply to an array element"}},
		{"object without fields", "schema: Custom.A\nfields:\n  - name: o\n    type: object\n", []string{"test.yml:4: o: an object field needs fields (use type json for free-form objects)"}},
		{"fields on json", "schema: Custom.A\nfields:\n  - name: o\n    type: json\n    fields: [{name: a, type: string}]\n", []string{"test.yml:5: o: fields applies only to object fields"}},
		{"duplicate field", "schema: Custom.A\nfields:\n  - {name: a, type: string}\n  - {name: b, type: string}\n  - {name: a, type: int}\n", []string{`test.yml:5: field "a" is declared twice`}},
		{"duplicate nested field", "schema: Custom.A\nfields:\n  - name: o\n    type: object\n    fields:\n      - {name: a, type: string}\n      - {name: a, type: string}\n", []string{`test.yml:7: field "o.a" is declared twice`}},
		{"reserved name", "schema: Custom.A\nfields:\n  - {name: p_log_type, type: string}\n", []string{`test.yml:3: field "p_log_type": names starting with p_ are reserved`}},
		{"several problems, in line order", "schema: Custom.A\nfields:\n  - {name: a, type: strin}\n  - {name: b, type: int, isEventTime: true}\n  - {name: c, type: sting}\n",
			[]string{`test.yml:3: a: unknown type "strin"`, "test.yml:4: b: isEventTime applies only", `test.yml:5: c: unknown type "sting"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchema("test.yml", []byte(tt.src))
			var errs SchemaErrors
			if !errors.As(err, &errs) {
				t.Fatalf("want SchemaErrors, got %v (schema %+v)", err, s)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("problem %d:\n got: %s\nwant: %s", i, lines[i], w)
				}
			}
		})
	}
}

func TestLoadSchemaFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yml")
	src := `# My app's audit log.
schema: Custom.MyApp.Audit
description: Audit events of my app.
referenceURL: https://example.com/docs
version: 2
fields:
  - name: time
    type: timestamp
    timeFormat: '%Y-%m-%d %H:%M:%S'
    isEventTime: true
    required: true
    description: When it happened.
  - name: user
    type: object
    fields:
      - {name: email, type: string, indicators: [email, username]}
      - {name: ip, type: string, indicators: [ip]}
  - name: tags
    type: array
    element: {type: string}
  - name: extra
    type: json
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSchemaFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &Schema{Name: "Custom.MyApp.Audit", Description: "Audit events of my app.", ReferenceURL: "https://example.com/docs",
		Version: 2, TableName: "custom_myapp_audit", Fields: []Field{
			{Name: "time", Type: TypeTimestamp, TimeFormat: "%Y-%m-%d %H:%M:%S", IsEventTime: true, Required: true, Description: "When it happened."},
			{Name: "user", Type: TypeObject, Fields: []Field{
				{Name: "email", Type: TypeString, Indicators: []string{"email", "username"}},
				{Name: "ip", Type: TypeString, Indicators: []string{"ip"}},
			}},
			{Name: "tags", Type: TypeArray, Element: &Field{Type: TypeString}},
			{Name: "extra", Type: TypeJSON},
		}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
	reg := NewRegistry()
	if err := reg.Add(s); err != nil {
		t.Fatal(err)
	}
	ev, err := reg.NewNormalizer().Normalize("Custom.MyApp.Audit", []byte(`{"time":"2025-01-02 03:04:05","user":{"email":"a@example.com","ip":"192.0.2.7"}}`), Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ev.JSON, []byte(`"p_event_time":"2025-01-02 03:04:05.000000","p_parse_time"`)) ||
		!bytes.Contains(ev.JSON, []byte(`"p_schema_version":2,"p_any_emails":["a@example.com"],"p_any_ip_addresses":["192.0.2.7"],"p_any_usernames":["a@example.com"]}`)) {
		t.Errorf("normalized: %s", ev.JSON)
	}
	if _, err := LoadSchemaFile(filepath.Join(dir, "missing.yml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte("schema: Custom.X\nfields:\n  - {name: a, type: nope}\n"), 0o644)
	if _, err := LoadSchemaFile(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":3: a: unknown type") {
		t.Errorf("bad file: %v", err)
	}
}

// TestBuiltinSchemasRoundTrip writes each built-in schema as YAML and reads
// it back: the writer and the loader agree, and so do built-ins and custom
// schema files.
func TestBuiltinSchemasRoundTrip(t *testing.T) {
	reg := NewRegistry()
	for _, name := range reg.Names() {
		s, _ := reg.Get(name)
		var buf bytes.Buffer
		if err := WriteSchemaYAML(&buf, s); err != nil {
			t.Fatal(err)
		}
		back, err := parseSchema(name, buf.Bytes(), true)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, buf.String())
		}
		if !reflect.DeepEqual(back, s) {
			t.Errorf("%s: the YAML round trip changed the schema", name)
		}
		// Every built-in has an event-time field and a description per field.
		events := 0
		walkFields(s.Fields, func(f *Field) {
			if f.IsEventTime {
				events++
			}
			if f.Description == "" && f.Name != "" {
				t.Errorf("%s: field %s has no description", name, f.Name)
			}
		})
		if events == 0 || s.Description == "" || s.ReferenceURL == "" {
			t.Errorf("%s: needs an event-time field, a description and a reference URL", name)
		}
	}
}

func TestOktaSchemaCoversLogEvent(t *testing.T) {
	s, _ := NewRegistry().Get("Okta.SystemLog")
	paths := map[string]*Field{}
	var walk func(prefix string, fs []Field)
	walk = func(prefix string, fs []Field) {
		for i := range fs {
			f := &fs[i]
			p := prefix + f.Name
			paths[p] = f
			if f.Element != nil {
				paths[p+"[]"] = f.Element
				walk(p+"[].", f.Element.Fields)
			}
			walk(p+".", f.Fields)
		}
	}
	walk("", s.Fields)
	for path, want := range map[string]string{
		"uuid": "string!", "published": "timestamp!", "eventType": "string!", "version": "string!", "severity": "string!",
		"legacyEventType": "string", "displayMessage": "string",
		"actor.id": "string!", "actor.type": "string!", "actor.alternateId": "string email username", "actor.displayName": "string", "actor.detailEntry": "json",
		"client.userAgent.rawUserAgent": "string", "client.userAgent.os": "string", "client.userAgent.browser": "string",
		"client.zone": "string", "client.device": "string", "client.id": "string", "client.ipAddress": "string ip",
		"client.geographicalContext.city": "string", "client.geographicalContext.state": "string", "client.geographicalContext.country": "string",
		"client.geographicalContext.postalCode": "string", "client.geographicalContext.geolocation.lat": "float", "client.geographicalContext.geolocation.lon": "float",
		"device.id": "string", "device.os_platform": "string", "device.managed": "boolean",
		"authenticationContext.authenticationProvider": "string", "authenticationContext.credentialProvider": "string",
		"authenticationContext.credentialType": "string", "authenticationContext.issuer.id": "string", "authenticationContext.issuer.type": "string",
		"authenticationContext.interface": "string", "authenticationContext.authenticationStep": "int",
		"authenticationContext.externalSessionId": "string", "authenticationContext.rootSessionId": "string",
		"securityContext.asNumber": "bigint", "securityContext.asOrg": "string", "securityContext.isp": "string",
		"securityContext.domain": "string domain", "securityContext.isProxy": "boolean",
		"debugContext.debugData": "json", "outcome.result": "string", "outcome.reason": "string",
		"request.ipChain[].ip": "string ip", "request.ipChain[].geographicalContext.city": "string", "request.ipChain[].version": "string", "request.ipChain[].source": "string",
		"target[].id": "string!", "target[].type": "string!", "target[].alternateId": "string username", "target[].displayName": "string",
		"target[].detailEntry": "json", "target[].changeDetails": "json",
		"transaction.id": "string", "transaction.type": "string", "transaction.detail": "json",
	} {
		f, ok := paths[path]
		if !ok {
			t.Errorf("Okta.SystemLog lacks %s", path)
			continue
		}
		got := string(f.Type)
		if f.Required {
			got += "!"
		}
		if len(f.Indicators) > 0 {
			got += " " + strings.Join(f.Indicators, " ")
		}
		if got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	if f := paths["published"]; !f.IsEventTime || f.TimeFormat != TimeRFC3339 {
		t.Errorf("published: %+v", f)
	}
}
