// Package catalog owns congso's shared catalogs: administrative units (with
// their history and the 2025 merger mappings), agencies and their units (one
// tree, identified by agency e-IDs per Decision 20/2020 with alias history,
// and their contact details for applicants), fields of procedures, and
// procedures with their versions (required documents, fees, statutory
// duration, legal basis, frequently asked questions, form schema, process
// definition key).
//
// Files: catalog.go holds the domain types and rules (no SQL, no HTTP);
// store.go the SQL for SQLite and PostgreSQL and the migrations; service.go the
// exported Go API ([Service]) used by handlers and other modules; index.go the
// in-memory procedure search; import.go CSV/JSON import and export; api.go the
// JSON API ([Handlers]); ui.go and templates/ the HTML pages ([Pages]);
// demo.go the fictitious demo province ([LoadDemo], [DemoUnits]); formfile.go,
// formservice.go and ui_forms.go the blank forms to download ([FormFile]).
//
// # Invariants
//
//   - Codes are unique: an administrative unit code, a field code and a
//     procedure (code, version) exist once; every e-ID an agency ever had (its
//     current one and its former ones) belongs to exactly one agency, so an old
//     e-ID keeps resolving to the agency that now carries a new one.
//   - Administrative units are never deleted: a unit that ceased to exist keeps
//     its row with an effective_to date and links to its successors. The
//     successor graph has no cycles, so "the current unit for an old code"
//     ([Service.ResolveAdminUnit]) always terminates.
//   - A published procedure version (status active or retired) is immutable
//     except for its end date: dossiers are pinned to it. Publishing a new
//     version ends the previous one on the new version's effective date, so at
//     most one version of a code is in force on any date. Only the latest
//     version of a code may be a draft.
//   - Effective periods are half-open: a record applies from effective_from
//     up to the day before effective_to (empty: still in force).
//   - A required document may carry a blank form file ([Document.File], a
//     [FormFile]: SHA-256, name, media type, size), whose bytes live in the
//     platform blob store ([WithBlobs]; without one, uploads and imported
//     references are refused and no download is offered). The content is
//     checked by sniffing (PDF, DOC, DOCX, ODT; [SniffForm]) and its name's
//     extension must match it. Form files are the one part of a published
//     version that may change: a blank form is a convenience copy of a form
//     the legal basis defines, and a province that corrects its layout or a
//     typo must not have to publish a new version (and pin new dossiers to
//     it) when the law did not change. So [Service.AttachForm] and
//     [Service.RemoveForm] work on any version, draft or published, and the
//     immutability check ignores files. A record that says nothing of a
//     document's file keeps the stored one (matched by name, else by
//     position); a new version takes the files of the version it follows;
//     a form whose content the law changes comes with a new version like
//     any other change. Blobs are never deleted by the catalog (another
//     version may use the same content).
//   - A procedure's FAQ is part of its version, like its documents and fees:
//     frozen once published. An agency's contact details are not versioned:
//     the procedure page shows the competent agency's current ones.
//   - Every write goes through validation that names the field and gives a
//     Vietnamese reason; an import either applies every row or none. Writes are
//     serialised (PostgreSQL advisory lock; SQLite's single writer) so that
//     reference and cycle checks hold at commit.
//   - Every write bumps the catalogs' revision (table catalog_revisions); each
//     node rebuilds its in-memory procedure index when it sees a newer one, so
//     a search on any node reflects every committed write.
//   - Dates are civil dates (calendar.Date) stored as "YYYY-MM-DD" text; "today"
//     is taken in Asia/Ho_Chi_Minh from an injected clock.
//
// # Import and export formats
//
// JSON: an array of objects shaped like the types' JSON ([AdminUnit],
// [Field], [Agency], [Procedure] with nested documents, fees and duration).
// Unknown members are refused.
//
// CSV: a header row naming columns (any order, case-insensitive; unknown
// columns refused, optional ones may be left out), then one record per row.
// UTF-8 with or without a byte order mark, LF or CRLF, RFC 4180 quoting;
// cells are trimmed; dates are YYYY-MM-DD (DD/MM/YYYY accepted).
//
//	admin-units  code*, name*, level*, kind*, parent_code, effective_from*, effective_to, successors (codes separated by ";")
//	fields       code*, name*
//	agencies     eid*, name*, short_name, kind*, level*, parent_eid, admin_unit_code, effective_from*, effective_to, former_eids (";"),
//	             address, phone, email, website, opening_hours (several lines allowed)
//	procedures   code*, version, name*, field_code*, level*, competent_agency, implementing_agency, online_level*,
//	             duration_value*, duration_unit*, effective_from*, effective_to, status*, process_key,
//	             legal_basis (one per line in the cell), documents (JSON array), fees (JSON array), form_schema (JSON),
//	             faq (JSON array of {"question", "answer"})
//
// (* the column must be present.) A document object may have a member
// "file": {"hash", "name", "media_type", "size"} naming its blank form; only
// the reference is exported, never the file. On import the hash must be in
// the blob store (else a row error on documents[N].file.hash); media type
// and size are read from the stored content. A document without "file"
// (older exports) keeps its stored file; "file": null removes it.
// The agencies' contact columns and the
// procedures' faq came after the first layout: a file without them (an
// older export) leaves the stored values alone, so re-importing it neither
// erases contact details nor is refused as an edit of a published version;
// a record without faq that adds a version takes the FAQ of the version it
// follows. A column present but empty clears the value. The same holds for
// the JSON members. Records are matched by code (e-ID for
// agencies, code and version for procedures): new ones are created, others
// updated. A procedure record without a version edits the latest draft or
// adds the next version. An agency record whose e-ID is new but whose
// former_eids name a stored agency renames that agency. Export writes the
// same layouts (CSV with a byte order mark and CRLF), every version of every
// procedure included, so export → import into an empty database → export
// gives the same files.
package catalog
