//go:build !linux || !cgo

package cmalloc

func limitArenas(int) error { return ErrUnsupported }
