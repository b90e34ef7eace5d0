package payment

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Settings are the operator's settings of the module (docs/payment.md).
type Settings struct {
	URL          string        // CONGSO_PAYMENT_URL: the platform's base URL; empty turns online payment off
	MerchantCode string        // CONGSO_PAYMENT_MERCHANT_CODE
	Secret       string        // CONGSO_PAYMENT_SECRET: HMAC key shared with the platform
	LinkKey      string        // CONGSO_PAYMENT_LINK_KEY: signs applicants' links, at least 32 bytes
	IPNURL       string        // CONGSO_PAYMENT_IPN_URL: optional, default CONGSO_BASE_URL + /payment/ipn
	Expiry       time.Duration // CONGSO_PAYMENT_EXPIRY, default 15m
	QueryAfter   time.Duration // CONGSO_PAYMENT_QUERY_AFTER, default 5m
	SyncEvery    time.Duration // CONGSO_PAYMENT_SYNC_EVERY: how often to run SyncPending, default 2m
	ReconcileAt  string        // CONGSO_PAYMENT_RECONCILE_AT: time of day (HH:MM, Vietnam) to reconcile yesterday, default 06:00
}

// Enabled tells whether online payment is configured.
func (s Settings) Enabled() bool { return s.URL != "" }

// SettingsFromEnv reads the CONGSO_PAYMENT_* variables.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{URL: strings.TrimRight(getenv("CONGSO_PAYMENT_URL"), "/"), MerchantCode: getenv("CONGSO_PAYMENT_MERCHANT_CODE"),
		Secret: getenv("CONGSO_PAYMENT_SECRET"), LinkKey: getenv("CONGSO_PAYMENT_LINK_KEY"), IPNURL: getenv("CONGSO_PAYMENT_IPN_URL"),
		Expiry: 15 * time.Minute, QueryAfter: 5 * time.Minute, SyncEvery: 2 * time.Minute, ReconcileAt: "06:00"}
	var errs []error
	dur := func(key string, dst *time.Duration) {
		if v := getenv(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive duration", key, v))
				return
			}
			*dst = d
		}
	}
	dur("CONGSO_PAYMENT_EXPIRY", &s.Expiry)
	dur("CONGSO_PAYMENT_QUERY_AFTER", &s.QueryAfter)
	dur("CONGSO_PAYMENT_SYNC_EVERY", &s.SyncEvery)
	if v := getenv("CONGSO_PAYMENT_RECONCILE_AT"); v != "" {
		if _, err := time.Parse("15:04", v); err != nil {
			errs = append(errs, fmt.Errorf("CONGSO_PAYMENT_RECONCILE_AT: %q is not HH:MM", v))
		}
		s.ReconcileAt = v
	}
	if s.Enabled() {
		if s.MerchantCode == "" || s.Secret == "" {
			errs = append(errs, errors.New("CONGSO_PAYMENT_MERCHANT_CODE and CONGSO_PAYMENT_SECRET are required with CONGSO_PAYMENT_URL"))
		}
		if len(s.LinkKey) < 32 {
			errs = append(errs, errors.New("CONGSO_PAYMENT_LINK_KEY must be at least 32 bytes"))
		}
	}
	return s, errors.Join(errs...)
}
