// Package workflow is congso's generic, declarative process engine. It owns
// process definitions (versioned data, not code per procedure), the cases
// that run them, their timelines, pause intervals, deadline escalations and
// the open work shown in officials' inboxes. "Case" is this package's word:
// the dossier module owns dossiers and starts one case per dossier, in its
// own transaction.
//
// # Definitions
//
// A [Definition] is a JSON document (schema: [Schema]; shipped examples in
// definitions/) with a key, a version, states and actions:
//
//   - states are normal, paused (the total clock stands still; every stay is
//     a stored [Pause]), final, fork or join; each declares its national
//     portal status code 1–10 (requirements §4), the unit slot that owns it
//     ("desk", "division", "agency", default the case's main unit), the roles
//     whose inbox shows it (or the assignee's), an optional SLA in working
//     days or office hours and an escalation (warn N office hours before,
//     notify roles and optionally take an action on breach);
//   - actions name the roles allowed, the next state (or stay), the inputs
//     they require (comment, attachments, signature), and whether they send
//     back, assign, extend the due date, set unit slots, refuse (in a fork
//     branch) or record an outcome; common actions apply to several states;
//   - a fork starts one branch per agency given at run time, each with its own
//     deadline, at its branch start; the branches end at the join, which moves
//     the case on when all are done or at once when one refuses;
//   - clock_starts/clock_stops name where the total SLA starts (valid
//     reception, §6) and stops (result ready); a cutoff time makes a clock
//     started late in the day count from the next working day.
//
// [ParseDefinition] checks the schema, then the semantics, reporting every
// problem with its JSON pointer: unknown target states, unreachable states,
// states that cannot reach a final state, actions without roles, owners who
// cannot act, join without fork, branches that never join or leave other
// than through their join, unusable escalation actions. A published version
// is immutable; a case pins (key, version) at [Service.Start] and keeps it.
// Three definitions ship embedded ([OneStop], the nine steps of §3 with
// supplement, refusal, withdrawal, stop, extension, fee payment, result not
// collected and archiving; [OneStopInterAgency]; [OneStopSameDay]);
// [Service.InstallShipped] publishes them.
//
// # Transitions
//
// [Service.TransitionTx] takes one action in one transaction (the caller's,
// so the dossier's own changes commit with it): it reads the case, checks the
// action is available ([ErrInvalidAction]), the actor holds an allowed role
// in the unit of the step ([ErrForbidden], also for a step assigned to
// someone else), the inputs ([ErrInvalidInput]), then writes
//
//   - the case row, with `UPDATE ... WHERE id = $1 AND version = $2`: of two
//     concurrent actions on the same version exactly one updates a row, the
//     other gets [ErrConflict] (ExpectedVersion, when given, is checked
//     first); branch actions lock the case row on PostgreSQL so sibling
//     branches do not fail each other;
//   - history entries (actor, role, unit, time, from, to, action, comment,
//     attachments with content hashes, signature, due date after);
//   - pause intervals: entering a paused state opens one, leaving closes it
//     with its office time, and the total due date (and the interrupted
//     step's, when the case returns to it) moves by that time;
//   - work items, timers (kind [TimerKind]: one per case for the total
//     deadline while the clock runs, "case:<id>"; one per step with an SLA,
//     "state:<id>:<state>"; one per open branch); a timer fires at the
//     warning time, records it, and re-arms itself for the breach;
//   - one outbox event per history entry ([TopicTransition]) and one audit
//     entry (last, as the audit log locks its chain head until commit).
//
// All these writes are deferred writes ([db.Tx.Defer], [db.Tx.DeferGuard]):
// on SQLite they run as issued; on PostgreSQL they are sent in one round trip,
// so a transition costs BEGIN, the case read, that round trip and the COMMIT.
// TransitionTx sends them before it returns, so a version conflict is its own
// [ErrConflict]; [Service.Transition], whose transaction is its own, lets them
// travel with the COMMIT (the audit entry last, so the chain head is locked
// for no round trip) and returns the conflict from the commit.
//
// [Service.HandleTimer] ignores a timer whose deadline no longer holds,
// records each warning and breach once ([EscalationRecord],
// [TopicEscalation]) and may move the case for the system.
//
// # Tables and indexes
//
//	workflow_definitions (def_key, version) PK     body, checksum (cache key)
//	workflow_cases       id PK, ref index          state, version, deadlines, pause and fork state
//	workflow_branches    (case_id, fork_seq, branch) PK
//	workflow_history     (case_id, id) index       the timeline
//	workflow_pauses      (case_id, seq) PK
//	workflow_escalations UNIQUE (case_id, scope, cycle, kind)   idempotent firing
//	workflow_work_items  (case_id, branch, role) PK, one row per piece of open work
//	  workflow_items_queue    (unit, role, assignee, due_at, case_id, branch, warn_at, ...)
//	  workflow_items_assignee (assignee, due_at, case_id, branch, warn_at, ...) WHERE assignee <> ''
//
// Work items hold the earliest of the step's and the case's deadline (the
// branch's for branch work) and its warning time, with 9999-12-31 instead of
// NULL when no clock runs, so keyset order is identical on both engines.
// Both indexes end with every column an inbox returns, so pages and counts
// are read from the index alone.
//
// # Inbox queries at a million open cases
//
// An inbox is the union of a few sources, each an equality prefix of one
// index followed by a due_at range: per (unit, role) of the actor's
// unit-scoped grants, "unit = ? AND role = ? AND assignee = ”"; for the
// actor's own work, "assignee = ? AND assignee <> ”" (the literal term lets
// both planners use the partial index with a bound parameter). Near breach
// adds "due_at > now AND due_at <= bound AND warn_at <= now", where bound is
// 40 office hours (the schema's largest warning lead) plus a day after now;
// overdue adds "due_at <= now". Each source is read in index order with
// LIMIT page+1 and the sources are merged: a page reads at most
// (sources × (page+1)) index entries whatever the table size. Keyset paging
// continues after (due_at, case_id, branch) with "due_at >= ? AND (due_at > ?
// OR case_id > ? OR (case_id = ? AND branch > ?))", which both engines turn
// into an index range start. Counts are index range counts per source.
//
// EXPLAIN on 1,000,000 generated open cases over 100 units ([Generate];
// BenchmarkInbox), second page (50 items) of a division head who is also the
// desk officer of one unit and the clerk of another, on the 2-core test
// machine under load:
//
//	PostgreSQL 15 — queue (1.0 ms a page):
//	  Limit -> Merge Append (Sort Key: due_at, case_id, branch)
//	    -> Limit -> Index Only Scan using workflow_items_queue
//	         Index Cond: unit = 'U007' AND role = 'division_head' AND assignee = '' AND due_at >= $cursor
//	    -> Limit -> Index Only Scan using workflow_items_queue (role = 'officer') ...
//	    -> Limit -> Index Only Scan using workflow_items_queue (unit = 'U011', role = 'clerk') ...
//	  assigned (0.4 ms): Limit -> Index Only Scan using workflow_items_assignee
//	    Index Cond: assignee = 'U007-handler-2' AND due_at >= $cursor
//	  near breach, overdue (1.0 ms): the same shapes with the due_at range in
//	    the Index Cond; the four counts in one query: 6–11 ms.
//
//	SQLite — every source (queue 2.2 ms, assigned 1.0 ms, near breach 4.2 ms,
//	overdue 3.0 ms, counts 5.6 ms; most of it is the driver parsing the
//	statement):
//	  CO-ROUTINE s0
//	    SEARCH workflow_work_items USING COVERING INDEX workflow_items_queue
//	      (unit=? AND role=? AND assignee=? AND due_at>?)
//	  MERGE (UNION ALL)   (each arm re-sorts its ≤ page+1 rows)
//	  assigned: SEARCH ... USING COVERING INDEX workflow_items_assignee (assignee=? AND due_at>?)
//
// Without the covering columns SQLite took 3–4 times longer at this size
// (a table page per row). TestInboxQueriesUseIndexes checks the plans on
// both engines.
//
// Province-wide grants do not feed queue inboxes (they would list the whole
// province: a report, not an inbox); such holders still may act.
//
// # Invariants
//
//   - A case's version grows by one per transition; the history, the work
//     items, the timers and the pause intervals always describe the state
//     of that version (they are written in its transaction).
//   - A case in a final state has no work items and no timers.
//   - The total-deadline timer exists exactly while the clock runs (started,
//     not stopped, not paused, not ended).
//   - A fork's branches belong to one fork_seq; a branch ends done, refused
//     or cancelled, and the case leaves the fork state only through its join
//     or a main action, which cancels the open branches.
//   - Published definition versions never change (same key and version with
//     other content is [ErrExists]).
package workflow
