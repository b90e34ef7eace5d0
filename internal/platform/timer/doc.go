// Package timer keeps durable timers: "call the handler of this kind, with this
// payload, at this time", surviving restarts and shared by every node. The
// workflow engine uses them for SLA warnings and escalations.
//
// A module calls [Schedule] inside its own transaction, so a timer exists if and
// only if the change that needs it committed. A timer is named by (kind, key):
// scheduling the same pair again replaces the due time and payload, and [Cancel]
// removes it. [Set] is Schedule without returning the id; it and Cancel are
// deferred writes ([db.Tx.Defer]): on PostgreSQL they travel with the
// transaction's other deferred writes in one round trip. A [Scheduler] (one per node, any number of nodes) fires due timers:
//
//   - It claims due timers with a lease (claimed_until) and a claim token, with
//     FOR UPDATE SKIP LOCKED on PostgreSQL, so in normal operation each timer
//     fires exactly once across all nodes. If a node dies while firing, the lease
//     expires and another node fires the timer again: handlers must be
//     idempotent.
//   - A handler error retries the timer with exponential backoff and jitter;
//     after MaxAttempts (default 10) the timer is kept as dead for an
//     administrator ([Scheduler.DeadTimers], [Scheduler.Retry]).
//   - A fired timer is deleted, so the (kind, key) pair may be scheduled again.
//     Rescheduling while the handler runs wins: the running handler's outcome is
//     not recorded over the new schedule.
//   - Between firings Run sleeps until the earliest pending timer (read through
//     the partial index timers_next, never a full scan), at most PollInterval, and
//     wakes early when a transaction in this process schedules a timer.
//
// Columns: due_at is the time the timer was scheduled for (what handlers see);
// next_at is when a scheduler must next look at it: due_at at first, then the
// lease end while it fires, then the retry time after a failure.
package timer
