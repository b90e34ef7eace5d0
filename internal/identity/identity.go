package identity

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/congso/congso/internal/platform/i18n"
)

// Sentinel errors. Service methods wrap them with context; test with errors.Is.
var (
	// ErrNotFound: the person, grant, position or session does not exist.
	ErrNotFound = errors.New("identity: not found")
	// ErrInvalid: the input breaks a rule; the error is a [ValidationError]
	// listing each field.
	ErrInvalid = errors.New("identity: invalid input")
	// ErrInvalidCredentials: unknown username or wrong password. The two are
	// deliberately not told apart.
	ErrInvalidCredentials = errors.New("identity: invalid username or password")
	// ErrAccountLocked: too many failed sign-ins (for a while, see
	// [LockedError]) or locked by an administrator (until unlocked).
	ErrAccountLocked = errors.New("identity: account locked")
	// ErrAccountDisabled: the account was disabled by an administrator.
	ErrAccountDisabled = errors.New("identity: account disabled")
	// ErrNoSession: the session token is unknown, revoked or expired.
	ErrNoSession = errors.New("identity: no valid session")
	// ErrUsernameTaken: another person already has this username.
	ErrUsernameTaken = errors.New("identity: username taken")
	// ErrPersonalIDTaken: another person already has this personal ID number.
	ErrPersonalIDTaken = errors.New("identity: personal ID number taken")
	// ErrGrantExists: the person already holds this role for this scope.
	ErrGrantExists = errors.New("identity: role already granted")
	// ErrLastSysadmin: the change would leave the province without an active
	// system administrator.
	ErrLastSysadmin = errors.New("identity: last system administrator")
	// ErrUnauthenticated: the caller is anonymous and the action needs a
	// signed-in person.
	ErrUnauthenticated = errors.New("identity: not signed in")
	// ErrForbidden: the caller is signed in but no grant allows the action.
	ErrForbidden = errors.New("identity: forbidden")
	// ErrMFAPending: the session's second factor has not been given yet.
	ErrMFAPending = errors.New("identity: second factor pending")
	// ErrInvalidMFACode: the one-time or recovery code is wrong or used.
	ErrInvalidMFACode = errors.New("identity: invalid second-factor code")
)

// LockedError is returned (wrapping [ErrAccountLocked]) when a sign-in is
// refused because of the lockout. Until is zero when an administrator locked
// the account, with no end.
type LockedError struct {
	Until time.Time
}

func (e *LockedError) Error() string {
	if e.Until.IsZero() {
		return "identity: account locked by an administrator"
	}
	return "identity: account locked until " + e.Until.UTC().Format(time.RFC3339)
}

// Unwrap makes errors.Is(err, ErrAccountLocked) hold.
func (e *LockedError) Unwrap() error { return ErrAccountLocked }

// PersonKind tells officials (staff of agencies, G2E) from applicants
// (citizens and businesses, G2C/G2B).
type PersonKind string

// The kinds of person.
const (
	KindOfficial  PersonKind = "official"
	KindApplicant PersonKind = "applicant"
)

// Valid reports whether k is a known kind.
func (k PersonKind) Valid() bool { return k == KindOfficial || k == KindApplicant }

// Status is the state of an account.
type Status string

// The account states. A locked account may not sign in: either for a while
// after repeated failures (Person.LockedUntil set) or until an administrator
// unlocks it (LockedUntil nil). A disabled account may not sign in and has no
// sessions; it is kept for history (audit, dossiers it handled).
const (
	StatusActive   Status = "active"
	StatusLocked   Status = "locked"
	StatusDisabled Status = "disabled"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusActive || s == StatusLocked || s == StatusDisabled
}

// Person is an account: an official or an applicant. Passwords are never part
// of it.
type Person struct {
	ID       string
	Kind     PersonKind
	Username string // always lower case
	FullName string
	Email    string
	Phone    string
	// PersonalID is the 12-digit personal ID number (căn cước) of a citizen,
	// or "". It is how a federated e-ID sign-in will find the account.
	PersonalID string
	// Status is the stored status; see [Person.StatusAt] for the status in
	// effect, which accounts for an expired lockout.
	Status             Status
	LockedUntil        *time.Time
	HasPassword        bool
	MustChangePassword bool
	LastLoginAt        *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time

	// Positions and Grants, including ended and revoked ones (history), are
	// filled by [Service.GetPerson] only.
	Positions []Position
	Grants    []Grant
}

// StatusAt returns the status in effect at now: a lockout whose time has
// passed counts as active.
func (p Person) StatusAt(now time.Time) Status {
	if p.Status == StatusLocked && p.LockedUntil != nil && !now.Before(*p.LockedUntil) {
		return StatusActive
	}
	return p.Status
}

// Position is a post a person holds in a unit of an agency ("Chuyên viên,
// Phòng Quản lý đô thị"). A person may hold several at once. UnitID and
// AgencyID are the catalog module's IDs, kept as opaque strings.
type Position struct {
	ID        string
	PersonID  string
	Title     string
	UnitID    string
	AgencyID  string
	StartedAt time.Time
	EndedAt   *time.Time // nil while held
}

// Active reports whether the position is still held.
func (p Position) Active() bool { return p.EndedAt == nil }

// Role is a set of duties a person may be granted for a unit or for the whole
// province. What each role may do is decided by the action table (see
// [DefineAction]), not by the role itself.
type Role string

// The roles.
const (
	RoleOfficer      Role = "officer"       // one-stop desk officer: receives dossiers, returns results
	RoleDivisionHead Role = "division_head" // head of division: assigns and approves
	RoleHandler      Role = "handler"       // appraises and processes dossiers
	RoleAgencyHead   Role = "agency_head"   // signs results
	RoleClerk        Role = "clerk"         // numbers, stamps and issues
	RoleCatalogAdmin Role = "catalog_admin" // maintains shared catalogs
	RoleSysadmin     Role = "sysadmin"      // everything, province-wide only
	RoleLeader       Role = "leader"        // follows statistics and dashboards
)

var roleLabels = map[Role]string{
	RoleOfficer:      "Cán bộ một cửa",
	RoleDivisionHead: "Lãnh đạo phòng",
	RoleHandler:      "Chuyên viên xử lý",
	RoleAgencyHead:   "Lãnh đạo cơ quan",
	RoleClerk:        "Văn thư",
	RoleCatalogAdmin: "Quản trị danh mục",
	RoleSysadmin:     "Quản trị hệ thống",
	RoleLeader:       "Lãnh đạo theo dõi",
}

// Roles lists every role in a stable order.
func Roles() []Role {
	return []Role{RoleOfficer, RoleDivisionHead, RoleHandler, RoleAgencyHead, RoleClerk,
		RoleCatalogAdmin, RoleSysadmin, RoleLeader}
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { _, ok := roleLabels[r]; return ok }

// Label returns the Vietnamese name of the role ("Cán bộ một cửa"); other
// languages use the message "identity.role.<role>".
func (r Role) Label() string {
	if l, ok := roleLabels[r]; ok {
		return l
	}
	return string(r)
}

// ProvinceWide is the unit ID of a grant that applies to every unit.
const ProvinceWide = ""

// Grant gives a person a role for one unit, or for the whole province when
// UnitID is [ProvinceWide]. Revoked grants are kept as history.
type Grant struct {
	ID        string
	PersonID  string
	Role      Role
	UnitID    string
	GrantedBy string // person ID, or "system" (CLI, demo loader)
	GrantedAt time.Time
	RevokedBy string
	RevokedAt *time.Time
}

// Active reports whether the grant has not been revoked.
func (g Grant) Active() bool { return g.RevokedAt == nil }

// Covers reports whether the grant applies to unitID: a province-wide grant
// applies everywhere, a unit grant to its unit only. An empty unitID (an
// action on no particular unit) is covered by province-wide grants only.
func (g Grant) Covers(unitID string) bool {
	return g.UnitID == ProvinceWide || g.UnitID == unitID
}

// Session is a signed-in browser or client. The token itself is never stored;
// only its SHA-256.
type Session struct {
	ID         string
	PersonID   string
	Method     string // how the person signed in: "password"; later "oidc:<issuer>"
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end; idle expiry comes earlier if unused
	// MFAPending: the password was right but the second factor is still
	// due; the session authenticates nothing until [Service.CompleteMFA].
	MFAPending bool
}

// Client describes where a sign-in or request comes from, for sessions and the
// audit log.
type Client struct {
	IP        string
	UserAgent string
}

// Principal is the signed-in person acting in a request, with the grants in
// force when the session was loaded. A nil *Principal is the anonymous caller;
// its methods are safe to call.
type Principal struct {
	PersonID           string
	Username           string
	FullName           string
	Kind               PersonKind
	SessionID          string
	Method             string
	MustChangePassword bool
	Grants             []Grant // active grants only
	// MFAPending is set only on the principal returned by
	// [Service.Authenticate] when a second factor is due: the caller must
	// send the person to the code page, not treat them as signed in.
	MFAPending bool
}

// Authenticated reports whether p is a signed-in person.
func (p *Principal) Authenticated() bool { return p != nil && p.PersonID != "" }

// HasRole reports whether p holds role for unitID (see [Grant.Covers]).
func (p *Principal) HasRole(role Role, unitID string) bool {
	if !p.Authenticated() {
		return false
	}
	for _, g := range p.Grants {
		if g.Role == role && g.Active() && g.Covers(unitID) {
			return true
		}
	}
	return false
}

// Roles returns the distinct roles p holds in any scope.
func (p *Principal) Roles() []Role {
	if !p.Authenticated() {
		return nil
	}
	var out []Role
	seen := map[Role]bool{}
	for _, g := range p.Grants {
		if g.Active() && !seen[g.Role] {
			seen[g.Role] = true
			out = append(out, g.Role)
		}
	}
	return out
}

// actorID is the ID recorded as the author of a change: the person, or
// [ActorSystem] for a nil principal.
func (p *Principal) actorID() string {
	if !p.Authenticated() {
		return ActorSystem
	}
	return p.PersonID
}

// FieldError says what is wrong with one input field. Code names the rule;
// the text is the message "identity.field.<Code>" filled from Args.
type FieldError struct {
	Field string
	Code  string
	Args  []any // placeholder names and values, e.g. "min", 10
}

// Message returns the explanation in lang.
func (f FieldError) Message(lang i18n.Lang) string {
	return i18n.T(lang, "identity.field."+f.Code, f.Args...)
}

// ValidationError lists every problem found in an input. It matches
// [ErrInvalid] under errors.Is.
type ValidationError []FieldError

func (v ValidationError) Error() string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = f.Field + ": " + f.Message(i18n.Vietnamese)
	}
	return "identity: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) hold.
func (v ValidationError) Is(target error) bool { return target == ErrInvalid }

// orNil returns v as an error, or nil when it is empty.
func (v ValidationError) orNil() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

// NewPerson is the input to [Service.CreatePerson].
type NewPerson struct {
	Kind       PersonKind
	Username   string
	FullName   string
	Email      string
	Phone      string
	PersonalID string
	// Password is optional: an account without one cannot sign in with a
	// password until an administrator sets one (or, later, signs in through
	// an external identity provider).
	Password string
	// PasswordHash, instead of Password, is an Argon2id hash made by
	// [HashPassword]: for creating many accounts with one initial password
	// (the demo) or importing accounts, without hashing again per account.
	PasswordHash string
	// MustChangePassword asks the person to choose a new password after the
	// first sign-in (usual when an administrator chose it).
	MustChangePassword bool
}

// Limits on input sizes.
const (
	maxUsernameLen = 64
	minUsernameLen = 3
	maxNameLen     = 200
	maxEmailLen    = 254
	maxTitleLen    = 200
	maxUnitIDLen   = 100
)

// NormalizeUsername trims and lower-cases a username. Usernames are compared
// and stored in this form, so "NguyenVanA" and "nguyenvana" are one account.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// normalize cleans the input fields in place and returns what is wrong.
func (n *NewPerson) normalize() ValidationError {
	var errs ValidationError
	n.Username = NormalizeUsername(n.Username)
	n.FullName = strings.TrimSpace(n.FullName)
	n.Email = strings.TrimSpace(n.Email)
	n.Phone = normalizePhone(n.Phone)
	n.PersonalID = strings.TrimSpace(n.PersonalID)
	if !n.Kind.Valid() {
		errs = append(errs, FieldError{Field: "kind", Code: "invalid_kind"})
	}
	if f, ok := checkUsername(n.Username); !ok {
		errs = append(errs, f)
	}
	errs = append(errs, checkName("full_name", n.FullName, maxNameLen)...)
	if n.Email != "" {
		if len(n.Email) > maxEmailLen {
			errs = append(errs, FieldError{Field: "email", Code: "too_long", Args: []any{"max", maxEmailLen}})
		} else if a, err := mail.ParseAddress(n.Email); err != nil || a.Address != n.Email || a.Name != "" {
			errs = append(errs, FieldError{Field: "email", Code: "invalid_email"})
		}
	}
	if n.Phone != "" && !validPhone(n.Phone) {
		errs = append(errs, FieldError{Field: "phone", Code: "invalid_phone"})
	}
	if n.PersonalID != "" && !validPersonalID(n.PersonalID) {
		errs = append(errs, FieldError{Field: "personal_id", Code: "invalid_personal_id"})
	}
	return errs
}

// checkUsername accepts 3 to 64 characters of a-z, 0-9 and ". _ - @",
// starting with a letter or digit: ASCII only, so that no two usernames look
// alike on screen.
func checkUsername(u string) (FieldError, bool) {
	if u == "" {
		return FieldError{Field: "username", Code: "required"}, false
	}
	if len(u) < minUsernameLen || len(u) > maxUsernameLen {
		return FieldError{Field: "username", Code: "username_length", Args: []any{"min", minUsernameLen, "max", maxUsernameLen}}, false
	}
	for i, c := range []byte(u) {
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-' && c != '@') {
			return FieldError{Field: "username", Code: "invalid_username"}, false
		}
	}
	return FieldError{}, true
}

// checkName requires a non-empty text of at most max characters without
// control characters. Anything else (quotes, angle brackets) is kept as typed:
// output is escaped where it is shown.
func checkName(field, s string, max int) ValidationError {
	switch {
	case s == "":
		return ValidationError{{Field: field, Code: "required"}}
	case !utf8.ValidString(s):
		return ValidationError{{Field: field, Code: "invalid_text"}}
	case utf8.RuneCountInString(s) > max:
		return ValidationError{{Field: field, Code: "too_long", Args: []any{"max", max}}}
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return ValidationError{{Field: field, Code: "invalid_text"}}
		}
	}
	return nil
}

// normalizePhone removes spaces, dots and dashes people type in numbers.
func normalizePhone(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '.' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// validPhone accepts a Vietnamese number: 0 or +84 followed by 9 or 10 digits.
func validPhone(s string) bool {
	rest, ok := strings.CutPrefix(s, "+84")
	if !ok {
		rest, ok = strings.CutPrefix(s, "0")
	}
	return ok && (len(rest) == 9 || len(rest) == 10) && allDigits(rest)
}

// validPersonalID accepts the 12-digit personal ID number.
func validPersonalID(s string) bool { return len(s) == 12 && allDigits(s) }

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// checkUnitID accepts an opaque catalog ID: printable, at most 100 bytes.
func checkUnitID(field, id string) ValidationError {
	if len(id) > maxUnitIDLen {
		return ValidationError{{Field: field, Code: "too_long", Args: []any{"max", maxUnitIDLen}}}
	}
	for _, r := range id {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ValidationError{{Field: field, Code: "invalid_unit"}}
		}
	}
	return nil
}

// NewPosition is the input to [Service.AddPosition].
type NewPosition struct {
	Title     string
	UnitID    string
	AgencyID  string
	StartedAt time.Time // zero means now
}

func (n *NewPosition) normalize() ValidationError {
	n.Title = strings.TrimSpace(n.Title)
	n.UnitID = strings.TrimSpace(n.UnitID)
	n.AgencyID = strings.TrimSpace(n.AgencyID)
	errs := checkName("title", n.Title, maxTitleLen)
	if n.UnitID == "" {
		errs = append(errs, FieldError{Field: "unit_id", Code: "required"})
	} else {
		errs = append(errs, checkUnitID("unit_id", n.UnitID)...)
	}
	errs = append(errs, checkUnitID("agency_id", n.AgencyID)...)
	return errs
}

// checkGrant validates a role and its scope.
func checkGrant(role Role, unitID string) ValidationError {
	if !role.Valid() {
		return ValidationError{{Field: "role", Code: "invalid_role"}}
	}
	if role == RoleSysadmin && unitID != ProvinceWide {
		return ValidationError{{Field: "unit_id", Code: "province_only_role", Args: []any{"role", i18n.Key("identity.role." + string(role))}}}
	}
	return checkUnitID("unit_id", unitID)
}

// String gives a short description of the grant for logs.
func (g Grant) String() string {
	scope := g.UnitID
	if scope == ProvinceWide {
		scope = "province"
	}
	return fmt.Sprintf("%s@%s", g.Role, scope)
}
