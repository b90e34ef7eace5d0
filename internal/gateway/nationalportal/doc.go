// Package nationalportal links the province's dossiers with the national
// public service portal (Cổng Dịch vụ công quốc gia, DVCQG; requirements
// one-stop.md §2, §4, §12). It owns four things:
//
//   - The outbound sync. Service.HandleEvent is subscribed (Service.Subscribe)
//     to every dossier topic of the outbox. For the dossier an event names it
//     reads the current dossier (dossier.Service.Get under the adapter's own
//     read-only principal), maps it to the portal's payload (ToHoSo: the §12
//     field names, TrangThaiHoSo from dossier.NationalStatusOf, dates as
//     yyyyMMddHHmmss in Asia/Ho_Chi_Minh) and pushes an idempotent upsert, then
//     the progress entries of the steps after the last synced version
//     (ToProgress).
//   - The inbound channel. Service.Pull reads the portal's feed of dossiers
//     submitted there (LayHoSoMoi) after a cursor kept in the database,
//     downloads their files (dossier.Service.PutFile), records each one with
//     dossier.Service.Submit (channel online, no actor, idempotency key
//     IdempotencyKey(national ID)) and keeps the mapping national ID → dossier
//     code; then it acknowledges our code to the portal (XacNhanHoSo).
//   - The reconciliation. Service.Reconcile compares both sides for a period
//     and records the mismatches (missing, unknown, status, dates) for the
//     admin page (Pages) and the JSON API (Handlers). It runs on a durable
//     schedule (schedule.go): nationalportal_jobs holds the next run, the
//     last run and its result and a lease; the timer TimerReconcile
//     (Service.HandleTimers) only wakes a node when a run is due, and
//     Service.ReconcileIfDue runs it only if the row says it is due and no
//     one holds the lease.
//   - The backfill (backfill.go). Service.StartBackfill records a request
//     (nationalportal_backfills) for the dossiers received since a day, or
//     all; the timer TimerBackfill counts them, then publishes one outbox
//     event per dossier (TopicBackfill, handled like a dossier event) a page
//     at a time, only when the previous page left the queue. Command is the
//     command line over the same tables.
//   - The wire profile. Client speaks the legacy integration profile (POST
//     /auth for a session, POST /api envelopes naming a service); it sits
//     behind the Portal interface so that a newer REST profile can replace it
//     without touching the rest. internal/fakes/dvcqg is a fake portal
//     speaking the same profile.
//
// Files: service.go the sync, inbound.go the feed, reconcile.go the
// reconciliation, schedule.go its schedule, backfill.go the backfill,
// jobstore.go their SQL, cli.go the command line, state.go what operators see, mapping.go the payloads (no
// SQL, no HTTP), wire.go and client.go the profile, store.go the schema,
// api.go the JSON API (openapi.json), ui.go + templates/ the page,
// config.go the CONGSO_DVCQG_* settings. docs/national-portal.md is the
// operators' guide.
//
// # Invariants
//
//   - The portal never goes back to an older state of a dossier: a worker
//     takes the dossier's lease (nationalportal_sync.claim_token, claimed_until)
//     before reading it and pushes what it read; the synced version only moves
//     forward; an event whose dossier version the portal already holds (same
//     version and same payload hash) sends nothing. Redelivered and
//     out-of-order events are therefore harmless.
//   - A failure that may pass (network, timeout, 5xx, session refused twice)
//     returns an error so the outbox retries with backoff and, in the end,
//     dead-letters; a refusal of the payload (error_code -1) is recorded as a
//     rejection for operators and not retried until the dossier changes or an
//     operator resyncs it; a later success resolves it.
//   - An inbound dossier becomes at most one dossier: its mapping row and the
//     cursor move in one transaction, and Submit's idempotency key covers a
//     crash between Submit and that transaction.
//   - No personal data beyond the applicant's name leaves the province.
//   - A backfill page's events and the cursor past it commit in one
//     transaction: a crash neither loses nor repeats a page. At most one
//     backfill is active (UNIQUE active) and one node steps it (its lease).
//     The backfill's requests in the outbox never exceed a page, so live
//     syncs wait behind at most a page.
//   - A scheduled reconciliation runs once per due time across restarts and
//     nodes; its outcome, next due time and timer move in one transaction.
package nationalportal
