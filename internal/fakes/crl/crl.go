// Package crl is a fake CRL distribution point (RFC 5280 §5) for tests and
// demos: a separate HTTP server publishing the certificate revocation list
// of one CA, the way a certificate authority does at the URL its
// certificates name (cRLDistributionPoints), so that the gateway's check of
// client certificates against CRLs can be tested without a real CA.
//
// Protocol: GET any path → 200, Content-Type application/pkix-crl, the DER
// CertificateList signed by the CA, numbered from 1 up, valid for Validity
// (nextUpdate) from when it is served. Revoke adds a certificate to the
// lists served from then on.
//
// Control: Revoke(serial), Fail(n) (the next n requests answer 503; n < 0:
// until Recover), Requests() (how many were answered), and Signer, to make
// the list be signed by another key (a forged list).
package crl

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// Publisher is the fake distribution point of one CA; it is an
// http.Handler.
type Publisher struct {
	ca  *x509.Certificate
	key crypto.Signer
	// Now is the publisher's clock (time.Now).
	Now func() time.Time
	// Validity is how long a served list is valid (nextUpdate; 1 h).
	Validity time.Duration

	mu       sync.Mutex
	revoked  []x509.RevocationListEntry
	number   int64
	fail     int
	requests int
	signer   crypto.Signer
	issuer   *x509.Certificate
}

// New returns a publisher signing with the CA's own key.
func New(ca *x509.Certificate, key crypto.Signer) *Publisher {
	return &Publisher{ca: ca, key: key, Now: time.Now, Validity: time.Hour}
}

// Revoke lists the certificate with serial as revoked from now on.
func (p *Publisher) Revoke(serial *big.Int) {
	p.mu.Lock()
	p.revoked = append(p.revoked, x509.RevocationListEntry{SerialNumber: serial, RevocationTime: p.Now().UTC(), ReasonCode: 1})
	p.mu.Unlock()
}

// Fail makes the next n requests fail with 503 (n < 0: until Recover).
func (p *Publisher) Fail(n int) {
	p.mu.Lock()
	p.fail = n
	p.mu.Unlock()
}

// Recover ends Fail.
func (p *Publisher) Recover() { p.Fail(0) }

// Forge makes the lists be signed by key as if by issuer (nil: the CA
// again): a list the gateway must not believe.
func (p *Publisher) Forge(issuer *x509.Certificate, key crypto.Signer) {
	p.mu.Lock()
	p.issuer, p.signer = issuer, key
	p.mu.Unlock()
}

// Requests returns how many lists were served.
func (p *Publisher) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// ServeHTTP serves the current list.
func (p *Publisher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	if p.fail != 0 {
		if p.fail > 0 {
			p.fail--
		}
		p.mu.Unlock()
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	p.requests++
	p.number++
	now := p.Now().UTC()
	tpl := &x509.RevocationList{Number: big.NewInt(p.number), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(p.Validity),
		RevokedCertificateEntries: append([]x509.RevocationListEntry(nil), p.revoked...)}
	issuer, key := p.ca, p.key
	if p.signer != nil {
		issuer, key = p.issuer, p.signer
	}
	p.mu.Unlock()
	der, err := x509.CreateRevocationList(rand.Reader, tpl, issuer, key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Write(der)
}
