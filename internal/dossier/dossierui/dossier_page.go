package dossierui

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
	"github.com/congso/congso/internal/workflow"
)

// actionForm is the form of one action the viewer may take now.
type actionForm struct {
	Key        string
	Name       string
	Branch     string
	Version    int64
	IdemKey    string
	SendBack   bool
	Comment    bool // a comment (reason) is required
	Attach     bool // an attachment is required
	Signature  bool // a signature reference is required
	Assign     bool // the action sets the assignee
	Extends    bool // extension: new appointment date
	Supplement bool // supplement request: defects, one per line
	Fork       bool // consultation: the agencies, one e-ID per line
	Assignees  []option
	// Receive is the reception of a recorded (online) dossier: the officer
	// picks the division of the competent agency it goes to.
	Receive   bool
	Divisions []option
	// Values and errors of a post that failed, shown again.
	Values map[string]string
	Errors map[string]string
}

// divisions are the units of the dossier's competent agency (the receiving
// desk's agency for commune procedures) a received dossier may go to.
func (p *Pages) divisions(r *http.Request, d *dossier.Dossier) []option {
	ctx := r.Context()
	competent := d.CompetentAgency
	if competent == "" {
		competent = p.agencyOf(r, d.ReceivingUnit)
	}
	list, err := p.cat.Agencies(ctx, catalog.AgencyQuery{ParentEID: competent, Kind: catalog.KindUnit})
	if err != nil {
		p.shell.Log.WarnContext(ctx, "list divisions", "agency", competent, "err", err)
		return nil
	}
	var out []option
	for _, a := range list {
		out = append(out, option{Value: a.EID, Label: a.Name})
	}
	return out
}

// Err returns the message for a field of the form, or "".
func (f actionForm) Err(field string) string { return f.Errors[field] }

// Val returns the submitted value of a field, or "".
func (f actionForm) Val(field string) string { return f.Values[field] }

// option is a choice of a select.
type option struct {
	Value, Label string
}

type fileView struct {
	dossier.File
	URL string
}

type componentView struct {
	dossier.Component
	Files   []fileView
	History []fileView
}

type resultView struct {
	dossier.Result
	URL string
}

type attachmentView struct {
	Name, URL string
}

type timelineRow struct {
	At          time.Time
	Actor       string
	Role        string
	Unit        string
	Action      string
	State       string
	Branch      string
	Comment     string
	Signature   string
	SendBack    bool
	DueAt       time.Time
	Attachments []attachmentView
}

type noticeView struct {
	dossier.Notice
	Defects []string
}

// resultForm is the form that adds a result document.
type resultForm struct {
	IdemKey string
	Values  map[string]string
	Errors  map[string]string
}

// Err returns the message for a field, or "".
func (f resultForm) Err(field string) string { return f.Errors[field] }

// Val returns the submitted value of a field, or "".
func (f resultForm) Val(field string) string { return f.Values[field] }

type dossierView struct {
	D          *dossier.Dossier
	Process    string
	State      string
	Channel    string
	SLA        sla
	Receiving  string
	Competent  string
	Current    string
	Assignee   string
	ReceivedBy string
	Components []componentView
	Results    []resultView
	Notices    []noticeView
	// Forms are the one-stop forms the dossier's state allows printing.
	Forms    []formLink
	Timeline []timelineRow
	Actions  []actionForm
	// Receipt shows the reception's code and appointment date (after the
	// counter form's redirect).
	Receipt bool
	// Problem is a page-level message (conflict, refused action).
	Problem string
	// CanAttach shows the digitization form; CanResult the result form.
	CanAttach bool
	AttachErr string
	CanResult bool
	Result    resultForm
	// Related are other modules' sections (notifications, payments, post).
	Related []RelatedSection
}

func dossierURL(code string) string { return "/work/dossiers/" + url.PathEscape(code) }

func (p *Pages) dossierPage(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	pr := principal(r)
	if !pr.Authenticated() {
		toLogin(w, r, dossierURL(code))
		return
	}
	v, err := p.dossierView(r, code, pr)
	if err != nil {
		p.fail(w, r, dossierURL(code), err)
		return
	}
	v.Receipt = r.URL.Query().Get("received") == "1" && !v.D.ReceivedAt.IsZero()
	p.shell.Render(w, r, p.pages["dossier"], http.StatusOK, v)
}

// dossierView loads a dossier as the viewer may see it, with fresh forms.
func (p *Pages) dossierView(r *http.Request, code string, pr *identity.Principal) (*dossierView, error) {
	ctx := r.Context()
	lang := i18n.FromRequest(r)
	d, err := p.svc.Get(ctx, code, pr)
	if err != nil {
		return nil, err
	}
	def := p.defs(ctx).get(d.ProcessKey, d.ProcessVersion)
	nm := p.names(ctx)
	v := &dossierView{D: d, State: stateName(lang, def, d.State), Channel: i18n.T(lang, fmt.Sprintf("dossierui.channel.%d", d.Channel)),
		Receiving: nm.Unit(d.ReceivingUnit), Competent: nm.Unit(d.CompetentAgency), Current: nm.Unit(d.Unit),
		Assignee: nm.Person(d.Assignee), ReceivedBy: nm.Person(d.ReceivedBy), Result: resultForm{IdemKey: newKey()}}
	if p.Related != nil {
		rel, err := p.Related(ctx, d.Code)
		if err != nil {
			return nil, err
		}
		v.Related = rel
	}
	if def != nil {
		v.Process = text(lang, def.Name)
	}
	v.SLA = p.dossierSLA(d, def)
	base := dossierURL(d.Code) + "/files/"
	for _, c := range d.Components {
		cv := componentView{Component: c}
		for _, f := range c.Files {
			cv.Files = append(cv.Files, fileView{File: f, URL: base + f.Hash})
		}
		for _, f := range c.History {
			cv.History = append(cv.History, fileView{File: f, URL: base + f.Hash})
		}
		v.Components = append(v.Components, cv)
	}
	for _, res := range d.Results {
		v.Results = append(v.Results, resultView{Result: res, URL: base + res.File.Hash})
	}
	for _, f := range d.Forms() {
		v.Forms = append(v.Forms, formLink{Form: f, URL: formURL(d.Code, f)})
	}
	for _, n := range d.Notices {
		nv := noticeView{Notice: n}
		for _, df := range n.Defects {
			nv.Defects = append(nv.Defects, defectText(lang, df))
		}
		v.Notices = append(v.Notices, nv)
	}
	for _, h := range d.Timeline {
		row := timelineRow{At: h.At, Actor: nm.Person(h.Actor), Unit: nm.Unit(h.Unit), Action: actionName(lang, def, h.From, h.Action, h.ActionName),
			State: stateName(lang, def, h.To), Branch: h.Branch, Comment: h.Comment, Signature: h.Signature, SendBack: h.SendBack, DueAt: h.DueAt}
		if h.Role != "" {
			row.Role = identity.Role(h.Role).Label()
			if lang == i18n.English {
				row.Role = h.Role
			}
		}
		for _, a := range h.Attachments {
			row.Attachments = append(row.Attachments, attachmentView{Name: a.Name, URL: base + a.Hash})
		}
		v.Timeline = append(v.Timeline, row)
	}
	for _, a := range d.Actions {
		f := actionForm{Key: a.Key, Name: a.Name, Branch: a.Branch, Version: d.Version, IdemKey: newKey(), SendBack: a.SendBack,
			Assign: a.Assign, Extends: a.Extends, Supplement: a.Key == "request_supplement"}
		if def != nil {
			f.Name = branchActionName(lang, def, d.State, a.Key, a.Name)
			if st, ok := def.State(a.Next); ok && st.Kind == workflow.KindFork {
				f.Fork = true
			}
		}
		for _, req := range a.Requires {
			switch workflow.Requirement(req) {
			case workflow.NeedComment:
				f.Comment = true
			case workflow.NeedAttachments:
				f.Attach = true
			case workflow.NeedSignature:
				f.Signature = true
			}
		}
		if f.Assign && p.People != nil {
			f.Assignees = p.assignees(r, d)
		}
		if a.Key == "receive" && a.Branch == "" {
			f.Receive = true
			f.Divisions = p.divisions(r, d)
		}
		v.Actions = append(v.Actions, f)
	}
	if !d.Ended() {
		units := []string{d.Unit, d.ReceivingUnit, d.DivisionUnit, d.AgencyUnit}
		v.CanAttach = canIn(r, pr, units, identity.ActionDossierReceive, identity.ActionDossierProcess)
		v.CanResult = canIn(r, pr, units, identity.ActionDossierIssue, identity.ActionDossierSign, identity.ActionDossierProcess)
	}
	return v, nil
}

// branchActionName names an action the viewer may take: from the
// dossier's state, or, for an action of a branch (whose state the Dossier
// does not carry), from the first state of the process that has it.
func branchActionName(lang i18n.Lang, def *workflow.Definition, state, key, fallback string) string {
	for _, a := range def.Actions(state) {
		if a.Key == key {
			return text(lang, a.Name)
		}
	}
	for _, st := range def.States {
		for _, a := range def.Actions(st.Key) {
			if a.Key == key {
				return text(lang, a.Name)
			}
		}
	}
	return fallback
}

// canIn reports whether pr may do one of actions in one of units.
func canIn(r *http.Request, pr *identity.Principal, units []string, actions ...identity.Action) bool {
	for _, u := range units {
		if u == "" {
			continue
		}
		for _, a := range actions {
			if identity.Can(r.Context(), pr, a, u) {
				return true
			}
		}
	}
	return false
}

// assignees lists the handlers of the dossier's current unit.
func (p *Pages) assignees(r *http.Request, d *dossier.Dossier) []option {
	people, err := p.People.Grantees(r.Context(), identity.RoleHandler, d.Unit)
	if err != nil {
		p.shell.Log.WarnContext(r.Context(), "list handlers", "unit", d.Unit, "err", err)
		return nil
	}
	out := make([]option, 0, len(people))
	for _, x := range people {
		out = append(out, option{Value: x.ID, Label: x.FullName})
	}
	return out
}

// dossierSLA is the badge of a dossier: finished on time or late, paused,
// or where its running clock stands (near breach from the process's
// warning lead before the appointment date).
func (p *Pages) dossierSLA(d *dossier.Dossier, def *workflow.Definition) sla {
	if !d.FinishedAt.IsZero() && !d.DueAt.IsZero() {
		if d.FinishedAt.After(d.DueAt) {
			return sla{"bad", "dossierui.sla.late"}
		}
		return sla{"ok", "dossierui.sla.done_on_time"}
	}
	if d.Ended() {
		return sla{"", "dossierui.sla.ended"}
	}
	var warn time.Time
	if def != nil && def.Escalation != nil && def.Escalation.WarnBeforeHours > 0 && !d.DueAt.IsZero() {
		warn = p.wf.Calendar().AddWorkingHours(d.DueAt, -time.Duration(def.Escalation.WarnBeforeHours)*time.Hour)
	}
	return badge(p.now(), d.DueAt, warn, !d.PausedAt.IsZero())
}

// maxForm bounds the memory of a parsed multipart form; larger files go to
// temporary files.
const maxForm = 8 << 20

func parseForm(r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		return r.ParseMultipartForm(maxForm)
	}
	return r.ParseForm()
}

// act takes an action from one of the dossier page's forms.
func (p *Pages) act(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	back := dossierURL(code)
	pr := principal(r)
	if !pr.Authenticated() {
		toLogin(w, r, back)
		return
	}
	if err := parseForm(r); err != nil {
		p.fail(w, r, back, fmt.Errorf("parse action form: %w", err))
		return
	}
	ctx := r.Context()
	lang := i18n.FromRequest(r)
	f := r.PostForm
	in := dossier.ActInput{DossierCode: code, Action: f.Get("action"), Branch: f.Get("branch"), Actor: pr,
		Comment: strings.TrimSpace(f.Get("comment")), Assignee: strings.TrimSpace(f.Get("assignee")),
		Signature: strings.TrimSpace(f.Get("signature")), IdempotencyKey: f.Get("idem")}
	in.ExpectedVersion, _ = strconv.ParseInt(f.Get("expected_version"), 10, 64)
	values := map[string]string{}
	for _, k := range []string{"comment", "assignee", "signature", "new_due", "defects", "branches", "division"} {
		values[k] = f.Get(k)
	}
	formErrs := map[string]string{}
	if s := strings.TrimSpace(f.Get("new_due")); s != "" {
		day, err := calendar.ParseDate(s)
		if err != nil {
			formErrs["new_due"] = i18n.T(lang, "dossierui.act.bad_date")
		} else {
			// A date: the dossier service sets the close of that office day.
			in.NewDue = day.In(web.Location)
		}
	}
	for _, line := range lines(f.Get("branches")) {
		in.Branches = append(in.Branches, dossier.BranchInput{Unit: line})
	}
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["attachment"] {
			if fh.Size == 0 && fh.Filename == "" {
				continue
			}
			file, err := p.putUpload(r, fh)
			if err != nil {
				if msg, ok := uploadError(lang, err); ok {
					formErrs["attachment"] = msg
					continue
				}
				p.fail(w, r, back, err)
				return
			}
			in.Attachments = append(in.Attachments, workflow.Attachment{Name: file.Name, Hash: file.Hash})
		}
	}
	var err error
	if len(formErrs) == 0 {
		if in.Action == "request_supplement" {
			var defects []dossier.Defect
			for _, line := range lines(f.Get("defects")) {
				defects = append(defects, dossier.Defect{Message: line})
			}
			_, err = p.svc.RequestSupplement(ctx, dossier.SupplementRequestInput{DossierCode: code, Reason: in.Comment, Defects: defects,
				ExpectedVersion: in.ExpectedVersion, Actor: pr, IdempotencyKey: in.IdempotencyKey})
		} else if in.Action == "receive" && in.Branch == "" {
			// Reception of a recorded dossier: the completeness check, the
			// division it goes to, the appointment date (§3 step 2).
			_, err = p.svc.Receive(ctx, dossier.ReceiveInput{DossierCode: code, Comment: in.Comment, Actor: pr,
				IdempotencyKey: in.IdempotencyKey, Placement: dossier.Placement{DivisionUnit: strings.TrimSpace(f.Get("division"))}})
		} else {
			_, err = p.svc.Act(ctx, in)
		}
		if err == nil {
			web.SetFlash(w, "dossierui.flash.done")
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
	}
	// Refused: explain on the page, with the fresh state.
	var ve *dossier.ValidationError
	status := http.StatusUnprocessableEntity
	problem := ""
	switch {
	case err == nil:
	case errors.As(err, &ve):
		for _, d := range ve.Defects {
			field := d.Field
			if strings.HasPrefix(field, "defects") {
				field = "defects"
			} else if strings.HasPrefix(field, "attachments") {
				field = "attachment"
			} else if strings.HasPrefix(field, "branches") {
				field = "branches"
			} else if field == "reason" {
				field = "comment" // the reason of a supplement request is the comment box
			} else if field == "division_unit" {
				field = "division"
			}
			if _, seen := formErrs[field]; !seen {
				formErrs[field] = defectText(lang, d)
			}
		}
	case refusedField(err) != "":
		// The engine's "missing input" refusals belong to one field.
		formErrs[refusedField(err)] = errorText(lang, err)
	case errors.Is(err, dossier.ErrUnauthenticated), errors.Is(err, dossier.ErrForbidden), errors.Is(err, dossier.ErrNotFound):
		p.fail(w, r, back, err)
		return
	case errors.Is(err, dossier.ErrConflict), errors.Is(err, dossier.ErrInvalidAction):
		status, problem = http.StatusConflict, errorText(lang, err)
	case errors.Is(err, dossier.ErrIdempotencyKeyReused), errors.Is(err, dossier.ErrInvalid), errors.Is(err, dossier.ErrRejectedFile),
		errors.Is(err, dossier.ErrTooLarge):
		problem = errorText(lang, err)
	default:
		p.fail(w, r, back, err)
		return
	}
	v, gerr := p.dossierView(r, code, pr)
	if gerr != nil {
		p.fail(w, r, back, gerr)
		return
	}
	v.Problem = problem
	if status != http.StatusConflict {
		// Show the form that failed with what was typed; its key was not
		// used (nothing was applied), so it stays.
		for i := range v.Actions {
			a := &v.Actions[i]
			if a.Key == in.Action && a.Branch == in.Branch {
				a.Values, a.Errors, a.IdemKey = values, formErrs, in.IdempotencyKey
			}
		}
		if problem == "" && len(formErrs) > 0 {
			v.Problem = i18n.T(lang, "dossierui.act.invalid")
		}
	}
	p.shell.Render(w, r, p.pages["dossier"], status, v)
}

// workflowFields maps the workflow engine's input refusals to the action
// form's fields.
var workflowFields = map[string]string{
	"workflow.input.assignee_required":    "assignee",
	"workflow.input.attachments_required": "attachment",
	"workflow.input.attachment_invalid":   "attachment",
	"workflow.input.branches_required":    "branches",
	"workflow.input.branch_invalid":       "branches",
	"workflow.input.comment_required":     "comment",
	"workflow.input.new_due_required":     "new_due",
	"workflow.input.new_due_not_later":    "new_due",
	"workflow.input.signature_required":   "signature",
}

// refusedField returns the form field a refusal is about, or "".
func refusedField(err error) string {
	var de *dossier.Error
	if errors.As(err, &de) {
		return workflowFields[de.Code]
	}
	return ""
}

// lines returns the non-empty trimmed lines of s.
func lines(s string) []string {
	var out []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
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

// putUpload checks and stores one uploaded file.
func (p *Pages) putUpload(r *http.Request, fh *multipart.FileHeader) (dossier.File, error) {
	file, err := fh.Open()
	if err != nil {
		return dossier.File{}, fmt.Errorf("open upload %q: %w", fh.Filename, err)
	}
	defer file.Close()
	return p.svc.PutFile(r.Context(), fh.Filename, file)
}

// attach adds a file (a scan of a paper document, or a new version) to a
// component of the dossier.
func (p *Pages) attach(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	back := dossierURL(code)
	pr := principal(r)
	if !pr.Authenticated() {
		toLogin(w, r, back)
		return
	}
	if err := parseForm(r); err != nil {
		p.fail(w, r, back, fmt.Errorf("parse file form: %w", err))
		return
	}
	lang := i18n.FromRequest(r)
	n, _ := strconv.Atoi(r.PostForm.Get("component"))
	var err error
	var files []*multipart.FileHeader
	if r.MultipartForm != nil {
		files = r.MultipartForm.File["file"]
	}
	var msg string
	if len(files) == 0 {
		msg = i18n.T(lang, "dossierui.attach.no_file")
	}
	for _, fh := range files {
		var body io.ReadCloser
		if body, err = fh.Open(); err != nil {
			p.fail(w, r, back, err)
			return
		}
		_, err = p.svc.AttachFile(r.Context(), dossier.AttachInput{DossierCode: code, Component: n, Name: fh.Filename, Body: body,
			Digitized: r.PostForm.Get("digitized") == "1", Actor: pr})
		body.Close()
		if err != nil {
			break
		}
	}
	if err == nil && msg == "" {
		web.SetFlash(w, "dossierui.flash.file_added")
		http.Redirect(w, r, back+"#components", http.StatusSeeOther)
		return
	}
	umsg, ok := uploadError(lang, err)
	switch {
	case msg != "":
	case ok:
		msg = umsg
	case errors.Is(err, dossier.ErrInvalidAction):
		msg = errorText(lang, err)
	case errors.Is(err, dossier.ErrNotFound) && n > 0:
		msg = errorText(lang, err)
	default:
		p.fail(w, r, back, err)
		return
	}
	v, gerr := p.dossierView(r, code, pr)
	if gerr != nil {
		p.fail(w, r, back, gerr)
		return
	}
	v.AttachErr = msg
	p.shell.Render(w, r, p.pages["dossier"], http.StatusUnprocessableEntity, v)
}

// addResult adds a result document (or a new version of one).
func (p *Pages) addResult(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	back := dossierURL(code)
	pr := principal(r)
	if !pr.Authenticated() {
		toLogin(w, r, back)
		return
	}
	if err := parseForm(r); err != nil {
		p.fail(w, r, back, fmt.Errorf("parse result form: %w", err))
		return
	}
	lang := i18n.FromRequest(r)
	f := r.PostForm
	values := map[string]string{}
	for _, k := range []string{"result_code", "name", "issuer", "valid_from", "valid_to"} {
		values[k] = strings.TrimSpace(f.Get(k))
	}
	errs := map[string]string{}
	in := dossier.AddResultInput{DossierCode: code, ResultCode: values["result_code"], Name: values["name"], Issuer: values["issuer"],
		IssuedAt: p.now(), Actor: pr}
	for _, k := range []string{"valid_from", "valid_to"} {
		if values[k] == "" {
			continue
		}
		d, err := calendar.ParseDate(values[k])
		if err != nil {
			errs[k] = i18n.T(lang, "dossierui.act.bad_date")
		}
		if k == "valid_from" {
			in.ValidFrom = d
		} else {
			in.ValidTo = d
		}
	}
	var body io.ReadCloser
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 {
			var err error
			if body, err = fhs[0].Open(); err != nil {
				p.fail(w, r, back, err)
				return
			}
			defer body.Close()
			in.Body, in.FileName = body, fhs[0].Filename
		}
	}
	var err error
	if len(errs) == 0 {
		if _, err = p.svc.AddResult(r.Context(), in); err == nil {
			web.SetFlash(w, "dossierui.flash.result_added")
			http.Redirect(w, r, back+"#results", http.StatusSeeOther)
			return
		}
	}
	var ve *dossier.ValidationError
	problem := ""
	switch {
	case err == nil:
	case errors.As(err, &ve):
		for _, d := range ve.Defects {
			if _, seen := errs[d.Field]; !seen {
				errs[d.Field] = defectText(lang, d)
			}
		}
	case errors.Is(err, dossier.ErrRejectedFile), errors.Is(err, dossier.ErrTooLarge):
		errs["file"], _ = uploadError(lang, err)
	case errors.Is(err, dossier.ErrInvalidAction):
		problem = errorText(lang, err)
	default:
		p.fail(w, r, back, err)
		return
	}
	v, gerr := p.dossierView(r, code, pr)
	if gerr != nil {
		p.fail(w, r, back, gerr)
		return
	}
	v.Problem = problem
	v.Result.Values, v.Result.Errors = values, errs
	p.shell.Render(w, r, p.pages["dossier"], http.StatusUnprocessableEntity, v)
}

// download serves a file of the dossier: inline, so that PDFs and images
// open in the browser's viewer, unless ?download=1.
func (p *Pages) download(w http.ResponseWriter, r *http.Request) {
	code, hash := r.PathValue("code"), r.PathValue("hash")
	pr := principal(r)
	if !pr.Authenticated() {
		toLogin(w, r, dossierURL(code))
		return
	}
	f, body, err := p.svc.OpenFile(r.Context(), code, hash, pr)
	if err != nil {
		p.fail(w, r, dossierURL(code), err)
		return
	}
	defer body.Close()
	mt := f.MediaType
	if !slices.Contains([]string{dossier.MediaPDF, dossier.MediaJPEG, dossier.MediaPNG}, mt) {
		mt = "application/octet-stream"
	}
	disp := "inline"
	if r.URL.Query().Get("download") == "1" || mt == "application/octet-stream" {
		disp = "attachment"
	}
	h := w.Header()
	h.Set("Content-Type", mt)
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": f.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	// A dossier's files are personal data: private cache only, and the hash
	// names immutable content.
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("ETag", `"`+hash+`"`)
	if _, err := io.Copy(w, body); err != nil {
		p.shell.Log.WarnContext(r.Context(), "send file", "code", code, "hash", hash, "err", err)
	}
}

// formLink is a link to a printable form of the dossier.
type formLink struct {
	Form string // "01"…"06"
	URL  string
}

func formURL(code, form string) string { return dossierURL(code) + "/forms/" + form + ".pdf" }

// form serves GET /work/dossiers/{code}/forms/{form}.pdf: the form as a
// PDF attachment, with the same rights as the dossier page.
func (p *Pages) form(w http.ResponseWriter, r *http.Request) {
	code, file := r.PathValue("code"), r.PathValue("file")
	pr := principal(r)
	if !pr.Authenticated() {
		toLogin(w, r, dossierURL(code))
		return
	}
	form, ok := strings.CutSuffix(file, ".pdf")
	if !ok {
		p.errorPage(w, r, http.StatusNotFound)
		return
	}
	b, err := p.svc.Form(r.Context(), code, form, pr)
	if errors.Is(err, dossier.ErrInvalidAction) {
		// Not a form of this state: the page, with the reason, as a 409.
		if v, verr := p.dossierView(r, code, pr); verr == nil {
			v.Problem = errorText(i18n.FromRequest(r), err)
			p.shell.Render(w, r, p.pages["dossier"], http.StatusConflict, v)
			return
		}
	}
	if err != nil {
		p.fail(w, r, dossierURL(code), err)
		return
	}
	dossier.ServeForm(w, code, form, b)
}
