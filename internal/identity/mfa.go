package identity

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
)

// Sign-in methods recorded in sessions: username and password, and the
// same followed by a TOTP or recovery code. Federated sign-ins record
// "oidc:<issuer>".
const (
	MethodPassword     = "password"
	MethodPasswordTOTP = "password+totp"
)

// TopicLogin is the outbox topic of completed sign-ins (Config.LoginEvents),
// for the notification module to tell the person ("a new sign-in to your
// account"). Payload: [LoginEvent].
const TopicLogin = "identity.login"

// LoginEvent is the payload of [TopicLogin].
type LoginEvent struct {
	PersonID  string    `json:"person_id"`
	SessionID string    `json:"session_id"`
	Method    string    `json:"method"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	At        time.Time `json:"at"`
}

// The audit actions of the second factor.
const (
	AuditMFAEnabled   = "identity.mfa.enabled"
	AuditMFADisabled  = "identity.mfa.disabled"
	AuditMFASucceeded = "identity.login.mfa_succeeded"
	AuditMFARecovery  = "identity.mfa.recovery_code_used"
	AuditSettings     = "identity.settings.changed"
)

// ActionSecurityManage allows changing the security settings (which roles
// must use a second factor).
var ActionSecurityManage = DefineAction("security.manage")

// mfaPendingLifetime bounds the time between password and code.
const mfaPendingLifetime = 10 * time.Minute

// RecoveryCodes is how many single-use recovery codes an enrolment gives.
const RecoveryCodes = 10

// totpOpts are the TOTP parameters every authenticator application accepts.
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

const settingMFARoles = "mfa_required_roles"

// MFARequiredRoles returns the roles whose holders must use a second factor.
func (s *Service) MFARequiredRoles(ctx context.Context) ([]Role, error) {
	return mfaRoles(ctx, s.db.Read())
}

func mfaRoles(ctx context.Context, q db.Querier) ([]Role, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM identity_settings WHERE key = $1`, settingMFARoles).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mfa roles: %w", err)
	}
	var roles []Role
	if err := json.Unmarshal([]byte(v), &roles); err != nil {
		return nil, fmt.Errorf("mfa roles: %w", err)
	}
	return roles, nil
}

// SetMFARequiredRoles chooses the roles whose holders must use a second
// factor (security.manage). It applies from their next sign-in.
func (s *Service) SetMFARequiredRoles(ctx context.Context, by *Principal, roles []Role) error {
	if err := Require(ctx, by, ActionSecurityManage, ProvinceWide); by != nil && err != nil {
		return err
	}
	for _, r := range roles {
		if !r.Valid() {
			return fmt.Errorf("set MFA roles: %w", ValidationError{{Field: "roles", Code: "invalid_role"}})
		}
	}
	b, _ := json.Marshal(roles)
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		old, err := mfaRoles(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO identity_settings (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (key) DO UPDATE SET value = $2, updated_by = $3, updated_at = $4`,
			settingMFARoles, string(b), by.actorID(), s.now()); err != nil {
			return fmt.Errorf("set MFA roles: %w", err)
		}
		return s.audit(ctx, tx, AuditSettings, by.actorID(), "", map[string]any{
			"setting": settingMFARoles, "from": old, "to": roles})
	})
}

// mfaDue reports whether a password sign-in of personID needs a second
// factor: the person enrolled one, or holds a role that requires it.
func (s *Service) mfaDue(ctx context.Context, tx *db.Tx, personID string) (bool, error) {
	var enabled sql.NullTime
	err := tx.QueryRowContext(ctx, `SELECT enabled_at FROM identity_mfa WHERE person_id = $1`, personID).Scan(&enabled)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("mfa status: %w", err)
	}
	if enabled.Valid {
		return true, nil
	}
	roles, err := mfaRoles(ctx, tx)
	if err != nil || len(roles) == 0 {
		return false, err
	}
	gs, err := activeGrants(ctx, tx, personID)
	if err != nil {
		return false, err
	}
	for _, g := range gs {
		if slices.Contains(roles, g.Role) {
			return true, nil
		}
	}
	return false, nil
}

// publishLogin announces a completed sign-in when Config.LoginEvents.
func (s *Service) publishLogin(ctx context.Context, tx *db.Tx, personID string, sess Session) error {
	if !s.cfg.LoginEvents {
		return nil
	}
	return outbox.Publish(ctx, tx, outbox.Event{Topic: TopicLogin, Key: personID, At: s.now(), Payload: LoginEvent{
		PersonID: personID, SessionID: sess.ID, Method: sess.Method, IP: sess.IP, UserAgent: sess.UserAgent, At: s.now()}})
}

// --- secrets at rest ---

func (s *Service) sealSecret(secret string) (string, error) {
	if len(s.cfg.SecretKey) == 0 {
		return "plain:" + secret, nil
	}
	aead, err := s.aead()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return "v1:" + base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(secret), []byte("totp"))), nil
}

func (s *Service) openSecret(stored string) (string, error) {
	if v, ok := strings.CutPrefix(stored, "plain:"); ok {
		return v, nil
	}
	v, ok := strings.CutPrefix(stored, "v1:")
	if !ok {
		return "", errors.New("identity: unknown TOTP secret format")
	}
	b, err := base64.RawStdEncoding.DecodeString(v)
	if err != nil {
		return "", err
	}
	aead, err := s.aead()
	if err != nil {
		return "", err
	}
	ns := aead.NonceSize()
	if len(b) < ns {
		return "", errors.New("identity: truncated TOTP secret")
	}
	out, err := aead.Open(nil, b[:ns], b[ns:], []byte("totp"))
	if err != nil {
		return "", fmt.Errorf("identity: cannot decrypt TOTP secret: %w", err)
	}
	return string(out), nil
}

func (s *Service) aead() (cipher.AEAD, error) {
	if len(s.cfg.SecretKey) < 32 {
		return nil, errors.New("identity: SecretKey must hold at least 32 bytes")
	}
	sum := sha256.Sum256(append([]byte("congso identity secrets\x00"), s.cfg.SecretKey...))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// --- enrolment ---

// MFAEnrolment is a TOTP secret waiting for its first code.
type MFAEnrolment struct {
	Secret string // base32, for typing into an application
	URL    string // otpauth:// URI, for the QR code
}

// MFAEnrolled reports whether the person has an active second factor.
func (s *Service) MFAEnrolled(ctx context.Context, personID string) (bool, error) {
	var enabled sql.NullTime
	err := s.db.Read().QueryRowContext(ctx, `SELECT enabled_at FROM identity_mfa WHERE person_id = $1`, personID).Scan(&enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mfa status: %w", err)
	}
	return enabled.Valid, nil
}

// BeginMFAEnrolment returns the person's pending TOTP secret, creating one
// if needed. Refused (ErrInvalid) when a second factor is already active.
func (s *Service) BeginMFAEnrolment(ctx context.Context, personID string) (MFAEnrolment, error) {
	var out MFAEnrolment
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		p, err := getPerson(ctx, tx, personID)
		if err != nil {
			return err
		}
		var stored string
		var enabled sql.NullTime
		err = tx.QueryRowContext(ctx, `SELECT secret, enabled_at FROM identity_mfa WHERE person_id = $1`, personID).Scan(&stored, &enabled)
		switch {
		case err == nil && enabled.Valid:
			return ValidationError{{Field: "code", Code: "mfa_already_enabled"}}
		case err == nil:
			secret, err := s.openSecret(stored)
			if err != nil {
				return err
			}
			out = enrolmentOf(s.cfg.TOTPIssuer, p.Username, secret)
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: s.cfg.TOTPIssuer, AccountName: p.Username})
		if err != nil {
			return err
		}
		sealed, err := s.sealSecret(key.Secret())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO identity_mfa (person_id, secret, created_at) VALUES ($1, $2, $3)`,
			personID, sealed, s.now()); err != nil {
			return err
		}
		out = enrolmentOf(s.cfg.TOTPIssuer, p.Username, key.Secret())
		return nil
	})
	if err != nil {
		return MFAEnrolment{}, fmt.Errorf("begin MFA enrolment: %w", err)
	}
	return out, nil
}

func enrolmentOf(issuer, account, secret string) MFAEnrolment {
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account,
		RawQuery: url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}.Encode()}
	return MFAEnrolment{Secret: secret, URL: u.String()}
}

// checkTOTP finds the time step code belongs to (now ± one step) that is
// after lastStep, or 0.
func checkTOTP(secret, code string, now time.Time, lastStep int64) int64 {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0
	}
	step := now.Unix() / 30
	for _, st := range []int64{step, step - 1, step + 1} {
		if st <= lastStep {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(st*30, 0), totpOpts)
		if err == nil && subtleEqual(want, code) {
			return st
		}
	}
	return 0
}

func subtleEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// newRecoveryCodes returns codes like "7KQ2M-XD4PA" and their hashes.
func newRecoveryCodes() (codes, hashes []string, err error) {
	for range RecoveryCodes {
		var b [7]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, nil, err
		}
		c := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])[:10]
		c = c[:5] + "-" + c[5:]
		codes = append(codes, c)
		hashes = append(hashes, hashRecovery(c))
	}
	return codes, hashes, nil
}

// hashRecovery hashes a recovery code (50 random bits, single use, behind
// the account lockout: a fast hash suffices).
func hashRecovery(code string) string {
	c := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	sum := sha256.Sum256([]byte("congso recovery\x00" + c))
	return hex.EncodeToString(sum[:])
}

// confirmEnrolment activates the pending secret if code matches, and
// returns fresh recovery codes.
func (s *Service) confirmEnrolment(ctx context.Context, tx *db.Tx, personID, code string, now time.Time) ([]string, error) {
	var stored string
	var enabled sql.NullTime
	err := tx.QueryRowContext(ctx, `SELECT secret, enabled_at FROM identity_mfa WHERE person_id = $1`, personID).Scan(&stored, &enabled)
	if errors.Is(err, sql.ErrNoRows) || err == nil && enabled.Valid {
		return nil, ErrInvalidMFACode
	}
	if err != nil {
		return nil, err
	}
	secret, err := s.openSecret(stored)
	if err != nil {
		return nil, err
	}
	step := checkTOTP(secret, code, now, 0)
	if step == 0 {
		return nil, ErrInvalidMFACode
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE identity_mfa SET enabled_at = $2, last_step = $3 WHERE person_id = $1`, personID, now, step); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM identity_mfa_recovery WHERE person_id = $1`, personID); err != nil {
		return nil, err
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO identity_mfa_recovery (person_id, code_hash) VALUES ($1, $2)`, personID, h); err != nil {
			return nil, err
		}
	}
	if err := s.audit(ctx, tx, AuditMFAEnabled, personID, personID, nil); err != nil {
		return nil, err
	}
	return codes, nil
}

// ConfirmMFAEnrolment activates the signed-in person's pending TOTP secret
// with a first code and returns the recovery codes, shown once.
func (s *Service) ConfirmMFAEnrolment(ctx context.Context, p *Principal, code string) ([]string, error) {
	if !p.Authenticated() {
		return nil, ErrUnauthenticated
	}
	var codes []string
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		var err error
		codes, err = s.confirmEnrolment(ctx, tx, p.PersonID, code, s.now())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("confirm MFA enrolment: %w", err)
	}
	return codes, nil
}

// DisableMFA removes a person's second factor and recovery codes: the
// person themselves, or an administrator (user.manage) when the device is
// lost. If a role requires MFA, the next sign-in enrols again.
func (s *Service) DisableMFA(ctx context.Context, by *Principal, personID string) error {
	if !by.Authenticated() || by.PersonID != personID {
		if err := Require(ctx, by, ActionUserManage, ProvinceWide); by != nil && err != nil {
			return err
		}
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_mfa_recovery WHERE person_id = $1`, personID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_mfa WHERE person_id = $1`, personID); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditMFADisabled, by.actorID(), personID, nil)
	})
}

// PendingMFA returns the person of a session waiting for its second factor,
// and whether they still have to enrol. ErrNoSession if token is not such a
// session.
func (s *Service) PendingMFA(ctx context.Context, token string) (Person, bool, error) {
	if !wellFormedToken(token) {
		return Person{}, false, ErrNoSession
	}
	sess, _, err := sessionByTokenHash(ctx, s.db.Read(), hashToken(token))
	if err != nil {
		return Person{}, false, err
	}
	if !sess.MFAPending || s.now().Sub(sess.CreatedAt) >= mfaPendingLifetime {
		return Person{}, false, ErrNoSession
	}
	p, err := getPerson(ctx, s.db.Read(), sess.PersonID)
	if err != nil {
		return Person{}, false, err
	}
	enrolled, err := s.MFAEnrolled(ctx, p.ID)
	return p, !enrolled, err
}

// CompleteMFA finishes a sign-in whose session waits for the second
// factor: code is a current TOTP code (each used once), or a recovery code
// (each used once), or, when the person is enrolling, the first code of the
// new secret, in which case the recovery codes are returned to be shown
// once. A wrong code counts as a failed sign-in (lockout); a lockout ends the
// pending session.
func (s *Service) CompleteMFA(ctx context.Context, token, code string) (*Principal, []string, error) {
	person, enrolling, err := s.PendingMFA(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	var recovery []string
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		now := s.now()
		var how string
		if enrolling {
			recovery, err = s.confirmEnrolment(ctx, tx, person.ID, code, now)
			if err != nil {
				return err
			}
			how = "totp_enrolment"
		} else {
			how, err = s.checkSecondFactor(ctx, tx, person.ID, code, now)
			if err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE identity_sessions SET mfa_pending = FALSE, last_seen_at = $2, method = '`+MethodPasswordTOTP+`'
			WHERE token_hash = $1 AND mfa_pending AND revoked_at IS NULL`, hashToken(token), now)
		if err := oneRow(res, err, "session"); err != nil {
			return ErrNoSession
		}
		sess, _, err := sessionByTokenHash(ctx, tx, hashToken(token))
		if err != nil {
			return err
		}
		if err := s.publishLogin(ctx, tx, person.ID, sess); err != nil {
			return err
		}
		return s.audit(ctx, tx, AuditMFASucceeded, person.ID, person.ID, map[string]any{"session_id": sess.ID, "factor": how})
	})
	if errors.Is(err, ErrInvalidMFACode) {
		c, cerr := credentialsBy(ctx, s.db.Read(), "id", person.ID)
		if cerr != nil {
			return nil, nil, cerr
		}
		ferr := s.failure(ctx, c, "wrong_mfa_code")
		var locked *LockedError
		if errors.As(ferr, &locked) {
			_ = s.Logout(ctx, token)
			return nil, nil, ferr
		}
		return nil, nil, ErrInvalidMFACode
	}
	if err != nil {
		return nil, nil, fmt.Errorf("complete MFA: %w", err)
	}
	pr, err := s.SessionPrincipal(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	return pr, recovery, nil
}

// checkSecondFactor accepts a TOTP code not used before or an unused
// recovery code, consuming it.
func (s *Service) checkSecondFactor(ctx context.Context, tx *db.Tx, personID, code string, now time.Time) (string, error) {
	var stored string
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT secret, last_step FROM identity_mfa WHERE person_id = $1 AND enabled_at IS NOT NULL`,
		personID).Scan(&stored, &last); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", ErrInvalidMFACode
		}
		return "", err
	}
	secret, err := s.openSecret(stored)
	if err != nil {
		return "", err
	}
	if step := checkTOTP(secret, code, now, last); step != 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE identity_mfa SET last_step = $2 WHERE person_id = $1`, personID, step); err != nil {
			return "", err
		}
		return "totp", nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE identity_mfa_recovery SET used_at = $3 WHERE person_id = $1 AND code_hash = $2 AND used_at IS NULL`,
		personID, hashRecovery(code), now)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return "recovery_code", s.audit(ctx, tx, AuditMFARecovery, personID, personID, nil)
	}
	return "", ErrInvalidMFACode
}
