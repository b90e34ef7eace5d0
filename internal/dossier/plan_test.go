package dossier

import (
	"context"
	"strings"
	"testing"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
	"github.com/congso/congso/internal/workflow"
)

// TestQueryPlans checks that every query the module runs per request reads
// through an index on both engines (STYLE.md: an index that a test
// justifies). PostgreSQL gets a realistic table shape (5,000 dossiers over
// 100 units and 50 procedures) and is told to avoid sequential scans.
func TestQueryPlans(t *testing.T) {
	var migs []db.Migration
	migs = append(migs, outbox.Migrations()...)
	migs = append(migs, timer.Migrations()...)
	migs = append(migs, audit.Migrations()...)
	migs = append(migs, workflow.Migrations()...)
	migs = append(migs, Migrations()...)
	type query struct {
		name           string
		sql            string
		args           []any
		sqlite, postgr string // a plan step must mention this (a prefix of the index name)
	}
	dbtest.Each(t, migs, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		dia := d.Dialect()
		list := func(q ListQuery, after int64) (string, []any) { return listSQL(dia, q, after, 20) }
		lq := func(name string, q ListQuery, after int64, sqlite, pg string) query {
			s, a := list(q, after)
			return query{name, s, a, sqlite, pg}
		}
		queries := []query{
			{"dossier by code", `SELECT ` + dossierColumns + ` FROM dossiers d WHERE d.code = $1`, []any{"C1"}, "dossiers_code", "dossiers_code"},
			{"dossier by case (mirror)", `SELECT ` + dossierColumns + ` FROM dossiers d WHERE d.case_id = $1`, []any{"C1"}, "dossiers_case", "dossiers_case"},
			{"units of a dossier", `SELECT unit FROM dossier_units WHERE dossier_id = $1 ORDER BY unit`, []any{1}, "dossier_units_dossier", "dossier_units_dossier"},
			{"components", `SELECT n, name FROM dossier_components WHERE dossier_id = $1 ORDER BY n`, []any{1},
				"sqlite_autoindex_dossier_components_1", "dossier_components_pkey"},
			{"files of a dossier", `SELECT component, name, version FROM dossier_files WHERE dossier_id = $1 ORDER BY component, name, version`,
				[]any{1}, "dossier_files_key", "dossier_files_"},
			{"current version of a file", `SELECT id, version FROM dossier_files WHERE dossier_id = $1 AND component = $2 AND name = $3 ORDER BY version DESC LIMIT 1`,
				[]any{1, 1, "a.pdf"}, "dossier_files_key", "dossier_files_key"},
			{"file by hash", `SELECT name FROM dossier_files WHERE dossier_id = $1 AND hash = $2 ORDER BY id LIMIT 1`, []any{1, "h"},
				"dossier_files_hash", "dossier_files_hash"},
			{"fees", `SELECT n, name FROM dossier_fees WHERE dossier_id = $1 ORDER BY n`, []any{1}, "sqlite_autoindex_dossier_fees_1", "dossier_fees_pkey"},
			{"results", `SELECT result_code, version FROM dossier_results WHERE dossier_id = $1 ORDER BY result_code, version`, []any{1},
				"dossier_results_key", "dossier_results_key"},
			{"latest result version", `SELECT id, version FROM dossier_results WHERE dossier_id = $1 AND result_code = $2 ORDER BY version DESC LIMIT 1`,
				[]any{1, "R"}, "dossier_results_key", "dossier_results_key"},
			{"notices", `SELECT kind FROM dossier_notices WHERE dossier_id = $1 ORDER BY id`, []any{1}, "dossier_notices_dossier", "dossier_notices_dossier"},
			{"idempotency key", `SELECT request_hash, response FROM dossier_idempotency WHERE scope = $1 AND idem_key = $2`, []any{"s", "k"},
				"sqlite_autoindex_dossier_idempotency_1", "dossier_idempotency_pkey"},
			{"code sequence", `SELECT last FROM dossier_code_seq WHERE agency = $1 AND day = $2`, []any{"A", "260302"},
				"sqlite_autoindex_dossier_code_seq_1", "dossier_code_seq_pkey"},
			lq("list of a unit", ListQuery{Unit: "U7"}, 0, "sqlite_autoindex_dossier_units_1", "dossier_units_pkey"),
			lq("list of a unit, page 2", ListQuery{Unit: "U7"}, 4000, "sqlite_autoindex_dossier_units_1", "dossier_units_pkey"),
			lq("list by procedure", ListQuery{ProcedureCode: "P7"}, 0, "dossiers_procedure", "dossiers_procedure"),
			lq("list by status", ListQuery{Statuses: []Status{StatusSupplement}}, 0, "dossiers_status", "dossiers_status"),
			lq("list by code", ListQuery{Text: "000.00.13.H99-260302-0001"}, 0, "dossiers_code", "dossiers_code"),
			lq("search by name", ListQuery{Text: "nguyen van"}, 0, "VIRTUAL TABLE INDEX", "dossiers_search_tsv"),
			lq("newest, page 2", ListQuery{}, 4000, "INTEGER PRIMARY KEY", "dossiers_pkey"),
		}
		if dia == db.Postgres {
			for _, stmt := range []string{
				`INSERT INTO dossiers (code, case_id, procedure_code, procedure_version, procedure_name, field_code, process_key, process_version,
					channel, applicant_type, applicant_name, applicant_personal_id, applicant_tax_code, applicant_phone, applicant_email,
					applicant_address, representative, form_data, receiving_agency, receiving_unit, competent_agency, division_unit, agency_unit,
					state, status, national_status, outcome, version, unit, assignee, submitted_at, paused_seconds, received_by, created_by,
					updated_at, search_text)
				SELECT 'C' || g, 'C' || g, 'P' || (g % 50), 1, 'p', 'f', 'one-stop', 1, 1, 'citizen', 'nguoi ' || g, '', '', '', '', '', '', '{}',
					'A', 'U' || (g % 100), 'A', 'D', 'A', 'appraising', CASE WHEN g % 100 = 0 THEN 'supplement' ELSE (ARRAY['processing','returned','received','refused'])[g % 4 + 1] END,
					4, '', 1, 'U' || (g % 100), '', now(), 0, '', '', now(), 'nguoi ' || g || CASE WHEN g % 97 = 0 THEN ' nguyen van' ELSE '' END
				FROM generate_series(1, 5000) g`,
				`INSERT INTO dossier_units (unit, dossier_id) SELECT 'U' || (id % 100), id FROM dossiers`,
				`INSERT INTO dossier_units (unit, dossier_id) SELECT 'D', id FROM dossiers`,
				`ANALYZE dossiers`, `ANALYZE dossier_units`,
			} {
				if _, err := d.Write().ExecContext(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, q := range queries {
			var plan []string
			err := d.Tx(ctx, func(tx *db.Tx) error {
				explain := "EXPLAIN QUERY PLAN "
				if tx.Dialect == db.Postgres {
					explain = "EXPLAIN "
					if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
						return err
					}
				}
				rows, err := tx.QueryContext(ctx, explain+q.sql, q.args...)
				if err != nil {
					return err
				}
				defer rows.Close()
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						return err
					}
					switch s := vals[len(vals)-1].(type) {
					case string:
						plan = append(plan, s)
					case []byte:
						plan = append(plan, string(s))
					}
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatalf("%s: %v", q.name, err)
			}
			want := q.sqlite
			if dia == db.Postgres {
				want = q.postgr
			}
			text := strings.Join(plan, "\n")
			if !strings.Contains(text, want) {
				t.Errorf("%s does not use %s:\n%s", q.name, want, text)
			}
			if dia == db.SQLite {
				for _, step := range plan {
					if strings.HasPrefix(strings.TrimSpace(step), "SCAN ") && !strings.Contains(step, "USING") && !strings.Contains(step, "VIRTUAL TABLE") {
						t.Errorf("%s scans a table: %s", q.name, step)
					}
				}
			}
		}
	})
}
