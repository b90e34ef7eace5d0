package postal

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Settings are the operator's settings of the module (docs/postal.md).
type Settings struct {
	URL         string        // CONGSO_POSTAL_URL: the carrier's base URL; empty turns results by post off
	PartnerCode string        // CONGSO_POSTAL_PARTNER_CODE
	Secret      string        // CONGSO_POSTAL_SECRET: HMAC key shared with the carrier
	QueryAfter  time.Duration // CONGSO_POSTAL_QUERY_AFTER, default 6h
	SyncEvery   time.Duration // CONGSO_POSTAL_SYNC_EVERY: how often to run Sync, default 10m
}

// Enabled tells whether the carrier is configured.
func (s Settings) Enabled() bool { return s.URL != "" }

// SettingsFromEnv reads the CONGSO_POSTAL_* variables.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{URL: strings.TrimRight(getenv("CONGSO_POSTAL_URL"), "/"), PartnerCode: getenv("CONGSO_POSTAL_PARTNER_CODE"),
		Secret: getenv("CONGSO_POSTAL_SECRET"), QueryAfter: 6 * time.Hour, SyncEvery: 10 * time.Minute}
	var errs []error
	for key, dst := range map[string]*time.Duration{"CONGSO_POSTAL_QUERY_AFTER": &s.QueryAfter, "CONGSO_POSTAL_SYNC_EVERY": &s.SyncEvery} {
		if v := getenv(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s: %q is not a positive duration", key, v))
				continue
			}
			*dst = d
		}
	}
	if s.Enabled() && (s.PartnerCode == "" || s.Secret == "") {
		errs = append(errs, errors.New("CONGSO_POSTAL_PARTNER_CODE and CONGSO_POSTAL_SECRET are required with CONGSO_POSTAL_URL"))
	}
	return s, errors.Join(errs...)
}
