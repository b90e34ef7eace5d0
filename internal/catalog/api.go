package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/platform/i18n"
)

// Actions checked by the handlers; the identity module's action table grants
// them (to catalog administrators and system administrators).
const (
	// ActionEdit allows creating and changing catalog entries and reading
	// procedure drafts.
	ActionEdit = "catalog.edit"
	// ActionImport allows bulk imports.
	ActionImport = "catalog.import"
)

// Authorizer decides whether the caller of a request (found in ctx) may
// perform action on unitID: an agency e-ID, or "" for the whole province
// (administrative units, fields, agencies, imports). Procedure writes ask
// about the procedure's competent agency, so a catalog administrator of one
// agency may maintain that agency's procedures.
type Authorizer interface {
	Can(ctx context.Context, action string, unitID string) bool
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, action, unitID string) bool

// Can calls f.
func (f AuthorizerFunc) Can(ctx context.Context, action, unitID string) bool {
	return f(ctx, action, unitID)
}

// Handlers serves the catalog JSON API. Reads are public; writes need the
// Authorizer's consent (none: every write is refused).
type Handlers struct {
	svc  *Service
	auth Authorizer
}

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *Service, auth Authorizer) *Handlers {
	return &Handlers{svc: svc, auth: auth}
}

// Routes registers the JSON API on mux:
//
//	GET  /api/v1/procedures                       search ?q= &field= &agency= &level= &online= &status= &at= &latest=1 &limit= &cursor=
//	POST /api/v1/procedures                       create a procedure (version 1)                      catalog.edit
//	GET  /api/v1/procedures/{code}                version in force ?at=, or ?version=N
//	PUT  /api/v1/procedures/{code}                save: edit the latest draft or add a version        catalog.edit
//	GET  /api/v1/procedures/{code}/versions       every version
//	POST /api/v1/procedures/{code}/versions/{version}/publish                                         catalog.edit
//	POST /api/v1/procedures/{code}/retire         {"effective_to": "YYYY-MM-DD"}                      catalog.edit
//	GET  /api/v1/admin-units                      ?at= &include_history=1 &level= &parent= &q= &limit= &cursor=
//	GET  /api/v1/admin-units/{code}               with predecessors, and the current units it became ?at=
//	PUT  /api/v1/admin-units/{code}               create or update                                    catalog.edit
//	GET  /api/v1/agencies                         ?at= &include_history=1 &level= &kind= &parent= &admin_unit= &q= &limit= &cursor=
//	GET  /api/v1/agencies/{eid}                   current or former e-ID
//	PUT  /api/v1/agencies/{eid}                   create or update; a new eid in the body renames     catalog.edit
//	GET  /api/v1/fields                           every field
//	PUT  /api/v1/fields/{code}                    create or update                                    catalog.edit
//	POST /api/v1/catalog/import                   ?kind= &format=csv|json &dry_run=1, body: the file  catalog.import
//	GET  /api/v1/catalog/export                   ?kind= &format=csv|json (procedures: catalog.edit)
//
// kind is admin-units, fields, agencies or procedures. Drafts (status=draft,
// latest=1, a draft ?version=) are shown to holders of catalog.edit only.
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/procedures", h.searchProcedures)
	mux.HandleFunc("POST /api/v1/procedures", h.createProcedure)
	mux.HandleFunc("GET /api/v1/procedures/{code}", h.getProcedure)
	mux.HandleFunc("PUT /api/v1/procedures/{code}", h.saveProcedure)
	mux.HandleFunc("GET /api/v1/procedures/{code}/versions", h.procedureVersions)
	mux.HandleFunc("POST /api/v1/procedures/{code}/versions/{version}/publish", h.publishProcedure)
	mux.HandleFunc("POST /api/v1/procedures/{code}/retire", h.retireProcedure)
	mux.HandleFunc("GET /api/v1/admin-units", h.listAdminUnits)
	mux.HandleFunc("GET /api/v1/admin-units/{code}", h.getAdminUnit)
	mux.HandleFunc("PUT /api/v1/admin-units/{code}", h.saveAdminUnit)
	mux.HandleFunc("GET /api/v1/agencies", h.listAgencies)
	mux.HandleFunc("GET /api/v1/agencies/{eid}", h.getAgency)
	mux.HandleFunc("PUT /api/v1/agencies/{eid}", h.saveAgency)
	mux.HandleFunc("GET /api/v1/fields", h.listFields)
	mux.HandleFunc("PUT /api/v1/fields/{code}", h.saveField)
	mux.HandleFunc("POST /api/v1/catalog/import", h.importFile)
	mux.HandleFunc("GET /api/v1/catalog/export", h.exportFile)
}

func (h *Handlers) can(ctx context.Context, action, unitID string) bool {
	return h.auth != nil && h.auth.Can(ctx, action, unitID)
}

// require answers 403 unless the caller may perform action on unitID.
func (h *Handlers) require(w http.ResponseWriter, r *http.Request, action, unitID string) bool {
	if h.can(r.Context(), action, unitID) {
		return true
	}
	httpx.Error(w, r, httpx.Forbidden(""))
	return false
}

// apiError answers with the problem err describes.
func apiError(w http.ResponseWriter, r *http.Request, err error) {
	lang := i18n.FromRequest(r)
	var ve *ValidationError
	var he *httpx.Err
	switch {
	case errors.As(err, &he):
	case errors.As(err, &ve):
		fields := make([]httpx.FieldError, len(ve.Errors))
		for i, f := range ve.Errors {
			fields[i] = httpx.FieldError{Field: f.Field, Code: f.Code, Message: fieldMessageOf(lang, f.Field, f.Code, f.Message)}
		}
		he = httpx.Validation(fields...)
	case errors.Is(err, ErrNotFound):
		he = &httpx.Err{Status: http.StatusNotFound, Code: "catalog.not_found", Err: err}
	case errors.Is(err, ErrConflict):
		he = &httpx.Err{Status: http.StatusConflict, Code: "catalog.conflict", Err: err}
	case errors.Is(err, ErrInvalid):
		he = &httpx.Err{Status: http.StatusBadRequest, Code: "bad_request", Err: err}
	default:
		httpx.Error(w, r, err)
		return
	}
	httpx.Error(w, r, he)
}

// fieldMessage is the detailed Vietnamese reason, or in other languages the
// module's general message for the code.
func fieldMessage(lang i18n.Lang, code, vietnamese string) string {
	if lang == i18n.Vietnamese {
		return vietnamese
	}
	key := "catalog.field." + code
	if !i18n.Has(key) {
		key = "catalog.field.invalid_value"
	}
	return i18n.T(lang, key)
}

// fieldMessageOf is fieldMessage, preferring in other languages a message
// for the code on that field ("catalog.field.invalid_format.phone"; list
// indexes are dropped, so "faq[2].answer" looks up "….faq.answer").
func fieldMessageOf(lang i18n.Lang, field, code, vietnamese string) string {
	if lang != i18n.Vietnamese {
		key := "catalog.field." + code + "." + indexRe.ReplaceAllString(field, "")
		if i18n.Has(key) {
			return i18n.T(lang, key)
		}
	}
	return fieldMessage(lang, code, vietnamese)
}

var indexRe = regexp.MustCompile(`\[[0-9]+\]`)

// query reads the common query parameters, collecting problems.
type query struct {
	r      *http.Request
	fields []httpx.FieldError
}

func (q *query) str(name string) string { return strings.TrimSpace(q.r.URL.Query().Get(name)) }

func (q *query) bool(name string) bool {
	switch q.str(name) {
	case "", "0", "false":
		return false
	case "1", "true":
		return true
	}
	q.fields = append(q.fields, httpx.FieldError{Field: name, Code: "invalid_format"})
	return false
}

func (q *query) date(name string) calendar.Date {
	s := q.str(name)
	if s == "" {
		return calendar.Date{}
	}
	d, err := calendar.ParseDate(s)
	if err != nil {
		q.fields = append(q.fields, httpx.FieldError{Field: name, Code: "invalid_format"})
	}
	return d
}

func (q *query) err() error {
	if len(q.fields) == 0 {
		return nil
	}
	return &httpx.Err{Status: http.StatusBadRequest, Code: "invalid_query", Fields: q.fields}
}

// page reads limit and cursor; the cursor holds the offset of the next page.
func page(r *http.Request) (limit, offset int, err error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return 0, 0, err
	}
	if p.Cursor != "" {
		if err := httpx.DecodeCursor(p.Cursor, &offset); err != nil {
			return 0, 0, err
		}
		if offset < 0 {
			return 0, 0, &httpx.Err{Status: http.StatusBadRequest, Code: "invalid_query",
				Fields: []httpx.FieldError{{Field: "cursor", Code: "invalid_format"}}}
		}
	}
	return p.Limit, offset, nil
}

// list builds a page of a list whose total is known.
func list[T any](items []T, offset, limit, total int) httpx.List[T] {
	l := httpx.List[T]{Items: items, Total: &total}
	if offset+len(items) < total {
		l.Next, _ = httpx.EncodeCursor(offset + limit)
	}
	return l
}

// pageOf cuts one page out of a whole list.
func pageOf[T any](all []T, offset, limit int) httpx.List[T] {
	end := min(offset+limit, len(all))
	if offset > len(all) {
		offset = len(all)
	}
	return list(all[offset:end], offset, limit, len(all))
}

// ---- procedures ----------------------------------------------------------------

func (h *Handlers) searchProcedures(w http.ResponseWriter, r *http.Request) {
	q := &query{r: r}
	pq := ProcedureQuery{
		Text: q.str("q"), FieldCode: q.str("field"), AgencyEID: q.str("agency"), Level: Level(q.str("level")),
		OnlineLevel: OnlineLevel(q.str("online")), Status: Status(q.str("status")), At: q.date("at"), Latest: q.bool("latest"),
	}
	if err := q.err(); err != nil {
		apiError(w, r, err)
		return
	}
	limit, offset, err := page(r)
	if err != nil {
		apiError(w, r, err)
		return
	}
	if (pq.Latest || pq.Status == StatusDraft) && !h.require(w, r, ActionEdit, "") {
		return
	}
	pq.Limit, pq.Offset = limit, offset
	res, err := h.svc.SearchProcedures(r.Context(), pq)
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, list(res.Items, offset, limit, res.Total))
}

// procedureJSON is a procedure version with the names of what it refers to.
type procedureJSON struct {
	Procedure
	FieldName              string `json:"field_name,omitempty"`
	CompetentAgencyName    string `json:"competent_agency_name,omitempty"`
	ImplementingAgencyName string `json:"implementing_agency_name,omitempty"`
	TotalFee               int64  `json:"total_fee"`
}

func (h *Handlers) procedureJSON(ctx context.Context, p Procedure) procedureJSON {
	out := procedureJSON{Procedure: p, TotalFee: p.TotalFee()}
	out.FieldName, out.CompetentAgencyName, out.ImplementingAgencyName = h.svc.Describe(ctx, p)
	return out
}

func (h *Handlers) getProcedure(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	q := &query{r: r}
	at := q.date("at")
	version := 0
	if s := q.str("version"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			q.fields = append(q.fields, httpx.FieldError{Field: "version", Code: "invalid_format"})
		}
		version = v
	}
	if err := q.err(); err != nil {
		apiError(w, r, err)
		return
	}
	var p Procedure
	var err error
	if version > 0 {
		p, err = h.svc.ProcedureVersion(r.Context(), code, version)
		if err == nil && p.Status == StatusDraft && !h.can(r.Context(), ActionEdit, p.CompetentAgency) {
			err = fmt.Errorf("draft of %s: %w", code, ErrNotFound)
		}
	} else {
		p, err = h.svc.Procedure(r.Context(), code, at)
	}
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, h.procedureJSON(r.Context(), p))
}

func (h *Handlers) procedureVersions(w http.ResponseWriter, r *http.Request) {
	vs, err := h.svc.ProcedureVersions(r.Context(), r.PathValue("code"))
	if err != nil {
		apiError(w, r, err)
		return
	}
	out := make([]Procedure, 0, len(vs))
	for _, v := range vs {
		if v.Status == StatusDraft && !h.can(r.Context(), ActionEdit, v.CompetentAgency) {
			continue
		}
		out = append(out, v)
	}
	n := len(out)
	httpx.WriteJSON(w, http.StatusOK, httpx.List[Procedure]{Items: out, Total: &n})
}

func (h *Handlers) createProcedure(w http.ResponseWriter, r *http.Request) {
	var p Procedure
	if err := httpx.DecodeJSON(w, r, &p); err != nil {
		apiError(w, r, err)
		return
	}
	p.Normalize()
	if !h.require(w, r, ActionEdit, p.CompetentAgency) {
		return
	}
	if _, err := h.svc.ProcedureVersions(r.Context(), p.Code); err == nil {
		apiError(w, r, &httpx.Err{Status: http.StatusConflict, Code: "catalog.exists", Args: []any{"code", p.Code}})
		return
	}
	p.Version = 0
	saved, err := h.svc.SaveProcedure(r.Context(), p)
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/procedures/"+saved.Code)
	httpx.WriteJSON(w, http.StatusCreated, h.procedureJSON(r.Context(), saved))
}

func (h *Handlers) saveProcedure(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	var p Procedure
	if err := httpx.DecodeJSON(w, r, &p); err != nil {
		apiError(w, r, err)
		return
	}
	p.Normalize()
	if p.Code == "" {
		p.Code = code
	}
	if p.Code != code {
		apiError(w, r, httpx.Validation(httpx.FieldError{Field: "code", Code: "mismatch",
			Message: fieldMessage(i18n.FromRequest(r), "mismatch", "Mã thủ tục trong nội dung khác mã trên đường dẫn.")}))
		return
	}
	if !h.require(w, r, ActionEdit, p.CompetentAgency) {
		return
	}
	// Moving a procedure away from an agency needs the right on that agency too.
	if vs, err := h.svc.ProcedureVersions(r.Context(), code); err == nil {
		if old := vs[len(vs)-1].CompetentAgency; old != p.CompetentAgency && !h.require(w, r, ActionEdit, old) {
			return
		}
	}
	saved, err := h.svc.SaveProcedure(r.Context(), p)
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, h.procedureJSON(r.Context(), saved))
}

// latestAgency is the competent agency of a procedure's latest version.
func (h *Handlers) latestAgency(ctx context.Context, code string) (string, error) {
	vs, err := h.svc.ProcedureVersions(ctx, code)
	if err != nil {
		return "", err
	}
	return vs[len(vs)-1].CompetentAgency, nil
}

func (h *Handlers) publishProcedure(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	version, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || version < 1 {
		apiError(w, r, httpx.NotFound("catalog.not_found"))
		return
	}
	agency, err := h.latestAgency(r.Context(), code)
	if err != nil {
		apiError(w, r, err)
		return
	}
	if !h.require(w, r, ActionEdit, agency) {
		return
	}
	p, err := h.svc.PublishProcedure(r.Context(), code, version)
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, h.procedureJSON(r.Context(), p))
}

func (h *Handlers) retireProcedure(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	var body struct {
		EffectiveTo calendar.Date `json:"effective_to"`
	}
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		apiError(w, r, err)
		return
	}
	agency, err := h.latestAgency(r.Context(), code)
	if err != nil {
		apiError(w, r, err)
		return
	}
	if !h.require(w, r, ActionEdit, agency) {
		return
	}
	p, err := h.svc.RetireProcedure(r.Context(), code, body.EffectiveTo)
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, h.procedureJSON(r.Context(), p))
}

// ---- administrative units ------------------------------------------------------

func (h *Handlers) listAdminUnits(w http.ResponseWriter, r *http.Request) {
	q := &query{r: r}
	aq := AdminUnitQuery{At: q.date("at"), IncludeHistory: q.bool("include_history"), Level: Level(q.str("level")),
		ParentCode: q.str("parent"), Text: q.str("q")}
	if err := q.err(); err != nil {
		apiError(w, r, err)
		return
	}
	limit, offset, err := page(r)
	if err != nil {
		apiError(w, r, err)
		return
	}
	units, err := h.svc.AdminUnits(r.Context(), aq)
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, pageOf(units, offset, limit))
}

// adminUnitJSON is a unit with its history around it.
type adminUnitJSON struct {
	AdminUnit
	FullName     string      `json:"full_name"`
	InForce      bool        `json:"in_force"`
	Current      []AdminUnit `json:"current"`
	Predecessors []AdminUnit `json:"predecessors"`
}

func (h *Handlers) getAdminUnit(w http.ResponseWriter, r *http.Request) {
	q := &query{r: r}
	at := q.date("at")
	if err := q.err(); err != nil {
		apiError(w, r, err)
		return
	}
	code := r.PathValue("code")
	u, err := h.svc.AdminUnit(r.Context(), code)
	if err != nil {
		apiError(w, r, err)
		return
	}
	out := adminUnitJSON{AdminUnit: u, FullName: u.FullName(), InForce: u.InForce(h.svc.dateOrToday(at))}
	if out.Current, err = h.svc.ResolveAdminUnit(r.Context(), code, at); err != nil {
		apiError(w, r, err)
		return
	}
	if out.Predecessors, err = h.svc.Predecessors(r.Context(), code); err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handlers) saveAdminUnit(w http.ResponseWriter, r *http.Request) {
	if !h.require(w, r, ActionEdit, "") {
		return
	}
	var u AdminUnit
	if err := httpx.DecodeJSON(w, r, &u); err != nil {
		apiError(w, r, err)
		return
	}
	if u.Code == "" {
		u.Code = r.PathValue("code")
	}
	if strings.TrimSpace(u.Code) != r.PathValue("code") {
		apiError(w, r, httpx.Validation(httpx.FieldError{Field: "code", Code: "mismatch",
			Message: fieldMessage(i18n.FromRequest(r), "mismatch", "Mã trong nội dung khác mã trên đường dẫn.")}))
		return
	}
	saved, err := h.svc.SaveAdminUnit(r.Context(), u)
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, saved)
}

// ---- agencies and fields ------------------------------------------------------

func (h *Handlers) listAgencies(w http.ResponseWriter, r *http.Request) {
	q := &query{r: r}
	aq := AgencyQuery{At: q.date("at"), IncludeHistory: q.bool("include_history"), Level: Level(q.str("level")),
		Kind: AgencyKind(q.str("kind")), ParentEID: q.str("parent"), AdminUnitCode: q.str("admin_unit"), Text: q.str("q")}
	if err := q.err(); err != nil {
		apiError(w, r, err)
		return
	}
	limit, offset, err := page(r)
	if err != nil {
		apiError(w, r, err)
		return
	}
	list, err := h.svc.Agencies(r.Context(), aq)
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, pageOf(list, offset, limit))
}

func (h *Handlers) getAgency(w http.ResponseWriter, r *http.Request) {
	a, err := h.svc.Agency(r.Context(), r.PathValue("eid"))
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, a)
}

func (h *Handlers) saveAgency(w http.ResponseWriter, r *http.Request) {
	if !h.require(w, r, ActionEdit, "") {
		return
	}
	var a Agency
	if err := httpx.DecodeJSON(w, r, &a); err != nil {
		apiError(w, r, err)
		return
	}
	eid := r.PathValue("eid")
	if a.EID == "" {
		a.EID = eid
	}
	// A different e-ID in the body renames the agency at the path.
	if a.EID != eid {
		if _, err := h.svc.Agency(r.Context(), eid); err == nil && !slices.Contains(a.FormerEIDs, eid) {
			a.FormerEIDs = append(a.FormerEIDs, eid)
		}
	}
	saved, err := h.svc.SaveAgency(r.Context(), a)
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, saved)
}

func (h *Handlers) listFields(w http.ResponseWriter, r *http.Request) {
	fields, err := h.svc.Fields(r.Context())
	if err != nil {
		apiError(w, r, err)
		return
	}
	n := len(fields)
	httpx.WriteJSON(w, http.StatusOK, httpx.List[Field]{Items: fields, Total: &n})
}

func (h *Handlers) saveField(w http.ResponseWriter, r *http.Request) {
	if !h.require(w, r, ActionEdit, "") {
		return
	}
	var f Field
	if err := httpx.DecodeJSON(w, r, &f); err != nil {
		apiError(w, r, err)
		return
	}
	if f.Code == "" {
		f.Code = r.PathValue("code")
	}
	if strings.TrimSpace(f.Code) != r.PathValue("code") {
		apiError(w, r, httpx.Validation(httpx.FieldError{Field: "code", Code: "mismatch",
			Message: fieldMessage(i18n.FromRequest(r), "mismatch", "Mã trong nội dung khác mã trên đường dẫn.")}))
		return
	}
	saved, err := h.svc.SaveField(r.Context(), f)
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, saved)
}

// ---- import and export -----------------------------------------------------------

func datasetFormat(r *http.Request) (Dataset, Format, error) {
	q := &query{r: r}
	ds, f := Dataset(q.str("kind")), Format(q.str("format"))
	if _, ok := csvColumns[ds]; !ok {
		q.fields = append(q.fields, httpx.FieldError{Field: "kind", Code: "invalid_value"})
	}
	if f != FormatCSV && f != FormatJSON {
		q.fields = append(q.fields, httpx.FieldError{Field: "format", Code: "invalid_value"})
	}
	return ds, f, q.err()
}

// importProblem is the 422 answer to a rejected import: a problem with the
// whole report, whose errors list every bad row.
type importProblem struct {
	httpx.Problem
	Report ImportReport `json:"report"`
}

func (h *Handlers) importFile(w http.ResponseWriter, r *http.Request) {
	if !h.require(w, r, ActionImport, "") {
		return
	}
	ds, f, err := datasetFormat(r)
	q := &query{r: r}
	dry := q.bool("dry_run")
	if err == nil {
		err = q.err()
	}
	if err != nil {
		apiError(w, r, err)
		return
	}
	body := http.MaxBytesReader(w, r.Body, MaxImportBytes)
	rep, err := h.svc.Import(r.Context(), ds, f, body, ImportOptions{DryRun: dry})
	switch {
	case errors.Is(err, ErrImportRejected):
		lang := i18n.FromRequest(r)
		p := importProblem{Report: rep, Problem: httpx.Problem{
			Type: "/problems/catalog.import_rejected", Title: i18n.T(lang, "status.422"), Status: http.StatusUnprocessableEntity,
			Detail:   i18n.T(lang, "error.catalog.import_rejected", "count", len(rep.Errors)),
			Instance: r.URL.Path, Code: "catalog.import_rejected", RequestID: httpx.RequestID(r.Context()),
		}}
		if lang != i18n.Vietnamese {
			for i, e := range p.Report.Errors {
				p.Report.Errors[i].Reason = fieldMessageOf(lang, e.Field, e.Code, e.Reason) + " (" + e.Reason + ")"
			}
		}
		b, _ := json.Marshal(p)
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Content-Language", string(lang))
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write(append(b, '\n'))
	case err != nil:
		apiError(w, r, err)
	default:
		httpx.WriteJSON(w, http.StatusOK, rep)
	}
}

func (h *Handlers) exportFile(w http.ResponseWriter, r *http.Request) {
	ds, f, err := datasetFormat(r)
	if err != nil {
		apiError(w, r, err)
		return
	}
	// The procedures export holds drafts.
	if ds == DatasetProcedures && !h.require(w, r, ActionEdit, "") {
		return
	}
	// Catalogs are a few megabytes at most: build the file first so that a
	// failure is answered with a problem, not a truncated download.
	var buf bytes.Buffer
	if err := h.svc.Export(r.Context(), ds, f, &buf); err != nil {
		apiError(w, r, err)
		return
	}
	ct := "application/json"
	if f == FormatCSV {
		ct = "text/csv; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.%s"`, ds, h.svc.Today(), f))
	w.Write(buf.Bytes())
}
