package gateway

import (
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/platform/search"
	"github.com/congso/congso/internal/web"
)

// Actions an Authorizer is asked about.
const (
	// ActionAdmin: change the registry (members, services, rights, quotas, peers).
	ActionAdmin = "gateway.admin"
	// ActionLogRead: read the message log and export it.
	ActionLogRead = "gateway.log.read"
)

// Authorizer decides whether the person making a request may perform an
// action; the app adapts its identity service to it.
type Authorizer interface {
	Can(r *http.Request, action string) bool
}

// HandlerConfig configures [Handlers].
type HandlerConfig struct {
	Manager *Manager
	DB      *db.DB
	// Runtime, when set, is asked for its revision on the status page.
	Runtime *Runtime
	// PubSub, when set, adds the topic and subscription endpoints.
	PubSub *PubSub
	// Authorizer allows writes and log reads; nil denies them.
	Authorizer Authorizer
	// Actor names who makes the request ("" means nobody is signed in).
	Actor func(r *http.Request) string
	// Shell renders the admin pages; nil serves the JSON API only.
	Shell *web.Shell
	Now   func() time.Time
}

// Handlers serves the registry's JSON API under /api/v1/gateway and the
// admin pages under /admin/gateway.
type Handlers struct {
	cfg   HandlerConfig
	pages map[string]*template.Template
}

// NewHandlers returns the handlers.
func NewHandlers(cfg HandlerConfig) (*Handlers, error) {
	if cfg.Manager == nil || cfg.DB == nil {
		return nil, errors.New("gateway: NewHandlers needs a Manager and a DB")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handlers{cfg: cfg}
	if cfg.Shell != nil {
		pages, err := cfg.Shell.Pages(templateFS, "templates/*.html", pageFuncs())
		if err != nil {
			return nil, fmt.Errorf("gateway: parse pages: %w", err)
		}
		h.pages = pages
	}
	return h, nil
}

// Routes registers the JSON API and, with a Shell, the pages.
//
//	GET    /api/v1/gateway/registry            gateway.admin   whole registry
//	GET    /api/v1/gateway/services?q=         an official     service catalog search
//	POST   /api/v1/gateway/members             gateway.admin   upsert
//	POST   /api/v1/gateway/subsystems          gateway.admin   upsert
//	POST   /api/v1/gateway/certificates        gateway.admin   bind a certificate
//	DELETE /api/v1/gateway/certificates/{fp}   gateway.admin
//	POST   /api/v1/gateway/services            gateway.admin   upsert description and policy
//	POST   /api/v1/gateway/versions            gateway.admin   upsert a version (draft)
//	POST   /api/v1/gateway/versions/status     gateway.admin   lifecycle move
//	POST   /api/v1/gateway/groups              gateway.admin
//	POST   /api/v1/gateway/rights              gateway.admin   grant
//	DELETE /api/v1/gateway/rights/{id}         gateway.admin   revoke
//	POST   /api/v1/gateway/quotas              gateway.admin
//	POST   /api/v1/gateway/peers               gateway.admin
//	DELETE /api/v1/gateway/members/{id...}     gateway.admin   remove (409 while it has subsystems)
//	DELETE /api/v1/gateway/subsystems/{id...}  gateway.admin   remove (409 while referenced)
//	DELETE /api/v1/gateway/services/{id...}    gateway.admin   remove with its draft/retired versions
//	DELETE /api/v1/gateway/versions/{id...}    gateway.admin   remove a draft or retired version
//	DELETE /api/v1/gateway/groups/{code}       gateway.admin   remove (409 while rights name it)
//	DELETE /api/v1/gateway/peers/{instance}    gateway.admin   remove (409 while certificates bind it)
//	GET    /api/v1/gateway/messages?issue=&client=&service=&from=&to=   gateway.log.read
//	GET    /api/v1/gateway/messages/export     gateway.log.read   verifiable archive
//	GET    /api/v1/gateway/status              gateway.admin   per-service health
//	POST   /api/v1/gateway/topics              gateway.admin   (with PubSub)
//	POST   /api/v1/gateway/subscriptions       gateway.admin   returns the HMAC secret once
//	GET    /api/v1/gateway/dead-letters        gateway.admin
//	POST   /api/v1/gateway/dead-letters/{id}/retry            gateway.admin
//	POST   /api/v1/gateway/subscriptions/{id}/replay?since=   gateway.admin
//
// The pages (with a Shell): /gateway/catalog; /admin/gateway (access
// rights), /admin/gateway/members (and subsystems), /certificates,
// /services (versions and their status), /quotas, /peers, /status and
// /messages, each registry page with its POST forms (see registryui.go).
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/gateway/registry", h.admin(h.getRegistry))
	mux.HandleFunc("GET /api/v1/gateway/services", h.listServices)
	mux.HandleFunc("POST /api/v1/gateway/members", h.admin(h.postMember))
	mux.HandleFunc("POST /api/v1/gateway/subsystems", h.admin(h.postSubsystem))
	mux.HandleFunc("POST /api/v1/gateway/certificates", h.admin(h.postCertificate))
	mux.HandleFunc("DELETE /api/v1/gateway/certificates/{fp}", h.admin(h.deleteCertificate))
	mux.HandleFunc("POST /api/v1/gateway/services", h.admin(h.postService))
	mux.HandleFunc("POST /api/v1/gateway/versions", h.admin(h.postVersion))
	mux.HandleFunc("POST /api/v1/gateway/versions/status", h.admin(h.postStatus))
	mux.HandleFunc("POST /api/v1/gateway/groups", h.admin(h.postGroup))
	mux.HandleFunc("POST /api/v1/gateway/rights", h.admin(h.postRight))
	mux.HandleFunc("DELETE /api/v1/gateway/rights/{id}", h.admin(h.deleteRight))
	mux.HandleFunc("POST /api/v1/gateway/quotas", h.admin(h.postQuota))
	mux.HandleFunc("POST /api/v1/gateway/peers", h.admin(h.postPeer))
	mux.HandleFunc("DELETE /api/v1/gateway/members/{id...}", h.admin(h.deleteEntry(EntryMember)))
	mux.HandleFunc("DELETE /api/v1/gateway/subsystems/{id...}", h.admin(h.deleteEntry(EntrySubsystem)))
	mux.HandleFunc("DELETE /api/v1/gateway/services/{id...}", h.admin(h.deleteEntry(EntryService)))
	mux.HandleFunc("DELETE /api/v1/gateway/versions/{id...}", h.admin(h.deleteEntry(EntryVersion)))
	mux.HandleFunc("DELETE /api/v1/gateway/groups/{id}", h.admin(h.deleteEntry(EntryGroup)))
	mux.HandleFunc("DELETE /api/v1/gateway/peers/{id}", h.admin(h.deleteEntry(EntryPeer)))
	mux.HandleFunc("GET /api/v1/gateway/messages", h.allow(ActionLogRead, h.getMessages))
	mux.HandleFunc("GET /api/v1/gateway/messages/export", h.allow(ActionLogRead, h.exportMessages))
	mux.HandleFunc("GET /api/v1/gateway/status", h.admin(h.getStatus))
	if h.cfg.PubSub != nil {
		mux.HandleFunc("POST /api/v1/gateway/topics", h.admin(h.postTopic))
		mux.HandleFunc("POST /api/v1/gateway/subscriptions", h.admin(h.postSubscription))
		mux.HandleFunc("GET /api/v1/gateway/dead-letters", h.admin(h.getDeadLetters))
		mux.HandleFunc("POST /api/v1/gateway/dead-letters/{id}/retry", h.admin(h.retryDeadLetter))
		mux.HandleFunc("POST /api/v1/gateway/subscriptions/{id}/replay", h.admin(h.replay))
	}
	if h.pages != nil {
		h.pageRoutes(mux)
	}
	h.pubsubAPIRoutes(mux)
}

func (h *Handlers) postTopic(w http.ResponseWriter, r *http.Request) {
	b, ok := decode[Topic](w, r)
	if !ok {
		return
	}
	h.respond(w, r, h.cfg.PubSub.PutTopicBy(r.Context(), h.actor(r), b), b)
}

func (h *Handlers) postSubscription(w http.ResponseWriter, r *http.Request) {
	b, ok := decode[Subscription](w, r)
	if !ok {
		return
	}
	b.ID, b.Secret = 0, ""
	s, err := h.cfg.PubSub.SubscribeBy(r.Context(), h.actor(r), b)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, s)
}

// deadLetterPage is the default and the most dead letters one API call
// returns.
const deadLetterPage, maxDeadLetterPage = 500, 5000

// getDeadLetters lists dead letters, oldest first, a page at a time:
// ?subscription=ID (default all), ?after=DELIVERY (the next_after of the
// previous page), ?limit=N (500, at most 5,000).
func (h *Handlers) getDeadLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	num := func(name string, def int64) (int64, bool) {
		s := q.Get(name)
		if s == "" {
			return def, true
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n >= 0
	}
	sub, ok1 := num("subscription", 0)
	after, ok2 := num("after", 0)
	limit, ok3 := num("limit", deadLetterPage)
	if !ok1 || !ok2 || !ok3 || limit == 0 || limit > maxDeadLetterPage {
		h.fail(w, r, fmt.Errorf("%w: subscription and after are non-negative integers, limit 1 to %d", ErrInvalid, maxDeadLetterPage))
		return
	}
	out, err := h.cfg.PubSub.DeadLettersAfter(r.Context(), sub, after, int(limit)+1)
	resp := map[string]any{}
	if len(out) > int(limit) {
		out = out[:limit]
		resp["next_after"] = out[len(out)-1].DeliveryID
	}
	if out == nil {
		out = []DeadLetter{}
	}
	resp["items"] = out
	h.respond(w, r, err, resp)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: id %q", ErrNotFound, r.PathValue("id"))
	}
	return id, nil
}

func (h *Handlers) retryDeadLetter(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = h.cfg.PubSub.RetryBy(r.Context(), h.actor(r), id)
	}
	h.respond(w, r, err, map[string]int64{"retried": id})
}

func (h *Handlers) replay(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	var since time.Time
	if err == nil {
		since, err = time.Parse(time.RFC3339, r.URL.Query().Get("since"))
		if err != nil {
			err = fmt.Errorf("%w: since must be an RFC 3339 time", ErrInvalid)
		}
	}
	var n int64
	if err == nil {
		n, err = h.cfg.PubSub.ReplayBy(r.Context(), h.actor(r), id, since)
	}
	if err != nil {
		h.pubsubFail(w, r, err)
		return
	}
	h.respond(w, r, nil, map[string]int64{"queued": n})
}

func (h *Handlers) actor(r *http.Request) string {
	if h.cfg.Actor != nil {
		return h.cfg.Actor(r)
	}
	if h.cfg.Shell != nil && h.cfg.Shell.CurrentUser != nil {
		if u := h.cfg.Shell.CurrentUser(r); u != nil {
			return u.ID
		}
	}
	return ""
}

func (h *Handlers) can(r *http.Request, action string) bool {
	return h.cfg.Authorizer != nil && h.cfg.Authorizer.Can(r, action)
}

func (h *Handlers) allow(action string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.actor(r) == "" {
			httpx.Error(w, r, httpx.Unauthorized(""))
			return
		}
		if !h.can(r, action) {
			httpx.Error(w, r, httpx.Forbidden("gateway.forbidden", "action", action))
			return
		}
		next(w, r)
	}
}

func (h *Handlers) admin(next http.HandlerFunc) http.HandlerFunc { return h.allow(ActionAdmin, next) }

// fail maps registry errors to problems.
func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	msg := err.Error()
	if i := strings.Index(msg, "gateway: "); i >= 0 {
		msg = msg[i+len("gateway: "):]
	}
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrBadIdentifier):
		httpx.Error(w, r, &httpx.Err{Status: http.StatusUnprocessableEntity, Code: "gateway.invalid", Args: []any{"problem", msg}})
	case errors.Is(err, ErrLifecycle):
		httpx.Error(w, r, httpx.Conflict("gateway.lifecycle", "problem", msg))
	case errors.Is(err, ErrNotFound):
		httpx.Error(w, r, httpx.NotFound("gateway.not_found", "problem", msg))
	case errors.Is(err, ErrExists):
		httpx.Error(w, r, httpx.Conflict("gateway.exists", "problem", msg))
	default:
		httpx.Error(w, r, err)
	}
}

func (h *Handlers) getRegistry(w http.ResponseWriter, r *http.Request) {
	reg, err := h.cfg.Manager.Store().Load(r.Context())
	h.respond(w, r, err, reg)
}

// CatalogEntry is a service as agency developers see it in the catalog.
type CatalogEntry struct {
	ID          string    `json:"id"`
	Kind        Kind      `json:"kind"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Provider    string    `json:"provider"`
	Versions    []Version `json:"versions"`
}

// Catalog returns the services matching q (diacritics ignored), without
// drafts and retired versions' documents.
func (h *Handlers) Catalog(r *http.Request, q string) ([]CatalogEntry, error) {
	reg, err := h.cfg.Manager.Store().Load(r.Context())
	if err != nil {
		return nil, err
	}
	terms := search.Terms(q)
	names := map[string]string{}
	for _, m := range reg.Members {
		names[m.ID.String()] = m.Name
	}
	var out []CatalogEntry
	for _, s := range reg.Services {
		provider := names[s.ID.Provider.MemberID().String()]
		text := search.Fold(s.ID.String() + " " + s.Title + " " + s.Description + " " + provider)
		match := true
		for _, t := range terms {
			if !strings.Contains(text, t) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		e := CatalogEntry{ID: s.ID.String(), Kind: s.Kind, Title: s.Title, Description: s.Description, Provider: provider}
		for _, v := range s.Versions {
			if v.Status == Published || v.Status == Deprecated {
				v.BackendURL = "" // internal addresses stay internal
				e.Versions = append(e.Versions, v)
			}
		}
		if len(e.Versions) > 0 {
			out = append(out, e)
		}
	}
	return out, nil
}

func (h *Handlers) listServices(w http.ResponseWriter, r *http.Request) {
	if h.actor(r) == "" {
		httpx.Error(w, r, httpx.Unauthorized(""))
		return
	}
	if !h.official(r) {
		httpx.Error(w, r, httpx.Forbidden(""))
		return
	}
	out, err := h.Catalog(r, r.URL.Query().Get("q"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if out == nil {
		out = []CatalogEntry{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
}

// decode reads a JSON body into dst and parses identifiers named in ids.
func decode[T any](w http.ResponseWriter, r *http.Request) (T, bool) {
	var v T
	if err := httpx.DecodeJSON(w, r, &v); err != nil {
		httpx.Error(w, r, err)
		return v, false
	}
	return v, true
}

func (h *Handlers) respond(w http.ResponseWriter, r *http.Request, err error, v any) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, v)
}

type memberBody struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	AgencyEID string `json:"agency_eid"`
}

func (h *Handlers) postMember(w http.ResponseWriter, r *http.Request) {
	b, ok := decode[memberBody](w, r)
	if !ok {
		return
	}
	id, err := ParseClientID(b.ID)
	if err == nil {
		err = h.cfg.Manager.PutMember(r.Context(), h.actor(r), Member{ID: id, Name: b.Name, AgencyEID: b.AgencyEID})
	}
	h.respond(w, r, err, b)
}

type subsystemBody struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (h *Handlers) postSubsystem(w http.ResponseWriter, r *http.Request) {
	b, ok := decode[subsystemBody](w, r)
	if !ok {
		return
	}
	id, err := ParseSubsystemID(b.ID)
	if err == nil {
		err = h.cfg.Manager.PutSubsystem(r.Context(), h.actor(r), Subsystem{ID: id, Name: b.Name})
	}
	h.respond(w, r, err, b)
}

func (h *Handlers) postCertificate(w http.ResponseWriter, r *http.Request) {
	b, ok := decode[Certificate](w, r)
	if !ok {
		return
	}
	h.respond(w, r, h.cfg.Manager.PutCertificate(r.Context(), h.actor(r), b), b)
}

func (h *Handlers) deleteCertificate(w http.ResponseWriter, r *http.Request) {
	err := h.cfg.Manager.DeleteCertificate(r.Context(), h.actor(r), r.PathValue("fp"))
	h.respond(w, r, err, map[string]string{"deleted": r.PathValue("fp")})
}

type serviceBody struct {
	ID           string     `json:"id"`
	Kind         Kind       `json:"kind"`
	Title        string     `json:"title"`
	Description  string     `json:"description"`
	TimeoutMS    int64      `json:"timeout_ms"`
	MaxBodyBytes int64      `json:"max_body_bytes"`
	LogBodies    bool       `json:"log_bodies"`
	Redact       []string   `json:"redact"`
	FailPolicy   FailPolicy `json:"fail_policy"`
}

func (h *Handlers) postService(w http.ResponseWriter, r *http.Request) {
	b, ok := decode[serviceBody](w, r)
	if !ok {
		return
	}
	id, err := ParseServiceID(b.ID)
	if err == nil {
		err = h.cfg.Manager.PutService(r.Context(), h.actor(r), Service{ID: id.Unversioned(), Kind: b.Kind, Title: b.Title, Description: b.Description,
			Timeout: time.Duration(b.TimeoutMS) * time.Millisecond, MaxBodyBytes: b.MaxBodyBytes, LogBodies: b.LogBodies, Redact: b.Redact, FailPolicy: b.FailPolicy})
	}
	h.respond(w, r, err, b)
}

type versionBody struct {
	// Service is the versioned identifier, …/SERVICE/v1.
	Service    string     `json:"service"`
	BackendURL string     `json:"backend_url,omitempty"`
	Spec       string     `json:"spec,omitempty"`
	Status     Status     `json:"status,omitempty"`
	SunsetAt   *time.Time `json:"sunset_at,omitempty"`
}

func (h *Handlers) postVersion(w http.ResponseWriter, r *http.Request) {
	b, ok := decode[versionBody](w, r)
	if !ok {
		return
	}
	id, err := ParseServiceID(b.Service)
	if err == nil {
		err = h.cfg.Manager.PutVersion(r.Context(), h.actor(r), id, Version{BackendURL: b.BackendURL, Spec: b.Spec})
	}
	b.Spec = ""
	h.respond(w, r, err, b)
}

func (h *Handlers) postStatus(w http.ResponseWriter, r *http.Request) {
	b, ok := decode[versionBody](w, r)
	if !ok {
		return
	}
	id, err := ParseServiceID(b.Service)
	if err == nil && id.Version == "" {
		err = fmt.Errorf("%w: service must name a version", ErrInvalid)
	}
	if err == nil {
		err = h.cfg.Manager.SetStatus(r.Context(), h.actor(r), id, b.Status, b.SunsetAt)
	}
	h.respond(w, r, err, b)
}

type groupBody struct {
	Code    string   `json:"code"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

func (h *Handlers) postGroup(w http.ResponseWriter, r *http.Request) {
	b, ok := decode[groupBody](w, r)
	if !ok {
		return
	}
	g := Group{Code: b.Code, Name: b.Name}
	var err error
	for _, m := range b.Members {
		var c ClientID
		if c, err = ParseSubsystemID(m); err != nil {
			break
		}
		g.Members = append(g.Members, c)
	}
	if err == nil {
		err = h.cfg.Manager.PutGroup(r.Context(), h.actor(r), g)
	}
	h.respond(w, r, err, b)
}

type rightBody struct {
	Client     string     `json:"client"`
	Service    string     `json:"service"`
	Method     string     `json:"method"`
	Path       string     `json:"path"`
	ValidFrom  *time.Time `json:"valid_from"`
	ValidUntil *time.Time `json:"valid_until"`
	LegalBasis string     `json:"legal_basis"`
}

func (h *Handlers) postRight(w http.ResponseWriter, r *http.Request) {
	b, ok := decode[rightBody](w, r)
	if !ok {
		return
	}
	id, err := ParseServiceID(b.Service)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a := AccessRight{Client: b.Client, Service: id, Method: b.Method, Path: b.Path, ValidUntil: b.ValidUntil, LegalBasis: b.LegalBasis}
	if b.ValidFrom != nil {
		a.ValidFrom = *b.ValidFrom
	}
	a, err = h.cfg.Manager.Grant(r.Context(), h.actor(r), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, a)
}

func (h *Handlers) deleteRight(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		httpx.Error(w, r, httpx.NotFound("gateway.not_found", "problem", "right "+r.PathValue("id")))
		return
	}
	h.respond(w, r, h.cfg.Manager.Revoke(r.Context(), h.actor(r), id), map[string]int64{"revoked": id})
}

type quotaBody struct {
	Client        string `json:"client"`
	Service       string `json:"service"`
	RatePerSecond int64  `json:"rate_per_second"`
	Daily         int64  `json:"daily"`
	MaxConcurrent int64  `json:"max_concurrent"`
}

func (h *Handlers) postQuota(w http.ResponseWriter, r *http.Request) {
	b, ok := decode[quotaBody](w, r)
	if !ok {
		return
	}
	c, err := ParseSubsystemID(b.Client)
	var s ServiceID
	if err == nil {
		s, err = ParseServiceID(b.Service)
	}
	if err == nil {
		err = h.cfg.Manager.PutQuota(r.Context(), h.actor(r), Quota{Client: c, Service: s, RatePerSecond: b.RatePerSecond, Daily: b.Daily, MaxConcurrent: b.MaxConcurrent})
	}
	h.respond(w, r, err, b)
}

// deleteEntry removes a registry entry: 200 {"deleted": id}, 404 if
// unknown, 409 with what still refers to it (see [Manager.DeleteMember]).
func (h *Handlers) deleteEntry(kind EntryKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		err := h.cfg.Manager.Remove(r.Context(), h.actor(r), kind, id)
		if err == nil {
			httpx.WriteJSON(w, http.StatusOK, map[string]string{"deleted": id})
			return
		}
		switch {
		case writeInUse(w, r, err):
		case errors.Is(err, ErrInUse):
			httpx.Error(w, r, &httpx.Err{Status: http.StatusConflict, Code: "gateway.in_use", Key: "gateway.reg.delete.in_use",
				Args: []any{"entry", i18n.Key("gateway.reg.entry." + string(kind)), "id", id, "refs", i18n.Key("gateway.reg.ref.other_entries")}})
		case errors.Is(err, ErrNotFound):
			httpx.Error(w, r, &httpx.Err{Status: http.StatusNotFound, Code: "gateway.not_found", Key: "gateway.reg.delete.not_found",
				Args: []any{"entry", i18n.Key("gateway.reg.entry." + string(kind)), "id", id}})
		default:
			h.fail(w, r, err)
		}
	}
}

// writeInUse answers 409 with what still refers to the entry when err is
// an [*InUseError], and reports whether it did.
func writeInUse(w http.ResponseWriter, r *http.Request, err error) bool {
	var inUse *InUseError
	if !errors.As(err, &inUse) {
		return false
	}
	key, args := inUseText(i18n.FromRequest(r), inUse)
	httpx.Error(w, r, &httpx.Err{Status: http.StatusConflict, Code: "gateway.in_use", Key: key, Args: args})
	return true
}

// inUseText returns the message key and arguments that say, in lang, why
// an entry cannot be removed yet.
func inUseText(lang i18n.Lang, e *InUseError) (string, []any) {
	entry := i18n.Key("gateway.reg.entry." + string(e.Kind))
	if e.Status != "" {
		return "gateway.reg.delete.live", []any{"entry", entry, "id", e.ID, "status", i18n.Key("gateway.status." + string(e.Status))}
	}
	return "gateway.reg.delete.in_use", []any{"entry", entry, "id", e.ID, "refs", strings.Join(refTexts(lang, e.Refs), ", ")}
}

// refTexts renders each reference count in lang ("2 quyền truy cập").
func refTexts(lang i18n.Lang, refs []Ref) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = i18n.T(lang, refKey(r), "count", r.Count)
	}
	return out
}

func refKey(r Ref) string {
	if r.Count == 1 {
		return "gateway.reg.ref." + string(r.Kind) + ".one"
	}
	return "gateway.reg.ref." + string(r.Kind) + ".other"
}

func (h *Handlers) postPeer(w http.ResponseWriter, r *http.Request) {
	b, ok := decode[Peer](w, r)
	if !ok {
		return
	}
	h.respond(w, r, h.cfg.Manager.PutPeer(r.Context(), h.actor(r), b), b)
}

// parseFilter reads the message-log search of a query string.
func parseFilter(r *http.Request) (Filter, error) {
	q := r.URL.Query()
	f := Filter{Issue: strings.TrimSpace(q.Get("issue")), Client: strings.TrimSpace(q.Get("client")), Service: strings.TrimSpace(q.Get("service"))}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if s := q.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				if t, err = time.ParseInLocation("2006-01-02T15:04", s, web.Location); err != nil {
					if t, err = time.ParseInLocation("2006-01-02", s, web.Location); err != nil {
						return f, fmt.Errorf("%w: %s must be a date or an RFC 3339 time", ErrInvalid, p.name)
					}
				}
			}
			*p.dst = t
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return f, fmt.Errorf("%w: limit must be 1 to 1000", ErrInvalid)
		}
		f.Limit = n
	}
	return f, nil
}

func (h *Handlers) getMessages(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	recs, err := Search(r.Context(), h.cfg.DB, f)
	if recs == nil {
		recs = []Record{}
	}
	h.respond(w, r, err, map[string]any{"items": recs})
}

func (h *Handlers) exportMessages(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="congso-msglog.jsonl"`)
	if err := Export(r.Context(), h.cfg.DB, w); err != nil {
		httpx.Logger(r.Context()).ErrorContext(r.Context(), "gateway: export message log", "err", err)
	}
}

func (h *Handlers) getStatus(w http.ResponseWriter, r *http.Request) {
	st, err := ServiceStatus(r.Context(), h.cfg.DB, h.cfg.Now().Add(-time.Hour))
	if st == nil {
		st = []Stat{}
	}
	nodes, stamp, nerr := h.nodesAndStamp(r)
	h.respond(w, r, errors.Join(err, nerr), map[string]any{"since_minutes": 60, "items": st, "nodes": nodes, "time_stamping": stamp,
		"journal": h.journalStatus()})
}

//go:embed openapi.json
var openapiFragment []byte

// OpenAPIFragment returns the OpenAPI 3.1 fragment of the management API,
// for the app to merge into its document.
func OpenAPIFragment() []byte { return append([]byte(nil), openapiFragment...) }
