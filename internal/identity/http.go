package identity

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/platform/i18n"
)

// Session cookie names. The __Host- prefix (HTTPS only) makes browsers refuse
// the cookie unless it is Secure, for path /, and set by this very host, so a
// neighbouring subdomain cannot plant a session.
const (
	CookieName       = "congso_session"
	SecureCookieName = "__Host-congso_session"
)

// HandlerOptions configures [Handlers].
type HandlerOptions struct {
	// SecureCookies says the site is served over HTTPS, possibly behind a
	// TLS-terminating proxy (CONGSO_SECURE_COOKIES). A request that arrives
	// over TLS directly counts as secure as well.
	SecureCookies bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For gives the
	// client address recorded in sessions and the audit log.
	TrustedProxies []netip.Prefix
}

// Handlers serves the identity JSON API and provides the middleware that
// loads the signed-in person.
type Handlers struct {
	svc *Service
	opt HandlerOptions
}

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *Service, opt HandlerOptions) *Handlers {
	return &Handlers{svc: svc, opt: opt}
}

// Routes registers the JSON API on mux:
//
//	POST   /api/v1/session                          sign in {username, password}
//	DELETE /api/v1/session                          sign out
//	POST   /api/v1/session/mfa                      second factor {code} after a 202 {"mfa_required": true}
//	DELETE /api/v1/people/{id}/mfa                  remove a person's second factor (user.manage)
//	GET    /api/v1/me                               the signed-in person and grants
//	POST   /api/v1/me/password                      change own password {old_password, new_password}
//	GET    /api/v1/me/sessions                      own sessions in force
//	DELETE /api/v1/me/sessions/{sessionID}          end one of them
//	GET    /api/v1/people                           list (user.view) ?q= &kind= &status= &unit_id= &role= &limit= &cursor=
//	POST   /api/v1/people                           create (user.manage)
//	GET    /api/v1/people/{id}                      one person with positions and grants (user.view)
//	POST   /api/v1/people/{id}/status               {status} (user.manage)
//	POST   /api/v1/people/{id}/password             set password {password, must_change} (user.manage)
//	DELETE /api/v1/people/{id}/sessions             end all sessions (user.manage)
//	POST   /api/v1/people/{id}/positions            {title, unit_id, agency_id, started_at} (user.manage)
//	DELETE /api/v1/people/{id}/positions/{positionID} end a position (user.manage)
//	POST   /api/v1/people/{id}/grants               {role, unit_id} (user.grant)
//	DELETE /api/v1/people/{id}/grants/{grantID}     revoke (user.grant)
//
// The handlers expect [Handlers.Authenticate] to have run.
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/session", h.login)
	mux.HandleFunc("DELETE /api/v1/session", h.logout)
	mux.HandleFunc("POST /api/v1/session/mfa", h.mfaLogin)
	mux.HandleFunc("DELETE /api/v1/people/{id}/mfa", h.disableMFA)
	mux.HandleFunc("GET /api/v1/me", h.me)
	mux.HandleFunc("POST /api/v1/me/password", h.changePassword)
	mux.HandleFunc("GET /api/v1/me/sessions", h.mySessions)
	mux.HandleFunc("DELETE /api/v1/me/sessions/{sessionID}", h.endMySession)
	mux.HandleFunc("GET /api/v1/people", h.listPeople)
	mux.HandleFunc("POST /api/v1/people", h.createPerson)
	mux.HandleFunc("GET /api/v1/people/{id}", h.getPerson)
	mux.HandleFunc("POST /api/v1/people/{id}/status", h.setStatus)
	mux.HandleFunc("POST /api/v1/people/{id}/password", h.setPassword)
	mux.HandleFunc("DELETE /api/v1/people/{id}/sessions", h.revokeSessions)
	mux.HandleFunc("POST /api/v1/people/{id}/positions", h.addPosition)
	mux.HandleFunc("DELETE /api/v1/people/{id}/positions/{positionID}", h.endPosition)
	mux.HandleFunc("POST /api/v1/people/{id}/grants", h.grant)
	mux.HandleFunc("DELETE /api/v1/people/{id}/grants/{grantID}", h.revokeGrant)
}

// --- principal in the request context ---

type principalKey struct{}

// WithPrincipal returns ctx carrying p. The middleware does it; other modules'
// tests use it to act as someone.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the signed-in person of the request, or nil for an
// anonymous caller. A nil *Principal is safe to pass to [Can] and [Require].
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// secure reports whether r reaches the site over HTTPS.
func (h *Handlers) secure(r *http.Request) bool { return h.opt.SecureCookies || r.TLS != nil }

func (h *Handlers) cookieName(r *http.Request) string {
	if h.secure(r) {
		return SecureCookieName
	}
	return CookieName
}

// sessionToken returns the token in the request's session cookie, or "".
func (h *Handlers) sessionToken(r *http.Request) string {
	c, err := r.Cookie(h.cookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

// SetSessionCookie sets the session cookie for token: HttpOnly, SameSite=Lax,
// path /, Secure with the __Host- name over HTTPS. It lasts as long as the
// browser session; the server ends it earlier if idle or too old.
func (h *Handlers) SetSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(r), Value: token, Path: "/",
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
}

// ClearSessionCookie tells the browser to drop the session cookie.
func (h *Handlers) ClearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: h.cookieName(r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
}

// client describes the request's origin for sessions and the audit log.
func (h *Handlers) client(r *http.Request) Client {
	c := Client{UserAgent: r.UserAgent()}
	if ip := httpx.ClientIP(r, h.opt.TrustedProxies); ip.IsValid() {
		c.IP = ip.String()
	}
	return c
}

// Authenticate is the middleware that puts the request's [Principal] (nil when
// anonymous) and [Client] in its context. A cookie whose session has ended is
// cleared. A request with "Authorization: Bearer" is never authenticated by
// cookie (the CSRF middleware lets such requests through unchecked); bearer
// tokens will be verified here when the OpenID Connect provider lands, until
// then they stay anonymous. A database failure is answered with an error
// rather than treated as anonymous.
func (h *Handlers) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := WithClient(r.Context(), h.client(r))
		var p *Principal
		if !isBearer(r) {
			if token := h.sessionToken(r); token != "" {
				var err error
				p, err = h.svc.SessionPrincipal(ctx, token)
				switch {
				case errors.Is(err, ErrNoSession):
					h.ClearSessionCookie(w, r)
				case errors.Is(err, ErrMFAPending):
					// Anonymous until the second factor is given; the
					// cookie stays for the code page.
				case err != nil:
					httpx.Error(w, r, err)
					return
				}
			}
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(ctx, p)))
	})
}

// SessionID returns the session id of the request's principal, or "": the
// value for httpx.CSRFConfig.SessionID, so that CSRF tokens change at sign-in.
func SessionID(r *http.Request) string {
	if p := PrincipalFrom(r.Context()); p.Authenticated() {
		return p.SessionID
	}
	return ""
}

func isBearer(r *http.Request) bool {
	scheme, _, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer")
}

// --- errors ---

// httpError translates an identity error into an HTTP problem; notFoundCode
// names what was missing ("identity.person_not_found" by default).
func httpError(w http.ResponseWriter, r *http.Request, err error, notFoundCode ...string) {
	lang := i18n.FromRequest(r)
	var v ValidationError
	var locked *LockedError
	var e *httpx.Err
	problem := func(status int, code string, args ...any) *httpx.Err {
		return &httpx.Err{Status: status, Code: code, Key: code, Args: args, Err: err}
	}
	switch {
	case errors.As(err, &e):
		// Already an HTTP problem (from JSON decoding or query parsing).
	case errors.As(err, &v):
		fields := make([]httpx.FieldError, len(v))
		for i, f := range v {
			fields[i] = httpx.FieldError{Field: f.Field, Code: f.Code, Message: f.Message(lang)}
		}
		e = httpx.Validation(fields...)
	case errors.Is(err, ErrUnauthenticated):
		e = httpx.Unauthorized("")
	case errors.Is(err, ErrForbidden):
		e = httpx.Forbidden("")
	case errors.Is(err, ErrInvalidCredentials):
		e = problem(http.StatusUnauthorized, "identity.invalid_credentials")
	case errors.As(err, &locked):
		if locked.Until.IsZero() {
			e = problem(http.StatusForbidden, "identity.account_locked_admin")
		} else {
			e = problem(http.StatusForbidden, "identity.account_locked", "until", locked.Until.In(vietnam).Format("15:04 02/01/2006"))
		}
	case errors.Is(err, ErrAccountDisabled):
		e = problem(http.StatusForbidden, "identity.account_disabled")
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrNoSession):
		code := "identity.person_not_found"
		if len(notFoundCode) > 0 {
			code = notFoundCode[0]
		}
		e = problem(http.StatusNotFound, code)
	case errors.Is(err, ErrUsernameTaken):
		e = problem(http.StatusConflict, "identity.username_taken")
		e.Fields = []httpx.FieldError{{Field: "username", Code: "taken", Message: i18n.T(lang, "identity.username_taken")}}
	case errors.Is(err, ErrPersonalIDTaken):
		e = problem(http.StatusConflict, "identity.personal_id_taken")
		e.Fields = []httpx.FieldError{{Field: "personal_id", Code: "taken", Message: i18n.T(lang, "identity.personal_id_taken")}}
	case errors.Is(err, ErrGrantExists):
		e = problem(http.StatusConflict, "identity.grant_exists")
	case errors.Is(err, ErrLastSysadmin):
		e = problem(http.StatusConflict, "identity.last_sysadmin")
	default:
		httpx.Error(w, r, err) // 500, logged with the request id
		return
	}
	httpx.Error(w, r, e)
}

// vietnam is the time zone in which times are shown to people.
var vietnam = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return l
	}
	return time.FixedZone("ICT", 7*3600)
}()

// require checks action for the request's principal, answering the error
// itself; it reports whether the handler may go on.
func require(w http.ResponseWriter, r *http.Request, action Action) (*Principal, bool) {
	p := PrincipalFrom(r.Context())
	if err := Require(r.Context(), p, action, ProvinceWide); err != nil {
		httpError(w, r, err)
		return nil, false
	}
	return p, true
}

// required lists the empty fields among name/value pairs.
func required(pairs ...string) ValidationError {
	var v ValidationError
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			v = append(v, FieldError{Field: pairs[i], Code: "required"})
		}
	}
	return v
}

// --- JSON shapes ---

type grantJSON struct {
	ID           string     `json:"id"`
	Role         Role       `json:"role"`
	RoleLabel    string     `json:"role_label"`
	UnitID       string     `json:"unit_id"`
	ProvinceWide bool       `json:"province_wide"`
	GrantedBy    string     `json:"granted_by,omitempty"`
	GrantedAt    time.Time  `json:"granted_at"`
	RevokedBy    string     `json:"revoked_by,omitempty"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
}

func toGrantJSON(lang i18n.Lang, g Grant) grantJSON {
	return grantJSON{ID: g.ID, Role: g.Role, RoleLabel: i18n.T(lang, "identity.role."+string(g.Role)), UnitID: g.UnitID,
		ProvinceWide: g.UnitID == ProvinceWide, GrantedBy: g.GrantedBy, GrantedAt: g.GrantedAt, RevokedBy: g.RevokedBy, RevokedAt: g.RevokedAt}
}

func toGrantsJSON(lang i18n.Lang, gs []Grant) []grantJSON {
	out := make([]grantJSON, len(gs))
	for i, g := range gs {
		out[i] = toGrantJSON(lang, g)
	}
	return out
}

type positionJSON struct {
	ID        string     `json:"id"`
	Title     string     `json:"title"`
	UnitID    string     `json:"unit_id"`
	AgencyID  string     `json:"agency_id,omitempty"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

func toPositionJSON(x Position) positionJSON {
	return positionJSON{ID: x.ID, Title: x.Title, UnitID: x.UnitID, AgencyID: x.AgencyID, StartedAt: x.StartedAt, EndedAt: x.EndedAt}
}

type personJSON struct {
	ID                 string     `json:"id"`
	Kind               PersonKind `json:"kind"`
	Username           string     `json:"username"`
	FullName           string     `json:"full_name"`
	Email              string     `json:"email,omitempty"`
	Phone              string     `json:"phone,omitempty"`
	Status             Status     `json:"status"`
	StatusLabel        string     `json:"status_label"`
	LockedUntil        *time.Time `json:"locked_until,omitempty"`
	HasPassword        bool       `json:"has_password"`
	MustChangePassword bool       `json:"must_change_password"`
	LastLoginAt        *time.Time `json:"last_login_at,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
}

// personDetailJSON adds what only the detail shows: the personal ID number
// (personal data, not in lists) and the history of positions and grants.
type personDetailJSON struct {
	personJSON
	PersonalID string         `json:"personal_id,omitempty"`
	Positions  []positionJSON `json:"positions"`
	Grants     []grantJSON    `json:"grants"`
}

func (h *Handlers) toPersonJSON(lang i18n.Lang, p Person) personJSON {
	st := p.StatusAt(h.svc.now())
	locked := p.LockedUntil
	if st != StatusLocked {
		locked = nil
	}
	return personJSON{ID: p.ID, Kind: p.Kind, Username: p.Username, FullName: p.FullName, Email: p.Email, Phone: p.Phone,
		Status: st, StatusLabel: i18n.T(lang, "identity.status."+string(st)), LockedUntil: locked, HasPassword: p.HasPassword,
		MustChangePassword: p.MustChangePassword, LastLoginAt: p.LastLoginAt, CreatedAt: p.CreatedAt}
}

func (h *Handlers) toPersonDetailJSON(lang i18n.Lang, p Person) personDetailJSON {
	d := personDetailJSON{personJSON: h.toPersonJSON(lang, p), PersonalID: p.PersonalID,
		Positions: make([]positionJSON, len(p.Positions)), Grants: toGrantsJSON(lang, p.Grants)}
	for i, x := range p.Positions {
		d.Positions[i] = toPositionJSON(x)
	}
	return d
}

type meJSON struct {
	ID                 string      `json:"id"`
	Username           string      `json:"username"`
	FullName           string      `json:"full_name"`
	Kind               PersonKind  `json:"kind"`
	MustChangePassword bool        `json:"must_change_password"`
	Grants             []grantJSON `json:"grants"`
}

func toMeJSON(lang i18n.Lang, p *Principal) meJSON {
	return meJSON{ID: p.PersonID, Username: p.Username, FullName: p.FullName, Kind: p.Kind,
		MustChangePassword: p.MustChangePassword, Grants: toGrantsJSON(lang, p.Grants)}
}

type sessionJSON struct {
	ID         string    `json:"id"`
	Current    bool      `json:"current"`
	Method     string    `json:"method"`
	IP         string    `json:"ip,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// --- handlers: session ---

func (h *Handlers) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		httpError(w, r, err)
		return
	}
	if v := required("username", in.Username, "password", in.Password); v != nil {
		httpError(w, r, v)
		return
	}
	// A new sign-in replaces the browser's previous session.
	if old := h.sessionToken(r); old != "" {
		if err := h.svc.Logout(r.Context(), old); err != nil {
			httpError(w, r, err)
			return
		}
	}
	p, token, err := h.svc.Authenticate(r.Context(), in.Username, in.Password, h.client(r))
	if err != nil {
		httpError(w, r, err)
		return
	}
	h.SetSessionCookie(w, r, token)
	w.Header().Set("Cache-Control", "no-store")
	if p.MFAPending {
		// The password was right; the second factor follows at
		// POST /api/v1/session/mfa.
		httpx.WriteJSON(w, http.StatusAccepted, map[string]bool{"mfa_required": true})
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, toMeJSON(i18n.FromRequest(r), p))
}

func (h *Handlers) logout(w http.ResponseWriter, r *http.Request) {
	if token := h.sessionToken(r); token != "" {
		if err := h.svc.Logout(r.Context(), token); err != nil {
			httpError(w, r, err)
			return
		}
	}
	h.ClearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handlers) me(w http.ResponseWriter, r *http.Request) {
	p := PrincipalFrom(r.Context())
	if !p.Authenticated() {
		httpError(w, r, ErrUnauthenticated)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, toMeJSON(i18n.FromRequest(r), p))
}

func (h *Handlers) changePassword(w http.ResponseWriter, r *http.Request) {
	p := PrincipalFrom(r.Context())
	if !p.Authenticated() {
		httpError(w, r, ErrUnauthenticated)
		return
	}
	var in struct {
		OldPassword string `json:"old_password"`
		NewPassword string `json:"new_password"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		httpError(w, r, err)
		return
	}
	if v := required("old_password", in.OldPassword, "new_password", in.NewPassword); v != nil {
		httpError(w, r, v)
		return
	}
	err := h.svc.ChangePassword(r.Context(), p, in.OldPassword, in.NewPassword)
	if errors.Is(err, ErrInvalidCredentials) {
		// Answered as a field problem, not 401: the person is still signed in.
		err = ValidationError{{Field: "old_password", Code: "wrong_password"}}
	}
	if err != nil {
		httpError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handlers) mySessions(w http.ResponseWriter, r *http.Request) {
	p := PrincipalFrom(r.Context())
	if !p.Authenticated() {
		httpError(w, r, ErrUnauthenticated)
		return
	}
	sessions, err := h.svc.ListSessions(r.Context(), p.PersonID)
	if err != nil {
		httpError(w, r, err)
		return
	}
	out := make([]sessionJSON, len(sessions))
	for i, s := range sessions {
		out[i] = sessionJSON{ID: s.ID, Current: s.ID == p.SessionID, Method: s.Method, IP: s.IP, UserAgent: s.UserAgent,
			CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, httpx.List[sessionJSON]{Items: out})
}

func (h *Handlers) endMySession(w http.ResponseWriter, r *http.Request) {
	p := PrincipalFrom(r.Context())
	if !p.Authenticated() {
		httpError(w, r, ErrUnauthenticated)
		return
	}
	if err := h.svc.RevokeSession(r.Context(), p, p.PersonID, r.PathValue("sessionID")); err != nil {
		httpError(w, r, err, "identity.session_not_found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- handlers: people (administration) ---

func (h *Handlers) listPeople(w http.ResponseWriter, r *http.Request) {
	if _, ok := require(w, r, ActionUserView); !ok {
		return
	}
	page, err := httpx.ParsePage(r)
	if err != nil {
		httpError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := PeopleFilter{Text: q.Get("q"), Kind: PersonKind(q.Get("kind")), Status: Status(q.Get("status")),
		UnitID: q.Get("unit_id"), Role: Role(q.Get("role")), Limit: page.Limit}
	var bad []httpx.FieldError
	if f.Kind != "" && !f.Kind.Valid() {
		bad = append(bad, httpx.FieldError{Field: "kind", Code: "invalid"})
	}
	if f.Status != "" && !f.Status.Valid() {
		bad = append(bad, httpx.FieldError{Field: "status", Code: "invalid"})
	}
	if f.Role != "" && !f.Role.Valid() {
		bad = append(bad, httpx.FieldError{Field: "role", Code: "invalid"})
	}
	if len(f.Text) > 200 {
		bad = append(bad, httpx.FieldError{Field: "q", Code: "too_long", Args: []any{"max", 200}})
	}
	if bad != nil {
		httpError(w, r, &httpx.Err{Status: http.StatusBadRequest, Code: "invalid_query", Fields: bad})
		return
	}
	if page.Cursor != "" {
		if err := httpx.DecodeCursor(page.Cursor, &f.After); err != nil {
			httpError(w, r, err)
			return
		}
	}
	res, err := h.svc.ListPeople(r.Context(), f)
	if err != nil {
		httpError(w, r, err)
		return
	}
	lang := i18n.FromRequest(r)
	list := httpx.List[personJSON]{Items: make([]personJSON, len(res.People))}
	for i, p := range res.People {
		list.Items[i] = h.toPersonJSON(lang, p)
	}
	if res.More {
		if list.Next, err = httpx.EncodeCursor(res.People[len(res.People)-1].Username); err != nil {
			httpError(w, r, err)
			return
		}
	}
	if res.Total >= 0 {
		list.Total = &res.Total
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, list)
}

func (h *Handlers) createPerson(w http.ResponseWriter, r *http.Request) {
	by, ok := require(w, r, ActionUserManage)
	if !ok {
		return
	}
	var in struct {
		Kind               PersonKind `json:"kind"`
		Username           string     `json:"username"`
		FullName           string     `json:"full_name"`
		Email              string     `json:"email"`
		Phone              string     `json:"phone"`
		PersonalID         string     `json:"personal_id"`
		Password           string     `json:"password"`
		MustChangePassword *bool      `json:"must_change_password"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		httpError(w, r, err)
		return
	}
	// A password an administrator chose is temporary unless said otherwise.
	mustChange := in.MustChangePassword == nil || *in.MustChangePassword
	p, err := h.svc.CreatePerson(r.Context(), by, NewPerson{Kind: in.Kind, Username: in.Username, FullName: in.FullName,
		Email: in.Email, Phone: in.Phone, PersonalID: in.PersonalID, Password: in.Password, MustChangePassword: mustChange})
	if err != nil {
		httpError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/people/"+p.ID)
	httpx.WriteJSON(w, http.StatusCreated, h.toPersonDetailJSON(i18n.FromRequest(r), p))
}

func (h *Handlers) getPerson(w http.ResponseWriter, r *http.Request) {
	if _, ok := require(w, r, ActionUserView); !ok {
		return
	}
	p, err := h.svc.GetPerson(r.Context(), r.PathValue("id"))
	if err != nil {
		httpError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, h.toPersonDetailJSON(i18n.FromRequest(r), p))
}

func (h *Handlers) setStatus(w http.ResponseWriter, r *http.Request) {
	by, ok := require(w, r, ActionUserManage)
	if !ok {
		return
	}
	var in struct {
		Status Status `json:"status"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		httpError(w, r, err)
		return
	}
	if err := h.svc.SetStatus(r.Context(), by, r.PathValue("id"), in.Status); err != nil {
		httpError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handlers) setPassword(w http.ResponseWriter, r *http.Request) {
	by, ok := require(w, r, ActionUserManage)
	if !ok {
		return
	}
	var in struct {
		Password   string `json:"password"`
		MustChange *bool  `json:"must_change"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		httpError(w, r, err)
		return
	}
	if v := required("password", in.Password); v != nil {
		httpError(w, r, v)
		return
	}
	mustChange := in.MustChange == nil || *in.MustChange
	if err := h.svc.SetPassword(r.Context(), by, r.PathValue("id"), in.Password, mustChange); err != nil {
		httpError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handlers) revokeSessions(w http.ResponseWriter, r *http.Request) {
	by, ok := require(w, r, ActionUserManage)
	if !ok {
		return
	}
	n, err := h.svc.RevokeAllSessions(r.Context(), by, r.PathValue("id"))
	if err != nil {
		httpError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]int{"revoked": n})
}

func (h *Handlers) addPosition(w http.ResponseWriter, r *http.Request) {
	by, ok := require(w, r, ActionUserManage)
	if !ok {
		return
	}
	var in struct {
		Title     string     `json:"title"`
		UnitID    string     `json:"unit_id"`
		AgencyID  string     `json:"agency_id"`
		StartedAt *time.Time `json:"started_at"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		httpError(w, r, err)
		return
	}
	np := NewPosition{Title: in.Title, UnitID: in.UnitID, AgencyID: in.AgencyID}
	if in.StartedAt != nil {
		np.StartedAt = *in.StartedAt
	}
	x, err := h.svc.AddPosition(r.Context(), by, r.PathValue("id"), np)
	if err != nil {
		httpError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, toPositionJSON(x))
}

func (h *Handlers) endPosition(w http.ResponseWriter, r *http.Request) {
	by, ok := require(w, r, ActionUserManage)
	if !ok {
		return
	}
	if err := h.svc.EndPosition(r.Context(), by, r.PathValue("id"), r.PathValue("positionID")); err != nil {
		httpError(w, r, err, "identity.position_not_found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handlers) grant(w http.ResponseWriter, r *http.Request) {
	by, ok := require(w, r, ActionUserGrant)
	if !ok {
		return
	}
	var in struct {
		Role   Role   `json:"role"`
		UnitID string `json:"unit_id"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		httpError(w, r, err)
		return
	}
	g, err := h.svc.Grant(r.Context(), by, r.PathValue("id"), in.Role, strings.TrimSpace(in.UnitID))
	if err != nil {
		httpError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, toGrantJSON(i18n.FromRequest(r), g))
}

func (h *Handlers) revokeGrant(w http.ResponseWriter, r *http.Request) {
	by, ok := require(w, r, ActionUserGrant)
	if !ok {
		return
	}
	if err := h.svc.RevokeGrant(r.Context(), by, r.PathValue("id"), r.PathValue("grantID")); err != nil {
		httpError(w, r, err, "identity.grant_not_found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
