package main

import (
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/prowl-siem/prowl/internal/config"
)

// applyGoMemoryLimit sets the Go runtime's soft memory limit from the
// go_memory_limit_mb setting, unless environ sets GOMEMLIMIT (the runtime
// has applied that already) or the setting is 0. It returns the limit in
// force.
func applyGoMemoryLimit(cfg *config.Config, environ []string) int64 {
	if cfg.GoMemoryLimitMB > 0 && !slices.ContainsFunc(environ, func(kv string) bool { return strings.HasPrefix(kv, "GOMEMLIMIT=") }) {
		debug.SetMemoryLimit(int64(cfg.GoMemoryLimitMB) << 20)
	}
	return debug.SetMemoryLimit(-1)
}

// memLimit renders a Go memory limit for reports.
func memLimit(b int64) string {
	if b == math.MaxInt64 {
		return "none"
	}
	return fmt.Sprintf("%d MiB", b>>20)
}
