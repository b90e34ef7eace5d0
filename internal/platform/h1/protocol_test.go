package h1

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// smuggled is a request hidden after another one's body: a server that
// frames the first one as its sender meant never serves it.
const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

// pathLog records the paths a server served.
type pathLog struct {
	mu    sync.Mutex
	paths []string
}

func (l *pathLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.paths = append(l.paths, r.URL.Path)
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *pathLog) served(p string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, q := range l.paths {
		if q == p {
			return true
		}
	}
	return false
}

// TestRefusals sends malformed and ambiguous requests (RFC 9112 §6.3,
// §11.2, request smuggling) and asserts what a client sees: the status,
// then the connection closed, and the request written after the bad one
// never served.
func TestRefusals(t *testing.T) {
	long := strings.Repeat("a", 2000)
	cases := []struct {
		name, req string
		status    int
	}{
		// Framing.
		{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE and CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400},
		{"two different CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", 400},
		{"TE gzip, chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
		{"TE chunked, identity", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 501},
		{"TE xchunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501},
		{"TE chunked twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
		{"TE identity", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 501},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"CL plus sign", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400},
		{"CL minus sign", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\nabc", 400},
		{"CL space inside", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 0\r\n\r\nabc", 400},
		{"CL hex", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc", 400},
		{"CL empty", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\nabc", 400},
		{"CL too big", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999999999999999\r\n\r\nabc", 400},
		// Field lines.
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400},
		{"obs-fold tab", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n", 400},
		{"space before the first field", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc", 400},
		{"tab before colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A\r\n\r\n", 400},
		{"empty name", "GET / HTTP/1.1\r\nHost: x\r\n: a\r\n\r\n", 400},
		{"bare CR in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400},
		{"bare CR ending a line", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\r\n\r\n", 400},
		{"bare CR in the request line", "GET /\r HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400},
		{"control character in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400},
		{"DEL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n", 400},
		{"non-token name", "GET / HTTP/1.1\r\nHost: x\r\nX(A): a\r\n\r\n", 400},
		// Host.
		{"missing Host", "GET / HTTP/1.1\r\nX-A: a\r\n\r\n", 400},
		{"two Host", "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
		{"malformed Host", "GET / HTTP/1.1\r\nHost: x/y\r\n\r\n", 400},
		{"malformed host in absolute form", "GET http://a%2fb/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		// Request line.
		{"invalid method", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"method with a slash", "GET/ / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"no version", "GET /\r\nHost: x\r\n\r\n", 400},
		{"relative target", "GET a HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"asterisk with GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505},
		{"HTTP/0.9", "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505},
		{"garbage version", "GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400},
		{"lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400},
		{"long version", "GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400},
		{"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501},
		{"Expect other", "GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", 417},
		{"Expect twice", "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\na", 417},
		{"too many empty lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		// Sizes (MaxHeaderBytes is 1024 here).
		{"request line too long", "GET /" + long + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"header too large", "GET / HTTP/1.1\r\nHost: x\r\nX-A: " + long + "\r\n\r\n", 431},
		{"header too large in many lines", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: aaaaaaaaaaaaaaaa\r\n", 60) + "\r\n", 431},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var log pathLog
			ts := startServer(t, log.wrap(echo), func(s *Server) { s.MaxHeaderBytes = 1024 })
			c := dial(t, ts.addr)
			c.send(tc.req + smuggled)
			resp, body := c.response("GET")
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d (body %s)", resp.StatusCode, tc.status, body)
			}
			if connField(resp) != "close" || !resp.Close {
				t.Errorf("Connection %q, want close", connField(resp))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			c.expectClosed()
			if len(log.paths) > 0 {
				t.Errorf("served %v", log.paths)
			}
		})
	}
}

// TestAccepted: requests at the edge of the rules that are well formed.
func TestAccepted(t *testing.T) {
	cases := []struct {
		name, req, want string
	}{
		{"identical repeated CL", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", "POST /a abc"},
		{"CL with spaces around", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length:   3  \r\n\r\nabc", "POST /a abc"},
		{"TE Chunked in capitals", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "POST /a abc"},
		{"chunk extension and trailer", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n1 ;z\r\nd\r\n0\r\nX-T: 1\r\n\r\n", "POST /a abcd"},
		{"upper-case hex chunk", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", "POST /a 0123456789"},
		{"bare LF header lines", "GET /a HTTP/1.1\nHost: x\n\n", "GET /a"},
		{"empty lines before the request", "\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n", "GET /a"},
		{"HTTP/1.0 without Host", "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET /a"},
		{"HTTP/1.0 with Expect", "POST /a HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz", "POST /a z"},
		{"absolute form", "GET http://y/a HTTP/1.1\r\nHost: x\r\n\r\n", "GET /a"},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "OPTIONS *"},
		{"extension method", "PROPFIND /a HTTP/1.1\r\nHost: x\r\n\r\n", "PROPFIND /a"},
		{"empty Host", "GET /a HTTP/1.1\r\nHost:\r\n\r\n", "GET /a"},
		{"obs-text in a value", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: \xe1\xba\xa1\r\n\r\n", "GET /a"},
		{"tab in a value", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\tb\r\n\r\n", "GET /a"},
	}
	ts := startServer(t, echo)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, ts.addr)
			// Then a second request on the connection: the first one's
			// framing ended where it should.
			c.send(tc.req + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, body := c.response("GET")
			if resp.StatusCode != 200 || body != tc.want {
				t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, tc.want)
			}
			if _, body := c.response("GET"); body != "GET /next" {
				t.Errorf("second answer %q", body)
			}
		})
	}
}

// TestMalformedChunks: a chunked body that breaks its framing fails the
// handler's Read, and the connection closes: nothing after it is read as
// a request.
func TestMalformedChunks(t *testing.T) {
	const head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	cases := []struct{ name, body string }{
		{"non-hex size", "zz\r\nabc\r\n0\r\n\r\n"},
		{"size with 0x", "0x3\r\nabc\r\n0\r\n\r\n"},
		{"negative size", "-3\r\nabc\r\n0\r\n\r\n"},
		{"size with a leading space", " 3\r\nabc\r\n0\r\n\r\n"},
		{"empty size", "\r\nabc\r\n0\r\n\r\n"},
		{"size too long", "00000000000000003\r\nabc\r\n0\r\n\r\n"},
		{"size line too long", "3;" + strings.Repeat("x", 5000) + "\r\nabc\r\n0\r\n\r\n"},
		{"no CRLF after the data", "3\r\nabcde\r\n0\r\n\r\n"},
		{"LF only after the data", "3\r\nabc\n0\r\n\r\n"},
		{"bare LF size line", "3\nabc\r\n0\r\n\r\n"},
		{"bare CR in the size line", "3\rx\r\nabc\r\n0\r\n\r\n"},
		{"bare LF last chunk", "3\r\nabc\r\n0\n\r\n"},
		{"bare LF ending the trailer", "3\r\nabc\r\n0\r\n\n"},
		{"control character in an extension", "3;a\x00\r\nabc\r\n0\r\n\r\n"},
		{"malformed trailer", "3\r\nabc\r\n0\r\nno colon\r\n\r\n"},
		{"folded trailer", "3\r\nabc\r\n0\r\nX-T: a\r\n b\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var log pathLog
			ts := startServer(t, log.wrap(echo))
			c := dial(t, ts.addr)
			c.send(head + tc.body + smuggled)
			resp, body := c.response("POST")
			if resp.StatusCode != 400 || !strings.Contains(body, "malformed chunked") {
				t.Errorf("got %d %q, want the handler's 400 with the read error", resp.StatusCode, body)
			}
			if !resp.Close {
				t.Error("answer without Connection: close")
			}
			c.expectClosed()
			if log.served("/smuggled") {
				t.Error("the request after the body was served")
			}
		})
	}
}

// TestProtocolErrorAnswer: the default answer is an RFC 9457 problem in
// Vietnamese; a ProtocolError hook replaces it.
func TestProtocolErrorAnswer(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		ts := startServer(t, echo)
		c := dial(t, ts.addr)
		c.send("GET / HTTP/1.1\r\n\r\n")
		resp, body := c.response("GET")
		var p struct {
			Type, Title, Detail string
			Status              int
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if resp.StatusCode != 400 || p.Status != 400 || p.Title != "Yêu cầu HTTP không hợp lệ" || p.Detail != "missing Host" {
			t.Errorf("got %d %+v", resp.StatusCode, p)
		}
		if resp.Header.Get("Content-Type") != "application/problem+json" || resp.ContentLength != int64(len(body)) {
			t.Errorf("header %v", resp.Header)
		}
	})
	titles := map[string]string{
		"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 70<<10) + "\r\n\r\n": "Phần đầu yêu cầu HTTP quá lớn",
		"GET / HTTP/9.9\r\nHost: x\r\n\r\n":                                           "Máy chủ không hỗ trợ yêu cầu HTTP này",
		"GET / HTTP/1.1\r\nHost: x\r\nExpect: x\r\n\r\n":                              "Không đáp ứng được trường Expect",
	}
	ts := startServer(t, echo)
	for req, title := range titles {
		c := dial(t, ts.addr)
		c.send(req)
		_, body := c.response("GET")
		if !strings.Contains(body, `"title":"`+title+`"`) {
			t.Errorf("%.30q: %s", req, body)
		}
	}
	t.Run("hook", func(t *testing.T) {
		type call struct {
			status int
			reason string
		}
		calls := make(chan call, 1)
		ts := startServer(t, echo, func(s *Server) {
			s.ProtocolError = func(w http.ResponseWriter, status int, reason string) {
				calls <- call{status, reason}
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(status)
				w.Write([]byte("custom"))
			}
		})
		c := dial(t, ts.addr)
		c.send("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n")
		resp, body := c.response("GET")
		if resp.StatusCode != 501 || body != "custom" || connField(resp) != "close" {
			t.Errorf("got %d %q %v", resp.StatusCode, body, resp.Header)
		}
		if got := within(t, 5e9, calls, "hook"); got.status != 501 || got.reason == "" {
			t.Errorf("hook called with %+v", got)
		}
		c.expectClosed()
	})
}

// TestPipelining: requests written at once are answered in order on one
// connection.
func TestPipelining(t *testing.T) {
	ts := startServer(t, echo)
	c := dial(t, ts.addr)
	c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz" +
		"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nuv\r\n0\r\n\r\n" +
		"HEAD /d HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	for _, want := range []struct{ method, body string }{
		{"GET", "GET /a"}, {"POST", "POST /b xyz"}, {"POST", "POST /c uv"}, {"HEAD", ""}, {"GET", "GET /e"},
	} {
		resp, body := c.response(want.method)
		if resp.StatusCode != 200 || body != want.body {
			t.Fatalf("got %d %q, want %q", resp.StatusCode, body, want.body)
		}
	}
	c.expectClosed()
}

// TestKeepAliveRules: HTTP/1.0 closes unless asked to keep alive,
// Connection: close closes, and an answer says when it closes.
func TestKeepAliveRules(t *testing.T) {
	ts := startServer(t, echo)
	cases := []struct {
		name, req string
		keep      bool
		conn      string // the answer's Connection
	}{
		{"1.0", "GET / HTTP/1.0\r\n\r\n", false, "close"},
		{"1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true, "keep-alive"},
		{"1.0 keep-alive among tokens", "GET / HTTP/1.0\r\nConnection: foo, keep-alive\r\n\r\n", true, "keep-alive"},
		{"1.1", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true, ""},
		{"1.1 close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false, "close"},
		{"1.1 close among tokens", "GET / HTTP/1.1\r\nHost: x\r\nConnection: te, CLOSE\r\n\r\n", false, "close"},
		{"1.1 two Connection fields", "GET / HTTP/1.1\r\nHost: x\r\nConnection: te\r\nConnection: close\r\n\r\n", false, "close"},
		{"1.0 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false, "close"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, ts.addr)
			c.send(tc.req)
			resp, body := c.response("GET")
			if body != "GET /" || connField(resp) != tc.conn {
				t.Errorf("got %q, Connection %q, want %q", body, connField(resp), tc.conn)
			}
			if !tc.keep {
				c.expectClosed()
				return
			}
			c.send("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
			if _, body := c.response("GET"); body != "GET /2" {
				t.Errorf("second answer %q", body)
			}
		})
	}
	t.Run("handler says close", func(t *testing.T) {
		ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
		}))
		c := dial(t, ts.addr)
		c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, _ := c.response("GET"); !resp.Close {
			t.Error("no Connection: close")
		}
		c.expectClosed()
	})
}
