package identity

import (
	"context"
	"time"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/httpx"
)

// AuditEvent is one entry identity writes to the audit log, inside the
// transaction of the change it records (so no change is committed without its
// entry). It never carries a password or a session token.
type AuditEvent struct {
	Action  string    // one of the Audit* constants
	ActorID string    // the person who acted, [ActorSystem] or [ActorAnonymous]
	Subject string    // the person the event is about; "" if unknown (failed sign-in of an unknown username)
	IP      string    // the client's address, when the event comes from a request
	At      time.Time // UTC
	Details map[string]any
}

// The audit actions identity records.
const (
	AuditLoginSucceeded  = "identity.login.succeeded"
	AuditLoginFailed     = "identity.login.failed" // details: username, reason
	AuditAccountLocked   = "identity.account.locked_out"
	AuditLogout          = "identity.logout"
	AuditPersonCreated   = "identity.person.created"
	AuditStatusChanged   = "identity.person.status_changed"
	AuditPasswordReset   = "identity.password.reset"
	AuditPasswordChanged = "identity.password.changed"
	AuditGrantAdded      = "identity.grant.added"
	AuditGrantRevoked    = "identity.grant.revoked"
	AuditPositionAdded   = "identity.position.added"
	AuditPositionEnded   = "identity.position.ended"
	AuditSessionsRevoked = "identity.sessions.revoked"
	AuditSessionRevoked  = "identity.session.revoked"
)

// Actors that are not a person.
const (
	// ActorSystem acts when a service method is called with a nil
	// *Principal: the command line, the demo loader, a migration.
	ActorSystem = "system"
	// ActorAnonymous is the caller of a failed sign-in.
	ActorAnonymous = "anonymous"
)

// Auditor appends entries to the tamper-evident audit log. The application
// adapts the platform audit package to it; tests record the entries.
type Auditor interface {
	Append(ctx context.Context, tx *db.Tx, e AuditEvent) error
}

// AuditFunc adapts a function to [Auditor].
type AuditFunc func(ctx context.Context, tx *db.Tx, e AuditEvent) error

// Append calls f.
func (f AuditFunc) Append(ctx context.Context, tx *db.Tx, e AuditEvent) error { return f(ctx, tx, e) }

// PlatformAudit writes to the platform's hash-chained audit log
// (audit.Append): object type "person", object id the subject, and the
// request id of the HTTP request in ctx. It is the default auditor; the
// schema needs audit.Migrations.
var PlatformAudit Auditor = AuditFunc(func(ctx context.Context, tx *db.Tx, e AuditEvent) error {
	return audit.Append(ctx, tx, audit.Entry{At: e.At, Actor: e.ActorID, Action: e.Action, ObjectType: "person",
		ObjectID: e.Subject, Detail: e.Details, IP: e.IP, RequestID: httpx.RequestID(ctx)})
})
