//go:build unix

package gateway

import (
	"os"
	"syscall"
)

// journalMapped: segments are written through a shared memory mapping
// (an append is a copy, not a system call).
const journalMapped = true

// mapSegment reserves size bytes for f (so that writing through the
// mapping cannot fail for want of disk space later) and maps them.
func mapSegment(f *os.File, size int64) ([]byte, error) {
	if err := reserve(f, size); err != nil {
		return nil, err
	}
	return syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
}

func unmapSegment(m []byte) error { return syscall.Munmap(m) }
