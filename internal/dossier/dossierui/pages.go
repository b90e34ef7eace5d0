package dossierui

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
	"github.com/congso/congso/internal/workflow"
)

//go:embed templates
var templateFS embed.FS

// Directory is what the workspace needs to know about people: the
// officials holding a role in a unit (the handlers a division head may
// assign) and a person's name for the timeline. *identity.Service
// implements it.
type Directory interface {
	Grantees(ctx context.Context, role identity.Role, unitID string) ([]identity.Person, error)
	GetPerson(ctx context.Context, id string) (identity.Person, error)
}

// UnitLoad is the open work of one unit for the leaders' overview.
type UnitLoad struct {
	Unit       string
	Open       int
	NearBreach int
	Overdue    int
}

// RelatedSection is what another module knows of a dossier, shown on its
// page: a titled table (titles and headers are message keys or plain text).
type RelatedSection struct {
	ID      string // HTML id of the section
	Title   string
	Headers []string
	Rows    [][]string
}

// Pages serves the officials' workspace. Create it with [NewPages]; the
// exported fields are optional and may be set before [Pages.Routes].
type Pages struct {
	// People lists the handlers a division head may assign and names the
	// actors of the timeline. Nil: the assignee is typed as a person ID and
	// the timeline shows IDs.
	People Directory
	// Now is the clock of the SLA badges; nil means time.Now.
	Now func() time.Time
	// UnitLoads, when set, answers the leaders' overview with an aggregate
	// query (open, near-breach and overdue work per unit). Nil: the page
	// adds up the workflow's inbox counts of each unit's role queues (and,
	// with People, of the unit's officials' assigned work).
	UnitLoads func(ctx context.Context, units []string) ([]UnitLoad, error)
	// Related, when set, adds sections other modules keep about a dossier
	// (notifications sent, payments, postal shipments) to its page.
	Related func(ctx context.Context, code string) ([]RelatedSection, error)
	// Stats, when set, adds the §11 statistics and the 766 index to the
	// reports page; IndexSources give the index the other modules' metrics.
	Stats        *stats.Service
	IndexSources []stats.MetricSource

	svc       *dossier.Service
	cat       *catalog.Service
	wf        *workflow.Service
	shell     *web.Shell
	errorPage func(http.ResponseWriter, *http.Request, int)
	pages     map[string]*template.Template
}

// NewPages parses the page templates into the shell's layout. errorPage
// renders the shell's error page for a status (web.Handlers.ErrorPage).
func NewPages(svc *dossier.Service, cat *catalog.Service, wf *workflow.Service, shell *web.Shell,
	errorPage func(http.ResponseWriter, *http.Request, int)) (*Pages, error) {
	if svc == nil || cat == nil || wf == nil || shell == nil || errorPage == nil {
		return nil, errors.New("dossierui: NewPages needs the dossier, catalog and workflow services, the shell and the error page")
	}
	pages, err := shell.Pages(templateFS, "templates/*.html", funcs())
	if err != nil {
		return nil, fmt.Errorf("dossierui: %w", err)
	}
	return &Pages{svc: svc, cat: cat, wf: wf, shell: shell, errorPage: errorPage, pages: pages}, nil
}

// Routes registers the pages on mux:
//
//	GET  /work                                 inbox ?tab=queue|assigned|near_breach|overdue &after= ; ?code= jumps to a dossier
//	GET  /work/dossiers/{code}                 a dossier with its timeline and the viewer's action forms
//	POST /work/dossiers/{code}/actions         take an action (form of the dossier page)
//	POST /work/dossiers/{code}/files           add a file to a component (digitization)
//	POST /work/dossiers/{code}/results         add a result document
//	GET  /work/dossiers/{code}/files/{hash}    a file of the dossier (inline for preview; ?download=1 to save)
//	GET  /work/dossiers/{code}/forms/{form}.pdf  form 01–06 as PDF, when the dossier's state has it
//	GET  /work/receive                         counter reception: ?q= procedure search, ?procedure= the form
//	POST /work/receive                         check completeness, receive, request supplement or refuse
//	GET  /work/overview                        leaders' overview by unit ?agency=
//	GET  /work/reports                         §11 statistics ?from=&to=&group_by=&agency=&format=csv, and the form 07 form
//	GET  /work/tracking-book                   form 07 of a desk ?unit=&from=&to= (PDF)
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /work", p.inbox)
	mux.HandleFunc("GET /work/dossiers/{code}", p.dossierPage)
	mux.HandleFunc("POST /work/dossiers/{code}/actions", p.act)
	mux.HandleFunc("POST /work/dossiers/{code}/files", p.attach)
	mux.HandleFunc("POST /work/dossiers/{code}/results", p.addResult)
	mux.HandleFunc("GET /work/dossiers/{code}/files/{hash}", p.download)
	mux.HandleFunc("GET /work/dossiers/{code}/forms/{file}", p.form)
	mux.HandleFunc("GET /work/receive", p.receiveForm)
	mux.HandleFunc("POST /work/receive", p.receivePost)
	mux.HandleFunc("GET /work/overview", p.overview)
	mux.HandleFunc("GET /work/reports", p.reports)
	mux.HandleFunc("GET /work/tracking-book", p.trackingBook)
}

// ActionOverview is the identity action that opens the leaders' overview:
// the statistics right (leaders and agency heads; system administrators
// may do everything).
var ActionOverview = identity.ActionReportView

// NavItems are the shell navigation links this package adds, each shown
// to the officials who may use it.
func NavItems() []web.NavItem {
	return []web.NavItem{
		{Path: "/work", Label: "dossierui.nav.inbox", Order: 20,
			Visible: func(u *web.User) bool { return u.Can(string(dossier.ActionView)) }},
		{Path: "/work/receive", Label: "dossierui.nav.receive", Order: 21,
			Visible: func(u *web.User) bool { return u.Can(string(identity.ActionDossierReceive)) }},
		{Path: "/work/overview", Label: "dossierui.nav.overview", Order: 22,
			Visible: func(u *web.User) bool { return u.Can(string(ActionOverview)) }},
		{Path: "/work/reports", Label: "dossierui.nav.reports", Order: 23,
			Visible: func(u *web.User) bool { return u.Can(string(ActionOverview)) || u.Can(string(dossier.ActionView)) }},
	}
}

// HomeCards are the tiles this package adds to a signed-in official's home
// page.
func HomeCards() []web.HomeCard {
	return []web.HomeCard{
		{Path: "/work/receive", Title: "dossierui.card.receive", Text: "dossierui.card.receive.text", Order: 20,
			Visible: func(u *web.User) bool { return u.Can(string(identity.ActionDossierReceive)) }},
		{Path: "/work", Title: "dossierui.card.inbox", Text: "dossierui.card.inbox.text", Order: 21,
			Visible: func(u *web.User) bool { return u.Can(string(dossier.ActionView)) }},
		{Path: "/work/overview", Title: "dossierui.card.overview", Text: "dossierui.card.overview.text", Order: 22,
			Visible: func(u *web.User) bool { return u.Can(string(ActionOverview)) }},
	}
}

func (p *Pages) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func principal(r *http.Request) *identity.Principal { return identity.PrincipalFrom(r.Context()) }

// toLogin sends an anonymous visitor to sign in and come back: to the page
// itself for a GET, to back for a post.
func toLogin(w http.ResponseWriter, r *http.Request, back string) {
	next := back
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// allow checks that the visitor may do action somewhere: anonymous
// visitors are sent to sign in, others without the right get the 403 page.
func (p *Pages) allow(w http.ResponseWriter, r *http.Request, back string, actions ...identity.Action) (*identity.Principal, bool) {
	pr := principal(r)
	if !pr.Authenticated() {
		toLogin(w, r, back)
		return nil, false
	}
	for _, a := range actions {
		if units, all := identity.UnitsFor(pr, a); all || len(units) > 0 {
			return pr, true
		}
	}
	p.errorPage(w, r, http.StatusForbidden)
	return nil, false
}

// fail answers an error no form can explain: sign-in, 403, 404 or 500.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, back string, err error) {
	switch {
	case errors.Is(err, dossier.ErrUnauthenticated):
		toLogin(w, r, back)
	case errors.Is(err, dossier.ErrForbidden):
		p.errorPage(w, r, http.StatusForbidden)
	case errors.Is(err, dossier.ErrNotFound), errors.Is(err, catalog.ErrNotFound):
		p.errorPage(w, r, http.StatusNotFound)
	default:
		p.shell.Log.ErrorContext(r.Context(), "workspace page", "path", r.URL.Path, "err", err)
		p.errorPage(w, r, http.StatusInternalServerError)
	}
}

// newKey returns a fresh idempotency key for a form.
func newKey() string { return "web-" + rand.Text() }

// errorText is the message of a refusal in lang.
func errorText(lang i18n.Lang, err error) string {
	var de *dossier.Error
	var we *workflow.Error
	switch {
	case errors.Is(err, dossier.ErrConflict):
		return i18n.T(lang, "dossierui.conflict")
	case errors.Is(err, dossier.ErrIdempotencyKeyReused):
		return i18n.T(lang, "dossierui.key_reused")
	case errors.As(err, &de):
		return de.Message(lang)
	case errors.As(err, &we):
		return we.Message(lang)
	}
	return i18n.T(lang, "dossierui.error")
}

// defectText is a defect's message in lang: the service writes Vietnamese;
// other languages get the generic text of its code and the document's name.
func defectText(lang i18n.Lang, d dossier.Defect) string {
	if lang == i18n.Vietnamese || d.Code == "" || !i18n.Has("dossier.field."+d.Code) {
		return d.Message
	}
	msg := i18n.T(lang, "dossier.field."+d.Code)
	if d.Document != "" {
		msg = d.Document + ": " + msg
	}
	return msg
}

// sla is an SLA badge: its CSS class (ok, warn, bad or none) and message.
type sla struct {
	Class string
	Key   string
}

// badge classifies a deadline at now: overdue from due on, near breach
// from warn on, on time before. Work whose clock does not run has no due
// date (paused, not yet received).
func badge(now, due, warn time.Time, paused bool) sla {
	switch {
	case paused:
		return sla{"", "dossierui.sla.paused"}
	case due.IsZero():
		return sla{"", "dossierui.sla.none"}
	case !now.Before(due):
		return sla{"bad", "dossierui.sla.overdue"}
	case !warn.IsZero() && !now.Before(warn):
		return sla{"warn", "dossierui.sla.near"}
	}
	return sla{"ok", "dossierui.sla.on_time"}
}

// names resolves unit and person names for one request, caching them.
type names struct {
	ctx    context.Context
	cat    *catalog.Service
	people Directory
	mu     sync.Mutex
	units  map[string]string
	folks  map[string]string
}

func (p *Pages) names(ctx context.Context) *names {
	return &names{ctx: ctx, cat: p.cat, people: p.People, units: map[string]string{}, folks: map[string]string{}}
}

// Unit returns the name of an agency or unit, or its e-ID when unknown.
func (n *names) Unit(eid string) string {
	if eid == "" {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if s, ok := n.units[eid]; ok {
		return s
	}
	s := eid
	if a, err := n.cat.Agency(n.ctx, eid); err == nil && a.Name != "" {
		s = a.Name
	}
	n.units[eid] = s
	return s
}

// Person returns a person's full name, or the ID when unknown.
func (n *names) Person(id string) string {
	if id == "" || id == workflow.SystemActorID || n.people == nil {
		return id
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if s, ok := n.folks[id]; ok {
		return s
	}
	s := id
	if p, err := n.people.GetPerson(n.ctx, id); err == nil && p.FullName != "" {
		s = p.FullName
	}
	n.folks[id] = s
	return s
}

// defs loads process definitions for one request.
type defs struct {
	ctx context.Context
	wf  *workflow.Service
	m   map[string]*workflow.Definition
}

func (p *Pages) defs(ctx context.Context) *defs {
	return &defs{ctx: ctx, wf: p.wf, m: map[string]*workflow.Definition{}}
}

// get returns definition key at version (0: the latest), or nil.
func (d *defs) get(key string, version int) *workflow.Definition {
	k := fmt.Sprintf("%s@%d", key, version)
	if def, ok := d.m[k]; ok {
		return def
	}
	def, err := d.wf.Definition(d.ctx, key, version)
	if err != nil {
		def = nil
	}
	d.m[k] = def
	return def
}

// text picks the language's side of a definition's text.
func text(lang i18n.Lang, t workflow.Text) string {
	if lang == i18n.English && t.EN != "" {
		return t.EN
	}
	return t.VI
}

// stateName is the name of a state of def in lang (the key when unknown).
func stateName(lang i18n.Lang, def *workflow.Definition, state string) string {
	if def != nil {
		if st, ok := def.State(state); ok {
			return text(lang, st.Name)
		}
	}
	return state
}

// actionName is the name of action key taken from state in lang.
func actionName(lang i18n.Lang, def *workflow.Definition, from, key, fallback string) string {
	if def != nil {
		for _, a := range def.Actions(from) {
			if a.Key == key {
				return text(lang, a.Name)
			}
		}
	}
	if fallback != "" && lang == i18n.Vietnamese {
		return fallback
	}
	switch key {
	case workflow.ActionStart:
		return i18n.T(lang, "dossierui.timeline.start")
	case workflow.ActionJoin:
		return i18n.T(lang, "dossierui.timeline.join")
	}
	if fallback != "" {
		return fallback
	}
	return key
}

// inputField is a labelled text input (partials/input.html).
type inputField struct {
	V                                          web.View
	ID, Name, Label, Value, Type, Autocomplete string
	Err                                        string
	Required, Autofocus                        bool
}

func funcs() template.FuncMap {
	return template.FuncMap{
		// fid turns an input name into an element id.
		"fid": func(name string) string { return strings.NewReplacer(".", "_", "[", "_", "]", "").Replace(name) },
		// percent prints a ratio (0–1) as a percentage, num a score.
		"percent": func(f *float64) string { return strings.Replace(fmt.Sprintf("%.1f%%", *f*100), ".", ",", 1) },
		"num":     func(f *float64) string { return strings.Replace(fmt.Sprintf("%.2f", *f), ".", ",", 1) },
		"day": func(d calendar.Date) string {
			if d.IsZero() {
				return ""
			}
			return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year)
		},
		"size": func(n int64) string {
			switch {
			case n >= 1<<20:
				return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
			case n >= 1<<10:
				return fmt.Sprintf("%d KB", n>>10)
			}
			return fmt.Sprintf("%d B", n)
		},
		"isImage": func(mt string) bool { return mt == dossier.MediaJPEG || mt == dossier.MediaPNG },
		"short":   func(h string) string { return h[:min(12, len(h))] },
		"hours": func(sec int64) string {
			return fmt.Sprintf("%d:%02d", sec/3600, (sec%3600)/60)
		},
		"pathEscape": url.PathEscape,
		"list":       func(s ...string) []string { return s },
		// field describes a text input of the reception form.
		"field": func(v web.View, name, value, typ, autocomplete string, required bool) inputField {
			f := inputField{V: v, ID: strings.ReplaceAll(name, ".", "_"), Name: name, Value: value, Type: typ,
				Autocomplete: autocomplete, Required: required, Label: v.T("dossierui.receive.label." + name)}
			if rv, ok := v.Data.(receiveView); ok {
				f.Err = rv.Err(name)
				// A fresh form starts at the applicant's name: the officer
				// types without reaching for the mouse.
				f.Autofocus = name == "applicant.name" && len(rv.Summary) == 0 && !rv.Checked && rv.Problem == ""
			}
			return f
		},
	}
}
