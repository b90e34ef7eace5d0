package postal

import (
	"context"
	"errors"
	"time"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/postal/vnpost"
)

// Status is where a shipment stands.
type Status string

// Shipment statuses. A shipment is requested (recorded here, not yet known
// to the carrier), then takes the carrier's statuses.
const (
	StatusRequested Status = "requested"
	StatusCreated   Status = vnpost.StatusCreated
	StatusPickedUp  Status = vnpost.StatusPickedUp
	StatusInTransit Status = vnpost.StatusInTransit
	StatusDelivered Status = vnpost.StatusDelivered
	StatusFailed    Status = vnpost.StatusFailed
	StatusReturned  Status = vnpost.StatusReturned
	StatusCancelled Status = vnpost.StatusCancelled
)

// Valid tells whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusRequested, StatusCreated, StatusPickedUp, StatusInTransit, StatusDelivered, StatusFailed, StatusReturned, StatusCancelled:
		return true
	}
	return false
}

// Final tells whether the shipment will not move any more.
func (s Status) Final() bool {
	return s == StatusDelivered || s == StatusReturned || s == StatusCancelled
}

// Closed tells whether a new shipment of the same dossier may be created
// (the previous one came back or was cancelled).
func (s Status) Closed() bool { return s == StatusReturned || s == StatusCancelled }

// Label is the status in Vietnamese, for pages.
func (s Status) Label() string {
	switch s {
	case StatusRequested:
		return "Đang gửi yêu cầu cho bưu điện"
	case StatusCreated:
		return "Chờ bưu điện đến nhận"
	case StatusPickedUp:
		return "Bưu điện đã nhận"
	case StatusInTransit:
		return "Đang vận chuyển"
	case StatusDelivered:
		return "Đã phát thành công"
	case StatusFailed:
		return "Phát không thành công"
	case StatusReturned:
		return "Đã chuyển hoàn"
	case StatusCancelled:
		return "Đã hủy"
	}
	return string(s)
}

// Party is a sender or recipient of a shipment.
type Party = vnpost.Party

// Shipment is the dispatch of a dossier's result by post (one-stop §9).
// ClientRef ("{dossier code}-KQ{n}") is its key at the carrier; at most one
// shipment per dossier is open (not returned or cancelled).
type Shipment struct {
	ID           int64     `json:"id"`
	DossierCode  string    `json:"dossier_code"`
	ClientRef    string    `json:"client_ref"`
	TrackingCode string    `json:"tracking_code,omitempty"`
	SenderAgency string    `json:"sender_agency"`
	Sender       Party     `json:"sender"`
	Recipient    Party     `json:"recipient"`
	CODAmount    int64     `json:"cod_amount"`
	Status       Status    `json:"status"`
	StatusAt     time.Time `json:"status_at"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Event is one status report about a shipment, from the webhook or a
// query, kept whatever became of it.
type Event struct {
	ID           int64     `json:"id"`
	ReceivedAt   time.Time `json:"received_at"`
	TrackingCode string    `json:"tracking_code"`
	Status       string    `json:"status"`
	StatusAt     time.Time `json:"status_at,omitzero"`
	Source       string    `json:"source"`
	Outcome      string    `json:"outcome"`
	Reason       string    `json:"reason,omitempty"`
	Raw          string    `json:"raw,omitempty"`
}

// Event outcomes and rejection reasons.
const (
	OutcomeApplied  = "applied"
	OutcomeStale    = "stale" // valid but not newer than what we have
	OutcomeRejected = "rejected"

	ReasonMalformed       = "malformed"
	ReasonBadSignature    = "bad_signature"
	ReasonUnknownTracking = "unknown_tracking"
	ReasonUnknownStatus   = "unknown_status"
)

// Errors for callers.
var (
	ErrNotFound  = errors.New("postal: not found")
	ErrInvalid   = errors.New("postal: invalid shipment")
	ErrRejected  = errors.New("postal: webhook rejected")
	ErrForbidden = errors.New("postal: not allowed")
)

// Carrier is the postal carrier; *vnpost.Client implements it.
type Carrier interface {
	Create(ctx context.Context, req vnpost.CreateRequest) (vnpost.CreateResponse, error)
	Query(ctx context.Context, tracking string) (vnpost.StatusMessage, error)
}

// Audit actions.
const (
	AuditCreate          = "postal.create"
	AuditStatus          = "postal.status"
	AuditWebhookRejected = "postal.webhook_rejected"
	AuditObjectType      = "postal_shipment"
)

// CanView decides whether a signed-in official may see a dossier's
// shipments; wire it to the dossier module (dossier.Service.Get succeeds).
type CanView func(ctx context.Context, p *identity.Principal, code string) bool
