package identity

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

// SSOPageCSP is the Content-Security-Policy of the pages that start or
// continue a single sign-on (sign-in, second factor, consent, logout). It
// is the site's policy without form-action: browsers apply form-action to
// every redirect that follows a form post, and these posts end by
// redirecting to an application's registered address on another origin.
const SSOPageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'self'; frame-ancestors 'none'"

// RelaxFormAction sets [SSOPageCSP] on the response; call it before
// writing.
func RelaxFormAction(w http.ResponseWriter) { w.Header().Set("Content-Security-Policy", SSOPageCSP) }

// mfaRoutes registers the second-factor, session and security pages.
func (p *Pages) mfaRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login/mfa", p.mfaForm)
	mux.HandleFunc("POST /login/mfa", p.mfaSubmit)
	mux.HandleFunc("GET /account/security", p.security)
	mux.HandleFunc("POST /account/security/mfa", p.enrol)
	mux.HandleFunc("POST /account/security/mfa/disable", p.disableMFA)
	mux.HandleFunc("GET /account/sessions", p.sessions)
	mux.HandleFunc("POST /account/sessions/{sessionID}/revoke", p.revokeSession)
	mux.HandleFunc("GET /admin/security", p.adminSecurity)
	mux.HandleFunc("POST /admin/security", p.adminSecuritySave)
}

type mfaView struct {
	Next      string
	Enrolling bool
	QR        template.URL // data: URI of the otpauth QR code
	Secret    string
	Error     string
	Recovery  []string
}

// qrDataURI renders an otpauth URI as a PNG data URI.
func qrDataURI(s string) (template.URL, error) {
	png, err := qrcode.Encode(s, qrcode.Medium, 240)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

func (p *Pages) mfaForm(w http.ResponseWriter, r *http.Request) {
	p.renderMFA(w, r, http.StatusOK, mfaView{Next: web.SafeNext(r.URL.Query().Get("next"))})
}

func (p *Pages) renderMFA(w http.ResponseWriter, r *http.Request, status int, view mfaView) {
	person, enrolling, err := p.h.svc.PendingMFA(r.Context(), p.h.sessionToken(r))
	if errors.Is(err, ErrNoSession) || errors.Is(err, ErrNotFound) {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(view.Next), http.StatusSeeOther)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	view.Enrolling = enrolling
	if enrolling {
		e, err := p.h.svc.BeginMFAEnrolment(r.Context(), person.ID)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		if view.QR, err = qrDataURI(e.URL); err != nil {
			p.fail(w, r, err)
			return
		}
		view.Secret = e.Secret
	}
	RelaxFormAction(w)
	p.shell.Render(w, r, p.pages["login_mfa"], status, view)
}

func (p *Pages) mfaSubmit(w http.ResponseWriter, r *http.Request) {
	next := web.SafeNext(r.PostFormValue("next"))
	token := p.h.sessionToken(r)
	pr, recovery, err := p.h.svc.CompleteMFA(r.Context(), token, r.PostFormValue("code"))
	var locked *LockedError
	switch {
	case errors.Is(err, ErrInvalidMFACode):
		p.renderMFA(w, r, http.StatusUnprocessableEntity, mfaView{Next: next, Error: i18n.T(i18n.FromRequest(r), "identity.mfa.wrong_code")})
		return
	case errors.As(err, &locked), errors.Is(err, ErrNoSession):
		p.h.ClearSessionCookie(w, r)
		fe, status, _ := toFormErrors(r, err)
		if errors.Is(err, ErrNoSession) {
			fe, status = formErrors{Summary: i18n.T(i18n.FromRequest(r), "identity.mfa.expired")}, http.StatusUnauthorized
		}
		RelaxFormAction(w)
		p.shell.Render(w, r, p.pages["login"], status, loginView{Next: next, Errors: fe, External: p.external})
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	if pr.MustChangePassword {
		next = "/account/password?next=" + url.QueryEscape(next)
	}
	if len(recovery) > 0 {
		p.shell.Render(w, r, p.pages["mfa_recovery"], http.StatusOK, mfaView{Next: next, Recovery: recovery})
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

type securityView struct {
	Enrolled bool
	Required bool
	QR       template.URL
	Secret   string
	Error    string
}

func (p *Pages) signedIn(w http.ResponseWriter, r *http.Request, back string) (*Principal, bool) {
	pr := PrincipalFrom(r.Context())
	if !pr.Authenticated() {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(back), http.StatusSeeOther)
		return nil, false
	}
	return pr, true
}

func (p *Pages) security(w http.ResponseWriter, r *http.Request) {
	p.renderSecurity(w, r, http.StatusOK, "")
}

func (p *Pages) renderSecurity(w http.ResponseWriter, r *http.Request, status int, errText string) {
	pr, ok := p.signedIn(w, r, "/account/security")
	if !ok {
		return
	}
	enrolled, err := p.h.svc.MFAEnrolled(r.Context(), pr.PersonID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	view := securityView{Enrolled: enrolled, Error: errText}
	roles, err := p.h.svc.MFARequiredRoles(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	for _, role := range pr.Roles() {
		view.Required = view.Required || slices.Contains(roles, role)
	}
	if !enrolled {
		e, err := p.h.svc.BeginMFAEnrolment(r.Context(), pr.PersonID)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		if view.QR, err = qrDataURI(e.URL); err != nil {
			p.fail(w, r, err)
			return
		}
		view.Secret = e.Secret
	}
	p.shell.Render(w, r, p.pages["account_security"], status, view)
}

func (p *Pages) enrol(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.signedIn(w, r, "/account/security")
	if !ok {
		return
	}
	codes, err := p.h.svc.ConfirmMFAEnrolment(r.Context(), pr, r.PostFormValue("code"))
	if errors.Is(err, ErrInvalidMFACode) {
		p.renderSecurity(w, r, http.StatusUnprocessableEntity, i18n.T(i18n.FromRequest(r), "identity.mfa.wrong_code"))
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.shell.Render(w, r, p.pages["mfa_recovery"], http.StatusOK, mfaView{Next: "/account/security", Recovery: codes})
}

func (p *Pages) disableMFA(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.signedIn(w, r, "/account/security")
	if !ok {
		return
	}
	if err := p.h.svc.DisableMFA(r.Context(), pr, pr.PersonID); err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "identity.flash.mfa_disabled")
	http.Redirect(w, r, "/account/security", http.StatusSeeOther)
}

type sessionsView struct {
	Current  string
	Sessions []Session
}

func (p *Pages) sessions(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.signedIn(w, r, "/account/sessions")
	if !ok {
		return
	}
	ss, err := p.h.svc.ListSessions(r.Context(), pr.PersonID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.shell.Render(w, r, p.pages["account_sessions"], http.StatusOK, sessionsView{Current: pr.SessionID, Sessions: ss})
}

func (p *Pages) revokeSession(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.signedIn(w, r, "/account/sessions")
	if !ok {
		return
	}
	if err := p.h.svc.RevokeSession(r.Context(), pr, pr.PersonID, r.PathValue("sessionID")); err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "identity.flash.session_revoked")
	http.Redirect(w, r, "/account/sessions", http.StatusSeeOther)
}

type adminSecurityView struct {
	Roles    []Role
	Required []Role
}

func (p *Pages) adminSecurity(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.allow(w, r, ActionSecurityManage); !ok {
		return
	}
	req, err := p.h.svc.MFARequiredRoles(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.shell.Render(w, r, p.pages["admin_security"], http.StatusOK, adminSecurityView{Roles: Roles(), Required: req})
}

func (p *Pages) adminSecuritySave(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, ActionSecurityManage)
	if !ok {
		return
	}
	var roles []Role
	for _, v := range r.PostForm["mfa_roles"] {
		roles = append(roles, Role(v))
	}
	if err := p.h.svc.SetMFARequiredRoles(r.Context(), pr, roles); err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "identity.flash.settings_saved")
	http.Redirect(w, r, "/admin/security", http.StatusSeeOther)
}

// --- JSON ---

// mfaLogin answers POST /api/v1/session/mfa {code}.
func (h *Handlers) mfaLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code string `json:"code"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		httpError(w, r, err)
		return
	}
	pr, recovery, err := h.svc.CompleteMFA(r.Context(), h.sessionToken(r), in.Code)
	switch {
	case errors.Is(err, ErrInvalidMFACode):
		httpError(w, r, &httpx.Err{Status: http.StatusUnauthorized, Code: "identity.mfa_invalid_code", Key: "identity.mfa.wrong_code"})
		return
	case errors.Is(err, ErrNoSession):
		httpError(w, r, &httpx.Err{Status: http.StatusUnauthorized, Code: "identity.mfa_expired", Key: "identity.mfa.expired"})
		return
	case err != nil:
		httpError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	out := struct {
		meJSON
		RecoveryCodes []string `json:"recovery_codes,omitempty"`
	}{toMeJSON(i18n.FromRequest(r), pr), recovery}
	httpx.WriteJSON(w, http.StatusCreated, out)
}

// disableMFA answers DELETE /api/v1/people/{id}/mfa (user.manage).
func (h *Handlers) disableMFA(w http.ResponseWriter, r *http.Request) {
	by, ok := require(w, r, ActionUserManage)
	if !ok {
		return
	}
	if err := h.svc.DisableMFA(r.Context(), by, r.PathValue("id")); err != nil {
		httpError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
