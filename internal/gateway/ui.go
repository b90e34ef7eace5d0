package gateway

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

//go:embed templates/*.html templates/partials/*.html
var templateFS embed.FS

//go:embed messages/*.json
var messageFS embed.FS

func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err) // embedded; the tests keep the catalogs loadable
	}
}

// NavItems returns the gateway's links for the shell: the service catalog
// for every signed-in official, the administration for gateway admins, the
// message log for those who may read it.
func NavItems() []web.NavItem {
	return []web.NavItem{
		{Path: "/gateway/catalog", Label: "gateway.nav.catalog", Order: 700, Visible: func(u *web.User) bool { return u != nil && u.Kind == "official" }},
		{Path: "/admin/gateway", Label: "gateway.nav.admin", Order: 920, Visible: func(u *web.User) bool { return u.Can(ActionAdmin) }},
		{Path: "/admin/gateway/messages", Label: "gateway.nav.messages", Order: 921, Visible: func(u *web.User) bool { return u.Can(ActionLogRead) }},
	}
}

func pageFuncs() template.FuncMap {
	return template.FuncMap{
		"vntime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(web.Location).Format("02/01/2006 15:04:05")
		},
		"rf":          regFieldArgs,
		"editlink":    editLink,
		"oauthClient": oauthClientOf,
		"versionList": func(reg *Registry) string {
			var ids []string
			for _, s := range reg.Services {
				for _, v := range s.Versions {
					ids = append(ids, s.ID.String()+"/"+v.Version)
				}
			}
			return strings.Join(ids, ",")
		},
		"seconds": func(d time.Duration) int64 { return int64(d / time.Second) },
		"join":    strings.Join,
		"list":    func(s ...string) []string { return s },
		"pct":     func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + " %" },
		"ms":      func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
		"skew": func(ms int64) string { // a clock difference, signed, in seconds
			v := strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64)
			if ms >= 0 {
				v = "+" + v
			}
			return v + " s"
		},
		// fieldArgs gathers what the "field" template needs.
		"fieldArgs": func(v web.View, name, value string) fieldData {
			d := fieldData{View: v, Name: name, Value: value}
			if av, ok := v.Data.(adminView); ok {
				d.Err = av.Errors[name]
			}
			return d
		},
	}
}

func (h *Handlers) pageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /gateway/catalog", h.catalogPage)
	mux.HandleFunc("GET /admin/gateway", h.adminPage)
	mux.HandleFunc("POST /admin/gateway/rights", h.grantForm)
	mux.HandleFunc("POST /admin/gateway/rights/{id}/revoke", h.revokeForm)
	mux.HandleFunc("GET /admin/gateway/messages", h.messagesPage)
	mux.HandleFunc("GET /admin/gateway/status", h.statusPage)
	h.registryRoutes(mux)
	h.pubsubPageRoutes(mux)
}

// pageAuth lets through people allowed action ("" = any signed-in person);
// the anonymous go to the login page, others get a 403 page.
// official reports whether r's person is an official: the service
// catalog (and its API descriptions) and the topics are for the agencies'
// developers, not for the applicants (citizens, businesses) who also sign
// in to the platform.
func (h *Handlers) official(r *http.Request) bool {
	if h.cfg.Shell != nil && h.cfg.Shell.CurrentUser != nil {
		u := h.cfg.Shell.CurrentUser(r)
		return u != nil && u.Kind == "official"
	}
	return h.actor(r) != "" // (the JSON API alone, without people's kinds)
}

func (h *Handlers) pageAuth(w http.ResponseWriter, r *http.Request, action string) bool {
	if h.actor(r) == "" {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return false
	}
	if action != "" && !h.can(r, action) {
		h.errorPage(w, r, http.StatusForbidden)
		return false
	}
	return true
}

func (h *Handlers) errorPage(w http.ResponseWriter, r *http.Request, status int) {
	key := "error.page.internal"
	switch status {
	case http.StatusForbidden:
		key = "error.page.forbidden"
	case http.StatusNotFound:
		key = "error.page.not_found"
	}
	h.cfg.Shell.Render(w, r, h.pages["error"], status, struct{ Title, Text string }{key, key + ".text"})
}

func (h *Handlers) pageFail(w http.ResponseWriter, r *http.Request, err error) {
	h.cfg.Shell.Log.ErrorContext(r.Context(), "gateway page", "path", r.URL.Path, "err", err)
	h.errorPage(w, r, http.StatusInternalServerError)
}

func (h *Handlers) catalogPage(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, "") {
		return
	}
	if !h.official(r) {
		h.errorPage(w, r, http.StatusForbidden)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	items, err := h.Catalog(r, q)
	if err != nil {
		h.pageFail(w, r, err)
		return
	}
	h.cfg.Shell.Render(w, r, h.pages["catalog"], http.StatusOK, struct {
		Q     string
		Items []CatalogEntry
	}{q, items})
}

// adminView is the data of the registry page.
type adminView struct {
	Reg      *Registry
	Form     rightForm
	Errors   map[string]string
	Summary  []string
	Revision int64
	Loaded   time.Time
}

type rightForm struct {
	Client, Service, Method, Path, ValidUntil, LegalBasis string
}

func (h *Handlers) adminPage(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	h.renderAdmin(w, r, http.StatusOK, adminView{})
}

func (h *Handlers) renderAdmin(w http.ResponseWriter, r *http.Request, status int, v adminView) {
	reg, err := h.cfg.Manager.Store().Load(r.Context())
	if err != nil {
		h.pageFail(w, r, err)
		return
	}
	v.Reg = reg
	if h.cfg.Runtime != nil {
		v.Revision, v.Loaded = h.cfg.Runtime.Revision()
	}
	for _, f := range []string{"client", "service", "method", "path", "valid_until", "legal_basis"} {
		if m := v.Errors[f]; m != "" {
			v.Summary = append(v.Summary, f)
		}
	}
	h.cfg.Shell.Render(w, r, h.pages["admin"], status, v)
}

func (h *Handlers) grantForm(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	lang := i18n.FromRequest(r)
	f := rightForm{Client: strings.TrimSpace(r.PostFormValue("client")), Service: strings.TrimSpace(r.PostFormValue("service")),
		Method: strings.TrimSpace(r.PostFormValue("method")), Path: strings.TrimSpace(r.PostFormValue("path")),
		ValidUntil: strings.TrimSpace(r.PostFormValue("valid_until")), LegalBasis: strings.TrimSpace(r.PostFormValue("legal_basis"))}
	errs := map[string]string{}
	a := AccessRight{Client: f.Client, Method: f.Method, Path: f.Path, LegalBasis: f.LegalBasis}
	if !strings.HasPrefix(f.Client, GroupPrefix) {
		if _, err := ParseSubsystemID(f.Client); err != nil {
			errs["client"] = i18n.T(lang, "gateway.form.client_invalid")
		}
	}
	sid, err := ParseServiceID(f.Service)
	if err != nil {
		errs["service"] = i18n.T(lang, "gateway.form.service_invalid")
	}
	a.Service = sid
	if f.ValidUntil != "" {
		t, err := time.ParseInLocation("2006-01-02", f.ValidUntil, web.Location)
		if err != nil {
			errs["valid_until"] = i18n.T(lang, "gateway.form.date_invalid")
		}
		a.ValidUntil = &t
	}
	if f.LegalBasis == "" {
		errs["legal_basis"] = i18n.T(lang, "gateway.form.legal_basis_required")
	}
	if len(errs) == 0 {
		_, err = h.cfg.Manager.Grant(r.Context(), h.actor(r), a)
		switch {
		case err == nil:
			web.SetFlash(w, "gateway.flash.granted")
			http.Redirect(w, r, "/admin/gateway#rights", http.StatusSeeOther)
			return
		case errorsIsAny(err, ErrInvalid, ErrNotFound):
			// Next to the field at fault, in the reader's language.
			field, key := "service", "gateway.invalid.not_found"
			var fe *FieldError
			if errors.As(err, &fe) {
				field, key = fe.Field, "gateway.invalid.right."+fe.Field
				if !i18n.Has(key) {
					key = "gateway.invalid.other"
				}
			}
			errs[field] = i18n.T(lang, key)
		default:
			h.pageFail(w, r, err)
			return
		}
	}
	h.renderAdmin(w, r, http.StatusUnprocessableEntity, adminView{Form: f, Errors: errs})
}

func (h *Handlers) revokeForm(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.errorPage(w, r, http.StatusNotFound)
		return
	}
	switch err := h.cfg.Manager.Revoke(r.Context(), h.actor(r), id); {
	case err == nil:
		web.SetFlash(w, "gateway.flash.revoked")
	case errorsIsAny(err, ErrNotFound):
		web.SetFlash(w, "gateway.flash.nothing")
	default:
		h.pageFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/gateway#rights", http.StatusSeeOther)
}

func (h *Handlers) messagesPage(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, ActionLogRead) {
		return
	}
	q := r.URL.Query()
	v := struct {
		Issue, Client, Service, From, To string
		Error                            string
		Items                            []Record
		Searched                         bool
	}{Issue: q.Get("issue"), Client: q.Get("client"), Service: q.Get("service"), From: q.Get("from"), To: q.Get("to"), Searched: r.URL.RawQuery != ""}
	f, err := parseFilter(r)
	status := http.StatusOK
	if err != nil {
		v.Error = i18n.T(i18n.FromRequest(r), "gateway.form.date_invalid")
		status = http.StatusBadRequest
	} else if v.Items, err = Search(r.Context(), h.cfg.DB, f); err != nil {
		h.pageFail(w, r, err)
		return
	}
	h.cfg.Shell.Render(w, r, h.pages["messages"], status, v)
}

func (h *Handlers) statusPage(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	st, err := ServiceStatus(r.Context(), h.cfg.DB, h.cfg.Now().Add(-time.Hour))
	if err != nil {
		h.pageFail(w, r, err)
		return
	}
	nodes, stamp, err := h.nodesAndStamp(r)
	if err != nil {
		h.pageFail(w, r, err)
		return
	}
	h.cfg.Shell.Render(w, r, h.pages["status"], http.StatusOK, struct {
		Items   []Stat
		Nodes   []Node
		Stamp   StampStatus
		Journal JournalStatus
	}{st, nodes, stamp, h.journalStatus()})
}

// nodesAndStamp reads the gateway nodes' heartbeats and this node's
// time-stamping state, for the status page and its JSON.
func (h *Handlers) nodesAndStamp(r *http.Request) ([]Node, StampStatus, error) {
	liveFor := nodeLiveFor(time.Second)
	var stamp StampStatus
	if rt := h.cfg.Runtime; rt != nil {
		liveFor = nodeLiveFor(rt.cfg.PollInterval)
		if rt.cfg.Log != nil {
			stamp = rt.cfg.Log.StampStatus()
		}
	}
	nodes, err := NewStore(h.cfg.DB, h.cfg.Now).Nodes(r.Context(), liveFor)
	if nodes == nil {
		nodes = []Node{}
	}
	return nodes, stamp, err
}

// journalStatus is this node's message log journal state.
func (h *Handlers) journalStatus() JournalStatus {
	if rt := h.cfg.Runtime; rt != nil && rt.cfg.Log != nil {
		return rt.cfg.Log.JournalStatus()
	}
	return JournalStatus{}
}

func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

type fieldData struct {
	View  web.View
	Name  string
	Value string
	Err   string
}
