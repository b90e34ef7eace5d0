package identity

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// Pages serves the identity pages inside the web shell: sign-in and sign-out,
// changing one's password, and the administration of people (list, create,
// detail with positions, grants, password reset and status). Every page works
// as plain HTML forms; the CSRF middleware protects the posts.
type Pages struct {
	h     *Handlers
	shell *web.Shell
	// errorPage renders the shell's error page (web.Handlers.ErrorPage).
	errorPage func(http.ResponseWriter, *http.Request, int)
	pages     map[string]*template.Template
	external  []ExternalLogin
}

// ExternalLogin is a button on the sign-in page that starts a sign-in with
// another identity provider (the national e-ID, VNeID). Path receives the
// page's ?next=.
type ExternalLogin struct {
	Label string // shown as is, e.g. "Đăng nhập bằng VNeID"
	Path  string // e.g. "/login/vneid"
}

// AddExternalLogin adds a button to the sign-in page. Call it before serving.
func (p *Pages) AddExternalLogin(e ExternalLogin) { p.external = append(p.external, e) }

// NewPages parses the page templates into the shell's layout. errorPage
// renders a full error page for a status (web.Handlers.ErrorPage).
func NewPages(h *Handlers, shell *web.Shell, errorPage func(http.ResponseWriter, *http.Request, int)) (*Pages, error) {
	pages, err := shell.Pages(templateFS, "templates/*.html", template.FuncMap{"fieldOf": fieldOf, "statusButton": statusButton})
	if err != nil {
		return nil, err
	}
	return &Pages{h: h, shell: shell, errorPage: errorPage, pages: pages}, nil
}

// Routes registers the pages on mux:
//
//	GET/POST /login, POST /logout, GET/POST /account/password,
//	GET /admin/people, GET /admin/people/new, POST /admin/people,
//	GET /admin/people/{id} and the forms it posts to under /admin/people/{id}/.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login", p.loginForm)
	mux.HandleFunc("POST /login", p.login)
	mux.HandleFunc("POST /logout", p.logout)
	mux.HandleFunc("GET /account/password", p.passwordForm)
	mux.HandleFunc("POST /account/password", p.changePassword)
	mux.HandleFunc("GET /admin/people", p.list)
	mux.HandleFunc("GET /admin/people/new", p.newForm)
	mux.HandleFunc("POST /admin/people", p.create)
	mux.HandleFunc("GET /admin/people/{id}", p.detail)
	mux.HandleFunc("POST /admin/people/{id}/grants", p.grant)
	mux.HandleFunc("POST /admin/people/{id}/grants/{grantID}/revoke", p.revoke)
	mux.HandleFunc("POST /admin/people/{id}/password", p.resetPassword)
	mux.HandleFunc("POST /admin/people/{id}/status", p.setStatus)
	mux.HandleFunc("POST /admin/people/{id}/positions", p.addPosition)
	mux.HandleFunc("POST /admin/people/{id}/positions/{positionID}/end", p.endPosition)
	p.mfaRoutes(mux)
}

// formField is one labelled input of the new-person form.
type formField struct {
	View                            web.View
	Name, Value, Type, Autocomplete string
	Err, Hint                       string
}

// fieldOf describes the input name of the page v; its hint is the message
// "identity.ui.<name>.hint" when there is one.
func fieldOf(v web.View, name, value, typ, autocomplete string) formField {
	f := formField{View: v, Name: name, Value: value, Type: typ, Autocomplete: autocomplete}
	if d, ok := v.Data.(newView); ok {
		f.Err = d.Errors.Msg(name)
	}
	if key := "identity.ui." + name + ".hint"; i18n.Has(key) {
		f.Hint = v.T(key)
	}
	return f
}

// statusButton is a one-button form that sets the status of the person shown.
func statusButton(v web.View, status, labelKey string) map[string]string {
	d, _ := v.Data.(detailView)
	return map[string]string{"ID": d.Person.ID, "CSRF": v.CSRF, "Status": status, "Label": v.T(labelKey)}
}

// NavItems are the shell navigation links this module adds.
func NavItems() []web.NavItem {
	return []web.NavItem{{Path: "/admin/people", Label: "identity.nav.people", Order: 90,
		Visible: func(u *web.User) bool { return u.Can(string(ActionUserView)) }},
		{Path: "/admin/security", Label: "identity.nav.security", Order: 92,
			Visible: func(u *web.User) bool { return u.Can(string(ActionSecurityManage)) }},
		{Path: "/account/security", Label: "identity.nav.account_security", Order: 95,
			Visible: func(u *web.User) bool { return u != nil && u.Kind == string(KindOfficial) }}}
}

// WebUser describes the request's principal for the shell
// (web.Shell.CurrentUser), or returns nil for an anonymous caller.
func WebUser(r *http.Request) *web.User {
	p := PrincipalFrom(r.Context())
	if !p.Authenticated() {
		return nil
	}
	roles := make([]string, 0, len(p.Grants))
	for _, role := range p.Roles() {
		roles = append(roles, string(role))
	}
	return &web.User{ID: p.PersonID, Name: p.FullName, Kind: string(p.Kind), Roles: roles, IsActive: true,
		HasRole: func(role string) bool {
			for _, g := range p.Grants {
				if string(g.Role) == role && g.Active() {
					return true
				}
			}
			return false
		},
		CanDo: func(action string) bool {
			units, all := UnitsFor(p, Action(action))
			return all || len(units) > 0
		}}
}

// formErrors maps a field to its message in the page's language, plus a
// summary line for errors that belong to no field.
type formErrors struct {
	Summary string
	Fields  map[string]string
}

// Has reports whether field has an error (for aria-invalid).
func (f formErrors) Has(field string) bool { _, ok := f.Fields[field]; return ok }

// Msg returns the message for field, or "".
func (f formErrors) Msg(field string) string { return f.Fields[field] }

// Any reports whether there is anything to show.
func (f formErrors) Any() bool { return f.Summary != "" || len(f.Fields) > 0 }

// toFormErrors explains err for a form; ok is false for an unexpected error,
// which the caller answers with the error page.
func toFormErrors(r *http.Request, err error) (formErrors, int, bool) {
	lang := i18n.FromRequest(r)
	fe := formErrors{Fields: map[string]string{}}
	var v ValidationError
	var locked *LockedError
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &v):
		for _, f := range v {
			if _, seen := fe.Fields[f.Field]; !seen {
				fe.Fields[f.Field] = f.Message(lang)
			}
		}
		fe.Summary = i18n.T(lang, "error.validation_failed")
	case errors.Is(err, ErrInvalidCredentials):
		fe.Summary, status = i18n.T(lang, "identity.invalid_credentials"), http.StatusUnauthorized
	case errors.As(err, &locked):
		status = http.StatusForbidden
		if locked.Until.IsZero() {
			fe.Summary = i18n.T(lang, "identity.account_locked_admin")
		} else {
			fe.Summary = i18n.T(lang, "identity.account_locked", "until", locked.Until.In(vietnam).Format("15:04 02/01/2006"))
		}
	case errors.Is(err, ErrAccountDisabled):
		fe.Summary, status = i18n.T(lang, "identity.account_disabled"), http.StatusForbidden
	case errors.Is(err, ErrUsernameTaken):
		fe.Fields["username"] = i18n.T(lang, "identity.username_taken")
		fe.Summary, status = fe.Fields["username"], http.StatusConflict
	case errors.Is(err, ErrPersonalIDTaken):
		fe.Fields["personal_id"] = i18n.T(lang, "identity.personal_id_taken")
		fe.Summary, status = fe.Fields["personal_id"], http.StatusConflict
	case errors.Is(err, ErrGrantExists):
		fe.Summary, status = i18n.T(lang, "identity.grant_exists"), http.StatusConflict
	case errors.Is(err, ErrLastSysadmin):
		fe.Summary, status = i18n.T(lang, "identity.last_sysadmin"), http.StatusConflict
	default:
		return fe, 0, false
	}
	return fe, status, true
}

// fail answers an unexpected error with the shell's error page, logging it.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		p.errorPage(w, r, http.StatusNotFound)
	case errors.Is(err, ErrForbidden):
		p.errorPage(w, r, http.StatusForbidden)
	default:
		p.shell.Log.ErrorContext(r.Context(), "identity page", "path", r.URL.Path, "err", err)
		p.errorPage(w, r, http.StatusInternalServerError)
	}
}

// allow checks action for the page; an anonymous caller is sent to sign in
// and come back, others without the right get the 403 page.
func (p *Pages) allow(w http.ResponseWriter, r *http.Request, action Action) (*Principal, bool) {
	pr := PrincipalFrom(r.Context())
	err := Require(r.Context(), pr, action, ProvinceWide)
	switch {
	case err == nil:
		return pr, true
	case errors.Is(err, ErrUnauthenticated):
		next := r.URL.Path
		if r.Method != http.MethodGet {
			next = "/admin/people"
		} else if r.URL.RawQuery != "" {
			next += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
	default:
		p.errorPage(w, r, http.StatusForbidden)
	}
	return nil, false
}

// --- sign-in, sign-out, own password ---

type loginView struct {
	Username string
	Next     string
	Errors   formErrors
	External []ExternalLogin
}

func (p *Pages) loginForm(w http.ResponseWriter, r *http.Request) {
	next := web.SafeNext(r.URL.Query().Get("next"))
	if PrincipalFrom(r.Context()).Authenticated() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	RelaxFormAction(w)
	p.shell.Render(w, r, p.pages["login"], http.StatusOK, loginView{Next: next, External: p.external})
}

func (p *Pages) login(w http.ResponseWriter, r *http.Request) {
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	next := web.SafeNext(r.PostFormValue("next"))
	view := loginView{Username: username, Next: next, External: p.external}
	if strings.TrimSpace(username) == "" || password == "" {
		fe, status, _ := toFormErrors(r, required("username", username, "password", password))
		view.Errors = fe
		p.shell.Render(w, r, p.pages["login"], status, view)
		return
	}
	if old := p.h.sessionToken(r); old != "" {
		if err := p.h.svc.Logout(r.Context(), old); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	pr, token, err := p.h.svc.Authenticate(r.Context(), username, password, p.h.client(r))
	if err != nil {
		fe, status, ok := toFormErrors(r, err)
		if !ok {
			p.fail(w, r, err)
			return
		}
		view.Errors = fe
		RelaxFormAction(w)
		p.shell.Render(w, r, p.pages["login"], status, view)
		return
	}
	p.h.SetSessionCookie(w, r, token)
	if pr.MFAPending {
		http.Redirect(w, r, "/login/mfa?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	if pr.MustChangePassword {
		next = "/account/password?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	if token := p.h.sessionToken(r); token != "" {
		if err := p.h.svc.Logout(r.Context(), token); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	p.h.ClearSessionCookie(w, r)
	web.SetFlash(w, "identity.flash.logged_out")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

type passwordView struct {
	MustChange bool
	Next       string
	Errors     formErrors
}

func (p *Pages) passwordForm(w http.ResponseWriter, r *http.Request) {
	pr := PrincipalFrom(r.Context())
	if !pr.Authenticated() {
		http.Redirect(w, r, "/login?next="+url.QueryEscape("/account/password"), http.StatusSeeOther)
		return
	}
	p.shell.Render(w, r, p.pages["account_password"], http.StatusOK,
		passwordView{MustChange: pr.MustChangePassword, Next: web.SafeNext(r.URL.Query().Get("next"))})
}

func (p *Pages) changePassword(w http.ResponseWriter, r *http.Request) {
	pr := PrincipalFrom(r.Context())
	if !pr.Authenticated() {
		http.Redirect(w, r, "/login?next="+url.QueryEscape("/account/password"), http.StatusSeeOther)
		return
	}
	view := passwordView{MustChange: pr.MustChangePassword, Next: web.SafeNext(r.PostFormValue("next"))}
	oldPw, newPw := r.PostFormValue("old_password"), r.PostFormValue("new_password")
	var err error
	switch {
	case oldPw == "" || newPw == "":
		err = required("old_password", oldPw, "new_password", newPw)
	case newPw != r.PostFormValue("confirm_password"):
		err = ValidationError{{Field: "confirm_password", Code: "password_mismatch"}}
	default:
		err = p.h.svc.ChangePassword(r.Context(), pr, oldPw, newPw)
		if errors.Is(err, ErrInvalidCredentials) {
			err = ValidationError{{Field: "old_password", Code: "wrong_password"}}
		}
	}
	if err != nil {
		fe, status, ok := toFormErrors(r, err)
		if !ok {
			p.fail(w, r, err)
			return
		}
		view.Errors = fe
		p.shell.Render(w, r, p.pages["account_password"], status, view)
		return
	}
	web.SetFlash(w, "identity.flash.password_changed")
	http.Redirect(w, r, view.Next, http.StatusSeeOther)
}

// --- administration ---

type listView struct {
	Query  string
	Kind   string
	Status string
	People []Person
	Total  int
	Next   string // username to continue after, "" on the last page
	Kinds  []PersonKind
	States []Status
}

func (p *Pages) list(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.allow(w, r, ActionUserView); !ok {
		return
	}
	q := r.URL.Query()
	view := listView{Query: q.Get("q"), Kind: q.Get("kind"), Status: q.Get("status"),
		Kinds: []PersonKind{KindOfficial, KindApplicant}, States: []Status{StatusActive, StatusLocked, StatusDisabled}}
	f := PeopleFilter{Text: truncate(view.Query, 200), After: q.Get("after"), Limit: 50}
	if k := PersonKind(view.Kind); k.Valid() {
		f.Kind = k
	}
	if s := Status(view.Status); s.Valid() {
		f.Status = s
	}
	page, err := p.h.svc.ListPeople(r.Context(), f)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	view.People, view.Total = page.People, page.Total
	if page.More {
		view.Next = page.People[len(page.People)-1].Username
	}
	p.shell.Render(w, r, p.pages["people_list"], http.StatusOK, view)
}

type newView struct {
	In     NewPerson
	Errors formErrors
	Kinds  []PersonKind
}

func (p *Pages) newForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.allow(w, r, ActionUserManage); !ok {
		return
	}
	p.shell.Render(w, r, p.pages["person_new"], http.StatusOK,
		newView{In: NewPerson{Kind: KindOfficial}, Kinds: []PersonKind{KindOfficial, KindApplicant}})
}

func (p *Pages) create(w http.ResponseWriter, r *http.Request) {
	by, ok := p.allow(w, r, ActionUserManage)
	if !ok {
		return
	}
	in := NewPerson{Kind: PersonKind(r.PostFormValue("kind")), Username: r.PostFormValue("username"),
		FullName: r.PostFormValue("full_name"), Email: r.PostFormValue("email"), Phone: r.PostFormValue("phone"),
		PersonalID: r.PostFormValue("personal_id"), Password: r.PostFormValue("password"), MustChangePassword: true}
	person, err := p.h.svc.CreatePerson(r.Context(), by, in)
	if err != nil {
		fe, status, ok := toFormErrors(r, err)
		if !ok {
			p.fail(w, r, err)
			return
		}
		in.Password = "" // never sent back
		p.shell.Render(w, r, p.pages["person_new"], status, newView{In: in, Errors: fe, Kinds: []PersonKind{KindOfficial, KindApplicant}})
		return
	}
	web.SetFlash(w, "identity.flash.created")
	http.Redirect(w, r, "/admin/people/"+url.PathEscape(person.ID), http.StatusSeeOther)
}

type detailView struct {
	Person    Person
	Status    Status // in effect now
	Roles     []Role
	CanManage bool
	CanGrant  bool
	Errors    formErrors
	Form      string // the form the errors belong to: grant, position, password, status
	// Form values to show again after an error.
	Role, UnitID, Title, PositionUnit, AgencyID string
}

func (p *Pages) detail(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, ActionUserView)
	if !ok {
		return
	}
	p.renderDetail(w, r, pr, http.StatusOK, detailView{})
}

func (p *Pages) renderDetail(w http.ResponseWriter, r *http.Request, pr *Principal, status int, view detailView) {
	person, err := p.h.svc.GetPerson(r.Context(), r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	view.Person, view.Status, view.Roles = person, person.StatusAt(p.h.svc.now()), Roles()
	view.CanManage = Can(r.Context(), pr, ActionUserManage, ProvinceWide)
	view.CanGrant = Can(r.Context(), pr, ActionUserGrant, ProvinceWide)
	p.shell.Render(w, r, p.pages["person_detail"], status, view)
}

// afterChange redirects back to the detail page with a flash message, or
// shows it again with the error.
func (p *Pages) afterChange(w http.ResponseWriter, r *http.Request, pr *Principal, err error, flash string, view detailView) {
	if err == nil {
		web.SetFlash(w, flash)
		http.Redirect(w, r, "/admin/people/"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
		return
	}
	fe, status, ok := toFormErrors(r, err)
	if !ok {
		p.fail(w, r, err)
		return
	}
	view.Errors = fe
	p.renderDetail(w, r, pr, status, view)
}

func (p *Pages) grant(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, ActionUserGrant)
	if !ok {
		return
	}
	role, unit := Role(r.PostFormValue("role")), strings.TrimSpace(r.PostFormValue("unit_id"))
	_, err := p.h.svc.Grant(r.Context(), pr, r.PathValue("id"), role, unit)
	p.afterChange(w, r, pr, err, "identity.flash.granted", detailView{Form: "grant", Role: string(role), UnitID: unit})
}

func (p *Pages) revoke(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, ActionUserGrant)
	if !ok {
		return
	}
	err := p.h.svc.RevokeGrant(r.Context(), pr, r.PathValue("id"), r.PathValue("grantID"))
	p.afterChange(w, r, pr, err, "identity.flash.revoked", detailView{Form: "grant"})
}

func (p *Pages) resetPassword(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, ActionUserManage)
	if !ok {
		return
	}
	pw := r.PostFormValue("password")
	var err error
	if pw == "" {
		err = required("password", pw)
	} else {
		err = p.h.svc.ResetPassword(r.Context(), pr, r.PathValue("id"), pw)
	}
	p.afterChange(w, r, pr, err, "identity.flash.password_reset", detailView{Form: "password"})
}

func (p *Pages) setStatus(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, ActionUserManage)
	if !ok {
		return
	}
	err := p.h.svc.SetStatus(r.Context(), pr, r.PathValue("id"), Status(r.PostFormValue("status")))
	p.afterChange(w, r, pr, err, "identity.flash.status_changed", detailView{Form: "status"})
}

func (p *Pages) addPosition(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, ActionUserManage)
	if !ok {
		return
	}
	in := NewPosition{Title: r.PostFormValue("title"), UnitID: r.PostFormValue("unit_id"), AgencyID: r.PostFormValue("agency_id")}
	_, err := p.h.svc.AddPosition(r.Context(), pr, r.PathValue("id"), in)
	p.afterChange(w, r, pr, err, "identity.flash.position_added",
		detailView{Form: "position", Title: in.Title, PositionUnit: in.UnitID, AgencyID: in.AgencyID})
}

func (p *Pages) endPosition(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, ActionUserManage)
	if !ok {
		return
	}
	err := p.h.svc.EndPosition(r.Context(), pr, r.PathValue("id"), r.PathValue("positionID"))
	p.afterChange(w, r, pr, err, "identity.flash.position_ended", detailView{Form: "position"})
}
