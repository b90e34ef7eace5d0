package gateway

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Certificate revocation lists (RFC 5280 §5) for client certificates whose
// CA publishes no OCSP responder.
//
// A certificate that names no OCSP responder but names CRL distribution
// points is checked against its CA's list: the gateway downloads the list
// (HTTP), checks that the certificate's issuer signed it and that it is
// current (thisUpdate not ahead of our clock, nextUpdate not passed), and
// keeps it for at most crlFresh or until its nextUpdate, whichever comes
// first, for every certificate pointing at it. A certificate on the list is
// refused (401, Server.ClientProxy.SslAuthenticationFailed). When no
// current list can be had (the point is down, the list is forged or
// stale), the status is unchecked and the service's fail policy decides,
// as with OCSP. Delta CRLs are not read.

const (
	// crlFresh is how long a list is used before it is fetched again.
	crlFresh = 10 * time.Minute
	// crlMaxBytes bounds a downloaded list (national CAs' lists run to a
	// few megabytes).
	crlMaxBytes = 32 << 20
)

// crlList is what is known of one distribution point's list.
type crlList struct {
	mu        sync.Mutex // one download at a time per point
	issuer    string     // fingerprint of the CA that signed it
	revoked   map[string]time.Time
	validTill time.Time // the list's nextUpdate
	freshTill time.Time // fetch again after this
	retryAt   time.Time // after a failure, not before this
	lastErr   error
}

// crlChecker keeps the lists by distribution point URL.
type crlChecker struct {
	client *http.Client
	mu     sync.Mutex
	m      map[string]*crlList
}

func newCRLChecker(client *http.Client) *crlChecker {
	return &crlChecker{client: client, m: map[string]*crlList{}}
}

// status checks leaf (issued by issuer) against the lists it names: a
// fault when a current list has it; unchecked when no current list could
// be had.
func (c *crlChecker) status(ctx context.Context, leaf, issuer *x509.Certificate, now time.Time) (f *Fault, unchecked bool, err error) {
	serial := leaf.SerialNumber.String()
	ifp := Fingerprint(issuer)
	var last error
	for _, u := range leaf.CRLDistributionPoints {
		l := c.list(u)
		l.mu.Lock()
		if l.issuer != ifp || !now.Before(l.freshTill) && !now.Before(l.retryAt) {
			if err := l.fetch(ctx, c.client, u, issuer, ifp, now); err != nil {
				l.lastErr, l.retryAt = err, now.Add(ocspRetry)
			} else {
				l.lastErr = nil
			}
		}
		current := l.issuer == ifp && now.Before(l.validTill)
		at, revoked := l.revoked[serial]
		lastErr := l.lastErr
		l.mu.Unlock()
		if current {
			if revoked {
				return fault(http.StatusUnauthorized, FaultAuthentication, "the client certificate was revoked by its authority on "+at.UTC().Format(time.RFC3339)+" (CRL)"), false, nil
			}
			return nil, false, nil
		}
		if lastErr == nil {
			lastErr = fmt.Errorf("CRL %s: no current list", u)
		}
		last = lastErr
	}
	return nil, true, last
}

func (c *crlChecker) list(u string) *crlList {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.m[u]
	if l == nil {
		if len(c.m) > 1000 {
			c.m = map[string]*crlList{}
		}
		l = &crlList{}
		c.m[u] = l
	}
	return l
}

// fetch downloads and checks the list at u (the caller holds l.mu); on
// any failure l keeps what it had.
func (l *crlList) fetch(ctx context.Context, client *http.Client, u string, issuer *x509.Certificate, ifp string, now time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("CRL %s: %w", u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("CRL %s unreachable: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("CRL %s answered %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, crlMaxBytes+1))
	if err != nil {
		return fmt.Errorf("CRL %s: %w", u, err)
	}
	if len(body) > crlMaxBytes {
		return fmt.Errorf("CRL %s is larger than %d bytes", u, crlMaxBytes)
	}
	if bytes.HasPrefix(body, []byte("-----BEGIN")) {
		return fmt.Errorf("CRL %s is PEM, RFC 5280 wants DER", u)
	}
	rl, err := x509.ParseRevocationList(body)
	if err != nil {
		return fmt.Errorf("CRL %s: %w", u, err)
	}
	if err := rl.CheckSignatureFrom(issuer); err != nil {
		return fmt.Errorf("CRL %s is not signed by the certificate's issuer: %w", u, err)
	}
	if rl.ThisUpdate.After(now.Add(ocspSkew)) || !rl.NextUpdate.IsZero() && !now.Before(rl.NextUpdate) {
		return fmt.Errorf("CRL %s is not current (%s – %s)", u, rl.ThisUpdate.UTC().Format(time.RFC3339), rl.NextUpdate.UTC().Format(time.RFC3339))
	}
	revoked := make(map[string]time.Time, len(rl.RevokedCertificateEntries))
	for _, e := range rl.RevokedCertificateEntries {
		if e.ReasonCode == 8 { // removeFromCRL: only meaningful in delta lists
			continue
		}
		revoked[e.SerialNumber.String()] = e.RevocationTime
	}
	l.issuer, l.revoked = ifp, revoked
	l.validTill = rl.NextUpdate
	if l.validTill.IsZero() {
		l.validTill = now.Add(crlFresh)
	}
	l.freshTill = now.Add(crlFresh)
	if l.validTill.Before(l.freshTill) {
		l.freshTill = l.validTill
	}
	return nil
}
