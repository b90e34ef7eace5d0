package nationalportal

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

//go:embed templates
var templateFS embed.FS

// Pages serves the operators' page of the sync inside the web shell: the
// sync queue, failing and rejected dossiers (with a resync button), the
// inbound feed, the latest reconciliation's mismatches and a form to run
// one. It works as plain HTML forms; the CSRF middleware protects the posts.
type Pages struct {
	h         *Handlers
	shell     *web.Shell
	errorPage func(http.ResponseWriter, *http.Request, int)
	pages     map[string]*template.Template
}

// NewPages parses the page templates into the shell's layout. errorPage
// renders the shell's error page for a status (web.Handlers.ErrorPage).
func NewPages(h *Handlers, shell *web.Shell, errorPage func(http.ResponseWriter, *http.Request, int)) (*Pages, error) {
	pages, err := shell.Pages(templateFS, "templates/*.html", template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(Location).Format("02/01/2006 15:04")
		},
		"day": func(t time.Time) string { return t.In(Location).Format("02/01/2006") },
		"lastDay": func(t time.Time) string {
			return t.In(Location).Add(-time.Second).Format("02/01/2006")
		},
		"portalDate": func(s string) string {
			t, err := ParseDate(s)
			if err != nil || t.IsZero() {
				return s
			}
			return t.Format("02/01/2006 15:04")
		},
		"kindKey": func(k string) string { return "nationalportal.ui.kind." + k },
		"interval": func(secs int64) string {
			d := time.Duration(secs) * time.Second
			switch {
			case d > 0 && d%time.Hour == 0:
				return strconv.FormatInt(int64(d/time.Hour), 10) + " h"
			case d > 0:
				return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
			}
			return "–"
		},
	})
	if err != nil {
		return nil, err
	}
	return &Pages{h: h, shell: shell, errorPage: errorPage, pages: pages}, nil
}

// NavItems are the links this module adds to the main navigation.
func NavItems() []web.NavItem {
	return []web.NavItem{{Path: "/admin/national-portal", Label: "nationalportal.nav", Order: 85,
		Visible: func(u *web.User) bool { return u.Can(string(ActionView)) }}}
}

// Routes registers the page on mux:
//
//	GET  /admin/national-portal                        the sync state and the latest reconciliation
//	POST /admin/national-portal/reconcile              run a reconciliation (from, to: YYYY-MM-DD)
//	POST /admin/national-portal/dossiers/{code}/resync push a dossier again
//	POST /admin/national-portal/backfill               start or resume a backfill (since: YYYY-MM-DD, or all)
//	POST /admin/national-portal/backfill/cancel        stop the backfill in progress
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/national-portal", p.show)
	mux.HandleFunc("POST /admin/national-portal/reconcile", p.reconcile)
	mux.HandleFunc("POST /admin/national-portal/dossiers/{code}/resync", p.resync)
	mux.HandleFunc("POST /admin/national-portal/backfill", p.backfill)
	mux.HandleFunc("POST /admin/national-portal/backfill/cancel", p.cancelBackfill)
}

type pageView struct {
	State        StateView
	Report       *Report
	From, To     string
	Since        string
	All          bool
	Errors       map[string]string
	CanOperate   bool
	ReportFailed bool
}

// Err returns the message of a field's error.
func (v pageView) Err(field string) string { return v.Errors[field] }

func (p *Pages) allow(w http.ResponseWriter, r *http.Request, a identity.Action) bool {
	pr := identity.PrincipalFrom(r.Context())
	if identity.Can(r.Context(), pr, a, identity.ProvinceWide) {
		return true
	}
	if !pr.Authenticated() {
		http.Redirect(w, r, "/login?next="+url.QueryEscape("/admin/national-portal"), http.StatusSeeOther)
		return false
	}
	p.errorPage(w, r, http.StatusForbidden)
	return false
}

func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, v pageView) {
	st, err := p.h.stateView(r.Context())
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.State = st
	rep, err := p.h.svc.LastReport(r.Context())
	switch {
	case err == nil:
		v.Report = &rep
	case !errors.Is(err, dossier.ErrNotFound):
		p.fail(w, r, err)
		return
	}
	v.CanOperate = identity.Can(r.Context(), identity.PrincipalFrom(r.Context()), ActionOperate, identity.ProvinceWide)
	if v.From == "" {
		today := p.h.svc.cfg.Now().In(Location)
		v.From = today.AddDate(0, 0, -7).Format("2006-01-02")
		v.To = today.Format("2006-01-02")
	}
	p.shell.Render(w, r, p.pages["admin"], status, v)
}

func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	p.shell.Log.ErrorContext(r.Context(), "nationalportal page", "path", r.URL.Path, "err", err)
	p.errorPage(w, r, http.StatusInternalServerError)
}

func (p *Pages) show(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionView) {
		return
	}
	p.render(w, r, http.StatusOK, pageView{})
}

func (p *Pages) reconcile(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionOperate) {
		return
	}
	v := pageView{From: r.PostFormValue("from"), To: r.PostFormValue("to")}
	from, to, errs := ParsePeriod(i18n.FromRequest(r), v.From, v.To)
	if len(errs) > 0 {
		v.Errors = map[string]string{}
		for _, e := range errs {
			v.Errors[e.Field] = e.Message
		}
		p.render(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	if _, err := p.h.svc.Reconcile(r.Context(), from, to); err != nil {
		if !errors.Is(err, ErrUnavailable) {
			p.fail(w, r, err)
			return
		}
		v.ReportFailed = true
		p.render(w, r, http.StatusBadGateway, v)
		return
	}
	web.SetFlash(w, "nationalportal.ui.run.done")
	http.Redirect(w, r, "/admin/national-portal", http.StatusSeeOther)
}

func (p *Pages) resync(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionOperate) {
		return
	}
	code := r.PathValue("code")
	if !dossier.ValidCode(code) {
		p.errorPage(w, r, http.StatusNotFound)
		return
	}
	if err := p.h.svc.Resync(r.Context(), code, identity.PrincipalFrom(r.Context()).PersonID); err != nil {
		if errors.Is(err, dossier.ErrNotFound) {
			p.errorPage(w, r, http.StatusNotFound)
			return
		}
		web.SetFlash(w, "nationalportal.ui.resync_failed")
	} else {
		web.SetFlash(w, "nationalportal.ui.resynced")
	}
	http.Redirect(w, r, "/admin/national-portal", http.StatusSeeOther)
}

func (p *Pages) backfill(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionOperate) {
		return
	}
	v := pageView{Since: r.PostFormValue("since"), All: r.PostFormValue("all") != ""}
	since, errs := ParseSince(i18n.FromRequest(r), v.Since, v.All, p.h.svc.cfg.Now())
	if len(errs) > 0 {
		v.Errors = map[string]string{}
		for _, e := range errs {
			v.Errors[e.Field] = e.Message
		}
		p.render(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	if _, err := p.h.svc.StartBackfill(r.Context(), since, identity.PrincipalFrom(r.Context()).PersonID); err != nil {
		if !errors.Is(err, ErrBackfillRunning) {
			p.fail(w, r, err)
			return
		}
		v.Errors = map[string]string{"since": i18n.T(i18n.FromRequest(r), "error.nationalportal.backfill_running")}
		p.render(w, r, http.StatusConflict, v)
		return
	}
	web.SetFlash(w, "nationalportal.ui.backfill.started_ok")
	http.Redirect(w, r, "/admin/national-portal", http.StatusSeeOther)
}

func (p *Pages) cancelBackfill(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionOperate) {
		return
	}
	if _, err := p.h.svc.CancelBackfill(r.Context(), identity.PrincipalFrom(r.Context()).PersonID); err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "nationalportal.ui.backfill.cancelled")
	http.Redirect(w, r, "/admin/national-portal", http.StatusSeeOther)
}
