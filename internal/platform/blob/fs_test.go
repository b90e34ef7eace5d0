package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestFS(t *testing.T, opts ...Option) testStore {
	t.Helper()
	dir := t.TempDir()
	s, err := NewFS(dir, opts...)
	if err != nil {
		t.Fatalf("NewFS: %v", err)
	}
	return testStore{
		Store: s,
		replace: func(t *testing.T, hash string, data []byte) {
			t.Helper()
			p := filepath.Join(dir, hash[0:2], hash[2:4], hash)
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatalf("damage %s: %v", p, err)
			}
		},
	}
}

func TestFSConformance(t *testing.T) {
	testConformance(t, newTestFS)
}

func TestFSLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("giấy chứng nhận")
	info := mustPut(t, s, bytes.NewReader(content))
	p := filepath.Join(dir, info.Hash[0:2], info.Hash[2:4], info.Hash)
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("blob not at its sharded path: %v", err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("file at %s holds %q", p, got)
	}
}

// TestFSNoTemporaryFilesRemain puts content in every way that can end (success,
// duplicate, concurrent, too large, failing reader, canceled) and then checks that
// the tree holds only complete blobs under their final names.
func TestFSNoTemporaryFilesRemain(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := NewFS(dir, WithMaxSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}

	mustPut(t, s, strings.NewReader("one"))
	mustPut(t, s, strings.NewReader("one"))
	mustPut(t, s, strings.NewReader(""))
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if _, err := s.Put(ctx, randomReader(3, 200_000)); err != nil {
				t.Errorf("concurrent Put: %v", err)
			}
		})
	}
	wg.Wait()
	if _, err := s.Put(ctx, randomReader(4, 1<<20+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put over the limit: err = %v, want ErrTooLarge", err)
	}
	if _, err := s.Put(ctx, io.MultiReader(strings.NewReader("partial"), errReader{io.ErrUnexpectedEOF})); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Put(cctx, strings.NewReader("canceled")); err == nil {
		t.Fatal("Put with a canceled context succeeded")
	}

	tmpEntries, err := os.ReadDir(filepath.Join(dir, tmpDirName))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tmpEntries {
		t.Errorf("temporary file left behind: %s", e.Name())
	}
	var blobs int
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := filepath.Base(p)
		if !ValidHash(name) || rel != filepath.Join(name[0:2], name[2:4], name) {
			t.Errorf("unexpected file in store: %s", rel)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if sha256Hex(data) != name {
			t.Errorf("file %s does not hash to its name", rel)
		}
		blobs++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if blobs != 3 {
		t.Errorf("store holds %d blobs, want 3 (one, empty, random)", blobs)
	}
}

func TestFSDuplicatePutKeepsExistingFile(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	info := mustPut(t, s, strings.NewReader("biên nhận"))
	p := filepath.Join(dir, info.Hash[0:2], info.Hash[2:4], info.Hash)
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, strings.NewReader("biên nhận"))
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("duplicate Put replaced the stored file instead of keeping it")
	}
}

func TestFSCleanTemp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	tmp := filepath.Join(dir, tmpDirName)
	write := func(name string, mtime time.Time) {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write("put-old.tmp", now.Add(-48*time.Hour))
	write("put-recent.tmp", now.Add(-time.Minute))
	blob := mustPut(t, s, strings.NewReader("kept"))

	n, err := s.CleanTemp(ctx, now.Add(-24*time.Hour))
	if err != nil {
		t.Fatalf("CleanTemp: %v", err)
	}
	if n != 1 {
		t.Errorf("CleanTemp removed %d files, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(tmp, "put-old.tmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old temporary file still present (err = %v)", err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "put-recent.tmp")); err != nil {
		t.Errorf("recent temporary file removed: %v", err)
	}
	if got := mustGet(t, s, blob.Hash); string(got) != "kept" {
		t.Errorf("blob after CleanTemp: %q", got)
	}
}

func TestNewFSRejectsEmptyDir(t *testing.T) {
	if _, err := NewFS(""); err == nil {
		t.Fatal("NewFS(\"\") succeeded")
	}
}
