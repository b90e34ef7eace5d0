package nationalportal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Migrations returns the adapter's schema (module "nationalportal"). It has
// no foreign keys to other modules: dossiers are named by code.
//
// Indexes, each for a query that runs often:
//
//	nationalportal_sync PK           the sync state of a dossier (every event)
//	nationalportal_sync_failing      dossiers whose last attempt failed (admin page)
//	nationalportal_rejections_open   open rejections, newest first (admin page)
//	nationalportal_rejections_code   resolving a dossier's rejections after a success
//	nationalportal_inbound PK        the mapping of a national dossier (every inbound item)
//	nationalportal_inbound_unacked   acknowledgements still to send
//	nationalportal_mismatches_run    the mismatches of a run
//	nationalportal_backfills active  the one backfill in progress (UNIQUE: at most one)
//	nationalportal_jobs PK           the schedule of a periodic job (reconciliation)
func Migrations() []db.Migration {
	return []db.Migration{{Module: "nationalportal", Version: 1, Name: "sync state, rejections, inbound mapping, reconciliation", Up: `
CREATE TABLE nationalportal_sync (
	dossier_code TEXT PRIMARY KEY,
	synced_version BIGINT NOT NULL DEFAULT 0,
	synced_status INTEGER NOT NULL DEFAULT 0,
	synced_at {{time}},
	synced_hash TEXT NOT NULL DEFAULT '',
	failures INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	last_attempt_at {{time}},
	claim_token TEXT,
	claimed_until {{time}}
);
CREATE INDEX nationalportal_sync_failing ON nationalportal_sync (last_attempt_at) WHERE failures > 0;
CREATE TABLE nationalportal_rejections (
	id {{id}},
	dossier_code TEXT NOT NULL,
	dossier_version BIGINT NOT NULL,
	service TEXT NOT NULL,
	message TEXT NOT NULL,
	details {{json}} NOT NULL,
	created_at {{time}} NOT NULL,
	resolved_at {{time}}
);
CREATE INDEX nationalportal_rejections_open ON nationalportal_rejections (id) WHERE resolved_at IS NULL;
CREATE INDEX nationalportal_rejections_code ON nationalportal_rejections (dossier_code);
CREATE TABLE nationalportal_inbound (
	national_id TEXT PRIMARY KEY,
	seq BIGINT NOT NULL,
	dossier_code TEXT NOT NULL DEFAULT '',
	outcome TEXT NOT NULL CHECK (outcome IN ('created', 'rejected')),
	error TEXT NOT NULL DEFAULT '',
	acked {{bool}} NOT NULL DEFAULT FALSE,
	created_at {{time}} NOT NULL
);
CREATE INDEX nationalportal_inbound_unacked ON nationalportal_inbound (seq) WHERE outcome = 'created' AND NOT acked;
CREATE TABLE nationalportal_cursors (
	name TEXT PRIMARY KEY,
	value BIGINT NOT NULL,
	updated_at {{time}} NOT NULL
);
CREATE TABLE nationalportal_runs (
	id {{id}},
	period_from {{time}} NOT NULL,
	period_to {{time}} NOT NULL,
	started_at {{time}} NOT NULL,
	finished_at {{time}} NOT NULL,
	ours INTEGER NOT NULL,
	theirs INTEGER NOT NULL,
	mismatches INTEGER NOT NULL
);
CREATE TABLE nationalportal_mismatches (
	id {{id}},
	run_id BIGINT NOT NULL REFERENCES nationalportal_runs (id) ON DELETE CASCADE,
	dossier_code TEXT NOT NULL,
	kind TEXT NOT NULL,
	ours TEXT NOT NULL,
	theirs TEXT NOT NULL,
	sync_pending {{bool}} NOT NULL
);
CREATE INDEX nationalportal_mismatches_run ON nationalportal_mismatches (run_id, id);
`}, {Module: "nationalportal", Version: 2, Name: "backfills and the reconciliation schedule", Up: `
CREATE TABLE nationalportal_backfills (
	id {{id}},
	since {{time}},
	state TEXT NOT NULL CHECK (state IN ('counting', 'enqueueing', 'enqueued', 'cancelled')),
	active INTEGER UNIQUE CHECK (active = 1),
	count_cursor TEXT NOT NULL DEFAULT '',
	page_cursor TEXT NOT NULL DEFAULT '',
	total BIGINT NOT NULL DEFAULT 0,
	enqueued BIGINT NOT NULL DEFAULT 0,
	pages INTEGER NOT NULL DEFAULT 0,
	dead_before BIGINT NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	last_error_at {{time}},
	requested_by TEXT NOT NULL,
	started_at {{time}} NOT NULL,
	updated_at {{time}} NOT NULL,
	finished_at {{time}},
	lease_token TEXT,
	lease_until {{time}}
);
CREATE TABLE nationalportal_jobs (
	name TEXT PRIMARY KEY,
	interval_seconds BIGINT NOT NULL,
	next_run_at {{time}} NOT NULL,
	runs BIGINT NOT NULL DEFAULT 0,
	last_started_at {{time}},
	last_finished_at {{time}},
	last_ok {{bool}} NOT NULL DEFAULT FALSE,
	last_error TEXT NOT NULL DEFAULT '',
	last_report_id BIGINT NOT NULL DEFAULT 0,
	last_from {{time}},
	last_to {{time}},
	last_mismatches INTEGER NOT NULL DEFAULT 0,
	lease_token TEXT,
	lease_until {{time}}
);
`}}
}

// syncState is a dossier's row of nationalportal_sync.
type syncState struct {
	Version  int64
	Status   int
	SyncedAt time.Time
	Hash     string
	Failures int
	Error    string
}

// claim takes a dossier's sync lease unless another worker holds it.
func claim(ctx context.Context, d *db.DB, code, token string, now time.Time, lease time.Duration) (bool, syncState, error) {
	var st syncState
	var ok bool
	err := d.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO nationalportal_sync (dossier_code) VALUES ($1) ON CONFLICT (dossier_code) DO NOTHING`, code); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE nationalportal_sync SET claim_token = $1, claimed_until = $2
WHERE dossier_code = $3 AND (claimed_until IS NULL OR claimed_until < $4)`, token, now.Add(lease).UTC(), code, now.UTC())
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		var at sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT synced_version, synced_status, synced_at, synced_hash, failures, last_error
FROM nationalportal_sync WHERE dossier_code = $1`, code).Scan(&st.Version, &st.Status, &at, &st.Hash, &st.Failures, &st.Error); err != nil {
			return err
		}
		st.SyncedAt = at.Time
		return nil
	})
	if err != nil {
		return false, st, fmt.Errorf("nationalportal: claim %s: %w", code, err)
	}
	return ok, st, nil
}

// outcome is what a sync attempt did, recorded when its lease is released.
type outcome struct {
	Synced    bool   // the portal holds Version
	Version   int64  // the dossier version read
	Status    int    // its national status
	Hash      string // SHA-256 of the payload sent
	Error     string
	Rejection *RejectedError
}

// release gives the lease back and records the outcome: a success moves the
// synced version forward (never back) and resolves open rejections; a
// failure counts and keeps the error; a rejection is also listed for
// operators.
func release(ctx context.Context, d *db.DB, code, token string, now time.Time, o outcome) error {
	// Record the outcome even when the caller's context ended mid-call (the
	// outbox lease ran out): otherwise the lease would block the next try.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := d.Tx(ctx, func(tx *db.Tx) error {
		var err error
		switch {
		case o.Synced:
			_, err = tx.ExecContext(ctx, `UPDATE nationalportal_sync SET synced_version = $1, synced_status = $2, synced_at = $3,
	synced_hash = $6, failures = 0, last_error = '', last_attempt_at = $3
WHERE dossier_code = $4 AND claim_token = $5 AND synced_version <= $1`, o.Version, o.Status, now.UTC(), code, token, o.Hash)
			if err == nil {
				_, err = tx.ExecContext(ctx, `UPDATE nationalportal_rejections SET resolved_at = $1 WHERE dossier_code = $2 AND resolved_at IS NULL`, now.UTC(), code)
			}
		case o.Error != "":
			_, err = tx.ExecContext(ctx, `UPDATE nationalportal_sync SET failures = failures + 1, last_error = $1, last_attempt_at = $2
WHERE dossier_code = $3 AND claim_token = $4`, truncate(o.Error, 2000), now.UTC(), code, token)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE nationalportal_sync SET claim_token = NULL, claimed_until = NULL
WHERE dossier_code = $1 AND claim_token = $2`, code, token); err != nil {
			return err
		}
		if r := o.Rejection; r != nil {
			details := []byte("[]")
			if len(r.Errors) > 0 {
				details, _ = json.Marshal(r.Errors)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO nationalportal_rejections (dossier_code, dossier_version, service, message, details, created_at)
VALUES ($1, $2, $3, $4, $5, $6)`, code, o.Version, r.Service, truncate(r.Message, 2000), string(details), now.UTC()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("nationalportal: release %s: %w", code, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // keep UTF-8 whole
		n--
	}
	return s[:n]
}

// loadState returns a dossier's sync state (zero when never synced).
func loadState(ctx context.Context, q db.Querier, code string) (syncState, error) {
	var st syncState
	var at sql.NullTime
	err := q.QueryRowContext(ctx, `SELECT synced_version, synced_status, synced_at, synced_hash, failures, last_error
FROM nationalportal_sync WHERE dossier_code = $1`, code).Scan(&st.Version, &st.Status, &at, &st.Hash, &st.Failures, &st.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	st.SyncedAt = at.Time
	return st, err
}

// cursor reads a named cursor (0 when unset).
func cursor(ctx context.Context, q db.Querier, name string) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, `SELECT value FROM nationalportal_cursors WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// setCursor moves a named cursor forward (never back).
func setCursor(ctx context.Context, tx *db.Tx, name string, v int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO nationalportal_cursors (name, value, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
WHERE nationalportal_cursors.value < excluded.value`, name, v, now.UTC())
	return err
}
