// Package cmalloc tunes the C allocator that DuckDB's C++ code uses for
// what it does not allocate in its own buffers (glibc's malloc on Linux).
//
// glibc gives each thread that allocates an arena of its own, up to eight
// per core, and an arena keeps the memory freed in it for later use. Go
// calls DuckDB from whichever OS thread runs the goroutine, so over time
// many threads allocate in DuckDB and each keeps tens of megabytes: in
// the 50,000 events/s soak, glibc arenas held about 200 MiB of the
// process's RSS.
package cmalloc

import (
	"errors"
	"slices"
	"strings"
)

// ErrUnsupported says the C library cannot limit its arenas (not glibc,
// or a build without cgo).
var ErrUnsupported = errors.New("cmalloc: the C allocator has no arena limit here")

// LimitArenas caps the C allocator's arenas at n, unless environ already
// sets a limit (MALLOC_ARENA_MAX, or glibc.malloc.arena_max in
// GLIBC_TUNABLES), which glibc has applied at start. Call it before C code
// starts threads of its own.
func LimitArenas(n int, environ []string) error {
	if slices.ContainsFunc(environ, func(kv string) bool {
		return strings.HasPrefix(kv, "MALLOC_ARENA_MAX=") ||
			strings.HasPrefix(kv, "GLIBC_TUNABLES=") && strings.Contains(kv, "glibc.malloc.arena_max=")
	}) {
		return nil
	}
	return limitArenas(n)
}
