package notify

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"strconv"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/httpx"
)

//go:embed openapi.json
var openAPIFragment []byte

// OpenAPIFragment is the OpenAPI 3.1 description of the JSON API, to merge
// into the application's document.
func OpenAPIFragment() []byte { return openAPIFragment }

// Handlers serves the JSON API of the signed-in person's notifications.
// Every route acts on the caller's own account only.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the JSON API over svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// Routes registers the JSON API on mux:
//
//	GET  /api/v1/notifications                 the caller's in-app notifications, newest first ?unread=true &limit= &cursor=
//	POST /api/v1/notifications/{id}/read       mark one read (404 if not the caller's)
//	POST /api/v1/notifications/read-all        mark all read; answers {"marked": n}
//	GET  /api/v1/notifications/preferences     the caller's channels {"email","sms","inapp"}
//	PUT  /api/v1/notifications/preferences     replace them (all three booleans required)
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/notifications", h.list)
	mux.HandleFunc("POST /api/v1/notifications/{id}/read", h.read)
	mux.HandleFunc("POST /api/v1/notifications/read-all", h.readAll)
	mux.HandleFunc("GET /api/v1/notifications/preferences", h.getPrefs)
	mux.HandleFunc("PUT /api/v1/notifications/preferences", h.putPrefs)
}

// account returns the caller's account, or answers 401.
func account(w http.ResponseWriter, r *http.Request) (string, bool) {
	p := identity.PrincipalFrom(r.Context())
	if !p.Authenticated() {
		httpx.Error(w, r, httpx.Unauthorized(""))
		return "", false
	}
	return p.PersonID, true
}

// cursor is the position in the list: the last ID shown.
type cursor struct {
	Before int64 `json:"b"`
}

// listJSON adds the unread count to the list body.
type listJSON struct {
	Items  []Notification `json:"items"`
	Next   string         `json:"next,omitempty"`
	Unread int            `json:"unread"`
}

func (h *Handlers) list(w http.ResponseWriter, r *http.Request) {
	acct, ok := account(w, r)
	if !ok {
		return
	}
	pg, err := httpx.ParsePage(r)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	var c cursor
	if pg.Cursor != "" {
		if err := httpx.DecodeCursor(pg.Cursor, &c); err != nil || c.Before <= 0 {
			httpx.Error(w, r, httpx.BadRequest("invalid_query", "param", "cursor"))
			return
		}
	}
	unread := false
	switch v := r.URL.Query().Get("unread"); v {
	case "", "false":
	case "true":
		unread = true
	default:
		httpx.Error(w, r, httpx.BadRequest("invalid_query", "param", "unread"))
		return
	}
	items, next, err := h.svc.List(r.Context(), acct, unread, pg.Limit, c.Before)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	n, err := h.svc.UnreadCount(r.Context(), acct)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := listJSON{Items: items, Unread: n}
	if next > 0 {
		if out.Next, err = httpx.EncodeCursor(cursor{Before: next}); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handlers) read(w http.ResponseWriter, r *http.Request) {
	acct, ok := account(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		httpx.Error(w, r, httpx.NotFound("notify.not_found"))
		return
	}
	if err := h.svc.MarkRead(r.Context(), acct, id); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handlers) readAll(w http.ResponseWriter, r *http.Request) {
	acct, ok := account(w, r)
	if !ok {
		return
	}
	n, err := h.svc.MarkAllRead(r.Context(), acct)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, map[string]int64{"marked": n})
}

func (h *Handlers) getPrefs(w http.ResponseWriter, r *http.Request) {
	acct, ok := account(w, r)
	if !ok {
		return
	}
	p, err := h.svc.Preferences(r.Context(), acct)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, p)
}

// prefsInput requires every field, so a client cannot turn a channel off
// by forgetting it.
type prefsInput struct {
	Email *bool `json:"email"`
	SMS   *bool `json:"sms"`
	InApp *bool `json:"inapp"`
}

func (h *Handlers) putPrefs(w http.ResponseWriter, r *http.Request) {
	acct, ok := account(w, r)
	if !ok {
		return
	}
	var in prefsInput
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		httpx.Error(w, r, err)
		return
	}
	var fields []httpx.FieldError
	for _, f := range []struct {
		name string
		v    *bool
	}{{"email", in.Email}, {"sms", in.SMS}, {"inapp", in.InApp}} {
		if f.v == nil {
			fields = append(fields, httpx.FieldError{Field: f.name, Code: "required"})
		}
	}
	if len(fields) > 0 {
		httpx.Error(w, r, httpx.Validation(fields...))
		return
	}
	p := Preferences{Email: *in.Email, SMS: *in.SMS, InApp: *in.InApp}
	if err := h.svc.SetPreferences(r.Context(), acct, p); err != nil {
		h.fail(w, r, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, p)
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		httpx.Error(w, r, httpx.NotFound("notify.not_found").Wrap(err))
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	httpx.Error(w, r, err)
}
