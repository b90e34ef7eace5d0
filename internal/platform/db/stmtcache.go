package db

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// stmtCache keeps prepared statements of the SQLite write connection by SQL
// text. The pure-Go SQLite driver parses a statement on every execution
// otherwise, which costs a transition of the process engine about 40% of its
// time. There is one write connection, so a statement prepared on the pool is
// prepared on that connection, and Tx.StmtContext reuses it inside a
// transaction without preparing again.
//
// A statement cannot be prepared on the pool while a transaction holds its
// only connection, so a transaction that meets a new statement runs it
// unprepared and notes it; the statements are prepared when the transaction
// has ended and given the connection back.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// maxCachedStmts bounds the cache; statements past it run unprepared. Code
// has a few hundred distinct statements; queries built with varying text
// (IN lists) stop being cached once the bound is reached rather than grow it.
const maxCachedStmts = 1000

func newStmtCache(d *sql.DB) *stmtCache { return &stmtCache{db: d, m: map[string]*sql.Stmt{}} }

// get returns the prepared statement for query, or nil when the query runs
// unprepared this time (then cacheable tells whether to prepare it later).
func (c *stmtCache) get(query string) (st *sql.Stmt, cacheable bool) {
	if strings.Contains(strings.TrimRight(strings.TrimSpace(query), ";"), ";") {
		return nil, false // several statements: the driver runs them one by one
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, true
	}
	return nil, len(c.m) < maxCachedStmts
}

// prepare prepares queries on the (now free) write connection.
func (c *stmtCache) prepare(ctx context.Context, queries []string) {
	for _, q := range queries {
		c.mu.Lock()
		_, done := c.m[q]
		full := len(c.m) >= maxCachedStmts
		c.mu.Unlock()
		if done || full {
			continue
		}
		st, err := c.db.PrepareContext(context.WithoutCancel(ctx), q)
		if err != nil {
			continue // the plain call reports errors
		}
		c.mu.Lock()
		if _, dup := c.m[q]; dup {
			st.Close()
		} else {
			c.m[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, st := range c.m {
		st.Close()
		delete(c.m, k)
	}
}

// ExecContext runs query in the transaction, after the writes queued by
// [Tx.Defer], reusing a prepared statement on SQLite.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.wrote = true
	if tx.grouped {
		ctx = context.WithoutCancel(ctx)
	}
	if !tx.flushFirst(ctx) {
		return nil, tx.failed
	}
	if st := tx.stmt(query); st != nil {
		return tx.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs query in the transaction, after the writes queued by
// [Tx.Defer], reusing a prepared statement on SQLite.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if !isSelect(query) {
		tx.wrote = true // INSERT ... RETURNING
	}
	if tx.grouped {
		ctx = context.WithoutCancel(ctx)
	}
	if !tx.flushFirst(ctx) {
		return nil, tx.failed
	}
	if st := tx.stmt(query); st != nil {
		return tx.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query in the transaction, after the writes queued by
// [Tx.Defer], reusing a prepared statement on SQLite.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if !isSelect(query) {
		tx.wrote = true // INSERT ... RETURNING
	}
	if tx.grouped {
		ctx = context.WithoutCancel(ctx)
	}
	if !tx.flushFirst(ctx) {
		return tx.failedRow(ctx, query, args...)
	}
	if st := tx.stmt(query); st != nil {
		return tx.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

// stmt returns the cached statement for query, noting a miss for later.
func (tx *Tx) stmt(query string) *sql.Stmt {
	if tx.stmts == nil {
		return nil
	}
	st, cacheable := tx.stmts.get(query)
	if st == nil && cacheable {
		tx.missed = append(tx.missed, query)
	}
	return st
}

// isSelect reports whether query is a plain SELECT, which writes nothing.
func isSelect(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

// PrepareContext prepares a statement in the transaction, after the writes
// queued by [Tx.Defer]. The statement may write: the transaction counts as
// having written (see group commit).
func (tx *Tx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	tx.wrote = true
	if tx.grouped {
		ctx = context.WithoutCancel(ctx)
	}
	if !tx.flushFirst(ctx) {
		return nil, tx.failed
	}
	return tx.Tx.PrepareContext(ctx, query)
}

// StmtContext returns stmt for use in the transaction. It may write: the
// transaction counts as having written (see group commit).
func (tx *Tx) StmtContext(ctx context.Context, stmt *sql.Stmt) *sql.Stmt {
	tx.wrote = true
	return tx.Tx.StmtContext(ctx, stmt)
}
