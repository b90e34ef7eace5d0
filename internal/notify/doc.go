// Package notify owns the notifications congso sends to people: email over
// SMTP, SMS through a brandname gateway, and in-app notifications on the
// portal, from templates kept as data in Vietnamese and English
// (requirements one-stop.md §3, §8, §9, §13; identity-and-data.md).
//
// Files: notify.go holds the domain (kinds, channels, statuses, contacts,
// preferences, which dossier event gives which notification; no SQL, no
// HTTP); template.go the templates (embedded files under templates/, an
// operator's directory over them); email.go the SMTP sender and the MIME
// message; sms.go the SMS gateway client; service.go the Service (event
// handlers, delivery, queries); store.go the schema and SQL; api.go the JSON
// API (/api/v1/notifications) and openapi.json; ui.go the pages
// (/account/notifications, /account/notifications/settings). docs/notifications.md is
// the operators' guide.
//
// # Flow
//
// The module subscribes to the dossier module's outbox topics
// ("dossier.received", "dossier.transition", "dossier.fee_paid") and to
// "identity.login". For an event that concerns the applicant (kindOf), the
// handler reads the applicant's contact through Dossiers (events carry no
// personal data), renders the kind's templates in the applicant's language,
// and in one transaction records a delivery row per channel the preferences
// allow, each with an outbox event on "notify.deliver". The handler of that
// topic sends the email or SMS; the outbox retries failures with backoff.
// In-app notifications are the in-app rows themselves, sent when recorded.
//
// # Invariants
//
//   - A delivery's dedupe key is (source event ID, channel, recipient) and is
//     unique: a redelivered event records nothing and sends nothing again.
//   - A delivery is sent only while pending; success marks it sent, and a
//     redelivered "notify.deliver" event finds it sent and does nothing.
//     The SMS request_id and the email Message-ID are derived from the
//     delivery ID, so a gateway that dedupes requests drops a repeat after a
//     crash between send and commit.
//   - Each failed attempt is counted on the row; a permanent error
//     (ErrPermanent) or Config.MaxAttempts attempts mark it failed, visible
//     in ForDossier and Failed, and Retry puts it back.
//   - Content is rendered when the event is handled and stored with the
//     delivery, so a retry sends exactly what was first rendered.
//   - A person sees and marks only their own in-app notifications.
//   - The rows hold the recipient's address or phone (personal data);
//     ForDossier and Failed show them masked.
package notify
