package federation

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/web"
)

// Config describes the external provider (CONGSO_VNEID_* settings).
type Config struct {
	// Name is the path segment of the sign-in routes: /login/{Name} and
	// /login/{Name}/callback; default "vneid".
	Name string
	// Label is the text of the button on the sign-in page; default
	// "Đăng nhập bằng tài khoản định danh điện tử VNeID".
	Label string
	// Issuer, ClientID, ClientSecret: the registration at the provider
	// (CONGSO_VNEID_ISSUER, _CLIENT_ID, _CLIENT_SECRET).
	Issuer, ClientID, ClientSecret string
	// RedirectURL is the public URL of the callback, as registered at the
	// provider (CONGSO_VNEID_REDIRECT_URL), e.g.
	// "https://dichvucong.tinh.gov.vn/login/vneid/callback".
	RedirectURL string
	// Scopes requested; default "openid profile" (CONGSO_VNEID_SCOPES).
	Scopes []string
	// ACRValues asks for a level of assurance (CONGSO_VNEID_ACR_VALUES).
	ACRValues string
	// ClaimPersonalID names the claim holding the 12-digit personal ID
	// number (CONGSO_VNEID_CLAIM_PERSONAL_ID, default "cccd");
	// ClaimFullName the full name (CONGSO_VNEID_CLAIM_NAME, default "name").
	ClaimPersonalID, ClaimFullName string
	// CookieKey signs the short-lived cookie that carries state, nonce and
	// PKCE verifier through the round trip: at least 32 bytes.
	CookieKey []byte
	// SecureCookies marks the cookie Secure (HTTPS sites).
	SecureCookies bool
	// HTTPClient talks to the provider; default a client with a 15 s timeout.
	HTTPClient *http.Client
	// Audit appends to the audit log; default audit.Append.
	Audit func(ctx context.Context, tx *db.Tx, e audit.Entry) error
	// DB is where audit entries of failed federated sign-ins are written.
	DB *db.DB
	// Log receives errors; default slog.Default().
	Log *slog.Logger
}

// The audit action of a refused federated sign-in (successful ones are
// identity.login.succeeded with method "oidc:<issuer>").
const AuditFederationFailed = "identity.federation.failed"

//go:embed templates/*.html
var templateFS embed.FS

// Federation signs citizens in through an external OpenID Connect provider
// (VNeID, the national portal). The account is found by the personal ID
// number claim, or created as an applicant; a first sign-in without phone and
// email asks for them.
type Federation struct {
	cfg       Config
	ids       *identity.Service
	idh       *identity.Handlers
	shell     *web.Shell
	errorPage func(http.ResponseWriter, *http.Request, int)
	pages     map[string]*template.Template

	mu       sync.Mutex
	provider *gooidc.Provider // discovered at the first sign-in, so startup does not depend on the provider
}

// New returns the federation handlers.
func New(cfg Config, ids *identity.Service, idh *identity.Handlers, shell *web.Shell, errorPage func(http.ResponseWriter, *http.Request, int)) (*Federation, error) {
	if cfg.Name == "" {
		cfg.Name = "vneid"
	}
	if cfg.Label == "" {
		cfg.Label = "Đăng nhập bằng tài khoản định danh điện tử VNeID"
	}
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("federation: issuer, client id and redirect URL are required")
	}
	if len(cfg.CookieKey) < 32 {
		return nil, errors.New("federation: cookie key must hold at least 32 bytes")
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{gooidc.ScopeOpenID, "profile"}
	}
	if cfg.ClaimPersonalID == "" {
		cfg.ClaimPersonalID = "cccd"
	}
	if cfg.ClaimFullName == "" {
		cfg.ClaimFullName = "name"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Audit == nil {
		cfg.Audit = audit.Append
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	pages, err := shell.Pages(templateFS, "templates/*.html", nil)
	if err != nil {
		return nil, err
	}
	return &Federation{cfg: cfg, ids: ids, idh: idh, shell: shell, errorPage: errorPage, pages: pages}, nil
}

// LoginButton is the button for identity.Pages.AddExternalLogin.
func (f *Federation) LoginButton() identity.ExternalLogin {
	return identity.ExternalLogin{Label: f.cfg.Label, Path: "/login/" + f.cfg.Name}
}

// Method is the sign-in method recorded in sessions and the audit log.
func (f *Federation) Method() string { return "oidc:" + f.cfg.Issuer }

// Routes registers:
//
//	GET      /login/{name}              start: redirect to the provider
//	GET      /login/{name}/callback     the provider's answer
//	GET/POST /account/profile/complete  phone and email after a first sign-in
func (f *Federation) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login/"+f.cfg.Name, f.start)
	mux.HandleFunc("GET /login/"+f.cfg.Name+"/callback", f.callback)
	mux.HandleFunc("GET /account/profile/complete", f.completeForm)
	mux.HandleFunc("POST /account/profile/complete", f.complete)
}

func (f *Federation) clientCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, f.cfg.HTTPClient)
}

func (f *Federation) discover(ctx context.Context) (*gooidc.Provider, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.provider != nil {
		return f.provider, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	p, err := gooidc.NewProvider(f.clientCtx(ctx), f.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", f.cfg.Issuer, err)
	}
	f.provider = p
	return p, nil
}

func (f *Federation) oauth(p *gooidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: f.cfg.ClientID, ClientSecret: f.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: f.cfg.RedirectURL, Scopes: f.cfg.Scopes}
}

// flow is what the cookie carries between start and callback.
type flow struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	Next     string    `json:"x"`
	Expires  time.Time `json:"e"`
}

func (f *Federation) cookieName() string { return "congso_fed_" + f.cfg.Name }

func (f *Federation) seal(v flow) string {
	b, _ := json.Marshal(v)
	payload := base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, f.cfg.CookieKey)
	m.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (f *Federation) open(s string) (flow, bool) {
	payload, sig, ok := strings.Cut(s, ".")
	if !ok {
		return flow{}, false
	}
	m := hmac.New(sha256.New, f.cfg.CookieKey)
	m.Write([]byte(payload))
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, m.Sum(nil)) {
		return flow{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var v flow
	if err != nil || json.Unmarshal(b, &v) != nil || time.Now().After(v.Expires) {
		return flow{}, false
	}
	return v, true
}

func random() string { return rand.Text() }

func (f *Federation) start(w http.ResponseWriter, r *http.Request) {
	p, err := f.discover(r.Context())
	if err != nil {
		f.fail(w, r, "provider_unavailable", err)
		return
	}
	v := flow{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(),
		Next: web.SafeNext(r.URL.Query().Get("next")), Expires: time.Now().Add(10 * time.Minute)}
	http.SetCookie(w, &http.Cookie{Name: f.cookieName(), Value: f.seal(v), Path: "/login/" + f.cfg.Name, MaxAge: 600,
		HttpOnly: true, Secure: f.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(v.Verifier), gooidc.Nonce(v.Nonce)}
	if f.cfg.ACRValues != "" {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", f.cfg.ACRValues))
	}
	http.Redirect(w, r, f.oauth(p).AuthCodeURL(v.State, opts...), http.StatusSeeOther)
}

func (f *Federation) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := r.Cookie(f.cookieName())
	http.SetCookie(w, &http.Cookie{Name: f.cookieName(), Value: "", Path: "/login/" + f.cfg.Name, MaxAge: -1,
		HttpOnly: true, Secure: f.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	if err != nil {
		f.fail(w, r, "bad_state", errors.New("no flow cookie"))
		return
	}
	v, ok := f.open(c.Value)
	q := r.URL.Query()
	if !ok || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(v.State)) != 1 {
		f.fail(w, r, "bad_state", errors.New("state mismatch"))
		return
	}
	if e := q.Get("error"); e != "" {
		f.fail(w, r, "provider_refused", fmt.Errorf("provider error %q", e))
		return
	}
	p, err := f.discover(ctx)
	if err != nil {
		f.fail(w, r, "provider_unavailable", err)
		return
	}
	cctx, cancel := context.WithTimeout(f.clientCtx(ctx), 15*time.Second)
	defer cancel()
	tok, err := f.oauth(p).Exchange(cctx, q.Get("code"), oauth2.VerifierOption(v.Verifier))
	if err != nil {
		f.fail(w, r, "exchange_failed", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&gooidc.Config{ClientID: f.cfg.ClientID}).Verify(cctx, raw)
	if err != nil || idt.Nonce != v.Nonce {
		f.fail(w, r, "bad_id_token", fmt.Errorf("id token: %v", err))
		return
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		f.fail(w, r, "bad_id_token", err)
		return
	}
	if p.UserInfoEndpoint() != "" {
		ui, err := p.UserInfo(cctx, oauth2.StaticTokenSource(tok))
		if err != nil || ui.Subject != idt.Subject {
			f.fail(w, r, "userinfo_failed", fmt.Errorf("userinfo: %v", err))
			return
		}
		extra := map[string]any{}
		if err := ui.Claims(&extra); err == nil {
			for k, x := range extra {
				claims[k] = x
			}
		}
	}
	personalID, _ := claims[f.cfg.ClaimPersonalID].(string)
	name, _ := claims[f.cfg.ClaimFullName].(string)
	person, err := f.link(ctx, strings.TrimSpace(personalID), strings.TrimSpace(name))
	if err != nil {
		f.fail(w, r, "link_failed", err)
		return
	}
	pr, token, err := f.ids.StartSession(ctx, person.ID, f.Method(), identity.ClientFrom(ctx))
	if err != nil {
		f.fail(w, r, "account_unusable", err)
		return
	}
	_ = pr
	f.idh.SetSessionCookie(w, r, token)
	next := v.Next
	if person.Email == "" && person.Phone == "" {
		next = "/account/profile/complete?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// errOfficial: a federated sign-in reached an official's account; officials
// sign in with their own account and MFA.
var errOfficial = errors.New("federation: the personal ID number belongs to an official")

// link finds the citizen with personalID or creates one.
func (f *Federation) link(ctx context.Context, personalID, name string) (identity.Person, error) {
	if len(personalID) != 12 || strings.Trim(personalID, "0123456789") != "" {
		return identity.Person{}, fmt.Errorf("federation: claim %s is not a personal ID number", f.cfg.ClaimPersonalID)
	}
	p, err := f.ids.PersonByPersonalID(ctx, personalID)
	if err == nil {
		if p.Kind != identity.KindApplicant {
			return identity.Person{}, errOfficial
		}
		return p, nil
	}
	if !errors.Is(err, identity.ErrNotFound) {
		return identity.Person{}, err
	}
	if name == "" {
		name = personalID
	}
	p, err = f.ids.CreatePerson(ctx, nil, identity.NewPerson{Kind: identity.KindApplicant, Username: "cccd." + personalID,
		FullName: name, PersonalID: personalID})
	if errors.Is(err, identity.ErrPersonalIDTaken) { // created meanwhile by a parallel sign-in
		return f.ids.PersonByPersonalID(ctx, personalID)
	}
	return p, err
}

type errorView struct{ Code string }

// fail shows the refusal on our page, logged and audited.
func (f *Federation) fail(w http.ResponseWriter, r *http.Request, code string, err error) {
	ctx := r.Context()
	f.cfg.Log.WarnContext(ctx, "federated sign-in refused", "provider", f.cfg.Issuer, "code", code, "err", err)
	if f.cfg.DB != nil {
		e := audit.Entry{Actor: identity.ActorAnonymous, Action: AuditFederationFailed, ObjectType: "person",
			Detail: map[string]any{"provider": f.cfg.Issuer, "reason": code}, IP: identity.ClientFrom(ctx).IP, RequestID: httpx.RequestID(ctx)}
		if aerr := f.cfg.DB.Tx(ctx, func(tx *db.Tx) error { return f.cfg.Audit(ctx, tx, e) }); aerr != nil {
			f.cfg.Log.ErrorContext(ctx, "federation audit", "err", aerr)
		}
	}
	status := http.StatusBadRequest
	if code == "provider_unavailable" {
		status = http.StatusBadGateway
	}
	if errors.Is(err, errOfficial) {
		code = "official"
	}
	f.shell.Render(w, r, f.pages["failed"], status, errorView{Code: code})
}

type completeView struct {
	Next, Email, Phone string
	Errors             map[string]string
}

func (f *Federation) completeForm(w http.ResponseWriter, r *http.Request) {
	pr := identity.PrincipalFrom(r.Context())
	if !pr.Authenticated() {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	f.shell.Render(w, r, f.pages["complete"], http.StatusOK, completeView{Next: web.SafeNext(r.URL.Query().Get("next"))})
}

func (f *Federation) complete(w http.ResponseWriter, r *http.Request) {
	pr := identity.PrincipalFrom(r.Context())
	if !pr.Authenticated() {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	view := completeView{Next: web.SafeNext(r.PostFormValue("next")), Email: r.PostFormValue("email"), Phone: r.PostFormValue("phone"),
		Errors: map[string]string{}}
	var err error
	if strings.TrimSpace(view.Email) == "" && strings.TrimSpace(view.Phone) == "" {
		err = identity.ValidationError{{Field: "phone", Code: "profile_incomplete"}}
	} else {
		err = f.ids.UpdateContact(r.Context(), pr, pr.PersonID, view.Email, view.Phone)
	}
	var ve identity.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve {
			view.Errors[fe.Field] = fe.Message(f.shell.NewView(r, nil).Lang)
		}
		f.shell.Render(w, r, f.pages["complete"], http.StatusUnprocessableEntity, view)
		return
	}
	if err != nil {
		f.cfg.Log.ErrorContext(r.Context(), "complete profile", "err", err)
		f.errorPage(w, r, http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, view.Next, http.StatusSeeOther)
}
