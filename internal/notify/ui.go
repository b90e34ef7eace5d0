package notify

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

//go:embed pages
var pageFS embed.FS

//go:embed messages/*.json
var messageFS embed.FS

// The module's texts (page labels, problem details) join the shared
// catalogs when the package is loaded; every key starts with "notify." or
// "error.notify.".
func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err)
	}
}

// MessagesFS is the module's message catalogs (for the completeness test).
func MessagesFS() embed.FS { return messageFS }

// Pages serves the signed-in person's notification pages inside the web
// shell. They work without JavaScript: plain links and forms with the CSRF
// token.
type Pages struct {
	svc       *Service
	shell     *web.Shell
	errorPage func(http.ResponseWriter, *http.Request, int)
	pages     map[string]*template.Template
}

// NewPages parses the page templates into the shell's layout. errorPage
// renders the shell's error page for a status (web.Handlers.ErrorPage).
func NewPages(svc *Service, shell *web.Shell, errorPage func(http.ResponseWriter, *http.Request, int)) (*Pages, error) {
	pages, err := shell.Pages(pageFS, "pages/*.html", template.FuncMap{})
	if err != nil {
		return nil, err
	}
	return &Pages{svc: svc, shell: shell, errorPage: errorPage, pages: pages}, nil
}

// Routes registers the pages on mux:
//
//	GET  /account/notifications                  the caller's notifications (?unread=1, ?before=ID)
//	POST /account/notifications/{id}/read        mark one read, back to the list
//	POST /account/notifications/read-all         mark all read, back to the list
//	GET  /account/notifications/settings         channel preferences form
//	POST /account/notifications/settings         save them
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /account/notifications", p.list)
	mux.HandleFunc("POST /account/notifications/{id}/read", p.read)
	mux.HandleFunc("POST /account/notifications/read-all", p.readAll)
	mux.HandleFunc("GET /account/notifications/settings", p.settings)
	mux.HandleFunc("POST /account/notifications/settings", p.saveSettings)
}

// NavItems are the shell navigation links this module adds (signed-in
// people only).
func NavItems() []web.NavItem {
	return []web.NavItem{{Path: "/account/notifications", Label: "notify.nav", Order: 90,
		Visible: func(u *web.User) bool { return u != nil }}}
}

// signedIn returns the caller's account, or redirects to sign in.
func (p *Pages) signedIn(w http.ResponseWriter, r *http.Request, back string) (string, bool) {
	pr := identity.PrincipalFrom(r.Context())
	if pr.Authenticated() {
		return pr.PersonID, true
	}
	if r.Method == http.MethodGet {
		back = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(back), http.StatusSeeOther)
	return "", false
}

func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		p.errorPage(w, r, http.StatusNotFound)
		return
	}
	p.shell.Log.ErrorContext(r.Context(), "notify page", "path", r.URL.Path, "err", err)
	p.errorPage(w, r, http.StatusInternalServerError)
}

const pageSize = 20

type listView struct {
	Items      []Notification
	Unread     int
	UnreadOnly bool
	Next       string // URL of the next page
}

func (p *Pages) list(w http.ResponseWriter, r *http.Request) {
	acct, ok := p.signedIn(w, r, "/account/notifications")
	if !ok {
		return
	}
	q := r.URL.Query()
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	unreadOnly := q.Get("unread") == "1"
	items, next, err := p.svc.List(r.Context(), acct, unreadOnly, pageSize, before)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	n, err := p.svc.UnreadCount(r.Context(), acct)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v := listView{Items: items, Unread: n, UnreadOnly: unreadOnly}
	if next > 0 {
		nq := url.Values{"before": {strconv.FormatInt(next, 10)}}
		if unreadOnly {
			nq.Set("unread", "1")
		}
		v.Next = "/account/notifications?" + nq.Encode()
	}
	p.shell.Render(w, r, p.pages["notifications"], http.StatusOK, v)
}

// parseForm reads a posted form; the CSRF middleware already checked it.
func (p *Pages) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest)
		return false
	}
	return true
}

func (p *Pages) read(w http.ResponseWriter, r *http.Request) {
	acct, ok := p.signedIn(w, r, "/account/notifications")
	if !ok || !p.parseForm(w, r) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		p.errorPage(w, r, http.StatusNotFound)
		return
	}
	if err := p.svc.MarkRead(r.Context(), acct, id); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/notifications", http.StatusSeeOther)
}

func (p *Pages) readAll(w http.ResponseWriter, r *http.Request) {
	acct, ok := p.signedIn(w, r, "/account/notifications")
	if !ok || !p.parseForm(w, r) {
		return
	}
	if _, err := p.svc.MarkAllRead(r.Context(), acct); err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "notify.flash.all_read")
	http.Redirect(w, r, "/account/notifications", http.StatusSeeOther)
}

type settingsView struct {
	Prefs Preferences
}

func (p *Pages) settings(w http.ResponseWriter, r *http.Request) {
	acct, ok := p.signedIn(w, r, "/account/notifications/settings")
	if !ok {
		return
	}
	prefs, err := p.svc.Preferences(r.Context(), acct)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.shell.Render(w, r, p.pages["settings"], http.StatusOK, settingsView{Prefs: prefs})
}

func (p *Pages) saveSettings(w http.ResponseWriter, r *http.Request) {
	acct, ok := p.signedIn(w, r, "/account/notifications/settings")
	if !ok || !p.parseForm(w, r) {
		return
	}
	// Unchecked boxes are not sent: absent means off.
	on := func(k string) bool { return r.PostForm.Get(k) == "on" }
	prefs := Preferences{Email: on("email"), SMS: on("sms"), InApp: on("inapp")}
	if err := p.svc.SetPreferences(r.Context(), acct, prefs); err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "notify.flash.saved")
	http.Redirect(w, r, "/account/notifications/settings", http.StatusSeeOther)
}
