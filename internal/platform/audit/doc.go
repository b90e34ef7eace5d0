// Package audit keeps congso's tamper-evident audit log: every action on a
// dossier, a document, an account or a setting appends one [Entry], in the same
// transaction as the action itself.
//
// Invariants:
//   - Append-only. Entries are only inserted ([Append]); triggers on audit_log
//     reject UPDATE and DELETE (and TRUNCATE on PostgreSQL), so application code
//     cannot change history by mistake.
//   - Gap-free sequence. Seq runs 1, 2, 3, ... with no gap: it is taken from a
//     single chain-head row (audit_head) that Append reads and updates inside the
//     caller's transaction. On PostgreSQL the row is locked (SELECT ... FOR
//     UPDATE) until that transaction ends, so concurrent appends queue; on SQLite
//     the single writer already serialises them. A rolled-back transaction takes
//     its entry and its sequence number with it. Because the lock is held until
//     commit, append as late as possible in a transaction.
//   - Hash chain. Each entry's Hash is the SHA-256 of its content and of the
//     previous entry's Hash (PrevHash; 64 zeros for entry 1), so editing,
//     deleting, inserting or reordering entries breaks the chain, and [Verify]
//     reports the first entry where it breaks. The chain head row also records the
//     last sequence number and hash, so deleting the newest entries is detected.
//
// Someone able to rewrite the whole table and the head row can recompute a
// consistent chain: the defence is to ship entries off the database regularly
// ([Export], JSON lines for the security operations centre) and compare the
// exported hashes with later verifications.
//
// Hash (version 1), so that others can verify an export: SHA-256, written in
// lower-case hex, over the netstrings ("<byte length>:<bytes>,") of, in order:
// "congso-audit-v1", seq in decimal, at as 2006-01-02T15:04:05.000000Z (UTC,
// microseconds), actor, action, object_type, object_id, unit, detail (the JSON
// text exactly as stored and exported: compact, keys sorted), ip, request_id,
// prev_hash.
package audit
