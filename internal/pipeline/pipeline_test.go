package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/analysis"
	"github.com/prowl-siem/prowl/internal/batchrec"
	"github.com/prowl-siem/prowl/internal/engine"
	"github.com/prowl-siem/prowl/internal/logtypes"
	"github.com/prowl-siem/prowl/internal/pyrt"
	"github.com/prowl-siem/prowl/internal/sources"
	"github.com/prowl-siem/prowl/internal/store"
	"github.com/prowl-siem/prowl/internal/wal"
)

const rule = `from panther_base_helpers import deep_get
def rule(event):
    return event.get("eventType") == "user.session.start" and deep_get(event, "outcome", "result") == "FAILURE"
def title(event):
    return f"Multiple Failed Logins for {deep_get(event, 'actor', 'alternateId')}"
def dedup(event):
    return deep_get(event, "client", "ipAddress")
`

const spec = `AnalysisType: rule
Filename: r.py
RuleID: FailedLogins
Enabled: true
Severity: Medium
LogTypes: [Okta.SystemLog]
Threshold: 3
`

func oktaEvent(uuid, result string) []byte {
	return []byte(`{"uuid":"` + uuid + `","published":"2024-05-01T10:00:00.000Z","eventType":"user.session.start","version":"0","severity":"WARN",` +
		`"actor":{"id":"00u1","type":"User","alternateId":"jane@example.com"},"client":{"ipAddress":"198.51.100.23"},"outcome":{"result":"` + result + `"}}`)
}

type harness struct {
	p       *Pipeline
	log     *wal.Log
	store   *store.Store
	alerts  *alerts.MemoryStore
	created chan []alerts.Alert
}

func newHarness(t *testing.T, maxLag uint64) *harness {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "r.py"), []byte(rule), 0o644)
	os.WriteFile(filepath.Join(dir, "r.yml"), []byte(spec), 0o644)
	repo, err := analysis.Load([]string{dir}, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(context.Background(), repo, engine.Options{Python: pyrt.Config{Workers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	log, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "wal")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	st, err := store.Open(filepath.Join(dir, "prowl.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mem := alerts.NewMemoryStore()
	mgr, err := alerts.NewManager(context.Background(), mem, alerts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{log: log, store: st, alerts: mem, created: make(chan []alerts.Alert, 16)}
	h.p = New(Options{Log: log, Registry: logtypes.NewRegistry(), Store: st, Engine: eng, Alerts: mgr, Offsets: mem,
		Notify: func(_ context.Context, a []alerts.Alert) { h.created <- a }, BatchDelay: 20 * time.Millisecond, MaxLag: maxLag})
	if err := h.p.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func TestIngestToAlert(t *testing.T) {
	h := newHarness(t, 0)
	h.run(t)
	ctx := context.Background()
	batch := sources.Batch{SourceID: "okta-1", SourceLabel: "Okta", LogType: "Okta.SystemLog", Records: [][]byte{
		oktaEvent("u1", "FAILURE"), []byte(`{"not": "okta"`), oktaEvent("u2", "SUCCESS"), oktaEvent("u3", "FAILURE"), oktaEvent("u4", "FAILURE"),
	}, Checkpoint: []byte(`{"next":"/api/v1/logs?after=1"}`)}
	if err := h.p.Ingest(ctx, batch); err != nil {
		t.Fatal(err)
	}
	select {
	case created := <-h.created:
		if len(created) != 1 || created[0].Title != "Multiple Failed Logins for jane@example.com" || created[0].EventCount != 3 || created[0].Dedup != "198.51.100.23" {
			t.Fatalf("alert: %+v", created)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no alert within 20s")
	}
	q, err := h.store.ListQuarantine(ctx, "okta-1", 10, 0)
	if err != nil || len(q) != 1 || q[0].Reason != logtypes.ReasonInvalidJSON || string(q[0].Raw) != `{"not": "okta"` {
		t.Errorf("the malformed record is quarantined with its reason and bytes: %v %+v", err, q)
	}
	if cp, _ := h.store.GetCheckpoint(ctx, "okta-1"); string(cp) != `{"next":"/api/v1/logs?after=1"}` {
		t.Errorf("checkpoint: %s", cp)
	}
	health, _ := h.store.GetHealth(ctx, "okta-1")
	if health.Events != 4 || health.Quarantined != 1 {
		t.Errorf("health: %+v", health)
	}
}

func TestReconcileRestoresCheckpointsFromTheLog(t *testing.T) {
	h := newHarness(t, 0)
	ctx := context.Background()
	h.p.Ingest(ctx, sources.Batch{SourceID: "s", LogType: "Okta.SystemLog", Records: [][]byte{oktaEvent("a", "SUCCESS")}, Checkpoint: []byte("cp-1")})
	h.p.Ingest(ctx, sources.Batch{SourceID: "s", LogType: "Okta.SystemLog", Records: [][]byte{oktaEvent("b", "SUCCESS")}, Checkpoint: []byte("cp-2")})
	// A crash after the write-ahead but before the store's copy: simulate
	// the store still holding the first checkpoint.
	h.store.PutCheckpoint(ctx, "s", []byte("cp-1"))
	if err := h.p.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if cp, _ := h.store.GetCheckpoint(ctx, "s"); string(cp) != "cp-2" {
		t.Errorf("the log's last checkpoint wins: %s", cp)
	}
}

func TestBackpressureBlocksIngestWhileTheEngineLags(t *testing.T) {
	h := newHarness(t, 1)
	ctx := context.Background()
	for i := range 2 {
		if err := h.p.Ingest(ctx, sources.Batch{SourceID: "s", LogType: "Okta.SystemLog", Records: [][]byte{oktaEvent("x", "SUCCESS")}}); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err := h.p.Ingest(short, sources.Batch{SourceID: "s", LogType: "Okta.SystemLog", Records: [][]byte{oktaEvent("y", "SUCCESS")}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with the engine 2 records behind and MaxLag 1, Ingest must wait: %v", err)
	}
	h.run(t)
	if err := h.p.Ingest(ctx, sources.Batch{SourceID: "s", LogType: "Okta.SystemLog", Records: [][]byte{oktaEvent("z", "SUCCESS")}}); err != nil {
		t.Fatalf("once the engine catches up Ingest proceeds: %v", err)
	}
}

func TestReprocessQuarantineAfterSchemaFix(t *testing.T) {
	h := newHarness(t, 0)
	ctx := context.Background()
	h.p.Ingest(ctx, sources.Batch{SourceID: "app", LogType: "Custom.App", Records: [][]byte{[]byte(`{"msg":"hello"}`)}})
	if n, _ := h.store.CountQuarantine(ctx, "app"); n != 1 {
		t.Fatalf("an unknown log type is quarantined: %d", n)
	}
	schema, err := logtypes.ParseSchema("app.yml", []byte("schema: Custom.App\nfields:\n  - name: msg\n    type: string\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.p.opts.Registry.Add(schema); err != nil {
		t.Fatal(err)
	}
	next := h.log.Next()
	moved, remaining, err := h.p.Reprocess(ctx, "app")
	if err != nil || moved != 1 || remaining != 0 {
		t.Fatalf("reprocess: moved %d remaining %d err %v", moved, remaining, err)
	}
	if n, _ := h.store.CountQuarantine(ctx, "app"); n != 0 || h.log.Next() != next+1 {
		t.Errorf("the record leaves the quarantine for the log")
	}
}

func TestRecordRoundTrip(t *testing.T) {
	in := &batchRecord{SourceID: "s", Checkpoint: []byte("cp"), Events: []logtypes.Event{
		{LogType: "Okta.SystemLog", RowID: "r1", Time: time.UnixMicro(1714557600123456).UTC(), ParseTime: time.UnixMicro(1714557601000000).UTC(), JSON: []byte(`{"a":1}`)},
	}}
	data := encodeRecord(nil, in)
	out, err := batchrec.Decode(data)
	if err != nil || out.SourceID != "s" || string(out.Checkpoint) != "cp" || len(out.Events) != 1 ||
		!out.Events[0].Time.Equal(in.Events[0].Time) || string(out.Events[0].JSON) != `{"a":1}` {
		t.Fatalf("round trip: %v %+v", err, out)
	}
	for cut := 1; cut < len(data); cut++ {
		if _, err := batchrec.Decode(data[:cut]); err == nil {
			t.Errorf("a record cut at %d must not decode", cut)
		}
	}
	if !strings.Contains(string(data), `{"a":1}`) {
		t.Error("events are stored as their JSON")
	}
}

// The engine consumer decodes each batch into the memory of the batch
// before (batchrec.Decoder): the events an alert keeps must still be its
// own after later batches have been decoded over that memory.
func TestAlertEventsSurviveLaterBatches(t *testing.T) {
	h := newHarness(t, 0)
	h.run(t)
	ctx := context.Background()
	ingest := func(uuids ...string) {
		var recs [][]byte
		for _, u := range uuids {
			recs = append(recs, oktaEvent(u, "FAILURE"))
		}
		if err := h.p.Ingest(ctx, sources.Batch{SourceID: "okta-1", LogType: "Okta.SystemLog", Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	ingest("first-1", "first-2", "first-3")
	var alertID string
	select {
	case created := <-h.created:
		alertID = created[0].ID
	case <-time.After(20 * time.Second):
		t.Fatal("no alert within 20s")
	}
	// The same dedup: later batches add to the alert, not to new ones,
	// and their events are the same size as the first ones.
	for i := range 5 {
		ingest(fmt.Sprintf("later-%d", i), fmt.Sprintf("later-%d", i), fmt.Sprintf("later-%d", i))
	}
	deadline := time.After(20 * time.Second)
	for {
		h.p.progressMu.Lock()
		progress := h.p.progress // closed at the engine's next commit
		h.p.progressMu.Unlock()
		if h.p.Lag() == 0 {
			break
		}
		select {
		case <-progress:
		case <-deadline:
			t.Fatal("the engine did not catch up")
		}
	}
	events := h.alerts.Events(alertID)
	if len(events) < 3 {
		t.Fatalf("the alert keeps %d events", len(events))
	}
	for i, e := range events[:3] {
		if want := fmt.Sprintf(`"uuid":"first-%d"`, i+1); !strings.Contains(string(e.Event), want) {
			t.Errorf("event %d of the alert is %s, want %s", i, e.Event, want)
		}
	}
}
