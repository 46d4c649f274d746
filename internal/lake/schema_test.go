package lake

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/gen"
	"github.com/prowl-siem/prowl/internal/logtypes"
)

const customSchemaYAML = `
schema: Custom.App.Audit
version: 3
fields:
  - name: at
    type: timestamp
    timeFormat: unix_ms
    isEventTime: true
    required: true
  - name: Name
    type: string
    indicators: [username]
  - name: count
    type: bigint
  - name: ratio
    type: float
  - name: ok
    type: boolean
  - name: day
    type: timestamp
    timeFormat: "%Y-%m-%d"
  - name: tags
    type: array
    element: {type: string}
  - name: 'we"ird name'
    type: string
  - name: NAME
    type: string
  - name: P_Extra
    type: int
  - name: free
    type: json
    indicators: [ip]
`

// TestCustomSchemaColumns covers a custom log type: every field type, a
// name that needs quoting, names that collide with another column in
// DuckDB's case-insensitive namespace (their values go to p_extra), and
// an event carrying fields the schema does not name.
func TestCustomSchemaColumns(t *testing.T) {
	h := newStoreHarness(t, Options{})
	s, err := logtypes.ParseSchema("custom.yml", []byte(customSchemaYAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.reg.Add(s); err != nil {
		t.Fatal(err)
	}
	raw := `{"at":1741110129118,"Name":"alice","count":9007199254740993,"ratio":0.25,"ok":true,"day":"2025-03-04",` +
		`"tags":["x","y"],"we\"ird name":"q\"uote","NAME":"upper","P_Extra":7,"free":{"src":"10.0.0.9"},"other":[1,2]}`
	ev := h.normalize("Custom.App.Audit", []byte(raw))
	h.ingest(ev)

	snap := h.lake.Snapshot()
	defer snap.Release()
	cols := snap.Columns("custom_app_audit")
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	if !slices.Contains(names, `we"ird name`) || slices.Contains(names, "NAME") || slices.Contains(names, "P_Extra") {
		t.Errorf("columns %v", names)
	}
	rows := tableRows(t, testDB(t), snap, "custom_app_audit")
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	r := rows[0]
	want := map[string]any{"Name": "alice", "count": float64(9007199254740993), "ratio": 0.25, "ok": true,
		"day": "2025-03-04 00:00:00", "at": "2025-03-04 17:42:09.118", `we"ird name`: `q"uote`, "tags": `["x","y"]`,
		"free": `{"src":"10.0.0.9"}`, "p_schema_version": float64(3), "p_any_usernames": []any{"alice"},
		"p_any_ip_addresses": []any{"10.0.0.9"}}
	for k, v := range want {
		if !jsonEqual(r[k], v) {
			t.Errorf("%s: %#v, want %#v", k, r[k], v)
		}
	}
	var extra map[string]any
	json.Unmarshal([]byte(r["p_extra"].(string)), &extra)
	if !jsonEqual(extra, map[string]any{"NAME": "upper", "P_Extra": 7, "other": []any{1, 2}}) {
		t.Errorf("p_extra %v", r["p_extra"])
	}
	// The exact bigint survives (to_json would print it as a float).
	var count int64
	if err := testDB(t).QueryRow("SELECT count FROM " + readFilesSQL(snap.Files("custom_app_audit", time.Time{}, time.Time{}))).Scan(&count); err != nil || count != 9007199254740993 {
		t.Errorf("count %d %v", count, err)
	}
}

// TestRowBuilderMisfits checks that values that do not fit their column
// land in p_extra instead of being lost, and that an unknown log type
// keeps all its fields in p_extra.
func TestRowBuilderMisfits(t *testing.T) {
	reg := logtypes.NewRegistry()
	s, err := logtypes.ParseSchema("custom.yml", []byte(customSchemaYAML))
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(s); err != nil {
		t.Fatal(err)
	}
	defs := tableDefs{reg: reg}
	d := defs.forLogType("Custom.App.Audit")
	b := newRowBuilder(d)
	ev := logtypes.Event{LogType: "Custom.App.Audit", RowID: "r1", Time: time.Unix(1, 0), ParseTime: time.Unix(2, 0),
		JSON: []byte(`{"at":"not a time","count":"12","ratio":"1.5","ok":"yes","day":"04/03/2025","Name":{"o":1},"tags":null,"p_any_emails":"bad","p_schema_version":3}`)}
	row := b.row(&ev)
	get := func(name string) any {
		for i, c := range d.cols {
			if c.Name == name {
				return row[i]
			}
		}
		t.Fatalf("no column %s", name)
		return nil
	}
	if get("count") != int64(12) || get("ratio") != 1.5 || get("tags") != nil || get("p_schema_version") != int64(3) {
		t.Errorf("coerced values: count %v ratio %v tags %v version %v", get("count"), get("ratio"), get("tags"), get("p_schema_version"))
	}
	var extra map[string]any
	if err := json.Unmarshal([]byte(get("p_extra").(string)), &extra); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"at", "ok", "day", "Name", "p_any_emails"} {
		if _, ok := extra[k]; !ok {
			t.Errorf("%s does not fit its column and must be in p_extra: %v", k, extra)
		}
	}
	if get("p_event_time") != time.Unix(1, 0).UTC() || get("p_row_id") != "r1" {
		t.Errorf("metadata columns come from the event: %v %v", get("p_event_time"), get("p_row_id"))
	}

	unknown := defs.forLogType("Gone.Type")
	if unknown.name != "gone_type" || len(unknown.cols) != len(pColumns) {
		t.Fatalf("unknown log type table %s %v", unknown.name, unknown.cols)
	}
	ub := newRowBuilder(unknown)
	ev = logtypes.Event{LogType: "Gone.Type", RowID: "r2", JSON: []byte(`{"a":1,"b":{"c":"d"},"p_source_id":"s"}`)}
	row = ub.row(&ev)
	if row[unknown.extra] != `{"a":1,"b":{"c":"d"}}` || fmt.Sprintf("%s", row[unknown.pIdx["p_source_id"]]) != "s" {
		t.Errorf("unknown log type row: extra %v source %v", row[unknown.extra], row[unknown.pIdx["p_source_id"]])
	}
	// Not an object at all: kept whole.
	ev.JSON = []byte(`[1,2`)
	row = ub.row(&ev)
	if !strings.Contains(row[unknown.extra].(string), `"p_unparsed":"[1,2"`) {
		t.Errorf("unreadable event: %v", row[unknown.extra])
	}
}

// TestRowScanned checks the rows of events without the normalizer's
// offsets, whose members are found by scanning (jsonscan.EachMember).
func TestRowScanned(t *testing.T) {
	defs := tableDefs{reg: logtypes.NewRegistry()}
	d := defs.forLogType("Gone.Type")
	b := newRowBuilder(d)
	ev := logtypes.Event{LogType: "Gone.Type", RowID: "r1",
		JSON: []byte(` { "a" : 1 , "b\"c":{"x":[1,{"y":"}"}]}, "d":"e\\"  ,"f":[] ,"g":null, "p_source_id" : "s"}`)}
	row := b.row(&ev)
	if want := `{"a":1,"b\"c":{"x":[1,{"y":"}"}]},"d":"e\\","f":[],"g":null}`; row[d.extra] != want || fmt.Sprintf("%s", row[d.pIdx["p_source_id"]]) != "s" {
		t.Errorf("extra %v, want %s; source %v", row[d.extra], want, row[d.pIdx["p_source_id"]])
	}
	for _, bad := range []string{``, `[]`, `{"a"}`, `{"a":1`, `{"a":"x}`, `{"a":1 "b":2}`, `{1:2}`} {
		ev.JSON = []byte(bad)
		row := b.row(&ev)
		if want := `{"p_unparsed":` + string(appendJSONString(nil, []byte(bad))) + `}`; row[d.extra] != want {
			t.Errorf("%q must not parse: extra %v", bad, row[d.extra])
		}
	}
}

func TestParseHelpers(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "-9223372036854775808": -9223372036854775808, "9223372036854775807": 9223372036854775807} {
		if n, ok := parseInt([]byte(in)); !ok || n != want {
			t.Errorf("parseInt(%s) = %d %v", in, n, ok)
		}
	}
	for _, in := range []string{"", "-", "1.5", "9223372036854775808", "-9223372036854775809", "1e3", "99999999999999999999"} {
		if _, ok := parseInt([]byte(in)); ok {
			t.Errorf("parseInt(%s) must fail", in)
		}
	}
	if got := validUTF8([]byte("ok\xffé")); got != `ok\xffé` {
		t.Errorf("validUTF8: %q", got)
	}
}

// TestFixedTables writes rule matches, rule errors and quarantined events
// and reads them back.
func TestFixedTables(t *testing.T) {
	h := newStoreHarness(t, Options{})
	ctx := context.Background()
	at := time.Date(2025, 3, 4, 17, 42, 9, 118000000, time.UTC)
	m := RuleMatch{RowID: "row1", LogType: "Okta.SystemLog", EventTime: at, AlertID: "alert1", RuleID: "Okta.BruteForce",
		Severity: "HIGH", Tags: []string{"Okta", "Credential Access"}, Reports: map[string][]string{"MITRE ATT&CK": {"TA0006:T1110"}},
		AlertContext: json.RawMessage(`{"user":"jane.doe@example.com","ips":["1.2.3.4"]}`), AlertCreationTime: at.Add(time.Second),
		Event: json.RawMessage(`{"uuid":"u1","actor":{"alternateId":"jane.doe@example.com"}}`)}
	if err := h.lake.WriteRuleMatches(ctx, []RuleMatch{m}); err != nil {
		t.Fatal(err)
	}
	e := RuleError{RuleMatch: m, Error: "KeyError: 'actor'"}
	e.AlertContext = json.RawMessage(`not json`)
	if err := h.lake.WriteRuleErrors(ctx, []RuleError{e}); err != nil {
		t.Fatal(err)
	}
	if err := h.lake.WriteQuarantine(ctx, []Quarantined{{SourceID: "src-1", LogType: "Okta.SystemLog", Reason: "invalid JSON",
		Detail: "unexpected end at offset 5", Raw: []byte("{\"a\xff"), ReceivedAt: at}}); err != nil {
		t.Fatal(err)
	}
	if h.lake.Stats().Buffered != 3 {
		t.Errorf("buffered %d", h.lake.Stats().Buffered)
	}
	if err := h.lake.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	snap := h.lake.Snapshot()
	defer snap.Release()
	db := testDB(t)
	files := snap.Files(TableRuleMatches, time.Time{}, time.Time{})
	if len(files) != 1 || !strings.Contains(files[0].Path, "rule_matches/dt=2025-03-04/hour=17/") {
		t.Fatalf("rule_matches files %+v", files)
	}
	var user, tag, report, eventUUID, created string
	err := db.QueryRow(`SELECT p_alert_context->>'user', p_rule_tags[2], p_rule_reports->'MITRE ATT&CK'->>0, event->>'uuid', p_alert_creation_time::VARCHAR
		FROM `+readFilesSQL(files)+` WHERE p_rule_id = 'Okta.BruteForce' AND p_rule_severity = 'HIGH' AND p_alert_id = 'alert1'`).Scan(&user, &tag, &report, &eventUUID, &created)
	if err != nil || user != "jane.doe@example.com" || tag != "Credential Access" || report != "TA0006:T1110" || eventUUID != "u1" || created != "2025-03-04 17:42:10.118" {
		t.Errorf("rule_matches row: %q %q %q %q %q %v", user, tag, report, eventUUID, created, err)
	}
	var ruleErr, ctxText string
	err = db.QueryRow(`SELECT p_rule_error, p_alert_context->>'$' FROM `+readFilesSQL(snap.Files(TableRuleErrors, time.Time{}, time.Time{}))).Scan(&ruleErr, &ctxText)
	if err != nil || ruleErr != "KeyError: 'actor'" || ctxText != "not json" {
		t.Errorf("rule_errors row: %q %q %v", ruleErr, ctxText, err)
	}
	rows := tableRows(t, db, snap, TableQuarantine)
	if len(rows) != 1 || rows[0]["raw"] != `{"a\xff` || rows[0]["reason"] != "invalid JSON" || rows[0]["log_type"] != "Okta.SystemLog" {
		t.Errorf("quarantine rows %v", rows)
	}
	if cols := snap.Columns(TableRuleErrors); cols[len(cols)-1].Name != "p_rule_error" || len(cols) != len(ruleMatchColumns)+1 {
		t.Errorf("rule_errors columns %v", cols)
	}
	// A table that has no data yet still has its columns.
	if cols := snap.Columns("okta_systemlog"); len(cols) == 0 || cols[0].Name != "uuid" {
		t.Errorf("columns of an empty log-type table: %v", cols)
	}
	if cols := snap.Columns("no_such_table"); cols != nil {
		t.Errorf("unknown table columns %v", cols)
	}
}

// TestRowWithMembers: rows built from the normalizer's key offsets equal
// rows built by scanning, and offsets that do not fit fall back to the scan.
func TestRowWithMembers(t *testing.T) {
	reg := logtypes.NewRegistry()
	d := (&tableDefs{reg: reg}).forLogType("Okta.SystemLog")
	norm := reg.NewNormalizer()
	var raws [][]byte
	err := gen.Okta(gen.OktaOptions{Count: 300, Seed: 5, Attacks: []string{"brute_force", "new_country"}}, func(raw []byte) error {
		raws = append(raws, append([]byte(nil), raw...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Escaped keys and values, braces in strings, an input p_ field.
	raws = append(raws, append([]byte(`{"a\"b":"x\"y","zzz":{"k":[1,"}"]},"p_extra":1,`), raws[0][1:]...))
	scanned, indexed := newRowBuilder(d), newRowBuilder(d)
	for _, raw := range raws {
		ev, err := norm.Normalize("Okta.SystemLog", raw, logtypes.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(scanned.row(&ev))
		ev.Members = norm.AppendMembers(nil)
		if got := indexed.row(&ev); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s\nwith offsets: %v\nscanned:      %v", ev.JSON, got, want)
		}
		ev.Members[len(ev.Members)-1]++ // not at a key: scanned instead
		if got := indexed.row(&ev); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s\nwith bad offsets: %v\nscanned:          %v", ev.JSON, got, want)
		}
	}
}
