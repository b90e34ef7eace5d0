package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// tmpDirName is the directory under the root where Put writes content before
// publishing it. It is not two hex digits, so it can never collide with a shard.
const tmpDirName = "tmp"

// FS is a Store on a local filesystem. A blob with hash abcdef… is kept at
// <dir>/ab/cd/abcdef…; in-progress writes live in <dir>/tmp on the same filesystem
// so that publishing is an atomic rename.
type FS struct {
	root    string
	tmp     string
	maxSize int64
}

var _ Store = (*FS)(nil)

// NewFS returns a filesystem store rooted at dir, creating dir if needed.
func NewFS(dir string, opts ...Option) (*FS, error) {
	if dir == "" {
		return nil, errors.New("blob: filesystem store: empty directory")
	}
	o := applyOptions(opts)
	root := filepath.Clean(dir)
	tmp := filepath.Join(root, tmpDirName)
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return nil, fmt.Errorf("blob: filesystem store %s: %w", root, err)
	}
	return &FS{root: root, tmp: tmp, maxSize: o.maxSize}, nil
}

func (s *FS) path(hash string) string {
	return filepath.Join(s.root, hash[0:2], hash[2:4], hash)
}

// Put stores the content of r. See Store.
func (s *FS) Put(ctx context.Context, r io.Reader) (Info, error) {
	f, info, err := spool(ctx, s.tmp, r, s.maxSize)
	if err != nil {
		return Info{}, fmt.Errorf("blob: put: %w", err)
	}
	tmpName := f.Name()
	published := false
	defer func() {
		if !published {
			f.Close()
			os.Remove(tmpName)
		}
	}()

	final := s.path(info.Hash)
	leaf := filepath.Dir(final)
	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() && fi.Size() == info.Size {
		// Already stored. Its writer fsynced the file and the upper directories
		// before renaming; syncing the leaf directory makes sure the entry we saw
		// is durable even if that writer has not finished yet.
		if err := syncDir(leaf); err != nil {
			return Info{}, fmt.Errorf("blob: put %s: %w", info.Hash, err)
		}
		return info, nil
	}

	if err := f.Sync(); err != nil {
		return Info{}, fmt.Errorf("blob: put %s: sync: %w", info.Hash, err)
	}
	if err := f.Close(); err != nil {
		return Info{}, fmt.Errorf("blob: put %s: close: %w", info.Hash, err)
	}
	if err := os.MkdirAll(leaf, 0o750); err != nil {
		return Info{}, fmt.Errorf("blob: put %s: %w", info.Hash, err)
	}
	// The shard directories may have just been created (by us or a concurrent
	// Put): make their entries durable before the blob's.
	for _, d := range []string{s.root, filepath.Dir(leaf)} {
		if err := syncDir(d); err != nil {
			return Info{}, fmt.Errorf("blob: put %s: %w", info.Hash, err)
		}
	}
	if err := os.Rename(tmpName, final); err != nil {
		return Info{}, fmt.Errorf("blob: put %s: publish: %w", info.Hash, err)
	}
	published = true
	if err := syncDir(leaf); err != nil {
		return Info{}, fmt.Errorf("blob: put %s: %w", info.Hash, err)
	}
	return info, nil
}

// Get opens the blob named hash. See Store.
func (s *FS) Get(ctx context.Context, hash string) (io.ReadCloser, error) {
	if err := checkHash(hash); err != nil {
		return nil, fmt.Errorf("blob: get: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("blob: get %s: %w", hash, err)
	}
	f, err := os.Open(s.path(hash))
	if err != nil {
		return nil, fmt.Errorf("blob: get %s: %w", hash, notFound(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: get %s: %w", hash, err)
	}
	return newVerifyingReader(f, hash, fi.Size()), nil
}

// Stat reports the size of the blob named hash. See Store.
func (s *FS) Stat(ctx context.Context, hash string) (Info, error) {
	if err := checkHash(hash); err != nil {
		return Info{}, fmt.Errorf("blob: stat: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("blob: stat %s: %w", hash, err)
	}
	fi, err := os.Stat(s.path(hash))
	if err != nil {
		return Info{}, fmt.Errorf("blob: stat %s: %w", hash, notFound(err))
	}
	return Info{Hash: hash, Size: fi.Size()}, nil
}

// Delete removes the blob named hash. See Store.
func (s *FS) Delete(ctx context.Context, hash string) error {
	if err := checkHash(hash); err != nil {
		return fmt.Errorf("blob: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: delete %s: %w", hash, err)
	}
	if err := os.Remove(s.path(hash)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete %s: %w", hash, err)
	}
	return nil
}

// CleanTemp removes temporary files left in the store by Puts that were interrupted
// (a crash, a killed process) and last modified before the given time. Pass a time
// well in the past (e.g. now minus a day) so that Puts still in progress, possibly
// in other processes sharing the directory, are not disturbed. It returns how many
// files it removed.
func (s *FS) CleanTemp(ctx context.Context, before time.Time) (int, error) {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return 0, fmt.Errorf("blob: clean temporary files: %w", err)
	}
	removed := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("blob: clean temporary files: %w", err)
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // published or removed meanwhile
		}
		if err != nil {
			return removed, fmt.Errorf("blob: clean temporary files: %w", err)
		}
		if !fi.Mode().IsRegular() || !fi.ModTime().Before(before) {
			continue
		}
		err = os.Remove(filepath.Join(s.tmp, e.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("blob: clean temporary files: %w", err)
		}
		if err == nil {
			removed++
		}
	}
	return removed, nil
}

// notFound maps a missing file to ErrNotFound and keeps other errors.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	return err
}

// syncDir fsyncs a directory so that entries created or renamed in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
