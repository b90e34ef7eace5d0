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
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
)

// testCA issues certificates for tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t testing.TB) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	must(t, err)
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &testCA{cert: c, key: key, pool: pool}
}

var serial int64 = 10

// issue returns a certificate for cn valid from nb to na, usable as client
// and server (127.0.0.1).
func (ca *testCA) issue(t testing.TB, cn string, nb, na time.Time) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, NotBefore: nb, NotAfter: na,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &key.PublicKey, ca.key)
	must(t, err)
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func tlsClient(ca *testCA, cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: ca.pool}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

// integration: systems authenticate with mTLS certificates (requirements "Wire and identity model").
func TestMutualTLSMapsCertificateToSubsystem(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Header.Get(gateway.HeaderClient)))
	}))
	defer backend.Close()
	ca := newCA(t)
	now := time.Now()
	good := ca.issue(t, "motcua", now.Add(-time.Hour), now.Add(time.Hour))
	expired := ca.issue(t, "old", now.Add(-48*time.Hour), now.Add(-time.Hour))
	unknown := ca.issue(t, "stranger", now.Add(-time.Hour), now.Add(time.Hour))
	rogueCA := newCA(t)
	rogue := rogueCA.issue(t, "motcua", now.Add(-time.Hour), now.Add(time.Hour))
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{cfg: func(c *gateway.Config) { c.ClientCAs = ca.pool }})
	seed(t, n.mgr, backend.URL)
	ctx := context.Background()
	for _, c := range []tls.Certificate{good, expired, rogue} {
		must(t, n.mgr.PutCertificate(ctx, "admin", gateway.Certificate{Fingerprint: gateway.Fingerprint(c.Leaf), Owner: client, Subject: c.Leaf.Subject.String(), NotAfter: c.Leaf.NotAfter}))
	}
	srv := serveGateway(t, n.rt, gateway.ServerTLSConfig(ca.issue(t, "gateway", now.Add(-time.Hour), now.Add(time.Hour))))
	defer srv.Close()

	cases := []struct {
		name   string
		cert   *tls.Certificate
		hdr    string
		status int
		fault  string
	}{
		{"registered certificate", &good, "", 200, ""},
		{"registered certificate and matching header", &good, client, 200, ""},
		{"header claims another subsystem", &good, other, 401, gateway.FaultAuthentication},
		{"expired certificate", &expired, "", 401, gateway.FaultAuthentication},
		{"unregistered certificate", &unknown, "", 401, gateway.FaultAuthentication},
		{"certificate from another CA", &rogue, "", 401, gateway.FaultAuthentication},
		{"no certificate", nil, client, 401, gateway.FaultAuthentication},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/r1/"+svcID, nil)
			if c.hdr != "" {
				req.Header.Set(gateway.HeaderClient, c.hdr)
			}
			resp, err := tlsClient(ca, c.cert).Do(req)
			must(t, err)
			b := readAll(t, resp)
			if resp.StatusCode != c.status || resp.Header.Get(gateway.HeaderError) != c.fault {
				t.Fatalf("got %d %q, want %d %q: %s", resp.StatusCode, resp.Header.Get(gateway.HeaderError), c.status, c.fault, b)
			}
			if c.status == 200 && b != client {
				t.Errorf("backend saw client %q", b)
			}
		})
	}
}
