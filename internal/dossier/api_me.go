package dossier

import (
	"net/http"

	"github.com/congso/congso/internal/platform/httpx"
)

// meRoutes are the applicant's own endpoints: the signed-in person's
// dossiers submitted on the portal (the owner is the principal's person).
func (h *Handlers) meRoutes() []route {
	return []route{
		{"GET /api/v1/me/dossiers", h.mine},
		{"GET /api/v1/me/dossiers/{code}", h.getMine},
		{"GET /api/v1/me/dossiers/{code}/files/{hash}", h.mineFile},
		{"POST /api/v1/me/dossiers/{code}/supplement", h.respond},
		{"POST /api/v1/me/dossiers/{code}/withdrawal", h.withdraw},
		{"GET /api/v1/me/dossiers/{code}/rating", h.rating},
		{"POST /api/v1/me/dossiers/{code}/rating", h.rate},
		{"GET /api/v1/rating-criteria", h.criteria},
	}
}

// owner is the signed-in person, or "" (then the service answers 401).
func owner(r *http.Request) string {
	if p := principal(r); p.Authenticated() {
		return p.PersonID
	}
	return ""
}

func (h *Handlers) mine(w http.ResponseWriter, r *http.Request) {
	pg, err := httpx.ParsePage(r)
	if err != nil {
		apiError(w, r, err)
		return
	}
	page, err := h.svc.Mine(r.Context(), owner(r), pg.Limit, pg.Cursor)
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, httpx.List[Summary]{Items: page.Items, Next: page.Next})
}

func (h *Handlers) getMine(w http.ResponseWriter, r *http.Request) {
	if owner(r) == "" {
		apiError(w, r, refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in"))
		return
	}
	d, err := h.svc.GetMine(r.Context(), r.PathValue("code"), owner(r))
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, d)
}

func (h *Handlers) mineFile(w http.ResponseWriter, r *http.Request) {
	if owner(r) == "" {
		apiError(w, r, refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in"))
		return
	}
	f, rc, err := h.svc.OpenMineFile(r.Context(), r.PathValue("code"), owner(r), r.PathValue("hash"))
	if err != nil {
		apiError(w, r, err)
		return
	}
	defer rc.Close()
	serveFile(w, f, rc)
}

func (h *Handlers) respond(w http.ResponseWriter, r *http.Request) {
	var in RespondInput
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		apiError(w, r, err)
		return
	}
	in.Code, in.Owner, in.IdempotencyKey = r.PathValue("code"), owner(r), idemKey(r)
	res, err := h.svc.Respond(r.Context(), in)
	if err != nil {
		apiError(w, r, err)
		return
	}
	writeResult(w, http.StatusOK, res.Replayed, res)
}

func (h *Handlers) withdraw(w http.ResponseWriter, r *http.Request) {
	var in WithdrawInput
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		apiError(w, r, err)
		return
	}
	in.Code, in.Owner, in.IdempotencyKey = r.PathValue("code"), owner(r), idemKey(r)
	res, err := h.svc.Withdraw(r.Context(), in)
	if err != nil {
		apiError(w, r, err)
		return
	}
	writeResult(w, http.StatusOK, res.Replayed, res)
}

func (h *Handlers) rating(w http.ResponseWriter, r *http.Request) {
	if owner(r) == "" {
		apiError(w, r, refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in"))
		return
	}
	rt, err := h.svc.RatingOf(r.Context(), r.PathValue("code"), owner(r))
	if err != nil {
		apiError(w, r, err)
		return
	}
	if rt == nil {
		apiError(w, r, refuse(ErrNotFound, "dossier.rating_not_found", "not rated yet"))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, rt)
}

func (h *Handlers) rate(w http.ResponseWriter, r *http.Request) {
	var in RatingInput
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		apiError(w, r, err)
		return
	}
	in.Code, in.Owner = r.PathValue("code"), owner(r)
	if in.Owner == "" {
		apiError(w, r, refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in"))
		return
	}
	rt, err := h.svc.Rate(r.Context(), in)
	if err != nil {
		apiError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/me/dossiers/"+in.Code+"/rating")
	httpx.WriteJSON(w, http.StatusCreated, rt)
}

func (h *Handlers) criteria(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	httpx.WriteJSON(w, http.StatusOK, RatingCriteria())
}
