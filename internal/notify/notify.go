package notify

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Topics this module listens to. The dossier topics are the dossier module's
// (internal/dossier Topic* constants; notify does not import that package so
// that the dossier module may import notify for its timeline).
const (
	TopicDossierReceived   = "dossier.received"
	TopicDossierTransition = "dossier.transition"
	TopicDossierFeePaid    = "dossier.fee_paid"
	// TopicLogin is published by the identity module in the transaction that
	// opens a session; its payload is a LoginEvent.
	TopicLogin = "identity.login"
	// TopicDeliver is this module's own outbox topic: one event per email or
	// SMS delivery row, keyed by the row's ID. Its handler sends the message.
	TopicDeliver = "notify.deliver"
	// SubscriberName is the name of every subscription this module declares.
	SubscriberName = "notify"
)

// Channel is a way of reaching a person.
type Channel string

// The channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
	ChannelInApp Channel = "inapp"
)

// Channels lists the channels in display order.
func Channels() []Channel { return []Channel{ChannelInApp, ChannelSMS, ChannelEmail} }

// Status is where a delivery stands.
type Status string

// The statuses of a delivery. In-app deliveries are sent when created.
const (
	StatusPending Status = "pending" // waiting for its first or next attempt
	StatusSent    Status = "sent"    // accepted by the SMTP server / SMS gateway, or stored in-app
	StatusFailed  Status = "failed"  // gave up: MaxAttempts reached or a permanent error
)

// Kind names a notification: one template per kind and language.
type Kind string

// The kinds of notification (one-stop.md §3, §8; identity-and-data.md).
const (
	KindReceived            Kind = "received"             // receipt with appointment date (form 01)
	KindSupplementRequested Kind = "supplement_requested" // what is asked (form 02)
	KindResumed             Kind = "resumed"              // supplement received / payment confirmed: processing resumes
	KindExtended            Kind = "extended"             // apology letter with a new date (form 04)
	KindRefused             Kind = "refused"              // refusal slip (form 03)
	KindPaymentRequested    Kind = "payment_requested"    // financial obligation (§8)
	KindPaymentReceived     Kind = "payment_received"     // a fee was paid
	KindResultReady         Kind = "result_ready"         // come and collect / download
	KindReturned            Kind = "returned"             // result handed over
	KindWithdrawn           Kind = "withdrawn"            // withdrawn at the applicant's request
	KindStopped             Kind = "stopped"              // processing stopped (form 05)
	KindLogin               Kind = "login"                // a sign-in to the account
)

// Kinds lists every kind; each has a template in every language.
func Kinds() []Kind {
	return []Kind{KindReceived, KindSupplementRequested, KindResumed, KindExtended, KindRefused,
		KindPaymentRequested, KindPaymentReceived, KindResultReady, KindReturned, KindWithdrawn,
		KindStopped, KindLogin}
}

// channelsOf are the channels a kind may use, before preferences: every
// dossier event goes everywhere; a sign-in is not worth an SMS.
func channelsOf(k Kind) []Channel {
	if k == KindLogin {
		return []Channel{ChannelInApp, ChannelEmail}
	}
	return []Channel{ChannelInApp, ChannelSMS, ChannelEmail}
}

// Sentinel errors.
var (
	// ErrNotFound: no such notification for this account, or no such dossier
	// or account behind an event.
	ErrNotFound = errors.New("notify: not found")
	// ErrPermanent marks a send error that retrying cannot fix (invalid
	// address or phone, rejected brandname, 5xx SMTP reply): the delivery
	// fails at once. Senders wrap it.
	ErrPermanent = errors.New("notify: permanent failure")
	// ErrInvalid: bad input (an unknown language, an empty account).
	ErrInvalid = errors.New("notify: invalid")
)

// Contact is how to reach a person. Personal data: it is read when an event
// is handled and copied only into the delivery rows that need it.
type Contact struct {
	// AccountID is the person's portal account (identity person ID); empty
	// when the applicant has none (a counter dossier): no in-app notification
	// and default preferences then.
	AccountID string
	Name      string
	Email     string // empty: no email
	Phone     string // Vietnamese mobile number, 0xxxxxxxxx or 84xxxxxxxxx
	// Lang is "vi" or "en" ("" means Vietnamese).
	Lang string
}

// Fee is one fee line for the payment templates.
type Fee struct {
	Name      string
	Amount    int64 // VND
	Paid      bool
	Reference string
}

// Notice is a decision handed to the applicant (the dossier module's Notice):
// the one whose CaseVersion equals the event's version belongs to the event.
type Notice struct {
	Kind        string // supplement_request, refusal, extension, stop, withdrawal
	CaseVersion int64
	Reason      string
	Items       []string // supplement request: every item asked, one line each
	NewDue      time.Time
	PreviousDue time.Time
}

// DossierFacts is what the templates of a dossier event need, read when the
// event is handled (events carry no personal data).
type DossierFacts struct {
	Contact       Contact
	ProcedureName string
	ReceivedAt    time.Time
	DueAt         time.Time
	Notices       []Notice
	Fees          []Fee // in the dossier's order (Fee N is Fees[N-1])
}

// Dossiers gives the facts of a dossier. The application implements it over
// the dossier service (Service.Get) and the identity directory (the
// applicant's account and language). It returns an error wrapping
// ErrNotFound for an unknown code (the event is then dropped).
type Dossiers interface {
	DossierFacts(ctx context.Context, code string) (DossierFacts, error)
}

// Accounts gives a person's contact for account notifications (sign-in).
// Identity implements it; ErrNotFound drops the event.
type Accounts interface {
	AccountContact(ctx context.Context, personID string) (Contact, error)
}

// LoginEvent is the payload of TopicLogin that the identity module publishes
// when a session opens. It names the person and describes the sign-in; the
// notification shows the time, method, address and device so that the owner
// can spot a sign-in that was not theirs.
type LoginEvent struct {
	PersonID  string    `json:"person_id"`
	At        time.Time `json:"at"`
	Method    string    `json:"method"`               // password, totp, vneid, oidc …
	IP        string    `json:"ip,omitempty"`         // client address as seen by the server
	UserAgent string    `json:"user_agent,omitempty"` // browser, cut to 200 characters
}

// dossierEvent is the part of the dossier module's Event that notify reads.
type dossierEvent struct {
	Code       string    `json:"code"`
	Action     string    `json:"action"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Status     string    `json:"status"`
	Version    int64     `json:"version"`
	At         time.Time `json:"at"`
	ReceivedAt time.Time `json:"received_at"`
	DueAt      time.Time `json:"due_at"`
	Ended      bool      `json:"ended"`
	FeeN       int       `json:"fee_n"`
}

// kindOf decides which notification a dossier event produces, if any.
// Reception has its own topic; on transitions the action decides for the
// pauses and resumptions, the new status for the end states (so the same
// rule holds for every process definition, whatever its state names).
func kindOf(topic string, ev dossierEvent) (Kind, bool) {
	switch topic {
	case TopicDossierReceived:
		return KindReceived, true
	case TopicDossierFeePaid:
		return KindPaymentReceived, true
	case TopicDossierTransition:
	default:
		return "", false
	}
	switch ev.Action {
	case "request_supplement":
		return KindSupplementRequested, true
	case "supplement_received", "payment_confirmed":
		return KindResumed, true
	case "extend":
		return KindExtended, true
	case "request_payment":
		return KindPaymentRequested, true
	}
	switch ev.Status {
	case "refused":
		return KindRefused, true
	case "withdrawn":
		return KindWithdrawn, true
	case "stopped":
		return KindStopped, true
	case "returned":
		return KindReturned, true
	case "result_ready":
		if ev.From != ev.To { // entering the result-ready state, not a stay
			return KindResultReady, true
		}
	}
	return "", false
}

// Preferences are a person's choice of channels. The defaults: in-app and
// SMS on; email on, which takes effect only when an address is known.
type Preferences struct {
	Email bool `json:"email"`
	SMS   bool `json:"sms"`
	InApp bool `json:"inapp"`
}

// DefaultPreferences are the preferences of a person who chose nothing.
func DefaultPreferences() Preferences { return Preferences{Email: true, SMS: true, InApp: true} }

// allows reports whether p lets ch be used.
func (p Preferences) allows(ch Channel) bool {
	switch ch {
	case ChannelEmail:
		return p.Email
	case ChannelSMS:
		return p.SMS
	case ChannelInApp:
		return p.InApp
	}
	return false
}

// Delivery is one notification sent (or to be sent) to one recipient by
// one channel: what the dossier timeline shows.
type Delivery struct {
	ID          int64     `json:"id"`
	Kind        Kind      `json:"kind"`
	Channel     Channel   `json:"channel"`
	Recipient   string    `json:"recipient"` // masked: 09******78, n***@example.com, or the account
	DossierCode string    `json:"dossier_code,omitempty"`
	Topic       string    `json:"topic"`
	Subject     string    `json:"subject"`
	Status      Status    `json:"status"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
	ProviderID  string    `json:"provider_id,omitempty"` // SMTP Message-ID or the gateway's message id
	CreatedAt   time.Time `json:"created_at"`
	SentAt      time.Time `json:"sent_at,omitzero"`
}

// Notification is an in-app notification as its owner sees it.
type Notification struct {
	ID          int64     `json:"id"`
	Kind        Kind      `json:"kind"`
	Title       string    `json:"title"`
	Body        string    `json:"body"`
	Link        string    `json:"link,omitempty"`
	DossierCode string    `json:"dossier_code,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ReadAt      time.Time `json:"read_at,omitzero"`
}

// Read reports whether the owner has read n.
func (n Notification) Read() bool { return !n.ReadAt.IsZero() }

// mask hides most of a recipient for lists shown to officials.
func mask(ch Channel, r string) string {
	switch ch {
	case ChannelSMS:
		if len(r) <= 4 {
			return strings.Repeat("*", len(r))
		}
		return r[:2] + strings.Repeat("*", len(r)-4) + r[len(r)-2:]
	case ChannelEmail:
		at := strings.LastIndexByte(r, '@')
		if at <= 0 {
			return "***"
		}
		return r[:1] + "***" + r[at:]
	}
	return r
}

// NormalizePhone turns a Vietnamese mobile number into the international
// form the gateways expect (84xxxxxxxxx), or returns ok=false.
func NormalizePhone(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')' || (r == '+' && b.Len() == 0):
		default:
			return "", false
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "84"):
	case strings.HasPrefix(d, "0"):
		d = "84" + d[1:]
	default:
		return "", false
	}
	if len(d) != 11 {
		return "", false
	}
	return d, true
}
