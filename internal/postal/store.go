package postal

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Migrations returns the schema of the postal module (module "postal").
// It needs the audit schema.
func Migrations() []db.Migration {
	return []db.Migration{{Module: "postal", Version: 1, Name: "shipments and status events", Up: `
CREATE TABLE postal_shipments (
	id {{id}},
	dossier_code TEXT NOT NULL,
	client_ref TEXT NOT NULL UNIQUE,
	tracking_code TEXT NOT NULL,
	sender_agency TEXT NOT NULL,
	sender_name TEXT NOT NULL,
	sender_phone TEXT NOT NULL,
	sender_address TEXT NOT NULL,
	recipient_name TEXT NOT NULL,
	recipient_phone TEXT NOT NULL,
	recipient_address TEXT NOT NULL,
	cod_amount BIGINT NOT NULL,
	status TEXT NOT NULL,
	status_at {{time}} NOT NULL,
	created_by TEXT NOT NULL,
	created_at {{time}} NOT NULL,
	updated_at {{time}} NOT NULL
);
CREATE UNIQUE INDEX postal_shipments_open ON postal_shipments (dossier_code) WHERE status NOT IN ('returned', 'cancelled');
CREATE INDEX postal_shipments_tracking ON postal_shipments (tracking_code);
CREATE INDEX postal_shipments_status ON postal_shipments (status, updated_at);
CREATE TABLE postal_events (
	id {{id}},
	received_at {{time}} NOT NULL,
	tracking_code TEXT NOT NULL,
	status TEXT NOT NULL,
	status_at {{time}},
	source TEXT NOT NULL,
	outcome TEXT NOT NULL,
	reason TEXT NOT NULL,
	raw TEXT NOT NULL
);
CREATE INDEX postal_events_tracking ON postal_events (tracking_code, id);
`}}
}

func ts(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

func clean(s string, max int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "")
	}
	return s
}

const shipmentCols = `id, dossier_code, client_ref, tracking_code, sender_agency, sender_name, sender_phone, sender_address,
	recipient_name, recipient_phone, recipient_address, cod_amount, status, status_at, created_by, created_at, updated_at`

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func listShipments(ctx context.Context, q querier, where string, args ...any) ([]Shipment, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+shipmentCols+` FROM postal_shipments WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list shipments: %w", err)
	}
	defer rows.Close()
	var out []Shipment
	for rows.Next() {
		var s Shipment
		if err := rows.Scan(&s.ID, &s.DossierCode, &s.ClientRef, &s.TrackingCode, &s.SenderAgency, &s.Sender.Name, &s.Sender.Phone,
			&s.Sender.Address, &s.Recipient.Name, &s.Recipient.Phone, &s.Recipient.Address, &s.CODAmount, &s.Status, &s.StatusAt,
			&s.CreatedBy, &s.CreatedAt, &s.UpdatedAt); err != nil {
			return nil, fmt.Errorf("list shipments: %w", err)
		}
		s.StatusAt, s.CreatedAt, s.UpdatedAt = s.StatusAt.UTC(), s.CreatedAt.UTC(), s.UpdatedAt.UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

func oneShipment(ctx context.Context, q querier, where string, args ...any) (Shipment, error) {
	l, err := listShipments(ctx, q, where, args...)
	if err != nil {
		return Shipment{}, err
	}
	if len(l) == 0 {
		return Shipment{}, ErrNotFound
	}
	return l[0], nil
}

func insertEvent(ctx context.Context, tx *db.Tx, e Event) error {
	var at any
	if !e.StatusAt.IsZero() {
		at = ts(e.StatusAt)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO postal_events (received_at, tracking_code, status, status_at, source, outcome, reason, raw)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, ts(e.ReceivedAt), clean(e.TrackingCode, 100), clean(e.Status, 50), at, e.Source,
		e.Outcome, e.Reason, clean(e.Raw, 16<<10))
	if err != nil {
		return fmt.Errorf("record postal event: %w", err)
	}
	return nil
}

// Events lists the status reports of a tracking code ("" for all), oldest first.
func (s *Service) Events(ctx context.Context, tracking string) ([]Event, error) {
	q := `SELECT id, received_at, tracking_code, status, status_at, source, outcome, reason, raw FROM postal_events`
	var args []any
	if tracking != "" {
		q += ` WHERE tracking_code = $1`
		args = append(args, tracking)
	}
	rows, err := s.db.Read().QueryContext(ctx, q+` ORDER BY id LIMIT 1000`, args...)
	if err != nil {
		return nil, fmt.Errorf("list postal events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at sql.NullTime
		if err := rows.Scan(&e.ID, &e.ReceivedAt, &e.TrackingCode, &e.Status, &at, &e.Source, &e.Outcome, &e.Reason, &e.Raw); err != nil {
			return nil, fmt.Errorf("list postal events: %w", err)
		}
		if at.Valid {
			e.StatusAt = at.Time.UTC()
		}
		e.ReceivedAt = e.ReceivedAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
