package h1

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// Framing fields are compared by ASCII rules, as net/http does: a Kelvin
// sign (U+212A, which Unicode folds to 'k') does not make "chunked", and
// a no-break space (U+00A0) or next line (U+0085) is not white space
// around a length. A proxy reading them otherwise than its neighbours is
// a request-smuggling primitive.
func TestFramingFieldsAreASCII(t *testing.T) {
	cases := []struct{ name, req string }{
		{"TE with Kelvin sign", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chun\u212Aed\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
		{"TE with NBSP", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\u00a0\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
		{"CL with NBSP", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\u00a0\r\n\r\nabc"},
		{"CL with NEL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \u00853\r\n\r\nabc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// net/http's reading of the same bytes.
			_, gerr := http.ReadRequest(bufio.NewReader(strings.NewReader(tc.req)))
			var log pathLog
			ts := startServer(t, log.wrap(echo))
			c := dial(t, ts.addr)
			c.send(tc.req + smuggled)
			resp, body := c.response("POST")
			if resp.StatusCode < 400 {
				t.Errorf("accepted: %d %q (net/http: %v)", resp.StatusCode, body, gerr)
			}
		})
	}
}

// A 1xx answer carries no framing fields, as net/http's: ReverseProxy
// copies a backend's 103 fields into the header map before
// WriteHeader(103), so a backend could otherwise put Content-Length or
// Transfer-Encoding into an interim answer.
func TestInterimAnswerCarriesNoFraming(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.Header().Set("Content-Length", "5")
		w.Header().Set("Transfer-Encoding", "chunked")
		w.WriteHeader(http.StatusEarlyHints)
		clear(w.Header())
		w.Write([]byte("final"))
	}))
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	var head strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	h := head.String()
	if !strings.HasPrefix(h, "HTTP/1.1 103 ") {
		t.Fatalf("first answer %q", h)
	}
	if strings.Contains(h, "Content-Length:") || strings.Contains(h, "Transfer-Encoding:") {
		t.Errorf("103 carries framing fields: %q", h)
	}
}

// Connection tokens are ASCII: "\u212Aeep-alive" does not keep an
// HTTP/1.0 connection open (net/http closes it too).
func TestConnectionTokensAreASCII(t *testing.T) {
	ts := startServer(t, echo)
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.0\r\nConnection: \u212Aeep-alive\r\n\r\n")
	resp, _ := c.response("GET")
	if !resp.Close {
		t.Errorf("HTTP/1.0 kept alive on a non-ASCII token (Connection %q)", connField(resp))
	}
}

// Chunk framing may not outweigh the data by more than 16 KiB, as in
// net/http (CVE-2023-39326): 1-byte chunks each with a 4 KB extension
// would make the server read 4 MB of framing for a 1,000-byte body.
func TestChunkFramingOutweighingDataIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	ext := ";" + strings.Repeat("x", 4000)
	for i := 0; i < 1000; i++ {
		b.WriteString("1" + ext + "\r\na\r\n")
	}
	b.WriteString("0\r\n\r\n")
	req := b.String()

	greq, err := http.ReadRequest(bufio.NewReader(strings.NewReader(req)))
	if err != nil {
		t.Fatal(err)
	}
	_, gerr := io.ReadAll(greq.Body)
	t.Logf("net/http reading the body: %v", gerr)

	ts := startServer(t, echo)
	c := dial(t, ts.addr)
	go c.c.Write([]byte(req))
	resp, body := c.response("POST")
	if resp.StatusCode == 200 {
		t.Errorf("%d bytes of framing read for a %d-byte body", len(req), len(body)-len("POST / "))
	}
}

// WriteTimeout frees a handler whose client never reads the answer:
// Write fails once it has passed, instead of blocking for ever.
func TestWriteTimeoutFreesAHandlerTheClientDoesNotRead(t *testing.T) {
	returned := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		for {
			if _, err := w.Write(buf); err != nil {
				returned <- err
				return
			}
		}
	}), func(s *Server) {
		s.ReadHeaderTimeout, s.IdleTimeout, s.WriteTimeout = time.Second, time.Second, time.Second
	})
	c := dial(t, ts.addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case err := <-returned:
		t.Logf("Write failed: %v", err)
	case <-time.After(5 * time.Second):
		t.Error("handler still blocked in Write after 5 s; client never read")
	}
	c.c.Close()
}

// A large header once is no reason to keep its room: after a 64 KiB
// header of 3-byte fields, the connection's scratch holds neither the
// bytes nor the ~18,000 field references (32 bytes each) while it waits
// for the next request.
func TestLargeHeaderScratchIsNotKept(t *testing.T) {
	var sc scratch
	raw := "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("a:\r\n", 15000) + "\r\n"
	if _, err := readRequest(bufio.NewReader(strings.NewReader(raw)), 64<<10, &sc); err != nil {
		t.Fatal(err)
	}
	if n := cap(sc.fields) * int(unsafe.Sizeof(fieldRef{})); n > 64<<10 || cap(sc.bytes) > 8<<10 {
		t.Errorf("scratch kept after a large header: %d bytes of field references, %d of values", n, cap(sc.bytes))
	}
}

// SetReadDeadline through a ResponseWriter whose handler has returned is
// refused, as SetWriteDeadline is: a goroutine the handler left cannot cut
// the next request's body on the same connection.
func TestReadDeadlineRefusedAfterTheHandler(t *testing.T) {
	goB, doneA := make(chan struct{}), make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			go func() {
				<-goB
				doneA <- http.NewResponseController(w).SetReadDeadline(time.Unix(1, 0))
			}()
			io.WriteString(w, "a")
		case "/b":
			close(goB)
			if err := <-doneA; err == nil {
				t.Error("SetReadDeadline after the handler returned: nil error")
			}
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			w.Write(b)
		}
	}))
	c := dial(t, ts.addr)
	c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	c.response("GET")
	c.send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	c.send("xyz")
	if resp, body := c.response("POST"); resp.StatusCode != 200 || body != "xyz" {
		t.Errorf("next request: %d %q", resp.StatusCode, body)
	}
}
