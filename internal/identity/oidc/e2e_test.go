package oidc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

const (
	rpCallback  = "http://127.0.0.1:9999/callback"
	rpLoggedOut = "http://127.0.0.1:9999/bye"
)

// registerRP registers the relying party "dichvucong" (a confidential,
// third-party client, so the person is asked for consent).
func (s *site) registerRP(firstParty bool) (oidc.Client, string) {
	s.t.Helper()
	c, secret, err := s.p.CreateClient(context.Background(), nil, oidc.ClientInput{ID: "dichvucong", Name: "Cổng dịch vụ công",
		RedirectURIs: []string{rpCallback}, PostLogoutRedirectURIs: []string{rpLoggedOut},
		GrantTypes: []string{oidc.GrantAuthorizationCode, oidc.GrantRefreshToken},
		Scopes:     []string{"openid", "profile", "email", "offline_access", "congso.roles"}, FirstParty: firstParty})
	if err != nil {
		s.t.Fatal(err)
	}
	if secret == "" || c.SecretHash == "" || strings.Contains(c.SecretHash, secret) {
		s.t.Fatalf("secret %q stored as %q", secret, c.SecretHash)
	}
	return c, secret
}

// authorize runs the browser through sign-in and consent and returns the
// callback URL the provider redirects to.
func (b *browser) authorize(authURL, username string, consent bool) *url.URL {
	b.t.Helper()
	status, page, hdr := b.do("GET", authURL, nil)
	for i := 0; i < 5 && status == http.StatusSeeOther; i++ {
		loc := hdr.Get("Location")
		if strings.HasPrefix(loc, rpCallback) {
			u, _ := url.Parse(loc)
			return u
		}
		if strings.HasPrefix(loc, "/login") {
			loc = b.signIn(loc, username, goodPassword)
		}
		status, page, hdr = b.do("GET", loc, nil)
	}
	if status != 200 || !strings.Contains(page, "Cho phép ứng dụng truy cập") {
		b.t.Fatalf("expected the consent page, got %d %s\n%s", status, hdr.Get("Location"), page)
	}
	if !strings.Contains(page, "Cổng dịch vụ công") || !strings.Contains(page, "Xác nhận danh tính của bạn") {
		b.t.Fatalf("consent page does not say who asks for what:\n%s", page)
	}
	f := formOf(b.t, page)
	if consent {
		f.Set("consent", "allow")
	} else {
		f.Set("consent", "deny")
	}
	status, page, hdr = b.do("POST", "/oauth2/authorize", f)
	if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), rpCallback) {
		b.t.Fatalf("after consent: %d %s\n%s", status, hdr.Get("Location"), page)
	}
	u, _ := url.Parse(hdr.Get("Location"))
	return u
}

// Identity and SSO: authorization code + PKCE, refresh tokens, discovery,
// JWKS, logout (requirements identity-and-data.md, "Identity and SSO").
func TestRelyingPartyEndToEnd(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		person := s.official("canbo.an")
		_, secret := s.registerRP(false)
		ctx := context.Background()

		provider, err := gooidc.NewProvider(ctx, s.srv.URL)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		cfg := oauth2.Config{ClientID: "dichvucong", ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: rpCallback,
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess, "congso.roles"}}
		verifier := oauth2.GenerateVerifier()
		authURL := cfg.AuthCodeURL("state-12345678", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("nonce-abcdefgh"))

		b := s.browser()
		cb := b.authorize(authURL, "canbo.an", true)
		if countOf(s.auditActions(), oidc.AuditConsentGiven) != 1 {
			t.Fatal("consent not recorded")
		}
		if cb.Query().Get("state") != "state-12345678" || cb.Query().Get("code") == "" {
			t.Fatalf("callback: %s", cb)
		}
		tok, err := cfg.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		rawID, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&gooidc.Config{ClientID: "dichvucong"}).Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("verify ID token: %v", err)
		}
		var idc struct {
			Name  string `json:"name"`
			SID   string `json:"sid"`
			Kind  string `json:"congso_kind"`
			Nonce string `json:"nonce"`
		}
		if err := idt.Claims(&idc); err != nil {
			t.Fatal(err)
		}
		if idt.Subject != person.ID || idc.Name != "Nguyễn Văn An" || idc.Nonce != "nonce-abcdefgh" || idc.SID == "" || idc.Kind != "official" {
			t.Fatalf("ID token: sub %s %+v", idt.Subject, idc)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token with offline_access")
		}

		// userinfo: positions and roles per unit, the agency e-ID.
		ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		var uc struct {
			Email     string               `json:"email"`
			Positions []oidc.PositionClaim `json:"congso_positions"`
			Roles     []oidc.RoleClaim     `json:"congso_roles"`
			CCCD      string               `json:"cccd"`
		}
		if err := ui.Claims(&uc); err != nil {
			t.Fatal(err)
		}
		if ui.Subject != person.ID || uc.Email != "canbo.an@tinh.gov.vn" || len(uc.Positions) != 1 || uc.Positions[0].AgencyEID != "000.00.12.H56" ||
			len(uc.Roles) != 1 || uc.Roles[0].Role != "handler" || uc.Roles[0].UnitID != "unit-xd" || uc.CCCD != "" {
			t.Fatalf("userinfo claims: %+v", uc)
		}

		// The access token is a JWT a resource server verifies offline.
		v := oidc.NewVerifier(oidc.VerifierConfig{Issuer: s.srv.URL})
		at, err := v.Verify(ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("verify access token: %v", err)
		}
		if at.Subject != person.ID || at.ClientID != "dichvucong" || !at.HasScope("congso.roles") || len(at.Roles) != 1 {
			t.Fatalf("access token: %+v", at)
		}
		if _, err := v.Verify(ctx, rawID); !errors.Is(err, oidc.ErrInvalidToken) {
			t.Fatalf("an ID token passed as access token: %v", err)
		}

		// Refresh with rotation.
		old := &oauth2.Token{RefreshToken: tok.RefreshToken}
		tok2, err := cfg.TokenSource(ctx, old).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == tok.AccessToken {
			t.Fatal("refresh token not rotated")
		}
		if code, _ := userinfoStatus(s, tok.AccessToken); code != 401 {
			t.Fatalf("access token of a rotated refresh token still works at userinfo: %d", code)
		}
		if code, _ := userinfoStatus(s, tok2.AccessToken); code != 200 {
			t.Fatalf("new access token at userinfo: %d", code)
		}
		// Reusing the old refresh token revokes the whole family.
		_, err = cfg.TokenSource(ctx, old).Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("reused refresh token: %v", err)
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("refresh token of a revoked family: %v", err)
		}
		if code, _ := userinfoStatus(s, tok2.AccessToken); code != 401 {
			t.Fatalf("access token of a revoked family at userinfo: %d", code)
		}

		// A second authorization needs no new sign-in nor consent.
		verifier = oauth2.GenerateVerifier()
		cb = b.authorize(cfg.AuthCodeURL("state-second-1", oauth2.S256ChallengeOption(verifier)), "canbo.an", true)
		if cb.Query().Get("code") == "" {
			t.Fatalf("second authorization: %s", cb)
		}

		// RP-initiated logout back to the registered address.
		q := url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"bye-1"}}
		status, page, hdr := b.do("GET", "/oauth2/logout?"+q.Encode(), nil)
		if status != http.StatusSeeOther || hdr.Get("Location") != rpLoggedOut+"?state=bye-1" {
			t.Fatalf("logout: %d %s\n%s", status, hdr.Get("Location"), page)
		}
		status, _, hdr = b.do("GET", cfg.AuthCodeURL("state-third-12", oauth2.S256ChallengeOption(verifier)), nil)
		if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login?next=") {
			t.Fatalf("after logout the session should be gone: %d %s", status, hdr.Get("Location"))
		}

		acts := s.auditActions()
		for _, a := range []string{oidc.AuditConsentGiven, oidc.AuditAuthorized, oidc.AuditTokenIssued, oidc.AuditRefreshReuse,
			oidc.AuditLogout, oidc.AuditClientCreated, "identity.login.succeeded"} {
			if countOf(acts, a) == 0 {
				t.Errorf("no audit entry %s in %v", a, acts)
			}
		}
	})
}

func userinfoStatus(s *site, accessToken string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.srv.URL+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode == 401 && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		s.t.Fatalf("401 without WWW-Authenticate: %v", resp.Header)
	}
	return resp.StatusCode, m
}
