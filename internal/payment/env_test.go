package payment_test

import (
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/payment"
)

func TestSettingsFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := payment.SettingsFromEnv(env(nil))
	if err != nil || s.Enabled() || s.Expiry != 15*time.Minute {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	_, err = payment.SettingsFromEnv(env(map[string]string{"CONGSO_PAYMENT_URL": "https://pay.example", "CONGSO_PAYMENT_LINK_KEY": "short",
		"CONGSO_PAYMENT_EXPIRY": "soon"}))
	if err == nil || !strings.Contains(err.Error(), "CONGSO_PAYMENT_SECRET") || !strings.Contains(err.Error(), "LINK_KEY") ||
		!strings.Contains(err.Error(), "CONGSO_PAYMENT_EXPIRY") {
		t.Fatalf("bad settings accepted: %v", err)
	}
	s, err = payment.SettingsFromEnv(env(map[string]string{"CONGSO_PAYMENT_URL": "https://pay.example/", "CONGSO_PAYMENT_MERCHANT_CODE": "M",
		"CONGSO_PAYMENT_SECRET": "s", "CONGSO_PAYMENT_LINK_KEY": strings.Repeat("k", 32), "CONGSO_PAYMENT_QUERY_AFTER": "10m"}))
	if err != nil || s.URL != "https://pay.example" || s.QueryAfter != 10*time.Minute {
		t.Fatalf("good settings: %+v %v", s, err)
	}
}
