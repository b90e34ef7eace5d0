// Package payment owns online fee payment for dossiers (requirements
// one-stop.md §8): an applicant pays a dossier's fee (due at reception, at
// supplement or at result) through the national payment platform
// (PayGov-like, protocol in package paygov); the platform's signed
// server-to-server notification (IPN) records the payment and the fee on the
// dossier; a status-query job settles payments whose notification never
// came; a daily reconciliation compares the platform's settlement list with
// our records. Operator documentation: docs/payment.md.
//
// Files: payment.go the domain types (Payment, Callback, Report, the
// Dossiers and Platform interfaces, no SQL, no HTTP); service.go Start,
// HandleNotification, SyncPending, Reconcile and DossierAdapter; store.go the
// schema and SQL; http.go the pages (templates/), the IPN endpoint and the
// JSON API (openapi.json); messages.go the messages and NavItems; env.go the
// CONGSO_PAYMENT_* settings.
//
// # Invariants
//
//   - At most one payment per dossier fee is pending (a partial unique
//     index): starting a payment again while one is pending, e.g. a double
//     click, returns that payment and its payment URL. Its order ID
//     ("{dossier code}-{fee n}-{attempt}") is sent to the platform, which
//     answers the same transaction for the same order ID, so a retry after a
//     lost answer does not create a second transaction.
//   - A payment becomes paid by a compare-and-set update (status <> paid):
//     of any number of notifications and queries telling the same success,
//     exactly one changes it, and only that one records the fee on the
//     dossier (Dossiers.MarkFeePaid, itself idempotent). If recording the
//     fee fails, FeeRecorded stays false and SyncPending retries it.
//   - Every notification received is stored with its raw body and its
//     outcome (accepted, duplicate, rejected with a reason). A notification
//     that does not verify, names another merchant, an unknown order or
//     another amount changes nothing and is audited
//     ("payment.callback_rejected").
//   - Applicants reach a dossier's payment pages with an HMAC token of the
//     dossier code (Service.Token); officials by dossier.view
//     (Dossiers.CanView); reconciliation needs payment.reconcile.
package payment
