package gateway

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"

	faketsa "github.com/congso/congso/internal/fakes/tsa"
)

// integration "Tamper-evident message log" (time-stamps): a token signed
// by an untrusted key is refused even when it carries the genuine TSA's
// certificate first (the chain checked is the signer's).
func TestTimeStampSignedByAnotherKeyIsRefused(t *testing.T) {
	genuine, err := faketsa.New()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(genuine.Root)

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(666), Subject: pkix.Name{CommonName: "mallory"},
		NotBefore: time.Now().AddDate(-1, 0, 0), NotAfter: time.Now().AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, _ := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	mallory, _ := x509.ParseCertificate(der)

	imprint := sha256.Sum256([]byte("a rewritten batch"))
	backdated := time.Now().Add(-30 * time.Minute).UTC() // inside the genuine cert's validity
	// Build the TSTInfo with the library, signed by mallory.
	ts := timestamp.Timestamp{HashAlgorithm: crypto.SHA256, HashedMessage: imprint[:], Time: backdated,
		Policy: asn1.ObjectIdentifier{1, 2, 3}, AddTSACertificate: true}
	resp, err := ts.CreateResponseWithOpts(mallory, key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := timestamp.ParseResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(parsed.RawToken)
	if err != nil {
		t.Fatal(err)
	}
	// Re-sign the same TSTInfo with the genuine TSA certificate listed first.
	sd, err := pkcs7.NewSignedData(p7.Content)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	sd.SetContentType(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4})
	sd.AddCertificate(genuine.Cert)
	if err := sd.AddSigner(mallory, key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	token, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	forged, err := timestamp.Parse(token)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if !forged.Certificates[0].Equal(genuine.Cert) {
		t.Fatalf("the forged token does not carry the genuine certificate first")
	}
	if err := checkToken(forged, imprint[:], roots); err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("a token signed by an untrusted key: %v", err)
	}
	// (Genuine tokens pass: tsa_test.go.)
}
