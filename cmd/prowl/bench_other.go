//go:build !unix

package main

func offHeap(n int) []byte { return make([]byte, 0, n) }

func childMaxRSSMiB() float64 { return 0 }
