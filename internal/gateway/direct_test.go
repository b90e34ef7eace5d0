package gateway_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
)

// countingRT counts the requests it carries for the DirectTransport.
type countingRT struct {
	n  atomic.Int64
	rt http.RoundTripper
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

func getBody(t *testing.T, tr http.RoundTripper, method, url string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	must(t, err)
	resp, err := tr.RoundTrip(req)
	must(t, err)
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	must(t, resp.Body.Close())
	return resp, string(b)
}

// GET and HEAD calls reuse one kept-alive connection; a call with a body
// goes to the fallback transport.
func TestDirectTransportKeepsConnectionsAlive(t *testing.T) {
	var conns atomic.Int64
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/empty" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Write([]byte(r.Method + " " + r.URL.RequestURI() + " " + string(b)))
	}))
	backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	backend.Start()
	defer backend.Close()
	fb := &countingRT{rt: http.DefaultTransport}
	tr := gateway.NewDirectTransport(fb)
	defer tr.CloseIdleConnections()
	for i := 0; i < 20; i++ {
		if _, got := getBody(t, tr, "GET", backend.URL+"/ho-so/1?x=%2F", nil); got != "GET /ho-so/1?x=%2F " {
			t.Fatalf("answer %q", got)
		}
		if resp, _ := getBody(t, tr, "HEAD", backend.URL+"/ho-so/1", nil); resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
		if resp, _ := getBody(t, tr, "GET", backend.URL+"/empty", nil); resp.StatusCode != 204 {
			t.Fatal(resp.Status)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("60 calls used %d connections, want 1 kept alive", n)
	}
	if fb.n.Load() != 0 {
		t.Fatal("GET or HEAD went to the fallback")
	}
	if _, got := getBody(t, tr, "POST", backend.URL+"/p", strings.NewReader("body")); got != "POST /p body" || fb.n.Load() != 1 {
		t.Fatalf("POST: %q, fallback used %d times", got, fb.n.Load())
	}
}

// A backend that closes a kept-alive connection while it is idle (its own
// idle timeout) does not fail the next call: it is sent again on a new
// connection.
func TestDirectTransportRetriesOnAConnectionClosedWhileIdle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func(c net.Conn) {
				defer c.Close()
				// Answer one request as if keeping the connection, then close it.
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}(c)
		}
	}()
	tr := gateway.NewDirectTransport(nil)
	defer tr.CloseIdleConnections()
	for i := 0; i < 5; i++ {
		if resp, got := getBody(t, tr, "GET", "http://"+ln.Addr().String()+"/x", nil); resp.StatusCode != 200 || got != "ok" {
			t.Fatalf("call %d: %s %q", i, resp.Status, got)
		}
	}
	if conns.Load() < 5 {
		t.Fatalf("%d connections for 5 calls on a backend closing each", conns.Load())
	}
}

// Cancelling the call (service timeout, client gone) ends it at once with
// the context's error, and closing an answer not read to its end does not
// read the rest of it.
func TestDirectTransportCancelAndEarlyClose(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		// An endless answer, until the connection goes away.
		chunk := []byte(strings.Repeat("x", 32<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer backend.Close()
	defer close(release)
	tr := gateway.NewDirectTransport(nil)
	defer tr.CloseIdleConnections()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", backend.URL+"/slow", nil)
	errc := make(chan error, 1)
	go func() { _, err := tr.RoundTrip(req); errc <- err }()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled call did not end")
	}

	req, _ = http.NewRequest("GET", backend.URL+"/endless", nil)
	resp, err := tr.RoundTrip(req)
	must(t, err)
	if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { resp.Body.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("closing an endless answer read it")
	}
}
