package datastore

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

//go:embed templates
var templateFS embed.FS

// Pages serves the applicant's pages of their own store inside the web
// shell: the list, a document with its versions and reuses, the upload
// form, download, new version, delete (or hide) and restore. Every page
// works as plain HTML forms without JavaScript; the CSRF middleware
// protects the posts.
type Pages struct {
	svc       *Service
	shell     *web.Shell
	errorPage func(http.ResponseWriter, *http.Request, int)
	pages     map[string]*template.Template
}

// NewPages parses the page templates into the shell's layout. errorPage
// renders the shell's error page for a status (web.Handlers.ErrorPage).
func NewPages(svc *Service, shell *web.Shell, errorPage func(http.ResponseWriter, *http.Request, int)) (*Pages, error) {
	pages, err := shell.Pages(templateFS, "templates/*.html", template.FuncMap{
		"day": func(d calendar.Date) string {
			if d.IsZero() {
				return ""
			}
			return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year)
		},
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(web.Location).Format("02/01/2006 15:04")
		},
		"size": formatSize,
		"vdata": func(v web.View, ver Version, today calendar.Date) validityView {
			return validityView{View: v, V: ver, Today: today}
		},
		"formdata": func(v web.View, f *formView) formData { return formData{View: v, Form: f} },
		"field":    newField,
	})
	if err != nil {
		return nil, err
	}
	return &Pages{svc: svc, shell: shell, errorPage: errorPage, pages: pages}, nil
}

// Routes registers the pages on mux:
//
//	GET  /account/documents                    my documents ?kind= &hidden=1 &cursor=
//	GET  /account/documents/new                upload form
//	POST /account/documents                    upload
//	GET  /account/documents/{id}               a document: metadata, versions, reuses, forms
//	GET  /account/documents/{id}/file          download ?version=
//	POST /account/documents/{id}/versions      new version of an upload
//	POST /account/documents/{id}/delete        delete (uploads, copies) or hide (results)
//	POST /account/documents/{id}/restore       show a hidden result again
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /account/documents", p.list)
	mux.HandleFunc("GET /account/documents/new", p.newForm)
	mux.HandleFunc("POST /account/documents", p.upload)
	mux.HandleFunc("GET /account/documents/{id}", p.detail)
	mux.HandleFunc("GET /account/documents/{id}/file", p.download)
	mux.HandleFunc("POST /account/documents/{id}/versions", p.addVersion)
	mux.HandleFunc("POST /account/documents/{id}/delete", p.delete)
	mux.HandleFunc("POST /account/documents/{id}/restore", p.restore)
}

// NavItems are the shell navigation links this module adds: "My
// documents" for every signed-in account.
func NavItems() []web.NavItem {
	return []web.NavItem{{Path: "/account/documents", Label: "datastore.nav", Order: 60,
		Visible: func(u *web.User) bool { return u != nil }}}
}

// HomeCards are the tiles this module adds to a signed-in user's home page.
func HomeCards() []web.HomeCard {
	return []web.HomeCard{{Path: "/account/documents", Title: "datastore.card", Text: "datastore.card.text", Order: 55}}
}

func docURL(id string) string { return "/account/documents/" + url.PathEscape(id) }

// signedIn returns the account, or sends an anonymous visitor to sign in.
func (p *Pages) signedIn(w http.ResponseWriter, r *http.Request, back string) (string, bool) {
	o := owner(r)
	if o != "" {
		return o, true
	}
	next := back
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
	return "", false
}

func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		p.errorPage(w, r, http.StatusNotFound)
	case errors.Is(err, ErrUnauthenticated):
		p.errorPage(w, r, http.StatusForbidden)
	default:
		p.shell.Log.ErrorContext(r.Context(), "datastore page", "path", r.URL.Path, "err", err)
		p.errorPage(w, r, http.StatusInternalServerError)
	}
}

// listView is the data of the list page.
type listView struct {
	Kinds  []Kind
	Kind   Kind
	Hidden bool
	Items  []Document
	Next   string
	Today  calendar.Date
}

func (p *Pages) list(w http.ResponseWriter, r *http.Request) {
	o, ok := p.signedIn(w, r, "/account/documents")
	if !ok {
		return
	}
	q := r.URL.Query()
	k := Kind(q.Get("kind"))
	if !k.Valid() {
		k = ""
	}
	v := listView{Kinds: Kinds(), Kind: k, Hidden: q.Get("hidden") == "1", Today: p.svc.Today()}
	page, err := p.svc.List(r.Context(), o, ListQuery{Kind: k, Hidden: v.Hidden, After: q.Get("cursor")})
	var ve *ValidationError
	if errors.As(err, &ve) { // a stale or edited cursor: start again
		page, err = p.svc.List(r.Context(), o, ListQuery{Kind: k, Hidden: v.Hidden})
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.Items, v.Next = page.Items, page.Next
	p.shell.Render(w, r, p.pages["documents"], http.StatusOK, v)
}

// formView is the data of an upload form (new document or new version).
type formView struct {
	Action  string
	Version bool
	Values  map[string]string
	Errors  map[string]string
	Problem string
	Limit   string
}

func (p *Pages) newForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.signedIn(w, r, "/account/documents/new"); !ok {
		return
	}
	p.shell.Render(w, r, p.pages["document_new"], http.StatusOK, p.form("/account/documents", false))
}

func (p *Pages) form(action string, version bool) *formView {
	return &formView{Action: action, Version: version, Values: map[string]string{}, Errors: map[string]string{},
		Limit: formatSize(p.svc.cfg.MaxUploadBytes)}
}

// detailView is the data of a document's page.
type detailView struct {
	D     *Document
	Form  *formView
	Today calendar.Date
}

func (p *Pages) detail(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	o, ok := p.signedIn(w, r, docURL(id))
	if !ok {
		return
	}
	d, err := p.svc.Get(r.Context(), o, id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.shell.Render(w, r, p.pages["document"], http.StatusOK, detailView{D: d, Form: p.form(docURL(id)+"/versions", true), Today: p.svc.Today()})
}

func (p *Pages) download(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	o, ok := p.signedIn(w, r, docURL(id))
	if !ok {
		return
	}
	v := 0
	if s := r.URL.Query().Get("version"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			p.errorPage(w, r, http.StatusNotFound)
			return
		}
		v = n
	}
	ver, rc, err := p.svc.Open(r.Context(), o, id, v)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	defer rc.Close()
	serveFile(w, ver, rc)
}

func (p *Pages) upload(w http.ResponseWriter, r *http.Request) {
	p.write(w, r, "")
}

func (p *Pages) addVersion(w http.ResponseWriter, r *http.Request) {
	p.write(w, r, r.PathValue("id"))
}

// write handles the upload form (id "") and the new-version form: on
// success it redirects to the document; otherwise it shows the form again
// with each error next to its field.
func (p *Pages) write(w http.ResponseWriter, r *http.Request, id string) {
	back := "/account/documents/new"
	if id != "" {
		back = docURL(id)
	}
	o, ok := p.signedIn(w, r, back)
	if !ok {
		return
	}
	lang := i18n.FromRequest(r)
	in, file, bad, err := p.svc.uploadForm(w, r)
	if file != nil {
		defer file.Close()
	}
	var d *Document
	if err == nil && len(bad) == 0 {
		in.Owner = o
		if id == "" {
			d, err = p.svc.Upload(r.Context(), in)
		} else {
			d, err = p.svc.AddVersion(r.Context(), id, in)
		}
		if err == nil {
			if id == "" {
				web.SetFlash(w, "datastore.flash.uploaded")
			} else {
				web.SetFlash(w, "datastore.flash.version")
			}
			http.Redirect(w, r, docURL(d.ID), http.StatusSeeOther)
			return
		}
	}
	f := p.form(back, id != "")
	if id == "" {
		f.Action = "/account/documents"
	} else {
		f.Action = docURL(id) + "/versions"
	}
	if r.MultipartForm != nil {
		for _, k := range []string{"issued_on", "valid_until", "title", "doc_type", "issuer_name"} {
			if vs := r.MultipartForm.Value[k]; len(vs) > 0 {
				f.Values[k] = vs[0]
			}
		}
	}
	var ve *ValidationError
	status := http.StatusUnprocessableEntity
	for _, b := range bad {
		f.Errors[b.Field] = i18n.T(lang, "datastore.field."+b.Code)
	}
	switch {
	case err == nil:
	case errors.As(err, &ve):
		for _, fe := range ve.Fields {
			if _, seen := f.Errors[fe.Field]; !seen {
				f.Errors[fe.Field] = i18n.T(lang, "datastore.field."+fe.Code, "limit", f.Limit)
			}
		}
		if errors.Is(err, ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
	case errors.Is(err, ErrNotAllowed):
		f.Problem = i18n.T(lang, "error.datastore.not_allowed")
		status = http.StatusConflict
	default:
		p.fail(w, r, err)
		return
	}
	if id == "" {
		p.shell.Render(w, r, p.pages["document_new"], status, f)
		return
	}
	cur, gerr := p.svc.Get(r.Context(), o, id)
	if gerr != nil {
		p.fail(w, r, gerr)
		return
	}
	p.shell.Render(w, r, p.pages["document"], status, detailView{D: cur, Form: f, Today: p.svc.Today()})
}

func (p *Pages) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	o, ok := p.signedIn(w, r, docURL(id))
	if !ok {
		return
	}
	out, err := p.svc.Delete(r.Context(), o, id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if out == Hidden {
		web.SetFlash(w, "datastore.flash.hidden")
	} else {
		web.SetFlash(w, "datastore.flash.deleted")
	}
	http.Redirect(w, r, "/account/documents", http.StatusSeeOther)
}

func (p *Pages) restore(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	o, ok := p.signedIn(w, r, docURL(id))
	if !ok {
		return
	}
	if err := p.svc.Restore(r.Context(), o, id); err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "datastore.flash.restored")
	http.Redirect(w, r, docURL(id), http.StatusSeeOther)
}

// formatSize shows a size in B, KB or MB.
func formatSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 0, 64) + " KB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// validityView is the data of the "validity" partial.
type validityView struct {
	View  web.View
	V     Version
	Today calendar.Date
}

// formData is the data of the "upload_fields" partial.
type formData struct {
	View web.View
	Form *formView
}

// fieldView is one labelled input of the upload form, with its hint and
// its error next to it (aria-describedby).
type fieldView struct {
	View                          web.View
	Name, Type, Label, Value, Err string
	Hint, Describedby             string
	Required                      bool
}

func newField(v web.View, f *formView, name, typ string, required bool) fieldView {
	fv := fieldView{View: v, Name: name, Type: typ, Label: v.T("datastore.form." + name), Value: f.Values[name],
		Err: f.Errors[name], Required: required}
	if k := "datastore.form." + name + "_hint"; i18n.Has(k) {
		fv.Hint = v.T(k)
		fv.Describedby = name + "-hint"
	}
	if fv.Err != "" {
		fv.Describedby = strings.TrimSpace(fv.Describedby + " " + name + "-err")
	}
	return fv
}
