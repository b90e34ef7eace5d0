package app

import (
	"context"
	"net/http"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
)

// module is how the app sees each capability: its migrations, in dependency
// order.
type module struct {
	name       string
	migrations func() []db.Migration
}

// modules lists every capability in dependency order (platform first).
func modules() []module {
	return []module{
		{name: "outbox", migrations: outbox.Migrations},
		{name: "timer", migrations: timer.Migrations},
		{name: "audit", migrations: audit.Migrations},
		{name: "app", migrations: appMigrations},
	}
}

// appMigrations holds the app's own small state (install facts such as whether
// demo data was loaded).
func appMigrations() []db.Migration {
	return []db.Migration{{Module: "app", Version: 1, Name: "settings",
		Up: `CREATE TABLE app_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at {{time}} NOT NULL)`}}
}

func (a *App) initModules(ctx context.Context) error { return nil }

func (a *App) routeModules(mux *http.ServeMux) error { return nil }

// authenticate puts the signed-in person (if any) into the request context.
func (a *App) authenticate(next http.Handler) http.Handler { return next }

// sessionID binds CSRF tokens to the login session.
func (a *App) sessionID(r *http.Request) string { return "" }
