package gateway_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fakecrl "github.com/congso/congso/internal/fakes/crl"
	"github.com/congso/congso/internal/gateway"
)

// issueCRL is issueClient with the CA's CRL distribution point named
// (and no OCSP responder).
func (ca *testCA) issueCRL(t testing.TB, cn, point string) tls.Certificate {
	return ca.issueClient(t, cn, func(c *x509.Certificate) { c.CRLDistributionPoints = []string{point} })
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

	open, get := certStatusNode(t, ca, now, backend.URL, certA, certB)

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
	if code, _, _ := get(certA, open); code != 401 {
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
	if code, f, _ := get(certB, open); code != 200 {
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
