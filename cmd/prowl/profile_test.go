package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHeapProfilerWritesOnGrowth(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heap.pprof")
	h := heapProfiler{path: path}
	if err := h.observe(100 << 20); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("no profile written for the first sample: %v", err)
	}
	if err := h.observe(120 << 20); err != nil { // +20%: not a new peak worth a profile
		t.Fatal(err)
	}
	if h.written != 100<<20 {
		t.Fatalf("profile rewritten at +20%%: written=%d", h.written)
	}
	if err := h.observe(130 << 20); err != nil {
		t.Fatal(err)
	}
	if h.written != 130<<20 {
		t.Fatalf("profile not rewritten at +30%%: written=%d", h.written)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left behind: %v", err)
	}
	off := heapProfiler{}
	if err := off.observe(1 << 30); err != nil || off.written != 0 {
		t.Fatalf("empty path: err=%v written=%d", err, off.written)
	}
}

// The lag profiler profiles the first lag over its threshold, for its
// length, and only that one.
func TestLagProfilerProfilesTheFirstLag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lag.cpu")
	p := lagProfiler{path: path, threshold: 100, length: time.Minute}
	t0 := time.Now()
	if err := p.observe(100, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a lag at the threshold started a profile (%v)", err)
	}
	if err := p.observe(101, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if g, err := os.ReadFile(path + ".goroutines"); err != nil || !strings.Contains(string(g), "goroutine profile:") {
		t.Fatalf("goroutines: %.80q, %v", g, err)
	}
	if p.stop == nil {
		t.Fatal("no CPU profile running after the lag")
	}
	if err := p.observe(500, t0.Add(30*time.Second)); err != nil || p.stop == nil {
		t.Fatalf("the profile stopped before its length (%v)", err)
	}
	if err := p.observe(500, t0.Add(61*time.Second)); err != nil || p.stop != nil {
		t.Fatalf("the profile runs on past its length (%v)", err)
	}
	if info, err := os.Stat(path); err != nil || info.Size() == 0 {
		t.Fatalf("CPU profile: %v, %v", info, err)
	}
	if err := p.observe(1000, t0.Add(2*time.Minute)); err != nil || p.stop != nil {
		t.Fatalf("a second lag started another profile (%v)", err)
	}
}
