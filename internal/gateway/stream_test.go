package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/congso/congso/internal/gateway"
)

// pattern is an endless, allocation-free body.
type pattern struct{ n int64 }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(p.n * 31)
		p.n++
	}
	return len(b), nil
}

func TestHundredMegabytesStreamWithoutBuffering(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MB")
	}
	const size = 100 << 20
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		w.Header().Set("X-Got", hex.EncodeToString(h.Sum(nil)))
		w.Header().Set("X-Len", itoa(n))
		io.Copy(w, io.LimitReader(&pattern{}, size)) // and stream as much back
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seed(t, n.mgr, backend.URL)

	want := sha256.New()
	io.Copy(want, io.LimitReader(&pattern{}, size))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp := call(t, n.srv.URL, "PUT", "/r1/"+svcID+"/upload", "tok-client", io.LimitReader(&pattern{}, size), gateway.HeaderIssue, "BIG-1")
	got, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if resp.StatusCode != 200 || resp.Header.Get("X-Len") != itoa(size) || got != size {
		t.Fatalf("status %d, backend got %s bytes, client got %d", resp.StatusCode, resp.Header.Get("X-Len"), got)
	}
	sum := want.Sum(nil)
	if resp.Header.Get("X-Got") != hex.EncodeToString(sum) || resp.Header.Get(gateway.HeaderRequestHash) != base64.StdEncoding.EncodeToString(sum) {
		t.Fatalf("body altered or request hash wrong: %s %s", resp.Header.Get("X-Got"), resp.Header.Get(gateway.HeaderRequestHash))
	}
	// Client, gateway and backend share this process; 200 MB went through.
	alloc := (after.TotalAlloc - before.TotalAlloc) >> 20
	t.Logf("allocated %d MiB while moving 100 MiB each way; heap in use after: %d MiB", alloc, after.HeapInuse>>20)
	if alloc > 40 {
		t.Fatalf("allocated %d MiB: the body was buffered", alloc)
	}
	recs, err := gateway.Search(context.Background(), d, gateway.Filter{Issue: "BIG-1"})
	must(t, err)
	if len(recs) != 1 || recs[0].RequestBytes != size || recs[0].ResponseBytes != size || recs[0].RequestHash != hex.EncodeToString(sum) {
		t.Fatalf("log %+v", recs)
	}
}

func itoa(n int64) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
