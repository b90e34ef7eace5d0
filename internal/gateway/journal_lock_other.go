//go:build !unix

package gateway

import "os"

// lockFile does nothing where flock is missing: one process per node's
// journal is then the operator's to ensure (production runs on Linux).
func lockFile(f *os.File) error { return nil }

// unlockFile releases lockFile's lock.
func unlockFile(f *os.File) {}
