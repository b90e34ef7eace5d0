package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Group commit on SQLite.
//
// SQLite has one write connection, so write transactions run one after the
// other. When several arrive together, running each in its own BEGIN
// IMMEDIATE ... COMMIT pays a commit (writing the changed pages to the WAL)
// per transaction. Instead, transactions that queue up share one SQLite
// transaction, one after the other, and the last one in line commits for all.
// A caller is told of its success only after that COMMIT succeeded, and its
// AfterCommit hooks run only then.
//
// Each caller still gets its own outcome. A member whose fn fails without
// having written (the usual refusal: checks before writes) leaves the group
// as it is. A member that fails after writing cannot be undone alone (a
// SAVEPOINT per member would allow it, but journals every page each member
// touches: about a quarter of the time of a workflow transition), so it
// breaks the group: the group is rolled back, that member returns its own
// error, and every member that had succeeded runs its fn again in a
// transaction of its own ([DB.Tx] already requires fn to be safe to run
// again). The same happens if the shared transaction fails as a whole (its
// COMMIT fails, for example on a deferred constraint of one member, or
// SQLite rolls it back on an I/O or disk-full error). Nothing is acknowledged
// before its commit, so nothing acknowledged is lost.
//
// Members run their fn on their own goroutine, one at a time (a mutex), with
// statements run under a context that is not cancelled: a cancelled request
// must not interrupt a statement, as SQLite would then roll back the writes
// of the whole group.

// maxGroup bounds the transactions sharing one commit, so the first of a
// busy stream does not wait for too many others.
const maxGroup = 16

type committer struct {
	mu      sync.Mutex   // held by the member running its fn
	waiting atomic.Int32 // callers blocked on mu
	cur     *group       // the open group, if any (guarded by mu)
	commits atomic.Int64 // groups committed, for tests
}

type group struct {
	tx      *sql.Tx
	members int
	done    chan struct{} // closed when the group committed or failed
	err     error         // why the group failed; read after done
	missed  []string
}

// errGroupBroken ends a group one of whose members failed after writing.
var errGroupBroken = errors.New("db: commit group rolled back")

// groupTx runs fn as a member of a commit group (SQLite).
func (db *DB) groupTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	c := db.commit
	c.waiting.Add(1)
	c.mu.Lock()
	c.waiting.Add(-1)
	locked := true
	unlock := func() {
		if locked {
			locked = false
			c.mu.Unlock()
		}
	}
	defer unlock() // only on a panic of this package's own code

	var g *group
	joined := false
	var tx *Tx
	var panicked any
	if err = ctx.Err(); err == nil {
		if c.cur == nil {
			// Not the caller's context: the transaction outlives this caller.
			stx, berr := db.write.BeginTx(context.Background(), nil)
			if berr != nil {
				err = fmt.Errorf("begin: %w", berr)
			} else {
				c.cur = &group{tx: stx, done: make(chan struct{})}
			}
		}
		if c.cur != nil {
			g = c.cur
			tx = &Tx{Tx: g.tx, Dialect: db.dialect, stmts: db.stmts, grouped: true}
			joined, err, panicked = db.member(g, tx, fn)
		}
	}
	// Whoever holds the lock decides: commit now if nobody is queued behind
	// (or the group is full or broken), else leave it to the next in line.
	if g := c.cur; g != nil && (g.err != nil || c.nobodyQueued() || g.members >= maxGroup) {
		c.cur = nil
		db.finish(ctx, g)
	}
	unlock()
	if panicked != nil {
		panic(panicked)
	}
	if !joined {
		return err
	}
	<-g.done
	if g.err != nil {
		// The shared transaction failed (its commit, or another member broke
		// it): none of its writes is stored. Run fn again alone, so that
		// only a transaction that fails by itself reports a failure.
		return db.soloTx(ctx, fn)
	}
	for _, f := range tx.after {
		f()
	}
	return nil
}

// nobodyQueued reports whether no caller waits for the writer. Before saying
// so it yields the processor a few times: callers just woken by the previous
// commit are usually about to queue again, and joining this group saves
// them a commit of their own.
func (c *committer) nobodyQueued() bool {
	for range 3 {
		if c.waiting.Load() > 0 {
			return false
		}
		runtime.Gosched()
	}
	return c.waiting.Load() == 0
}

// member runs fn in g; joined reports whether its writes are part of the
// group, panicked what fn panicked with. A member that fails after writing
// breaks the group (its writes cannot be told from the others'): the group
// is rolled back and the members that had succeeded run again alone.
func (db *DB) member(g *group, tx *Tx, fn func(tx *Tx) error) (joined bool, err error, panicked any) {
	func() {
		defer func() { panicked = recover() }()
		err = fn(tx)
	}()
	if panicked == nil && err == nil && tx.failed != nil {
		err = tx.failed
	}
	if panicked != nil || err != nil {
		if tx.wrote {
			g.err = fmt.Errorf("db: a transaction sharing the commit failed: %w", errGroupBroken)
		}
		return false, err, panicked
	}
	g.members++
	g.missed = append(g.missed, tx.missed...)
	return true, nil, nil
}

// finish commits g (or rolls it back if it failed), wakes its members and
// prepares the statements they met. The caller holds the commit mutex, so
// the write connection is free for preparing.
func (db *DB) finish(ctx context.Context, g *group) {
	if g.err != nil {
		_ = g.tx.Rollback()
	} else if err := g.tx.Commit(); err != nil {
		g.err = fmt.Errorf("commit: %w", err)
	} else {
		db.commit.commits.Add(1)
	}
	close(g.done)
	if len(g.missed) > 0 {
		db.stmts.prepare(ctx, g.missed)
	}
}
