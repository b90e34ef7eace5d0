package h1

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"
)

// testPKI is a CA with a server and a client certificate, made for one
// test.
type testPKI struct {
	pool           *x509.CertPool
	server, client tls.Certificate
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips ...net.IP) tls.Certificate {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	p := &testPKI{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.server = issue(2, "gateway", x509.ExtKeyUsageServerAuth, net.IPv4(127, 0, 0, 1))
	p.client = issue(3, "VN:GOV/000.00.00.H01/agency-a", x509.ExtKeyUsageClientAuth)
	return p
}

// TestTLS: over TLS with client certificates required, the handler sees
// the verified chain in r.TLS.
func TestTLS(t *testing.T) {
	pki := newPKI(t)
	serverConfig := &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pki.pool,
		NextProtos:   []string{"http/1.1"},
	}
	ts := startServerOn(t, tls.NewListener(mustListen(t), serverConfig), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || len(r.TLS.VerifiedChains) == 0 {
			http.Error(w, "no client certificate", 500)
			return
		}
		io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName+" "+r.TLS.NegotiatedProtocol)
	}), func(s *Server) { s.ReadHeaderTimeout = 5 * time.Second })

	get := func(cfg *tls.Config) (string, error) {
		cfg.NextProtos = []string{"http/1.1"}
		tr := &http.Transport{TLSClientConfig: cfg}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		var body string
		for i := 0; i < 2; i++ { // twice: on a kept-alive connection
			resp, err := cl.Get("https://" + ts.addr + "/")
			if err != nil {
				return "", err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
		}
		return body, nil
	}
	body, err := get(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}})
	if err != nil || body != "VN:GOV/000.00.00.H01/agency-a http/1.1" {
		t.Errorf("with a client certificate: %q %v", body, err)
	}
	if _, err := get(&tls.Config{RootCAs: pki.pool}); err == nil {
		t.Error("served a client without a certificate")
	}
	if _, err := get(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.server}}); err == nil {
		t.Error("served a client with a server-only certificate")
	}

	t.Run("h2 offered by mistake", func(t *testing.T) {
		cfg := serverConfig.Clone()
		cfg.NextProtos = []string{"h2", "http/1.1"}
		ts := startServerOn(t, tls.NewListener(mustListen(t), cfg), echo)
		c, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
		if n, err := c.Read(make([]byte, 100)); err == nil {
			t.Errorf("answered an h2 client with %d bytes", n)
		}
	})

	t.Run("Shutdown does not wait for a handshake", func(t *testing.T) {
		ts := startServerOn(t, tls.NewListener(mustListen(t), serverConfig), echo,
			func(s *Server) { s.ReadHeaderTimeout = time.Minute })
		c := dial(t, ts.addr) // TCP only: the handshake never starts
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		// The connection may not be accepted yet: wait until it is.
		for ts.connCount() == 0 && time.Since(start) < 5*time.Second {
			time.Sleep(time.Millisecond)
		}
		if err := ts.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v after %v", err, time.Since(start))
		}
		c.expectClosed()
	})
}

func (ts *testServer) connCount() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.conns)
}
