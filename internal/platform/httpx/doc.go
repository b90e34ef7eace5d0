// Package httpx is congso's HTTP kit on top of net/http and its ServeMux: error
// responses, JSON decoding and encoding, pagination, and the middleware every
// server uses. It holds no domain rules.
//
// # Errors
//
// Every error response is an RFC 9457 problem ([Problem]) sent as
// application/problem+json:
//
//	{"type": "/problems/not_found", "title": "Không tìm thấy", "status": 404,
//	 "detail": "Không tìm thấy nội dung được yêu cầu.", "instance": "/api/v1/dossiers/X",
//	 "code": "not_found", "request_id": "…", "errors": [{"field": …, "code": …, "message": …}]}
//
// Code is stable and is what clients switch on; type is "/problems/" + code.
// Title and detail are in the request's language ([i18n.FromRequest]:
// Vietnamese unless the "lang" cookie or Accept-Language asks for English);
// the detail comes from the message "error.<code>", so a module that defines a
// code ships that message in its catalogs. Handlers return errors and end with
// [Error], which maps an [*Err] (see [NotFound], [Validation], ...), the
// sentinels ([ErrNotFound], ...) and a few standard errors to a status. Any
// other error is a 500 whose cause is logged once with the request id and
// never shown.
//
// Status conventions: 400 when the request does not fit the API's shape
// (malformed JSON, wrong types, unknown fields, bad query parameters), 422
// ("validation_failed") when it fits but breaks a rule, 409 for a stale
// version or a duplicate.
//
// # JSON
//
// [DecodeJSON] accepts one JSON value of at most 1 MB, with Content-Type
// application/json and no unknown fields; [WriteJSON] answers with a value.
//
// # Pagination
//
// Lists use keyset pagination with opaque cursors, never offsets, so pages
// stay stable while rows are added and cost the same deep into a list. A
// request carries ?limit=N (1 to 200, default 20) and ?cursor=C; [ParsePage]
// reads them. The response is a [List]:
//
//	{"items": [...], "next": "C2", "total": 1234}
//
// where next, the cursor of the following page, is absent on the last page
// and total is present only when it is cheap to count. Stores build cursors
// with [EncodeCursor] from the sort key of the last item and read them with
// [DecodeCursor].
//
// # Middleware
//
// Each middleware is a func(http.Handler) http.Handler. The recommended order,
// outermost first, is:
//
//	httpx.Chain(
//		httpx.AssignRequestID,         // X-Request-Id in, context and out
//		httpx.AccessLog(logger),       // one slog line per request, path only
//		httpx.Metrics,                 // Prometheus, by route pattern
//		httpx.SecurityHeaders(tls),    // CSP, nosniff, frame-ancestors, HSTS if tls
//		httpx.Recover,                 // panic → 500 problem
//		httpx.RateLimit(rateCfg),      // per client IP, 429 + Retry-After
//		httpx.BodyLimit(maxBody),      // 413 beyond maxBody
//		csrf,                          // from httpx.CSRF(csrfCfg)
//	)(mux)
//
// [Metrics] and [AccessLog] label requests with r.Pattern, which the ServeMux
// sets on the request it receives; the middleware here that derive a new
// request copy the pattern back so that outer middleware can read it.
//
// # CSRF
//
// [CSRF] uses a signed double-submit token: a random HttpOnly cookie, and a
// token that is an HMAC of it (and of the session id, when configured) under
// a server key, masked afresh at every render. Forms embed [CSRFToken] in a
// hidden "csrf_token" field; scripts send it in the X-CSRF-Token header. An
// unsafe request is exempt when it uses a Bearer token or carries no cookies
// at all (nothing ambient to abuse), but every unsafe request must first pass
// the browser's Sec-Fetch-Site / Origin signals, which also stops login CSRF
// from modern browsers. See [CSRF] for the exact rule.
package httpx
