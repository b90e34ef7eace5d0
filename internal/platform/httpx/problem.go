package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/congso/congso/internal/platform/i18n"
)

// Problem is an RFC 9457 problem details object, the body of every error
// response, sent as application/problem+json.
type Problem struct {
	// Type is a URI reference naming the kind of problem: "/problems/" + Code.
	Type string `json:"type"`
	// Title is the short, localized name of the HTTP status ("Không tìm thấy").
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail explains this occurrence in the language of the request.
	Detail string `json:"detail,omitempty"`
	// Instance is the path of the request that failed.
	Instance string `json:"instance,omitempty"`
	// Code is the stable machine-readable code that clients switch on.
	Code string `json:"code"`
	// RequestID identifies the request in the server logs, for support.
	RequestID string `json:"request_id,omitempty"`
	// Errors lists problems with individual fields or parameters.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError describes what is wrong with one field of a request.
type FieldError struct {
	// Field is the dotted path of the field ("applicant.address.ward") or the
	// name of a query parameter.
	Field string `json:"field"`
	// Code is a stable code such as "required", "too_long" or "invalid_type".
	Code string `json:"code"`
	// Message is the localized explanation. When empty it is filled, in the
	// language of the request, from the message "field.<Code>" and Args.
	Message string `json:"message"`
	// Args fill the placeholders of the message ("max", 200, ...).
	Args []any `json:"-"`
}

// Sentinel errors for the common client errors. Code that cannot name a more
// precise problem may wrap one of them, and [Error] answers with its status:
//
//	return fmt.Errorf("dossier %s: %w", code, httpx.ErrNotFound)
//
// An [*Err] with the matching status also matches them under errors.Is.
var (
	ErrBadRequest   = errors.New("bad request")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrValidation   = errors.New("validation failed")
)

// Err is an error that knows the problem to answer with. Handlers and services
// return one, possibly wrapped, and [Error] turns it into a [Problem].
type Err struct {
	// Status is the HTTP status code.
	Status int
	// Code is the stable problem code. Modules prefix their own codes with the
	// module name ("dossier.not_found").
	Code string
	// Key is the i18n message key of the detail; empty means "error." + Code.
	// If the key is in no catalog, the generic message for Status is used.
	Key string
	// Args fill the placeholders of the message, as names and values.
	Args []any
	// Fields lists problems with individual fields.
	Fields []FieldError
	// Err is the underlying cause. It is logged for server errors and never
	// shown to the client.
	Err error
}

// Error describes e for logs.
func (e *Err) Error() string {
	s := strconv.Itoa(e.Status) + " " + e.Code
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Err) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel error for e's status, so that
// errors.Is(httpx.NotFound("dossier.not_found"), httpx.ErrNotFound) holds.
func (e *Err) Is(target error) bool {
	for _, s := range sentinels {
		if s.err == target {
			return s.status == e.Status
		}
	}
	return false
}

// Wrap returns a copy of e with cause as its underlying error.
func (e *Err) Wrap(cause error) *Err {
	c := *e
	c.Err = cause
	return &c
}

var sentinels = []struct {
	status int
	err    error
}{
	{http.StatusBadRequest, ErrBadRequest},
	{http.StatusUnauthorized, ErrUnauthorized},
	{http.StatusForbidden, ErrForbidden},
	{http.StatusNotFound, ErrNotFound},
	{http.StatusConflict, ErrConflict},
	{http.StatusUnprocessableEntity, ErrValidation},
}

// genericCodes is the problem code used for a status when no other is known.
var genericCodes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusConflict:              "conflict",
	http.StatusUnprocessableEntity:   "validation_failed",
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusInternalServerError:   "internal",
	http.StatusServiceUnavailable:    "service_unavailable",
	http.StatusRequestEntityTooLarge: "body_too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
}

func newErr(status int, code string, args []any) *Err {
	if code == "" {
		code = genericCode(status)
	}
	return &Err{Status: status, Code: code, Args: args}
}

// BadRequest returns a 400 error with the given code ("" for "bad_request");
// args fill the placeholders of the message "error.<code>".
func BadRequest(code string, args ...any) *Err { return newErr(http.StatusBadRequest, code, args) }

// Unauthorized returns a 401 error: the request lacks valid credentials.
func Unauthorized(code string, args ...any) *Err {
	return newErr(http.StatusUnauthorized, code, args)
}

// Forbidden returns a 403 error: the caller is known but not allowed.
func Forbidden(code string, args ...any) *Err { return newErr(http.StatusForbidden, code, args) }

// NotFound returns a 404 error.
func NotFound(code string, args ...any) *Err { return newErr(http.StatusNotFound, code, args) }

// Conflict returns a 409 error: the request conflicts with the current state,
// such as a stale version or a duplicate.
func Conflict(code string, args ...any) *Err { return newErr(http.StatusConflict, code, args) }

// Validation returns a 422 error with code "validation_failed" listing what is
// wrong with each field.
func Validation(fields ...FieldError) *Err {
	return &Err{Status: http.StatusUnprocessableEntity, Code: "validation_failed", Fields: fields}
}

// WriteProblem answers r with a problem of the given status and code. The
// detail is the message "error.<code>" in the request's language, with
// placeholders filled from args; code "" means the generic code for status.
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, code string, args ...any) {
	writeProblem(w, r, newErr(status, code, args))
}

// Error answers r with the problem that err describes and logs server errors
// once, with the request id:
//
//   - an [*Err] anywhere in err's chain gives its status, code and fields;
//   - an *http.MaxBytesError gives 413;
//   - the sentinels ([ErrNotFound], ...) give their status;
//   - context.DeadlineExceeded gives 503;
//   - anything else gives 500 with a generic message; the details go to the
//     log only.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	var e *Err
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &tooLarge):
		e = bodyTooLarge(tooLarge.Limit)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// The client went away; nobody reads the answer and it is no fault.
		Logger(ctx).InfoContext(ctx, "request canceled", "error", err)
		e = newErr(http.StatusServiceUnavailable, "", nil)
		writeProblem(w, r, e)
		return
	case errors.Is(err, context.DeadlineExceeded):
		e = newErr(http.StatusServiceUnavailable, "", nil)
	default:
		for _, s := range sentinels {
			if errors.Is(err, s.err) {
				e = newErr(s.status, "", nil)
				break
			}
		}
		if e == nil {
			e = newErr(http.StatusInternalServerError, "", nil)
		}
	}
	if e.Status >= 500 {
		Logger(ctx).ErrorContext(ctx, "request failed", "status", e.Status, "code", e.Code, "error", err)
	}
	writeProblem(w, r, e)
}

func bodyTooLarge(limit int64) *Err {
	return newErr(http.StatusRequestEntityTooLarge, "body_too_large", []any{"limit", formatBytes(limit)})
}

// formatBytes writes n in the largest binary unit that divides it exactly.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// newProblem renders e for the request r, in its language.
func newProblem(r *http.Request, e *Err) (Problem, i18n.Lang) {
	lang := i18n.FromRequest(r)
	p := renderProblem(lang, e)
	p.Instance = r.URL.Path
	p.RequestID = RequestID(r.Context())
	return p, lang
}

// renderProblem renders e in lang.
func renderProblem(lang i18n.Lang, e *Err) Problem {
	status := e.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	code := e.Code
	if code == "" {
		code = genericCode(status)
	}
	key := e.Key
	if key == "" {
		key = "error." + code
	}
	if !i18n.Has(key) {
		key = "error." + genericCode(status)
	}
	title := http.StatusText(status)
	if k := "status." + strconv.Itoa(status); i18n.Has(k) {
		title = i18n.T(lang, k)
	}
	p := Problem{
		Type:   "/problems/" + code,
		Title:  title,
		Status: status,
		Detail: i18n.T(lang, key, e.Args...),
		Code:   code,
	}
	for _, f := range e.Fields {
		if f.Message == "" {
			k := "field." + f.Code
			if !i18n.Has(k) {
				k = "field.invalid"
			}
			f.Message = i18n.T(lang, k, f.Args...)
		}
		p.Errors = append(p.Errors, f)
	}
	return p
}

// genericCode returns the generic code for status, falling back to the
// generic client or server error.
func genericCode(status int) string {
	if c, ok := genericCodes[status]; ok {
		return c
	}
	if status < 500 {
		return "bad_request"
	}
	return "internal"
}

func writeProblem(w http.ResponseWriter, r *http.Request, e *Err) {
	p, lang := newProblem(r, e)
	writeProblemBody(w, lang, p)
}

func writeProblemBody(w http.ResponseWriter, lang i18n.Lang, p Problem) {
	body, err := json.Marshal(p)
	if err != nil { // only strings and ints: cannot happen
		panic(fmt.Sprintf("httpx: marshal problem: %v", err))
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Language", string(lang))
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	w.WriteHeader(p.Status)
	w.Write(append(body, '\n'))
}
