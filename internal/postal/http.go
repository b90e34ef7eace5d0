package postal

import (
	_ "embed"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/httpx"
)

// Handlers serves the carrier's status webhook (no session: the signature
// authenticates it) and the officials' JSON list of a dossier's shipments.
type Handlers struct{ svc *Service }

// NewHandlers returns the handlers of svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// Routes registers the handlers on mux.
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /postal/webhook", h.webhook)
	mux.HandleFunc("GET /api/v1/postal/dossiers/{code}/shipments", h.list)
}

func (h *Handlers) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	remote, _, _ := net.SplitHostPort(r.RemoteAddr)
	err = h.svc.HandleWebhook(r.Context(), body, remote)
	switch {
	case err == nil:
		_ = httpx.WriteJSON(w, http.StatusOK, map[string]string{"code": "00", "message": "ok"})
	case errors.Is(err, ErrRejected):
		_ = httpx.WriteJSON(w, http.StatusUnauthorized, map[string]string{"code": "97", "message": err.Error()})
	default:
		httpx.Logger(r.Context()).Error("postal webhook", "err", err)
		_ = httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"code": "99", "message": "retry later"})
	}
}

func (h *Handlers) list(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	p := identity.PrincipalFrom(r.Context())
	if !p.Authenticated() || h.svc.cfg.CanView == nil || !h.svc.cfg.CanView(r.Context(), p, code) {
		httpx.Error(w, r, httpx.NotFound("postal.not_found"))
		return
	}
	l, err := h.svc.ForDossier(r.Context(), code)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if l == nil {
		l = []Shipment{}
	}
	_ = httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": l})
}

//go:embed openapi.json
var openapiFragment []byte

// OpenAPIFragment returns the OpenAPI 3.1 description of the module's JSON
// routes (the API and the webhook), to merge into the application's.
func OpenAPIFragment() []byte { return append([]byte(nil), openapiFragment...) }
