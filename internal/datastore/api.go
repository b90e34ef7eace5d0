package datastore

import (
	_ "embed"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/platform/i18n"
)

//go:embed openapi.json
var openapiFragment []byte

// OpenAPIFragment returns the OpenAPI 3.1 description of the routes of
// [Handlers.Routes]: "paths", "tags" and "components.schemas" to merge into
// the application's document (it refers to the application's shared
// Problem, Limit, Cursor and CSRFToken components).
func OpenAPIFragment() []byte { return append([]byte(nil), openapiFragment...) }

// Handlers serves the JSON API of the signed-in account's own store. The
// owner is always the principal the identity middleware put in the
// request context: no route takes an account from the request.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

type route struct {
	pattern string
	handler http.HandlerFunc
}

func (h *Handlers) routes() []route {
	return []route{
		{"GET /api/v1/me/documents", h.list},
		{"POST /api/v1/me/documents", h.upload},
		{"GET /api/v1/me/documents/pick", h.pick},
		{"GET /api/v1/me/documents/resolve", h.resolve},
		{"GET /api/v1/me/documents/{id}", h.get},
		{"DELETE /api/v1/me/documents/{id}", h.delete},
		{"GET /api/v1/me/documents/{id}/file", h.download},
		{"POST /api/v1/me/documents/{id}/versions", h.addVersion},
		{"POST /api/v1/me/documents/{id}/restore", h.restore},
	}
}

// Routes registers the JSON API on mux:
//
//	GET    /api/v1/me/documents                 list ?kind=component|result|upload &hidden=true &limit= &cursor=
//	POST   /api/v1/me/documents                 upload (multipart: title, doc_type, issuer_name, issued_on, valid_until, file)
//	GET    /api/v1/me/documents/pick            documents for a required one ?type= &on=YYYY-MM-DD &limit=
//	GET    /api/v1/me/documents/resolve         what a reference names ?ref=ds:<id>:<version>
//	GET    /api/v1/me/documents/{id}            a document with its versions and reuses
//	DELETE /api/v1/me/documents/{id}            delete (uploads, copies) or hide (results)
//	GET    /api/v1/me/documents/{id}/file       download ?version= (default current)
//	POST   /api/v1/me/documents/{id}/versions   new version of an upload (multipart, as the upload)
//	POST   /api/v1/me/documents/{id}/restore    show a hidden document again
func (h *Handlers) Routes(mux *http.ServeMux) {
	for _, rt := range h.routes() {
		mux.HandleFunc(rt.pattern, rt.handler)
	}
}

// RoutePatterns lists the patterns Routes registers (for the OpenAPI
// check).
func RoutePatterns() []string {
	var out []string
	for _, rt := range (&Handlers{}).routes() {
		out = append(out, rt.pattern)
	}
	return out
}

// owner is the signed-in account, or "".
func owner(r *http.Request) string {
	p := identity.PrincipalFrom(r.Context())
	if !p.Authenticated() {
		return ""
	}
	return p.PersonID
}

// problemOf maps the module's errors to problems.
func problemOf(lang i18n.Lang, err error) error {
	var ve *ValidationError
	var he *httpx.Err
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return err
	case errors.As(err, &tooLarge), errors.Is(err, ErrTooLarge):
		return &httpx.Err{Status: http.StatusRequestEntityTooLarge, Code: "datastore.too_large", Err: err}
	case errors.As(err, &ve):
		fields := make([]httpx.FieldError, len(ve.Fields))
		for i, f := range ve.Fields {
			msg := f.Message
			if lang != i18n.Vietnamese {
				msg = i18n.T(lang, "datastore.field."+f.Code, "limit", "")
			}
			fields[i] = httpx.FieldError{Field: f.Field, Code: f.Code, Message: msg}
		}
		e := httpx.Validation(fields...)
		e.Code, e.Key, e.Err = "datastore.invalid", "datastore.invalid", err
		if errors.Is(err, ErrRejectedFile) {
			e.Code, e.Key = "datastore.file_rejected", "datastore.file_rejected"
		}
		return e
	case errors.Is(err, ErrUnauthenticated):
		return httpx.Unauthorized("datastore.unauthenticated").Wrap(err)
	case errors.Is(err, ErrNotFound):
		return httpx.NotFound("datastore.not_found").Wrap(err)
	case errors.Is(err, ErrNotAllowed):
		return httpx.Conflict("datastore.not_allowed").Wrap(err)
	case errors.Is(err, ErrBadRef):
		e := httpx.Validation(httpx.FieldError{Field: "ref", Code: "invalid_format"})
		e.Code, e.Key, e.Err = "datastore.bad_ref", "datastore.bad_ref", err
		return e
	}
	return err
}

func apiError(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, problemOf(i18n.FromRequest(r), err))
}

func (h *Handlers) list(w http.ResponseWriter, r *http.Request) {
	pg, err := httpx.ParsePage(r)
	if err != nil {
		apiError(w, r, err)
		return
	}
	q := ListQuery{Kind: Kind(r.URL.Query().Get("kind")), Hidden: r.URL.Query().Get("hidden") == "true", Limit: pg.Limit, After: pg.Cursor}
	page, err := h.svc.List(r.Context(), owner(r), q)
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, httpx.List[Document]{Items: page.Items, Next: page.Next})
}

func (h *Handlers) get(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.Get(r.Context(), owner(r), r.PathValue("id"))
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, d)
}

func (h *Handlers) pick(w http.ResponseWriter, r *http.Request) {
	q := PickQuery{DocType: r.URL.Query().Get("type")}
	if v := r.URL.Query().Get("on"); v != "" {
		d, err := calendar.ParseDate(v)
		if err != nil {
			apiError(w, r, httpx.BadRequest("invalid_query", "param", "on"))
			return
		}
		q.On = d
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > httpx.MaxLimit {
			apiError(w, r, httpx.BadRequest("invalid_query", "param", "limit"))
			return
		}
		q.Limit = n
	}
	docs, err := h.svc.Pick(r.Context(), owner(r), q)
	if err != nil {
		apiError(w, r, err)
		return
	}
	type picked struct {
		Document
		Ref string `json:"ref"`
	}
	out := make([]picked, len(docs))
	for i := range docs {
		out[i] = picked{docs[i], docs[i].Ref()}
	}
	httpx.WriteJSON(w, http.StatusOK, httpx.List[picked]{Items: out})
}

func (h *Handlers) resolve(w http.ResponseWriter, r *http.Request) {
	res, err := h.svc.Resolve(r.Context(), owner(r), r.URL.Query().Get("ref"))
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, res)
}

func (h *Handlers) delete(w http.ResponseWriter, r *http.Request) {
	out, err := h.svc.Delete(r.Context(), owner(r), r.PathValue("id"))
	if err != nil {
		apiError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"outcome": string(out)})
}

func (h *Handlers) restore(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.svc.Restore(r.Context(), owner(r), id); err != nil {
		apiError(w, r, err)
		return
	}
	h.get(w, r)
}

func (h *Handlers) download(w http.ResponseWriter, r *http.Request) {
	v := 0
	if s := r.URL.Query().Get("version"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			apiError(w, r, httpx.BadRequest("invalid_query", "param", "version"))
			return
		}
		v = n
	}
	ver, rc, err := h.svc.Open(r.Context(), owner(r), r.PathValue("id"), v)
	if err != nil {
		apiError(w, r, err)
		return
	}
	defer rc.Close()
	serveFile(w, ver, rc)
}

// serveFile sends a stored file as an attachment, never to be sniffed or
// cached by shared caches.
func serveFile(w http.ResponseWriter, v Version, rc io.Reader) {
	h := w.Header()
	h.Set("Content-Type", v.MediaType)
	h.Set("Content-Length", strconv.FormatInt(v.Size, 10))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": v.FileName}))
	h.Set("Cache-Control", "private, no-store")
	h.Set("ETag", `"`+v.Hash+`"`)
	w.WriteHeader(http.StatusOK)
	io.Copy(w, rc)
}

// maxForm bounds the memory of a parsed multipart form; larger files go to
// temporary files.
const maxForm = 8 << 20

// uploadForm reads an upload's multipart form: the text fields and the
// "file" part (nil if none). Dates are YYYY-MM-DD; a bad one is a field
// error.
func (s *Service) uploadForm(w http.ResponseWriter, r *http.Request) (UploadInput, multipart.File, []FieldError, error) {
	var in UploadInput
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return in, nil, nil, &httpx.Err{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Args: []any{"expected", "multipart/form-data"}}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes+64<<10)
	if err := r.ParseMultipartForm(maxForm); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return in, nil, nil, s.tooLarge()
		}
		return in, nil, nil, httpx.BadRequest("").Wrap(err)
	}
	f := r.MultipartForm
	val := func(k string) string {
		if vs := f.Value[k]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	in.Title, in.DocType, in.IssuerName = val("title"), val("doc_type"), val("issuer_name")
	var bad []FieldError
	for _, p := range []struct {
		k string
		d *calendar.Date
	}{{"issued_on", &in.IssuedOn}, {"valid_until", &in.ValidUntil}} {
		if v := strings.TrimSpace(val(p.k)); v != "" {
			d, err := calendar.ParseDate(v)
			if err != nil {
				bad = append(bad, FieldError{Field: p.k, Code: "invalid_format", Message: "Ngày phải có dạng NNNN-TT-NN."})
				continue
			}
			*p.d = d
		}
	}
	var file multipart.File
	if fhs := f.File["file"]; len(fhs) > 0 {
		fh := fhs[0]
		if fh.Size > s.cfg.MaxUploadBytes {
			return in, nil, nil, s.tooLarge()
		}
		var err error
		if file, err = fh.Open(); err != nil {
			return in, nil, nil, err
		}
		in.FileName, in.Body = fh.Filename, file
	}
	return in, file, bad, nil
}

func (h *Handlers) upload(w http.ResponseWriter, r *http.Request) {
	h.write(w, r, "")
}

func (h *Handlers) addVersion(w http.ResponseWriter, r *http.Request) {
	h.write(w, r, r.PathValue("id"))
}

// write uploads a new document (id "") or a new version of document id.
func (h *Handlers) write(w http.ResponseWriter, r *http.Request, id string) {
	o := owner(r)
	if o == "" {
		apiError(w, r, ErrUnauthenticated)
		return
	}
	in, file, bad, err := h.svc.uploadForm(w, r)
	if file != nil {
		defer file.Close()
	}
	if err == nil && len(bad) > 0 {
		err = &ValidationError{Fields: bad}
	}
	if err != nil {
		apiError(w, r, err)
		return
	}
	in.Owner = o
	var d *Document
	if id == "" {
		d, err = h.svc.Upload(r.Context(), in)
	} else {
		d, err = h.svc.AddVersion(r.Context(), id, in)
	}
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/me/documents/"+d.ID)
	httpx.WriteJSON(w, http.StatusCreated, d)
}
