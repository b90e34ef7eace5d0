package nationalportal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway/nationalportal"
)

func TestSettingsFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	s, err := nationalportal.SettingsFromEnv(env(nil))
	if err != nil || s.Enabled || s.Timeout != 20*time.Second || s.PullInterval != time.Minute {
		t.Fatalf("defaults = %+v, %v", s, err)
	}
	_, err = nationalportal.SettingsFromEnv(env(map[string]string{"CONGSO_DVCQG_ENABLED": "true", "CONGSO_DVCQG_URL": "ftp://x"}))
	for _, want := range []string{"CONGSO_DVCQG_URL", "CONGSO_DVCQG_USERNAME", "CONGSO_DVCQG_UNIT", "CONGSO_DVCQG_INBOUND_AGENCY"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("enabled without %s: %v", want, err)
		}
	}
	s, err = nationalportal.SettingsFromEnv(env(map[string]string{"CONGSO_DVCQG_ENABLED": "1", "CONGSO_DVCQG_URL": "https://lgsp.example.vn/dvcqg/",
		"CONGSO_DVCQG_USERNAME": "bp", "CONGSO_DVCQG_PASSWORD": "p", "CONGSO_DVCQG_UNIT": "000.00.00.H10", "CONGSO_DVCQG_TIMEOUT": "5s",
		"CONGSO_DVCQG_PULL_INTERVAL": "0", "CONGSO_DVCQG_INBOUND_DESKS": "000.00.13.H10=000.01.13.H10"}))
	if err != nil || s.URL != "https://lgsp.example.vn/dvcqg" || s.Timeout != 5*time.Second || s.PullInterval != 0 ||
		s.InboundDesks["000.00.13.H10"] != "000.01.13.H10" {
		t.Fatalf("settings = %+v, %v", s, err)
	}
	if s.ReconcileInterval != 24*time.Hour || s.BackfillPage != 100 || s.BackfillPause != 2*time.Second {
		t.Fatalf("schedule defaults = %+v", s)
	}
	s, err = nationalportal.SettingsFromEnv(env(map[string]string{"CONGSO_DVCQG_RECONCILE_INTERVAL": "0", "CONGSO_DVCQG_BACKFILL_PAGE": "50",
		"CONGSO_DVCQG_BACKFILL_PAUSE": "500ms"}))
	if err != nil || s.ReconcileInterval >= 0 || s.BackfillPage != 50 || s.BackfillPause != 500*time.Millisecond {
		t.Fatalf("schedule settings = %+v, %v", s, err)
	}
	for _, bad := range []map[string]string{{"CONGSO_DVCQG_BACKFILL_PAGE": "500"}, {"CONGSO_DVCQG_RECONCILE_INTERVAL": "5s"},
		{"CONGSO_DVCQG_BACKFILL_PAUSE": "-1s"}} {
		if _, err := nationalportal.SettingsFromEnv(env(bad)); err == nil {
			t.Fatalf("%v was accepted", bad)
		}
	}
	if _, err := nationalportal.SettingsFromEnv(env(map[string]string{"CONGSO_DVCQG_TIMEOUT": "soon"})); err == nil {
		t.Fatal("a bad duration was accepted")
	}
}
