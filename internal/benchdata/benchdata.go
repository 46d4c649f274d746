// Package benchdata holds detections that `prowl bench` runs but prowl
// does not ship as a pack: okta_simple, the bundled Okta pack's rules that
// the simple-detection grammar can express (24 of them), written as
// `Detection:` simple detections with the pack's own test events. The
// engine's tests and benchmarks load the directory from the source tree.
package benchdata

import (
	"embed"
	"os"
	"path/filepath"
)

//go:embed okta_simple
var files embed.FS

// ExtractOktaSimple writes okta_simple under dir, which must not hold it
// yet, and returns its path.
func ExtractOktaSimple(dir string) (string, error) {
	if err := os.CopyFS(dir, files); err != nil {
		return "", err
	}
	return filepath.Join(dir, "okta_simple"), nil
}
