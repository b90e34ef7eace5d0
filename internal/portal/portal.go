package portal

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

//go:embed templates static
var templateFS embed.FS

// Profiles gives the signed-in applicant's account, to pre-fill the
// application form (name, personal ID, phone, email);
// *identity.Service implements it.
type Profiles interface {
	GetPerson(ctx context.Context, id string) (identity.Person, error)
}

// Shipment is the postal dispatch of a dossier's result, as the applicant
// sees it.
type Shipment struct {
	TrackingCode string
	Status       string // in the applicant's words
	At           time.Time
}

// StoredDoc is a document of the applicant's personal data store that can
// be cited in a new dossier instead of uploading it again (§10).
type StoredDoc struct {
	// Ref is the store's reference, recorded as the component's ReuseRef.
	Ref    string
	Name   string
	Issuer string
	// IssuedAt and ValidTo describe the document; zero when unknown.
	IssuedAt time.Time
	ValidTo  time.Time
	// FileName and Hash name the document's file in the blob store the
	// dossier service uses; Hash empty means the component cites the
	// reference only.
	FileName string
	Hash     string
}

// Documents finds stored documents of owner that may serve as the required
// document docName. The personal data store implements it.
type Documents interface {
	Candidates(ctx context.Context, owner, docName string) ([]StoredDoc, error)
}

// Reports gives the public statistics; *stats.Service implements it.
type Reports interface {
	Report(ctx context.Context, q stats.Query) (*stats.Report, error)
}

// PlaceFunc decides where an online dossier is received: the receiving
// agency and desk (its e-ID starts the dossier code) and the competent
// agency. commune is the agency the applicant chose for a commune-level
// procedure whose competent agency is every commune ("" otherwise).
type PlaceFunc func(ctx context.Context, proc catalog.Procedure, commune string) (dossier.Placement, error)

// Config wires the portal. Dossiers, Catalog, DB, Shell and ErrorPage are
// required; the rest is optional.
type Config struct {
	Dossiers  *dossier.Service
	Catalog   *catalog.Service
	DB        *db.DB
	Shell     *web.Shell
	ErrorPage func(http.ResponseWriter, *http.Request, int)

	// Place decides where online dossiers are received. Nil: at DeskUnit
	// of DeskAgency (the provincial public service center, which may receive
	// any procedure of the province, Decree 118/2025), competent agency the
	// procedure's (or the commune chosen).
	Place      PlaceFunc
	DeskAgency string
	DeskUnit   string

	// Profiles pre-fills the form from the account. Nil: from the sign-in
	// name only.
	Profiles Profiles
	// Documents offers stored documents for reuse. Nil: no reuse choice.
	Documents Documents
	// Stats feeds /statistics. Nil: the page says figures are unavailable.
	Stats Reports
	// PayURL, when set, is the address of the payment start form (POSTed)
	// for fee n of a dossier; an unpaid fee then shows a "Thanh toán"
	// button. Nil: payment is not offered.
	PayURL func(code string, n int) string
	// PostalDelivery offers the result by post on the application form
	// (when the postal carrier is configured).
	PostalDelivery bool
	// Shipments, when set, lists the postal shipments of a dossier's
	// result (tracking code and status) on the applicant's page.
	Shipments func(ctx context.Context, code string) ([]Shipment, error)
	// Now is the clock (drafts' times, statistics' period); nil: time.Now.
	Now func() time.Time
}

// Pages serves the citizen and business portal: online application with
// drafts, "my dossiers", the public lookup, statistics and help.
type Pages struct {
	cfg   Config
	store *store
	pages map[string]*template.Template
}

// NewPages parses the templates into the shell's layout.
func NewPages(cfg Config) (*Pages, error) {
	if cfg.Dossiers == nil || cfg.Catalog == nil || cfg.DB == nil || cfg.Shell == nil || cfg.ErrorPage == nil {
		return nil, errors.New("portal: NewPages needs the dossier and catalog services, the database, the shell and the error page")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Place == nil {
		if cfg.DeskAgency == "" || cfg.DeskUnit == "" {
			return nil, errors.New("portal: set Place, or DeskAgency and DeskUnit")
		}
		cfg.Place = DeskPlace(cfg.DeskAgency, cfg.DeskUnit)
	}
	pages, err := cfg.Shell.Pages(templateFS, "templates/*.html", funcs())
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	return &Pages{cfg: cfg, store: &store{db: cfg.DB, now: cfg.Now}, pages: pages}, nil
}

// DeskPlace receives every online dossier at one desk (unit) of one agency,
// and names the procedure's competent agency, or the commune chosen.
func DeskPlace(agency, unit string) PlaceFunc {
	return func(ctx context.Context, proc catalog.Procedure, commune string) (dossier.Placement, error) {
		pl := dossier.Placement{ReceivingAgency: agency, ReceivingUnit: unit, CompetentAgency: proc.CompetentAgency}
		if pl.CompetentAgency == "" {
			pl.CompetentAgency = commune
		}
		return pl, nil
	}
}

// ApplyURL is the address of the online application form of a procedure,
// for catalog.Pages.ApplyURL.
func ApplyURL(code string) string { return "/apply/" + url.PathEscape(code) }

// Routes registers the pages on mux:
//
//	GET  /apply/{code}                     the application form (signed in), pre-filled from the account
//	POST /apply/{code}                     first save: creates the draft
//	GET  /my/drafts                        the applicant's drafts ("Hồ sơ nháp")
//	GET  /my/drafts/{id}                   a draft's form
//	POST /my/drafts/{id}                   save (op=save | review | autosave); uploads are checked and kept
//	GET  /my/drafts/{id}/review            review before submitting
//	POST /my/drafts/{id}/submit            submit (idempotent: the draft's key)
//	POST /my/drafts/{id}/delete            delete a draft
//	GET  /my/dossiers                      the applicant's dossiers ?after=
//	GET  /my/dossiers/{code}               a dossier: status, timeline, notices, fees, results, actions
//	POST /my/dossiers/{code}/respond       answer a supplement request (uploads)
//	POST /my/dossiers/{code}/withdraw      withdraw, with a reason and a confirmation
//	POST /my/dossiers/{code}/rating        rate the service (12 criteria), once, after the end
//	GET  /my/dossiers/{code}/files/{hash}  a file of one's dossier
//	GET  /my/dossiers/{code}/results/{result}  an e-result
//	GET  /lookup                           public lookup ?code= &phone4=
//	GET  /lookup/result                    the e-result ?code= &phone4= &result=
//	GET  /statistics                       public statistics ?year=
//	GET  /help                             help and frequently asked questions
//	GET  /portal/autosave.js               the optional autosave script
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /apply/{code}", p.applyForm)
	mux.HandleFunc("POST /apply/{code}", p.applyCreate)
	mux.HandleFunc("GET /my/drafts", p.draftList)
	mux.HandleFunc("GET /my/drafts/{id}", p.draftForm)
	mux.HandleFunc("POST /my/drafts/{id}", p.draftSave)
	mux.HandleFunc("GET /my/drafts/{id}/review", p.review)
	mux.HandleFunc("POST /my/drafts/{id}/submit", p.submit)
	mux.HandleFunc("POST /my/drafts/{id}/delete", p.draftDelete)
	mux.HandleFunc("GET /my/dossiers", p.mine)
	mux.HandleFunc("GET /my/dossiers/{code}", p.dossierPage)
	mux.HandleFunc("POST /my/dossiers/{code}/respond", p.respond)
	mux.HandleFunc("POST /my/dossiers/{code}/withdraw", p.withdraw)
	mux.HandleFunc("POST /my/dossiers/{code}/rating", p.rate)
	mux.HandleFunc("GET /my/dossiers/{code}/files/{hash}", p.file)
	mux.HandleFunc("GET /my/dossiers/{code}/results/{result}", p.result)
	mux.HandleFunc("GET /my/dossiers/{code}/forms/{form}", p.form)
	mux.HandleFunc("GET /lookup", p.lookup)
	mux.HandleFunc("GET /lookup/result", p.lookupResult)
	mux.HandleFunc("GET /statistics", p.statistics)
	mux.HandleFunc("GET /help", p.help)
	mux.HandleFunc("GET /portal/autosave.js", p.script)
}

// applicantOnly shows a link to signed-in applicants (not to officials,
// who work in /work, nor to anonymous visitors).
func applicantOnly(u *web.User) bool { return u != nil && u.Kind != string(identity.KindOfficial) }

// NavItems are the shell navigation links the portal adds.
func NavItems() []web.NavItem {
	return []web.NavItem{
		{Path: "/my/dossiers", Label: "portal.nav.mine", Order: 12, Visible: applicantOnly},
		{Path: "/my/drafts", Label: "portal.nav.drafts", Order: 13, Visible: applicantOnly},
		{Path: "/lookup", Label: "portal.nav.lookup", Order: 14},
		{Path: "/statistics", Label: "portal.nav.statistics", Order: 15},
		{Path: "/help", Label: "portal.nav.help", Order: 16},
	}
}

// HomeCards are the tiles the portal adds to a signed-in applicant's home
// page.
func HomeCards() []web.HomeCard {
	return []web.HomeCard{
		{Path: "/procedures", Title: "portal.card.apply", Text: "portal.card.apply.text", Order: 1, Visible: applicantOnly},
		{Path: "/my/dossiers", Title: "portal.card.mine", Text: "portal.card.mine.text", Order: 2, Visible: applicantOnly},
		{Path: "/my/drafts", Title: "portal.card.drafts", Text: "portal.card.drafts.text", Order: 3, Visible: applicantOnly},
		{Path: "/lookup", Title: "portal.card.lookup", Text: "portal.card.lookup.text", Order: 90},
	}
}

// ---- helpers -----------------------------------------------------------------

func principal(r *http.Request) *identity.Principal { return identity.PrincipalFrom(r.Context()) }

// signedIn returns the applicant, or sends an anonymous visitor to sign in
// and come back (to the page itself for a GET, to back for a post).
func (p *Pages) signedIn(w http.ResponseWriter, r *http.Request, back string) (*identity.Principal, bool) {
	pr := principal(r)
	if pr.Authenticated() {
		return pr, true
	}
	next := back
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
	return nil, false
}

// fail answers an error no form can explain: 404, 403, sign-in or 500.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, dossier.ErrUnauthenticated):
		p.signedIn(w, r, "/my/dossiers")
	case errors.Is(err, dossier.ErrNotFound), errors.Is(err, catalog.ErrNotFound), errors.Is(err, ErrDraftNotFound):
		p.cfg.ErrorPage(w, r, http.StatusNotFound)
	case errors.Is(err, dossier.ErrForbidden):
		p.cfg.ErrorPage(w, r, http.StatusForbidden)
	default:
		p.cfg.Shell.Log.ErrorContext(r.Context(), "portal page", "path", r.URL.Path, "err", err)
		p.cfg.ErrorPage(w, r, http.StatusInternalServerError)
	}
}

// errorText is the user-facing message of a refusal of the dossier
// service, in lang.
func errorText(lang i18n.Lang, err error) string {
	var de *dossier.Error
	var ve *dossier.ValidationError
	switch {
	case errors.Is(err, dossier.ErrConflict):
		return i18n.T(lang, "portal.conflict")
	case errors.As(err, &de):
		return de.Message(lang)
	case errors.As(err, &ve) && len(ve.Defects) > 0:
		msgs := make([]string, 0, len(ve.Defects))
		for _, d := range ve.Defects {
			msgs = append(msgs, defectText(lang, d))
		}
		return strings.Join(msgs, " ")
	}
	return i18n.T(lang, "portal.error")
}

// defectText is a defect's message in lang: the service writes Vietnamese;
// English gets the generic text of its code and the document's name.
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

func (p *Pages) render(w http.ResponseWriter, r *http.Request, page string, status int, data any) {
	if v, ok := data.(*dossierView); ok && v.offersPayment() {
		// The fee's "Thanh toán" form posts to the payment module, which
		// redirects to the national payment platform on another origin;
		// browsers apply the policy's form-action to every redirect after a
		// form post, so the site's form-action 'self' would block it.
		identity.RelaxFormAction(w)
	}
	p.cfg.Shell.Render(w, r, p.pages[page], status, data)
}

func funcs() template.FuncMap {
	return template.FuncMap{
		"fid":  func(name string) string { return strings.NewReplacer(".", "_", "[", "_", "]", "").Replace(name) },
		"size": fileSize,
		"short": func(h string) string {
			return h[:min(12, len(h))]
		},
		"pathEscape": url.PathEscape,
		"pct": func(f *float64) string {
			if f == nil {
				return "–"
			}
			return fmt.Sprintf("%.1f%%", *f)
		},
		"share": func(part, whole int64) string {
			if whole == 0 {
				return "–"
			}
			return fmt.Sprintf("%.1f%%", float64(part)*100/float64(whole))
		},
		"list": func(s ...string) []string { return s },
		// input describes a text input of the application form.
		"input": func(v web.View, name, typ, auto string, required bool, hint string) textInput {
			in := textInput{V: v, Name: name, Type: typ, Auto: auto, Req: required, Hint: hint, Label: v.T("portal.label." + name)}
			if av, ok := v.Data.(*applyView); ok {
				in.Value, in.Err = av.V(name), av.Err(name)
			}
			return in
		},
		// step names a timeline step in plain words: the portal's own
		// phrase for the process's usual actions, else the process's name.
		"step": func(v web.View, action, name string) string {
			if key := "portal.timeline." + action; i18n.Has(key) {
				return v.T(key)
			}
			return name
		},
		"statTable": func(v web.View, kind string, rows []statRow) statTable {
			return statTable{V: v, Kind: kind, Rows: rows}
		},
		"seq": func(a, b int) []int {
			var s []int
			for i := a; i <= b; i++ {
				s = append(s, i)
			}
			return s
		},
	}
}

// statTable is one table of the statistics page.
type statTable struct {
	V    web.View
	Kind string
	Rows []statRow
}

// textInput is a labelled input of the application form
// (partials/common.html).
type textInput struct {
	V                                   web.View
	Name, Label, Value, Err, Type, Auto string
	Hint                                string
	Req                                 bool
}

func fileSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func (p *Pages) script(w http.ResponseWriter, r *http.Request) {
	b, err := templateFS.ReadFile("static/autosave.js")
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(b)
}
