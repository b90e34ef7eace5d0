package dossier

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/pdf"
	"github.com/congso/congso/internal/workflow"
)

// Agencies names agencies and units; *catalog.Service implements it.
type Agencies interface {
	Agency(ctx context.Context, eid string) (catalog.Agency, error)
}

// People names officials; *identity.Service implements it.
type People interface {
	GetPerson(ctx context.Context, id string) (identity.Person, error)
}

// The one-stop forms a dossier prints (Circular 03/2025/TT-VPCP, Annex I);
// form 07, the tracking book, covers many dossiers and is not one of them.
const (
	FormReceipt    = "01" // receipt and appointment slip, once received
	FormSupplement = "02" // supplement request, after one was issued
	FormRefusal    = "03" // refusal slip, for a refused dossier
	FormApology    = "04" // apology letter with a new date, after an extension
	FormStop       = "05" // notice of stopped processing, for a stopped dossier
	FormControl    = "06" // processing control slip, once received
)

// formKeys maps a form number to the pdf registry's key.
var formKeys = map[string]string{
	FormReceipt:    pdf.FormReceipt,
	FormSupplement: pdf.FormSupplementRequest,
	FormRefusal:    pdf.FormRefusal,
	FormApology:    pdf.FormApology,
	FormStop:       pdf.FormStopNotice,
	FormControl:    pdf.FormControlSlip,
}

// formOrder lists the forms in the order they are offered.
var formOrder = []string{FormReceipt, FormControl, FormSupplement, FormRefusal, FormApology, FormStop}

// NormalizeForm returns the form number ("01"…"06") of "01", "1", "form01"
// or "mau01" (any case), and false for anything else.
func NormalizeForm(form string) (string, bool) {
	f := strings.ToLower(strings.TrimSpace(form))
	f = strings.TrimPrefix(strings.TrimPrefix(f, "form"), "mau")
	if len(f) == 1 {
		f = "0" + f
	}
	_, ok := formKeys[f]
	return f, ok
}

// lastNotice returns the latest notice of a kind, or nil.
func (d *Dossier) lastNotice(kind NoticeKind) *Notice {
	for i := len(d.Notices) - 1; i >= 0; i-- {
		if d.Notices[i].Kind == kind {
			return &d.Notices[i]
		}
	}
	return nil
}

// FormAvailable reports whether the dossier's state allows printing form
// ("01"…"06"): 01 and 06 once received, 02 after a supplement request,
// 03 when refused, 04 after an extension, 05 when stopped.
func (d *Dossier) FormAvailable(form string) bool {
	switch form {
	case FormReceipt, FormControl:
		return !d.ReceivedAt.IsZero()
	case FormSupplement:
		return d.lastNotice(NoticeSupplement) != nil
	case FormRefusal:
		return d.Status == StatusRefused
	case FormApology:
		return d.lastNotice(NoticeExtension) != nil
	case FormStop:
		return d.Status == StatusStopped
	}
	return false
}

// Forms lists the forms the dossier's state allows printing, in the order
// 01, 06, 02, 03, 04, 05.
func (d *Dossier) Forms() []string {
	var out []string
	for _, f := range formOrder {
		if d.FormAvailable(f) {
			out = append(out, f)
		}
	}
	return out
}

// registry returns the form templates, creating the default ones once.
func (s *Service) registry() (*pdf.Registry, error) {
	if s.cfg.Forms != nil {
		return s.cfg.Forms, nil
	}
	s.formsOnce.Do(func() { s.forms, s.formsErr = pdf.NewRegistry() })
	return s.forms, s.formsErr
}

// Form renders one of the one-stop forms 01–06 of a dossier as PDF, with
// the template version in force when the dossier was received (submitted,
// for one never received). The actor needs the right to view the dossier
// (as for [Service.Get]). A form that the dossier's state does not allow
// (see [Dossier.FormAvailable]) fails with ErrInvalidAction, an unknown
// form number with ErrNotFound.
func (s *Service) Form(ctx context.Context, code string, form string, actor *identity.Principal) ([]byte, error) {
	f, ok := NormalizeForm(form)
	if !ok {
		return nil, refuse(ErrNotFound, "dossier.form_unknown", "unknown form "+form, "form", form)
	}
	d, err := s.Get(ctx, code, actor)
	if err != nil {
		return nil, err
	}
	return s.render(ctx, d, f, actor)
}

// MineForm renders a form the applicant is given (01 receipt, 02
// supplement request, 03 refusal, 04 apology letter, 05 stop notice) of
// the owner's dossier; form 06 is the officials' and is not among them.
func (s *Service) MineForm(ctx context.Context, code, owner, form string) ([]byte, error) {
	f, ok := NormalizeForm(form)
	if !ok || f == FormControl {
		return nil, refuse(ErrNotFound, "dossier.form_unknown", "unknown form "+form, "form", form)
	}
	r, err := loadOwned(ctx, s.db.Read(), code, owner, false)
	if err != nil {
		return nil, err
	}
	d, err := s.detail(ctx, r, applicantActor(owner))
	if err != nil {
		return nil, err
	}
	return s.render(ctx, d, f, nil)
}

// render renders form f of d.
func (s *Service) render(ctx context.Context, d *Dossier, f string, actor *identity.Principal) ([]byte, error) {
	if !d.FormAvailable(f) {
		return nil, refuse(ErrInvalidAction, "dossier.form_not_available",
			fmt.Sprintf("form %s not available for %s in status %s", f, d.Code, d.Status), "form", f, "status", d.Status.Label())
	}
	reg, err := s.registry()
	if err != nil {
		return nil, fmt.Errorf("dossier: form %s of %s: %w", f, d.Code, err)
	}
	pinned := d.ReceivedAt
	if pinned.IsZero() {
		pinned = d.SubmittedAt
	}
	tpl, err := reg.Template(formKeys[f], pinned)
	if err != nil {
		return nil, fmt.Errorf("dossier: form %s of %s: %w", f, d.Code, err)
	}
	data, err := s.formData(ctx, d, f, actor)
	if err != nil {
		return nil, err
	}
	b, err := tpl.Render(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("dossier: render form %s of %s: %w", f, d.Code, err)
	}
	return b, nil
}

// namer resolves e-IDs and person IDs to names, once each, and answers ""
// (not the ID) for a person it cannot name.
type namer struct {
	ctx    context.Context
	ag     Agencies
	people People
	actor  *identity.Principal
	agency map[string]catalog.Agency
	person map[string]string
}

func (s *Service) newNamer(ctx context.Context, actor *identity.Principal) *namer {
	n := &namer{ctx: ctx, ag: s.cfg.Agencies, people: s.cfg.People, actor: actor,
		agency: map[string]catalog.Agency{}, person: map[string]string{}}
	if n.ag == nil {
		n.ag, _ = s.cat.(Agencies)
	}
	return n
}

func (n *namer) lookup(eid string) (catalog.Agency, bool) {
	if eid == "" || n.ag == nil {
		return catalog.Agency{}, false
	}
	if a, ok := n.agency[eid]; ok {
		return a, a.Name != ""
	}
	a, err := n.ag.Agency(n.ctx, eid)
	if err != nil {
		a = catalog.Agency{}
	}
	n.agency[eid] = a
	return a, a.Name != ""
}

// unit returns the name of an agency or unit, or its e-ID.
func (n *namer) unit(eid string) string {
	if a, ok := n.lookup(eid); ok {
		return a.Name
	}
	return eid
}

// personName returns the full name of a person, or "".
func (n *namer) personName(id string) string {
	if id == "" || id == workflow.SystemActorID {
		return ""
	}
	if v, ok := n.person[id]; ok {
		return v
	}
	name := ""
	if n.actor.Authenticated() && n.actor.PersonID == id {
		name = n.actor.FullName
	}
	if n.people != nil {
		if p, err := n.people.GetPerson(n.ctx, id); err == nil && p.FullName != "" {
			name = p.FullName
		}
	}
	n.person[id] = name
	return name
}

// issuer is the receiving agency (its parent above it).
func (n *namer) issuer(d *Dossier, place string) pdf.Issuer {
	is := pdf.Issuer{Name: d.ReceivingAgency, Place: place}
	if a, ok := n.lookup(d.ReceivingAgency); ok {
		is.Name = a.Name
		if a.ParentEID != "" {
			if p, ok := n.lookup(a.ParentEID); ok {
				is.Parent = p.Name
			}
		}
	}
	return is
}

// documentKinds maps how a document was provided to the forms' kinds.
var documentKinds = map[catalog.DocumentForm]pdf.DocumentKind{
	catalog.FormOriginal:   pdf.DocOriginal,
	catalog.FormCopy:       pdf.DocCopy,
	catalog.FormElectronic: pdf.DocElectronic,
}

// formData fills the data of form f from the dossier.
func (s *Service) formData(ctx context.Context, d *Dossier, f string, actor *identity.Principal) (pdf.Data, error) {
	nm := s.newNamer(ctx, actor)
	pd := pdf.Dossier{Code: d.Code,
		Applicant: pdf.Applicant{Name: d.Applicant.Name, Address: d.Applicant.Address, Phone: d.Applicant.Phone,
			Email: d.Applicant.Email, IDNumber: firstNonEmpty(d.Applicant.PersonalID, d.Applicant.TaxCode)},
		Procedure:      pdf.Procedure{Code: d.ProcedureCode, Name: d.ProcedureName, Field: d.FieldCode},
		Sets:           1,
		ReceivedAt:     d.ReceivedAt,
		AppointmentAt:  d.DueAt,
		HandlingAgency: nm.unit(d.CompetentAgency),
	}
	if p, err := s.cat.ProcedureVersion(ctx, d.ProcedureCode, d.ProcedureVersion); err == nil {
		pd.Duration = p.Duration.String()
	}
	for _, c := range d.Components {
		if c.Provided == "" {
			continue
		}
		count := c.ProvidedQuantity
		if count <= 0 {
			count = max(len(c.Files), 1)
		}
		pd.Documents = append(pd.Documents, pdf.Document{Name: c.Name, Kind: documentKinds[c.Provided], Count: count})
	}
	for _, fee := range d.Fees {
		pd.Fees = append(pd.Fees, pdf.Fee{Name: fee.Name, Amount: fee.Amount})
	}
	switch {
	case d.ReturnMethod == ReturnByPost || d.ReturnMethod == "" && d.Channel == ChannelPost:
		pd.ReturnMethod = "Dịch vụ bưu chính công ích"
		if d.DeliveryAddress != "" {
			pd.ReturnMethod += ", đến " + d.DeliveryAddress
		}
	case d.ReturnMethod == ReturnOnline:
		pd.ReturnMethod = "Trực tuyến (kết quả điện tử)"
	default:
		pd.ReturnMethod = "Bộ phận Một cửa, " + nm.issuer(d, "").Name
	}
	data := pdf.Data{Issuer: nm.issuer(d, s.cfg.Place), Dossier: pd, LookupURL: s.lookupURL(d.Code)}

	// The receiving officer: the actor of the reception in the timeline.
	receivedBy := d.ReceivedBy
	for _, h := range d.Timeline {
		if !d.ReceivedAt.IsZero() && h.At.Equal(d.ReceivedAt) && h.Actor != "" && h.Actor != workflow.SystemActorID {
			receivedBy = h.Actor
			break
		}
	}
	data.Officer = pdf.Officer{Name: nm.personName(receivedBy)}

	switch f {
	case FormReceipt:
		data.IssuedAt = d.ReceivedAt
	case FormControl:
		data.IssuedAt = d.ReceivedAt
		data.Handoffs = handoffs(d, nm)
	case FormSupplement:
		n := d.lastNotice(NoticeSupplement)
		data.IssuedAt, data.Officer = n.IssuedAt, pdf.Officer{Name: nm.personName(n.IssuedBy)}
		for _, df := range n.Defects {
			data.Defects = append(data.Defects, defectLine(df))
		}
		if len(data.Defects) == 0 && strings.TrimSpace(n.Reason) != "" {
			data.Defects = []string{n.Reason}
		}
	case FormRefusal:
		n := d.lastNotice(NoticeRefusal)
		data.IssuedAt = d.UpdatedAt
		if n != nil {
			data.IssuedAt, data.Officer = n.IssuedAt, pdf.Officer{Name: nm.personName(n.IssuedBy)}
			data.Reasons = reasons(n.Reason)
		}
	case FormApology:
		n := d.lastNotice(NoticeExtension)
		data.IssuedAt, data.Signer = n.IssuedAt, pdf.Officer{Name: nm.personName(n.IssuedBy)}
		data.Reason, data.NewAppointmentAt = n.Reason, n.NewDue
		if !n.PreviousDue.IsZero() {
			data.Dossier.AppointmentAt = n.PreviousDue
		}
	case FormStop:
		n := d.lastNotice(NoticeStop)
		data.IssuedAt = d.UpdatedAt
		if n != nil {
			data.IssuedAt, data.Signer = n.IssuedAt, pdf.Officer{Name: nm.personName(n.IssuedBy)}
			data.Reasons = reasons(n.Reason)
		}
	}
	if data.IssuedAt.IsZero() {
		data.IssuedAt = s.now()
	}
	return data, nil
}

// lookupURL is the public lookup page of a dossier, or "" without a base.
func (s *Service) lookupURL(code string) string {
	base := strings.TrimRight(strings.TrimSpace(s.cfg.PublicBaseURL), "/")
	if base == "" {
		return ""
	}
	return base + "/lookup?code=" + url.QueryEscape(code)
}

// handoffs are the rows of the processing control slip: each step of the
// timeline hands the dossier to whoever takes the next one. A row is done
// when the receiver acted (the next entry); its due time is the dossier's
// due time in force after the hand-off.
func handoffs(d *Dossier, nm *namer) []pdf.Handoff {
	var out []pdf.Handoff
	tl := d.Timeline
	for i, h := range tl {
		if h.Action == workflow.ActionStart && len(tl) > 1 {
			continue // the submission itself: the reception row follows
		}
		row := pdf.Handoff{Step: h.StateName, From: pdf.Party{Name: nm.personName(h.Actor), Unit: nm.unit(h.Unit)},
			SentAt: h.At, DueAt: earliestDue(h.StepDueAt, h.DueAt), Note: h.Comment}
		if i+1 < len(tl) {
			next := tl[i+1]
			row.To = pdf.Party{Name: nm.personName(next.Actor), Unit: nm.unit(next.Unit)}
			row.DoneAt = next.At
		} else {
			if d.Ended() {
				continue // the final state: nobody receives the dossier
			}
			row.To = pdf.Party{Name: nm.personName(d.Assignee), Unit: nm.unit(d.Unit)}
		}
		if pdf.TimelinessOf(row.DueAt, row.DoneAt) == pdf.Late && row.Note == "" {
			row.Note = "Quá hạn"
		}
		out = append(out, row)
	}
	return out
}

// earliestDue is the earlier of two deadlines, ignoring unset ones.
func earliestDue(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// defectLine is a defect as one line of form 02.
func defectLine(df Defect) string {
	if df.Document != "" && !strings.Contains(df.Message, df.Document) {
		return df.Document + ": " + df.Message
	}
	return df.Message
}

// reasons splits a stated reason into its lines.
func reasons(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// FormFilename is the download name of a dossier's form: "<code>-<form>.pdf".
func FormFilename(code, form string) string { return code + "-" + form + ".pdf" }

// formLabels are the Vietnamese names of the forms, for links.
var formLabels = map[string]string{
	FormReceipt:    "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
	FormSupplement: "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
	FormRefusal:    "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
	FormApology:    "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
	FormStop:       "Thông báo dừng giải quyết hồ sơ",
	FormControl:    "Phiếu kiểm soát quá trình giải quyết hồ sơ",
}

// FormLabel returns the Vietnamese name of a form number, or "".
func FormLabel(form string) string { return formLabels[form] }

// form serves GET /api/v1/dossiers/{code}/forms/{form}.
func (h *Handlers) form(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	f, ok := NormalizeForm(strings.TrimSuffix(r.PathValue("form"), ".pdf"))
	if !ok {
		f = r.PathValue("form")
	}
	b, err := h.svc.Form(r.Context(), code, f, principal(r))
	if err != nil {
		apiError(w, r, err)
		return
	}
	ServeForm(w, code, f, b)
}

// ServeForm sends a rendered form as a PDF attachment named
// "<code>-<form>.pdf".
func ServeForm(w http.ResponseWriter, code, form string, b []byte) {
	hd := w.Header()
	hd.Set("Content-Type", MediaPDF)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": FormFilename(code, form)}))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
