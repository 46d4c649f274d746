//go:build unix

package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Lock takes an exclusive advisory lock on dir/LOCK, so that two writers
// (processes, or two holders in one process) never share the directory.
// The kernel releases it when the returned file is closed or the process
// dies. Errors begin with "name: "; holder names the kind of writer in the
// message for a directory already locked ("in use by another process or
// holder").
func Lock(dir, name, holder string) (*os.File, error) {
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %s is in use by another process or %s", name, dir, holder)
		}
		return nil, fmt.Errorf("%s: locking %s: %w", name, path, err)
	}
	return f, nil
}
