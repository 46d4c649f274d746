package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/store"
)

// A source silent for longer than its drop-off alarm raises one SYSTEM
// alert, which the dedup window keeps from repeating every minute.
func TestDropOffAlarmRaisesOneSystemAlert(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock(time.Now().UTC())
	cfg := testConfig(t, "--data-dir", t.TempDir(), "--packs", "none")
	srv, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	config, _ := json.Marshal(map[string]any{"dropoff_alarm": "30m"})
	if err := srv.store.PutSource(ctx, store.SourceRecord{ID: "push-1", Label: "App push", Type: "http",
		LogTypes: []string{"Okta.SystemLog"}, Config: config, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	srv.checkDropOffs(ctx, time.Now().Add(10*time.Minute))
	if page, _ := srv.store.ListAlerts(ctx, alerts.Query{}); page.Total != 0 {
		t.Fatalf("10 minutes of silence is within the 30-minute alarm: %+v", page.Alerts)
	}
	srv.checkDropOffs(ctx, time.Now().Add(45*time.Minute))
	srv.checkDropOffs(ctx, time.Now().Add(46*time.Minute))
	page, err := srv.store.ListAlerts(ctx, alerts.Query{Type: []string{alerts.TypeSystem}})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 || !strings.Contains(page.Alerts[0].Title, "App push (push-1) has sent no events") || page.Alerts[0].Severity != "HIGH" {
		t.Fatalf("want one drop-off SYSTEM alert, got %+v", page.Alerts)
	}
}
