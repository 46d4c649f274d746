// Command prowl is a detection-as-code SIEM: Python and YAML detections,
// tested like code, run in real time over normalized logs.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/prowl-siem/prowl/internal/cmalloc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	// DuckDB's C++ allocations: glibc arenas one per core rather than
	// eight, which keep what was freed in them (see internal/cmalloc).
	// Elsewhere there is nothing to limit.
	_ = cmalloc.LimitArenas(max(2, runtime.NumCPU()), os.Environ())
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		var exit exitError
		if errors.As(err, &exit) {
			os.Exit(exit.code)
		}
		fmt.Fprintln(os.Stderr, "prowl:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "prowl",
		Short:         "prowl: detection-as-code SIEM",
		Long:          "prowl runs Python and YAML detections (Panther's format) over your logs, with unit tests that run like code.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newTestCmd(), newValidateCmd(), newDebugCmd(), newInitCmd(), newGenCmd(), newOktaSimCmd(), newSchemaCmd(), newIngestCmd(), newUpCmd(), newConfigCmd(), newAlertsCmd(), newSourcesCmd(), newDestinationsCmd(), newBenchCmd(), newQueryCmd(), newSearchCmd(), newReplayCmd())
	return root
}
