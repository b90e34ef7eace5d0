// Package dbtest runs store tests on every database engine: SQLite always, and
// PostgreSQL when CONGSO_TEST_POSTGRES holds a connection URL (scripts/test sets
// it to a throwaway cluster). Each test gets a fresh database: a new SQLite file,
// or a new PostgreSQL schema that is dropped afterwards.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/congso/congso/internal/platform/db"
)

// EnvPostgres names the variable holding the PostgreSQL URL for tests.
const EnvPostgres = "CONGSO_TEST_POSTGRES"

// Each runs fn as a subtest per engine ("sqlite", "postgres") with a fresh
// database on which migs have been applied.
func Each(t *testing.T, migs []db.Migration, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, SQLite(t, migs))
	})
	if os.Getenv(EnvPostgres) != "" {
		t.Run("postgres", func(t *testing.T) {
			fn(t, Postgres(t, migs))
		})
	}
}

// Engines lists the engines Each will use, for benchmarks and custom loops.
func Engines() []db.Dialect {
	if os.Getenv(EnvPostgres) != "" {
		return []db.Dialect{db.SQLite, db.Postgres}
	}
	return []db.Dialect{db.SQLite}
}

// Open returns a fresh migrated database of the given engine.
func Open(t testing.TB, d db.Dialect, migs []db.Migration) *db.DB {
	t.Helper()
	if d == db.Postgres {
		return Postgres(t, migs)
	}
	return SQLite(t, migs)
}

// SQLite returns a fresh migrated SQLite database in a temporary folder.
func SQLite(t testing.TB, migs []db.Migration) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "test.db"), db.Options{})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx, migs); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return d
}

var extOnce sync.Once

// Postgres returns a fresh migrated PostgreSQL database (a new schema in the
// database named by CONGSO_TEST_POSTGRES). It skips the test when the variable is
// unset.
func Postgres(t testing.TB, migs []db.Migration) *db.DB {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip(EnvPostgres + " not set")
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	extOnce.Do(func() {
		// Extensions are per database; create them once in public so every test
		// schema sees them through its search_path.
		for _, e := range []string{"pg_trgm"} {
			if _, err := admin.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS `+e+` SCHEMA public`); err != nil {
				t.Logf("create extension %s: %v", e, err)
			}
		}
	})
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	d, err := db.Open(ctx, u.String(), db.Options{MaxReadConns: 10})
	if err != nil {
		t.Fatalf("open postgres schema: %v", err)
	}
	t.Cleanup(func() {
		d.Close()
		a, err := sql.Open("pgx", base)
		if err == nil {
			a.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
			a.Close()
		}
	})
	if err := d.Migrate(ctx, migs); err != nil {
		t.Fatalf("migrate postgres: %v", err)
	}
	return d
}

// URL returns a connection URL for a fresh, empty database of the given engine
// (a file in a temporary folder, or a new PostgreSQL schema dropped after the
// test), for tests that open the database themselves, such as whole-app tests.
func URL(t testing.TB, d db.Dialect) string {
	t.Helper()
	if d == db.SQLite {
		return filepath.Join(t.TempDir(), "app.db")
	}
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip(EnvPostgres + " not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err == nil {
			a.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
			a.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}
