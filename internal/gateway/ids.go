package gateway

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadIdentifier reports a malformed member, subsystem or service identifier.
var ErrBadIdentifier = errors.New("gateway: malformed identifier")

// maxIDPart bounds one part of an identifier, as X-Road does (255 characters).
const maxIDPart = 255

// ClientID identifies a member (Subsystem empty) or one of its subsystems,
// written INSTANCE/CLASS/MEMBER[/SUBSYSTEM] as in the X-Road protocol.
type ClientID struct {
	Instance  string `json:"instance"`
	Class     string `json:"member_class"`
	Member    string `json:"member_code"`
	Subsystem string `json:"subsystem_code,omitempty"`
}

// String writes the identifier in its slash form.
func (c ClientID) String() string {
	if c.Subsystem != "" {
		return c.Instance + "/" + c.Class + "/" + c.Member + "/" + c.Subsystem // one allocation
	}
	return c.Instance + "/" + c.Class + "/" + c.Member
}

// MemberID returns the member part of c (c without its subsystem).
func (c ClientID) MemberID() ClientID { c.Subsystem = ""; return c }

// IsSubsystem reports whether c names a subsystem.
func (c ClientID) IsSubsystem() bool { return c.Subsystem != "" }

// ServiceID identifies a service of a subsystem, and optionally one version:
// INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION].
type ServiceID struct {
	Provider ClientID `json:"provider"`
	Code     string   `json:"service_code"`
	// Version is empty when the request asks for the current version.
	Version string `json:"version,omitempty"`
}

// String writes the identifier in its slash form, with the version if set.
func (s ServiceID) String() string {
	p := s.Provider
	var b strings.Builder // one allocation
	b.Grow(len(p.Instance) + len(p.Class) + len(p.Member) + len(p.Subsystem) + len(s.Code) + len(s.Version) + 5)
	for i, part := range [...]string{p.Instance, p.Class, p.Member, p.Subsystem, s.Code, s.Version} {
		if part == "" && (i == 3 || i == 5) {
			continue
		}
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(part)
	}
	return b.String()
}

// Unversioned returns s without its version: the key of the service in the
// registry.
func (s ServiceID) Unversioned() ServiceID { s.Version = ""; return s }

// ValidIDPart reports whether p may be one part of an identifier. Following
// X-Road's identifier character restrictions, a part is 1 to 255 characters,
// none of them a control character, whitespace, or one of / \ : ; % and
// no part may be "." or "..".
func ValidIDPart(p string) bool {
	if p == "" || len(p) > maxIDPart || p == "." || p == ".." {
		return false
	}
	for _, r := range p {
		switch {
		case r < 0x21, r == 0x7f, r == 0xfffd:
			return false
		case r >= 0x80 && r <= 0x9f:
			return false
		}
		switch r {
		case '/', '\\', ':', ';', '%', ' ', '\u00a0', '\u2028', '\u2029':
			return false
		}
	}
	return true
}

// ParseClientID parses INSTANCE/CLASS/MEMBER or INSTANCE/CLASS/MEMBER/SUBSYSTEM.
func ParseClientID(s string) (ClientID, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 && len(parts) != 4 {
		return ClientID{}, fmt.Errorf("%w: %q: want INSTANCE/CLASS/MEMBER[/SUBSYSTEM]", ErrBadIdentifier, clip(s))
	}
	for i, p := range parts {
		if !ValidIDPart(p) {
			return ClientID{}, fmt.Errorf("%w: %q: part %d is empty, too long or has a forbidden character", ErrBadIdentifier, clip(s), i+1)
		}
	}
	c := ClientID{Instance: parts[0], Class: parts[1], Member: parts[2]}
	if len(parts) == 4 {
		c.Subsystem = parts[3]
	}
	return c, nil
}

// ParseSubsystemID parses a client identifier that must name a subsystem.
func ParseSubsystemID(s string) (ClientID, error) {
	c, err := ParseClientID(s)
	if err != nil {
		return c, err
	}
	if !c.IsSubsystem() {
		return ClientID{}, fmt.Errorf("%w: %q names a member, a subsystem is needed", ErrBadIdentifier, clip(s))
	}
	return c, nil
}

// ParseServiceID parses INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION].
func ParseServiceID(s string) (ServiceID, error) {
	id, rest, err := SplitServicePath(s)
	if err != nil {
		return id, err
	}
	if rest != "" {
		return ServiceID{}, fmt.Errorf("%w: %q: too many parts", ErrBadIdentifier, clip(s))
	}
	return id, nil
}

// SplitServicePath splits the path after /r1/ into the service identifier
// and the path forwarded to the service (with its leading slash, or "").
// A segment after the service code is a version when it looks like one
// ("v" followed by digits and dots, such as v1 or v2.1); anything else
// starts the service path.
func SplitServicePath(p string) (ServiceID, string, error) {
	parts := strings.SplitN(p, "/", 7)
	if len(parts) < 5 {
		return ServiceID{}, "", fmt.Errorf("%w: %q: want INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE", ErrBadIdentifier, clip(p))
	}
	for i := 0; i < 5; i++ {
		if !ValidIDPart(parts[i]) {
			return ServiceID{}, "", fmt.Errorf("%w: %q: part %d is empty, too long or has a forbidden character", ErrBadIdentifier, clip(p), i+1)
		}
	}
	id := ServiceID{Provider: ClientID{Instance: parts[0], Class: parts[1], Member: parts[2], Subsystem: parts[3]}, Code: parts[4]}
	rest := parts[5:]
	if len(rest) > 0 && IsVersion(rest[0]) {
		id.Version = rest[0]
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return id, "", nil
	}
	return id, "/" + strings.Join(rest, "/"), nil
}

// IsVersion reports whether s is a service version label: "v" then digits,
// optionally dot-separated (v1, v2.1), at most 16 characters.
func IsVersion(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != 'v' {
		return false
	}
	dot := true // no leading dot, no double dot
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			dot = false
		case r == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return !dot
}

// clip shortens attacker-controlled input before it goes into an error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
