package lake

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestFlushedFileTypes checks that the files a flush writes read in DuckDB
// with the table's columns, in the table's order and with its types (those
// DuckDB's own COPY writes, so that compaction and queries mix both), and
// that they carry the statistics DuckDB prunes row groups with.
func TestFlushedFileTypes(t *testing.T) {
	h := newStoreHarness(t, Options{})
	events := h.oktaEvents(20, 7, time.Second)
	at := events[0].Time
	if err := h.lake.WriteRuleMatches(context.Background(), []RuleMatch{{RowID: "r1", LogType: "Okta.SystemLog", EventTime: at,
		AlertID: "a1", RuleID: "Okta.Test", Severity: "HIGH", Tags: []string{"x", "y"}, AlertContext: json.RawMessage(`{"k":1}`),
		AlertCreationTime: at, Event: events[0].JSON}}); err != nil {
		t.Fatal(err)
	}
	if err := h.lake.WriteQuarantine(context.Background(), []Quarantined{{SourceID: "s", Reason: "r", Raw: []byte("x"), ReceivedAt: at}}); err != nil {
		t.Fatal(err)
	}
	h.ingest(events)
	db := testDB(t)
	snap := h.lake.Snapshot()
	defer snap.Release()
	for _, table := range []string{"okta_systemlog", TableRuleMatches, TableQuarantine} {
		files := snap.Files(table, time.Time{}, time.Time{})
		if len(files) == 0 {
			t.Fatalf("%s: no files", table)
		}
		rows, err := db.Query("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(" + sqlString(files[0].Path) + ", hive_partitioning = false))")
		if err != nil {
			t.Fatal(err)
		}
		var got []Column
		for rows.Next() {
			var c Column
			if err := rows.Scan(&c.Name, &c.Type); err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		}
		rows.Close()
		want := snap.Columns(table)
		if len(got) != len(want) {
			t.Fatalf("%s: file columns %v, want %v", table, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: column %d is %v, want %v", table, i, got[i], want[i])
			}
		}
		timeCol := "p_event_time"
		if table == TableQuarantine {
			timeCol = "received_at"
		}
		var lo, hi string
		err = db.QueryRow("SELECT stats_min_value, stats_max_value FROM parquet_metadata("+sqlString(files[0].Path)+") WHERE path_in_schema = ?", timeCol).Scan(&lo, &hi)
		if err != nil || lo == "" || hi == "" {
			t.Errorf("%s: statistics of %s: %q %q %v", table, timeCol, lo, hi, err)
		}
	}
	var tags string
	if err := db.QueryRow("SELECT p_rule_tags::VARCHAR FROM " + readFilesSQL(snap.Files(TableRuleMatches, time.Time{}, time.Time{}))).Scan(&tags); err != nil || tags != "[x, y]" {
		t.Errorf("p_rule_tags: %q %v", tags, err)
	}
}

// TestInvalidUTF8Escaped checks that text that is not valid UTF-8 (here a
// rule match's event, which the engine passes through) is stored with the
// invalid bytes written \xNN: DuckDB refuses to read a Parquet file whose
// VARCHAR holds invalid UTF-8, which would make the whole table
// unreadable.
func TestInvalidUTF8Escaped(t *testing.T) {
	h := newStoreHarness(t, Options{})
	at := time.Date(2025, 3, 4, 17, 0, 0, 0, time.UTC)
	if err := h.lake.WriteRuleMatches(context.Background(), []RuleMatch{{RowID: "r1", LogType: "Okta.SystemLog", EventTime: at,
		RuleID: "Okta.Test", Tags: []string{"t\xfe"}, Event: json.RawMessage("{\"a\":\"b\xffc\"}")}}); err != nil {
		t.Fatal(err)
	}
	h.ingest(nil)
	snap := h.lake.Snapshot()
	defer snap.Release()
	rows := tableRows(t, testDB(t), snap, TableRuleMatches)
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	if ev, _ := rows[0]["event"].(string); ev != `{"a":"b\xffc"}` {
		t.Errorf("event %q", ev)
	}
	if tags, _ := json.Marshal(rows[0]["p_rule_tags"]); !strings.Contains(string(tags), `t\\xfe`) {
		t.Errorf("tags %s", tags)
	}
}
