package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/destinations"
	"github.com/prowl-siem/prowl/internal/store"
)

// TestAlertCommittedBeforeCrashIsDelivered covers the moment between the
// engine committing a new alert and the alert's deliveries being recorded:
// a process that dies there must still deliver the alert after a restart,
// and only once.
func TestAlertCommittedBeforeCrashIsDelivered(t *testing.T) {
	hooks := make(chan destinations.Payload, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p destinations.Payload
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		hooks <- p
	}))
	defer receiver.Close()

	dataDir := t.TempDir()
	st, err := store.Open(filepath.Join(dataDir, "prowl.db"))
	if err != nil {
		t.Fatal(err)
	}
	settings, _ := json.Marshal(map[string]string{"url": receiver.URL})
	if err := st.PutDestination(context.Background(), destinations.Config{ID: "hook", Name: "Hook", Type: "webhook", Settings: settings, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	cfg := testConfig(t, "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--packs", "none", "--python-workers", "1")
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	start := func() (*Server, func()) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		srv, err := New(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(ctx); err != nil {
			cancel()
			srv.Wait()
			srv.Close()
			t.Fatal(err)
		}
		stopped := false
		stop := func() {
			if !stopped {
				stopped = true
				srv.Stop(5 * time.Second)
				cancel()
				srv.Wait()
				srv.Close()
			}
		}
		t.Cleanup(stop)
		return srv, stop
	}

	// The engine commits an alert (with its offset, so a restart does not
	// evaluate the events again) and the process dies before the alert
	// reaches the dispatcher.
	srv, stop := start()
	ctx := context.Background()
	created, err := srv.alerts.Process(ctx, []alerts.Match{{
		Type: alerts.TypeRule, RuleID: "Test.Crash", Dedup: "203.0.113.9", Title: "Committed just before a crash", Severity: "HIGH", Threshold: 1,
	}}, nil)
	if err != nil || len(created) != 1 {
		t.Fatalf("Process: %v, %d alerts", err, len(created))
	}
	id := created[0].ID
	stop()
	if len(hooks) != 0 {
		t.Fatalf("the alert was delivered although it was never handed to the dispatcher")
	}

	// The next start delivers it.
	srv, stop = start()
	select {
	case p := <-hooks:
		if p.ID != id || p.Title != "Committed just before a crash" {
			t.Errorf("delivered %s %q, want %s", p.ID, p.Title, id)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("alert %s committed before the crash was not delivered after the restart", id)
	}
	eventually(t, 10*time.Second, "the delivery to be recorded", func() (bool, string) {
		ds, err := srv.store.ListDeliveries(ctx, id)
		if err != nil || len(ds) != 1 {
			return false, fmt.Sprintf("%d deliveries (%v)", len(ds), err)
		}
		return ds[0].Status == destinations.StatusDelivered, ds[0].Status
	})
	stop()

	// Once its deliveries are recorded, a restart does not queue it again.
	srv, stop = start()
	defer stop()
	if ds, err := srv.store.ListDeliveries(ctx, id); err != nil || len(ds) != 1 {
		t.Errorf("after another restart: %d deliveries of %s (%v), want 1", len(ds), id, err)
	}
	if len(hooks) != 0 {
		t.Errorf("the alert was delivered again: %+v", <-hooks)
	}
}
