package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// integration: REST profile, headers, logging (requirements "Wire and identity model").
func TestProxyPassesCallAndLogsIt(t *testing.T) {
	var got http.Header
	var gotPath string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotPath = r.Header.Clone(), r.URL.RequestURI()
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true,"so_dinh_danh":"001099001234","echo":` + string(b) + `}`))
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seed(t, n.mgr, backend.URL+"/api")
	resp := call(t, n.srv.URL, "POST", "/r1/"+svcID+"/v1/phieu/123?x=1", "tok-client", strings.NewReader(`{"so_dinh_danh":"001099001234","ten":"A"}`),
		gateway.HeaderClient, client, gateway.HeaderIssue, "000.00.01.H57-260101-0001", gateway.HeaderUserID, "VN001", gateway.HeaderID, "msg-1")
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	if gotPath != "/api/phieu/123?x=1" {
		t.Errorf("backend path %q", gotPath)
	}
	if got.Get(gateway.HeaderClient) != client || got.Get(gateway.HeaderIssue) != "000.00.01.H57-260101-0001" || got.Get("Authorization") != "" {
		t.Errorf("backend headers %v", got)
	}
	if resp.Header.Get(gateway.HeaderID) != "msg-1" || resp.Header.Get(gateway.HeaderRequestID) == "" || resp.Header.Get(gateway.HeaderRequestHash) == "" {
		t.Errorf("response headers %v", resp.Header)
	}
	recs, err := gateway.Search(context.Background(), d, gateway.Filter{Issue: "000.00.01.H57-260101-0001"})
	must(t, err)
	if len(recs) != 1 {
		t.Fatalf("records by dossier code: %d", len(recs))
	}
	r := recs[0]
	if r.Client != client || r.Service != svcID+"/v1" || r.Status != 200 || r.UserID != "VN001" || r.RequestBytes == 0 || r.ResponseBytes != int64(len(body)) {
		t.Errorf("record %+v", r)
	}
	if strings.Contains(r.RequestBody, "001099001234") || strings.Contains(r.ResponseBody, "001099001234") || !strings.Contains(r.RequestBody, `"ten":"A"`) {
		t.Errorf("bodies not redacted: %s / %s", r.RequestBody, r.ResponseBody)
	}
}

func TestFaultsCarryXRoadCategories(t *testing.T) {
	slow := make(chan struct{})
	defer close(slow)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "slow") {
			select {
			case <-slow:
			case <-r.Context().Done():
			}
		}
		io.Copy(io.Discard, r.Body)
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seed(t, n.mgr, backend.URL)
	ctx := context.Background()
	// A GET-only right on another service, a retired and a draft service, a small body limit.
	for _, code := range []string{"only-get", "retired", "draft", "small", "slowsvc"} {
		s := gateway.Service{ID: sid(provider + "/" + code), Title: code, MaxBodyBytes: 10}
		if code == "slowsvc" {
			s.Timeout = 200 * time.Millisecond
		}
		must(t, n.mgr.PutService(ctx, "admin", s))
		must(t, n.mgr.PutVersion(ctx, "admin", sid(provider+"/"+code+"/v1"), gateway.Version{BackendURL: backend.URL}))
		if code != "draft" {
			must(t, n.mgr.SetStatus(ctx, "admin", sid(provider+"/"+code+"/v1"), gateway.Published, nil))
		}
		_, err := n.mgr.Grant(ctx, "admin", gateway.AccessRight{Client: client, Service: sid(provider + "/" + code), Method: "GET", Path: "/items/*"})
		must(t, err)
	}
	must(t, n.mgr.SetStatus(ctx, "admin", sid(provider+"/retired/v1"), gateway.Retired, nil))
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	must(t, n.mgr.PutService(ctx, "admin", gateway.Service{ID: sid(provider + "/down"), Title: "down"}))
	must(t, n.mgr.PutVersion(ctx, "admin", sid(provider+"/down/v1"), gateway.Version{BackendURL: down.URL}))
	must(t, n.mgr.SetStatus(ctx, "admin", sid(provider+"/down/v1"), gateway.Published, nil))
	_, err := n.mgr.Grant(ctx, "admin", gateway.AccessRight{Client: client, Service: sid(provider + "/down")})
	must(t, err)

	cases := []struct {
		name, method, path, token string
		body                      string
		hdr                       []string
		status                    int
		fault                     string
		logged                    bool
	}{
		{"malformed id", "GET", "/r1/VN-HUE/GOV//LLTP/x", "tok-client", "", nil, 400, gateway.FaultBadRequest, false},
		{"dot-dot in service path", "GET", "/r1/" + provider + "/only-get/items/%2e%2e/admin", "tok-client", "", nil, 400, gateway.FaultBadRequest, false},
		{"too short id", "GET", "/r1/VN-HUE/GOV", "tok-client", "", nil, 400, gateway.FaultBadRequest, false},
		{"bad client header", "GET", "/r1/" + svcID, "tok-client", "", []string{gateway.HeaderClient, "VN-HUE/GOV"}, 400, gateway.FaultBadRequest, false},
		{"bad issue header", "GET", "/r1/" + svcID, "tok-client", "", []string{gateway.HeaderIssue, strings.Repeat("x", 300)}, 400, gateway.FaultBadRequest, false},
		{"no credentials", "GET", "/r1/" + svcID, "", "", []string{gateway.HeaderClient, client}, 401, gateway.FaultAuthentication, false},
		{"bad token", "GET", "/r1/" + svcID, "nope", "", nil, 401, gateway.FaultAuthentication, false},
		{"header does not match token", "GET", "/r1/" + svcID, "tok-other", "", []string{gateway.HeaderClient, client}, 401, gateway.FaultAuthentication, false},
		{"unknown service", "GET", "/r1/" + provider + "/nothing", "tok-client", "", nil, 404, gateway.FaultUnknownService, true},
		{"unknown version", "GET", "/r1/" + svcID + "/v9", "tok-client", "", nil, 404, gateway.FaultUnknownService, true},
		{"no right", "GET", "/r1/" + svcID, "tok-other", "", nil, 403, gateway.FaultAccessDenied, true},
		{"method not granted", "POST", "/r1/" + provider + "/only-get/items/1", "tok-client", "", nil, 403, gateway.FaultAccessDenied, true},
		{"path not granted", "GET", "/r1/" + provider + "/only-get/other/1", "tok-client", "", nil, 403, gateway.FaultAccessDenied, true},
		{"granted endpoint", "GET", "/r1/" + provider + "/only-get/items/1", "tok-client", "", nil, 200, "", true},
		{"retired", "GET", "/r1/" + provider + "/retired/items/1", "tok-client", "", nil, 410, gateway.FaultServiceDisabled, true},
		{"draft", "GET", "/r1/" + provider + "/draft/items/1", "tok-client", "", nil, 404, gateway.FaultUnknownService, true},
		{"body too large", "GET", "/r1/" + provider + "/small/items/1", "tok-client", strings.Repeat("x", 100), nil, 413, gateway.FaultBodyTooLarge, true},
		{"backend down", "GET", "/r1/" + provider + "/down/x", "tok-client", "", nil, 502, gateway.FaultServiceFailed, true},
		{"backend slow", "GET", "/r1/" + provider + "/slowsvc/items/slow", "tok-client", "", nil, 504, gateway.FaultServiceTimeout, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			resp := call(t, n.srv.URL, c.method, c.path, c.token, body, c.hdr...)
			b := readAll(t, resp)
			if resp.StatusCode != c.status || resp.Header.Get(gateway.HeaderError) != c.fault {
				t.Fatalf("got %d %q, want %d %q: %s", resp.StatusCode, resp.Header.Get(gateway.HeaderError), c.status, c.fault, b)
			}
			if c.fault != "" {
				var p struct{ Type, Message, Detail string }
				if err := json.Unmarshal([]byte(b), &p); err != nil || p.Type != c.fault || p.Message == "" || p.Detail != resp.Header.Get(gateway.HeaderRequestID) {
					t.Errorf("body %s", b)
				}
			}
			recs, err := gateway.Search(context.Background(), d, gateway.Filter{Limit: 1000})
			must(t, err)
			found := false
			for _, r := range recs {
				if r.RequestID == resp.Header.Get(gateway.HeaderRequestID) {
					found = true
					if r.ErrorType != c.fault || r.Status != c.status {
						t.Errorf("logged %q %d", r.ErrorType, r.Status)
					}
				}
			}
			if found != c.logged {
				t.Errorf("logged = %v, want %v", found, c.logged)
			}
		})
	}
}

func TestCircuitBreakerOpensAfterFailures(t *testing.T) {
	hits := 0
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{cfg: func(c *gateway.Config) { c.BreakerFailures = 3 }})
	seed(t, n.mgr, backend.URL)
	for i := 0; i < 3; i++ {
		resp := call(t, n.srv.URL, "GET", "/r1/"+svcID, "tok-client", nil)
		readAll(t, resp)
		if resp.StatusCode != 503 || resp.Header.Get(gateway.HeaderError) != "" {
			t.Fatalf("call %d: %d %q (a backend's own 503 passes through)", i, resp.StatusCode, resp.Header.Get(gateway.HeaderError))
		}
	}
	resp := call(t, n.srv.URL, "GET", "/r1/"+svcID, "tok-client", nil)
	readAll(t, resp)
	if resp.StatusCode != 503 || resp.Header.Get(gateway.HeaderError) != gateway.FaultCircuitOpen || resp.Header.Get("Retry-After") == "" || hits != 3 {
		t.Fatalf("open circuit: %d %q hits=%d", resp.StatusCode, resp.Header.Get(gateway.HeaderError), hits)
	}
}

// integration "better than X-Road": quotas per client × service shared across nodes, 429 + Retry-After.
func TestQuotasSharedAcrossNodes(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		var mu sync.Mutex
		now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		a := startNode(t, d, nodeOpts{name: "a", now: clock})
		b := startNode(t, d, nodeOpts{name: "b", now: clock})
		seed(t, a.mgr, backend.URL)
		must(t, a.mgr.PutQuota(context.Background(), "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), RatePerSecond: 10, Daily: 25}))
		must(t, b.rt.Reload(context.Background()))
		round := func(calls int) (ok, limited int, retry string) {
			for i := 0; i < calls; i++ {
				base := a.srv.URL
				if i%2 == 1 {
					base = b.srv.URL
				}
				resp := call(t, base, "GET", "/r1/"+svcID, "tok-client", nil)
				readAll(t, resp)
				switch resp.StatusCode {
				case 200:
					ok++
				case 429:
					limited++
					retry = resp.Header.Get("Retry-After")
					if resp.Header.Get(gateway.HeaderError) != gateway.FaultQuota || retry == "" || retry == "0" {
						t.Fatalf("429 without category or Retry-After: %v", resp.Header)
					}
				default:
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			return
		}
		// Within one second, the two nodes together let 10 calls through.
		if ok, limited, retry := round(16); ok != 10 || limited != 6 || retry != "1" {
			t.Fatalf("second 1: %d through, %d limited, Retry-After %s", ok, limited, retry)
		}
		// The next seconds: 10 more each, until the daily 25 is spent.
		mu.Lock()
		now = now.Add(time.Second)
		mu.Unlock()
		if ok, _, _ := round(16); ok != 10 {
			t.Fatalf("second 2: %d through", ok)
		}
		mu.Lock()
		now = now.Add(time.Second)
		mu.Unlock()
		ok, _, retry := round(16)
		if ok != 5 || retry != strconv.Itoa(7*3600-2) { // 17:00:02 in Hà Nội: 6 h 59 min 58 s to midnight
			t.Fatalf("daily quota: %d through, Retry-After %s", ok, retry)
		}
		// Another client is not limited by this client's quota.
		_, err := a.mgr.Grant(context.Background(), "admin", gateway.AccessRight{Client: other, Service: sid(svcID)})
		must(t, err)
		resp := call(t, a.srv.URL, "GET", "/r1/"+svcID, "tok-other", nil)
		readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("other client: %d", resp.StatusCode)
		}
	})
}

// integration "better than X-Road": access-right changes enforced on every node within seconds.
func TestRevokedRightEnforcedOnOtherNodeWithinSeconds(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	d := sqliteDB(t)
	a := startNode(t, d, nodeOpts{name: "a", poll: time.Second})
	b := startNode(t, d, nodeOpts{name: "b", poll: time.Second})
	right := seed(t, a.mgr, backend.URL)
	must(t, b.rt.Reload(context.Background()))
	if resp := call(t, b.srv.URL, "GET", "/r1/"+svcID, "tok-client", nil); resp.StatusCode != 200 {
		t.Fatalf("before revoke: %d", resp.StatusCode)
	}
	start := time.Now()
	must(t, a.mgr.Revoke(context.Background(), "admin", right.ID))
	for {
		resp := call(t, b.srv.URL, "GET", "/r1/"+svcID, "tok-client", nil)
		readAll(t, resp)
		if resp.StatusCode == 403 {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("revoked right still honoured on node b after 5 s")
		}
		time.Sleep(20 * time.Millisecond) // polling what another node does, not waiting for time
	}
	t.Logf("revoked right enforced on the other node after %v", time.Since(start).Round(time.Millisecond))
}

func TestSlowBodyAndConcurrencyLimit(t *testing.T) {
	release, stopped := make(chan struct{}), make(chan struct{})
	entered := make(chan struct{}, 4)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered <- struct{}{}
			select {
			case <-release:
			case <-stopped: // the test stopped early: let Close finish
			}
		}
		io.Copy(io.Discard, r.Body)
	}))
	defer backend.Close()
	defer close(stopped)
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{cfg: func(c *gateway.Config) { c.BodyTimeout = 300 * time.Millisecond }})
	seed(t, n.mgr, backend.URL)

	// A client that sends part of its body and stalls gets Client.RequestTimeout.
	pr, pw := io.Pipe()
	go func() { pw.Write([]byte(`{"a":`)) }() // and never more
	defer pw.Close()
	resp := call(t, n.srv.URL, "POST", "/r1/"+svcID+"/upload", "tok-client", pr)
	readAll(t, resp)
	if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get(gateway.HeaderError) != gateway.FaultBodyTimeout {
		t.Fatalf("slow body: %d %q", resp.StatusCode, resp.Header.Get(gateway.HeaderError))
	}

	// At most 1 call in flight for this client: the second gets 429.
	must(t, n.mgr.PutQuota(context.Background(), "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), MaxConcurrent: 1}))
	done := make(chan int)
	go func() {
		r := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/hold", "tok-client", nil)
		readAll(t, r)
		done <- r.StatusCode
	}()
	<-entered
	r2 := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/x", "tok-client", nil)
	readAll(t, r2)
	if r2.StatusCode != 429 || r2.Header.Get(gateway.HeaderError) != gateway.FaultQuota {
		t.Fatalf("second concurrent call: %d", r2.StatusCode)
	}
	close(release)
	if s := <-done; s != 200 {
		t.Fatalf("held call: %d", s)
	}
	r3 := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/x", "tok-client", nil)
	readAll(t, r3)
	if r3.StatusCode != 200 {
		t.Fatalf("after the held call ended: %d", r3.StatusCode)
	}
}

// A client that hangs up is not a failure of the service: the breaker stays closed.
func TestClientHangUpDoesNotOpenBreaker(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	entered := make(chan struct{}, 8)
	cancelled := make(chan struct{}, 8)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered <- struct{}{}
			select {
			case <-hold:
			case <-r.Context().Done():
				cancelled <- struct{}{}
			}
			return
		}
		w.Write([]byte("ok"))
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{cfg: func(c *gateway.Config) { c.BreakerFailures = 2 }})
	seed(t, n.mgr, backend.URL)
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", n.srv.URL+"/r1/"+svcID+"/hold", nil)
		req.Header.Set("Authorization", "Bearer tok-client")
		go func() { <-entered; cancel() }()
		if _, err := http.DefaultClient.Do(req); err == nil {
			t.Fatal("cancelled call succeeded")
		}
	}
	resp := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/x", "tok-client", nil)
	if b := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("after hang-ups: %d %s", resp.StatusCode, b)
	}
	// The hang-ups reached the backend (its calls were cancelled, not left
	// waiting on hold) and each exchange is logged as the client's
	// cancellation.
	for i := 0; i < 3; i++ {
		select {
		case <-cancelled:
		case <-time.After(10 * time.Second):
			t.Fatalf("backend call %d not cancelled after the client hung up", i+1)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, err := gateway.Search(context.Background(), d, gateway.Filter{Service: svcID})
		must(t, err)
		n := 0
		for _, r := range recs {
			if r.Status == 499 && r.ErrorType == gateway.FaultCanceled && strings.HasSuffix(r.Path, "/hold") {
				n++
			}
		}
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 hang-ups logged as 499 %s: %+v", n, gateway.FaultCanceled, recs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Requests the gateway's HTTP server cannot read one way only are refused
// as X-Road faults and the connection closes (RFC 9112 §6.3, §11.2): no
// request smuggling through the gateway to a backend.
func TestUnreadableRequestsAreFaults(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the backend got %s %s", r.Method, r.URL)
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seed(t, n.mgr, backend.URL)
	addr := strings.TrimPrefix(n.srv.URL, "http://")
	path := "/r1/" + svcID + "/x"
	cases := []struct {
		name, req string
		status    int
		fault     string
	}{
		{"length and chunked", "POST " + path + " HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer tok-client\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: gw\r\n\r\n", 400, gateway.FaultBadRequest},
		{"two lengths", "POST " + path + " HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd", 400, gateway.FaultBadRequest},
		{"other coding", "POST " + path + " HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, gateway.FaultBadRequest},
		{"folded header", "GET " + path + " HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer\r\n tok-client\r\n\r\n", 400, gateway.FaultBadRequest},
		{"no host", "GET " + path + " HTTP/1.1\r\nAuthorization: Bearer tok-client\r\n\r\n", 400, gateway.FaultBadRequest},
		{"huge header", "GET " + path + " HTTP/1.1\r\nHost: gw\r\nX-Big: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", 431, gateway.FaultBodyTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			must(t, err)
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			go conn.Write([]byte(c.req))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			must(t, err)
			body := readAll(t, resp)
			if resp.StatusCode != c.status || resp.Header.Get(gateway.HeaderError) != c.fault || !resp.Close {
				t.Fatalf("%d %q close=%v %s", resp.StatusCode, resp.Header.Get(gateway.HeaderError), resp.Close, body)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("connection still open after the fault (%v): something after it could be read as a request", err)
			}
		})
	}
}
