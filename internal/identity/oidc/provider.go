package oidc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	josev3 "github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/token/jwt"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/httpx"
)

// Config configures the provider. The application fills it from the
// CONGSO_OIDC_* settings (see docs/sso.md).
type Config struct {
	// Issuer is the provider's public base URL without trailing slash,
	// e.g. "https://congso.tinh.gov.vn" (CONGSO_OIDC_ISSUER). Endpoints are
	// served under it.
	Issuer string
	// KeySecret encrypts the signing keys in the database and derives the
	// HMAC secret of codes and refresh tokens: at least 32 bytes, the same on
	// every node (CONGSO_OIDC_KEY_SECRET).
	KeySecret []byte
	// SigningAlg is AlgES256 (default) or AlgRS256 (CONGSO_OIDC_SIGNING_ALG).
	SigningAlg string
	// Lifetimes (CONGSO_OIDC_ACCESS_TOKEN_TTL, _ID_TOKEN_TTL,
	// _REFRESH_TOKEN_TTL, _CODE_TTL); defaults 10 min, 1 h, 30 days, 2 min.
	AccessTokenLifespan  time.Duration
	IDTokenLifespan      time.Duration
	RefreshTokenLifespan time.Duration
	CodeLifespan         time.Duration
	// KeyRotation is the age at which [Provider.Maintain] rotates the
	// signing key (CONGSO_OIDC_KEY_ROTATION); default 90 days.
	KeyRotation time.Duration
	// LoginPath is the sign-in page the authorization endpoint sends an
	// anonymous person to, with ?next=; default "/login".
	LoginPath string
	// AgencyCode maps an agency ID of a position to its electronic ID code
	// (Decision 20/2020), released in the "agency_eid" of congso.roles; nil
	// releases the ID as is.
	AgencyCode func(ctx context.Context, agencyID string) (string, error)
	// Audit appends an entry to the audit log; default audit.Append.
	Audit func(ctx context.Context, tx *db.Tx, e audit.Entry) error
	// Now is the clock of the provider's own decisions (key rotation, the
	// audit); fosite itself reads the system clock for token expiry.
	Now func() time.Time
	// Log receives server errors; default slog.Default().
	Log *slog.Logger
}

func (c *Config) defaults() error {
	c.Issuer = strings.TrimRight(c.Issuer, "/")
	u, err := url.Parse(c.Issuer)
	if c.Issuer == "" || err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("oidc: issuer %q must be an absolute http(s) URL", c.Issuer)
	}
	if len(c.KeySecret) < 32 {
		return errors.New("oidc: CONGSO_OIDC_KEY_SECRET must hold at least 32 bytes")
	}
	if c.SigningAlg == "" {
		c.SigningAlg = AlgES256
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.AccessTokenLifespan, 10*time.Minute)
	def(&c.IDTokenLifespan, time.Hour)
	def(&c.RefreshTokenLifespan, 30*24*time.Hour)
	def(&c.CodeLifespan, 2*time.Minute)
	def(&c.KeyRotation, 90*24*time.Hour)
	if c.LoginPath == "" {
		c.LoginPath = "/login"
	}
	if c.Audit == nil {
		c.Audit = audit.Append
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}

// Provider is the OpenID Connect provider and OAuth 2.0 authorization server
// of the province, built on fosite, with its client registry.
type Provider struct {
	db      *db.DB
	cfg     Config
	ids     *identity.Service
	keys    *KeySet
	store   *storage
	oauth   fosite.OAuth2Provider
	fconfig *fosite.Config
	signer  *jwt.DefaultSigner
}

// New returns the provider over d (whose schema must include
// identity.Migrations, [Migrations] and audit.Migrations), using ids for the
// people behind the sessions. It creates the first signing key if there is
// none.
func New(ctx context.Context, d *db.DB, ids *identity.Service, cfg Config) (*Provider, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	// The longest a key's tokens live: an ID token presented back as
	// id_token_hint, or an access token.
	keep := max(cfg.IDTokenLifespan, cfg.AccessTokenLifespan) + time.Hour
	keys, err := NewKeySet(d, cfg.KeySecret, cfg.SigningAlg, keep, cfg.Now)
	if err != nil {
		return nil, err
	}
	if err := keys.Ensure(ctx, 0); err != nil {
		return nil, fmt.Errorf("oidc: signing key: %w", err)
	}
	hmacSecret := sha256.Sum256(append([]byte("congso oidc hmac\x00"), cfg.KeySecret...))
	fc := &fosite.Config{
		AccessTokenLifespan:            cfg.AccessTokenLifespan,
		RefreshTokenLifespan:           cfg.RefreshTokenLifespan,
		AuthorizeCodeLifespan:          cfg.CodeLifespan,
		IDTokenLifespan:                cfg.IDTokenLifespan,
		IDTokenIssuer:                  cfg.Issuer,
		AccessTokenIssuer:              cfg.Issuer,
		TokenURL:                       cfg.Issuer + PathToken,
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:       fosite.DefaultAudienceMatchingStrategy,
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false,
		RefreshTokenScopes:             []string{ScopeOfflineAccess},
		ClientSecretsHasher:            secretHasher{},
		GlobalSecret:                   hmacSecret[:],
		JWTScopeClaimKey:               jwt.JWTScopeFieldString,
		MinParameterEntropy:            8,
	}
	st := &storage{db: d, now: cfg.Now, codeLifespan: cfg.CodeLifespan, accessLifespan: cfg.AccessTokenLifespan,
		refreshLifespan: cfg.RefreshTokenLifespan}
	// fosite signs with go-jose v3: hand it the key in v3's type, so that
	// the kid header is set.
	keyGetter := func(ctx context.Context) (interface{}, error) {
		k, err := keys.SigningKey(ctx)
		if err != nil {
			return nil, err
		}
		return &josev3.JSONWebKey{Key: k.Key, KeyID: k.KeyID, Algorithm: k.Algorithm, Use: "sig"}, nil
	}
	signer := &jwt.DefaultSigner{GetPrivateKey: keyGetter}
	strategy := &compose.CommonStrategy{
		CoreStrategy:               compose.NewOAuth2JWTStrategy(keyGetter, compose.NewOAuth2HMACStrategy(fc), fc),
		OpenIDConnectTokenStrategy: compose.NewOpenIDConnectStrategy(keyGetter, fc),
		Signer:                     signer,
	}
	// Only what the province offers: no implicit or hybrid flow, no
	// password grant, no JWT bearer grant, no pushed requests.
	oauth := compose.Compose(fc, st, strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
	)
	return &Provider{db: d, cfg: cfg, ids: ids, keys: keys, store: st, oauth: oauth, fconfig: fc, signer: signer}, nil
}

// Config returns the configuration in effect, defaults filled in.
func (p *Provider) Config() Config { return p.cfg }

// Keys returns the signing key set.
func (p *Provider) Keys() *KeySet { return p.keys }

// Maintain is the periodic job (hourly is plenty): it rotates the signing
// key when older than KeyRotation, drops retired keys whose tokens have
// expired and purges expired codes and tokens (kept a day for reuse
// detection of refresh tokens).
func (p *Provider) Maintain(ctx context.Context) error {
	if err := p.keys.Ensure(ctx, p.cfg.KeyRotation); err != nil {
		return err
	}
	if _, err := p.keys.Prune(ctx); err != nil {
		return err
	}
	_, err := p.store.purge(ctx, p.cfg.Now().Add(-24*time.Hour))
	return err
}

// audit appends one entry in its own transaction.
func (p *Provider) audit(ctx context.Context, action, actor, objectType, objectID string, detail map[string]any) error {
	e := audit.Entry{At: p.cfg.Now().UTC(), Actor: actor, Action: action, ObjectType: objectType, ObjectID: objectID,
		Detail: detail, IP: identity.ClientFrom(ctx).IP, RequestID: httpx.RequestID(ctx)}
	return p.db.Tx(ctx, func(tx *db.Tx) error { return p.cfg.Audit(ctx, tx, e) })
}

// auditLog is audit for events whose failure must not change the answer
// already decided (a refused request stays refused); the failure is logged.
func (p *Provider) auditLog(ctx context.Context, action, actor, objectType, objectID string, detail map[string]any) {
	if err := p.audit(ctx, action, actor, objectType, objectID, detail); err != nil {
		p.cfg.Log.ErrorContext(ctx, "oidc audit", "action", action, "err", err)
	}
}

// The audit actions of the provider.
const (
	AuditClientCreated      = "identity.oauth_client.created"
	AuditClientUpdated      = "identity.oauth_client.updated"
	AuditClientSecret       = "identity.oauth_client.secret_rotated"
	AuditAuthorized         = "identity.oidc.authorized"     // a code issued to a client for a person
	AuditConsentGiven       = "identity.oidc.consent_given"  // details: client, scopes
	AuditConsentDenied      = "identity.oidc.consent_denied" // details: client
	AuditTokenIssued        = "identity.oidc.token_issued"   // details: client, grant_type
	AuditTokenRefused       = "identity.oidc.token_refused"  // details: client, grant_type, error
	AuditRefreshReuse       = "identity.oidc.refresh_reused" // the family was revoked
	AuditTokenRevoked       = "identity.oidc.token_revoked"  // RFC 7009
	AuditAuthorizeRefused   = "identity.oidc.authorize_refused"
	AuditBearerRefused      = "identity.oidc.bearer_refused" // userinfo or introspection with a bad token
	AuditLogout             = "identity.oidc.logout"         // RP-initiated
	AuditLogoutRedirectDeny = "identity.oidc.logout_redirect_refused"
)
