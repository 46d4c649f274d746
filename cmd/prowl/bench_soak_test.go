package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prowl-siem/prowl/internal/sources"
)

func TestSoakShortRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server with Python workers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	r, err := runSoak(ctx, &out, io.Discard, soakOptions{rate: 2000, duration: 2 * time.Second, reportEvery: time.Second,
		events: 2000, dataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("soak: %v\n%s", err, out.String())
	}
	if r.ingested <= 0 || r.achieved() <= 0 {
		t.Errorf("ingested %d events (%.0f ev/s), want some", r.ingested, r.achieved())
	}
	if r.peakRSS <= 0 || r.medianRSS <= 0 || r.medianRSS > r.peakRSS || r.hwmRSS < r.medianRSS || r.peakHeap <= 0 {
		t.Errorf("memory: peak %d, p50 %d, high-water %d, Go heap %d", r.peakRSS, r.medianRSS, r.hwmRSS, r.peakHeap)
	}
	if r.evaluated <= 0 && r.alerts <= 0 {
		t.Errorf("neither engine progress nor alerts observed")
	}
	for _, want := range []string{"ingested ", "summary", "peak RSS < 1 GiB", "kept up", "alerts created", "correlation run"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// stallingSink holds every batch until stall is closed, as a pipeline that
// stops for a while, and records how many batches it held at once.
type stallingSink struct {
	stall          chan struct{}
	calls          chan struct{}
	mu             sync.Mutex
	inFlight, most int
}

func (s *stallingSink) Ingest(ctx context.Context, _ sources.Batch) error {
	s.mu.Lock()
	s.inFlight++
	s.most = max(s.most, s.inFlight)
	s.mu.Unlock()
	select {
	case <-s.stall:
	case <-ctx.Done():
	}
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
	select {
	case s.calls <- struct{}{}:
	default:
	}
	return nil
}

func TestSoakFeederSkipsRatherThanQueues(t *testing.T) {
	path := filepath.Join(t.TempDir(), "okta.ndjson")
	if err := writeSoakCorpus(path, 300, 10_000); err != nil {
		t.Fatal(err)
	}
	c, err := openCorpus(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.f.Close()
	sink := &stallingSink{stall: make(chan struct{}), calls: make(chan struct{}, 1)}
	time.AfterFunc(1500*time.Millisecond, func() { close(sink.stall) })
	ctx, cancel := context.WithCancel(context.Background())
	var ingested, skipped atomic.Int64
	done := make(chan error, 1)
	go func() { done <- feed(ctx, time.Now().Add(time.Minute), sink, c, 10_000, &ingested, &skipped) }()
	deadline := time.After(time.Minute)
	for skipped.Load() == 0 {
		select {
		case <-sink.calls:
		case <-deadline:
			t.Fatal("a stalled sink never made the feeder skip events")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// During the 1.5 s stall 15,500 events fell due at 10,000 ev/s; the
	// feeders held 4 batches (2,000 events), the schedule may owe one second
	// (10,000) and skips the rest.
	if got := skipped.Load(); got < 3000 {
		t.Errorf("skipped %d events after a 1.5 s stall, want at least 3000", got)
	}
	if sink.most > soakFeeders {
		t.Errorf("%d batches in Ingest at once, want at most %d", sink.most, soakFeeders)
	}
}
