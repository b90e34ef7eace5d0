package httpx

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// csrfApp serves GET /form with the token as body and accepts POST /submit.
func csrfApp(t *testing.T, cfg CSRFConfig) http.Handler {
	t.Helper()
	if cfg.Key == nil {
		cfg.Key = testKey
	}
	mw, err := CSRF(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, CSRFToken(r))
	})
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "accepted "+r.FormValue("name"))
	})
	return mw(mux)
}

// visit GETs the form page and returns the CSRF cookie and the rendered token.
func visit(t *testing.T, h http.Handler, cookies ...*http.Cookie) (*http.Cookie, string) {
	t.Helper()
	r := httptest.NewRequest("GET", "/form", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	rec := serve(h, r)
	if rec.Code != 200 {
		t.Fatalf("GET /form: %d %s", rec.Code, rec.Body)
	}
	res := rec.Result()
	for _, c := range res.Cookies() {
		if strings.HasSuffix(c.Name, "csrf") {
			return c, rec.Body.String()
		}
	}
	if len(cookies) > 0 {
		return cookies[0], rec.Body.String()
	}
	t.Fatal("GET /form set no CSRF cookie")
	return nil, ""
}

func formPost(body url.Values, cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest("POST", "/submit", strings.NewReader(body.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

func TestCSRFIssuesCookieAndMaskedTokens(t *testing.T) {
	h := csrfApp(t, CSRFConfig{})
	cookie, token1 := visit(t, h)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.Secure || cookie.Name != "csrf" {
		t.Errorf("cookie = %+v", cookie)
	}
	if token1 == "" {
		t.Fatal("CSRFToken is empty")
	}
	again, token2 := visit(t, h, cookie)
	if again.Value != cookie.Value {
		t.Error("the cookie changed although it was valid")
	}
	if token1 == token2 {
		t.Error("two renders gave the same token; tokens must be masked afresh")
	}
	for i, tok := range []string{token1, token2} {
		rec := serve(h, formPost(url.Values{"csrf_token": {tok}, "name": {"An"}}, cookie))
		if rec.Code != 200 || rec.Body.String() != "accepted An" {
			t.Errorf("token %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
}

func TestCSRFSecureCookie(t *testing.T) {
	cookie, _ := visit(t, csrfApp(t, CSRFConfig{Secure: true}))
	if cookie.Name != "__Host-csrf" || !cookie.Secure || cookie.Domain != "" || cookie.Path != "/" {
		t.Errorf("secure cookie = %+v", cookie)
	}
}

func TestCSRFRejections(t *testing.T) {
	h := csrfApp(t, CSRFConfig{})
	cookie, token := visit(t, h)
	otherCookie, otherToken := visit(t, h)
	session := &http.Cookie{Name: "session", Value: "s1"}

	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"missing token", func() *http.Request { return formPost(url.Values{"name": {"x"}}, cookie) }},
		{"garbage token", func() *http.Request { return formPost(url.Values{"csrf_token": {"abc"}}, cookie) }},
		{"token of another cookie", func() *http.Request { return formPost(url.Values{"csrf_token": {otherToken}}, cookie) }},
		{"cookie of another token", func() *http.Request { return formPost(url.Values{"csrf_token": {token}}, otherCookie) }},
		{"tampered token", func() *http.Request {
			b := []byte(token)
			b[len(b)-2] ^= 1
			return formPost(url.Values{"csrf_token": {string(b)}}, cookie)
		}},
		{"session cookie but no csrf cookie", func() *http.Request { return formPost(url.Values{"csrf_token": {token}}, session) }},
		{"token in the query string only", func() *http.Request {
			r := formPost(url.Values{}, cookie)
			r.URL.RawQuery = "csrf_token=" + url.QueryEscape(token)
			return r
		}},
		{"JSON with cookie and no header", func() *http.Request {
			r := httptest.NewRequest("POST", "/submit", strings.NewReader(`{}`))
			r.Header.Set("Content-Type", "application/json")
			r.AddCookie(cookie)
			return r
		}},
		{"cross-site form, even with a valid token", func() *http.Request {
			r := formPost(url.Values{"csrf_token": {token}}, cookie)
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return r
		}},
		{"cross-site without cookies (login CSRF)", func() *http.Request {
			r := formPost(url.Values{"user": {"attacker"}})
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return r
		}},
		{"foreign Origin from an old browser", func() *http.Request {
			r := formPost(url.Values{"user": {"attacker"}})
			r.Header.Set("Origin", "https://evil.example")
			return r
		}},
		{"DELETE without token", func() *http.Request {
			r := httptest.NewRequest("DELETE", "/submit", nil)
			r.AddCookie(cookie)
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, tt.req())
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403; body %s", rec.Code, rec.Body)
			}
			if p := problemOf(t, rec); p.Code != "csrf_failed" || !strings.Contains(p.Detail, "Biểu mẫu đã hết hạn") {
				t.Errorf("problem = %+v", p)
			}
		})
	}
}

func TestCSRFAcceptances(t *testing.T) {
	h := csrfApp(t, CSRFConfig{
		TrustedOrigins: []string{"https://portal.example.gov.vn"},
		Exempt:         func(r *http.Request) bool { return r.URL.Query().Has("callback") },
	})
	cookie, token := visit(t, h)

	multipartPost := func() *http.Request {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("csrf_token", token)
		mw.WriteField("name", "Bình")
		fw, _ := mw.CreateFormFile("file", "cccd.pdf")
		fw.Write([]byte("%PDF-1.7"))
		mw.Close()
		r := httptest.NewRequest("POST", "/submit", &body)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		r.AddCookie(cookie)
		return r
	}
	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"form token", func() *http.Request { return formPost(url.Values{"csrf_token": {token}}, cookie) }},
		{"header token with JSON", func() *http.Request {
			r := httptest.NewRequest("POST", "/submit", strings.NewReader(`{}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set(CSRFHeader, token)
			r.AddCookie(cookie)
			return r
		}},
		{"multipart form token", multipartPost},
		{"same-origin browser", func() *http.Request {
			r := formPost(url.Values{"csrf_token": {token}}, cookie)
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			r.Header.Set("Origin", "http://example.com")
			return r
		}},
		{"trusted origin", func() *http.Request {
			r := formPost(url.Values{"csrf_token": {token}}, cookie)
			r.Header.Set("Sec-Fetch-Site", "same-site")
			r.Header.Set("Origin", "https://portal.example.gov.vn")
			return r
		}},
		{"bearer API client with cookies", func() *http.Request {
			r := formPost(url.Values{}, cookie)
			r.Header.Set("Authorization", "Bearer eyJ.token")
			return r
		}},
		{"no cookies at all", func() *http.Request { return formPost(url.Values{"name": {"server"}}) }},
		{"exempt path", func() *http.Request {
			r := formPost(url.Values{}, cookie)
			r.URL.RawQuery = "callback=1"
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return r
		}},
		{"GET needs nothing", func() *http.Request {
			r := httptest.NewRequest("GET", "/form", nil)
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := serve(h, tt.req()); rec.Code != 200 {
				t.Errorf("status %d, want 200; body %s", rec.Code, rec.Body)
			}
		})
	}
	if rec := serve(h, multipartPost()); rec.Body.String() != "accepted Bình" {
		t.Errorf("handler cannot read the multipart form after the check: %q", rec.Body)
	}
}

func TestCSRFTokenBoundToSession(t *testing.T) {
	h := csrfApp(t, CSRFConfig{SessionID: func(r *http.Request) string {
		if c, err := r.Cookie("session"); err == nil {
			return c.Value
		}
		return ""
	}})
	alice := &http.Cookie{Name: "session", Value: "alice"}
	cookie, token := visit(t, h, alice)
	if rec := serve(h, formPost(url.Values{"csrf_token": {token}}, cookie, alice)); rec.Code != 200 {
		t.Errorf("same session: %d", rec.Code)
	}
	bob := &http.Cookie{Name: "session", Value: "bob"}
	if rec := serve(h, formPost(url.Values{"csrf_token": {token}}, cookie, bob)); rec.Code != 403 {
		t.Errorf("token used in another session: %d, want 403", rec.Code)
	}
}

func TestCSRFTooLargeFormIs413(t *testing.T) {
	h := BodyLimit(64)(csrfApp(t, CSRFConfig{}))
	cookie, token := visit(t, h)
	r := formPost(url.Values{"csrf_token": {token}, "pad": {strings.Repeat("x", 100)}}, cookie)
	r.ContentLength = -1 // not declared: found while parsing the form
	if rec := serve(h, r); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413; body %s", rec.Code, rec.Body)
	}
}

func TestCSRFConfigErrors(t *testing.T) {
	if _, err := CSRF(CSRFConfig{Key: []byte("short")}); err == nil {
		t.Error("short key accepted")
	}
	if _, err := CSRF(CSRFConfig{Key: testKey, TrustedOrigins: []string{"not a url"}}); err == nil {
		t.Error("malformed trusted origin accepted")
	}
	if got := CSRFToken(httptest.NewRequest("GET", "/", nil)); got != "" {
		t.Errorf("CSRFToken without the middleware = %q", got)
	}
}
