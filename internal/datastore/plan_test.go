package datastore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// TestQueryPlans checks that every query the module runs per request or
// per event reads through an index on both engines (the indexes listed on
// Migrations). PostgreSQL is told to avoid sequential scans.
func TestQueryPlans(t *testing.T) {
	migs := append(audit.Migrations(), Migrations()...)
	type query struct {
		name, sql      string
		args           []any
		sqlite, postgr string // a plan step must mention this
	}
	now := time.Now()
	queries := []query{
		{"owner's list", `SELECT ` + docColumns + docFrom + ` WHERE d.owner = $1 AND d.hidden_at IS NULL ORDER BY d.updated_at DESC, d.id DESC LIMIT 21`,
			[]any{"acc"}, "datastore_documents_owner", "datastore_documents_owner"},
		{"owner's list, page 2", `SELECT ` + docColumns + docFrom + ` WHERE d.owner = $1 AND d.hidden_at IS NULL AND (d.updated_at < $2 OR (d.updated_at = $2 AND d.id < $3)) ORDER BY d.updated_at DESC, d.id DESC LIMIT 21`,
			[]any{"acc", now, "0123456789abcdef"}, "datastore_documents_owner", "datastore_documents_owner"},
		{"a document", `SELECT ` + docColumns + docFrom + ` WHERE d.id = $1 AND d.owner = $2`, []any{"0123456789abcdef", "acc"},
			"sqlite_autoindex_datastore_documents_1", "on datastore_documents d"},
		{"document of an origin", `SELECT ` + docColumns + docFrom + ` WHERE d.owner = $1 AND d.origin = $2`, []any{"acc", "r:C:R"},
			"sqlite_autoindex_datastore_documents_2", "on datastore_documents d"},
		{"versions", `SELECT n FROM datastore_versions WHERE document_id = $1 ORDER BY n`, []any{"0123456789abcdef"},
			"sqlite_autoindex_datastore_versions_1", "datastore_versions_pkey"},
		{"ledger row", `SELECT pushed, document_id FROM datastore_ingest WHERE source = $1`, []any{"r:C:R:1"},
			"sqlite_autoindex_datastore_ingest_1", "datastore_ingest_pkey"},
		{"first of an item", `SELECT 1 FROM datastore_ingest WHERE item = $1`, []any{"r:C:R"}, "datastore_ingest_item", "datastore_ingest_item"},
		{"reuses of a document", `SELECT dossier_code FROM datastore_reuses WHERE document_id = $1 ORDER BY at`, []any{"0123456789abcdef"},
			"datastore_reuses_document", "datastore_reuses_document"},
		{"counts", `SELECT agency, kind, COUNT(*) FROM datastore_ingest WHERE at >= $1 AND at < $2 AND first_seen GROUP BY agency, kind`,
			[]any{now, now}, "datastore_ingest_at", "datastore_ingest_at"},
		{"reuse counts", `SELECT agency, COUNT(*) FROM datastore_reuses WHERE at >= $1 AND at < $2 GROUP BY agency`,
			[]any{now, now}, "datastore_reuses_at", "datastore_reuses_at"},
	}
	dbtest.Each(t, migs, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
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
			if d.Dialect() == db.Postgres {
				want = q.postgr
			}
			text := strings.Join(plan, "\n")
			if !strings.Contains(text, want) {
				t.Errorf("%s does not use %s:\n%s", q.name, want, text)
			}
			if d.Dialect() == db.Postgres && strings.Contains(text, "Seq Scan") {
				t.Errorf("%s scans a table:\n%s", q.name, text)
			}
			if d.Dialect() == db.SQLite {
				for _, step := range plan {
					if strings.HasPrefix(strings.TrimSpace(step), "SCAN ") && !strings.Contains(step, "USING") {
						t.Errorf("%s scans a table: %s", q.name, step)
					}
				}
			}
		}
	})
}
