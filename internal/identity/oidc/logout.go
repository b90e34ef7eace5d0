package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/congso/congso/internal/identity"
)

// idTokenHint is what the logout endpoint learns from id_token_hint.
type idTokenHint struct {
	Subject  string
	Audience []string
	SID      string
}

// verifyIDTokenHint checks an ID token of ours: signature by a published
// key, issuer. Its expiry does not matter (OpenID Connect RP-Initiated
// Logout §2).
func (p *Provider) verifyIDTokenHint(ctx context.Context, raw string) (idTokenHint, error) {
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		return idTokenHint{}, fmt.Errorf("id_token_hint: %w", err)
	}
	set, err := p.keys.PublicKeys(ctx)
	if err != nil {
		return idTokenHint{}, err
	}
	if len(tok.Headers) != 1 {
		return idTokenHint{}, errors.New("id_token_hint: one signature expected")
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) == 0 {
		return idTokenHint{}, errors.New("id_token_hint: unknown key")
	}
	var c struct {
		josejwt.Claims
		SID string `json:"sid"`
	}
	if err := tok.Claims(keys[0].Key, &c); err != nil {
		return idTokenHint{}, fmt.Errorf("id_token_hint: %w", err)
	}
	if c.Issuer != p.cfg.Issuer {
		return idTokenHint{}, errors.New("id_token_hint: wrong issuer")
	}
	return idTokenHint{Subject: c.Subject, Audience: c.Audience, SID: c.SID}, nil
}

type logoutView struct {
	Form     url.Values // posted back by the confirmation form
	Redirect string     // where to continue after signing out, if verified
	Client   string
}

// logout ends the person's session at the provider (RP-Initiated Logout
// 1.0). The post_logout_redirect_uri must be registered for the client named
// by id_token_hint or client_id, exactly; otherwise nobody is redirected
// anywhere. Without a valid id_token_hint for the signed-in person, the
// person confirms first (a third party cannot sign people out).
func (h *Handlers) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, http.StatusBadRequest)
		return
	}
	q := r.Form
	var hint *idTokenHint
	if raw := q.Get("id_token_hint"); raw != "" {
		got, err := h.p.verifyIDTokenHint(ctx, raw)
		if err != nil {
			h.p.auditLog(ctx, AuditLogoutRedirectDeny, actorOf(r), "oauth_client", "", map[string]any{"error": "invalid id_token_hint"})
			h.shell.Render(w, r, h.pages["oauth_error"], http.StatusBadRequest, oauthErrorView{Code: "invalid_request"})
			return
		}
		hint = &got
	}
	clientID := q.Get("client_id")
	if hint != nil {
		if clientID != "" && !slices.Contains(hint.Audience, clientID) {
			h.shell.Render(w, r, h.pages["oauth_error"], http.StatusBadRequest, oauthErrorView{Code: "invalid_request"})
			return
		}
		if clientID == "" && len(hint.Audience) > 0 {
			clientID = hint.Audience[0]
		}
	}
	redirect := ""
	if target := q.Get("post_logout_redirect_uri"); target != "" {
		c, err := h.p.Client(ctx, clientID)
		if err != nil || clientID == "" || c.Disabled || !slices.Contains(c.PostLogoutRedirectURIs, target) {
			h.p.auditLog(ctx, AuditLogoutRedirectDeny, actorOf(r), "oauth_client", truncate(clientID, 100), map[string]any{
				"post_logout_redirect_uri": truncate(target, 300)})
			h.shell.Render(w, r, h.pages["oauth_error"], http.StatusBadRequest, oauthErrorView{Code: "invalid_request"})
			return
		}
		u, _ := url.Parse(target)
		if st := q.Get("state"); st != "" {
			v := u.Query()
			v.Set("state", st)
			u.RawQuery = v.Encode()
		}
		redirect = u.String()
	}
	pr := identity.PrincipalFrom(ctx)
	confirmed := r.Method == http.MethodPost && r.PostForm.Get("confirm") == "yes"
	if pr.Authenticated() && !confirmed && (hint == nil || hint.Subject != pr.PersonID) {
		f := url.Values{}
		for k, v := range q {
			if k != "csrf_token" && k != "confirm" {
				f[k] = v
			}
		}
		identity.RelaxFormAction(w)
		h.shell.Render(w, r, h.pages["logout_confirm"], http.StatusOK, logoutView{Form: f, Client: clientID})
		return
	}
	if pr.Authenticated() {
		if err := h.p.ids.RevokeSession(ctx, pr, pr.PersonID, pr.SessionID); err != nil && !errors.Is(err, identity.ErrNotFound) {
			h.p.cfg.Log.ErrorContext(ctx, "oidc logout", "err", err)
			h.errorPage(w, r, http.StatusInternalServerError)
			return
		}
		h.idh.ClearSessionCookie(w, r)
		h.p.auditLog(ctx, AuditLogout, pr.PersonID, "person", pr.PersonID, map[string]any{
			"client_id": truncate(clientID, 100), "session_id": pr.SessionID, "at": time.Now().UTC().Format(time.RFC3339)})
	}
	if redirect != "" {
		http.Redirect(w, r, redirect, http.StatusSeeOther)
		return
	}
	h.shell.Render(w, r, h.pages["logged_out"], http.StatusOK, logoutView{})
}
