package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/congso/congso/internal/platform/db"
)

// LockoutPolicy decides when repeated failed sign-ins lock an account.
type LockoutPolicy struct {
	MaxFailures int           // failures within Window that lock the account; default 5
	Window      time.Duration // default 15 minutes
	Duration    time.Duration // how long the lockout lasts; default 15 minutes
}

// SessionPolicy bounds how long a session lives.
type SessionPolicy struct {
	IdleTimeout time.Duration // ends a session unused this long; default 30 minutes
	Lifetime    time.Duration // ends every session this long after sign-in; default 12 hours
}

// Config tunes a Service. Zero fields take the defaults.
type Config struct {
	// Audit receives an entry for every sign-in (success or failure), logout,
	// account change, password change and grant; default [PlatformAudit].
	Audit Auditor
	// Now is the clock; default time.Now.
	Now func() time.Time
	// PasswordParams are the Argon2id costs of new hashes; default
	// [DefaultPasswordParams].
	PasswordParams PasswordParams
	// PasswordPolicy is what new passwords must satisfy; default
	// [DefaultPasswordPolicy].
	PasswordPolicy PasswordPolicy
	Lockout        LockoutPolicy
	Sessions       SessionPolicy
	// CheckUnit, when set, is asked whether a unit (or agency) ID named in a
	// grant or position exists; the application points it at the catalog. It
	// returns an error wrapping ErrNotFound for an unknown ID.
	CheckUnit func(ctx context.Context, unitID string) error
	// SecretKey encrypts TOTP secrets at rest (AES-256-GCM under a key
	// derived from it): at least 32 bytes, the same on every node. Without
	// it, secrets are stored in clear (development only).
	SecretKey []byte
	// TOTPIssuer names the site in authenticator applications; default
	// "Congso".
	TOTPIssuer string
	// LoginEvents publishes an outbox event [TopicLogin] for every completed
	// sign-in (the schema then needs outbox.Migrations).
	LoginEvents bool
}

// Service is the identity module's API: accounts, passwords, sign-in,
// sessions, positions and grants. It is safe for concurrent use.
type Service struct {
	db  *db.DB
	cfg Config
	// dummy is verified against when the username is unknown, so timing
	// does not tell; made on first use (hashing takes the memory the
	// parameters ask, 19 MiB by default: nodes that never sign anyone in,
	// such as a gateway-only node, need not spend it at start).
	dummy     sync.Once
	dummyHash string
}

// dummyPassword returns the hash verified against when there is no
// account or no password.
func (s *Service) dummyPassword() string {
	s.dummy.Do(func() {
		h, err := HashPassword("congso: no such account", s.cfg.PasswordParams)
		if err != nil { // the parameters were checked by NewService
			panic(fmt.Sprintf("identity: dummy password hash: %v", err))
		}
		s.dummyHash = h
	})
	return s.dummyHash
}

// NewService returns a Service over d, whose schema must include
// [Migrations].
func NewService(d *db.DB, cfg Config) (*Service, error) {
	if d == nil {
		return nil, errors.New("identity: NewService: nil database")
	}
	if cfg.Audit == nil {
		cfg.Audit = PlatformAudit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PasswordParams == (PasswordParams{}) {
		cfg.PasswordParams = DefaultPasswordParams
	}
	cfg.PasswordPolicy = cfg.PasswordPolicy.withDefaults()
	if cfg.Lockout.MaxFailures <= 0 {
		cfg.Lockout.MaxFailures = 5
	}
	if cfg.Lockout.Window <= 0 {
		cfg.Lockout.Window = 15 * time.Minute
	}
	if cfg.Lockout.Duration <= 0 {
		cfg.Lockout.Duration = 15 * time.Minute
	}
	if cfg.Sessions.IdleTimeout <= 0 {
		cfg.Sessions.IdleTimeout = 30 * time.Minute
	}
	if cfg.Sessions.Lifetime <= 0 {
		cfg.Sessions.Lifetime = 12 * time.Hour
	}
	if cfg.TOTPIssuer == "" {
		cfg.TOTPIssuer = "Congso"
	}
	if !cfg.PasswordParams.valid() {
		return nil, fmt.Errorf("identity: NewService: invalid password parameters %+v", cfg.PasswordParams)
	}
	return &Service{db: d, cfg: cfg}, nil
}

// Config returns the configuration in effect, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// now is the clock in UTC at the precision both engines keep.
func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// clientKey carries the Client of a request in a context.
type clientKey struct{}

// WithClient returns ctx carrying c, so that audit entries written by service
// calls made with it record the client's address. The HTTP middleware does it.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the Client put in ctx by [WithClient], or the zero Client.
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// event builds an audit entry for the request in ctx.
func (s *Service) event(ctx context.Context, action, actor, subject string, details map[string]any) AuditEvent {
	return AuditEvent{Action: action, ActorID: actor, Subject: subject, IP: ClientFrom(ctx).IP, At: s.now(), Details: details}
}

// audit appends one entry. The platform log locks its chain head until the
// transaction ends, so this is the last write of every transaction.
func (s *Service) audit(ctx context.Context, tx *db.Tx, action, actor, subject string, details map[string]any) error {
	return s.appendEvents(ctx, tx, s.event(ctx, action, actor, subject, details))
}

func (s *Service) appendEvents(ctx context.Context, tx *db.Tx, events ...AuditEvent) error {
	for _, e := range events {
		if err := s.cfg.Audit.Append(ctx, tx, e); err != nil {
			return fmt.Errorf("audit %s: %w", e.Action, err)
		}
	}
	return nil
}

// --- accounts ---

// CreatePerson creates an account, by the person by (nil for the system: the
// CLI or the demo loader). The username is stored in lower case. Errors:
// [ValidationError] (ErrInvalid), ErrUsernameTaken, ErrPersonalIDTaken.
func (s *Service) CreatePerson(ctx context.Context, by *Principal, in NewPerson) (Person, error) {
	errs := in.normalize()
	if in.Password != "" {
		errs = append(errs, s.cfg.PasswordPolicy.Check(in.Password, in.Username, in.FullName, in.Email)...)
	}
	if err := errs.orNil(); err != nil {
		return Person{}, fmt.Errorf("create person: %w", err)
	}
	if in.PasswordHash != "" {
		if in.Password != "" {
			return Person{}, errors.New("create person: give Password or PasswordHash, not both")
		}
		if _, _, _, err := parseHash(in.PasswordHash); err != nil {
			return Person{}, fmt.Errorf("create person: password hash: %w", err)
		}
	}
	now := s.now()
	hasPassword := in.Password != "" || in.PasswordHash != ""
	p := Person{ID: newID(), Kind: in.Kind, Username: in.Username, FullName: in.FullName, Email: in.Email, Phone: in.Phone,
		PersonalID: in.PersonalID, Status: StatusActive, MustChangePassword: in.MustChangePassword && hasPassword,
		HasPassword: hasPassword, CreatedAt: now, UpdatedAt: now}
	hash := in.PasswordHash
	var pwAt *time.Time
	if hash != "" {
		pwAt = &now
	}
	if in.Password != "" {
		h, err := HashPassword(in.Password, s.cfg.PasswordParams)
		if err != nil {
			return Person{}, fmt.Errorf("create person: %w", err)
		}
		hash, pwAt = h, &now
	}
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		if err := insertPerson(ctx, tx, p, hash, pwAt); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditPersonCreated, by.actorID(), p.ID, map[string]any{
			"username": p.Username, "kind": string(p.Kind), "has_password": p.HasPassword})
	})
	if err != nil {
		return Person{}, fmt.Errorf("create person %s: %w", p.Username, err)
	}
	return p, nil
}

// GetPerson returns a person with all positions and grants, including ended
// and revoked ones.
func (s *Service) GetPerson(ctx context.Context, id string) (Person, error) {
	q := s.db.Read()
	p, err := getPerson(ctx, q, id)
	if err != nil {
		return Person{}, err
	}
	if p.Positions, err = positionsOf(ctx, q, id); err != nil {
		return Person{}, err
	}
	if p.Grants, err = allGrants(ctx, q, id); err != nil {
		return Person{}, err
	}
	return p, nil
}

// PersonByUsername returns the person with that username (any case), without
// positions and grants.
func (s *Service) PersonByUsername(ctx context.Context, username string) (Person, error) {
	c, err := credentialsBy(ctx, s.db.Read(), "username", NormalizeUsername(username))
	return c.Person, err
}

// PersonByPersonalID returns the person with that 12-digit personal ID number:
// the link from a national e-ID sign-in to the account.
func (s *Service) PersonByPersonalID(ctx context.Context, personalID string) (Person, error) {
	if !validPersonalID(personalID) {
		return Person{}, fmt.Errorf("person by personal ID: %w", ErrNotFound)
	}
	c, err := credentialsBy(ctx, s.db.Read(), "personal_id", personalID)
	return c.Person, err
}

// PeopleFilter selects people for [Service.ListPeople]. Empty fields do not
// filter.
type PeopleFilter struct {
	Text   string // words matched without diacritics against name, username, email, phone
	Kind   PersonKind
	Status Status // the stored status
	UnitID string // people with an active position or grant at this unit
	Role   Role   // people with an active grant of this role (any scope)
	After  string // the username of the last person of the previous page
	Limit  int    // default 50, at most 500
}

// PeoplePage is one page of [Service.ListPeople].
type PeoplePage struct {
	People []Person // ordered by username
	// More says another page follows: ask for it with After set to the
	// username of the last person here.
	More bool
	// Total is how many people match in all, or -1 when more than 10,000
	// (not counted).
	Total int
}

// ListPeople returns a page of the people matching f, ordered by username.
func (s *Service) ListPeople(ctx context.Context, f PeopleFilter) (PeoplePage, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	f.After = NormalizeUsername(f.After)
	return listPeople(ctx, s.db, f)
}

// Grantees returns the active or locked people holding role for unitID (by a
// grant for that unit or a province-wide one), e.g. the handlers a division
// head may assign.
func (s *Service) Grantees(ctx context.Context, role Role, unitID string) ([]Person, error) {
	return grantees(ctx, s.db.Read(), role, unitID)
}

// SetStatus activates, locks or disables an account. Locking or disabling
// ends its sessions; activating also clears a lockout. It refuses to lock or
// disable the last active system administrator (ErrLastSysadmin).
func (s *Service) SetStatus(ctx context.Context, by *Principal, personID string, st Status) error {
	if !st.Valid() {
		return fmt.Errorf("set status: %w", ValidationError{{Field: "status", Code: "invalid_status"}})
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		p, err := getPerson(ctx, tx, personID)
		if err != nil {
			return err
		}
		if st != StatusActive {
			if err := s.checkNotLastSysadmin(ctx, tx, personID, ""); err != nil {
				return err
			}
		}
		if err := setStatus(ctx, tx, personID, st, s.now()); err != nil {
			return err
		}
		var ended int64
		if st != StatusActive {
			if ended, err = s.revokeSessions(ctx, tx, personID, "", "status_"+string(st)); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, AuditStatusChanged, by.actorID(), personID, map[string]any{
			"from": string(p.Status), "to": string(st), "sessions_revoked": ended})
	})
}

// checkNotLastSysadmin fails with ErrLastSysadmin when personID holds an
// active province-wide sysadmin grant (or exceptGrant is one) and no other
// active person does.
func (s *Service) checkNotLastSysadmin(ctx context.Context, tx *db.Tx, personID, exceptGrant string) error {
	if exceptGrant == "" {
		gs, err := activeGrants(ctx, tx, personID)
		if err != nil {
			return err
		}
		isAdmin := false
		for _, g := range gs {
			isAdmin = isAdmin || g.Role == RoleSysadmin && g.UnitID == ProvinceWide
		}
		if !isAdmin {
			return nil
		}
	}
	n, err := otherActiveSysadmins(ctx, tx, personID, exceptGrant)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrLastSysadmin
	}
	return nil
}

// --- passwords ---

// SetPassword sets a person's password on an administrator's authority (or
// the system's, by nil), checks it against the policy, ends all the person's
// sessions and clears failed sign-ins and a lockout. With mustChange the
// person has to choose a new one after signing in.
func (s *Service) SetPassword(ctx context.Context, by *Principal, personID, password string, mustChange bool) error {
	p, err := getPerson(ctx, s.db.Read(), personID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if err := s.cfg.PasswordPolicy.Check(password, p.Username, p.FullName, p.Email).orNil(); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	hash, err := HashPassword(password, s.cfg.PasswordParams)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		now := s.now()
		if err := setPassword(ctx, tx, personID, hash, mustChange, now); err != nil {
			return err
		}
		n, err := s.revokeSessions(ctx, tx, personID, "", "password_reset")
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditPasswordReset, by.actorID(), personID, map[string]any{
			"must_change": mustChange, "sessions_revoked": n})
	})
}

// ResetPassword is SetPassword with mustChange: an administrator gives a
// temporary password that the person must replace.
func (s *Service) ResetPassword(ctx context.Context, by *Principal, personID, password string) error {
	return s.SetPassword(ctx, by, personID, password, true)
}

// ChangePassword lets the signed-in person p replace their password, proving
// the old one. A wrong old password counts as a failed sign-in. Other sessions
// of the person end; the current one stays.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, oldPassword, newPassword string) error {
	if !p.Authenticated() {
		return fmt.Errorf("change password: %w", ErrUnauthenticated)
	}
	c, err := credentialsBy(ctx, s.db.Read(), "id", p.PersonID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	ok, _, err := s.verify(oldPassword, c.hash)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !ok {
		err := s.failure(ctx, c, "wrong_old_password")
		return fmt.Errorf("change password: %w", err)
	}
	errs := s.cfg.PasswordPolicy.Check(newPassword, c.Username, c.FullName, c.Email)
	if errs == nil && normalizePassword(newPassword) == normalizePassword(oldPassword) {
		errs = ValidationError{{Field: "new_password", Code: "password_unchanged"}}
	}
	for i := range errs {
		errs[i].Field = "new_password"
	}
	if err := errs.orNil(); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	hash, err := HashPassword(newPassword, s.cfg.PasswordParams)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		now := s.now()
		if err := setPassword(ctx, tx, p.PersonID, hash, false, now); err != nil {
			return err
		}
		n, err := s.revokeSessions(ctx, tx, p.PersonID, p.SessionID, "password_changed")
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditPasswordChanged, p.PersonID, p.PersonID, map[string]any{"sessions_revoked": n})
	})
}

// verify checks password against hash; with no hash (no password set) it
// spends the same time and fails.
func (s *Service) verify(password, hash string) (ok bool, params PasswordParams, err error) {
	if hash == "" {
		VerifyPassword(password, s.dummyPassword())
		return false, params, nil
	}
	ok, params, err = VerifyPassword(password, hash)
	if err != nil {
		return false, params, fmt.Errorf("verify password: %w", err)
	}
	return ok, params, nil
}

// --- sign-in and sessions ---

// Authenticate signs a person in with username and password and opens a
// session. It returns the principal and the session token for the cookie; the
// token is not stored anywhere and cannot be recovered.
//
// Errors: ErrInvalidCredentials (unknown username or wrong password, not told
// apart), a *LockedError (ErrAccountLocked), ErrAccountDisabled (only when the
// password is right, so the state of an account is not told to strangers).
// Every attempt is audited. After Lockout.MaxFailures failures within
// Lockout.Window the account is locked for Lockout.Duration; a success resets
// the count. Throttling per address is left to the HTTP rate limiter.
func (s *Service) Authenticate(ctx context.Context, username, password string, client Client) (*Principal, string, error) {
	ctx = WithClient(ctx, client)
	uname := NormalizeUsername(username)
	c, err := credentialsBy(ctx, s.db.Read(), "username", uname)
	if errors.Is(err, ErrNotFound) {
		VerifyPassword(password, s.dummyPassword())
		err := s.db.Tx(ctx, func(tx *db.Tx) error {
			return s.audit(ctx, tx, AuditLoginFailed, ActorAnonymous, "", map[string]any{
				"username": truncate(uname, maxUsernameLen), "reason": "unknown_username"})
		})
		if err != nil {
			return nil, "", fmt.Errorf("authenticate: %w", err)
		}
		return nil, "", ErrInvalidCredentials
	}
	if err != nil {
		return nil, "", fmt.Errorf("authenticate: %w", err)
	}
	ok, params, err := s.verify(password, c.hash)
	if err != nil {
		return nil, "", fmt.Errorf("authenticate %s: %w", uname, err)
	}
	now := s.now()
	switch c.StatusAt(now) {
	case StatusDisabled:
		if err := s.auditFailure(ctx, c, "disabled"); err != nil {
			return nil, "", err
		}
		if ok {
			return nil, "", ErrAccountDisabled
		}
		return nil, "", ErrInvalidCredentials
	case StatusLocked:
		if err := s.auditFailure(ctx, c, "locked"); err != nil {
			return nil, "", err
		}
		return nil, "", lockedError(c.LockedUntil)
	}
	if !ok {
		return nil, "", s.failure(ctx, c, "wrong_password")
	}
	var newHash string
	if params != s.cfg.PasswordParams {
		// The costs were raised (or lowered) since this hash was made.
		if newHash, err = HashPassword(password, s.cfg.PasswordParams); err != nil {
			return nil, "", fmt.Errorf("authenticate %s: %w", uname, err)
		}
	}
	var p *Principal
	var token string
	var refused error
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		refused = nil
		updated, err := recordSuccess(ctx, tx, c.ID, now, newHash)
		if err != nil {
			return err
		}
		if !updated {
			// Locked or disabled by a concurrent request since we read it.
			cur, err := getPerson(ctx, tx, c.ID)
			if err != nil {
				return err
			}
			refused = lockedError(cur.LockedUntil)
			if cur.Status == StatusDisabled {
				refused = ErrAccountDisabled
			}
			return s.audit(ctx, tx, AuditLoginFailed, ActorAnonymous, c.ID, map[string]any{"username": c.Username, "reason": string(cur.Status)})
		}
		p, token, err = s.openSession(ctx, tx, c.Person, MethodPassword, client, now)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("authenticate %s: %w", uname, err)
	}
	if refused != nil {
		return nil, "", refused
	}
	return p, token, nil
}

func lockedError(until *time.Time) error {
	if until == nil {
		return &LockedError{}
	}
	return &LockedError{Until: *until}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

func (s *Service) auditFailure(ctx context.Context, c credentials, reason string) error {
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		return s.audit(ctx, tx, AuditLoginFailed, ActorAnonymous, c.ID, map[string]any{"username": c.Username, "reason": reason})
	})
	if err != nil {
		return fmt.Errorf("authenticate %s: %w", c.Username, err)
	}
	return nil
}

// failure counts a wrong password, locks the account when the count reaches
// the limit, audits, and returns the error for the caller.
func (s *Service) failure(ctx context.Context, c credentials, reason string) error {
	var locked *time.Time
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		locked = nil
		now := s.now()
		n, err := recordFailure(ctx, tx, c.ID, now, now.Add(-s.cfg.Lockout.Window))
		if err != nil {
			return err
		}
		events := []AuditEvent{s.event(ctx, AuditLoginFailed, ActorAnonymous, c.ID, map[string]any{
			"username": c.Username, "reason": reason, "failures": n})}
		if n >= s.cfg.Lockout.MaxFailures {
			until := now.Add(s.cfg.Lockout.Duration)
			did, err := lockOut(ctx, tx, c.ID, until, now)
			if err != nil {
				return err
			}
			if did {
				locked = &until
				events = append(events, s.event(ctx, AuditAccountLocked, ActorSystem, c.ID, map[string]any{
					"failures": n, "until": until.Format(time.RFC3339)}))
			}
		}
		return s.appendEvents(ctx, tx, events...)
	})
	if err != nil {
		return fmt.Errorf("record failed sign-in of %s: %w", c.Username, err)
	}
	if locked != nil {
		return &LockedError{Until: *locked}
	}
	return ErrInvalidCredentials
}

// StartSession opens a session for a person whose identity was proven some
// other way (later: an OpenID Connect provider such as VNeID), recording
// method ("oidc:<issuer>") in the session and the audit log. The account must
// be usable (active, or with an expired lockout).
func (s *Service) StartSession(ctx context.Context, personID, method string, client Client) (*Principal, string, error) {
	ctx = WithClient(ctx, client)
	var p *Principal
	var token string
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		now := s.now()
		person, err := getPerson(ctx, tx, personID)
		if err != nil {
			return err
		}
		switch person.StatusAt(now) {
		case StatusDisabled:
			return ErrAccountDisabled
		case StatusLocked:
			return lockedError(person.LockedUntil)
		}
		p, token, err = s.openSession(ctx, tx, person, method, client, now)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("start session: %w", err)
	}
	return p, token, nil
}

// openSession creates the session row, loads the grants and audits the
// sign-in.
func (s *Service) openSession(ctx context.Context, tx *db.Tx, person Person, method string, client Client, now time.Time) (*Principal, string, error) {
	token, hash, err := newToken()
	if err != nil {
		return nil, "", err
	}
	sess := Session{ID: newID(), PersonID: person.ID, Method: method, IP: truncate(client.IP, 64),
		UserAgent: truncate(client.UserAgent, 300), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.Sessions.Lifetime)}
	if method == MethodPassword {
		var err error
		if sess.MFAPending, err = s.mfaDue(ctx, tx, person.ID); err != nil {
			return nil, "", err
		}
	}
	if err := insertSession(ctx, tx, sess, hash); err != nil {
		return nil, "", err
	}
	if !sess.MFAPending {
		if err := s.publishLogin(ctx, tx, person.ID, sess); err != nil {
			return nil, "", err
		}
	}
	grants, err := activeGrants(ctx, tx, person.ID)
	if err != nil {
		return nil, "", err
	}
	details := map[string]any{"username": person.Username, "method": method, "session_id": sess.ID}
	if sess.MFAPending {
		details["mfa_pending"] = true
	}
	if err := s.audit(ctx, tx, AuditLoginSucceeded, person.ID, person.ID, details); err != nil {
		return nil, "", err
	}
	return &Principal{PersonID: person.ID, Username: person.Username, FullName: person.FullName, Kind: person.Kind,
		SessionID: sess.ID, Method: method, MustChangePassword: person.MustChangePassword, Grants: grants,
		MFAPending: sess.MFAPending}, token, nil
}

// tokenLen is the length of a session token: 32 random bytes in unpadded
// base64url.
const tokenLen = 43

func newToken() (token, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("session token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token), nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func wellFormedToken(t string) bool {
	if len(t) != tokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil
}

// SessionPrincipal returns the principal of the session whose token is given,
// or ErrNoSession if the token is unknown, revoked, idle for longer than
// Sessions.IdleTimeout, older than Sessions.Lifetime, or its person is
// disabled. It records activity at most once a minute per session.
func (s *Service) SessionPrincipal(ctx context.Context, token string) (*Principal, error) {
	if !wellFormedToken(token) {
		return nil, ErrNoSession
	}
	sess, person, err := sessionByTokenHash(ctx, s.db.Read(), hashToken(token))
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.cfg.Sessions.IdleTimeout || person.Status == StatusDisabled {
		return nil, ErrNoSession
	}
	if sess.MFAPending {
		if now.Sub(sess.CreatedAt) >= mfaPendingLifetime {
			return nil, ErrNoSession
		}
		return nil, ErrMFAPending
	}
	if now.Sub(sess.LastSeenAt) >= time.Minute {
		if err := touchSession(ctx, s.db.Write(), sess.ID, now); err != nil {
			return nil, err
		}
	}
	grants, err := activeGrants(ctx, s.db.Read(), person.ID)
	if err != nil {
		return nil, err
	}
	return &Principal{PersonID: person.ID, Username: person.Username, FullName: person.FullName, Kind: person.Kind,
		SessionID: sess.ID, Method: sess.Method, MustChangePassword: person.MustChangePassword, Grants: grants}, nil
}

// Logout ends the session of token. An unknown or already ended session is
// not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if !wellFormedToken(token) {
		return nil
	}
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		personID, err := revokeSessionWhere(ctx, tx, "token_hash", hashToken(token), "logout", s.now())
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditLogout, personID, personID, nil)
	})
	if errors.Is(err, ErrNoSession) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// ListSessions returns the person's sessions still in force, most recently
// used first.
func (s *Service) ListSessions(ctx context.Context, personID string) ([]Session, error) {
	now := s.now()
	return activeSessions(ctx, s.db.Read(), personID, now, now.Add(-s.cfg.Sessions.IdleTimeout))
}

// RevokeSession ends one session of the person. ErrNotFound if the person has
// no such open session.
func (s *Service) RevokeSession(ctx context.Context, by *Principal, personID, sessionID string) error {
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		owner, err := revokeSessionWhere(ctx, tx, "id", sessionID, "revoked", s.now())
		if err != nil {
			return err
		}
		if owner != personID {
			return ErrNoSession // rolls back: not this person's session
		}
		return s.audit(ctx, tx, AuditSessionRevoked, by.actorID(), personID, map[string]any{"session_id": sessionID})
	})
	if errors.Is(err, ErrNoSession) {
		return fmt.Errorf("revoke session %s: %w", sessionID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("revoke session %s: %w", sessionID, err)
	}
	return nil
}

// RevokeAllSessions ends every session of the person and returns how many
// were open.
func (s *Service) RevokeAllSessions(ctx context.Context, by *Principal, personID string) (int, error) {
	var n int64
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := getPerson(ctx, tx, personID); err != nil {
			return err
		}
		var err error
		if n, err = s.revokeSessions(ctx, tx, personID, "", "revoked_all"); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditSessionsRevoked, by.actorID(), personID, map[string]any{"sessions_revoked": n})
	})
	if err != nil {
		return 0, fmt.Errorf("revoke sessions of %s: %w", personID, err)
	}
	return int(n), nil
}

// DeleteStaleSessions deletes sessions that ended (expired, idle or revoked)
// more than keep ago, and returns how many. A periodic job calls it.
func (s *Service) DeleteStaleSessions(ctx context.Context, keep time.Duration) (int64, error) {
	cutoff := s.now().Add(-keep)
	res, err := s.db.Write().ExecContext(ctx, `DELETE FROM identity_sessions
		WHERE expires_at < $1 OR revoked_at < $1 OR last_seen_at < $2`, cutoff, cutoff.Add(-s.cfg.Sessions.IdleTimeout))
	if err != nil {
		return 0, fmt.Errorf("delete stale sessions: %w", err)
	}
	return res.RowsAffected()
}

// revokeSessions ends the person's sessions in force, except keep.
func (s *Service) revokeSessions(ctx context.Context, tx *db.Tx, personID, keep, reason string) (int64, error) {
	now := s.now()
	return revokeSessions(ctx, tx, personID, keep, reason, now, now.Add(-s.cfg.Sessions.IdleTimeout))
}

// --- grants and positions ---

// Grant gives the person role for unitID ([ProvinceWide] for every unit).
// sysadmin may only be granted province-wide. Errors: [ValidationError],
// ErrNotFound (person, or unit per Config.CheckUnit), ErrGrantExists.
func (s *Service) Grant(ctx context.Context, by *Principal, personID string, role Role, unitID string) (Grant, error) {
	if err := checkGrant(role, unitID).orNil(); err != nil {
		return Grant{}, fmt.Errorf("grant: %w", err)
	}
	if err := s.checkUnit(ctx, "unit_id", unitID); err != nil {
		return Grant{}, fmt.Errorf("grant: %w", err)
	}
	g := Grant{ID: newID(), PersonID: personID, Role: role, UnitID: unitID, GrantedBy: by.actorID(), GrantedAt: s.now()}
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := getPerson(ctx, tx, personID); err != nil {
			return err
		}
		if err := insertGrant(ctx, tx, g); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditGrantAdded, by.actorID(), personID, map[string]any{
			"grant_id": g.ID, "role": string(role), "unit_id": unitID})
	})
	if err != nil {
		return Grant{}, fmt.Errorf("grant %s to %s: %w", g, personID, err)
	}
	return g, nil
}

// checkUnit asks Config.CheckUnit about a non-empty unit ID; an unknown one
// is a validation error on field.
func (s *Service) checkUnit(ctx context.Context, field, unitID string) error {
	if unitID == "" || s.cfg.CheckUnit == nil {
		return nil
	}
	err := s.cfg.CheckUnit(ctx, unitID)
	if errors.Is(err, ErrNotFound) {
		return ValidationError{{Field: field, Code: "unknown_unit"}}
	}
	return err
}

// RevokeGrant revokes one of the person's grants, keeping it as history.
// Revoking a grant already revoked does nothing. It refuses to revoke the last
// active system administrator's grant (ErrLastSysadmin).
func (s *Service) RevokeGrant(ctx context.Context, by *Principal, personID, grantID string) error {
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		g, err := getGrant(ctx, tx, personID, grantID)
		if err != nil || !g.Active() {
			return err
		}
		if g.Role == RoleSysadmin && g.UnitID == ProvinceWide {
			if err := s.checkNotLastSysadmin(ctx, tx, "", g.ID); err != nil {
				return err
			}
		}
		ev, err := s.revokeGrant(ctx, tx, by, g, "")
		if err != nil || ev == nil {
			return err
		}
		return s.appendEvents(ctx, tx, *ev)
	})
	if err != nil {
		return fmt.Errorf("revoke grant %s: %w", grantID, err)
	}
	return nil
}

// revokeGrant revokes g and returns the audit event to append, or nil if it
// was revoked already.
func (s *Service) revokeGrant(ctx context.Context, tx *db.Tx, by *Principal, g Grant, reason string) (*AuditEvent, error) {
	did, err := revokeGrant(ctx, tx, g.ID, by.actorID(), s.now())
	if err != nil || !did {
		return nil, err
	}
	details := map[string]any{"grant_id": g.ID, "role": string(g.Role), "unit_id": g.UnitID}
	if reason != "" {
		details["reason"] = reason
	}
	ev := s.event(ctx, AuditGrantRevoked, by.actorID(), g.PersonID, details)
	return &ev, nil
}

// AddPosition records that the person holds a post in a unit.
func (s *Service) AddPosition(ctx context.Context, by *Principal, personID string, in NewPosition) (Position, error) {
	if err := in.normalize().orNil(); err != nil {
		return Position{}, fmt.Errorf("add position: %w", err)
	}
	if err := s.checkUnit(ctx, "unit_id", in.UnitID); err != nil {
		return Position{}, fmt.Errorf("add position: %w", err)
	}
	if err := s.checkUnit(ctx, "agency_id", in.AgencyID); err != nil {
		return Position{}, fmt.Errorf("add position: %w", err)
	}
	x := Position{ID: newID(), PersonID: personID, Title: in.Title, UnitID: in.UnitID, AgencyID: in.AgencyID, StartedAt: in.StartedAt}
	if x.StartedAt.IsZero() {
		x.StartedAt = s.now()
	}
	x.StartedAt = x.StartedAt.UTC().Truncate(time.Microsecond)
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := getPerson(ctx, tx, personID); err != nil {
			return err
		}
		if err := insertPosition(ctx, tx, x, by.actorID()); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditPositionAdded, by.actorID(), personID, map[string]any{
			"position_id": x.ID, "title": x.Title, "unit_id": x.UnitID, "agency_id": x.AgencyID})
	})
	if err != nil {
		return Position{}, fmt.Errorf("add position for %s: %w", personID, err)
	}
	return x, nil
}

// EndPosition ends one of the person's positions (a transfer or departure).
// When the person keeps no other active position in that unit, their grants
// for that unit are revoked too, each audited; province-wide grants stay.
// Ending a position already ended does nothing.
func (s *Service) EndPosition(ctx context.Context, by *Principal, personID, positionID string) error {
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		x, err := getPosition(ctx, tx, personID, positionID)
		if err != nil || !x.Active() {
			return err
		}
		if _, err := endPosition(ctx, tx, x.ID, s.now()); err != nil {
			return err
		}
		events := []AuditEvent{s.event(ctx, AuditPositionEnded, by.actorID(), personID, map[string]any{
			"position_id": x.ID, "unit_id": x.UnitID})}
		still, err := hasActivePositionAt(ctx, tx, personID, x.UnitID)
		if err != nil {
			return err
		}
		if !still {
			gs, err := activeGrants(ctx, tx, personID)
			if err != nil {
				return err
			}
			for _, g := range gs {
				if g.UnitID != x.UnitID {
					continue
				}
				ev, err := s.revokeGrant(ctx, tx, by, g, "position_ended")
				if err != nil {
					return err
				}
				if ev != nil {
					events = append(events, *ev)
				}
			}
		}
		return s.appendEvents(ctx, tx, events...)
	})
	if err != nil {
		return fmt.Errorf("end position %s: %w", positionID, err)
	}
	return nil
}
