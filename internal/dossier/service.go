package dossier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/pdf"
	"github.com/congso/congso/internal/workflow"
)

// Outbox topics the module publishes; every payload is an [Event].
const (
	// TopicSubmitted: a dossier was recorded before reception (online or
	// postal submission waiting for the completeness check).
	TopicSubmitted = "dossier.submitted"
	// TopicReceived: a dossier was received (§3 step 2); the clock runs.
	TopicReceived = "dossier.received"
	// TopicTransition: any other change of the dossier's state (supplement
	// requests, refusals, each processing step, system moves on deadlines).
	TopicTransition = "dossier.transition"
	// TopicResultAdded: a result document (or a new version) was added.
	TopicResultAdded = "dossier.result_added"
	// TopicFeePaid: a fee was recorded as paid.
	TopicFeePaid = "dossier.fee_paid"
	// TopicRated: the applicant rated a finished dossier (§9).
	TopicRated = "dossier.rated"
)

// Audit actions.
const (
	AuditSubmit    = "dossier.submit"
	AuditReceive   = "dossier.receive"
	AuditAct       = "dossier.act"
	AuditFileAdd   = "dossier.file.add"
	AuditResultAdd = "dossier.result.add"
	AuditFeePaid   = "dossier.fee.paid"
)

// AuditObjectType is the object type of the module's audit entries (the
// object id is the dossier code).
const AuditObjectType = "dossier"

// ActionView lets officials read the dossiers of their units (and leaders
// follow them); the one-stop steps use the identity module's dossier.*
// actions.
var ActionView = identity.DefineAction("dossier.view",
	identity.RoleOfficer, identity.RoleDivisionHead, identity.RoleHandler, identity.RoleAgencyHead,
	identity.RoleClerk, identity.RoleLeader)

// Procedures is what the module needs from the catalog; *catalog.Service
// implements it.
type Procedures interface {
	// Procedure returns the version of a procedure in force on day at.
	Procedure(ctx context.Context, code string, at calendar.Date) (catalog.Procedure, error)
	// ProcedureVersion returns one version of a procedure.
	ProcedureVersion(ctx context.Context, code string, version int) (catalog.Procedure, error)
}

// Config wires a Service.
type Config struct {
	// Procedures, Workflow and Blobs are required.
	Procedures Procedures
	Workflow   *workflow.Service
	Blobs      blob.Store
	// Calendar reads days and times; default the workflow's calendar.
	Calendar *calendar.Calendar
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Cutoff, when positive, is the time of day (for example 15h) from which
	// a dossier received counts as received on the next working day, as on a
	// day off (§6, verify). It applies to statutory durations in working
	// days of processes that do not declare their own cutoff, when the
	// dossier is received in the transaction that records it. Zero: off.
	Cutoff time.Duration
	// MaxUploadBytes bounds an uploaded file (default 20 MiB).
	MaxUploadBytes int64
	// MaxImagePixels bounds an uploaded image's width × height (default
	// 100 million), so a small file cannot claim a huge picture.
	MaxImagePixels int64

	// Forms renders the one-stop PDF forms 01–06 ([Service.Form]); create it
	// once with pdf.NewRegistry (plus a province's templates). Nil: the
	// default registry, created on first use.
	Forms *pdf.Registry
	// PublicBaseURL is the site's public address (CONGSO_BASE_URL, without
	// a trailing slash); the forms print PublicBaseURL+"/lookup?code=..." as
	// a QR code. Empty: no QR code.
	PublicBaseURL string
	// Place is the place name of the forms' place-and-date line, e.g.
	// "Bình Phước"; empty prints nothing before the date.
	Place string
	// Agencies names agencies and units on the forms; *catalog.Service
	// implements it. Nil: Procedures, if it implements it; else the e-IDs.
	Agencies Agencies
	// People names officials on the forms; *identity.Service implements it.
	// Nil: only the requesting official is named.
	People People
	// Reuse resolves documents of the applicant's personal data store cited
	// by a portal submission (ComponentInput.ReuseRef); nil: citations are
	// kept as given.
	Reuse ReuseResolver
}

// ReuseResolver finds the file a personal-data-store reference names in
// an owner's store (§10); a reference that is not the owner's is an error.
type ReuseResolver interface {
	ResolveReuse(ctx context.Context, owner, ref string) (name, hash string, err error)
}

// Service is the dossier module's Go API. It is safe for concurrent use;
// several nodes may run it over the same database.
type Service struct {
	db    *db.DB
	cat   Procedures
	wf    *workflow.Service
	blobs blob.Store
	cal   func() *calendar.Calendar
	now   func() time.Time
	cfg   Config

	schemas sync.Map // "code@version" → *jsonschema.Schema (nil: none)

	formsOnce sync.Once // creates forms when Config.Forms is nil
	forms     *pdf.Registry
	formsErr  error
}

// New returns a Service over d, whose schema must include the outbox,
// timer, audit, workflow and dossier migrations. It does no I/O.
func New(d *db.DB, cfg Config) (*Service, error) {
	if cfg.Procedures == nil || cfg.Workflow == nil || cfg.Blobs == nil {
		return nil, errors.New("dossier: Config needs Procedures, Workflow and Blobs")
	}
	s := &Service{db: d, cat: cfg.Procedures, wf: cfg.Workflow, blobs: cfg.Blobs, now: cfg.Now, cfg: cfg}
	if cal := cfg.Calendar; cal != nil {
		s.cal = func() *calendar.Calendar { return cal }
	} else {
		// The workflow's, asked at each use: holiday announcements edited
		// while running apply to new dossiers at once.
		s.cal = cfg.Workflow.Calendar
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.MaxUploadBytes <= 0 {
		s.cfg.MaxUploadBytes = 20 << 20
	}
	if s.cfg.MaxImagePixels <= 0 {
		s.cfg.MaxImagePixels = 100_000_000
	}
	return s, nil
}

// ActorOf returns the workflow actor of a principal: its person ID and the
// roles of its active grants per unit.
func ActorOf(p *identity.Principal) workflow.Actor {
	if !p.Authenticated() {
		return workflow.Actor{ID: workflow.SystemActorID}
	}
	a := workflow.Actor{ID: p.PersonID, Roles: map[string][]string{}}
	for _, g := range p.Grants {
		if g.Active() {
			a.Roles[g.UnitID] = append(a.Roles[g.UnitID], string(g.Role))
		}
	}
	return a
}

func actorID(p *identity.Principal) string {
	if !p.Authenticated() {
		return workflow.SystemActorID
	}
	return p.PersonID
}

// actionLabels name identity actions in refusals.
var actionLabels = map[identity.Action]string{
	identity.ActionDossierReceive: "tiếp nhận hồ sơ",
	identity.ActionDossierProcess: "xử lý hồ sơ",
	identity.ActionDossierIssue:   "phát hành kết quả",
	identity.ActionDossierSign:    "ký duyệt",
	ActionView:                    "xem hồ sơ",
}

// require returns nil if p may perform one of actions in one of units.
func require(ctx context.Context, p *identity.Principal, units []string, actions ...identity.Action) error {
	if !p.Authenticated() {
		return refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in")
	}
	for _, u := range units {
		if u == "" {
			continue
		}
		for _, a := range actions {
			if identity.Can(ctx, p, a, u) {
				return nil
			}
		}
	}
	unit := strings.Join(units, ", ")
	return refuse(ErrForbidden, "dossier.forbidden",
		fmt.Sprintf("%s may not %s in %s", p.PersonID, actions[0], unit), "action", actionLabels[actions[0]], "unit", unit)
}

// translate turns a workflow refusal into a dossier *Error that matches
// both the dossier's and the workflow's sentinel.
func translate(err error) error {
	var we *workflow.Error
	if !errors.As(err, &we) {
		return err
	}
	kind := ErrInvalid
	switch {
	case errors.Is(we, workflow.ErrConflict):
		kind = ErrConflict
	case errors.Is(we, workflow.ErrForbidden):
		kind = ErrForbidden
	case errors.Is(we, workflow.ErrInvalidAction):
		kind = ErrInvalidAction
	case errors.Is(we, workflow.ErrNotFound):
		kind = ErrNotFound
	case errors.Is(we, workflow.ErrExists):
		kind = ErrConflict
	}
	return &Error{Kind: kind, Code: we.Code, Reason: we.Reason, Args: we.Args, cause: we}
}

// Event is the payload of every dossier topic. Subscribers that need more
// (the applicant's contact, the components) call [Service.Get] with the
// code: events carry no personal data.
type Event struct {
	Code             string    `json:"code"`
	CaseID           string    `json:"case_id"`
	ProcedureCode    string    `json:"procedure_code"`
	ProcedureVersion int       `json:"procedure_version"`
	FieldCode        string    `json:"field_code"`
	Channel          Channel   `json:"channel"`
	ReceivingAgency  string    `json:"receiving_agency"`
	CompetentAgency  string    `json:"competent_agency"`
	Unit             string    `json:"unit"`
	Action           string    `json:"action,omitempty"`
	From             string    `json:"from,omitempty"`
	To               string    `json:"to"`
	Status           Status    `json:"status"`
	NationalStatus   int       `json:"national_status"`
	Version          int64     `json:"version"`
	Outcome          string    `json:"outcome,omitempty"`
	ActorID          string    `json:"actor_id"`
	At               time.Time `json:"at"`
	ReceivedAt       time.Time `json:"received_at,omitzero"`
	DueAt            time.Time `json:"due_at,omitzero"`
	FinishedAt       time.Time `json:"finished_at,omitzero"`
	Paused           bool      `json:"paused,omitempty"`
	Ended            bool      `json:"ended,omitempty"`
	ResultCode       string    `json:"result_code,omitempty"`
	FeeN             int       `json:"fee_n,omitempty"`
}

func eventOf(r *row, c *workflow.Case, action, from, actor string, at time.Time) Event {
	return Event{Code: r.Code, CaseID: r.CaseID, ProcedureCode: r.ProcedureCode, ProcedureVersion: r.ProcedureVersion,
		FieldCode: r.FieldCode, Channel: r.Channel, ReceivingAgency: r.ReceivingAgency, CompetentAgency: r.CompetentAgency,
		Unit: c.Unit, Action: action, From: from, To: c.State, Status: StatusOf(c.State, c.Status), NationalStatus: c.Status,
		Version: c.Version, Outcome: c.Outcome, ActorID: actor, At: ts(at), ReceivedAt: c.ClockStartedAt, DueAt: c.DueAt,
		FinishedAt: c.FinishedAt, Paused: !c.PausedAt.IsZero(), Ended: c.Ended()}
}

func (s *Service) publish(ctx context.Context, tx *db.Tx, topic string, ev Event) error {
	return outbox.Publish(ctx, tx, outbox.Event{Topic: topic, Key: ev.Code, Payload: ev, At: ev.At})
}

// requestHash identifies a request for the idempotency table.
func requestHash(op string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("hash request: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(op))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

func checkIdemKey(key string) error {
	if key != "" && !idemKeyRe.MatchString(key) {
		return &ValidationError{Defects: []Defect{{Field: "idempotency_key", Code: CodeInvalidFormat,
			Message: "Khóa chống gửi lặp (Idempotency-Key) phải gồm 1–200 ký tự ASCII in được."}}}
	}
	return nil
}

// --- procedures and forms ---

// procedureAt returns the procedure version in force on the day of t.
func (s *Service) procedureAt(ctx context.Context, code string, t time.Time) (catalog.Procedure, error) {
	p, err := s.cat.Procedure(ctx, code, s.cal().DateOf(t))
	if errors.Is(err, catalog.ErrNotFound) {
		return p, &ValidationError{Defects: []Defect{{Field: "procedure_code", Code: CodeNotInForce,
			Message: fmt.Sprintf("Không có thủ tục mã %q đang có hiệu lực.", code)}}}
	}
	if err != nil {
		return p, fmt.Errorf("procedure %s: %w", code, err)
	}
	return p, nil
}

// formSchema returns the compiled form schema of a procedure version (nil
// when it has none), compiled once.
func (s *Service) formSchema(p catalog.Procedure) (*jsonschema.Schema, error) {
	key := fmt.Sprintf("%s@%d", p.Code, p.Version)
	if v, ok := s.schemas.Load(key); ok {
		return v.(*jsonschema.Schema), nil
	}
	var sch *jsonschema.Schema
	if len(bytes.TrimSpace(p.FormSchema)) > 0 {
		var err error
		if sch, err = catalog.CompileFormSchema(p.FormSchema); err != nil {
			return nil, fmt.Errorf("form schema of %s: %w", key, err)
		}
	}
	s.schemas.Store(key, sch)
	return sch, nil
}

// validate checks a submission against its procedure: applicant,
// representative, form data (JSON Schema), component shapes and file
// references, and completeness. It returns every shape problem as invalid,
// and, if the shape is fine, every completeness defect as incomplete.
func (s *Service) validate(ctx context.Context, p catalog.Procedure, sub *Submission) (invalid, incomplete []Defect, files map[string]File, err error) {
	var rm defects
	switch sub.ReturnMethod {
	case "", ReturnAtCounter, ReturnOnline:
		if sub.DeliveryAddress != "" {
			rm.add("delivery_address", CodeInvalidValue, "Chỉ ghi địa chỉ nhận khi chọn nhận kết quả qua bưu chính.")
		}
	case ReturnByPost:
		rm.checkText("delivery_address", sub.DeliveryAddress, true, 500, true)
	default:
		rm.add("return_method", CodeInvalidValue, "Cách nhận kết quả phải là counter, post hoặc online.")
	}
	defer func() { invalid = append(rm, invalid...) }()
	var ds defects
	if !sub.Channel.Valid() {
		ds.add("channel", CodeInvalidValue, "Kênh nộp phải là 1 (trực tiếp), 2 (trực tuyến) hoặc 3 (bưu chính).")
	}
	ds.checkApplicant("applicant", sub.Applicant)
	ds.checkRepresentative(sub.Representative)
	ds.checkComponentShape(sub.Components)
	fd, err := s.checkFormData(p, sub.FormData)
	if err != nil {
		return nil, nil, nil, err
	}
	// An empty required form field makes the dossier incomplete, like a
	// missing document: it blocks reception but not a refusal or a
	// supplement request, which may list it (§3 step 1).
	var formMissing []Defect
	for _, d := range fd {
		if d.Code == CodeFormRequired {
			formMissing = append(formMissing, d)
		} else {
			ds = append(ds, d)
		}
	}
	files, fds, err := s.resolveFiles(ctx, sub.Components)
	if err != nil {
		return nil, nil, nil, err
	}
	ds = append(ds, fds...)
	return ds, append(CheckCompleteness(p, sub.Components, sub.Channel), formMissing...), files, nil
}

// resolveFiles checks the files that components name by hash: each must be
// stored and be an accepted, readable document (it is sniffed again, so
// only checked content becomes part of a dossier).
func (s *Service) resolveFiles(ctx context.Context, comps []ComponentInput) (map[string]File, []Defect, error) {
	files := map[string]File{}
	var ds defects
	for i, c := range comps {
		for j, fr := range c.Files {
			if !validHash(fr.Hash) {
				continue // reported by checkComponentShape
			}
			if _, ok := files[fr.Hash]; ok {
				continue
			}
			f, err := s.storedFile(ctx, fr.Name, fr.Hash)
			field := fmt.Sprintf("components[%d].files[%d].hash", i, j)
			var ve *ValidationError
			var de *Error
			switch {
			case err == nil:
				files[fr.Hash] = f
			case errors.As(err, &ve):
				ds.add(field, CodeFileNotFound, "Tệp %q chưa được tải lên.", fr.Name)
			case errors.As(err, &de) && de.Kind == ErrRejectedFile:
				ds.add(field, CodeInvalidValue, "Tệp %q không phải PDF, JPEG hoặc PNG đọc được.", fr.Name)
			default:
				return nil, nil, err
			}
		}
	}
	return files, ds, nil
}

// checkFormData validates form data against the procedure's schema,
// listing every failing field.
func (s *Service) checkFormData(p catalog.Procedure, raw json.RawMessage) ([]Defect, error) {
	sch, err := s.formSchema(p)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		trimmed = []byte("{}")
	}
	if len(trimmed) > 256<<10 {
		return []Defect{{Field: "form_data", Code: CodeTooLong, Message: "Dữ liệu tờ khai quá lớn (tối đa 256 KB)."}}, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(trimmed))
	if err != nil || !utf8Valid(trimmed) {
		return []Defect{{Field: "form_data", Code: CodeInvalidFormat, Message: "Dữ liệu tờ khai không phải JSON hợp lệ."}}, nil
	}
	if _, ok := doc.(map[string]any); !ok {
		return []Defect{{Field: "form_data", Code: CodeInvalidFormat, Message: "Dữ liệu tờ khai phải là một đối tượng JSON."}}, nil
	}
	if sch == nil {
		return nil, nil
	}
	if err := sch.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return formDefects(ve, nil), nil
		}
		return []Defect{{Field: "form_data", Code: CodeFormData, Message: err.Error()}}, nil
	}
	return nil, nil
}

// compactJSON returns raw without insignificant whitespace ("{}" if empty).
func compactJSON(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("{}")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// --- check ---

// CheckInput asks for a completeness check (§3 step 1) of a submission.
type CheckInput struct {
	Submission
	Actor *identity.Principal
}

// CheckReport lists every defect of a submission; Complete is true when it
// may be received as it is.
type CheckReport struct {
	Complete         bool     `json:"complete"`
	ProcedureCode    string   `json:"procedure_code"`
	ProcedureVersion int      `json:"procedure_version"`
	ProcedureName    string   `json:"procedure_name"`
	Defects          []Defect `json:"defects"`
}

// Check checks a submission against the procedure in force today without
// recording anything: the applicant's details, the form data against the
// procedure's form schema, file references, and every missing or
// unacceptable document. The defects list is what a supplement request
// (form 02) would list.
func (s *Service) Check(ctx context.Context, in CheckInput) (CheckReport, error) {
	if !in.Actor.Authenticated() {
		return CheckReport{}, refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in")
	}
	p, err := s.procedureAt(ctx, in.ProcedureCode, s.now())
	if err != nil {
		return CheckReport{}, err
	}
	inv, inc, _, err := s.validate(ctx, p, &in.Submission)
	if err != nil {
		return CheckReport{}, err
	}
	all := append(inv, inc...)
	if all == nil {
		all = []Defect{}
	}
	return CheckReport{Complete: len(all) == 0, ProcedureCode: p.Code, ProcedureVersion: p.Version, ProcedureName: p.Name, Defects: all}, nil
}

// --- recording and reception ---

// Placement names where a dossier is received and processed: the receiving
// agency (its e-ID starts the dossier code) and its one-stop desk unit; the
// competent agency; the processing division and the unit whose leaders sign
// and whose clerk issues (default: the competent agency).
type Placement struct {
	ReceivingAgency string `json:"receiving_agency"`
	ReceivingUnit   string `json:"receiving_unit"`
	CompetentAgency string `json:"competent_agency,omitempty"`
	DivisionUnit    string `json:"division_unit,omitempty"`
	AgencyUnit      string `json:"agency_unit,omitempty"`
}

// Receipt is what recording or receiving a dossier answers (the data of
// form 01, the receipt with the appointment date, without personal data).
// It is what an idempotent retry gets back.
type Receipt struct {
	Code             string    `json:"code"`
	CaseID           string    `json:"case_id"`
	Version          int64     `json:"version"`
	State            string    `json:"state"`
	Status           Status    `json:"status"`
	NationalStatus   int       `json:"national_status"`
	ProcedureCode    string    `json:"procedure_code"`
	ProcedureVersion int       `json:"procedure_version"`
	ProcedureName    string    `json:"procedure_name"`
	Channel          Channel   `json:"channel"`
	ReceivingAgency  string    `json:"receiving_agency"`
	SubmittedAt      time.Time `json:"submitted_at"`
	ReceivedAt       time.Time `json:"received_at,omitzero"`
	DueAt            time.Time `json:"due_at,omitzero"`
	// Replayed is true when the answer is the stored one of an earlier
	// request with the same idempotency key.
	Replayed bool `json:"-"`
}

func receiptOf(r *row, c *workflow.Case) Receipt {
	return Receipt{Code: r.Code, CaseID: r.CaseID, Version: c.Version, State: c.State, Status: StatusOf(c.State, c.Status),
		NationalStatus: c.Status, ProcedureCode: r.ProcedureCode, ProcedureVersion: r.ProcedureVersion, ProcedureName: r.ProcedureName,
		Channel: r.Channel, ReceivingAgency: r.ReceivingAgency, SubmittedAt: r.SubmittedAt, ReceivedAt: c.ClockStartedAt, DueAt: c.DueAt}
}

// SubmitInput records a dossier before reception: an online or postal
// submission (or a counter submission the officer checks later). Actor nil
// means a trusted in-process caller (the portal, the national-portal
// adapter); otherwise the actor needs dossier.receive at the desk.
type SubmitInput struct {
	Submission
	Placement
	Actor          *identity.Principal `json:"-"`
	IdempotencyKey string              `json:"-"`
}

// ReceiveInput receives a dossier (§3 step 2): DossierCode names one
// already recorded (then Submission and the receiving agency and unit are
// ignored; Components may record what was provided at the counter), else
// Submission is a new one recorded and received at once.
type ReceiveInput struct {
	DossierCode string `json:"dossier_code,omitempty"`
	Submission
	Placement
	Comment        string              `json:"comment,omitempty"`
	Actor          *identity.Principal `json:"-"`
	IdempotencyKey string              `json:"-"`
}

// RefuseInput refuses to receive a dossier (form 03): DossierCode names one
// recorded before, else Submission is recorded as refused (so the refusal
// has a code and a slip). The reason is required; the dossier ends.
type RefuseInput struct {
	DossierCode string `json:"dossier_code,omitempty"`
	Submission
	Placement
	Reason         string              `json:"reason"`
	Actor          *identity.Principal `json:"-"`
	IdempotencyKey string              `json:"-"`
}

// prepared is a new dossier validated and ready to be recorded.
type prepared struct {
	proc  catalog.Procedure
	def   *workflow.Definition
	sub   Submission
	place Placement
	now   time.Time
	sla   *workflow.Duration
	files map[string]File // by hash, checked
}

// resolveReuse replaces what a portal submission says of a reused
// document by what the owner's data store holds: the file of the cited
// version is attached (once), and a citation the store does not know for
// this owner is a defect.
func (s *Service) resolveReuse(ctx context.Context, sub *Submission, ds *defects) error {
	if s.cfg.Reuse == nil || sub.Owner == "" {
		return nil
	}
	for i := range sub.Components {
		c := &sub.Components[i]
		if !c.Reused || c.ReuseRef == "" {
			continue
		}
		name, hash, err := s.cfg.Reuse.ResolveReuse(ctx, sub.Owner, c.ReuseRef)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			ds.add(fmt.Sprintf("components[%d].reuse_ref", i), CodeFileNotFound,
				"Giấy tờ đã chọn trong kho dữ liệu cá nhân không còn (hoặc không thuộc tài khoản này).")
			continue
		}
		if !slices.ContainsFunc(c.Files, func(f FileRef) bool { return f.Hash == hash }) {
			c.Files = append(c.Files, FileRef{Name: name, Hash: hash})
		}
	}
	return nil
}

// prepare validates a new submission and its placement. requireComplete
// turns completeness defects into an ErrIncomplete refusal.
func (s *Service) prepare(ctx context.Context, sub Submission, pl Placement, now time.Time, requireComplete bool) (*prepared, error) {
	var ds defects
	ds.checkEID("receiving_agency", pl.ReceivingAgency, true)
	ds.checkEID("receiving_unit", pl.ReceivingUnit, true)
	ds.checkEID("competent_agency", pl.CompetentAgency, false)
	ds.checkEID("division_unit", pl.DivisionUnit, false)
	ds.checkEID("agency_unit", pl.AgencyUnit, false)
	if sub.ProcedureCode == "" {
		ds.add("procedure_code", CodeRequired, "Không được để trống.")
		return nil, ds.err()
	}
	if err := s.resolveReuse(ctx, &sub, &ds); err != nil {
		return nil, err
	}
	p, err := s.procedureAt(ctx, sub.ProcedureCode, now)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ds = append(ds, ve.Defects...)
			return nil, ds.err()
		}
		return nil, err
	}
	inv, inc, files, err := s.validate(ctx, p, &sub)
	if err != nil {
		return nil, err
	}
	ds = append(ds, inv...)
	if len(ds) > 0 && requireComplete {
		ds = append(ds, inc...) // one answer lists everything to fix
	}
	if err := ds.err(); err != nil {
		return nil, err
	}
	if requireComplete && len(inc) > 0 {
		return nil, &ValidationError{Incomplete: true, Defects: inc}
	}
	key := p.ProcessKey
	if key == "" {
		key = workflow.OneStop
	}
	def, err := s.wf.Definition(ctx, key, 0)
	if err != nil {
		return nil, translate(err)
	}
	if pl.CompetentAgency == "" {
		pl.CompetentAgency = p.CompetentAgency
	}
	if pl.CompetentAgency == "" {
		pl.CompetentAgency = pl.ReceivingAgency
	}
	if pl.AgencyUnit == "" {
		pl.AgencyUnit = pl.CompetentAgency
	}
	sub.FormData = compactJSON(sub.FormData)
	pr := &prepared{proc: p, def: def, sub: sub, place: pl, now: now, files: files}
	if p.Duration.Unit != "" {
		pr.sla = &workflow.Duration{Value: p.Duration.Value, Unit: workflow.DurationUnit(p.Duration.Unit)}
	}
	return pr, nil
}

// slaFor returns the statutory duration with the configured cutoff applied
// for a clock starting at t: a working-day duration counted from the next
// working day when t is on a day off or at or after the cutoff, which is
// one working day more counted from t (AddWorkingDays(NextWorkingDay(t), n)
// equals AddWorkingDays(t, n+1) in both cases).
func (s *Service) slaFor(pr *prepared, t time.Time) *workflow.Duration {
	if pr.sla == nil || s.cfg.Cutoff <= 0 || pr.def.Cutoff != "" || pr.sla.Unit != workflow.WorkingDays {
		return pr.sla
	}
	local := t.In(s.cal().Location())
	tod := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute + time.Duration(local.Second())*time.Second
	if s.cal().IsWorkingDay(t) && tod < s.cfg.Cutoff {
		return pr.sla
	}
	d := *pr.sla
	d.Value++
	return &d
}

// record writes a new dossier (code, row, units, components, files, fees)
// and starts its workflow case in the initial state, in tx.
func (s *Service) record(ctx context.Context, tx *db.Tx, pr *prepared, actor *identity.Principal, sla *workflow.Duration) (*row, *workflow.Case, error) {
	local := pr.now.In(s.cal().Location())
	seq, err := nextSeq(ctx, tx, pr.place.ReceivingAgency, codeDay(local))
	if err != nil {
		return nil, nil, err
	}
	code := FormatCode(pr.place.ReceivingAgency, local, seq)
	by := actorID(actor)
	if actor == nil && pr.sub.Owner != "" {
		by = pr.sub.Owner // the applicant submitted it on the portal
	}
	r := &row{Dossier: Dossier{Code: code, CaseID: code, ProcedureCode: pr.proc.Code, ProcedureVersion: pr.proc.Version,
		ProcedureName: pr.proc.Name, FieldCode: pr.proc.FieldCode, ProcessKey: pr.def.Key, ProcessVersion: pr.def.Version,
		Channel: pr.sub.Channel, Applicant: pr.sub.Applicant, Representative: pr.sub.Representative, FormData: pr.sub.FormData,
		ReceivingAgency: pr.place.ReceivingAgency, ReceivingUnit: pr.place.ReceivingUnit, CompetentAgency: pr.place.CompetentAgency,
		State: pr.def.Initial, Status: StatusNew, NationalStatus: NationalStatus(StatusNew), SubmittedAt: ts(pr.now), CreatedBy: by,
		Owner: pr.sub.Owner, ReturnMethod: pr.sub.ReturnMethod, DeliveryAddress: pr.sub.DeliveryAddress}}
	if r.id, err = insertDossier(ctx, tx, &r.Dossier); err != nil {
		return nil, nil, err
	}
	if err := insertComponents(ctx, tx, r.id, pr.proc, pr.sub.Components); err != nil {
		return nil, nil, err
	}
	if err := addInputFiles(ctx, tx, r.id, pr.sub.Components, pr.files, by, pr.now, true); err != nil {
		return nil, nil, err
	}
	if err := insertFees(ctx, tx, r.id, pr.proc.Fees); err != nil {
		return nil, nil, err
	}
	c, err := s.wf.Start(ctx, tx, workflow.StartCase{CaseID: code, Ref: code, DefinitionKey: pr.def.Key, DefinitionVersion: pr.def.Version,
		Unit: pr.place.ReceivingUnit, Units: map[string]string{"desk": pr.place.ReceivingUnit}, Actor: ActorOf(actor),
		StartedAt: pr.now, SLA: sla})
	if err != nil {
		return nil, nil, translate(err)
	}
	return r, c, nil
}

// addInputFiles records the files of component inputs (blobs already
// stored and checked by resolveFiles).
func addInputFiles(ctx context.Context, tx *db.Tx, id int64, comps []ComponentInput, files map[string]File, by string, now time.Time, fresh bool) error {
	names := map[[2]any]bool{} // a name twice in one component: versions, so look

	for _, c := range comps {
		for _, fr := range c.Files {
			checked, ok := files[fr.Hash]
			if !ok {
				return fmt.Errorf("file %s was not checked", fr.Hash)
			}
			f := File{Name: baseName(fr.Name), Hash: fr.Hash, Size: checked.Size, MediaType: checked.MediaType, Digitized: fr.Digitized,
				Reused: c.Reused, AddedBy: by, AddedAt: now}
			key := [2]any{c.N, f.Name}
			if _, err := addFile(ctx, tx, id, c.N, f, fresh && !names[key]); err != nil {
				return err
			}
			names[key] = true
		}
	}
	return nil
}

// Submit records a dossier before reception (status 1, "new"): the
// completeness check and the decision (receive, supplement request,
// refusal) come next. It is idempotent by key.
func (s *Service) Submit(ctx context.Context, in SubmitInput) (Receipt, error) {
	if in.Actor != nil {
		if err := require(ctx, in.Actor, []string{in.ReceivingUnit}, identity.ActionDossierReceive); err != nil {
			return Receipt{}, err
		}
	}
	if err := checkIdemKey(in.IdempotencyKey); err != nil {
		return Receipt{}, err
	}
	now := ts(s.now())
	pr, err := s.prepare(ctx, in.Submission, in.Placement, now, false)
	if err != nil {
		return Receipt{}, err
	}
	scope := actorID(in.Actor)
	if in.Actor == nil && in.Owner != "" {
		scope = ownerScope(in.Owner)
	}
	out, replayed, err := runIdempotent(ctx, s, "submit", scope, in.IdempotencyKey, in, func(tx *db.Tx) (Receipt, error) {
		r, c, err := s.record(ctx, tx, pr, in.Actor, pr.sla)
		if err != nil {
			return Receipt{}, err
		}
		if err := mirror(ctx, tx, r.id, c, "", now); err != nil {
			return Receipt{}, err
		}
		if err := s.publish(ctx, tx, TopicSubmitted, eventOf(r, c, workflow.ActionStart, "", actorID(in.Actor), now)); err != nil {
			return Receipt{}, err
		}
		return receiptOf(r, c), nil
	}, func(tx *db.Tx, rc Receipt) error {
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: actorID(in.Actor), Action: AuditSubmit, ObjectType: AuditObjectType,
			ObjectID: rc.Code, Unit: in.ReceivingUnit, Detail: map[string]any{"procedure": rc.ProcedureCode, "version": rc.ProcedureVersion,
				"channel": int(rc.Channel)}})
	})
	out.Replayed = replayed
	return out, err
}

// SubmittedWithKey returns the receipt a submission without actor or owner
// (a system channel, such as the national portal's inbound feed) stored
// under the idempotency key, whatever the request was: a channel resuming
// after a crash finds the dossier it created even if its configuration, or
// the procedure, changed meanwhile (Submit would then refuse the key as
// used for another request). Keys are kept as long as
// [Service.PurgeIdempotencyKeys] leaves them.
func (s *Service) SubmittedWithKey(ctx context.Context, key string) (Receipt, bool, error) {
	resp, err := storedResponse(ctx, s.db, actorID(nil), key)
	if err != nil || resp == "" {
		return Receipt{}, false, err
	}
	var rc Receipt
	if err := json.Unmarshal([]byte(resp), &rc); err != nil {
		return Receipt{}, false, fmt.Errorf("dossier: stored response of key %s: %w", key, err)
	}
	rc.Replayed = true
	return rc, true, nil
}

// Receive receives a dossier (§3 steps 1–2) in one transaction: for a new
// submission it checks completeness (refusing with every defect listed),
// takes the next dossier code of the receiving agency for the day (§5),
// writes the dossier, its components, files and fees, starts its workflow
// case (the procedure's process, or the default one-stop process) and takes
// the process's "receive" action, which starts the clock: the appointment
// date is the statutory duration after reception on the working-day
// calendar (with the configured cutoff, §6). The audit entry and the
// "dossier.received" event commit with it. A retry with the same
// idempotency key answers the first receipt and creates nothing.
func (s *Service) Receive(ctx context.Context, in ReceiveInput) (Receipt, error) {
	if err := checkIdemKey(in.IdempotencyKey); err != nil {
		return Receipt{}, err
	}
	if in.DossierCode != "" {
		return s.receiveExisting(ctx, in)
	}
	if err := require(ctx, in.Actor, []string{in.ReceivingUnit}, identity.ActionDossierReceive); err != nil {
		return Receipt{}, err
	}
	var ds defects
	ds.checkText("comment", in.Comment, false, 2000, true)
	ds.checkEID("division_unit", in.DivisionUnit, true)
	now := ts(s.now())
	pr, err := s.prepare(ctx, in.Submission, in.Placement, now, true)
	if err = merge(ds, err); err != nil {
		return Receipt{}, err
	}
	out, replayed, err := runIdempotent(ctx, s, "receive", actorID(in.Actor), in.IdempotencyKey, in, func(tx *db.Tx) (Receipt, error) {
		r, _, err := s.record(ctx, tx, pr, in.Actor, s.slaFor(pr, now))
		if err != nil {
			return Receipt{}, err
		}
		return s.receiveTx(ctx, tx, r, pr.place, in, now, nil) // the SLA (with the cutoff) was set when recording
	}, func(tx *db.Tx, rc Receipt) error {
		return s.auditReceive(ctx, tx, in.Actor, rc, in.ReceivingUnit, now)
	})
	out.Replayed = replayed
	return out, err
}

func (s *Service) auditReceive(ctx context.Context, tx *db.Tx, actor *identity.Principal, rc Receipt, unit string, now time.Time) error {
	return audit.Append(ctx, tx, audit.Entry{At: now, Actor: actorID(actor), Action: AuditReceive, ObjectType: AuditObjectType,
		ObjectID: rc.Code, Unit: unit, Detail: map[string]any{"procedure": rc.ProcedureCode, "version": rc.ProcedureVersion,
			"channel": int(rc.Channel), "due_at": rc.DueAt.Format(time.RFC3339)}})
}

// receiveTx takes the "receive" action on a recorded dossier and mirrors it.
func (s *Service) receiveTx(ctx context.Context, tx *db.Tx, r *row, pl Placement, in ReceiveInput, now time.Time, sla *workflow.Duration) (Receipt, error) {
	units := map[string]string{"division": pl.DivisionUnit, "agency": pl.AgencyUnit}
	res, err := s.wf.TransitionTx(ctx, tx, workflow.Input{CaseID: r.CaseID, Action: "receive", Actor: ActorOf(in.Actor),
		Comment: in.Comment, Units: units, Now: now, SLA: sla})
	if err != nil {
		return Receipt{}, translate(err)
	}
	if err := mirror(ctx, tx, r.id, res.Case, actorID(in.Actor), now); err != nil {
		return Receipt{}, err
	}
	if err := s.publish(ctx, tx, TopicReceived, eventOf(r, res.Case, "receive", res.From, actorID(in.Actor), now)); err != nil {
		return Receipt{}, err
	}
	return receiptOf(r, res.Case), nil
}

// receiveExisting receives a dossier recorded earlier (online, post).
func (s *Service) receiveExisting(ctx context.Context, in ReceiveInput) (Receipt, error) {
	r, err := loadDossier(ctx, s.db.Read(), in.DossierCode, false)
	if err != nil {
		return Receipt{}, err
	}
	if err := require(ctx, in.Actor, []string{r.ReceivingUnit}, identity.ActionDossierReceive); err != nil {
		return Receipt{}, err
	}
	var ds defects
	ds.checkText("comment", in.Comment, false, 2000, true)
	ds.checkEID("division_unit", in.DivisionUnit, true)
	ds.checkEID("agency_unit", in.AgencyUnit, false)
	ds.checkComponentShape(in.Components)
	if err := ds.err(); err != nil {
		return Receipt{}, err
	}
	p, err := s.cat.ProcedureVersion(ctx, r.ProcedureCode, r.ProcedureVersion)
	if err != nil {
		return Receipt{}, fmt.Errorf("procedure of %s: %w", r.Code, err)
	}
	files, err := s.checkSupplied(ctx, p, in.Components)
	if err != nil {
		return Receipt{}, err
	}
	pl := Placement{DivisionUnit: in.DivisionUnit, AgencyUnit: in.AgencyUnit}
	if pl.AgencyUnit == "" {
		pl.AgencyUnit = r.CompetentAgency
	}
	now := ts(s.now())
	// The clock starts now: the statutory duration with the cutoff applied
	// to the time of this reception, not to the online submission's.
	var sla *workflow.Duration
	if p.Duration.Unit != "" {
		def, err := s.wf.Definition(ctx, r.ProcessKey, r.ProcessVersion)
		if err != nil {
			return Receipt{}, translate(err)
		}
		sla = s.slaFor(&prepared{proc: p, def: def, now: now,
			sla: &workflow.Duration{Value: p.Duration.Value, Unit: workflow.DurationUnit(p.Duration.Unit)}}, now)
	}
	req := struct {
		Code string
		ReceiveInput
	}{r.Code, in}
	out, replayed, err := runIdempotent(ctx, s, "receive", actorID(in.Actor), in.IdempotencyKey, req, func(tx *db.Tx) (Receipt, error) {
		r, err := loadDossier(ctx, tx, in.DossierCode, lockClause(tx))
		if err != nil {
			return Receipt{}, err
		}
		if err := supply(ctx, tx, r.id, in.Components, files, actorID(in.Actor), now); err != nil {
			return Receipt{}, err
		}
		comps, err := loadComponents(ctx, tx, r.id)
		if err != nil {
			return Receipt{}, err
		}
		if inc := CheckCompleteness(p, inputsOf(comps), r.Channel); len(inc) > 0 {
			return Receipt{}, &ValidationError{Incomplete: true, Defects: inc}
		}
		return s.receiveTx(ctx, tx, r, pl, in, now, sla)
	}, func(tx *db.Tx, rc Receipt) error {
		return s.auditReceive(ctx, tx, in.Actor, rc, r.ReceivingUnit, now)
	})
	out.Replayed = replayed
	return out, err
}

// merge reports the request's own defects together with those prepare
// found, so that one answer lists every invalid field; completeness defects
// come only once the request is valid.
func merge(own defects, err error) error {
	var ve *ValidationError
	switch {
	case err == nil:
		return own.err()
	case errors.As(err, &ve) && !ve.Incomplete:
		return append(own, ve.Defects...).err()
	case errors.As(err, &ve) && len(own) > 0:
		return own.err()
	}
	return err
}

// inputsOf turns stored components into inputs for CheckCompleteness.
func inputsOf(comps []Component) []ComponentInput {
	out := make([]ComponentInput, 0, len(comps))
	for _, c := range comps {
		in := ComponentInput{N: c.N, Provided: c.Provided, Quantity: c.ProvidedQuantity, Reused: c.Reused, ReuseRef: c.ReuseRef}
		for _, f := range c.Files {
			in.Files = append(in.Files, FileRef{Name: f.Name, Hash: f.Hash, Digitized: f.Digitized})
		}
		out = append(out, in)
	}
	return out
}

// checkSupplied validates components supplied for a recorded dossier.
func (s *Service) checkSupplied(ctx context.Context, p catalog.Procedure, comps []ComponentInput) (map[string]File, error) {
	var ds defects
	for i, c := range comps {
		f := fmt.Sprintf("components[%d]", i)
		if c.N < 1 || c.N > len(p.Documents) {
			ds.add(f+".n", CodeUnknown, "Thủ tục không có thành phần hồ sơ số %d.", c.N)
		}
		if c.Provided != "" && !validForm(c.Provided) {
			ds.add(f+".provided", CodeInvalidValue, "Hình thức nộp phải là original, copy hoặc electronic.")
		}
	}
	files, fds, err := s.resolveFiles(ctx, comps)
	if err != nil {
		return nil, err
	}
	ds = append(ds, fds...)
	return files, ds.err()
}

// supply records supplied components (forms, quantities, files).
func supply(ctx context.Context, tx *db.Tx, id int64, comps []ComponentInput, files map[string]File, by string, now time.Time) error {
	for _, c := range comps {
		if err := supplyComponent(ctx, tx, id, c); err != nil {
			return err
		}
	}
	return addInputFiles(ctx, tx, id, comps, files, by, now, false)
}

// Refuse refuses to receive a dossier (§3 step 1.2, form 03). The reason
// is required and the dossier ends (national status 3). For a submission
// not yet recorded, the dossier is recorded first so that the refusal has
// a code, a slip and a place in the statistics.
func (s *Service) Refuse(ctx context.Context, in RefuseInput) (ActResult, error) {
	var ds defects
	ds.checkText("reason", in.Reason, true, 2000, true)
	if err := ds.err(); err != nil {
		return ActResult{}, err
	}
	if in.DossierCode != "" {
		return s.Act(ctx, ActInput{DossierCode: in.DossierCode, Action: "refuse", Actor: in.Actor, Comment: in.Reason,
			IdempotencyKey: in.IdempotencyKey})
	}
	if err := require(ctx, in.Actor, []string{in.ReceivingUnit}, identity.ActionDossierReceive); err != nil {
		return ActResult{}, err
	}
	if err := checkIdemKey(in.IdempotencyKey); err != nil {
		return ActResult{}, err
	}
	now := ts(s.now())
	pr, err := s.prepare(ctx, in.Submission, in.Placement, now, false)
	if err != nil {
		return ActResult{}, err
	}
	ai := ActInput{Action: "refuse", Actor: in.Actor, Comment: in.Reason, IdempotencyKey: in.IdempotencyKey}
	return s.act(ctx, "refuse-new", in, ai, func(tx *db.Tx) (*row, error) {
		r, _, err := s.record(ctx, tx, pr, in.Actor, pr.sla)
		return r, err
	}, now)
}

// --- helpers shared with api.go ---

// baseName returns the last element of a file name given by a client
// (browsers may send a full path).
func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." {
		return "tep"
	}
	return name
}
