package dossier

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/search"
	"github.com/congso/congso/internal/workflow"
)

// Migrations returns the schema of the dossier module (module "dossier").
// It needs the outbox, timer, audit and workflow schemas (their migrations
// run first).
//
// Indexes, each justified by a query that runs per request (checked by
// TestQueryPlans):
//
//	dossiers_code            Get, Lookup, every action: the dossier by code
//	dossiers_case            the workflow-event mirror: the dossier by case
//	dossiers_procedure       List filtered by procedure, newest first
//	dossiers_status          List filtered by status, newest first
//	dossier_units PK         List of a unit's dossiers, newest first
//	dossier_units_dossier    the units of a dossier (authorization)
//	dossier_files_key        a component's files and versions
//	dossier_files_hash       a file of a dossier by hash (download)
//	dossier_results_key      results and their versions
//	dossier_notices_dossier  a dossier's notices
//	dossier_idempotency PK   the idempotency key of a request
//	dossier_code_seq PK      the daily sequence of an agency
//	dossiers_fts / search_tsv  text search on applicant name, IDs, code words
func Migrations() []db.Migration {
	return []db.Migration{{Module: "dossier", Version: 1, Name: "dossiers, components, files, fees, results, notices, code sequences, idempotency keys",
		Up: schemaV1,
		Func: func(ctx context.Context, tx *db.Tx) error {
			if _, err := tx.ExecContext(ctx, search.IndexSQL(tx.Dialect, "dossiers")); err != nil {
				return fmt.Errorf("dossier search index: %w", err)
			}
			return nil
		}},
		{Module: "dossier", Version: 2, Name: "owner account of portal dossiers, applicants' ratings", Up: schemaV2}}
}

// schemaV2 links dossiers submitted on the portal to the applicant's
// account (owner; ” for counter and national-portal dossiers) and stores
// the applicant's rating of a finished dossier (one per dossier, §9).
const schemaV2 = `
ALTER TABLE dossiers ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE dossiers ADD COLUMN return_method TEXT NOT NULL DEFAULT '';
ALTER TABLE dossiers ADD COLUMN delivery_address TEXT NOT NULL DEFAULT '';
CREATE INDEX dossiers_owner ON dossiers (owner, id);
-- Form 07: the dossiers a desk received in a period.
CREATE INDEX dossiers_desk_received ON dossiers (receiving_unit, received_at);

CREATE TABLE dossier_ratings (
	dossier_id BIGINT PRIMARY KEY REFERENCES dossiers (id),
	owner TEXT NOT NULL,
	scores TEXT NOT NULL, -- JSON object: criterion key -> 1..5
	comment TEXT NOT NULL,
	competent_agency TEXT NOT NULL,
	rated_at {{time}} NOT NULL
);
CREATE INDEX dossier_ratings_agency ON dossier_ratings (competent_agency, rated_at);
`

const schemaV1 = `
CREATE TABLE dossiers (
	id {{id}},
	code TEXT NOT NULL,
	case_id TEXT NOT NULL,
	procedure_code TEXT NOT NULL,
	procedure_version INTEGER NOT NULL,
	procedure_name TEXT NOT NULL,
	field_code TEXT NOT NULL,
	process_key TEXT NOT NULL,
	process_version INTEGER NOT NULL,
	channel INTEGER NOT NULL CHECK (channel IN (1, 2, 3)),
	applicant_type TEXT NOT NULL,
	applicant_name TEXT NOT NULL,
	applicant_personal_id TEXT NOT NULL,
	applicant_tax_code TEXT NOT NULL,
	applicant_phone TEXT NOT NULL,
	applicant_email TEXT NOT NULL,
	applicant_address TEXT NOT NULL,
	representative TEXT NOT NULL, -- JSON object, or '' when none
	form_data TEXT NOT NULL,      -- the JSON text as submitted (compacted)
	receiving_agency TEXT NOT NULL,
	receiving_unit TEXT NOT NULL,
	competent_agency TEXT NOT NULL,
	division_unit TEXT NOT NULL,
	agency_unit TEXT NOT NULL,
	state TEXT NOT NULL,
	status TEXT NOT NULL,
	national_status INTEGER NOT NULL,
	outcome TEXT NOT NULL,
	version BIGINT NOT NULL,
	unit TEXT NOT NULL,
	assignee TEXT NOT NULL,
	submitted_at {{time}} NOT NULL,
	received_at {{time}},
	due_at {{time}},
	finished_at {{time}},
	returned_at {{time}},
	ended_at {{time}},
	paused_at {{time}},
	paused_seconds BIGINT NOT NULL,
	received_by TEXT NOT NULL,
	created_by TEXT NOT NULL,
	updated_at {{time}} NOT NULL,
	search_text TEXT NOT NULL
);
CREATE UNIQUE INDEX dossiers_code ON dossiers (code);
CREATE UNIQUE INDEX dossiers_case ON dossiers (case_id);
CREATE INDEX dossiers_procedure ON dossiers (procedure_code, id);
CREATE INDEX dossiers_status ON dossiers (status, id);

-- Every unit a dossier has passed through (desk, division, agency, consulted
-- agencies): who may see it, and the lists of a unit.
CREATE TABLE dossier_units (
	unit TEXT NOT NULL,
	dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
	PRIMARY KEY (unit, dossier_id)
);
CREATE INDEX dossier_units_dossier ON dossier_units (dossier_id);

CREATE TABLE dossier_components (
	dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
	n INTEGER NOT NULL,
	name TEXT NOT NULL,
	required {{bool}} NOT NULL,
	form TEXT NOT NULL,
	quantity INTEGER NOT NULL,
	provided TEXT NOT NULL,
	provided_quantity INTEGER NOT NULL,
	reused {{bool}} NOT NULL,
	reuse_ref TEXT NOT NULL,
	note TEXT NOT NULL,
	PRIMARY KEY (dossier_id, n)
);

-- Versions of component files; a new version of a name supersedes the
-- previous one, which is kept.
CREATE TABLE dossier_files (
	id {{id}},
	dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
	component INTEGER NOT NULL,
	name TEXT NOT NULL,
	version INTEGER NOT NULL,
	hash TEXT NOT NULL,
	size BIGINT NOT NULL,
	media_type TEXT NOT NULL,
	digitized {{bool}} NOT NULL,
	reused {{bool}} NOT NULL,
	added_by TEXT NOT NULL,
	added_at {{time}} NOT NULL,
	superseded_at {{time}}
);
CREATE UNIQUE INDEX dossier_files_key ON dossier_files (dossier_id, component, name, version);
CREATE INDEX dossier_files_hash ON dossier_files (dossier_id, hash);

CREATE TABLE dossier_fees (
	dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
	n INTEGER NOT NULL,
	name TEXT NOT NULL,
	amount BIGINT NOT NULL,
	stage TEXT NOT NULL,
	status TEXT NOT NULL,
	paid_at {{time}},
	reference TEXT NOT NULL,
	PRIMARY KEY (dossier_id, n)
);

CREATE TABLE dossier_results (
	id {{id}},
	dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
	result_code TEXT NOT NULL,
	version INTEGER NOT NULL,
	name TEXT NOT NULL,
	issuer TEXT NOT NULL,
	issued_at {{time}},
	valid_from TEXT NOT NULL,
	valid_to TEXT NOT NULL,
	file_name TEXT NOT NULL,
	file_hash TEXT NOT NULL,
	file_size BIGINT NOT NULL,
	media_type TEXT NOT NULL,
	added_by TEXT NOT NULL,
	added_at {{time}} NOT NULL,
	superseded_at {{time}}
);
CREATE UNIQUE INDEX dossier_results_key ON dossier_results (dossier_id, result_code, version);

-- Data of the forms handed to the applicant (02 supplement request, 03
-- refusal, 04 apology letter, 05 stop notice) and of withdrawals.
CREATE TABLE dossier_notices (
	id {{id}},
	dossier_id BIGINT NOT NULL REFERENCES dossiers (id),
	kind TEXT NOT NULL,
	action TEXT NOT NULL,
	case_version BIGINT NOT NULL,
	reason TEXT NOT NULL,
	defects TEXT NOT NULL,
	previous_due {{time}},
	new_due {{time}},
	issued_by TEXT NOT NULL,
	issued_at {{time}} NOT NULL
);
CREATE INDEX dossier_notices_dossier ON dossier_notices (dossier_id, id);

-- §5: the daily sequence of each receiving agency, incremented inside the
-- transaction that records the dossier (row lock until commit: no duplicate,
-- and a rolled-back dossier gives its number back: no gap).
CREATE TABLE dossier_code_seq (
	agency TEXT NOT NULL,
	day TEXT NOT NULL,
	last INTEGER NOT NULL,
	PRIMARY KEY (agency, day)
);

-- Idempotency keys of creates and transitions, written in the transaction
-- of the effect; response is the exact JSON answered the first time.
CREATE TABLE dossier_idempotency (
	scope TEXT NOT NULL,
	idem_key TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	response TEXT NOT NULL,
	created_at {{time}} NOT NULL,
	PRIMARY KEY (scope, idem_key)
);
CREATE INDEX dossier_idempotency_created ON dossier_idempotency (created_at);
`

// ts normalises a time for storage: UTC, microseconds (PostgreSQL's
// precision), so values read back compare equal on both engines.
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

func fromNull(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// row is a dossier as stored, with its row id.
type row struct {
	Dossier
	id int64
}

const dossierColumns = `d.id, d.code, d.case_id, d.procedure_code, d.procedure_version, d.procedure_name, d.field_code,
	d.process_key, d.process_version, d.channel, d.applicant_type, d.applicant_name, d.applicant_personal_id,
	d.applicant_tax_code, d.applicant_phone, d.applicant_email, d.applicant_address, d.representative, d.form_data,
	d.receiving_agency, d.receiving_unit, d.competent_agency, d.division_unit, d.agency_unit,
	d.state, d.status, d.national_status, d.outcome, d.version, d.unit, d.assignee,
	d.submitted_at, d.received_at, d.due_at, d.finished_at, d.returned_at, d.ended_at, d.paused_at, d.paused_seconds,
	d.received_by, d.created_by, d.updated_at, d.owner, d.return_method, d.delivery_address`

func scanDossier(sc interface{ Scan(...any) error }) (*row, error) {
	var r row
	var rep, form string
	var received, due, finished, returned, ended, paused sql.NullTime
	err := sc.Scan(&r.id, &r.Code, &r.CaseID, &r.ProcedureCode, &r.ProcedureVersion, &r.ProcedureName, &r.FieldCode,
		&r.ProcessKey, &r.ProcessVersion, &r.Channel, &r.Applicant.Type, &r.Applicant.Name, &r.Applicant.PersonalID,
		&r.Applicant.TaxCode, &r.Applicant.Phone, &r.Applicant.Email, &r.Applicant.Address, &rep, &form,
		&r.ReceivingAgency, &r.ReceivingUnit, &r.CompetentAgency, &r.DivisionUnit, &r.AgencyUnit,
		&r.State, &r.Status, &r.NationalStatus, &r.Outcome, &r.Version, &r.Unit, &r.Assignee,
		&r.SubmittedAt, &received, &due, &finished, &returned, &ended, &paused, &r.PausedSeconds,
		&r.ReceivedBy, &r.CreatedBy, &r.UpdatedAt, &r.Owner, &r.ReturnMethod, &r.DeliveryAddress)
	if err != nil {
		return nil, err
	}
	if rep != "" {
		r.Representative = &Representative{}
		if err := json.Unmarshal([]byte(rep), r.Representative); err != nil {
			return nil, fmt.Errorf("dossier %s: representative: %w", r.Code, err)
		}
	}
	r.FormData = json.RawMessage(form)
	r.SubmittedAt, r.UpdatedAt = r.SubmittedAt.UTC(), r.UpdatedAt.UTC()
	r.ReceivedAt, r.DueAt, r.FinishedAt = fromNull(received), fromNull(due), fromNull(finished)
	r.ReturnedAt, r.EndedAt, r.PausedAt = fromNull(returned), fromNull(ended), fromNull(paused)
	return &r, nil
}

// loadDossier reads a dossier by code; lock takes the row lock on
// PostgreSQL (inside a write transaction) so that everything done to one
// dossier queues in one order: dossier row, then workflow case, then the
// audit chain head.
func loadDossier(ctx context.Context, q db.Querier, code string, lock bool) (*row, error) {
	query := `SELECT ` + dossierColumns + ` FROM dossiers d WHERE d.code = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	r, err := scanDossier(q.QueryRowContext(ctx, query, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, refuse(ErrNotFound, "dossier.not_found", "no dossier "+code, "code", code)
	}
	if err != nil {
		return nil, fmt.Errorf("load dossier %s: %w", code, err)
	}
	return r, nil
}

func lockClause(tx *db.Tx) bool { return tx.Dialect == db.Postgres }

// insertDossier writes a new dossier row and returns its id.
func insertDossier(ctx context.Context, tx *db.Tx, d *Dossier) (int64, error) {
	rep := ""
	if d.Representative != nil {
		b, err := json.Marshal(d.Representative)
		if err != nil {
			return 0, err
		}
		rep = string(b)
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO dossiers (code, case_id, procedure_code, procedure_version, procedure_name, field_code,
	process_key, process_version, channel, applicant_type, applicant_name, applicant_personal_id, applicant_tax_code,
	applicant_phone, applicant_email, applicant_address, representative, form_data,
	receiving_agency, receiving_unit, competent_agency, division_unit, agency_unit,
	state, status, national_status, outcome, version, unit, assignee,
	submitted_at, paused_seconds, received_by, created_by, updated_at, search_text, owner, return_method, delivery_address)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
	$24, $25, $26, '', 0, $27, '', $28, 0, '', $29, $28, $30, $31, $32, $33) RETURNING id`,
		d.Code, d.CaseID, d.ProcedureCode, d.ProcedureVersion, d.ProcedureName, d.FieldCode,
		d.ProcessKey, d.ProcessVersion, int(d.Channel), string(d.Applicant.Type), d.Applicant.Name, d.Applicant.PersonalID, d.Applicant.TaxCode,
		d.Applicant.Phone, d.Applicant.Email, d.Applicant.Address, rep, string(d.FormData),
		d.ReceivingAgency, d.ReceivingUnit, d.CompetentAgency, d.DivisionUnit, d.AgencyUnit,
		d.State, string(d.Status), d.NationalStatus, d.ReceivingUnit, ts(d.SubmittedAt), d.CreatedBy,
		search.Text(append(searchFields(d), d.Code)...), d.Owner, d.ReturnMethod, d.DeliveryAddress).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert dossier %s: %w", d.Code, err)
	}
	return id, nil
}

// mirror copies the workflow case into the dossier row: state, statuses,
// version, units, assignee and every date the statistics need (§6).
func mirror(ctx context.Context, tx *db.Tx, id int64, c *workflow.Case, receivedBy string, now time.Time) error {
	st := StatusOf(c.State, c.Status)
	if c.ClockStartedAt.IsZero() {
		receivedBy = "" // not received yet
	}
	var returned time.Time
	if st == StatusReturned {
		returned = c.StateEnteredAt
	}
	_, err := tx.ExecContext(ctx, `UPDATE dossiers SET state = $2, status = $3, national_status = $4, outcome = $5, version = $6,
	unit = $7, assignee = $8, received_at = $9, due_at = $10, finished_at = $11, ended_at = $12, paused_at = $13,
	paused_seconds = $14, division_unit = $15, agency_unit = $16,
	returned_at = COALESCE(returned_at, $17), received_by = CASE WHEN received_by = '' THEN $18 ELSE received_by END,
	updated_at = $19
WHERE id = $1`, id, c.State, string(st), c.Status, c.Outcome, c.Version,
		c.Unit, c.Assignee, nullTime(c.ClockStartedAt), nullTime(c.DueAt), nullTime(c.FinishedAt), nullTime(c.EndedAt), nullTime(c.PausedAt),
		int64(c.PausedTotal/time.Second), c.Units["division"], c.Units["agency"],
		nullTime(returned), receivedBy, ts(now))
	if err != nil {
		return fmt.Errorf("mirror case %s: %w", c.ID, err)
	}
	units := []string{c.Unit}
	for _, u := range c.Units {
		units = append(units, u)
	}
	for _, b := range c.Branches {
		units = append(units, b.Unit)
	}
	return addUnits(ctx, tx, id, units...)
}

// addUnits records units the dossier has passed through, in one statement.
func addUnits(ctx context.Context, tx *db.Tx, id int64, units ...string) error {
	seen := map[string]bool{}
	var vals []string
	args := []any{id}
	for _, u := range units {
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		args = append(args, u)
		vals = append(vals, fmt.Sprintf("($%d, $1)", len(args)))
	}
	if len(vals) == 0 {
		return nil
	}
	return tx.Defer(ctx, nil, "dossier units", `INSERT INTO dossier_units (unit, dossier_id) VALUES `+strings.Join(vals, ", ")+
		` ON CONFLICT (unit, dossier_id) DO NOTHING`, args...)
}

func dossierUnits(ctx context.Context, q db.Querier, id int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT unit FROM dossier_units WHERE dossier_id = $1 ORDER BY unit`, id)
	if err != nil {
		return nil, fmt.Errorf("dossier units: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// --- code sequence (§5) ---

// nextSeq increments and returns the daily sequence of agency on day, in
// tx. The upsert takes the row's lock until tx ends, so concurrent
// receptions of one agency queue here, on one node or many; a transaction
// that rolls back takes its increment with it.
func nextSeq(ctx context.Context, tx *db.Tx, agency, day string) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `INSERT INTO dossier_code_seq (agency, day, last) VALUES ($1, $2, 1)
ON CONFLICT (agency, day) DO UPDATE SET last = dossier_code_seq.last + 1 RETURNING last`, agency, day).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("dossier code sequence %s %s: %w", agency, day, err)
	}
	return n, nil
}

// --- components, files, fees ---

func insertComponents(ctx context.Context, tx *db.Tx, id int64, p catalog.Procedure, comps []ComponentInput) error {
	if len(p.Documents) == 0 {
		return nil
	}
	byN := map[int]ComponentInput{}
	for _, c := range comps {
		byN[c.N] = c
	}
	var vals []string
	args := []any{id}
	for i, doc := range p.Documents {
		c := byN[i+1]
		n := len(args)
		args = append(args, i+1, doc.Name, doc.Required, string(doc.Form), doc.Quantity, string(c.Provided), c.Quantity, c.Reused, c.ReuseRef, c.Note)
		ph := make([]string, 10)
		for j := range ph {
			ph[j] = fmt.Sprintf("$%d", n+1+j)
		}
		vals = append(vals, "($1, "+strings.Join(ph, ", ")+")")
	}
	// Deferred: on PostgreSQL it travels with the next statement or the
	// commit (no round trip of its own).
	return tx.Defer(ctx, nil, "insert components", `INSERT INTO dossier_components (dossier_id, n, name, required, form, quantity, provided,
	provided_quantity, reused, reuse_ref, note) VALUES `+strings.Join(vals, ", "), args...)
}

// supplyComponent records what was newly provided for an existing
// component (a supplement, or paper received at the counter).
func supplyComponent(ctx context.Context, tx *db.Tx, id int64, c ComponentInput) error {
	res, err := tx.ExecContext(ctx, `UPDATE dossier_components SET provided = CASE WHEN $3 = '' THEN provided ELSE $3 END,
	provided_quantity = CASE WHEN $4 > 0 THEN $4 ELSE provided_quantity END,
	reused = CASE WHEN $5 THEN $5 ELSE reused END, reuse_ref = CASE WHEN $6 = '' THEN reuse_ref ELSE $6 END,
	note = CASE WHEN $7 = '' THEN note ELSE $7 END
WHERE dossier_id = $1 AND n = $2`, id, c.N, string(c.Provided), c.Quantity, c.Reused, c.ReuseRef, c.Note)
	if err != nil {
		return fmt.Errorf("supply component %d: %w", c.N, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return refuse(ErrNotFound, "dossier.component_not_found", fmt.Sprintf("no component %d", c.N), "n", c.N)
	}
	return nil
}

// addFile adds f as the next version of its name in component n, unless
// the current version already has the same content (then it returns that
// version: adding the same file twice is harmless). fresh says the dossier
// is being recorded in tx and has no file yet.
func addFile(ctx context.Context, tx *db.Tx, id int64, n int, f File, fresh bool) (File, error) {
	var cur File
	var curID int64
	var superseded sql.NullTime
	err := sql.ErrNoRows
	if !fresh {
		err = tx.QueryRowContext(ctx, `SELECT id, version, hash, size, media_type, digitized, reused, added_by, added_at, superseded_at
FROM dossier_files WHERE dossier_id = $1 AND component = $2 AND name = $3 ORDER BY version DESC LIMIT 1`, id, n, f.Name).
			Scan(&curID, &cur.Version, &cur.Hash, &cur.Size, &cur.MediaType, &cur.Digitized, &cur.Reused, &cur.AddedBy, &cur.AddedAt, &superseded)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return File{}, fmt.Errorf("add file %q: %w", f.Name, err)
	case cur.Hash == f.Hash:
		cur.Name, cur.AddedAt = f.Name, cur.AddedAt.UTC()
		return cur, nil
	default:
		if _, err := tx.ExecContext(ctx, `UPDATE dossier_files SET superseded_at = $2 WHERE id = $1`, curID, ts(f.AddedAt)); err != nil {
			return File{}, fmt.Errorf("supersede file %q: %w", f.Name, err)
		}
	}
	f.Version = cur.Version + 1
	f.AddedAt = ts(f.AddedAt)
	if err := tx.Defer(ctx, nil, fmt.Sprintf("add file %q", f.Name), `INSERT INTO dossier_files (dossier_id, component, name, version, hash, size, media_type,
	digitized, reused, added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		id, n, f.Name, f.Version, f.Hash, f.Size, f.MediaType, f.Digitized, f.Reused, f.AddedBy, f.AddedAt); err != nil {
		return File{}, err
	}
	return f, nil
}

func insertFees(ctx context.Context, tx *db.Tx, id int64, fees []catalog.Fee) error {
	for i, f := range fees {
		if err := tx.Defer(ctx, nil, fmt.Sprintf("insert fee %d", i+1), `INSERT INTO dossier_fees (dossier_id, n, name, amount, stage, status, reference)
VALUES ($1, $2, $3, $4, $5, $6, '')`, id, i+1, f.Name, f.Amount, string(f.PaidAt), string(FeeUnpaid)); err != nil {
			return err
		}
	}
	return nil
}

func loadComponents(ctx context.Context, q db.Querier, id int64) ([]Component, error) {
	rows, err := q.QueryContext(ctx, `SELECT n, name, required, form, quantity, provided, provided_quantity, reused, reuse_ref, note
FROM dossier_components WHERE dossier_id = $1 ORDER BY n`, id)
	if err != nil {
		return nil, fmt.Errorf("components: %w", err)
	}
	var out []Component
	for rows.Next() {
		var c Component
		if err := rows.Scan(&c.N, &c.Name, &c.Required, &c.Form, &c.Quantity, &c.Provided, &c.ProvidedQuantity, &c.Reused, &c.ReuseRef, &c.Note); err != nil {
			rows.Close()
			return nil, fmt.Errorf("components: %w", err)
		}
		c.Files = []File{}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	files, err := loadFiles(ctx, q, id, 0)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		i := f.component - 1
		if i < 0 || i >= len(out) {
			continue
		}
		if f.SupersededAt.IsZero() {
			out[i].Files = append(out[i].Files, f.File)
		} else {
			out[i].History = append(out[i].History, f.File)
		}
	}
	return out, nil
}

type fileRow struct {
	File
	component int
}

// loadFiles returns a dossier's file versions (of component n, or of every
// component when n is 0), by component, name and version.
func loadFiles(ctx context.Context, q db.Querier, id int64, n int) ([]fileRow, error) {
	query := `SELECT component, name, version, hash, size, media_type, digitized, reused, added_by, added_at, superseded_at
FROM dossier_files WHERE dossier_id = $1`
	args := []any{id}
	if n > 0 {
		query += ` AND component = $2`
		args = append(args, n)
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY component, name, version`, args...)
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	defer rows.Close()
	var out []fileRow
	for rows.Next() {
		var f fileRow
		var sup sql.NullTime
		if err := rows.Scan(&f.component, &f.Name, &f.Version, &f.Hash, &f.Size, &f.MediaType, &f.Digitized, &f.Reused,
			&f.AddedBy, &f.AddedAt, &sup); err != nil {
			return nil, fmt.Errorf("files: %w", err)
		}
		f.AddedAt, f.SupersededAt = f.AddedAt.UTC(), fromNull(sup)
		out = append(out, f)
	}
	return out, rows.Err()
}

func loadFees(ctx context.Context, q db.Querier, id int64) ([]Fee, error) {
	rows, err := q.QueryContext(ctx, `SELECT n, name, amount, stage, status, paid_at, reference FROM dossier_fees WHERE dossier_id = $1 ORDER BY n`, id)
	if err != nil {
		return nil, fmt.Errorf("fees: %w", err)
	}
	defer rows.Close()
	out := []Fee{}
	for rows.Next() {
		var f Fee
		var paid sql.NullTime
		if err := rows.Scan(&f.N, &f.Name, &f.Amount, &f.Stage, &f.Status, &paid, &f.Reference); err != nil {
			return nil, fmt.Errorf("fees: %w", err)
		}
		f.PaidAt = fromNull(paid)
		out = append(out, f)
	}
	return out, rows.Err()
}

// --- results ---

func loadResults(ctx context.Context, q db.Querier, id int64, withHistory bool) ([]Result, error) {
	query := `SELECT result_code, version, name, issuer, issued_at, valid_from, valid_to, file_name, file_hash, file_size,
	media_type, added_by, added_at, superseded_at FROM dossier_results WHERE dossier_id = $1`
	if !withHistory {
		query += ` AND superseded_at IS NULL`
	}
	rows, err := q.QueryContext(ctx, query+` ORDER BY result_code, version`, id)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer rows.Close()
	out := []Result{}
	for rows.Next() {
		var r Result
		var issued, sup sql.NullTime
		var from, to string
		if err := rows.Scan(&r.ResultCode, &r.Version, &r.Name, &r.Issuer, &issued, &from, &to, &r.File.Name, &r.File.Hash,
			&r.File.Size, &r.File.MediaType, &r.File.AddedBy, &r.File.AddedAt, &sup); err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		r.IssuedAt, r.SupersededAt = fromNull(issued), fromNull(sup)
		r.File.AddedAt, r.File.Version, r.File.SupersededAt = r.File.AddedAt.UTC(), r.Version, r.SupersededAt
		r.ValidFrom, _ = calendar.ParseDate(from)
		r.ValidTo, _ = calendar.ParseDate(to)
		out = append(out, r)
	}
	return out, rows.Err()
}

func dateText(d calendar.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// --- notices ---

func insertNotice(ctx context.Context, tx *db.Tx, id int64, n Notice) error {
	defs := "[]"
	if len(n.Defects) > 0 {
		b, err := json.Marshal(n.Defects)
		if err != nil {
			return err
		}
		defs = string(b)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO dossier_notices (dossier_id, kind, action, case_version, reason, defects,
	previous_due, new_due, issued_by, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, string(n.Kind), n.Action, n.CaseVersion, n.Reason, defs, nullTime(n.PreviousDue), nullTime(n.NewDue), n.IssuedBy, ts(n.IssuedAt)); err != nil {
		return fmt.Errorf("insert notice %s: %w", n.Kind, err)
	}
	return nil
}

func loadNotices(ctx context.Context, q db.Querier, id int64) ([]Notice, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind, action, case_version, reason, defects, previous_due, new_due, issued_by, issued_at
FROM dossier_notices WHERE dossier_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("notices: %w", err)
	}
	defer rows.Close()
	out := []Notice{}
	for rows.Next() {
		var n Notice
		var defs string
		var prev, next sql.NullTime
		if err := rows.Scan(&n.Kind, &n.Action, &n.CaseVersion, &n.Reason, &defs, &prev, &next, &n.IssuedBy, &n.IssuedAt); err != nil {
			return nil, fmt.Errorf("notices: %w", err)
		}
		if err := json.Unmarshal([]byte(defs), &n.Defects); err != nil {
			return nil, fmt.Errorf("notices: defects: %w", err)
		}
		n.Form, n.PreviousDue, n.NewDue, n.IssuedAt = n.Kind.Form(), fromNull(prev), fromNull(next), n.IssuedAt.UTC()
		out = append(out, n)
	}
	return out, rows.Err()
}

// --- idempotency ---

// claimKey records that (scope, key) is being used for a request whose
// hash is hash, in tx. If the key was already used it returns the stored
// response (same request) or ErrIdempotencyKeyReused (different request).
// On PostgreSQL a concurrent first use of the same key waits on the
// primary key until that transaction ends, then sees its outcome.
func claimKey(ctx context.Context, tx *db.Tx, scope, key, hash string, now time.Time) (stored []byte, found bool, err error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO dossier_idempotency (scope, idem_key, request_hash, response, created_at)
VALUES ($1, $2, $3, '', $4) ON CONFLICT (scope, idem_key) DO NOTHING`, scope, key, hash, ts(now))
	if err != nil {
		return nil, false, fmt.Errorf("idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil, false, nil
	}
	var h, resp string
	if err := tx.QueryRowContext(ctx, `SELECT request_hash, response FROM dossier_idempotency WHERE scope = $1 AND idem_key = $2`,
		scope, key).Scan(&h, &resp); err != nil {
		return nil, false, fmt.Errorf("idempotency key: %w", err)
	}
	if h != hash {
		return nil, false, refuse(ErrIdempotencyKeyReused, "dossier.idempotency_key_reused",
			"idempotency key "+key+" was used for a different request", "key", key)
	}
	return []byte(resp), true, nil
}

// storedResponse returns the response stored under an idempotency key
// ("" when there is none).
func storedResponse(ctx context.Context, d *db.DB, scope, key string) (string, error) {
	var resp string
	err := d.Read().QueryRowContext(ctx, `SELECT response FROM dossier_idempotency WHERE scope = $1 AND idem_key = $2`, scope, key).Scan(&resp)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("dossier: idempotency key %s: %w", key, err)
	}
	return resp, nil
}

func storeResponse(ctx context.Context, tx *db.Tx, scope, key string, resp any) error {
	b, err := json.Marshal(resp)
	if err != nil {
		return fmt.Errorf("idempotency response: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE dossier_idempotency SET response = $3 WHERE scope = $1 AND idem_key = $2`, scope, key, string(b)); err != nil {
		return fmt.Errorf("idempotency response: %w", err)
	}
	return nil
}

// --- lists ---

// listSQL builds the query of one page of dossiers (see Service.List).
func listSQL(d db.Dialect, q ListQuery, afterID int64, limit int) (string, []any) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	var from, where []string
	order := "d.id DESC"
	from = append(from, "dossiers d")
	if q.Unit != "" {
		from = append(from, "JOIN dossier_units du ON du.dossier_id = d.id")
		where = append(where, "du.unit = "+arg(q.Unit))
		order = "du.dossier_id DESC"
	}
	text := strings.TrimSpace(q.Text)
	switch {
	case text == "":
	case ValidCode(strings.ToUpper(text)):
		where = append(where, "d.code = "+arg(strings.ToUpper(text)))
	default:
		if m, ok := search.Match(d, "dossiers", "d", text, len(args)+1); ok {
			if m.Join != "" {
				from = append(from, m.Join)
			}
			args = append(args, m.Args...)
			where = append(where, m.Where)
		}
	}
	if q.ProcedureCode != "" {
		where = append(where, "d.procedure_code = "+arg(q.ProcedureCode))
	}
	if len(q.Statuses) > 0 {
		ph := make([]string, len(q.Statuses))
		for i, s := range q.Statuses {
			ph[i] = arg(string(s))
		}
		where = append(where, "d.status IN ("+strings.Join(ph, ", ")+")")
	}
	if !q.ReceivedFrom.IsZero() {
		where = append(where, "COALESCE(d.received_at, d.submitted_at) >= "+arg(q.ReceivedFrom.UTC()))
	}
	if !q.ReceivedTo.IsZero() {
		where = append(where, "COALESCE(d.received_at, d.submitted_at) < "+arg(q.ReceivedTo.UTC()))
	}
	if afterID > 0 {
		if q.Unit != "" {
			where = append(where, "du.dossier_id < "+arg(afterID))
		} else {
			where = append(where, "d.id < "+arg(afterID))
		}
	}
	query := "SELECT " + dossierColumns + " FROM " + strings.Join(from, " ")
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	return query + fmt.Sprintf(" ORDER BY %s LIMIT %d", order, limit+1), args
}
