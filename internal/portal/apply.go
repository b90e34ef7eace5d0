package portal

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
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

// maxMemory is how much of a multipart form is kept in memory; the rest
// spills to temporary files (the app's body limit bounds the whole).
const maxMemory = 8 << 20

// applicantInputs are the applicant's inputs of the form, in order.
var applicantInputs = []string{"applicant.type", "applicant.name", "applicant.personal_id", "applicant.tax_code",
	"applicant.phone", "applicant.email", "applicant.address", "return_method", "delivery_address"}

// docView is one required document on the form: what is attached so far
// (uploads or a stored document reused) and the stored documents offered.
type docView struct {
	N          int
	Doc        catalog.Document
	Files      []DraftFile
	Reuse      *ReusedDoc
	Candidates []StoredDoc
	Err        string
}

// problem is one line of the error summary, linking to its input.
type problem struct {
	Anchor string
	Text   string
}

// applyView is the application form of a procedure.
type applyView struct {
	Proc        catalog.Procedure
	FieldName   string
	Competent   string
	Draft       *Draft
	Action      string
	Values      map[string]string
	Fields      []formField
	Docs        []docView
	NeedCommune bool
	Communes    []catalog.Agency
	Errors      map[string]string
	Summary     []problem
	Problem     string
	Drafts      []*Draft // other drafts of the procedure (fresh form only)
	MaxUpload   string
	// Postal offers the result by post (when the postal carrier is wired).
	Postal bool
}

// V returns the value of an input.
func (v applyView) V(name string) string { return v.Values[name] }

// Err returns the message for an input, or "".
func (v applyView) Err(name string) string { return v.Errors[name] }

// loadProcedure returns the version of code in force today, if it may be
// applied for online.
func (p *Pages) loadProcedure(ctx context.Context, code string) (catalog.Procedure, error) {
	proc, err := p.cfg.Catalog.Procedure(ctx, code, p.cfg.Catalog.Today())
	if err != nil {
		return proc, err
	}
	if proc.OnlineLevel == catalog.OnlineNone || proc.OnlineLevel == "" {
		return proc, fmt.Errorf("procedure %s is not online: %w", code, catalog.ErrNotFound)
	}
	return proc, nil
}

// newApplyView builds the form of proc with values.
func (p *Pages) newApplyView(ctx context.Context, proc catalog.Procedure, d *Draft, owner string) (*applyView, error) {
	v := &applyView{Proc: proc, Draft: d, Values: map[string]string{}, Fields: schemaFields(proc.FormSchema), Errors: map[string]string{},
		MaxUpload: "20 MB", Postal: p.cfg.PostalDelivery}
	v.FieldName, v.Competent, _ = p.cfg.Catalog.Describe(ctx, proc)
	v.Action = ApplyURL(proc.Code)
	if d != nil {
		v.Action = draftURL(d.ID)
		v.Values = d.Data.Values
	}
	fillFields(v.Fields, v.Values)
	if proc.CompetentAgency == "" {
		v.NeedCommune = true
		list, err := p.cfg.Catalog.Agencies(ctx, catalog.AgencyQuery{Kind: catalog.KindAgency, Level: catalog.LevelCommune})
		if err != nil {
			return nil, err
		}
		v.Communes = list
	}
	for i, doc := range proc.Documents {
		dv := docView{N: i + 1, Doc: doc}
		if d != nil {
			dv.Files = d.Data.Docs[dv.N]
			if ru, ok := d.Data.Reuse[dv.N]; ok {
				dv.Reuse = &ru
			}
		}
		if p.cfg.Documents != nil {
			c, err := p.cfg.Documents.Candidates(ctx, owner, doc.Name)
			if err != nil {
				// The store is a convenience: without it the applicant uploads.
				p.cfg.Shell.Log.WarnContext(ctx, "personal data store candidates", "doc", doc.Name, "err", err)
			}
			dv.Candidates = c
		}
		v.Docs = append(v.Docs, dv)
	}
	return v, nil
}

func draftURL(id string) string { return "/my/drafts/" + url.PathEscape(id) }

// prefill fills a fresh form from the applicant's account.
func (p *Pages) prefill(ctx context.Context, pr *identity.Principal, values map[string]string) {
	values["applicant.type"] = string(dossier.ApplicantCitizen)
	values["applicant.name"] = pr.FullName
	if p.cfg.Profiles == nil {
		return
	}
	person, err := p.cfg.Profiles.GetPerson(ctx, pr.PersonID)
	if err != nil {
		p.cfg.Shell.Log.WarnContext(ctx, "applicant profile", "person", pr.PersonID, "err", err)
		return
	}
	for k, val := range map[string]string{"applicant.name": person.FullName, "applicant.personal_id": person.PersonalID,
		"applicant.phone": person.Phone, "applicant.email": person.Email} {
		if val != "" {
			values[k] = val
		}
	}
}

// applyForm shows the blank form of a procedure, pre-filled from the
// account, with links to the applicant's drafts of the same procedure.
func (p *Pages) applyForm(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.signedIn(w, r, "")
	if !ok {
		return
	}
	ctx := r.Context()
	proc, err := p.loadProcedure(ctx, r.PathValue("code"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v, err := p.newApplyView(ctx, proc, nil, pr.PersonID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.prefill(ctx, pr, v.Values)
	fillFields(v.Fields, v.Values)
	drafts, err := p.store.drafts(ctx, pr.PersonID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	for _, d := range drafts {
		if d.ProcedureCode == proc.Code {
			v.Drafts = append(v.Drafts, d)
		}
	}
	p.render(w, r, "apply", http.StatusOK, v)
}

// applyCreate is the first save of a form: it creates the draft, then
// goes on like any save.
func (p *Pages) applyCreate(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	pr, ok := p.signedIn(w, r, ApplyURL(code))
	if !ok {
		return
	}
	ctx := r.Context()
	proc, err := p.loadProcedure(ctx, code)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		p.fail(w, r, fmt.Errorf("parse application form: %w", err))
		return
	}
	d := &Draft{Owner: pr.PersonID, ProcedureCode: proc.Code, ProcedureName: proc.Name, Data: DraftData{Values: map[string]string{}}}
	if err := p.store.createDraft(ctx, d); err != nil {
		p.fail(w, r, err)
		return
	}
	p.saveAndGo(w, r, pr, proc, d)
}

// openDraft loads the signed-in applicant's draft named in the path, its
// procedure and its form; it answers the request itself (sign-in, not
// found, a submitted draft's dossier) when it returns false.
func (p *Pages) openDraft(w http.ResponseWriter, r *http.Request) (*identity.Principal, *Draft, catalog.Procedure, *applyView, bool) {
	pr, ok := p.signedIn(w, r, "")
	if !ok {
		return nil, nil, catalog.Procedure{}, nil, false
	}
	ctx := r.Context()
	d, err := p.store.draft(ctx, r.PathValue("id"), pr.PersonID)
	if err != nil {
		p.fail(w, r, err)
		return nil, nil, catalog.Procedure{}, nil, false
	}
	if d.Submitted() {
		http.Redirect(w, r, dossierURL(d.DossierCode), http.StatusSeeOther)
		return nil, nil, catalog.Procedure{}, nil, false
	}
	proc, err := p.loadProcedure(ctx, d.ProcedureCode)
	if err != nil {
		p.fail(w, r, err)
		return nil, nil, catalog.Procedure{}, nil, false
	}
	v, err := p.newApplyView(ctx, proc, d, pr.PersonID)
	if err != nil {
		p.fail(w, r, err)
		return nil, nil, catalog.Procedure{}, nil, false
	}
	return pr, d, proc, v, true
}

// draftForm shows a draft's form with everything saved.
func (p *Pages) draftForm(w http.ResponseWriter, r *http.Request) {
	_, _, _, v, ok := p.openDraft(w, r)
	if !ok {
		return
	}
	p.render(w, r, "apply", http.StatusOK, v)
}

// draftSave saves a posted form into its draft.
func (p *Pages) draftSave(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	pr, ok := p.signedIn(w, r, draftURL(id))
	if !ok {
		return
	}
	ctx := r.Context()
	if err := parseForm(r); err != nil {
		p.fail(w, r, fmt.Errorf("parse application form: %w", err))
		return
	}
	d, err := p.store.draft(ctx, id, pr.PersonID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if d.Submitted() {
		http.Redirect(w, r, dossierURL(d.DossierCode), http.StatusSeeOther)
		return
	}
	proc, err := p.loadProcedure(ctx, d.ProcedureCode)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.saveAndGo(w, r, pr, proc, d)
}

func parseForm(r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		return r.ParseMultipartForm(maxMemory)
	}
	return r.ParseForm()
}

// saveAndGo reads the posted form into the draft, stores uploads, saves
// the draft (always, before anything can fail: nothing typed is lost), then
// does what the button asked: save, review (check first) or autosave.
func (p *Pages) saveAndGo(w http.ResponseWriter, r *http.Request, pr *identity.Principal, proc catalog.Procedure, d *Draft) {
	ctx := r.Context()
	lang := i18n.FromRequest(r)
	f := r.PostForm
	v, err := p.newApplyView(ctx, proc, d, pr.PersonID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	vals := d.Data.Values
	for _, name := range applicantInputs {
		vals[name] = formValue(f, name)
	}
	if v.NeedCommune {
		vals["commune"] = formValue(f, "commune")
	}
	for _, fld := range v.Fields {
		vals[fld.Name] = formValue(f, fld.Name)
	}
	fillFields(v.Fields, vals)
	if d.Data.Docs == nil {
		d.Data.Docs = map[int][]DraftFile{}
	}
	if d.Data.Reuse == nil {
		d.Data.Reuse = map[int]ReusedDoc{}
	}
	for i := range v.Docs {
		dv := &v.Docs[i]
		key := fmt.Sprintf("doc.%d", dv.N)
		files := d.Data.Docs[dv.N]
		for _, h := range f[key+".remove"] {
			files = slices.DeleteFunc(files, func(x DraftFile) bool { return x.Hash == h })
		}
		if r.MultipartForm != nil {
			for _, fh := range r.MultipartForm.File[key+".file"] {
				if fh.Filename == "" && fh.Size == 0 {
					continue
				}
				file, err := p.putUpload(ctx, fh)
				if err != nil {
					if msg, ok := uploadError(lang, err); ok {
						v.Errors[key] = fh.Filename + ": " + msg
						continue
					}
					p.fail(w, r, err)
					return
				}
				if !slices.ContainsFunc(files, func(x DraftFile) bool { return x.Hash == file.Hash }) {
					files = append(files, DraftFile{Name: file.Name, Hash: file.Hash, Size: file.Size, MediaType: file.MediaType})
				}
			}
		}
		d.Data.Docs[dv.N] = files
		if len(files) == 0 {
			delete(d.Data.Docs, dv.N)
		}
		dv.Files = files
		if _, posted := f[key+".reuse"]; posted {
			ref := f.Get(key + ".reuse")
			delete(d.Data.Reuse, dv.N)
			dv.Reuse = nil
			for _, c := range dv.Candidates {
				if c.Ref == ref && ref != "" {
					ru := ReusedDoc{Ref: c.Ref, Name: c.Name, Hash: c.Hash}
					d.Data.Reuse[dv.N] = ru
					dv.Reuse = &ru
				}
			}
		}
		dv.Err = v.Errors[key]
	}
	if err := p.store.saveDraft(ctx, d); err != nil {
		p.fail(w, r, err)
		return
	}
	op := f.Get("op")
	if op == "autosave" {
		// The script's background save: nothing to show but where the
		// draft lives (a fresh form saves there from now on).
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Draft", draftURL(d.ID))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if len(v.Errors) > 0 {
		v.summarize(lang)
		p.render(w, r, "apply", http.StatusUnprocessableEntity, v)
		return
	}
	if op != "review" {
		web.SetFlash(w, "portal.flash.saved")
		http.Redirect(w, r, draftURL(d.ID), http.StatusSeeOther)
		return
	}
	if !p.check(r, pr, proc, d, v) {
		p.render(w, r, "apply", http.StatusUnprocessableEntity, v)
		return
	}
	http.Redirect(w, r, draftURL(d.ID)+"/review", http.StatusSeeOther)
}

// check runs the dossier service's completeness check on the draft (the
// same rules the desk applies) and puts every defect on its input; it
// reports whether the draft may be submitted.
func (p *Pages) check(r *http.Request, pr *identity.Principal, proc catalog.Procedure, d *Draft, v *applyView) bool {
	lang := i18n.FromRequest(r)
	sub := submission(proc, d, v.Fields)
	if v.NeedCommune && !slices.ContainsFunc(v.Communes, func(a catalog.Agency) bool { return a.EID == d.Data.Values["commune"] }) {
		v.Errors["commune"] = i18n.T(lang, "portal.apply.commune.required")
	}
	rep, err := p.cfg.Dossiers.Check(r.Context(), dossier.CheckInput{Submission: sub, Actor: pr})
	var ve *dossier.ValidationError
	switch {
	case errors.As(err, &ve):
		v.mapDefects(lang, ve.Defects, sub.Components)
	case err != nil:
		v.Problem = errorText(lang, err)
	default:
		v.mapDefects(lang, rep.Defects, sub.Components)
	}
	v.summarize(lang)
	return len(v.Summary) == 0 && v.Problem == ""
}

// submission builds the dossier service's input from a draft: every
// document online is electronic (§2 channel 2).
func submission(proc catalog.Procedure, d *Draft, fields []formField) dossier.Submission {
	val := d.Data.Values
	sub := dossier.Submission{ProcedureCode: proc.Code, Channel: dossier.ChannelOnline, Owner: d.Owner,
		Applicant: dossier.Applicant{Type: dossier.ApplicantType(val["applicant.type"]), Name: val["applicant.name"],
			PersonalID: val["applicant.personal_id"], TaxCode: val["applicant.tax_code"], Phone: val["applicant.phone"],
			Email: val["applicant.email"], Address: val["applicant.address"]},
		ReturnMethod: val["return_method"], DeliveryAddress: strings.TrimSpace(val["delivery_address"])}
	if sub.ReturnMethod != dossier.ReturnByPost {
		sub.DeliveryAddress = "" // typed, then another choice made
	}
	fs := slices.Clone(fields)
	fillFields(fs, val)
	sub.FormData = formData(fs)
	for i := range proc.Documents {
		n := i + 1
		files := d.Data.Docs[n]
		ru, reused := d.Data.Reuse[n]
		if len(files) == 0 && !reused {
			continue
		}
		c := dossier.ComponentInput{N: n, Provided: catalog.FormElectronic}
		for _, f := range files {
			c.Files = append(c.Files, dossier.FileRef{Name: f.Name, Hash: f.Hash})
		}
		if reused {
			c.Reused, c.ReuseRef = true, ru.Ref
			if ru.Hash != "" && !slices.ContainsFunc(c.Files, func(f dossier.FileRef) bool { return f.Hash == ru.Hash }) {
				c.Files = append(c.Files, dossier.FileRef{Name: ru.Name, Hash: ru.Hash})
			}
		}
		sub.Components = append(sub.Components, c)
	}
	return sub
}

// mapDefects puts each defect on its input and lists it, so every problem
// shows at once (§3 step 1.1, §13).
func (v *applyView) mapDefects(lang i18n.Lang, defects []dossier.Defect, comps []dossier.ComponentInput) {
	for _, d := range defects {
		name := inputOf(d, comps)
		msg := defectText(lang, d)
		if name == "" {
			v.Summary = append(v.Summary, problem{Text: msg})
			continue
		}
		if old, seen := v.Errors[name]; seen {
			v.Errors[name] = old + " " + msg
		} else {
			v.Errors[name] = msg
		}
	}
	for i := range v.Fields {
		v.Fields[i].Err = v.Errors[v.Fields[i].Name]
	}
	for i := range v.Docs {
		v.Docs[i].Err = v.Errors[fmt.Sprintf("doc.%d", v.Docs[i].N)]
	}
}

// summarize lists the inputs' errors in the form's order, each linking to
// its input, after the problems that belong to no input.
func (v *applyView) summarize(lang i18n.Lang) {
	var order []string
	order = append(order, applicantInputs...)
	order = append(order, "commune")
	for _, d := range v.Docs {
		order = append(order, fmt.Sprintf("doc.%d", d.N))
	}
	for _, f := range v.Fields {
		order = append(order, f.Name)
	}
	var out []problem
	for _, name := range order {
		msg, ok := v.Errors[name]
		if !ok {
			continue
		}
		label := v.label(lang, name)
		if label != "" && !strings.Contains(msg, label) {
			msg = label + ": " + msg
		}
		anchor := strings.NewReplacer(".", "_").Replace(name)
		if strings.HasPrefix(name, "doc.") {
			anchor += "_file"
		}
		out = append(out, problem{Anchor: anchor, Text: msg})
	}
	for _, pb := range v.Summary {
		if pb.Anchor == "" {
			out = append(out, pb)
		}
	}
	v.Summary = out
	for i := range v.Docs {
		v.Docs[i].Err = v.Errors[fmt.Sprintf("doc.%d", v.Docs[i].N)]
	}
	for i := range v.Fields {
		v.Fields[i].Err = v.Errors[v.Fields[i].Name]
	}
}

// label names an input for the error summary.
func (v *applyView) label(lang i18n.Lang, name string) string {
	for _, f := range v.Fields {
		if f.Name == name {
			if f.Group != "" {
				return f.Group + " – " + f.Label
			}
			return f.Label
		}
	}
	for _, d := range v.Docs {
		if name == fmt.Sprintf("doc.%d", d.N) {
			return d.Doc.Name
		}
	}
	if key := "portal.label." + name; i18n.Has(key) {
		return i18n.T(lang, key)
	}
	return ""
}

// inputOf maps a defect's field to the form's input name ("" when the
// defect belongs to no input).
func inputOf(d dossier.Defect, comps []dossier.ComponentInput) string {
	f := d.Field
	switch {
	case strings.HasPrefix(f, "applicant."), f == "return_method", f == "delivery_address":
		return f
	case strings.HasPrefix(f, "components."):
		n, _, _ := strings.Cut(strings.TrimPrefix(f, "components."), ".")
		return "doc." + n
	case strings.HasPrefix(f, "components["):
		i, err := strconv.Atoi(f[len("components["):max(strings.IndexByte(f, ']'), len("components["))])
		if err == nil && i >= 0 && i < len(comps) {
			return fmt.Sprintf("doc.%d", comps[i].N)
		}
		if d.Component > 0 {
			return fmt.Sprintf("doc.%d", d.Component)
		}
	case strings.HasPrefix(f, "form_data/"):
		name, _ := fieldOfPointer(f)
		return name
	}
	if d.Component > 0 {
		return fmt.Sprintf("doc.%d", d.Component)
	}
	return ""
}

// putUpload checks and stores one uploaded file.
func (p *Pages) putUpload(ctx context.Context, fh *multipart.FileHeader) (dossier.File, error) {
	file, err := fh.Open()
	if err != nil {
		return dossier.File{}, fmt.Errorf("open upload %q: %w", fh.Filename, err)
	}
	defer file.Close()
	return p.cfg.Dossiers.PutFile(ctx, fh.Filename, file)
}

// uploadError is the message of an upload the service refused (type,
// size, unreadable), or false for other errors.
func uploadError(lang i18n.Lang, err error) (string, bool) {
	var de *dossier.Error
	var ve *dossier.ValidationError
	switch {
	case errors.As(err, &de) && (errors.Is(err, dossier.ErrRejectedFile) || errors.Is(err, dossier.ErrTooLarge)):
		return de.Message(lang), true
	case errors.As(err, &ve) && len(ve.Defects) > 0:
		return defectText(lang, ve.Defects[0]), true
	}
	return "", false
}

// ---- drafts list, review, submit, delete ---------------------------------------

func (p *Pages) draftList(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.signedIn(w, r, "")
	if !ok {
		return
	}
	drafts, err := p.store.drafts(r.Context(), pr.PersonID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, "drafts", http.StatusOK, drafts)
}

func (p *Pages) draftDelete(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.signedIn(w, r, "/my/drafts")
	if !ok {
		return
	}
	if err := p.store.deleteDraft(r.Context(), r.PathValue("id"), pr.PersonID); err != nil {
		p.fail(w, r, err)
		return
	}
	web.SetFlash(w, "portal.flash.deleted")
	http.Redirect(w, r, "/my/drafts", http.StatusSeeOther)
}

// reviewView is the page before submitting.
type reviewView struct {
	*applyView
	Place string // the agency that receives the dossier
}

func (p *Pages) review(w http.ResponseWriter, r *http.Request) {
	pr, d, proc, v, ok := p.openDraft(w, r)
	if !ok {
		return
	}
	// Something changed since (the procedure, a file): back to the form
	// with every problem shown.
	if !p.check(r, pr, proc, d, v) {
		p.render(w, r, "apply", http.StatusUnprocessableEntity, v)
		return
	}
	ctx := r.Context()
	rv := reviewView{applyView: v}
	if pl, err := p.cfg.Place(ctx, proc, d.Data.Values["commune"]); err == nil {
		rv.Place = pl.ReceivingAgency
		if a, err := p.cfg.Catalog.Agency(ctx, pl.ReceivingAgency); err == nil {
			rv.Place = a.Name
		}
	}
	p.render(w, r, "review", http.StatusOK, rv)
}

// submit records the dossier. The draft's idempotency key makes a double
// click, a retry after a timeout or two tabs record one dossier.
func (p *Pages) submit(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	pr, ok := p.signedIn(w, r, draftURL(id))
	if !ok {
		return
	}
	ctx := r.Context()
	d, err := p.store.draft(ctx, id, pr.PersonID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if d.Submitted() {
		http.Redirect(w, r, dossierURL(d.DossierCode)+"?submitted=1", http.StatusSeeOther)
		return
	}
	proc, err := p.loadProcedure(ctx, d.ProcedureCode)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v, err := p.newApplyView(ctx, proc, d, pr.PersonID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if !p.check(r, pr, proc, d, v) {
		p.render(w, r, "apply", http.StatusUnprocessableEntity, v)
		return
	}
	place, err := p.cfg.Place(ctx, proc, d.Data.Values["commune"])
	if err != nil {
		p.fail(w, r, err)
		return
	}
	rc, err := p.cfg.Dossiers.Submit(ctx, dossier.SubmitInput{Submission: submission(proc, d, v.Fields), Placement: place,
		IdempotencyKey: d.IdemKey})
	if err != nil {
		lang := i18n.FromRequest(r)
		var ve *dossier.ValidationError
		if errors.As(err, &ve) {
			v.mapDefects(lang, ve.Defects, submission(proc, d, v.Fields).Components)
			v.summarize(lang)
		} else if errors.As(err, new(*dossier.Error)) {
			v.Problem = errorText(lang, err)
		} else {
			p.fail(w, r, err)
			return
		}
		p.render(w, r, "apply", http.StatusUnprocessableEntity, v)
		return
	}
	if err := p.store.markSubmitted(ctx, d, rc.Code); err != nil {
		// The dossier exists; the next submit replays the same receipt.
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, dossierURL(rc.Code)+"?submitted=1", http.StatusSeeOther)
}
