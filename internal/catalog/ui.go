package catalog

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

//go:embed templates
var templateFS embed.FS

// Pages serves the catalog's HTML pages inside the web shell: the public
// procedure browser (search and detail) and the administrators' pages
// (procedure list, edit form with publish, import with a report of every bad
// row, export links). Every page works as plain HTML forms; the CSRF
// middleware protects the posts.
type Pages struct {
	// ApplyURL, when set, gives the address of the online application form
	// of a procedure (the portal's); the procedure page then shows an "apply
	// online" button for procedures whose online level allows it. Nil: no
	// button.
	ApplyURL func(code string) string

	h         *Handlers
	shell     *web.Shell
	errorPage func(http.ResponseWriter, *http.Request, int)
	pages     map[string]*template.Template
}

// NewPages parses the page templates into the shell's layout. errorPage
// renders the shell's error page for a status (web.Handlers.ErrorPage).
func NewPages(h *Handlers, shell *web.Shell, errorPage func(http.ResponseWriter, *http.Request, int)) (*Pages, error) {
	day := func(d calendar.Date) string {
		if d.IsZero() {
			return ""
		}
		return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year)
	}
	pages, err := shell.Pages(templateFS, "templates/*.html", template.FuncMap{
		// period shows when a version applies; its end date is exclusive, so
		// the last day shown is the day before.
		"period": func(from, to calendar.Date) string {
			if to.IsZero() {
				return day(from)
			}
			return day(from) + " – " + day(to.AddDays(-1))
		},
		// state is the i18n key of where a version stands today.
		"state": func(p Procedure) string {
			today := h.svc.Today()
			switch {
			case p.Status == StatusDraft:
				return "catalog.state.draft"
			case p.EffectiveFrom.After(today):
				return "catalog.state.future"
			case !p.EffectiveTo.IsZero() && !today.Before(p.EffectiveTo):
				if p.Status == StatusRetired {
					return "catalog.state.retired"
				}
				return "catalog.state.ended"
			}
			return "catalog.state.in_force"
		},
		"day":       day,
		"iso":       func(d calendar.Date) string { return d.String() },
		"vnd":       web.FormatVND,
		"list":      func(s ...string) []string { return s },
		"hasPrefix": strings.HasPrefix,
		"docRow":    func(v web.View, i int) formRow { return newFormRow(v, "documents", i) },
		"feeRow":    func(v web.View, i int) formRow { return newFormRow(v, "fees", i) },
		"faqRow":    func(v web.View, i int) formRow { return newFormRow(v, "faq", i) },
		// lines splits a multi-line text (an answer, opening hours) for
		// display, one element per line.
		"lines": func(s string) []string { return strings.Split(s, "\n") },
		// paras splits a plain-text answer into paragraphs (separated by
		// blank lines), each a list of lines.
		"paras":    paragraphs,
		"fileSize": FormatFileSize,
		"add":      func(a, b int) int { return a + b },
		"seq": func(n int) []int {
			s := make([]int, n)
			for i := range s {
				s[i] = i
			}
			return s
		},
	})
	if err != nil {
		return nil, err
	}
	return &Pages{h: h, shell: shell, errorPage: errorPage, pages: pages}, nil
}

// Routes registers the pages on mux:
//
//	GET  /procedures                     public search (q, field, agency, level, online, page); typing mistakes tolerated
//	GET  /procedures/{code}              public detail (?at=; ?version= for editors), with "apply online" when ApplyURL is set
//	GET  /procedures/{code}/forms/{n}    download the blank form of document n of the version in force (?version=; drafts for editors)
//	GET  /admin/catalog                  administrators' procedure list (latest versions, drafts)
//	GET  /admin/catalog/procedures/new   new procedure form
//	GET  /admin/catalog/procedures/{code} edit the latest version (a published one is saved as a new draft)
//	POST /admin/catalog/procedures       save (and publish when asked)
//	POST /admin/catalog/procedures/{code}/versions/{version}/publish
//	POST /admin/catalog/procedures/{code}/versions/{version}/documents/{n}/file         upload a blank form (multipart "file")
//	POST /admin/catalog/procedures/{code}/versions/{version}/documents/{n}/file/delete  remove it
//	GET  /admin/catalog/import           import form and export links
//	POST /admin/catalog/import           upload; shows the report
//	GET  /admin/catalog/units            administrative units (q, level, history, page)
//	GET  /admin/catalog/units/new        new unit form
//	GET  /admin/catalog/units/{code}     a unit with its history, and its edit form
//	POST /admin/catalog/units            create a unit
//	POST /admin/catalog/units/{code}     save a unit
//	GET  /admin/catalog/agencies         agencies and their units as a tree; search results with q
//	GET  /admin/catalog/agencies/new     new agency or unit form (?parent= for a unit)
//	GET  /admin/catalog/agencies/{eid}   an agency with its former e-IDs and units, edit and rename forms
//	POST /admin/catalog/agencies         create an agency or unit
//	POST /admin/catalog/agencies/{eid}   save an agency or unit
//	POST /admin/catalog/agencies/{eid}/rename  new e-ID; the old one stays an alias
//	GET  /admin/catalog/fields           fields
//	GET  /admin/catalog/fields/new       new field form
//	GET  /admin/catalog/fields/{code}    edit a field
//	POST /admin/catalog/fields           create a field
//	POST /admin/catalog/fields/{code}    save a field
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /procedures", p.list)
	mux.HandleFunc("GET /procedures/{code}", p.detail)
	mux.HandleFunc("GET /procedures/{code}/forms/{n}", p.downloadForm)
	mux.HandleFunc("GET /admin/catalog", p.adminList)
	mux.HandleFunc("GET /admin/catalog/procedures/new", p.newForm)
	mux.HandleFunc("GET /admin/catalog/procedures/{code}", p.editForm)
	mux.HandleFunc("POST /admin/catalog/procedures", p.save)
	mux.HandleFunc("POST /admin/catalog/procedures/{code}/versions/{version}/publish", p.publish)
	mux.HandleFunc("POST /admin/catalog/procedures/{code}/versions/{version}/documents/{n}/file", p.uploadForm)
	mux.HandleFunc("POST /admin/catalog/procedures/{code}/versions/{version}/documents/{n}/file/delete", p.removeForm)
	mux.HandleFunc("GET /admin/catalog/import", p.importForm)
	mux.HandleFunc("POST /admin/catalog/import", p.importFile)
	mux.HandleFunc("GET /admin/catalog/units", p.unitList)
	mux.HandleFunc("GET /admin/catalog/units/new", p.unitNew)
	mux.HandleFunc("GET /admin/catalog/units/{code}", p.unitDetail)
	mux.HandleFunc("POST /admin/catalog/units", p.unitSave)
	mux.HandleFunc("POST /admin/catalog/units/{code}", p.unitSave)
	mux.HandleFunc("GET /admin/catalog/agencies", p.agencyList)
	mux.HandleFunc("GET /admin/catalog/agencies/new", p.agencyNew)
	mux.HandleFunc("GET /admin/catalog/agencies/{eid}", p.agencyDetail)
	mux.HandleFunc("POST /admin/catalog/agencies", p.agencySave)
	mux.HandleFunc("POST /admin/catalog/agencies/{eid}", p.agencySave)
	mux.HandleFunc("POST /admin/catalog/agencies/{eid}/rename", p.agencyRename)
	mux.HandleFunc("GET /admin/catalog/fields", p.fieldList)
	mux.HandleFunc("GET /admin/catalog/fields/new", p.fieldNew)
	mux.HandleFunc("GET /admin/catalog/fields/{code}", p.fieldEdit)
	mux.HandleFunc("POST /admin/catalog/fields", p.fieldSave)
	mux.HandleFunc("POST /admin/catalog/fields/{code}", p.fieldSave)
}

// NavItems are the shell navigation links this module adds.
func NavItems() []web.NavItem {
	return []web.NavItem{
		{Path: "/procedures", Label: "catalog.nav.procedures", Order: 10},
		{Path: "/admin/catalog", Label: "catalog.nav.admin", Order: 80,
			Visible: func(u *web.User) bool { return u.Can(ActionEdit) }},
	}
}

// HomeCards are the tiles this module adds to a signed-in user's home page.
func HomeCards() []web.HomeCard {
	return []web.HomeCard{
		{Path: "/admin/catalog", Title: "home.card.catalog", Text: "home.card.catalog.text", Order: 80,
			Visible: func(u *web.User) bool { return u.Can(ActionEdit) }},
		{Path: "/procedures", Title: "home.card.procedures.staff", Text: "home.card.procedures.staff.text", Order: 10},
	}
}

// allow checks action for an administrators' page: an anonymous caller is
// sent to sign in, others without the right get the 403 page.
func (p *Pages) allow(w http.ResponseWriter, r *http.Request, action, unitID string) bool {
	if p.h.can(r.Context(), action, unitID) {
		return true
	}
	if p.shell.CurrentUser == nil || p.shell.CurrentUser(r) == nil {
		next := "/admin/catalog"
		if r.Method == http.MethodGet {
			next = r.URL.RequestURI()
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return false
	}
	p.errorPage(w, r, http.StatusForbidden)
	return false
}

func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		p.errorPage(w, r, http.StatusNotFound)
	default:
		p.shell.Log.ErrorContext(r.Context(), "catalog page", "path", r.URL.Path, "err", err)
		p.errorPage(w, r, http.StatusInternalServerError)
	}
}

// ---- public browser ----------------------------------------------------------

const pageSize = 20

type listView struct {
	Query       ProcedureQuery
	Fields      []Field
	Agencies    []Agency // provincial agencies, for the agency filter
	Levels      []Level
	Online      []OnlineLevel
	Statuses    []Status
	Result      ProcedurePage
	Page, Pages int
	PrevURL     string
	NextURL     string
	Admin       bool
}

func (p *Pages) searchView(r *http.Request, admin bool) (listView, error) {
	q := r.URL.Query()
	v := listView{Levels: []Level{LevelProvince, LevelCommune}, Online: []OnlineLevel{OnlineFull, OnlinePartial, OnlineNone},
		Statuses: []Status{StatusDraft, StatusActive, StatusRetired}, Admin: admin}
	v.Query = ProcedureQuery{Text: strings.TrimSpace(q.Get("q")), FieldCode: q.Get("field"), Level: Level(q.Get("level")),
		OnlineLevel: OnlineLevel(q.Get("online")), Limit: pageSize, Latest: admin, AgencyEID: strings.TrimSpace(q.Get("agency"))}
	if len(v.Query.AgencyEID) > 40 {
		v.Query.AgencyEID = ""
	}
	if admin {
		v.Query.Status = Status(q.Get("status"))
	}
	// Unknown filter values are ignored rather than refused: they come from
	// links and bookmarks, not from an API client.
	if v.Query.Level != LevelProvince && v.Query.Level != LevelCommune {
		v.Query.Level = ""
	}
	switch v.Query.OnlineLevel {
	case OnlineFull, OnlinePartial, OnlineNone:
	default:
		v.Query.OnlineLevel = ""
	}
	switch v.Query.Status {
	case StatusDraft, StatusActive, StatusRetired:
	default:
		v.Query.Status = ""
	}
	if len(v.Query.Text) > 200 {
		v.Query.Text = v.Query.Text[:200]
	}
	v.Page, _ = strconv.Atoi(q.Get("page"))
	v.Page = max(v.Page, 1)
	v.Query.Offset = (v.Page - 1) * pageSize
	var err error
	if v.Fields, err = p.h.svc.Fields(r.Context()); err != nil {
		return v, err
	}
	// Commune procedures are handled by every commune's People's Committee,
	// so the agency filter offers the provincial agencies only (an e-ID in
	// the address still filters by any agency).
	if v.Agencies, err = p.h.svc.Agencies(r.Context(), AgencyQuery{Kind: KindAgency, Level: LevelProvince}); err != nil {
		return v, err
	}
	if v.Result, err = p.h.svc.SearchProcedures(r.Context(), v.Query); err != nil {
		return v, err
	}
	v.Pages = max((v.Result.Total+pageSize-1)/pageSize, 1)
	link := func(page int) string {
		u := url.Values{}
		for k, val := range map[string]string{"q": v.Query.Text, "field": v.Query.FieldCode, "agency": v.Query.AgencyEID, "level": string(v.Query.Level),
			"online": string(v.Query.OnlineLevel), "status": string(v.Query.Status)} {
			if val != "" {
				u.Set(k, val)
			}
		}
		if page > 1 {
			u.Set("page", strconv.Itoa(page))
		}
		if len(u) == 0 {
			return r.URL.Path
		}
		return r.URL.Path + "?" + u.Encode()
	}
	if v.Page > 1 {
		v.PrevURL = link(v.Page - 1)
	}
	if v.Page < v.Pages {
		v.NextURL = link(v.Page + 1)
	}
	return v, nil
}

func (p *Pages) list(w http.ResponseWriter, r *http.Request) {
	v, err := p.searchView(r, false)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.shell.Render(w, r, p.pages["procedure_list"], http.StatusOK, v)
}

// schemaField is one input of a procedure's e-form, for the detail page.
type schemaField struct {
	Name, Title, Type string
	Required          bool
}

// formFields lists the top-level properties of a form schema in the order
// they are written.
func formFields(raw json.RawMessage) []schemaField {
	if len(raw) == 0 {
		return nil
	}
	var top struct {
		Required   []string        `json:"required"`
		Properties json.RawMessage `json:"properties"`
	}
	if json.Unmarshal(raw, &top) != nil || len(top.Properties) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(top.Properties))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out []schemaField
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return out
		}
		name, _ := t.(string)
		var prop struct {
			Title string `json:"title"`
			Type  any    `json:"type"`
		}
		if dec.Decode(&prop) != nil {
			return out
		}
		f := schemaField{Name: name, Title: prop.Title, Type: fmt.Sprint(prop.Type)}
		if f.Title == "" {
			f.Title = name
		}
		for _, req := range top.Required {
			f.Required = f.Required || req == name
		}
		out = append(out, f)
	}
	return out
}

// paragraphs splits plain text into paragraphs at blank lines, each
// paragraph into its lines.
func paragraphs(s string) [][]string {
	var out [][]string
	var cur []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			if cur != nil {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, l)
	}
	if cur != nil {
		out = append(out, cur)
	}
	return out
}

type detailView struct {
	P            Procedure
	FieldName    string
	Competent    string
	Implementing string
	FormFields   []schemaField
	Versions     []Procedure
	Editor       bool
	// ApplyURL is the online application form, when the procedure may be
	// submitted online and the portal is wired; "" otherwise.
	ApplyURL string
	// InForce is true when the version shown applies today (only such a
	// version may be applied for).
	InForce bool
	// Contact is the competent agency when its contact details are known;
	// nil otherwise (and for commune procedures of every commune).
	Contact *Agency
	// Downloads is true when blank forms can be downloaded (a file store
	// is configured); FormQuery is what the download links append to name
	// the version shown ("" for the version in force today).
	Downloads bool
	FormQuery string
}

func (p *Pages) detail(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	code := r.PathValue("code")
	var proc Procedure
	var err error
	if s := r.URL.Query().Get("version"); s != "" {
		n, _ := strconv.Atoi(s)
		proc, err = p.h.svc.ProcedureVersion(ctx, code, n)
		if err == nil && proc.Status == StatusDraft && !p.h.can(ctx, ActionEdit, proc.CompetentAgency) {
			err = ErrNotFound
		}
	} else {
		var at calendar.Date
		if s := r.URL.Query().Get("at"); s != "" {
			at, _ = calendar.ParseDate(s)
		}
		proc, err = p.h.svc.Procedure(ctx, code, at)
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v := detailView{P: proc, FormFields: formFields(proc.FormSchema), Editor: p.h.can(ctx, ActionEdit, proc.CompetentAgency)}
	v.FieldName, v.Competent, v.Implementing = p.h.svc.Describe(ctx, proc)
	v.InForce = proc.Status.Published() && proc.InForce(p.h.svc.Today())
	v.Downloads = p.h.svc.FormsEnabled()
	if !v.InForce {
		v.FormQuery = "?version=" + strconv.Itoa(proc.Version)
	}
	if proc.CompetentAgency != "" {
		if a, err := p.h.svc.Agency(ctx, proc.CompetentAgency); err == nil && a.HasContact() {
			v.Contact = &a
		}
	}
	if p.ApplyURL != nil && v.InForce && proc.OnlineLevel != OnlineNone && proc.OnlineLevel != "" {
		v.ApplyURL = p.ApplyURL(proc.Code)
	}
	versions, err := p.h.svc.ProcedureVersions(ctx, code)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	for _, x := range versions {
		if x.Status.Published() || v.Editor {
			v.Versions = append(v.Versions, x)
		}
	}
	p.shell.Render(w, r, p.pages["procedure_detail"], http.StatusOK, v)
}

// ---- administration ------------------------------------------------------------

func (p *Pages) adminList(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") {
		return
	}
	v, err := p.searchView(r, true)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.shell.Render(w, r, p.pages["admin_procedures"], http.StatusOK, v)
}

// editView is the procedure form. Errors maps a field path ("documents[0].name")
// to its message; Summary lists every problem, so none is hidden.
type editView struct {
	P Procedure
	// FormVersions are the stored versions whose blank form files the page
	// manages: the latest one, and the one in force if it differs.
	FormVersions []Procedure
	// FilesEnabled is false when no file store is configured; FileErrors
	// maps "VERSION-N" to the refusal of an upload for document N.
	FilesEnabled bool
	FileErrors   map[string]string
	MaxFile      int64
	New          bool
	Fields       []Field
	Agencies     []Agency
	Legal        string
	Schema       string
	DocRows      int
	FeeRows      int
	FAQRows      int
	Errors       map[string]string
	Summary      []FieldError
	Versions     []Procedure
}

// Err returns the message for a field, or "".
func (v editView) Err(field string) string { return v.Errors[field] }

// formRow is one row of the documents or fees table, or one question of
// the FAQ, of the edit form.
type formRow struct {
	V      web.View
	I, N   int // index and 1-based number
	D      Document
	F      Fee
	Q      FAQItem
	prefix string
	errs   map[string]string
}

func newFormRow(v web.View, list string, i int) formRow {
	ev, _ := v.Data.(editView)
	r := formRow{V: v, I: i, N: i + 1, prefix: fmt.Sprintf("%s[%d].", list, i), errs: ev.Errors}
	if list == "documents" && i < len(ev.P.Documents) {
		r.D = ev.P.Documents[i]
	}
	if list == "fees" && i < len(ev.P.Fees) {
		r.F = ev.P.Fees[i]
	}
	if list == "faq" && i < len(ev.P.FAQ) {
		r.Q = ev.P.FAQ[i]
	}
	return r
}

// Err returns the message for a column of the row, or "".
func (r formRow) Err(field string) string { return r.errs[r.prefix+field] }

func (p *Pages) renderEdit(w http.ResponseWriter, r *http.Request, status int, v editView) {
	ctx := r.Context()
	var err error
	if v.Fields, err = p.h.svc.Fields(ctx); err != nil {
		p.fail(w, r, err)
		return
	}
	if v.Agencies, err = p.h.svc.Agencies(ctx, AgencyQuery{}); err != nil {
		p.fail(w, r, err)
		return
	}
	if !v.New {
		v.Versions, _ = p.h.svc.ProcedureVersions(ctx, v.P.Code)
		v.FormVersions = formVersions(v.Versions, p.h.svc.Today())
	}
	v.FilesEnabled, v.MaxFile = p.h.svc.FormsEnabled(), p.h.svc.MaxFormBytes()
	v.DocRows = len(v.P.Documents) + 3
	v.FeeRows = len(v.P.Fees) + 2
	// Blank rows to add questions; more appear after each save.
	v.FAQRows = len(v.P.FAQ) + max(3-len(v.P.FAQ), 2)
	if v.Legal == "" {
		v.Legal = strings.Join(v.P.LegalBasis, "\n")
	}
	if v.Schema == "" && len(v.P.FormSchema) > 0 {
		var buf bytes.Buffer
		if json.Indent(&buf, v.P.FormSchema, "", "  ") == nil {
			v.Schema = buf.String()
		} else {
			v.Schema = string(v.P.FormSchema)
		}
	}
	p.shell.Render(w, r, p.pages["admin_procedure_edit"], status, v)
}

func (p *Pages) newForm(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionEdit, "") {
		return
	}
	p.renderEdit(w, r, http.StatusOK, editView{New: true, P: Procedure{Level: LevelProvince, OnlineLevel: OnlinePartial,
		Duration: Duration{Unit: WorkingDays}, EffectiveFrom: p.h.svc.Today(), Status: StatusDraft, ProcessKey: "one-stop"}})
}

func (p *Pages) editForm(w http.ResponseWriter, r *http.Request) {
	vs, err := p.h.svc.ProcedureVersions(r.Context(), r.PathValue("code"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	latest := vs[len(vs)-1]
	if !p.allow(w, r, ActionEdit, latest.CompetentAgency) {
		return
	}
	if latest.Status.Published() {
		// Editing a published version prepares the next one.
		latest.Version, latest.Status, latest.EffectiveTo = 0, StatusDraft, calendar.Date{}
	}
	p.renderEdit(w, r, http.StatusOK, editView{P: latest})
}

// procedureFromForm reads the edit form. Problems reading numbers and dates
// are returned as field errors, merged with validation's.
func procedureFromForm(r *http.Request) (Procedure, []FieldError) {
	f := r.PostForm
	var bad []FieldError
	num := func(name string) int {
		s := strings.TrimSpace(f.Get(name))
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(strings.ReplaceAll(s, ".", ""))
		if err != nil {
			bad = append(bad, FieldError{Field: name, Code: CodeInvalidValue, Message: fmt.Sprintf("%q không phải số nguyên.", clip(s, 30))})
		}
		return n
	}
	date := func(name string) calendar.Date {
		s := strings.TrimSpace(f.Get(name))
		if s == "" {
			return calendar.Date{}
		}
		d, err := calendar.ParseDate(s)
		if err != nil {
			bad = append(bad, FieldError{Field: name, Code: CodeInvalidDate, Message: "Ngày không hợp lệ (YYYY-MM-DD)."})
		}
		return d
	}
	pr := Procedure{
		Code: f.Get("code"), Version: num("version"), Name: f.Get("name"), FieldCode: f.Get("field_code"),
		Level: Level(f.Get("level")), CompetentAgency: f.Get("competent_agency"), ImplementingAgency: f.Get("implementing_agency"),
		OnlineLevel: OnlineLevel(f.Get("online_level")), Duration: Duration{Value: num("duration.value"), Unit: DurationUnit(f.Get("duration.unit"))},
		ProcessKey: f.Get("process_key"), EffectiveFrom: date("effective_from"), Status: StatusDraft,
		LegalBasis: strings.Split(strings.ReplaceAll(f.Get("legal_basis"), "\r\n", "\n"), "\n"),
	}
	if s := strings.TrimSpace(f.Get("form_schema")); s != "" {
		pr.FormSchema = json.RawMessage(s)
	}
	for i := 0; i < 200; i++ {
		prefix := fmt.Sprintf("documents[%d].", i)
		if _, ok := f[prefix+"name"]; !ok {
			break
		}
		if strings.TrimSpace(f.Get(prefix+"name")) == "" {
			continue // a blank row of the form
		}
		pr.Documents = append(pr.Documents, Document{Name: f.Get(prefix + "name"), Form: DocumentForm(f.Get(prefix + "form")),
			Quantity: num(prefix + "quantity"), Template: f.Get(prefix + "template"), Required: f.Get(prefix+"required") == "1"})
	}
	for i := 0; i < 100; i++ {
		prefix := fmt.Sprintf("fees[%d].", i)
		if _, ok := f[prefix+"name"]; !ok {
			break
		}
		if strings.TrimSpace(f.Get(prefix+"name")) == "" {
			continue
		}
		pr.Fees = append(pr.Fees, Fee{Name: f.Get(prefix + "name"), Amount: int64(num(prefix + "amount")), PaidAt: FeeStage(f.Get(prefix + "paid_at"))})
	}
	for i := 0; i < 2*MaxFAQItems; i++ {
		prefix := fmt.Sprintf("faq[%d].", i)
		_, hasQ := f[prefix+"question"]
		_, hasA := f[prefix+"answer"]
		if !hasQ && !hasA {
			break
		}
		q := FAQItem{Question: f.Get(prefix + "question"), Answer: f.Get(prefix + "answer")}
		if strings.TrimSpace(q.Question) == "" && strings.TrimSpace(q.Answer) == "" {
			continue // a blank row of the form
		}
		pr.FAQ = append(pr.FAQ, q)
	}
	if f.Get("publish") == "1" {
		pr.Status = StatusActive
	}
	return pr, bad
}

func (p *Pages) save(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 2<<20)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest)
		return
	}
	pr, bad := procedureFromForm(r)
	pr.Normalize()
	isNew := r.PostForm.Get("new") == "1"
	if !p.allow(w, r, ActionEdit, pr.CompetentAgency) {
		return
	}
	v := editView{P: pr, New: isNew, Legal: r.PostForm.Get("legal_basis"), Schema: r.PostForm.Get("form_schema")}
	var err error
	if isNew {
		if _, e := p.h.svc.ProcedureVersions(r.Context(), pr.Code); e == nil {
			err = &ValidationError{Errors: []FieldError{{Field: "code", Code: CodeDuplicate, Message: fmt.Sprintf("Đã có thủ tục mã %s.", pr.Code)}}}
		}
	} else if vs, e := p.h.svc.ProcedureVersions(r.Context(), pr.Code); e == nil {
		if old := vs[len(vs)-1].CompetentAgency; old != pr.CompetentAgency && !p.allow(w, r, ActionEdit, old) {
			return
		}
	}
	var saved Procedure
	if err == nil && len(bad) == 0 {
		saved, err = p.h.svc.SaveProcedure(r.Context(), pr)
	}
	var ve *ValidationError
	if len(bad) > 0 || errors.As(err, &ve) {
		v.Errors = map[string]string{}
		lang := i18n.FromRequest(r)
		all := bad
		if ve != nil {
			all = append(all, ve.Errors...)
		}
		for _, e := range all {
			e.Message = fieldMessageOf(lang, e.Field, e.Code, e.Message)
			if _, seen := v.Errors[e.Field]; !seen {
				v.Errors[e.Field] = e.Message
			}
			v.Summary = append(v.Summary, e)
		}
		p.renderEdit(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "catalog.ui.saved")
	http.Redirect(w, r, "/admin/catalog/procedures/"+url.PathEscape(saved.Code)+"?saved="+strconv.Itoa(saved.Version), http.StatusSeeOther)
}

func (p *Pages) publish(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	version, _ := strconv.Atoi(r.PathValue("version"))
	vs, err := p.h.svc.ProcedureVersions(r.Context(), code)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if !p.allow(w, r, ActionEdit, vs[len(vs)-1].CompetentAgency) {
		return
	}
	_, err = p.h.svc.PublishProcedure(r.Context(), code, version)
	var ve *ValidationError
	switch {
	case errors.As(err, &ve), errors.Is(err, ErrConflict):
		web.SetFlash(w, "catalog.ui.publish_failed")
		http.Redirect(w, r, "/admin/catalog/procedures/"+url.PathEscape(code), http.StatusSeeOther)
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "catalog.ui.published")
	http.Redirect(w, r, "/procedures/"+url.PathEscape(code), http.StatusSeeOther)
}

type importView struct {
	Datasets []Dataset
	Dataset  Dataset
	Format   Format
	DryRun   bool
	Report   *ImportReport
	Error    string
}

func (p *Pages) importForm(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionImport, "") {
		return
	}
	p.shell.Render(w, r, p.pages["admin_import"], http.StatusOK, importView{Datasets: Datasets(), Dataset: DatasetProcedures, Format: FormatCSV, DryRun: true})
}

func (p *Pages) importFile(w http.ResponseWriter, r *http.Request) {
	if !p.allow(w, r, ActionImport, "") {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxImportBytes+1<<20)
	v := importView{Datasets: Datasets(), Dataset: Dataset(r.FormValue("kind")), Format: Format(r.FormValue("format")),
		DryRun: r.FormValue("dry_run") == "1"}
	lang := i18n.FromRequest(r)
	file, _, err := r.FormFile("file")
	if err != nil {
		v.Error = i18n.T(lang, "catalog.ui.import.no_file")
		p.shell.Render(w, r, p.pages["admin_import"], http.StatusBadRequest, v)
		return
	}
	defer file.Close()
	rep, err := p.h.svc.Import(r.Context(), v.Dataset, v.Format, io.Reader(file), ImportOptions{DryRun: v.DryRun})
	status := http.StatusOK
	switch {
	case errors.Is(err, ErrImportRejected):
		status = http.StatusUnprocessableEntity
	case errors.Is(err, ErrInvalid):
		v.Error = i18n.T(lang, "catalog.ui.import.bad_kind")
		p.shell.Render(w, r, p.pages["admin_import"], http.StatusBadRequest, v)
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	v.Report = &rep
	p.shell.Render(w, r, p.pages["admin_import"], status, v)
}
