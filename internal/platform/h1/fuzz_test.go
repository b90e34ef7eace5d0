package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// fuzzSeeds are requests good and bad, the smuggling cases first.
var fuzzSeeds = []string{
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc",
	"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc",
	"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
	"GET / HTTP/1.1\r\nX-A: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
	"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
	"GET / HTTX/1.1\r\nHost: x\r\n\r\n",
	"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcde\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=\"a\"\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000000003\r\nabc\r\n0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab",
	"GET /big HTTP/1.0\r\n\r\n",
	"HEAD /big HTTP/1.1\r\nHost: x\r\n\r\nGET /trailer HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /flush HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	"\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET http://a/b?c HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /204 HTTP/1.1\nHost: x\n\nGET /panic HTTP/1.1\nHost: x\n\n",
	// Unicode where framing is ASCII (the Kelvin sign folds to k, U+00A0
	// and U+0085 are Unicode spaces).
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chun\u212Aed\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\u00a0\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\u00a0\r\n\r\nabc",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \u00853\r\n\r\nabc",
	"GET / HTTP/1.0\r\nConnection: \u212Aeep-alive\r\n\r\n",
}

// FuzzReadRequest reads a request and its body, and holds the result
// against net/http's parser: whatever this server accepts, net/http
// reads the same way, to the same byte (no framing that a net/http
// front end or back end would see otherwise).
func FuzzReadRequest(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := bytes.NewReader(data)
		br := bufio.NewReaderSize(rd, 64)
		req, err := readRequest(br, 4096, &scratch{})
		if err != nil {
			var pe *protoError
			switch {
			case errors.As(err, &pe):
				switch pe.status {
				case 400, 414, 417, 431, 501, 505:
				default:
					t.Fatalf("status %d", pe.status)
				}
			case err == io.EOF || err == io.ErrUnexpectedEOF:
			default:
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		h := req.header
		if len(h["Host"]) > 1 || req.proto11 && len(h["Host"]) == 0 || len(h["Transfer-Encoding"]) > 0 && len(h["Content-Length"]) > 0 {
			t.Fatalf("accepted %q", data)
		}
		if (req.body == nil) != (req.contentLength == 0) {
			t.Fatalf("body %v, length %d", req.body, req.contentLength)
		}
		var body []byte
		var berr error
		if req.body != nil {
			body, berr = io.ReadAll(req.body)
			if req.contentLength > 0 && berr == nil && int64(len(body)) != req.contentLength {
				t.Fatalf("read %d of %d", len(body), req.contentLength)
			}
			if !req.body.finish(1<<20) && berr == nil {
				t.Fatal("a body read to its end cannot be finished")
			}
		}
		if berr != nil || data[0] == '\r' || data[0] == '\n' {
			return // net/http skips no empty line
		}
		consumed := len(data) - br.Buffered() - rd.Len()

		grd := bytes.NewReader(data)
		gbr := bufio.NewReader(grd)
		greq, err := http.ReadRequest(gbr)
		if err != nil {
			t.Fatalf("net/http refuses what h1 accepts: %v\n%q", err, data)
		}
		gbody, gerr := io.ReadAll(greq.Body)
		if gerr != nil {
			t.Fatalf("net/http cannot read the body h1 read (%q): %v\n%q", body, gerr, data)
		}
		gconsumed := len(data) - gbr.Buffered() - grd.Len()
		if !bytes.Equal(body, gbody) || consumed != gconsumed {
			t.Fatalf("h1 read %q (%d bytes in all), net/http %q (%d)\n%q", body, consumed, gbody, gconsumed, data)
		}
		if greq.Method != req.method || greq.RequestURI != req.target || greq.Host != req.host && req.url.Host == "" {
			t.Fatalf("h1 %s %s %s, net/http %s %s %s", req.method, req.target, req.host, greq.Method, greq.RequestURI, greq.Host)
		}
	})
}

// fuzzHandler answers by path, in all the shapes the server can give.
var fuzzHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Method", r.Method)
	switch r.URL.Path {
	case "/big":
		w.Write(bytes.Repeat([]byte("b"), 5000))
	case "/flush":
		io.WriteString(w, "f")
		w.(http.Flusher).Flush()
		io.WriteString(w, "g")
	case "/trailer":
		w.Header().Set("Trailer", "X-T")
		io.WriteString(w, "t")
		w.Header().Set("X-T", "1")
	case "/204":
		w.WriteHeader(204)
	case "/304":
		w.WriteHeader(304)
	case "/103":
		w.WriteHeader(103)
		io.WriteString(w, "after 103")
	case "/cl":
		w.Header().Set("Content-Length", "3")
		io.WriteString(w, "abc")
	case "/panic":
		panic("fuzz")
	case "/abort":
		w.Header().Set("X-Cut", "1")
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case "/unread":
		io.WriteString(w, "unread")
	default:
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(400)
		}
		w.Write(b)
	}
})

// FuzzServer writes arbitrary bytes to a live server: it must not panic,
// must end the connection once the client stops sending, and everything
// it sends must read as HTTP/1.1 answers with net/http.
func FuzzServer(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	var log logBuffer
	ts := startServer(f, fuzzHandler, func(s *Server) {
		s.WatchAfter = time.Millisecond
		s.ReadHeaderTimeout = 2 * time.Second
		s.MaxHeaderBytes = 2048
		s.Logger = slogTo(&log)
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Write(data)
			c.(*net.TCPConn).CloseWrite()
		}()
		out, err := io.ReadAll(c)
		wg.Wait()
		if err != nil && !isReset(err) {
			t.Fatalf("reading: %v (the server did not end the connection?)\nin: %q\nout: %q", err, data, out)
		}
		br := bufio.NewReader(bytes.NewReader(out))
		for n := 0; ; n++ {
			if _, err := br.Peek(1); err == io.EOF {
				return
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("answer %d: %v\nin: %q\nout: %q", n, err, data, out)
			}
			if resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
				t.Fatalf("answer %d: %s", n, resp.Proto)
			}
			if resp.Header.Get("X-Method") == "HEAD" {
				continue // its length is a GET's: no body follows
			}
			_, err = io.Copy(io.Discard, resp.Body)
			if err == io.ErrUnexpectedEOF && resp.Header.Get("X-Cut") != "" {
				return // /abort: cut on purpose, the last thing sent
			}
			if err != nil {
				t.Fatalf("answer %d's body: %v\nin: %q\nout: %q", n, err, data, out)
			}
		}
	})
}

// TestFuzzSeeds runs the seeds through the server as FuzzServer does, in
// a plain test run too (go test runs the seeds of FuzzServer already;
// this checks a few answers by value).
func TestFuzzSeeds(t *testing.T) {
	ts := startServer(t, fuzzHandler, func(s *Server) { s.WatchAfter = time.Millisecond })
	c := dial(t, ts.addr)
	c.send("HEAD /big HTTP/1.1\r\nHost: x\r\n\r\nGET /103 HTTP/1.1\r\nHost: x\r\n\r\nGET /unread HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz")
	c.closeWrite()
	if resp, _ := c.response("HEAD"); resp.ContentLength != 5000 {
		t.Errorf("HEAD length %d", resp.ContentLength)
	}
	if resp, _ := c.response("GET"); resp.StatusCode != 103 {
		t.Errorf("status %d", resp.StatusCode)
	}
	if _, body := c.response("GET"); body != "after 103" {
		t.Errorf("body %q", body)
	}
	if _, body := c.response("GET"); body != "unread" {
		t.Errorf("body %q", body)
	}
	c.expectClosed()
}
