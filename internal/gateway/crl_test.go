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

	fakecrl "github.com/congso/congso/internal/fakes/crl"
	"github.com/congso/congso/internal/gateway"
)

// issueCRL is issue with the CA's CRL distribution point named in the
// certificate (and no OCSP responder).
func (ca *testCA) issueCRL(t testing.TB, cn, point string) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(20 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		CRLDistributionPoints: []string{point}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &key.PublicKey, ca.key)
	must(t, err)
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// integration: a client certificate whose CA publishes a revocation list
// (and no OCSP responder) is refused once the list names it; a list that
// is forged or cannot be had leaves the status unknown, and the service's
// fail policy decides.
func TestClientCertificateStatusCRL(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	ca := newCA(t)
	pub := fakecrl.New(ca.cert, ca.key)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	pub.Now = now
	psrv := httptest.NewServer(pub)
	defer psrv.Close()
	certA := ca.issueCRL(t, "motcua-a", psrv.URL+"/ca.crl")
	certB := ca.issueCRL(t, "motcua-b", psrv.URL+"/ca.crl")

	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{now: now, cfg: func(c *gateway.Config) { c.ClientCAs = ca.pool }})
	seed(t, n.mgr, backend.URL)
	ctx := context.Background()
	for _, c := range []tls.Certificate{certA, certB} {
		must(t, n.mgr.PutCertificate(ctx, "admin", gateway.Certificate{Fingerprint: gateway.Fingerprint(c.Leaf), Owner: client, Subject: c.Leaf.Subject.String(), NotAfter: c.Leaf.NotAfter}))
	}
	open := sid(provider + "/tra-cuu")
	must(t, n.mgr.PutService(ctx, "admin", gateway.Service{ID: open, Title: "Tra cứu", FailPolicy: gateway.FailOpen}))
	must(t, n.mgr.PutVersion(ctx, "admin", sid(open.String()+"/v1"), gateway.Version{BackendURL: backend.URL}))
	must(t, n.mgr.SetStatus(ctx, "admin", sid(open.String()+"/v1"), gateway.Published, nil))
	_, err := n.mgr.Grant(ctx, "admin", gateway.AccessRight{Client: client, Service: open, LegalBasis: "test"})
	must(t, err)
	srv := serveGateway(t, n.rt, gateway.ServerTLSConfig(ca.issue(t, "gateway", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))))
	defer srv.Close()
	get := func(cert tls.Certificate, svc string) (int, string, string) {
		req, _ := http.NewRequest("GET", srv.URL+"/r1/"+svc+"/x", nil)
		resp, err := tlsClient(ca, &cert).Do(req)
		must(t, err)
		body := readAll(t, resp)
		return resp.StatusCode, resp.Header.Get(gateway.HeaderError), body
	}

	if code, f, body := get(certA, svcID); code != 200 {
		t.Fatalf("good certificate: %d %s %s", code, f, body)
	}
	get(certB, svcID)
	if pub.Requests() != 1 {
		t.Fatalf("lists fetched = %d, want 1 (one list serves every certificate of the CA, and is kept)", pub.Requests())
	}

	// The CA revokes certificate A; once the kept list is stale the
	// gateway fetches it again and refuses the certificate, for every
	// service.
	pub.Revoke(certA.Leaf.SerialNumber)
	if code, _, _ := get(certA, svcID); code != 200 {
		t.Fatalf("revoked but the kept list is still fresh: %d", code)
	}
	offset.Store(int64(11 * time.Minute))
	if code, f, body := get(certA, svcID); code != 401 || f != gateway.FaultAuthentication || !strings.Contains(body, "revoked") {
		t.Fatalf("revoked certificate: %d %s %s", code, f, body)
	}
	if code, _, _ := get(certA, open.String()); code != 401 {
		t.Fatalf("revoked certificate, fail-open service: %d", code)
	}
	if code, _, _ := get(certB, svcID); code != 200 {
		t.Fatalf("certificate B, not revoked: %d", code)
	}

	// The point is down and the kept list expires (nextUpdate, 1 h): the
	// status is unknown.
	pub.Fail(-1)
	offset.Store(int64(75 * time.Minute))
	if code, f, _ := get(certB, svcID); code != http.StatusServiceUnavailable || f != gateway.FaultCertStatus {
		t.Fatalf("no current list, fail-closed service: %d %s", code, f)
	}
	if code, f, _ := get(certB, open.String()); code != 200 {
		t.Fatalf("no current list, fail-open service: %d %s", code, f)
	}

	// A list signed by another key under the CA's name is not believed.
	rogue := newCA(t)
	pub.Recover()
	pub.Forge(rogue.cert, rogue.key)
	offset.Store(int64(80 * time.Minute))
	if code, f, _ := get(certB, svcID); code != http.StatusServiceUnavailable || f != gateway.FaultCertStatus {
		t.Fatalf("forged list, fail-closed service: %d %s", code, f)
	}
	pub.Forge(nil, nil)
	offset.Store(int64(81 * time.Minute)) // past the retry pause
	if code, f, body := get(certB, svcID); code != 200 {
		t.Fatalf("after a genuine list came back: %d %s %s", code, f, body)
	}
	if code, _, _ := get(certA, svcID); code != 401 {
		t.Fatalf("revoked certificate after the list came back: %d", code)
	}
}
