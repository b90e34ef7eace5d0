// Package dossier owns the procedure system's dossiers (hồ sơ): what an
// applicant hands in for a procedure, its reception at a one-stop desk, its
// processing through the nine steps of its process, its results and the
// public lookup (requirements one-stop.md §1–§9).
//
// Files: dossier.go holds the domain types and rules (codes, statuses and
// the national mapping, the completeness check, validation; no SQL, no
// HTTP); service.go recording and reception; act.go processing (actions,
// supplement requests, the workflow-event mirror, fees); result.go result
// documents; upload.go file checks and attachments; query.go Get, List,
// the inbox and the public lookup; forms.go form-data defects; forms_pdf.go
// the one-stop PDF forms 01–06 ([Service.Form], with the template in force
// when the dossier was received, and only those its state allows); store.go the
// schema and SQL for SQLite and PostgreSQL; api.go the JSON API
// ([Handlers]) and openapi.json its OpenAPI description ([OpenAPIFragment]).
//
// # Model
//
// A [Dossier] pins the procedure version (catalog) and the process version
// (workflow definition) in force when it was recorded. Its components are
// the procedure's required documents with what was provided (original,
// copy, electronic; reused from the personal data store) and versioned
// files; its fees come from the procedure; its results are versioned
// documents; its notices hold the data of forms 02–05. Its processing is a
// workflow case whose ID is the dossier code: the workflow engine decides
// which actions exist, who may take them, the deadlines and the pauses; the
// dossier keeps a mirror of the case (state, internal [Status] and national
// status code, version, unit, assignee, received/due/finished/returned
// dates, open pause) for lists, statistics and the lookup.
//
// # Invariants
//
//   - A dossier code ({receiving agency e-ID}-{yymmdd}-{sequence}, §5) is
//     taken from a per-agency, per-day counter row incremented in the
//     transaction that records the dossier: unique across nodes and
//     engines, and without gaps (a rolled-back dossier gives its number
//     back). It never changes.
//   - Every write is one transaction with, in this order: the idempotency
//     key (if any), the dossier row (locked on PostgreSQL), the workflow
//     transition, the mirror, notices, outbox events and, last, the audit
//     entry. So the mirror never disagrees with the case after a commit,
//     every change has its event and audit entry, and lock order is the
//     same everywhere (no deadlock between actions, receptions and results).
//   - Idempotency keys are written in the transaction of their effect, with
//     the response: a retry with the same key and request answers the
//     stored response and changes nothing; with another request it fails
//     with [ErrIdempotencyKeyReused].
//   - Files enter a dossier only after content sniffing (PDF with an end
//     marker, JPEG or PNG whose header decodes) and a size check; they are
//     named by their SHA-256 in the blob store. A new file under the same
//     name is a new version; old versions are kept.
//   - The public lookup needs the code and the last four digits of the
//     applicant's phone, compares them in constant time, answers unknown
//     codes and wrong digits alike, and shows no personal data.
//   - User text (names, addresses, comments, form data) is stored verbatim;
//     only control characters and invalid UTF-8 are refused.
//
// # Events
//
// Topics "dossier.submitted", "dossier.received", "dossier.transition",
// "dossier.result_added" and "dossier.fee_paid", each with an [Event]
// payload keyed by the dossier code (no personal data: subscribers call
// [Service.Get]). [Service.HandleWorkflowTransition] must be subscribed to
// the workflow's transition topic so that moves the engine makes on its
// own (deadline actions) reach the mirror.
package dossier
