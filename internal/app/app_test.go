package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/congso/congso/internal/config"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// testApp starts the whole app on a fresh database of engine d behind an
// httptest server.
func testApp(t *testing.T, d db.Dialect, mutate ...func(*config.Config)) (*App, *httptest.Server) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = dbtest.URL(t, d)
	cfg.SecretKey = strings.Repeat("ab", 32)
	cfg.Demo = "never"
	cfg.RateLimit, cfg.RateBurst = 1000, 1000
	for _, m := range mutate {
		m(&cfg)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(srv.Close)
	return a, srv
}

func eachEngine(t *testing.T, fn func(t *testing.T, d db.Dialect)) {
	for _, d := range dbtest.Engines() {
		t.Run(string(d), func(t *testing.T) { fn(t, d) })
	}
}

func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfFrom(t *testing.T, html string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no CSRF token in page:\n%s", html)
	}
	return m[1]
}

func TestHealthReadyMetrics(t *testing.T) {
	eachEngine(t, func(t *testing.T, d db.Dialect) {
		_, srv := testApp(t, d)
		c := client(t)
		for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`} {
			resp, err := c.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			if b := body(t, resp); resp.StatusCode != 200 || !strings.Contains(b, want) {
				t.Errorf("%s: %d %s", path, resp.StatusCode, b)
			}
		}
		resp, _ := c.Get(srv.URL + "/metrics")
		m := body(t, resp)
		for _, want := range []string{"congso_http_requests_total", `route="GET /healthz"`, "congso_timers_pending", "congso_audit_head_seq"} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		resp, _ = c.Get(srv.URL + "/api/openapi.json")
		var doc map[string]any
		if err := json.Unmarshal([]byte(body(t, resp)), &doc); err != nil || doc["openapi"] == nil {
			t.Errorf("openapi document: %v", err)
		}
		paths, _ := doc["paths"].(map[string]any)
		for _, p := range []string{"/api/v1/procedures", "/api/v1/dossiers", "/api/v1/lookup", "/api/v1/statistics"} {
			if paths[p] == nil {
				t.Errorf("openapi document lacks %s", p)
			}
		}
	})
}

func TestLoginFlowWithCSRFAndAudit(t *testing.T) {
	eachEngine(t, func(t *testing.T, d db.Dialect) {
		a, srv := testApp(t, d)
		ctx := context.Background()
		p, err := a.Identity.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: "nguyenvana", FullName: "Nguyễn Văn A", Password: "mot-mat-khau-dai-2026"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Identity.Grant(ctx, nil, p.ID, identity.RoleSysadmin, identity.ProvinceWide); err != nil {
			t.Fatal(err)
		}
		c := client(t)
		resp, err := c.Get(srv.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		page := body(t, resp)
		token := csrfFrom(t, page)

		// Without the token the form is refused.
		resp, _ = c.PostForm(srv.URL+"/login", url.Values{"username": {"nguyenvana"}, "password": {"mot-mat-khau-dai-2026"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("login without CSRF token: %d", resp.StatusCode)
		}
		body(t, resp)
		// A wrong password shows the form again with an error, no session.
		resp, _ = c.PostForm(srv.URL+"/login", url.Values{"csrf_token": {token}, "username": {"nguyenvana"}, "password": {"sai-mat-khau-roi"}})
		if b := body(t, resp); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(b, "Tên đăng nhập hoặc mật khẩu không đúng") {
			t.Fatalf("wrong password: %d\n%s", resp.StatusCode, b)
		}
		resp, _ = c.PostForm(srv.URL+"/login", url.Values{"csrf_token": {token}, "username": {"NguyenVanA"}, "password": {"mot-mat-khau-dai-2026"}, "next": {"/admin/people"}})
		body(t, resp)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/people" {
			t.Fatalf("login: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, _ = c.Get(srv.URL + "/")
		home := body(t, resp)
		if !strings.Contains(home, "Xin chào, Nguyễn Văn A") || !strings.Contains(home, `href="/admin/people"`) {
			t.Fatalf("home after login lacks greeting or admin card:\n%s", home)
		}
		resp, _ = c.Get(srv.URL + "/api/v1/me")
		if b := body(t, resp); resp.StatusCode != 200 || !strings.Contains(b, "nguyenvana") {
			t.Fatalf("/api/v1/me: %d %s", resp.StatusCode, b)
		}
		// A cookie-based API client sends back the token every API response carries.
		apiToken := resp.Header.Get("X-CSRF-Token")
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/me/password", strings.NewReader(`{"old_password":"sai","new_password":"mot-mat-khau-moi-2026"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, _ = c.Do(req)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("API write without token: %d", resp.StatusCode)
		}
		body(t, resp)
		req, _ = http.NewRequest("POST", srv.URL+"/api/v1/me/password", strings.NewReader(`{"old_password":"sai","new_password":"mot-mat-khau-moi-2026"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", apiToken)
		resp, _ = c.Do(req)
		if b := body(t, resp); resp.StatusCode == http.StatusForbidden && strings.Contains(b, "csrf") {
			t.Fatalf("API write with the exposed token still refused: %s", b)
		}
		// Sign out with the token from the current page.
		resp, _ = c.PostForm(srv.URL+"/logout", url.Values{"csrf_token": {csrfFrom(t, home)}})
		body(t, resp)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		resp, _ = c.Get(srv.URL + "/api/v1/me")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/api/v1/me after logout: %d", resp.StatusCode)
		}
		body(t, resp)
		// Failed and successful sign-ins are in the audit log.
		var n int
		a.DB.Read().QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action LIKE '%login%' OR action LIKE '%sign%'`).Scan(&n)
		if n < 2 {
			t.Fatalf("sign-ins audited: %d entries", n)
		}
	})
}

func TestAPIErrorsAreProblemJSONInVietnamese(t *testing.T) {
	eachEngine(t, func(t *testing.T, d db.Dialect) {
		_, srv := testApp(t, d)
		// A first-time API client has no cookies, so no CSRF token is needed.
		c := &http.Client{}
		for _, tc := range []struct{ body, ctype string }{
			{`{"username": "a", "password": `, "application/json"},
			{`{"username": 5, "password": "x"}`, "application/json"},
			{`{"username": "a", "password": "x", "admin": true}`, "application/json"},
		} {
			resp, err := c.Post(srv.URL+"/api/v1/session", tc.ctype, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b := body(t, resp)
			if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %d %s %s", tc.body, resp.StatusCode, resp.Header.Get("Content-Type"), b)
				continue
			}
			var p struct{ Detail, Code string }
			json.Unmarshal([]byte(b), &p)
			if p.Detail == "" || p.Code == "" || !regexp.MustCompile(`[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]`).MatchString(strings.ToLower(p.Detail)) {
				t.Errorf("%s: detail %q is not a Vietnamese message", tc.body, p.Detail)
			}
		}
		big := strings.NewReader(`{"username":"` + strings.Repeat("a", 2<<20) + `"}`)
		resp, _ := c.Post(srv.URL+"/api/v1/session", "application/json", big)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized body: %d", resp.StatusCode)
		}
		body(t, resp)
		resp, _ = c.Get(srv.URL + "/api/v1/nothing-here")
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("unknown API path: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		body(t, resp)
	})
}

func TestWrongMethodIs405WithAllow(t *testing.T) {
	_, srv := testApp(t, db.SQLite)
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/api/v1/procedures", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, resp)
	if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), "GET") || !strings.Contains(b, "method_not_allowed") {
		t.Fatalf("DELETE /api/v1/procedures: %d Allow=%q %s", resp.StatusCode, resp.Header.Get("Allow"), b)
	}
	resp, _ = http.Get(srv.URL + "/api/v1/no-such-thing")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %d", resp.StatusCode)
	}
	body(t, resp)
}

func TestPublicLookupIsRateLimitedHarder(t *testing.T) {
	_, srv := testApp(t, db.SQLite)
	got429 := 0
	for i := 0; i < 15; i++ {
		resp, err := http.Get(srv.URL + "/api/v1/lookup?code=000.00.13.H99-261129-0001&phone4=" + fmt.Sprintf("%04d", i))
		if err != nil {
			t.Fatal(err)
		}
		body(t, resp)
		if resp.StatusCode == http.StatusTooManyRequests {
			got429++
			if resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
	}
	if got429 < 4 {
		t.Fatalf("15 quick lookups from one client: %d refused, want the ones past the burst of 10", got429)
	}
	// Other API paths keep the general limit.
	for i := 0; i < 15; i++ {
		resp, _ := http.Get(srv.URL + "/api/v1/fields")
		body(t, resp)
		if resp.StatusCode == http.StatusTooManyRequests {
			t.Fatal("the lookup limit applied to another path")
		}
	}
}
