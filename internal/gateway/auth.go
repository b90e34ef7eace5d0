package gateway

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Fingerprint returns the SHA-256 of a certificate's DER, in lower-case hex:
// the key that binds a certificate to a subsystem or a peer.
func Fingerprint(c *x509.Certificate) string {
	s := sha256.Sum256(c.Raw)
	return hex.EncodeToString(s[:])
}

// ServerTLSConfig returns the TLS settings of a gateway listener: it asks
// for a client certificate without letting the handshake judge it, so that
// the runtime answers an expired or unknown certificate with an X-Road
// error instead of a bare handshake failure.
func ServerTLSConfig(cert tls.Certificate) *tls.Config {
	cfg := serverTLS()
	cfg.Certificates = []tls.Certificate{cert}
	return cfg
}

// serverTLS is the listener's configuration but its certificate.
func serverTLS() *tls.Config {
	return &tls.Config{ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
}

// authenticate proves who makes r: by its TLS client certificate or its
// bearer token; claimed is the X-Road-Client header, which must agree. When
// the certificate's status cannot be checked now it sets ex.certUnchecked
// (the service's fail policy decides, in admit).
func (rt *Runtime) authenticate(r *http.Request, snap *snapshot, claimed string, ex *exchange) (ClientID, *Fault) {
	var header ClientID
	if claimed != "" {
		c, err := ParseSubsystemID(claimed)
		if err != nil {
			return ClientID{}, fault(http.StatusBadRequest, FaultBadRequest, "X-Road-Client: "+err.Error())
		}
		header = c
	}
	if len(r.Header.Values(HeaderClient)) > 1 {
		return ClientID{}, fault(http.StatusBadRequest, FaultBadRequest, "X-Road-Client must appear once")
	}
	now := rt.cfg.Now()
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		leaf := r.TLS.PeerCertificates[0]
		issuer, f := rt.verifyChain(r.TLS.PeerCertificates, now)
		if f != nil {
			return ClientID{}, f
		}
		f, unchecked, err := rt.ocsp.status(r.Context(), leaf, issuer, now)
		if f != nil {
			return ClientID{}, f
		}
		if unchecked {
			ex.certUnchecked = true
			if err != nil {
				rt.cfg.Logger.WarnContext(r.Context(), "gateway: client certificate status unknown", "subject", leaf.Subject.String(), "err", err)
			}
		}
		c, ok := snap.certs[Fingerprint(leaf)]
		if !ok {
			return ClientID{}, fault(http.StatusUnauthorized, FaultAuthentication, "the client certificate is not registered to any subsystem")
		}
		if inst, ok := strings.CutPrefix(c.Owner, PeerPrefix); ok {
			// A peer gateway speaks for the clients of its own instance,
			// never for this one's (a certificate registered as
			// peer:<this instance> by mistake would act as any of them).
			if inst == rt.cfg.Instance {
				return ClientID{}, fault(http.StatusUnauthorized, FaultAuthentication, "a certificate of peer "+inst+" cannot call this gateway: it is this instance")
			}
			if claimed == "" || header.Instance != inst {
				return ClientID{}, fault(http.StatusUnauthorized, FaultAuthentication, "a peer gateway may only call for clients of instance "+inst)
			}
			return header, nil
		}
		owner, _ := ParseSubsystemID(c.Owner)
		if claimed != "" && header != owner {
			return ClientID{}, fault(http.StatusUnauthorized, FaultAuthentication, "X-Road-Client does not match the client certificate")
		}
		return rt.known(snap, owner)
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && rt.cfg.Tokens != nil {
		c, err := rt.cfg.Tokens.VerifyToken(r.Context(), strings.TrimSpace(tok))
		if err != nil {
			return ClientID{}, fault(http.StatusUnauthorized, FaultAuthentication, "the bearer token is not valid")
		}
		if claimed != "" && header != c {
			return ClientID{}, fault(http.StatusUnauthorized, FaultAuthentication, "X-Road-Client does not match the bearer token")
		}
		return rt.known(snap, c)
	}
	return ClientID{}, fault(http.StatusUnauthorized, FaultAuthentication, "authenticate with a registered client certificate or a bearer token")
}

func (rt *Runtime) known(snap *snapshot, c ClientID) (ClientID, *Fault) {
	if c.Instance == rt.cfg.Instance && snap.subsystems[c.String()] == nil {
		return ClientID{}, fault(http.StatusUnauthorized, FaultUnknownClient, "client "+c.String()+" is not a registered subsystem")
	}
	return c, nil
}

// verifyChain checks the presented chain against the client CAs at now,
// remembering success for a minute (never past the leaf's expiry), and
// returns the leaf's issuer.
func (rt *Runtime) verifyChain(chain []*x509.Certificate, now time.Time) (*x509.Certificate, *Fault) {
	leaf := chain[0]
	fp := Fingerprint(leaf)
	if now.After(leaf.NotAfter) {
		return nil, fault(http.StatusUnauthorized, FaultAuthentication, "the client certificate expired on "+leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return nil, fault(http.StatusUnauthorized, FaultAuthentication, "the client certificate is not valid yet")
	}
	rt.certMu.Lock()
	ok := rt.certOK[fp]
	rt.certMu.Unlock()
	if ok.issuer != nil && now.Before(ok.until) {
		return ok.issuer, nil
	}
	if rt.cfg.ClientCAs == nil {
		return nil, fault(http.StatusUnauthorized, FaultAuthentication, "this gateway does not accept client certificates")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: rt.cfg.ClientCAs, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return nil, fault(http.StatusUnauthorized, FaultAuthentication, "a certificate of the chain has expired")
		}
		return nil, fault(http.StatusUnauthorized, FaultAuthentication, "the client certificate is not issued by a trusted authority")
	}
	ok = certOK{until: now.Add(time.Minute), issuer: chains[0][len(chains[0])-1]}
	if len(chains[0]) > 1 {
		ok.issuer = chains[0][1]
	}
	if leaf.NotAfter.Before(ok.until) {
		ok.until = leaf.NotAfter
	}
	rt.certMu.Lock()
	if len(rt.certOK) > 10000 {
		rt.certOK = map[string]certOK{}
	}
	rt.certOK[fp] = ok
	rt.certMu.Unlock()
	return ok.issuer, nil
}

// certOK is a verified chain, remembered until a time.
type certOK struct {
	until  time.Time
	issuer *x509.Certificate
}
