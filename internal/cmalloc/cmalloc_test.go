package cmalloc

import (
	"errors"
	"runtime"
	"testing"
)

// On Linux with glibc the limit is set; a limit in the environment wins.
func TestLimitArenas(t *testing.T) {
	err := LimitArenas(2, nil)
	if runtime.GOOS == "linux" && err != nil {
		t.Errorf("LimitArenas on Linux: %v", err)
	}
	if err != nil && !errors.Is(err, ErrUnsupported) {
		t.Errorf("LimitArenas: %v", err)
	}
	for _, env := range [][]string{{"MALLOC_ARENA_MAX=4"}, {"GLIBC_TUNABLES=glibc.malloc.arena_max=4"}} {
		if err := LimitArenas(-1, env); err != nil {
			t.Errorf("with %q: %v, want the environment's limit left alone", env, err)
		}
	}
}
