// Package federation signs citizens in through an external OpenID Connect
// provider: the national e-ID (VNeID) or the national public service portal's
// SSO. It is a relying party (go-oidc + x/oauth2) with PKCE, state and nonce.
//
// Main type: [Federation], with its routes /login/{name},
// /login/{name}/callback and /account/profile/complete, and the button it
// adds to identity's sign-in page ([Federation.LoginButton]).
//
// Invariants:
//   - state, nonce and the PKCE verifier travel in an HMAC-signed, HttpOnly
//     cookie limited to /login/{name} that lives ten minutes and is cleared at
//     the callback; a callback whose state does not match is refused.
//   - The ID token is verified (issuer, audience, signature, expiry, nonce);
//     userinfo claims are merged only when their sub is the ID token's.
//   - The account is found by the personal ID number claim; if none exists an
//     applicant account is created (username "cccd.<number>", no password).
//     An official's account is never reached this way.
//   - Every refusal is logged and audited (identity.federation.failed); a
//     success is identity's identity.login.succeeded with method
//     "oidc:<issuer>".
package federation
