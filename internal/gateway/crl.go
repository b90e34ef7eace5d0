package gateway

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
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
	// number and thisUpdate are the list's: a later download must not be
	// older (an old list replayed would take back revocations).
	number     *big.Int
	thisUpdate time.Time
	freshTill  time.Time // fetch again after this
	retryAt    time.Time // after a failure, not before this
	lastErr    error
}

// The CRL extensions that say a list is not a complete one (RFC 5280
// §5.2.4, §5.2.5).
var (
	oidDeltaCRLIndicator        = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidIssuingDistributionPoint = asn1.ObjectIdentifier{2, 5, 29, 28}
)

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
	if rl.NextUpdate.IsZero() {
		return fmt.Errorf("CRL %s has no nextUpdate (RFC 5280 §5.1.2.5): its freshness cannot be judged", u)
	}
	if rl.ThisUpdate.After(now.Add(ocspSkew)) || !now.Before(rl.NextUpdate) {
		return fmt.Errorf("CRL %s is not current (%s – %s)", u, rl.ThisUpdate.UTC().Format(time.RFC3339), rl.NextUpdate.UTC().Format(time.RFC3339))
	}
	for _, e := range rl.Extensions {
		switch {
		case e.Id.Equal(oidDeltaCRLIndicator):
			// Only what changed since a base list: not the whole list.
			return fmt.Errorf("CRL %s is a delta list, not a complete one", u)
		case e.Id.Equal(oidIssuingDistributionPoint):
			// A partitioned or scoped list (only CA or only user
			// certificates, some reasons, an indirect list): whether it
			// covers this certificate is not judged here.
			return fmt.Errorf("CRL %s is scoped (issuingDistributionPoint): only complete lists are read", u)
		}
	}
	// A list older than one already read (a lower CRL number, or an
	// earlier thisUpdate) would take back revocations: refused.
	if l.number != nil && l.issuer == ifp && (rl.Number != nil && rl.Number.Cmp(l.number) < 0 || rl.ThisUpdate.Before(l.thisUpdate)) {
		return fmt.Errorf("CRL %s is older than the one already read (number %v, %s)", u, rl.Number, rl.ThisUpdate.UTC().Format(time.RFC3339))
	}
	revoked := make(map[string]time.Time, len(rl.RevokedCertificateEntries))
	for _, e := range rl.RevokedCertificateEntries {
		if e.ReasonCode == 8 { // removeFromCRL: only meaningful in delta lists
			continue
		}
		revoked[e.SerialNumber.String()] = e.RevocationTime
	}
	l.issuer, l.revoked = ifp, revoked
	l.number, l.thisUpdate = rl.Number, rl.ThisUpdate
	if l.number == nil {
		l.number = new(big.Int)
	}
	l.validTill = rl.NextUpdate
	l.freshTill = now.Add(crlFresh)
	if l.validTill.Before(l.freshTill) {
		l.freshTill = l.validTill
	}
	return nil
}
