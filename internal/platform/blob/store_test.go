package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// testStore is a store under test plus a way to damage it behind its back.
type testStore struct {
	Store
	// replace overwrites the bytes stored under hash with data.
	replace func(t *testing.T, hash string, data []byte)
}

// newStoreFunc returns a fresh, empty store built with opts.
type newStoreFunc func(t *testing.T, opts ...Option) testStore

// testConformance checks the behaviour every Store must have.
func testConformance(t *testing.T, newStore newStoreFunc) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		content := []byte("Đơn đề nghị cấp giấy phép xây dựng\n")
		info := mustPut(t, s, bytes.NewReader(content))
		if want := (Info{Hash: sha256Hex(content), Size: int64(len(content))}); info != want {
			t.Fatalf("Put = %+v, want %+v", info, want)
		}
		if got := mustGet(t, s, info.Hash); !bytes.Equal(got, content) {
			t.Fatalf("Get returned %q, want %q", got, content)
		}
	})

	t.Run("HashIsSHA256", func(t *testing.T) {
		s := newStore(t)
		for _, content := range [][]byte{
			{},
			{0},
			[]byte("a"),
			[]byte("Sở Tư pháp tỉnh"),
			bytes.Repeat([]byte{0xff, 0x00}, 70_000),
		} {
			info := mustPut(t, s, bytes.NewReader(content))
			sum := sha256.Sum256(content)
			if info.Hash != hex.EncodeToString(sum[:]) || info.Size != int64(len(content)) {
				t.Errorf("Put(%d bytes) = %+v, want hash %x size %d", len(content), info, sum, len(content))
			}
			if got := mustGet(t, s, info.Hash); !bytes.Equal(got, content) {
				t.Errorf("Get(%d bytes) returned %d different bytes", len(content), len(got))
			}
		}
	})

	t.Run("DuplicatePut", func(t *testing.T) {
		s := newStore(t)
		content := []byte("same content twice")
		first := mustPut(t, s, bytes.NewReader(content))
		second := mustPut(t, s, strings.NewReader(string(content)))
		if first != second {
			t.Fatalf("second Put = %+v, first = %+v", second, first)
		}
		if got := mustGet(t, s, first.Hash); !bytes.Equal(got, content) {
			t.Fatalf("Get after duplicate Put returned %q", got)
		}
	})

	t.Run("Stat", func(t *testing.T) {
		s := newStore(t)
		content := []byte("stat me")
		info := mustPut(t, s, bytes.NewReader(content))
		got, err := s.Stat(ctx, info.Hash)
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		if got != info {
			t.Fatalf("Stat = %+v, want %+v", got, info)
		}
		if _, err := s.Stat(ctx, sha256Hex([]byte("never stored"))); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Stat of a missing blob: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, sha256Hex([]byte("never stored"))); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of a missing blob: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("DeleteThenGet", func(t *testing.T) {
		s := newStore(t)
		gone := mustPut(t, s, strings.NewReader("to be deleted"))
		kept := mustPut(t, s, strings.NewReader("to be kept"))
		if err := s.Delete(ctx, gone.Hash); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Get(ctx, gone.Hash); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, gone.Hash); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Stat after Delete: err = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, gone.Hash); err != nil {
			t.Fatalf("second Delete: err = %v, want nil (idempotent)", err)
		}
		if got := mustGet(t, s, kept.Hash); string(got) != "to be kept" {
			t.Fatalf("other blob after Delete: %q", got)
		}
		// Content can be stored again after deletion.
		again := mustPut(t, s, strings.NewReader("to be deleted"))
		if got := mustGet(t, s, again.Hash); string(got) != "to be deleted" {
			t.Fatalf("Get after re-Put: %q", got)
		}
	})

	t.Run("InvalidHash", func(t *testing.T) {
		s := newStore(t)
		valid := sha256Hex([]byte("x"))
		for _, h := range []string{
			"",
			"../../etc/passwd",
			"../" + valid[3:],
			"ab/cd/" + valid[6:],
			strings.ToUpper(valid),
			valid[:63],
			valid + "0",
			valid[:62] + "g0",
			"/" + valid[1:],
			valid[:63] + "\x00",
		} {
			if _, err := s.Get(ctx, h); !errors.Is(err, ErrInvalidHash) {
				t.Errorf("Get(%q): err = %v, want ErrInvalidHash", h, err)
			}
			if _, err := s.Stat(ctx, h); !errors.Is(err, ErrInvalidHash) {
				t.Errorf("Stat(%q): err = %v, want ErrInvalidHash", h, err)
			}
			if err := s.Delete(ctx, h); !errors.Is(err, ErrInvalidHash) {
				t.Errorf("Delete(%q): err = %v, want ErrInvalidHash", h, err)
			}
		}
	})

	t.Run("LargeStreamingBlob", func(t *testing.T) {
		s := newStore(t)
		const size = 5<<20 + 12345
		// A bare io.Reader of unknown length, generated on the fly.
		info := mustPut(t, s, struct{ io.Reader }{randomReader(1, size)})
		h := sha256.New()
		io.Copy(h, randomReader(1, size))
		wantHash := hex.EncodeToString(h.Sum(nil))
		if info.Hash != wantHash || info.Size != size {
			t.Fatalf("Put = %+v, want hash %s size %d", info, wantHash, size)
		}
		rc, err := s.Get(ctx, info.Hash)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		defer rc.Close()
		got := sha256.New()
		n, err := io.Copy(got, rc)
		if err != nil {
			t.Fatalf("read large blob: %v", err)
		}
		if n != size || hex.EncodeToString(got.Sum(nil)) != wantHash {
			t.Fatalf("read back %d bytes hashing to %x, want %d bytes hashing to %s", n, got.Sum(nil), size, wantHash)
		}
	})

	t.Run("ConcurrentPutsOfSameContent", func(t *testing.T) {
		s := newStore(t)
		content, _ := io.ReadAll(randomReader(2, 300_000))
		const workers = 8
		infos := make([]Info, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				infos[i], errs[i] = s.Put(ctx, bytes.NewReader(content))
			})
		}
		wg.Wait()
		want := Info{Hash: sha256Hex(content), Size: int64(len(content))}
		for i := range workers {
			if errs[i] != nil || infos[i] != want {
				t.Errorf("Put #%d = %+v, %v; want %+v", i, infos[i], errs[i], want)
			}
		}
		if got := mustGet(t, s, want.Hash); !bytes.Equal(got, content) {
			t.Fatalf("Get after concurrent Puts returned %d different bytes", len(got))
		}
	})

	t.Run("MaxSize", func(t *testing.T) {
		s := newStore(t, WithMaxSize(10))
		if _, err := s.Put(ctx, strings.NewReader("0123456789")); err != nil {
			t.Fatalf("Put of exactly the limit: %v", err)
		}
		tooBig := "0123456789A"
		if _, err := s.Put(ctx, strings.NewReader(tooBig)); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Put over the limit: err = %v, want ErrTooLarge", err)
		}
		if _, err := s.Stat(ctx, sha256Hex([]byte(tooBig))); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Stat of rejected content: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("ReaderErrorStoresNothing", func(t *testing.T) {
		s := newStore(t)
		errBroken := errors.New("connection reset by citizen")
		content := []byte("half an upload")
		r := io.MultiReader(bytes.NewReader(content), errReader{errBroken})
		if _, err := s.Put(ctx, r); !errors.Is(err, errBroken) {
			t.Fatalf("Put from a failing reader: err = %v, want %v", err, errBroken)
		}
		if _, err := s.Stat(ctx, sha256Hex(content)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Stat of the partial content: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		content := []byte("too late")
		if _, err := s.Put(cctx, bytes.NewReader(content)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put with canceled context: err = %v, want context.Canceled", err)
		}
		if _, err := s.Stat(ctx, sha256Hex(content)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Stat after canceled Put: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("CorruptionDetectedAndRepaired", func(t *testing.T) {
		s := newStore(t)
		content := []byte("quyết định cấp phép số 123/QĐ-UBND")
		info := mustPut(t, s, bytes.NewReader(content))

		for name, bad := range map[string][]byte{
			"truncated": content[:10],
			"same size": append([]byte("X"), content[1:]...),
			"longer":    append(append([]byte{}, content...), '!'),
		} {
			s.replace(t, info.Hash, bad)
			rc, err := s.Get(ctx, info.Hash)
			if err != nil {
				t.Fatalf("%s: Get: %v", name, err)
			}
			_, err = io.ReadAll(rc)
			rc.Close()
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: reading damaged blob: err = %v, want ErrCorrupt", name, err)
			}
		}

		// A damaged copy of a different size is replaced by the next Put.
		s.replace(t, info.Hash, content[:10])
		if again := mustPut(t, s, bytes.NewReader(content)); again != info {
			t.Fatalf("re-Put = %+v, want %+v", again, info)
		}
		if got := mustGet(t, s, info.Hash); !bytes.Equal(got, content) {
			t.Fatalf("Get after repair returned %q", got)
		}
	})
}

func mustPut(t *testing.T, s Store, r io.Reader) Info {
	t.Helper()
	info, err := s.Put(context.Background(), r)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return info
}

func mustGet(t *testing.T, s Store, hash string) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), hash)
	if err != nil {
		t.Fatalf("Get(%s): %v", hash, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", hash, err)
	}
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// randomReader yields n deterministic pseudo-random bytes for seed.
func randomReader(seed byte, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{seed}), n)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestValidHash(t *testing.T) {
	valid := sha256Hex(nil)
	for s, want := range map[string]bool{
		valid:                   true,
		strings.ToUpper(valid):  false,
		valid[:63]:              false,
		valid + "a":             false,
		"../../etc/passwd":      false,
		"":                      false,
		valid[:60] + "/../":     false,
		strings.Repeat("0", 64): true,
		strings.Repeat("g", 64): false,
		strings.Repeat("é", 32): false,
	} {
		if got := ValidHash(s); got != want {
			t.Errorf("ValidHash(%q) = %v, want %v", s, got, want)
		}
	}
}
