package calendardb

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed messages/*.json
var messageFS embed.FS

func init() {
	if err := i18n.RegisterFS(messageFS, "messages"); err != nil {
		panic(err) // embedded; the tests keep the catalogs loadable
	}
}

// NavItems returns the navigation links of the calendar pages, for the app
// to add to the shell: the public calendar for everyone, its administration
// for those allowed to edit it.
func NavItems() []web.NavItem {
	return []web.NavItem{
		{Path: "/calendar", Label: "calendar.nav", Order: 80},
		{Path: "/admin/calendar", Label: "calendar.nav.admin", Order: 910,
			Visible: func(u *web.User) bool { return u.Can(ActionEdit) }},
	}
}

func pageFuncs() template.FuncMap {
	return template.FuncMap{
		// dmy writes a date the Vietnamese way, 14/02/2026.
		"dmy": func(d calendar.Date) string {
			if d.IsZero() {
				return ""
			}
			return d.In(web.Location).Format("02/01/2006")
		},
		// weekday gives the message key of a date's day of the week.
		"weekday": func(d calendar.Date) string { return "calendar.weekday." + strconv.Itoa(int(d.Weekday())) },
		// kind gives the message key of a kind of day off.
		"kind":     func(k calendar.HolidayKind) string { return "calendar.kind." + string(k) },
		"origin":   func(o Origin) string { return "calendar.origin." + string(o) },
		"fielderr": func(errs formErrors, field string) []string { return errs[field] },
	}
}

func (h *Handlers) pageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /calendar", h.yearPage)
	mux.HandleFunc("GET /admin/calendar", h.adminPage)
	mux.HandleFunc("POST /admin/calendar/{year}", h.adminSave)
	mux.HandleFunc("POST /admin/calendar/{year}/delete", h.adminDelete)
}

// yearView is the data of the public page.
type yearView struct {
	Year      int
	YearInput string
	YearError string
	MinYear   int
	MaxYear   int
	Holidays  []calendar.Holiday
	MakeUps   []calendar.Date
	// Basis is the announcement governing the year, nil for the default rule.
	Basis *Record
}

func (h *Handlers) yearPage(w http.ResponseWriter, r *http.Request) {
	lang := i18n.FromRequest(r)
	input := r.URL.Query().Get("year")
	v := yearView{YearInput: input, MinYear: MinYear, MaxYear: MaxYear}
	year, fe := parseYear(input, h.thisYear())
	if fe != nil {
		v.YearError = fe.Message(lang)
		h.cfg.Shell.Render(w, r, h.pages["calendar"], http.StatusBadRequest, v)
		return
	}
	cal := h.cfg.Provider.Calendar()
	v.Year, v.YearInput = year, strconv.Itoa(year)
	v.Holidays, v.MakeUps = cal.Holidays(year), cal.MakeUpDays(year)
	if rec, ok := h.cfg.Provider.Governing(year); ok {
		v.Basis = &rec
	}
	h.cfg.Shell.Render(w, r, h.pages["calendar"], http.StatusOK, v)
}

// adminView is the data of the administration page.
type adminView struct {
	Records []Record
	Year    int
	// Current is what governs Year now (stored, configured or shipped); its
	// Origin is "" when the year follows the default rule.
	Current Record
	Form    announcementForm
	Errors  formErrors
	// Summary lists every error, field by field, for the box at the top.
	Summary []summaryItem
	MinYear int
	MaxYear int
}

type summaryItem struct {
	Field   string // id of the control, "" when no field is to blame
	Message string
}

// pageAuth lets editors through and answers everybody else: anonymous
// people go to the login page, others get a 403 page.
func (h *Handlers) pageAuth(w http.ResponseWriter, r *http.Request, next string) bool {
	err := h.authorize(r)
	if err == nil {
		return true
	}
	if err.Status == http.StatusUnauthorized {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return false
	}
	h.errorPage(w, r, http.StatusForbidden)
	return false
}

func (h *Handlers) errorPage(w http.ResponseWriter, r *http.Request, status int) {
	key := "error.page.internal"
	switch status {
	case http.StatusNotFound:
		key = "error.page.not_found"
	case http.StatusForbidden:
		key = "error.page.forbidden"
	}
	h.cfg.Shell.Render(w, r, h.pages["error"], status, struct{ Title, Text string }{key, key + ".text"})
}

func (h *Handlers) adminPage(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, r.URL.RequestURI()) {
		return
	}
	year, fe := parseYear(r.URL.Query().Get("year"), h.thisYear())
	v := adminView{Errors: formErrors{}}
	if fe != nil {
		year = h.thisYear()
		v.Errors.add("year", fe.Message(i18n.FromRequest(r)))
	}
	cur, err := h.cfg.Provider.Get(r.Context(), year)
	switch {
	case errors.Is(err, ErrNotFound):
		cur = Record{Year: year}
	case err != nil:
		h.fail(w, r, err)
		return
	}
	v.Current, v.Form = cur, formFromRecord(cur)
	if cur.Origin != OriginDatabase {
		v.Form.Version = 0 // saving creates the year's stored announcement
	}
	h.renderAdmin(w, r, http.StatusOK, year, v)
}

// renderAdmin completes v with the list of announcements and renders it.
func (h *Handlers) renderAdmin(w http.ResponseWriter, r *http.Request, status, year int, v adminView) {
	recs, err := h.cfg.Provider.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Records, v.Year, v.MinYear, v.MaxYear = recs, year, MinYear, MaxYear
	for _, f := range []string{"", "year", "title", "days_off", "working_days", "source"} {
		for _, m := range v.Errors[f] {
			v.Summary = append(v.Summary, summaryItem{Field: f, Message: m})
		}
	}
	h.cfg.Shell.Render(w, r, h.pages["admin"], status, v)
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.cfg.Shell.Log.ErrorContext(r.Context(), "calendar page", "path", r.URL.Path, "err", err)
	h.errorPage(w, r, http.StatusInternalServerError)
}

func (h *Handlers) adminSave(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, "/admin/calendar") {
		return
	}
	year, err := pathYear(r)
	if err != nil {
		h.errorPage(w, r, http.StatusNotFound)
		return
	}
	lang := i18n.FromRequest(r)
	form := announcementForm{
		Title:       r.PostFormValue("title"),
		Replaces:    r.PostFormValue("replaces") != "",
		DaysOff:     r.PostFormValue("days_off"),
		WorkingDays: r.PostFormValue("working_days"),
		Source:      r.PostFormValue("source"),
	}
	version, verr := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("version")), 10, 64)
	if verr == nil && version >= 0 {
		form.Version = version
	}
	errs := formErrors{}
	a, offLines, workLines := form.announcement(year, lang, errs)
	if len(errs) > 0 {
		// Show the rule violations of the lines that parsed as well.
		var vErr *ValidationError
		if errors.As(Validate(a), &vErr) {
			errs.addValidation(lang, vErr.Fields, offLines, workLines)
		}
	} else {
		if verr == nil && version >= 0 {
			_, err = h.cfg.Provider.PutIfVersion(r.Context(), a, h.actor(r), version)
		} else {
			_, err = h.cfg.Provider.Put(r.Context(), a, h.actor(r))
		}
		var vErr *ValidationError
		switch {
		case err == nil:
			web.SetFlash(w, "calendar.flash.saved")
			http.Redirect(w, r, "/admin/calendar?year="+strconv.Itoa(year), http.StatusSeeOther)
			return
		case errors.As(err, &vErr):
			errs.addValidation(lang, vErr.Fields, offLines, workLines)
		case errors.Is(err, ErrStale):
			errs.add("", i18n.T(lang, "calendar.error.stale", "year", year))
			// Saving again after reading the message overwrites on purpose.
			if cur, gerr := h.cfg.Provider.Store().Get(r.Context(), year); gerr == nil {
				form.Version = cur.Version
			} else {
				form.Version = 0
			}
		default:
			h.fail(w, r, err)
			return
		}
	}
	v := adminView{Form: form, Errors: errs}
	if cur, err := h.cfg.Provider.Get(r.Context(), year); err == nil {
		v.Current = cur
	} else {
		v.Current = Record{Year: year}
	}
	h.renderAdmin(w, r, http.StatusUnprocessableEntity, year, v)
}

func (h *Handlers) adminDelete(w http.ResponseWriter, r *http.Request) {
	if !h.pageAuth(w, r, "/admin/calendar") {
		return
	}
	year, err := pathYear(r)
	if err != nil {
		h.errorPage(w, r, http.StatusNotFound)
		return
	}
	switch err := h.cfg.Provider.Delete(r.Context(), year, h.actor(r)); {
	case err == nil:
		web.SetFlash(w, "calendar.flash.deleted")
	case errors.Is(err, ErrNotFound):
		web.SetFlash(w, "calendar.flash.nothing_to_delete")
	default:
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/calendar?year="+strconv.Itoa(year), http.StatusSeeOther)
}
