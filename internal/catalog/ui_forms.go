package catalog

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

// formVersions picks the versions whose form files the edit page manages:
// the latest version, and the version in force today when it differs.
func formVersions(vs []Procedure, today calendar.Date) []Procedure {
	if len(vs) == 0 {
		return nil
	}
	out := []Procedure{vs[len(vs)-1]}
	for i := len(vs) - 2; i >= 0; i-- {
		if vs[i].InForce(today) {
			out = append(out, vs[i])
			break
		}
	}
	return out
}

// FileErr returns the refusal of the last upload for document n of
// version, or "".
func (v editView) FileErr(version, n int) string {
	return v.FileErrors[fmt.Sprintf("%d-%d", version, n)]
}

// contentDisposition is an attachment header with the file name as an
// RFC 6266 filename* (UTF-8, percent-encoded) and an ASCII fallback.
func contentDisposition(name string) string {
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, asciiName(name), rfc5987(name))
}

// rfc5987 percent-encodes s except the attribute characters of RFC 5987.
func rfc5987(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// downloadForm serves the blank form of a document: of the version in
// force today, or of ?version= (a draft only to its editors). The ETag is
// the content's SHA-256, so a client revalidates cheaply and sees a
// corrected file at once.
func (p *Pages) downloadForm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	code := r.PathValue("code")
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		p.errorPage(w, r, http.StatusNotFound)
		return
	}
	var proc Procedure
	if s := r.URL.Query().Get("version"); s != "" {
		v, _ := strconv.Atoi(s)
		proc, err = p.h.svc.ProcedureVersion(ctx, code, v)
		if err == nil && proc.Status == StatusDraft && !p.h.can(ctx, ActionEdit, proc.CompetentAgency) {
			err = ErrNotFound
		}
	} else {
		proc, err = p.h.svc.Procedure(ctx, code, calendar.Date{})
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if n > len(proc.Documents) || proc.Documents[n-1].File == nil || !p.h.svc.FormsEnabled() {
		p.errorPage(w, r, http.StatusNotFound)
		return
	}
	etag := `"` + proc.Documents[n-1].File.Hash + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	f, rc, err := p.h.svc.Form(ctx, proc, n)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	defer rc.Close()
	h.Set("Content-Type", f.MediaType)
	h.Set("Content-Disposition", contentDisposition(f.Name))
	h.Set("Content-Security-Policy", "sandbox")
	if f.Size > 0 {
		h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
	}
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil {
		p.shell.Log.ErrorContext(ctx, "catalog form download", "code", code, "n", n, "hash", f.Hash, "err", err)
	}
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// formTarget reads the code, version and document number of an upload or
// removal and checks the caller's right on the procedure.
func (p *Pages) formTarget(w http.ResponseWriter, r *http.Request) (code string, version, n int, ok bool) {
	code = r.PathValue("code")
	version, err1 := strconv.Atoi(r.PathValue("version"))
	n, err2 := strconv.Atoi(r.PathValue("n"))
	if err1 != nil || err2 != nil {
		p.errorPage(w, r, http.StatusNotFound)
		return "", 0, 0, false
	}
	vs, err := p.h.svc.ProcedureVersions(r.Context(), code)
	if err != nil {
		p.fail(w, r, err)
		return "", 0, 0, false
	}
	if !p.allow(w, r, ActionEdit, vs[len(vs)-1].CompetentAgency) {
		return "", 0, 0, false
	}
	return code, version, n, true
}

func (p *Pages) uploadForm(w http.ResponseWriter, r *http.Request) {
	limit := p.h.svc.MaxFormBytes()
	r.Body = http.MaxBytesReader(w, r.Body, limit+1<<20)
	code, version, n, ok := p.formTarget(w, r)
	if !ok {
		return
	}
	lang := i18n.FromRequest(r)
	var err error
	file, hdr, ferr := r.FormFile("file")
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(ferr, &tooLarge):
		err = &ValidationError{Errors: []FieldError{{Field: "file", Code: CodeTooLong, Message: fmt.Sprintf("Tệp lớn quá giới hạn %s.", FormatFileSize(limit))}}}
	case ferr != nil:
		err = &ValidationError{Errors: []FieldError{{Field: "file", Code: CodeRequired, Message: "Hãy chọn một tệp để tải lên."}}}
	default:
		defer file.Close()
		_, err = p.h.svc.AttachForm(r.Context(), code, version, n, hdr.Filename, file)
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		msg := fieldMessageOf(lang, "file", ve.Errors[0].Code, ve.Errors[0].Message)
		p.renderEditOf(w, r, code, http.StatusUnprocessableEntity, map[string]string{fmt.Sprintf("%d-%d", version, n): msg})
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "catalog.ui.files.uploaded")
	http.Redirect(w, r, "/admin/catalog/procedures/"+url.PathEscape(code)+"#files", http.StatusSeeOther)
}

func (p *Pages) removeForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	code, version, n, ok := p.formTarget(w, r)
	if !ok {
		return
	}
	if err := p.h.svc.RemoveForm(r.Context(), code, version, n); err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "catalog.ui.files.removed")
	http.Redirect(w, r, "/admin/catalog/procedures/"+url.PathEscape(code)+"#files", http.StatusSeeOther)
}

// renderEditOf renders the edit page of a procedure's latest version, as
// editForm does, with the refusals of a file upload.
func (p *Pages) renderEditOf(w http.ResponseWriter, r *http.Request, code string, status int, fileErrs map[string]string) {
	vs, err := p.h.svc.ProcedureVersions(r.Context(), code)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	latest := vs[len(vs)-1]
	if latest.Status.Published() {
		latest.Version, latest.Status, latest.EffectiveTo = 0, StatusDraft, calendar.Date{}
	}
	p.renderEdit(w, r, status, editView{P: latest, FileErrors: fileErrs})
}
