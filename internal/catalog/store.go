package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/search"
)

// Tables. The searched tables have an integer primary key ({{id}}) so that
// SQLite's FTS5 external-content index can rely on a stable rowid.
//
// Per-request queries and the index each uses (SQLite EXPLAIN QUERY PLAN is
// checked by TestQueryPlans):
//
//	admin unit by code                       catalog_admin_units code UNIQUE
//	admin units by parent / level             catalog_admin_units_parent, _level
//	admin-unit text search                    catalog_admin_units_fts / search_tsv GIN
//	successors / predecessors of a unit       PK (code, successor_code) / _successors_succ
//	agency by e-ID (current or former)        catalog_agency_eids PK
//	agencies by parent / admin unit           catalog_agencies_parent, _admin_unit
//	agency text search                        catalog_agencies_fts / search_tsv GIN
//	procedure version by code (+ version)     catalog_procedure_versions UNIQUE (code, version)
//	catalog revision (every procedure search) catalog_revisions PK
//
// Procedure search itself runs on an in-memory index (index.go) rebuilt when
// the revision changes, so it needs no SQL index of its own.
const schemaV1 = `
CREATE TABLE catalog_admin_units (
	id {{id}},
	code TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	level TEXT NOT NULL,
	kind TEXT NOT NULL,
	parent_code TEXT REFERENCES catalog_admin_units (code),
	effective_from TEXT NOT NULL,
	effective_to TEXT,
	search_text TEXT NOT NULL
);
CREATE INDEX catalog_admin_units_parent ON catalog_admin_units (parent_code);
CREATE INDEX catalog_admin_units_level ON catalog_admin_units (level, effective_from);

CREATE TABLE catalog_admin_unit_successors (
	code TEXT NOT NULL REFERENCES catalog_admin_units (code),
	successor_code TEXT NOT NULL REFERENCES catalog_admin_units (code),
	PRIMARY KEY (code, successor_code)
);
CREATE INDEX catalog_admin_unit_successors_succ ON catalog_admin_unit_successors (successor_code);

CREATE TABLE catalog_agencies (
	id {{id}},
	eid TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	short_name TEXT NOT NULL,
	kind TEXT NOT NULL,
	level TEXT NOT NULL,
	parent_id BIGINT REFERENCES catalog_agencies (id),
	admin_unit_code TEXT REFERENCES catalog_admin_units (code),
	effective_from TEXT NOT NULL,
	effective_to TEXT,
	search_text TEXT NOT NULL
);
CREATE INDEX catalog_agencies_parent ON catalog_agencies (parent_id);
CREATE INDEX catalog_agencies_admin_unit ON catalog_agencies (admin_unit_code);

-- Every e-ID an agency ever had, the current one included: the primary key
-- makes an e-ID belong to one agency for ever.
CREATE TABLE catalog_agency_eids (
	eid TEXT PRIMARY KEY,
	agency_id BIGINT NOT NULL REFERENCES catalog_agencies (id)
);
CREATE INDEX catalog_agency_eids_agency ON catalog_agency_eids (agency_id);

CREATE TABLE catalog_fields (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL
);

CREATE TABLE catalog_procedure_versions (
	id {{id}},
	code TEXT NOT NULL,
	version INTEGER NOT NULL,
	name TEXT NOT NULL,
	field_code TEXT NOT NULL REFERENCES catalog_fields (code),
	level TEXT NOT NULL,
	competent_agency_id BIGINT REFERENCES catalog_agencies (id),
	implementing_agency_id BIGINT REFERENCES catalog_agencies (id),
	online_level TEXT NOT NULL,
	documents {{json}} NOT NULL,
	fees {{json}} NOT NULL,
	duration_value INTEGER NOT NULL,
	duration_unit TEXT NOT NULL,
	legal_basis {{json}} NOT NULL,
	form_schema TEXT NOT NULL,
	process_key TEXT NOT NULL,
	effective_from TEXT NOT NULL,
	effective_to TEXT,
	status TEXT NOT NULL,
	UNIQUE (code, version)
);
-- For foreign-key checks when a field or an agency changes.
CREATE INDEX catalog_procedure_versions_field ON catalog_procedure_versions (field_code);
CREATE INDEX catalog_procedure_versions_competent ON catalog_procedure_versions (competent_agency_id);
CREATE INDEX catalog_procedure_versions_implementing ON catalog_procedure_versions (implementing_agency_id);

-- Bumped by every catalog write, so that each node knows when to rebuild its
-- in-memory procedure index.
CREATE TABLE catalog_revisions (
	name TEXT PRIMARY KEY,
	rev BIGINT NOT NULL
);
INSERT INTO catalog_revisions (name, rev) VALUES ('catalog', 1);
`

// schemaV2 adds the agencies' contact details and the procedures' FAQ (a
// JSON array of {question, answer}, part of the versioned document like the
// documents and fees).
const schemaV2 = `
ALTER TABLE catalog_agencies ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog_agencies ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog_agencies ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog_agencies ADD COLUMN website TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog_agencies ADD COLUMN opening_hours TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog_procedure_versions ADD COLUMN faq {{json}} NOT NULL DEFAULT '[]';
`

// Migrations returns the schema of module "catalog", to register with
// db.Migrate.
func Migrations() []db.Migration {
	return []db.Migration{{
		Module:  "catalog",
		Version: 1,
		Name:    "catalog tables",
		Up:      schemaV1,
		Func: func(ctx context.Context, tx *db.Tx) error {
			for _, t := range []string{"catalog_admin_units", "catalog_agencies"} {
				if _, err := tx.ExecContext(ctx, search.IndexSQL(tx.Dialect, t)); err != nil {
					return fmt.Errorf("search index on %s: %w", t, err)
				}
			}
			return nil
		},
	}, {
		Module:  "catalog",
		Version: 2,
		Name:    "agency contact details, procedure FAQ",
		Up:      schemaV2,
	}}
}

// listAgg is the aggregate that joins a column's values with spaces: the one
// dialect difference of this store.
func listAgg(d db.Dialect, col string) string {
	if d == db.Postgres {
		return "string_agg(" + col + ", ' ')"
	}
	return "group_concat(" + col + ", ' ')"
}

func splitList(s sql.NullString) []string {
	if !s.Valid || s.String == "" {
		return nil
	}
	out := strings.Fields(s.String)
	slices.Sort(out)
	return out
}

func dateArg(d calendar.Date) any {
	if d.IsZero() {
		return nil
	}
	return d.String()
}

func scanDate(s sql.NullString) (calendar.Date, error) {
	if !s.Valid || s.String == "" {
		return calendar.Date{}, nil
	}
	return calendar.ParseDate(s.String)
}

// catalogLockKey is the PostgreSQL advisory lock that serialises catalog
// writes ("catalog" in ASCII).
const catalogLockKey = 0x636174616c6f67

// lockCatalog makes catalog writes run one at a time, so that the checks a
// batch makes on a snapshot (references, cycles, version numbers) still hold
// when it commits. SQLite's single writer already does this.
func lockCatalog(ctx context.Context, tx *db.Tx) error {
	if tx.Dialect != db.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, catalogLockKey); err != nil {
		return fmt.Errorf("lock catalog: %w", err)
	}
	return nil
}

// analyzeAfter is the number of written records after which an import
// refreshes the planner statistics.
const analyzeAfter = 100

// analyze refreshes the planner statistics of the catalog tables.
func analyze(ctx context.Context, d *db.DB) error {
	for _, t := range []string{"catalog_admin_units", "catalog_agencies", "catalog_procedure_versions"} {
		if _, err := d.Write().ExecContext(ctx, "ANALYZE "+t); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return nil
}

// ---- administrative units -------------------------------------------------

func adminUnitSelect(d db.Dialect) string {
	return `SELECT u.code, u.name, u.level, u.kind, u.parent_code, u.effective_from, u.effective_to,
	(SELECT ` + listAgg(d, "s.successor_code") + ` FROM catalog_admin_unit_successors s WHERE s.code = u.code)
FROM catalog_admin_units u `
}

func scanAdminUnits(rows *sql.Rows) ([]AdminUnit, error) {
	defer rows.Close()
	var out []AdminUnit
	for rows.Next() {
		var u AdminUnit
		var parent, from, to, succ sql.NullString
		if err := rows.Scan(&u.Code, &u.Name, &u.Level, &u.Kind, &parent, &from, &to, &succ); err != nil {
			return nil, err
		}
		u.ParentCode = parent.String
		var err error
		if u.EffectiveFrom, err = scanDate(from); err != nil {
			return nil, err
		}
		if u.EffectiveTo, err = scanDate(to); err != nil {
			return nil, err
		}
		u.Successors = splitList(succ)
		out = append(out, u)
	}
	return out, rows.Err()
}

func getAdminUnit(ctx context.Context, q db.Querier, d db.Dialect, code string) (AdminUnit, error) {
	rows, err := q.QueryContext(ctx, adminUnitSelect(d)+`WHERE u.code = $1`, code)
	if err != nil {
		return AdminUnit{}, fmt.Errorf("get admin unit %s: %w", code, err)
	}
	list, err := scanAdminUnits(rows)
	if err != nil {
		return AdminUnit{}, fmt.Errorf("get admin unit %s: %w", code, err)
	}
	if len(list) == 0 {
		return AdminUnit{}, fmt.Errorf("admin unit %s: %w", code, ErrNotFound)
	}
	return list[0], nil
}

// loadAdminUnits reads every unit with its successors, keyed by code; imports
// and reference checks work on this snapshot (a province has a few hundred).
func loadAdminUnits(ctx context.Context, q db.Querier, d db.Dialect) (map[string]AdminUnit, error) {
	rows, err := q.QueryContext(ctx, adminUnitSelect(d)+`ORDER BY u.code`)
	if err != nil {
		return nil, fmt.Errorf("load admin units: %w", err)
	}
	list, err := scanAdminUnits(rows)
	if err != nil {
		return nil, fmt.Errorf("load admin units: %w", err)
	}
	m := make(map[string]AdminUnit, len(list))
	for _, u := range list {
		m[u.Code] = u
	}
	return m, nil
}

const levelOrder = `CASE u.level WHEN 'province' THEN 1 WHEN 'district' THEN 2 ELSE 3 END`

func listAdminUnits(ctx context.Context, q db.Querier, d db.Dialect, f AdminUnitQuery, at calendar.Date) ([]AdminUnit, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if !f.IncludeHistory {
		p := arg(at.String())
		where = append(where, "u.effective_from <= "+p+" AND (u.effective_to IS NULL OR u.effective_to > "+p+")")
	}
	if f.Level != "" {
		where = append(where, "u.level = "+arg(string(f.Level)))
	}
	if f.ParentCode != "" {
		where = append(where, "u.parent_code = "+arg(f.ParentCode))
	}
	join, order := "", levelOrder+", u.code"
	if m, ok := search.Match(d, "catalog_admin_units", "u", f.Text, len(args)+1); ok {
		args = append(args, m.Args...)
		join, order = m.Join, m.Rank+", u.code"
		where = append(where, m.Where)
	}
	sqlText := adminUnitSelect(d) + join
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	sqlText += " ORDER BY " + order
	rows, err := q.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("list admin units: %w", err)
	}
	list, err := scanAdminUnits(rows)
	if err != nil {
		return nil, fmt.Errorf("list admin units: %w", err)
	}
	return list, nil
}

func predecessorCodes(ctx context.Context, q db.Querier, code string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT code FROM catalog_admin_unit_successors WHERE successor_code = $1 ORDER BY code`, code)
	if err != nil {
		return nil, fmt.Errorf("predecessors of %s: %w", code, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// putAdminUnit inserts or updates u (not its successors).
func putAdminUnit(ctx context.Context, q db.Querier, u AdminUnit) error {
	var parent any
	if u.ParentCode != "" {
		parent = u.ParentCode
	}
	_, err := q.ExecContext(ctx, `INSERT INTO catalog_admin_units
	(code, name, level, kind, parent_code, effective_from, effective_to, search_text)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
	ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, kind = excluded.kind,
	parent_code = excluded.parent_code, effective_from = excluded.effective_from,
	effective_to = excluded.effective_to, search_text = excluded.search_text`,
		u.Code, u.Name, string(u.Level), string(u.Kind), parent, u.EffectiveFrom.String(), dateArg(u.EffectiveTo),
		searchText(u.Code, u.Kind.Label(), u.Name))
	if err != nil {
		return fmt.Errorf("save admin unit %s: %w", u.Code, err)
	}
	return nil
}

// putSuccessors replaces the successor links of code.
func putSuccessors(ctx context.Context, q db.Querier, code string, succ []string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM catalog_admin_unit_successors WHERE code = $1`, code); err != nil {
		return fmt.Errorf("save successors of %s: %w", code, err)
	}
	for _, s := range succ {
		if _, err := q.ExecContext(ctx, `INSERT INTO catalog_admin_unit_successors (code, successor_code) VALUES ($1, $2)`, code, s); err != nil {
			return fmt.Errorf("save successors of %s: %w", code, err)
		}
	}
	return nil
}

// ---- agencies ----------------------------------------------------------------

func agencySelect(d db.Dialect) string {
	return `SELECT a.id, a.eid, a.name, a.short_name, a.kind, a.level, p.eid, a.admin_unit_code,
	a.effective_from, a.effective_to, a.address, a.phone, a.email, a.website, a.opening_hours,
	(SELECT ` + listAgg(d, "e.eid") + ` FROM catalog_agency_eids e WHERE e.agency_id = a.id AND e.eid <> a.eid)
FROM catalog_agencies a LEFT JOIN catalog_agencies p ON p.id = a.parent_id `
}

// storedAgency is an agency with its row id.
type storedAgency struct {
	ID int64
	Agency
}

func scanAgencies(rows *sql.Rows) ([]storedAgency, error) {
	defer rows.Close()
	var out []storedAgency
	for rows.Next() {
		var a storedAgency
		var parent, unit, from, to, former sql.NullString
		if err := rows.Scan(&a.ID, &a.EID, &a.Name, &a.ShortName, &a.Kind, &a.Level, &parent, &unit, &from, &to,
			&a.Address, &a.Phone, &a.Email, &a.Website, &a.OpeningHours, &former); err != nil {
			return nil, err
		}
		a.ParentEID, a.AdminUnitCode = parent.String, unit.String
		var err error
		if a.EffectiveFrom, err = scanDate(from); err != nil {
			return nil, err
		}
		if a.EffectiveTo, err = scanDate(to); err != nil {
			return nil, err
		}
		a.FormerEIDs = splitList(former)
		out = append(out, a)
	}
	return out, rows.Err()
}

// getAgency finds the agency that has or had e-ID eid.
func getAgency(ctx context.Context, q db.Querier, d db.Dialect, eid string) (storedAgency, error) {
	rows, err := q.QueryContext(ctx, agencySelect(d)+`JOIN catalog_agency_eids k ON k.agency_id = a.id WHERE k.eid = $1`, eid)
	if err != nil {
		return storedAgency{}, fmt.Errorf("get agency %s: %w", eid, err)
	}
	list, err := scanAgencies(rows)
	if err != nil {
		return storedAgency{}, fmt.Errorf("get agency %s: %w", eid, err)
	}
	if len(list) == 0 {
		return storedAgency{}, fmt.Errorf("agency %s: %w", eid, ErrNotFound)
	}
	return list[0], nil
}

// loadAgencies reads every agency; the map is keyed by every e-ID, current or
// former.
func loadAgencies(ctx context.Context, q db.Querier, d db.Dialect) (map[string]storedAgency, error) {
	rows, err := q.QueryContext(ctx, agencySelect(d)+`ORDER BY a.eid`)
	if err != nil {
		return nil, fmt.Errorf("load agencies: %w", err)
	}
	list, err := scanAgencies(rows)
	if err != nil {
		return nil, fmt.Errorf("load agencies: %w", err)
	}
	m := make(map[string]storedAgency, len(list))
	for _, a := range list {
		m[a.EID] = a
		for _, e := range a.FormerEIDs {
			m[e] = a
		}
	}
	return m, nil
}

func listAgencies(ctx context.Context, q db.Querier, d db.Dialect, f AgencyQuery, at calendar.Date) ([]Agency, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if !f.IncludeHistory {
		p := arg(at.String())
		where = append(where, "a.effective_from <= "+p+" AND (a.effective_to IS NULL OR a.effective_to > "+p+")")
	}
	if f.Level != "" {
		where = append(where, "a.level = "+arg(string(f.Level)))
	}
	if f.Kind != "" {
		where = append(where, "a.kind = "+arg(string(f.Kind)))
	}
	if f.ParentEID != "" {
		where = append(where, "a.parent_id = (SELECT agency_id FROM catalog_agency_eids WHERE eid = "+arg(f.ParentEID)+")")
	}
	if f.AdminUnitCode != "" {
		where = append(where, "a.admin_unit_code = "+arg(f.AdminUnitCode))
	}
	join, order := "", "a.eid"
	if m, ok := search.Match(d, "catalog_agencies", "a", f.Text, len(args)+1); ok {
		args = append(args, m.Args...)
		join, order = m.Join, m.Rank+", a.eid"
		where = append(where, m.Where)
	}
	sqlText := agencySelect(d) + join
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	sqlText += " ORDER BY " + order
	rows, err := q.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("list agencies: %w", err)
	}
	list, err := scanAgencies(rows)
	if err != nil {
		return nil, fmt.Errorf("list agencies: %w", err)
	}
	out := make([]Agency, len(list))
	for i, a := range list {
		out[i] = a.Agency
	}
	return out, nil
}

// putAgency inserts a (id 0) or updates the agency with row id, and records
// its current and former e-IDs. parentID is 0 for none. It returns the row id.
func putAgency(ctx context.Context, q db.Querier, id int64, a Agency, parentID int64) (int64, error) {
	var parent, unit any
	if parentID != 0 {
		parent = parentID
	}
	if a.AdminUnitCode != "" {
		unit = a.AdminUnitCode
	}
	text := searchText(a.EID, a.ShortName, a.Name)
	if id == 0 {
		err := q.QueryRowContext(ctx, `INSERT INTO catalog_agencies
		(eid, name, short_name, kind, level, parent_id, admin_unit_code, effective_from, effective_to, search_text,
		 address, phone, email, website, opening_hours)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
			a.EID, a.Name, a.ShortName, string(a.Kind), string(a.Level), parent, unit,
			a.EffectiveFrom.String(), dateArg(a.EffectiveTo), text,
			a.Address, a.Phone, a.Email, a.Website, a.OpeningHours).Scan(&id)
		if err != nil {
			return 0, fmt.Errorf("insert agency %s: %w", a.EID, err)
		}
	} else {
		_, err := q.ExecContext(ctx, `UPDATE catalog_agencies SET eid = $2, name = $3, short_name = $4, kind = $5,
		level = $6, parent_id = $7, admin_unit_code = $8, effective_from = $9, effective_to = $10, search_text = $11,
		address = $12, phone = $13, email = $14, website = $15, opening_hours = $16
		WHERE id = $1`,
			id, a.EID, a.Name, a.ShortName, string(a.Kind), string(a.Level), parent, unit,
			a.EffectiveFrom.String(), dateArg(a.EffectiveTo), text,
			a.Address, a.Phone, a.Email, a.Website, a.OpeningHours)
		if err != nil {
			return 0, fmt.Errorf("update agency %s: %w", a.EID, err)
		}
	}
	for _, e := range append([]string{a.EID}, a.FormerEIDs...) {
		if _, err := q.ExecContext(ctx, `INSERT INTO catalog_agency_eids (eid, agency_id) VALUES ($1, $2)
		ON CONFLICT (eid) DO NOTHING`, e, id); err != nil {
			return 0, fmt.Errorf("record e-ID %s: %w", e, err)
		}
	}
	return id, nil
}

// ---- fields --------------------------------------------------------------------

func getField(ctx context.Context, q db.Querier, code string) (Field, error) {
	var f Field
	err := q.QueryRowContext(ctx, `SELECT code, name FROM catalog_fields WHERE code = $1`, code).Scan(&f.Code, &f.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return Field{}, fmt.Errorf("field %s: %w", code, ErrNotFound)
	}
	if err != nil {
		return Field{}, fmt.Errorf("get field %s: %w", code, err)
	}
	return f, nil
}

func listFields(ctx context.Context, q db.Querier) ([]Field, error) {
	rows, err := q.QueryContext(ctx, `SELECT code, name FROM catalog_fields ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("list fields: %w", err)
	}
	defer rows.Close()
	var out []Field
	for rows.Next() {
		var f Field
		if err := rows.Scan(&f.Code, &f.Name); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func putField(ctx context.Context, q db.Querier, f Field) error {
	_, err := q.ExecContext(ctx, `INSERT INTO catalog_fields (code, name) VALUES ($1, $2)
	ON CONFLICT (code) DO UPDATE SET name = excluded.name`, f.Code, f.Name)
	if err != nil {
		return fmt.Errorf("save field %s: %w", f.Code, err)
	}
	return nil
}

// ---- procedures ------------------------------------------------------------------

const procedureColumns = `p.code, p.version, p.name, p.field_code, p.level, ca.eid, ia.eid, p.online_level,
	p.documents, p.fees, p.duration_value, p.duration_unit, p.legal_basis, p.form_schema, p.process_key,
	p.effective_from, p.effective_to, p.status, p.faq
FROM catalog_procedure_versions p
LEFT JOIN catalog_agencies ca ON ca.id = p.competent_agency_id
LEFT JOIN catalog_agencies ia ON ia.id = p.implementing_agency_id `

func scanProcedures(rows *sql.Rows) ([]Procedure, error) {
	defer rows.Close()
	var out []Procedure
	for rows.Next() {
		var p Procedure
		var comp, impl, from, to sql.NullString
		var docs, fees, legal, schema, faq string
		if err := rows.Scan(&p.Code, &p.Version, &p.Name, &p.FieldCode, &p.Level, &comp, &impl, &p.OnlineLevel,
			&docs, &fees, &p.Duration.Value, &p.Duration.Unit, &legal, &schema, &p.ProcessKey,
			&from, &to, &p.Status, &faq); err != nil {
			return nil, err
		}
		p.CompetentAgency, p.ImplementingAgency = comp.String, impl.String
		if err := json.Unmarshal([]byte(docs), &p.Documents); err != nil {
			return nil, fmt.Errorf("procedure %s documents: %w", p.Code, err)
		}
		if err := json.Unmarshal([]byte(fees), &p.Fees); err != nil {
			return nil, fmt.Errorf("procedure %s fees: %w", p.Code, err)
		}
		if err := json.Unmarshal([]byte(legal), &p.LegalBasis); err != nil {
			return nil, fmt.Errorf("procedure %s legal basis: %w", p.Code, err)
		}
		if err := json.Unmarshal([]byte(faq), &p.FAQ); err != nil {
			return nil, fmt.Errorf("procedure %s FAQ: %w", p.Code, err)
		}
		if len(p.FAQ) == 0 {
			p.FAQ = nil
		}
		if schema != "" {
			p.FormSchema = json.RawMessage(schema)
		}
		var err error
		if p.EffectiveFrom, err = scanDate(from); err != nil {
			return nil, err
		}
		if p.EffectiveTo, err = scanDate(to); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func queryProcedures(ctx context.Context, q db.Querier, where string, args ...any) ([]Procedure, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+procedureColumns+where, args...)
	if err != nil {
		return nil, err
	}
	return scanProcedures(rows)
}

// getProcedureAt returns the version of code in force on day at.
func getProcedureAt(ctx context.Context, q db.Querier, code string, at calendar.Date) (Procedure, error) {
	list, err := queryProcedures(ctx, q, `WHERE p.code = $1 AND p.status <> 'draft'
	AND p.effective_from <= $2 AND (p.effective_to IS NULL OR p.effective_to > $2)
	ORDER BY p.version DESC LIMIT 1`, code, at.String())
	if err != nil {
		return Procedure{}, fmt.Errorf("get procedure %s at %s: %w", code, at, err)
	}
	if len(list) == 0 {
		return Procedure{}, fmt.Errorf("procedure %s at %s: %w", code, at, ErrNotFound)
	}
	return list[0], nil
}

func getProcedureVersion(ctx context.Context, q db.Querier, code string, version int) (Procedure, error) {
	list, err := queryProcedures(ctx, q, `WHERE p.code = $1 AND p.version = $2`, code, version)
	if err != nil {
		return Procedure{}, fmt.Errorf("get procedure %s version %d: %w", code, version, err)
	}
	if len(list) == 0 {
		return Procedure{}, fmt.Errorf("procedure %s version %d: %w", code, version, ErrNotFound)
	}
	return list[0], nil
}

func listProcedureVersions(ctx context.Context, q db.Querier, code string) ([]Procedure, error) {
	list, err := queryProcedures(ctx, q, `WHERE p.code = $1 ORDER BY p.version`, code)
	if err != nil {
		return nil, fmt.Errorf("list versions of procedure %s: %w", code, err)
	}
	return list, nil
}

func allProcedures(ctx context.Context, q db.Querier) ([]Procedure, error) {
	list, err := queryProcedures(ctx, q, `ORDER BY p.code, p.version`)
	if err != nil {
		return nil, fmt.Errorf("load procedures: %w", err)
	}
	return list, nil
}

// putProcedure inserts or updates the version (p.Code, p.Version). Agency ids
// are 0 for none.
func putProcedure(ctx context.Context, q db.Querier, p Procedure, competentID, implementingID int64) error {
	docs, err := json.Marshal(p.Documents)
	if err != nil {
		return err
	}
	fees, err := json.Marshal(p.Fees)
	if err != nil {
		return err
	}
	legal, err := json.Marshal(p.LegalBasis)
	if err != nil {
		return err
	}
	faq := []byte("[]")
	if len(p.FAQ) > 0 {
		if faq, err = json.Marshal(p.FAQ); err != nil {
			return err
		}
	}
	var comp, impl any
	if competentID != 0 {
		comp = competentID
	}
	if implementingID != 0 {
		impl = implementingID
	}
	_, err = q.ExecContext(ctx, `INSERT INTO catalog_procedure_versions
	(code, version, name, field_code, level, competent_agency_id, implementing_agency_id, online_level,
	 documents, fees, duration_value, duration_unit, legal_basis, form_schema, process_key,
	 effective_from, effective_to, status, faq)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
	ON CONFLICT (code, version) DO UPDATE SET name = excluded.name,
	field_code = excluded.field_code, level = excluded.level, competent_agency_id = excluded.competent_agency_id,
	implementing_agency_id = excluded.implementing_agency_id, online_level = excluded.online_level,
	documents = excluded.documents, fees = excluded.fees, duration_value = excluded.duration_value,
	duration_unit = excluded.duration_unit, legal_basis = excluded.legal_basis, form_schema = excluded.form_schema,
	process_key = excluded.process_key, effective_from = excluded.effective_from,
	effective_to = excluded.effective_to, status = excluded.status, faq = excluded.faq`,
		p.Code, p.Version, p.Name, p.FieldCode, string(p.Level), comp, impl, string(p.OnlineLevel),
		string(docs), string(fees), p.Duration.Value, string(p.Duration.Unit), string(legal), string(p.FormSchema),
		p.ProcessKey, p.EffectiveFrom.String(), dateArg(p.EffectiveTo), string(p.Status), string(faq))
	if err != nil {
		return fmt.Errorf("save procedure %s version %d: %w", p.Code, p.Version, err)
	}
	return nil
}

// searchText folds fields into a search_text column as words separated by
// single spaces. Splitting here, the way search.Match splits queries, makes
// both engines see the same words: PostgreSQL's parser would otherwise keep
// "000.00.09.H41" as one token that the query words "000", "09", "h41" never
// match.
func searchText(fields ...string) string {
	return strings.Join(search.Terms(strings.Join(fields, " ")), " ")
}

// bumpRevision records in tx that the catalogs changed.
func bumpRevision(ctx context.Context, tx *db.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE catalog_revisions SET rev = rev + 1 WHERE name = 'catalog'`); err != nil {
		return fmt.Errorf("bump catalog revision: %w", err)
	}
	return nil
}

// readRevision returns the catalogs' revision.
func readRevision(ctx context.Context, q db.Querier) (int64, error) {
	var rev int64
	if err := q.QueryRowContext(ctx, `SELECT rev FROM catalog_revisions WHERE name = 'catalog'`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("read catalog revision: %w", err)
	}
	return rev, nil
}

// loadIndexRows reads what the procedure index holds: every version's summary
// with its implementing agency's e-ID, and every e-ID (current or former)
// mapped to the agency's current one.
func loadIndexRows(ctx context.Context, q db.Querier) ([]indexEntry, map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT p.code, p.version, p.name, p.field_code, fl.name, p.level, ca.eid, ca.name,
	ia.eid, p.online_level, p.duration_value, p.duration_unit, p.effective_from, p.effective_to, p.status
FROM catalog_procedure_versions p
LEFT JOIN catalog_fields fl ON fl.code = p.field_code
LEFT JOIN catalog_agencies ca ON ca.id = p.competent_agency_id
LEFT JOIN catalog_agencies ia ON ia.id = p.implementing_agency_id`)
	if err != nil {
		return nil, nil, fmt.Errorf("load procedure index: %w", err)
	}
	defer rows.Close()
	var out []indexEntry
	for rows.Next() {
		var e indexEntry
		s := &e.summary
		var fieldName, comp, compName, impl, from, to sql.NullString
		if err := rows.Scan(&s.Code, &s.Version, &s.Name, &s.FieldCode, &fieldName, &s.Level, &comp, &compName, &impl,
			&s.OnlineLevel, &s.Duration.Value, &s.Duration.Unit, &from, &to, &s.Status); err != nil {
			return nil, nil, fmt.Errorf("load procedure index: %w", err)
		}
		s.FieldName, s.CompetentAgency, s.CompetentAgencyName, e.implementing = fieldName.String, comp.String, compName.String, impl.String
		if s.EffectiveFrom, err = scanDate(from); err != nil {
			return nil, nil, err
		}
		if s.EffectiveTo, err = scanDate(to); err != nil {
			return nil, nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("load procedure index: %w", err)
	}
	aliases := map[string]string{}
	arows, err := q.QueryContext(ctx, `SELECT k.eid, a.eid FROM catalog_agency_eids k JOIN catalog_agencies a ON a.id = k.agency_id`)
	if err != nil {
		return nil, nil, fmt.Errorf("load agency e-IDs: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var any, current string
		if err := arows.Scan(&any, &current); err != nil {
			return nil, nil, err
		}
		aliases[any] = current
	}
	return out, aliases, arows.Err()
}

// updateDocuments rewrites the documents of one stored version (their form
// files change without the rest of the version).
func updateDocuments(ctx context.Context, q db.Querier, p Procedure) error {
	docs, err := json.Marshal(p.Documents)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `UPDATE catalog_procedure_versions SET documents = $3 WHERE code = $1 AND version = $2`,
		p.Code, p.Version, string(docs)); err != nil {
		return fmt.Errorf("save documents of procedure %s version %d: %w", p.Code, p.Version, err)
	}
	return nil
}
