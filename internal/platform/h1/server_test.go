package h1

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestClient: net/http's client against the server, on kept-alive
// connections.
func TestClient(t *testing.T) {
	var remote atomic.Value
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remote.Store(r.RemoteAddr)
		echo(w, r)
	}))
	cl := client(t)
	type step struct {
		method string
		body   io.Reader
		chunk  bool // the body's length is not known: sent chunked
		want   string
		status int
	}
	steps := []step{
		{method: "GET", want: "GET /x"},
		{method: "HEAD", want: ""},
		{method: "POST", body: strings.NewReader("hello"), want: "POST /x hello"},
		{method: "POST", body: io.MultiReader(strings.NewReader("chun"), strings.NewReader("ked")), chunk: true, want: "POST /x chunked"},
		{method: "PUT", body: strings.NewReader(""), want: "PUT /x"},
		{method: "DELETE", want: "DELETE /x"},
	}
	var first string
	for _, s := range steps {
		req, _ := http.NewRequest(s.method, ts.url("/x"), s.body)
		if s.chunk {
			req.ContentLength = -1
		}
		reused := false
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		}))
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", s.method, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != s.want || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %q %v, want %q", s.method, resp.StatusCode, b, err, s.want)
		}
		if s.method == "HEAD" && resp.ContentLength != int64(len("HEAD /x")) {
			t.Errorf("HEAD Content-Length %d, want the GET's", resp.ContentLength)
		}
		if first == "" {
			first = remote.Load().(string)
		} else if !reused || remote.Load().(string) != first {
			t.Errorf("%s: a new connection (reused %v)", s.method, reused)
		}
	}
}

// TestExpectContinue: 100 Continue goes out when the handler reads the
// body; a handler that answers without reading gets no body sent.
func TestExpectContinue(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/refuse" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		echo(w, r)
	}))
	// A long ExpectContinueTimeout: without the 100 the test times out.
	tr := &http.Transport{ExpectContinueTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	for _, path := range []string{"/read", "/refuse"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		got100 := false
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{Got100Continue: func() { got100 = true }})
		var sent atomic.Int64
		body := readerFunc(func(p []byte) (int, error) {
			if sent.Load() > 0 {
				return 0, io.EOF
			}
			sent.Add(int64(copy(p, "payload")))
			return len("payload"), nil
		})
		req, _ := http.NewRequestWithContext(ctx, "POST", ts.url(path), body)
		req.ContentLength = 7
		req.Header.Set("Expect", "100-continue")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		switch path {
		case "/read":
			if !got100 || string(b) != "POST /read payload" {
				t.Errorf("%s: 100 %v, %q", path, got100, b)
			}
		case "/refuse":
			if got100 || resp.StatusCode != 401 || sent.Load() != 0 || !resp.Close {
				t.Errorf("%s: 100 %v, status %d, body sent %d, close %v", path, got100, resp.StatusCode, sent.Load(), resp.Close)
			}
		}
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestLargeBodies streams 20 MB each way. The request body is written in
// two halves and the second only after the first half's echo came back:
// a server that held either body whole would never answer.
func TestLargeBodies(t *testing.T) {
	const size = 20 << 20
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			rc := http.NewResponseController(w)
			buf := make([]byte, 32<<10)
			for {
				n, err := r.Body.Read(buf)
				if n > 0 {
					w.Write(buf[:n])
					rc.Flush()
				}
				if err == io.EOF {
					return
				}
				if err != nil {
					panic(err)
				}
			}
		case "/download":
			if r.URL.Query().Get("cl") != "" {
				w.Header().Set("Content-Length", strconv.Itoa(size))
			}
			_, err := io.CopyN(w, &pattern{}, size)
			if err != nil {
				panic(err)
			}
		}
	}))
	cl := client(t)

	t.Run("upload echoed", func(t *testing.T) {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("POST", ts.url("/echo"), pr)
		req.ContentLength = -1
		firstHalf := make(chan struct{})
		go func() {
			if _, err := io.CopyN(pw, &pattern{}, size/2); err != nil {
				pw.CloseWithError(err)
				return
			}
			select {
			case <-firstHalf:
			case <-time.After(15 * time.Second):
				pw.CloseWithError(errors.New("the first half was not echoed: the server buffers"))
				return
			}
			_, err := io.CopyN(pw, &pattern{offset: size / 2}, size/2)
			pw.CloseWithError(err)
		}()
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		h := sha256.New()
		if _, err := io.CopyN(h, resp.Body, size/2); err != nil {
			t.Fatal(err)
		}
		close(firstHalf)
		n, err := io.Copy(h, resp.Body)
		if err != nil || n != size/2 {
			t.Fatalf("%d bytes, %v", n, err)
		}
		if !bytes.Equal(h.Sum(nil), patternSum(size)) {
			t.Error("echoed body differs")
		}
	})
	for _, q := range []string{"", "?cl=1"} {
		t.Run("download"+q, func(t *testing.T) {
			resp, err := cl.Get(ts.url("/download" + q))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if q == "" && (resp.ContentLength != -1 || len(resp.TransferEncoding) != 1) {
				t.Errorf("not chunked: %d %v", resp.ContentLength, resp.TransferEncoding)
			}
			if q != "" && resp.ContentLength != size {
				t.Errorf("Content-Length %d", resp.ContentLength)
			}
			h := sha256.New()
			if n, err := io.Copy(h, resp.Body); err != nil || n != size {
				t.Fatalf("%d bytes, %v", n, err)
			}
			if !bytes.Equal(h.Sum(nil), patternSum(size)) {
				t.Error("body differs")
			}
		})
	}
}

// pattern is an endless reader of a known sequence.
type pattern struct{ offset int64 }

func (p pattern) byteAt(i int64) byte { return byte(i*7 + i>>10) }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = p.byteAt(p.offset + int64(i))
	}
	p.offset += int64(len(b))
	return len(b), nil
}

func patternSum(n int64) []byte {
	h := sha256.New()
	io.CopyN(h, &pattern{}, n)
	return h.Sum(nil)
}

// TestTrailers: trailers declared with Trailer or set with
// http.TrailerPrefix reach the client, small answer or large.
func TestTrailers(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("declared") != "" {
			w.Header().Set("Trailer", "X-Sum")
		}
		w.Write(bytes.Repeat([]byte("a"), n))
		if r.URL.Query().Get("declared") != "" {
			w.Header().Set("X-Sum", "s"+strconv.Itoa(n))
		} else {
			w.Header().Set(http.TrailerPrefix+"X-Sum", "s"+strconv.Itoa(n))
		}
	}))
	cl := client(t)
	for _, q := range []string{"n=3&declared=1", "n=10000&declared=1", "n=3", "n=10000", "n=0&declared=1"} {
		resp, err := cl.Get(ts.url("/?" + q))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		n, _ := strconv.Atoi(strings.Split(strings.TrimPrefix(q, "n="), "&")[0])
		if err != nil || len(b) != n {
			t.Fatalf("%s: %d bytes, %v", q, len(b), err)
		}
		if got := resp.Trailer.Get("X-Sum"); got != "s"+strconv.Itoa(n) {
			t.Errorf("%s: trailer %q (%v)", q, got, resp.Trailer)
		}
	}
}

// TestResponseController: Flush sends what is written at once, and
// SetReadDeadline bounds the reading of the body.
func TestResponseController(t *testing.T) {
	release := make(chan struct{})
	readErr := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		switch r.URL.Path {
		case "/flush":
			io.WriteString(w, "first;")
			if err := rc.Flush(); err != nil {
				panic(err)
			}
			<-release
			io.WriteString(w, "second")
		case "/deadline":
			if err := rc.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
				panic(err)
			}
			_, err := io.ReadAll(r.Body)
			readErr <- err
			w.WriteHeader(http.StatusRequestTimeout)
		case "/writedeadline":
			// The answer is out whole; then a deadline already past,
			// which must not outlive this exchange.
			w.Header().Set("Content-Length", "2")
			io.WriteString(w, "ok")
			rc.Flush()
			rc.SetWriteDeadline(time.Now().Add(-time.Second))
		case "/duplex":
			if err := rc.EnableFullDuplex(); err != nil {
				panic(err)
			}
		}
	}))
	cl := client(t)

	resp, err := cl.Get(ts.url("/flush"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first;" {
		t.Fatalf("%q %v", buf, err)
	}
	close(release)
	rest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(rest) != "second" {
		t.Errorf("rest %q", rest)
	}

	pr, pw := io.Pipe() // a body that never comes
	defer pw.Close()
	req, _ := http.NewRequest("POST", ts.url("/deadline"), pr)
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := within(t, 5*time.Second, readErr, "body read"); !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
		t.Errorf("read error %v, want a timeout", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Errorf("status %d, close %v", resp.StatusCode, resp.Close)
	}

	c := dial(t, ts.addr)
	c.send("GET /writedeadline HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := c.response("GET"); body != "ok" {
		t.Fatalf("got %q", body)
	}
	c.send("GET /duplex HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := c.response("GET"); resp.StatusCode != 200 {
		t.Errorf("the request after a write deadline: %d", resp.StatusCode)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestFraming: how an answer's body is delimited.
func TestFraming(t *testing.T) {
	writeErr := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for k, v := range q {
			if strings.HasPrefix(k, "h-") {
				w.Header()[k[2:]] = v
			}
		}
		if s := q.Get("status"); s != "" {
			n, _ := strconv.Atoi(s)
			w.WriteHeader(n)
		}
		n, _ := strconv.Atoi(q.Get("n"))
		_, err := w.Write([]byte(strings.Repeat(q.Get("b")+"x", n)[:n]))
		if q.Get("more") != "" {
			_, err = w.Write([]byte("more"))
		}
		if q.Get("report") != "" {
			writeErr <- err
		}
	}))
	type want struct {
		status    int
		cl        string // Content-Length field, "-" for none
		chunked   bool
		conn      string
		body      string
		closes    bool
		ctype     string
		nextWorks bool // a second request on the connection is answered
		short     bool // the body is cut short
	}
	cases := []struct {
		name, method, target, proto string
		want                        want
	}{
		{"small", "GET", "/?n=5", "1.1", want{200, "5", false, "", "xxxxx", false, "text/plain; charset=utf-8", true, false}},
		{"empty", "GET", "/", "1.1", want{200, "0", false, "", "", false, "", true, false}},
		{"exactly 4 KiB", "GET", "/?n=4096", "1.1", want{200, "4096", false, "", strings.Repeat("x", 4096), false, "text/plain; charset=utf-8", true, false}},
		{"large 1.1 chunked", "GET", "/?n=5000", "1.1", want{200, "-", true, "", strings.Repeat("x", 5000), false, "text/plain; charset=utf-8", true, false}},
		{"large 1.0 close-delimited", "GET", "/?n=5000", "1.0", want{200, "-", false, "close", strings.Repeat("x", 5000), true, "text/plain; charset=utf-8", false, false}},
		{"small 1.0", "GET", "/?n=5", "1.0", want{200, "5", false, "close", "xxxxx", true, "text/plain; charset=utf-8", false, false}},
		{"declared", "GET", "/?n=5000&h-Content-Length=5000", "1.1", want{200, "5000", false, "", strings.Repeat("x", 5000), false, "text/plain; charset=utf-8", true, false}},
		{"declared, written less", "GET", "/?n=3&h-Content-Length=5", "1.1", want{200, "5", false, "", "xxx", true, "text/plain; charset=utf-8", false, true}},
		{"declared twice alike", "GET", "/?n=3&h-Content-Length=3&h-Content-Length=3", "1.1", want{200, "3", false, "", "xxx", false, "text/plain; charset=utf-8", true, false}},
		{"declared twice differently", "GET", "/?n=3&h-Content-Length=3&h-Content-Length=4", "1.1", want{200, "3", false, "", "xxx", false, "text/plain; charset=utf-8", true, false}},
		{"invalid declared length dropped", "GET", "/?n=3&h-Content-Length=x", "1.1", want{200, "3", false, "", "xxx", false, "text/plain; charset=utf-8", true, false}},
		{"204 without body", "GET", "/?status=204&n=3&h-Content-Length=3", "1.1", want{204, "-", false, "", "", false, "", true, false}},
		{"304 without body", "GET", "/?status=304&n=3", "1.1", want{304, "-", false, "", "", false, "", true, false}},
		{"HEAD keeps the length", "HEAD", "/?n=5", "1.1", want{200, "5", false, "", "", false, "text/plain; charset=utf-8", true, false}},
		{"HEAD keeps the declared length", "HEAD", "/?h-Content-Length=42", "1.1", want{200, "42", false, "", "", false, "", true, false}},
		{"HEAD large", "HEAD", "/?n=10000", "1.1", want{200, "10000", false, "", "", false, "text/plain; charset=utf-8", true, false}},
		{"sniffed HTML", "GET", "/?n=20&b=<html><body>", "1.1", want{200, "20", false, "", "<html><body>x<html><", false, "text/html; charset=utf-8", true, false}},
		{"type set", "GET", "/?n=2&h-Content-Type=application/json", "1.1", want{200, "2", false, "", "xx", false, "application/json", true, false}},
		{"encoded, not sniffed", "GET", "/?n=2&h-Content-Encoding=gzip", "1.1", want{200, "2", false, "", "xx", false, "", true, false}},
		{"1.0 keep-alive", "GET", "/?n=2&h-X=1", "1.0ka", want{200, "2", false, "keep-alive", "xx", false, "text/plain; charset=utf-8", true, false}},
		{"handler's Transfer-Encoding dropped", "GET", "/?n=2&h-Transfer-Encoding=chunked", "1.1", want{200, "2", false, "", "xx", false, "text/plain; charset=utf-8", true, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, ts.addr)
			head := tc.method + " " + tc.target + " HTTP/1.1\r\nHost: x\r\n\r\n"
			switch tc.proto {
			case "1.0":
				head = tc.method + " " + tc.target + " HTTP/1.0\r\n\r\n"
			case "1.0ka":
				head = tc.method + " " + tc.target + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
			}
			c.send(head)
			resp, err := http.ReadResponse(c.br, &http.Request{Method: tc.method})
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			w := tc.want
			if w.short {
				// Written less than declared: the client sees a short body.
				if err != io.ErrUnexpectedEOF {
					t.Errorf("short body read with %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != w.status || string(b) != w.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, b, w.status, w.body)
			}
			cl := "-"
			if v, ok := resp.Header["Content-Length"]; ok {
				cl = strings.Join(v, ",")
			}
			if cl != w.cl || (len(resp.TransferEncoding) > 0) != w.chunked || connField(resp) != w.conn || resp.Header.Get("Content-Type") != w.ctype {
				t.Errorf("header %v (Content-Length %s, chunked %v)", resp.Header, cl, resp.TransferEncoding)
			}
			if resp.Header.Get("Date") == "" {
				t.Error("no Date")
			}
			if w.closes {
				c.expectClosed()
			}
			if w.nextWorks {
				c.send("GET /?n=4 HTTP/1.1\r\nHost: x\r\n\r\n")
				if _, body := c.response("GET"); body != "xxxx" {
					t.Errorf("next answer %q", body)
				}
			}
		})
	}

	t.Run("writing more than declared", func(t *testing.T) {
		c := dial(t, ts.addr)
		c.send("GET /?n=3&h-Content-Length=3&more=1&report=1 HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, body := c.response("GET"); body != "xxx" {
			t.Errorf("got %q", body)
		}
		if err := within(t, 5*time.Second, writeErr, "Write"); err != http.ErrContentLength {
			t.Errorf("Write returned %v, want http.ErrContentLength", err)
		}
		c.send("GET /?n=1 HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, body := c.response("GET"); body != "x" {
			t.Errorf("next answer %q", body)
		}
	})
	t.Run("writing a 204 body", func(t *testing.T) {
		c := dial(t, ts.addr)
		c.send("GET /?status=204&n=2&report=1 HTTP/1.1\r\nHost: x\r\n\r\n")
		c.response("GET")
		if err := within(t, 5*time.Second, writeErr, "Write"); err != http.ErrBodyNotAllowed {
			t.Errorf("Write returned %v", err)
		}
	})
}

// TestHeaderSafety: what a handler puts in the header cannot split the
// answer or make it unreadable.
func TestHeaderSafety(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X", "a\r\nY: b")
		h["X-Lf"] = []string{"c\nZ: d"}
		h["Bad Name"] = []string{"1"}
		h["Bad\r\nName2"] = []string{"2"}
		h["Bad:Name3"] = []string{"3"}
		h[""] = []string{"4"}
		h.Set("Trailer", "X-T, Bad Trailer")
		w.WriteHeader(200)
		w.Write([]byte("body"))
		h.Set("X-T", "t\r\nInjected: 1")
		h.Set("Bad Trailer", "5")
	}))
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := c.response("GET")
	if body != "body" {
		t.Errorf("body %q", body)
	}
	if resp.Header.Get("Y") != "" || resp.Header.Get("Z") != "" || resp.Trailer.Get("Injected") != "" {
		t.Errorf("split: %v %v", resp.Header, resp.Trailer)
	}
	if got := resp.Header.Get("X"); got != "a  Y: b" {
		t.Errorf("X %q", got)
	}
	if got := resp.Trailer.Get("X-T"); got != "t  Injected: 1" {
		t.Errorf("trailer %q", got)
	}
	for k := range resp.Header {
		if strings.HasPrefix(k, "Bad") || k == "Name2" {
			t.Errorf("field %q sent", k)
		}
	}
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := c.response("GET"); body != "body" {
		t.Errorf("second answer %q", body)
	}
}

// TestUnreadBody: a small rest of a body the handler did not read is
// drained and the connection kept; a large one closes it, the answer
// still arriving whole.
func TestUnreadBody(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 10)
		io.ReadFull(r.Body, buf)
		io.WriteString(w, "answered")
	}))
	cases := []struct {
		name    string
		size    int
		chunked bool
		keep    bool
	}{
		{"small", 1000, false, true},
		{"small chunked", 1000, true, true},
		{"256 KiB", drainLimit, false, true},
		{"large", 1 << 20, false, false},
		{"large chunked", 1 << 20, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, ts.addr)
			body := strings.Repeat("b", tc.size)
			req := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(tc.size) + "\r\n\r\n" + body
			if tc.chunked {
				req = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
				for i := 0; i < tc.size; i += 1000 {
					n := min(1000, tc.size-i)
					req += strconv.FormatInt(int64(n), 16) + "\r\n" + body[i:i+n] + "\r\n"
				}
				req += "0\r\n\r\n"
			}
			go func() { io.WriteString(c.c, req+"GET /next HTTP/1.1\r\nHost: x\r\n\r\n") }()
			resp, got := c.response("POST")
			if got != "answered" {
				t.Fatalf("got %q", got)
			}
			if !tc.keep {
				if !resp.Close {
					t.Error("no Connection: close")
				}
				c.expectClosed()
				return
			}
			if resp.Close {
				t.Error("Connection: close")
			}
			if _, got := c.response("GET"); got != "answered" {
				t.Errorf("next answer %q", got)
			}
		})
	}
	t.Run("client sees the answer to a large upload", func(t *testing.T) {
		// The client is still sending when the server closes: without
		// lingering, a RST could destroy the answer.
		for i := 0; i < 3; i++ {
			req, _ := http.NewRequest("POST", ts.url("/"), io.LimitReader(&pattern{}, 20<<20))
			resp, err := client(t).Do(req)
			if err != nil {
				t.Fatalf("attempt %d: %v", i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "answered" {
				t.Fatalf("got %q", b)
			}
		}
	})
}

// TestPanics: a panicking handler's connection closes without an answer,
// the server goes on; http.ErrAbortHandler is not logged.
func TestPanics(t *testing.T) {
	var log logBuffer
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			io.WriteString(w, "partial")
			panic("boom")
		case "/abort":
			panic(http.ErrAbortHandler)
		case "/flushed":
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		echo(w, r)
	}), func(s *Server) { s.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	for _, path := range []string{"/panic", "/abort", "/flushed"} {
		c := dial(t, ts.addr)
		c.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
		if path == "/flushed" {
			resp, err := http.ReadResponse(c.br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(resp.Body); err == nil {
				t.Error("a cut answer read whole")
			}
		}
		c.expectClosed()
	}
	if s := log.String(); !strings.Contains(s, "boom") || strings.Count(s, "h1: handler panic") != 1 {
		t.Errorf("log: %s", s)
	}
	resp, err := client(t).Get(ts.url("/ok"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "GET /ok" {
		t.Errorf("after the panics: %q", b)
	}
}

// TestUseAfterReturn: a handler's goroutine that writes or reads after
// the handler returned gets an error, and the connection's next answer
// is not touched.
func TestUseAfterReturn(t *testing.T) {
	late := make(chan error, 2)
	answered := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/leak" {
			w.(http.Flusher).Flush() // chunked: a late write would be a chunk
			go func() {
				<-answered
				_, err := w.Write([]byte("LATE"))
				late <- err
				_, err = r.Body.Read(make([]byte, 10))
				late <- err
			}()
		}
		echo(w, r)
	}))
	c := dial(t, ts.addr)
	c.send("POST /leak HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na")
	c.response("POST")
	close(answered)
	if err := within(t, 5*time.Second, late, "late write"); err == nil {
		t.Error("a late Write succeeded")
	}
	if err := within(t, 5*time.Second, late, "late read"); err == nil {
		t.Error("a late Read succeeded")
	}
	c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := c.response("GET"); body != "GET /next" {
		t.Errorf("next answer %q", body)
	}
}

// TestClientGone: a handler waiting on its request's context is released
// when the client hangs up, after WatchAfter.
func TestClientGone(t *testing.T) {
	started := make(chan string, 1)
	released := make(chan string, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			panic(err)
		}
		started <- r.Method
		select {
		case <-r.Context().Done():
			released <- r.Method + " " + string(b)
		case <-time.After(10 * time.Second):
			released <- "not released"
		}
		io.WriteString(w, "bye")
	}), func(s *Server) { s.WatchAfter = 5 * time.Millisecond })
	for _, req := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n",
	} {
		c := dial(t, ts.addr)
		c.send(req)
		method := within(t, 5*time.Second, started, "handler start")
		c.c.Close()
		want := method + " "
		if method == "POST" {
			want += "body"
		}
		if got := within(t, 5*time.Second, released, "release"); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	t.Run("half-closed client still gets the answer", func(t *testing.T) {
		c := dial(t, ts.addr)
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		within(t, 5*time.Second, started, "handler start")
		c.closeWrite()
		within(t, 5*time.Second, released, "release")
		resp, body := c.response("GET")
		if body != "bye" || !resp.Close {
			t.Errorf("got %q, close %v", body, resp.Close)
		}
		c.expectClosed()
	})
}

// TestWatchKeepsBytes: a request that runs past WatchAfter on a
// kept-alive connection is not cancelled when the client sends its next
// request meanwhile, and that request is served (the watch eats no byte).
func TestWatchKeepsBytes(t *testing.T) {
	watching := make(chan struct{})
	sent := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(30 * time.Millisecond) // past WatchAfter: the watch reads ahead
			watching <- struct{}{}
			<-sent
			time.Sleep(10 * time.Millisecond)
			if err := r.Context().Err(); err != nil {
				io.WriteString(w, "cancelled: "+err.Error())
				return
			}
		}
		echo(w, r)
	}), func(s *Server) { s.WatchAfter = time.Millisecond })
	c := dial(t, ts.addr)
	for i := 0; i < 3; i++ {
		c.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
		within(t, 5*time.Second, watching, "slow handler")
		c.send("POST /next HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab")
		close(sent)
		for _, want := range []string{"GET /fast", "GET /slow", "POST /next ab"} {
			if _, body := c.response("GET"); body != want {
				t.Fatalf("got %q, want %q", body, want)
			}
		}
		sent = make(chan struct{})
	}
}

// TestTimeouts: ReadHeaderTimeout closes a connection that sends part of
// a header (or nothing); IdleTimeout closes an idle kept-alive one.
func TestTimeouts(t *testing.T) {
	ts := startServer(t, echo, func(s *Server) {
		s.ReadHeaderTimeout = 100 * time.Millisecond
		s.IdleTimeout = time.Hour
	})
	// A connection that never sends its first request is not idle: it
	// has ReadHeaderTimeout too.
	for _, partial := range []string{"GET / HTTP/1.1\r\nHost: x\r\n", "G", ""} {
		c := dial(t, ts.addr)
		c.send(partial)
		start := time.Now()
		c.expectClosed()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%q: closed after %v", partial, d)
		}
	}
	ts = startServer(t, echo, func(s *Server) {
		s.ReadHeaderTimeout = time.Hour
		s.IdleTimeout = 150 * time.Millisecond
	})
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.response("GET")
	start := time.Now()
	c.expectClosed()
	if d := time.Since(start); d < 100*time.Millisecond || d > 3*time.Second {
		t.Errorf("idle connection closed after %v", d)
	}
}

// TestUnreadBodyDeadline: a body the handler left, that never comes, is
// waited for ReadHeaderTimeout at most before the answer goes out.
func TestUnreadBodyDeadline(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "not read")
	}), func(s *Server) { s.ReadHeaderTimeout = 100 * time.Millisecond })
	c := dial(t, ts.addr)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npart")
	resp, body := c.response("POST")
	if body != "not read" || !resp.Close {
		t.Errorf("got %q, close %v", body, resp.Close)
	}
	c.expectClosed()
}

// TestInformational: 1xx answers reach HTTP/1.1 clients, not HTTP/1.0
// ones (RFC 9110 §15.2).
func TestInformational(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusContinue) // ignored: 100 goes with the body
		w.Header().Del("Link")
		io.WriteString(w, "final")
	}))
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := c.response("GET")
	if resp.StatusCode != 103 || resp.Header.Get("Link") == "" {
		t.Errorf("first answer %d %v", resp.StatusCode, resp.Header)
	}
	if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "final" || resp.Header.Get("Link") != "" {
		t.Errorf("final answer %d %q %v", resp.StatusCode, body, resp.Header)
	}
	c = dial(t, ts.addr)
	c.send("GET / HTTP/1.0\r\n\r\n")
	if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "final" {
		t.Errorf("HTTP/1.0 answer %d %q", resp.StatusCode, body)
	}
}

// TestShutdown: idle connections close at once, a request in flight gets
// its answer with Connection: close, Serve returns ErrServerClosed.
func TestShutdown(t *testing.T) {
	// blocking answers /block once release is closed.
	blocking := func() (h http.Handler, entered chan struct{}, release chan struct{}) {
		entered, release = make(chan struct{}, 1), make(chan struct{})
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/block" {
				entered <- struct{}{}
				<-release
			}
			echo(w, r)
		}), entered, release
	}

	t.Run("graceful", func(t *testing.T) {
		h, entered, release := blocking()
		ts := startServer(t, h)
		idle := dial(t, ts.addr)
		idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		idle.response("GET")
		silent := dial(t, ts.addr) // connected, never sent anything
		busy := dial(t, ts.addr)
		busy.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
		within(t, 5*time.Second, entered, "handler")

		done := make(chan error, 1)
		go func() { done <- ts.Shutdown(context.Background()) }()
		idle.expectClosed()
		silent.expectClosed()
		if err := within(t, 5*time.Second, ts.served, "Serve"); err != ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
		ts.served <- ErrServerClosed // for the cleanup
		if _, err := net.Dial("tcp", ts.addr); err == nil {
			t.Error("still accepting")
		}
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v with a request in flight", err)
		default:
		}
		close(release)
		resp, body := busy.response("GET")
		if body != "GET /block" || connField(resp) != "close" {
			t.Errorf("in-flight answer %q %v", body, resp.Header)
		}
		busy.expectClosed()
		if err := within(t, 5*time.Second, done, "Shutdown"); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := ts.Serve(mustListen(t)); err != ErrServerClosed {
			t.Errorf("Serve after Shutdown: %v", err)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		h, entered, release := blocking()
		defer close(release)
		ts := startServer(t, h)
		busy := dial(t, ts.addr)
		busy.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
		within(t, 5*time.Second, entered, "handler")
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second)) // expired
		defer cancel()
		if err := ts.Shutdown(ctx); err != context.DeadlineExceeded {
			t.Errorf("Shutdown: %v", err)
		}
		busy.expectClosed()
	})

	t.Run("close", func(t *testing.T) {
		h, entered, release := blocking()
		defer close(release)
		ts := startServer(t, h)
		idle := dial(t, ts.addr)
		idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		idle.response("GET")
		busy := dial(t, ts.addr)
		busy.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
		within(t, 5*time.Second, entered, "handler")
		ts.Close()
		idle.expectClosed()
		busy.expectClosed()
		if err := within(t, 5*time.Second, ts.served, "Serve"); err != ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
		ts.served <- ErrServerClosed
	})
}

func mustListen(t testing.TB) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestBaseContext: requests derive from BaseContext's context.
func TestBaseContext(t *testing.T) {
	type key struct{}
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Context().Value(key{}))
	}), func(s *Server) {
		s.BaseContext = func(net.Listener) context.Context { return context.WithValue(context.Background(), key{}, "base") }
	})
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := c.response("GET"); body != "base" {
		t.Errorf("got %q", body)
	}
}

// TestRequestFields: what the handler sees of a request.
func TestRequestFields(t *testing.T) {
	got := make(chan *http.Request, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		got <- r
	}))
	c := dial(t, ts.addr)
	c.send("POST /p/a%20b?q=1 HTTP/1.1\r\nhost: example.org:8080\r\nx-road-userid: u1\r\nX-ROAD-CLIENT: c1\r\nX-Custom-thing: a\r\nx-custom-thing: b\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n")
	c.response("POST")
	r := within(t, 5*time.Second, got, "request")
	if r.Method != "POST" || r.Host != "example.org:8080" || r.URL.Path != "/p/a b" || r.URL.RawQuery != "q=1" ||
		r.RequestURI != "/p/a%20b?q=1" || r.Proto != "HTTP/1.1" || r.ContentLength != -1 || len(r.TransferEncoding) != 1 ||
		r.Header.Get("X-Road-UserId") != "u1" || r.Header["X-Road-Client"][0] != "c1" ||
		strings.Join(r.Header["X-Custom-Thing"], ",") != "a,b" || r.RemoteAddr != c.c.LocalAddr().String() {
		t.Errorf("%+v", r)
	}
}
