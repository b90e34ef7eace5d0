package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/search"
)

// Migrations returns the schema of module "identity", to be passed to
// db.Migrate with the other modules' migrations.
//
// Indexes and the queries they serve (store_test.go checks the plans of the
// per-request ones on both engines):
//   - identity_sessions_token (unique): every request's session lookup by token hash.
//   - identity_people_username (unique): sign-in by username (stored lower-case).
//   - identity_grants_active (unique, partial on unrevoked): the signed-in
//     person's grants on every request, and no duplicate active grant.
//   - identity_grants_scope: who holds a role at a unit (Grantees, list filters).
//   - identity_sessions_person, identity_positions_*: per-person lists.
//   - identity_people_fts (SQLite FTS5) / search_tsv (PostgreSQL GIN): people search.
func Migrations() []db.Migration {
	return []db.Migration{{
		Module: "identity", Version: 1, Name: "people, positions, grants, sessions",
		Up: schemaV1,
		Func: func(ctx context.Context, tx *db.Tx) error {
			if _, err := tx.ExecContext(ctx, search.IndexSQL(tx.Dialect, "identity_people")); err != nil {
				return fmt.Errorf("people search index: %w", err)
			}
			return nil
		},
	}, {
		Module: "identity", Version: 2, Name: "MFA (TOTP, recovery codes), security settings",
		Up: schemaV2,
	}}
}

// schemaV2 adds TOTP second factors. A session opened by a password when
// the person must pass MFA is mfa_pending until the code is given; such a
// session authenticates nothing.
const schemaV2 = `
ALTER TABLE identity_sessions ADD COLUMN mfa_pending {{bool}} NOT NULL DEFAULT FALSE;
CREATE TABLE identity_mfa (
	person_id TEXT PRIMARY KEY REFERENCES identity_people (id),
	secret TEXT NOT NULL,
	enabled_at {{time}},
	last_step BIGINT NOT NULL DEFAULT 0,
	created_at {{time}} NOT NULL
);
CREATE TABLE identity_mfa_recovery (
	person_id TEXT NOT NULL REFERENCES identity_people (id),
	code_hash TEXT NOT NULL,
	used_at {{time}},
	PRIMARY KEY (person_id, code_hash)
);
CREATE TABLE identity_settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	updated_by TEXT NOT NULL DEFAULT '',
	updated_at {{time}} NOT NULL
);
`

const schemaV1 = `
CREATE TABLE identity_people (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	username TEXT NOT NULL,
	full_name TEXT NOT NULL,
	email TEXT NOT NULL DEFAULT '',
	phone TEXT NOT NULL DEFAULT '',
	personal_id TEXT,
	status TEXT NOT NULL,
	password_hash TEXT NOT NULL DEFAULT '',
	password_changed_at {{time}},
	must_change_password {{bool}} NOT NULL DEFAULT FALSE,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	first_failed_at {{time}},
	locked_until {{time}},
	last_login_at {{time}},
	created_at {{time}} NOT NULL,
	updated_at {{time}} NOT NULL,
	search_text TEXT NOT NULL
);
CREATE UNIQUE INDEX identity_people_username ON identity_people (username);
CREATE UNIQUE INDEX identity_people_personal_id ON identity_people (personal_id);

CREATE TABLE identity_positions (
	id TEXT PRIMARY KEY,
	person_id TEXT NOT NULL REFERENCES identity_people (id),
	title TEXT NOT NULL,
	unit_id TEXT NOT NULL,
	agency_id TEXT NOT NULL DEFAULT '',
	started_at {{time}} NOT NULL,
	ended_at {{time}},
	created_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX identity_positions_person ON identity_positions (person_id, started_at);
CREATE INDEX identity_positions_unit ON identity_positions (unit_id) WHERE ended_at IS NULL;

CREATE TABLE identity_grants (
	id TEXT PRIMARY KEY,
	person_id TEXT NOT NULL REFERENCES identity_people (id),
	role TEXT NOT NULL,
	unit_id TEXT NOT NULL DEFAULT '',
	granted_by TEXT NOT NULL DEFAULT '',
	granted_at {{time}} NOT NULL,
	revoked_by TEXT NOT NULL DEFAULT '',
	revoked_at {{time}}
);
CREATE UNIQUE INDEX identity_grants_active ON identity_grants (person_id, role, unit_id) WHERE revoked_at IS NULL;
CREATE INDEX identity_grants_scope ON identity_grants (unit_id, role) WHERE revoked_at IS NULL;
CREATE INDEX identity_grants_person ON identity_grants (person_id, granted_at);

CREATE TABLE identity_sessions (
	id TEXT PRIMARY KEY,
	person_id TEXT NOT NULL REFERENCES identity_people (id),
	token_hash TEXT NOT NULL,
	method TEXT NOT NULL,
	ip TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	created_at {{time}} NOT NULL,
	last_seen_at {{time}} NOT NULL,
	expires_at {{time}} NOT NULL,
	revoked_at {{time}},
	revoke_reason TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX identity_sessions_token ON identity_sessions (token_hash);
CREATE INDEX identity_sessions_person ON identity_sessions (person_id) WHERE revoked_at IS NULL;
CREATE INDEX identity_sessions_expires ON identity_sessions (expires_at);
`

// personCols are the columns scanned by scanPerson, from identity_people p.
const personCols = `p.id, p.kind, p.username, p.full_name, p.email, p.phone, p.personal_id, p.status,
	p.locked_until, p.password_hash <> '', p.must_change_password, p.last_login_at, p.created_at, p.updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanPerson(row scanner, extra ...any) (Person, error) {
	var p Person
	var personalID sql.NullString
	var lockedUntil, lastLogin sql.NullTime
	dest := append([]any{&p.ID, &p.Kind, &p.Username, &p.FullName, &p.Email, &p.Phone, &personalID, &p.Status,
		&lockedUntil, &p.HasPassword, &p.MustChangePassword, &lastLogin, &p.CreatedAt, &p.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Person{}, err
	}
	p.PersonalID = personalID.String
	p.LockedUntil = timePtr(lockedUntil)
	p.LastLoginAt = timePtr(lastLogin)
	p.CreatedAt = p.CreatedAt.UTC()
	p.UpdatedAt = p.UpdatedAt.UTC()
	return p, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullTime(t *time.Time) sql.NullTime {
	if t == nil {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: t.UTC(), Valid: true}
}

// notFound turns sql.ErrNoRows into ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// personSearchText is the folded words of the person's name, username, email
// and phone. Splitting into words here (rather than storing search.Text) keeps
// "cuc@example.vn" findable as "cuc example" on PostgreSQL too, whose parser
// would otherwise index the whole address as one token.
func personSearchText(p Person) string {
	return strings.Join(search.Terms(strings.Join([]string{p.FullName, p.Username, p.Email, p.Phone}, " ")), " ")
}

func insertPerson(ctx context.Context, tx *db.Tx, p Person, hash string, pwAt *time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identity_people (id, kind, username, full_name, email, phone, personal_id,
		status, password_hash, password_changed_at, must_change_password, created_at, updated_at, search_text)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		p.ID, p.Kind, p.Username, p.FullName, p.Email, p.Phone, nullString(p.PersonalID), p.Status, hash, nullTime(pwAt),
		p.MustChangePassword, p.CreatedAt, p.UpdatedAt, personSearchText(p))
	if db.IsUniqueViolation(err) {
		if p.PersonalID != "" && strings.Contains(err.Error(), "personal_id") {
			return ErrPersonalIDTaken
		}
		return ErrUsernameTaken
	}
	return err
}

func getPerson(ctx context.Context, q db.Querier, id string) (Person, error) {
	p, err := scanPerson(q.QueryRowContext(ctx, `SELECT `+personCols+` FROM identity_people p WHERE p.id = $1`, id))
	if err != nil {
		return Person{}, notFound(err, "person "+id)
	}
	return p, nil
}

// credentials is what sign-in needs beyond the person.
type credentials struct {
	Person
	hash          string
	failed        int
	firstFailedAt *time.Time
}

func credentialsBy(ctx context.Context, q db.Querier, column, value string) (credentials, error) {
	var c credentials
	var first sql.NullTime
	p, err := scanPerson(q.QueryRowContext(ctx, `SELECT `+personCols+`, p.password_hash, p.failed_logins, p.first_failed_at
		FROM identity_people p WHERE p.`+column+` = $1`, value), &c.hash, &c.failed, &first)
	if err != nil {
		return c, notFound(err, "person")
	}
	c.Person, c.firstFailedAt = p, timePtr(first)
	return c, nil
}

// recordFailure counts a failed sign-in in the current window (a new window
// starts when the previous one began before windowStart) and returns the
// count. The UPDATE locks the row, so concurrent failures all count.
func recordFailure(ctx context.Context, tx *db.Tx, id string, now, windowStart time.Time) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `UPDATE identity_people SET
			failed_logins = CASE WHEN first_failed_at IS NULL OR first_failed_at < $2 THEN 1 ELSE failed_logins + 1 END,
			first_failed_at = CASE WHEN first_failed_at IS NULL OR first_failed_at < $2 THEN $3 ELSE first_failed_at END
		WHERE id = $1 RETURNING failed_logins`, id, windowStart, now).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("record failed sign-in: %w", err)
	}
	return n, nil
}

// lockOut locks an active account until until, unless it is already locked
// or disabled; it reports whether it did.
func lockOut(ctx context.Context, tx *db.Tx, id string, until, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE identity_people SET status = 'locked', locked_until = $2, updated_at = $3
		WHERE id = $1 AND (status = 'active' OR status = 'locked' AND locked_until IS NOT NULL AND locked_until <= $3)`, id, until, now)
	if err != nil {
		return false, fmt.Errorf("lock account: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// recordSuccess clears the failure count and an expired lockout, sets the
// last sign-in time and, when newHash is not empty, replaces the password
// hash. It does nothing (and reports false) if the account is, by now,
// disabled or under a lockout still in force.
func recordSuccess(ctx context.Context, tx *db.Tx, id string, now time.Time, newHash string) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE identity_people SET
			failed_logins = 0, first_failed_at = NULL, status = 'active', locked_until = NULL, last_login_at = $2,
			password_hash = CASE WHEN $3 = '' THEN password_hash ELSE $3 END
		WHERE id = $1 AND (status = 'active' OR status = 'locked' AND locked_until IS NOT NULL AND locked_until <= $2)`,
		id, now, newHash)
	if err != nil {
		return false, fmt.Errorf("record sign-in: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func setPassword(ctx context.Context, tx *db.Tx, id, hash string, mustChange bool, now time.Time) error {
	// A lockout after failures ends (status back to active); a lock set by an
	// administrator (no end time) and a disabled account stay as they are.
	res, err := tx.ExecContext(ctx, `UPDATE identity_people SET password_hash = $2, password_changed_at = $3,
		must_change_password = $4, failed_logins = 0, first_failed_at = NULL, updated_at = $3,
		status = CASE WHEN locked_until IS NULL THEN status ELSE 'active' END, locked_until = NULL
		WHERE id = $1`, id, hash, now, mustChange)
	return oneRow(res, err, "person "+id)
}

func setStatus(ctx context.Context, tx *db.Tx, id string, st Status, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE identity_people SET status = $2, locked_until = NULL, failed_logins = 0,
		first_failed_at = NULL, updated_at = $3 WHERE id = $1`, id, st, now)
	return oneRow(res, err, "person "+id)
}

func oneRow(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("update %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// --- sessions ---

func insertSession(ctx context.Context, tx *db.Tx, s Session, tokenHash string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identity_sessions (id, person_id, token_hash, method, ip, user_agent,
		created_at, last_seen_at, expires_at, mfa_pending) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.ID, s.PersonID, tokenHash, s.Method, s.IP, s.UserAgent, s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.MFAPending)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

const sessionCols = `s.id, s.person_id, s.method, s.ip, s.user_agent, s.created_at, s.last_seen_at, s.expires_at, s.mfa_pending`

func scanSession(row scanner, extra ...any) (Session, error) {
	var s Session
	if err := row.Scan(append([]any{&s.ID, &s.PersonID, &s.Method, &s.IP, &s.UserAgent, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.MFAPending}, extra...)...); err != nil {
		return s, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()
	return s, nil
}

// sessionByTokenHash returns the unrevoked session and its person.
func sessionByTokenHash(ctx context.Context, q db.Querier, hash string) (Session, Person, error) {
	var p Person
	s, err := scanSession(q.QueryRowContext(ctx, `SELECT `+sessionCols+`, p.username, p.full_name, p.kind, p.status, p.must_change_password
		FROM identity_sessions s JOIN identity_people p ON p.id = s.person_id
		WHERE s.token_hash = $1 AND s.revoked_at IS NULL`, hash), &p.Username, &p.FullName, &p.Kind, &p.Status, &p.MustChangePassword)
	if errors.Is(err, sql.ErrNoRows) {
		return s, p, ErrNoSession
	}
	if err != nil {
		return s, p, fmt.Errorf("load session: %w", err)
	}
	p.ID = s.PersonID
	return s, p, nil
}

// touchSession moves last_seen_at forward unless another request did within
// the last minute (the condition keeps writes to one a minute per session).
func touchSession(ctx context.Context, q db.Querier, id string, now time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE identity_sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $3`,
		id, now, now.Add(-time.Minute))
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// revokeSessions revokes the person's sessions still in force (not expired,
// not idle since idleSince) except keep (may be "") and returns how many.
// Expired sessions cannot come back, so they are left alone.
func revokeSessions(ctx context.Context, tx *db.Tx, personID, keep, reason string, now, idleSince time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE identity_sessions SET revoked_at = $2, revoke_reason = $3
		WHERE person_id = $1 AND revoked_at IS NULL AND id <> $4 AND expires_at > $2 AND last_seen_at > $5`,
		personID, now, reason, keep, idleSince)
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	return res.RowsAffected()
}

func revokeSessionWhere(ctx context.Context, tx *db.Tx, cond string, arg any, reason string, now time.Time) (string, error) {
	var personID string
	err := tx.QueryRowContext(ctx, `UPDATE identity_sessions SET revoked_at = $2, revoke_reason = $3
		WHERE `+cond+` = $1 AND revoked_at IS NULL RETURNING person_id`, arg, now, reason).Scan(&personID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNoSession
	}
	if err != nil {
		return "", fmt.Errorf("revoke session: %w", err)
	}
	return personID, nil
}

func activeSessions(ctx context.Context, q db.Querier, personID string, now, idleSince time.Time) ([]Session, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+sessionCols+` FROM identity_sessions s
		WHERE s.person_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND s.last_seen_at > $3
		ORDER BY s.last_seen_at DESC, s.id`, personID, now, idleSince)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// --- grants ---

const grantCols = `g.id, g.person_id, g.role, g.unit_id, g.granted_by, g.granted_at, g.revoked_by, g.revoked_at`

func scanGrant(row scanner) (Grant, error) {
	var g Grant
	var revokedAt sql.NullTime
	if err := row.Scan(&g.ID, &g.PersonID, &g.Role, &g.UnitID, &g.GrantedBy, &g.GrantedAt, &g.RevokedBy, &revokedAt); err != nil {
		return g, err
	}
	g.GrantedAt = g.GrantedAt.UTC()
	g.RevokedAt = timePtr(revokedAt)
	return g, nil
}

func queryGrants(ctx context.Context, q db.Querier, query string, args ...any) ([]Grant, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, fmt.Errorf("list grants: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func activeGrants(ctx context.Context, q db.Querier, personID string) ([]Grant, error) {
	return queryGrants(ctx, q, `SELECT `+grantCols+` FROM identity_grants g
		WHERE g.person_id = $1 AND g.revoked_at IS NULL ORDER BY g.granted_at, g.id`, personID)
}

func allGrants(ctx context.Context, q db.Querier, personID string) ([]Grant, error) {
	return queryGrants(ctx, q, `SELECT `+grantCols+` FROM identity_grants g
		WHERE g.person_id = $1 ORDER BY g.granted_at, g.id`, personID)
}

func insertGrant(ctx context.Context, tx *db.Tx, g Grant) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identity_grants (id, person_id, role, unit_id, granted_by, granted_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, g.ID, g.PersonID, g.Role, g.UnitID, g.GrantedBy, g.GrantedAt)
	if db.IsUniqueViolation(err) {
		return ErrGrantExists
	}
	if err != nil {
		return fmt.Errorf("insert grant: %w", err)
	}
	return nil
}

func getGrant(ctx context.Context, q db.Querier, personID, grantID string) (Grant, error) {
	g, err := scanGrant(q.QueryRowContext(ctx, `SELECT `+grantCols+` FROM identity_grants g WHERE g.id = $1 AND g.person_id = $2`,
		grantID, personID))
	if err != nil {
		return g, notFound(err, "grant "+grantID)
	}
	return g, nil
}

func revokeGrant(ctx context.Context, tx *db.Tx, id, by string, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE identity_grants SET revoked_at = $2, revoked_by = $3
		WHERE id = $1 AND revoked_at IS NULL`, id, now, by)
	if err != nil {
		return false, fmt.Errorf("revoke grant: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// otherActiveSysadmins counts active province-wide sysadmin grants of active
// people other than personID (and other than grant exceptGrant).
func otherActiveSysadmins(ctx context.Context, q db.Querier, personID, exceptGrant string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM identity_grants g JOIN identity_people p ON p.id = g.person_id
		WHERE g.role = 'sysadmin' AND g.unit_id = '' AND g.revoked_at IS NULL AND p.status <> 'disabled'
		AND g.id <> $1 AND (g.person_id <> $2 OR $2 = '')`, exceptGrant, personID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count sysadmins: %w", err)
	}
	return n, nil
}

// grantees returns the people with an active grant of role that covers unitID
// (a grant for that unit or a province-wide one), active accounts only.
func grantees(ctx context.Context, q db.Querier, role Role, unitID string) ([]Person, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+personCols+` FROM identity_people p
		WHERE p.status <> 'disabled' AND EXISTS (SELECT 1 FROM identity_grants g
			WHERE g.person_id = p.id AND g.role = $1 AND g.revoked_at IS NULL AND (g.unit_id = $2 OR g.unit_id = ''))
		ORDER BY p.full_name, p.id`, role, unitID)
	if err != nil {
		return nil, fmt.Errorf("list grantees: %w", err)
	}
	return collectPeople(rows)
}

func collectPeople(rows *sql.Rows) ([]Person, error) {
	defer rows.Close()
	var out []Person
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, fmt.Errorf("list people: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// --- positions ---

const positionCols = `x.id, x.person_id, x.title, x.unit_id, x.agency_id, x.started_at, x.ended_at`

func scanPosition(row scanner) (Position, error) {
	var x Position
	var ended sql.NullTime
	if err := row.Scan(&x.ID, &x.PersonID, &x.Title, &x.UnitID, &x.AgencyID, &x.StartedAt, &ended); err != nil {
		return x, err
	}
	x.StartedAt = x.StartedAt.UTC()
	x.EndedAt = timePtr(ended)
	return x, nil
}

func insertPosition(ctx context.Context, tx *db.Tx, x Position, by string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identity_positions (id, person_id, title, unit_id, agency_id, started_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, x.ID, x.PersonID, x.Title, x.UnitID, x.AgencyID, x.StartedAt, by)
	if err != nil {
		return fmt.Errorf("insert position: %w", err)
	}
	return nil
}

func positionsOf(ctx context.Context, q db.Querier, personID string) ([]Position, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+positionCols+` FROM identity_positions x
		WHERE x.person_id = $1 ORDER BY x.started_at, x.id`, personID)
	if err != nil {
		return nil, fmt.Errorf("list positions: %w", err)
	}
	defer rows.Close()
	var out []Position
	for rows.Next() {
		x, err := scanPosition(rows)
		if err != nil {
			return nil, fmt.Errorf("list positions: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func getPosition(ctx context.Context, q db.Querier, personID, id string) (Position, error) {
	x, err := scanPosition(q.QueryRowContext(ctx, `SELECT `+positionCols+` FROM identity_positions x
		WHERE x.id = $1 AND x.person_id = $2`, id, personID))
	if err != nil {
		return x, notFound(err, "position "+id)
	}
	return x, nil
}

func endPosition(ctx context.Context, tx *db.Tx, id string, at time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE identity_positions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL`, id, at)
	if err != nil {
		return false, fmt.Errorf("end position: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func hasActivePositionAt(ctx context.Context, q db.Querier, personID, unitID string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM identity_positions
		WHERE person_id = $1 AND unit_id = $2 AND ended_at IS NULL`, personID, unitID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check positions: %w", err)
	}
	return n > 0, nil
}

// --- people lists ---

// maxCount bounds the rows counted for a list's total.
const maxCount = 10000

func listPeople(ctx context.Context, d *db.DB, f PeopleFilter) (PeoplePage, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Kind != "" {
		where = append(where, "p.kind = "+arg(f.Kind))
	}
	if f.Status != "" {
		where = append(where, "p.status = "+arg(f.Status))
	}
	if f.UnitID != "" {
		u := arg(f.UnitID)
		where = append(where, `(EXISTS (SELECT 1 FROM identity_positions x WHERE x.person_id = p.id AND x.unit_id = `+u+` AND x.ended_at IS NULL)
			OR EXISTS (SELECT 1 FROM identity_grants g WHERE g.person_id = p.id AND g.unit_id = `+u+` AND g.revoked_at IS NULL))`)
	}
	if f.Role != "" {
		where = append(where, `EXISTS (SELECT 1 FROM identity_grants g WHERE g.person_id = p.id AND g.role = `+arg(f.Role)+` AND g.revoked_at IS NULL)`)
	}
	join := ""
	if m, ok := search.Match(d.Dialect(), "identity_people", "p", f.Text, len(args)+1); ok {
		args = append(args, m.Args...)
		join = m.Join
		where = append(where, m.Where)
	}
	cond := func(extra ...string) string {
		all := append(slices.Clone(where), extra...)
		if len(all) == 0 {
			return ""
		}
		return " WHERE " + strings.Join(all, " AND ")
	}
	page := PeoplePage{Total: -1}
	// Counting stops at maxCount rows, so the total stays cheap on a table of
	// millions of applicants.
	countArgs := slices.Clone(args)
	err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM identity_people p `+join+cond()+
		fmt.Sprintf(` LIMIT %d) c`, maxCount+1), countArgs...).Scan(&page.Total)
	if err != nil {
		return page, fmt.Errorf("count people: %w", err)
	}
	if page.Total > maxCount {
		page.Total = -1
	}
	var after []string
	if f.After != "" {
		after = append(after, "p.username > "+arg(f.After))
	}
	// Usernames are unique, so they are the keyset: pages stay stable while
	// people are added, and a deep page costs what the first does.
	rows, err := d.Read().QueryContext(ctx, `SELECT `+personCols+` FROM identity_people p `+join+cond(after...)+
		` ORDER BY p.username LIMIT `+arg(f.Limit+1), args...)
	if err != nil {
		return page, fmt.Errorf("list people: %w", err)
	}
	people, err := collectPeople(rows)
	if err != nil {
		return page, err
	}
	if len(people) > f.Limit {
		people, page.More = people[:f.Limit], true
	}
	page.People = people
	return page, nil
}
