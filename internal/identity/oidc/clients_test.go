package oidc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

func (b *browser) api(method, path, csrf string, body any) (int, map[string]any, http.Header) {
	b.t.Helper()
	var rd *strings.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = strings.NewReader(string(j))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, b.site.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, resp.Header
}

func TestClientRegistry(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		ctx := context.Background()
		admin := s.official("quantri")
		if _, err := s.ids.Grant(ctx, nil, admin.ID, identity.RoleSysadmin, identity.ProvinceWide); err != nil {
			t.Fatal(err)
		}
		s.official("canbo.an")

		// Anonymous and ordinary officials are refused.
		if st, body, _ := s.browser().api("GET", "/api/v1/oauth-clients", "", nil); st != 401 || body["code"] == nil {
			t.Fatalf("anonymous: %d %v", st, body)
		}
		officer := s.signedIn("canbo.an")
		if st, _, _ := officer.api("GET", "/api/v1/oauth-clients", "", nil); st != 403 {
			t.Fatalf("official: %d", st)
		}
		if st, _, _ := officer.do("GET", "/admin/clients", nil); st != 403 {
			t.Fatalf("official on the admin page: %d", st)
		}

		b := s.signedIn("quantri")
		_, page, _ := b.do("GET", "/admin/clients/new", nil)
		csrf := formOf(t, page).Get("csrf_token")
		in := map[string]any{"client_id": "mot-cua", "name": "Phần mềm một cửa", "grant_types": []string{"client_credentials"},
			"scopes": []string{"dossier.read"}}
		st, created, hdr := b.api("POST", "/api/v1/oauth-clients", csrf, in)
		secret, _ := created["client_secret"].(string)
		if st != 201 || len(secret) < 40 || hdr.Get("Location") != "/api/v1/oauth-clients/mot-cua" {
			t.Fatalf("create: %d %v", st, created)
		}
		if st, got, _ := b.api("GET", "/api/v1/oauth-clients/mot-cua", "", nil); st != 200 || got["client_secret"] != nil || got["name"] != "Phần mềm một cửa" {
			t.Fatalf("get: %d %v", st, got)
		}
		if st, _, _ := b.api("POST", "/api/v1/oauth-clients", csrf, in); st != 409 {
			t.Fatalf("duplicate: %d", st)
		}
		// Redirect URIs: exact, https (or http on loopback), no fragment.
		for _, bad := range []string{"http://portal.tinh.gov.vn/cb", "https://portal.tinh.gov.vn/cb#x", "javascript:alert(1)", "/relative"} {
			upd := map[string]any{"name": "X", "grant_types": []string{"authorization_code"}, "redirect_uris": []string{bad}}
			st, body, _ := b.api("PUT", "/api/v1/oauth-clients/mot-cua", csrf, upd)
			if st != 422 || !strings.Contains(toJSON(body), "redirect_uris") {
				t.Fatalf("redirect URI %s: %d %v", bad, st, body)
			}
		}
		// Public clients cannot use client credentials.
		if st, _, _ := b.api("POST", "/api/v1/oauth-clients", csrf, map[string]any{"client_id": "spa", "name": "SPA",
			"grant_types": []string{"client_credentials"}, "public": true}); st != 422 {
			t.Fatalf("public client with client credentials: %d", st)
		}
		// Rotating the secret: the old one stops working at once.
		cc := clientcredentials.Config{ClientID: "mot-cua", ClientSecret: secret, TokenURL: s.srv.URL + oidc.PathToken, Scopes: []string{"dossier.read"}}
		if _, err := cc.Token(ctx); err != nil {
			t.Fatal(err)
		}
		st, rot, _ := b.api("POST", "/api/v1/oauth-clients/mot-cua/secret", csrf, nil)
		if st != 200 || rot["client_secret"] == secret {
			t.Fatalf("rotate: %d %v", st, rot)
		}
		if _, err := cc.Token(ctx); !isOAuthError(err, "invalid_client") {
			t.Fatalf("old secret after rotation: %v", err)
		}
		cc.ClientSecret = rot["client_secret"].(string)
		if _, err := cc.Token(ctx); err != nil {
			t.Fatalf("new secret: %v", err)
		}
		// Disabling a client stops it.
		if st, _, _ := b.api("PUT", "/api/v1/oauth-clients/mot-cua", csrf, map[string]any{"name": "Phần mềm một cửa",
			"grant_types": []string{"client_credentials"}, "scopes": []string{"dossier.read"}, "disabled": true}); st != 200 {
			t.Fatalf("disable: %d", st)
		}
		if _, err := cc.Token(ctx); !isOAuthError(err, "invalid_client") {
			t.Fatalf("disabled client: %v", err)
		}

		// The pages: create shows the secret once, the list shows the client.
		f := formOf(t, page)
		f.Set("id", "cong-dvc")
		f.Set("name", "Cổng dịch vụ công")
		f.Set("redirect_uris", "https://dichvucong.tinh.gov.vn/cb\r\nhttps://dichvucong.tinh.gov.vn/cb2")
		f["grant_types"] = []string{"authorization_code", "refresh_token"}
		f.Set("scopes", "openid profile cccd")
		st, page, _ = b.do("POST", "/admin/clients", f)
		if st != 200 || !strings.Contains(page, "chỉ hiển thị một lần") || !strings.Contains(page, `id="secret"`) {
			t.Fatalf("create page: %d\n%s", st, page)
		}
		c, err := s.p.Client(ctx, "cong-dvc")
		if err != nil || len(c.RedirectURIs) != 2 || strings.Join(c.Scopes, " ") != "openid profile cccd" || c.FirstParty {
			t.Fatalf("created by page: %+v %v", c, err)
		}
		if _, page, _ := b.do("GET", "/admin/clients", nil); !strings.Contains(page, "cong-dvc") || !strings.Contains(page, "mot-cua") {
			t.Fatalf("list page:\n%s", page)
		}
		f.Set("redirect_uris", "https://dichvucong.tinh.gov.vn/cb#frag")
		st, page, _ = b.do("POST", "/admin/clients/cong-dvc", f)
		if st != 422 || !strings.Contains(page, `aria-invalid`) && !strings.Contains(page, `class="err"`) {
			t.Fatalf("bad edit: %d\n%s", st, page)
		}
		if _, _, err := s.p.CreateClient(ctx, &identity.Principal{PersonID: "x"}, oidc.ClientInput{ID: "x", Name: "x", GrantTypes: []string{"client_credentials"}}); !errors.Is(err, identity.ErrForbidden) {
			t.Fatalf("service without right: %v", err)
		}
		acts := s.auditActions()
		if countOf(acts, oidc.AuditClientCreated) != 2 || countOf(acts, oidc.AuditClientUpdated) != 1 || countOf(acts, oidc.AuditClientSecret) != 1 {
			t.Fatalf("registry changes not audited: %v", acts)
		}
		_ = url.Values{}
	})
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
