package nationalportal

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Settings are the operator's settings of the adapter, read from CONGSO_DVCQG_*
// variables by SettingsFromEnv (see docs/national-portal.md).
type Settings struct {
	// Enabled turns the adapter on (CONGSO_DVCQG_ENABLED, default false).
	Enabled bool
	// URL is the base address of the portal's integration endpoint
	// (CONGSO_DVCQG_URL), e.g. https://lgsp.example.gov.vn/dvcqg.
	URL string
	// Username and Password authenticate the province (CONGSO_DVCQG_USERNAME,
	// CONGSO_DVCQG_PASSWORD).
	Username, Password string
	// Unit is the province's madonvi, the e-ID it is known by on the portal
	// (CONGSO_DVCQG_UNIT).
	Unit string
	// Timeout bounds each call to the portal (CONGSO_DVCQG_TIMEOUT, default 20s).
	Timeout time.Duration
	// PullInterval is how often the inbound feed is polled
	// (CONGSO_DVCQG_PULL_INTERVAL, default 1m; 0 or negative disables pulling).
	PullInterval time.Duration
	// InboundAgency and InboundUnit are where dossiers submitted on the
	// national portal are recorded when the portal names no receiving agency
	// we know: the receiving agency e-ID and its one-stop desk unit
	// (CONGSO_DVCQG_INBOUND_AGENCY, CONGSO_DVCQG_INBOUND_UNIT).
	InboundAgency, InboundUnit string
	// InboundDesks maps a receiving agency e-ID named by the portal to its
	// desk unit (CONGSO_DVCQG_INBOUND_DESKS="agency=unit,agency=unit").
	InboundDesks map[string]string
	// ReconcileInterval is the time between scheduled reconciliations
	// (CONGSO_DVCQG_RECONCILE_INTERVAL, default 24h; "0" turns them off,
	// stored as -1 to pass on as Config.ReconcileInterval).
	ReconcileInterval time.Duration
	// BackfillPage and BackfillPause pace the backfill: dossiers enqueued
	// per step (CONGSO_DVCQG_BACKFILL_PAGE, default 100, at most 200) and
	// the wait between steps (CONGSO_DVCQG_BACKFILL_PAUSE, default 2s).
	BackfillPage  int
	BackfillPause time.Duration
}

// SettingsFromEnv reads the CONGSO_DVCQG_* variables.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{Timeout: 20 * time.Second, PullInterval: time.Minute, InboundDesks: map[string]string{},
		ReconcileInterval: 24 * time.Hour, BackfillPage: 100, BackfillPause: 2 * time.Second}
	var errs []error
	if v := getenv("CONGSO_DVCQG_ENABLED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CONGSO_DVCQG_ENABLED: %w", err))
		}
		s.Enabled = b
	}
	s.URL = strings.TrimRight(getenv("CONGSO_DVCQG_URL"), "/")
	s.Username = getenv("CONGSO_DVCQG_USERNAME")
	s.Password = getenv("CONGSO_DVCQG_PASSWORD")
	s.Unit = getenv("CONGSO_DVCQG_UNIT")
	s.InboundAgency = getenv("CONGSO_DVCQG_INBOUND_AGENCY")
	s.InboundUnit = getenv("CONGSO_DVCQG_INBOUND_UNIT")
	dur := func(key string, dst *time.Duration) {
		if v := getenv(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
				return
			}
			*dst = d
		}
	}
	dur("CONGSO_DVCQG_TIMEOUT", &s.Timeout)
	dur("CONGSO_DVCQG_PULL_INTERVAL", &s.PullInterval)
	dur("CONGSO_DVCQG_RECONCILE_INTERVAL", &s.ReconcileInterval)
	if s.ReconcileInterval == 0 {
		s.ReconcileInterval = -1
	} else if s.ReconcileInterval > 0 && s.ReconcileInterval < time.Minute {
		errs = append(errs, errors.New("CONGSO_DVCQG_RECONCILE_INTERVAL must be 0 (off) or at least 1m"))
	}
	dur("CONGSO_DVCQG_BACKFILL_PAUSE", &s.BackfillPause)
	if s.BackfillPause <= 0 {
		errs = append(errs, errors.New("CONGSO_DVCQG_BACKFILL_PAUSE must be positive"))
	}
	if v := getenv("CONGSO_DVCQG_BACKFILL_PAGE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			errs = append(errs, fmt.Errorf("CONGSO_DVCQG_BACKFILL_PAGE: %q is not a number from 1 to 200", v))
		} else {
			s.BackfillPage = n
		}
	}
	if v := getenv("CONGSO_DVCQG_INBOUND_DESKS"); v != "" {
		for _, pair := range strings.Split(v, ",") {
			a, u, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || a == "" || u == "" {
				errs = append(errs, fmt.Errorf("CONGSO_DVCQG_INBOUND_DESKS: %q is not agency=unit", pair))
				continue
			}
			s.InboundDesks[a] = u
		}
	}
	if s.Enabled {
		if err := s.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return s, errors.Join(errs...)
}

// Validate checks that an enabled adapter has what it needs.
func (s Settings) Validate() error {
	var errs []error
	if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, errors.New("CONGSO_DVCQG_URL must be an http(s) URL"))
	}
	if s.Username == "" || s.Password == "" {
		errs = append(errs, errors.New("CONGSO_DVCQG_USERNAME and CONGSO_DVCQG_PASSWORD are required"))
	}
	if s.Unit == "" {
		errs = append(errs, errors.New("CONGSO_DVCQG_UNIT is required"))
	}
	if s.Timeout <= 0 {
		errs = append(errs, errors.New("CONGSO_DVCQG_TIMEOUT must be positive"))
	}
	if s.PullInterval > 0 && (s.InboundAgency == "" || s.InboundUnit == "") {
		errs = append(errs, errors.New("CONGSO_DVCQG_INBOUND_AGENCY and CONGSO_DVCQG_INBOUND_UNIT are required when pulling"))
	}
	return errors.Join(errs...)
}
