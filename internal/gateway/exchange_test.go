package gateway_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
)

// recordsOf returns the message log's records of the exchange whose
// request id is id, once one is there (up to 5 s), and after a further
// 200 ms (time for a second record to land, if the exchange had two).
func recordsOf(t *testing.T, d *db.DB, id string) []gateway.Record {
	t.Helper()
	waitRecord(t, d, id)
	time.Sleep(200 * time.Millisecond)
	recs, err := gateway.Search(context.Background(), d, gateway.Filter{Limit: 1000})
	must(t, err)
	var out []gateway.Record
	for _, r := range recs {
		if r.RequestID == id {
			out = append(out, r)
		}
	}
	return out
}

// integration "Quotas": a call refused because the service's circuit is
// open spends none of the client's quota.
func TestCircuitRefusalSpendsNoQuota(t *testing.T) {
	var hits atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer backend.Close()
	n := startNode(t, sqliteDB(t), nodeOpts{cfg: func(c *gateway.Config) { c.BreakerFailures = 1 }})
	seed(t, n.mgr, backend.URL)
	must(t, n.mgr.PutQuota(t.Context(), "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), Daily: 3}))
	want := []string{"", gateway.FaultCircuitOpen, gateway.FaultCircuitOpen, gateway.FaultCircuitOpen, gateway.FaultCircuitOpen}
	for i, w := range want {
		resp := call(t, n.srv.URL, "GET", "/r1/"+svcID, "tok-client", nil)
		readAll(t, resp)
		if resp.StatusCode != 503 || resp.Header.Get(gateway.HeaderError) != w {
			t.Fatalf("call %d: %d %q, want 503 %q", i, resp.StatusCode, resp.Header.Get(gateway.HeaderError), w)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("%d calls reached the service", hits.Load())
	}
}

// integration "Circuit breaker": a half-open circuit's trial call whose
// client hangs up tells nothing of the service: the circuit does not
// close, the next call is the trial.
func TestHalfOpenTrialWithoutVerdict(t *testing.T) {
	var hits atomic.Int64
	entered := make(chan struct{}, 8)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered <- struct{}{}
			<-r.Context().Done()
			return
		}
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer backend.Close()
	n := startNode(t, sqliteDB(t), nodeOpts{cfg: func(c *gateway.Config) { c.BreakerFailures = 3; c.BreakerCooldown = 300 * time.Millisecond }})
	seed(t, n.mgr, backend.URL)
	for i := 0; i < 3; i++ {
		readAll(t, call(t, n.srv.URL, "GET", "/r1/"+svcID+"/fail", "tok-client", nil))
	}
	time.Sleep(400 * time.Millisecond) // the cooldown: the next call is the trial
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", n.srv.URL+"/r1/"+svcID+"/hold", nil)
	req.Header.Set("Authorization", "Bearer tok-client")
	go func() { <-entered; cancel() }()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the cancelled trial succeeded")
	}
	time.Sleep(300 * time.Millisecond) // the gateway notices the hang-up
	before := hits.Load()
	for i := 0; i < 3; i++ {
		readAll(t, call(t, n.srv.URL, "GET", "/r1/"+svcID+"/fail", "tok-client", nil))
	}
	if got := hits.Load() - before; got > 1 {
		t.Fatalf("%d calls reached the failing service after a trial whose client hung up (the circuit closed)", got)
	}
}

// integration "Federation": the client side's circuit toward a peer
// gateway opens when the peer cannot be reached, not when the peer
// answers that one of its services fails: other services of the peer
// stay callable.
func TestPeerCircuitCountsOnlyAnUnreachablePeer(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/bad") {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer backend.Close()
	const dngSvc = "VN-DNG/GOV/000.00.00.G07/HOTICH/trich-luc"
	f := federate(t, backend.URL, dngSvc, gateway.REST, gateway.AccessRight{}, func(c *gateway.Config) { c.BreakerFailures = 2 })
	for i := 0; i < 3; i++ {
		resp := call(t, f.a.srv.URL, "GET", "/r1/"+dngSvc+"/v2/bad", "tok-client", nil)
		readAll(t, resp)
		if resp.StatusCode != 502 {
			t.Fatalf("bad %d: %d %q", i, resp.StatusCode, resp.Header.Get(gateway.HeaderError))
		}
	}
	resp := call(t, f.a.srv.URL, "GET", "/r1/"+dngSvc+"/v2/good", "tok-client", nil)
	if b := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("a reachable peer's healthy service refused: %d %q %s", resp.StatusCode, resp.Header.Get(gateway.HeaderError), b)
	}
	f.srvB.Close()
	for i, w := range []string{gateway.FaultPeerUnreachable, gateway.FaultPeerUnreachable, gateway.FaultPeerUnreachable} {
		resp := call(t, f.a.srv.URL, "GET", "/r1/"+dngSvc+"/v2/good", "tok-client", nil)
		readAll(t, resp)
		if resp.Header.Get(gateway.HeaderError) != w {
			t.Fatalf("unreachable peer, call %d: %d %q", i, resp.StatusCode, resp.Header.Get(gateway.HeaderError))
		}
		if i == 2 && (resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "") {
			t.Fatalf("the circuit did not open: %d", resp.StatusCode)
		}
	}
}

// integration "Wire and identity model": X-Road and forwarding headers
// pass the gateway in neither direction but as the gateway sets them: a
// backend cannot speak for the gateway to the client, a client cannot
// speak for the gateway to the backend.
func TestXRoadAndForwardingHeadersDoNotPass(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		for _, h := range []string{"X-Road-UserId", "X-Road-Issue", "X-Road-Represented-Party", "X-Road-Client", "X-Forwarded-For", "X-Forwarded-Port", "Forwarded"} {
			w.Header().Set(h, "forged by the backend")
		}
		w.Write([]byte("ok"))
	}))
	defer backend.Close()
	n := startNode(t, sqliteDB(t), nodeOpts{})
	seed(t, n.mgr, backend.URL)
	for _, m := range []string{"GET", "POST"} { // the relay, and ReverseProxy
		var body io.Reader
		if m == "POST" {
			body = strings.NewReader("x")
		}
		resp := call(t, n.srv.URL, m, "/r1/"+svcID+"/x", "tok-client", body, gateway.HeaderID, "msg-h",
			"X-Road-Represented-Party", "forged by the client", gateway.HeaderRequestHash, "forged", gateway.HeaderError, "forged",
			"X-Forwarded-Port", "1", "X-Forwarded-Prefix", "/x")
		readAll(t, resp)
		for k, v := range resp.Header {
			if strings.Contains(strings.Join(v, ","), "forged") {
				t.Errorf("%s: the client got the backend's %s: %v", m, k, v)
			}
		}
		if resp.Header.Get(gateway.HeaderID) != "msg-h" || resp.Header.Get(gateway.HeaderRequestID) == "" {
			t.Errorf("%s: the gateway's own headers: %v", m, resp.Header)
		}
		mu.Lock()
		for k, v := range got {
			if strings.Contains(strings.Join(v, ","), "forged") || strings.HasPrefix(k, "X-Forwarded-") {
				t.Errorf("%s: the backend got the client's %s: %v", m, k, v)
			}
		}
		if got.Get(gateway.HeaderClient) != client || got.Get(gateway.HeaderID) != "msg-h" {
			t.Errorf("%s: the backend's X-Road headers: %v", m, got)
		}
		mu.Unlock()
	}
}

// A backend URL registered with a trailing slash is called as registered
// when the call names no path below it (a SOAP call).
func TestBackendURLKeptAsRegistered(t *testing.T) {
	var path atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path.Store(r.URL.RequestURI())
		io.Copy(io.Discard, r.Body)
	}))
	defer backend.Close()
	n := startNode(t, sqliteDB(t), nodeOpts{})
	seedSOAP(t, n.mgr, backend.URL+"/services/HoTich/")
	readAll(t, soapPost(t, n.srv.URL, "/", "tok-client", strings.NewReader(soapEnvelope(okFields(), soapRequestBody)), xmlUTF8))
	if p := path.Load(); p != "/services/HoTich/" {
		t.Fatalf("the backend was called at %v", p)
	}
	readAll(t, call(t, n.srv.URL, "GET", "/r1/"+svcID+"/phieu/1", "tok-client", nil))
	if p := path.Load(); p != "/services/HoTich/phieu/1" {
		t.Fatalf("with a path: the backend was called at %v", p)
	}
}

// A client that leaves in the middle of its request body is logged as
// the client's cancellation (499), not as a body timeout.
func TestClientLeavingMidBodyIsCanceled(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer backend.Close()
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seed(t, n.mgr, backend.URL)
	c, err := net.Dial("tcp", strings.TrimPrefix(n.srv.URL, "http://"))
	must(t, err)
	_, err = c.Write([]byte("POST /r1/" + svcID + "/up HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-client\r\nX-Road-Id: hang-1\r\nContent-Length: 1000\r\n\r\nabc"))
	must(t, err)
	time.Sleep(100 * time.Millisecond)
	c.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		recs, err := gateway.Search(context.Background(), d, gateway.Filter{Limit: 100})
		must(t, err)
		for _, r := range recs {
			if r.MessageID == "hang-1" {
				if r.Status != 499 || r.ErrorType != gateway.FaultCanceled {
					t.Fatalf("logged %d %s", r.Status, r.ErrorType)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("not logged")
		}
	}
}
