package main

import (
	"os"
	"path/filepath"
	"testing"
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
