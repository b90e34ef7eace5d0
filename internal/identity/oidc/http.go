package oidc

import (
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

// The provider's endpoints, under the issuer URL.
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathJWKS       = "/oauth2/jwks"
	PathAuthorize  = "/oauth2/authorize"
	PathToken      = "/oauth2/token"
	PathIntrospect = "/oauth2/introspect"
	PathRevoke     = "/oauth2/revoke"
	PathUserinfo   = "/oauth2/userinfo"
	PathLogout     = "/oauth2/logout"
)

//go:embed templates/*.html
var templateFS embed.FS

// Handlers serves the OpenID Connect endpoints, the consent and logout
// pages, the client administration pages and the client JSON API. They
// expect identity's Authenticate middleware (and the CSRF middleware, which
// lets the server-to-server posts of token, introspection and revocation
// through because they carry no cookies) to have run.
type Handlers struct {
	p         *Provider
	idh       *identity.Handlers
	shell     *web.Shell
	errorPage func(http.ResponseWriter, *http.Request, int)
	pages     map[string]*template.Template
}

// NewHandlers returns the handlers. idh clears the session cookie at
// logout; shell and errorPage (web.Handlers.ErrorPage) render the pages.
func NewHandlers(p *Provider, idh *identity.Handlers, shell *web.Shell, errorPage func(http.ResponseWriter, *http.Request, int)) (*Handlers, error) {
	pages, err := shell.Pages(templateFS, "templates/*.html", template.FuncMap{
		"join": func(v []string) string { return strings.Join(v, "\n") },
		"has":  func(v []string, s string) bool { return slices.Contains(v, s) },
		"scopeText": func(v web.View, s string) string {
			if key := "identity.oidc.scope." + s; i18n.Has(key) {
				return v.T(key)
			}
			return s
		},
	})
	if err != nil {
		return nil, err
	}
	return &Handlers{p: p, idh: idh, shell: shell, errorPage: errorPage, pages: pages}, nil
}

// Routes registers the endpoints on mux:
//
//	GET      /.well-known/openid-configuration   discovery
//	GET      /oauth2/jwks                         public signing keys
//	GET/POST /oauth2/authorize                    authorization (code + PKCE), consent
//	POST     /oauth2/token                        code, refresh_token, client_credentials
//	POST     /oauth2/introspect                   RFC 7662
//	POST     /oauth2/revoke                       RFC 7009
//	GET/POST /oauth2/userinfo                     claims of the token's person
//	GET/POST /oauth2/logout                       RP-initiated logout
//	GET/POST /admin/clients...                    client administration pages
//	/api/v1/oauth-clients...                      client JSON API
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathDiscovery, h.discovery)
	mux.HandleFunc("GET "+PathJWKS, h.jwks)
	mux.HandleFunc("GET "+PathAuthorize, h.authorize)
	mux.HandleFunc("POST "+PathAuthorize, h.authorize)
	mux.HandleFunc("POST "+PathToken, h.token)
	mux.HandleFunc("POST "+PathIntrospect, h.introspect)
	mux.HandleFunc("POST "+PathRevoke, h.revoke)
	mux.HandleFunc("GET "+PathUserinfo, h.userinfo)
	mux.HandleFunc("POST "+PathUserinfo, h.userinfo)
	mux.HandleFunc("GET "+PathLogout, h.logout)
	mux.HandleFunc("POST "+PathLogout, h.logout)
	h.clientRoutes(mux)
}

// CSRFExempt reports the OAuth endpoints that authenticate by client
// credentials or bearer token rather than by cookie, for
// httpx.CSRFConfig.Exempt: a relying party's server may send cookies it
// happens to hold for the site without a CSRF token.
func CSRFExempt(r *http.Request) bool {
	switch r.URL.Path {
	case PathToken, PathIntrospect, PathRevoke, PathUserinfo:
		return true
	}
	return false
}

// NavItems are the shell links this package adds.
func NavItems() []web.NavItem {
	return []web.NavItem{{Path: "/admin/clients", Label: "identity.oidc.nav.clients", Order: 91,
		Visible: func(u *web.User) bool { return u.Can(string(ActionClientManage)) }}}
}

// --- discovery and keys ---

func (h *Handlers) discovery(w http.ResponseWriter, r *http.Request) {
	iss := h.p.cfg.Issuer
	doc := map[string]any{
		"issuer":                                        iss,
		"authorization_endpoint":                        iss + PathAuthorize,
		"token_endpoint":                                iss + PathToken,
		"userinfo_endpoint":                             iss + PathUserinfo,
		"jwks_uri":                                      iss + PathJWKS,
		"end_session_endpoint":                          iss + PathLogout,
		"introspection_endpoint":                        iss + PathIntrospect,
		"revocation_endpoint":                           iss + PathRevoke,
		"scopes_supported":                              StandardScopes(),
		"response_types_supported":                      []string{"code"},
		"response_modes_supported":                      []string{"query", "form_post"},
		"grant_types_supported":                         []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials},
		"subject_types_supported":                       []string{"public"},
		"id_token_signing_alg_values_supported":         []string{h.p.keys.Alg()},
		"token_endpoint_auth_methods_supported":         []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":    []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":              []string{"S256"},
		"prompt_values_supported":                       []string{"none", "login", "consent"},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr", "name",
			"preferred_username", "email", "email_verified", "phone_number", "phone_number_verified",
			ClaimPersonalID, ClaimKind, ClaimPositions, ClaimRoles},
		"ui_locales_supported":                           []string{"vi", "en"},
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"frontchannel_logout_supported":                  false,
		"backchannel_logout_supported":                   false,
		"authorization_response_iss_parameter_supported": false,
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.WriteJSON(w, http.StatusOK, doc)
}

func (h *Handlers) jwks(w http.ResponseWriter, r *http.Request) {
	set, err := h.p.keys.PublicKeys(r.Context())
	if err != nil {
		oauthServerError(w, r, h.p, err)
		return
	}
	// Short cache: a relying party sees a rotation within minutes, and
	// refetches at once on an unknown kid anyway.
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/jwk-set+json")
	json.NewEncoder(w).Encode(set)
}

// oauthServerError answers a failure of ours in OAuth error JSON, logged.
func oauthServerError(w http.ResponseWriter, r *http.Request, p *Provider, err error) {
	p.cfg.Log.ErrorContext(r.Context(), "oidc", "path", r.URL.Path, "err", err)
	writeOAuthError(w, http.StatusInternalServerError, "server_error", "")
}

// writeOAuthError writes the standard OAuth error body (RFC 6749 §5.2).
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		v := `Bearer error="` + code + `"`
		w.Header().Set("WWW-Authenticate", v)
	}
	w.WriteHeader(status)
	body := map[string]string{"error": code}
	if description != "" {
		body["error_description"] = description
	}
	json.NewEncoder(w).Encode(body)
}

// rfcError returns fosite's view of err: the OAuth error code and hint.
func rfcError(err error) (code, detail string) {
	e := fosite.ErrorToRFC6749Error(err)
	detail = e.HintField
	if e.DebugField != "" {
		detail += " " + e.DebugField
	}
	return e.ErrorField, strings.TrimSpace(detail)
}

// --- authorization ---

func (h *Handlers) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := h.p.oauth.NewAuthorizeRequest(ctx, r)
	if err != nil {
		h.authorizeError(w, r, ar, err)
		return
	}
	form := ar.GetRequestForm()
	prompt := strings.Fields(form.Get("prompt"))
	pr := identity.PrincipalFrom(ctx)
	if !pr.Authenticated() {
		if slices.Contains(prompt, "none") {
			h.authorizeError(w, r, ar, fosite.ErrLoginRequired)
			return
		}
		h.toLogin(w, r, form)
		return
	}
	authTime, err := h.authTime(r, pr)
	if err != nil {
		h.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
		return
	}
	// prompt=login, or a sign-in older than max_age: end the session and
	// sign in again; the request continues without those parameters.
	maxAge, _ := time.ParseDuration(form.Get("max_age") + "s")
	if slices.Contains(prompt, "login") || form.Get("max_age") != "" && time.Since(authTime) > maxAge {
		if slices.Contains(prompt, "none") {
			h.authorizeError(w, r, ar, fosite.ErrLoginRequired)
			return
		}
		if err := h.p.ids.RevokeSession(ctx, pr, pr.PersonID, pr.SessionID); err != nil && !errors.Is(err, identity.ErrNotFound) {
			h.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
			return
		}
		h.idh.ClearSessionCookie(w, r)
		h.toLogin(w, r, form)
		return
	}
	client := ar.GetClient().(fositeClient).registered()
	scopes := []string(ar.GetRequestedScopes())
	if !client.FirstParty {
		ok, err := h.p.consented(ctx, pr.PersonID, client.ID, scopes)
		if err != nil {
			h.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
			return
		}
		if !ok || slices.Contains(prompt, "consent") {
			decision := ""
			if r.Method == http.MethodPost {
				decision = r.PostFormValue("consent")
			}
			switch {
			case decision == "allow":
				if err := h.p.recordConsent(ctx, pr.PersonID, client.ID, scopes); err != nil {
					h.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
					return
				}
			case decision == "deny":
				h.p.auditLog(ctx, AuditConsentDenied, pr.PersonID, "person", pr.PersonID, map[string]any{"client_id": client.ID})
				h.authorizeError(w, r, ar, fosite.ErrAccessDenied.WithHint("The person refused."))
				return
			case slices.Contains(prompt, "none"):
				h.authorizeError(w, r, ar, fosite.ErrConsentRequired)
				return
			default:
				h.consentPage(w, r, client, scopes, form)
				return
			}
		}
	}
	for _, s := range scopes {
		ar.GrantScope(s)
	}
	for _, a := range ar.GetRequestedAudience() {
		ar.GrantAudience(a)
	}
	sess, err := h.personSession(r, pr, client, scopes, authTime)
	if err != nil {
		h.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
		return
	}
	resp, err := h.p.oauth.NewAuthorizeResponse(ctx, ar, sess)
	if err != nil {
		h.authorizeError(w, r, ar, err)
		return
	}
	h.p.auditLog(ctx, AuditAuthorized, pr.PersonID, "person", pr.PersonID, map[string]any{
		"client_id": client.ID, "scopes": scopes, "session_id": pr.SessionID})
	h.p.oauth.WriteAuthorizeResponse(ctx, w, ar, resp)
}

// toLogin sends the browser to the sign-in page, to come back to the same
// authorization request (without prompt and max_age, already honoured).
func (h *Handlers) toLogin(w http.ResponseWriter, r *http.Request, form url.Values) {
	q := url.Values{}
	for k, v := range form {
		switch k {
		case "prompt", "max_age", "csrf_token", "consent":
			continue
		}
		q[k] = v
	}
	next := PathAuthorize + "?" + q.Encode()
	http.Redirect(w, r, h.p.cfg.LoginPath+"?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// authTime is when the person signed in to the current session.
func (h *Handlers) authTime(r *http.Request, pr *identity.Principal) (time.Time, error) {
	ss, err := h.p.ids.ListSessions(r.Context(), pr.PersonID)
	if err != nil {
		return time.Time{}, err
	}
	for _, s := range ss {
		if s.ID == pr.SessionID {
			return s.CreatedAt, nil
		}
	}
	return time.Now(), nil
}

// personSession builds what the tokens of a person's grant carry.
func (h *Handlers) personSession(r *http.Request, pr *identity.Principal, c Client, scopes []string, authTime time.Time) (*Session, error) {
	s := newSession()
	now := time.Now().UTC()
	s.Subject, s.SID = pr.PersonID, pr.SessionID
	s.Claims.Subject = pr.PersonID
	s.Claims.AuthTime = authTime.UTC()
	s.Claims.RequestedAt = now
	amr := []string{"pwd"}
	switch {
	case strings.HasPrefix(pr.Method, "oidc:"):
		amr = []string{"fed"}
	case pr.Method == identity.MethodPasswordTOTP:
		amr = []string{"pwd", "otp", "mfa"}
	}
	s.Claims.Extra = map[string]any{"sid": pr.SessionID, "amr": amr, ClaimKind: string(pr.Kind)}
	if slices.Contains(scopes, ScopeProfile) {
		s.Claims.Extra["name"] = pr.FullName
		s.Claims.Extra["preferred_username"] = pr.Username
	}
	s.AccessExtra = map[string]any{"client_id": c.ID, ClaimKind: string(pr.Kind), "sid": pr.SessionID}
	if slices.Contains(scopes, ScopeRoles) && pr.Kind == identity.KindOfficial {
		roles := []RoleClaim{}
		for _, g := range pr.Grants {
			if g.Active() {
				roles = append(roles, RoleClaim{Role: string(g.Role), UnitID: g.UnitID})
			}
		}
		s.AccessExtra[ClaimRoles] = roles
		s.Claims.Extra[ClaimRoles] = roles
	}
	return s, nil
}

// authorizeError answers a refused authorization request: back to the
// client with the error when its redirect URI is known good, otherwise on a
// page of ours (never to an unverified URI).
func (h *Handlers) authorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	code, detail := rfcError(err)
	clientID := ""
	if ar != nil && ar.GetClient() != nil {
		clientID = ar.GetClient().GetID()
	}
	if code == "server_error" {
		h.p.cfg.Log.ErrorContext(r.Context(), "oidc authorize", "client_id", clientID, "err", err)
	}
	h.p.auditLog(r.Context(), AuditAuthorizeRefused, actorOf(r), "oauth_client", clientID, map[string]any{
		"error": code, "detail": detail})
	if ar != nil && ar.IsRedirectURIValid() {
		h.p.oauth.WriteAuthorizeError(r.Context(), w, ar, err)
		return
	}
	status := fosite.ErrorToRFC6749Error(err).CodeField
	if status < 400 {
		status = http.StatusBadRequest
	}
	h.shell.Render(w, r, h.pages["oauth_error"], status, oauthErrorView{Code: code})
}

type oauthErrorView struct{ Code string }

func actorOf(r *http.Request) string {
	if pr := identity.PrincipalFrom(r.Context()); pr.Authenticated() {
		return pr.PersonID
	}
	return identity.ActorAnonymous
}

type consentView struct {
	Client Client
	Scopes []string
	Form   url.Values // the authorization request, posted back
}

func (h *Handlers) consentPage(w http.ResponseWriter, r *http.Request, c Client, scopes []string, form url.Values) {
	f := url.Values{}
	for k, v := range form {
		if k != "csrf_token" && k != "consent" {
			f[k] = v
		}
	}
	identity.RelaxFormAction(w)
	h.shell.Render(w, r, h.pages["consent"], http.StatusOK, consentView{Client: c, Scopes: scopes, Form: f})
}

// --- token endpoint ---

func (h *Handlers) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess := newSession()
	ar, err := h.p.oauth.NewAccessRequest(ctx, r, sess)
	if err != nil {
		h.tokenError(w, r, ar, err)
		return
	}
	if ar.GetGrantTypes().ExactOne(GrantClientCredentials) {
		for _, s := range ar.GetRequestedScopes() {
			ar.GrantScope(s)
		}
		for _, a := range ar.GetRequestedAudience() {
			ar.GrantAudience(a)
		}
		id := ar.GetClient().GetID()
		sess.Subject = id
		sess.AccessExtra = map[string]any{"client_id": id, ClaimKind: "client"}
	}
	if ar.GetGrantTypes().ExactOne(GrantRefreshToken) {
		if err := h.refreshPerson(r, ar, sess); err != nil {
			h.tokenError(w, r, ar, err)
			return
		}
	}
	resp, err := h.p.oauth.NewAccessResponse(ctx, ar)
	if err != nil {
		h.tokenError(w, r, ar, err)
		return
	}
	h.p.auditLog(ctx, AuditTokenIssued, ar.GetClient().GetID(), "oauth_client", ar.GetClient().GetID(), map[string]any{
		"grant_type": strings.Join(ar.GetGrantTypes(), " "), "subject": ar.GetSession().GetSubject(),
		"request_id": ar.GetID()})
	h.p.oauth.WriteAccessResponse(ctx, w, ar, resp)
}

// refreshPerson refuses a refresh for a person no longer able to sign in
// (disabled or locked: the family is revoked) and brings the roles in new
// access tokens up to date with the person's grants.
func (h *Handlers) refreshPerson(r *http.Request, ar fosite.AccessRequester, _ *Session) error {
	ctx := r.Context()
	sess, ok := ar.GetSession().(*Session)
	if !ok {
		return fosite.ErrServerError.WithHint("unexpected session type")
	}
	person, err := h.p.ids.GetPerson(ctx, sess.GetSubject())
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return fosite.ErrServerError.WithWrap(err)
	}
	if err != nil || person.StatusAt(h.p.cfg.Now()) != identity.StatusActive {
		if rerr := h.p.store.RevokeRefreshToken(ctx, ar.GetID()); rerr != nil {
			return fosite.ErrServerError.WithWrap(rerr)
		}
		if rerr := h.p.store.RevokeAccessToken(ctx, ar.GetID()); rerr != nil {
			return fosite.ErrServerError.WithWrap(rerr)
		}
		return fosite.ErrInvalidGrant.WithHint("The account can no longer sign in.")
	}
	if _, had := sess.AccessExtra[ClaimRoles]; had {
		roles := []RoleClaim{}
		for _, g := range person.Grants {
			if g.Active() {
				roles = append(roles, RoleClaim{Role: string(g.Role), UnitID: g.UnitID})
			}
		}
		sess.AccessExtra[ClaimRoles] = roles
	}
	return nil
}

func (h *Handlers) tokenError(w http.ResponseWriter, r *http.Request, ar fosite.AccessRequester, err error) {
	ctx := r.Context()
	code, detail := rfcError(err)
	clientID, grant := "", r.PostFormValue("grant_type")
	if ar != nil && ar.GetClient() != nil {
		clientID = ar.GetClient().GetID()
	}
	if clientID == "" {
		clientID, _, _ = r.BasicAuth()
		if clientID == "" {
			clientID = r.PostFormValue("client_id")
		}
	}
	if code == "server_error" {
		h.p.cfg.Log.ErrorContext(ctx, "oidc token", "client_id", clientID, "err", err, "detail", detail, "cause", errors.Unwrap(err))
	}
	action := AuditTokenRefused
	if errors.Is(err, fosite.ErrInactiveToken) && grant == GrantRefreshToken {
		action = AuditRefreshReuse
	}
	h.p.auditLog(ctx, action, identity.ActorAnonymous, "oauth_client", truncate(clientID, 100), map[string]any{
		"grant_type": truncate(grant, 50), "error": code, "detail": detail})
	h.p.oauth.WriteAccessError(ctx, w, ar, err)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// --- introspection, revocation, userinfo ---

func (h *Handlers) introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ir, err := h.p.oauth.NewIntrospectionRequest(ctx, r, newSession())
	if err != nil {
		code, detail := rfcError(err)
		h.p.auditLog(ctx, AuditBearerRefused, identity.ActorAnonymous, "oauth_client", "", map[string]any{
			"endpoint": "introspect", "error": code, "detail": detail})
		h.p.oauth.WriteIntrospectionError(ctx, w, err)
		return
	}
	h.p.oauth.WriteIntrospectionResponse(ctx, w, ir)
}

func (h *Handlers) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	err := h.p.oauth.NewRevocationRequest(ctx, r)
	clientID, _, _ := r.BasicAuth()
	if clientID == "" {
		clientID = r.PostFormValue("client_id")
	}
	detail := map[string]any{"token_type_hint": truncate(r.PostFormValue("token_type_hint"), 50)}
	if err != nil {
		detail["error"], detail["detail"] = rfcError(err)
	}
	h.p.auditLog(ctx, AuditTokenRevoked, truncate(clientID, 100), "oauth_client", truncate(clientID, 100), detail)
	h.p.oauth.WriteRevocationResponse(ctx, w, err)
}

func (h *Handlers) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := fosite.AccessTokenFromRequest(r)
	if token == "" {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "")
		return
	}
	_, ar, err := h.p.oauth.IntrospectToken(ctx, token, fosite.AccessToken, newSession())
	if err != nil {
		code, detail := rfcError(err)
		h.p.auditLog(ctx, AuditBearerRefused, identity.ActorAnonymous, "oauth_client", "", map[string]any{
			"endpoint": "userinfo", "error": code, "detail": detail})
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "")
		return
	}
	if !ar.GetGrantedScopes().Has(ScopeOpenID) {
		writeOAuthError(w, http.StatusForbidden, "insufficient_scope", "scope openid is required")
		return
	}
	claims, err := h.p.personClaims(ctx, ar.GetSession().GetSubject(), ar.GetGrantedScopes())
	if errors.Is(err, identity.ErrNotFound) {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "")
		return
	}
	if err != nil {
		oauthServerError(w, r, h.p, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, claims)
}
