package gateway

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/search"
)

// Migrations returns the gateway's schema (module "gateway"): the registry,
// the quota windows, the message log and pub/sub.
func Migrations() []db.Migration {
	return append([]db.Migration{{Module: "gateway", Version: 1, Name: "registry", Up: `
CREATE TABLE gateway_members (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	agency_eid TEXT NOT NULL DEFAULT '',
	created_at {{time}} NOT NULL
);
CREATE TABLE gateway_subsystems (
	id TEXT PRIMARY KEY,
	member_id TEXT NOT NULL REFERENCES gateway_members(id),
	name TEXT NOT NULL,
	created_at {{time}} NOT NULL
);
CREATE TABLE gateway_certificates (
	fingerprint TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	subject TEXT NOT NULL,
	not_after {{time}} NOT NULL
);
CREATE TABLE gateway_services (
	id TEXT PRIMARY KEY,
	subsystem_id TEXT NOT NULL REFERENCES gateway_subsystems(id),
	kind TEXT NOT NULL,
	title TEXT NOT NULL,
	description TEXT NOT NULL,
	search_text TEXT NOT NULL,
	timeout_ms BIGINT NOT NULL,
	max_body_bytes BIGINT NOT NULL,
	log_bodies {{bool}} NOT NULL,
	redact TEXT NOT NULL,
	fail_policy TEXT NOT NULL,
	updated_at {{time}} NOT NULL
);
CREATE TABLE gateway_versions (
	service_id TEXT NOT NULL REFERENCES gateway_services(id),
	version TEXT NOT NULL,
	status TEXT NOT NULL,
	backend_url TEXT NOT NULL,
	spec TEXT NOT NULL,
	sunset_at {{time}},
	updated_at {{time}} NOT NULL,
	PRIMARY KEY (service_id, version)
);
CREATE TABLE gateway_groups (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL
);
CREATE TABLE gateway_group_members (
	group_code TEXT NOT NULL REFERENCES gateway_groups(code),
	client_id TEXT NOT NULL,
	PRIMARY KEY (group_code, client_id)
);
CREATE TABLE gateway_rights (
	id {{id}},
	client TEXT NOT NULL,
	service_id TEXT NOT NULL REFERENCES gateway_services(id),
	method TEXT NOT NULL,
	path TEXT NOT NULL,
	valid_from {{time}} NOT NULL,
	valid_until {{time}},
	legal_basis TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at {{time}} NOT NULL
);
CREATE INDEX gateway_rights_service ON gateway_rights (service_id);
CREATE TABLE gateway_quotas (
	client TEXT NOT NULL,
	service_id TEXT NOT NULL,
	rate_per_second BIGINT NOT NULL,
	daily BIGINT NOT NULL,
	max_concurrent BIGINT NOT NULL,
	PRIMARY KEY (client, service_id)
);
CREATE TABLE gateway_peers (
	instance TEXT PRIMARY KEY,
	url TEXT NOT NULL,
	updated_at {{time}} NOT NULL
);
-- One row bumped by every registry write; every node polls it (a primary-key
-- read, about once a second) and reloads its snapshot when it moves.
CREATE TABLE gateway_revision (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	revision BIGINT NOT NULL,
	changed_at {{time}} NOT NULL
);
INSERT INTO gateway_revision (id, revision, changed_at) VALUES (1, 0, CURRENT_TIMESTAMP);
-- Quota usage per client × service × window (a second or a day): nodes
-- lease tokens in chunks with a conditional UPDATE, so the sum over nodes
-- never passes the limit.
CREATE TABLE gateway_quota_usage (
	client TEXT NOT NULL,
	service_id TEXT NOT NULL,
	window_kind TEXT NOT NULL,
	window_start BIGINT NOT NULL,
	used BIGINT NOT NULL,
	PRIMARY KEY (client, service_id, window_kind, window_start)
);
`}, {Module: "gateway", Version: 2, Name: "message log", Up: `
CREATE TABLE gateway_msglog (
	node TEXT NOT NULL,
	seq BIGINT NOT NULL,
	at {{time}} NOT NULL,
	done_at {{time}} NOT NULL,
	client TEXT NOT NULL,
	service TEXT NOT NULL,
	message_id TEXT NOT NULL,
	request_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	issue TEXT NOT NULL,
	method TEXT NOT NULL,
	path TEXT NOT NULL,
	status INTEGER NOT NULL,
	error_type TEXT NOT NULL,
	request_bytes BIGINT NOT NULL,
	response_bytes BIGINT NOT NULL,
	request_hash TEXT NOT NULL,
	response_hash TEXT NOT NULL,
	request_body TEXT NOT NULL,
	response_body TEXT NOT NULL,
	duration_us BIGINT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL,
	PRIMARY KEY (node, seq)
);
CREATE INDEX gateway_msglog_issue ON gateway_msglog (issue);
-- Two secondary indexes only: each costs every exchange a B-tree insert.
-- Searches by client or service walk the at index newest first and stop
-- at the page size.
CREATE INDEX gateway_msglog_at ON gateway_msglog (at);
CREATE TABLE gateway_msglog_head (
	node TEXT PRIMARY KEY,
	seq BIGINT NOT NULL,
	hash TEXT NOT NULL,
	signed_seq BIGINT NOT NULL
);
CREATE TABLE gateway_msglog_batches (
	node TEXT NOT NULL,
	first_seq BIGINT NOT NULL,
	last_seq BIGINT NOT NULL,
	root TEXT NOT NULL,
	signed_at {{time}} NOT NULL,
	key_id TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	signature TEXT NOT NULL,
	PRIMARY KEY (node, first_seq)
);
CREATE TABLE gateway_keys (
	key_id TEXT PRIMARY KEY,
	algorithm TEXT NOT NULL,
	public_key TEXT NOT NULL,
	created_at {{time}} NOT NULL
);
`}, {Module: "gateway", Version: 3, Name: "pubsub", Up: `
CREATE TABLE gateway_topics (
	code TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	title TEXT NOT NULL,
	created_at {{time}} NOT NULL
);
CREATE TABLE gateway_subscriptions (
	id {{id}},
	topic TEXT NOT NULL REFERENCES gateway_topics(code),
	subscriber TEXT NOT NULL,
	url TEXT NOT NULL,
	secret TEXT NOT NULL,
	created_at {{time}} NOT NULL,
	UNIQUE (topic, subscriber, url)
);
CREATE TABLE gateway_events (
	id {{id}},
	topic TEXT NOT NULL REFERENCES gateway_topics(code),
	publisher TEXT NOT NULL,
	idempotency_key TEXT NOT NULL,
	content_type TEXT NOT NULL,
	payload {{bytes}} NOT NULL,
	published_at {{time}} NOT NULL,
	UNIQUE (topic, publisher, idempotency_key)
);
CREATE INDEX gateway_events_topic_at ON gateway_events (topic, published_at);
CREATE TABLE gateway_deliveries (
	id {{id}},
	event_id BIGINT NOT NULL REFERENCES gateway_events(id),
	subscription_id BIGINT NOT NULL REFERENCES gateway_subscriptions(id),
	state TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	next_at {{time}} NOT NULL,
	last_error TEXT NOT NULL,
	lease_until {{time}},
	delivered_at {{time}}
);
CREATE INDEX gateway_deliveries_due ON gateway_deliveries (state, next_at);
`}}, append(nodeMigrations(), append(tsaMigrations(), append(pubsubMigrations(), append(journalMigrations(), append(pageMigrations(), append(nodeClashMigration(), append(pubsubRetentionMigration(), append(slotMigrations(), nodeClockMigration()...)...)...)...)...)...)...)...)...)
}

// Store reads and writes the registry in SQL. Every write bumps the
// revision and appends an audit entry in the same transaction.
type Store struct {
	db  *db.DB
	now func() time.Time
}

// NewStore returns a Store on d (whose schema includes [Migrations]); now
// nil means time.Now.
func NewStore(d *db.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: d, now: now}
}

// change runs fn in a transaction that bumps the registry revision and
// ends with an audit entry.
func (s *Store) change(ctx context.Context, actor, action, objType, objID string, detail map[string]any, fn func(tx *db.Tx, now time.Time) error) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE gateway_revision SET revision = revision + 1, changed_at = $1 WHERE id = 1`, now); err != nil {
			return fmt.Errorf("bump revision: %w", err)
		}
		if err := fn(tx, now); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: actor, Action: action, ObjectType: objType, ObjectID: objID, Detail: detail})
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, objID, err)
	}
	return nil
}

// exec runs a write and maps unique and foreign-key violations and "no row"
// to the registry's sentinels.
func exec(ctx context.Context, tx *db.Tx, wantRow bool, q string, args ...any) error {
	res, err := tx.ExecContext(ctx, q, args...)
	switch {
	case db.IsUniqueViolation(err):
		return ErrExists
	case db.IsForeignKeyViolation(err):
		return fmt.Errorf("%w: the referenced member, subsystem, service or group is not registered", ErrNotFound)
	case err != nil:
		return err
	}
	if wantRow {
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
	}
	return nil
}

// Revision returns the registry revision and when it last moved.
func (s *Store) Revision(ctx context.Context) (int64, time.Time, error) {
	var rev int64
	var at time.Time
	err := s.db.Read().QueryRowContext(ctx, `SELECT revision, changed_at FROM gateway_revision WHERE id = 1`).Scan(&rev, &at)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read gateway revision: %w", err)
	}
	return rev, at, nil
}

// Registry is a consistent copy of the whole registry at one revision: what
// each node serves from memory.
type Registry struct {
	Revision     int64
	ChangedAt    time.Time
	Members      []Member
	Subsystems   []Subsystem
	Certificates []Certificate
	Services     []Service
	Groups       []Group
	Rights       []AccessRight
	Quotas       []Quota
	Peers        []Peer
}

// Load reads the whole registry in one read transaction.
func (s *Store) Load(ctx context.Context) (*Registry, error) {
	tx, err := s.db.Read().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("load registry: %w", err)
	}
	defer tx.Rollback()
	r := &Registry{}
	if err := tx.QueryRowContext(ctx, `SELECT revision, changed_at FROM gateway_revision WHERE id = 1`).Scan(&r.Revision, &r.ChangedAt); err != nil {
		return nil, fmt.Errorf("load registry revision: %w", err)
	}
	steps := []struct {
		name string
		q    string
		scan func(rows *sql.Rows) error
	}{
		{"members", `SELECT id, name, agency_eid, created_at FROM gateway_members ORDER BY id`, func(rows *sql.Rows) error {
			var m Member
			var id string
			if err := rows.Scan(&id, &m.Name, &m.AgencyEID, &m.CreatedAt); err != nil {
				return err
			}
			m.ID, _ = ParseClientID(id)
			r.Members = append(r.Members, m)
			return nil
		}},
		{"subsystems", `SELECT id, name, created_at FROM gateway_subsystems ORDER BY id`, func(rows *sql.Rows) error {
			var m Subsystem
			var id string
			if err := rows.Scan(&id, &m.Name, &m.CreatedAt); err != nil {
				return err
			}
			m.ID, _ = ParseClientID(id)
			r.Subsystems = append(r.Subsystems, m)
			return nil
		}},
		{"certificates", `SELECT fingerprint, owner, subject, not_after FROM gateway_certificates ORDER BY fingerprint`, func(rows *sql.Rows) error {
			var c Certificate
			if err := rows.Scan(&c.Fingerprint, &c.Owner, &c.Subject, &c.NotAfter); err != nil {
				return err
			}
			r.Certificates = append(r.Certificates, c)
			return nil
		}},
		{"services", `SELECT id, kind, title, description, timeout_ms, max_body_bytes, log_bodies, redact, fail_policy, updated_at FROM gateway_services ORDER BY id`, func(rows *sql.Rows) error {
			var sv Service
			var id, redact string
			var ms int64
			if err := rows.Scan(&id, &sv.Kind, &sv.Title, &sv.Description, &ms, &sv.MaxBodyBytes, &sv.LogBodies, &redact, &sv.FailPolicy, &sv.UpdatedAt); err != nil {
				return err
			}
			sv.ID, _ = ParseServiceID(id)
			sv.Timeout = time.Duration(ms) * time.Millisecond
			_ = json.Unmarshal([]byte(redact), &sv.Redact)
			r.Services = append(r.Services, sv)
			return nil
		}},
		{"versions", `SELECT service_id, version, status, backend_url, spec, sunset_at, updated_at FROM gateway_versions ORDER BY service_id, version`, func(rows *sql.Rows) error {
			var v Version
			var sid string
			var sunset sql.NullTime
			if err := rows.Scan(&sid, &v.Version, &v.Status, &v.BackendURL, &v.Spec, &sunset, &v.UpdatedAt); err != nil {
				return err
			}
			if sunset.Valid {
				t := sunset.Time.UTC()
				v.SunsetAt = &t
			}
			for i := range r.Services {
				if r.Services[i].ID.String() == sid {
					r.Services[i].Versions = append(r.Services[i].Versions, v)
				}
			}
			return nil
		}},
		{"groups", `SELECT g.code, g.name, COALESCE(m.client_id, '') FROM gateway_groups g LEFT JOIN gateway_group_members m ON m.group_code = g.code ORDER BY g.code, m.client_id`, func(rows *sql.Rows) error {
			var code, name, client string
			if err := rows.Scan(&code, &name, &client); err != nil {
				return err
			}
			if n := len(r.Groups); n == 0 || r.Groups[n-1].Code != code {
				r.Groups = append(r.Groups, Group{Code: code, Name: name})
			}
			if client != "" {
				c, _ := ParseClientID(client)
				g := &r.Groups[len(r.Groups)-1]
				g.Members = append(g.Members, c)
			}
			return nil
		}},
		{"rights", `SELECT id, client, service_id, method, path, valid_from, valid_until, legal_basis, created_by, created_at FROM gateway_rights ORDER BY id`, func(rows *sql.Rows) error {
			a, err := scanRight(rows)
			if err != nil {
				return err
			}
			r.Rights = append(r.Rights, a)
			return nil
		}},
		{"quotas", `SELECT client, service_id, rate_per_second, daily, max_concurrent FROM gateway_quotas ORDER BY client, service_id`, func(rows *sql.Rows) error {
			var q Quota
			var c, sid string
			if err := rows.Scan(&c, &sid, &q.RatePerSecond, &q.Daily, &q.MaxConcurrent); err != nil {
				return err
			}
			q.Client, _ = ParseClientID(c)
			q.Service, _ = ParseServiceID(sid)
			r.Quotas = append(r.Quotas, q)
			return nil
		}},
		{"peers", `SELECT instance, url, updated_at FROM gateway_peers ORDER BY instance`, func(rows *sql.Rows) error {
			var p Peer
			if err := rows.Scan(&p.Instance, &p.URL, &p.UpdatedAt); err != nil {
				return err
			}
			r.Peers = append(r.Peers, p)
			return nil
		}},
	}
	for _, st := range steps {
		rows, err := tx.QueryContext(ctx, st.q)
		if err != nil {
			return nil, fmt.Errorf("load registry %s: %w", st.name, err)
		}
		for rows.Next() {
			if err := st.scan(rows); err != nil {
				rows.Close()
				return nil, fmt.Errorf("load registry %s: %w", st.name, err)
			}
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("load registry %s: %w", st.name, err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("load registry %s: %w", st.name, err)
		}
	}
	return r, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanRight(row scanner) (AccessRight, error) {
	var a AccessRight
	var sid string
	var until sql.NullTime
	if err := row.Scan(&a.ID, &a.Client, &sid, &a.Method, &a.Path, &a.ValidFrom, &until, &a.LegalBasis, &a.CreatedBy, &a.CreatedAt); err != nil {
		return a, err
	}
	a.Service, _ = ParseServiceID(sid)
	a.ValidFrom = a.ValidFrom.UTC()
	if until.Valid {
		t := until.Time.UTC()
		a.ValidUntil = &t
	}
	return a, nil
}

// PutMember registers a member or updates its name and agency e-ID.
func (s *Store) PutMember(ctx context.Context, actor string, m Member) error {
	return s.change(ctx, actor, "gateway.member.put", "gateway_member", m.ID.String(),
		map[string]any{"name": m.Name, "agency_eid": m.AgencyEID}, func(tx *db.Tx, now time.Time) error {
			return exec(ctx, tx, false, `INSERT INTO gateway_members (id, name, agency_eid, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, agency_eid = excluded.agency_eid`, m.ID.String(), m.Name, m.AgencyEID, now)
		})
}

// PutSubsystem registers a subsystem of a registered member, or renames it.
func (s *Store) PutSubsystem(ctx context.Context, actor string, m Subsystem) error {
	return s.change(ctx, actor, "gateway.subsystem.put", "gateway_subsystem", m.ID.String(),
		map[string]any{"name": m.Name}, func(tx *db.Tx, now time.Time) error {
			return exec(ctx, tx, false, `INSERT INTO gateway_subsystems (id, member_id, name, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE SET name = excluded.name`, m.ID.String(), m.ID.MemberID().String(), m.Name, now)
		})
}

// PutCertificate binds a certificate fingerprint to an owner.
func (s *Store) PutCertificate(ctx context.Context, actor string, c Certificate) error {
	return s.change(ctx, actor, "gateway.certificate.put", "gateway_certificate", c.Fingerprint,
		map[string]any{"owner": c.Owner, "subject": c.Subject, "not_after": c.NotAfter.UTC().Format(time.RFC3339)}, func(tx *db.Tx, now time.Time) error {
			return exec(ctx, tx, false, `INSERT INTO gateway_certificates (fingerprint, owner, subject, not_after) VALUES ($1, $2, $3, $4)
ON CONFLICT (fingerprint) DO UPDATE SET owner = excluded.owner, subject = excluded.subject, not_after = excluded.not_after`, c.Fingerprint, c.Owner, c.Subject, c.NotAfter.UTC())
		})
}

// DeleteCertificate removes a certificate binding.
func (s *Store) DeleteCertificate(ctx context.Context, actor, fingerprint string) error {
	return s.change(ctx, actor, "gateway.certificate.delete", "gateway_certificate", fingerprint, nil, func(tx *db.Tx, now time.Time) error {
		return exec(ctx, tx, true, `DELETE FROM gateway_certificates WHERE fingerprint = $1`, fingerprint)
	})
}

// PutService registers a service (without versions) or updates its
// description and policy.
func (s *Store) PutService(ctx context.Context, actor string, sv Service) error {
	redact, _ := json.Marshal(sv.Redact)
	if sv.Redact == nil {
		redact = []byte("[]")
	}
	id := sv.ID.Unversioned().String()
	return s.change(ctx, actor, "gateway.service.put", "gateway_service", id,
		map[string]any{"title": sv.Title, "kind": string(sv.Kind), "log_bodies": sv.LogBodies, "redact": sv.Redact, "fail_policy": string(sv.FailPolicy)},
		func(tx *db.Tx, now time.Time) error {
			return exec(ctx, tx, false, `INSERT INTO gateway_services (id, subsystem_id, kind, title, description, search_text, timeout_ms, max_body_bytes, log_bodies, redact, fail_policy, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, title = excluded.title, description = excluded.description, search_text = excluded.search_text,
	timeout_ms = excluded.timeout_ms, max_body_bytes = excluded.max_body_bytes, log_bodies = excluded.log_bodies, redact = excluded.redact,
	fail_policy = excluded.fail_policy, updated_at = excluded.updated_at`,
				id, sv.ID.Provider.String(), string(sv.Kind), sv.Title, sv.Description, search.Fold(id+" "+sv.Title+" "+sv.Description),
				sv.Timeout.Milliseconds(), sv.MaxBodyBytes, sv.LogBodies, string(redact), string(sv.FailPolicy), now)
		})
}

// PutVersion adds a version of a service or replaces its backend and
// description document (not its status: see SetStatus). New versions start
// as drafts.
func (s *Store) PutVersion(ctx context.Context, actor string, id ServiceID, v Version) error {
	return s.change(ctx, actor, "gateway.version.put", "gateway_service", id.String(),
		map[string]any{"backend_url": v.BackendURL, "spec_bytes": len(v.Spec)}, func(tx *db.Tx, now time.Time) error {
			return exec(ctx, tx, false, `INSERT INTO gateway_versions (service_id, version, status, backend_url, spec, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (service_id, version) DO UPDATE SET backend_url = excluded.backend_url, spec = excluded.spec, updated_at = excluded.updated_at`,
				id.Unversioned().String(), id.Version, string(Draft), v.BackendURL, v.Spec, now)
		})
}

// SetStatus moves a version along its lifecycle. sunset is recorded when
// deprecating (nil keeps none).
func (s *Store) SetStatus(ctx context.Context, actor string, id ServiceID, next Status, sunset *time.Time) error {
	detail := map[string]any{"status": string(next)}
	if sunset != nil {
		detail["sunset_at"] = sunset.UTC().Format(time.RFC3339)
	}
	return s.change(ctx, actor, "gateway.version.status", "gateway_service", id.String(), detail, func(tx *db.Tx, now time.Time) error {
		var cur Status
		err := tx.QueryRowContext(ctx, `SELECT status FROM gateway_versions WHERE service_id = $1 AND version = $2`, id.Unversioned().String(), id.Version).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if !cur.CanMove(next) {
			return fmt.Errorf("%w: %s → %s", ErrLifecycle, cur, next)
		}
		var sun any
		if next == Deprecated && sunset != nil {
			sun = sunset.UTC()
		}
		return exec(ctx, tx, true, `UPDATE gateway_versions SET status = $1, sunset_at = $2, updated_at = $3 WHERE service_id = $4 AND version = $5`,
			string(next), sun, now, id.Unversioned().String(), id.Version)
	})
}

// PutGroup creates a group or replaces its name and members.
func (s *Store) PutGroup(ctx context.Context, actor string, g Group) error {
	ms := make([]string, len(g.Members))
	for i, m := range g.Members {
		ms[i] = m.String()
	}
	return s.change(ctx, actor, "gateway.group.put", "gateway_group", g.Code, map[string]any{"name": g.Name, "members": ms}, func(tx *db.Tx, now time.Time) error {
		if err := exec(ctx, tx, false, `INSERT INTO gateway_groups (code, name) VALUES ($1, $2) ON CONFLICT (code) DO UPDATE SET name = excluded.name`, g.Code, g.Name); err != nil {
			return err
		}
		if err := exec(ctx, tx, false, `DELETE FROM gateway_group_members WHERE group_code = $1`, g.Code); err != nil {
			return err
		}
		for _, m := range ms {
			if err := exec(ctx, tx, false, `INSERT INTO gateway_group_members (group_code, client_id) VALUES ($1, $2)`, g.Code, m); err != nil {
				return err
			}
		}
		return nil
	})
}

// Grant records an access right and returns it with its ID.
func (s *Store) Grant(ctx context.Context, actor string, a AccessRight) (AccessRight, error) {
	a.CreatedBy = actor
	var until any
	if a.ValidUntil != nil {
		until = a.ValidUntil.UTC()
	}
	detail := map[string]any{"client": a.Client, "service": a.Service.String(), "method": a.Method, "path": a.Path, "legal_basis": a.LegalBasis}
	if a.ValidUntil != nil {
		detail["valid_until"] = a.ValidUntil.UTC().Format(time.RFC3339)
	}
	err := s.change(ctx, actor, "gateway.right.grant", "gateway_service", a.Service.String(), detail, func(tx *db.Tx, now time.Time) error {
		a.CreatedAt = now
		if a.ValidFrom.IsZero() {
			a.ValidFrom = now
		}
		a.ValidFrom = a.ValidFrom.UTC().Truncate(time.Microsecond)
		row := tx.QueryRowContext(ctx, `INSERT INTO gateway_rights (client, service_id, method, path, valid_from, valid_until, legal_basis, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, a.Client, a.Service.String(), a.Method, a.Path, a.ValidFrom, until, a.LegalBasis, actor, now)
		err := row.Scan(&a.ID)
		if db.IsForeignKeyViolation(err) {
			return fmt.Errorf("service %s: %w", a.Service, ErrNotFound)
		}
		detail["id"] = a.ID // for the revoke's entry to name
		return err
	})
	return a, err
}

// Revoke deletes an access right.
func (s *Store) Revoke(ctx context.Context, actor string, id int64) error {
	detail := map[string]any{}
	return s.change(ctx, actor, "gateway.right.revoke", "gateway_right", fmt.Sprint(id), detail, func(tx *db.Tx, now time.Time) error {
		// The entry says what was revoked: the row goes.
		var client, service, method, path, basis, by string
		err := tx.QueryRowContext(ctx, `SELECT client, service_id, method, path, legal_basis, created_by FROM gateway_rights WHERE id = $1`, id).
			Scan(&client, &service, &method, &path, &basis, &by)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		detail["client"], detail["service"], detail["method"], detail["path"], detail["legal_basis"], detail["granted_by"] = client, service, method, path, basis, by
		return exec(ctx, tx, true, `DELETE FROM gateway_rights WHERE id = $1`, id)
	})
}

// PutQuota sets the quota of a client on a service (all zero removes it).
func (s *Store) PutQuota(ctx context.Context, actor string, q Quota) error {
	key := q.Client.String() + " → " + q.Service.String()
	return s.change(ctx, actor, "gateway.quota.put", "gateway_quota", key,
		map[string]any{"rate_per_second": q.RatePerSecond, "daily": q.Daily, "max_concurrent": q.MaxConcurrent}, func(tx *db.Tx, now time.Time) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateway_services WHERE id = $1`, q.Service.String()).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				// Calls to another instance's services go to its gateway,
				// which applies its own quotas: one set here would not be.
				return fmt.Errorf("service %s is not registered here (another instance's services get their quotas on its gateway): %w", q.Service, ErrNotFound)
			}
			if q.RatePerSecond == 0 && q.Daily == 0 && q.MaxConcurrent == 0 {
				return exec(ctx, tx, false, `DELETE FROM gateway_quotas WHERE client = $1 AND service_id = $2`, q.Client.String(), q.Service.String())
			}
			return exec(ctx, tx, false, `INSERT INTO gateway_quotas (client, service_id, rate_per_second, daily, max_concurrent) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (client, service_id) DO UPDATE SET rate_per_second = excluded.rate_per_second, daily = excluded.daily, max_concurrent = excluded.max_concurrent`,
				q.Client.String(), q.Service.String(), q.RatePerSecond, q.Daily, q.MaxConcurrent)
		})
}

// PutPeer routes the services of an instance to a peer gateway.
func (s *Store) PutPeer(ctx context.Context, actor string, p Peer) error {
	return s.change(ctx, actor, "gateway.peer.put", "gateway_peer", p.Instance, map[string]any{"url": p.URL}, func(tx *db.Tx, now time.Time) error {
		return exec(ctx, tx, false, `INSERT INTO gateway_peers (instance, url, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (instance) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at`, p.Instance, p.URL, now)
	})
}

// stmt is one statement of a removal.
type stmt struct {
	q    string
	args []any
}

// refQuery counts one kind of reference to an entry.
type refQuery struct {
	kind RefKind
	q    string
	arg  any
}

// countRefs runs the counts and returns the kinds with references.
func countRefs(ctx context.Context, q db.Querier, qs []refQuery) ([]Ref, error) {
	var out []Ref
	for _, rq := range qs {
		var n int
		if err := q.QueryRowContext(ctx, rq.q, rq.arg).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", rq.kind, err)
		}
		if n > 0 {
			out = append(out, Ref{Kind: rq.kind, Count: n})
		}
	}
	return out, nil
}

// certRefs counts the certificates and the OAuth client bindings of owner.
func certRefs(ctx context.Context, q db.Querier, owner string) ([]Ref, error) {
	rows, err := q.QueryContext(ctx, `SELECT fingerprint, subject FROM gateway_certificates WHERE owner = $1`, owner)
	if err != nil {
		return nil, fmt.Errorf("count certificates: %w", err)
	}
	defer rows.Close()
	var certs, oauth int
	for rows.Next() {
		var c Certificate
		if err := rows.Scan(&c.Fingerprint, &c.Subject); err != nil {
			return nil, fmt.Errorf("count certificates: %w", err)
		}
		if oauthClientOf(c) != "" {
			oauth++
		} else {
			certs++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count certificates: %w", err)
	}
	var out []Ref
	if certs > 0 {
		out = append(out, Ref{Kind: RefCertificates, Count: certs})
	}
	if oauth > 0 {
		out = append(out, Ref{Kind: RefOAuthClients, Count: oauth})
	}
	return out, nil
}

func noRow(err error, kind EntryKind, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s %s", ErrNotFound, kind, id)
	}
	return err
}

// checkRemove applies the removal rules (see [Manager.DeleteMember]) to
// the entry: it returns ErrNotFound, an *InUseError, or the statements
// that remove it, and records what is removed in detail (the audit entry).
func checkRemove(ctx context.Context, q db.Querier, dialect db.Dialect, kind EntryKind, id string, detail map[string]any) ([]stmt, error) {
	var refs []Ref
	var del []stmt
	add := func(rs []Ref, err error) error {
		refs = append(refs, rs...)
		return err
	}
	switch kind {
	case EntryMember:
		var name, eid string
		if err := q.QueryRowContext(ctx, `SELECT name, agency_eid FROM gateway_members WHERE id = $1`, id).Scan(&name, &eid); err != nil {
			return nil, noRow(err, kind, id)
		}
		detail["name"], detail["agency_eid"] = name, eid
		if err := add(countRefs(ctx, q, []refQuery{{RefSubsystems, `SELECT COUNT(*) FROM gateway_subsystems WHERE member_id = $1`, id}})); err != nil {
			return nil, err
		}
		del = []stmt{{`DELETE FROM gateway_members WHERE id = $1`, []any{id}}}
	case EntrySubsystem:
		var name string
		if err := q.QueryRowContext(ctx, `SELECT name FROM gateway_subsystems WHERE id = $1`, id).Scan(&name); err != nil {
			return nil, noRow(err, kind, id)
		}
		detail["name"] = name
		if err := add(countRefs(ctx, q, []refQuery{
			{RefServices, `SELECT COUNT(*) FROM gateway_services WHERE subsystem_id = $1`, id},
			{RefRights, `SELECT COUNT(*) FROM gateway_rights WHERE client = $1`, id},
			{RefQuotas, `SELECT COUNT(*) FROM gateway_quotas WHERE client = $1`, id},
		})); err != nil {
			return nil, err
		}
		if err := add(certRefs(ctx, q, id)); err != nil {
			return nil, err
		}
		// Deleted subscriptions are kept as history and do not count.
		subs := `SELECT COUNT(*) FROM gateway_subscriptions WHERE subscriber = $1 AND deleted_at IS NULL`
		if err := add(countRefs(ctx, q, []refQuery{
			{RefGroupMemberships, `SELECT COUNT(*) FROM gateway_group_members WHERE client_id = $1`, id},
			{RefTopics, `SELECT COUNT(*) FROM gateway_topics WHERE owner = $1 AND deleted_at IS NULL`, id},
			{RefSubscriptions, subs, id},
		})); err != nil {
			return nil, err
		}
		del = []stmt{{`DELETE FROM gateway_subsystems WHERE id = $1`, []any{id}}}
	case EntryService:
		var title string
		if err := q.QueryRowContext(ctx, `SELECT title FROM gateway_services WHERE id = $1`, id).Scan(&title); err != nil {
			return nil, noRow(err, kind, id)
		}
		detail["title"] = title
		rows, err := q.QueryContext(ctx, `SELECT version, status, backend_url FROM gateway_versions WHERE service_id = $1 ORDER BY version`, id)
		if err != nil {
			return nil, err
		}
		var versions []map[string]string
		for rows.Next() {
			var v, st, u string
			if err := rows.Scan(&v, &st, &u); err != nil {
				rows.Close()
				return nil, err
			}
			versions = append(versions, map[string]string{"version": v, "status": st, "backend_url": u})
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		detail["versions"] = versions
		if err := add(countRefs(ctx, q, []refQuery{
			{RefLiveVersions, `SELECT COUNT(*) FROM gateway_versions WHERE service_id = $1 AND status IN ('published', 'deprecated')`, id},
			{RefRights, `SELECT COUNT(*) FROM gateway_rights WHERE service_id = $1`, id},
			{RefQuotas, `SELECT COUNT(*) FROM gateway_quotas WHERE service_id = $1`, id},
		})); err != nil {
			return nil, err
		}
		del = []stmt{{`DELETE FROM gateway_versions WHERE service_id = $1`, []any{id}}, {`DELETE FROM gateway_services WHERE id = $1`, []any{id}}}
	case EntryVersion:
		sv, err := ParseServiceID(id)
		if err != nil || sv.Version == "" {
			return nil, fmt.Errorf("%w: %s %s", ErrNotFound, kind, id)
		}
		var st Status
		var u string
		if err := q.QueryRowContext(ctx, `SELECT status, backend_url FROM gateway_versions WHERE service_id = $1 AND version = $2`,
			sv.Unversioned().String(), sv.Version).Scan(&st, &u); err != nil {
			return nil, noRow(err, kind, id)
		}
		detail["status"], detail["backend_url"] = string(st), u
		if st.Reachable() {
			return nil, &InUseError{Kind: kind, ID: id, Status: st}
		}
		del = []stmt{{`DELETE FROM gateway_versions WHERE service_id = $1 AND version = $2`, []any{sv.Unversioned().String(), sv.Version}}}
	case EntryGroup:
		var name string
		if err := q.QueryRowContext(ctx, `SELECT name FROM gateway_groups WHERE code = $1`, id).Scan(&name); err != nil {
			return nil, noRow(err, kind, id)
		}
		rows, err := q.QueryContext(ctx, `SELECT client_id FROM gateway_group_members WHERE group_code = $1 ORDER BY client_id`, id)
		if err != nil {
			return nil, err
		}
		members := []string{}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return nil, err
			}
			members = append(members, c)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		detail["name"], detail["members"] = name, members
		if err := add(countRefs(ctx, q, []refQuery{{RefRights, `SELECT COUNT(*) FROM gateway_rights WHERE client = $1`, GroupPrefix + id}})); err != nil {
			return nil, err
		}
		del = []stmt{{`DELETE FROM gateway_group_members WHERE group_code = $1`, []any{id}}, {`DELETE FROM gateway_groups WHERE code = $1`, []any{id}}}
	case EntryPeer:
		var u string
		if err := q.QueryRowContext(ctx, `SELECT url FROM gateway_peers WHERE instance = $1`, id).Scan(&u); err != nil {
			return nil, noRow(err, kind, id)
		}
		detail["url"] = u
		if err := add(certRefs(ctx, q, PeerPrefix+id)); err != nil {
			return nil, err
		}
		del = []stmt{{`DELETE FROM gateway_peers WHERE instance = $1`, []any{id}}}
	default:
		return nil, fmt.Errorf("%w: unknown kind of entry %q", ErrInvalid, kind)
	}
	if len(refs) > 0 {
		return nil, &InUseError{Kind: kind, ID: id, Refs: refs}
	}
	return del, nil
}

// Remove deletes a member, subsystem, service (with its draft and retired
// versions), version, group or peer, named by its identifier as written,
// once nothing refers to it (the rules are at [Manager.DeleteMember]). The
// check and the removal run in the registry change's transaction, after
// the revision bump that serializes registry writes, so no reference can
// appear in between. The audit entry records what was removed.
func (s *Store) Remove(ctx context.Context, actor string, kind EntryKind, id string) error {
	objType := "gateway_" + string(kind)
	if kind == EntryVersion {
		objType = "gateway_service"
	}
	detail := map[string]any{}
	return s.change(ctx, actor, "gateway."+string(kind)+".delete", objType, id, detail, func(tx *db.Tx, now time.Time) error {
		del, err := checkRemove(ctx, tx, s.db.Dialect(), kind, id, detail)
		if err != nil {
			return err
		}
		for _, st := range del {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				if db.IsForeignKeyViolation(err) {
					return fmt.Errorf("%w: %s %s is still referenced", ErrInUse, kind, id)
				}
				return err
			}
		}
		return nil
	})
}

// CheckRemove reports whether the entry could be removed now (nil), is
// unknown (ErrNotFound) or is still referenced (an *InUseError), without
// changing anything.
func (s *Store) CheckRemove(ctx context.Context, kind EntryKind, id string) error {
	_, err := checkRemove(ctx, s.db.Read(), s.db.Dialect(), kind, id, map[string]any{})
	return err
}
