package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

// The pub/sub page (/admin/gateway/pubsub) shows the topics, the live
// subscriptions with their delivery counters and the dead letters, and
// changes them with forms that work without JavaScript: POST, then a
// redirect with a flash message, or the page again (422, 409) with each
// error next to its field. Subscribing is the exception: the page comes back
// at once showing the HMAC secret, which is never shown again. Every change
// goes through PubSub, which audits it.

// pubsubDeadLimit bounds the dead letters listed on the page.
const pubsubDeadLimit = 200

// pubsubView is the data of the pub/sub page.
type pubsubView struct {
	Enabled bool
	Topics  []TopicInfo
	Subs    []SubscriptionStatus
	Dead    []DeadLetter
	// DeadFor is the subscription whose dead letters are listed (0: all);
	// DeadAfter the delivery after which the list begins (a later page);
	// DeadMore says the list was cut at pubsubDeadLimit, DeadNext is then
	// where the next page begins.
	DeadFor   int64
	DeadAfter int64
	DeadMore  bool
	DeadNext  int64
	DeadLimit int
	// Fields are the forms' fields (key FORM.NAME) with values and errors.
	Fields map[string]regField
	// Summary lists the errors of the submitted form, linking to the fields.
	Summary []regError
	// Secret is the subscription just made, or whose secret was just
	// replaced (Rotated), shown once.
	Secret  *Subscription
	Rotated bool
	// RowErr is the refusal of an action on one subscription (delete).
	RowErr map[int64]string
	// ReplaySub is the subscription chosen in the replay form.
	ReplaySub int64
}

// pubsubFields lists each form's fields and types, in order.
var pubsubFields = map[string][][2]string{
	"topic":     {{"code", "text"}, {"owner", "text"}, {"title", "text"}},
	"subscribe": {{"topic", "select"}, {"subscriber", "text"}, {"url", "url"}},
	"replay":    {{"subscription", "select"}, {"since", "datetime-local"}},
}

func (h *Handlers) pubsubPageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/gateway/pubsub", h.pubsubPage)
	mux.HandleFunc("POST /admin/gateway/pubsub/topics", h.pubsubTopicForm)
	mux.HandleFunc("POST /admin/gateway/pubsub/subscriptions", h.pubsubSubscribeForm)
	mux.HandleFunc("POST /admin/gateway/pubsub/replay", h.pubsubReplayForm)
	mux.HandleFunc("POST /admin/gateway/pubsub/subscriptions/{id}/pause", h.pubsubSubAction("pause"))
	mux.HandleFunc("POST /admin/gateway/pubsub/subscriptions/{id}/resume", h.pubsubSubAction("resume"))
	mux.HandleFunc("POST /admin/gateway/pubsub/subscriptions/{id}/redeliver", h.pubsubSubAction("redeliver"))
	mux.HandleFunc("POST /admin/gateway/pubsub/subscriptions/{id}/delete", h.pubsubSubAction("delete"))
	mux.HandleFunc("POST /admin/gateway/pubsub/dead-letters/{id}/redeliver", h.pubsubRetryForm)
	mux.HandleFunc("POST /admin/gateway/pubsub/topics/{code}/delete", h.pubsubTopicDelete)
	mux.HandleFunc("POST /admin/gateway/pubsub/subscriptions/{id}/secret", h.pubsubRotateSecret)
}

func (h *Handlers) pubsubPage(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	v := pubsubView{}
	if s := r.URL.Query().Get("subscription"); s != "" {
		v.DeadFor, _ = strconv.ParseInt(s, 10, 64)
	}
	if s := r.URL.Query().Get("after"); s != "" {
		v.DeadAfter, _ = strconv.ParseInt(s, 10, 64)
	}
	h.renderPubsub(w, r, http.StatusOK, v, nil)
}

// renderPubsub loads the topics, subscriptions and dead letters into v and
// renders the page; forms holds the submitted form, if any.
func (h *Handlers) renderPubsub(w http.ResponseWriter, r *http.Request, status int, v pubsubView, forms map[string]*regForm) {
	lang := i18n.FromRequest(r)
	v.DeadLimit = pubsubDeadLimit
	if ps := h.cfg.PubSub; ps != nil {
		v.Enabled = true
		var err error
		if v.Topics, err = ps.Topics(r.Context()); err == nil {
			if v.Subs, err = ps.Subscriptions(r.Context(), ""); err == nil {
				v.Dead, err = ps.DeadLettersAfter(r.Context(), v.DeadFor, v.DeadAfter, pubsubDeadLimit+1)
			}
		}
		if err != nil {
			h.pageFail(w, r, err)
			return
		}
		if len(v.Dead) > pubsubDeadLimit {
			v.Dead, v.DeadMore = v.Dead[:pubsubDeadLimit], true
			v.DeadNext = v.Dead[len(v.Dead)-1].DeliveryID
		}
	}
	var topics []string
	for _, t := range v.Topics {
		topics = append(topics, t.Code)
	}
	v.Fields = map[string]regField{}
	for form, fields := range pubsubFields {
		f := forms[form]
		if f == nil {
			f = &regForm{}
		}
		for _, nt := range fields {
			d := pubsubField(lang, form, nt[0], nt[1], f)
			if form == "subscribe" && nt[0] == "topic" {
				d.Options = topics
			}
			v.Fields[form+"."+nt[0]] = d
			if d.Err != "" {
				v.Summary = append(v.Summary, regError{ID: d.ID, Msg: d.Err})
			}
		}
	}
	if f := forms["replay"]; f != nil {
		v.ReplaySub, _ = strconv.ParseInt(f.V["subscription"], 10, 64)
	}
	for id, msg := range v.RowErr {
		v.Summary = append(v.Summary, regError{ID: "del-" + strconv.FormatInt(id, 10) + "-force", Msg: msg})
	}
	h.cfg.Shell.Render(w, r, h.pages["pubsub"], status, v)
}

// pubsubField builds a field as regFieldArgs does, with its label
// gateway.pubsub.f.FORM.NAME and optional hint ….hint.
func pubsubField(lang i18n.Lang, form, name, typ string, f *regForm) regField {
	d := regField{View: web.View{Lang: lang}, ID: fieldID(form, name), Name: name, Type: typ,
		Label: "gateway.pubsub.f." + form + "." + name, Value: f.V[name], Err: f.E[name]}
	if i18n.Has(d.Label + ".hint") {
		d.Hint = d.Label + ".hint"
	}
	var ids []string
	if d.Hint != "" {
		ids = append(ids, d.ID+"-hint")
	}
	if d.Err != "" {
		ids = append(ids, d.ID+"-err")
	}
	d.Describedby = strings.Join(ids, " ")
	return d
}

// pubsubSubmit reads form's fields, runs apply, and on success sets flash
// and redirects to the page; otherwise it shows the page again (422) with
// the error next to the field it names (notFound for ErrNotFound and
// ErrExists).
func (h *Handlers) pubsubSubmit(w http.ResponseWriter, r *http.Request, form, notFound string, apply func(v map[string]string) (flash string, err error)) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	if h.cfg.PubSub == nil {
		h.errorPage(w, r, http.StatusNotFound)
		return
	}
	v := map[string]string{}
	var order []string
	for _, nt := range pubsubFields[form] {
		v[nt[0]] = strings.TrimSpace(r.PostFormValue(nt[0]))
		order = append(order, nt[0])
	}
	flash, err := apply(v)
	if err == nil {
		web.SetFlash(w, flash)
		http.Redirect(w, r, "/admin/gateway/pubsub#"+form+"-h", http.StatusSeeOther)
		return
	}
	errs, ok := h.pubsubFieldError(r, form, notFound, order, err)
	if !ok {
		h.pageFail(w, r, err)
		return
	}
	h.renderPubsub(w, r, http.StatusUnprocessableEntity, pubsubView{}, map[string]*regForm{form: {V: v, E: errs, order: order}})
}

// pubsubFieldError puts err next to the field it blames, in the request's
// language; false if err is not the user's.
func (h *Handlers) pubsubFieldError(r *http.Request, form, notFound string, fields []string, err error) (map[string]string, bool) {
	lang := i18n.FromRequest(r)
	var fe *FieldError
	var tooMany *ReplayTooLargeError
	switch {
	case errors.As(err, &tooMany):
		return map[string]string{"since": i18n.T(lang, "gateway.pubsub.invalid.replay.too_many", "count", tooMany.Count, "max", tooMany.Max)}, true
	case errors.As(err, &fe):
		field := fe.Field
		if !slices.Contains(fields, field) {
			field = fields[0]
		}
		key := "gateway.pubsub.invalid." + form + "." + fe.Field + "." + fe.Reason
		if fe.Reason == "" || !i18n.Has(key) {
			key = "gateway.pubsub.invalid." + form + "." + fe.Field
		}
		if !i18n.Has(key) {
			key = "gateway.pubsub.invalid." + fe.Field
		}
		if !i18n.Has(key) {
			key = "gateway.invalid.other"
		}
		return map[string]string{field: i18n.T(lang, key)}, true
	case errors.Is(err, ErrNotFound):
		return map[string]string{notFound: i18n.T(lang, orKey("gateway.pubsub.invalid."+form+".not_found", "gateway.invalid.not_found"))}, true
	case errors.Is(err, ErrExists):
		return map[string]string{notFound: i18n.T(lang, orKey("gateway.pubsub.invalid."+form+".exists", "gateway.invalid.exists"))}, true
	}
	return nil, false
}

// orKey is key if the catalogs have it, else fallback.
func orKey(key, fallback string) string {
	if i18n.Has(key) {
		return key
	}
	return fallback
}

func (h *Handlers) pubsubTopicForm(w http.ResponseWriter, r *http.Request) {
	h.pubsubSubmit(w, r, "topic", "code", func(v map[string]string) (string, error) {
		return "gateway.pubsub.flash.topic", h.cfg.PubSub.PutTopicBy(r.Context(), h.actor(r), Topic{Code: v["code"], Owner: v["owner"], Title: v["title"]})
	})
}

// pubsubSubscribeForm subscribes and shows the page with the secret (not a
// redirect: the secret is shown this once).
func (h *Handlers) pubsubSubscribeForm(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	if h.cfg.PubSub == nil {
		h.errorPage(w, r, http.StatusNotFound)
		return
	}
	const form = "subscribe"
	v := map[string]string{}
	order := []string{"topic", "subscriber", "url"}
	for _, f := range order {
		v[f] = strings.TrimSpace(r.PostFormValue(f))
	}
	s, err := h.cfg.PubSub.SubscribeBy(r.Context(), h.actor(r), Subscription{Topic: v["topic"], Subscriber: v["subscriber"], URL: v["url"]})
	if err == nil {
		h.renderPubsub(w, r, http.StatusCreated, pubsubView{Secret: &s}, nil)
		return
	}
	notFound := "topic"
	if errors.Is(err, ErrExists) {
		notFound = "url"
	}
	errs, ok := h.pubsubFieldError(r, form, notFound, order, err)
	if !ok {
		h.pageFail(w, r, err)
		return
	}
	h.renderPubsub(w, r, http.StatusUnprocessableEntity, pubsubView{}, map[string]*regForm{form: {V: v, E: errs, order: order}})
}

// parseLocalTime reads a date-time typed in a form (Vietnam time, as a
// datetime-local field sends it), a date, or an RFC 3339 time.
func parseLocalTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(l, s, web.Location); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date-time", s)
}

func (h *Handlers) pubsubReplayForm(w http.ResponseWriter, r *http.Request) {
	h.pubsubSubmit(w, r, "replay", "subscription", func(v map[string]string) (string, error) {
		id, err := strconv.ParseInt(v["subscription"], 10, 64)
		if err != nil || id <= 0 {
			return "", &FieldError{Field: "subscription", Msg: "choose a subscription"}
		}
		since, err := parseLocalTime(v["since"])
		if err != nil {
			return "", &FieldError{Field: "since", Msg: err.Error()}
		}
		n, err := h.cfg.PubSub.ReplayBy(r.Context(), h.actor(r), id, since)
		if n == 0 {
			return "gateway.pubsub.flash.replay_none", err
		}
		return "gateway.pubsub.flash.replayed", err
	})
}

// pubsubSubAction serves the buttons of a subscription's row: pause,
// resume, redeliver (its dead letters) and delete (refused, with the
// reason next to the "force" box, while events are undelivered).
func (h *Handlers) pubsubSubAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := h.pubsubTarget(w, r)
		if !ok {
			return
		}
		var err error
		ctx, actor, ps := r.Context(), h.actor(r), h.cfg.PubSub
		flash := "gateway.pubsub.flash." + action
		switch action {
		case "pause":
			err = ps.Pause(ctx, actor, id)
		case "resume":
			err = ps.Resume(ctx, actor, id)
		case "redeliver":
			var n int64
			if n, err = ps.RedeliverDead(ctx, actor, id); n == 0 {
				flash = "gateway.pubsub.flash.nothing"
			}
		case "delete":
			_, err = ps.Unsubscribe(ctx, actor, id, r.PostFormValue("force") != "")
		}
		var ue *UndeliveredError
		switch {
		case err == nil:
		case errors.As(err, &ue):
			msg := i18n.T(i18n.FromRequest(r), "gateway.pubsub.invalid.undelivered", "id", id, "count", ue.Count)
			h.renderPubsub(w, r, http.StatusConflict, pubsubView{RowErr: map[int64]string{id: msg}}, nil)
			return
		case errors.Is(err, ErrNotFound):
			flash = "gateway.pubsub.flash.gone"
		default:
			h.pageFail(w, r, err)
			return
		}
		web.SetFlash(w, flash)
		http.Redirect(w, r, "/admin/gateway/pubsub#subs-h", http.StatusSeeOther)
	}
}

// pubsubTarget checks a pub/sub action's caller (a gateway admin) and reads
// the subscription or delivery ID of its path; ok false means it answered.
func (h *Handlers) pubsubTarget(w http.ResponseWriter, r *http.Request) (int64, bool) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return 0, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || h.cfg.PubSub == nil {
		h.errorPage(w, r, http.StatusNotFound)
		return 0, false
	}
	return id, true
}

// pubsubRotateSecret replaces a subscription's secret and shows the new
// one, once.
func (h *Handlers) pubsubRotateSecret(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pubsubTarget(w, r)
	if !ok {
		return
	}
	s, err := h.cfg.PubSub.RotateSecret(r.Context(), h.actor(r), id)
	switch {
	case err == nil:
		h.renderPubsub(w, r, http.StatusOK, pubsubView{Secret: &s, Rotated: true}, nil)
	case errors.Is(err, ErrNotFound):
		web.SetFlash(w, "gateway.pubsub.flash.gone")
		http.Redirect(w, r, "/admin/gateway/pubsub#subs-h", http.StatusSeeOther)
	default:
		h.pageFail(w, r, err)
	}
}

// pubsubTopicDelete removes a topic no live subscription follows; the
// button is shown only for those, so a refusal means one was added
// meanwhile.
func (h *Handlers) pubsubTopicDelete(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	if h.cfg.PubSub == nil {
		h.errorPage(w, r, http.StatusNotFound)
		return
	}
	flash := "gateway.pubsub.flash.topic_deleted"
	switch err := h.cfg.PubSub.DeleteTopic(r.Context(), h.actor(r), r.PathValue("code")); {
	case err == nil:
	case errors.Is(err, ErrInUse):
		flash = "gateway.pubsub.flash.topic_in_use"
	case errors.Is(err, ErrNotFound):
		flash = "gateway.pubsub.flash.gone"
	default:
		h.pageFail(w, r, err)
		return
	}
	web.SetFlash(w, flash)
	http.Redirect(w, r, "/admin/gateway/pubsub#topics-h", http.StatusSeeOther)
}

func (h *Handlers) pubsubRetryForm(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pubsubTarget(w, r)
	if !ok {
		return
	}
	flash := "gateway.pubsub.flash.redeliver"
	switch err := h.cfg.PubSub.RetryBy(r.Context(), h.actor(r), id); {
	case err == nil:
	case errors.Is(err, ErrNotFound):
		flash = "gateway.pubsub.flash.gone"
	default:
		h.pageFail(w, r, err)
		return
	}
	web.SetFlash(w, flash)
	http.Redirect(w, r, "/admin/gateway/pubsub#dead-h", http.StatusSeeOther)
}
