package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Dialect names a database engine.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Querier is what both *sql.DB and *sql.Tx offer; store code takes it so the same
// function works inside and outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is an open database: a write handle and a read handle (the same pool on
// PostgreSQL) and its dialect.
type DB struct {
	dialect Dialect
	write   *sql.DB
	read    *sql.DB
	url     string
	stmts   *stmtCache // SQLite write statements, prepared once
	commit  *committer // SQLite group commit
	ckpt    *checkpointer
}

// Tx is a write transaction. It embeds *sql.Tx and knows its dialect.
type Tx struct {
	*sql.Tx
	Dialect  Dialect
	after    []func()
	stmts    *stmtCache // nil: no statement reuse (PostgreSQL, migrations)
	missed   []string   // statements to prepare once the transaction ends
	conn     *sql.Conn  // PostgreSQL: the connection, for pipelined deferred writes
	queue    []deferred // PostgreSQL: writes queued by Defer
	atCommit []deferred // PostgreSQL: writes queued by DeferToCommit
	failed   error      // a deferred write failed: the transaction must roll back
	grouped  bool       // SQLite: a member of a commit group (statements ignore cancellation)
	wrote    bool       // a statement that may write was run (group commit)
}

// AfterCommit registers fn to run after the transaction commits successfully
// (for example to wake a worker). It never runs if the transaction rolls back.
func (tx *Tx) AfterCommit(fn func()) { tx.after = append(tx.after, fn) }

// Options tunes Open.
type Options struct {
	// MaxReadConns bounds the read pool (default 8 on SQLite, 20 on PostgreSQL).
	MaxReadConns int
}

// Open opens a database from a URL:
//
//	postgres://user:pass@host:5432/name?sslmode=disable   PostgreSQL (pgx)
//	sqlite:///abs/path/congso.db or a plain file path      SQLite (WAL)
func Open(ctx context.Context, rawURL string, opt Options) (*DB, error) {
	if strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://") {
		return openPostgres(ctx, rawURL, opt)
	}
	path := strings.TrimPrefix(rawURL, "sqlite://")
	path = strings.TrimPrefix(path, "sqlite:")
	if path == "" {
		return nil, errors.New("db: empty database path")
	}
	return openSQLite(ctx, path, opt)
}

func openPostgres(ctx context.Context, u string, opt Options) (*DB, error) {
	pool, err := sql.Open("pgx", u)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	n := opt.MaxReadConns
	if n <= 0 {
		n = 20
	}
	pool.SetMaxOpenConns(n)
	pool.SetMaxIdleConns(n)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.PingContext(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	return &DB{dialect: Postgres, write: pool, read: pool, url: u}, nil
}

func openSQLite(ctx context.Context, path string, opt Options) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_time_format", "sqlite")
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	// The commit group's savepoints journal the pages each member changes;
	// keep that journal in memory rather than in a temporary file.
	wq.Add("_pragma", "temp_store(MEMORY)")
	// Checkpoints run in the background, not inside a commit (checkpoint.go).
	wq.Add("_pragma", "wal_autocheckpoint(0)")
	wq.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walSizeLimit))
	w, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	n := opt.MaxReadConns
	if n <= 0 {
		n = 8
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	c, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxIdleTime(0)
	return &DB{dialect: SQLite, write: w, read: r, url: path, stmts: newStmtCache(w), commit: &committer{}, ckpt: startCheckpointer(c, w)}, nil
}

// Dialect reports the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// Read returns the handle for queries outside a transaction. On SQLite it is a
// separate pool that never blocks the writer.
func (db *DB) Read() *sql.DB { return db.read }

// Write returns the handle for single statements that write outside Tx.
func (db *DB) Write() *sql.DB { return db.write }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.PingContext(ctx); err != nil {
		return err
	}
	if db.write != db.read {
		return db.write.PingContext(ctx)
	}
	return nil
}

// Close closes both handles.
func (db *DB) Close() error {
	if db.stmts != nil {
		db.stmts.close()
	}
	err := db.write.Close()
	if db.read != db.write {
		if e := db.read.Close(); err == nil {
			err = e
		}
	}
	if db.ckpt != nil {
		if e := db.ckpt.close(); err == nil {
			err = e
		}
	}
	return err
}

// Tx runs fn in a write transaction and commits if fn returns nil. On PostgreSQL a
// serialization failure or deadlock is retried a few times; fn must therefore be
// safe to run again (do no side effects outside tx; use AfterCommit or the outbox).
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	const attempts = 5
	var err error
	for i := 0; i < attempts; i++ {
		err = db.tx(ctx, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(i+1) * 5 * time.Millisecond)
	}
	return err
}

func (db *DB) tx(ctx context.Context, fn func(tx *Tx) error) error {
	if db.commit != nil {
		return db.groupTx(ctx, fn)
	}
	return db.soloTx(ctx, fn)
}

// soloTx runs fn in a transaction of its own.
func (db *DB) soloTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	var stx *sql.Tx
	var conn *sql.Conn
	if db.dialect == Postgres {
		// Keep the connection: deferred writes are pipelined on it.
		if conn, err = db.write.Conn(ctx); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer conn.Close()
		stx, err = conn.BeginTx(ctx, nil)
	} else {
		stx, err = db.write.BeginTx(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: stx, Dialect: db.dialect, stmts: db.stmts, conn: conn}
	defer func() {
		if len(tx.missed) > 0 {
			db.stmts.prepare(ctx, tx.missed)
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = stx.Rollback()
		}
	}()
	err = fn(tx)
	if tx.failed != nil {
		// A deferred write failed: that is the cause, whatever fn saw after.
		err = tx.failed
	}
	if err != nil {
		return err
	}
	if len(tx.queue)+len(tx.atCommit) > 0 {
		// PostgreSQL: the deferred writes and the COMMIT in one round trip.
		// database/sql still sees an open transaction: end it (rolling back
		// the empty transaction begun after the COMMIT, else the real one).
		_, cerr := tx.commitPipelined(ctx)
		_ = stx.Rollback()
		if cerr != nil {
			err = cerr
			return err
		}
	} else if err = stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, f := range tx.after {
		f()
	}
	return nil
}

// retryable reports PostgreSQL serialization failures and deadlocks.
func retryable(err error) bool {
	var c interface{ SQLState() string }
	if errors.As(err, &c) {
		switch c.SQLState() {
		case "40001", "40P01":
			return true
		}
	}
	return false
}

// IsUniqueViolation reports whether err is a unique-constraint violation on
// either engine.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var c interface{ SQLState() string }
	if errors.As(err, &c) {
		return c.SQLState() == "23505"
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "PRIMARY KEY constraint failed")
}

// IsForeignKeyViolation reports whether err is a foreign-key violation on either engine.
func IsForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	var c interface{ SQLState() string }
	if errors.As(err, &c) {
		return c.SQLState() == "23503"
	}
	return strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

// ForUpdateSkipLocked returns the locking clause for claiming rows in worker
// queues: "FOR UPDATE SKIP LOCKED" on PostgreSQL, nothing on SQLite (where the
// single writer connection already serialises claims).
func (db *DB) ForUpdateSkipLocked() string {
	if db.dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}
