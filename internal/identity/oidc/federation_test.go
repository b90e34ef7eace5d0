package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/identity/federation"
	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/web"
)

// follow does one request with b's cookie jar at an absolute or relative
// (to base) URL and returns the status, page and the absolute Location.
func (b *browser) follow(base, target string, form url.Values) (int, string, string) {
	b.t.Helper()
	bu, _ := url.Parse(base)
	tu, err := bu.Parse(target)
	if err != nil {
		b.t.Fatal(err)
	}
	method := "GET"
	if form != nil {
		method = "POST"
	}
	status, page, hdr := b.do(method, tu.String(), form)
	loc := ""
	if l := hdr.Get("Location"); l != "" {
		lu, _ := tu.Parse(l)
		loc = lu.String()
	}
	return status, page, loc
}

// Identity and SSO: citizens sign in through the national e-ID (an OIDC
// provider), mapped by the personal ID number claim. The national provider
// here is a second instance of our own provider, on another loopback host
// name so the two sites' cookies stay apart.
func TestFederatedSignIn(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ext := newSite(t, dbtest.Open(t, d.Dialect(), migrations()), func(c *oidc.Config) {
			c.Issuer = strings.Replace(c.Issuer, "127.0.0.1", "localhost", 1)
		})
		extIssuer := ext.p.Config().Issuer
		if _, err := ext.ids.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindApplicant, Username: "binh",
			FullName: "Trần Thị Bình", PersonalID: "001099012345", Password: goodPassword}); err != nil {
			t.Fatal(err)
		}
		var secret string
		site := newSiteWith(t, d, func(s *site, mux *http.ServeMux, idh *identity.Handlers, pages *identity.Pages, shell *web.Shell, ep func(http.ResponseWriter, *http.Request, int)) {
			var err error
			_, secret, err = ext.p.CreateClient(ctx, nil, oidc.ClientInput{ID: "congso-tinh", Name: "Cổng tỉnh",
				RedirectURIs: []string{s.srv.URL + "/login/vneid/callback"}, GrantTypes: []string{oidc.GrantAuthorizationCode},
				Scopes: []string{"openid", "profile", "cccd"}, FirstParty: true})
			if err != nil {
				t.Fatal(err)
			}
			fed, err := federation.New(federation.Config{Issuer: extIssuer, ClientID: "congso-tinh", ClientSecret: secret,
				RedirectURL: s.srv.URL + "/login/vneid/callback", Scopes: []string{"openid", "profile", "cccd"},
				ACRValues: "loa3", CookieKey: []byte(strings.Repeat("f", 32)), DB: d}, s.ids, idh, shell, ep)
			if err != nil {
				t.Fatal(err)
			}
			fed.Routes(mux)
			pages.AddExternalLogin(fed.LoginButton())
		})
		base := site.srv.URL
		b := site.browser()

		status, page, _ := b.follow(base, "/login?next=/dossiers", nil)
		if status != 200 || !strings.Contains(page, `href="/login/vneid?next=%2fdossiers"`) && !strings.Contains(page, `href="/login/vneid?next=%2Fdossiers"`) {
			t.Fatalf("no e-ID button on the login page:\n%s", page)
		}
		// Round trip: our site → the national provider's sign-in → back.
		status, _, loc := b.follow(base, "/login/vneid?next=/dossiers", nil)
		if status != http.StatusSeeOther || !strings.HasPrefix(loc, extIssuer+"/oauth2/authorize") || !strings.Contains(loc, "acr_values=loa3") ||
			!strings.Contains(loc, "code_challenge_method=S256") {
			t.Fatalf("start: %d %s", status, loc)
		}
		status, _, loc = b.follow(loc, loc, nil)
		if status != http.StatusSeeOther || !strings.HasPrefix(loc, extIssuer+"/login") {
			t.Fatalf("provider should ask to sign in: %d %s", status, loc)
		}
		_, page, _ = b.follow(loc, loc, nil)
		f := formOf(t, page)
		f.Set("username", "binh")
		f.Set("password", goodPassword)
		status, _, loc = b.follow(extIssuer, "/login", f)
		for i := 0; i < 3 && status == http.StatusSeeOther && !strings.HasPrefix(loc, base); i++ {
			status, _, loc = b.follow(loc, loc, nil)
		}
		if !strings.HasPrefix(loc, base+"/login/vneid/callback") {
			t.Fatalf("provider did not come back: %d %s", status, loc)
		}
		status, page, loc = b.follow(loc, loc, nil)
		if status != http.StatusSeeOther || loc != base+"/account/profile/complete?next=%2Fdossiers" {
			t.Fatalf("callback: %d %s\n%s", status, loc, page)
		}
		person, err := site.ids.PersonByPersonalID(ctx, "001099012345")
		if err != nil || person.Kind != identity.KindApplicant || person.FullName != "Trần Thị Bình" || person.HasPassword {
			t.Fatalf("account created: %+v %v", person, err)
		}
		// First sign-in: contact details.
		_, page, _ = b.follow(base, "/account/profile/complete?next=/dossiers", nil)
		f = formOf(t, page)
		status, page, _ = b.follow(base, "/account/profile/complete", f)
		if status != 422 || !strings.Contains(page, "aria-invalid") {
			t.Fatalf("empty profile accepted: %d", status)
		}
		f.Set("phone", "0912 345 678")
		status, _, loc = b.follow(base, "/account/profile/complete", f)
		if status != http.StatusSeeOther || loc != base+"/dossiers" {
			t.Fatalf("complete: %d %s", status, loc)
		}
		if p, _ := site.ids.GetPerson(ctx, person.ID); p.Phone != "0912345678" {
			t.Fatalf("phone not saved: %q", p.Phone)
		}
		ss, _ := site.ids.ListSessions(ctx, person.ID)
		if len(ss) != 1 || ss[0].Method != "oidc:"+extIssuer {
			t.Fatalf("session: %+v", ss)
		}

		// A second sign-in links to the same account and skips the form.
		b2 := site.browser()
		_, _, loc = b2.follow(base, "/login/vneid?next=/", nil)
		_, _, loc = b2.follow(loc, loc, nil)
		_, page, _ = b2.follow(loc, loc, nil)
		f = formOf(t, page)
		f.Set("username", "binh")
		f.Set("password", goodPassword)
		status, _, loc = b2.follow(extIssuer, "/login", f)
		for i := 0; i < 3 && status == http.StatusSeeOther && !strings.HasPrefix(loc, base); i++ {
			status, _, loc = b2.follow(loc, loc, nil)
		}
		status, _, loc = b2.follow(loc, loc, nil)
		if status != http.StatusSeeOther || loc != base+"/" {
			t.Fatalf("second sign-in: %d %s", status, loc)
		}
		if page, _ := site.ids.ListPeople(ctx, identity.PeopleFilter{Kind: identity.KindApplicant}); len(page.People) != 1 {
			t.Fatalf("%d applicants after two sign-ins", len(page.People))
		}

		// A forged or replayed callback is refused and audited.
		b3 := site.browser()
		status, page, _ = b3.follow(base, "/login/vneid/callback?code=x&state=y", nil)
		if status != 400 || !strings.Contains(page, "bad_state") {
			t.Fatalf("callback without flow: %d", status)
		}
		if countOf(site.auditActions(), federation.AuditFederationFailed) != 1 {
			t.Fatal("refused federated sign-in not audited")
		}
	})
}
