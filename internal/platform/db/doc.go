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
//     use a separate pool and see committed data (WAL).
//   - Times are stored in UTC; callers pass time.Time values and get UTC back.
//   - Migrations are registered per module and applied in order, once, under a lock
//     (a PostgreSQL advisory lock), so several nodes may start at the same time.
package db
