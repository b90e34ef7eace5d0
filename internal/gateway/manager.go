package gateway

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Manager is the registry's service layer: it validates changes before the
// store applies and audits them. Handlers and other modules use it.
type Manager struct {
	store *Store
	now   func() time.Time
	// changed, when set, is called after every successful change so the
	// local runtime reloads at once instead of at its next poll.
	changed func()
}

// NewManager returns a Manager over s; now nil means time.Now.
func NewManager(s *Store, now func() time.Time) *Manager {
	if now == nil {
		now = time.Now
	}
	return &Manager{store: s, now: now}
}

// OnChange registers f to run after each successful change (the local
// Runtime's Reload).
func (m *Manager) OnChange(f func()) { m.changed = f }

// Store returns the underlying store.
func (m *Manager) Store() *Store { return m.store }

func (m *Manager) done(err error) error {
	if err == nil && m.changed != nil {
		m.changed()
	}
	return err
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// FieldError is an ErrInvalid that names the field at fault (the JSON name:
// "id", "name", "backend_url"…), so forms can show it next to that field.
type FieldError struct {
	Field string
	Msg   string
}

// Error reads like the other ErrInvalid errors.
func (e *FieldError) Error() string { return ErrInvalid.Error() + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalidField(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// PutMember validates and stores a member (its ID must name a member, not a subsystem).
func (m *Manager) PutMember(ctx context.Context, actor string, mem Member) error {
	if mem.ID.IsSubsystem() || !ValidIDPart(mem.ID.Instance) || !ValidIDPart(mem.ID.Class) || !ValidIDPart(mem.ID.Member) {
		return invalidField("id", "member id %q must be INSTANCE/CLASS/MEMBER", mem.ID)
	}
	mem.Name = strings.TrimSpace(mem.Name)
	if mem.Name == "" || len(mem.Name) > 500 {
		return invalidField("name", "member name is required (at most 500 bytes)")
	}
	return m.done(m.store.PutMember(ctx, actor, mem))
}

// PutSubsystem validates and stores a subsystem of a registered member.
func (m *Manager) PutSubsystem(ctx context.Context, actor string, s Subsystem) error {
	if _, err := ParseSubsystemID(s.ID.String()); err != nil {
		return invalidField("id", "subsystem id %q must be INSTANCE/CLASS/MEMBER/SUBSYSTEM", s.ID)
	}
	if strings.TrimSpace(s.Name) == "" {
		s.Name = s.ID.Subsystem
	}
	return m.done(m.store.PutSubsystem(ctx, actor, s))
}

// PutCertificate binds a certificate to a subsystem or a peer instance.
func (m *Manager) PutCertificate(ctx context.Context, actor string, c Certificate) error {
	c.Fingerprint = strings.ToLower(strings.ReplaceAll(c.Fingerprint, ":", ""))
	if len(c.Fingerprint) != 64 {
		return invalidField("fingerprint", "fingerprint must be the SHA-256 of the certificate, 64 hex digits")
	}
	if _, err := ParseSubsystemID(c.Owner); err != nil && !(strings.HasPrefix(c.Owner, PeerPrefix) && ValidIDPart(strings.TrimPrefix(c.Owner, PeerPrefix))) {
		return invalidField("owner", "owner %q must be a subsystem or peer:INSTANCE", c.Owner)
	}
	return m.done(m.store.PutCertificate(ctx, actor, c))
}

// DeleteCertificate removes a certificate binding (ErrNotFound if none).
func (m *Manager) DeleteCertificate(ctx context.Context, actor, fingerprint string) error {
	fingerprint = strings.ToLower(strings.ReplaceAll(fingerprint, ":", ""))
	return m.done(m.store.DeleteCertificate(ctx, actor, fingerprint))
}

// DeleteQuota removes the quota of client on service (a quota of all zeros).
func (m *Manager) DeleteQuota(ctx context.Context, actor string, client ClientID, service ServiceID) error {
	return m.PutQuota(ctx, actor, Quota{Client: client, Service: service})
}

// PeerPrefix marks a certificate owned by a peer gateway: "peer:INSTANCE".
const PeerPrefix = "peer:"

// PutService validates and stores a service's description and policy.
func (m *Manager) PutService(ctx context.Context, actor string, s Service) error {
	if _, err := ParseServiceID(s.ID.Unversioned().String()); err != nil {
		return invalidField("id", "service id: %v", err)
	}
	switch s.Kind {
	case "":
		s.Kind = REST
	case REST, SOAP:
	default:
		return invalidField("kind", "kind must be rest or soap")
	}
	switch s.FailPolicy {
	case "":
		s.FailPolicy = FailClosed
	case FailClosed, FailOpen:
	default:
		return invalidField("fail_policy", "fail_policy must be open or closed")
	}
	s.Title = strings.TrimSpace(s.Title)
	if s.Title == "" {
		return invalidField("title", "title is required")
	}
	if s.Timeout < 0 || s.Timeout > 10*time.Minute {
		return invalidField("timeout", "timeout must be between 0 and 10 minutes")
	}
	if s.Timeout == 0 {
		s.Timeout = 30 * time.Second
	}
	if s.MaxBodyBytes < 0 {
		return invalidField("max_body_bytes", "max_body_bytes must not be negative")
	}
	return m.done(m.store.PutService(ctx, actor, s))
}

// PutVersion validates and stores a version (backend URL and description).
func (m *Manager) PutVersion(ctx context.Context, actor string, id ServiceID, v Version) error {
	if !IsVersion(id.Version) {
		return invalidField("version", "version %q must look like v1 or v2.1", id.Version)
	}
	u, err := url.Parse(v.BackendURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalidField("backend_url", "backend_url must be an absolute http(s) URL")
	}
	if len(v.Spec) > 4<<20 {
		return invalidField("spec", "the description document is larger than 4 MiB")
	}
	return m.done(m.store.PutVersion(ctx, actor, id, v))
}

// SetStatus moves a version along draft → published → deprecated → retired.
// Deprecating may announce a sunset date.
func (m *Manager) SetStatus(ctx context.Context, actor string, id ServiceID, next Status, sunset *time.Time) error {
	switch next {
	case Draft, Published, Deprecated, Retired:
	default:
		return invalidField("status", "status must be draft, published, deprecated or retired")
	}
	return m.done(m.store.SetStatus(ctx, actor, id, next, sunset))
}

// PutGroup validates and stores a group of client subsystems.
func (m *Manager) PutGroup(ctx context.Context, actor string, g Group) error {
	if !ValidIDPart(g.Code) {
		return invalid("group code %q", g.Code)
	}
	for _, c := range g.Members {
		if _, err := ParseSubsystemID(c.String()); err != nil {
			return invalid("group member %q must be a subsystem", c)
		}
	}
	return m.done(m.store.PutGroup(ctx, actor, g))
}

// Grant validates and records an access right.
func (m *Manager) Grant(ctx context.Context, actor string, a AccessRight) (AccessRight, error) {
	if g, ok := strings.CutPrefix(a.Client, GroupPrefix); ok {
		if !ValidIDPart(g) {
			return a, invalid("group %q", a.Client)
		}
	} else if c, err := ParseSubsystemID(a.Client); err != nil {
		return a, invalid("client must be a subsystem or group:CODE: %v", err)
	} else {
		a.Client = c.String()
	}
	a.Service = a.Service.Unversioned()
	if _, err := ParseServiceID(a.Service.String()); err != nil {
		return a, invalid("service: %v", err)
	}
	a.Method = strings.ToUpper(strings.TrimSpace(a.Method))
	switch a.Method {
	case "", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		return a, invalid("method %q", a.Method)
	}
	if a.Path != "" && !strings.HasPrefix(a.Path, "/") {
		return a, invalid("path pattern must start with /")
	}
	if a.ValidUntil != nil && !a.ValidUntil.After(a.ValidFrom) {
		return a, invalid("valid_until must be after valid_from")
	}
	if len(a.LegalBasis) > 1000 {
		return a, invalid("legal_basis is longer than 1000 bytes")
	}
	a, err := m.store.Grant(ctx, actor, a)
	return a, m.done(err)
}

// Revoke deletes an access right; every node enforces it within its poll
// interval.
func (m *Manager) Revoke(ctx context.Context, actor string, id int64) error {
	return m.done(m.store.Revoke(ctx, actor, id))
}

// PutQuota validates and sets a quota.
func (m *Manager) PutQuota(ctx context.Context, actor string, q Quota) error {
	if _, err := ParseSubsystemID(q.Client.String()); err != nil {
		return invalidField("client", "quota client must be a subsystem")
	}
	q.Service = q.Service.Unversioned()
	if _, err := ParseServiceID(q.Service.String()); err != nil {
		return invalidField("service", "quota service: %v", err)
	}
	if q.RatePerSecond < 0 || q.Daily < 0 || q.MaxConcurrent < 0 {
		return invalidField("rate_per_second", "quota values must not be negative")
	}
	return m.done(m.store.PutQuota(ctx, actor, q))
}

// PutPeer validates and stores the route to a peer gateway.
func (m *Manager) PutPeer(ctx context.Context, actor string, p Peer) error {
	if !ValidIDPart(p.Instance) {
		return invalidField("instance", "instance %q", p.Instance)
	}
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalidField("url", "peer url must be an absolute http(s) URL")
	}
	p.URL = strings.TrimSuffix(p.URL, "/")
	return m.done(m.store.PutPeer(ctx, actor, p))
}
