package identity_test

import (
	"context"
	"strings"
	"testing"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// TestPerRequestQueriesUseIndexes checks the plans of the queries that run on
// every request (session lookup, grants of the signed-in person) or every
// sign-in (person by username). PostgreSQL is told to avoid sequential scans,
// since on a near-empty table it would rightly prefer them.
func TestPerRequestQueriesUseIndexes(t *testing.T) {
	queries := []struct{ name, sql, index string }{
		{"session by token", `SELECT s.id FROM identity_sessions s JOIN identity_people p ON p.id = s.person_id
			WHERE s.token_hash = 'x' AND s.revoked_at IS NULL`, "identity_sessions_token"},
		{"person by username", `SELECT p.id FROM identity_people p WHERE p.username = 'x'`, "identity_people_username"},
		{"active grants", `SELECT g.id FROM identity_grants g WHERE g.person_id = 'x' AND g.revoked_at IS NULL
			ORDER BY g.granted_at, g.id`, "identity_grants_"},
	}
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if d.Dialect() == db.Postgres {
			// With empty tables every plan costs the same; give the planner
			// a realistic shape: many sessions, few people.
			for _, stmt := range []string{
				`INSERT INTO identity_people (id, kind, username, full_name, status, created_at, updated_at, search_text)
					SELECT 'p' || g, 'official', 'u' || g, 'U', 'active', now(), now(), 'u' FROM generate_series(1, 50) g`,
				`INSERT INTO identity_sessions (id, person_id, token_hash, method, created_at, last_seen_at, expires_at)
					SELECT 's' || g, 'p' || (g % 50 + 1), md5(g::text), 'password', now(), now(), now() FROM generate_series(1, 5000) g`,
				`INSERT INTO identity_grants (id, person_id, role, unit_id, granted_at)
					SELECT 'g' || g, 'p' || (g % 50 + 1), 'officer', 'unit-' || g, now() FROM generate_series(1, 2000) g`,
				`ANALYZE identity_people`, `ANALYZE identity_sessions`, `ANALYZE identity_grants`,
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
				rows, err := tx.QueryContext(ctx, explain+q.sql)
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
					if s, ok := vals[len(vals)-1].(string); ok {
						plan = append(plan, s)
					}
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatalf("%s: %v", q.name, err)
			}
			if text := strings.Join(plan, "\n"); !strings.Contains(text, q.index) {
				t.Errorf("%s does not use %s:\n%s", q.name, q.index, text)
			}
		}
	})
}
