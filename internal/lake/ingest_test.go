package lake

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/prowl-siem/prowl/internal/gen"
)

// TestIngestAndRawNDJSONAgree writes events with Ingest (alongside and
// LogFirst) and checks the lake answers a query as RawNDJSON does over the
// same NDJSON.
func TestIngestAndRawNDJSONAgree(t *testing.T) {
	var raws [][]byte
	if err := gen.Okta(gen.OktaOptions{Count: 3000, Seed: 3}, func(b []byte) error {
		raws = append(raws, bytes.Clone(b))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	for name, logFirst := range map[string]bool{"alongside": false, "logfirst": true} {
		res, err := Ingest(ctx, filepath.Join(dir, name), raws, IngestOptions{LogType: "Okta.SystemLog", LogFirst: logFirst})
		if err != nil || res.Events != len(raws) || res.Bytes <= 0 || res.Elapsed <= 0 {
			t.Fatalf("%s: %+v, %v", name, res, err)
		}
	}
	if _, err := Ingest(ctx, filepath.Join(dir, "bad"), [][]byte{[]byte("not json")}, IngestOptions{LogType: "Okta.SystemLog"}); err == nil {
		t.Error("a record the schema rejects: no error")
	}

	ndjson := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(ndjson, append(bytes.Join(raws, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := OpenRawNDJSON(ndjson, "okta_systemlog")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.CopyToParquet(ctx, filepath.Join(dir, "raw.parquet")); err != nil {
		t.Fatal(err)
	}
	lakeDir := filepath.Join(dir, "alongside", "lake")
	l, err := Open(Options{Dir: lakeDir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	q, err := NewQuerier(l.Snapshot, QueryOptions{Dir: lakeDir})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	const sql = `SELECT eventType, actor ->> '$.alternateId' AS who, count(*) AS n FROM okta_systemlog GROUP BY ALL ORDER BY ALL`
	want, err := raw.Query(ctx, sql)
	if err != nil {
		t.Fatal(err)
	}
	got, err := q.Query(ctx, sql)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) == 0 || !reflect.DeepEqual(got.Rows, want.Rows) {
		t.Errorf("lake %d rows, NDJSON %d rows:\n%v\n%v", len(got.Rows), len(want.Rows), got.Rows[:min(3, len(got.Rows))], want.Rows[:min(3, len(want.Rows))])
	}
}
