package gateway_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/congso/congso/internal/gateway"
)

// integration "Wire and identity model" (certificate status): an OCSP
// answer signed by a certificate of the CA that is not meant for OCSP
// signing (here the client's own) is not believed, nor is a year-old
// answer without nextUpdate; a fail-closed service refuses the call.
func TestOCSPAnswersFromWrongSignersOrStaleAreRefused(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	ca := newCA(t)
	var victimKeyHolder struct {
		cert *x509.Certificate
		key  any
	}
	mode := "forge"
	rsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 4096)
		n, _ := r.Body.Read(body)
		req, err := xocsp.ParseRequest(body[:n])
		if err != nil {
			t.Errorf("parse: %v", err)
			return
		}
		now := time.Now().UTC().Truncate(time.Second)
		tmpl := xocsp.Response{Status: xocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
		var resp []byte
		switch mode {
		case "forge":
			tmpl.Certificate = victimKeyHolder.cert // a client cert: EKU clientAuth only
			resp, err = xocsp.CreateResponse(ca.cert, victimKeyHolder.cert, tmpl, victimKeyHolder.key.(*ecdsa.PrivateKey))
		case "stale":
			// a year old, no nextUpdate: signed by the CA itself
			tmpl.ThisUpdate, tmpl.NextUpdate = now.AddDate(-1, 0, 0), time.Time{}
			resp, err = xocsp.CreateResponse(ca.cert, ca.cert, tmpl, ca.key)
		}
		if err != nil {
			t.Errorf("create: %v", err)
			return
		}
		w.Write(resp)
	}))
	defer rsrv.Close()
	victim := ca.issueOCSP(t, "revoked-one", rsrv.URL)
	victimKeyHolder.cert, victimKeyHolder.key = victim.Leaf, victim.PrivateKey
	stale := ca.issueOCSP(t, "stale-one", rsrv.URL)
	_, get := certStatusNode(t, ca, time.Now, backend.URL, victim, stale)
	code, f, body := get(victim, svcID) // svcID is fail-closed
	if code != 503 || f != gateway.FaultCertStatus {
		t.Errorf("an answer signed by the client's own certificate: %d %q %s", code, f, body)
	}
	mode = "stale"
	code, f, body = get(stale, svcID)
	if code != 503 || f != gateway.FaultCertStatus {
		t.Errorf("a year-old answer without nextUpdate: %d %q %s", code, f, body)
	}
	// Nor do the metadata services answer a client whose certificate's
	// status is unknown (they follow the default, fail-closed policy).
	for _, p := range []string{"/listClients", "/r1/" + provider + "/listMethods", "/r1/" + provider + "/allowedMethods"} {
		if code, f, body := get(stale, p); code != 503 || f != gateway.FaultCertStatus {
			t.Errorf("%s with a certificate of unknown status: %d %q %s", p, code, f, body)
		}
	}
}

// integration "Wire and identity model" (certificate status): a delta CRL,
// or one scoped by an issuingDistributionPoint, is not taken for the
// complete list: the status stays unknown.
func TestIncompleteCRLsAreNotTakenForTheList(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	ca := newCA(t)
	deltaExt := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: []byte{0x02, 0x01, 0x01}}
	// IDP: SEQUENCE { [2] onlyContainsCACerts TRUE }
	idpExt := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Critical: true, Value: []byte{0x30, 0x03, 0x82, 0x01, 0xff}}
	ext := deltaExt
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(time.Now().UnixNano()),
			ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour), ExtraExtensions: []pkix.Extension{ext}}, ca.cert, ca.key)
		if err != nil {
			t.Error(err)
			return
		}
		w.Write(der)
	}))
	defer srv.Close()
	a := ca.issueCRL(t, "a", srv.URL+"/delta.crl")
	b := ca.issueCRL(t, "b", srv.URL+"/cacerts.crl")
	_, get := certStatusNode(t, ca, time.Now, backend.URL, a, b)
	code, f, _ := get(a, svcID)
	if code != 503 || f != gateway.FaultCertStatus {
		t.Errorf("a delta CRL as the only list: %d %q", code, f)
	}
	ext = idpExt
	code, f, _ = get(b, svcID)
	if code != 503 || f != gateway.FaultCertStatus {
		t.Errorf("a CRL scoped to CA certificates: %d %q", code, f)
	}
}

// integration "Wire and identity model" (certificate status): an older CRL
// served after a newer one (still before its nextUpdate) does not take
// back a revocation.
func TestOlderCRLDoesNotUnrevoke(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	ca := newCA(t)
	var offset int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset)) }
	mk := func(num int64, revoked *big.Int) []byte {
		rl := &x509.RevocationList{Number: big.NewInt(num), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(7 * 24 * time.Hour)}
		if revoked != nil {
			rl.RevokedCertificateEntries = []x509.RevocationListEntry{{SerialNumber: revoked, RevocationTime: time.Now()}}
		}
		der, err := x509.CreateRevocationList(rand.Reader, rl, ca.cert, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	var serve []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(serve) }))
	defer srv.Close()
	a := ca.issueCRL(t, "a", srv.URL+"/ca.crl")
	old := mk(1, nil)
	serve = mk(2, a.Leaf.SerialNumber)
	_, get := certStatusNode(t, ca, now, backend.URL, a)
	if code, _, _ := get(a, svcID); code != 401 {
		t.Fatalf("with CRL #2 (revoked): %d", code)
	}
	serve = old
	offset = int64(11 * time.Minute)
	if code, _, _ := get(a, svcID); code != 401 {
		t.Fatalf("after CRL #1 is served again: %d", code)
	}
}
