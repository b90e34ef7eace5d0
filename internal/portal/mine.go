package portal

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

func dossierURL(code string) string { return "/my/dossiers/" + url.PathEscape(code) }

// mineView is the list of the applicant's dossiers.
type mineView struct {
	Items []dossier.Summary
	Next  string
}

const minePageSize = 20

func (p *Pages) mine(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.signedIn(w, r, "")
	if !ok {
		return
	}
	after := r.URL.Query().Get("after")
	if len(after) > 200 {
		after = ""
	}
	page, err := p.cfg.Dossiers.Mine(r.Context(), pr.PersonID, minePageSize, after)
	var ve *dossier.ValidationError
	if errors.As(err, &ve) {
		// A stale or mangled link: start over.
		page, err = p.cfg.Dossiers.Mine(r.Context(), pr.PersonID, minePageSize, "")
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v := mineView{Items: page.Items}
	if page.Next != "" {
		v.Next = "/my/dossiers?after=" + url.QueryEscape(page.Next)
	}
	p.render(w, r, "mine", http.StatusOK, v)
}

// dossierView is one of the applicant's dossiers.
type dossierView struct {
	D          *dossier.Dossier
	Submitted  bool // just submitted: show the receipt
	Supplement *dossier.Notice
	// AskedDocs are the components a supplement request names (all
	// components when it names none).
	AskedDocs   []dossier.Component
	CanRespond  bool
	CanWithdraw bool
	Ended       bool
	Rating      *dossier.Rating
	CanRate     bool
	Criteria    []criterion
	Fees        []feeView
	Idem        string
	Errors      map[string]string
	Problem     string
	Note        string
	Reason      string
	Comment     string
	Scores      map[string]int
	// Shipments are the postal dispatches of the result.
	Shipments []Shipment
	// Forms are the forms the applicant was given (receipt, supplement
	// request, refusal, apology letter, stop notice), as PDF.
	Forms []formLink
}

// formLink is a form of the dossier to download.
type formLink struct {
	Form, Label string
}

// criterion is a rating question in the page's language.
type criterion struct {
	Key      string
	Text     string
	Required bool
}

// feeView is a fee with its payment form, when payment is wired.
type feeView struct {
	dossier.Fee
	PayURL string
}

// offersPayment tells whether the page shows a payment form.
func (v *dossierView) offersPayment() bool {
	for _, f := range v.Fees {
		if f.PayURL != "" {
			return true
		}
	}
	return false
}

// Err returns the message for an input, or "".
func (v dossierView) Err(name string) string { return v.Errors[name] }

// Score returns the score given (or typed) for a criterion.
func (v dossierView) Score(key string) int {
	if v.Rating != nil {
		return v.Rating.Scores[key]
	}
	return v.Scores[key]
}

func newKey() string { return "portal-" + rand.Text() }

// dossierView loads the owner's dossier with what they may do now.
func (p *Pages) dossierView(r *http.Request, code string, pr *identity.Principal) (*dossierView, error) {
	ctx := r.Context()
	lang := i18n.FromRequest(r)
	d, err := p.cfg.Dossiers.GetMine(ctx, code, pr.PersonID)
	if err != nil {
		return nil, err
	}
	v := &dossierView{D: d, Idem: newKey(), Errors: map[string]string{}, Ended: d.Ended(), Scores: map[string]int{}}
	for _, f := range d.Forms() {
		if f != dossier.FormControl {
			v.Forms = append(v.Forms, formLink{Form: f, Label: dossier.FormLabel(f)})
		}
	}
	for _, a := range d.Actions {
		switch a.Key {
		case "supplement_received":
			v.CanRespond = true
		case "withdraw":
			v.CanWithdraw = true
		}
	}
	if v.CanRespond {
		for i := len(d.Notices) - 1; i >= 0; i-- {
			if d.Notices[i].Kind == dossier.NoticeSupplement {
				v.Supplement = &d.Notices[i]
				break
			}
		}
		asked := map[int]bool{}
		if v.Supplement != nil {
			for _, df := range v.Supplement.Defects {
				if df.Component > 0 {
					asked[df.Component] = true
				}
			}
		}
		for _, c := range d.Components {
			if len(asked) == 0 || asked[c.N] {
				v.AskedDocs = append(v.AskedDocs, c)
			}
		}
	}
	for _, f := range d.Fees {
		fv := feeView{Fee: f}
		if f.Status != dossier.FeePaid && p.cfg.PayURL != nil && !v.Ended {
			fv.PayURL = p.cfg.PayURL(d.Code, f.N)
		}
		v.Fees = append(v.Fees, fv)
	}
	if p.cfg.Shipments != nil && d.ReturnMethod == dossier.ReturnByPost {
		if v.Shipments, err = p.cfg.Shipments(ctx, d.Code); err != nil {
			return nil, err
		}
	}
	if v.Ended {
		if v.Rating, err = p.cfg.Dossiers.RatingOf(ctx, code, pr.PersonID); err != nil {
			return nil, err
		}
		v.CanRate = v.Rating == nil
	}
	for _, c := range dossier.RatingCriteria() {
		t := c.VI
		if lang == i18n.English && c.EN != "" {
			t = c.EN
		}
		v.Criteria = append(v.Criteria, criterion{Key: c.Key, Text: t, Required: c.Required})
	}
	return v, nil
}

func (p *Pages) dossierPage(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.signedIn(w, r, "")
	if !ok {
		return
	}
	v, err := p.dossierView(r, r.PathValue("code"), pr)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.Submitted = r.URL.Query().Get("submitted") == "1"
	p.render(w, r, "dossier", http.StatusOK, v)
}

// actFailed shows the dossier page again with what was refused; the text
// typed is kept.
func (p *Pages) actFailed(w http.ResponseWriter, r *http.Request, pr *identity.Principal, err error, keep func(*dossierView)) {
	lang := i18n.FromRequest(r)
	code := r.PathValue("code")
	status := http.StatusUnprocessableEntity
	switch {
	case errors.Is(err, dossier.ErrNotFound), errors.Is(err, dossier.ErrUnauthenticated):
		p.fail(w, r, err)
		return
	case errors.Is(err, dossier.ErrConflict), errors.Is(err, dossier.ErrInvalidAction):
		status = http.StatusConflict
	case errors.As(err, new(*dossier.Error)), errors.As(err, new(*dossier.ValidationError)):
	default:
		p.fail(w, r, err)
		return
	}
	v, lerr := p.dossierView(r, code, pr)
	if lerr != nil {
		p.fail(w, r, lerr)
		return
	}
	v.Problem = errorText(lang, err)
	keep(v)
	p.render(w, r, "dossier", status, v)
}

// respond answers a supplement request with the documents asked for.
func (p *Pages) respond(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	pr, ok := p.signedIn(w, r, dossierURL(code))
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		p.fail(w, r, fmt.Errorf("parse supplement form: %w", err))
		return
	}
	ctx := r.Context()
	lang := i18n.FromRequest(r)
	f := r.PostForm
	version, _ := strconv.ParseInt(f.Get("version"), 10, 64)
	in := dossier.RespondInput{Code: code, Owner: pr.PersonID, ExpectedVersion: version, Note: strings.TrimSpace(f.Get("note")),
		IdempotencyKey: f.Get("idem")}
	upErrs := map[string]string{}
	if r.MultipartForm != nil {
		// Components in number order, so a retry of the same post is the
		// same request for the idempotency check.
		var keys []string
		for k := range r.MultipartForm.File {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, key := range keys {
			nStr, ok := strings.CutPrefix(key, "doc.")
			nStr, ok2 := strings.CutSuffix(nStr, ".file")
			n, err := strconv.Atoi(nStr)
			if !ok || !ok2 || err != nil || n <= 0 {
				continue
			}
			c := dossier.ComponentInput{N: n, Provided: catalog.FormElectronic}
			for _, fh := range r.MultipartForm.File[key] {
				if fh.Filename == "" && fh.Size == 0 {
					continue
				}
				file, err := p.putUpload(ctx, fh)
				if err != nil {
					if msg, ok := uploadError(lang, err); ok {
						upErrs[fmt.Sprintf("doc.%d", n)] = fh.Filename + ": " + msg
						continue
					}
					p.fail(w, r, err)
					return
				}
				c.Files = append(c.Files, dossier.FileRef{Name: file.Name, Hash: file.Hash})
			}
			if len(c.Files) > 0 {
				in.Components = append(in.Components, c)
			}
		}
	}
	keep := func(v *dossierView) {
		v.Note = in.Note
		for k, m := range upErrs {
			v.Errors[k] = m
		}
	}
	if len(upErrs) > 0 {
		p.actFailed(w, r, pr, &dossier.ValidationError{Defects: []dossier.Defect{{Field: "components", Code: dossier.CodeInvalidValue,
			Message: i18n.T(lang, "portal.respond.upload_failed")}}}, keep)
		return
	}
	if _, err := p.cfg.Dossiers.Respond(ctx, in); err != nil {
		p.actFailed(w, r, pr, err, keep)
		return
	}
	web.SetFlash(w, "portal.flash.responded")
	http.Redirect(w, r, dossierURL(code), http.StatusSeeOther)
}

// withdraw withdraws the dossier; the reason and an explicit confirmation
// are required.
func (p *Pages) withdraw(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	pr, ok := p.signedIn(w, r, dossierURL(code))
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		p.fail(w, r, fmt.Errorf("parse withdrawal form: %w", err))
		return
	}
	lang := i18n.FromRequest(r)
	f := r.PostForm
	reason := strings.TrimSpace(f.Get("reason"))
	keep := func(v *dossierView) { v.Reason = reason }
	errs := map[string]string{}
	if reason == "" {
		errs["reason"] = i18n.T(lang, "portal.withdraw.reason_required")
	}
	if f.Get("confirm") != "1" {
		errs["confirm"] = i18n.T(lang, "portal.withdraw.confirm_required")
	}
	if len(errs) > 0 {
		v, err := p.dossierView(r, code, pr)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		v.Errors, v.Reason = errs, reason
		p.render(w, r, "dossier", http.StatusUnprocessableEntity, v)
		return
	}
	version, _ := strconv.ParseInt(f.Get("version"), 10, 64)
	if _, err := p.cfg.Dossiers.Withdraw(r.Context(), dossier.WithdrawInput{Code: code, Owner: pr.PersonID, Reason: reason,
		ExpectedVersion: version, IdempotencyKey: f.Get("idem")}); err != nil {
		p.actFailed(w, r, pr, err, keep)
		return
	}
	web.SetFlash(w, "portal.flash.withdrawn")
	http.Redirect(w, r, dossierURL(code), http.StatusSeeOther)
}

// rate records the applicant's rating of a finished dossier.
func (p *Pages) rate(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	pr, ok := p.signedIn(w, r, dossierURL(code))
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		p.fail(w, r, fmt.Errorf("parse rating form: %w", err))
		return
	}
	f := r.PostForm
	in := dossier.RatingInput{Code: code, Owner: pr.PersonID, Scores: map[string]int{}, Comment: strings.TrimSpace(f.Get("comment"))}
	for _, c := range dossier.RatingCriteria() {
		if n, err := strconv.Atoi(f.Get("score." + c.Key)); err == nil {
			in.Scores[c.Key] = n
		}
	}
	_, err := p.cfg.Dossiers.Rate(r.Context(), in)
	if errors.Is(err, dossier.ErrConflict) {
		// Rated already (another tab, a double click): show the rating.
		web.SetFlash(w, "portal.flash.rated_already")
		http.Redirect(w, r, dossierURL(code)+"#rating", http.StatusSeeOther)
		return
	}
	if err != nil {
		p.actFailed(w, r, pr, err, func(v *dossierView) { v.Scores, v.Comment = in.Scores, in.Comment })
		return
	}
	web.SetFlash(w, "portal.flash.rated")
	http.Redirect(w, r, dossierURL(code)+"#rating", http.StatusSeeOther)
}

// file sends a file of the owner's dossier.
func (p *Pages) file(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.signedIn(w, r, "")
	if !ok {
		return
	}
	f, rc, err := p.cfg.Dossiers.OpenMineFile(r.Context(), r.PathValue("code"), pr.PersonID, r.PathValue("hash"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	defer rc.Close()
	serveFile(w, f.Name, f.MediaType, f.Size, rc)
}

// form sends a form the applicant was given, as PDF.
func (p *Pages) form(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.signedIn(w, r, "")
	if !ok {
		return
	}
	code, f := r.PathValue("code"), strings.TrimSuffix(r.PathValue("form"), ".pdf")
	b, err := p.cfg.Dossiers.MineForm(r.Context(), code, pr.PersonID, f)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	dossier.ServeForm(w, code, f, b)
}

// result sends an issued e-result of the owner's dossier.
func (p *Pages) result(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.signedIn(w, r, "")
	if !ok {
		return
	}
	res, rc, err := p.cfg.Dossiers.OpenMineResult(r.Context(), r.PathValue("code"), pr.PersonID, r.PathValue("result"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	defer rc.Close()
	serveFile(w, res.File.Name, res.File.MediaType, res.File.Size, rc)
}

// serveFile sends a stored file as an attachment (never rendered as a page
// of this site).
func serveFile(w http.ResponseWriter, name, mediaType string, size int64, body io.Reader) {
	h := w.Header()
	h.Set("Content-Type", mediaType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	if size > 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	io.Copy(w, body)
}
