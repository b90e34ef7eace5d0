// Package identity owns the accounts of congso: people (officials and
// applicants), their positions in the units of agencies, the roles granted to
// them, passwords, sign-in, sessions, and the authorization check every
// handler makes.
//
// Main types: [Person], [Position], [Grant] (a [Role] for one unit or for the
// whole province), [Principal] (the signed-in person in a request), [Service]
// (the module's API), [Handlers] (the JSON API under /api/v1 and the
// [Handlers.Authenticate] middleware), [Pages] (sign-in, own password and the
// people administration in the web shell). Authorization is [Can] /
// [Require] over the action table that modules extend with [DefineAction].
//
// Invariants:
//   - Usernames are stored trimmed and lower-cased; sign-in is
//     case-insensitive. The personal ID number, when present, is unique.
//   - Passwords are stored only as Argon2id PHC strings with a per-hash salt;
//     comparison is constant-time; an unknown username costs the same time as
//     a wrong password, and the two give the same error.
//   - Session tokens are 32 random bytes; only their SHA-256 is stored. A
//     session ends when revoked, idle for Sessions.IdleTimeout, or
//     Sessions.Lifetime after sign-in. Disabling or locking an account and
//     setting its password by an administrator revoke all its sessions.
//   - Grants are never deleted: revoking sets revoked_at and keeps the row as
//     history. At most one active grant per person, role and scope. sysadmin is
//     granted province-wide only and allows every action; the last active
//     sysadmin cannot be revoked, locked or disabled.
//   - Every sign-in (success or failure), logout, account, password, position
//     and grant change writes an audit entry in the same transaction.
//   - Unit and agency IDs are the catalog module's, kept as opaque strings (no
//     foreign key across modules; Config.CheckUnit may validate them).
//   - A password sign-in of a person who enrolled a second factor, or who
//     holds a role the administrator made require one
//     ([Service.SetMFARequiredRoles]), opens a session that is MFA-pending:
//     it authenticates nothing until [Service.CompleteMFA] accepts a TOTP
//     code (each time step once) or a recovery code (each once, stored as
//     SHA-256), and ends after ten minutes. Wrong codes count toward the
//     lockout. TOTP secrets are encrypted with Config.SecretKey.
//   - A completed sign-in publishes [TopicLogin] when Config.LoginEvents.
//
// Single sign-on lives in the subpackages: oidc (the OpenID Connect
// provider, which relies on these sessions) and federation (sign-in through
// the national e-ID, which maps the provider's personal ID number claim to
// a person with [Service.PersonByPersonalID] and opens a session with
// [Service.StartSession], whose method names the provider).
package identity
