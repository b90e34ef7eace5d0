package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/congso/congso/internal/platform/db"
)

// Migrations returns the schema of the payment module (module "payment").
// It needs the audit schema (its Migrations run first).
func Migrations() []db.Migration {
	return []db.Migration{{Module: "payment", Version: 1, Name: "payments, callbacks, reconciliations", Up: `
CREATE TABLE payment_payments (
	order_id TEXT PRIMARY KEY,
	dossier_code TEXT NOT NULL,
	fee_n INTEGER NOT NULL,
	fee_name TEXT NOT NULL,
	amount BIGINT NOT NULL,
	description TEXT NOT NULL,
	status TEXT NOT NULL,
	transaction_id TEXT NOT NULL,
	pay_url TEXT NOT NULL,
	source TEXT NOT NULL,
	fee_recorded {{bool}} NOT NULL,
	created_by TEXT NOT NULL,
	created_at {{time}} NOT NULL,
	expires_at {{time}} NOT NULL,
	paid_at {{time}},
	updated_at {{time}} NOT NULL
);
CREATE UNIQUE INDEX payment_payments_open ON payment_payments (dossier_code, fee_n) WHERE status = 'pending';
CREATE INDEX payment_payments_dossier ON payment_payments (dossier_code, created_at);
CREATE INDEX payment_payments_paid ON payment_payments (paid_at);
CREATE INDEX payment_payments_status ON payment_payments (status, created_at);
CREATE TABLE payment_callbacks (
	id {{id}},
	received_at {{time}} NOT NULL,
	order_id TEXT NOT NULL,
	transaction_id TEXT NOT NULL,
	status TEXT NOT NULL,
	amount BIGINT NOT NULL,
	outcome TEXT NOT NULL,
	reason TEXT NOT NULL,
	remote TEXT NOT NULL,
	raw TEXT NOT NULL
);
CREATE INDEX payment_callbacks_order ON payment_callbacks (order_id, id);
CREATE TABLE payment_reconciliations (
	id {{id}},
	day TEXT NOT NULL,
	run_at {{time}} NOT NULL,
	mismatches INTEGER NOT NULL,
	report TEXT NOT NULL
);
CREATE INDEX payment_reconciliations_day ON payment_reconciliations (day, id);
`}}
}

func ts(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

// clean makes text storable on both engines: valid UTF-8, no NUL, bounded.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

const paymentCols = `order_id, dossier_code, fee_n, fee_name, amount, description, status, transaction_id, pay_url, source,
	fee_recorded, created_by, created_at, expires_at, paid_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanPayment(r scanner) (Payment, error) {
	var p Payment
	var paid sql.NullTime
	err := r.Scan(&p.OrderID, &p.DossierCode, &p.FeeN, &p.FeeName, &p.Amount, &p.Description, &p.Status, &p.TransactionID,
		&p.PayURL, &p.Source, &p.FeeRecorded, &p.CreatedBy, &p.CreatedAt, &p.ExpiresAt, &paid, &p.UpdatedAt)
	if paid.Valid {
		p.PaidAt = paid.Time.UTC()
	}
	p.CreatedAt, p.ExpiresAt, p.UpdatedAt = p.CreatedAt.UTC(), p.ExpiresAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func getPayment(ctx context.Context, q querier, orderID string) (Payment, error) {
	p, err := scanPayment(q.QueryRowContext(ctx, `SELECT `+paymentCols+` FROM payment_payments WHERE order_id = $1`, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("payment %s: %w", orderID, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("load payment %s: %w", orderID, err)
	}
	return p, nil
}

func listPayments(ctx context.Context, q querier, where string, args ...any) ([]Payment, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+paymentCols+` FROM payment_payments WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	defer rows.Close()
	var out []Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("list payments: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func insertPayment(ctx context.Context, tx *db.Tx, p Payment) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payment_payments (`+paymentCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		p.OrderID, p.DossierCode, p.FeeN, p.FeeName, p.Amount, p.Description, string(p.Status), p.TransactionID, p.PayURL,
		p.Source, p.FeeRecorded, p.CreatedBy, ts(p.CreatedAt), ts(p.ExpiresAt), nullTime(p.PaidAt), ts(p.UpdatedAt))
	return err
}

func insertCallback(ctx context.Context, tx *db.Tx, c Callback) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payment_callbacks (received_at, order_id, transaction_id, status, amount, outcome, reason, remote, raw)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		ts(c.ReceivedAt), clean(c.OrderID, 200), clean(c.TransactionID, 200), clean(c.Status, 50), c.Amount, c.Outcome, c.Reason,
		clean(c.Remote, 100), clean(c.Raw, 16<<10))
	if err != nil {
		return fmt.Errorf("record callback: %w", err)
	}
	return nil
}

// Callbacks lists the notifications received for an order ("" for all),
// oldest first, at most limit (default 100).
func (s *Service) Callbacks(ctx context.Context, orderID string, limit int) ([]Callback, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := `SELECT id, received_at, order_id, transaction_id, status, amount, outcome, reason, remote, raw FROM payment_callbacks`
	args := []any{limit}
	if orderID != "" {
		q += ` WHERE order_id = $2`
		args = append(args, orderID)
	}
	rows, err := s.db.Read().QueryContext(ctx, q+` ORDER BY id LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("list callbacks: %w", err)
	}
	defer rows.Close()
	var out []Callback
	for rows.Next() {
		var c Callback
		if err := rows.Scan(&c.ID, &c.ReceivedAt, &c.OrderID, &c.TransactionID, &c.Status, &c.Amount, &c.Outcome, &c.Reason,
			&c.Remote, &c.Raw); err != nil {
			return nil, fmt.Errorf("list callbacks: %w", err)
		}
		c.ReceivedAt = c.ReceivedAt.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}
