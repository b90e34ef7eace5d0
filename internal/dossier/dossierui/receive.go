package dossierui

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

// docRow is one required document of the procedure on the counter form:
// what was provided (form, count) and the files uploaded so far.
type docRow struct {
	N        int
	Doc      catalog.Document
	Provided string
	Quantity string
	Kept     []keptFile
	Err      string
}

// keptFile is a file already uploaded (stored and checked) for a document;
// the form keeps it as a checked box so a failed submission does not make
// the officer upload it again.
type keptFile struct {
	Name      string
	Hash      string
	Digitized bool
}

// Value encodes the file for its checkbox: "hash:digitized:name".
func (k keptFile) Value() string {
	d := "0"
	if k.Digitized {
		d = "1"
	}
	return k.Hash + ":" + d + ":" + k.Name
}

func parseKept(s string) (keptFile, bool) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || len(parts[0]) != 64 || parts[2] == "" {
		return keptFile{}, false
	}
	return keptFile{Hash: parts[0], Digitized: parts[1] == "1", Name: parts[2]}, true
}

// problem is one line of the error summary, linking to its input.
type problem struct {
	Anchor string
	Text   string
}

type receiveView struct {
	Step int
	// Step 1: the procedure search.
	Query    string
	Results  []catalog.ProcedureSummary
	Total    int
	Searched bool
	// Step 2: the form.
	Proc         catalog.Procedure
	FieldName    string
	Competent    string
	Desks        []option
	Desk         string
	DeskFree     bool
	Divisions    []option
	Division     string
	DivisionFree bool
	Channel      string
	A            dossier.Applicant
	Rep          dossier.Representative
	Docs         []docRow
	Fields       []formField
	Comment      string
	Reason       string
	Notes        string
	Idem         string
	Errors       map[string]string
	Summary      []problem
	Checked      bool
	Complete     bool
	Problem      string
}

// Err returns the message for an input, or "".
func (v receiveView) Err(name string) string { return v.Errors[name] }

const receiveSearchLimit = 20

func (p *Pages) receiveForm(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, "/work/receive", identity.ActionDossierReceive)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	if code := strings.TrimSpace(q.Get("procedure")); code != "" {
		proc, err := p.cat.Procedure(ctx, code, p.cat.Today())
		if err != nil {
			p.fail(w, r, "/work/receive", err)
			return
		}
		v := p.newReceiveView(r, pr, proc)
		p.shell.Render(w, r, p.pages["receive"], http.StatusOK, v)
		return
	}
	v := receiveView{Step: 1, Query: strings.TrimSpace(q.Get("q"))}
	if len(v.Query) > 200 {
		v.Query = v.Query[:200]
	}
	if v.Query != "" {
		res, err := p.cat.SearchProcedures(ctx, catalog.ProcedureQuery{Text: v.Query, Limit: receiveSearchLimit})
		if err != nil {
			p.fail(w, r, "/work/receive", err)
			return
		}
		v.Results, v.Total, v.Searched = res.Items, res.Total, true
	}
	p.shell.Render(w, r, p.pages["receive"], http.StatusOK, v)
}

// newReceiveView is the empty form of a procedure.
func (p *Pages) newReceiveView(r *http.Request, pr *identity.Principal, proc catalog.Procedure) receiveView {
	v := receiveView{Step: 2, Proc: proc, Channel: "1", A: dossier.Applicant{Type: dossier.ApplicantCitizen}, Idem: newKey(),
		Fields: schemaFields(proc.FormSchema), Errors: map[string]string{}}
	for i, d := range proc.Documents {
		v.Docs = append(v.Docs, docRow{N: i + 1, Doc: d})
	}
	p.placeOptions(r, pr, &v)
	if len(v.Desks) > 0 {
		v.Desk = v.Desks[0].Value
	}
	v.Division = proc.ImplementingAgency
	if len(v.Divisions) > 0 && !slices.ContainsFunc(v.Divisions, func(o option) bool { return o.Value == v.Division }) {
		v.Division = v.Divisions[0].Value
	}
	return v
}

// placeOptions fills the desks the officer receives at and the divisions
// of the competent agency the dossier may go to.
func (p *Pages) placeOptions(r *http.Request, pr *identity.Principal, v *receiveView) {
	ctx := r.Context()
	v.FieldName, v.Competent, _ = p.cat.Describe(ctx, v.Proc)
	nm := p.names(ctx)
	units, all := identity.UnitsFor(pr, identity.ActionDossierReceive)
	if all {
		v.DeskFree = true
	}
	for _, u := range units {
		v.Desks = append(v.Desks, option{Value: u, Label: nm.Unit(u)})
	}
	competent := v.Proc.CompetentAgency
	if competent == "" && len(units) > 0 {
		// A commune-level procedure: every commune is competent; the
		// receiving commune is the desk's agency.
		competent = p.agencyOf(r, units[0])
	}
	if competent != "" {
		list, err := p.cat.Agencies(ctx, catalog.AgencyQuery{ParentEID: competent, Kind: catalog.KindUnit})
		if err != nil {
			p.shell.Log.WarnContext(ctx, "list divisions", "agency", competent, "err", err)
		}
		for _, a := range list {
			v.Divisions = append(v.Divisions, option{Value: a.EID, Label: a.Name})
		}
	}
	if len(v.Divisions) == 0 {
		v.DivisionFree = true
	}
}

// agencyOf returns the agency a unit belongs to (the unit itself when it
// is an agency or unknown).
func (p *Pages) agencyOf(r *http.Request, unit string) string {
	a, err := p.cat.Agency(r.Context(), unit)
	if err != nil || a.Kind != catalog.KindUnit || a.ParentEID == "" {
		return unit
	}
	return a.ParentEID
}

func (p *Pages) receivePost(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, "/work/receive", identity.ActionDossierReceive)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		p.fail(w, r, "/work/receive", fmt.Errorf("parse reception form: %w", err))
		return
	}
	ctx := r.Context()
	lang := i18n.FromRequest(r)
	f := r.PostForm
	proc, err := p.cat.Procedure(ctx, f.Get("procedure"), p.cat.Today())
	if errors.Is(err, catalog.ErrNotFound) {
		http.Redirect(w, r, "/work/receive", http.StatusSeeOther)
		return
	}
	if err != nil {
		p.fail(w, r, "/work/receive", err)
		return
	}
	v := p.newReceiveView(r, pr, proc)
	v.Idem = f.Get("idem")
	if v.Idem == "" {
		v.Idem = newKey()
	}
	v.Desk, v.Division, v.Channel = strings.TrimSpace(f.Get("desk")), strings.TrimSpace(f.Get("division")), f.Get("channel")
	v.A = dossier.Applicant{Type: dossier.ApplicantType(f.Get("applicant.type")), Name: strings.TrimSpace(f.Get("applicant.name")),
		PersonalID: strings.TrimSpace(f.Get("applicant.personal_id")), TaxCode: strings.TrimSpace(f.Get("applicant.tax_code")),
		Phone: strings.TrimSpace(f.Get("applicant.phone")), Email: strings.TrimSpace(f.Get("applicant.email")),
		Address: strings.TrimSpace(f.Get("applicant.address"))}
	v.Rep = dossier.Representative{Name: strings.TrimSpace(f.Get("rep.name")), PersonalID: strings.TrimSpace(f.Get("rep.personal_id")),
		Phone: strings.TrimSpace(f.Get("rep.phone")), Relation: strings.TrimSpace(f.Get("rep.relation"))}
	v.Comment, v.Reason, v.Notes = strings.TrimSpace(f.Get("comment")), strings.TrimSpace(f.Get("reason")), f.Get("notes")
	fillFields(v.Fields, f)

	// Documents: what was provided, the files kept from an earlier post and
	// the new uploads (checked and stored now, kept on the form from then on).
	for i := range v.Docs {
		d := &v.Docs[i]
		key := fmt.Sprintf("doc.%d", d.N)
		d.Provided, d.Quantity = f.Get(key+".provided"), strings.TrimSpace(f.Get(key+".quantity"))
		for _, s := range f[key+".keep"] {
			if k, ok := parseKept(s); ok && !slices.ContainsFunc(d.Kept, func(x keptFile) bool { return x.Hash == k.Hash }) {
				d.Kept = append(d.Kept, k)
			}
		}
		if r.MultipartForm == nil {
			continue
		}
		for _, fh := range r.MultipartForm.File[key+".file"] {
			if fh.Filename == "" && fh.Size == 0 {
				continue
			}
			file, err := p.putUpload(r, fh)
			if err != nil {
				if msg, ok := uploadError(lang, err); ok {
					v.Errors[key] = fh.Filename + ": " + msg
					continue
				}
				p.fail(w, r, "/work/receive", err)
				return
			}
			if d.Provided == "" {
				d.Provided = string(catalog.FormElectronic) // a file alone is an electronic copy
			}
			// A scan of a paper document is digitized at the counter (§3 step 2.1).
			k := keptFile{Name: file.Name, Hash: file.Hash, Digitized: d.Provided != string(catalog.FormElectronic)}
			if !slices.ContainsFunc(d.Kept, func(x keptFile) bool { return x.Hash == k.Hash }) {
				d.Kept = append(d.Kept, k)
			}
		}
	}
	sub, comps := v.submission(proc)
	place := dossier.Placement{ReceivingAgency: p.agencyOf(r, v.Desk), ReceivingUnit: v.Desk, DivisionUnit: v.Division}
	if v.Desk == "" {
		place.ReceivingAgency = ""
	}
	status := http.StatusUnprocessableEntity
	op := f.Get("op")
	switch {
	case len(v.Errors) > 0:
		// An upload was refused: say so before anything else.
	case op == "check":
		rep, err := p.svc.Check(ctx, dossier.CheckInput{Submission: sub, Actor: pr})
		if err != nil {
			p.receiveFailed(w, r, &v, comps, err)
			return
		}
		v.Checked, v.Complete = true, rep.Complete
		v.mapDefects(lang, rep.Defects, comps)
		status = http.StatusOK
	case op == "receive":
		rc, err := p.svc.Receive(ctx, dossier.ReceiveInput{Submission: sub, Placement: place, Comment: v.Comment, Actor: pr,
			IdempotencyKey: v.Idem})
		if err != nil {
			p.receiveFailed(w, r, &v, comps, err)
			return
		}
		web.SetFlash(w, "dossierui.flash.received")
		http.Redirect(w, r, dossierURL(rc.Code)+"?received=1", http.StatusSeeOther)
		return
	case op == "supplement":
		code, ok := p.supplementAtCounter(w, r, pr, &v, sub, place, comps)
		if !ok {
			return
		}
		web.SetFlash(w, "dossierui.flash.supplement")
		http.Redirect(w, r, dossierURL(code), http.StatusSeeOther)
		return
	case op == "refuse":
		res, err := p.svc.Refuse(ctx, dossier.RefuseInput{Submission: sub, Placement: place, Reason: v.Reason, Actor: pr,
			IdempotencyKey: v.Idem})
		if err != nil {
			p.receiveFailed(w, r, &v, comps, err)
			return
		}
		web.SetFlash(w, "dossierui.flash.refused")
		http.Redirect(w, r, dossierURL(res.Code), http.StatusSeeOther)
		return
	default:
		status = http.StatusOK // a plain redisplay
	}
	p.shell.Render(w, r, p.pages["receive"], status, v)
}

// supplementAtCounter records the submission and issues the supplement
// request (form 02) listing everything the check finds and the officer's
// own notes, in two idempotent steps (a retry replays both). It answers
// the page itself when something is refused.
func (p *Pages) supplementAtCounter(w http.ResponseWriter, r *http.Request, pr *identity.Principal, v *receiveView,
	sub dossier.Submission, place dossier.Placement, comps []dossier.ComponentInput) (string, bool) {
	ctx := r.Context()
	lang := i18n.FromRequest(r)
	rep, err := p.svc.Check(ctx, dossier.CheckInput{Submission: sub, Actor: pr})
	if err != nil {
		p.receiveFailed(w, r, v, comps, err)
		return "", false
	}
	defects := slices.Clone(rep.Defects)
	for _, line := range lines(v.Notes) {
		defects = append(defects, dossier.Defect{Field: "notes", Message: line})
	}
	// Nothing is written until the request can be issued: a reason and at
	// least one thing to supply.
	if v.Reason == "" || len(defects) == 0 {
		if v.Reason == "" {
			v.Errors["reason"] = i18n.T(lang, "dossierui.receive.reason_required")
			v.Summary = append(v.Summary, problem{Anchor: "reason", Text: v.Errors["reason"]})
		}
		if len(defects) == 0 {
			v.Errors["notes"] = i18n.T(lang, "dossierui.receive.notes_required")
			v.Summary = append(v.Summary, problem{Anchor: "notes", Text: v.Errors["notes"]})
		}
		p.shell.Render(w, r, p.pages["receive"], http.StatusUnprocessableEntity, v)
		return "", false
	}
	rc, err := p.svc.Submit(ctx, dossier.SubmitInput{Submission: sub, Placement: place, Actor: pr, IdempotencyKey: v.Idem})
	if err != nil {
		p.receiveFailed(w, r, v, comps, err)
		return "", false
	}
	if _, err := p.svc.RequestSupplement(ctx, dossier.SupplementRequestInput{DossierCode: rc.Code, Reason: v.Reason, Defects: defects,
		Actor: pr, IdempotencyKey: v.Idem + "-supplement"}); err != nil {
		// The dossier is recorded: finish from its page.
		p.shell.Log.WarnContext(ctx, "supplement request at the counter", "code", rc.Code, "err", err)
		web.SetFlash(w, "dossierui.flash.recorded_only")
		http.Redirect(w, r, dossierURL(rc.Code), http.StatusSeeOther)
		return "", false
	}
	return rc.Code, true
}

// receiveFailed shows the form again with what the service refused.
func (p *Pages) receiveFailed(w http.ResponseWriter, r *http.Request, v *receiveView, comps []dossier.ComponentInput, err error) {
	lang := i18n.FromRequest(r)
	var ve *dossier.ValidationError
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &ve):
		v.Checked = ve.Incomplete
		v.mapDefects(lang, ve.Defects, comps)
	case errors.Is(err, dossier.ErrUnauthenticated):
		toLogin(w, r, "/work/receive")
		return
	case errors.Is(err, dossier.ErrForbidden):
		status, v.Problem = http.StatusForbidden, errorText(lang, err)
	case errors.Is(err, dossier.ErrConflict), errors.Is(err, dossier.ErrInvalidAction):
		status, v.Problem = http.StatusConflict, errorText(lang, err)
	case errors.Is(err, dossier.ErrIdempotencyKeyReused), errors.Is(err, dossier.ErrInvalid):
		v.Problem = errorText(lang, err)
		v.Idem = newKey()
	default:
		p.fail(w, r, "/work/receive", err)
		return
	}
	p.shell.Render(w, r, p.pages["receive"], status, v)
}

// submission builds the service's input from the form: the components
// provided (in the procedure's order) and the form data.
func (v *receiveView) submission(proc catalog.Procedure) (dossier.Submission, []dossier.ComponentInput) {
	ch, _ := strconv.Atoi(v.Channel)
	sub := dossier.Submission{ProcedureCode: proc.Code, Channel: dossier.Channel(ch), Applicant: v.A, FormData: formData(v.Fields)}
	if v.Rep != (dossier.Representative{}) {
		rep := v.Rep
		sub.Representative = &rep
	}
	for _, d := range v.Docs {
		if d.Provided == "" && len(d.Kept) == 0 {
			continue
		}
		c := dossier.ComponentInput{N: d.N, Provided: catalog.DocumentForm(d.Provided)}
		if n, err := strconv.Atoi(d.Quantity); err == nil {
			c.Quantity = n
		} else if d.Quantity != "" {
			c.Quantity = -1 // reported as an invalid quantity
		}
		for _, k := range d.Kept {
			c.Files = append(c.Files, dossier.FileRef{Name: k.Name, Hash: k.Hash, Digitized: k.Digitized})
		}
		sub.Components = append(sub.Components, c)
	}
	return sub, sub.Components
}

// mapDefects puts each defect on its input and in the summary, so that
// every problem shows at once (§3 step 1.1).
func (v *receiveView) mapDefects(lang i18n.Lang, defects []dossier.Defect, comps []dossier.ComponentInput) {
	if v.Errors == nil {
		v.Errors = map[string]string{}
	}
	fieldNames := map[string]bool{}
	for _, f := range v.Fields {
		fieldNames[f.Name] = true
	}
	for _, d := range defects {
		name := inputOf(d, comps)
		msg := defectText(lang, d)
		anchor := ""
		if name != "" && (!strings.HasPrefix(name, "fd.") || fieldNames[name]) {
			if _, seen := v.Errors[name]; !seen {
				v.Errors[name] = msg
			} else {
				v.Errors[name] += " " + msg
			}
			anchor = strings.NewReplacer(".", "_").Replace(name)
		}
		label := d.Document
		if label == "" {
			label = fieldLabel(lang, name, v.Fields)
		}
		if label != "" && !strings.Contains(msg, label) {
			msg = label + ": " + msg
		}
		v.Summary = append(v.Summary, problem{Anchor: anchor, Text: msg})
	}
	for i := range v.Fields {
		v.Fields[i].Err = v.Errors[v.Fields[i].Name]
	}
	for i := range v.Docs {
		v.Docs[i].Err = v.Errors[fmt.Sprintf("doc.%d", v.Docs[i].N)]
	}
}

// fieldLabel names an input for the error summary.
func fieldLabel(lang i18n.Lang, name string, fields []formField) string {
	for _, f := range fields {
		if f.Name == name {
			if f.Group != "" {
				return f.Group + " – " + f.Label
			}
			return f.Label
		}
	}
	if name == "" {
		return ""
	}
	key := "dossierui.receive.label." + name
	if i18n.Has(key) {
		return i18n.T(lang, key)
	}
	return ""
}

// inputOf maps a defect's field to the form's input name ("" when the
// defect belongs to no input).
func inputOf(d dossier.Defect, comps []dossier.ComponentInput) string {
	f := d.Field
	switch {
	case strings.HasPrefix(f, "applicant."):
		return f
	case strings.HasPrefix(f, "representative."):
		return "rep." + strings.TrimPrefix(f, "representative.")
	case strings.HasPrefix(f, "components."):
		return "doc." + strings.TrimPrefix(f, "components.")
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
	case f == "channel":
		return "channel"
	case f == "receiving_unit", f == "receiving_agency":
		return "desk"
	case f == "division_unit", f == "agency_unit", f == "competent_agency":
		return "division"
	case f == "reason", f == "comment", f == "notes":
		return f
	}
	return ""
}
