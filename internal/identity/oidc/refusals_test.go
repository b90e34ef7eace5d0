package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

func (s *site) endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{AuthURL: s.srv.URL + oidc.PathAuthorize, TokenURL: s.srv.URL + oidc.PathToken}
}

// publicRP registers a public client (a mobile application).
func (s *site) publicRP() oauth2.Config {
	s.t.Helper()
	_, secret, err := s.p.CreateClient(context.Background(), nil, oidc.ClientInput{ID: "vneid-mobile", Name: "Ứng dụng di động",
		RedirectURIs: []string{rpCallback}, GrantTypes: []string{oidc.GrantAuthorizationCode, oidc.GrantRefreshToken},
		Scopes: []string{"openid", "profile"}, Public: true, FirstParty: true})
	if err != nil || secret != "" {
		s.t.Fatalf("public client: %v %q", err, secret)
	}
	return oauth2.Config{ClientID: "vneid-mobile", Endpoint: s.endpoint(), RedirectURL: rpCallback, Scopes: []string{"openid", "profile"}}
}

// signedIn returns a browser with a session of username.
func (s *site) signedIn(username string) *browser {
	s.t.Helper()
	b := s.browser()
	b.signIn("/login", username, goodPassword)
	return b
}

// redirectError follows an authorization request that must come back to
// the client with an error, and returns the error code.
func (b *browser) redirectError(authURL string) string {
	b.t.Helper()
	status, page, hdr := b.do("GET", authURL, nil)
	loc := hdr.Get("Location")
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, rpCallback) {
		b.t.Fatalf("expected a redirect to the client: %d %s\n%s", status, loc, page)
	}
	u, _ := url.Parse(loc)
	if u.Query().Get("code") != "" {
		b.t.Fatalf("a code was issued: %s", loc)
	}
	return u.Query().Get("error")
}

func TestAuthorizationRefusals(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		s.official("canbo.an")
		_, secret := s.registerRP(false)
		pub := s.publicRP()
		ctx := context.Background()
		b := s.signedIn("canbo.an")

		// A redirect URI that is not registered exactly: refused on our own
		// page, never redirected there.
		for _, bad := range []string{"https://evil.example/cb", rpCallback + "/x", rpCallback + "?a=1", "http://127.0.0.1:9999/callbac"} {
			u := s.srv.URL + "/oauth2/authorize?" + url.Values{"client_id": {"dichvucong"}, "response_type": {"code"},
				"redirect_uri": {bad}, "scope": {"openid"}, "state": {"state-12345678"}}.Encode()
			status, page, hdr := b.do("GET", u, nil)
			if status < 400 || hdr.Get("Location") != "" || !strings.Contains(page, "Không thể tiếp tục đăng nhập") {
				t.Fatalf("redirect_uri %s: %d %s", bad, status, hdr.Get("Location"))
			}
		}
		// Unknown client.
		status, _, hdr := b.do("GET", "/oauth2/authorize?client_id=nobody&response_type=code&redirect_uri="+url.QueryEscape(rpCallback)+"&scope=openid&state=state-12345678", nil)
		if status < 400 || hdr.Get("Location") != "" {
			t.Fatalf("unknown client: %d %s", status, hdr.Get("Location"))
		}

		// PKCE is required of public clients, and only S256.
		if e := b.redirectError(pub.AuthCodeURL("state-12345678")); e != "invalid_request" {
			t.Fatalf("public client without PKCE: %s", e)
		}
		plain := pub.AuthCodeURL("state-12345678", oauth2.SetAuthURLParam("code_challenge", strings.Repeat("a", 43)),
			oauth2.SetAuthURLParam("code_challenge_method", "plain"))
		if e := b.redirectError(plain); e != "invalid_request" {
			t.Fatalf("plain PKCE: %s", e)
		}
		// A wrong or missing verifier at the token endpoint.
		verifier := oauth2.GenerateVerifier()
		for _, opt := range []oauth2.AuthCodeOption{oauth2.VerifierOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("x", "y")} {
			cb := b.authorize(pub.AuthCodeURL("state-12345678", oauth2.S256ChallengeOption(verifier)), "canbo.an", true)
			_, err := pub.Exchange(ctx, cb.Query().Get("code"), opt)
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" && re.ErrorCode != "invalid_request" {
				t.Fatalf("bad verifier: %v", err)
			}
		}

		// prompt=none without a session.
		anon := s.browser()
		if e := anon.redirectError(pub.AuthCodeURL("state-12345678", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none"))); e != "login_required" {
			t.Fatalf("prompt=none anonymous: %s", e)
		}

		// Consent refused.
		cfg := oauth2.Config{ClientID: "dichvucong", ClientSecret: secret, Endpoint: s.endpoint(), RedirectURL: rpCallback,
			Scopes: []string{"openid", "profile"}}
		cb := b.authorize(cfg.AuthCodeURL("state-12345678", oauth2.S256ChallengeOption(verifier)), "canbo.an", false)
		if cb.Query().Get("error") != "access_denied" || cb.Query().Get("code") != "" {
			t.Fatalf("consent denied: %s", cb)
		}
		// A scope the client may not ask for.
		if e := b.redirectError(cfg.AuthCodeURL("state-12345678", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("scope", "openid cccd"))); e != "invalid_scope" {
			t.Fatalf("scope not allowed: %s", e)
		}

		// A replayed code is refused and revokes what the first use gave.
		cb = b.authorize(cfg.AuthCodeURL("state-12345678", oauth2.S256ChallengeOption(verifier)), "canbo.an", true)
		code := cb.Query().Get("code")
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		_, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("replayed code: %v", err)
		}
		if st, _ := userinfoStatus(s, tok.AccessToken); st != 401 {
			t.Fatalf("token of a replayed code still valid: %d", st)
		}
		// Wrong client secret.
		bad := cfg
		bad.ClientSecret = "wrong"
		if _, err := bad.Exchange(ctx, "whatever", oauth2.VerifierOption(verifier)); !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
			t.Fatalf("wrong secret: %v", err)
		}

		acts := s.auditActions()
		if countOf(acts, oidc.AuditAuthorizeRefused) < 8 || countOf(acts, oidc.AuditTokenRefused) < 3 || countOf(acts, oidc.AuditConsentDenied) != 1 {
			t.Fatalf("refusals not audited: %v", acts)
		}
	})
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sign makes a compact JWS of claims with key and kid.
func sign(t *testing.T, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid)
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := josejwt.Signed(sg).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestForgedAndExpiredTokens(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		person := s.official("canbo.an")
		ctx := context.Background()
		_, secret, err := s.p.CreateClient(ctx, nil, oidc.ClientInput{ID: "gateway", Name: "API gateway",
			GrantTypes: []string{oidc.GrantClientCredentials}, Scopes: []string{"dossier.read"}, Audience: []string{"https://api.tinh.gov.vn"}})
		if err != nil {
			t.Fatal(err)
		}
		key, err := s.p.Keys().SigningKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		claims := map[string]any{"iss": s.srv.URL, "sub": person.ID, "client_id": "dichvucong", "scope": "openid profile",
			"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": "x1"}
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		expired := map[string]any{}
		for k, v := range claims {
			expired[k] = v
		}
		expired["exp"] = now.Add(-time.Hour).Unix()
		tokens := map[string]string{
			"alg none":     b64(map[string]string{"alg": "none", "typ": "at+jwt", "kid": key.KeyID}) + "." + b64(claims) + ".",
			"wrong key":    sign(t, other, jose.ES256, key.KeyID, claims),
			"expired":      sign(t, key.Key, jose.ES256, key.KeyID, expired),
			"never issued": sign(t, key.Key, jose.ES256, key.KeyID, claims), // right key, but not a token the provider gave out
			"garbage":      "not.a.token",
		}
		v := oidc.NewVerifier(oidc.VerifierConfig{Issuer: s.srv.URL})
		for name, tok := range tokens {
			if st, body := userinfoStatus(s, tok); st != 401 || body["error"] != "invalid_token" {
				t.Errorf("%s at userinfo: %d %v", name, st, body)
			}
			if active := introspect(t, s, "gateway", secret, tok); active {
				t.Errorf("%s active at introspection", name)
			}
			if name != "never issued" {
				if _, err := v.Verify(ctx, tok); !errors.Is(err, oidc.ErrInvalidToken) {
					t.Errorf("%s passed the verifier: %v", name, err)
				}
			}
		}
		// Wrong audience at a resource server.
		cc := clientcredentials.Config{ClientID: "gateway", ClientSecret: secret, TokenURL: s.srv.URL + oidc.PathToken,
			Scopes: []string{"dossier.read"}, EndpointParams: url.Values{"audience": {"https://api.tinh.gov.vn"}}}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("client credentials: %v", err)
		}
		if at, err := oidc.NewVerifier(oidc.VerifierConfig{Issuer: s.srv.URL, Audience: "https://api.tinh.gov.vn"}).Verify(ctx, tok.AccessToken); err != nil || at.Kind != "client" || at.Subject != "gateway" || !at.HasScope("dossier.read") {
			t.Fatalf("verify client token: %+v %v", at, err)
		}
		if _, err := oidc.NewVerifier(oidc.VerifierConfig{Issuer: s.srv.URL, Audience: "https://other.tinh.gov.vn"}).Verify(ctx, tok.AccessToken); !errors.Is(err, oidc.ErrInvalidToken) {
			t.Fatalf("wrong audience accepted: %v", err)
		}
		if _, err := oidc.NewVerifier(oidc.VerifierConfig{Issuer: "https://not-us.example", Keys: s.p.Keys().PublicKeys}).Verify(ctx, tok.AccessToken); !errors.Is(err, oidc.ErrInvalidToken) {
			t.Fatalf("wrong issuer accepted: %v", err)
		}
		// A client token has no person: userinfo refuses it.
		if st, _ := userinfoStatus(s, tok.AccessToken); st != 403 && st != 401 {
			t.Fatalf("client token at userinfo: %d", st)
		}
		// Introspection: active, then revoked (RFC 7009), then inactive.
		if !introspect(t, s, "gateway", secret, tok.AccessToken) {
			t.Fatal("live token inactive")
		}
		form := url.Values{"token": {tok.AccessToken}}
		req, _ := http.NewRequest("POST", s.srv.URL+oidc.PathRevoke, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("gateway", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("revoke: %v %v", resp.StatusCode, err)
		}
		resp.Body.Close()
		if introspect(t, s, "gateway", secret, tok.AccessToken) {
			t.Fatal("revoked token active")
		}
		// Introspection needs client authentication.
		req, _ = http.NewRequest("POST", s.srv.URL+oidc.PathIntrospect, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, _ = http.DefaultClient.Do(req)
		var e map[string]any
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 401 || e["error"] == nil {
			t.Fatalf("anonymous introspection: %d %v", resp.StatusCode, e)
		}
		// Wrong secret and a scope the system may not have.
		if _, err := (&clientcredentials.Config{ClientID: "gateway", ClientSecret: "nope", TokenURL: cc.TokenURL}).Token(ctx); !isOAuthError(err, "invalid_client") {
			t.Fatalf("wrong secret: %v", err)
		}
		if _, err := (&clientcredentials.Config{ClientID: "gateway", ClientSecret: secret, TokenURL: cc.TokenURL, Scopes: []string{"dossier.write"}}).Token(ctx); !isOAuthError(err, "invalid_scope") {
			t.Fatalf("scope not allowed: %v", err)
		}
		if n := countOf(s.auditActions(), oidc.AuditBearerRefused); n < 2*len(tokens) {
			t.Fatalf("refused bearer tokens audited %d times", n)
		}
	})
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}

func introspect(t *testing.T, s *site, id, secret, token string) bool {
	t.Helper()
	req, _ := http.NewRequest("POST", s.srv.URL+oidc.PathIntrospect, strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Active bool `json:"active"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("introspection answer: %v", err)
	}
	return out.Active
}

func TestLogoutRefusesOpenRedirect(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		s.official("canbo.an")
		_, secret := s.registerRP(true)
		ctx := context.Background()
		cfg := oauth2.Config{ClientID: "dichvucong", ClientSecret: secret, Endpoint: s.endpoint(), RedirectURL: rpCallback, Scopes: []string{"openid"}}
		b := s.signedIn("canbo.an")
		verifier := oauth2.GenerateVerifier()
		status, _, hdr := b.do("GET", cfg.AuthCodeURL("state-12345678", oauth2.S256ChallengeOption(verifier)), nil)
		if status != http.StatusSeeOther {
			t.Fatalf("first-party authorization should not ask consent: %d", status)
		}
		u, _ := url.Parse(hdr.Get("Location"))
		tok, err := cfg.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		hint := tok.Extra("id_token").(string)
		for _, target := range []string{"https://evil.example/", rpLoggedOut + "/../evil", "//evil.example", rpLoggedOut + "?next=https://evil.example"} {
			q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {target}}
			status, _, hdr := b.do("GET", "/oauth2/logout?"+q.Encode(), nil)
			if status != 400 || hdr.Get("Location") != "" {
				t.Fatalf("logout to %s: %d %s", target, status, hdr.Get("Location"))
			}
		}
		// Without a hint, a registered URI still needs the client named,
		// and the person confirms.
		q := url.Values{"post_logout_redirect_uri": {rpLoggedOut}}
		if status, _, hdr := b.do("GET", "/oauth2/logout?"+q.Encode(), nil); status != 400 || hdr.Get("Location") != "" {
			t.Fatalf("logout redirect without client: %d %s", status, hdr.Get("Location"))
		}
		q.Set("client_id", "dichvucong")
		status, page, _ := b.do("GET", "/oauth2/logout?"+q.Encode(), nil)
		if status != 200 || !strings.Contains(page, "Bạn có muốn đăng xuất") {
			t.Fatalf("logout without hint should ask: %d\n%s", status, page)
		}
		// A forged hint.
		parts := strings.Split(hint, ".")
		forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString([]byte("forged-signature-bytes-0123456789"))
		if status, _, hdr := b.do("GET", "/oauth2/logout?"+url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {rpLoggedOut}}.Encode(), nil); status != 400 || hdr.Get("Location") != "" {
			t.Fatalf("forged hint: %d %s", status, hdr.Get("Location"))
		}
		// Still signed in after all that.
		if status, _, hdr := b.do("GET", cfg.AuthCodeURL("state-12345678", oauth2.S256ChallengeOption(verifier)), nil); status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), rpCallback) {
			t.Fatalf("session lost: %d %s", status, hdr.Get("Location"))
		}
		// The confirmation form signs out.
		f := formOf(t, page)
		f.Set("confirm", "yes")
		status, _, hdr = b.do("POST", "/oauth2/logout", f)
		if status != http.StatusSeeOther || hdr.Get("Location") != rpLoggedOut {
			t.Fatalf("confirmed logout: %d %s", status, hdr.Get("Location"))
		}
		if n := countOf(s.auditActions(), oidc.AuditLogoutRedirectDeny); n < 6 {
			t.Fatalf("refused logout redirects audited %d times", n)
		}
	})
}
