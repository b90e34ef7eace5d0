package db

import (
	"context"
	"path/filepath"
	"testing"
)

func TestSQLiteStatementsArePreparedOnceAndReused(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Write().ExecContext(ctx, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const ins = `INSERT INTO kv (k, v) VALUES ($1, $2)`
	for i := 0; i < 50; i++ {
		err := d.Tx(ctx, func(tx *Tx) error {
			if _, err := tx.ExecContext(ctx, ins, i, "giá trị"); err != nil {
				return err
			}
			var v string
			if err := tx.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = $1`, i).Scan(&v); err != nil || v != "giá trị" {
				t.Fatalf("read back %d: %q %v", i, v, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	d.stmts.mu.Lock()
	_, cached := d.stmts.m[ins]
	n := len(d.stmts.m)
	d.stmts.mu.Unlock()
	if !cached || n != 2 {
		t.Fatalf("cache holds %d statements (insert cached: %v), want the 2 used", n, cached)
	}
	// A failing statement still reports its error, cached or not.
	for i := 0; i < 2; i++ {
		err := d.Tx(ctx, func(tx *Tx) error {
			_, err := tx.ExecContext(ctx, ins, 1, "trùng khóa")
			return err
		})
		if !IsUniqueViolation(err) {
			t.Fatalf("duplicate key: %v", err)
		}
	}
	// Several statements in one string are never cached.
	if err := d.Tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE kv SET v = 'a' WHERE k = 1; UPDATE kv SET v = 'b' WHERE k = 2`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var a, b string
	d.Read().QueryRowContext(ctx, `SELECT (SELECT v FROM kv WHERE k = 1), (SELECT v FROM kv WHERE k = 2)`).Scan(&a, &b)
	if a != "a" || b != "b" {
		t.Fatalf("multi-statement exec ran %q %q", a, b)
	}
}
