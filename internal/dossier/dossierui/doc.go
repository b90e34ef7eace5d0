// Package dossierui serves the officials' workspace of the procedure system
// as server-rendered pages inside the web shell (requirements one-stop.md
// §3, issue 3 "Officials' workspace"):
//
//   - /work: the inbox (my queue, assigned to me, near breach, overdue), with
//     the counts of the four tabs, keyset paging and an SLA badge per row;
//   - /work/dossiers/{code}: a dossier with its summary, components and
//     files (download, preview of PDFs and images), results, notices, the
//     timeline with pause intervals, and one small form per action the
//     viewer may take now (and only those), and links to the one-stop forms
//     its state allows (/work/dossiers/{code}/forms/{01…06}.pdf);
//   - /work/receive: the counter reception (choose the procedure, then the
//     form generated from its required documents and its form schema, with
//     completeness check, reception, supplement request and refusal);
//   - /work/overview: the leaders' overview of open, near-breach and overdue
//     work by unit.
//
// The package owns no data: every read and write goes through
// [dossier.Service] (which checks permissions again), [workflow.Service]
// (counts, definitions for step names) and [catalog.Service] (procedure
// search, agency names).
//
// # Invariants
//
//   - Every page works without JavaScript; posts carry the CSRF token and
//     follow Post/Redirect/Get on success.
//   - Every action form carries the dossier version the official saw and an
//     idempotency key generated when the page was rendered, so a double
//     click applies the action once and a stale page gets a conflict message
//     with the fresh state instead of acting on a state nobody saw.
//   - Forms shown are exactly the actions the workflow engine allows the
//     viewer in the dossier's current state; a post of any other action is
//     refused by the service (403 page or conflict message).
//   - Anonymous visitors are sent to /login?next=...; signed-in officials
//     without the right get the 403 page.
//   - Text comes from the i18n catalogs (messages/vi.json, en.json):
//     Vietnamese by default, English on request.
package dossierui
