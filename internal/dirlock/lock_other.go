//go:build !unix

package dirlock

import (
	"fmt"
	"os"
	"path/filepath"
)

// Lock opens dir/LOCK. Without flock there is no cross-process exclusion
// on this platform; prowl's supported platforms are unix. Errors begin
// with "name: "; holder is unused here.
func Lock(dir, name, holder string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}
