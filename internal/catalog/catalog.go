package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/congso/congso/internal/platform/calendar"
)

// Sentinel errors; callers test with errors.Is.
var (
	// ErrNotFound means the requested unit, agency, field or procedure does not exist.
	ErrNotFound = errors.New("catalog: not found")
	// ErrInvalid means a record failed validation; the error is a *ValidationError.
	ErrInvalid = errors.New("catalog: invalid")
	// ErrConflict means the request conflicts with the stored state, such as
	// editing a published procedure version.
	ErrConflict = errors.New("catalog: conflict")
	// ErrImportRejected means an import found errors and applied nothing; the
	// report lists every bad row.
	ErrImportRejected = errors.New("catalog: import rejected")
)

// DistrictLevelAbolished is the day the district level of local government ended
// (the 2025 reform): district units are history only and end on or before it.
var DistrictLevelAbolished = calendar.Date{Year: 2025, Month: time.July, Day: 1}

// Level is the tier of an administrative unit, agency or procedure.
type Level string

// The levels. District exists only as history (before 2025-07-01).
const (
	LevelProvince Level = "province"
	LevelDistrict Level = "district"
	LevelCommune  Level = "commune"
)

// UnitKind says what an administrative unit is called within its level.
type UnitKind string

// The kinds of administrative units.
const (
	KindProvince    UnitKind = "tinh"      // tỉnh
	KindCity        UnitKind = "thanh_pho" // thành phố (centrally run, or provincial city before 2025)
	KindRural       UnitKind = "huyen"     // huyện (history)
	KindUrban       UnitKind = "quan"      // quận (history)
	KindTown        UnitKind = "thi_xa"    // thị xã (history)
	KindCommune     UnitKind = "xa"        // xã
	KindWard        UnitKind = "phuong"    // phường
	KindSpecialZone UnitKind = "dac_khu"   // đặc khu
	KindTownship    UnitKind = "thi_tran"  // thị trấn (history)
)

var kindsByLevel = map[Level][]UnitKind{
	LevelProvince: {KindProvince, KindCity},
	LevelDistrict: {KindRural, KindUrban, KindTown, KindCity},
	LevelCommune:  {KindCommune, KindWard, KindSpecialZone, KindTownship},
}

// kindNames are the Vietnamese names of unit kinds, for display.
var kindNames = map[UnitKind]string{
	KindProvince: "Tỉnh", KindCity: "Thành phố", KindRural: "Huyện", KindUrban: "Quận",
	KindTown: "Thị xã", KindCommune: "Xã", KindWard: "Phường", KindSpecialZone: "Đặc khu",
	KindTownship: "Thị trấn",
}

// Label returns the Vietnamese name of the kind ("Phường"), or the kind itself.
func (k UnitKind) Label() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return string(k)
}

var levelNames = map[Level]string{LevelProvince: "Cấp tỉnh", LevelDistrict: "Cấp huyện", LevelCommune: "Cấp xã"}

// Label returns the Vietnamese name of the level ("Cấp xã"), or the level itself.
func (l Level) Label() string {
	if s, ok := levelNames[l]; ok {
		return s
	}
	return string(l)
}

// AdminUnit is an administrative unit (đơn vị hành chính): the province, a
// commune (xã, phường, đặc khu), or, as history, a district or a commune that
// was merged. A unit is in force from EffectiveFrom until the day before
// EffectiveTo (zero: still in force). Successors are the units that took over
// its territory when it ended (many old communes to one new commune, or a
// district to the communes that replaced it).
type AdminUnit struct {
	Code          string        `json:"code"`
	Name          string        `json:"name"`
	Level         Level         `json:"level"`
	Kind          UnitKind      `json:"kind"`
	ParentCode    string        `json:"parent_code,omitempty"`
	EffectiveFrom calendar.Date `json:"effective_from"`
	EffectiveTo   calendar.Date `json:"effective_to,omitzero"`
	Successors    []string      `json:"successors,omitempty"`
}

// FullName returns the kind and name, e.g. "Phường Bình Minh".
func (u AdminUnit) FullName() string { return u.Kind.Label() + " " + u.Name }

// InForce reports whether the unit exists on day d.
func (u AdminUnit) InForce(d calendar.Date) bool { return inForce(u.EffectiveFrom, u.EffectiveTo, d) }

// AgencyKind distinguishes an agency (cơ quan) from a unit within it (đơn vị
// trực thuộc, phòng).
type AgencyKind string

// The agency kinds.
const (
	KindAgency AgencyKind = "agency"
	KindUnit   AgencyKind = "unit"
)

// Agency is a node of the one tree of agencies and their units. It is
// identified by its agency e-ID (Decision 20/2020/QĐ-TTg), kept as an opaque
// string such as "000.00.00.H41" or "H41.01". When an agency receives a new
// e-ID the old one is kept in FormerEIDs and still resolves to it.
type Agency struct {
	EID           string        `json:"eid"`
	Name          string        `json:"name"`
	ShortName     string        `json:"short_name,omitempty"`
	Kind          AgencyKind    `json:"kind"`
	Level         Level         `json:"level"`
	ParentEID     string        `json:"parent_eid,omitempty"`
	AdminUnitCode string        `json:"admin_unit_code,omitempty"`
	EffectiveFrom calendar.Date `json:"effective_from"`
	EffectiveTo   calendar.Date `json:"effective_to,omitzero"`
	FormerEIDs    []string      `json:"former_eids,omitempty"`
	// Contact details shown to applicants on the pages of the procedures the
	// agency is competent for; each is optional. Phone is one Vietnamese
	// number as written ("0271 3879 999"); Website an http(s) address;
	// OpeningHours free text, one line per period.
	Address      string `json:"address,omitempty"`
	Phone        string `json:"phone,omitempty"`
	Email        string `json:"email,omitempty"`
	Website      string `json:"website,omitempty"`
	OpeningHours string `json:"opening_hours,omitempty"`
}

// HasContact reports whether any contact detail of the agency is known.
func (a Agency) HasContact() bool {
	return a.Address != "" || a.Phone != "" || a.Email != "" || a.Website != "" || a.OpeningHours != ""
}

// DialNumber returns the agency's phone number as a tel: link dials it:
// "+842713879999" for "0271 3879 999", "19001234" for a national hotline
// "1900 1234"; "" when the number is missing or malformed.
func (a Agency) DialNumber() string {
	d, ok := phoneDigits(a.Phone)
	if !ok {
		return ""
	}
	if strings.HasPrefix(d, "0") {
		return "+84" + d[1:]
	}
	return d
}

// phoneDigits reduces a phone number as written to its digits in national
// form ("+84 271 3879 999" → "02713879999"); ok is false when it is not a
// Vietnamese number: a fixed line or mobile number (0 and 9 or 10 more
// digits) or a 1800/1900 hotline (8 to 10 digits). Spaces, dots, hyphens and
// parentheses may group the digits.
func phoneDigits(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 30 {
		return "", false
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	d := b.String()
	if rest, ok := strings.CutPrefix(d, "+84"); ok {
		d = "0" + strings.TrimPrefix(rest, "0")
	}
	return d, phoneRe.MatchString(d)
}

// InForce reports whether the agency exists on day d.
func (a Agency) InForce(d calendar.Date) bool { return inForce(a.EffectiveFrom, a.EffectiveTo, d) }

// Field is a subject area of procedures (lĩnh vực).
type Field struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// OnlineLevel says how much of a procedure can be done online.
type OnlineLevel string

// The online levels.
const (
	OnlineFull    OnlineLevel = "full"    // toàn trình
	OnlinePartial OnlineLevel = "partial" // một phần
	OnlineNone    OnlineLevel = "none"    // không trực tuyến
)

var onlineNames = map[OnlineLevel]string{OnlineFull: "Toàn trình", OnlinePartial: "Một phần", OnlineNone: "Không trực tuyến"}

// Label returns the Vietnamese name of the online level.
func (o OnlineLevel) Label() string {
	if s, ok := onlineNames[o]; ok {
		return s
	}
	return string(o)
}

// DocumentForm is the form in which a required document is submitted.
type DocumentForm string

// The document forms.
const (
	FormOriginal   DocumentForm = "original"   // bản chính
	FormCopy       DocumentForm = "copy"       // bản sao (chứng thực)
	FormElectronic DocumentForm = "electronic" // bản điện tử / bản sao điện tử
)

var formNames = map[DocumentForm]string{FormOriginal: "Bản chính", FormCopy: "Bản sao", FormElectronic: "Bản điện tử"}

// Label returns the Vietnamese name of the document form.
func (f DocumentForm) Label() string {
	if s, ok := formNames[f]; ok {
		return s
	}
	return string(f)
}

// Document is a required document of a procedure (thành phần hồ sơ).
type Document struct {
	Name     string       `json:"name"`
	Form     DocumentForm `json:"form"`
	Quantity int          `json:"quantity"`
	Template string       `json:"template,omitempty"` // form/template reference, e.g. "Mẫu số 01"
	Required bool         `json:"required"`
	// File is the blank form to download, when one was uploaded. Unlike
	// the rest of the version it may change after publication (see the
	// package documentation).
	File *FormFile `json:"file,omitempty"`
	// fileSet records that the record being saved said something of File
	// (an import's explicit "file": null clears it); otherwise the stored
	// file is kept.
	fileSet bool
}

// FeeStage is when a fee is paid.
type FeeStage string

// The fee stages.
const (
	PaidAtReception FeeStage = "reception"
	PaidAtResult    FeeStage = "result"
)

var stageNames = map[FeeStage]string{PaidAtReception: "Khi tiếp nhận", PaidAtResult: "Khi trả kết quả"}

// Label returns the Vietnamese name of the stage.
func (s FeeStage) Label() string {
	if n, ok := stageNames[s]; ok {
		return n
	}
	return string(s)
}

// Fee is a fee or charge of a procedure, in đồng.
type Fee struct {
	Name   string   `json:"name"`
	Amount int64    `json:"amount"`
	PaidAt FeeStage `json:"paid_at"`
}

// DurationUnit is the unit of a statutory duration.
type DurationUnit string

// The duration units.
const (
	WorkingDays DurationUnit = "working_days"
	Hours       DurationUnit = "hours"
)

// Duration is a statutory processing duration: N working days or N hours.
type Duration struct {
	Value int          `json:"value"`
	Unit  DurationUnit `json:"unit"`
}

// String returns the duration in Vietnamese ("15 ngày làm việc", "8 giờ").
func (d Duration) String() string {
	switch d.Unit {
	case WorkingDays:
		return strconv.Itoa(d.Value) + " ngày làm việc"
	case Hours:
		return strconv.Itoa(d.Value) + " giờ"
	}
	return strconv.Itoa(d.Value) + " " + string(d.Unit)
}

// Status is the editorial state of a procedure version.
type Status string

// The statuses. A draft is not in force on any date. An active version is in
// force from EffectiveFrom until EffectiveTo (set when a newer version
// supersedes it). A retired version was withdrawn: the procedure ends on its
// EffectiveTo without a successor.
const (
	StatusDraft   Status = "draft"
	StatusActive  Status = "active"
	StatusRetired Status = "retired"
)

var statusNames = map[Status]string{StatusDraft: "Nháp", StatusActive: "Đã công bố", StatusRetired: "Đã bãi bỏ"}

// Label returns the Vietnamese name of the status.
func (s Status) Label() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return string(s)
}

// Published reports whether the version was published (active or retired).
func (s Status) Published() bool { return s == StatusActive || s == StatusRetired }

// Procedure is one version of an administrative procedure (thủ tục hành
// chính), identified by its national code and version number.
//
// CompetentAgency and ImplementingAgency are agency e-IDs. For a commune-level
// procedure an empty CompetentAgency means "the People's Committee of every
// commune". FormSchema is a JSON Schema (draft 2020-12 unless it says
// otherwise) of the e-form applicants fill in; ProcessKey names the process
// definition of the workflow module.
type Procedure struct {
	Code               string          `json:"code"`
	Version            int             `json:"version"`
	Name               string          `json:"name"`
	FieldCode          string          `json:"field_code"`
	Level              Level           `json:"level"`
	CompetentAgency    string          `json:"competent_agency,omitempty"`
	ImplementingAgency string          `json:"implementing_agency,omitempty"`
	OnlineLevel        OnlineLevel     `json:"online_level"`
	Documents          []Document      `json:"documents"`
	Fees               []Fee           `json:"fees"`
	Duration           Duration        `json:"duration"`
	LegalBasis         []string        `json:"legal_basis"`
	FAQ                []FAQItem       `json:"faq,omitempty"`
	FormSchema         json.RawMessage `json:"form_schema,omitempty"`
	ProcessKey         string          `json:"process_key,omitempty"`
	EffectiveFrom      calendar.Date   `json:"effective_from"`
	EffectiveTo        calendar.Date   `json:"effective_to,omitzero"`
	Status             Status          `json:"status"`
}

// FAQItem is one entry of a procedure's frequently asked questions (câu hỏi
// thường gặp), plain text: the answer may span several lines.
type FAQItem struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// Bounds of a procedure's FAQ, in entries and characters.
const (
	MaxFAQItems    = 30
	MaxFAQQuestion = 300
	MaxFAQAnswer   = 3000
)

// InForce reports whether this version applies on day d.
func (p Procedure) InForce(d calendar.Date) bool {
	return p.Status.Published() && inForce(p.EffectiveFrom, p.EffectiveTo, d)
}

// TotalFee returns the sum of the procedure's fees in đồng.
func (p Procedure) TotalFee() int64 {
	var n int64
	for _, f := range p.Fees {
		n += f.Amount
	}
	return n
}

func inForce(from, to, d calendar.Date) bool {
	return !d.Before(from) && (to.IsZero() || d.Before(to))
}

// FieldError says what is wrong with one field of a record. Message is in
// Vietnamese; Code is stable for programs.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ValidationError lists every problem found in one record. It matches
// [ErrInvalid] under errors.Is.
type ValidationError struct {
	Errors []FieldError
}

// Error joins the field errors.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, f := range e.Errors {
		parts[i] = f.Field + ": " + f.Message
	}
	return "catalog: invalid: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Stable codes of field errors.
const (
	CodeRequired      = "required"
	CodeTooLong       = "too_long"
	CodeInvalidFormat = "invalid_format"
	CodeInvalidValue  = "invalid_value"
	CodeInvalidChars  = "invalid_chars"
	CodeInvalidDate   = "invalid_date"
	CodeDateOrder     = "date_order"
	CodeNotFound      = "not_found"
	CodeDuplicate     = "duplicate"
	CodeCycle         = "cycle"
	CodeImmutable     = "immutable"
	CodeUnknownColumn = "unknown_column"
	CodeMissingColumn = "missing_column"
	CodeSyntax        = "syntax"
)

// problems collects field errors while validating.
type problems []FieldError

func (p *problems) add(field, code, msg string, args ...any) {
	if len(args) > 0 {
		msg = fmt.Sprintf(msg, args...)
	}
	*p = append(*p, FieldError{Field: field, Code: code, Message: msg})
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Errors: slices.Clone(p)}
}

var (
	unitCodeRe      = regexp.MustCompile(`^[0-9A-Z]{1,16}$`)
	eidRe           = regexp.MustCompile(`^[0-9A-Z]{1,6}(\.[0-9A-Z]{1,6}){0,5}$`)
	fieldCodeRe     = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$`)
	procedureCodeRe = regexp.MustCompile(`^[0-9]{1,2}\.[0-9]{6}$`)
	processKeyRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	phoneRe         = regexp.MustCompile(`^(0[1-9][0-9]{8,9}|1[89]00[0-9]{4,6})$`)
	emailRe         = regexp.MustCompile(`^[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$`)
	hostRe          = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$`)
)

// ValidEID reports whether s is well-formed as an agency e-ID: one to six
// dot-separated groups of 1–6 upper-case letters or digits, such as
// "000.00.00.H41", "H41.01" or "H15.50.05.13".
func ValidEID(s string) bool { return len(s) <= 48 && eidRe.MatchString(s) }

// ValidProcedureCode reports whether s is a national procedure code such as
// "1.004227".
func ValidProcedureCode(s string) bool { return procedureCodeRe.MatchString(s) }

// checkText checks a human-readable text: required or not, at most max runes,
// valid UTF-8 without control characters (newlines allowed only if multiline).
func (p *problems) checkText(field, s string, required bool, max int, multiline bool) {
	if s == "" {
		if required {
			p.add(field, CodeRequired, "Không được để trống.")
		}
		return
	}
	if !utf8.ValidString(s) {
		p.add(field, CodeInvalidChars, "Chứa ký tự không hợp lệ (không phải UTF-8).")
		return
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			p.add(field, CodeInvalidChars, "Chứa ký tự điều khiển không được phép.")
			return
		}
	}
	if n := utf8.RuneCountInString(s); n > max {
		p.add(field, CodeTooLong, "Dài quá %d ký tự (hiện có %d).", max, n)
	}
}

func (p *problems) checkCode(field, s string, re *regexp.Regexp, required bool, example string) {
	if s == "" {
		if required {
			p.add(field, CodeRequired, "Không được để trống.")
		}
		return
	}
	if !re.MatchString(s) {
		p.add(field, CodeInvalidFormat, "Mã %q không đúng định dạng (ví dụ: %s).", clip(s, 60), example)
	}
}

func (p *problems) checkEID(field, s string, required bool) {
	if s == "" {
		if required {
			p.add(field, CodeRequired, "Không được để trống.")
		}
		return
	}
	if !ValidEID(s) {
		p.add(field, CodeInvalidFormat, "Mã định danh %q không đúng định dạng theo Quyết định 20/2020/QĐ-TTg (ví dụ: 000.00.00.H41).", clip(s, 60))
	}
}

func (p *problems) checkDates(from, to calendar.Date) {
	if from.IsZero() {
		p.add("effective_from", CodeRequired, "Cần ngày bắt đầu hiệu lực.")
	} else if !from.Valid() {
		p.add("effective_from", CodeInvalidDate, "Ngày không tồn tại.")
	}
	if !to.IsZero() && !to.Valid() {
		p.add("effective_to", CodeInvalidDate, "Ngày không tồn tại.")
		return
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		p.add("effective_to", CodeDateOrder, "Ngày hết hiệu lực (%s) phải sau ngày bắt đầu hiệu lực (%s).", to, from)
	}
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// Normalize trims surrounding spaces from the unit's texts and codes.
func (u *AdminUnit) Normalize() {
	u.Code = strings.TrimSpace(u.Code)
	u.Name = strings.TrimSpace(u.Name)
	u.ParentCode = strings.TrimSpace(u.ParentCode)
	u.Successors = trimAll(u.Successors)
}

// Validate checks the rules of a unit that need no other record. References
// (parent, successors) are checked by [CheckAdminUnitRefs].
func (u AdminUnit) Validate() error {
	var p problems
	p.checkCode("code", u.Code, unitCodeRe, true, "01, 00004, D99001")
	p.checkText("name", u.Name, true, 200, false)
	kinds, ok := kindsByLevel[u.Level]
	switch {
	case u.Level == "":
		p.add("level", CodeRequired, "Cần cấp hành chính (province, district, commune).")
	case !ok:
		p.add("level", CodeInvalidValue, "Cấp hành chính %q không hợp lệ (province, district, commune).", clip(string(u.Level), 30))
	case u.Kind == "":
		p.add("kind", CodeRequired, "Cần loại đơn vị hành chính.")
	case !slices.Contains(kinds, u.Kind):
		p.add("kind", CodeInvalidValue, "Loại %q không hợp lệ với cấp %s.", clip(string(u.Kind), 30), u.Level)
	}
	switch {
	case u.Level == LevelProvince && u.ParentCode != "":
		p.add("parent_code", CodeInvalidValue, "Đơn vị cấp tỉnh không có đơn vị cấp trên.")
	case (u.Level == LevelDistrict || u.Level == LevelCommune) && u.ParentCode == "":
		p.add("parent_code", CodeRequired, "Cần mã đơn vị hành chính cấp trên.")
	case u.ParentCode != "":
		p.checkCode("parent_code", u.ParentCode, unitCodeRe, false, "01")
		if u.ParentCode == u.Code {
			p.add("parent_code", CodeCycle, "Đơn vị không thể là cấp trên của chính nó.")
		}
	}
	p.checkDates(u.EffectiveFrom, u.EffectiveTo)
	if u.Level == LevelDistrict || u.Kind == KindTownship {
		if u.EffectiveTo.IsZero() || u.EffectiveTo.After(DistrictLevelAbolished) {
			p.add("effective_to", CodeInvalidValue, "Cấp huyện và thị trấn chỉ còn là lịch sử: cần ngày hết hiệu lực không muộn hơn %s.", DistrictLevelAbolished)
		}
	}
	seen := map[string]bool{}
	for i, s := range u.Successors {
		f := fmt.Sprintf("successors[%d]", i)
		p.checkCode(f, s, unitCodeRe, true, "00004")
		switch {
		case s == u.Code && s != "":
			p.add(f, CodeCycle, "Đơn vị không thể kế thừa chính nó.")
		case seen[s]:
			p.add(f, CodeDuplicate, "Mã %q bị lặp.", s)
		}
		seen[s] = true
	}
	if len(u.Successors) > 0 && u.EffectiveTo.IsZero() {
		p.add("effective_to", CodeRequired, "Đơn vị có đơn vị kế thừa phải có ngày hết hiệu lực.")
	}
	return p.err()
}

// CheckAdminUnitRefs checks the references of u against the other units, given
// by lookup (which must already reflect u itself and any units saved with it):
// the parent exists and is of a higher level; successors exist; following
// successors never leads back to u.
func CheckAdminUnitRefs(u AdminUnit, lookup func(code string) (AdminUnit, bool)) error {
	var p problems
	if u.ParentCode != "" && u.ParentCode != u.Code {
		parent, ok := lookup(u.ParentCode)
		switch {
		case !ok:
			p.add("parent_code", CodeNotFound, "Không có đơn vị hành chính mã %q.", u.ParentCode)
		case !higherLevel(parent.Level, u.Level):
			p.add("parent_code", CodeInvalidValue, "Đơn vị cấp trên %q (%s) phải ở cấp cao hơn %s.", parent.Code, parent.Level.Label(), u.Level.Label())
		}
	}
	for i, s := range u.Successors {
		if s == u.Code {
			continue
		}
		if _, ok := lookup(s); !ok {
			p.add(fmt.Sprintf("successors[%d]", i), CodeNotFound, "Không có đơn vị hành chính mã %q.", s)
		}
	}
	if path := successorCycle(u.Code, lookup); path != nil {
		p.add("successors", CodeCycle, "Chuỗi kế thừa tạo thành vòng lặp: %s.", strings.Join(path, " → "))
	}
	return p.err()
}

func higherLevel(parent, child Level) bool {
	rank := map[Level]int{LevelProvince: 1, LevelDistrict: 2, LevelCommune: 3}
	return rank[parent] > 0 && rank[parent] < rank[child]
}

// successorCycle returns a path start → … → start if following successors from
// start comes back to it, else nil.
func successorCycle(start string, lookup func(string) (AdminUnit, bool)) []string {
	visited := map[string]bool{}
	var path []string
	var walk func(code string) bool
	walk = func(code string) bool {
		path = append(path, code)
		if u, ok := lookup(code); ok {
			for _, s := range u.Successors {
				if s == start {
					path = append(path, s)
					return true
				}
				if visited[s] {
					continue
				}
				visited[s] = true
				if walk(s) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		return false
	}
	if walk(start) {
		return path
	}
	return nil
}

// ResolveUnits follows successor links from code to the units in force on day
// at: the unit itself if it is in force, else the in-force units its
// successors lead to (several when a unit was split). The result is ordered by
// code. It returns nil when code is unknown or leads to no unit in force.
func ResolveUnits(code string, at calendar.Date, lookup func(string) (AdminUnit, bool)) []AdminUnit {
	var out []AdminUnit
	seen := map[string]bool{code: true}
	queue := []string{code}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		u, ok := lookup(c)
		if !ok {
			continue
		}
		if u.InForce(at) {
			out = append(out, u)
			continue
		}
		for _, s := range u.Successors {
			if !seen[s] {
				seen[s] = true
				queue = append(queue, s)
			}
		}
	}
	slices.SortFunc(out, func(a, b AdminUnit) int { return strings.Compare(a.Code, b.Code) })
	return out
}

// Normalize trims surrounding spaces from the agency's texts and codes.
func (a *Agency) Normalize() {
	a.EID = strings.TrimSpace(a.EID)
	a.Name = strings.TrimSpace(a.Name)
	a.ShortName = strings.TrimSpace(a.ShortName)
	a.ParentEID = strings.TrimSpace(a.ParentEID)
	a.AdminUnitCode = strings.TrimSpace(a.AdminUnitCode)
	a.FormerEIDs = trimAll(a.FormerEIDs)
	a.Address = strings.TrimSpace(a.Address)
	a.Phone = strings.TrimSpace(a.Phone)
	a.Email = strings.TrimSpace(a.Email)
	a.Website = strings.TrimSpace(a.Website)
	// "sxd.example.gov.vn" as typed means its https site.
	if a.Website != "" && !strings.Contains(a.Website, "://") && !strings.ContainsAny(a.Website, " \t") {
		a.Website = "https://" + a.Website
	}
	a.OpeningHours = trimLines(a.OpeningHours)
}

// checkContact checks an agency's contact details.
func (p *problems) checkContact(a Agency) {
	p.checkText("address", a.Address, false, 500, false)
	if a.Phone != "" {
		if _, ok := phoneDigits(a.Phone); !ok {
			p.add("phone", CodeInvalidFormat, "Số điện thoại %q không hợp lệ: cần một số điện thoại Việt Nam, ví dụ 0271 3879 999, 0912 345 678 hoặc 1900 1234.", clip(a.Phone, 40))
		}
	}
	if a.Email != "" {
		if len(a.Email) > 254 || !emailRe.MatchString(a.Email) {
			p.add("email", CodeInvalidFormat, "Địa chỉ thư điện tử %q không hợp lệ (ví dụ: vanphong@example.gov.vn).", clip(a.Email, 60))
		}
	}
	if a.Website != "" {
		u, err := url.Parse(a.Website)
		switch {
		case len(a.Website) > 500:
			p.add("website", CodeTooLong, "Địa chỉ trang thông tin điện tử dài quá 500 ký tự.")
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || !hostRe.MatchString(u.Hostname()) ||
			strings.ContainsAny(a.Website, " \t\n\"<>"):
			p.add("website", CodeInvalidFormat, "Địa chỉ trang thông tin điện tử %q không hợp lệ: cần dạng https://tên-miền (ví dụ: https://sxd.example.gov.vn).", clip(a.Website, 60))
		}
	}
	p.checkText("opening_hours", a.OpeningHours, false, 500, true)
}

// Validate checks the rules of an agency that need no other record.
func (a Agency) Validate() error {
	var p problems
	p.checkEID("eid", a.EID, true)
	p.checkText("name", a.Name, true, 300, false)
	p.checkText("short_name", a.ShortName, false, 100, false)
	switch a.Kind {
	case KindAgency:
	case KindUnit:
		if a.ParentEID == "" {
			p.add("parent_eid", CodeRequired, "Đơn vị trực thuộc phải có cơ quan cấp trên.")
		}
	case "":
		p.add("kind", CodeRequired, "Cần loại (agency: cơ quan, unit: đơn vị trực thuộc).")
	default:
		p.add("kind", CodeInvalidValue, "Loại %q không hợp lệ (agency, unit).", clip(string(a.Kind), 30))
	}
	switch a.Level {
	case LevelProvince, LevelCommune:
	case "":
		p.add("level", CodeRequired, "Cần cấp (province, commune).")
	default:
		p.add("level", CodeInvalidValue, "Cấp %q không hợp lệ cho cơ quan (province, commune).", clip(string(a.Level), 30))
	}
	p.checkEID("parent_eid", a.ParentEID, false)
	if a.ParentEID != "" && (a.ParentEID == a.EID || slices.Contains(a.FormerEIDs, a.ParentEID)) {
		p.add("parent_eid", CodeCycle, "Cơ quan không thể trực thuộc chính nó.")
	}
	p.checkCode("admin_unit_code", a.AdminUnitCode, unitCodeRe, false, "01")
	p.checkDates(a.EffectiveFrom, a.EffectiveTo)
	seen := map[string]bool{}
	for i, e := range a.FormerEIDs {
		f := fmt.Sprintf("former_eids[%d]", i)
		p.checkEID(f, e, true)
		switch {
		case e == a.EID && e != "":
			p.add(f, CodeDuplicate, "Mã cũ trùng mã hiện tại.")
		case seen[e]:
			p.add(f, CodeDuplicate, "Mã %q bị lặp.", e)
		}
		seen[e] = true
	}
	p.checkContact(a)
	return p.err()
}

// Normalize trims surrounding spaces.
func (f *Field) Normalize() {
	f.Code = strings.TrimSpace(f.Code)
	f.Name = strings.TrimSpace(f.Name)
}

// Validate checks a field.
func (f Field) Validate() error {
	var p problems
	p.checkCode("code", f.Code, fieldCodeRe, true, "HT, G09-TP01")
	p.checkText("name", f.Name, true, 300, false)
	return p.err()
}

// Normalize trims surrounding spaces from the procedure's texts and codes (the
// form schema is kept verbatim) and turns nil lists into empty ones.
func (pr *Procedure) Normalize() {
	pr.Code = strings.TrimSpace(pr.Code)
	pr.Name = strings.TrimSpace(pr.Name)
	pr.FieldCode = strings.TrimSpace(pr.FieldCode)
	pr.CompetentAgency = strings.TrimSpace(pr.CompetentAgency)
	pr.ImplementingAgency = strings.TrimSpace(pr.ImplementingAgency)
	pr.ProcessKey = strings.TrimSpace(pr.ProcessKey)
	for i := range pr.Documents {
		d := &pr.Documents[i]
		d.Name = strings.TrimSpace(d.Name)
		d.Template = strings.TrimSpace(d.Template)
		if d.File != nil {
			f := *d.File
			f.Hash, f.Name, f.MediaType = strings.TrimSpace(f.Hash), formBaseName(f.Name), strings.TrimSpace(f.MediaType)
			d.File = &f
		}
	}
	for i := range pr.Fees {
		pr.Fees[i].Name = strings.TrimSpace(pr.Fees[i].Name)
	}
	pr.LegalBasis = trimAll(pr.LegalBasis)
	for i := range pr.FAQ {
		q := &pr.FAQ[i]
		q.Question = strings.TrimSpace(q.Question)
		q.Answer = trimLines(q.Answer)
	}
	if len(pr.FAQ) == 0 {
		pr.FAQ = nil
	}
	if pr.Documents == nil {
		pr.Documents = []Document{}
	}
	if pr.Fees == nil {
		pr.Fees = []Fee{}
	}
	if pr.LegalBasis == nil {
		pr.LegalBasis = []string{}
	}
	if len(bytes.TrimSpace(pr.FormSchema)) == 0 {
		pr.FormSchema = nil
	}
}

// MaxFormSchemaBytes bounds the size of a procedure's form schema.
const MaxFormSchemaBytes = 256 << 10

// Validate checks the rules of a procedure version that need no other record.
// References (field, agencies) are checked by the service.
func (pr Procedure) Validate() error {
	var p problems
	if pr.Code == "" {
		p.add("code", CodeRequired, "Không được để trống.")
	} else if !ValidProcedureCode(pr.Code) {
		p.add("code", CodeInvalidFormat, "Mã thủ tục %q không đúng định dạng mã TTHC quốc gia (ví dụ: 1.004227).", clip(pr.Code, 60))
	}
	if pr.Version < 0 {
		p.add("version", CodeInvalidValue, "Số phiên bản phải là số dương.")
	}
	p.checkText("name", pr.Name, true, 1000, false)
	p.checkCode("field_code", pr.FieldCode, fieldCodeRe, true, "HT")
	switch pr.Level {
	case LevelProvince:
		if pr.CompetentAgency == "" {
			p.add("competent_agency", CodeRequired, "Thủ tục cấp tỉnh cần cơ quan có thẩm quyền.")
		}
	case LevelCommune:
	case "":
		p.add("level", CodeRequired, "Cần cấp thực hiện (province, commune).")
	default:
		p.add("level", CodeInvalidValue, "Cấp %q không hợp lệ cho thủ tục (province, commune).", clip(string(pr.Level), 30))
	}
	p.checkEID("competent_agency", pr.CompetentAgency, false)
	p.checkEID("implementing_agency", pr.ImplementingAgency, false)
	switch pr.OnlineLevel {
	case OnlineFull, OnlinePartial, OnlineNone:
	case "":
		p.add("online_level", CodeRequired, "Cần mức độ trực tuyến (full, partial, none).")
	default:
		p.add("online_level", CodeInvalidValue, "Mức độ trực tuyến %q không hợp lệ (full, partial, none).", clip(string(pr.OnlineLevel), 30))
	}
	if len(pr.Documents) > 100 {
		p.add("documents", CodeTooLong, "Tối đa 100 thành phần hồ sơ.")
	}
	for i, d := range pr.Documents {
		f := fmt.Sprintf("documents[%d].", i)
		p.checkText(f+"name", d.Name, true, 1000, false)
		switch d.Form {
		case FormOriginal, FormCopy, FormElectronic:
		case "":
			p.add(f+"form", CodeRequired, "Cần hình thức (original, copy, electronic).")
		default:
			p.add(f+"form", CodeInvalidValue, "Hình thức %q không hợp lệ (original, copy, electronic).", clip(string(d.Form), 30))
		}
		if d.Quantity < 1 || d.Quantity > 100 {
			p.add(f+"quantity", CodeInvalidValue, "Số lượng phải từ 1 đến 100.")
		}
		p.checkText(f+"template", d.Template, false, 500, false)
		p.checkFormFile(f+"file", d.File)
	}
	if len(pr.Fees) > 50 {
		p.add("fees", CodeTooLong, "Tối đa 50 khoản phí, lệ phí.")
	}
	for i, fe := range pr.Fees {
		f := fmt.Sprintf("fees[%d].", i)
		p.checkText(f+"name", fe.Name, true, 500, false)
		if fe.Amount < 0 || fe.Amount > 1e12 {
			p.add(f+"amount", CodeInvalidValue, "Số tiền phải từ 0 đến 1.000.000.000.000 đồng.")
		}
		switch fe.PaidAt {
		case PaidAtReception, PaidAtResult:
		case "":
			p.add(f+"paid_at", CodeRequired, "Cần thời điểm nộp (reception, result).")
		default:
			p.add(f+"paid_at", CodeInvalidValue, "Thời điểm nộp %q không hợp lệ (reception, result).", clip(string(fe.PaidAt), 30))
		}
	}
	switch pr.Duration.Unit {
	case WorkingDays:
		if pr.Duration.Value < 1 || pr.Duration.Value > 365 {
			p.add("duration.value", CodeInvalidValue, "Thời hạn giải quyết phải từ 1 đến 365 ngày làm việc.")
		}
	case Hours:
		if pr.Duration.Value < 1 || pr.Duration.Value > 720 {
			p.add("duration.value", CodeInvalidValue, "Thời hạn giải quyết phải từ 1 đến 720 giờ.")
		}
	case "":
		p.add("duration.unit", CodeRequired, "Cần đơn vị thời hạn (working_days, hours).")
	default:
		p.add("duration.unit", CodeInvalidValue, "Đơn vị thời hạn %q không hợp lệ (working_days, hours).", clip(string(pr.Duration.Unit), 30))
	}
	if len(pr.LegalBasis) > 100 {
		p.add("legal_basis", CodeTooLong, "Tối đa 100 căn cứ pháp lý.")
	}
	for i, l := range pr.LegalBasis {
		p.checkText(fmt.Sprintf("legal_basis[%d]", i), l, true, 1000, false)
	}
	if len(pr.FAQ) > MaxFAQItems {
		p.add("faq", CodeTooLong, "Tối đa %d câu hỏi thường gặp.", MaxFAQItems)
	}
	for i, q := range pr.FAQ {
		f := fmt.Sprintf("faq[%d].", i)
		p.checkText(f+"question", q.Question, true, MaxFAQQuestion, false)
		p.checkText(f+"answer", q.Answer, true, MaxFAQAnswer, true)
	}
	if len(pr.FormSchema) > 0 {
		if len(pr.FormSchema) > MaxFormSchemaBytes {
			p.add("form_schema", CodeTooLong, "Lược đồ biểu mẫu vượt quá %d KB.", MaxFormSchemaBytes>>10)
		} else if _, err := CompileFormSchema(pr.FormSchema); err != nil {
			p.add("form_schema", CodeInvalidValue, "Lược đồ biểu mẫu không phải JSON Schema hợp lệ: %s", clip(strings.Join(strings.Fields(err.Error()), " "), 300))
		}
	}
	p.checkCode("process_key", pr.ProcessKey, processKeyRe, false, "default, xay-dung.cap-phep")
	p.checkDates(pr.EffectiveFrom, pr.EffectiveTo)
	switch pr.Status {
	case StatusDraft, StatusActive:
	case StatusRetired:
		if pr.EffectiveTo.IsZero() {
			p.add("effective_to", CodeRequired, "Thủ tục bị bãi bỏ phải có ngày hết hiệu lực.")
		}
	case "":
		p.add("status", CodeRequired, "Cần trạng thái (draft, active, retired).")
	default:
		p.add("status", CodeInvalidValue, "Trạng thái %q không hợp lệ (draft, active, retired).", clip(string(pr.Status), 30))
	}
	return p.err()
}

// sameContent reports whether two versions have the same content, ignoring
// the end date and status, which supersession and retirement may change,
// and the documents' form files, which may be replaced at any time.
func sameContent(a, b Procedure) bool {
	a.EffectiveTo, b.EffectiveTo = calendar.Date{}, calendar.Date{}
	a.Status, b.Status = "", ""
	a.Documents, b.Documents = stripFiles(a.Documents), stripFiles(b.Documents)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// Supersede orders the versions of one procedure code by version number, sets
// the end date of each published version that a later published version
// supersedes (to the later version's effective date), and checks that
// published versions take effect in version order and that only the latest
// version is a draft. It returns the versions, with changes applied, and the
// problems keyed by version number.
func Supersede(versions []Procedure) ([]Procedure, map[int][]FieldError) {
	vs := slices.Clone(versions)
	slices.SortFunc(vs, func(a, b Procedure) int { return a.Version - b.Version })
	bad := map[int][]FieldError{}
	for i, v := range vs {
		if v.Status == StatusDraft && i != len(vs)-1 {
			bad[v.Version] = append(bad[v.Version], FieldError{"status", CodeInvalidValue,
				fmt.Sprintf("Chỉ phiên bản mới nhất được ở trạng thái nháp; đã có phiên bản %d.", vs[len(vs)-1].Version)})
		}
	}
	prev := -1
	for i, v := range vs {
		if !v.Status.Published() {
			continue
		}
		if prev >= 0 {
			pv := &vs[prev]
			if !v.EffectiveFrom.After(pv.EffectiveFrom) {
				bad[v.Version] = append(bad[v.Version], FieldError{"effective_from", CodeDateOrder,
					fmt.Sprintf("Phiên bản %d phải có hiệu lực sau phiên bản %d (từ %s).", v.Version, pv.Version, pv.EffectiveFrom)})
			} else if pv.EffectiveTo.IsZero() || pv.EffectiveTo.After(v.EffectiveFrom) {
				pv.EffectiveTo = v.EffectiveFrom
			}
		}
		prev = i
	}
	return vs, bad
}

// CompileFormSchema compiles a form schema (JSON Schema, draft 2020-12 unless
// it declares another draft) so the dossier module can validate form data
// with it. The schema must be a JSON object and may not reference other
// documents: remote and file references are refused.
func CompileFormSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("lược đồ phải là một đối tượng JSON")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(trimmed))
	if err != nil {
		return nil, fmt.Errorf("JSON không hợp lệ: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	const loc = "urn:congso:form-schema"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	return c.Compile(loc)
}

// noLoader refuses to load any referenced document, so a schema from an
// administrator cannot read local files or reach the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("không được tham chiếu tài liệu ngoài: %s", url)
}

// trimLines trims a multi-line text: CRLF becomes LF, each line loses its
// trailing spaces, and the text its surrounding blank lines.
func trimLines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRightFunc(l, unicode.IsSpace)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func trimAll(list []string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
