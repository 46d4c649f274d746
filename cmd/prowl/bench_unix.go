//go:build unix

package main

import (
	"runtime"
	"syscall"
)

// offHeap returns an empty buffer of capacity n outside the Go heap (an
// anonymous mapping, never unmapped: it lives as long as the process).
func offHeap(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, 0, n)
	}
	return b[:0]
}

// childMaxRSSMiB is the peak resident memory of the largest child process
// waited for so far.
func childMaxRSSMiB() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru) != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return float64(ru.Maxrss) / (1 << 20) // bytes there
	}
	return float64(ru.Maxrss) / 1024
}
