package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/prowl-siem/prowl/internal/config"
)

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
