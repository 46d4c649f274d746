package main

import (
	"os"
	"runtime/pprof"
)

// startCPUProfile starts a CPU profile written to path; the returned func
// stops it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// heapProfiler writes a heap profile to path each time the Go heap grows a
// quarter above the size of the last profile written, so that the file
// ends up showing the heap near its peak. An empty path writes nothing.
type heapProfiler struct {
	path    string
	written int64 // heap bytes when the last profile was written
}

// observe is given the current heap size.
func (h *heapProfiler) observe(heap int64) error {
	if h.path == "" || heap <= h.written+h.written/4 {
		return nil
	}
	h.written = heap
	tmp := h.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, h.path)
}
