package httpx

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// The names under which [CSRF] looks for the token.
const (
	CSRFField  = "csrf_token"   // hidden form field
	CSRFHeader = "X-CSRF-Token" // request header, for scripts (htmx: hx-headers)
)

// CSRFConfig configures [CSRF].
type CSRFConfig struct {
	// Key signs the tokens: at least 32 random bytes, the same on every node.
	Key []byte
	// Secure marks the site as served over HTTPS: the cookie is then Secure
	// and named "__Host-csrf", which no subdomain can overwrite.
	Secure bool
	// SessionID, if set, returns the id of the request's login session; tokens
	// are then bound to it and change when the user signs in or out.
	SessionID func(*http.Request) string
	// TrustedOrigins are other origins ("https://portal.example.gov.vn") whose
	// pages may submit to this site.
	TrustedOrigins []string
	// Exempt, if set, picks requests that need no check at all, such as the
	// callback a payment provider's page posts cross-site. Such handlers must
	// authenticate the request by other means.
	Exempt func(*http.Request) bool
}

// CSRF protects against cross-site request forgery with a signed double-submit
// token. Every request gets a random cookie; the token is an HMAC of it (and of
// the session id, when configured) under the server key, masked afresh each
// time it is rendered, so it differs in every page. [CSRFToken] gives the token
// for templates to embed in a hidden "csrf_token" field or for scripts to send
// in the X-CSRF-Token header.
//
// A request with an unsafe method (anything but GET, HEAD, OPTIONS, TRACE) is
// refused with a 403 problem "csrf_failed" unless:
//
//   - it carries "Authorization: Bearer ..." (API clients; a browser cannot add
//     that header cross-site). Handlers must then authenticate by the token
//     alone and never fall back to a cookie session; or
//   - Exempt says so; or
//   - it passes the browser's own cross-origin signals (Sec-Fetch-Site, else
//     Origin against Host, see http.CrossOriginProtection) AND either carries
//     no cookies at all (nothing ambient to abuse, e.g. a server-to-server
//     callback) or carries a valid token in the X-CSRF-Token header or in the
//     "csrf_token" field of a urlencoded or multipart form body.
//
// Reading a multipart form to find the field buffers the upload before the
// handler runs; handlers that stream uploads should have clients send the
// header instead.
func CSRF(cfg CSRFConfig) (func(http.Handler) http.Handler, error) {
	if len(cfg.Key) < 32 {
		return nil, errors.New("httpx: CSRF key must be at least 32 bytes")
	}
	cfg.Key = bytes.Clone(cfg.Key)
	c := &csrf{cfg: cfg, cop: http.NewCrossOriginProtection(), cookieName: "csrf"}
	for _, o := range cfg.TrustedOrigins {
		if err := c.cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("httpx: CSRF trusted origin: %w", err)
		}
	}
	if cfg.Secure {
		c.cookieName = "__Host-csrf"
	}
	return c.middleware, nil
}

type csrf struct {
	cfg        CSRFConfig
	cop        *http.CrossOriginProtection
	cookieName string
}

func (c *csrf) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isBearer(r) || (c.cfg.Exempt != nil && c.cfg.Exempt(r)) {
			next.ServeHTTP(w, r)
			return
		}
		var state *csrfState
		if ck, err := r.Cookie(c.cookieName); err == nil && validCSRFCookie(ck.Value) {
			state = c.state(r, ck.Value)
		}
		if !safeMethod(r.Method) {
			if err := c.check(r, state); err != nil {
				if e, ok := err.(*Err); ok && e.Code == "csrf_failed" {
					Logger(r.Context()).WarnContext(r.Context(), "csrf check failed", "reason", e.Err.Error())
				}
				Error(w, r, err)
				return
			}
		}
		if state == nil {
			secret := rand.Text()
			http.SetCookie(w, &http.Cookie{
				Name: c.cookieName, Value: secret, Path: "/",
				Secure: c.cfg.Secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
			})
			state = c.state(r, secret)
		}
		serveWith(next, w, r, r.WithContext(context.WithValue(r.Context(), csrfKey, state)))
	})
}

// state returns the token expected from r if its cookie holds secret.
func (c *csrf) state(r *http.Request, secret string) *csrfState {
	var session string
	if c.cfg.SessionID != nil {
		session = c.cfg.SessionID(r)
	}
	m := hmac.New(sha256.New, c.cfg.Key)
	m.Write([]byte("congso csrf\x00" + secret + "\x00" + session))
	return &csrfState{token: m.Sum(nil)}
}

// check decides whether the unsafe request r may proceed; state is nil if r
// has no valid CSRF cookie.
func (c *csrf) check(r *http.Request, state *csrfState) error {
	if err := c.cop.Check(r); err != nil {
		return csrfFailed(err.Error())
	}
	if r.Header.Get("Cookie") == "" {
		return nil
	}
	if state == nil {
		return csrfFailed("no CSRF cookie")
	}
	token := r.Header.Get(CSRFHeader)
	if token == "" {
		mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		var err error
		switch mediaType {
		case "application/x-www-form-urlencoded":
			err = r.ParseForm()
		case "multipart/form-data":
			err = r.ParseMultipartForm(32 << 20)
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return bodyTooLarge(tooLarge.Limit)
			}
			return BadRequest("").Wrap(fmt.Errorf("parse form: %w", err))
		}
		token = r.PostForm.Get(CSRFField) // never from the query string
	}
	if token == "" {
		return csrfFailed("no CSRF token")
	}
	if !state.verify(token) {
		return csrfFailed("invalid CSRF token")
	}
	return nil
}

func csrfFailed(reason string) *Err {
	return &Err{Status: http.StatusForbidden, Code: "csrf_failed", Err: errors.New(reason)}
}

// CSRFToken returns a token for the request's CSRF cookie, freshly masked, or
// "" if [CSRF] did not handle the request.
func CSRFToken(r *http.Request) string {
	s, _ := r.Context().Value(csrfKey).(*csrfState)
	if s == nil {
		return ""
	}
	var buf [2 * sha256.Size]byte
	pad, masked := buf[:sha256.Size], buf[sha256.Size:]
	rand.Read(pad)
	subtle.XORBytes(masked, pad, s.token)
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

type csrfState struct {
	token []byte // the unmasked token: HMAC of the cookie and session
}

func (s *csrfState) verify(presented string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(presented)
	if err != nil || len(raw) != 2*sha256.Size {
		return false
	}
	unmasked := make([]byte, sha256.Size)
	subtle.XORBytes(unmasked, raw[:sha256.Size], raw[sha256.Size:])
	return hmac.Equal(unmasked, s.token)
}

// validCSRFCookie accepts the values rand.Text makes: 26 base32 characters.
func validCSRFCookie(v string) bool {
	if len(v) != 26 {
		return false
	}
	for _, c := range []byte(v) {
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

func isBearer(r *http.Request) bool {
	scheme, _, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}
