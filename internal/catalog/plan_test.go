package catalog

import (
	"context"
	"strings"
	"testing"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// TestQueryPlans checks on SQLite that the queries run per request use an
// index rather than scanning a catalog table (the FTS table is scanned through
// its own index, which SQLite reports as "VIRTUAL TABLE INDEX").
func TestQueryPlans(t *testing.T) {
	d := dbtest.SQLite(t, Migrations())
	type query struct {
		name string
		sql  string
		args []any
	}
	queries := []query{
		{"admin unit by code", adminUnitSelect(db.SQLite) + `WHERE u.code = $1`, []any{"D99"}},
		{"predecessors", `SELECT code FROM catalog_admin_unit_successors WHERE successor_code = $1 ORDER BY code`, []any{"D99"}},
		{"agency by e-ID", agencySelect(db.SQLite) + `JOIN catalog_agency_eids k ON k.agency_id = a.id WHERE k.eid = $1`, []any{"H99"}},
		{"field by code", `SELECT code, name FROM catalog_fields WHERE code = $1`, []any{"HT"}},
		{"procedure version", `SELECT ` + procedureColumns + `WHERE p.code = $1 AND p.version = $2`, []any{"1.000001", 1}},
		{"catalog revision", `SELECT rev FROM catalog_revisions WHERE name = 'catalog'`, nil},
		{"admin units at date by parent", adminUnitSelect(db.SQLite) + `WHERE u.effective_from <= $1 AND (u.effective_to IS NULL OR u.effective_to > $1) AND u.parent_code = $2`, []any{"2026-01-01", "D99"}},
		{"admin unit search", adminUnitSelect(db.SQLite) + `JOIN catalog_admin_units_fts ON catalog_admin_units_fts.rowid = u.rowid WHERE catalog_admin_units_fts MATCH $1`, []any{`"binh"*`}},
		{"agencies by parent", agencySelect(db.SQLite) + `WHERE a.parent_id = (SELECT agency_id FROM catalog_agency_eids WHERE eid = $1)`, []any{"H99"}},
		{"procedure at date", `SELECT ` + procedureColumns + `WHERE p.code = $1 AND p.status <> 'draft'
	AND p.effective_from <= $2 AND (p.effective_to IS NULL OR p.effective_to > $2) ORDER BY p.version DESC LIMIT 1`, []any{"1.000001", "2026-01-01"}},
	}
	ctx := context.Background()
	for _, q := range queries {
		rows, err := d.Read().QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.sql, q.args...)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			// A full scan of a catalog table (not through an index) per request.
			if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "USING") && !strings.Contains(step, "VIRTUAL TABLE") {
				t.Errorf("%s scans a table: %s\nplan: %s", q.name, step, strings.Join(plan, " | "))
			}
		}
	}
}
