package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/lake"
	"github.com/prowl-siem/prowl/internal/sources"
)

// A record that does not parse is quarantined in the control plane (to be
// reprocessed) and also lands in the lake's quarantine table.
func TestQuarantinedRecordsReachTheLake(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, "--data-dir", t.TempDir(), "--packs", "none")
	srv, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), WithClock(func() time.Time { return time.Now() }))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	err = srv.pipe.Ingest(ctx, sources.Batch{SourceID: "push-1", LogType: "Okta.SystemLog", Records: [][]byte{[]byte(`{"broken": `)}})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := srv.store.CountQuarantine(ctx, "push-1"); n != 1 {
		t.Fatalf("control-plane quarantine holds %d records", n)
	}
	if err := srv.lake.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := srv.querier.Run(ctx, lake.Request{SQL: "SELECT p_source_id, reason, raw FROM quarantine"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || fmt.Sprint(res.Rows[0][0]) != "push-1" || fmt.Sprint(res.Rows[0][1]) != "invalid_json" || fmt.Sprint(res.Rows[0][2]) != `{"broken": ` {
		t.Fatalf("lake quarantine rows: %v", res.Rows)
	}
}

// The alerts of the control plane are a lake table for SQL.
func TestAlertsAreALakeTable(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, "--data-dir", t.TempDir(), "--packs", "none")
	srv, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res, err := srv.querier.Run(ctx, lake.Request{SQL: "SELECT count(*) FROM alerts"})
	if err != nil || fmt.Sprint(res.Rows[0][0]) != "0" {
		t.Fatalf("before any alert the table is empty: %v %v", err, res)
	}
	created, err := srv.alerts.Process(ctx, []alerts.Match{{Type: alerts.TypeRule, RuleID: "R", Dedup: "d", Title: "t <b>", Severity: "HIGH",
		Threshold: 1, DedupPeriod: time.Hour, LogType: "Okta.SystemLog", EventTime: time.Now()}}, nil)
	if err != nil || len(created) != 1 {
		t.Fatal(err, created)
	}
	if err := srv.writeAlertsSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	res, err = srv.querier.Run(ctx, lake.Request{SQL: "SELECT id, severity, title, status FROM alerts WHERE p_occurs_since('1 hour')"})
	if err != nil || len(res.Rows) != 1 || fmt.Sprint(res.Rows[0][0]) != created[0].ID || fmt.Sprint(res.Rows[0][2]) != "t <b>" {
		t.Fatalf("alerts table: %v %+v", err, res)
	}
}
