package pdf

import (
	"time"
)

// Form keys of the one-stop forms of Circular 03/2025/TT-VPCP, Annex I. The
// registry ships a default template for each; a province may register
// newer versions under the same key, or templates with keys of its own.
const (
	FormReceipt           = "form01" // Giấy tiếp nhận hồ sơ và hẹn trả kết quả
	FormSupplementRequest = "form02" // Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ
	FormRefusal           = "form03" // Phiếu từ chối tiếp nhận giải quyết hồ sơ
	FormApology           = "form04" // Phiếu xin lỗi và hẹn lại ngày trả kết quả
	FormStopNotice        = "form05" // Thông báo dừng giải quyết hồ sơ
	FormControlSlip       = "form06" // Phiếu kiểm soát quá trình giải quyết hồ sơ
	FormTrackingBook      = "form07" // Sổ theo dõi hồ sơ
)

// Data is what the dossier module fills to render a one-stop form. The
// default templates read it through placeholders such as {{.Dossier.Code}};
// each form uses only some fields, as their comments say. Times may be in any
// location: they are printed in Vietnam's time zone. Text may be in NFC or
// NFD: it is normalised to NFC before it is drawn.
type Data struct {
	// Issuer is the body issuing the form, printed top left (all forms).
	Issuer Issuer
	// Number is the form's number and notation, e.g. "125/TNHS"; empty
	// prints a dotted blank.
	Number string
	// IssuedAt is the date printed in the place-and-date line (all forms).
	IssuedAt time.Time
	// Dossier is the dossier the form is about (forms 01–06).
	Dossier Dossier
	// Officer is the one-stop officer who receives, guides or refuses
	// (forms 01–03, 06).
	Officer Officer
	// Signer is the head who signs letters to the applicant (forms 04, 05).
	Signer Officer
	// LookupURL is the public lookup page of the dossier, printed as a QR
	// code (forms 01–06).
	LookupURL string

	// Defects lists everything the applicant must supplement or correct,
	// all at once (form 02).
	Defects []string
	// SupplementBy is the date by which the supplement is expected (form 02,
	// optional).
	SupplementBy time.Time
	// Reasons gives the reasons for refusing (form 03) or for stopping the
	// processing (form 05).
	Reasons []string
	// Reason is why the result will be late (form 04).
	Reason string
	// NewAppointmentAt is the new date of return of the result (form 04).
	NewAppointmentAt time.Time
	// Handoffs are the hand-offs of the dossier between units, in order
	// (form 06).
	Handoffs []Handoff
	// Book is the tracking book's period and rows (form 07).
	Book Book
}

// Issuer is the body issuing a form.
type Issuer struct {
	// Parent is the governing body printed above the issuer's name, e.g.
	// "UBND tỉnh Bình Phước"; may be empty.
	Parent string
	// Name is the issuing body, e.g. "Trung tâm Phục vụ hành chính công".
	Name string
	// Place is the place name of the place-and-date line, e.g. "Bình Phước".
	Place string
}

// Dossier is the part of a dossier that the forms print.
type Dossier struct {
	// Code is the dossier code, e.g. "H15.50.05.13-260217-0001".
	Code string
	// Applicant is who submitted the dossier.
	Applicant Applicant
	// Procedure is the administrative procedure applied for.
	Procedure Procedure
	// Content is the request in the applicant's words ("nội dung yêu cầu
	// giải quyết"); the default templates print the procedure name when it
	// is empty.
	Content string
	// Sets is the number of sets (bộ) of documents submitted.
	Sets int
	// ReceivedAt is when the dossier was validly received.
	ReceivedAt time.Time
	// AppointmentAt is the date (and time) the result is due to be returned.
	AppointmentAt time.Time
	// Duration is the statutory processing time as text, e.g. "10 ngày làm
	// việc".
	Duration string
	// Documents are the documents received.
	Documents []Document
	// Fees are the fees and charges collected or due.
	Fees []Fee
	// ReturnMethod is where or how the result will be returned, e.g. "Nhận
	// trực tiếp tại Bộ phận Một cửa" or "Dịch vụ bưu chính công ích".
	ReturnMethod string
	// HandlingAgency is the agency or unit competent to process the dossier.
	HandlingAgency string
	// CoordinatingAgencies are the agencies consulted (inter-agency
	// dossiers), for form 06.
	CoordinatingAgencies []string
}

// FeeTotal is the sum of the dossier's fees, in đồng.
func (d Dossier) FeeTotal() int64 {
	var total int64
	for _, f := range d.Fees {
		total += f.Amount
	}
	return total
}

// Applicant is a person or organisation applying for a procedure.
type Applicant struct {
	Name     string // full name, or the organisation's name
	Address  string
	Phone    string
	Email    string
	IDNumber string // personal identification number or enterprise code
}

// Procedure is an administrative procedure as printed on forms.
type Procedure struct {
	Code  string // national procedure code, e.g. "1.001612"
	Name  string
	Field string // e.g. "Hộ tịch"
}

// Document is one document received with a dossier.
type Document struct {
	Name  string
	Kind  DocumentKind
	Count int // number of copies
}

// DocumentKind says whether a document is an original, a copy, ...
type DocumentKind int

// Kinds of received document.
const (
	DocUnspecified   DocumentKind = iota // printed as ""
	DocOriginal                          // bản chính
	DocCopy                              // bản sao
	DocCertifiedCopy                     // bản sao có chứng thực
	DocElectronic                        // bản điện tử
)

// String returns the Vietnamese name printed on the forms, e.g. "Bản chính".
func (k DocumentKind) String() string {
	switch k {
	case DocOriginal:
		return "Bản chính"
	case DocCopy:
		return "Bản sao"
	case DocCertifiedCopy:
		return "Bản sao có chứng thực"
	case DocElectronic:
		return "Bản điện tử"
	}
	return ""
}

// Fee is one fee or charge.
type Fee struct {
	Name   string
	Amount int64 // đồng
}

// Officer is a civil servant named on a form.
type Officer struct {
	Name string
	// Position is printed above the signature, e.g. "KT. GIÁM ĐỐC\nPHÓ GIÁM
	// ĐỐC"; lines are separated by "\n".
	Position string
	Phone    string
}

// Party is one side of a hand-off: a person and the unit they act for.
type Party struct {
	Name string
	Unit string
}

// String returns "Name (Unit)", or whichever of the two is set.
func (p Party) String() string {
	switch {
	case p.Name == "":
		return p.Unit
	case p.Unit == "":
		return p.Name
	}
	return p.Name + " (" + p.Unit + ")"
}

// Handoff is one row of the processing control slip (form 06): the dossier
// passed from one party to the next.
type Handoff struct {
	Step   string    // what the receiver is to do, e.g. "Thẩm định hồ sơ"
	From   Party     // who handed the dossier over
	To     Party     // who received it
	SentAt time.Time // when it was handed over
	DueAt  time.Time // when the receiver's step was due
	DoneAt time.Time // when the receiver finished (zero while pending)
	Note   string
}

// Status is the timeliness of the receiver's step, from DueAt and DoneAt.
func (h Handoff) Status() Timeliness { return TimelinessOf(h.DueAt, h.DoneAt) }

// Timeliness is how a step or dossier finished relative to its due time.
type Timeliness int

// Timeliness values. The zero value means no due time is known.
const (
	NoDeadline Timeliness = iota // no due time: printed as ""
	Pending                      // not finished yet
	Early                        // finished on a day before the due day
	OnTime                       // finished on the due day, not after the due time
	Late                         // finished after the due time
)

// TimelinessOf classifies a step finished at done against its due time.
// Days are Vietnam's calendar days: finishing on an earlier day than the due
// day is early, on the due day (at or before the due time) is on time, any
// time after the due time is late. A zero due gives NoDeadline; a zero done
// gives Pending.
func TimelinessOf(due, done time.Time) Timeliness {
	switch {
	case due.IsZero():
		return NoDeadline
	case done.IsZero():
		return Pending
	case done.After(due):
		return Late
	}
	dy, dm, dd := done.In(vnZone).Date()
	uy, um, ud := due.In(vnZone).Date()
	if dy == uy && dm == um && dd == ud {
		return OnTime
	}
	return Early
}

// String returns the Vietnamese label printed on form 06: "Trước hạn",
// "Đúng hạn", "Quá hạn", "Đang xử lý", or "" for NoDeadline.
func (t Timeliness) String() string {
	switch t {
	case Pending:
		return "Đang xử lý"
	case Early:
		return "Trước hạn"
	case OnTime:
		return "Đúng hạn"
	case Late:
		return "Quá hạn"
	}
	return ""
}

// Book is the dossier tracking book (form 07) for a period.
type Book struct {
	From, To time.Time // the period covered
	Rows     []BookRow
}

// BookRow is one dossier in the tracking book.
type BookRow struct {
	Code             string
	Procedure        string // procedure name
	Sets             int    // number of sets of documents
	Applicant        string // applicant's name
	Address          string
	Phone            string
	HandlingAgency   string
	ReceivedAt       time.Time
	AppointmentAt    time.Time
	TransferredAt    time.Time // sent to the handling agency
	ResultReceivedAt time.Time // result received back from it
	ReturnedAt       time.Time // result returned to the applicant
	Note             string
}
