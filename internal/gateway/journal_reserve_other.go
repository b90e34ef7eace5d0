//go:build unix && !linux

package gateway

import "os"

// reserve sizes f (production runs on Linux, which also reserves the disk).
func reserve(f *os.File, size int64) error { return f.Truncate(size) }
