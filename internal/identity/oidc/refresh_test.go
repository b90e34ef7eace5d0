package oidc_test

import (
	"context"
	"testing"

	"golang.org/x/oauth2"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// Identity: revoking on transfer, account lifecycle — refresh tokens follow
// the account: new roles appear, a disabled account's grants end.
func TestRefreshFollowsAccount(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		s := newSite(t, d)
		person := s.official("canbo.an")
		_, secret := s.registerRP(true)
		ctx := context.Background()
		cfg := oauth2.Config{ClientID: "dichvucong", ClientSecret: secret, Endpoint: s.endpoint(), RedirectURL: rpCallback,
			Scopes: []string{"openid", "offline_access", "congso.roles"}}
		b := s.signedIn("canbo.an")
		verifier := oauth2.GenerateVerifier()
		cb := b.authorize(cfg.AuthCodeURL("state-12345678", oauth2.S256ChallengeOption(verifier)), "canbo.an", true)
		tok, err := cfg.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ids.Grant(ctx, nil, person.ID, identity.RoleOfficer, "unit-xd"); err != nil {
			t.Fatal(err)
		}
		tok2, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatal(err)
		}
		at, err := oidc.NewVerifier(oidc.VerifierConfig{Issuer: s.srv.URL, Keys: s.p.Keys().PublicKeys}).Verify(ctx, tok2.AccessToken)
		if err != nil || len(at.Roles) != 2 {
			t.Fatalf("roles after refresh: %+v %v", at, err)
		}
		if err := s.ids.SetStatus(ctx, nil, person.ID, identity.StatusDisabled); err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); !isOAuthError(err, "invalid_grant") {
			t.Fatalf("refresh of a disabled account: %v", err)
		}
		if st, _ := userinfoStatus(s, tok2.AccessToken); st != 401 {
			t.Fatalf("access token of a disabled account at userinfo: %d", st)
		}
	})
}
