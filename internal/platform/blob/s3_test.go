package blob

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

const testBucket = "congso-blobs"

// fakeS3 is an S3 service served in-process on loopback by gofakes3, recording
// the requests it receives.
type fakeS3 struct {
	URL     string
	backend *s3mem.Backend

	mu       sync.Mutex
	requests []*http.Request // method, URL and headers only
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	f := &fakeS3{backend: s3mem.New()}
	if err := f.backend.CreateBucket(testBucket); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	handler := gofakes3.New(f.backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, &http.Request{Method: r.Method, URL: r.URL, Header: r.Header.Clone()})
		f.mu.Unlock()
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// count returns how many recorded requests have method and a path ending in suffix.
func (f *fakeS3) count(method, pathSuffix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.Method == method && strings.HasSuffix(r.URL.Path, pathSuffix) {
			n++
		}
	}
	return n
}

// authorizations returns the Authorization headers received so far.
func (f *fakeS3) authorizations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		out = append(out, r.Header.Get("Authorization"))
	}
	return out
}

func (f *fakeS3) config(prefix string) S3Config {
	return S3Config{
		Endpoint:  f.URL,
		Region:    "us-east-1",
		Bucket:    testBucket,
		AccessKey: "AKIDTEST",
		SecretKey: "secret",
		Prefix:    prefix,
		PathStyle: true,
	}
}

func newTestS3(t *testing.T, opts ...Option) testStore {
	t.Helper()
	f := newFakeS3(t)
	const prefix = "blobs/"
	s, err := NewS3(context.Background(), f.config(prefix), opts...)
	if err != nil {
		t.Fatalf("NewS3: %v", err)
	}
	return testStore{
		Store: s,
		replace: func(t *testing.T, hash string, data []byte) {
			t.Helper()
			_, err := f.backend.PutObject(testBucket, prefix+hash, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil)
			if err != nil {
				t.Fatalf("damage %s: %v", hash, err)
			}
		},
	}
}

func TestS3Conformance(t *testing.T) {
	testConformance(t, newTestS3)
}

func TestS3KeyIsPrefixPlusHash(t *testing.T) {
	f := newFakeS3(t)
	s, err := NewS3(context.Background(), f.config("tinh/blobs/"))
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("hồ sơ")
	info := mustPut(t, s, bytes.NewReader(content))
	obj, err := f.backend.GetObject(testBucket, "tinh/blobs/"+info.Hash, nil)
	if err != nil {
		t.Fatalf("object not under prefix+hash: %v", err)
	}
	defer obj.Contents.Close()
	if obj.Size != int64(len(content)) {
		t.Fatalf("object size %d, want %d", obj.Size, len(content))
	}
}

func TestS3DuplicatePutSkipsUpload(t *testing.T) {
	f := newFakeS3(t)
	s, err := NewS3(context.Background(), f.config(""))
	if err != nil {
		t.Fatal(err)
	}
	info := mustPut(t, s, strings.NewReader("tờ khai"))
	mustPut(t, s, strings.NewReader("tờ khai"))
	mustPut(t, s, strings.NewReader("tờ khai"))
	if n := f.count(http.MethodPut, "/"+info.Hash); n != 1 {
		t.Fatalf("three Puts of the same content uploaded %d times, want 1", n)
	}
}

func TestNewS3MissingBucket(t *testing.T) {
	f := newFakeS3(t)
	cfg := f.config("")
	cfg.Bucket = "no-such-bucket"
	if _, err := NewS3(context.Background(), cfg); err == nil {
		t.Fatal("NewS3 with a missing bucket succeeded")
	}
	cfg.Bucket = ""
	if _, err := NewS3(context.Background(), cfg); err == nil {
		t.Fatal("NewS3 with an empty bucket name succeeded")
	}
}

func TestS3SpoolFilesRemoved(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(t)
	cfg := f.config("")
	cfg.SpoolDir = t.TempDir()
	s, err := NewS3(ctx, cfg, WithMaxSize(1000))
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, strings.NewReader("uploaded"))
	mustPut(t, s, strings.NewReader("uploaded"))
	if _, err := s.Put(ctx, randomReader(5, 1001)); err == nil {
		t.Fatal("Put over the limit succeeded")
	}
	if _, err := s.Put(ctx, io.MultiReader(strings.NewReader("partial"), errReader{io.ErrUnexpectedEOF})); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	entries, err := os.ReadDir(cfg.SpoolDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("spool file left behind: %s", e.Name())
	}
}

func TestS3InvalidHashMakesNoRequest(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(t)
	s, err := NewS3(ctx, f.config(""))
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.authorizations())
	s.Get(ctx, "../"+testBucket)
	s.Stat(ctx, "../../etc/passwd")
	s.Delete(ctx, "..")
	if after := len(f.authorizations()); after != before {
		t.Fatalf("invalid hashes caused %d requests, want 0", after-before)
	}
}
