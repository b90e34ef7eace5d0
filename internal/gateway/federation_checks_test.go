package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/congso/congso/internal/gateway"
)

// A call for another instance's service is labelled with its peer in the
// metrics, not with the service code the client wrote: clients cannot mint
// series without bound.
func TestPeerServicesShareTheirPeersMetricLabel(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	reg := prometheus.NewRegistry()
	m, err := gateway.NewMetrics(reg)
	must(t, err)
	f := federate(t, backend.URL, "VN-DNG/GOV/000.00.00.G07/HOTICH/trich-luc", gateway.REST, gateway.AccessRight{}, func(c *gateway.Config) { c.Metrics = m })
	for i := 0; i < 50; i++ {
		resp := call(t, f.a.srv.URL, "GET", fmt.Sprintf("/r1/VN-DNG/X%d/Y/Z/junk-%d", i, i), "tok-client", nil)
		readAll(t, resp)
		if resp.StatusCode != 404 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	mfs, err := reg.Gather()
	must(t, err)
	labels := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "congso_gateway_request_duration_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "service" {
					labels[l.GetValue()] = true
				}
			}
		}
	}
	if len(labels) != 1 || !labels[gateway.PeerPrefix+"VN-DNG"] {
		t.Fatalf("50 calls for services of VN-DNG made the series %v on A; want peer:VN-DNG alone", labels)
	}
}

// The REST metadata services of a peer instance's provider go to the peer,
// as in the SOAP profile (this gateway knows none of its services).
func TestRemoteRESTMetadataServicesAreForwarded(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	const p = "VN-DNG/GOV/000.00.00.G07/HOTICH"
	f := federate(t, backend.URL, p+"/trich-luc", gateway.REST, gateway.AccessRight{}, nil)
	// B itself answers listMethods for a VN-HUE client presented by A's certificate.
	direct := tlsClient(f.ca, &f.certA)
	req, _ := http.NewRequest("GET", f.srvB.URL+"/r1/"+p+"/listMethods", nil)
	req.Header.Set(gateway.HeaderClient, client)
	r2, err := direct.Do(req)
	must(t, err)
	if b := readAll(t, r2); r2.StatusCode != 200 || !strings.Contains(b, "trich-luc") {
		t.Fatalf("B directly: %d %s", r2.StatusCode, b)
	}
	for _, code := range []string{"listMethods", "allowedMethods"} {
		resp := call(t, f.a.srv.URL, "GET", "/r1/"+p+"/"+code, "tok-client", nil)
		if b := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(b, "trich-luc") {
			t.Errorf("%s of a peer's provider through A: %d %s, want B's list", code, resp.StatusCode, b)
		}
	}
	// (B holds no description of trich-luc: A passes on B's answer)
	req, _ = http.NewRequest("GET", f.srvB.URL+"/r1/"+p+"/getOpenAPI?serviceCode=trich-luc", nil)
	req.Header.Set(gateway.HeaderClient, client)
	r3, err := direct.Do(req)
	must(t, err)
	want := readAll(t, r3)
	resp := call(t, f.a.srv.URL, "GET", "/r1/"+p+"/getOpenAPI?serviceCode=trich-luc", "tok-client", nil)
	if b := readAll(t, resp); resp.StatusCode != r3.StatusCode || strings.Contains(b, "no subsystem") {
		t.Errorf("getOpenAPI through A: %d %s; B answers %d %s", resp.StatusCode, b, r3.StatusCode, want)
	}
}

// X-Road-UserId, X-Road-Issue and X-Road-Id are printable: no C1 control
// (NEL U+0085 breaks a Latin-1 reader's line), line or paragraph
// separator, or bidi override, before they reach the log and the backend.
func TestXRoadHeaderValuesArePrintable(t *testing.T) {
	var seen string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get(gateway.HeaderUserID)
		w.Write([]byte("ok"))
	}))
	defer backend.Close()
	n := startNode(t, sqliteDB(t), nodeOpts{})
	seed(t, n.mgr, backend.URL)
	for _, v := range []string{"VN001\u0085admin=1", "VN001\u2028forged line", "VN001\u202egnp.exe", "VN001\u009b31m"} {
		resp := call(t, n.srv.URL, "GET", "/r1/"+svcID, "tok-client", nil, gateway.HeaderUserID, v)
		readAll(t, resp)
		if resp.StatusCode != 400 {
			t.Errorf("X-Road-UserId %q: %d, backend saw %q", v, resp.StatusCode, seen)
		}
	}
}

// A certificate registered by mistake as peer:<this instance> cannot act as
// this instance's subsystems (registered or not).
func TestPeerCertificateOfThisInstanceIsRefused(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Header.Get(gateway.HeaderClient)))
	}))
	defer backend.Close()
	ca := newCA(t)
	now := time.Now()
	n := startNode(t, sqliteDB(t), nodeOpts{cfg: func(c *gateway.Config) { c.ClientCAs = ca.pool }})
	seed(t, n.mgr, backend.URL)
	cert := ca.issue(t, "some system", now.Add(-time.Hour), now.Add(time.Hour))
	err := n.mgr.PutCertificate(context.Background(), "admin", gateway.Certificate{Fingerprint: gateway.Fingerprint(cert.Leaf), Owner: gateway.PeerPrefix + "VN-HUE", NotAfter: cert.Leaf.NotAfter})
	if err != nil {
		return // refused at registration: fine
	}
	srv := serveGateway(t, n.rt, gateway.ServerTLSConfig(ca.issue(t, "gateway", now.Add(-time.Hour), now.Add(time.Hour))))
	defer srv.Close()
	for _, as := range []string{client, "VN-HUE/GOV/999/NOT-REGISTERED"} {
		req, _ := http.NewRequest("GET", srv.URL+"/r1/"+svcID, nil)
		req.Header.Set(gateway.HeaderClient, as)
		resp, err := tlsClient(ca, &cert).Do(req)
		must(t, err)
		b := readAll(t, resp)
		if resp.StatusCode != 401 && resp.StatusCode != 403 {
			t.Errorf("a peer:VN-HUE certificate on the VN-HUE gateway called as %s: %d %s", as, resp.StatusCode, b)
		}
		req, _ = http.NewRequest("GET", srv.URL+"/listClients", nil)
		req.Header.Set(gateway.HeaderClient, as)
		resp, err = tlsClient(ca, &cert).Do(req)
		must(t, err)
		b = readAll(t, resp)
		if resp.StatusCode == 200 && as != client {
			t.Errorf("listClients as unregistered %s: %d", as, resp.StatusCode)
		}
	}
}

// errPeer sets an X-Road-Error of its choosing on every answer of the peer.
type errPeer struct {
	next http.RoundTripper
	val  string
}

func (p *errPeer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(r)
	if err == nil {
		resp.Header.Set(gateway.HeaderError, p.val)
	}
	return resp, err
}

// A peer's X-Road-Error counts only when it is a known category on an
// error answer: a made-up string (here 4 KiB, on a 200) is neither sent
// on, nor logged, nor a metric label.
func TestPeerErrorCategoryMustBeKnown(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	ep := &errPeer{val: "Forged." + strings.Repeat("x", 4096)}
	const svc = "VN-DNG/GOV/000.00.00.G07/HOTICH/trich-luc"
	f := federate(t, backend.URL, svc, gateway.REST, gateway.AccessRight{}, func(c *gateway.Config) { ep.next, c.PeerTransport = c.PeerTransport, ep })
	resp := call(t, f.a.srv.URL, "GET", "/r1/"+svc, "tok-client", nil)
	if b := readAll(t, resp); resp.StatusCode != 200 || b != "ok" || resp.Header.Get(gateway.HeaderError) != "" {
		t.Fatalf("the peer's 200 with a made-up category: %d %q, X-Road-Error %.40q", resp.StatusCode, b, resp.Header.Get(gateway.HeaderError))
	}
	rec, ok := waitRecord(t, f.dbA, resp.Header.Get(gateway.HeaderRequestID))
	if !ok || rec.ErrorType != "" || rec.Status != 200 {
		t.Fatalf("logged as %+v (found %v)", rec, ok)
	}
}
