package oidc

import (
	"encoding/json"
	"maps"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// Session is what the provider keeps with every grant: the ID token claims
// (fosite's openid.DefaultSession), the extra claims of access tokens and the
// identity session the grant came from (for logout).
type Session struct {
	*openid.DefaultSession
	// AccessExtra are the claims added to JWT access tokens besides iss,
	// sub, aud, exp, iat, jti and scope: client_id, and for people kind.
	AccessExtra map[string]any `json:"access_extra,omitempty"`
	// SID is the id of the identity session (browser sign-in) the grant was
	// made in; empty for client credentials.
	SID string `json:"sid,omitempty"`
}

// newSession returns an empty session for fosite to fill.
func newSession() *Session {
	return &Session{DefaultSession: &openid.DefaultSession{Claims: &jwt.IDTokenClaims{}, Headers: &jwt.Headers{}}}
}

// Clone returns a deep copy (fosite clones the session at refresh).
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic("oidc: clone session: " + err.Error())
	}
	c := newSession()
	if err := json.Unmarshal(b, c); err != nil {
		panic("oidc: clone session: " + err.Error())
	}
	return c
}

// GetJWTClaims returns the claims of a JWT access token.
func (s *Session) GetJWTClaims() jwt.JWTClaimsContainer {
	return &jwt.JWTClaims{Subject: s.Subject, Extra: maps.Clone(s.AccessExtra)}
}

// GetJWTHeader marks access tokens as such (RFC 9068), so that an ID token
// cannot be presented as an access token or the other way round.
func (s *Session) GetJWTHeader() *jwt.Headers {
	return &jwt.Headers{Extra: map[string]any{"typ": accessTokenType}}
}

// accessTokenType is the "typ" header of access tokens (RFC 9068).
const accessTokenType = "at+jwt"
