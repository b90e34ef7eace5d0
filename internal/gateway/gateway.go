package gateway

import (
	"errors"
	"path"
	"strings"
	"time"
)

// Sentinel errors of the registry.
var (
	// ErrNotFound: no such member, subsystem, service, version, right or quota.
	ErrNotFound = errors.New("gateway: not found")
	// ErrExists: the identifier is already registered.
	ErrExists = errors.New("gateway: already exists")
	// ErrInvalid: a field is missing or wrong; the error says which.
	ErrInvalid = errors.New("gateway: invalid")
	// ErrLifecycle: the version cannot move to the asked state.
	ErrLifecycle = errors.New("gateway: lifecycle transition not allowed")
)

// Member is an organisation connected to the gateway: an agency, mapped to
// its agency e-ID (Decision 20/2020), or a ministry or company.
type Member struct {
	ID        ClientID  `json:"id"`
	Name      string    `json:"name"`
	AgencyEID string    `json:"agency_eid,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Subsystem is an information system of a member: it calls services
// (as a client) and provides them.
type Subsystem struct {
	ID        ClientID  `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Certificate binds a TLS client certificate (by the SHA-256 fingerprint of
// its DER) to a subsystem, or to a peer gateway (Subsystem holds the peer
// instance as INSTANCE).
type Certificate struct {
	Fingerprint string    `json:"fingerprint"`
	Owner       string    `json:"owner"`
	Subject     string    `json:"subject"`
	NotAfter    time.Time `json:"not_after"`
}

// Kind is the profile of a service.
type Kind string

// The service kinds.
const (
	REST Kind = "rest"
	SOAP Kind = "soap"
)

// Status is the lifecycle state of a service version.
type Status string

// Lifecycle: draft → published → deprecated → retired. Only published and
// deprecated versions are reachable through the proxy.
const (
	Draft      Status = "draft"
	Published  Status = "published"
	Deprecated Status = "deprecated"
	Retired    Status = "retired"
)

// CanMove reports whether a version may go from s to next.
func (s Status) CanMove(next Status) bool {
	switch s {
	case Draft:
		return next == Published || next == Retired
	case Published:
		return next == Deprecated || next == Retired
	case Deprecated:
		return next == Published || next == Retired
	}
	return false
}

// Reachable reports whether calls may reach a version in state s.
func (s Status) Reachable() bool { return s == Published || s == Deprecated }

// FailPolicy is what a service does when a dependency of the gateway (the
// quota store, the message log) fails.
type FailPolicy string

// The fail policies.
const (
	FailClosed FailPolicy = "closed"
	FailOpen   FailPolicy = "open"
)

// Service is a service registered by a provider subsystem.
type Service struct {
	ID          ServiceID `json:"id"`
	Kind        Kind      `json:"kind"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	// Timeout bounds one call to the backend (default 30 s).
	Timeout time.Duration `json:"timeout"`
	// MaxBodyBytes bounds the request body (0: the gateway's default).
	MaxBodyBytes int64 `json:"max_body_bytes"`
	// LogBodies records request and response bodies (up to 64 KiB each) in
	// the message log, with Redact fields replaced.
	LogBodies bool `json:"log_bodies"`
	// Redact names JSON fields whose values are replaced by "***" in logged
	// bodies (for example so_dinh_danh, phone).
	Redact []string `json:"redact,omitempty"`
	// FailPolicy applies when the quota store is unreachable, or when the
	// message log has not been time-stamped for longer than the grace
	// period (tsa.go).
	FailPolicy FailPolicy `json:"fail_policy"`
	Versions   []Version  `json:"versions"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Version is one version of a service, with its own backend and
// description document (OpenAPI for REST, WSDL for SOAP).
type Version struct {
	Version    string `json:"version"`
	Status     Status `json:"status"`
	BackendURL string `json:"backend_url"`
	Spec       string `json:"spec,omitempty"`
	// SunsetAt is announced when the version is deprecated: the date after
	// which it will be retired.
	SunsetAt  *time.Time `json:"sunset_at,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Current returns the version calls reach when they name none: the
// published version with the highest label, else the highest deprecated one.
func (s *Service) Current() (Version, bool) {
	var best Version
	found := false
	for _, v := range s.Versions {
		if !v.Status.Reachable() {
			continue
		}
		if !found || (v.Status == Published && best.Status != Published) ||
			(v.Status == best.Status && versionLess(best.Version, v.Version)) {
			best, found = v, true
		}
	}
	return best, found
}

// Find returns the named version.
func (s *Service) Find(version string) (Version, bool) {
	for _, v := range s.Versions {
		if v.Version == version {
			return v, true
		}
	}
	return Version{}, false
}

// versionLess compares version labels such as v1, v1.2, v10 numerically.
func versionLess(a, b string) bool {
	as, bs := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if len(as[i]) != len(bs[i]) {
			return len(as[i]) < len(bs[i])
		}
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

// GroupPrefix marks an access right granted to a group instead of one
// subsystem: "group:NAME".
const GroupPrefix = "group:"

// Group is a named set of client subsystems that rights can be granted to.
type Group struct {
	Code    string     `json:"code"`
	Name    string     `json:"name"`
	Members []ClientID `json:"members"`
}

// AccessRight lets a client subsystem (or a group) call a service, or only
// some of its endpoints.
type AccessRight struct {
	ID int64 `json:"id"`
	// Client is a subsystem identifier or "group:CODE".
	Client string `json:"client"`
	// Service is the unversioned service identifier.
	Service ServiceID `json:"service"`
	// Method is an HTTP method, or "" for any.
	Method string `json:"method,omitempty"`
	// Path is a pattern over the service path ("" or "/**" for any): segments
	// match literally, "*" matches one segment, a final "**" any rest.
	Path string `json:"path,omitempty"`
	// ValidFrom and ValidUntil time-box the right (ValidUntil nil: open).
	ValidFrom  time.Time  `json:"valid_from"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	// LegalBasis cites the text that allows the sharing (Decree 278/2025).
	LegalBasis string    `json:"legal_basis,omitempty"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
}

// Allows reports whether the right lets a call with method and service
// path p through at time now.
func (a *AccessRight) Allows(method, p string, now time.Time) bool {
	if now.Before(a.ValidFrom) || (a.ValidUntil != nil && !now.Before(*a.ValidUntil)) {
		return false
	}
	if a.Method != "" && !strings.EqualFold(a.Method, method) {
		return false
	}
	return MatchPath(a.Path, p)
}

// MatchPath matches a service path against a right's pattern.
func MatchPath(pattern, p string) bool {
	if pattern == "" || pattern == "/**" || pattern == "**" {
		return true
	}
	p = path.Clean("/" + p)
	var ps []string // "/": the service's root only
	if t := strings.Trim(pattern, "/"); t != "" {
		ps = strings.Split(t, "/")
	}
	xs := strings.Split(strings.Trim(p, "/"), "/")
	if p == "/" {
		xs = nil
	}
	for i, seg := range ps {
		if seg == "**" && i == len(ps)-1 {
			return true
		}
		if i >= len(xs) {
			return false
		}
		if seg != "*" && seg != xs[i] {
			return false
		}
	}
	return len(xs) == len(ps)
}

// Quota limits what one client may send to one service.
type Quota struct {
	Client  ClientID  `json:"client"`
	Service ServiceID `json:"service"`
	// RatePerSecond is the number of calls allowed in each second (0: none).
	RatePerSecond int64 `json:"rate_per_second"`
	// Daily is the number of calls allowed per day, Asia/Ho_Chi_Minh (0: none).
	Daily int64 `json:"daily"`
	// MaxConcurrent bounds calls in flight on each node (0: none).
	MaxConcurrent int64 `json:"max_concurrent"`
}

// Peer is another gateway (another province, or the national exchange)
// that serves the services of an X-Road instance.
type Peer struct {
	Instance string `json:"instance"`
	// URL is the peer's base URL; calls go to URL + "/r1/...".
	URL       string    `json:"url"`
	UpdatedAt time.Time `json:"updated_at"`
}
