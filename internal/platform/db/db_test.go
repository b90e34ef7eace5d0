package db_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

var testMigs = []db.Migration{
	{Module: "t", Version: 1, Name: "items", Up: `
CREATE TABLE items (
	id {{id}},
	name TEXT NOT NULL UNIQUE,
	data {{json}},
	active {{bool}} NOT NULL DEFAULT TRUE,
	created_at {{time}} NOT NULL
);
CREATE INDEX items_created ON items (created_at);`},
	{Module: "t", Version: 2, Name: "counter", Up: `CREATE TABLE counter (k TEXT PRIMARY KEY, n BIGINT NOT NULL)`},
}

func TestMigrateIsIdempotentAndTracked(t *testing.T) {
	dbtest.Each(t, testMigs, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.Migrate(ctx, testMigs); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		pend, err := d.Pending(ctx, testMigs)
		if err != nil || len(pend) != 0 {
			t.Fatalf("pending = %v, %v; want none", pend, err)
		}
		more := append(testMigs, db.Migration{Module: "t", Version: 3, Name: "x", Up: `CREATE TABLE x (a INTEGER)`})
		pend, _ = d.Pending(ctx, more)
		if len(pend) != 1 || pend[0].Version != 3 {
			t.Fatalf("pending = %v, want version 3", pend)
		}
	})
}

func TestMigrateRejectsBadOrderAndRollsBackFailure(t *testing.T) {
	dbtest.Each(t, testMigs, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		bad := []db.Migration{{Module: "b", Version: 2, Up: "SELECT 1"}, {Module: "b", Version: 1, Up: "SELECT 1"}}
		if err := d.Migrate(ctx, bad); err == nil {
			t.Fatal("out-of-order versions accepted")
		}
		failing := []db.Migration{{Module: "f", Version: 1, Name: "broken", Up: `CREATE TABLE f1 (a INTEGER); CREATE TABLE nonsense syntax here`}}
		if err := d.Migrate(ctx, failing); err == nil {
			t.Fatal("broken migration reported success")
		}
		pend, _ := d.Pending(ctx, failing)
		if len(pend) != 1 {
			t.Fatal("failed migration recorded as applied")
		}
	})
}

func TestTxCommitRollbackAndTypes(t *testing.T) {
	dbtest.Each(t, testMigs, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 2, 17, 8, 30, 0, 123000000, time.FixedZone("ICT", 7*3600))
		committed := false
		err := d.Tx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { committed = true })
			_, err := tx.ExecContext(ctx, `INSERT INTO items (name, data, active, created_at) VALUES ($1, $2, $3, $4)`,
				"Giấy phép xây dựng", `{"a":1}`, false, now.UTC())
			return err
		})
		if err != nil || !committed {
			t.Fatalf("insert: %v committed=%v", err, committed)
		}
		boom := errors.New("boom")
		err = d.Tx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { t.Error("after-commit ran on rollback") })
			if _, err := tx.ExecContext(ctx, `INSERT INTO items (name, created_at) VALUES ($1, $2)`, "rolled back", now); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
		var n int
		d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM items`).Scan(&n)
		if n != 1 {
			t.Fatalf("rows = %d, want 1 (rollback kept a row)", n)
		}
		var name, data string
		var active bool
		var created time.Time
		if err := d.Read().QueryRowContext(ctx, `SELECT name, data, active, created_at FROM items WHERE name = $1`, "Giấy phép xây dựng").
			Scan(&name, &data, &active, &created); err != nil {
			t.Fatal(err)
		}
		if active || !created.Equal(now) || name != "Giấy phép xây dựng" {
			t.Fatalf("got %q %v %v; want stored values back (time %v)", name, active, created, now)
		}
		_, err = d.Write().ExecContext(ctx, `INSERT INTO items (name, created_at) VALUES ($1, $2)`, "Giấy phép xây dựng", now)
		if !db.IsUniqueViolation(err) {
			t.Fatalf("duplicate insert: %v, want unique violation", err)
		}
	})
}

func TestConcurrentWritersAllCommit(t *testing.T) {
	dbtest.Each(t, testMigs, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.Write().ExecContext(ctx, `INSERT INTO counter (k, n) VALUES ('c', 0)`); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- d.Tx(ctx, func(tx *db.Tx) error {
					var n int64
					q := `SELECT n FROM counter WHERE k = 'c'`
					if tx.Dialect == db.Postgres {
						q += ` FOR UPDATE`
					}
					if err := tx.QueryRowContext(ctx, q).Scan(&n); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `UPDATE counter SET n = $1 WHERE k = 'c'`, n+1)
					return err
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var n int
		d.Read().QueryRowContext(ctx, `SELECT n FROM counter WHERE k = 'c'`).Scan(&n)
		if n != 40 {
			t.Fatalf("counter = %d, want 40 (lost update)", n)
		}
	})
}

var errNoRow = errors.New("guard matched no row")

// Deferred writes run in order with the transaction's other statements (on
// PostgreSQL they are sent together, in one round trip, when the next
// statement needs them or before the commit), and a refused or failed one
// fails the whole transaction even if fn carries on.
func TestDeferredWritesKeepOrderAndFailTheTransaction(t *testing.T) {
	dbtest.Each(t, testMigs, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		guard := func(n int64) error {
			if n == 0 {
				return errNoRow
			}
			return nil
		}
		// Queued writes are seen by the next read, and committed.
		after := false
		err := d.Tx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { after = true })
			for _, name := range []string{"a", "b"} {
				if err := tx.Defer(ctx, nil, "insert "+name, `INSERT INTO items (name, created_at) VALUES ($1, $2)`, name, now); err != nil {
					return err
				}
			}
			if err := tx.Defer(ctx, guard, "rename", `UPDATE items SET name = 'c' WHERE name = $1`, "b"); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM items WHERE name IN ('a', 'c')`).Scan(&n); err != nil || n != 2 {
				t.Fatalf("read after deferred writes: %d, %v; want 2", n, err)
			}
			return tx.Defer(ctx, nil, "insert d", `INSERT INTO items (name, created_at) VALUES ($1, $2)`, "d", now)
		})
		if err != nil || !after {
			t.Fatalf("commit: %v (after-commit ran: %v)", err, after)
		}
		count := func() int {
			var n int
			d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM items`).Scan(&n)
			return n
		}
		if n := count(); n != 3 {
			t.Fatalf("%d items stored, want a, c, d", n)
		}

		// A refusal by check rolls everything back, though fn returns nil.
		after = false
		err = d.Tx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { after = true })
			tx.Defer(ctx, nil, "insert e", `INSERT INTO items (name, created_at) VALUES ($1, $2)`, "e", now)
			tx.Defer(ctx, guard, "rename", `UPDATE items SET name = 'x' WHERE name = $1`, "missing")
			tx.Defer(ctx, nil, "insert f", `INSERT INTO items (name, created_at) VALUES ($1, $2)`, "f", now)
			return nil
		})
		if !errors.Is(err, errNoRow) || after || count() != 3 {
			t.Fatalf("refused write: %v (after-commit ran %v, %d items); want errNoRow and nothing stored", err, after, count())
		}

		// A guard that matches no row fails the transaction with its refusal,
		// though the write travels with the COMMIT on PostgreSQL.
		after = false
		err = d.Tx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { after = true })
			tx.Defer(ctx, nil, "insert g", `INSERT INTO items (name, created_at) VALUES ($1, $2)`, "g", now)
			return tx.DeferGuard(ctx, func() error { return errNoRow }, "rename", `UPDATE items SET name = 'y' WHERE name = $1`, "missing")
		})
		if !errors.Is(err, errNoRow) || after || count() != 3 {
			t.Fatalf("guarded write: %v (after-commit ran %v, %d items); want errNoRow and nothing stored", err, after, count())
		}
		err = d.Tx(ctx, func(tx *db.Tx) error {
			return tx.DeferGuard(ctx, func() error { return errNoRow }, "rename", `UPDATE items SET name = 'z' WHERE name = $1`, "d")
		})
		var z int
		d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM items WHERE name = 'z'`).Scan(&z)
		if err != nil || z != 1 {
			t.Fatalf("guarded write that matches: %v, %d renamed; want 1", err, z)
		}

		// A failing statement is reported with its context, by Flush and by
		// the transaction, even if a later statement saw the failure first.
		err = d.Tx(ctx, func(tx *db.Tx) error {
			tx.Defer(ctx, nil, "insert duplicate a", `INSERT INTO items (name, created_at) VALUES ($1, $2)`, "a", now)
			var n int
			tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM items`).Scan(&n)
			if ferr := tx.Flush(ctx); !db.IsUniqueViolation(ferr) {
				t.Errorf("flush: %v, want the unique violation", ferr)
			}
			return nil
		})
		if !db.IsUniqueViolation(err) || !strings.Contains(err.Error(), "insert duplicate a") || count() != 3 {
			t.Fatalf("failed write: %v (%d items); want the wrapped unique violation and nothing stored", err, count())
		}
	})
}
