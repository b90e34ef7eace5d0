package blob

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenFilesystem(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	for _, raw := range []string{
		filepath.Join(base, "plain"),
		"file://" + filepath.Join(base, "url"),
		"file://localhost" + filepath.Join(base, "localhost"),
	} {
		s, err := Open(ctx, raw)
		if err != nil {
			t.Fatalf("Open(%q): %v", raw, err)
		}
		if _, ok := s.(*FS); !ok {
			t.Fatalf("Open(%q) = %T, want *FS", raw, s)
		}
		info := mustPut(t, s, strings.NewReader("x"))
		if got := mustGet(t, s, info.Hash); string(got) != "x" {
			t.Fatalf("Open(%q): Get returned %q", raw, got)
		}
	}

	s, err := Open(ctx, "file://"+filepath.Join(base, "limited")+"?max_size=3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, strings.NewReader("four")); err == nil {
		t.Fatal("max_size=3 accepted 4 bytes")
	}
	// An explicit option overrides the URL.
	s, err = Open(ctx, "file://"+filepath.Join(base, "limited")+"?max_size=3", WithMaxSize(10))
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, strings.NewReader("four"))
}

func TestOpenS3WithURLCredentials(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(t)
	q := url.Values{"endpoint": {f.URL}, "region": {"ap-southeast-1"}, "path_style": {"true"}}
	raw := "s3://AKIDFROMURL:" + url.PathEscape("se/cr+et") + "@" + testBucket + "/tinh/blobs?" + q.Encode()
	s, err := Open(ctx, raw)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, ok := s.(*S3); !ok {
		t.Fatalf("Open = %T, want *S3", s)
	}
	info := mustPut(t, s, strings.NewReader("kết quả"))
	if got := mustGet(t, s, info.Hash); string(got) != "kết quả" {
		t.Fatalf("Get returned %q", got)
	}
	if _, err := f.backend.HeadObject(testBucket, "tinh/blobs/"+info.Hash); err != nil {
		t.Fatalf("object not under the URL's prefix: %v", err)
	}
	for _, a := range f.authorizations() {
		if !strings.Contains(a, "Credential=AKIDFROMURL/") || !strings.Contains(a, "/ap-southeast-1/s3/") {
			t.Fatalf("request signed as %q, want access key AKIDFROMURL and region ap-southeast-1", a)
		}
	}
}

func TestOpenS3WithEnvironmentCredentials(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	ctx := context.Background()
	f := newFakeS3(t)
	s, err := Open(ctx, "s3://"+testBucket+"?path_style=true&endpoint="+url.QueryEscape(f.URL))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	info := mustPut(t, s, strings.NewReader("env"))
	if _, err := f.backend.HeadObject(testBucket, info.Hash); err != nil {
		t.Fatalf("object not at the bucket root: %v", err)
	}
	for _, a := range f.authorizations() {
		if !strings.Contains(a, "Credential=AKIDFROMENV/") || !strings.Contains(a, "/"+defaultRegion+"/s3/") {
			t.Fatalf("request signed as %q, want access key AKIDFROMENV and the default region", a)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	ctx := context.Background()
	f := newFakeS3(t)
	ep := "&endpoint=" + url.QueryEscape(f.URL)
	for _, raw := range []string{
		"",
		"ftp://example.org/blobs",
		"file://otherhost/var/blobs",
		"file:relative/blobs",
		"file:///var/blobs?bucket=x",
		"file:///var/blobs?max_size=lots",
		"file:///var/blobs?max_size=-1",
		"s3:///prefix-without-bucket",
		"s3://" + testBucket + "?path_style=maybe" + ep,
		"s3://" + testBucket + "?path_style=true&regoin=us-east-1" + ep,
		"s3://" + testBucket + "?path_style=true&region=a&region=b" + ep,
		"s3://:supersecret@" + testBucket + "?path_style=true" + ep,
		"s3://AK:supersecret@no-such-bucket?path_style=true&region=us-east-1" + ep,
		"s3://AK:supersecret@" + testBucket + "/%zz?path_style=true",
		"s3://AK:supersecret@" + testBucket + "?max_size=0&path_style=true" + ep,
	} {
		s, err := Open(ctx, raw)
		if err == nil {
			t.Errorf("Open(%q) = %T, want an error", raw, s)
			continue
		}
		if strings.Contains(err.Error(), "supersecret") {
			t.Errorf("Open(%q) error reveals the secret: %v", raw, err)
		}
	}
}
