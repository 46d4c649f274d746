package lake

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestClassifyIndicator(t *testing.T) {
	f := func(in, kind string, values ...string) {
		t.Helper()
		k, v := ClassifyIndicator(in)
		if k != kind || !slices.Equal(v, values) {
			t.Errorf("ClassifyIndicator(%q) = %s %q, want %s %q", in, k, v, kind, values)
		}
	}
	f("1.2.3.4", "ip", "1.2.3.4")
	f(" 2001:DB8:0:0::1 ", "ip", "2001:db8::1")
	f("Jane.Doe@Example.com", "email", "Jane.Doe@Example.com", "jane.doe@example.com")
	f("jane@example.com", "email", "jane@example.com")
	f("Evil.Example.COM", "domain", "evil.example.com")
	f("d41d8cd98f00b204e9800998ecf8427E", "md5", "d41d8cd98f00b204e9800998ecf8427e")
	f("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709")
	f("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	f("arn:aws:iam::123456789012:role/Admin", "aws_arn", "arn:aws:iam::123456789012:role/Admin")
	f("123456789012", "aws_account_id", "123456789012")
	f("i-0abc1234def567890", "aws_instance_id", "i-0abc1234def567890")
	f("jdoe", "username", "jdoe")
	f("1.2.3.4') OR true --", "username", "1.2.3.4') OR true --")
}

func TestSearchFindsAnIndicatorAcrossTables(t *testing.T) {
	q, snap, dir := qLake(t, 30*24*60, QueryOptions{}) // one event a minute
	// A second table with the needle IP in 3 rows of the last day and an
	// AWS account; and a table without indicator columns.
	db := qWriter(t)
	qWriteTable(t, db, snap, dir, "aws_cloudtrail", `SELECT 'ct' || i AS p_row_id, TIMESTAMP '2026-03-30 06:00:00' + to_hours(i) AS p_event_time,
		CASE WHEN i < 3 THEN ['`+qNeedleIP+`', '10.9.9.9'] ELSE ['10.9.9.9'] END AS p_any_ip_addresses,
		['123456789012'] AS p_any_aws_account_ids, 'AssumeRole' AS eventName,
		strftime(TIMESTAMP '2026-03-30 06:00:00' + to_hours(i), '%Y-%m-%d') AS dt, strftime(TIMESTAMP '2026-03-30 06:00:00' + to_hours(i), '%H') AS hour
		FROM range(10) r(i)`)
	qWriteTable(t, db, snap, dir, "quarantine", `SELECT 'x' AS raw, TIMESTAMP '2026-03-30 06:00:00' AS received_at, '2026-03-30' AS dt, '06' AS hour`)

	// The most frequent Okta IP, searched over the 30 days.
	ip := qMust(t, q, `SELECT ip FROM (SELECT unnest(p_any_ip_addresses) AS ip FROM okta_systemlog) GROUP BY ip ORDER BY count(*) DESC, ip LIMIT 1`).Rows[0][0].(string)
	want := qMust(t, q, `SELECT count(*) FROM okta_systemlog WHERE list_contains(p_any_ip_addresses, ?)`, ip).Rows[0][0].(int64)
	res, err := q.Search(context.Background(), ip, qEnd.Add(-30*24*time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != "ip" || res.Total != want || want < 2 {
		t.Fatalf("search %s: kind %s total %d, want %d", ip, res.Kind, res.Total, want)
	}
	if len(res.Tables) != 2 || res.Tables[0] != (TableCount{"aws_cloudtrail", 0}) || res.Tables[1] != (TableCount{"okta_systemlog", want}) {
		t.Errorf("tables = %+v", res.Tables)
	}
	var sum int64
	for _, c := range res.Histogram.Counts {
		sum += c
	}
	if sum != want || res.Histogram.Bucket != 12*time.Hour || len(res.Histogram.Counts) != 60 {
		t.Errorf("histogram: sum %d of %d buckets of %v", sum, len(res.Histogram.Counts), res.Histogram.Bucket)
	}
	if int64(len(res.Rows)) != min(want, 100) {
		t.Fatalf("rows: %d", len(res.Rows))
	}
	for i, r := range res.Rows {
		var row map[string]any
		if err := json.Unmarshal(r.Row, &row); err != nil || row["p_row_id"] != r.RowID || r.Table != "okta_systemlog" {
			t.Fatalf("row %d: %+v (%v)", i, r, err)
		}
		if i > 0 && r.Time.After(res.Rows[i-1].Time) {
			t.Errorf("rows not newest first")
		}
	}

	// Across tables, with the newest rows from both.
	res, err = q.SearchWith(context.Background(), SearchRequest{Indicator: qNeedleIP, From: qEnd.Add(-2 * 24 * time.Hour), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 3 || res.Tables[0].Count != 3 || len(res.Rows) != 2 || res.Rows[0].RowID != "ct2" {
		t.Errorf("needle: %+v", res)
	}
	// A forced kind; an account id; nothing found.
	res, err = q.SearchWith(context.Background(), SearchRequest{Indicator: "123456789012", From: qEnd.Add(-2 * 24 * time.Hour)})
	if err != nil || res.Kind != "aws_account_id" || res.Total != 10 || len(res.Tables) != 1 {
		t.Errorf("account: %+v %v", res, err)
	}
	res, err = q.SearchWith(context.Background(), SearchRequest{Indicator: "user1@example.com", Kind: "username", From: qEnd.Add(-24 * time.Hour)})
	if err != nil || res.Total == 0 {
		t.Errorf("username: %+v %v", res, err)
	}
	// The indicator is a parameter, never SQL.
	for _, evil := range []string{"1.2.3.4') OR true --", "x' OR 1=1 OR '"} {
		res, err = q.Search(context.Background(), evil, time.Time{}, time.Time{})
		if err != nil || res.Total != 0 {
			t.Errorf("search %q: %+v %v", evil, res, err)
		}
	}
	if _, err := q.SearchWith(context.Background(), SearchRequest{Indicator: "x", Kind: "nope"}); err == nil {
		t.Error("unknown kind accepted")
	}
	var qe *QueryError
	if _, err := q.Search(context.Background(), "x", qEnd, qEnd.Add(-time.Hour)); !errors.As(err, &qe) || !qe.ClientError() {
		t.Errorf("inverted range: %v", err)
	}
	if snap.released.Load() != snap.taken.Load() {
		t.Errorf("snapshots taken %d, released %d", snap.taken.Load(), snap.released.Load())
	}
}
