// Package oidc is the province's OpenID Connect provider and OAuth 2.0
// authorization server (single sign-on for the portal, the workspace, the
// administration and vendors' systems), built on fosite.
//
// Main types: [Provider] (fosite wiring, signing keys, the client registry:
// [Provider.CreateClient], [Provider.UpdateClient], [Provider.RotateSecret]),
// [Client], [KeySet] (signing keys in the database), [Handlers] (the OAuth
// endpoints, the consent and logout pages, /admin/clients and
// /api/v1/oauth-clients) and [Verifier] (stateless validation of access
// tokens for resource servers such as the gateway).
//
// Flows: authorization code with PKCE (S256 only; required of public
// clients), refresh tokens (issued with scope offline_access, rotated at each
// use; reusing a used one revokes the whole family), client credentials,
// introspection (RFC 7662), revocation (RFC 7009), userinfo, RP-initiated
// logout. No implicit, hybrid or password grant.
//
// Invariants:
//   - The authorization endpoint relies on identity's session: an anonymous
//     person is sent to /login?next= and comes back; one sign-in serves every
//     client. Clients not marked first-party get a consent screen, whose
//     answer is stored per person and client.
//   - Redirect URIs and post-logout redirect URIs are compared exactly with
//     the registered ones (fosite also lets a loopback http URI vary its port,
//     RFC 8252 §7.3); an unverified URI is never redirected to: errors are
//     then shown on our own page.
//   - Client secrets are 256 random bits, shown once, stored as SHA-256.
//     Token rows are keyed by the SHA-256 of the token signature; request
//     forms are stored without secrets.
//   - Signing keys (ES256 by default) are encrypted with AES-256-GCM under
//     CONGSO_OIDC_KEY_SECRET; a retired key stays in the JWKS until every
//     token it signed has expired.
//   - Access tokens are JWTs ("typ" at+jwt) so resource servers verify them
//     offline; introspection and userinfo also require the token's row, so
//     revocation is immediate there.
//   - Every client change, authorization, consent, token issued or refused,
//     refresh reuse, revocation, refused bearer token and logout is audited.
//   - The personal ID number is released only to citizens' grants with scope
//     cccd, positions and roles only to officials' grants with congso.roles.
package oidc
