package gateway

import (
	"encoding/json"
	"net/http"
	"unicode"
	"unicode/utf8"
)

// The X-Road REST headers the gateway reads and writes.
const (
	HeaderClient      = "X-Road-Client"
	HeaderID          = "X-Road-Id"
	HeaderUserID      = "X-Road-UserId"
	HeaderIssue       = "X-Road-Issue"
	HeaderRequestID   = "X-Road-Request-Id"
	HeaderRequestHash = "X-Road-Request-Hash"
	HeaderError       = "X-Road-Error"
	HeaderService     = "X-Road-Service"
)

// Fault is an error answered in the X-Road REST profile: the category goes
// into the X-Road-Error header and the JSON body {"type", "message", "detail"}.
//
// Categories follow X-Road (Client.* when the caller is at fault,
// Server.ClientProxy.* when this gateway fails on the client side,
// Server.ServerProxy.* on the provider side); the ones X-Road lacks
// (quotas, size and time limits) keep the same shape.
type Fault struct {
	Status  int
	Type    string
	Message string
	// RetryAfter, in seconds, is sent with 429 and 503 answers when > 0.
	RetryAfter int
}

// Error returns the category and message.
func (f *Fault) Error() string { return f.Type + ": " + f.Message }

// The fault categories the gateway answers with.
const (
	FaultBadRequest      = "Client.BadRequest"
	FaultBodyTooLarge    = "Client.RequestTooLarge"
	FaultBodyTimeout     = "Client.RequestTimeout"
	FaultQuota           = "Client.QuotaExceeded"
	FaultCanceled        = "Client.RequestCanceled" // logged with status 499; never sent
	FaultAuthentication  = "Server.ClientProxy.SslAuthenticationFailed"
	FaultUnknownClient   = "Server.ClientProxy.UnknownMember"
	FaultClientInternal  = "Server.ClientProxy.InternalError"
	FaultPeerUnreachable = "Server.ClientProxy.NetworkError"
	// FaultInconsistentResponse: a peer gateway answered with the hash of
	// another request (X-Road's category for it).
	FaultInconsistentResponse = "Server.ClientProxy.ServiceFailed.InconsistentResponse"
	FaultUnknownService       = "Server.ServerProxy.UnknownService"
	FaultServiceDisabled      = "Server.ServerProxy.ServiceDisabled"
	FaultAccessDenied         = "Server.ServerProxy.AccessDenied"
	FaultServiceFailed        = "Server.ServerProxy.ServiceFailed"
	FaultServiceTimeout       = "Server.ServerProxy.ServiceTimeout"
	FaultCircuitOpen          = "Server.ServerProxy.ServiceUnavailable"
	FaultDatabase             = "Server.ServerProxy.DatabaseError"
)

// knownFault reports whether typ is a category this gateway (and so a
// congso peer) answers with, or X-Road's own.
func knownFault(typ string) bool {
	switch typ {
	case FaultBadRequest, FaultBodyTooLarge, FaultBodyTimeout, FaultQuota, FaultAuthentication, FaultUnknownClient,
		FaultClientInternal, FaultPeerUnreachable, FaultInconsistentResponse, FaultUnknownService, FaultServiceDisabled,
		FaultAccessDenied, FaultServiceFailed, FaultServiceTimeout, FaultCircuitOpen, FaultDatabase, FaultTimestamp, FaultCertStatus:
		return true
	}
	return false
}

func fault(status int, typ, msg string) *Fault {
	return &Fault{Status: status, Type: typ, Message: msg}
}

// writeFault answers f; requestID goes into the detail so operators can
// find the exchange.
func writeFault(w http.ResponseWriter, f *Fault, requestID string) {
	h := w.Header()
	h.Set(HeaderError, f.Type)
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if requestID != "" {
		h.Set(HeaderRequestID, requestID)
	}
	if f.RetryAfter > 0 {
		h.Set("Retry-After", itoa(int64(f.RetryAfter)))
	}
	w.WriteHeader(f.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Detail  string `json:"detail"`
	}{f.Type, f.Message, requestID})
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// ValidHeaderValue reports whether an X-Road header value the gateway
// forwards and logs (X-Road-Id, X-Road-UserId, X-Road-Issue) is acceptable:
// at most 255 bytes of printable characters.
func ValidHeaderValue(v string) bool {
	if len(v) > 255 {
		return false
	}
	for _, r := range v {
		// Printable only: no C0 or C1 control (U+0085 is a line break to
		// a Latin-1 reader), no format character (bidi overrides), no
		// line or paragraph separator, no replacement of invalid UTF-8.
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) ||
			r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// ProtocolError answers a request the gateway's HTTP server could not read
// (malformed, too large, an unsupported HTTP feature) as a fault of the
// REST profile, so that clients see the same X-Road-Error shape for every
// refusal. It is h1.Server's ProtocolError hook.
func ProtocolError(w http.ResponseWriter, status int, reason string) {
	typ := FaultBadRequest
	switch status {
	case http.StatusRequestEntityTooLarge, http.StatusRequestHeaderFieldsTooLarge, http.StatusRequestURITooLong:
		typ = FaultBodyTooLarge
	}
	writeFault(w, fault(status, typ, "the request cannot be read: "+reason), "")
}
