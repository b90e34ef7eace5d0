package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/config"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/calendar/calendardb"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
	"github.com/congso/congso/internal/web"
	"github.com/congso/congso/internal/workflow"
)

// Version is set at build time with -ldflags "-X github.com/congso/congso/internal/app.Version=…".
var Version = "dev"

// App is one running congso process.
type App struct {
	Cfg    config.Config
	Log    *slog.Logger
	DB     *db.DB
	Blobs  blob.Store
	Outbox *outbox.Dispatcher
	Timers *timer.Scheduler
	Shell  *web.Shell
	Web    *web.Handlers

	// Handler is the whole HTTP surface with middleware applied.
	Handler http.Handler

	Catalog  *catalog.Service
	Identity *identity.Service
	Calendar *calendardb.Provider
	Workflow *workflow.Service
	Dossier  *dossier.Service
	Stats    *stats.Service
	services
	gatewayParts

	OIDC *oidc.Provider

	identityHTTP  *identity.Handlers
	identityPages *identity.Pages
	trusted       []netip.Prefix
	workers       []worker // background work: not on --role=web nodes
	always        []worker // runs on every node
	started       time.Time
	openapi       []byte
	tracer        *sdktrace.TracerProvider // nil: no tracing
}

type worker struct {
	name string
	run  func(ctx context.Context) error
}

// Migrations lists every module's schema changes in dependency order.
func Migrations() []db.Migration {
	var m []db.Migration
	for _, mod := range modules() {
		m = append(m, mod.migrations()...)
	}
	return m
}

// Open connects to the database and blob store and applies migrations; it does
// not build the HTTP surface (the CLI's migrate, user and audit commands use it).
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	a := &App{Cfg: cfg, Log: log, started: time.Now()}
	d, err := db.Open(ctx, cfg.DatabaseURL, db.Options{})
	if err != nil {
		return nil, err
	}
	a.DB = d
	if err := d.Migrate(ctx, Migrations()); err != nil {
		d.Close()
		return nil, err
	}
	bs, err := blob.Open(ctx, cfg.BlobURL, blob.WithMaxSize(cfg.MaxUploadBytes))
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("blob store: %w", err)
	}
	a.Blobs = bs
	if err := a.initPlatform(ctx); err != nil {
		d.Close()
		return nil, err
	}
	if err := a.initModules(ctx); err != nil {
		d.Close()
		return nil, err
	}
	if err := a.startPlatform(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return a, nil
}

// New opens everything and builds the HTTP handler.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	a, err := Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := a.BuildHTTP(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close releases the database.
func (a *App) Close() error { return a.DB.Close() }

// BuildHTTP builds the HTTP surface (call after any demo loading, so the UI
// knows whether demo data is present).
func (a *App) BuildHTTP() error {
	shell, err := web.New(web.Site{ProvinceName: a.Cfg.ProvinceName, Demo: a.DemoPresent(context.Background()), Version: Version})
	if err != nil {
		return err
	}
	shell.Log = a.Log
	shell.CSRFToken = httpx.CSRFToken
	a.Shell = shell
	wh, err := web.NewHandlers(shell)
	if err != nil {
		return err
	}
	a.Web = wh

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	a.registerMetrics()
	mux.Handle("GET /metrics", httpx.MetricsHandler())
	if a.Cfg.Role != "worker" && a.Cfg.Role != "gateway" {
		wh.Routes(mux)
		doc, err := openAPIDocument(a.fragments())
		if err != nil {
			return fmt.Errorf("openapi: %w", err)
		}
		a.openapi = doc
		mux.HandleFunc("GET /api/openapi.json", a.serveOpenAPI)
		if err := a.routeModules(mux); err != nil {
			return err
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			httpx.Error(w, r, &httpx.Err{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed"})
			return
		}
		if isAPI(r) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			httpx.Error(w, r, httpx.NotFound("not_found"))
			return
		}
		wh.NotFound(w, r)
	})

	csrf, err := httpx.CSRF(httpx.CSRFConfig{Key: a.Cfg.Secret(), Secure: a.Cfg.SecureCookies, SessionID: a.sessionID,
		Exempt: oidc.CSRFExempt})
	if err != nil {
		return err
	}
	a.Handler = httpx.Chain(
		httpx.AssignRequestID,
		httpx.AccessLog(a.Log),
		httpx.Recover,
		httpx.Metrics,
		httpx.SecurityHeaders(a.Cfg.SecureCookies),
		exceptFor(tokenEndpoint, httpx.RateLimit(httpx.RateLimitConfig{Rate: a.Cfg.RateLimit, Burst: a.Cfg.RateBurst, TrustedProxies: a.trusted})),
		a.lookupLimit(),
		identity.SignInLimit(a.trusted),
		httpx.BodyLimit(a.Cfg.MaxUploadBytes),
		httpx.KeepPattern(a.authenticate),
		httpx.KeepPattern(csrf),
		exposeCSRFToken,
	)(mux)
	return nil
}

// exceptFor applies mw to every request but those skip picks.
func exceptFor(skip func(*http.Request) bool, mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		wrapped := mw(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if skip(r) {
				next.ServeHTTP(w, r)
				return
			}
			wrapped.ServeHTTP(w, r)
		})
	}
}

// allowedMethods lists the methods routed for r's path other than the
// catch-all, so a wrong method gets 405 with Allow rather than 404.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := mux.Handler(r2); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	return allow
}

// lookupLimit is a much stricter per-client limit on the public dossier
// lookup, whose second factor is only the last 4 digits of a phone number:
// 10 tries at once, then one every 5 seconds, so guessing one dossier's
// digits from one address takes hours (one-stop.md §9).
func (a *App) lookupLimit() func(http.Handler) http.Handler {
	limit := httpx.RateLimit(httpx.RateLimitConfig{Rate: 0.2, Burst: 10, TrustedProxies: a.trusted})
	return func(next http.Handler) http.Handler {
		limited := limit(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/v1/lookup") || strings.HasPrefix(r.URL.Path, "/lookup") {
				limited.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// exposeCSRFToken gives API clients that use the session cookie the token
// they must send back in X-CSRF-Token on unsafe requests: every API response
// carries it in the same header. Other origins cannot read it (no CORS).
func exposeCSRFToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPI(r) {
			if tok := httpx.CSRFToken(r); tok != "" {
				w.Header().Set(httpx.CSRFHeader, tok)
			}
		}
		next.ServeHTTP(w, r)
	})
}

func isAPI(r *http.Request) bool {
	return len(r.URL.Path) >= 5 && r.URL.Path[:5] == "/api/"
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": Version, "uptime_seconds": int(time.Since(a.started).Seconds())})
}

func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.DB.Ping(ctx); err != nil {
		httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "database": "unreachable"})
		return
	}
	pend, err := a.DB.Pending(ctx, Migrations())
	if err != nil || len(pend) > 0 {
		httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "pending_migrations": len(pend)})
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"status": "ready", "database": string(a.DB.Dialect())})
}

var (
	metricsOnce sync.Once
	metricsApp  atomic.Pointer[App]
)

// registerMetrics adds the platform collector to the default registry, once
// per process; it reports on the most recently built app (tests build several).
func (a *App) registerMetrics() {
	metricsApp.Store(a)
	metricsOnce.Do(func() {
		prometheus.MustRegister(newPlatformCollector(), gateway.NewHealthCollector(func() gateway.Watched {
			a := metricsApp.Load()
			if a == nil || a.GatewayPubSub == nil {
				return gateway.Watched{}
			}
			w := gateway.Watched{DB: a.DB, PubSub: a.GatewayPubSub}
			if a.Cfg.Role == "all" || a.Cfg.Role == "gateway" { // (a worker builds a runtime to publish hand-offs, and runs none)
				w.Runtime, w.Cert = a.GatewayRuntime, a.gatewayCert
			}
			return w
		}))
	})
}
