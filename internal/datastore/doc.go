// Package datastore owns the personal data store ("kho quản lý dữ liệu
// điện tử của tổ chức, cá nhân", Decree 45/2020; requirements one-stop.md
// §10): per applicant account, the documents the province holds for them,
// so that they never hand in the same paper twice.
//
// Files: datastore.go the domain types and rules (kinds, validity,
// references, matching; no SQL, no HTTP); service.go the Go API ([Service]:
// List, Get, Open, Upload, AddVersion, Delete, Restore, Pick, Resolve,
// Counts); ingest.go the outbox subscriber that fills stores from dossier
// events and the [Dossiers] interface it needs; upload.go the file checks;
// store.go the schema and SQL for SQLite and PostgreSQL; api.go the JSON
// API under /api/v1/me/documents ([Handlers]) and openapi.json its OpenAPI
// description; ui.go and templates/ the pages under /account/documents
// ([Pages]). docs/datastore.md is the operator's guide.
//
// # Model
//
// A [Document] belongs to one owner (an identity account ID) and has a
// [Kind]: component (a paper of an earlier dossier, digitized at the desk),
// result (issued by an agency and returned electronically) or upload (the
// applicant's own). It has a title, a document type (the procedure's
// component name or a catalog code), its source dossier, its issuer (agency
// e-ID and name) and versions ([Version]: file name, SHA-256 hash, media
// type, size, issue date, validity). A newer version keeps the older ones.
// A reference "ds:<id>:<version>" names one version; the portal puts it in
// a dossier component's reuse_ref, and [Service.Resolve] gives the dossier
// module the blob hash to attach, so the dossier holds the very same file.
//
// # Invariants
//
//   - Every read and change is scoped to the owner passed by the caller (the
//     signed-in account); another account's document is ErrNotFound, like an
//     unknown one.
//   - Files are named by their SHA-256 in the shared blob store, as in the
//     dossier module; the store never deletes blobs (a dossier may share them).
//   - Ingest is idempotent and state-based: it reads the dossier's current
//     state and records each item version in a ledger (datastore_ingest) in
//     the same transaction as the documents it creates, so redelivered or
//     reordered events never duplicate a document nor bring back a deleted
//     one.
//   - Digitized components enter the owner's store once the dossier is
//     received; results once it is returned. Reused components are not copied
//     again; they are recorded as reuses (once per dossier component).
//   - Results issued by an agency cannot be deleted or given new versions by
//     the applicant, only hidden (the record stays); uploads and digitized
//     copies are deleted for good with every version.
//   - Every upload, new version, deletion, hiding, restoring and ingest writes
//     an audit entry in its transaction.
package datastore
