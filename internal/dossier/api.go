package dossier

import (
	_ "embed"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/workflow"
)

//go:embed openapi.json
var openapiFragment []byte

// OpenAPIFragment returns the OpenAPI 3.1 description of the routes of
// [Handlers.Routes]: "paths", "tags" and "components.schemas" to merge into
// the application's document (it refers to the application's shared
// Problem, Limit, Cursor and CSRFToken components).
func OpenAPIFragment() []byte { return append([]byte(nil), openapiFragment...) }

// Handlers serves the dossier JSON API. The caller is the principal the
// identity middleware put in the request context.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// IdempotencyHeader is the request header carrying an idempotency key.
const IdempotencyHeader = "Idempotency-Key"

// ReplayedHeader is set to "true" on the answer to a retried request (the
// stored answer of the first one).
const ReplayedHeader = "Idempotent-Replayed"

// Routes registers the JSON API on mux:
//
//	POST /api/v1/dossiers/check                         completeness check (§3 step 1), every defect listed
//	POST /api/v1/dossiers                               receive (§3 step 2) a new or recorded dossier; Idempotency-Key
//	POST /api/v1/dossiers/submissions                   record an online/postal dossier before reception; Idempotency-Key
//	POST /api/v1/dossiers/refusals                      refuse to receive (form 03); Idempotency-Key
//	POST /api/v1/dossiers/files                         upload a file (multipart "file"); answers its hash
//	GET  /api/v1/dossiers                               list ?q= &unit= &procedure= &status= (comma-separated) &limit= &cursor=
//	GET  /api/v1/dossiers/inbox                         the caller's work ?kind=queue|assigned|near_breach|overdue &limit= &cursor=
//	GET  /api/v1/dossiers/{code}                        the dossier with timeline, pauses and the caller's actions
//	POST /api/v1/dossiers/{code}/supplement-request     supplement request (form 02); Idempotency-Key
//	POST /api/v1/dossiers/{code}/actions                an action of the process; Idempotency-Key
//	POST /api/v1/dossiers/{code}/components/{n}/files   add a file (multipart "file", digitized=true); answers its hash
//	GET  /api/v1/dossiers/{code}/components/{n}/files   every version of the component's files
//	GET  /api/v1/dossiers/{code}/files/{hash}           download a file of the dossier
//	GET  /api/v1/dossiers/{code}/forms/{form}           form 01–06 as PDF (409 if the dossier's state has none)
//	POST /api/v1/dossiers/{code}/results                add a result (multipart fields + "file", or JSON with file_hash)
//	GET  /api/v1/dossiers/{code}/results                every version of the results
//	GET  /api/v1/lookup?code=&phone4=                   public lookup (§9), no personal data
//	GET  /api/v1/units/{unit}/tracking-book?from=&to=  form 07 of a desk for a period (PDF)
//	GET  /api/v1/lookup/result?code=&phone4=&result_code=  the applicant's e-result
//
// and the applicant's own (the signed-in person's portal dossiers):
//
//	GET  /api/v1/me/dossiers                            my dossiers, newest first
//	GET  /api/v1/me/dossiers/{code}                     one, as the applicant sees it
//	GET  /api/v1/me/dossiers/{code}/files/{hash}        a file I handed in, or an issued result
//	POST /api/v1/me/dossiers/{code}/supplement          answer a supplement request (Idempotency-Key)
//	POST /api/v1/me/dossiers/{code}/withdrawal          withdraw (Idempotency-Key)
//	GET  /api/v1/me/dossiers/{code}/rating              my rating
//	POST /api/v1/me/dossiers/{code}/rating              rate a finished dossier, once (§9)
//	GET  /api/v1/rating-criteria                        the 12 criteria
func (h *Handlers) Routes(mux *http.ServeMux) {
	for _, rt := range append(h.routes(), h.meRoutes()...) {
		mux.HandleFunc(rt.pattern, rt.handler)
	}
}

type route struct {
	pattern string
	handler http.HandlerFunc
}

func (h *Handlers) routes() []route {
	return []route{
		{"POST /api/v1/dossiers/check", h.check},
		{"POST /api/v1/dossiers", h.receive},
		{"POST /api/v1/dossiers/submissions", h.submit},
		{"POST /api/v1/dossiers/refusals", h.refuse},
		{"POST /api/v1/dossiers/files", h.putFile},
		{"GET /api/v1/dossiers", h.list},
		{"GET /api/v1/dossiers/inbox", h.inbox},
		{"GET /api/v1/dossiers/{code}", h.get},
		{"POST /api/v1/dossiers/{code}/supplement-request", h.supplementRequest},
		{"POST /api/v1/dossiers/{code}/actions", h.act},
		{"POST /api/v1/dossiers/{code}/components/{n}/files", h.attach},
		{"GET /api/v1/dossiers/{code}/components/{n}/files", h.componentFiles},
		{"GET /api/v1/dossiers/{code}/files/{hash}", h.download},
		{"GET /api/v1/dossiers/{code}/forms/{form}", h.form},
		{"POST /api/v1/dossiers/{code}/results", h.addResult},
		{"GET /api/v1/dossiers/{code}/results", h.results},
		{"GET /api/v1/lookup", h.lookup},
		{"GET /api/v1/units/{unit}/tracking-book", h.trackingBook},
		{"GET /api/v1/lookup/result", h.lookupResult},
	}
}

func principal(r *http.Request) *identity.Principal { return identity.PrincipalFrom(r.Context()) }

// apiError answers with the problem err describes.
func apiError(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, problemOf(i18n.FromRequest(r), err))
}

// problemOf maps the module's errors to problems: validation 422 listing
// every field, wrong role 403 with the reason, action not possible in the
// state or stale version 409, unknown dossier 404.
func problemOf(lang i18n.Lang, err error) error {
	var ve *ValidationError
	var de *Error
	var he *httpx.Err
	switch {
	case errors.As(err, &he):
		return err
	case errors.As(err, &ve):
		fields := make([]httpx.FieldError, len(ve.Defects))
		for i, d := range ve.Defects {
			msg := d.Message
			if lang != i18n.Vietnamese {
				msg = i18n.T(lang, "dossier.field."+d.Code)
			}
			fields[i] = httpx.FieldError{Field: d.Field, Code: d.Code, Message: msg}
		}
		e := httpx.Validation(fields...)
		e.Code, e.Key = "dossier.invalid", "dossier.invalid"
		if ve.Incomplete {
			e.Code, e.Key = "dossier.incomplete", "dossier.incomplete"
		}
		e.Err = err
		return e
	case errors.As(err, &de):
		status := http.StatusUnprocessableEntity
		switch {
		case errors.Is(de, ErrNotFound), errors.Is(de, ErrLookupFailed):
			status = http.StatusNotFound
		case errors.Is(de, ErrUnauthenticated):
			status = http.StatusUnauthorized
		case errors.Is(de, ErrForbidden):
			status = http.StatusForbidden
		case errors.Is(de, ErrConflict), errors.Is(de, ErrInvalidAction):
			status = http.StatusConflict
		case errors.Is(de, ErrTooLarge):
			status = http.StatusRequestEntityTooLarge
		}
		e := &httpx.Err{Status: status, Code: de.Code, Key: de.Code, Args: de.Args, Err: err}
		if errors.Is(de, ErrRejectedFile) || errors.Is(de, ErrTooLarge) {
			e.Fields = []httpx.FieldError{{Field: "file", Code: de.Code, Message: de.Message(lang)}}
		}
		return e
	}
	return err
}

func idemKey(r *http.Request) string { return strings.TrimSpace(r.Header.Get(IdempotencyHeader)) }

// writeResult answers a create or an action; a replayed answer keeps the
// status of the first one and says it is a replay.
func writeResult(w http.ResponseWriter, status int, replayed bool, v any) {
	if replayed {
		w.Header().Set(ReplayedHeader, "true")
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, status, v)
}

func (h *Handlers) check(w http.ResponseWriter, r *http.Request) {
	var in CheckInput
	if err := httpx.DecodeJSON(w, r, &in.Submission); err != nil {
		apiError(w, r, err)
		return
	}
	p := principal(r)
	if units, all := identity.UnitsFor(p, identity.ActionDossierReceive); !all && len(units) == 0 {
		apiError(w, r, require(r.Context(), p, nil, identity.ActionDossierReceive))
		return
	}
	in.Actor = p
	rep, err := h.svc.Check(r.Context(), in)
	if err != nil {
		apiError(w, r, err)
		return
	}
	if lang := i18n.FromRequest(r); lang != i18n.Vietnamese {
		for i := range rep.Defects {
			rep.Defects[i].Message = i18n.T(lang, "dossier.field."+rep.Defects[i].Code)
		}
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
}

func (h *Handlers) receive(w http.ResponseWriter, r *http.Request) {
	var in ReceiveInput
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		apiError(w, r, err)
		return
	}
	in.Actor, in.IdempotencyKey = principal(r), idemKey(r)
	rc, err := h.svc.Receive(r.Context(), in)
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/dossiers/"+rc.Code)
	writeResult(w, http.StatusCreated, rc.Replayed, rc)
}

func (h *Handlers) submit(w http.ResponseWriter, r *http.Request) {
	var in SubmitInput
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		apiError(w, r, err)
		return
	}
	in.Actor, in.IdempotencyKey = principal(r), idemKey(r)
	if !in.Actor.Authenticated() {
		apiError(w, r, refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in"))
		return
	}
	rc, err := h.svc.Submit(r.Context(), in)
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/dossiers/"+rc.Code)
	writeResult(w, http.StatusCreated, rc.Replayed, rc)
}

func (h *Handlers) refuse(w http.ResponseWriter, r *http.Request) {
	var in RefuseInput
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		apiError(w, r, err)
		return
	}
	in.Actor, in.IdempotencyKey = principal(r), idemKey(r)
	res, err := h.svc.Refuse(r.Context(), in)
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/dossiers/"+res.Code)
	writeResult(w, http.StatusCreated, res.Replayed, res)
}

func (h *Handlers) supplementRequest(w http.ResponseWriter, r *http.Request) {
	var in SupplementRequestInput
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		apiError(w, r, err)
		return
	}
	in.DossierCode, in.Actor, in.IdempotencyKey = r.PathValue("code"), principal(r), idemKey(r)
	res, err := h.svc.RequestSupplement(r.Context(), in)
	if err != nil {
		apiError(w, r, err)
		return
	}
	writeResult(w, http.StatusOK, res.Replayed, res)
}

func (h *Handlers) act(w http.ResponseWriter, r *http.Request) {
	var in ActInput
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		apiError(w, r, err)
		return
	}
	in.DossierCode, in.Actor, in.IdempotencyKey = r.PathValue("code"), principal(r), idemKey(r)
	res, err := h.svc.Act(r.Context(), in)
	if err != nil {
		apiError(w, r, err)
		return
	}
	writeResult(w, http.StatusOK, res.Replayed, res)
}

func (h *Handlers) get(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.Get(r.Context(), r.PathValue("code"), principal(r))
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, d)
}

func (h *Handlers) list(w http.ResponseWriter, r *http.Request) {
	pg, err := httpx.ParsePage(r)
	if err != nil {
		apiError(w, r, err)
		return
	}
	q := r.URL.Query()
	lq := ListQuery{Actor: principal(r), Unit: q.Get("unit"), Text: q.Get("q"), ProcedureCode: q.Get("procedure"),
		Limit: pg.Limit, After: pg.Cursor}
	for _, st := range strings.Split(q.Get("status"), ",") {
		if st = strings.TrimSpace(st); st != "" {
			lq.Statuses = append(lq.Statuses, Status(st))
		}
	}
	page, err := h.svc.List(r.Context(), lq)
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, httpx.List[Summary]{Items: page.Items, Next: page.Next})
}

// workItemJSON is a work item of an inbox.
type workItemJSON struct {
	Code      string    `json:"code"`
	Branch    string    `json:"branch,omitempty"`
	State     string    `json:"state"`
	Status    int       `json:"national_status"`
	Role      string    `json:"role"`
	Unit      string    `json:"unit"`
	Assignee  string    `json:"assignee,omitempty"`
	DueAt     time.Time `json:"due_at,omitzero"`
	WarnAt    time.Time `json:"warn_at,omitzero"`
	EnteredAt time.Time `json:"entered_at"`
}

func (h *Handlers) inbox(w http.ResponseWriter, r *http.Request) {
	pg, err := httpx.ParsePage(r)
	if err != nil {
		apiError(w, r, err)
		return
	}
	kind := workflow.InboxKind(r.URL.Query().Get("kind"))
	switch kind {
	case "":
		kind = workflow.InboxQueue
	case workflow.InboxQueue, workflow.InboxAssigned, workflow.InboxNearBreach, workflow.InboxOverdue:
	default:
		apiError(w, r, &httpx.Err{Status: http.StatusBadRequest, Code: "invalid_query",
			Fields: []httpx.FieldError{{Field: "kind", Code: "invalid_format"}}})
		return
	}
	page, err := h.svc.Inbox(r.Context(), principal(r), workflow.InboxQuery{Kind: kind, Limit: pg.Limit, After: pg.Cursor})
	if err != nil {
		apiError(w, r, err)
		return
	}
	items := make([]workItemJSON, len(page.Items))
	for i, it := range page.Items {
		items[i] = workItemJSON{Code: it.Ref, Branch: it.Branch, State: it.State, Status: it.Status, Role: it.Role, Unit: it.Unit,
			Assignee: it.Assignee, DueAt: it.DueAt, WarnAt: it.WarnAt, EnteredAt: it.EnteredAt}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, httpx.List[workItemJSON]{Items: items, Next: page.Next})
}

// uploadLimit bounds a multipart upload body: the file and a few fields.
func (h *Handlers) uploadLimit() int64 { return h.svc.cfg.MaxUploadBytes + 64<<10 }

// multipartFile reads the text fields that precede the part named "file"
// and returns that part (nil if none). Fields after the file are ignored.
func (h *Handlers) multipartFile(w http.ResponseWriter, r *http.Request) (fields map[string]string, name string, body io.Reader, err error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return nil, "", nil, &httpx.Err{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Args: []any{"expected", "multipart/form-data"}}
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.uploadLimit())
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", nil, httpx.BadRequest("").Wrap(err)
	}
	fields = map[string]string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return fields, "", nil, nil
		}
		if err != nil {
			return nil, "", nil, uploadReadError(err)
		}
		if part.FormName() == "file" {
			return fields, part.FileName(), part, nil
		}
		v, err := io.ReadAll(io.LimitReader(part, 8<<10))
		if err != nil {
			return nil, "", nil, uploadReadError(err)
		}
		fields[part.FormName()] = string(v)
	}
}

func uploadReadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return err
	}
	return httpx.BadRequest("").Wrap(err)
}

func truthy(s string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	return err == nil && b
}

// fileJSON answers an upload: the file and its SHA-256, echoed for the
// client to compare with its own.
func (h *Handlers) putFile(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ru, rall := identity.UnitsFor(p, identity.ActionDossierReceive)
	pu, pall := identity.UnitsFor(p, identity.ActionDossierProcess)
	iu, iall := identity.UnitsFor(p, identity.ActionDossierIssue)
	if !(rall || pall || iall || len(ru)+len(pu)+len(iu) > 0) {
		apiError(w, r, require(r.Context(), p, nil, identity.ActionDossierReceive))
		return
	}
	_, name, body, err := h.multipartFile(w, r)
	if err == nil && body == nil {
		err = httpx.Validation(httpx.FieldError{Field: "file", Code: "required"})
	}
	if err != nil {
		apiError(w, r, err)
		return
	}
	f, err := h.svc.PutFile(r.Context(), name, body)
	if err != nil {
		apiError(w, r, uploadErr(err))
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, f)
}

// uploadErr reports a body cut by the size limit as the module's too-large
// refusal.
func uploadErr(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return refuse(ErrTooLarge, "dossier.upload.too_large", "file too large", "limit", formatSize(tooLarge.Limit))
	}
	return err
}

func (h *Handlers) attach(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		apiError(w, r, refuse(ErrNotFound, "dossier.component_not_found", "bad component", "n", r.PathValue("n")))
		return
	}
	fields, name, body, err := h.multipartFile(w, r)
	if err == nil && body == nil {
		err = httpx.Validation(httpx.FieldError{Field: "file", Code: "required"})
	}
	if err != nil {
		apiError(w, r, err)
		return
	}
	digitized := truthy(fields["digitized"]) || truthy(r.URL.Query().Get("digitized"))
	f, err := h.svc.AttachFile(r.Context(), AttachInput{DossierCode: r.PathValue("code"), Component: n, Name: name, Body: body,
		Digitized: digitized, Actor: principal(r)})
	if err != nil {
		apiError(w, r, uploadErr(err))
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, f)
}

func (h *Handlers) componentFiles(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		apiError(w, r, refuse(ErrNotFound, "dossier.component_not_found", "bad component", "n", r.PathValue("n")))
		return
	}
	fs, err := h.svc.ComponentFiles(r.Context(), r.PathValue("code"), n, principal(r))
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, httpx.List[File]{Items: fs})
}

func (h *Handlers) download(w http.ResponseWriter, r *http.Request) {
	f, rc, err := h.svc.OpenFile(r.Context(), r.PathValue("code"), r.PathValue("hash"), principal(r))
	if err != nil {
		apiError(w, r, err)
		return
	}
	defer rc.Close()
	serveFile(w, f, rc)
}

// serveFile sends a stored file. The content type is the sniffed one and
// the browser must not guess another; files are attachments, never pages.
func serveFile(w http.ResponseWriter, f File, rc io.Reader) {
	h := w.Header()
	h.Set("Content-Type", f.MediaType)
	h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	h.Set("Cache-Control", "private, no-store")
	h.Set("ETag", `"`+f.Hash+`"`)
	w.WriteHeader(http.StatusOK)
	io.Copy(w, rc)
}

// resultJSON is the JSON form of AddResult.
type resultJSON struct {
	ResultCode string        `json:"result_code"`
	Name       string        `json:"name"`
	Issuer     string        `json:"issuer"`
	IssuedAt   time.Time     `json:"issued_at,omitzero"`
	ValidFrom  calendar.Date `json:"valid_from,omitzero"`
	ValidTo    calendar.Date `json:"valid_to,omitzero"`
	FileName   string        `json:"file_name"`
	FileHash   string        `json:"file_hash"`
}

func (h *Handlers) addResult(w http.ResponseWriter, r *http.Request) {
	in := AddResultInput{DossierCode: r.PathValue("code"), Actor: principal(r)}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		var j resultJSON
		if err := httpx.DecodeJSON(w, r, &j); err != nil {
			apiError(w, r, err)
			return
		}
		in.ResultCode, in.Name, in.Issuer, in.IssuedAt = j.ResultCode, j.Name, j.Issuer, j.IssuedAt
		in.ValidFrom, in.ValidTo, in.FileName, in.FileHash = j.ValidFrom, j.ValidTo, j.FileName, j.FileHash
	} else {
		fields, name, body, err := h.multipartFile(w, r)
		if err != nil {
			apiError(w, r, err)
			return
		}
		var bad []httpx.FieldError
		in.ResultCode, in.Name, in.Issuer, in.FileName, in.Body = fields["result_code"], fields["name"], fields["issuer"], name, body
		if v := fields["issued_at"]; v != "" {
			t, err := parseTimeOrDate(v)
			if err != nil {
				bad = append(bad, httpx.FieldError{Field: "issued_at", Code: "invalid_format"})
			}
			in.IssuedAt = t
		}
		for _, f := range []struct {
			name string
			dst  *calendar.Date
		}{{"valid_from", &in.ValidFrom}, {"valid_to", &in.ValidTo}} {
			if v := fields[f.name]; v != "" {
				d, err := calendar.ParseDate(v)
				if err != nil {
					bad = append(bad, httpx.FieldError{Field: f.name, Code: "invalid_format"})
				}
				*f.dst = d
			}
		}
		if bad != nil {
			apiError(w, r, httpx.Validation(bad...))
			return
		}
	}
	res, err := h.svc.AddResult(r.Context(), in)
	if err != nil {
		apiError(w, r, uploadErr(err))
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, res)
}

func parseTimeOrDate(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := calendar.ParseDate(v)
	if err != nil {
		return time.Time{}, err
	}
	return d.In(calendar.Default().Location()), nil
}

func (h *Handlers) results(w http.ResponseWriter, r *http.Request) {
	res, err := h.svc.Results(r.Context(), r.PathValue("code"), principal(r))
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, httpx.List[Result]{Items: res})
}

// lookupQuery reads and checks the public lookup's parameters.
func lookupQuery(r *http.Request) (code, phone4 string, err error) {
	q := r.URL.Query()
	code, phone4 = strings.ToUpper(strings.TrimSpace(q.Get("code"))), strings.TrimSpace(q.Get("phone4"))
	var bad []httpx.FieldError
	if code == "" {
		bad = append(bad, httpx.FieldError{Field: "code", Code: "required"})
	}
	if len(phone4) != 4 || strings.Trim(phone4, "0123456789") != "" {
		bad = append(bad, httpx.FieldError{Field: "phone4", Code: "invalid_format",
			Message: i18n.T(i18n.FromRequest(r), "dossier.lookup_phone4")})
	}
	if bad != nil {
		return "", "", httpx.Validation(bad...)
	}
	return code, phone4, nil
}

func (h *Handlers) lookup(w http.ResponseWriter, r *http.Request) {
	code, phone4, err := lookupQuery(r)
	if err != nil {
		apiError(w, r, err)
		return
	}
	v, err := h.svc.Lookup(r.Context(), code, phone4)
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, v)
}

func (h *Handlers) lookupResult(w http.ResponseWriter, r *http.Request) {
	code, phone4, err := lookupQuery(r)
	if err != nil {
		apiError(w, r, err)
		return
	}
	res, rc, err := h.svc.OpenResult(r.Context(), code, phone4, r.URL.Query().Get("result_code"))
	if err != nil {
		apiError(w, r, err)
		return
	}
	defer rc.Close()
	serveFile(w, res.File, rc)
}
