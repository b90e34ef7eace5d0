package oidc

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrClientNotFound: no client has this id.
	ErrClientNotFound = errors.New("oidc: client not found")
	// ErrClientExists: another client has this id.
	ErrClientExists = errors.New("oidc: client id taken")
	// ErrInvalidClient: the client registration breaks a rule; the error is
	// a [ClientError] naming the field.
	ErrInvalidClient = errors.New("oidc: invalid client registration")
)

// Grant types a client may be allowed.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Scopes with a meaning in this provider. Other scopes (an API's own, such as
// "dossier.read") may be registered for a client and are passed through in
// access tokens.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopePhone         = "phone"
	ScopeOfflineAccess = "offline_access"
	// ScopePersonalID releases a citizen's personal ID number (claim
	// "cccd"). Officials' numbers are never released.
	ScopePersonalID = "cccd"
	// ScopeRoles releases an official's positions and roles per unit and
	// agency e-ID (claims "congso_positions", "congso_roles").
	ScopeRoles = "congso.roles"
)

// StandardScopes lists the scopes described on the consent screen.
func StandardScopes() []string {
	return []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopePhone, ScopeOfflineAccess, ScopePersonalID, ScopeRoles}
}

// Client is an application registered to use the provider: a relying party
// (portal, workspace, a vendor's system) or a system calling APIs with its
// own credentials. Lists are compared exactly, never by prefix.
type Client struct {
	ID   string
	Name string
	// SecretHash is the hash of the client secret (see [HashSecret]); empty
	// for a public client. The secret itself is shown once, when created or
	// rotated, and never stored.
	SecretHash             string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	GrantTypes             []string
	Scopes                 []string
	Audience               []string
	// Public clients (single-page or mobile applications) hold no secret and
	// must use PKCE with S256.
	Public bool
	// FirstParty clients are the province's own applications: people are
	// not asked for consent.
	FirstParty      bool
	Disabled        bool
	SecretRotatedAt *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// ClientInput is what an administrator registers or changes.
type ClientInput struct {
	ID                     string // only when registering; lower-case letters, digits, '-', '_', '.'
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	GrantTypes             []string
	Scopes                 []string
	Audience               []string
	Public                 bool
	FirstParty             bool
	Disabled               bool
}

// ClientError names the field of a [ClientInput] that is wrong and why
// (Code: required, invalid, invalid_uri, not_allowed). It matches
// [ErrInvalidClient].
type ClientError struct {
	Field, Code, Value string
}

func (e *ClientError) Error() string {
	s := "oidc: client " + e.Field + ": " + e.Code
	if e.Value != "" {
		s += " (" + e.Value + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrInvalidClient) hold.
func (e *ClientError) Is(target error) bool { return target == ErrInvalidClient }

// normalize trims the input and checks it. AllowHTTP permits plain http
// redirect URIs on loopback hosts only (development, native applications).
func (in *ClientInput) normalize(creating bool) error {
	in.ID = strings.ToLower(strings.TrimSpace(in.ID))
	in.Name = strings.TrimSpace(in.Name)
	clean := func(v []string) []string {
		var out []string
		for _, s := range v {
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	in.RedirectURIs, in.PostLogoutRedirectURIs = clean(in.RedirectURIs), clean(in.PostLogoutRedirectURIs)
	in.GrantTypes, in.Scopes, in.Audience = clean(in.GrantTypes), clean(in.Scopes), clean(in.Audience)
	if creating {
		if in.ID == "" {
			return &ClientError{Field: "id", Code: "required"}
		}
		if len(in.ID) > 64 || !validClientID(in.ID) {
			return &ClientError{Field: "id", Code: "invalid", Value: in.ID}
		}
	}
	if in.Name == "" {
		return &ClientError{Field: "name", Code: "required"}
	}
	if utf8.RuneCountInString(in.Name) > 200 {
		return &ClientError{Field: "name", Code: "invalid"}
	}
	if len(in.GrantTypes) == 0 {
		return &ClientError{Field: "grant_types", Code: "required"}
	}
	for _, g := range in.GrantTypes {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken:
		case GrantClientCredentials:
			if in.Public {
				return &ClientError{Field: "grant_types", Code: "not_allowed", Value: g}
			}
		default:
			return &ClientError{Field: "grant_types", Code: "invalid", Value: g}
		}
	}
	if slices.Contains(in.GrantTypes, GrantAuthorizationCode) && len(in.RedirectURIs) == 0 {
		return &ClientError{Field: "redirect_uris", Code: "required"}
	}
	for _, u := range in.RedirectURIs {
		if !validRedirectURI(u) {
			return &ClientError{Field: "redirect_uris", Code: "invalid_uri", Value: u}
		}
	}
	for _, u := range in.PostLogoutRedirectURIs {
		if !validRedirectURI(u) {
			return &ClientError{Field: "post_logout_redirect_uris", Code: "invalid_uri", Value: u}
		}
	}
	for _, s := range append(slices.Clone(in.Scopes), in.Audience...) {
		if !validToken(s) {
			return &ClientError{Field: "scopes", Code: "invalid", Value: s}
		}
	}
	return nil
}

func validClientID(id string) bool {
	for _, c := range id {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return id != ""
}

// validToken accepts a scope or audience: printable, no spaces or quotes.
func validToken(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' || r == '\\' {
			return false
		}
	}
	return true
}

// validRedirectURI accepts an absolute https URI without fragment, or http
// on a loopback host (RFC 8252 §7.3), or a private-use scheme with a dot
// ("vn.gov.congso.app:/cb") for native applications.
func validRedirectURI(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Fragment != "" || strings.Contains(s, "#") || u.Scheme == "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return u.Host != "" && u.User == nil
	case "http":
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1"
	case "javascript", "data", "file", "vbscript":
		return false
	default:
		return strings.Contains(u.Scheme, ".")
	}
}

// HasGrant reports whether the client may use grant type g.
func (c Client) HasGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }
