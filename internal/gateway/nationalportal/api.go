package nationalportal

import (
	"context"
	"embed"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/platform/outbox"
)

//go:embed messages/*.json
var messageFS embed.FS

func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err)
	}
}

// The actions of the adapter's API and page.
var (
	// ActionView lets system administrators and leaders follow the sync
	// (province-wide grants only).
	ActionView = identity.DefineAction("nationalportal.view", identity.RoleSysadmin, identity.RoleLeader)
	// ActionOperate lets system administrators run a reconciliation, pull
	// the inbound feed or resync a dossier.
	ActionOperate = identity.DefineAction("nationalportal.operate", identity.RoleSysadmin)
)

// QueueStats reports the outbox deliveries per subscription;
// (*outbox.Dispatcher).Stats implements it.
type QueueStats func(ctx context.Context) ([]outbox.SubscriptionStats, error)

// Handlers serves the adapter's JSON API.
type Handlers struct {
	svc   *Service
	stats QueueStats
}

// NewHandlers returns the handlers over svc; stats (may be nil) adds the
// outbox queue of the sync to the state.
func NewHandlers(svc *Service, stats QueueStats) *Handlers { return &Handlers{svc: svc, stats: stats} }

// Routes registers the JSON API on mux:
//
//	GET  /api/v1/national-portal/state                        sync state: failing dossiers, rejections, queue, inbound feed
//	GET  /api/v1/national-portal/reconciliations/latest       the latest reconciliation report
//	POST /api/v1/national-portal/reconciliations              run one: {"from": "2026-03-01", "to": "2026-03-31"} (days, to inclusive)
//	POST /api/v1/national-portal/dossiers/{code}/resync       push a dossier again with all its progress
//	POST /api/v1/national-portal/pull                         pull the inbound feed now
//	GET  /api/v1/national-portal/reconciliations/schedule     the scheduled reconciliation: last run, next run
//	GET  /api/v1/national-portal/backfill                     the latest backfill's progress
//	POST /api/v1/national-portal/backfill                     start (or resume) one: {"since": "2026-01-01"} or {"all": true}
//	POST /api/v1/national-portal/backfill/cancel              stop the backfill in progress
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/national-portal/state", h.state)
	mux.HandleFunc("GET /api/v1/national-portal/reconciliations/latest", h.latest)
	mux.HandleFunc("POST /api/v1/national-portal/reconciliations", h.reconcile)
	mux.HandleFunc("POST /api/v1/national-portal/dossiers/{code}/resync", h.resync)
	mux.HandleFunc("POST /api/v1/national-portal/pull", h.pull)
	mux.HandleFunc("GET /api/v1/national-portal/reconciliations/schedule", h.schedule)
	mux.HandleFunc("GET /api/v1/national-portal/backfill", h.backfillStatus)
	mux.HandleFunc("POST /api/v1/national-portal/backfill", h.startBackfill)
	mux.HandleFunc("POST /api/v1/national-portal/backfill/cancel", h.cancelBackfill)
}

func allowed(r *http.Request, a identity.Action) error {
	p := identity.PrincipalFrom(r.Context())
	if !p.Authenticated() {
		return httpx.Unauthorized("unauthenticated")
	}
	if !identity.Can(r.Context(), p, a, identity.ProvinceWide) {
		return httpx.Forbidden("nationalportal.forbidden")
	}
	return nil
}

// StateView is the answer of GET /state.
type StateView struct {
	QueueState
	// Queue is the outbox's count of deliveries waiting for the sync, per topic.
	Queue []outbox.SubscriptionStats `json:"queue"`
	// Schedule is the scheduled reconciliation; Backfill the latest backfill.
	Schedule ScheduleStatus `json:"reconciliation_schedule"`
	Backfill BackfillStatus `json:"backfill"`
}

func (h *Handlers) stateView(ctx context.Context) (StateView, error) {
	st, err := h.svc.State(ctx, 50)
	if err != nil {
		return StateView{}, err
	}
	v := StateView{QueueState: st, Queue: []outbox.SubscriptionStats{}}
	if v.Schedule, err = h.svc.ReconcileSchedule(ctx); err != nil {
		return v, err
	}
	if v.Backfill, err = h.svc.BackfillStatus(ctx); err != nil {
		return v, err
	}
	if h.stats != nil {
		all, err := h.stats(ctx)
		if err != nil {
			return v, err
		}
		for _, s := range all {
			if s.Name == SubscriptionName {
				v.Queue = append(v.Queue, s)
			}
		}
	}
	return v, nil
}

func (h *Handlers) state(w http.ResponseWriter, r *http.Request) {
	if err := allowed(r, ActionView); err != nil {
		httpx.Error(w, r, err)
		return
	}
	v, err := h.stateView(r.Context())
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, v)
}

func (h *Handlers) latest(w http.ResponseWriter, r *http.Request) {
	if err := allowed(r, ActionView); err != nil {
		httpx.Error(w, r, err)
		return
	}
	rep, err := h.svc.LastReport(r.Context())
	if err != nil {
		httpx.Error(w, r, translate(err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
}

// ParsePeriod reads a period given as two days (YYYY-MM-DD, the second
// inclusive) in Vietnam's time: [from 00:00, to+1 00:00).
// Messages are in lang.
func ParsePeriod(lang i18n.Lang, from, to string) (time.Time, time.Time, []httpx.FieldError) {
	var errs []httpx.FieldError
	day := func(field, s string) time.Time {
		t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(s), Location)
		if err != nil {
			errs = append(errs, httpx.FieldError{Field: field, Code: "invalid_format",
				Message: i18n.T(lang, "nationalportal.field.date")})
		}
		return t
	}
	f, t := day("from", from), day("to", to)
	if len(errs) == 0 {
		t = t.AddDate(0, 0, 1)
		if !f.Before(t) || t.Sub(f) > 366*24*time.Hour {
			errs = append(errs, httpx.FieldError{Field: "to", Code: "invalid_value",
				Message: i18n.T(lang, "nationalportal.field.period")})
		}
	}
	return f, t, errs
}

func (h *Handlers) reconcile(w http.ResponseWriter, r *http.Request) {
	if err := allowed(r, ActionOperate); err != nil {
		httpx.Error(w, r, err)
		return
	}
	var in struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		httpx.Error(w, r, err)
		return
	}
	from, to, errs := ParsePeriod(i18n.FromRequest(r), in.From, in.To)
	if len(errs) > 0 {
		httpx.Error(w, r, httpx.Validation(errs...))
		return
	}
	rep, err := h.svc.Reconcile(r.Context(), from, to)
	if err != nil {
		httpx.Error(w, r, translate(err))
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, rep)
}

func (h *Handlers) resync(w http.ResponseWriter, r *http.Request) {
	if err := allowed(r, ActionOperate); err != nil {
		httpx.Error(w, r, err)
		return
	}
	code := r.PathValue("code")
	if !dossier.ValidCode(code) {
		httpx.Error(w, r, httpx.NotFound("nationalportal.dossier_not_found"))
		return
	}
	if err := h.svc.Resync(r.Context(), code, identity.PrincipalFrom(r.Context()).PersonID); err != nil {
		httpx.Error(w, r, translate(err))
		return
	}
	v, st, err := h.svc.SyncedVersion(r.Context(), code)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"code": code, "synced_version": v, "national_status": st})
}

func (h *Handlers) pull(w http.ResponseWriter, r *http.Request) {
	if err := allowed(r, ActionOperate); err != nil {
		httpx.Error(w, r, err)
		return
	}
	rep, err := h.svc.Pull(r.Context())
	if err != nil {
		httpx.Error(w, r, translate(err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
}

// ParseSince reads the start of a backfill: a day (YYYY-MM-DD, Vietnam's
// time, not after today) or all (every dossier), exactly one of them. It
// returns the zero time for all. Messages are in lang.
func ParseSince(lang i18n.Lang, since string, all bool, now time.Time) (time.Time, []httpx.FieldError) {
	since = strings.TrimSpace(since)
	switch {
	case all && since != "":
		return time.Time{}, []httpx.FieldError{{Field: "since", Code: "invalid_value", Message: i18n.T(lang, "nationalportal.field.since_or_all")}}
	case all:
		return time.Time{}, nil
	case since == "":
		return time.Time{}, []httpx.FieldError{{Field: "since", Code: "required", Message: i18n.T(lang, "nationalportal.field.since_or_all")}}
	}
	t, err := time.ParseInLocation("2006-01-02", since, Location)
	if err != nil {
		return t, []httpx.FieldError{{Field: "since", Code: "invalid_format", Message: i18n.T(lang, "nationalportal.field.date")}}
	}
	if t.After(now) {
		return t, []httpx.FieldError{{Field: "since", Code: "invalid_value", Message: i18n.T(lang, "nationalportal.field.since_future")}}
	}
	return t, nil
}

func (h *Handlers) schedule(w http.ResponseWriter, r *http.Request) {
	if err := allowed(r, ActionView); err != nil {
		httpx.Error(w, r, err)
		return
	}
	st, err := h.svc.ReconcileSchedule(r.Context())
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, st)
}

func (h *Handlers) backfillStatus(w http.ResponseWriter, r *http.Request) {
	if err := allowed(r, ActionView); err != nil {
		httpx.Error(w, r, err)
		return
	}
	st, err := h.svc.BackfillStatus(r.Context())
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, st)
}

func (h *Handlers) startBackfill(w http.ResponseWriter, r *http.Request) {
	if err := allowed(r, ActionOperate); err != nil {
		httpx.Error(w, r, err)
		return
	}
	var in struct {
		Since string `json:"since"`
		All   bool   `json:"all"`
	}
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		httpx.Error(w, r, err)
		return
	}
	since, errs := ParseSince(i18n.FromRequest(r), in.Since, in.All, h.svc.cfg.Now())
	if len(errs) > 0 {
		httpx.Error(w, r, httpx.Validation(errs...))
		return
	}
	st, err := h.svc.StartBackfill(r.Context(), since, identity.PrincipalFrom(r.Context()).PersonID)
	if err != nil {
		httpx.Error(w, r, translate(err))
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, st)
}

func (h *Handlers) cancelBackfill(w http.ResponseWriter, r *http.Request) {
	if err := allowed(r, ActionOperate); err != nil {
		httpx.Error(w, r, err)
		return
	}
	st, err := h.svc.CancelBackfill(r.Context(), identity.PrincipalFrom(r.Context()).PersonID)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, st)
}

// translate maps the adapter's errors to problems.
func translate(err error) error {
	switch {
	case errors.Is(err, ErrUnavailable):
		return &httpx.Err{Status: http.StatusBadGateway, Code: "nationalportal.unavailable", Err: err}
	case errors.Is(err, ErrBackfillRunning):
		return &httpx.Err{Status: http.StatusConflict, Code: "nationalportal.backfill_running", Err: err}
	case errors.Is(err, ErrBusy):
		return &httpx.Err{Status: http.StatusConflict, Code: "nationalportal.busy", Err: err}
	case errors.Is(err, ErrRejected):
		return &httpx.Err{Status: http.StatusBadGateway, Code: "nationalportal.rejected", Err: err}
	case errors.Is(err, ErrInvalidPeriod):
		return httpx.Validation(httpx.FieldError{Field: "to", Code: "invalid_value"})
	case errors.Is(err, dossier.ErrNotFound):
		return httpx.NotFound("nationalportal.not_found").Wrap(err)
	}
	return err
}

//go:embed openapi.json
var openapiFragment []byte

// OpenAPIFragment returns the OpenAPI 3.1 description of the routes of
// Handlers.Routes: "paths", "tags" and "components.schemas" to merge into the
// application's document (it refers to the application's shared Problem,
// CSRFToken, TooManyRequests and ServerError components).
func OpenAPIFragment() []byte { return append([]byte(nil), openapiFragment...) }
