package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
)

// What a client and the backend saw of one call.
type relayView struct {
	Status   int
	Header   http.Header
	Body     string
	BodyErr  bool
	Trailer  http.Header
	Backend  string // request line, Host and headers as the backend read them
	Status2  int    // the message log's record
	Fault    string
	Sizes    [2]int64
	Hashes   [2]string
	Recorded bool
}

// integration §runtime (X-Road REST profile): plain GET and HEAD calls go
// through the gateway's own relay instead of httputil.ReverseProxy; for
// every request and answer in the table, the client, the backend and the
// message log see exactly what they see through ReverseProxy: hop-by-hop
// and forwarding headers dropped both ways, the X-Road headers set and
// protected, escapes and queries kept, streams flushed, trailers passed,
// HEAD, 204, 304, a cut-short answer logged as a service failure.
func TestRelayMatchesReverseProxy(t *testing.T) {
	var mu sync.Mutex
	var seen string
	var answer http.HandlerFunc
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s Host=%s\n", r.Method, r.RequestURI, r.Host)
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			if k != gateway.HeaderRequestID {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%q\n", k, r.Header[k])
		}
		mu.Lock()
		seen = b.String()
		a := answer
		mu.Unlock()
		a(w, r)
	}))
	defer backend.Close()
	d := sqliteDB(t)
	// Failing answers are part of the table: no breaker.
	n := startNode(t, d, nodeOpts{cfg: func(c *gateway.Config) { c.BreakerFailures = 1 << 30 }})
	seed(t, n.mgr, backend.URL+"/api")
	addr := strings.TrimPrefix(n.srv.URL, "http://")

	hijack := func(raw string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			c, bw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			bw.WriteString(raw)
			bw.Flush()
			c.Close()
		}
	}
	cases := []struct {
		name   string
		method string
		path   string
		header string
		answer http.HandlerFunc
	}{
		{name: "plain", method: "GET", path: "/v1/phieu/1", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true}`))
		}},
		{name: "escapes and query", method: "GET", path: "/v1/a%2Fb/%E1%BB%87/c%20d/x;y?q=%2F;z&r=1+2&&e=", answer: ok},
		{name: "empty query", method: "GET", path: "/v1/x?", answer: ok},
		{name: "hop-by-hop and forwarding headers", method: "GET", path: "/v1/h",
			header: "Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nTe: trailers, deflate\r\n" +
				"Proxy-Authorization: Basic eDp5\r\nProxy-Connection: keep-alive\r\nX-Forwarded-For: 1.2.3.4\r\nForwarded: for=1.2.3.4\r\n" +
				"X-Forwarded-Host: a\r\nX-Forwarded-Proto: https\r\nX-Multi: a\r\nX-Multi: b\r\nUser-Agent: curl/8.5\r\nAccept: */*\r\n" +
				"X-Road-Request-Id: forged\r\nX-Road-Service: forged\r\nContent-Length: 0\r\nTrailer: X-T\r\n", answer: ok},
		{name: "no user agent", method: "GET", path: "/v1/ua", answer: ok},
		{name: "empty user agent", method: "GET", path: "/v1/ua", header: "User-Agent: \r\n", answer: ok},
		{name: "user agent named by Connection", method: "GET", path: "/v1/ua", header: "Connection: User-Agent, X-Road-Issue\r\nUser-Agent: x\r\n", answer: ok},
		{name: "te without trailers", method: "GET", path: "/v1/te", header: "TE: deflate\r\n", answer: ok},
		{name: "hop-by-hop and forged answer headers", method: "GET", path: "/v1/a", answer: func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Connection", "X-Secret")
			h.Set("X-Secret", "1")
			h.Set("Keep-Alive", "timeout=5")
			h.Set("Proxy-Authenticate", "Basic")
			h.Set("Upgrade", "h2c")
			h.Set(gateway.HeaderError, "Server.Fake")
			h.Set(gateway.HeaderRequestHash, "forged")
			h.Set(gateway.HeaderClient, "forged")
			h.Set(gateway.HeaderService, "forged")
			h.Set(gateway.HeaderRequestID, "forged")
			h["X-Multi"] = []string{"a", "b"}
			w.Write([]byte("ok"))
		}},
		{name: "chunked stream with trailers", method: "GET", path: "/v1/s", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			w.Write([]byte("part one;"))
			w.(http.Flusher).Flush()
			w.Write([]byte("part two"))
			w.Header().Set("X-Sum", "abc")
			w.Header().Set(http.TrailerPrefix+"X-Late", "late")
		}},
		{name: "event stream", method: "GET", path: "/v1/ev", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
			w.Header().Set("Content-Length", "22")
			w.Write([]byte("data: 1\n\n"))
			w.(http.Flusher).Flush()
			w.Write([]byte("data: two\n\n\n\n"))
		}},
		{name: "HEAD", method: "HEAD", path: "/v1/h", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "42")
			w.Header().Set("ETag", `"v1"`)
		}},
		{name: "HEAD without length", method: "HEAD", path: "/v1/h", answer: func(w http.ResponseWriter, r *http.Request) {}},
		{name: "204", method: "GET", path: "/v1/n", answer: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }},
		{name: "304", method: "GET", path: "/v1/n", header: "If-None-Match: \"v1\"\r\n", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(304)
		}},
		{name: "backend closes", method: "GET", path: "/v1/c", answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		}},
		{name: "server error", method: "GET", path: "/v1/e", answer: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "hỏng", 500)
		}},
		{name: "informational first", method: "GET", path: "/v1/i",
			answer: hijack("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")},
		{name: "unasked switch", method: "GET", path: "/v1/u",
			answer: hijack("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")},
		{name: "cut short", method: "GET", path: "/v1/cut", answer: hijack("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")},
		{name: "chunked cut short", method: "GET", path: "/v1/cut", answer: hijack("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")},
	}
	view := func(method, path, header string) relayView {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		must(t, err)
		defer c.Close()
		fmt.Fprintf(c, "%s /r1/%s%s HTTP/1.1\r\nHost: gw.example\r\nAuthorization: Bearer tok-client\r\nX-Road-Client: %s\r\n"+
			"X-Road-Id: msg-1\r\nX-Road-Issue: H57-1\r\nX-Road-UserId: VN001\r\n%s\r\n", method, svcID, path, client, header)
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
		must(t, err)
		body, err := io.ReadAll(resp.Body)
		id := resp.Header.Get(gateway.HeaderRequestID)
		v := relayView{Status: resp.StatusCode, Header: resp.Header, Body: strings.ReplaceAll(string(body), id, "ID"), BodyErr: err != nil, Trailer: resp.Trailer}
		resp.Header.Del(gateway.HeaderRequestID)
		resp.Header.Del("Date")
		mu.Lock()
		v.Backend, seen = seen, ""
		mu.Unlock()
		// A streamed answer can reach the client before its record is
		// written.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if r, ok := recordByRequestID(t, d, id); ok {
				v.Recorded, v.Status2, v.Fault = true, r.Status, r.ErrorType
				v.Sizes, v.Hashes = [2]int64{r.RequestBytes, r.ResponseBytes}, [2]string{r.RequestHash, r.ResponseHash}
				break
			}
		}
		return v
	}
	for _, c := range cases {
		mu.Lock()
		answer = c.answer
		mu.Unlock()
		before := gateway.Relayed()
		restore := gateway.SetLeanRelay(true)
		lean := view(c.method, c.path, c.header)
		restore()
		if gateway.Relayed() == before {
			t.Errorf("%s: the relay did not carry the call", c.name)
		}
		restore = gateway.SetLeanRelay(false)
		std := view(c.method, c.path, c.header)
		restore()
		t.Logf("%s: relay fault %q, proxy fault %q, body error %v/%v", c.name, lean.Fault, std.Fault, lean.BodyErr, std.BodyErr)
		if !reflect.DeepEqual(lean, std) {
			t.Errorf("%s:\n relay %+v\nproxy %+v", c.name, lean, std)
		}
		if !lean.Recorded || lean.Backend == "" && c.name != "unasked switch" {
			t.Errorf("%s: not logged or not sent: %+v", c.name, lean)
		}
	}

	// A few of the answers, in plain words (the comparison above would
	// pass if both were wrong the same way).
	mu.Lock()
	answer = cases[3].answer
	mu.Unlock()
	v := view("GET", "/v1/h", cases[3].header)
	for _, h := range []string{"X-Hop", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "X-Forwarded-For", "Forwarded",
		"X-Forwarded-Host", "X-Forwarded-Proto", "Authorization", "Connection", "Trailer", "Content-Length"} {
		if strings.Contains(v.Backend, "\n"+h+"=") {
			t.Errorf("backend got %s:\n%s", h, v.Backend)
		}
	}
	for _, h := range []string{`Te=["trailers"]`, `X-Multi=["a" "b"]`, `User-Agent=["curl/8.5"]`, `X-Road-Service=["` + svcID + `"]`,
		`X-Road-Client=["` + client + `"]`, "GET /api/h Host=127.0.0.1"} {
		if !strings.Contains(v.Backend, h) {
			t.Errorf("backend did not get %s:\n%s", h, v.Backend)
		}
	}
	mu.Lock()
	answer = cases[8].answer
	mu.Unlock()
	v = view("GET", "/v1/a", "")
	for _, h := range []string{"X-Secret", "Keep-Alive", "Proxy-Authenticate", "Upgrade", "Connection", gateway.HeaderError, gateway.HeaderClient, gateway.HeaderService} {
		if _, ok := v.Header[h]; ok {
			t.Errorf("client got %s: %v", h, v.Header)
		}
	}
	if v.Header.Get(gateway.HeaderRequestHash) == "forged" || v.Header.Get(gateway.HeaderID) != "msg-1" {
		t.Errorf("answer headers: %v", v.Header)
	}
	mu.Lock()
	answer = cases[9].answer
	mu.Unlock()
	if v = view("GET", "/v1/s", ""); v.Body != "part one;part two" || v.Trailer.Get("X-Sum") != "abc" || v.Trailer.Get("X-Late") != "late" {
		t.Errorf("stream: %+v", v)
	}
	mu.Lock()
	answer = cases[len(cases)-2].answer
	mu.Unlock()
	if v = view("GET", "/v1/cut", ""); !v.BodyErr || v.Status2 != 200 || v.Fault != gateway.FaultServiceFailed || v.Sizes[1] != 10 {
		t.Errorf("cut short: %+v", v)
	}
}

func ok(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }

// An answer that begins and then stalls past the service's time limit
// breaks the client's connection (it cannot take the part for the whole)
// and is logged once, as a timeout, on the relay (GET) and on
// ReverseProxy (POST) alike.
func TestAnswerStalledPastTheTimeLimit(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("the first half, "))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the rest never comes
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{cfg: func(c *gateway.Config) { c.BreakerFailures = 1 << 30 }})
	seed(t, n.mgr, backend.URL)
	ctx := t.Context()
	slow := sid(provider + "/stall")
	must(t, n.mgr.PutService(ctx, "admin", gateway.Service{ID: slow, Title: "stall", Timeout: 300 * time.Millisecond}))
	must(t, n.mgr.PutVersion(ctx, "admin", sid(provider+"/stall/v1"), gateway.Version{BackendURL: backend.URL}))
	must(t, n.mgr.SetStatus(ctx, "admin", sid(provider+"/stall/v1"), gateway.Published, nil))
	_, err := n.mgr.Grant(ctx, "admin", gateway.AccessRight{Client: client, Service: slow})
	must(t, err)
	for _, method := range []string{"GET", "POST"} {
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader(`{"a":1}`)
		}
		resp := call(t, n.srv.URL, method, "/r1/"+provider+"/stall/x", "tok-client", body)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil || resp.StatusCode != 200 || string(got) != "the first half, " {
			t.Fatalf("%s: status %d, body %q, error %v: want the first half, then a broken connection", method, resp.StatusCode, got, err)
		}
		// One record, though the break comes after it is logged (it used
		// to log the exchange a second time).
		recs := recordsOf(t, d, resp.Header.Get(gateway.HeaderRequestID))
		if len(recs) != 1 || recs[0].Status != 200 || recs[0].ErrorType != gateway.FaultServiceTimeout || recs[0].ResponseBytes != int64(len(got)) {
			t.Errorf("%s: records %+v", method, recs)
		}
	}
}
