package postal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/postal"
)

func TestSettingsFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if s, err := postal.SettingsFromEnv(env(nil)); err != nil || s.Enabled() || s.QueryAfter != 6*time.Hour {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	if _, err := postal.SettingsFromEnv(env(map[string]string{"CONGSO_POSTAL_URL": "https://post.example"})); err == nil ||
		!strings.Contains(err.Error(), "CONGSO_POSTAL_SECRET") {
		t.Fatalf("missing secret accepted: %v", err)
	}
}
