package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// deferred is a write queued by Tx.Defer.
type deferred struct {
	query string
	args  []any
	check func(rows int64) error
	guard func() error // DeferGuard: the error when no row was affected
	errf  string
}

// Defer runs a write whose result the caller does not need at once. On
// SQLite it runs now (a statement costs no round trip there). On PostgreSQL
// it is queued, and the queue is sent in one round trip (a pgx pipeline)
// before the next statement of the transaction, at [Tx.Flush], or before the
// commit, so the statements still run in the order they were issued.
//
// check, when not nil, gets the number of rows the statement affected and
// may refuse the write by returning an error (for example a version guard
// that matched no row). An error of the statement or of check is returned by
// Defer on SQLite, on PostgreSQL by the flush (or the statement that caused
// it); on both it fails the whole transaction: later statements and Defer
// calls return it without running, and [DB.Tx] rolls back and returns it,
// whatever fn returns. Wrap errors in check with their context;
// statement errors are wrapped with errf's text, as fmt.Errorf(errf+": %w").
func (tx *Tx) Defer(ctx context.Context, check func(rows int64) error, errf, query string, args ...any) error {
	if tx.failed != nil {
		return tx.failed
	}
	if tx.conn == nil {
		res, err := tx.ExecContext(ctx, query, args...)
		var n int64
		if err == nil && check != nil {
			n, err = res.RowsAffected()
		}
		if err != nil {
			tx.failed = fmt.Errorf(errf+": %w", err)
			return tx.failed
		}
		if check != nil {
			if err := check(n); err != nil {
				tx.failed = err
				return err
			}
		}
		return nil
	}
	tx.queue = append(tx.queue, deferred{query: query, args: args, check: check, errf: errf})
	return nil
}

// DeferGuard is [Tx.Defer] for a guarded write, typically an UPDATE ...
// WHERE version = $n: if it affects no row, the transaction fails with the
// error refuse returns. Unlike a check, the guard is enforced by the
// database itself on PostgreSQL (the statement raises an error when it
// affects no row), so the write can travel in the same round trip as the
// COMMIT. query must be a single INSERT, UPDATE or DELETE without RETURNING.
func (tx *Tx) DeferGuard(ctx context.Context, refuse func() error, errf, query string, args ...any) error {
	if tx.failed != nil {
		return tx.failed
	}
	if tx.conn == nil {
		return tx.Defer(ctx, func(n int64) error {
			if n == 0 {
				return refuse()
			}
			return nil
		}, errf, query, args...)
	}
	// count(*) is 0 exactly when the guard failed: 1/0 raises
	// division_by_zero (22012), which aborts the transaction.
	tx.queue = append(tx.queue, deferred{query: `WITH guarded AS (` + query + ` RETURNING 1) SELECT 1 / COUNT(*)::integer FROM guarded`,
		args: args, guard: refuse, errf: errf})
	return nil
}

// DeferToCommit is [Tx.Defer] for a write that must come last: on
// PostgreSQL it runs after every other statement of the transaction, sent
// in the same round trip as the COMMIT, so a lock it takes (the audit chain
// head) is held for no round trip at all. Reads in the transaction do not
// see it there; on SQLite it runs now, like Defer.
func (tx *Tx) DeferToCommit(ctx context.Context, check func(rows int64) error, errf, query string, args ...any) error {
	if tx.failed != nil {
		return tx.failed
	}
	if tx.conn == nil {
		return tx.Defer(ctx, check, errf, query, args...)
	}
	tx.atCommit = append(tx.atCommit, deferred{query: query, args: args, check: check, errf: errf})
	return nil
}

// Flush sends the writes queued by [Tx.Defer] now and returns the first
// error among them. It is a no-op when nothing is queued (always on SQLite).
// Callers that must report a deferred write's refusal themselves (rather
// than through [DB.Tx]) call it before returning.
func (tx *Tx) Flush(ctx context.Context) error {
	if tx.failed != nil {
		return tx.failed
	}
	if len(tx.queue) == 0 {
		return nil
	}
	q := tx.queue
	tx.queue = nil
	_, err := tx.pipeline(ctx, q, false)
	if err != nil {
		tx.failed = err
	}
	return err
}

// commitPipelined sends the queued writes, the writes deferred to commit and
// the COMMIT in one round trip (PostgreSQL). committed reports whether the
// COMMIT took effect; the caller must still end the *sql.Tx.
func (tx *Tx) commitPipelined(ctx context.Context) (committed bool, err error) {
	ctx = context.WithoutCancel(ctx)
	q := tx.queue
	// A check is run here, not by the database: the writes up to the last
	// checked one must be answered before the COMMIT is sent.
	last := -1
	for i, d := range q {
		if d.check != nil {
			last = i
		}
	}
	if last >= 0 {
		tx.queue = q[last+1:]
		if _, err := tx.pipeline(ctx, q[:last+1], false); err != nil {
			return false, err
		}
	}
	q = append(tx.queue, tx.atCommit...)
	tx.queue, tx.atCommit = nil, nil
	return tx.pipeline(ctx, q, true)
}

// pipeline runs q (and a COMMIT if commit) on the transaction's connection
// in one round trip, checking each result in order.
func (tx *Tx) pipeline(ctx context.Context, q []deferred, commit bool) (committed bool, err error) {
	err = tx.conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("db: flush: unexpected driver connection %T", dc)
		}
		c := sc.Conn()
		var b pgx.Batch
		for _, d := range q {
			b.Queue(d.query, d.args...)
		}
		if commit {
			// Then an empty transaction, which the caller's Rollback of the
			// *sql.Tx ends quietly (a ROLLBACK with no transaction would log
			// a warning on the server for every commit).
			b.Queue("COMMIT")
			b.Queue("BEGIN")
		}
		br := c.SendBatch(ctx, &b)
		var first error
		for _, d := range q {
			tag, err := br.Exec()
			if err != nil {
				var pe *pgconn.PgError
				if d.guard != nil && errors.As(err, &pe) && pe.Code == "22012" {
					first = d.guard()
				} else {
					first = fmt.Errorf(d.errf+": %w", err)
				}
				break
			}
			if d.check != nil {
				if err := d.check(tag.RowsAffected()); err != nil {
					first = err
					break
				}
			}
		}
		if commit && first == nil {
			tag, err := br.Exec()
			switch {
			case err != nil:
				first = fmt.Errorf("commit: %w", err)
			case tag.String() != "COMMIT":
				first = fmt.Errorf("commit: the transaction was rolled back (%s)", tag)
			default:
				committed = true
				_, _ = br.Exec() // BEGIN
			}
		}
		if err := br.Close(); err != nil && first == nil {
			first = fmt.Errorf("db: flush: %w", err)
		}
		return first
	})
	return committed, err
}

// errFailed is reported by statements run in a transaction that a deferred
// write already failed; DB.Tx returns the deferred write's error instead.
var errFailed = errors.New("db: transaction failed at a deferred write")

// flushFirst flushes the queue before a statement; false means the
// transaction has failed and the statement must not run.
func (tx *Tx) flushFirst(ctx context.Context) bool {
	if len(tx.queue) > 0 {
		tx.Flush(ctx)
	}
	return tx.failed == nil
}

// failedRow returns a *sql.Row that reports errFailed.
func (tx *Tx) failedRow(ctx context.Context, query string, args ...any) *sql.Row {
	cctx, cancel := context.WithCancelCause(ctx)
	cancel(errFailed)
	return tx.Tx.QueryRowContext(cctx, query, args...)
}
