package nationalportal

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Rejection is a sync the portal refused for its content; it stays open
// until a later sync of the same dossier succeeds.
type Rejection struct {
	ID             int64      `json:"id"`
	DossierCode    string     `json:"dossier_code"`
	DossierVersion int64      `json:"dossier_version"`
	Service        string     `json:"service"`
	Message        string     `json:"message"`
	Errors         []FieldLoi `json:"errors"`
	At             time.Time  `json:"at"`
}

// Failing is a dossier whose last sync attempt failed.
type Failing struct {
	DossierCode   string    `json:"dossier_code"`
	SyncedVersion int64     `json:"synced_version"`
	Failures      int       `json:"failures"`
	LastError     string    `json:"last_error"`
	LastAttemptAt time.Time `json:"last_attempt_at"`
}

// QueueState is the state of the sync for operators.
type QueueState struct {
	// Synced counts dossiers the portal holds in some version.
	Synced int64 `json:"synced"`
	// Failing lists dossiers whose last attempt failed (newest first); the
	// outbox retries them.
	Failing []Failing `json:"failing"`
	// Rejections lists open rejections (newest first).
	Rejections []Rejection `json:"rejections"`
	// InboundCursor is the last sequence number of the inbound feed taken in.
	InboundCursor int64 `json:"inbound_cursor"`
	// InboundRejected lists inbound dossiers the province could not record.
	InboundRejected []InboundRecord `json:"inbound_rejected"`
	// InboundUnacked counts inbound dossiers recorded but not yet
	// acknowledged to the portal.
	InboundUnacked int64 `json:"inbound_unacked"`
}

// State returns the sync state (at most limit rows per list, default 50).
func (s *Service) State(ctx context.Context, limit int) (QueueState, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	q := s.db.Read()
	st := QueueState{Failing: []Failing{}, Rejections: []Rejection{}, InboundRejected: []InboundRecord{}}
	wrap := func(err error) error { return fmt.Errorf("nationalportal: state: %w", err) }
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM nationalportal_sync WHERE synced_version > 0`).Scan(&st.Synced); err != nil {
		return st, wrap(err)
	}
	rows, err := q.QueryContext(ctx, `SELECT dossier_code, synced_version, failures, last_error, last_attempt_at FROM nationalportal_sync
WHERE failures > 0 ORDER BY last_attempt_at DESC LIMIT $1`, limit)
	if err != nil {
		return st, wrap(err)
	}
	for rows.Next() {
		var f Failing
		var at sql.NullTime
		if err := rows.Scan(&f.DossierCode, &f.SyncedVersion, &f.Failures, &f.LastError, &at); err != nil {
			rows.Close()
			return st, wrap(err)
		}
		f.LastAttemptAt = at.Time.UTC()
		st.Failing = append(st.Failing, f)
	}
	rows.Close()
	rows, err = q.QueryContext(ctx, `SELECT id, dossier_code, dossier_version, service, message, details, created_at
FROM nationalportal_rejections WHERE resolved_at IS NULL ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return st, wrap(err)
	}
	for rows.Next() {
		var r Rejection
		var details string
		if err := rows.Scan(&r.ID, &r.DossierCode, &r.DossierVersion, &r.Service, &r.Message, &details, &r.At); err != nil {
			rows.Close()
			return st, wrap(err)
		}
		r.At = r.At.UTC()
		_ = json.Unmarshal([]byte(details), &r.Errors)
		st.Rejections = append(st.Rejections, r)
	}
	rows.Close()
	if st.InboundCursor, err = cursor(ctx, q, inboundCursor); err != nil {
		return st, wrap(err)
	}
	rows, err = q.QueryContext(ctx, `SELECT national_id, seq, error, created_at FROM nationalportal_inbound
WHERE outcome = 'rejected' ORDER BY seq DESC LIMIT $1`, limit)
	if err != nil {
		return st, wrap(err)
	}
	for rows.Next() {
		r := InboundRecord{Outcome: "rejected"}
		if err := rows.Scan(&r.NationalID, &r.Seq, &r.Error, &r.At); err != nil {
			rows.Close()
			return st, wrap(err)
		}
		r.At = r.At.UTC()
		st.InboundRejected = append(st.InboundRejected, r)
	}
	rows.Close()
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM nationalportal_inbound WHERE outcome = 'created' AND NOT acked`).Scan(&st.InboundUnacked); err != nil {
		return st, wrap(err)
	}
	return st, nil
}

// SyncedVersion returns the dossier version the portal holds (0: never
// synced) and its national status.
func (s *Service) SyncedVersion(ctx context.Context, code string) (int64, int, error) {
	st, err := loadState(ctx, s.db.Read(), code)
	if err != nil {
		return 0, 0, fmt.Errorf("nationalportal: sync state %s: %w", code, err)
	}
	return st.Version, st.Status, nil
}
