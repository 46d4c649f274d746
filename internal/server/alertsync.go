package server

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/lake"
)

// alertsTable exposes the control plane's alerts to SQL as the lake table
// "alerts": a snapshot the server rewrites every alertSyncInterval.
func alertsTable(lakeDir string) lake.ControlTable {
	col := func(name, typ string) lake.Column { return lake.Column{Name: name, Type: typ} }
	return lake.ControlTable{Name: "alerts", File: filepath.Join(lakeDir, "_control", "alerts.ndjson"), Columns: []lake.Column{
		col("id", "VARCHAR"), col("type", "VARCHAR"), col("rule_id", "VARCHAR"), col("rule_version", "VARCHAR"),
		col("title", "VARCHAR"), col("severity", "VARCHAR"), col("dedup", "VARCHAR"), col("status", "VARCHAR"),
		col("assignee", "VARCHAR"), col("created_at", "TIMESTAMP"), col("updated_at", "TIMESTAMP"),
		col("first_event_at", "TIMESTAMP"), col("last_event_at", "TIMESTAMP"), col("event_count", "BIGINT"),
		col("log_types", "VARCHAR[]"), col("alert_context", "VARCHAR"),
		col("p_event_time", "TIMESTAMP"), // = created_at, so the p_occurs_* macros work
	}}
}

const alertSyncInterval = 10 * time.Second

// syncAlerts keeps the alerts snapshot fresh until ctx is done.
func (s *Server) syncAlerts(ctx context.Context) {
	tick := time.NewTicker(alertSyncInterval)
	defer tick.Stop()
	for {
		if err := s.writeAlertsSnapshot(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("writing the alerts table", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// writeAlertsSnapshot writes every alert to a new file and renames it over
// the old one: a query reads either snapshot whole, never a partial one.
func (s *Server) writeAlertsSnapshot(ctx context.Context) error {
	path := alertsTable(filepath.Join(s.cfg.DataDir, "lake")).File
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".alerts-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	enc := json.NewEncoder(w)
	for offset := 0; ; {
		page, err := s.store.ListAlerts(ctx, alerts.Query{Sort: "created_at", Limit: 1000, Offset: offset})
		if err != nil {
			tmp.Close()
			return err
		}
		for _, a := range page.Alerts {
			if err := enc.Encode(alertRow(a)); err != nil {
				tmp.Close()
				return err
			}
		}
		offset += len(page.Alerts)
		if len(page.Alerts) == 0 || offset >= page.Total {
			break
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func alertRow(a alerts.Alert) map[string]any {
	ts := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	ctx := string(a.AlertContext)
	if ctx == "" {
		ctx = "{}"
	}
	return map[string]any{"id": a.ID, "type": a.Type, "rule_id": a.RuleID, "rule_version": a.RuleVersion, "title": a.Title,
		"severity": a.Severity, "dedup": a.Dedup, "status": a.Status, "assignee": a.Assignee,
		"created_at": ts(a.CreatedAt), "updated_at": ts(a.UpdatedAt), "first_event_at": ts(a.FirstEventAt),
		"last_event_at": ts(a.LastEventAt), "event_count": a.EventCount, "log_types": a.LogTypes,
		"alert_context": ctx, "p_event_time": ts(a.CreatedAt)}
}
