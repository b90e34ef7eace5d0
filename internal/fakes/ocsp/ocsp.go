// Package ocsp is a fake OCSP responder (RFC 6960) for tests and demos: a
// separate HTTP server answering certificate status requests for the
// certificates of one CA, the way a certificate authority's responder
// does (the government CA, or a licensed public CA), so that the gateway's
// check of client certificates can be tested without a real CA.
//
// Protocol (RFC 6960 appendix A):
//
//	POST /   Content-Type: application/ocsp-request   <DER OCSPRequest>
//	200      Content-Type: application/ocsp-response  <DER OCSPResponse>
//
// The response is signed by the CA itself, is valid for an hour
// (nextUpdate), and says good, or revoked with the time and reason set by
// Revoke. A malformed request gets the "malformedRequest" response.
//
// Control: Revoke(serial), Fail(n) (the next n requests answer 503; n < 0:
// until Recover), Requests() (how many were answered).
package ocsp

import (
	"crypto"
	"crypto/x509"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// Responder is the fake OCSP responder of one CA; it is an http.Handler.
type Responder struct {
	ca  *x509.Certificate
	key crypto.Signer
	// Now is the responder's clock (time.Now).
	Now func() time.Time

	mu       sync.Mutex
	revoked  map[string]time.Time
	fail     int
	requests int
}

// New returns a responder signing with the CA's own key.
func New(ca *x509.Certificate, key crypto.Signer) *Responder {
	return &Responder{ca: ca, key: key, Now: time.Now, revoked: map[string]time.Time{}}
}

// Revoke marks the certificate with serial as revoked from now on.
func (o *Responder) Revoke(serial *big.Int) {
	o.mu.Lock()
	o.revoked[serial.String()] = o.Now()
	o.mu.Unlock()
}

// Fail makes the next n requests fail with 503 (n < 0: until Recover).
func (o *Responder) Fail(n int) {
	o.mu.Lock()
	o.fail = n
	o.mu.Unlock()
}

// Recover stops failing.
func (o *Responder) Recover() { o.Fail(0) }

// Requests returns how many status requests were answered.
func (o *Responder) Requests() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests
}

// ServeHTTP answers an OCSP request sent by POST.
func (o *Responder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an OCSPRequest", http.StatusMethodNotAllowed)
		return
	}
	o.mu.Lock()
	if o.fail != 0 {
		if o.fail > 0 {
			o.fail--
		}
		o.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	o.mu.Unlock()
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<10))
	if err != nil {
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	req, err := xocsp.ParseRequest(body)
	if err != nil {
		w.Write(xocsp.MalformedRequestErrorResponse)
		return
	}
	now := o.Now().UTC().Truncate(time.Second)
	tmpl := xocsp.Response{Status: xocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
	o.mu.Lock()
	if at, ok := o.revoked[req.SerialNumber.String()]; ok {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = xocsp.Revoked, at.UTC().Truncate(time.Second), xocsp.KeyCompromise
	}
	o.requests++
	o.mu.Unlock()
	resp, err := xocsp.CreateResponse(o.ca, o.ca, tmpl, o.key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Write(resp)
}
