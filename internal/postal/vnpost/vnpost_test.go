package vnpost_test

import (
	"errors"
	"testing"

	"github.com/congso/congso/internal/postal/vnpost"
)

// The worked example of docs/postal.md, checked against
// `printf '%s' '<canonical>' | openssl dgst -sha256 -hmac 'example-secret'`.
func TestSignatureVector(t *testing.T) {
	f := map[string]string{"tracking_code": "EB000000001VN", "status": "delivered", "status_at": "2026-03-02T03:00:00Z",
		"client_ref": "000.00.13.H99-260302-0001-KQ1"}
	const want = "8e17dcb63dd359b109ab5df76095832279cc4cc79f725da7ae86f98e05da54b3"
	if got := vnpost.Sign([]byte("example-secret"), f); got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	f["signature"] = want
	if err := vnpost.Verify([]byte("example-secret"), f); err != nil {
		t.Fatal(err)
	}
	if err := vnpost.Verify([]byte("other"), f); !errors.Is(err, vnpost.ErrBadSignature) {
		t.Fatalf("wrong key verified: %v", err)
	}
}
