package gateway

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Certificate status (OCSP, RFC 6960) of client certificates.
//
// A registered certificate may be revoked by its CA before it expires (a
// lost token, a key compromise); removing it from the registry is the
// gateway's own way, OCSP is the CA's. When a client certificate names an
// OCSP responder (its Authority Information Access), the gateway asks it
// for the certificate's status, checks the answer's signature (the issuer
// or a responder it delegated to) and its validity window, and keeps a
// good answer for at most ocspFresh (or until its nextUpdate, if sooner):
// a revocation takes effect within that time. A revoked certificate is
// refused (401, Server.ClientProxy.SslAuthenticationFailed) from then on.
//
// When no answer can be had (the responder is down, or answers badly) and
// the last good answer is past its nextUpdate, the status is unchecked:
// fail-closed services refuse the call (503, Server.ClientProxy.
// CertStatusUnknown), fail-open ones let it through, and the failure is
// logged. A certificate that names no responder but CRL distribution
// points is checked against its CA's list instead (crl.go). Config.OCSP
// chooses the mode: "auto" (check the certificates that name a responder
// or a list; the default), "required" (a certificate naming neither is
// unchecked too), "off".

// FaultCertStatus: the status of the client's certificate cannot be
// checked now and the service is fail-closed.
const FaultCertStatus = "Server.ClientProxy.CertStatusUnknown"

const (
	// ocspFresh is how long a good answer is used before asking again.
	ocspFresh = 10 * time.Minute
	// ocspRetry is how long after a failed request the responder is
	// asked again (callers meanwhile see the previous state).
	ocspRetry = 10 * time.Second
	// ocspSkew tolerates a responder's clock ahead of ours.
	ocspSkew = 5 * time.Minute
	// ocspMaxAge bounds the age of an answer that gives no nextUpdate
	// (X-Road's default freshness): an old "good" cannot be replayed.
	ocspMaxAge = time.Hour
)

func certStatusFault() *Fault {
	f := fault(http.StatusServiceUnavailable, FaultCertStatus, "the status of the client certificate cannot be checked now (OCSP responder or revocation list unreachable); this service accepts no call it cannot check")
	f.RetryAfter = int(ocspRetry / time.Second)
	return f
}

type ocspEntry struct {
	mu        sync.Mutex // one request at a time per certificate
	good      bool       // the last answer said good
	revoked   bool
	revokedAt time.Time
	freshTill time.Time // ask again after this
	validTill time.Time // the last good answer's nextUpdate
	retryAt   time.Time // after a failure, not before this
	lastErr   error
}

type ocspChecker struct {
	mode   string
	client *http.Client
	mu     sync.Mutex
	m      map[string]*ocspEntry // leaf fingerprint →
	crl    *crlChecker           // for certificates naming no responder (crl.go)
}

func newOCSPChecker(mode string, client *http.Client) *ocspChecker {
	if mode == "" {
		mode = "auto"
	}
	crlClient := client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
		crlClient = &http.Client{Timeout: 30 * time.Second} // lists run to megabytes
	}
	return &ocspChecker{mode: mode, client: client, m: map[string]*ocspEntry{}, crl: newCRLChecker(crlClient)}
}

// status checks leaf (issued by issuer) at now: a fault when it is
// revoked; unchecked when its status cannot be known now.
func (o *ocspChecker) status(ctx context.Context, leaf, issuer *x509.Certificate, now time.Time) (f *Fault, unchecked bool, err error) {
	if o == nil || o.mode == "off" {
		return nil, false, nil
	}
	if len(leaf.OCSPServer) == 0 || issuer == nil {
		if issuer != nil && len(leaf.CRLDistributionPoints) > 0 {
			return o.crl.status(ctx, leaf, issuer, now)
		}
		return nil, o.mode == "required", nil
	}
	fp := Fingerprint(leaf)
	o.mu.Lock()
	e := o.m[fp]
	if e == nil {
		if len(o.m) > 10000 {
			o.m = map[string]*ocspEntry{}
		}
		e = &ocspEntry{}
		o.m[fp] = e
	}
	o.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.revoked && !now.Before(e.freshTill) && !now.Before(e.retryAt) {
		if err := e.ask(ctx, o.client, leaf, issuer, now); err != nil {
			e.lastErr, e.retryAt = err, now.Add(ocspRetry)
		} else {
			e.lastErr = nil
		}
	}
	switch {
	case e.revoked:
		return fault(http.StatusUnauthorized, FaultAuthentication, "the client certificate was revoked by its authority on "+e.revokedAt.UTC().Format(time.RFC3339)), false, nil
	case e.good && now.Before(e.validTill):
		return nil, false, nil
	default:
		return nil, true, e.lastErr
	}
}

// ask requests the status and records the answer (the caller holds e.mu).
func (e *ocspEntry) ask(ctx context.Context, c *http.Client, leaf, issuer *x509.Certificate, now time.Time) error {
	q, err := ocsp.CreateRequest(leaf, issuer, nil)
	if err != nil {
		return fmt.Errorf("OCSP request: %w", err)
	}
	var last error
	for _, u := range leaf.OCSPServer {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(q))
		if err != nil {
			last = err
			continue
		}
		req.Header.Set("Content-Type", "application/ocsp-request")
		resp, err := c.Do(req)
		if err != nil {
			last = fmt.Errorf("OCSP responder %s unreachable: %w", u, err)
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			last = fmt.Errorf("OCSP responder %s answered %d", u, resp.StatusCode)
			continue
		}
		r, err := ocsp.ParseResponseForCert(body, leaf, issuer)
		if err != nil {
			last = fmt.Errorf("OCSP responder %s: %w", u, err)
			continue
		}
		if err := delegatedResponder(r, issuer, now); err != nil {
			last = fmt.Errorf("OCSP responder %s: %w", u, err)
			continue
		}
		if r.NextUpdate.IsZero() && now.Sub(r.ThisUpdate) > ocspMaxAge {
			last = fmt.Errorf("OCSP responder %s: the answer, without nextUpdate, is older than %s (%s)", u, ocspMaxAge, r.ThisUpdate.UTC().Format(time.RFC3339))
			continue
		}
		if r.ThisUpdate.After(now.Add(ocspSkew)) || !r.NextUpdate.IsZero() && r.NextUpdate.Before(now) {
			last = fmt.Errorf("OCSP responder %s: the answer is outside its validity (%s – %s)", u, r.ThisUpdate.UTC().Format(time.RFC3339), r.NextUpdate.UTC().Format(time.RFC3339))
			continue
		}
		switch r.Status {
		case ocsp.Good:
			e.good = true
			e.validTill = r.NextUpdate
			if e.validTill.IsZero() {
				e.validTill = now.Add(ocspFresh)
			}
			e.freshTill = now.Add(ocspFresh)
			if e.validTill.Before(e.freshTill) {
				e.freshTill = e.validTill
			}
			return nil
		case ocsp.Revoked:
			e.good, e.revoked, e.revokedAt = false, true, r.RevokedAt
			return nil
		default:
			last = fmt.Errorf("OCSP responder %s does not know the certificate", u)
		}
	}
	if last == nil {
		last = errors.New("no OCSP responder answered")
	}
	return last
}

// delegatedResponder checks the certificate an answer was signed with,
// when it is not the issuer itself (RFC 6960 §4.2.2.2): the parser checked
// that the issuer signed it; it must also be meant for OCSP signing and
// valid now, or any certificate of the CA (a client's own) could vouch for
// itself.
func delegatedResponder(r *ocsp.Response, issuer *x509.Certificate, now time.Time) error {
	c := r.Certificate
	if c == nil || c.Equal(issuer) {
		return nil
	}
	if !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
		return errors.New("the answer is signed by a certificate not meant for OCSP signing")
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return errors.New("the answer is signed by a responder certificate outside its validity")
	}
	return nil
}
