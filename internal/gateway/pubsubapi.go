package gateway

import (
	"errors"
	"net/http"

	"github.com/congso/congso/internal/platform/httpx"
)

// pubsubAPIRoutes registers the pub/sub administration endpoints that
// api.go's Routes lacks (with a PubSub only):
//
//	GET    /api/v1/gateway/topics                        an official     topics and their figures
//	GET    /api/v1/gateway/subscriptions?topic=          gateway.admin   live subscriptions and delivery counters
//	POST   /api/v1/gateway/subscriptions/{id}/pause      gateway.admin   hold deliveries
//	POST   /api/v1/gateway/subscriptions/{id}/resume     gateway.admin   deliver the held events
//	POST   /api/v1/gateway/subscriptions/{id}/redeliver  gateway.admin   every dead letter back in the queue
//	DELETE /api/v1/gateway/subscriptions/{id}?force=true gateway.admin   409 while events are undelivered, unless force
//	POST   /api/v1/gateway/subscriptions/{id}/secret     gateway.admin   a new signing secret, shown once
//	DELETE /api/v1/gateway/topics/{code}                 gateway.admin   409 while a live subscription follows it
func (h *Handlers) pubsubAPIRoutes(mux *http.ServeMux) {
	if h.cfg.PubSub == nil {
		return
	}
	mux.HandleFunc("GET /api/v1/gateway/topics", h.getTopics)
	mux.HandleFunc("GET /api/v1/gateway/subscriptions", h.admin(h.getSubscriptions))
	mux.HandleFunc("POST /api/v1/gateway/subscriptions/{id}/pause", h.admin(h.pauseSubscription))
	mux.HandleFunc("POST /api/v1/gateway/subscriptions/{id}/resume", h.admin(h.resumeSubscription))
	mux.HandleFunc("POST /api/v1/gateway/subscriptions/{id}/redeliver", h.admin(h.redeliverSubscription))
	mux.HandleFunc("DELETE /api/v1/gateway/subscriptions/{id}", h.admin(h.deleteSubscription))
	mux.HandleFunc("DELETE /api/v1/gateway/topics/{code}", h.admin(h.deleteTopic))
	mux.HandleFunc("POST /api/v1/gateway/subscriptions/{id}/secret", h.admin(h.rotateSecret))
}

func (h *Handlers) rotateSecret(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	var s Subscription
	if err == nil {
		s, err = h.cfg.PubSub.RotateSecret(r.Context(), h.actor(r), id)
	}
	if err != nil {
		h.pubsubFail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, s)
}

func (h *Handlers) deleteTopic(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	err := h.cfg.PubSub.DeleteTopic(r.Context(), h.actor(r), code)
	switch {
	case err == nil:
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"deleted": code})
	case writeInUse(w, r, err):
	default:
		h.fail(w, r, err)
	}
}

// pubsubFail maps pub/sub errors to problems: undelivered events are a 409
// saying how many; the rest as fail does.
func (h *Handlers) pubsubFail(w http.ResponseWriter, r *http.Request, err error) {
	var tooMany *ReplayTooLargeError
	if errors.As(err, &tooMany) {
		httpx.Error(w, r, &httpx.Err{Status: http.StatusUnprocessableEntity, Code: "gateway.pubsub.replay_too_large",
			Key: "gateway.pubsub.invalid.replay.too_many", Args: []any{"count", tooMany.Count, "max", tooMany.Max}})
		return
	}
	var ue *UndeliveredError
	if errors.As(err, &ue) {
		httpx.Error(w, r, httpx.Conflict("gateway.pubsub.undelivered", "count", ue.Count))
		return
	}
	h.fail(w, r, err)
}

func (h *Handlers) getTopics(w http.ResponseWriter, r *http.Request) {
	if h.actor(r) == "" {
		httpx.Error(w, r, httpx.Unauthorized(""))
		return
	}
	if !h.official(r) {
		httpx.Error(w, r, httpx.Forbidden(""))
		return
	}
	out, err := h.cfg.PubSub.Topics(r.Context())
	if err != nil {
		h.pubsubFail(w, r, err)
		return
	}
	if out == nil {
		out = []TopicInfo{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (h *Handlers) getSubscriptions(w http.ResponseWriter, r *http.Request) {
	out, err := h.cfg.PubSub.Subscriptions(r.Context(), r.URL.Query().Get("topic"))
	if err != nil {
		h.pubsubFail(w, r, err)
		return
	}
	if out == nil {
		out = []SubscriptionStatus{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
}

// subscriptionAction runs op on the subscription of the path and answers
// with its ID and the figures op returns.
func (h *Handlers) subscriptionAction(w http.ResponseWriter, r *http.Request, op func(id int64) (map[string]any, error)) {
	id, err := pathID(r)
	var out map[string]any
	if err == nil {
		out, err = op(id)
	}
	if err != nil {
		h.pubsubFail(w, r, err)
		return
	}
	if out == nil {
		out = map[string]any{}
	}
	out["id"] = id
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handlers) pauseSubscription(w http.ResponseWriter, r *http.Request) {
	h.subscriptionAction(w, r, func(id int64) (map[string]any, error) {
		return map[string]any{"paused": true}, h.cfg.PubSub.Pause(r.Context(), h.actor(r), id)
	})
}

func (h *Handlers) resumeSubscription(w http.ResponseWriter, r *http.Request) {
	h.subscriptionAction(w, r, func(id int64) (map[string]any, error) {
		return map[string]any{"paused": false}, h.cfg.PubSub.Resume(r.Context(), h.actor(r), id)
	})
}

func (h *Handlers) redeliverSubscription(w http.ResponseWriter, r *http.Request) {
	h.subscriptionAction(w, r, func(id int64) (map[string]any, error) {
		n, err := h.cfg.PubSub.RedeliverDead(r.Context(), h.actor(r), id)
		return map[string]any{"queued": n}, err
	})
}

func (h *Handlers) deleteSubscription(w http.ResponseWriter, r *http.Request) {
	force := false
	switch r.URL.Query().Get("force") {
	case "", "false", "0":
	case "true", "1":
		force = true
	default:
		h.fail(w, r, invalid("force must be true or false"))
		return
	}
	h.subscriptionAction(w, r, func(id int64) (map[string]any, error) {
		n, err := h.cfg.PubSub.Unsubscribe(r.Context(), h.actor(r), id, force)
		return map[string]any{"deleted": true, "dropped": n}, err
	})
}
