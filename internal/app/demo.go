package app

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"time"
)

const settingDemo = "demo_loaded_at"

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
	_, ok := a.setting(ctx, settingDemo)
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

// LoadDemo loads the demo province, agencies, procedures and accounts. It is
// idempotent.
func (a *App) LoadDemo(ctx context.Context) ([]DemoLogin, error) {
	if err := a.setSetting(ctx, settingDemo, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return nil, err
	}
	return DemoLogins(), nil
}

// RandomPassword makes a temporary password (about 100 bits from the system's
// random source, in groups for reading aloud) for accounts created or reset from
// the command line.
func RandomPassword() string {
	t := rand.Text() // 26 base32 characters
	return t[0:5] + "-" + t[5:10] + "-" + t[10:15] + "-" + t[15:20]
}
