package db

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

func openGroupTest(t *testing.T, schema ...string) *DB {
	t.Helper()
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "g.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	for _, s := range schema {
		if _, err := d.Write().ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// gather makes the transactions of n callers share one commit group: the
// first caller's fn holds the writer until the n-1 others queue behind it.
func gather(d *DB, n int) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			for d.commit.waiting.Load() < int32(n-1) {
				runtime.Gosched()
			}
		})
	}
}

var errRefused = errors.New("refused by the caller")

// Each caller of a shared commit gets its own outcome: the writes of a failed
// or panicking fn are undone (the group is rolled back and the others run
// again alone), the others' are stored, and a caller hears of success (and
// runs its AfterCommit hooks) only once its writes are committed and
// visible.
func TestGroupCommitKeepsEachCallersOutcome(t *testing.T) {
	d := openGroupTest(t, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
	ctx := context.Background()
	const n = 12
	wait := gather(d, n)
	var wg sync.WaitGroup
	results := make([]error, n)
	visible := make([]bool, n)
	panics := make([]any, n)
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			results[i] = d.Tx(ctx, func(tx *Tx) error {
				wait()
				if _, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2)`, i, fmt.Sprint("giá trị ", i)); err != nil {
					return err
				}
				tx.AfterCommit(func() {
					var v string
					err := d.Read().QueryRowContext(ctx, `SELECT v FROM kv WHERE k = $1`, i).Scan(&v)
					visible[i] = err == nil
				})
				switch i % 4 {
				case 1:
					return errRefused
				case 2:
					panic(fmt.Sprint("panic in ", i))
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i := range n {
		var count int
		d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM kv WHERE k = $1`, i).Scan(&count)
		switch i % 4 {
		case 1:
			if !errors.Is(results[i], errRefused) || count != 0 || visible[i] {
				t.Errorf("refused %d: err %v, stored %d, after-commit ran %v; want its error and nothing stored", i, results[i], count, visible[i])
			}
		case 2:
			if panics[i] != fmt.Sprint("panic in ", i) || count != 0 || visible[i] {
				t.Errorf("panicking %d: recovered %v, stored %d, after-commit ran %v; want the panic and nothing stored", i, panics[i], count, visible[i])
			}
		default:
			if results[i] != nil || panics[i] != nil || count != 1 || !visible[i] {
				t.Errorf("%d: err %v, panic %v, stored %d, visible at after-commit %v; want stored and visible", i, results[i], panics[i], count, visible[i])
			}
		}
	}
}

// When the shared COMMIT fails because of one member (here a deferred
// foreign key it broke), the others are not told of a failure that is not
// theirs: they run again alone and commit; only the culprit fails.
func TestGroupCommitFailureFailsOnlyTheCulprit(t *testing.T) {
	d := openGroupTest(t,
		`CREATE TABLE parent (id INTEGER PRIMARY KEY)`,
		`CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`,
		`INSERT INTO parent (id) VALUES (1)`)
	ctx := context.Background()
	const n, bad = 6, 3
	wait := gather(d, n)
	var wg sync.WaitGroup
	results := make([]error, n)
	runs := make([]int, n)
	for i := range n {
		wg.Go(func() {
			results[i] = d.Tx(ctx, func(tx *Tx) error {
				runs[i]++
				wait()
				parent := 1
				if i == bad {
					parent = 99 // no such parent: detected at COMMIT
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO child (id, parent) VALUES ($1, $2)`, i, parent)
				return err
			})
		})
	}
	wg.Wait()
	for i := range n {
		var count int
		d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM child WHERE id = $1`, i).Scan(&count)
		if i == bad {
			if !IsForeignKeyViolation(results[i]) || count != 0 {
				t.Errorf("culprit: err %v, stored %d; want a foreign-key violation and nothing stored", results[i], count)
			}
			continue
		}
		if results[i] != nil || count != 1 || runs[i] != 2 {
			t.Errorf("%d: err %v, stored %d, ran %d times; want success after running again alone", i, results[i], count, runs[i])
		}
	}
}

// A caller whose context is cancelled while it waits in line fails without
// running, and a caller refusing before it writes anything fails alone: the
// group commits the others' writes once.
func TestGroupCommitCancelledCallerFailsAlone(t *testing.T) {
	d := openGroupTest(t, `CREATE TABLE kv (k INTEGER PRIMARY KEY)`)
	ctx := context.Background()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	const n = 3
	var wg sync.WaitGroup
	results := make([]error, n)
	var cancelled error
	ran := false
	var once sync.Once
	refused := make(chan error, 1)
	wg.Go(func() {
		// Queued behind the first: reads, then refuses.
		for d.commit.waiting.Load() == 0 {
			runtime.Gosched()
		}
		refused <- d.Tx(ctx, func(tx *Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil {
				return err
			}
			return errRefused
		})
	})
	for i := range n {
		wg.Go(func() {
			results[i] = d.Tx(ctx, func(tx *Tx) error {
				once.Do(func() {
					// Queue the cancelled caller and the others behind this one.
					wg.Go(func() {
						cancelled = d.Tx(cctx, func(tx *Tx) error { ran = true; return nil })
					})
					for d.commit.waiting.Load() < n+1 {
						runtime.Gosched()
					}
				})
				_, err := tx.ExecContext(ctx, `INSERT INTO kv (k) VALUES ($1)`, i)
				return err
			})
		})
	}
	wg.Wait()
	if err := <-refused; !errors.Is(err, errRefused) {
		t.Fatalf("refusing caller: %v", err)
	}
	if !errors.Is(cancelled, context.Canceled) || ran {
		t.Fatalf("cancelled caller: %v, ran %v; want context.Canceled without running", cancelled, ran)
	}
	for i, err := range results {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	var count int
	d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM kv`).Scan(&count)
	if count != n || d.commit.commits.Load() != 1 {
		t.Fatalf("%d rows in %d commits, want %d in 1", count, d.commit.commits.Load(), n)
	}
}
