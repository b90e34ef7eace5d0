// Package h1 is a lean HTTP/1.1 server for http.Handlers, made for the
// gateway's data plane, where every request is a small exchange handed on
// to a backend and the server's own cost decides the throughput.
//
// net/http's server spends, per request on a kept-alive connection, a
// goroutine and a second read to notice a client that hangs up, a context
// with its cancel machinery and a response writer built in three layers.
// On this project's benchmark machine, a bare reverse proxy on net/http
// used about five times the CPU per request of a minimal proxy working on
// the connection's goroutine (150 against 29 µs); the gateway served by
// this server uses a tenth to a fifth less CPU per exchange than on
// net/http (scripts/bench-gateway, lines c and c-std). This server reads, runs the
// handler and writes on the connection's own goroutine, and watches for a
// client that hangs up only once a request has run for WatchAfter (most
// exchanges are over long before).
//
// The main type is Server, used like http.Server: Serve, Shutdown, Close.
//
// What it does: HTTP/1.0 and 1.1, keep-alive and pipelining, bodies of
// known length or chunked (requests and responses), Expect: 100-continue,
// 1xx answers (not to HTTP/1.0 clients), trailers on chunked answers
// (declared with Trailer or set with http.TrailerPrefix), HEAD, TLS (r.TLS
// is set; the handshake is bounded by ReadHeaderTimeout), the header-read
// and idle timeouts, read and write deadlines through
// http.ResponseController, graceful Shutdown.
//
// What it does not: HTTP/2 (a tls.Config must not offer "h2" in
// NextProtos: a client that negotiates it is disconnected), upgrades and
// Hijack, CONNECT; the trailers of a chunked request are checked and
// dropped (r.Trailer stays nil). It refuses anything ambiguous rather
// than guessing (RFC 9112 §6.3, §11.2): both Content-Length and
// Transfer-Encoding, differing Content-Lengths, a transfer coding other
// than chunked, folded or malformed header lines, a missing or repeated
// Host, bare CR, control characters in field values, chunked framing
// lines not ended by CRLF. Such a request gets an answer (ProtocolError)
// and the connection closes; nothing after it is read as a request.
//
// Invariants:
//   - Answers go out in the order of the requests, one handler at a time
//     per connection.
//   - An answer says "Connection: close" whenever the server closes the
//     connection after it, except when it learns only later that it must
//     (the handler flushed, then wrote less than its Content-Length).
//   - The header fields a handler sets cannot split an answer: names that
//     are not tokens are dropped, line breaks in values become spaces.
//     The fields the server adds (Content-Length, Transfer-Encoding, a
//     sniffed Content-Type, Date, Connection) are written, not put in the
//     handler's header map.
//   - Once its handler has returned, a ResponseWriter and a request body
//     refuse to work (the connection's buffers serve the next exchange).
//   - A body the handler left unread is drained up to 256 KiB (waiting
//     ReadHeaderTimeout at most) to keep the connection; past that the
//     connection closes. A closing connection that may still receive
//     (a refused request, an unread body) shuts its writing side and
//     reads for up to 500 ms first, so the client reads the answer rather
//     than a reset.
package h1
