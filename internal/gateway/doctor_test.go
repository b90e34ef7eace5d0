package gateway_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
)

func TestDoctorFindsExpiryUnreachablePeersAndSkew(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	soon := ca.issue(t, "gw", now.Add(-time.Hour), now.Add(48*time.Hour))
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	ctx := context.Background()
	must(t, n.mgr.PutMember(ctx, "admin", gateway.Member{ID: cid("VN-HUE/GOV/1"), Name: "x"}))
	must(t, n.mgr.PutSubsystem(ctx, "admin", gateway.Subsystem{ID: cid("VN-HUE/GOV/1/A")}))
	must(t, n.mgr.PutCertificate(ctx, "admin", gateway.Certificate{Fingerprint: strings.Repeat("ab", 32), Owner: "VN-HUE/GOV/1/A", NotAfter: now.Add(-time.Hour)}))
	skewed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat))
	}))
	defer skewed.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	must(t, n.mgr.PutPeer(ctx, "admin", gateway.Peer{Instance: "VN-DNG", URL: skewed.URL}))
	must(t, n.mgr.PutPeer(ctx, "admin", gateway.Peer{Instance: "VN-QNM", URL: gone.URL}))

	// A node that stopped an hour ago.
	_, err := d.Write().ExecContext(ctx, `INSERT INTO gateway_nodes (node, started_at, seen_at, revision) VALUES ('n-old', $1, $1, 1)`, now.Add(-time.Hour).UTC())
	must(t, err)

	checks := gateway.Doctor(ctx, gateway.DoctorConfig{DB: d, Certificate: []*x509.Certificate{soon.Leaf}, Roots: ca.pool, Runtime: n.rt})
	got := map[string]gateway.Health{}
	for _, c := range checks {
		got[c.Name] = c.Health
		t.Logf("%-40s %-4s %s", c.Name, c.Health, c.Detail)
	}
	want := map[string]gateway.Health{
		"gateway certificate": gateway.Warn, "gateway certificate chain": gateway.OK, "database": gateway.OK,
		"certificate of VN-HUE/GOV/1/A": gateway.Fail, "configuration age": gateway.OK,
		"peer VN-DNG": gateway.OK, "clock vs VN-DNG": gateway.Fail, "peer VN-QNM": gateway.Fail, "gateway nodes": gateway.Warn,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	for _, c := range checks {
		if c.Name == "gateway nodes" && !strings.Contains(c.Detail, "not seen lately: n-old (last seen") {
			t.Errorf("gateway nodes: %q", c.Detail)
		}
	}
}

// integration "Operations" (doctor): a peer is OK only if it answers this
// gateway's certificate; one refusing it, or failing, is reported; the
// gateway's certificate must serve as a TLS server and as a client.
func TestDoctorJudgesPeersAnswersAndCertificateUsage(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	f := federate(t, backend.URL, "VN-DNG/GOV/000.00.00.G07/HOTICH/trich-luc", gateway.REST, gateway.AccessRight{}, nil)
	ctx := t.Context()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	defer refusing.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer failing.Close()
	must(t, f.a.mgr.PutPeer(ctx, "admin", gateway.Peer{Instance: "VN-QNM", URL: refusing.URL}))
	must(t, f.a.mgr.PutPeer(ctx, "admin", gateway.Peer{Instance: "VN-HNI", URL: failing.URL}))
	codeSigning := f.ca.issueClient(t, "gateway code signing", func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	})
	peerClient := &http.Client{Transport: gateway.NewTransport(&tls.Config{RootCAs: f.ca.pool, Certificates: []tls.Certificate{f.certA}})}
	for _, c := range []struct {
		cert *x509.Certificate
		want map[string]gateway.Health
	}{
		{f.certA.Leaf, map[string]gateway.Health{"peer VN-DNG": gateway.OK, "peer VN-QNM": gateway.Fail, "peer VN-HNI": gateway.Fail, "gateway certificate chain": gateway.OK}},
		{codeSigning.Leaf, map[string]gateway.Health{"gateway certificate chain": gateway.Fail}},
	} {
		got := map[string]gateway.Check{}
		for _, ch := range gateway.Doctor(ctx, gateway.DoctorConfig{DB: f.dbA, Certificate: []*x509.Certificate{c.cert}, Roots: f.ca.pool, PeerClient: peerClient, Instance: "VN-HUE"}) {
			got[ch.Name] = ch
		}
		for name, h := range c.want {
			if got[name].Health != h {
				t.Errorf("%s: %s %s, want %s", name, got[name].Health, got[name].Detail, h)
			}
		}
	}
}
