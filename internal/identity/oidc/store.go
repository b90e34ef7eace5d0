package oidc

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Migrations returns the schema of module "identity_oidc": registered
// clients, the grants (codes, tokens) they obtained, the signing keys and the
// consents people gave. It is applied after identity.Migrations.
//
// Indexes and the queries they serve:
//   - identity_oauth_tokens primary key (hashed signature): every token
//     exchange, refresh, introspection and userinfo call.
//   - identity_oauth_tokens_request: revoking a grant's family (refresh
//     reuse, revocation), by request id.
//   - identity_oauth_tokens_expiry: the periodic purge of expired rows.
//   - identity_oauth_consents primary key: the consent check of an
//     authorization request.
func Migrations() []db.Migration {
	return []db.Migration{{
		Module: "identity_oidc", Version: 1, Name: "oauth clients, tokens, keys, consents",
		Up: schemaV1,
	}}
}

const schemaV1 = `
CREATE TABLE identity_oauth_clients (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	secret_hash TEXT NOT NULL DEFAULT '',
	redirect_uris TEXT NOT NULL,
	post_logout_redirect_uris TEXT NOT NULL,
	grant_types TEXT NOT NULL,
	scopes TEXT NOT NULL,
	audience TEXT NOT NULL,
	public {{bool}} NOT NULL DEFAULT FALSE,
	first_party {{bool}} NOT NULL DEFAULT FALSE,
	disabled {{bool}} NOT NULL DEFAULT FALSE,
	secret_rotated_at {{time}},
	created_by TEXT NOT NULL DEFAULT '',
	created_at {{time}} NOT NULL,
	updated_at {{time}} NOT NULL
);

CREATE TABLE identity_oauth_tokens (
	signature TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	request_id TEXT NOT NULL,
	client_id TEXT NOT NULL,
	subject TEXT NOT NULL DEFAULT '',
	session_id TEXT NOT NULL DEFAULT '',
	access_signature TEXT NOT NULL DEFAULT '',
	active {{bool}} NOT NULL DEFAULT TRUE,
	requested_at {{time}} NOT NULL,
	expires_at {{time}} NOT NULL,
	data TEXT NOT NULL
);
CREATE INDEX identity_oauth_tokens_request ON identity_oauth_tokens (request_id, kind);
CREATE INDEX identity_oauth_tokens_expiry ON identity_oauth_tokens (expires_at);

CREATE TABLE identity_oauth_keys (
	kid TEXT PRIMARY KEY,
	alg TEXT NOT NULL,
	private_enc {{bytes}} NOT NULL,
	public_jwk TEXT NOT NULL,
	created_at {{time}} NOT NULL,
	retired_at {{time}},
	delete_after {{time}}
);

CREATE TABLE identity_oauth_consents (
	person_id TEXT NOT NULL,
	client_id TEXT NOT NULL,
	scopes TEXT NOT NULL,
	granted_at {{time}} NOT NULL,
	PRIMARY KEY (person_id, client_id)
);
`

// hashSignature is what the tokens table keeps instead of a token's
// signature: a leaked table reveals no usable token.
func hashSignature(kind, signature string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + signature))
	return hex.EncodeToString(sum[:])
}

func encodeList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func decodeList(s string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	return v, nil
}

// --- clients ---

const clientColumns = `id, name, secret_hash, redirect_uris, post_logout_redirect_uris, grant_types, scopes, audience,
	public, first_party, disabled, secret_rotated_at, created_at, updated_at`

func scanClient(row interface{ Scan(...any) error }) (Client, error) {
	var c Client
	var redirects, logouts, grants, scopes, audience string
	var rotated sql.NullTime
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &redirects, &logouts, &grants, &scopes, &audience,
		&c.Public, &c.FirstParty, &c.Disabled, &rotated, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Client{}, ErrClientNotFound
	}
	if err != nil {
		return Client{}, fmt.Errorf("scan client: %w", err)
	}
	for _, x := range []struct {
		s   string
		dst *[]string
	}{{redirects, &c.RedirectURIs}, {logouts, &c.PostLogoutRedirectURIs}, {grants, &c.GrantTypes}, {scopes, &c.Scopes}, {audience, &c.Audience}} {
		if *x.dst, err = decodeList(x.s); err != nil {
			return Client{}, fmt.Errorf("client %s: %w", c.ID, err)
		}
	}
	if rotated.Valid {
		t := rotated.Time.UTC()
		c.SecretRotatedAt = &t
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

func getClient(ctx context.Context, q db.Querier, id string) (Client, error) {
	return scanClient(q.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM identity_oauth_clients WHERE id = $1`, id))
}

func listClients(ctx context.Context, q db.Querier) ([]Client, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+clientColumns+` FROM identity_oauth_clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func insertClient(ctx context.Context, tx *db.Tx, c Client, by string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identity_oauth_clients (id, name, secret_hash, redirect_uris,
		post_logout_redirect_uris, grant_types, scopes, audience, public, first_party, disabled, secret_rotated_at,
		created_by, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`,
		c.ID, c.Name, c.SecretHash, encodeList(c.RedirectURIs), encodeList(c.PostLogoutRedirectURIs),
		encodeList(c.GrantTypes), encodeList(c.Scopes), encodeList(c.Audience), c.Public, c.FirstParty, c.Disabled,
		c.SecretRotatedAt, by, c.CreatedAt, c.UpdatedAt)
	if err != nil {
		if db.IsUniqueViolation(err) {
			return ErrClientExists
		}
		return fmt.Errorf("insert client: %w", err)
	}
	return nil
}

func updateClient(ctx context.Context, tx *db.Tx, c Client) error {
	res, err := tx.ExecContext(ctx, `UPDATE identity_oauth_clients SET name = $2, secret_hash = $3, redirect_uris = $4,
		post_logout_redirect_uris = $5, grant_types = $6, scopes = $7, audience = $8, public = $9, first_party = $10,
		disabled = $11, secret_rotated_at = $12, updated_at = $13 WHERE id = $1`,
		c.ID, c.Name, c.SecretHash, encodeList(c.RedirectURIs), encodeList(c.PostLogoutRedirectURIs),
		encodeList(c.GrantTypes), encodeList(c.Scopes), encodeList(c.Audience), c.Public, c.FirstParty, c.Disabled,
		c.SecretRotatedAt, c.UpdatedAt)
	if err != nil {
		return fmt.Errorf("update client: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrClientNotFound
	}
	return nil
}

// --- consents ---

func getConsent(ctx context.Context, q db.Querier, personID, clientID string) ([]string, error) {
	var s string
	err := q.QueryRowContext(ctx, `SELECT scopes FROM identity_oauth_consents WHERE person_id = $1 AND client_id = $2`,
		personID, clientID).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get consent: %w", err)
	}
	return decodeList(s)
}

func putConsent(ctx context.Context, tx *db.Tx, personID, clientID string, scopes []string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identity_oauth_consents (person_id, client_id, scopes, granted_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (person_id, client_id) DO UPDATE SET scopes = $3, granted_at = $4`,
		personID, clientID, encodeList(scopes), at)
	if err != nil {
		return fmt.Errorf("put consent: %w", err)
	}
	return nil
}
