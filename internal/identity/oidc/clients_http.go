package oidc

import (
	_ "embed"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

func (h *Handlers) clientRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/oauth-clients", h.apiList)
	mux.HandleFunc("POST /api/v1/oauth-clients", h.apiCreate)
	mux.HandleFunc("GET /api/v1/oauth-clients/{id}", h.apiGet)
	mux.HandleFunc("PUT /api/v1/oauth-clients/{id}", h.apiUpdate)
	mux.HandleFunc("POST /api/v1/oauth-clients/{id}/secret", h.apiRotate)
	mux.HandleFunc("GET /admin/clients", h.pageList)
	mux.HandleFunc("GET /admin/clients/new", h.pageNew)
	mux.HandleFunc("POST /admin/clients", h.pageCreate)
	mux.HandleFunc("GET /admin/clients/{id}", h.pageEdit)
	mux.HandleFunc("POST /admin/clients/{id}", h.pageUpdate)
	mux.HandleFunc("POST /admin/clients/{id}/secret", h.pageRotate)
}

// clientJSON is a client in the JSON API; the secret appears only in the
// answer that created or rotated it.
type clientJSON struct {
	ID                     string     `json:"client_id"`
	Name                   string     `json:"name"`
	Secret                 string     `json:"client_secret,omitempty"`
	RedirectURIs           []string   `json:"redirect_uris"`
	PostLogoutRedirectURIs []string   `json:"post_logout_redirect_uris"`
	GrantTypes             []string   `json:"grant_types"`
	Scopes                 []string   `json:"scopes"`
	Audience               []string   `json:"audience"`
	Public                 bool       `json:"public"`
	FirstParty             bool       `json:"first_party"`
	Disabled               bool       `json:"disabled"`
	SecretRotatedAt        *time.Time `json:"secret_rotated_at,omitempty"`
	CreatedAt              time.Time  `json:"created_at"`
	UpdatedAt              time.Time  `json:"updated_at"`
}

func toClientJSON(c Client, secret string) clientJSON {
	nz := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	return clientJSON{ID: c.ID, Name: c.Name, Secret: secret, RedirectURIs: nz(c.RedirectURIs),
		PostLogoutRedirectURIs: nz(c.PostLogoutRedirectURIs), GrantTypes: nz(c.GrantTypes), Scopes: nz(c.Scopes),
		Audience: nz(c.Audience), Public: c.Public, FirstParty: c.FirstParty, Disabled: c.Disabled,
		SecretRotatedAt: c.SecretRotatedAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type clientInputJSON struct {
	ID                     string   `json:"client_id"`
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	GrantTypes             []string `json:"grant_types"`
	Scopes                 []string `json:"scopes"`
	Audience               []string `json:"audience"`
	Public                 bool     `json:"public"`
	FirstParty             bool     `json:"first_party"`
	Disabled               bool     `json:"disabled"`
}

func (in clientInputJSON) input() ClientInput {
	return ClientInput{ID: in.ID, Name: in.Name, RedirectURIs: in.RedirectURIs, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs,
		GrantTypes: in.GrantTypes, Scopes: in.Scopes, Audience: in.Audience, Public: in.Public, FirstParty: in.FirstParty,
		Disabled: in.Disabled}
}

// apiAllowed checks the right to manage clients, answering the problem.
func apiAllowed(w http.ResponseWriter, r *http.Request) (*identity.Principal, bool) {
	pr := identity.PrincipalFrom(r.Context())
	if err := identity.Require(r.Context(), pr, ActionClientManage, identity.ProvinceWide); err != nil {
		apiError(w, r, err)
		return nil, false
	}
	return pr, true
}

// apiError answers problem+json.
func apiError(w http.ResponseWriter, r *http.Request, err error) {
	var ce *ClientError
	var he *httpx.Err
	switch {
	case errors.As(err, &he):
		httpx.Error(w, r, he)
	case errors.Is(err, identity.ErrUnauthenticated):
		httpx.Error(w, r, httpx.Unauthorized(""))
	case errors.Is(err, identity.ErrForbidden):
		httpx.Error(w, r, httpx.Forbidden(""))
	case errors.As(err, &ce):
		httpx.Error(w, r, httpx.Validation(httpx.FieldError{Field: ce.Field, Code: ce.Code,
			Message: clientErrorText(i18n.FromRequest(r), ce)}))
	case errors.Is(err, ErrClientNotFound):
		httpx.Error(w, r, &httpx.Err{Status: http.StatusNotFound, Code: "identity.oidc.client_not_found", Key: "identity.oidc.client_not_found"})
	case errors.Is(err, ErrClientExists):
		httpx.Error(w, r, &httpx.Err{Status: http.StatusConflict, Code: "identity.oidc.client_exists", Key: "identity.oidc.client_exists"})
	default:
		httpx.Error(w, r, err)
	}
}

func clientErrorText(lang i18n.Lang, ce *ClientError) string {
	return i18n.T(lang, "identity.oidc.invalid."+ce.Code, "value", ce.Value)
}

func (h *Handlers) apiList(w http.ResponseWriter, r *http.Request) {
	if _, ok := apiAllowed(w, r); !ok {
		return
	}
	cs, err := h.p.Clients(r.Context())
	if err != nil {
		apiError(w, r, err)
		return
	}
	out := make([]clientJSON, len(cs))
	for i, c := range cs {
		out[i] = toClientJSON(c, "")
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, httpx.List[clientJSON]{Items: out})
}

func (h *Handlers) apiCreate(w http.ResponseWriter, r *http.Request) {
	pr, ok := apiAllowed(w, r)
	if !ok {
		return
	}
	var in clientInputJSON
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		apiError(w, r, err)
		return
	}
	c, secret, err := h.p.CreateClient(r.Context(), pr, in.input())
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/api/v1/oauth-clients/"+url.PathEscape(c.ID))
	httpx.WriteJSON(w, http.StatusCreated, toClientJSON(c, secret))
}

func (h *Handlers) apiGet(w http.ResponseWriter, r *http.Request) {
	if _, ok := apiAllowed(w, r); !ok {
		return
	}
	c, err := h.p.Client(r.Context(), r.PathValue("id"))
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, toClientJSON(c, ""))
}

func (h *Handlers) apiUpdate(w http.ResponseWriter, r *http.Request) {
	pr, ok := apiAllowed(w, r)
	if !ok {
		return
	}
	var in clientInputJSON
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		apiError(w, r, err)
		return
	}
	c, err := h.p.UpdateClient(r.Context(), pr, r.PathValue("id"), in.input())
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, toClientJSON(c, ""))
}

func (h *Handlers) apiRotate(w http.ResponseWriter, r *http.Request) {
	pr, ok := apiAllowed(w, r)
	if !ok {
		return
	}
	secret, err := h.p.RotateSecret(r.Context(), pr, r.PathValue("id"))
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"client_id": r.PathValue("id"), "client_secret": secret})
}

// --- pages ---

// pageAllowed checks the right for a page: anonymous people sign in first,
// others without it get the 403 page.
func (h *Handlers) pageAllowed(w http.ResponseWriter, r *http.Request) (*identity.Principal, bool) {
	pr := identity.PrincipalFrom(r.Context())
	err := identity.Require(r.Context(), pr, ActionClientManage, identity.ProvinceWide)
	switch {
	case err == nil:
		return pr, true
	case errors.Is(err, identity.ErrUnauthenticated):
		http.Redirect(w, r, h.p.cfg.LoginPath+"?next="+url.QueryEscape("/admin/clients"), http.StatusSeeOther)
	default:
		h.errorPage(w, r, http.StatusForbidden)
	}
	return nil, false
}

type clientsView struct{ Clients []Client }

type clientFormView struct {
	Creating bool
	In       ClientInput
	Grants   []string
	Field    string // the field the error belongs to
	Error    string
}

type secretView struct{ ID, Secret string }

func (h *Handlers) pageList(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.pageAllowed(w, r); !ok {
		return
	}
	cs, err := h.p.Clients(r.Context())
	if err != nil {
		h.pageFail(w, r, err)
		return
	}
	h.shell.Render(w, r, h.pages["clients_list"], http.StatusOK, clientsView{Clients: cs})
}

func allGrants() []string {
	return []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials}
}

func (h *Handlers) pageNew(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.pageAllowed(w, r); !ok {
		return
	}
	h.shell.Render(w, r, h.pages["client_form"], http.StatusOK, clientFormView{Creating: true, Grants: allGrants(),
		In: ClientInput{GrantTypes: []string{GrantAuthorizationCode, GrantRefreshToken},
			Scopes: []string{ScopeOpenID, ScopeProfile, ScopeOfflineAccess}}})
}

// formInput reads the client form: URIs one per line, scopes separated by
// spaces.
func formInput(r *http.Request) ClientInput {
	lines := func(s string) []string {
		return strings.FieldsFunc(s, func(c rune) bool { return c == '\n' || c == '\r' })
	}
	return ClientInput{ID: r.PostFormValue("id"), Name: r.PostFormValue("name"),
		RedirectURIs: lines(r.PostFormValue("redirect_uris")), PostLogoutRedirectURIs: lines(r.PostFormValue("post_logout_redirect_uris")),
		GrantTypes: r.PostForm["grant_types"], Scopes: strings.Fields(r.PostFormValue("scopes")),
		Audience: strings.Fields(r.PostFormValue("audience")), Public: r.PostFormValue("public") == "1",
		FirstParty: r.PostFormValue("first_party") == "1", Disabled: r.PostFormValue("disabled") == "1"}
}

// formError shows the form again with the error next to its field; ok is
// false for an unexpected error.
func (h *Handlers) formError(w http.ResponseWriter, r *http.Request, view clientFormView, err error) {
	var ce *ClientError
	lang := i18n.FromRequest(r)
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &ce):
		view.Field, view.Error = ce.Field, clientErrorText(lang, ce)
	case errors.Is(err, ErrClientExists):
		view.Field, view.Error, status = "id", i18n.T(lang, "identity.oidc.client_exists"), http.StatusConflict
	default:
		h.pageFail(w, r, err)
		return
	}
	h.shell.Render(w, r, h.pages["client_form"], status, view)
}

func (h *Handlers) pageFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrClientNotFound):
		h.errorPage(w, r, http.StatusNotFound)
	case errors.Is(err, identity.ErrForbidden):
		h.errorPage(w, r, http.StatusForbidden)
	default:
		h.shell.Log.ErrorContext(r.Context(), "oauth client page", "path", r.URL.Path, "err", err)
		h.errorPage(w, r, http.StatusInternalServerError)
	}
}

func (h *Handlers) pageCreate(w http.ResponseWriter, r *http.Request) {
	pr, ok := h.pageAllowed(w, r)
	if !ok {
		return
	}
	in := formInput(r)
	c, secret, err := h.p.CreateClient(r.Context(), pr, in)
	if err != nil {
		h.formError(w, r, clientFormView{Creating: true, In: in, Grants: allGrants()}, err)
		return
	}
	h.shell.Render(w, r, h.pages["client_secret"], http.StatusOK, secretView{ID: c.ID, Secret: secret})
}

func (h *Handlers) pageEdit(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.pageAllowed(w, r); !ok {
		return
	}
	c, err := h.p.Client(r.Context(), r.PathValue("id"))
	if err != nil {
		h.pageFail(w, r, err)
		return
	}
	in := ClientInput{ID: c.ID, Name: c.Name, RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		GrantTypes: c.GrantTypes, Scopes: c.Scopes, Audience: c.Audience, Public: c.Public, FirstParty: c.FirstParty, Disabled: c.Disabled}
	h.shell.Render(w, r, h.pages["client_form"], http.StatusOK, clientFormView{In: in, Grants: allGrants()})
}

func (h *Handlers) pageUpdate(w http.ResponseWriter, r *http.Request) {
	pr, ok := h.pageAllowed(w, r)
	if !ok {
		return
	}
	in := formInput(r)
	in.ID = r.PathValue("id")
	if _, err := h.p.UpdateClient(r.Context(), pr, in.ID, in); err != nil {
		h.formError(w, r, clientFormView{In: in, Grants: allGrants()}, err)
		return
	}
	web.SetFlash(w, "identity.oidc.flash.saved")
	http.Redirect(w, r, "/admin/clients/"+url.PathEscape(in.ID), http.StatusSeeOther)
}

func (h *Handlers) pageRotate(w http.ResponseWriter, r *http.Request) {
	pr, ok := h.pageAllowed(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	secret, err := h.p.RotateSecret(r.Context(), pr, id)
	if err != nil {
		h.pageFail(w, r, err)
		return
	}
	h.shell.Render(w, r, h.pages["client_secret"], http.StatusOK, secretView{ID: id, Secret: secret})
}

//go:embed openapi.json
var openapiFragment []byte

// OpenAPIFragment returns the OpenAPI 3.1 description of the client JSON
// API ("paths", "tags", "components.schemas") to merge into the
// application's document.
func OpenAPIFragment() []byte { return append([]byte(nil), openapiFragment...) }
