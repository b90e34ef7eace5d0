package payment

import (
	"context"
	"errors"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/payment/paygov"
)

// Status is where a payment stands in this module.
type Status string

// Payment statuses. A payment is created pending; the platform's
// notification or a status query moves it to paid, failed, cancelled or
// expired. Only a paid payment records the dossier's fee as paid.
const (
	StatusPending   Status = "pending"
	StatusPaid      Status = "paid"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
	StatusExpired   Status = "expired"
)

// Label is the status in Vietnamese, for pages.
func (s Status) Label() string {
	switch s {
	case StatusPending:
		return "Đang chờ thanh toán"
	case StatusPaid:
		return "Đã thanh toán"
	case StatusFailed:
		return "Thanh toán không thành công"
	case StatusCancelled:
		return "Đã hủy"
	case StatusExpired:
		return "Hết hạn"
	}
	return string(s)
}

// fromPlatform maps a platform status onto ours; ok false for unknown ones.
func fromPlatform(s string) (Status, bool) {
	switch s {
	case paygov.StatusPending:
		return StatusPending, true
	case paygov.StatusSuccess:
		return StatusPaid, true
	case paygov.StatusFailed:
		return StatusFailed, true
	case paygov.StatusCancelled:
		return StatusCancelled, true
	case paygov.StatusExpired:
		return StatusExpired, true
	}
	return "", false
}

// Payment is one attempt to pay one fee of one dossier through the platform.
// Its OrderID ("{dossier code}-{fee n}-{attempt}") is the platform's order
// reference; at most one payment per fee is pending at a time.
type Payment struct {
	OrderID       string `json:"order_id"`
	DossierCode   string `json:"dossier_code"`
	FeeN          int    `json:"fee_n"`
	FeeName       string `json:"fee_name"`
	Amount        int64  `json:"amount"`
	Description   string `json:"description"`
	Status        Status `json:"status"`
	TransactionID string `json:"transaction_id,omitempty"`
	PayURL        string `json:"-"`
	// Source is how the outcome became known: "ipn" (the platform's
	// notification) or "query" (the status query job); empty while pending.
	Source string `json:"source,omitempty"`
	// FeeRecorded is true once the dossier module recorded the fee as paid.
	FeeRecorded bool      `json:"fee_recorded"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	PaidAt      time.Time `json:"paid_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Receipt is the reference printed on a receipt: the platform's transaction.
func (p Payment) Receipt() string {
	if p.TransactionID == "" {
		return ""
	}
	return "PayGov " + p.TransactionID
}

// Callback outcomes.
const (
	OutcomeAccepted  = "accepted"  // changed the payment
	OutcomeDuplicate = "duplicate" // valid, but the payment already had that outcome
	OutcomeRejected  = "rejected"  // not acted on; Reason says why
)

// Reasons for rejecting a callback.
const (
	ReasonMalformed     = "malformed"
	ReasonBadSignature  = "bad_signature"
	ReasonWrongMerchant = "wrong_merchant"
	ReasonUnknownOrder  = "unknown_order"
	ReasonAmountDiffers = "amount_mismatch"
	ReasonUnknownStatus = "unknown_status"
)

// Callback is one notification received at the IPN URL, kept whatever
// became of it (forged ones included) with the raw body.
type Callback struct {
	ID            int64     `json:"id"`
	ReceivedAt    time.Time `json:"received_at"`
	OrderID       string    `json:"order_id"`
	TransactionID string    `json:"transaction_id"`
	Status        string    `json:"status"`
	Amount        int64     `json:"amount"`
	Outcome       string    `json:"outcome"`
	Reason        string    `json:"reason,omitempty"`
	Remote        string    `json:"remote"`
	Raw           string    `json:"raw"`
}

// Mismatch kinds of a reconciliation.
const (
	MismatchMissingHere   = "missing_here"   // the platform settled it; we have no such paid payment
	MismatchMissingThere  = "missing_there"  // we recorded it paid that day; the platform did not list it
	MismatchAmountDiffers = "amount_differs" // both have it, with different amounts
	MismatchStatusDiffers = "status_differs" // both know the order, with different outcomes
)

// Mismatch is one disagreement between the platform's settlement list and
// our records.
type Mismatch struct {
	Kind          string `json:"kind"`
	OrderID       string `json:"order_id"`
	TransactionID string `json:"transaction_id,omitempty"`
	DossierCode   string `json:"dossier_code,omitempty"`
	OurAmount     int64  `json:"our_amount"`
	TheirAmount   int64  `json:"their_amount"`
	OurStatus     string `json:"our_status,omitempty"`
	TheirStatus   string `json:"their_status,omitempty"`
}

// Report is a day's reconciliation.
type Report struct {
	// Date is the day in Vietnam, YYYY-MM-DD.
	Date  string    `json:"date"`
	RunAt time.Time `json:"run_at"`
	// Ours is how many payments we recorded paid that day, Theirs how many
	// items the platform listed, Matched how many agree.
	Ours       int        `json:"ours"`
	Theirs     int        `json:"theirs"`
	Matched    int        `json:"matched"`
	OurTotal   int64      `json:"our_total"`
	TheirTotal int64      `json:"their_total"`
	Mismatches []Mismatch `json:"mismatches"`
}

// SyncResult counts what SyncPending did.
type SyncResult struct {
	Checked      int `json:"checked"`
	Paid         int `json:"paid"`
	Closed       int `json:"closed"`
	FeesRecorded int `json:"fees_recorded"`
	Errors       int `json:"errors"`
}

// Errors for callers (errors.Is).
var (
	ErrNotFound     = errors.New("payment: not found")
	ErrAlreadyPaid  = errors.New("payment: fee already paid")
	ErrNoFee        = errors.New("payment: the fee has no amount to pay online")
	ErrForbidden    = errors.New("payment: not allowed")
	ErrRejected     = errors.New("payment: callback rejected")
	ErrBadSignature = paygov.ErrBadSignature
)

// Dossiers is what the payment module needs from the dossier module.
// DossierAdapter implements it over *dossier.Service.
type Dossiers interface {
	// Fees lists a dossier's fees (trusted read, no actor); a dossier that
	// does not exist gives an error wrapping dossier.ErrNotFound.
	Fees(ctx context.Context, code string) ([]dossier.Fee, error)
	// MarkFeePaid records a fee as paid; recording it twice is harmless.
	MarkFeePaid(ctx context.Context, in dossier.FeePaymentInput) (dossier.Fee, error)
	// CanView tells whether an official may see the dossier (and so its
	// payments and receipts).
	CanView(ctx context.Context, p *identity.Principal, code string) bool
}

// Platform is the payment platform; *paygov.Client implements it.
type Platform interface {
	Create(ctx context.Context, req paygov.CreateRequest) (paygov.CreateResponse, error)
	Query(ctx context.Context, orderID string) (paygov.QueryResponse, error)
	Settlements(ctx context.Context, date string) (paygov.Settlement, error)
}

// Audit actions written by this module.
const (
	AuditStart            = "payment.start"
	AuditPaid             = "payment.paid"
	AuditClosed           = "payment.closed"
	AuditCallbackRejected = "payment.callback_rejected"
	AuditReconcile        = "payment.reconcile"
	AuditObjectType       = "payment"
)

// ActionReconcile lets a person run and read reconciliations.
var ActionReconcile = identity.DefineAction("payment.reconcile", identity.RoleSysadmin)
