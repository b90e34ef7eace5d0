package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/congso/congso/internal/identity/federation"
	"github.com/congso/congso/internal/identity/oidc"
)

// derivedKey is a 32-byte key for one purpose, derived from the site's
// secret key (CONGSO_SECRET_KEY), so that one secret serves every use
// without two uses sharing a key.
func (a *App) derivedKey(purpose string) []byte {
	m := hmac.New(sha256.New, a.Cfg.Secret())
	m.Write([]byte("congso/" + purpose))
	return m.Sum(nil)
}

// initSSO starts the province's OpenID Connect provider (always: congso's
// own pages and the province's other systems sign in through it).
func (a *App) initSSO(ctx context.Context) error {
	cfg := oidc.Config{Issuer: strings.TrimRight(a.Cfg.BaseURL, "/"), KeySecret: a.derivedKey("oidc"), Log: a.Log,
		SigningAlg: getenv("CONGSO_OIDC_SIGNING_ALG")}
	if v := getenv("CONGSO_OIDC_ISSUER"); v != "" {
		cfg.Issuer = strings.TrimRight(v, "/")
	}
	if v := getenv("CONGSO_OIDC_KEY_SECRET"); v != "" {
		if len(v) < 32 {
			return fmt.Errorf("CONGSO_OIDC_KEY_SECRET must have at least 32 bytes")
		}
		cfg.KeySecret = []byte(v)
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"CONGSO_OIDC_ACCESS_TOKEN_TTL", &cfg.AccessTokenLifespan}, {"CONGSO_OIDC_ID_TOKEN_TTL", &cfg.IDTokenLifespan},
		{"CONGSO_OIDC_REFRESH_TOKEN_TTL", &cfg.RefreshTokenLifespan}, {"CONGSO_OIDC_CODE_TTL", &cfg.CodeLifespan},
		{"CONGSO_OIDC_KEY_ROTATION", &cfg.KeyRotation}} {
		if v := getenv(d.key); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				return fmt.Errorf("%s: %q is not a positive duration", d.key, v)
			}
			*d.dst = x
		}
	}
	var err error
	a.OIDC, err = oidc.New(ctx, a.DB, a.Identity, cfg)
	if err != nil {
		return fmt.Errorf("oidc provider: %w", err)
	}
	a.workers = append(a.workers, worker{name: "oidc-keys", run: every(time.Hour, a.OIDC.Maintain, a)})
	return nil
}

// routeSSO serves the provider's endpoints and pages, and the VNeID
// sign-in when it is configured.
func (a *App) routeSSO(mux *http.ServeMux) error {
	h, err := oidc.NewHandlers(a.OIDC, a.identityHTTP, a.Shell, a.Web.ErrorPage)
	if err != nil {
		return err
	}
	h.Routes(mux)
	a.Shell.AddNav(oidc.NavItems()...)
	if iss := getenv("CONGSO_VNEID_ISSUER"); iss != "" {
		fc := federation.Config{Issuer: iss, ClientID: getenv("CONGSO_VNEID_CLIENT_ID"), ClientSecret: getenv("CONGSO_VNEID_CLIENT_SECRET"),
			RedirectURL: getenv("CONGSO_VNEID_REDIRECT_URL"), ACRValues: getenv("CONGSO_VNEID_ACR_VALUES"),
			ClaimPersonalID: getenv("CONGSO_VNEID_CLAIM_PERSONAL_ID"), ClaimFullName: getenv("CONGSO_VNEID_CLAIM_NAME"),
			Label: getenv("CONGSO_VNEID_LABEL"), CookieKey: a.derivedKey("federation"), SecureCookies: a.Cfg.SecureCookies,
			DB: a.DB, Log: a.Log}
		if fc.RedirectURL == "" {
			fc.RedirectURL = strings.TrimRight(a.Cfg.BaseURL, "/") + "/login/vneid/callback"
		}
		if v := getenv("CONGSO_VNEID_SCOPES"); v != "" {
			fc.Scopes = strings.Fields(v)
		}
		fed, err := federation.New(fc, a.Identity, a.identityHTTP, a.Shell, a.Web.ErrorPage)
		if err != nil {
			return fmt.Errorf("VNeID federation: %w", err)
		}
		fed.Routes(mux)
		a.identityPages.AddExternalLogin(fed.LoginButton())
	}
	return nil
}

// tokenEndpoint tells the requests of systems to the token endpoint,
// which the per-client rate limit leaves alone (client credentials come
// from a few servers at high rates; the endpoint authenticates each).
func tokenEndpoint(r *http.Request) bool { return r.URL.Path == oidc.PathToken }
