package db_test

import (
	"context"
	"errors"
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
