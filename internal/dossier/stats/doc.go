// Package stats owns the procedure statistics of requirements one-stop.md
// §11: per agency × field × period, dossiers carried over, newly received
// (online / offline), resolved early / on time / late, pending within time
// / overdue, paused (supplement / fee), stopped, returned, withdrawn, and
// the on-time rate. They are kept incrementally from the dossier module's
// outbox events, so a report costs the same at a thousand dossiers as at
// millions.
//
// # Feeding
//
// [Service.Subscribe] registers a handler for "dossier.submitted",
// "dossier.received" and "dossier.transition" (the events that change a
// dossier's state; see [Topics]). Each event is applied by [Service.Apply]
// in one transaction: the dossier's state row (dossier_stats_dossiers) is
// locked, the event is compared with it, and the resulting counter changes
// are added to the flow tables.
//
// Delivery is at least once and not ordered. A dossier's state row keeps
// the highest event version applied and a 64-version window of the
// versions seen (as in anti-replay windows): an event seen before changes
// nothing. An event below the highest version (out of order) does not move
// the dossier, because every event carries the dossier's whole state
// (status, due time, pause, finish) and the newer one has been applied; it
// still counts the supplement or fee request it records. The first event
// seen of a received dossier counts its reception, whichever it is.
//
// # Rules
//
//   - Agency and field: the dossier's competent agency (the one that
//     resolves it; else the receiving one) and its procedure's field, as
//     the event that first counts the dossier names them; the dossier never
//     moves afterwards. Days are read in Asia/Ho_Chi_Minh.
//   - Received: on the day of the reception (the clock start), once the
//     status is past reception; online is channel 2, offline channels 1
//     (counter) and 3 (post). Submissions refused at reception (form 03)
//     are never received; they are counted apart (not_received).
//   - Resolved: when the dossier reaches "result ready" (or a later state:
//     not collected, returned, archived), with a result or a refusal
//     letter: the shipped processes end both ways in the same states. The
//     time is the workflow's finish time. Early / on time / late follow
//     [Timeliness]: late when finished after the due time in force (after
//     extensions and pauses), early when finished on a day before the due
//     day, else on time. Due times are the close of office hours, so "on
//     time" is in practice "on the due day". No due time: on time.
//   - Withdrawn, stopped: when a received dossier reaches those states (any
//     other end of a received dossier without a result counts as stopped).
//     Returned: when the result is handed over.
//   - Supplement and fee requests: each move of a received dossier into the
//     "supplement" or "awaiting payment" status.
//   - Stocks: a received dossier is open until resolved, withdrawn or
//     stopped. An open dossier is paused (supplement, fee) while its clock
//     is paused, overdue while running past its due time, otherwise within
//     time. So CarriedOver + Received = Resolved + Withdrawn + Stopped +
//     Pending, and Pending = within time + overdue + paused.
//
// # Tables and why reports are O(agencies × fields), not O(dossiers)
//
// The flow tables dossier_stats_{daily,dekadly,monthly,quarterly,yearly}
// hold the same counters per (period, agency, field). Flows (received,
// resolved, …) are booked on the day they happen. Stocks are booked as
// changes: +1/−1 on the day a dossier pauses or resumes; for the overdue
// stock, when a dossier starts running with due time D at time S, +1
// "overdue_in" on the day of max(S, D) (possibly in the future); when it
// stops running at E, +1 "overdue_out" on E's day if it was overdue by
// then, else −1 "overdue_in" on max(S, D)'s day (a cancellation). Every
// change goes to the five levels in the same transaction.
//
// A stock at midnight starting day X is then the sum of its changes on the
// days before X, and the flows of [From, To) are the difference of two such
// prefix sums. A prefix sum reads, per agency and field, at most 5 daily, 1
// dekad, 1 monthly and 2 quarterly rows (each level is walked forwards or
// backwards to the enclosing boundary, whichever is shorter) plus one row
// per earlier year: a report reads O(agencies × fields × years) rows,
// whatever the number of dossiers and the length of the period. When the
// period ends after today the stocks are taken now: the overdue changes of
// today are all counted, minus the dossiers that become overdue later
// today, read from a partial index on dossier_stats_dossiers.overdue_from
// that holds exactly the running dossiers (the range scanned is those due
// later today).
//
// dossier_stats_dossiers keeps one row per dossier (code, highest version
// and window, agency, field, channel, status, reception, due, close time
// and kind, pause, running start, overdue_from). Keep its rows: an event
// for a dossier whose row was deleted would count it again.
//
// # Rebuild
//
// The dossier module exports no query listing every dossier with its
// agency, field and dates, so [Service.Rebuild] takes the events from a
// [Source] the caller provides (outbox events kept with a negative
// retention, or one snapshot event per dossier).
//
// [Generate] writes the flow rows of a synthetic history for benchmarks.
package stats
