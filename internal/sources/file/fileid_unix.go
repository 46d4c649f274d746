//go:build unix

package file

import (
	"io/fs"
	"syscall"
)

// fileID identifies a file across renames: device and inode.
func fileID(fi fs.FileInfo) (uint64, uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint64(st.Dev), uint64(st.Ino), true
}
