package paygov_test

import (
	"errors"
	"testing"

	"github.com/congso/congso/internal/payment/paygov"
)

// The worked example of docs/payment.md, checked against
// `printf '%s' '<canonical>' | openssl dgst -sha256 -hmac 'example-secret'`.
func TestSignatureVector(t *testing.T) {
	f := map[string]string{"status": "success", "order_id": "000.00.13.H99-260302-0001-1-1", "amount": "75000",
		"merchant_code": "CONGSO-H99", "signature": "ignored"}
	if got := paygov.Canonical(f); got != "amount=75000&merchant_code=CONGSO-H99&order_id=000.00.13.H99-260302-0001-1-1&status=success" {
		t.Fatalf("canonical %q", got)
	}
	const want = "f992dd642b5bdf0adcc9db28ca8573283f3913dd033f719e7e3ea27704d18dc4"
	if got := paygov.Sign([]byte("example-secret"), f); got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	f["signature"] = want
	if err := paygov.Verify([]byte("example-secret"), f); err != nil {
		t.Fatal(err)
	}
	f["amount"] = "75001"
	if err := paygov.Verify([]byte("example-secret"), f); !errors.Is(err, paygov.ErrBadSignature) {
		t.Fatalf("tampered amount verified: %v", err)
	}
}

func TestItemsChecksumOrderMatters(t *testing.T) {
	a := []paygov.SettlementItem{{OrderID: "A", Amount: 1, Status: "success"}, {OrderID: "B", Amount: 2, Status: "success"}}
	b := []paygov.SettlementItem{a[1], a[0]}
	if paygov.ItemsChecksum(a) == paygov.ItemsChecksum(b) {
		t.Fatal("checksum ignores order")
	}
}
