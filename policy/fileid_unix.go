//go:build unix

package policy

import (
	"io/fs"
	"syscall"
)

// fileID is the device and inode of fi, which identify the file.
func fileID(fi fs.FileInfo) (dev, inode uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}
