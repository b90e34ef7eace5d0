// Package tsa is a fake time-stamp authority for tests and demos: a
// separate HTTP server speaking the RFC 3161 time-stamp protocol over HTTP
// (RFC 3161 §3.4), as the licensed Vietnamese TSAs do, with its own test
// CA, so that the gateway's message log can be time-stamped and verified
// without a real TSA.
//
// Protocol:
//
//	POST /
//	Content-Type: application/timestamp-query
//	<DER TimeStampReq>
//
//	200 Content-Type: application/timestamp-reply
//	<DER TimeStampResp> (status granted, the token signed by the TSA
//	certificate, which is included when the request asks for it)
//
// A malformed request gets a TimeStampResp with status rejection
// (badDataFormat). Failures on demand answer 503 with no body.
//
// Control (for tests and demos against a running fake):
//
//	Fail(n)   fail the next n requests (n < 0: until Recover)
//	Recover() stop failing
//
// Invariants: Issued counts the tokens granted; a failure grants none.
package tsa

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/digitorus/timestamp"
)

// TSA is the fake time-stamp authority; it is an http.Handler.
type TSA struct {
	// Root is the CA certificate that issued the TSA's signing certificate:
	// what a verifier trusts.
	Root *x509.Certificate
	// Cert is the TSA's signing certificate (extended key usage
	// timeStamping, critical).
	Cert *x509.Certificate
	key  crypto.Signer
	// Now is the TSA's clock (time.Now).
	Now func() time.Time

	mu     sync.Mutex
	fail   int
	issued int
}

// New creates a TSA with a fresh CA and signing certificate, valid from an
// hour before now for a year.
func New() (*TSA, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "congso test TSA root", Organization: []string{"congso tests"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	root, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	// RFC 3161 §2.3: the TSA certificate has exactly one extended key
	// usage, timeStamping, marked critical.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "congso test TSA", Organization: []string{"congso tests"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, key.Public(), caKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &TSA{Root: root, Cert: cert, key: key, Now: time.Now}, nil
}

// Fail makes the next n requests fail with 503 (n < 0: until Recover).
func (t *TSA) Fail(n int) {
	t.mu.Lock()
	t.fail = n
	t.mu.Unlock()
}

// Recover stops failing.
func (t *TSA) Recover() { t.Fail(0) }

// Issued returns how many tokens were granted.
func (t *TSA) Issued() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.issued
}

// ServeHTTP answers a time-stamp request.
func (t *TSA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a TimeStampReq", http.StatusMethodNotAllowed)
		return
	}
	t.mu.Lock()
	if t.fail != 0 {
		if t.fail > 0 {
			t.fail--
		}
		t.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	t.mu.Unlock()
	if r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "Content-Type must be application/timestamp-query", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		resp, _ := timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.BadDataFormat)
		w.Write(resp)
		return
	}
	ts := timestamp.Timestamp{
		HashAlgorithm:     req.HashAlgorithm,
		HashedMessage:     req.HashedMessage,
		Time:              t.Now().UTC(),
		Nonce:             req.Nonce,
		Policy:            asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1},
		Accuracy:          time.Second,
		AddTSACertificate: req.Certificates,
	}
	resp, err := ts.CreateResponseWithOpts(t.Cert, t.key, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	t.mu.Lock()
	t.issued++
	t.mu.Unlock()
	w.Write(resp)
}
