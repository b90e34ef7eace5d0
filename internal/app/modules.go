package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/datastore"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/dossierui"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/gateway/nationalportal"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/notify"
	"github.com/congso/congso/internal/payment"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/calendar/calendardb"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
	"github.com/congso/congso/internal/portal"
	"github.com/congso/congso/internal/postal"
	"github.com/congso/congso/internal/web"
	"github.com/congso/congso/internal/workflow"
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
		{name: "calendar", migrations: calendardb.Migrations},
		{name: "catalog", migrations: catalog.Migrations},
		{name: "identity", migrations: identity.Migrations},
		{name: "identity_oidc", migrations: oidc.Migrations},
		{name: "workflow", migrations: workflow.Migrations},
		{name: "dossier", migrations: dossier.Migrations},
		{name: "dossier_stats", migrations: stats.Migrations},
		{name: "datastore", migrations: datastore.Migrations},
		{name: "notify", migrations: notify.Migrations},
		{name: "payment", migrations: payment.Migrations},
		{name: "postal", migrations: postal.Migrations},
		{name: "nationalportal", migrations: nationalportal.Migrations},
		{name: "portal", migrations: portal.Migrations},
		{name: "gateway", migrations: gateway.Migrations},
		{name: "app", migrations: appMigrations},
	}
}

// appMigrations holds the app's own small state (install facts such as whether
// demo data was loaded).
func appMigrations() []db.Migration {
	return []db.Migration{{Module: "app", Version: 1, Name: "settings",
		Up: `CREATE TABLE app_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at {{time}} NOT NULL)`}}
}

// ActionCalendarEdit lets catalog administrators (and system administrators)
// edit the holiday announcements.
var ActionCalendarEdit = identity.DefineAction(calendardb.ActionEdit, identity.RoleCatalogAdmin)

func (a *App) initModules(ctx context.Context) error {
	for _, s := range a.Cfg.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		a.trusted = append(a.trusted, p)
	}
	a.Catalog = catalog.NewService(a.DB, nil, catalog.WithBlobs(a.Blobs), catalog.WithMaxFormBytes(min(a.Cfg.MaxUploadBytes, catalog.DefaultMaxFormBytes)))
	var err error
	a.Identity, err = identity.NewService(a.DB, identity.Config{
		SecretKey: a.derivedKey("totp"), LoginEvents: true, TOTPIssuer: a.Cfg.ProvinceName,
		// Units of positions and grants are catalog agencies/units by e-ID
		// (a former e-ID still resolves after a rename).
		CheckUnit: func(ctx context.Context, id string) error {
			if _, err := a.Catalog.Agency(ctx, id); errors.Is(err, catalog.ErrNotFound) {
				return fmt.Errorf("unit %s: %w", id, identity.ErrNotFound)
			} else if err != nil {
				return err
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	a.identityHTTP = identity.NewHandlers(a.Identity, identity.HandlerOptions{SecureCookies: a.Cfg.SecureCookies, TrustedProxies: a.trusted})

	if err := a.initSSO(ctx); err != nil {
		return err
	}

	a.Calendar, err = calendardb.NewProvider(ctx, calendardb.NewStore(a.DB, nil), calendardb.ProviderConfig{Logger: a.Log})
	if err != nil {
		return fmt.Errorf("calendar: %w", err)
	}
	a.Workflow = workflow.New(a.DB, workflow.Config{CalendarSource: a.Calendar.Calendar})
	if err := a.Workflow.InstallShipped(ctx); err != nil {
		return fmt.Errorf("install process definitions: %w", err)
	}
	a.Workflow.RegisterTimers(a.Timers)

	// The forms' templates (Forms nil: the embedded ones) are parsed on
	// the first form printed: 40 ms and 16 MB of garbage no start needs.
	a.Dossier, err = dossier.New(a.DB, dossier.Config{Procedures: a.Catalog, Workflow: a.Workflow, Blobs: a.Blobs,
		MaxUploadBytes: a.Cfg.MaxUploadBytes, PublicBaseURL: a.Cfg.BaseURL,
		Place:    strings.TrimPrefix(strings.TrimPrefix(a.Cfg.ProvinceName, "Tỉnh "), "Thành phố "),
		Agencies: a.Catalog, People: a.Identity})
	if err != nil {
		return err
	}
	// Moves the engine makes on its own (deadline escalations) reach the
	// dossier through this subscription.
	a.Outbox.Subscribe(workflow.TopicTransition, "dossier.mirror", a.Dossier.HandleWorkflowTransition)
	a.workers = append(a.workers, worker{name: "idempotency-keys", run: a.purgeIdempotencyKeys})
	// Statistics (§11) follow the dossier events incrementally.
	a.Stats = stats.New(a.DB, stats.Config{})
	a.Stats.Subscribe(a.Outbox)

	if err := a.initServices(ctx); err != nil {
		return err
	}
	a.Dossier.SetReuse(reuseResolver{a})
	if err := a.initGateway(ctx); err != nil {
		return err
	}

	// Every node keeps its calendar current, whatever its role.
	a.always = append(a.always, worker{name: "calendar", run: a.Calendar.Run})
	a.workers = append(a.workers, worker{name: "sessions", run: a.cleanSessions})
	return nil
}

// purgeIdempotencyKeys forgets request keys older than a week, daily.
func (a *App) purgeIdempotencyKeys(ctx context.Context) error {
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		if _, err := a.Dossier.PurgeIdempotencyKeys(ctx, time.Now().Add(-7*24*time.Hour)); err != nil && ctx.Err() == nil {
			a.Log.Warn("purge idempotency keys", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// cleanSessions deletes sessions that ended more than a day ago, hourly.
func (a *App) cleanSessions(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := a.Identity.DeleteStaleSessions(ctx, 24*time.Hour); err != nil && ctx.Err() == nil {
			a.Log.Warn("delete stale sessions", "err", err)
		} else if n > 0 {
			a.Log.Info("deleted stale sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (a *App) routeModules(mux *http.ServeMux) error {
	a.Shell.CurrentUser = identity.WebUser
	a.Shell.AddNav(web.NavItem{Path: "/", Label: "nav.home", Order: 0})
	a.Shell.AddNav(catalog.NavItems()...)
	a.Shell.AddNav(identity.NavItems()...)
	a.Shell.AddNav(calendardb.NavItems()...)

	a.identityHTTP.Routes(mux)
	catAPI := catalog.NewHandlers(a.Catalog, catalog.AuthorizerFunc(func(ctx context.Context, action, unitID string) bool {
		return identity.Can(ctx, identity.PrincipalFrom(ctx), identity.Action(action), unitID)
	}))
	catAPI.Routes(mux)
	catPages, err := catalog.NewPages(catAPI, a.Shell, a.Web.ErrorPage)
	if err != nil {
		return err
	}
	catPages.Routes(mux)
	pages, err := identity.NewPages(a.identityHTTP, a.Shell, a.Web.ErrorPage)
	if err != nil {
		return err
	}
	pages.Routes(mux)
	a.identityPages = pages
	if err := a.routeSSO(mux); err != nil {
		return err
	}

	dossier.NewHandlers(a.Dossier).Routes(mux)
	sh := stats.NewHandlers(a.Stats)
	sh.Sources = a.indexSources()
	sh.Routes(mux)
	work, err := dossierui.NewPages(a.Dossier, a.Catalog, a.Workflow, a.Shell, a.Web.ErrorPage)
	if err != nil {
		return err
	}
	work.People = a.Identity
	work.Stats = a.Stats
	work.IndexSources = a.indexSources()
	work.Related = a.relatedSections
	work.UnitLoads = func(ctx context.Context, units []string) ([]dossierui.UnitLoad, error) {
		loads, err := a.Workflow.UnitLoads(ctx, units, time.Time{})
		if err != nil {
			return nil, err
		}
		out := make([]dossierui.UnitLoad, len(loads))
		for i, l := range loads {
			out[i] = dossierui.UnitLoad{Unit: l.Unit, Open: l.Open, NearBreach: l.NearBreach, Overdue: l.Overdue}
		}
		return out, nil
	}
	work.Routes(mux)
	a.Shell.AddNav(dossierui.NavItems()...)
	a.Web.Cards = append(a.Web.Cards, dossierui.HomeCards()...)
	if err := a.routeServices(mux, catPages); err != nil {
		return err
	}
	if err := a.routeGateway(mux); err != nil {
		return err
	}

	cal, err := calendardb.NewHandlers(calendardb.HandlerConfig{Provider: a.Calendar, Authorizer: principalAuthorizer{}, Shell: a.Shell})
	if err != nil {
		return err
	}
	cal.Routes(mux)

	a.Web.Cards = append(a.Web.Cards, catalog.HomeCards()...)
	a.Web.Cards = append(a.Web.Cards,
		web.HomeCard{Path: "/admin/people", Title: "home.card.people", Text: "home.card.people.text", Order: 90,
			Visible: func(u *web.User) bool { return u.Can(string(identity.ActionUserView)) }},
		web.HomeCard{Path: "/admin/calendar", Title: "home.card.calendar", Text: "home.card.calendar.text", Order: 95,
			Visible: func(u *web.User) bool { return u.Can(string(ActionCalendarEdit)) }},
		web.HomeCard{Path: "/account/password", Title: "home.card.password", Text: "home.card.password.text", Order: 100},
	)
	return nil
}

// principalAuthorizer answers province-wide permission questions for modules
// that take a request (calendar).
type principalAuthorizer struct{}

func (principalAuthorizer) Can(r *http.Request, action string) bool {
	return identity.Can(r.Context(), identity.PrincipalFrom(r.Context()), identity.Action(action), identity.ProvinceWide)
}

// authenticate puts the signed-in person (if any) into the request context.
func (a *App) authenticate(next http.Handler) http.Handler { return a.identityHTTP.Authenticate(next) }

// sessionID binds CSRF tokens to the login session.
func (a *App) sessionID(r *http.Request) string { return identity.SessionID(r) }
