package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ory/fosite"

	"github.com/congso/congso/internal/platform/db"
)

// Kinds of rows in identity_oauth_tokens.
const (
	kindCode    = "code"
	kindAccess  = "access"
	kindRefresh = "refresh"
	kindOIDC    = "oidc"
	kindPKCE    = "pkce"
)

// storage adapts the SQL tables to fosite's storage interfaces (client
// manager, authorize codes, access and refresh tokens, revocation, OpenID
// Connect sessions, PKCE).
type storage struct {
	db  *db.DB
	now func() time.Time
	// lifespans give the expiry of rows whose session has none.
	codeLifespan, accessLifespan, refreshLifespan time.Duration

	mu      sync.Mutex
	clients map[string]cachedClient
}

// clientCacheTTL bounds how long a node uses a client registration it read:
// a change made on this node applies at once (forget), one made on another
// node within this time. It spares the query on every token request.
const clientCacheTTL = 2 * time.Second

type cachedClient struct {
	c  Client
	at time.Time
}

// client returns a registration, from the cache when fresh.
func (s *storage) client(ctx context.Context, id string) (Client, error) {
	now := time.Now()
	s.mu.Lock()
	cc, ok := s.clients[id]
	s.mu.Unlock()
	if ok && now.Sub(cc.at) < clientCacheTTL {
		return cc.c, nil
	}
	c, err := getClient(ctx, s.db.Read(), id)
	if err != nil {
		return Client{}, err
	}
	s.mu.Lock()
	if s.clients == nil || len(s.clients) > 10000 {
		s.clients = map[string]cachedClient{}
	}
	s.clients[id] = cachedClient{c: c, at: now}
	s.mu.Unlock()
	return c, nil
}

// forget drops a client from the cache after a change.
func (s *storage) forget(id string) {
	s.mu.Lock()
	delete(s.clients, id)
	s.mu.Unlock()
}

// fositeClient adapts a Client to fosite.Client. It implements neither
// OpenIDConnectClient nor JWT client authentication, so a confidential client
// may send its secret in the Authorization header or the form.
type fositeClient struct{ c Client }

func (f fositeClient) GetID() string                                { return f.c.ID }
func (f fositeClient) GetHashedSecret() []byte                      { return []byte(f.c.SecretHash) }
func (f fositeClient) GetRedirectURIs() []string                    { return f.c.RedirectURIs }
func (f fositeClient) GetGrantTypes() fosite.Arguments              { return f.c.GrantTypes }
func (f fositeClient) GetResponseTypes() fosite.Arguments           { return fosite.Arguments{"code"} }
func (f fositeClient) GetScopes() fosite.Arguments                  { return f.c.Scopes }
func (f fositeClient) IsPublic() bool                               { return f.c.Public }
func (f fositeClient) GetAudience() fosite.Arguments                { return f.c.Audience }
func (f fositeClient) registered() Client                           { return f.c }
func (f fositeClient) GetRequestURIs() []string                     { return nil }
func (f fositeClient) GetTokenEndpointAuthSigningAlgorithm() string { return "" }

// GetClient returns an enabled client (fosite.ErrNotFound otherwise).
func (s *storage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.client(ctx, id)
	if errors.Is(err, ErrClientNotFound) || err == nil && c.Disabled {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return fositeClient{c}, nil
}

// ClientAssertionJWTValid: JWT client authentication is not offered (no
// client has a JWKS), so no assertion reaches here.
func (s *storage) ClientAssertionJWTValid(ctx context.Context, jti string) error { return nil }

// SetClientAssertionJWT: see ClientAssertionJWTValid.
func (s *storage) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	return nil
}

// storedRequest is the JSON kept in the data column.
type storedRequest struct {
	ID                string          `json:"id"`
	RequestedAt       time.Time       `json:"requested_at"`
	ClientID          string          `json:"client_id"`
	RequestedScopes   []string        `json:"requested_scopes"`
	GrantedScopes     []string        `json:"granted_scopes"`
	RequestedAudience []string        `json:"requested_audience"`
	GrantedAudience   []string        `json:"granted_audience"`
	Form              url.Values      `json:"form"`
	Session           json.RawMessage `json:"session"`
}

// secretFormFields are never stored with a request.
var secretFormFields = []string{"client_secret", "code", "refresh_token", "code_verifier", "password", "token", "client_assertion", "csrf_token"}

func (s *storage) create(ctx context.Context, kind, signature, accessSignature string, r fosite.Requester) error {
	sess, err := json.Marshal(r.GetSession())
	if err != nil {
		return fmt.Errorf("store %s: %w", kind, err)
	}
	form := url.Values{}
	for k, v := range r.GetRequestForm() {
		form[k] = v
	}
	for _, k := range secretFormFields {
		delete(form, k)
	}
	data, err := json.Marshal(storedRequest{ID: r.GetID(), RequestedAt: r.GetRequestedAt(), ClientID: r.GetClient().GetID(),
		RequestedScopes: r.GetRequestedScopes(), GrantedScopes: r.GetGrantedScopes(),
		RequestedAudience: r.GetRequestedAudience(), GrantedAudience: r.GetGrantedAudience(), Form: form, Session: sess})
	if err != nil {
		return fmt.Errorf("store %s: %w", kind, err)
	}
	var subject, sid string
	if ss, ok := r.GetSession().(*Session); ok {
		subject, sid = ss.GetSubject(), ss.SID
	}
	exp := s.expiry(kind, r)
	if accessSignature != "" {
		accessSignature = hashSignature(kindAccess, accessSignature)
	}
	const insert = `INSERT INTO identity_oauth_tokens (signature, kind, request_id, client_id,
		subject, session_id, access_signature, active, requested_at, expires_at, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $9, $10)`
	args := []any{hashSignature(kind, signature), kind, r.GetID(), r.GetClient().GetID(), subject, sid, accessSignature,
		r.GetRequestedAt().UTC(), exp, string(data)}
	if s.db.Dialect() == db.SQLite {
		// In a transaction, so concurrent grants share one commit (SQLite
		// group commit) instead of one sync each.
		err = s.db.Tx(ctx, func(tx *db.Tx) error {
			_, err := tx.ExecContext(ctx, insert, args...)
			return err
		})
	} else {
		_, err = s.db.Write().ExecContext(ctx, insert, args...)
	}
	if err != nil {
		return fmt.Errorf("store %s: %w", kind, err)
	}
	return nil
}

// expiry is when the row may be purged.
func (s *storage) expiry(kind string, r fosite.Requester) time.Time {
	var tt fosite.TokenType
	var life time.Duration
	switch kind {
	case kindAccess:
		tt, life = fosite.AccessToken, s.accessLifespan
	case kindRefresh:
		tt, life = fosite.RefreshToken, s.refreshLifespan
	default:
		tt, life = fosite.AuthorizeCode, s.codeLifespan
	}
	if sess := r.GetSession(); sess != nil {
		if t := sess.GetExpiresAt(tt); !t.IsZero() {
			return t.UTC()
		}
	}
	return s.now().UTC().Add(life)
}

// get loads a row; active is false for a used code or rotated refresh token.
func (s *storage) get(ctx context.Context, kind, signature string, session fosite.Session) (fosite.Requester, bool, error) {
	var data string
	var active bool
	err := s.db.Read().QueryRowContext(ctx, `SELECT data, active FROM identity_oauth_tokens WHERE signature = $1 AND kind = $2`,
		hashSignature(kind, signature), kind).Scan(&data, &active)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, fosite.ErrNotFound
	}
	if err != nil {
		return nil, false, fmt.Errorf("load %s: %w", kind, err)
	}
	var sr storedRequest
	if err := json.Unmarshal([]byte(data), &sr); err != nil {
		return nil, false, fmt.Errorf("load %s: %w", kind, err)
	}
	if session == nil {
		session = newSession()
	}
	if err := json.Unmarshal(sr.Session, session); err != nil {
		return nil, false, fmt.Errorf("load %s session: %w", kind, err)
	}
	c, err := s.client(ctx, sr.ClientID)
	if errors.Is(err, ErrClientNotFound) || err == nil && c.Disabled {
		return nil, false, fosite.ErrNotFound
	}
	if err != nil {
		return nil, false, err
	}
	req := &fosite.Request{ID: sr.ID, RequestedAt: sr.RequestedAt, Client: fositeClient{c},
		RequestedScope: sr.RequestedScopes, GrantedScope: sr.GrantedScopes,
		RequestedAudience: sr.RequestedAudience, GrantedAudience: sr.GrantedAudience,
		Form: sr.Form, Session: session}
	if req.Form == nil {
		req.Form = url.Values{}
	}
	return req, active, nil
}

func (s *storage) delete(ctx context.Context, kind, signature string) error {
	_, err := s.db.Write().ExecContext(ctx, `DELETE FROM identity_oauth_tokens WHERE signature = $1`, hashSignature(kind, signature))
	if err != nil {
		return fmt.Errorf("delete %s: %w", kind, err)
	}
	return nil
}

// CreateAuthorizeCodeSession stores an authorization code's request.
func (s *storage) CreateAuthorizeCodeSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.create(ctx, kindCode, code, "", r)
}

// GetAuthorizeCodeSession returns the request of a code; a used code gives
// the request with fosite.ErrInvalidatedAuthorizeCode, so fosite revokes
// what the first exchange issued (RFC 6749 §4.1.2).
func (s *storage) GetAuthorizeCodeSession(ctx context.Context, code string, session fosite.Session) (fosite.Requester, error) {
	r, active, err := s.get(ctx, kindCode, code, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return r, fosite.ErrInvalidatedAuthorizeCode
	}
	return r, nil
}

// InvalidateAuthorizeCodeSession marks a code used.
func (s *storage) InvalidateAuthorizeCodeSession(ctx context.Context, code string) error {
	_, err := s.db.Write().ExecContext(ctx, `UPDATE identity_oauth_tokens SET active = FALSE WHERE signature = $1`,
		hashSignature(kindCode, code))
	if err != nil {
		return fmt.Errorf("invalidate code: %w", err)
	}
	return nil
}

// CreateAccessTokenSession stores an access token's request.
func (s *storage) CreateAccessTokenSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.create(ctx, kindAccess, signature, "", r)
}

// GetAccessTokenSession returns the request of a live access token.
func (s *storage) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	r, active, err := s.get(ctx, kindAccess, signature, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return nil, fosite.ErrNotFound
	}
	return r, nil
}

// DeleteAccessTokenSession forgets an access token.
func (s *storage) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return s.delete(ctx, kindAccess, signature)
}

// CreateRefreshTokenSession stores a refresh token's request, linked to the
// access token issued with it.
func (s *storage) CreateRefreshTokenSession(ctx context.Context, signature, accessSignature string, r fosite.Requester) error {
	return s.create(ctx, kindRefresh, signature, accessSignature, r)
}

// GetRefreshTokenSession returns the request of a refresh token; a rotated
// (used) one gives the request with fosite.ErrInactiveToken, which makes
// fosite revoke the whole family (reuse detection, RFC 6819 §5.2.2.3).
func (s *storage) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	r, active, err := s.get(ctx, kindRefresh, signature, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return r, fosite.ErrInactiveToken
	}
	return r, nil
}

// DeleteRefreshTokenSession forgets a refresh token.
func (s *storage) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	return s.delete(ctx, kindRefresh, signature)
}

// RotateRefreshToken marks a refresh token used and ends the access token
// issued with it.
func (s *storage) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	h := hashSignature(kindRefresh, signature)
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_oauth_tokens WHERE kind = 'access' AND signature =
			(SELECT access_signature FROM identity_oauth_tokens WHERE signature = $1)`, h); err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identity_oauth_tokens SET active = FALSE WHERE signature = $1`, h); err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		return nil
	})
}

// RevokeRefreshToken ends every refresh token of the grant (the family).
func (s *storage) RevokeRefreshToken(ctx context.Context, requestID string) error {
	_, err := s.db.Write().ExecContext(ctx, `UPDATE identity_oauth_tokens SET active = FALSE WHERE request_id = $1 AND kind = 'refresh'`, requestID)
	if err != nil {
		return fmt.Errorf("revoke refresh tokens: %w", err)
	}
	return nil
}

// RevokeAccessToken ends every access token of the grant.
func (s *storage) RevokeAccessToken(ctx context.Context, requestID string) error {
	_, err := s.db.Write().ExecContext(ctx, `DELETE FROM identity_oauth_tokens WHERE request_id = $1 AND kind = 'access'`, requestID)
	if err != nil {
		return fmt.Errorf("revoke access tokens: %w", err)
	}
	return nil
}

// CreateOpenIDConnectSession stores the ID token request of a code.
func (s *storage) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.create(ctx, kindOIDC, code, "", r)
}

// GetOpenIDConnectSession returns the ID token request of a code.
func (s *storage) GetOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) (fosite.Requester, error) {
	got, _, err := s.get(ctx, kindOIDC, code, r.GetSession())
	return got, err
}

// DeleteOpenIDConnectSession forgets the ID token request of a code.
func (s *storage) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return s.delete(ctx, kindOIDC, code)
}

// CreatePKCERequestSession stores the PKCE challenge of a code.
func (s *storage) CreatePKCERequestSession(ctx context.Context, signature string, r fosite.Requester) error {
	return s.create(ctx, kindPKCE, signature, "", r)
}

// GetPKCERequestSession returns the PKCE challenge of a code.
func (s *storage) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	r, _, err := s.get(ctx, kindPKCE, signature, session)
	return r, err
}

// DeletePKCERequestSession forgets the PKCE challenge of a code.
func (s *storage) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return s.delete(ctx, kindPKCE, signature)
}

// purge deletes rows expired before cutoff.
func (s *storage) purge(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.Write().ExecContext(ctx, `DELETE FROM identity_oauth_tokens WHERE expires_at < $1`, cutoff.UTC())
	if err != nil {
		return 0, fmt.Errorf("purge tokens: %w", err)
	}
	return res.RowsAffected()
}

// secretHasher compares client secrets. Secrets are 256 random bits made by
// the provider, so a fast hash (SHA-256) is as safe as a slow one and keeps
// client authentication cheap; comparison is constant-time.
type secretHasher struct{}

// HashSecret returns the stored form of a client secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte("congso client secret\x00" + secret))
	return "sha256$" + hex.EncodeToString(sum[:])
}

func (secretHasher) Hash(ctx context.Context, data []byte) ([]byte, error) {
	return []byte(HashSecret(string(data))), nil
}

func (secretHasher) Compare(ctx context.Context, hash, data []byte) error {
	if !strings.HasPrefix(string(hash), "sha256$") ||
		subtle.ConstantTimeCompare(hash, []byte(HashSecret(string(data)))) != 1 {
		return fosite.ErrInvalidClient
	}
	return nil
}
