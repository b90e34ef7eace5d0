package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fakeocsp "github.com/congso/congso/internal/fakes/ocsp"
	"github.com/congso/congso/internal/gateway"
)

// issueClient returns a client certificate for cn, valid for 20 hours,
// shaped by with (the CA's OCSP responder or CRL distribution point).
func (ca *testCA) issueClient(t testing.TB, cn string, with func(*x509.Certificate)) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(20 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	with(tpl)
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &key.PublicKey, ca.key)
	must(t, err)
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// issueOCSP is issueClient with the CA's OCSP responder named.
func (ca *testCA) issueOCSP(t testing.TB, cn, responder string) tls.Certificate {
	return ca.issueClient(t, cn, func(c *x509.Certificate) { c.OCSPServer = []string{responder} })
}

// certStatusNode starts a node behind TLS that takes client certificates
// of ca, with certs registered to client, the fail-closed svcID and a
// fail-open service (returned) on backend; get calls svc with cert and
// returns the status, the X-Road-Error and the body.
func certStatusNode(t *testing.T, ca *testCA, now func() time.Time, backend string, certs ...tls.Certificate) (open string, get func(cert tls.Certificate, svc string) (int, string, string)) {
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{now: now, cfg: func(c *gateway.Config) { c.ClientCAs = ca.pool }})
	seed(t, n.mgr, backend)
	ctx := context.Background()
	for _, c := range certs {
		must(t, n.mgr.PutCertificate(ctx, "admin", gateway.Certificate{Fingerprint: gateway.Fingerprint(c.Leaf), Owner: client, Subject: c.Leaf.Subject.String(), NotAfter: c.Leaf.NotAfter}))
	}
	svc := sid(provider + "/tra-cuu")
	must(t, n.mgr.PutService(ctx, "admin", gateway.Service{ID: svc, Title: "Tra cứu", FailPolicy: gateway.FailOpen}))
	must(t, n.mgr.PutVersion(ctx, "admin", sid(svc.String()+"/v1"), gateway.Version{BackendURL: backend}))
	must(t, n.mgr.SetStatus(ctx, "admin", sid(svc.String()+"/v1"), gateway.Published, nil))
	_, err := n.mgr.Grant(ctx, "admin", gateway.AccessRight{Client: client, Service: svc, LegalBasis: "test"})
	must(t, err)
	srv := serveGateway(t, n.rt, gateway.ServerTLSConfig(ca.issue(t, "gateway", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))))
	t.Cleanup(srv.Close)
	return svc.String(), func(cert tls.Certificate, svc string) (int, string, string) {
		path := "/r1/" + svc + "/x"
		if strings.HasPrefix(svc, "/") { // a path of its own (metadata services)
			path = svc
		}
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		resp, err := tlsClient(ca, &cert).Do(req)
		must(t, err)
		body := readAll(t, resp)
		return resp.StatusCode, resp.Header.Get(gateway.HeaderError), body
	}
}

// integration: a client certificate revoked by its CA is refused once the
// gateway learns it (OCSP); when the status cannot be had, the per-service
// policy decides: fail-closed refuses, fail-open lets the call through.
func TestClientCertificateStatusOCSP(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	ca := newCA(t)
	responder := fakeocsp.New(ca.cert, ca.key)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	responder.Now = now
	rsrv := httptest.NewServer(responder)
	defer rsrv.Close()
	certA := ca.issueOCSP(t, "motcua-a", rsrv.URL)
	certB := ca.issueOCSP(t, "motcua-b", rsrv.URL)

	open, get := certStatusNode(t, ca, now, backend.URL, certA, certB)

	if code, f, body := get(certA, svcID); code != 200 {
		t.Fatalf("good certificate: %d %s %s", code, f, body)
	}
	get(certA, svcID)
	if responder.Requests() != 1 {
		t.Fatalf("OCSP requests = %d, want 1 (a good answer is kept)", responder.Requests())
	}

	// The CA revokes certificate A; once the kept answer is stale the
	// gateway asks again and refuses the certificate.
	responder.Revoke(certA.Leaf.SerialNumber)
	offset.Store(int64(11 * time.Minute))
	if code, f, body := get(certA, svcID); code != 401 || f != gateway.FaultAuthentication || !strings.Contains(body, "revoked") {
		t.Fatalf("revoked certificate: %d %s %s", code, f, body)
	}

	// The responder is down and certificate B was never checked: its
	// status is unknown.
	responder.Fail(-1)
	if code, f, _ := get(certB, svcID); code != http.StatusServiceUnavailable || f != gateway.FaultCertStatus {
		t.Fatalf("unknown status, fail-closed service: %d %s", code, f)
	}
	if code, f, _ := get(certB, open); code != 200 {
		t.Fatalf("unknown status, fail-open service: %d %s", code, f)
	}
	// A revoked certificate stays refused while the responder is down.
	if code, _, _ := get(certA, open); code != 401 {
		t.Fatalf("revoked certificate while the responder is down: %d", code)
	}
	responder.Recover()
	offset.Store(int64(12 * time.Minute)) // past the retry pause
	if code, f, body := get(certB, svcID); code != 200 {
		t.Fatalf("after the responder recovered: %d %s %s", code, f, body)
	}
}
