package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
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
	// Reason tells apart two faults of one field (optional): forms look
	// for a message of it before the field's.
	Reason string
	Msg    string
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
	// Field names to redact, as the logged bodies name them: " so_dinh_danh"
	// would match nothing and log the number in clear.
	var redact []string
	for _, f := range s.Redact {
		if f = strings.TrimSpace(f); f == "" || slices.Contains(redact, f) {
			continue
		}
		if len(f) > 200 || strings.IndexFunc(f, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return invalidField("redact", "redact field %q may hold no white space or control character (at most 200 bytes)", f)
		}
		redact = append(redact, f)
	}
	if len(redact) > 100 {
		return invalidField("redact", "at most 100 fields to redact")
	}
	s.Redact = redact
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
			return a, invalidField("client", "group %q", a.Client)
		}
	} else if c, err := ParseSubsystemID(a.Client); err != nil {
		return a, invalidField("client", "client must be a subsystem or group:CODE: %v", err)
	} else {
		a.Client = c.String()
	}
	a.Service = a.Service.Unversioned()
	if _, err := ParseServiceID(a.Service.String()); err != nil {
		return a, invalidField("service", "service: %v", err)
	}
	a.Method = strings.ToUpper(strings.TrimSpace(a.Method))
	switch a.Method {
	case "", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		return a, invalidField("method", "method %q", a.Method)
	}
	if a.Path != "" && !strings.HasPrefix(a.Path, "/") {
		return a, invalidField("path", "path pattern must start with /")
	}
	if a.ValidUntil != nil {
		from := a.ValidFrom
		if from.IsZero() {
			from = m.now() // the store starts it now
		}
		if !a.ValidUntil.After(from) {
			return a, invalidField("valid_until", "valid_until must be after valid_from (or now)")
		}
	}
	if len(a.LegalBasis) > 1000 {
		return a, invalidField("legal_basis", "legal_basis is longer than 1000 bytes")
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

// ErrInUse: the entry cannot be removed while other registry entries refer
// to it (or, for a version, while it is published or deprecated). The error
// is an [*InUseError] that says what still refers to the entry.
var ErrInUse = errors.New("gateway: still in use")

// EntryKind names the kind of a registry entry that can be removed.
type EntryKind string

// The removable entries.
const (
	EntryMember    EntryKind = "member"
	EntrySubsystem EntryKind = "subsystem"
	EntryService   EntryKind = "service"
	EntryVersion   EntryKind = "version"
	EntryGroup     EntryKind = "group"
	EntryPeer      EntryKind = "peer"
	// EntryTopic is a pub/sub topic ([PubSub.DeleteTopic]).
	EntryTopic EntryKind = "topic"
)

// RefKind names what refers to an entry that is being removed.
type RefKind string

// What may refer to a registry entry.
const (
	// RefSubsystems: subsystems of a member.
	RefSubsystems RefKind = "subsystems"
	// RefServices: services a subsystem provides.
	RefServices RefKind = "services"
	// RefLiveVersions: published or deprecated versions of a service.
	RefLiveVersions RefKind = "live_versions"
	// RefRights: access rights granted to a subsystem or a group, or on a service.
	RefRights RefKind = "rights"
	// RefQuotas: quotas of a subsystem, or on a service.
	RefQuotas RefKind = "quotas"
	// RefCertificates: TLS certificates bound to a subsystem or a peer.
	RefCertificates RefKind = "certificates"
	// RefOAuthClients: OAuth clients bound to a subsystem.
	RefOAuthClients RefKind = "oauth_clients"
	// RefGroupMemberships: groups a subsystem belongs to.
	RefGroupMemberships RefKind = "group_memberships"
	// RefTopics: pub/sub topics a subsystem owns.
	RefTopics RefKind = "topics"
	// RefSubscriptions: webhook subscriptions of a subsystem.
	RefSubscriptions RefKind = "subscriptions"
)

// Ref counts the entries of one kind that refer to an entry.
type Ref struct {
	Kind  RefKind `json:"kind"`
	Count int     `json:"count"`
}

// InUseError is the [ErrInUse] a removal returns: the entry, and either
// what still refers to it (Refs) or, for a version, the live state it is in.
type InUseError struct {
	Kind EntryKind
	ID   string
	Refs []Ref
	// Status is set when a version is refused because it is published or
	// deprecated.
	Status Status
}

var refNames = map[RefKind][2]string{
	RefSubsystems:       {"subsystem", "subsystems"},
	RefServices:         {"service", "services"},
	RefLiveVersions:     {"published or deprecated version", "published or deprecated versions"},
	RefRights:           {"access right", "access rights"},
	RefQuotas:           {"quota", "quotas"},
	RefCertificates:     {"certificate", "certificates"},
	RefOAuthClients:     {"OAuth client binding", "OAuth client bindings"},
	RefGroupMemberships: {"group membership", "group memberships"},
	RefTopics:           {"pub/sub topic", "pub/sub topics"},
	RefSubscriptions:    {"webhook subscription", "webhook subscriptions"},
}

// Error says what still refers to the entry, for example "gateway: still in
// use: the subsystem X still has 2 access rights and 1 quota".
func (e *InUseError) Error() string {
	if e.Status != "" {
		return fmt.Sprintf("%v: the %s %s is %s: retire it before removing it", ErrInUse, e.Kind, e.ID, e.Status)
	}
	parts := make([]string, len(e.Refs))
	for i, r := range e.Refs {
		n := refNames[r.Kind]
		name := n[1]
		if r.Count == 1 {
			name = n[0]
		}
		if name == "" {
			name = string(r.Kind)
		}
		parts[i] = fmt.Sprintf("%d %s", r.Count, name)
	}
	list := strings.Join(parts, ", ")
	if len(parts) > 1 {
		list = strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	}
	return fmt.Sprintf("%v: the %s %s still has %s", ErrInUse, e.Kind, e.ID, list)
}

// Unwrap makes errors.Is(err, ErrInUse) hold.
func (e *InUseError) Unwrap() error { return ErrInUse }

// Removal rules (the registry never keeps a dangling reference, and
// history stays: the message log and the audit log keep identifiers as
// text, and each removal's audit entry records what was removed):
//
//   - a member only once it has no subsystems;
//   - a subsystem only once it provides no service and has no access right,
//     quota, certificate or OAuth binding, group membership, pub/sub topic
//     or subscription;
//   - a service only once none of its versions is published or deprecated
//     and no access right or quota names it; its draft and retired versions
//     go with it;
//   - a version only while it is a draft or retired;
//   - a group only once no access right is granted to it (its member list
//     goes with it);
//   - a peer only once no certificate is bound to peer:INSTANCE.
//
// A refused removal returns an [*InUseError] (errors.Is [ErrInUse]); an
// unknown entry [ErrNotFound]. A removal is audited and bumps the registry
// revision like every change, so every node stops serving the entry within
// its poll interval.

// DeleteMember removes a member that has no subsystems left.
func (m *Manager) DeleteMember(ctx context.Context, actor string, id ClientID) error {
	if id.IsSubsystem() || !ValidIDPart(id.Instance) || !ValidIDPart(id.Class) || !ValidIDPart(id.Member) {
		return invalidField("id", "member id %q must be INSTANCE/CLASS/MEMBER", id)
	}
	return m.done(m.store.Remove(ctx, actor, EntryMember, id.String()))
}

// DeleteSubsystem removes a subsystem nothing refers to any more.
func (m *Manager) DeleteSubsystem(ctx context.Context, actor string, id ClientID) error {
	if _, err := ParseSubsystemID(id.String()); err != nil {
		return invalidField("id", "subsystem id %q must be INSTANCE/CLASS/MEMBER/SUBSYSTEM", id)
	}
	return m.done(m.store.Remove(ctx, actor, EntrySubsystem, id.String()))
}

// DeleteService removes a service whose versions are all drafts or retired
// and that no right or quota names, with those versions. An id naming a
// version removes only that version ([Manager.DeleteVersion]).
func (m *Manager) DeleteService(ctx context.Context, actor string, id ServiceID) error {
	if id.Version != "" {
		return m.DeleteVersion(ctx, actor, id)
	}
	if _, err := ParseServiceID(id.String()); err != nil {
		return invalidField("id", "service id: %v", err)
	}
	return m.done(m.store.Remove(ctx, actor, EntryService, id.String()))
}

// DeleteVersion removes a draft or retired version of a service.
func (m *Manager) DeleteVersion(ctx context.Context, actor string, id ServiceID) error {
	if _, err := ParseServiceID(id.String()); err != nil || id.Version == "" {
		return invalidField("version", "version %q must be a versioned service identifier", id)
	}
	return m.done(m.store.Remove(ctx, actor, EntryVersion, id.String()))
}

// DeleteGroup removes a group no access right is granted to.
func (m *Manager) DeleteGroup(ctx context.Context, actor, code string) error {
	if !ValidIDPart(code) {
		return invalidField("code", "group code %q", code)
	}
	return m.done(m.store.Remove(ctx, actor, EntryGroup, code))
}

// DeletePeer removes the route to a peer gateway once no certificate is
// bound to it.
func (m *Manager) DeletePeer(ctx context.Context, actor, instance string) error {
	if !ValidIDPart(instance) {
		return invalidField("instance", "instance %q", instance)
	}
	return m.done(m.store.Remove(ctx, actor, EntryPeer, instance))
}

// Remove removes the entry of kind named by id (as its identifier is
// written) through the Delete method of that kind.
func (m *Manager) Remove(ctx context.Context, actor string, kind EntryKind, id string) error {
	switch kind {
	case EntryMember:
		c, err := ParseClientID(id)
		if err != nil {
			return invalidField("id", "member id: %v", err)
		}
		return m.DeleteMember(ctx, actor, c)
	case EntrySubsystem:
		c, err := ParseSubsystemID(id)
		if err != nil {
			return invalidField("id", "subsystem id: %v", err)
		}
		return m.DeleteSubsystem(ctx, actor, c)
	case EntryService, EntryVersion:
		s, err := ParseServiceID(id)
		if err != nil {
			return invalidField("id", "service id: %v", err)
		}
		if kind == EntryVersion {
			return m.DeleteVersion(ctx, actor, s)
		}
		if s.Version != "" {
			return invalidField("id", "%s names a version, not a service", id)
		}
		return m.DeleteService(ctx, actor, s)
	case EntryGroup:
		return m.DeleteGroup(ctx, actor, id)
	case EntryPeer:
		return m.DeletePeer(ctx, actor, id)
	}
	return invalid("unknown kind of entry %q", kind)
}

// CheckRemove reports, without changing anything, whether the entry could
// be removed now: nil, [ErrNotFound] or an [*InUseError].
func (m *Manager) CheckRemove(ctx context.Context, kind EntryKind, id string) error {
	return m.store.CheckRemove(ctx, kind, id)
}
