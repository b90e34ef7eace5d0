package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

// Store keeps immutable blobs named by the SHA-256 of their content.
// Implementations are safe for concurrent use.
type Store interface {
	// Put reads r to its end, stores the content and returns its hash and size.
	// Putting content that is already stored is cheap and returns the same Info.
	Put(ctx context.Context, r io.Reader) (Info, error)
	// Get opens the blob named hash. The reader fails with ErrCorrupt at the end
	// if the content read does not match hash. The caller must close it.
	Get(ctx context.Context, hash string) (io.ReadCloser, error)
	// Stat reports the size of the blob named hash without reading it.
	Stat(ctx context.Context, hash string) (Info, error)
	// Delete removes the blob named hash; deleting a missing blob is not an error.
	Delete(ctx context.Context, hash string) error
}

// Info describes a stored blob.
type Info struct {
	// Hash is the lowercase hex SHA-256 of the content (64 characters).
	Hash string
	// Size is the content's length in bytes.
	Size int64
}

// Errors callers test with errors.Is.
var (
	// ErrNotFound means no blob is stored under the hash.
	ErrNotFound = errors.New("blob not found")
	// ErrInvalidHash means the string is not 64 lowercase hex digits.
	ErrInvalidHash = errors.New("invalid blob hash")
	// ErrTooLarge means the content exceeds the store's size limit.
	ErrTooLarge = errors.New("blob too large")
	// ErrCorrupt means stored content does not match its hash.
	ErrCorrupt = errors.New("blob corrupt")
)

// ValidHash reports whether s is a well-formed blob hash: 64 lowercase hex digits.
func ValidHash(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func checkHash(h string) error {
	if !ValidHash(h) {
		return fmt.Errorf("%w: %q", ErrInvalidHash, truncate(h, 80))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Option configures a store built by NewFS, NewS3 or Open.
type Option func(*options)

type options struct {
	maxSize int64
}

// WithMaxSize makes Put reject content longer than n bytes with ErrTooLarge.
// n <= 0 means no limit (the default, except for the S3 single-upload limit).
func WithMaxSize(n int64) Option {
	return func(o *options) { o.maxSize = n }
}

func applyOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// spool copies r into a new temporary file in dir while hashing it. It returns the
// open file (positioned at its end) and the content's Info. At most maxSize bytes are
// accepted when maxSize > 0. On error nothing is left behind.
func spool(ctx context.Context, dir string, r io.Reader, maxSize int64) (*os.File, Info, error) {
	f, err := os.CreateTemp(dir, "put-*.tmp")
	if err != nil {
		return nil, Info{}, fmt.Errorf("create temporary file: %w", err)
	}
	fail := func(err error) (*os.File, Info, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, Info{}, err
	}

	src := io.Reader(&ctxReader{ctx: ctx, r: r})
	if maxSize > 0 {
		src = io.LimitReader(src, maxSize+1)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if err != nil {
		return fail(fmt.Errorf("copy content: %w", err))
	}
	if maxSize > 0 && n > maxSize {
		return fail(fmt.Errorf("content exceeds %d bytes: %w", maxSize, ErrTooLarge))
	}
	return f, Info{Hash: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// ctxReader stops a copy as soon as ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// verifyingReader passes content through and, at the end, checks that it hashes to
// the expected name and has the expected size (size < 0: unknown).
type verifyingReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	hash string
	size int64
	n    int64
	err  error // sticky: io.EOF or a corruption error once the end was checked
}

func newVerifyingReader(rc io.ReadCloser, hash string, size int64) *verifyingReader {
	return &verifyingReader{rc: rc, h: sha256.New(), hash: hash, size: size}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.size >= 0 && v.n > v.size {
		v.err = fmt.Errorf("blob %s: more than the expected %d bytes: %w", v.hash, v.size, ErrCorrupt)
		return n, v.err
	}
	if err == io.EOF {
		switch got := hex.EncodeToString(v.h.Sum(nil)); {
		case v.size >= 0 && v.n != v.size:
			v.err = fmt.Errorf("blob %s: read %d bytes, expected %d: %w", v.hash, v.n, v.size, ErrCorrupt)
		case got != v.hash:
			v.err = fmt.Errorf("blob %s: content hashes to %s: %w", v.hash, got, ErrCorrupt)
		default:
			v.err = io.EOF
		}
		return n, v.err
	}
	return n, err
}

func (v *verifyingReader) Close() error {
	return v.rc.Close()
}
