package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// DirectTransport reaches plain-http backends for GET and HEAD calls on the
// calling goroutine: it writes the request and reads the answer itself,
// where http.Transport hands every exchange to two goroutines per
// connection (a writer and a reader), which costs about a third of a plain
// proxy's CPU on a small answer. Everything else (https, peers, requests
// with a body, upgrades) goes to Fallback.
//
// Connections are kept alive per host, at most MaxIdlePerHost idle, each
// at most IdleTimeout. A GET or HEAD that fails on a reused connection
// before any byte of the answer arrived (the backend closed it while idle)
// is sent again once on a new connection, as http.Transport does for
// idempotent requests. Cancelling the request's context (client gone,
// service timeout) interrupts the exchange at once and returns ctx.Err().
type DirectTransport struct {
	// Fallback carries what this transport does not (see above).
	Fallback http.RoundTripper
	// MaxIdlePerHost bounds the idle connections kept per backend (256).
	MaxIdlePerHost int
	// IdleTimeout closes connections idle longer than this (90 s).
	IdleTimeout time.Duration
	// DialTimeout bounds connecting (5 s).
	DialTimeout time.Duration

	mu   sync.Mutex
	idle map[string][]*directConn
}

// NewDirectTransport returns a DirectTransport with the default limits,
// falling back to fallback (nil: NewTransport(nil)).
func NewDirectTransport(fallback http.RoundTripper) *DirectTransport {
	if fallback == nil {
		fallback = NewTransport(nil)
	}
	return &DirectTransport{Fallback: fallback, MaxIdlePerHost: 256, IdleTimeout: 90 * time.Second, DialTimeout: 5 * time.Second}
}

type directConn struct {
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
}

// direct reports whether r is carried by this transport itself.
func direct(r *http.Request) bool {
	return r.URL.Scheme == "http" && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(r.Body == nil || r.Body == http.NoBody) && r.Header.Get("Upgrade") == "" && r.Header.Get("Expect") == ""
}

// RoundTrip implements http.RoundTripper.
func (t *DirectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !direct(r) {
		return t.Fallback.RoundTrip(r)
	}
	return t.send(r.Context(), time.Time{}, r.URL.Host, r, func(bw *bufio.Writer) error { return r.Write(bw) })
}

// send carries one request, written by write, to host (with or without
// a port), and reads the answer to req (its Method and Close count).
// Cancelling ctx interrupts it at once; so does deadline, when set (on
// the connection itself: cheaper than a context with a timer), up to
// the end of the answer's body.
func (t *DirectTransport) send(ctx context.Context, deadline time.Time, host string, req *http.Request, write func(*bufio.Writer) error) (*http.Response, error) {
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "80")
	}
	c, reused := t.get(host)
	resp, err := t.exchange(ctx, deadline, req, write, host, c, reused)
	if err != nil && reused && ctx.Err() == nil && errors.Is(err, errStaleConn) {
		resp, err = t.exchange(ctx, deadline, req, write, host, nil, false)
	}
	return resp, err
}

// errStaleConn: the connection failed before any byte of the answer.
var errStaleConn = errors.New("gateway: backend connection closed before answering")

func (t *DirectTransport) exchange(ctx context.Context, deadline time.Time, r *http.Request, write func(*bufio.Writer) error, host string, c *directConn, reused bool) (*http.Response, error) {
	if c == nil {
		d := net.Dialer{Timeout: t.DialTimeout, Deadline: deadline, KeepAlive: 30 * time.Second}
		nc, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			return nil, err
		}
		c = &directConn{c: nc, br: bufio.NewReaderSize(nc, 4<<10), bw: bufio.NewWriterSize(nc, 4<<10)}
	}
	if !deadline.IsZero() {
		_ = c.c.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error, stale bool) (*http.Response, error) {
		stop()
		c.c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return nil, err // out of time: no second try
		}
		if stale && reused {
			return nil, errors.Join(errStaleConn, err)
		}
		return nil, err
	}
	if err := write(c.bw); err != nil {
		return fail(err, true)
	}
	if err := c.bw.Flush(); err != nil {
		return fail(err, true)
	}
	for {
		if _, err := c.br.Peek(1); err != nil {
			return fail(err, true) // nothing of the answer arrived
		}
		resp, err := http.ReadResponse(c.br, r)
		if err != nil {
			return fail(err, false)
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue // 1xx: the real answer follows
		}
		b := &directBody{rc: resp.Body, t: t, host: host, c: c, stop: stop, deadline: !deadline.IsZero(),
			reuse: !resp.Close && !r.Close && resp.StatusCode != http.StatusSwitchingProtocols}
		if resp.Body == http.NoBody {
			b.eof = true
		}
		resp.Body = b
		return resp, nil
	}
}

func (t *DirectTransport) get(host string) (*directConn, bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for l := t.idle[host]; len(l) > 0; l = t.idle[host] {
		c := l[len(l)-1]
		t.idle[host] = l[:len(l)-1]
		if now.Sub(c.idleAt) < t.IdleTimeout {
			return c, true
		}
		c.c.Close()
	}
	return nil, false
}

func (t *DirectTransport) put(host string, c *directConn) {
	c.idleAt = time.Now()
	t.mu.Lock()
	if t.idle == nil {
		t.idle = map[string][]*directConn{}
	}
	if len(t.idle[host]) < t.MaxIdlePerHost {
		t.idle[host] = append(t.idle[host], c)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	c.c.Close()
}

// CloseIdleConnections closes the idle connections (and the fallback's).
func (t *DirectTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, l := range idle {
		for _, c := range l {
			c.c.Close()
		}
	}
	if ci, ok := t.Fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// directBody gives the connection back once the answer was read to its
// end and closed; otherwise (an error, a body left unread, a cancelled
// request) the connection is closed.
type directBody struct {
	rc    io.ReadCloser
	t     *DirectTransport
	host  string
	c     *directConn
	stop  func() bool
	reuse bool
	// deadline: the exchange set one on the connection (undone for reuse).
	deadline bool
	eof      bool
	done     bool
	mu       sync.Mutex
}

func (b *directBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.mu.Lock()
		b.eof = true
		b.mu.Unlock()
	}
	return n, err
}

func (b *directBody) Close() error {
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return nil
	}
	b.done = true
	eof := b.eof
	b.mu.Unlock()
	reuse := eof && b.reuse
	if !reuse {
		// Close the connection first: closing an answer not read to its
		// end would otherwise read (and discard) the rest of it.
		b.c.c.Close()
	}
	err := b.rc.Close()
	// stop reports false when the context was cancelled (the deadline is
	// set on the connection): never reuse it then.
	if b.stop() && reuse && err == nil && b.c.br.Buffered() == 0 {
		if b.deadline {
			_ = b.c.c.SetDeadline(time.Time{})
		}
		b.t.put(b.host, b.c)
	} else {
		b.c.c.Close()
	}
	return err
}
