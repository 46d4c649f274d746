package main

import (
	"os"
	"runtime/pprof"
	"time"
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

// lagProfiler profiles the first moment a lag exceeds threshold: it writes
// the goroutines then to path+".goroutines" and a CPU profile of the next
// length to path. An empty path writes nothing.
type lagProfiler struct {
	path      string
	threshold int64
	length    time.Duration
	stop      func() // stops the profile being taken
	stopAt    time.Time
	done      bool
}

// observe is given the current lag at time now.
func (p *lagProfiler) observe(lag int64, now time.Time) error {
	if p.stop != nil && !now.Before(p.stopAt) {
		p.close()
	}
	if p.path == "" || p.done || lag <= p.threshold {
		return nil
	}
	p.done = true
	f, err := os.Create(p.path + ".goroutines")
	if err != nil {
		return err
	}
	err = pprof.Lookup("goroutine").WriteTo(f, 1)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if p.stop, err = startCPUProfile(p.path); err != nil {
		return err
	}
	p.stopAt = now.Add(p.length)
	return nil
}

// close stops a profile still being taken.
func (p *lagProfiler) close() {
	if p.stop != nil {
		p.stop()
		p.stop = nil
	}
}
