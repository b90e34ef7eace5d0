package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer is an h1.Server serving on a loopback port.
type testServer struct {
	*Server
	addr   string
	served chan error // Serve's result
}

// startServer serves h on 127.0.0.1 with the settings edit makes, until
// the test ends.
func startServer(t testing.TB, h http.Handler, edit ...func(*Server)) *testServer {
	t.Helper()
	return startServerOn(t, mustListen(t), h, edit...)
}

// startServerOn is startServer on ln.
func startServerOn(t testing.TB, ln net.Listener, h http.Handler, edit ...func(*Server)) *testServer {
	t.Helper()
	s := &Server{Handler: h, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, e := range edit {
		e(s)
	}
	ts := &testServer{Server: s, addr: ln.Addr().String(), served: make(chan error, 1)}
	go func() { ts.served <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		select {
		case <-ts.served:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return ts
}

func (ts *testServer) url(path string) string { return "http://" + ts.addr + path }

// client is an http.Client for one test, its idle connections closed
// when the test ends.
func client(t testing.TB) *http.Client {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// rawConn speaks bytes to a server, with a deadline on everything.
type rawConn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// response reads one answer to a request with method (1xx answers are
// returned too) and its whole body.
func (r *rawConn) response(method string) (*http.Response, string) {
	r.t.Helper()
	resp, err := http.ReadResponse(r.br, &http.Request{Method: method})
	if err != nil {
		r.t.Fatalf("reading the answer: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("reading the answer's body: %v (got %q)", err, b)
	}
	return resp, string(b)
}

// expectClosed asserts the server closes the connection with nothing
// more sent.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := r.br.ReadByte()
	switch {
	case err == nil:
		rest, _ := r.br.Peek(r.br.Buffered())
		r.t.Fatalf("connection still open: got %q", append([]byte{b}, rest...))
	case errors.Is(err, io.EOF), isReset(err):
	default:
		r.t.Fatalf("connection not closed: %v", err)
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// closeWrite shuts the client's writing side.
func (r *rawConn) closeWrite() {
	if err := r.c.(*net.TCPConn).CloseWrite(); err != nil {
		r.t.Fatal(err)
	}
}

// logBuffer collects a server's log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// within fails the test unless ch delivers within d.
func within[T any](t testing.TB, d time.Duration, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("%s: nothing after %v", what, d)
	}
	var zero T
	return zero
}

// echo answers "METHOD PATH" and echoes the body.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("X-Method", r.Method)
	io.WriteString(w, r.Method+" "+r.URL.Path)
	if len(b) > 0 {
		w.Write(append([]byte(" "), b...))
	}
})

// connField is the answer's Connection field (http.ReadResponse drops a
// "close" one, setting Close: answers are HTTP/1.1, so Close means it).
func connField(resp *http.Response) string {
	if resp.Close {
		return "close"
	}
	return resp.Header.Get("Connection")
}

// slogTo is a logger writing text to w.
func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
