package identity_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/congso/congso/internal/identity"
)

// Security: rate limits on sign-in per address, besides the account lockout.
func TestSignInLimit(t *testing.T) {
	h := identity.SignInLimit(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	post := func(path string) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", path, nil)
		req.RemoteAddr = "198.51.100.9:5000"
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := 0; i < 10; i++ {
		if c := post("/login"); c != 204 {
			t.Fatalf("try %d: %d", i, c)
		}
	}
	if c := post("/login/mfa"); c != http.StatusTooManyRequests {
		t.Fatalf("11th sign-in post: %d", c)
	}
	if c := post("/oauth2/token"); c != 204 {
		t.Fatalf("other paths are not limited here: %d", c)
	}
}
