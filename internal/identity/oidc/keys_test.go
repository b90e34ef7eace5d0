package oidc_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/congso/congso/internal/identity/oidc"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func jwks(t *testing.T, s *site) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(s.srv.URL + oidc.PathJWKS)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Fatal("JWKS publishes a private key")
		}
	}
	return set
}

// Identity and SSO: JWKS rotation; keys protected at rest (security §6).
func TestKeyRotation(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		clk := &clock{t: time.Now()}
		s := newSite(t, d, func(c *oidc.Config) { c.Now = clk.Now; c.KeyRotation = 30 * 24 * time.Hour })
		ctx := context.Background()
		_, secret, err := s.p.CreateClient(ctx, nil, oidc.ClientInput{ID: "he-thong", Name: "Hệ thống",
			GrantTypes: []string{oidc.GrantClientCredentials}, Scopes: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		cc := clientcredentials.Config{ClientID: "he-thong", ClientSecret: secret, TokenURL: s.srv.URL + oidc.PathToken, Scopes: []string{"api"}}
		old, err := cc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(jwks(t, s).Keys); n != 1 {
			t.Fatalf("%d keys at start", n)
		}
		// Nothing to do before the rotation age.
		clk.Advance(29 * 24 * time.Hour)
		if err := s.p.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(jwks(t, s).Keys); n != 1 {
			t.Fatalf("%d keys before rotation age", n)
		}
		clk.Advance(2 * 24 * time.Hour)
		if err := s.p.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
		set := jwks(t, s)
		if len(set.Keys) != 2 {
			t.Fatalf("%d keys after rotation", len(set.Keys))
		}
		fresh, err := cc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v := oidc.NewVerifier(oidc.VerifierConfig{Issuer: s.srv.URL})
		oldAT, err := v.Verify(ctx, old.AccessToken)
		if err != nil {
			t.Fatalf("token signed by the retired key: %v", err)
		}
		if _, err := v.Verify(ctx, fresh.AccessToken); err != nil {
			t.Fatalf("token signed by the new key: %v", err)
		}
		if kidOf(t, old.AccessToken) == kidOf(t, fresh.AccessToken) {
			t.Fatal("new tokens are signed by the old key")
		}
		_ = oldAT
		// Once every token the old key signed has expired, it goes.
		clk.Advance(3 * time.Hour)
		if err := s.p.Maintain(ctx); err != nil {
			t.Fatal(err)
		}
		set = jwks(t, s)
		if len(set.Keys) != 1 || set.Keys[0].KeyID != kidOf(t, fresh.AccessToken) {
			t.Fatalf("after prune: %+v", set.Keys)
		}

		// At rest the private keys are encrypted: not a PKCS#8 key, and
		// another secret cannot read them.
		var enc []byte
		if err := d.Read().QueryRowContext(ctx, `SELECT private_enc FROM identity_oauth_keys`).Scan(&enc); err != nil {
			t.Fatal(err)
		}
		if _, err := x509.ParsePKCS8PrivateKey(enc); err == nil {
			t.Fatal("private key stored in clear")
		}
		ks, err := oidc.NewKeySet(d, []byte(strings.Repeat("x", 32)), oidc.AlgES256, time.Hour, clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ks.SigningKey(ctx); err == nil || !strings.Contains(err.Error(), "decrypt") {
			t.Fatalf("wrong secret read the key: %v", err)
		}
	})
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	sig, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return sig.Signatures[0].Header.KeyID
}
