package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
)

// writePair writes cert's chain and key as PEM files.
func writePair(t *testing.T, certPath, keyPath string, cert tls.Certificate) {
	t.Helper()
	var c bytes.Buffer
	for _, der := range cert.Certificate {
		must(t, pem.Encode(&c, &pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	k, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	must(t, err)
	must(t, os.WriteFile(certPath, c.Bytes(), 0o600))
	must(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}), 0o600))
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// integration "Operations" (integration.md: doctor, certificates): a
// renewed gateway certificate is served, and presented to peers, without
// a restart; a pair that does not load leaves the one in use.
func TestCertificateRenewedWithoutRestart(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	old := ca.issue(t, "gateway VN-HUE 2026", now.Add(-time.Hour), now.Add(time.Hour))
	renewed := ca.issue(t, "gateway VN-HUE 2027", now.Add(-time.Hour), now.Add(48*time.Hour))
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "gw.crt"), filepath.Join(dir, "gw.key")
	writePair(t, certPath, keyPath, old)
	cf, err := gateway.LoadCertFile(certPath, keyPath)
	must(t, err)

	// The gateway's listener, and a peer that records the certificate the
	// gateway presents as a client.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go srv.Serve(tls.NewListener(ln, cf.ServerConfig()))
	defer srv.Close()
	srvURL := "https://" + ln.Addr().String()
	var mu sync.Mutex
	presented := ""
	peer := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		presented = r.TLS.PeerCertificates[0].Subject.CommonName
		mu.Unlock()
	}))
	peer.TLS = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, "peer", now.Add(-time.Hour), now.Add(time.Hour))},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool}
	peer.StartTLS()
	defer peer.Close()
	served := func() string { // a new connection each time
		t.Helper()
		c := tlsClient(ca, nil)
		resp, err := c.Get(srvURL)
		must(t, err)
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	toPeer := func() string {
		t.Helper()
		c := &http.Client{Transport: gateway.NewTransport(cf.ClientConfig(ca.pool))}
		resp, err := c.Get(peer.URL)
		must(t, err)
		resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		return presented
	}
	if s, p := served(), toPeer(); s != "gateway VN-HUE 2026" || p != s {
		t.Fatalf("served %q, presented %q", s, p)
	}
	if changed, err := cf.Reload(); changed || err != nil {
		t.Fatalf("unchanged files: changed %v, %v", changed, err)
	}

	// Broken pairs: the renewed certificate with the old key, half a file.
	renewedWithOldKey := renewed
	renewedWithOldKey.PrivateKey = old.PrivateKey
	writePair(t, certPath, keyPath, renewedWithOldKey)
	if changed, err := cf.Reload(); changed || err == nil {
		t.Fatalf("a certificate with another's key: changed %v, %v", changed, err)
	}
	expired := ca.issue(t, "gateway VN-HUE 2025", now.Add(-48*time.Hour), now.Add(-time.Hour))
	writePair(t, certPath, keyPath, expired)
	if changed, err := cf.Reload(); changed || err == nil {
		t.Fatalf("an expired certificate: changed %v, %v", changed, err)
	}
	writePair(t, certPath, keyPath, renewed)
	b, err := os.ReadFile(certPath)
	must(t, err)
	must(t, os.WriteFile(certPath, b[:len(b)/2], 0o600))
	if changed, err := cf.Reload(); changed || err == nil {
		t.Fatalf("half a certificate file: changed %v, %v", changed, err)
	}
	if s, p := served(), toPeer(); s != "gateway VN-HUE 2026" || p != s {
		t.Fatalf("after failed reloads: served %q, presented %q", s, p)
	}

	// The renewed pair, picked up by Watch.
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { cf.Watch(ctx, 10*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil))); close(done) }()
	defer func() { cancel(); <-done }()
	writePair(t, certPath, keyPath, renewed)
	for deadline := time.Now().Add(5 * time.Second); cf.Certificate().Leaf.Subject.CommonName != "gateway VN-HUE 2027"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not reloaded; log:\n%s", logs.String())
		}
	}
	if s, p := served(), toPeer(); s != "gateway VN-HUE 2027" || p != s {
		t.Fatalf("after the renewal: served %q, presented %q", s, p)
	}
	if !strings.Contains(logs.String(), "certificate reloaded") {
		t.Fatalf("log:\n%s", logs.String())
	}
}
