//go:build !unix

package gateway

import (
	"errors"
	"os"
)

// journalMapped: without mmap, each append is one write(2).
const journalMapped = false

func mapSegment(f *os.File, size int64) ([]byte, error) {
	return nil, errors.New("no mapped journal on this system")
}

func unmapSegment(m []byte) error { return nil }
