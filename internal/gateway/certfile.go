package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// CertFile holds the gateway's own certificate and key, read from two PEM
// files, and reads them again when they change, so that a renewed
// certificate is served without a restart: new connections, in both
// directions (the gateway's listener and its calls to peer gateways), use
// the new one; connections already open keep the one they began with.
// A pair that does not load (a half-written file, a key of another
// certificate), or a certificate not valid now, is refused and the one in
// use stays. Safe for concurrent
// use.
type CertFile struct {
	certPath, keyPath string
	cur               atomic.Pointer[tls.Certificate]
	mu                sync.Mutex // one reload at a time
	certPEM, keyPEM   []byte     // what cur was made from
}

// LoadCertFile reads the certificate chain (leaf first) and its key.
func LoadCertFile(certPath, keyPath string) (*CertFile, error) {
	c := &CertFile{certPath: certPath, keyPath: keyPath}
	if _, err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Certificate returns the certificate in use, its Leaf set.
func (c *CertFile) Certificate() *tls.Certificate { return c.cur.Load() }

// Reload reads the files and, if they hold another valid pair, puts it in
// use; it reports whether it did. On an error the certificate in use stays.
func (c *CertFile) Reload() (changed bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	certPEM, err := os.ReadFile(c.certPath)
	if err != nil {
		return false, fmt.Errorf("gateway certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(c.keyPath)
	if err != nil {
		return false, fmt.Errorf("gateway certificate key: %w", err)
	}
	if c.cur.Load() != nil && bytes.Equal(certPEM, c.certPEM) && bytes.Equal(keyPEM, c.keyPEM) {
		return false, nil
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, fmt.Errorf("gateway certificate %s with key %s: %w", c.certPath, c.keyPath, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return false, fmt.Errorf("gateway certificate %s: %w", c.certPath, err)
		}
	}
	if now := time.Now(); c.cur.Load() != nil && (now.Before(cert.Leaf.NotBefore) || now.After(cert.Leaf.NotAfter)) {
		// An old backup put back by mistake, or a renewal not valid yet:
		// the certificate in use stays (doctor reports its own expiry).
		return false, fmt.Errorf("gateway certificate %s is not valid now (%s – %s)", c.certPath,
			cert.Leaf.NotBefore.UTC().Format(time.RFC3339), cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	c.cur.Store(&cert)
	c.certPEM, c.keyPEM = certPEM, keyPEM
	return true, nil
}

// ServerConfig returns the TLS configuration of the gateway's listener:
// client certificates requested (the runtime checks them), TLS 1.2 or
// later, the certificate in use.
func (c *CertFile) ServerConfig() *tls.Config {
	cfg := serverTLS()
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.Certificate(), nil }
	return cfg
}

// ClientConfig returns the TLS configuration for calls to peer gateways:
// the certificate in use, servers verified against roots.
func (c *CertFile) ClientConfig(roots *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c.Certificate(), nil }}
}

// Watch reloads the files every interval until ctx ends, logging each
// change and each failure (once per distinct error).
func (c *CertFile) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := c.Reload()
		switch {
		case err != nil:
			if err.Error() != last {
				log.Error("gateway: the certificate files do not load; the certificate in use stays", "err", err,
					"in_use_until", c.Certificate().Leaf.NotAfter)
			}
			last = err.Error()
		case changed:
			last = ""
			leaf := c.Certificate().Leaf
			log.Info("gateway: certificate reloaded", "subject", leaf.Subject.String(), "not_after", leaf.NotAfter,
				"fingerprint", Fingerprint(leaf))
		default:
			last = ""
		}
	}
}
