package dossier

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/workflow"
)

// Sentinel errors; test with errors.Is. Refusals about a dossier are *Error
// values (matching one of these and, when the workflow engine refused, its
// sentinel too) or *ValidationError values listing every problem.
var (
	// ErrNotFound: no dossier (or component, file, result) by that name.
	ErrNotFound = errors.New("dossier: not found")
	// ErrInvalid: the input breaks a rule; a *ValidationError lists each
	// field. HTTP 422.
	ErrInvalid = errors.New("dossier: invalid input")
	// ErrIncomplete: the dossier lacks required documents or the form is
	// not filled in as the procedure requires; a *ValidationError lists every
	// defect at once (§3 step 1). HTTP 422.
	ErrIncomplete = errors.New("dossier: incomplete")
	// ErrUnauthenticated: nobody is signed in. HTTP 401.
	ErrUnauthenticated = errors.New("dossier: not signed in")
	// ErrForbidden: the actor may not do this in the dossier's unit (or is
	// not the assignee of the step). HTTP 403.
	ErrForbidden = errors.New("dossier: forbidden")
	// ErrInvalidAction: the action is not possible in the dossier's current
	// state (or the process has no such action; or an extension after the
	// due date). HTTP 409.
	ErrInvalidAction = errors.New("dossier: invalid action")
	// ErrConflict: the dossier changed since the caller read it (stale
	// expected version) or two officers acted at once. HTTP 409.
	ErrConflict = errors.New("dossier: conflict")
	// ErrIdempotencyKeyReused: an idempotency key was sent again with a
	// different request. HTTP 422.
	ErrIdempotencyKeyReused = errors.New("dossier: idempotency key reused with a different request")
	// ErrLookupFailed: the public lookup found no dossier with that code and
	// second factor; unknown codes and wrong factors are not told apart.
	ErrLookupFailed = errors.New("dossier: lookup failed")
	// ErrRejectedFile: an uploaded file is not an accepted, readable PDF,
	// JPEG or PNG. HTTP 422.
	ErrRejectedFile = errors.New("dossier: file rejected")
	// ErrTooLarge: an uploaded file exceeds the size limit. HTTP 413.
	ErrTooLarge = errors.New("dossier: file too large")
)

// Error is a refusal with a stable code (also the i18n key of its
// Vietnamese/English message) and the message's arguments. It matches its
// Kind and, when it translates a workflow refusal, the workflow's sentinel.
type Error struct {
	Kind   error
	Code   string
	Reason string // English, for logs
	Args   []any  // name/value pairs for the message
	cause  error
}

// Error describes e for logs.
func (e *Error) Error() string { return fmt.Sprintf("%v: %s", e.Kind, e.Reason) }

// Unwrap returns the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Kind, e.cause}
	}
	return []error{e.Kind}
}

func refuse(kind error, code, reason string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Reason: reason, Args: args}
}

// Defect is one thing wrong with a submission: a missing or unacceptable
// document, a form field, an applicant detail. Field is a path such as
// "components[3]", "form_data/so_dinh_danh" or "applicant.phone"; Message
// is in Vietnamese and names the document or field, so the applicant can
// fix everything in one round (§13).
type Defect struct {
	Field     string `json:"field"`
	Component int    `json:"component,omitempty"`
	Document  string `json:"document,omitempty"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

// Stable defect codes.
const (
	CodeRequired      = "required"
	CodeTooLong       = "too_long"
	CodeInvalidFormat = "invalid_format"
	CodeInvalidValue  = "invalid_value"
	CodeInvalidChars  = "invalid_chars"
	CodeMissing       = "missing_document"
	CodeWrongForm     = "wrong_form"
	CodeNoFile        = "no_file"
	CodeQuantity      = "quantity"
	CodeUnknown       = "unknown_component"
	CodeDuplicate     = "duplicate"
	CodeNotInForce    = "not_in_force"
	CodeFileNotFound  = "file_not_found"
	CodeFormData      = "form_data"
	// CodeFormRequired: a required field of the form data is empty; like a
	// missing document it makes the dossier incomplete (it may still be
	// refused or sent back for supplement), not invalid.
	CodeFormRequired = "form_required"
)

// ValidationError lists every defect of a request. It matches ErrInvalid
// or, for a completeness check that failed, ErrIncomplete.
type ValidationError struct {
	Incomplete bool
	Defects    []Defect
}

// Error joins the defects, for logs.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Defects))
	for i, d := range e.Defects {
		parts[i] = d.Field + ": " + d.Message
	}
	kind := "invalid"
	if e.Incomplete {
		kind = "incomplete"
	}
	return "dossier: " + kind + ": " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) (or ErrIncomplete) hold.
func (e *ValidationError) Is(target error) bool {
	return target == ErrInvalid || (e.Incomplete && target == ErrIncomplete)
}

type defects []Defect

func (p *defects) add(field, code, msg string, args ...any) {
	if len(args) > 0 {
		msg = fmt.Sprintf(msg, args...)
	}
	*p = append(*p, Defect{Field: field, Code: code, Message: msg})
}

func (p defects) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Defects: slices.Clone(p)}
}

// Channel is how a dossier arrived (§2): the national portal's codes.
type Channel int

// The channels.
const (
	ChannelCounter Channel = 1 // in person at a one-stop desk
	ChannelOnline  Channel = 2 // online (provincial or national portal)
	ChannelPost    Channel = 3 // public postal service
)

// Valid reports whether c is one of the three channels.
func (c Channel) Valid() bool { return c >= ChannelCounter && c <= ChannelPost }

// Label returns the Vietnamese name of the channel.
func (c Channel) Label() string {
	switch c {
	case ChannelCounter:
		return "Trực tiếp"
	case ChannelOnline:
		return "Trực tuyến"
	case ChannelPost:
		return "Bưu chính công ích"
	}
	return strconv.Itoa(int(c))
}

// ApplicantType is the kind of applicant (§4; partner systems' own codes
// are mapped at their boundary).
type ApplicantType string

// The applicant types.
const (
	ApplicantCitizen           ApplicantType = "citizen"
	ApplicantBusiness          ApplicantType = "business"
	ApplicantHouseholdBusiness ApplicantType = "household_business"
)

// Valid reports whether t is a known applicant type.
func (t ApplicantType) Valid() bool {
	return t == ApplicantCitizen || t == ApplicantBusiness || t == ApplicantHouseholdBusiness
}

// Applicant is the dossier's owner (chủ hồ sơ): a citizen, a business or a
// household business. Citizens give their 12-digit personal ID number,
// businesses their tax code (10 digits, or 10-3 for a branch); a household
// business gives either. Phone is required: it is the public lookup's
// second factor and the channel of notices.
type Applicant struct {
	Type       ApplicantType `json:"type"`
	Name       string        `json:"name"`
	PersonalID string        `json:"personal_id,omitempty"`
	TaxCode    string        `json:"tax_code,omitempty"`
	Phone      string        `json:"phone"`
	Email      string        `json:"email,omitempty"`
	Address    string        `json:"address,omitempty"`
}

// Representative is the person who files on the applicant's behalf (người
// nộp thay), with their relation to the applicant.
type Representative struct {
	Name       string `json:"name"`
	PersonalID string `json:"personal_id,omitempty"`
	Phone      string `json:"phone,omitempty"`
	Email      string `json:"email,omitempty"`
	Relation   string `json:"relation,omitempty"`
}

// FileRef names a file already in the blob store (uploaded with
// [Service.PutFile]) for a component.
type FileRef struct {
	Name      string `json:"name"`
	Hash      string `json:"hash"`
	Digitized bool   `json:"digitized,omitempty"`
}

// ComponentInput is what the applicant provides for the N-th (1-based)
// required document of the procedure: in which form (original, copy,
// electronic), how many, whether it is reused from the personal data store
// (§10, with the store's reference), and its files.
type ComponentInput struct {
	N        int                  `json:"n"`
	Provided catalog.DocumentForm `json:"provided,omitempty"`
	Quantity int                  `json:"quantity,omitempty"`
	Reused   bool                 `json:"reused,omitempty"`
	ReuseRef string               `json:"reuse_ref,omitempty"`
	Files    []FileRef            `json:"files,omitempty"`
	Note     string               `json:"note,omitempty"`
}

// Submission is what an applicant hands in for a procedure: the applicant,
// an optional representative, the e-form data and the documents.
type Submission struct {
	ProcedureCode  string           `json:"procedure_code"`
	Channel        Channel          `json:"channel"`
	Applicant      Applicant        `json:"applicant"`
	Representative *Representative  `json:"representative,omitempty"`
	FormData       json.RawMessage  `json:"form_data,omitempty"`
	Components     []ComponentInput `json:"components"`
	// ReturnMethod is how the applicant wants the result: at the counter
	// (default), by post to DeliveryAddress, or online only.
	ReturnMethod    string `json:"return_method,omitempty"`
	DeliveryAddress string `json:"delivery_address,omitempty"`
	// Owner is the applicant's portal account (set by the portal, never
	// read from a request body): it may follow, answer, withdraw and rate
	// the dossier ([Service.Mine]).
	Owner string `json:"-"`
}

// How a result is returned (§2).
const (
	ReturnAtCounter = "counter"
	ReturnByPost    = "post"
	ReturnOnline    = "online"
)

// File is one version of a file of a component or result. Files of the same
// name in the same component are versions of each other: adding one
// supersedes the previous version, which stays in the history.
type File struct {
	Name         string    `json:"name"`
	Hash         string    `json:"hash"`
	Size         int64     `json:"size"`
	MediaType    string    `json:"media_type"`
	Digitized    bool      `json:"digitized"`
	Reused       bool      `json:"reused"`
	Version      int       `json:"version"`
	AddedBy      string    `json:"added_by"`
	AddedAt      time.Time `json:"added_at"`
	SupersededAt time.Time `json:"superseded_at,omitzero"`
}

// Component is a dossier's copy of one required document of the pinned
// procedure version (name, expected form and quantity, whether required)
// and what was provided for it. Files are the current versions; History
// the superseded ones, oldest first.
type Component struct {
	N                int                  `json:"n"`
	Name             string               `json:"name"`
	Required         bool                 `json:"required"`
	Form             catalog.DocumentForm `json:"form"`
	Quantity         int                  `json:"quantity"`
	Provided         catalog.DocumentForm `json:"provided,omitempty"`
	ProvidedQuantity int                  `json:"provided_quantity,omitempty"`
	Reused           bool                 `json:"reused"`
	ReuseRef         string               `json:"reuse_ref,omitempty"`
	Note             string               `json:"note,omitempty"`
	Files            []File               `json:"files"`
	History          []File               `json:"history,omitempty"`
}

// Digitized reports whether the component has a digitized file (§11: the
// 766 index counts digitized components).
func (c Component) Digitized() bool {
	return slices.ContainsFunc(c.Files, func(f File) bool { return f.Digitized })
}

// FeeStatus is whether a fee has been paid.
type FeeStatus string

// The fee statuses.
const (
	FeeUnpaid FeeStatus = "unpaid"
	FeePaid   FeeStatus = "paid"
)

// Fee is a fee of the pinned procedure version and its payment (§8).
type Fee struct {
	N         int              `json:"n"`
	Name      string           `json:"name"`
	Amount    int64            `json:"amount"`
	Stage     catalog.FeeStage `json:"stage"`
	Status    FeeStatus        `json:"status"`
	PaidAt    time.Time        `json:"paid_at,omitzero"`
	Reference string           `json:"reference,omitempty"`
}

// Result is one version of a result document (the permit, certificate or
// decision issued): its number (result code), name, issuer, validity and
// file. Adding a result with the same result code makes a new version.
type Result struct {
	ResultCode   string        `json:"result_code"`
	Name         string        `json:"name"`
	Issuer       string        `json:"issuer"`
	IssuedAt     time.Time     `json:"issued_at,omitzero"`
	ValidFrom    calendar.Date `json:"valid_from,omitzero"`
	ValidTo      calendar.Date `json:"valid_to,omitzero"`
	File         File          `json:"file"`
	Version      int           `json:"version"`
	SupersededAt time.Time     `json:"superseded_at,omitzero"`
}

// NoticeKind names the form a notice fills (Circular 03/2025 Annex I, §7).
type NoticeKind string

// The notices the dossier module records; the PDF forms are rendered from
// them.
const (
	NoticeSupplement NoticeKind = "supplement_request" // form 02
	NoticeRefusal    NoticeKind = "refusal"            // form 03
	NoticeExtension  NoticeKind = "extension"          // form 04, apology letter with a new date
	NoticeStop       NoticeKind = "stop"               // form 05
	NoticeWithdrawal NoticeKind = "withdrawal"         // the applicant's request, recorded
)

// Form returns the number of the form (§7) that renders the notice, or "".
func (k NoticeKind) Form() string {
	switch k {
	case NoticeSupplement:
		return "02"
	case NoticeRefusal:
		return "03"
	case NoticeExtension:
		return "04"
	case NoticeStop:
		return "05"
	}
	return ""
}

// Notice is the data of a form handed to the applicant at a decision: the
// reason, the defects (supplement request), the previous and new
// appointment dates (extension).
type Notice struct {
	Kind        NoticeKind `json:"kind"`
	Form        string     `json:"form,omitempty"`
	Action      string     `json:"action"`
	CaseVersion int64      `json:"case_version"`
	Reason      string     `json:"reason"`
	Defects     []Defect   `json:"defects,omitempty"`
	PreviousDue time.Time  `json:"previous_due,omitzero"`
	NewDue      time.Time  `json:"new_due,omitzero"`
	IssuedBy    string     `json:"issued_by"`
	IssuedAt    time.Time  `json:"issued_at"`
}

// noticeOf returns the notice an action issues, if any.
func noticeOf(action string, ext bool) (NoticeKind, bool) {
	switch {
	case ext:
		return NoticeExtension, true
	case action == "request_supplement":
		return NoticeSupplement, true
	case action == "refuse":
		return NoticeRefusal, true
	case action == "stop":
		return NoticeStop, true
	case action == "withdraw":
		return NoticeWithdrawal, true
	}
	return "", false
}

// Status is the dossier's internal status, independent of which process
// definition it follows. The workflow state (Dossier.State) is finer; the
// national portal's code (§4) follows from Status by [NationalStatus].
type Status string

// The internal statuses.
const (
	StatusNew                 Status = "new"                  // submitted, not yet checked
	StatusSupplementRequested Status = "supplement_requested" // before reception: form 02 issued
	StatusRefused             Status = "refused"              // not received: form 03
	StatusReceived            Status = "received"             // received, waiting for assignment
	StatusProcessing          Status = "processing"           // appraisal, approval, signing, issuing
	StatusSupplement          Status = "supplement"           // during processing: clock paused
	StatusAwaitingPayment     Status = "awaiting_payment"     // financial obligation: clock paused
	StatusResultReady         Status = "result_ready"         // result issued, waiting to be returned
	StatusNotCollected        Status = "not_collected"        // result ready, applicant did not come
	StatusReturned            Status = "returned"             // result handed over
	StatusArchived            Status = "archived"             // result never collected, archived
	StatusWithdrawn           Status = "withdrawn"            // withdrawn at the applicant's request
	StatusStopped             Status = "stopped"              // processing stopped: form 05
)

// nationalCodes is the explicit mapping of §4.
var nationalCodes = map[Status]int{
	StatusNew:                 1,
	StatusReceived:            2,
	StatusRefused:             3,
	StatusProcessing:          4,
	StatusSupplementRequested: 5,
	StatusSupplement:          5,
	StatusAwaitingPayment:     6,
	StatusWithdrawn:           7,
	StatusStopped:             8,
	StatusResultReady:         9,
	StatusNotCollected:        9,
	StatusArchived:            9, // (verify) the portal has no "archived"
	StatusReturned:            10,
}

// NationalStatus returns the national portal's (DVCQG) status code 1–10 of
// an internal status (§4), or 0 for an unknown status. The sync adapter
// sends it as TrangThaiHoSo.
func NationalStatus(s Status) int { return nationalCodes[s] }

// Statuses lists the internal statuses in lifecycle order.
func Statuses() []Status {
	return []Status{StatusNew, StatusSupplementRequested, StatusRefused, StatusReceived, StatusProcessing,
		StatusSupplement, StatusAwaitingPayment, StatusResultReady, StatusNotCollected, StatusReturned,
		StatusArchived, StatusWithdrawn, StatusStopped}
}

// stateStatus maps the states of the shipped process definitions.
var stateStatus = map[string]Status{
	"checking":                StatusNew,
	"supplement_at_reception": StatusSupplementRequested,
	"refused":                 StatusRefused,
	"assigning":               StatusReceived,
	"supplement":              StatusSupplement,
	"awaiting_payment":        StatusAwaitingPayment,
	"returning":               StatusResultReady,
	"not_collected":           StatusNotCollected,
	"returned":                StatusReturned,
	"archived":                StatusArchived,
	"withdrawn":               StatusWithdrawn,
	"stopped":                 StatusStopped,
}

// byNationalCode is the fallback for states of other definitions.
var byNationalCode = map[int]Status{1: StatusNew, 2: StatusReceived, 3: StatusRefused, 4: StatusProcessing,
	5: StatusSupplement, 6: StatusAwaitingPayment, 7: StatusWithdrawn, 8: StatusStopped, 9: StatusResultReady, 10: StatusReturned}

// StatusOf returns the internal status of a workflow state whose
// definition gives it the national code code. States of the shipped
// definitions are mapped by name; any other state by its code.
func StatusOf(state string, code int) Status {
	if s, ok := stateStatus[state]; ok {
		return s
	}
	if s, ok := byNationalCode[code]; ok {
		return s
	}
	return StatusProcessing
}

// Dossier is one application with its whole processing history (hồ sơ).
// It mirrors its workflow case (State, Version, Unit, Assignee, dates), which
// the dossier module updates in the same transaction as every transition.
type Dossier struct {
	Code             string          `json:"code"`
	CaseID           string          `json:"case_id"`
	ProcedureCode    string          `json:"procedure_code"`
	ProcedureVersion int             `json:"procedure_version"`
	ProcedureName    string          `json:"procedure_name"`
	FieldCode        string          `json:"field_code"`
	ProcessKey       string          `json:"process_key"`
	ProcessVersion   int             `json:"process_version"`
	Channel          Channel         `json:"channel"`
	Applicant        Applicant       `json:"applicant"`
	Representative   *Representative `json:"representative,omitempty"`
	FormData         json.RawMessage `json:"form_data"`

	ReceivingAgency string `json:"receiving_agency"`
	ReceivingUnit   string `json:"receiving_unit"`
	CompetentAgency string `json:"competent_agency"`
	DivisionUnit    string `json:"division_unit,omitempty"`
	AgencyUnit      string `json:"agency_unit,omitempty"`

	State          string `json:"state"`
	Status         Status `json:"status"`
	NationalStatus int    `json:"national_status"`
	Outcome        string `json:"outcome,omitempty"`
	Version        int64  `json:"version"`
	Unit           string `json:"unit"`
	Assignee       string `json:"assignee,omitempty"`

	SubmittedAt   time.Time `json:"submitted_at"`
	ReceivedAt    time.Time `json:"received_at,omitzero"`
	DueAt         time.Time `json:"due_at,omitzero"`
	FinishedAt    time.Time `json:"finished_at,omitzero"`
	ReturnedAt    time.Time `json:"returned_at,omitzero"`
	EndedAt       time.Time `json:"ended_at,omitzero"`
	PausedAt      time.Time `json:"paused_at,omitzero"`
	PausedSeconds int64     `json:"paused_seconds"`
	ReceivedBy    string    `json:"received_by,omitempty"`
	CreatedBy     string    `json:"created_by"`
	// Owner is the portal account that submitted the dossier ('' for
	// dossiers received at the counter or from the national portal).
	Owner string `json:"owner,omitempty"`
	// ReturnMethod and DeliveryAddress: how the result goes back (counter,
	// post to the address, online).
	ReturnMethod    string    `json:"return_method,omitempty"`
	DeliveryAddress string    `json:"delivery_address,omitempty"`
	UpdatedAt       time.Time `json:"updated_at"`

	Components []Component `json:"components"`
	Fees       []Fee       `json:"fees"`
	Results    []Result    `json:"results"`
	Notices    []Notice    `json:"notices"`
	// Timeline, Pauses and Actions are filled by [Service.Get].
	Timeline []TimelineEntry `json:"timeline,omitempty"`
	Pauses   []Pause         `json:"pauses,omitempty"`
	Actions  []ActionInfo    `json:"actions,omitempty"`
}

// Ended reports whether the dossier reached a final state.
func (d *Dossier) Ended() bool { return !d.EndedAt.IsZero() }

// TimelineEntry is one step of a dossier's history, for officials (§3:
// actor, role, unit, time, comment, attachments with hashes).
type TimelineEntry struct {
	At          time.Time             `json:"at"`
	Action      string                `json:"action"`
	ActionName  string                `json:"action_name"`
	From        string                `json:"from,omitempty"`
	To          string                `json:"to"`
	StateName   string                `json:"state_name"`
	Status      int                   `json:"national_status"`
	Branch      string                `json:"branch,omitempty"`
	Actor       string                `json:"actor"`
	Role        string                `json:"role,omitempty"`
	Unit        string                `json:"unit,omitempty"`
	Comment     string                `json:"comment,omitempty"`
	Attachments []workflow.Attachment `json:"attachments,omitempty"`
	Signature   string                `json:"signature,omitempty"`
	SendBack    bool                  `json:"send_back,omitempty"`
	DueAt       time.Time             `json:"due_at,omitzero"`
	// StepDueAt is the deadline of the step the entry hands the dossier to
	// (the state's own SLA on the working-day calendar, continued after a
	// pause); zero when the step has none and only DueAt applies.
	StepDueAt time.Time `json:"step_due_at,omitzero"`
	Version   int64     `json:"version"`
}

// Pause is an interval during which the dossier's clock stood still (§6).
type Pause struct {
	State          string    `json:"state"`
	Reason         string    `json:"reason"`
	StartedAt      time.Time `json:"started_at"`
	EndedAt        time.Time `json:"ended_at,omitzero"`
	WorkingSeconds int64     `json:"working_seconds"`
}

// ActionInfo is an action the viewer may take now.
type ActionInfo struct {
	Key      string   `json:"key"`
	Name     string   `json:"name"`
	Branch   string   `json:"branch,omitempty"`
	Requires []string `json:"requires,omitempty"`
	SendBack bool     `json:"send_back,omitempty"`
	Assign   bool     `json:"assign,omitempty"`
	Extends  bool     `json:"extends,omitempty"`
	Next     string   `json:"next,omitempty"`
}

// PublicView is what the public lookup shows (§9): status, procedure,
// dates and the names and dates of the steps, and nothing personal (no
// applicant, no officials, no comments).
type PublicView struct {
	Code           string       `json:"code"`
	ProcedureCode  string       `json:"procedure_code"`
	ProcedureName  string       `json:"procedure_name"`
	Status         Status       `json:"status"`
	StatusName     string       `json:"status_name"`
	NationalStatus int          `json:"national_status"`
	SubmittedAt    time.Time    `json:"submitted_at"`
	ReceivedAt     time.Time    `json:"received_at,omitzero"`
	DueAt          time.Time    `json:"due_at,omitzero"`
	FinishedAt     time.Time    `json:"finished_at,omitzero"`
	ReturnedAt     time.Time    `json:"returned_at,omitzero"`
	Results        []string     `json:"results,omitempty"` // result codes available for download
	Steps          []PublicStep `json:"steps"`
}

// PublicStep is one step of the public timeline.
type PublicStep struct {
	At   time.Time `json:"at"`
	Name string    `json:"name"`
}

// statusNames are the Vietnamese names of the statuses for the public.
var statusNames = map[Status]string{
	StatusNew:                 "Mới tiếp nhận trực tuyến, chờ kiểm tra",
	StatusSupplementRequested: "Yêu cầu bổ sung hồ sơ",
	StatusRefused:             "Từ chối tiếp nhận",
	StatusReceived:            "Đã tiếp nhận",
	StatusProcessing:          "Đang xử lý",
	StatusSupplement:          "Chờ bổ sung hồ sơ",
	StatusAwaitingPayment:     "Chờ thực hiện nghĩa vụ tài chính",
	StatusResultReady:         "Đã có kết quả, chờ trả",
	StatusNotCollected:        "Đã có kết quả, chưa đến nhận",
	StatusReturned:            "Đã trả kết quả",
	StatusArchived:            "Đã lưu trữ",
	StatusWithdrawn:           "Đã rút hồ sơ",
	StatusStopped:             "Dừng xử lý",
}

// Label returns the Vietnamese name of s.
func (s Status) Label() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return string(s)
}

// --- codes (§5) ---

var codeRe = regexp.MustCompile(`^([0-9A-Z]{1,6}(?:\.[0-9A-Z]{1,6}){0,5})-([0-9]{6})-([0-9]{4,})$`)

// codeDay is the yymmdd part of a code, from a time in the calendar's zone.
func codeDay(t time.Time) string { return t.Format("060102") }

// FormatCode returns the dossier code of the seq-th dossier received by
// agency (its e-ID) on the day of t (read in t's location, which callers
// set to Asia/Ho_Chi_Minh): "{e-ID}-{yymmdd}-{seq}", seq written with at
// least four digits (§5). Beyond 9999 a day the sequence simply grows a
// digit rather than refusing a dossier.
func FormatCode(agency string, t time.Time, seq int) string {
	return fmt.Sprintf("%s-%s-%04d", agency, codeDay(t), seq)
}

// ParseCode splits a dossier code into the agency e-ID, the yymmdd day and
// the daily sequence number.
func ParseCode(code string) (agency, day string, seq int, ok bool) {
	m := codeRe.FindStringSubmatch(code)
	if m == nil || len(code) > 80 {
		return "", "", 0, false
	}
	n, err := strconv.Atoi(m[3])
	if err != nil || n <= 0 {
		return "", "", 0, false
	}
	return m[1], m[2], n, true
}

// ValidCode reports whether code is well-formed.
func ValidCode(code string) bool {
	_, _, _, ok := ParseCode(code)
	return ok
}

// --- validation ---

var (
	personalIDRe = regexp.MustCompile(`^[0-9]{12}$`)
	taxCodeRe    = regexp.MustCompile(`^[0-9]{10}(-[0-9]{3})?$`)
	phoneRe      = regexp.MustCompile(`^\+?[0-9][0-9 .-]{7,18}[0-9]$`)
	idemKeyRe    = regexp.MustCompile(`^[\x21-\x7e]{1,200}$`)
)

// checkText reports control characters, invalid UTF-8 and excess length.
// Text is otherwise stored verbatim: markup or SQL in a name is data.
func (p *defects) checkText(field, s string, required bool, max int, multiline bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		p.add(field, CodeRequired, "Không được để trống.")
		return
	case !utf8.ValidString(s):
		p.add(field, CodeInvalidChars, "Chứa ký tự không hợp lệ (không phải UTF-8).")
		return
	case utf8.RuneCountInString(s) > max:
		p.add(field, CodeTooLong, "Dài quá %d ký tự.", max)
		return
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			p.add(field, CodeInvalidChars, "Chứa ký tự điều khiển không được phép.")
			return
		}
	}
}

// phoneDigits returns the digits of a phone number.
func phoneDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// last4 returns the last four digits of a phone number ("" if fewer).
func last4(phone string) string {
	d := phoneDigits(phone)
	if len(d) < 4 {
		return ""
	}
	return d[len(d)-4:]
}

// factorMatches compares the stored phone's last four digits with the
// given ones in constant time.
func factorMatches(phone, given string) bool {
	want := last4(phone)
	ok := subtle.ConstantTimeCompare([]byte(want), []byte(given)) == 1
	return ok && want != ""
}

func (p *defects) checkApplicant(prefix string, a Applicant) {
	if !a.Type.Valid() {
		p.add(prefix+".type", CodeInvalidValue, "Loại chủ hồ sơ phải là citizen (công dân), business (doanh nghiệp) hoặc household_business (hộ kinh doanh).")
	}
	p.checkText(prefix+".name", a.Name, true, 200, false)
	if a.PersonalID != "" && !personalIDRe.MatchString(a.PersonalID) {
		p.add(prefix+".personal_id", CodeInvalidFormat, "Số định danh cá nhân phải gồm 12 chữ số.")
	}
	if a.TaxCode != "" && !taxCodeRe.MatchString(a.TaxCode) {
		p.add(prefix+".tax_code", CodeInvalidFormat, "Mã số thuế phải gồm 10 chữ số (hoặc 10-3 với đơn vị phụ thuộc).")
	}
	switch a.Type {
	case ApplicantCitizen:
		if a.PersonalID == "" {
			p.add(prefix+".personal_id", CodeRequired, "Công dân phải có số định danh cá nhân.")
		}
	case ApplicantBusiness:
		if a.TaxCode == "" {
			p.add(prefix+".tax_code", CodeRequired, "Doanh nghiệp phải có mã số thuế (mã số doanh nghiệp).")
		}
	case ApplicantHouseholdBusiness:
		if a.TaxCode == "" && a.PersonalID == "" {
			p.add(prefix+".tax_code", CodeRequired, "Hộ kinh doanh phải có mã số thuế hoặc số định danh của chủ hộ.")
		}
	}
	switch {
	case strings.TrimSpace(a.Phone) == "":
		p.add(prefix+".phone", CodeRequired, "Cần số điện thoại để nhận thông báo và tra cứu hồ sơ.")
	case !phoneRe.MatchString(a.Phone) || len(phoneDigits(a.Phone)) < 9 || len(phoneDigits(a.Phone)) > 15:
		p.add(prefix+".phone", CodeInvalidFormat, "Số điện thoại không đúng định dạng.")
	}
	p.checkEmail(prefix+".email", a.Email)
	p.checkText(prefix+".address", a.Address, false, 500, false)
}

func (p *defects) checkEmail(field, s string) {
	if s == "" {
		return
	}
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s || len(s) > 254 {
		p.add(field, CodeInvalidFormat, "Địa chỉ thư điện tử không đúng định dạng.")
	}
}

func (p *defects) checkRepresentative(r *Representative) {
	if r == nil {
		return
	}
	p.checkText("representative.name", r.Name, true, 200, false)
	if r.PersonalID != "" && !personalIDRe.MatchString(r.PersonalID) {
		p.add("representative.personal_id", CodeInvalidFormat, "Số định danh cá nhân phải gồm 12 chữ số.")
	}
	if r.Phone != "" && (!phoneRe.MatchString(r.Phone) || len(phoneDigits(r.Phone)) < 9) {
		p.add("representative.phone", CodeInvalidFormat, "Số điện thoại không đúng định dạng.")
	}
	p.checkEmail("representative.email", r.Email)
	p.checkText("representative.relation", r.Relation, false, 100, false)
}

func validForm(f catalog.DocumentForm) bool {
	return f == catalog.FormOriginal || f == catalog.FormCopy || f == catalog.FormElectronic
}

// acceptable reports whether a document provided in form got satisfies a
// requirement of form want. An electronic document (an electronic copy from
// the personal data store, Decree 45/2020, or an online submission's file)
// stands for an original or a copy; an original stands for a copy.
func acceptable(want, got catalog.DocumentForm) bool {
	switch want {
	case catalog.FormOriginal:
		return got == catalog.FormOriginal || got == catalog.FormElectronic
	case catalog.FormCopy, "":
		return validForm(got)
	case catalog.FormElectronic:
		return got == catalog.FormElectronic
	}
	return got == want
}

// CheckCompleteness checks the documents of a submission against the
// procedure's required documents and lists every defect at once (§3 step
// 1.1: a supplement request names everything missing in one round): each
// required document not provided, provided in an unacceptable form or in
// fewer copies than required, electronic documents without a file,
// components that the procedure does not have, and components given twice.
// Online submissions (channel 2) must provide every document electronically.
func CheckCompleteness(p catalog.Procedure, comps []ComponentInput, ch Channel) []Defect {
	var out defects
	seen := map[int]bool{}
	byN := map[int]ComponentInput{}
	for i, c := range comps {
		field := fmt.Sprintf("components[%d]", i)
		switch {
		case c.N < 1 || c.N > len(p.Documents):
			out = append(out, Defect{Field: field, Component: c.N, Code: CodeUnknown,
				Message: fmt.Sprintf("Thủ tục không có thành phần hồ sơ số %d.", c.N)})
			continue
		case seen[c.N]:
			out = append(out, Defect{Field: field, Component: c.N, Document: p.Documents[c.N-1].Name, Code: CodeDuplicate,
				Message: fmt.Sprintf("Thành phần số %d được khai hai lần.", c.N)})
			continue
		}
		seen[c.N] = true
		byN[c.N] = c
	}
	for i, doc := range p.Documents {
		n := i + 1
		field := fmt.Sprintf("components.%d", n)
		c, ok := byN[n]
		d := Defect{Field: field, Component: n, Document: doc.Name}
		if !ok || c.Provided == "" {
			if doc.Required {
				d.Code, d.Message = CodeMissing, fmt.Sprintf("Thiếu thành phần hồ sơ: %s.", doc.Name)
				out = append(out, d)
			}
			continue
		}
		if !validForm(c.Provided) {
			d.Code, d.Message = CodeInvalidValue, fmt.Sprintf("%s: hình thức nộp phải là original (bản chính), copy (bản sao) hoặc electronic (bản điện tử).", doc.Name)
			out = append(out, d)
			continue
		}
		if ch == ChannelOnline && c.Provided != catalog.FormElectronic {
			d.Code, d.Message = CodeWrongForm, fmt.Sprintf("%s: hồ sơ trực tuyến phải nộp bản điện tử.", doc.Name)
			out = append(out, d)
			continue
		}
		if !acceptable(doc.Form, c.Provided) {
			d.Code, d.Message = CodeWrongForm, fmt.Sprintf("%s: cần %s, đã nộp %s.", doc.Name,
				strings.ToLower(doc.Form.Label()), strings.ToLower(c.Provided.Label()))
			out = append(out, d)
		}
		if c.Provided == catalog.FormElectronic && len(c.Files) == 0 {
			d.Code, d.Message = CodeNoFile, fmt.Sprintf("%s: bản điện tử chưa có tệp đính kèm.", doc.Name)
			out = append(out, d)
		}
		if c.Provided != catalog.FormElectronic && doc.Quantity > 1 && c.Quantity > 0 && c.Quantity < doc.Quantity {
			d.Code, d.Message = CodeQuantity, fmt.Sprintf("%s: cần %d bộ, đã nộp %d.", doc.Name, doc.Quantity, c.Quantity)
			out = append(out, d)
		}
	}
	return out
}

// checkComponentShape validates what CheckCompleteness does not: lengths,
// characters and file references.
func (p *defects) checkComponentShape(comps []ComponentInput) {
	if len(comps) > 200 {
		p.add("components", CodeTooLong, "Quá nhiều thành phần hồ sơ.")
		return
	}
	for i, c := range comps {
		f := fmt.Sprintf("components[%d]", i)
		p.checkText(f+".note", c.Note, false, 1000, true)
		p.checkText(f+".reuse_ref", c.ReuseRef, false, 200, false)
		if c.Reused && c.ReuseRef == "" {
			p.add(f+".reuse_ref", CodeRequired, "Giấy tờ tái sử dụng phải ghi mã trong kho dữ liệu.")
		}
		if c.Quantity < 0 || c.Quantity > 100 {
			p.add(f+".quantity", CodeInvalidValue, "Số lượng phải từ 0 đến 100.")
		}
		if len(c.Files) > 50 {
			p.add(f+".files", CodeTooLong, "Quá nhiều tệp cho một thành phần.")
			continue
		}
		for j, fr := range c.Files {
			ff := fmt.Sprintf("%s.files[%d]", f, j)
			p.checkText(ff+".name", fr.Name, true, 255, false)
			if !validHash(fr.Hash) {
				p.add(ff+".hash", CodeInvalidFormat, "Mã băm tệp phải là SHA-256 (64 ký tự hex thường).")
			}
		}
	}
}

var hashRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

func validHash(s string) bool { return hashRe.MatchString(s) }

// checkEID validates the e-ID of an agency or unit named by a
// request.
func (p *defects) checkEID(field, v string, required bool) {
	switch {
	case v == "" && required:
		p.add(field, CodeRequired, "Không được để trống.")
	case v != "" && !catalog.ValidEID(v):
		p.add(field, CodeInvalidFormat, "Mã định danh cơ quan, đơn vị không đúng định dạng (ví dụ 000.00.13.H99).")
	}
}

// searchFields are the words a dossier is found by.
func searchFields(d *Dossier) []string {
	out := []string{d.Applicant.Name, d.Applicant.PersonalID, d.Applicant.TaxCode}
	if d.Representative != nil {
		out = append(out, d.Representative.Name)
	}
	return out
}
