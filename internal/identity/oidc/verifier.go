package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// ErrInvalidToken: the access token is malformed, not signed by the
// provider, expired, or meant for another audience.
var ErrInvalidToken = errors.New("oidc: invalid access token")

// AccessToken is what a resource server learns from a verified access token.
type AccessToken struct {
	Subject   string // person ID, or the client ID for client credentials
	ClientID  string
	Kind      string // "official", "applicant" or "client"
	Scopes    []string
	Audience  []string
	Roles     []RoleClaim // with scope congso.roles
	SessionID string
	ExpiresAt time.Time
}

// HasScope reports whether the token grants scope s.
func (t *AccessToken) HasScope(s string) bool {
	for _, x := range t.Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// VerifierConfig configures a [Verifier].
type VerifierConfig struct {
	// Issuer is the provider's issuer URL (CONGSO_OIDC_ISSUER).
	Issuer string
	// Audience, when set, must be among the token's aud values (the
	// resource server's identifier registered as a client's audience).
	Audience string
	// Keys returns the provider's public keys. Default: fetch
	// Issuer+"/oauth2/jwks" with HTTPClient. In the same binary,
	// [Provider.Keys]().PublicKeys avoids the HTTP round trip.
	Keys func(ctx context.Context) (jose.JSONWebKeySet, error)
	// HTTPClient fetches the JWKS; default a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// CacheSize bounds the verified tokens remembered until they expire
	// (default 10,000; negative: no cache).
	CacheSize int
}

// Verifier validates the provider's JWT access tokens statelessly, for
// resource servers such as the API gateway: signature by a key of the JWKS
// (cached, refetched at most every 30 s when an unknown kid shows up, and
// every 10 minutes), "typ" at+jwt (an ID token is not an access token),
// issuer, expiry, audience. Tokens already verified are remembered until they
// expire, so a client's repeated calls cost a hash and a map lookup.
//
// A stateless check cannot see a revocation before the token expires
// (access tokens live 10 minutes by default); operations that must honour
// revocation at once call the introspection endpoint instead.
type Verifier struct {
	cfg     VerifierConfig
	mu      sync.RWMutex
	keys    jose.JSONWebKeySet
	fetched time.Time
	tried   time.Time
	cache   map[[32]byte]*AccessToken
}

// NewVerifier returns a verifier.
func NewVerifier(cfg VerifierConfig) *Verifier {
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 10000
	}
	v := &Verifier{cfg: cfg, cache: map[[32]byte]*AccessToken{}}
	if cfg.Keys == nil {
		v.cfg.Keys = v.fetchJWKS
	}
	return v
}

func (v *Verifier) fetchJWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.Issuer+PathJWKS, nil)
	if err != nil {
		return set, err
	}
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return set, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return set, fmt.Errorf("fetch jwks: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&set); err != nil {
		return set, fmt.Errorf("fetch jwks: %w", err)
	}
	return set, nil
}

// key returns the public key kid, refreshing the set when it is unknown or
// old.
func (v *Verifier) key(ctx context.Context, kid string) (any, error) {
	now := v.cfg.Now()
	v.mu.RLock()
	ks := v.keys.Key(kid)
	old := now.Sub(v.fetched) > 10*time.Minute
	recent := now.Sub(v.tried) < 30*time.Second
	v.mu.RUnlock()
	if len(ks) > 0 && !old {
		return ks[0].Key, nil
	}
	if !recent || old {
		set, err := v.cfg.Keys(ctx)
		v.mu.Lock()
		v.tried = now
		if err == nil {
			v.keys, v.fetched = set, now
		}
		v.mu.Unlock()
		if err != nil && len(ks) == 0 {
			return nil, err
		}
		if err == nil {
			ks = set.Key(kid)
		}
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("%w: unknown key %q", ErrInvalidToken, kid)
	}
	return ks[0].Key, nil
}

// accessClaims are the claims read from an access token.
type accessClaims struct {
	josejwt.Claims
	ClientID string      `json:"client_id"`
	Scope    string      `json:"scope"`
	Kind     string      `json:"congso_kind"`
	Roles    []RoleClaim `json:"congso_roles"`
	SID      string      `json:"sid"`
}

// Verify checks raw and returns what it grants. Errors wrap ErrInvalidToken,
// except a failure to fetch the keys.
func (v *Verifier) Verify(ctx context.Context, raw string) (*AccessToken, error) {
	now := v.cfg.Now()
	var sum [32]byte
	if v.cfg.CacheSize > 0 {
		sum = sha256.Sum256([]byte(raw))
		v.mu.RLock()
		t, ok := v.cache[sum]
		v.mu.RUnlock()
		if ok && now.Before(t.ExpiresAt) {
			return t, nil
		}
	}
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("%w: one signature expected", ErrInvalidToken)
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, accessTokenType) {
		return nil, fmt.Errorf("%w: not an access token (typ %q)", ErrInvalidToken, typ)
	}
	key, err := v.key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	var c accessClaims
	if err := tok.Claims(key, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	exp := josejwt.Expected{Issuer: v.cfg.Issuer, Time: now}
	if v.cfg.Audience != "" {
		exp.AnyAudience = josejwt.Audience{v.cfg.Audience}
	}
	if err := c.Claims.ValidateWithLeeway(exp, 30*time.Second); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.Expiry == nil {
		return nil, fmt.Errorf("%w: no expiry", ErrInvalidToken)
	}
	t := &AccessToken{Subject: c.Subject, ClientID: c.ClientID, Kind: c.Kind, Scopes: strings.Fields(c.Scope),
		Audience: c.Audience, Roles: c.Roles, SessionID: c.SID, ExpiresAt: c.Expiry.Time()}
	if v.cfg.CacheSize > 0 {
		v.mu.Lock()
		if len(v.cache) >= v.cfg.CacheSize {
			for k, x := range v.cache { // drop the expired, or everything
				if !now.Before(x.ExpiresAt) {
					delete(v.cache, k)
				}
			}
			if len(v.cache) >= v.cfg.CacheSize {
				clear(v.cache)
			}
		}
		v.cache[sum] = t
		v.mu.Unlock()
	}
	return t, nil
}
