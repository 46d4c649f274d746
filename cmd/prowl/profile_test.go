package main

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/prowl-siem/prowl/internal/config"
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

func TestApplyGoMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	debug.SetMemoryLimit(math.MaxInt64)
	if got := applyGoMemoryLimit(&config.Config{GoMemoryLimitMB: 300}, []string{"GOMEMLIMIT=1GiB"}); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT in the environment must win: limit %d", got)
	}
	if got := applyGoMemoryLimit(&config.Config{GoMemoryLimitMB: 0}, nil); got != math.MaxInt64 {
		t.Errorf("0 must leave the limit alone: limit %d", got)
	}
	if got := applyGoMemoryLimit(&config.Config{GoMemoryLimitMB: 300}, []string{"GOMEMLIMITX=1"}); got != 300<<20 {
		t.Errorf("limit %d, want 300 MiB", got)
	}
	if memLimit(300<<20) != "300 MiB" || memLimit(math.MaxInt64) != "none" {
		t.Error("memLimit renders limits wrongly")
	}
}
