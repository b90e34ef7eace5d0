package oidc_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/web"
)

func migrations() []db.Migration {
	m := append(audit.Migrations(), identity.Migrations()...)
	return append(m, oidc.Migrations()...)
}

const goodPassword = "Hoa sen nở giữa đầm 2026"

// site is the provider with identity's sign-in pages, behind the same
// middleware as the application, on a real loopback server.
type site struct {
	t   *testing.T
	srv *httptest.Server
	d   *db.DB
	ids *identity.Service
	p   *oidc.Provider
}

func newSite(t *testing.T, d *db.DB, tweak ...func(*oidc.Config)) *site {
	t.Helper()
	return newSiteWith(t, d, nil, tweak...)
}

// mounter adds handlers to a site before it serves (federation).
type mounter func(s *site, mux *http.ServeMux, idh *identity.Handlers, pages *identity.Pages, shell *web.Shell, errorPage func(http.ResponseWriter, *http.Request, int))

func newSiteWith(t *testing.T, d *db.DB, mount mounter, tweak ...func(*oidc.Config)) *site {
	t.Helper()
	ctx := context.Background()
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ids, err := identity.NewService(d, identity.Config{PasswordParams: identity.CheapPasswordParams})
	if err != nil {
		t.Fatal(err)
	}
	cfg := oidc.Config{Issuer: srv.URL, KeySecret: []byte(strings.Repeat("s", 32))}
	for _, f := range tweak {
		f(&cfg)
	}
	p, err := oidc.New(ctx, d, ids, cfg)
	if err != nil {
		t.Fatal(err)
	}
	shell, err := web.New(web.Site{ProvinceName: "Tỉnh Demo"})
	if err != nil {
		t.Fatal(err)
	}
	shell.CurrentUser = identity.WebUser
	shell.CSRFToken = httpx.CSRFToken
	wh, err := web.NewHandlers(shell)
	if err != nil {
		t.Fatal(err)
	}
	idh := identity.NewHandlers(ids, identity.HandlerOptions{})
	pages, err := identity.NewPages(idh, shell, wh.ErrorPage)
	if err != nil {
		t.Fatal(err)
	}
	oh, err := oidc.NewHandlers(p, idh, shell, wh.ErrorPage)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	st := &site{t: t, srv: srv, d: d, ids: ids, p: p}
	if mount != nil {
		mount(st, mux, idh, pages, shell, wh.ErrorPage)
	}
	wh.Routes(mux)
	idh.Routes(mux)
	pages.Routes(mux)
	oh.Routes(mux)
	csrf, err := httpx.CSRF(httpx.CSRFConfig{Key: []byte(strings.Repeat("k", 32)), SessionID: identity.SessionID, Exempt: oidc.CSRFExempt})
	if err != nil {
		t.Fatal(err)
	}
	h := httpx.Chain(httpx.AssignRequestID, idh.Authenticate, csrf)(mux)
	handler.Store(&h)
	return st
}

// official creates an official with a position and a grant.
func (s *site) official(username string) identity.Person {
	s.t.Helper()
	ctx := context.Background()
	p, err := s.ids.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindOfficial, Username: username,
		FullName: "Nguyễn Văn An", Email: username + "@tinh.gov.vn", Password: goodPassword})
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.ids.AddPosition(ctx, nil, p.ID, identity.NewPosition{Title: "Chuyên viên", UnitID: "unit-xd", AgencyID: "000.00.12.H56"}); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.ids.Grant(ctx, nil, p.ID, identity.RoleHandler, "unit-xd"); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// auditActions returns the actions in the audit log, oldest first.
func (s *site) auditActions() []string {
	s.t.Helper()
	var out []string
	cursor := ""
	for {
		es, next, err := audit.List(context.Background(), s.d, audit.Filter{Limit: 500, Cursor: cursor})
		if err != nil {
			s.t.Fatal(err)
		}
		for i := len(es) - 1; i >= 0; i-- {
			out = append([]string{es[i].Action}, out...)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return out
}

func countOf(v []string, s string) int {
	n := 0
	for _, x := range v {
		if x == s {
			n++
		}
	}
	return n
}

// browser is a person's browser: a cookie jar, redirects not followed.
type browser struct {
	t      *testing.T
	site   *site
	client *http.Client
}

func (s *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, site: s, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, rawURL string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	if !strings.HasPrefix(rawURL, "http") {
		rawURL = b.site.srv.URL + rawURL
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, rawURL, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Header
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// formOf returns the hidden fields of the first form in page (CSRF token
// included), unescaped.
func formOf(t *testing.T, page string) url.Values {
	t.Helper()
	f := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(page, -1) {
		f.Add(m[1], htmlUnescape(m[2]))
	}
	if f.Get("csrf_token") == "" {
		t.Fatalf("no CSRF token in\n%s", page)
	}
	return f
}

func htmlUnescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`, "&#43;", "+")
	return r.Replace(s)
}

// signIn follows a redirect to the sign-in page, posts the form and returns
// where the login page sends the browser next.
func (b *browser) signIn(loginURL, username, password string) string {
	b.t.Helper()
	status, page, _ := b.do("GET", loginURL, nil)
	if status != 200 {
		b.t.Fatalf("login page %s: %d", loginURL, status)
	}
	f := formOf(b.t, page)
	f.Set("username", username)
	f.Set("password", password)
	status, page, hdr := b.do("POST", "/login", f)
	if status != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d\n%s", status, page)
	}
	return hdr.Get("Location")
}
