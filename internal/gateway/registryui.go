package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

// The registry pages (/admin/gateway/members, /certificates, /services,
// /quotas, /peers) edit what the JSON API edits, with forms that work
// without JavaScript: POST, then a redirect with a flash message, or the
// page again (422) with each error next to its field. Every change goes
// through the Manager, which validates, audits and bumps the revision.

// regView is the data of a registry page.
type regView struct {
	Page  string
	Reg   *Registry
	Forms map[string]*regForm
	// Summary lists the errors of the submitted form, linking to the fields.
	Summary []regError
}

type regError struct{ ID, Msg string }

// regForm is the state of one form: submitted values and errors by field.
type regForm struct {
	V     map[string]string
	E     map[string]string
	order []string
}

func fieldID(form, name string) string { return form + "-" + strings.ReplaceAll(name, "_", "-") }

// regField is what the "regfield" template needs.
type regField struct {
	View                 web.View
	ID, Name, Value, Err string
	Label, Hint, Type    string
	Options              []string
	OptionPrefix         string
	// Describedby lists the hint and error paragraphs (aria-describedby).
	Describedby string
}

func (v regView) form(name string) *regForm {
	if f := v.Forms[name]; f != nil {
		return f
	}
	return &regForm{}
}

// regFieldArgs builds a field of form: its label is gateway.f.FORM.NAME,
// its optional hint gateway.f.FORM.NAME.hint. typ is text, number, date,
// textarea, checkbox or select:KEYPREFIX:opt1,opt2.
func regFieldArgs(v web.View, form, name, typ string) regField {
	d := regField{View: v, ID: fieldID(form, name), Name: name, Type: typ,
		Label: "gateway.f." + form + "." + name}
	if i18n.Has(d.Label + ".hint") {
		d.Hint = d.Label + ".hint"
	}
	if rest, ok := strings.CutPrefix(typ, "select:"); ok {
		d.Type = "select"
		d.OptionPrefix, rest, _ = strings.Cut(rest, ":")
		d.Options = strings.Split(rest, ",")
	}
	if rv, ok := v.Data.(regView); ok {
		f := rv.form(form)
		d.Value, d.Err = f.V[name], f.E[name]
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

func (h *Handlers) registryRoutes(mux *http.ServeMux) {
	for _, p := range []string{"members", "certificates", "services", "quotas", "peers"} {
		mux.HandleFunc("GET /admin/gateway/"+p, func(w http.ResponseWriter, r *http.Request) {
			if !h.pageAuth(w, r, ActionAdmin) {
				return
			}
			h.renderReg(w, r, http.StatusOK, p, h.prefill(r, p))
		})
	}
	mux.HandleFunc("POST /admin/gateway/members", h.memberForm)
	mux.HandleFunc("POST /admin/gateway/subsystems", h.subsystemForm)
	mux.HandleFunc("POST /admin/gateway/certificates", h.certificateForm)
	mux.HandleFunc("POST /admin/gateway/certificates/delete", h.certificateDelete)
	mux.HandleFunc("POST /admin/gateway/services", h.serviceForm)
	mux.HandleFunc("POST /admin/gateway/versions", h.versionForm)
	mux.HandleFunc("POST /admin/gateway/versions/status", h.statusForm)
	mux.HandleFunc("POST /admin/gateway/quotas", h.quotaForm)
	mux.HandleFunc("POST /admin/gateway/quotas/delete", h.quotaDelete)
	mux.HandleFunc("POST /admin/gateway/peers", h.peerForm)
	mux.HandleFunc("GET /admin/gateway/remove/{kind}", h.removePage)
	mux.HandleFunc("POST /admin/gateway/remove/{kind}", h.removeForm)
}

func (h *Handlers) renderReg(w http.ResponseWriter, r *http.Request, status int, page string, forms map[string]*regForm) {
	reg, err := h.cfg.Manager.Store().Load(r.Context())
	if err != nil {
		h.pageFail(w, r, err)
		return
	}
	v := regView{Page: page, Reg: reg, Forms: forms}
	for form, f := range forms {
		for _, name := range f.order {
			if m := f.E[name]; m != "" {
				v.Summary = append(v.Summary, regError{ID: fieldID(form, name), Msg: m})
			}
		}
	}
	h.cfg.Shell.Render(w, r, h.pages["reg_"+page], status, v)
}

// prefill fills the edit forms from ?edit=ID (member, subsystem, service
// or peer, whichever has that identifier).
func (h *Handlers) prefill(r *http.Request, page string) map[string]*regForm {
	id := r.URL.Query().Get("edit")
	if id == "" {
		return nil
	}
	reg, err := h.cfg.Manager.Store().Load(r.Context())
	if err != nil {
		return nil
	}
	one := func(form string, v map[string]string) map[string]*regForm {
		return map[string]*regForm{form: {V: v}}
	}
	switch page {
	case "members":
		for _, m := range reg.Members {
			if m.ID.String() == id {
				return one("member", map[string]string{"id": id, "name": m.Name, "agency_eid": m.AgencyEID})
			}
		}
		for _, s := range reg.Subsystems {
			if s.ID.String() == id {
				return one("subsystem", map[string]string{"id": id, "name": s.Name})
			}
		}
	case "services":
		for _, s := range reg.Services {
			if s.ID.String() == id {
				v := map[string]string{"id": id, "title": s.Title, "description": s.Description, "kind": string(s.Kind),
					"timeout": strconv.FormatInt(int64(s.Timeout/time.Second), 10), "max_body_bytes": strconv.FormatInt(s.MaxBodyBytes, 10),
					"redact": strings.Join(s.Redact, ", "), "fail_policy": string(s.FailPolicy)}
				if s.LogBodies {
					v["log_bodies"] = "on"
				}
				return one("service", v)
			}
		}
	case "peers":
		for _, p := range reg.Peers {
			if p.Instance == id {
				return one("peer", map[string]string{"instance": p.Instance, "url": p.URL})
			}
		}
	}
	return nil
}

// submit reads fields of form from the request and runs apply. On success it
// sets flash and redirects to page; on a Manager error it shows page again
// with the error next to its field (notFound names the field blamed for
// ErrNotFound and ErrExists).
func (h *Handlers) submit(w http.ResponseWriter, r *http.Request, page, form string, fields []string, notFound string,
	apply func(v map[string]string) error, flash string) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	v := map[string]string{}
	for _, f := range fields {
		v[f] = strings.TrimSpace(r.PostFormValue(f))
	}
	err := apply(v)
	if err == nil {
		web.SetFlash(w, flash)
		http.Redirect(w, r, "/admin/gateway/"+page+"#"+form+"-h", http.StatusSeeOther)
		return
	}
	lang := i18n.FromRequest(r)
	errs := map[string]string{}
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		field := fe.Field
		if !slices.Contains(fields, field) {
			field = fields[0]
		}
		key := "gateway.invalid." + form + "." + fe.Field
		if !i18n.Has(key) {
			key = "gateway.invalid." + fe.Field
		}
		if !i18n.Has(key) {
			key = "gateway.invalid.other"
		}
		errs[field] = i18n.T(lang, key)
	case errors.Is(err, ErrLifecycle):
		errs["status"] = i18n.T(lang, "gateway.invalid.lifecycle")
	case errors.Is(err, ErrNotFound):
		errs[notFound] = i18n.T(lang, "gateway.invalid.not_found")
	case errors.Is(err, ErrExists):
		errs[notFound] = i18n.T(lang, "gateway.invalid.exists")
	default:
		h.pageFail(w, r, err)
		return
	}
	h.renderReg(w, r, http.StatusUnprocessableEntity, page, map[string]*regForm{form: {V: v, E: errs, order: fields}})
}

func parseClient(field, s string) (ClientID, error) {
	c, err := ParseClientID(s)
	if err != nil {
		return c, &FieldError{Field: field, Msg: err.Error()}
	}
	return c, nil
}

func parseService(field, s string, versioned bool) (ServiceID, error) {
	id, err := ParseServiceID(s)
	if err != nil || (versioned && id.Version == "") {
		return id, &FieldError{Field: field, Msg: "service identifier"}
	}
	return id, nil
}

func parseInt(field, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, &FieldError{Field: field, Msg: "not a whole number"}
	}
	return n, nil
}

func (h *Handlers) memberForm(w http.ResponseWriter, r *http.Request) {
	h.submit(w, r, "members", "member", []string{"id", "name", "agency_eid"}, "id", func(v map[string]string) error {
		id, err := parseClient("id", v["id"])
		if err != nil {
			return err
		}
		return h.cfg.Manager.PutMember(r.Context(), h.actor(r), Member{ID: id, Name: v["name"], AgencyEID: v["agency_eid"]})
	}, "gateway.flash.saved")
}

func (h *Handlers) subsystemForm(w http.ResponseWriter, r *http.Request) {
	h.submit(w, r, "members", "subsystem", []string{"id", "name"}, "id", func(v map[string]string) error {
		id, err := ParseSubsystemID(v["id"])
		if err != nil {
			return &FieldError{Field: "id", Msg: err.Error()}
		}
		return h.cfg.Manager.PutSubsystem(r.Context(), h.actor(r), Subsystem{ID: id, Name: v["name"]})
	}, "gateway.flash.saved")
}

// oauthSubject is the subject `congso gateway bind-client` records.
const oauthSubject = "OAuth client "

// oauthClientOf returns the OAuth client ID a binding stands for ("" for a
// certificate): the ID its subject names, if the fingerprint is
// sha256("oauth-client:"+ID).
func oauthClientOf(c Certificate) string {
	id, ok := strings.CutPrefix(c.Subject, oauthSubject)
	if !ok {
		return ""
	}
	if sum := sha256.Sum256([]byte("oauth-client:" + id)); hex.EncodeToString(sum[:]) != c.Fingerprint {
		return ""
	}
	return id
}

func (h *Handlers) certificateForm(w http.ResponseWriter, r *http.Request) {
	h.submit(w, r, "certificates", "certificate", []string{"fingerprint", "oauth_client", "owner", "subject", "not_after"}, "owner", func(v map[string]string) error {
		c := Certificate{Fingerprint: v["fingerprint"], Owner: v["owner"], Subject: v["subject"]}
		if id := v["oauth_client"]; id != "" {
			if c.Fingerprint != "" {
				return &FieldError{Field: "oauth_client", Msg: "either a fingerprint or an OAuth client"}
			}
			sum := sha256.Sum256([]byte("oauth-client:" + id))
			c.Fingerprint, c.Subject = hex.EncodeToString(sum[:]), oauthSubject+id
		}
		if s := v["not_after"]; s != "" {
			t, err := time.ParseInLocation("2006-01-02", s, web.Location)
			if err != nil {
				return &FieldError{Field: "not_after", Msg: "date"}
			}
			c.NotAfter = t
		}
		return h.cfg.Manager.PutCertificate(r.Context(), h.actor(r), c)
	}, "gateway.flash.saved")
}

func (h *Handlers) certificateDelete(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	switch err := h.cfg.Manager.DeleteCertificate(r.Context(), h.actor(r), r.PostFormValue("fingerprint")); {
	case err == nil:
		web.SetFlash(w, "gateway.flash.removed")
	case errors.Is(err, ErrNotFound):
		web.SetFlash(w, "gateway.flash.nothing")
	default:
		h.pageFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/gateway/certificates", http.StatusSeeOther)
}

func (h *Handlers) serviceForm(w http.ResponseWriter, r *http.Request) {
	fields := []string{"id", "title", "description", "kind", "timeout", "max_body_bytes", "log_bodies", "redact", "fail_policy"}
	h.submit(w, r, "services", "service", fields, "id", func(v map[string]string) error {
		id, err := parseService("id", v["id"], false)
		if err != nil {
			return err
		}
		if id.Version != "" {
			return &FieldError{Field: "id", Msg: "a service, not a version"}
		}
		s := Service{ID: id, Title: v["title"], Description: v["description"], Kind: Kind(v["kind"]),
			LogBodies: v["log_bodies"] != "", FailPolicy: FailPolicy(v["fail_policy"])}
		secs, err := parseInt("timeout", v["timeout"])
		if err != nil {
			return err
		}
		s.Timeout = time.Duration(secs) * time.Second
		if s.MaxBodyBytes, err = parseInt("max_body_bytes", v["max_body_bytes"]); err != nil {
			return err
		}
		for f := range strings.SplitSeq(v["redact"], ",") {
			if f = strings.TrimSpace(f); f != "" {
				s.Redact = append(s.Redact, f)
			}
		}
		return h.cfg.Manager.PutService(r.Context(), h.actor(r), s)
	}, "gateway.flash.saved")
}

func (h *Handlers) versionForm(w http.ResponseWriter, r *http.Request) {
	h.submit(w, r, "services", "version", []string{"service", "version", "backend_url", "spec"}, "service", func(v map[string]string) error {
		id, err := parseService("service", v["service"], false)
		if err != nil {
			return err
		}
		id.Version = v["version"]
		return h.cfg.Manager.PutVersion(r.Context(), h.actor(r), id, Version{BackendURL: v["backend_url"], Spec: r.PostFormValue("spec")})
	}, "gateway.flash.saved")
}

func (h *Handlers) statusForm(w http.ResponseWriter, r *http.Request) {
	h.submit(w, r, "services", "status", []string{"version", "status", "sunset"}, "version", func(v map[string]string) error {
		id, err := parseService("version", v["version"], true)
		if err != nil {
			return err
		}
		var sunset *time.Time
		if s := v["sunset"]; s != "" {
			t, err := time.ParseInLocation("2006-01-02", s, web.Location)
			if err != nil {
				return &FieldError{Field: "sunset", Msg: "date"}
			}
			if Status(v["status"]) != Deprecated {
				return &FieldError{Field: "sunset", Msg: "sunset only when deprecating"}
			}
			sunset = &t
		}
		return h.cfg.Manager.SetStatus(r.Context(), h.actor(r), id, Status(v["status"]), sunset)
	}, "gateway.flash.status")
}

func (h *Handlers) quotaForm(w http.ResponseWriter, r *http.Request) {
	h.submit(w, r, "quotas", "quota", []string{"client", "service", "rate_per_second", "daily", "max_concurrent"}, "service", func(v map[string]string) error {
		q := Quota{}
		var err error
		if q.Client, err = ParseSubsystemID(v["client"]); err != nil {
			return &FieldError{Field: "client", Msg: err.Error()}
		}
		if q.Service, err = parseService("service", v["service"], false); err != nil {
			return err
		}
		if q.RatePerSecond, err = parseInt("rate_per_second", v["rate_per_second"]); err != nil {
			return err
		}
		if q.Daily, err = parseInt("daily", v["daily"]); err != nil {
			return err
		}
		if q.MaxConcurrent, err = parseInt("max_concurrent", v["max_concurrent"]); err != nil {
			return err
		}
		if q.RatePerSecond == 0 && q.Daily == 0 && q.MaxConcurrent == 0 {
			return &FieldError{Field: "rate_per_second", Msg: "at least one limit"}
		}
		return h.cfg.Manager.PutQuota(r.Context(), h.actor(r), q)
	}, "gateway.flash.saved")
}

func (h *Handlers) quotaDelete(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	c, err1 := ParseSubsystemID(r.PostFormValue("client"))
	s, err2 := ParseServiceID(r.PostFormValue("service"))
	if err1 != nil || err2 != nil {
		h.errorPage(w, r, http.StatusNotFound)
		return
	}
	if err := h.cfg.Manager.DeleteQuota(r.Context(), h.actor(r), c, s); err != nil {
		h.pageFail(w, r, err)
		return
	}
	web.SetFlash(w, "gateway.flash.removed")
	http.Redirect(w, r, "/admin/gateway/quotas", http.StatusSeeOther)
}

func (h *Handlers) peerForm(w http.ResponseWriter, r *http.Request) {
	h.submit(w, r, "peers", "peer", []string{"instance", "url"}, "instance", func(v map[string]string) error {
		return h.cfg.Manager.PutPeer(r.Context(), h.actor(r), Peer{Instance: v["instance"], URL: v["url"]})
	}, "gateway.flash.saved")
}

// editLink is the page that edits a registry object.
func editLink(page, id string) string {
	return "/admin/gateway/" + page + "?edit=" + url.QueryEscape(id)
}

// Removal pages: each list row links to GET /admin/gateway/remove/KIND?id=ID,
// a confirmation page that shows what would go with the entry, or, when
// something still refers to it, what to remove first (with links to the
// pages that remove those). Its form POSTs the id and a confirmation box;
// unticked, the page comes back (422) with the error next to the box; a
// refusal in between (409) shows what refers to the entry; success
// redirects to the list with a flash message.

// removeView is the data of the removal confirmation page.
type removeView struct {
	Kind EntryKind
	// Entry is the kind in the page's language ("thành viên").
	Entry string
	ID    string
	Name  string
	// Back is the list the entry is on.
	Back string
	// Also lists what goes with the entry.
	Also []string
	// InUse lists what still refers to the entry; Live says why a version
	// cannot go. Either makes the page a refusal, without the form.
	InUse []refLink
	Live  string
	// Err is set when the confirmation box was not ticked.
	Err     string
	Summary []regError
}

type refLink struct{ Text, Href string }

// refPages says where each kind of reference is removed.
var refPages = map[RefKind]string{
	RefSubsystems:       "/admin/gateway/members#subsystems-h",
	RefServices:         "/admin/gateway/services#services-h",
	RefLiveVersions:     "/admin/gateway/services#status-h",
	RefRights:           "/admin/gateway#rights",
	RefQuotas:           "/admin/gateway/quotas#quotas-h",
	RefCertificates:     "/admin/gateway/certificates#certificates-h",
	RefOAuthClients:     "/admin/gateway/certificates#certificates-h",
	RefGroupMemberships: "/admin/gateway/members#groups-h",
}

// removeBack is the list each kind of entry is on.
var removeBack = map[EntryKind]string{
	EntryMember:    "/admin/gateway/members#members-h",
	EntrySubsystem: "/admin/gateway/members#subsystems-h",
	EntryGroup:     "/admin/gateway/members#groups-h",
	EntryService:   "/admin/gateway/services#services-h",
	EntryVersion:   "/admin/gateway/services#versions-h",
	EntryPeer:      "/admin/gateway/peers#peers-h",
}

// removeTarget builds the page's view of the entry kind/id from the
// registry; ok is false if there is no such entry.
func (h *Handlers) removeTarget(r *http.Request, kind EntryKind, id string) (removeView, bool, error) {
	lang := i18n.FromRequest(r)
	v := removeView{Kind: kind, Entry: i18n.T(lang, "gateway.reg.entry."+string(kind)), ID: id, Back: removeBack[kind]}
	reg, err := h.cfg.Manager.Store().Load(r.Context())
	if err != nil {
		return v, false, err
	}
	found := false
	switch kind {
	case EntryMember:
		for _, m := range reg.Members {
			if m.ID.String() == id {
				v.Name, found = m.Name, true
			}
		}
	case EntrySubsystem:
		for _, s := range reg.Subsystems {
			if s.ID.String() == id {
				v.Name, found = s.Name, true
			}
		}
	case EntryService:
		for _, s := range reg.Services {
			if s.ID.String() == id {
				v.Name, found = s.Title, true
				if n := len(s.Versions); n > 0 {
					v.Also = append(v.Also, i18n.T(lang, plural("gateway.reg.remove.also.versions", n), "count", n))
				}
			}
		}
	case EntryVersion:
		sv, err := ParseServiceID(id)
		if err != nil {
			break
		}
		for _, s := range reg.Services {
			if s.ID.String() == sv.Unversioned().String() {
				if ver, ok := s.Find(sv.Version); ok && sv.Version != "" {
					v.Name, found = s.Title+" · "+i18n.T(lang, "gateway.status."+string(ver.Status)), true
				}
			}
		}
	case EntryGroup:
		for _, g := range reg.Groups {
			if g.Code == id {
				v.Name, found = g.Name, true
				if n := len(g.Members); n > 0 {
					v.Also = append(v.Also, i18n.T(lang, plural("gateway.reg.remove.also.group_members", n), "count", n))
				}
			}
		}
	case EntryPeer:
		for _, p := range reg.Peers {
			if p.Instance == id {
				v.Name, found = p.URL, true
			}
		}
	}
	return v, found, nil
}

func plural(key string, n int) string {
	if n == 1 {
		return key + ".one"
	}
	return key + ".other"
}

// refuse fills v with why the entry cannot be removed; false if err is not
// such a refusal.
func refuse(lang i18n.Lang, v *removeView, err error) bool {
	var e *InUseError
	switch {
	case errors.As(err, &e) && e.Status != "":
		key, args := inUseText(lang, e)
		v.Live = i18n.T(lang, key, args...)
	case errors.As(err, &e):
		for i, t := range refTexts(lang, e.Refs) {
			v.InUse = append(v.InUse, refLink{Text: t, Href: refPages[e.Refs[i].Kind]})
		}
	case errors.Is(err, ErrInUse):
		v.InUse = []refLink{{Text: i18n.T(lang, "gateway.reg.ref.other_entries")}}
	default:
		return false
	}
	return true
}

func removeKind(r *http.Request) (EntryKind, bool) {
	k := EntryKind(r.PathValue("kind"))
	_, ok := removeBack[k]
	return k, ok
}

func (h *Handlers) removePage(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	kind, ok := removeKind(r)
	if !ok {
		h.errorPage(w, r, http.StatusNotFound)
		return
	}
	v, found, err := h.removeTarget(r, kind, r.URL.Query().Get("id"))
	if err != nil {
		h.pageFail(w, r, err)
		return
	}
	if !found {
		h.errorPage(w, r, http.StatusNotFound)
		return
	}
	if err := h.cfg.Manager.CheckRemove(r.Context(), kind, v.ID); err != nil && !refuse(i18n.FromRequest(r), &v, err) {
		if errors.Is(err, ErrNotFound) {
			h.errorPage(w, r, http.StatusNotFound)
		} else {
			h.pageFail(w, r, err)
		}
		return
	}
	h.cfg.Shell.Render(w, r, h.pages["reg_remove"], http.StatusOK, v)
}

func (h *Handlers) removeForm(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, ActionAdmin) {
		return
	}
	kind, ok := removeKind(r)
	if !ok {
		h.errorPage(w, r, http.StatusNotFound)
		return
	}
	lang := i18n.FromRequest(r)
	id := strings.TrimSpace(r.PostFormValue("id"))
	status := http.StatusUnprocessableEntity
	var err error
	if r.PostFormValue("confirm") == "yes" {
		err = h.cfg.Manager.Remove(r.Context(), h.actor(r), kind, id)
		switch {
		case err == nil:
			web.SetFlash(w, "gateway.flash.removed")
			http.Redirect(w, r, removeBack[kind], http.StatusSeeOther)
			return
		case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalid):
			web.SetFlash(w, "gateway.reg.remove.gone")
			http.Redirect(w, r, removeBack[kind], http.StatusSeeOther)
			return
		case !errors.Is(err, ErrInUse):
			h.pageFail(w, r, err)
			return
		}
		status = http.StatusConflict
	}
	v, found, lerr := h.removeTarget(r, kind, id)
	if lerr != nil {
		h.pageFail(w, r, lerr)
		return
	}
	if !found {
		web.SetFlash(w, "gateway.reg.remove.gone")
		http.Redirect(w, r, removeBack[kind], http.StatusSeeOther)
		return
	}
	if err != nil {
		refuse(lang, &v, err)
	} else {
		v.Err = i18n.T(lang, "gateway.reg.remove.confirm.required")
		v.Summary = []regError{{ID: "remove-confirm", Msg: v.Err}}
	}
	h.cfg.Shell.Render(w, r, h.pages["reg_remove"], status, v)
}
