package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Server serves HTTP/1.1 on listeners, like http.Server.
type Server struct {
	// Handler answers every request.
	Handler http.Handler
	// ReadHeaderTimeout bounds the TLS handshake, the wait for a new
	// connection's first request, reading a request's line and header,
	// and the wait for the rest of a body the handler left unread (10 s
	// when zero). The handler's own reads of the body are not bounded
	// (http.ResponseController.SetReadDeadline does that).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a kept-alive connection idle this long (2 min
	// when zero).
	IdleTimeout time.Duration
	// WriteTimeout bounds the writing of each answer, from the start of
	// its handler (none when zero): a client that stops reading cannot
	// hold the handler blocked in Write for longer. A handler may move it
	// (http.ResponseController.SetWriteDeadline).
	WriteTimeout time.Duration
	// MaxHeaderBytes bounds a request's line and header (64 KiB when zero).
	MaxHeaderBytes int
	// WatchAfter is how long a request runs before the server starts
	// watching its connection, to cancel the request's context when the
	// client hangs up (100 ms when zero).
	WatchAfter time.Duration
	// BaseContext gives the context requests derive from (Background when
	// nil).
	BaseContext func(net.Listener) context.Context
	// ProtocolError writes the answer to a request that cannot be read
	// (status 400, 413, 414, 417, 431, 501 or 505, reason in English); the
	// connection closes after it. Nil: an RFC 9457 problem in Vietnamese.
	ProtocolError func(w http.ResponseWriter, status int, reason string)
	// Logger receives handler panics and TLS protocol mix-ups
	// (slog.Default when nil).
	Logger *slog.Logger

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   atomic.Bool
}

// ErrServerClosed is what Serve returns after Shutdown or Close.
var ErrServerClosed = http.ErrServerClosed

const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultIdleTimeout       = 2 * time.Minute
	defaultMaxHeaderBytes    = 64 << 10
	defaultWatchAfter        = 100 * time.Millisecond
	// drainLimit is how much of a request body the handler left unread is
	// read and dropped to keep the connection; past it the connection
	// closes.
	drainLimit = 256 << 10
	// lingerTimeout and lingerLimit bound how long and how much a closing
	// connection reads and drops of what the client still sends (see
	// lingerClose); 500 ms is net/http's rstAvoidanceDelay. The limit is
	// large: stopping early is what sends the RST lingering avoids.
	lingerTimeout = 500 * time.Millisecond
	lingerLimit   = 64 << 20
)

func (s *Server) readHeaderTimeout() time.Duration {
	if s.ReadHeaderTimeout > 0 {
		return s.ReadHeaderTimeout
	}
	return defaultReadHeaderTimeout
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return defaultIdleTimeout
}

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return defaultMaxHeaderBytes
}

func (s *Server) watchAfter() time.Duration {
	if s.WatchAfter > 0 {
		return s.WatchAfter
	}
	return defaultWatchAfter
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Serve accepts connections on ln and serves each on its own goroutine
// until Shutdown or Close; it then returns ErrServerClosed. It closes ln.
func (s *Server) Serve(ln net.Listener) error {
	base := context.Background()
	if s.BaseContext != nil {
		if base = s.BaseContext(ln); base == nil {
			panic("h1: BaseContext returned a nil context")
		}
	}
	s.mu.Lock()
	if s.closing.Load() { // checked under mu: closeListeners closes what is registered
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = map[*net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
	}
	s.listeners[&ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, &ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of file descriptors and the like: wait, as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logger().Warn("h1: accept", "err", err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := &conn{srv: s, nc: nc, base: base}
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go c.serve()
	}
}

// Shutdown stops accepting, closes idle connections, and waits for the
// others to finish the request they are serving (or ctx to end, when it
// closes them and returns ctx's error).
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListeners()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if s.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.closeListeners()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	return nil
}

func (s *Server) closeListeners() {
	s.closing.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for ln := range s.listeners {
		(*ln).Close()
	}
}

// closeIdle closes the connections that serve no request (idle or still
// in their TLS handshake) and reports whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		// A swap, not a look: the connection takes a request only by
		// swapping idle for active, so no request is cut off.
		if st := c.state.Load(); (st == stateIdle || st == stateNew) && c.state.CompareAndSwap(st, stateClosed) {
			c.nc.Close()
		}
	}
	return len(s.conns) == 0
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// A connection's states: new (TLS handshake), idle (awaiting a
// request), active (reading, serving or answering one), closed (by
// Shutdown). Shutdown closes new and idle ones.
const (
	stateNew int32 = iota
	stateIdle
	stateActive
	stateClosed
)

// conn is one client connection.
type conn struct {
	srv   *Server
	nc    net.Conn
	base  context.Context
	br    *bufio.Reader
	bw    *bufio.Writer
	tls   *tls.ConnectionState
	raddr string
	state atomic.Int32
	// bodyBuf holds an answer's first bytes (see bufferLimit).
	bodyBuf []byte
	// scratch formats chunk sizes (under the response's mu).
	scratch [16]byte
	// writeDeadline: the handler set one, to clear after its answer.
	writeDeadline bool
	// linger: the client may still be sending when the connection
	// closes (see lingerClose).
	linger bool
	// sc is readRequest's.
	sc scratch

	// watch: see startWatch.
	wmu     sync.Mutex
	wtimer  *time.Timer
	wreq    *request // the request being watched for; nil between requests
	wdone   chan struct{}
	wgone   bool // the client hung up while a request ran
	wcancel context.CancelFunc
}

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

func (c *conn) serve() {
	s := c.srv
	c.raddr = c.nc.RemoteAddr().String()
	defer func() {
		if c.linger {
			c.lingerClose()
		}
		c.nc.Close()
		s.forget(c)
		if c.br != nil {
			c.br.Reset(nil)
			readerPool.Put(c.br)
			c.bw.Reset(nil)
			writerPool.Put(c.bw)
		}
	}()
	if tc, ok := c.nc.(*tls.Conn); ok {
		_ = tc.SetDeadline(time.Now().Add(s.readHeaderTimeout()))
		ctx, cancel := context.WithTimeout(c.base, s.readHeaderTimeout())
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			return
		}
		_ = tc.SetDeadline(time.Time{})
		st := tc.ConnectionState()
		if st.NegotiatedProtocol != "" && st.NegotiatedProtocol != "http/1.1" {
			// The listener's tls.Config offers a protocol (h2) this server
			// does not speak: better no answer than a garbled one.
			s.logger().Warn("h1: TLS client negotiated a protocol other than HTTP/1.1; remove it from the tls.Config's NextProtos", "proto", st.NegotiatedProtocol, "remote", c.raddr)
			return
		}
		c.tls = &st
	}
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(c.nc)
	c.bw = writerPool.Get().(*bufio.Writer)
	c.bw.Reset(c.nc)
	// The first request is awaited ReadHeaderTimeout, as net/http does:
	// IdleTimeout is for kept-alive connections.
	wait, state := s.readHeaderTimeout(), stateNew
	for {
		if !c.state.CompareAndSwap(state, stateIdle) || s.closing.Load() {
			return
		}
		if c.br.Buffered() == 0 { // a pipelined request is there already
			_ = c.nc.SetReadDeadline(time.Now().Add(wait))
			if _, err := c.br.Peek(1); err != nil {
				return
			}
		}
		if !c.state.CompareAndSwap(stateIdle, stateActive) {
			return // Shutdown closed it
		}
		state, wait = stateActive, s.idleTimeout()
		_ = c.nc.SetReadDeadline(time.Now().Add(s.readHeaderTimeout()))
		req, perr := readRequest(c.br, s.maxHeaderBytes(), &c.sc)
		if perr != nil {
			c.protocolError(perr)
			return
		}
		_ = c.nc.SetReadDeadline(time.Time{})
		if !c.serveOne(req) {
			return
		}
	}
}

// lingerClose ends a connection whose client may still be sending (the
// rest of a refused request, a body left unread): closing a socket with
// unread input sends a RST, which can destroy the answer before the
// client reads it. So it shuts the writing side and reads and drops what
// comes, for lingerTimeout at most, before the close.
func (c *conn) lingerClose() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = c.br.Discard(lingerLimit)
}

// protocolError answers a request that could not be read, then the
// connection closes.
func (c *conn) protocolError(err error) {
	var pe *protoError
	if !errors.As(err, &pe) {
		return // the connection failed or timed out: nobody to answer
	}
	c.linger = true
	w := &response{c: c, req: &request{method: "GET", proto11: true}, header: http.Header{}, closeAfter: true}
	defer func() {
		if v := recover(); v != nil { // no answer, but the server goes on
			c.srv.logger().Error("h1: ProtocolError panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			return
		}
		w.finish()
		_ = c.bw.Flush()
	}()
	if c.srv.ProtocolError != nil {
		c.srv.ProtocolError(w, pe.status, pe.reason)
	} else {
		writeProblem(w, pe.status, pe.reason)
	}
}

// serveOne runs the handler for req and reports whether the connection
// may carry another request.
func (c *conn) serveOne(req *request) (keep bool) {
	s := c.srv
	ctx, cancel := context.WithCancel(c.base)
	defer cancel()
	w := &req.resp
	w.c, w.req, w.header = c, req, make(http.Header, 8)
	r := req.build(ctx, c)
	if req.expectContinue {
		req.body.cont = w
	}
	c.startWatch(req, cancel)
	if s.WriteTimeout > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(s.WriteTimeout))
		c.writeDeadline = true // cleared after the answer
	}
	panicked := func() (panicked bool) {
		defer func() {
			if v := recover(); v != nil {
				panicked = true
				if v != http.ErrAbortHandler {
					s.logger().Error("h1: handler panic", "method", req.method, "target", req.target, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				}
			}
		}()
		s.Handler.ServeHTTP(w, r)
		return false
	}()
	gone := c.stopWatch()
	if panicked {
		// No answer: the client sees the connection close. Whatever the
		// handler started may still hold the body and the writer, even be
		// blocked in them: a deadline past frees them, and after this
		// they touch neither (the reader and writer go back to their
		// pools). The close lingers: answers to earlier pipelined
		// requests may still be on their way.
		_ = c.nc.SetDeadline(time.Unix(1, 0))
		w.seal()
		if req.body != nil {
			req.body.Close()
		}
		_ = c.nc.SetWriteDeadline(time.Time{})
		c.linger = true
		return false
	}
	// A body the handler left unread: read it off the wire (a little) or
	// close the connection.
	if req.body != nil {
		if !req.body.readToEnd() { // bound the wait for the rest
			_ = c.nc.SetReadDeadline(time.Now().Add(s.readHeaderTimeout()))
		}
		if !req.body.finish(drainLimit) {
			w.closeAfter, c.linger = true, true
		}
	}
	if gone {
		// The client hung up (or shut its writing side): answer still,
		// as it may be reading.
		w.closeAfter = true
	}
	ok := w.finish()
	// Out with it even when cut short (less than its Content-Length):
	// the client learns more from a short body than from no answer.
	if err := c.bw.Flush(); err != nil {
		ok = false
	}
	if c.writeDeadline {
		c.writeDeadline = false
		_ = c.nc.SetWriteDeadline(time.Time{})
	}
	return ok && !w.closeAfter && !req.close && !s.closing.Load()
}

// startWatch arms the timer that, once the request has run WatchAfter
// with its body read to the end, reads ahead on the connection: an end of
// stream there means the client hung up, and cancels the request.
func (c *conn) startWatch(req *request, cancel context.CancelFunc) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wreq, c.wcancel, c.wgone, c.wdone = req, cancel, false, nil
	if c.wtimer == nil {
		c.wtimer = time.AfterFunc(c.srv.watchAfter(), c.watch)
	} else {
		c.wtimer.Reset(c.srv.watchAfter())
	}
}

func (c *conn) watch() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	req := c.wreq
	if req == nil || c.wdone != nil {
		return
	}
	if req.body != nil && !req.body.atEOF() {
		// The handler still reads the body: the connection is its.
		c.wtimer.Reset(c.srv.watchAfter())
		return
	}
	done := make(chan struct{})
	c.wdone = done
	cancel := c.wcancel
	go func() {
		defer close(done)
		_, err := c.br.Peek(1)
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			c.wmu.Lock()
			c.wgone = true
			c.wmu.Unlock()
			cancel()
		}
	}()
}

// stopWatch ends the watch of the request and reports whether the client
// hung up meanwhile.
func (c *conn) stopWatch() bool {
	c.wmu.Lock()
	c.wtimer.Stop()
	c.wreq = nil
	done := c.wdone
	c.wdone = nil
	c.wmu.Unlock()
	if done == nil {
		return false
	}
	_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	<-done
	_ = c.nc.SetReadDeadline(time.Time{})
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.wgone
}

// writeProblem writes the default answer to an unreadable request.
func writeProblem(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/problem+json")
	title := "Yêu cầu HTTP không hợp lệ"
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge, http.StatusRequestURITooLong:
		title = "Phần đầu yêu cầu HTTP quá lớn"
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		title = "Máy chủ không hỗ trợ yêu cầu HTTP này"
	case http.StatusExpectationFailed:
		title = "Không đáp ứng được trường Expect"
	}
	b, _ := json.Marshal(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{"about:blank", title, status, reason})
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
