package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Tables.
//
//	notify_deliveries   one row per notification per channel per recipient;
//	                    dedupe_key UNIQUE (source event + channel + recipient)
//	                    makes a redelivered event harmless. In-app rows are
//	                    the portal's notifications (read_at).
//	notify_preferences  one row per account that changed its choices.
//
// Queries and their indexes:
//
//	deliveries of a dossier (timeline)     notify_deliveries_dossier
//	an account's in-app list, unread count notify_deliveries_inbox (account_id, channel, id)
//	failed deliveries (operators)          notify_deliveries_status
const schemaV1 = `
CREATE TABLE notify_deliveries (
	id {{id}},
	dedupe_key TEXT NOT NULL UNIQUE,
	event_id BIGINT NOT NULL,
	topic TEXT NOT NULL,
	kind TEXT NOT NULL,
	channel TEXT NOT NULL,
	recipient TEXT NOT NULL,
	account_id TEXT NOT NULL,
	dossier_code TEXT NOT NULL,
	lang TEXT NOT NULL,
	subject TEXT NOT NULL,
	body TEXT NOT NULL,
	html TEXT NOT NULL,
	link TEXT NOT NULL,
	status TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	last_error TEXT NOT NULL,
	provider_id TEXT NOT NULL,
	created_at {{time}} NOT NULL,
	sent_at {{time}},
	read_at {{time}}
);
CREATE INDEX notify_deliveries_dossier ON notify_deliveries (dossier_code, id);
CREATE INDEX notify_deliveries_inbox ON notify_deliveries (account_id, channel, id);
CREATE INDEX notify_deliveries_status ON notify_deliveries (status, id);

CREATE TABLE notify_preferences (
	account_id TEXT PRIMARY KEY,
	email {{bool}} NOT NULL,
	sms {{bool}} NOT NULL,
	inapp {{bool}} NOT NULL,
	updated_at {{time}} NOT NULL
);
`

// Migrations returns the schema of the notify module (module "notify").
func Migrations() []db.Migration {
	return []db.Migration{{Module: "notify", Version: 1, Name: "deliveries and preferences", Up: schemaV1}}
}

// row is a delivery row with its content (for the sender).
type row struct {
	Delivery
	recipient string
	accountID string
	lang      string
	body      string
	html      string
	link      string
	eventID   int64
	readAt    sql.NullTime
}

// insertDelivery adds r unless its dedupe key exists; it reports whether it
// inserted (and the new ID).
func insertDelivery(ctx context.Context, tx *db.Tx, key string, r *row) (bool, error) {
	var sent any
	if !r.SentAt.IsZero() {
		sent = r.SentAt.UTC()
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO notify_deliveries (dedupe_key, event_id, topic, kind, channel, recipient,
	account_id, dossier_code, lang, subject, body, html, link, status, attempts, last_error, provider_id, created_at, sent_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0, '', '', $15, $16)
ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
		key, r.eventID, r.Topic, string(r.Kind), string(r.Channel), r.recipient, r.accountID, r.DossierCode, r.lang,
		r.Subject, r.body, r.html, r.link, string(r.Status), r.CreatedAt.UTC(), sent).Scan(&r.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("insert delivery: %w", err)
	}
	return true, nil
}

const deliveryColumns = `id, event_id, topic, kind, channel, recipient, account_id, dossier_code, lang, subject, body, html,
	link, status, attempts, last_error, provider_id, created_at, sent_at, read_at`

func scanRow(sc interface{ Scan(...any) error }) (*row, error) {
	var r row
	var kind, ch, st string
	var sent sql.NullTime
	if err := sc.Scan(&r.ID, &r.eventID, &r.Topic, &kind, &ch, &r.recipient, &r.accountID, &r.DossierCode, &r.lang,
		&r.Subject, &r.body, &r.html, &r.link, &st, &r.Attempts, &r.LastError, &r.ProviderID, &r.CreatedAt, &sent,
		&r.readAt); err != nil {
		return nil, err
	}
	r.Kind, r.Channel, r.Status = Kind(kind), Channel(ch), Status(st)
	r.CreatedAt = r.CreatedAt.UTC()
	if sent.Valid {
		r.SentAt = sent.Time.UTC()
	}
	r.Recipient = mask(r.Channel, r.recipient)
	return &r, nil
}

func loadRow(ctx context.Context, q db.Querier, id int64) (*row, error) {
	r, err := scanRow(q.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM notify_deliveries WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("delivery %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load delivery %d: %w", id, err)
	}
	return r, nil
}

func queryRows(ctx context.Context, q db.Querier, query string, args ...any) ([]*row, error) {
	rs, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query deliveries: %w", err)
	}
	defer rs.Close()
	var out []*row
	for rs.Next() {
		r, err := scanRow(rs)
		if err != nil {
			return nil, fmt.Errorf("scan delivery: %w", err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("query deliveries: %w", err)
	}
	return out, nil
}

// markSent records a successful attempt.
func markSent(ctx context.Context, q db.Querier, id int64, providerID string, at time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE notify_deliveries SET status = $2, attempts = attempts + 1, provider_id = $3,
	sent_at = $4, last_error = '' WHERE id = $1 AND status = $5`, id, string(StatusSent), providerID, at.UTC(), string(StatusPending))
	if err != nil {
		return fmt.Errorf("mark delivery %d sent: %w", id, err)
	}
	return nil
}

// markAttemptFailed records a failed attempt; final makes the delivery
// failed. It returns the attempts made so far.
func markAttemptFailed(ctx context.Context, q db.Querier, id int64, msg string, final bool) error {
	st := StatusPending
	if final {
		st = StatusFailed
	}
	_, err := q.ExecContext(ctx, `UPDATE notify_deliveries SET status = $2, attempts = attempts + 1, last_error = $3
	WHERE id = $1 AND status = $4`, id, string(st), msg, string(StatusPending))
	if err != nil {
		return fmt.Errorf("record failed attempt of delivery %d: %w", id, err)
	}
	return nil
}

func loadPreferences(ctx context.Context, q db.Querier, accountID string) (Preferences, error) {
	p := DefaultPreferences()
	err := q.QueryRowContext(ctx, `SELECT email, sms, inapp FROM notify_preferences WHERE account_id = $1`, accountID).
		Scan(&p.Email, &p.SMS, &p.InApp)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultPreferences(), nil
	}
	if err != nil {
		return Preferences{}, fmt.Errorf("load preferences: %w", err)
	}
	return p, nil
}

func savePreferences(ctx context.Context, q db.Querier, accountID string, p Preferences, now time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO notify_preferences (account_id, email, sms, inapp, updated_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (account_id) DO UPDATE SET email = excluded.email, sms = excluded.sms, inapp = excluded.inapp,
	updated_at = excluded.updated_at`, accountID, p.Email, p.SMS, p.InApp, now.UTC())
	if err != nil {
		return fmt.Errorf("save preferences: %w", err)
	}
	return nil
}
