// Package postal owns sending dossier results by post (requirements
// one-stop.md §9, "bưu chính công ích"): a shipment per dossier created at
// the postal carrier (VNPost-like, protocol in package vnpost) from the
// sending agency to the applicant, optionally collecting an amount on
// delivery; its tracking code and status, kept current by the carrier's
// signed status webhook and a status-query job. Dossier pages call
// ForDossier to show them. Operator documentation: docs/postal.md.
//
// Files: postal.go the domain types (Shipment, Event, Carrier, no SQL, no
// HTTP); service.go Ship, HandleWebhook, Sync; store.go the schema and SQL;
// http.go the webhook endpoint and the JSON API; subscribe.go the handler
// that ships a ready result when the applicant chose post (Deliveries);
// env.go the CONGSO_POSTAL_* settings.
//
// # Invariants
//
//   - At most one open shipment (not returned or cancelled) per dossier
//     (a partial unique index). It is recorded here, with its client
//     reference "{dossier code}-KQ{n}", before the carrier is asked; the
//     carrier answers the same tracking code for the same reference. So
//     retries of Ship or Sync after a failure or a lost answer create one
//     shipment at the carrier and one tracking code here.
//   - A status report (webhook or query) moves a shipment only if it is
//     newer than the shipment's status, and never away from delivered:
//     repeated and reordered webhooks are harmless.
//   - Every webhook is stored with its raw body and outcome; one that does
//     not verify or names an unknown shipment changes nothing and is
//     audited ("postal.webhook_rejected").
package postal
