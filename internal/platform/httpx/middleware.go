package httpx

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// Chain composes middleware so that the first one listed is the outermost:
// Chain(a, b)(h) serves a request through a, then b, then h.
func Chain(middleware ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		for i := len(middleware) - 1; i >= 0; i-- {
			h = middleware[i](h)
		}
		return h
	}
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
	csrfKey
)

// RequestIDHeader is the header that carries the request id both ways.
const RequestIDHeader = "X-Request-Id"

// AssignRequestID gives every request an id: the incoming X-Request-Id if it is
// 1 to 128 characters of letters, digits and "-_.:", else a new random one. The
// id is put in the request context (see [RequestID]) and the response header.
func AssignRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !saneRequestID(id) {
			id = rand.Text()
		}
		w.Header().Set(RequestIDHeader, id)
		serveWith(next, w, r, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// saneRequestID accepts ids that cannot forge log lines or bloat them.
func saneRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// RequestID returns the id that [AssignRequestID] gave the request, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Logger returns the logger for the request: the one given to [AccessLog] (or
// slog.Default()) with the request id attached.
func Logger(ctx context.Context) *slog.Logger {
	l, _ := ctx.Value(loggerKey).(*slog.Logger)
	if l == nil {
		l = slog.Default()
	}
	if id := RequestID(ctx); id != "" {
		l = l.With("request_id", id)
	}
	return l
}

// AccessLog logs one line per request to logger once the response is done:
// request_id, method, path, route (the matched ServeMux pattern), status,
// bytes and duration_ms. It logs the path only, never the query string, which
// may carry tokens. It also makes logger the request's [Logger].
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &recorder{ResponseWriter: w}
			defer func() { // deferred so that aborted requests are logged too
				attrs := []slog.Attr{
					slog.String("request_id", RequestID(r.Context())),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
				}
				if r.Pattern != "" {
					attrs = append(attrs, slog.String("route", r.Pattern))
				}
				attrs = append(attrs,
					slog.Int("status", rec.Status()),
					slog.Int64("bytes", rec.bytes),
					slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				)
				logger.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
			}()
			serveWith(next, rec, r, r.WithContext(context.WithValue(r.Context(), loggerKey, logger)))
		})
	}
}

// Recover turns a panic in a later handler into a 500 problem and logs it with
// its stack. If the response had already started, it aborts the connection
// instead, so that the client cannot mistake a truncated answer for a whole one.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		header := w.Header().Clone()
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			ctx := r.Context()
			Logger(ctx).ErrorContext(ctx, "panic serving request", "panic", v, "stack", string(debug.Stack()))
			if rec.wroteHeader {
				panic(http.ErrAbortHandler)
			}
			// Drop what the handler set (content type, cookies) before panicking.
			clear(w.Header())
			for k, v := range header {
				w.Header()[k] = v
			}
			writeProblem(w, r, newErr(http.StatusInternalServerError, "", nil))
		}()
		next.ServeHTTP(rec, r)
	})
}

// ContentSecurityPolicy is the policy [SecurityHeaders] sets: resources from
// our own origin only, no inline script or style, no plugins, no framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// SecurityHeaders sets, before the handler runs (so a handler may override
// them), a strict Content-Security-Policy, X-Content-Type-Options: nosniff,
// X-Frame-Options: DENY, a Referrer-Policy, a Permissions-Policy that disables
// powerful features and Cross-Origin-Opener-Policy. When hsts is true, meaning
// the site is served over HTTPS only, it also sets Strict-Transport-Security.
func SecurityHeaders(hsts bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", ContentSecurityPolicy)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			if hsts {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// BodyLimit refuses request bodies larger than n bytes: at once with 413 when
// Content-Length says so, otherwise when a handler reads past n, which then
// gets an *http.MaxBytesError that [Error] answers with 413.
func BodyLimit(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				Error(w, r, bodyTooLarge(n))
				return
			}
			r2 := r.WithContext(r.Context())
			r2.Body = http.MaxBytesReader(w, r.Body, n)
			serveWith(next, w, r, r2)
		})
	}
}

// serveWith serves r2, a request derived from r, and copies the pattern that
// the ServeMux matched back to r, so that outer middleware ([Metrics],
// [AccessLog]) can read r.Pattern.
func serveWith(next http.Handler, w http.ResponseWriter, r, r2 *http.Request) {
	defer func() { r.Pattern = r2.Pattern }()
	next.ServeHTTP(w, r2)
}

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	bytes       int64
}

func (rw *recorder) WriteHeader(code int) {
	if !rw.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rw.status, rw.wroteHeader = code, true
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if !rw.wroteHeader {
		rw.status, rw.wroteHeader = http.StatusOK, true
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// Flush lets streaming handlers flush through the recorder.
func (rw *recorder) Flush() {
	if !rw.wroteHeader {
		rw.status, rw.wroteHeader = http.StatusOK, true
	}
	http.NewResponseController(rw.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// Status returns the status sent, 200 if the handler sent nothing.
func (rw *recorder) Status() int {
	if !rw.wroteHeader {
		return http.StatusOK
	}
	return rw.status
}

type patternKey struct{}

type patternBox struct{ pattern string }

// KeepPattern wraps a middleware from outside this package that may replace
// the request (r.WithContext), so that the pattern the ServeMux matches is
// still copied back to the request outer middleware ([Metrics], [AccessLog])
// hold.
func KeepPattern(mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		wrapped := mw(http.HandlerFunc(func(w http.ResponseWriter, r2 *http.Request) {
			next.ServeHTTP(w, r2)
			if b, ok := r2.Context().Value(patternKey{}).(*patternBox); ok {
				b.pattern = r2.Pattern
			}
		}))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b := &patternBox{}
			wrapped.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), patternKey{}, b)))
			r.Pattern = b.pattern
		})
	}
}
