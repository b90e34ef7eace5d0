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
//     caller's transaction. On SQLite the single writer serialises appends. On
//     PostgreSQL Append is one statement (UPDATE of the head that computes the
//     new hash with sha256() from the head it replaces, and INSERT of the entry
//     from its RETURNING), deferred to the commit ([db.Tx.DeferToCommit]): it
//     runs after every other statement of the transaction, in the same round
//     trip as the COMMIT, so the head row's lock is held only while the server
//     executes those two. The UPDATE waits for a concurrent appender's commit
//     and then re-reads the head it left, so entries chain in commit order. A
//     rolled-back transaction takes its entry and its sequence number with it.
//     (On PostgreSQL, reads inside the appending transaction do not see its
//     entry.)
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
