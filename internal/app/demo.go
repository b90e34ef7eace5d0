package app

import (
	"context"

	"crypto/rand"
	"database/sql"
	"errors"
	"github.com/congso/congso/internal/catalog"
	"time"
)

// settingDemo marks a complete demo load; settingDemoStarted, that demo data is
// present (the banner shows) even while the rest is still loading.
const (
	settingDemo        = "demo_loaded_at"
	settingDemoStarted = "demo_started_at"
)

func (a *App) setting(ctx context.Context, key string) (string, bool) {
	var v string
	err := a.DB.Read().QueryRowContext(ctx, `SELECT value FROM app_settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) || err != nil {
		return "", false
	}
	return v, true
}

func (a *App) setSetting(ctx context.Context, key, value string) error {
	_, err := a.DB.Write().ExecContext(ctx, `INSERT INTO app_settings (key, value, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, time.Now().UTC())
	return err
}

// DemoPresent reports whether demo data was loaded into this database.
func (a *App) DemoPresent(ctx context.Context) bool {
	_, ok := a.setting(ctx, settingDemoStarted)
	return ok
}

// DemoLogin is a demo account printed at start-up.
type DemoLogin struct {
	Username, Password, Role string
}

// DemoPassword is the password of every demo account.
const DemoPassword = "demo-congso-2026"

// DemoLogins lists the demo accounts.
func DemoLogins() []DemoLogin { return demoLogins }

var demoLogins []DemoLogin

// ShouldLoadDemo applies the demo setting: "always", or "auto" on the embedded
// default when no demo data was loaded yet.
func (a *App) ShouldLoadDemo(ctx context.Context) bool {
	switch a.Cfg.Demo {
	case "always":
		return true
	case "auto":
		_, done := a.setting(ctx, settingDemo)
		return a.Cfg.Embedded() && !done
	}
	return false
}

// LoadDemo loads the demo province, agencies, procedures and accounts, and
// returns the logins to print. It is idempotent.
func (a *App) LoadDemo(ctx context.Context) ([]DemoLogin, error) {
	if err := a.LoadDemoFirst(ctx); err != nil {
		return nil, err
	}
	if err := a.LoadDemoRest(ctx); err != nil {
		return nil, err
	}
	return DemoLogins(), nil
}

// LoadDemoFirst loads what a visitor needs at once: the catalogs and the named
// demo logins.
func (a *App) LoadDemoFirst(ctx context.Context) error {
	t0 := time.Now()
	if err := a.setSetting(ctx, settingDemoStarted, t0.UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	if err := catalog.LoadDemo(ctx, a.Catalog); err != nil {
		return err
	}
	t1 := time.Now()
	if err := a.loadDemoStaff(ctx, true, false); err != nil {
		return err
	}
	a.Log.Info("demo catalogs and logins loaded", "catalog_ms", t1.Sub(t0).Milliseconds(), "logins_ms", time.Since(t1).Milliseconds())
	return nil
}

// LoadDemoRest creates the rest of the demo staff (some 300 accounts across
// every unit) and then marks the demo as loaded. serve runs it in the
// background after the server is ready; an interrupted run completes on the
// next start.
func (a *App) LoadDemoRest(ctx context.Context) error {
	t0 := time.Now()
	if err := a.loadDemoStaff(ctx, false, true); err != nil {
		return err
	}
	a.Log.Info("demo staff loaded", "ms", time.Since(t0).Milliseconds())
	return a.setSetting(ctx, settingDemo, time.Now().UTC().Format(time.RFC3339))
}

// RandomPassword makes a temporary password (about 100 bits from the system's
// random source, in groups for reading aloud) for accounts created or reset from
// the command line.
func RandomPassword() string {
	t := rand.Text() // 26 base32 characters
	return t[0:5] + "-" + t[5:10] + "-" + t[10:15] + "-" + t[15:20]
}

// LoadDemoInBackground runs LoadDemoRest once the server runs (see Serve).
func (a *App) LoadDemoInBackground() {
	a.always = append(a.always, worker{name: "demo", run: func(ctx context.Context) error {
		return a.LoadDemoRest(ctx)
	}})
}
