// Package db is congso's database layer over SQLite (embedded default, pure-Go
// modernc.org/sqlite) and PostgreSQL (pgx through database/sql).
//
// Every module writes plain, parameterised SQL with $1, $2 placeholders, which both
// drivers accept. The few differences between the engines (column types for ids,
// times, JSON and booleans; upserts are the same on both) are kept here: migration
// text may use the macros listed in [Expand], and code that must branch asks
// [DB.Dialect].
//
// Invariants:
//   - On SQLite all writes go through a single connection ([DB.Tx]) with
//     BEGIN IMMEDIATE, so writers queue instead of failing with SQLITE_BUSY; reads
//     use a separate pool and see committed data (WAL). Transactions that queue
//     up share one COMMIT (group commit, see group.go): each caller still gets
//     its own success or failure, learns of success only after the COMMIT, and
//     a failure of one never loses another's writes (those run again alone).
//   - Writes whose result is not needed at once go through [Tx.Defer],
//     [Tx.DeferGuard] and [Tx.DeferToCommit]. On SQLite they run at once; on
//     PostgreSQL they are queued and sent in one round trip (a pgx pipeline)
//     before the transaction's next statement, at [Tx.Flush], or together with
//     the COMMIT. Order is kept; a failed or refused deferred write fails the
//     whole transaction. A guard (a version check) is enforced by PostgreSQL
//     itself, so it can travel with the COMMIT; a check callback cannot, and
//     costs a round trip before the COMMIT.
//   - fn given to [DB.Tx] may run more than once (PostgreSQL serialization
//     retries; SQLite re-runs after a broken commit group): no side effects
//     outside tx except through AfterCommit.
//   - SQLite checkpoints in the background (checkpoint.go), never inside a
//     COMMIT: a commit does not wait for the log to be copied into the
//     database file, and the log is restarted once it passes 16 MB.
//     Close copies it all back.
//   - Times are stored in UTC; callers pass time.Time values and get UTC back.
//   - Migrations are registered per module and applied in order, once, under a lock
//     (a PostgreSQL advisory lock), so several nodes may start at the same time.
package db
