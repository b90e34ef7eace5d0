// Package portal serves the citizens' and businesses' public service portal
// (requirements one-stop.md §9, issue 4) as server-rendered pages inside the
// web shell:
//
//   - /apply/{code} and /my/drafts: the online application of a procedure:
//     its e-form generated from the procedure's JSON Schema, pre-filled
//     from the account, one upload (or a stored document reused) per
//     required document, validated by the dossier service's own check with
//     every problem next to its input; a review page; the submission;
//   - /my/dossiers: the applicant's dossiers with status, due date, the
//     timeline in plain words, the answer to a supplement request,
//     withdrawal, fees (with a payment button when payment is wired),
//     e-results and the rating (12 criteria, once);
//   - /lookup: the public lookup by dossier code and the phone's last four
//     digits, without personal data; /statistics: on-time rate and online
//     share by agency and by field; /help: frequently asked questions.
//
// The package owns one table, portal_drafts (Migrations): a Draft holds
// what the applicant typed (input name → value), the files uploaded
// (stored and checked by the dossier service; the draft keeps their hashes),
// the stored documents chosen for reuse, and the idempotency key of its
// submission. Dossiers, files and ratings belong to the dossier module; the
// portal reads and writes them through [dossier.Service] only.
//
// # Invariants
//
//   - Nothing typed is lost: every POST of the form saves the draft first,
//     before checking anything; a form shown again after an error shows the
//     saved values and files (one-stop.md §13: failed saves, lost drafts).
//   - A draft becomes at most one dossier: its submission carries the
//     draft's idempotency key, and a submitted draft cannot change.
//   - An applicant sees only their own drafts and dossiers: every query names
//     the signed-in account; another account's draft or dossier is "not
//     found".
//   - Every page works without JavaScript; the only script (autosave)
//     merely saves the same form in the background. Posts carry the CSRF
//     token; successful posts redirect (Post/Redirect/Get).
//   - Text comes from messages/vi.json and en.json: Vietnamese by default.
package portal
