package identity

import (
	"net/http"
	"net/netip"

	"github.com/congso/congso/internal/platform/httpx"
)

// SignInLimit is a per-address limit on the sign-in posts (password and
// second factor, pages and API): 10 tries at once, then one every 3
// seconds. It complements the per-account lockout (Config.Lockout), which
// alone would let one address try one password on many accounts.
func SignInLimit(trusted []netip.Prefix) func(http.Handler) http.Handler {
	limit := httpx.RateLimit(httpx.RateLimitConfig{Rate: 1.0 / 3, Burst: 10, TrustedProxies: trusted})
	return func(next http.Handler) http.Handler {
		limited := limit(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				switch r.URL.Path {
				case "/login", "/login/mfa", "/api/v1/session", "/api/v1/session/mfa":
					limited.ServeHTTP(w, r)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
