package gateway

import (
	"os"
	"syscall"
)

// reserve allocates size bytes of disk for f (fallocate): a full disk is
// an error now, not a fault when a mapped page is written back.
func reserve(f *os.File, size int64) error {
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err == nil || err != syscall.EOPNOTSUPP {
		return err
	}
	return f.Truncate(size) // a file system without fallocate
}
