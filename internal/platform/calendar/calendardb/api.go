package calendardb

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

// ActionEdit is the action an Authorizer must allow for a request to store
// or delete announcements.
const ActionEdit = "calendar.edit"

// MaxDueDays bounds the number of working days the working-days endpoint
// counts.
const MaxDueDays = 1000

// Authorizer decides whether the person making a request may perform an
// action. The app adapts its identity service to it.
type Authorizer interface {
	Can(r *http.Request, action string) bool
}

// HandlerConfig configures [Handlers].
type HandlerConfig struct {
	// Provider serves the calendar and stores the edits. Required.
	Provider *Provider
	// Authorizer allows writes (action [ActionEdit]); nil denies them all.
	Authorizer Authorizer
	// Actor names the person making the request, as recorded in
	// Record.UpdatedBy; "" means nobody is signed in (401, or a redirect to
	// the login page). Nil means the Shell's current user: its Name, else its
	// ID.
	Actor func(r *http.Request) string
	// Shell renders the pages; nil serves the JSON API only.
	Shell *web.Shell
	// Now is the clock that picks the year shown by default; nil means
	// time.Now.
	Now func() time.Time
}

// Handlers serves the calendar's JSON API under /api/v1/calendar and its
// pages /calendar and /admin/calendar.
type Handlers struct {
	cfg   HandlerConfig
	pages map[string]*template.Template
}

// NewHandlers returns the handlers, parsing the page templates when
// cfg.Shell is set.
func NewHandlers(cfg HandlerConfig) (*Handlers, error) {
	if cfg.Provider == nil {
		return nil, errors.New("calendardb: NewHandlers needs a Provider")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handlers{cfg: cfg}
	if cfg.Shell != nil {
		pages, err := cfg.Shell.Pages(templateFS, "templates/*.html", pageFuncs())
		if err != nil {
			return nil, fmt.Errorf("calendardb: parse pages: %w", err)
		}
		h.pages = pages
	}
	return h, nil
}

// Routes registers the JSON API and, when the handlers have a Shell, the
// pages.
//
//	GET    /api/v1/calendar/holidays?year=2026           public
//	GET    /api/v1/calendar/working-days?from=…&days=N   public
//	GET    /api/v1/calendar/announcements                public (updated_by for editors only)
//	GET    /api/v1/calendar/announcements/{year}         public (idem)
//	PUT    /api/v1/calendar/announcements/{year}         calendar.edit
//	DELETE /api/v1/calendar/announcements/{year}         calendar.edit
//	GET    /calendar?year=2026                           public page
//	GET    /admin/calendar?year=2026                     calendar.edit
//	POST   /admin/calendar/{year}                        calendar.edit
//	POST   /admin/calendar/{year}/delete                 calendar.edit
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/calendar/holidays", h.holidays)
	mux.HandleFunc("GET /api/v1/calendar/working-days", h.workingDays)
	mux.HandleFunc("GET /api/v1/calendar/announcements", h.listAnnouncements)
	mux.HandleFunc("GET /api/v1/calendar/announcements/{year}", h.getAnnouncement)
	mux.HandleFunc("PUT /api/v1/calendar/announcements/{year}", h.putAnnouncement)
	mux.HandleFunc("DELETE /api/v1/calendar/announcements/{year}", h.deleteAnnouncement)
	if h.pages != nil {
		h.pageRoutes(mux)
	}
}

// actor returns who makes r, "" when nobody is signed in.
func (h *Handlers) actor(r *http.Request) string {
	if h.cfg.Actor != nil {
		return h.cfg.Actor(r)
	}
	if h.cfg.Shell == nil || h.cfg.Shell.CurrentUser == nil {
		return ""
	}
	u := h.cfg.Shell.CurrentUser(r)
	switch {
	case u == nil:
		return ""
	case u.Name != "":
		return u.Name
	}
	return u.ID
}

// canEdit reports whether r may write, without saying why not.
func (h *Handlers) canEdit(r *http.Request) bool {
	return h.authorize(r) == nil
}

// authorize returns nil if r may write, else the problem to answer with.
func (h *Handlers) authorize(r *http.Request) *httpx.Err {
	if h.actor(r) == "" {
		return httpx.Unauthorized("")
	}
	if h.cfg.Authorizer == nil || !h.cfg.Authorizer.Can(r, ActionEdit) {
		return &httpx.Err{Status: http.StatusForbidden, Code: "forbidden", Key: "calendar.error.forbidden"}
	}
	return nil
}

// thisYear is the current year in the calendar's time zone.
func (h *Handlers) thisYear() int {
	cal := h.cfg.Provider.Calendar()
	return cal.DateOf(h.cfg.Now()).Year
}

// holidaysResponse is the body of GET /api/v1/calendar/holidays.
type holidaysResponse struct {
	Year int `json:"year"`
	// Holidays are the days off other than plain weekend days, by date.
	Holidays []calendar.Holiday `json:"holidays"`
	// MakeUpDays are the announced working days (ngày làm bù).
	MakeUpDays []calendar.Date `json:"make_up_days"`
	// Announcement is the announcement that governs the year; null when the
	// year follows the default rule of the Labour Code.
	Announcement *Record `json:"announcement"`
}

func (h *Handlers) holidays(w http.ResponseWriter, r *http.Request) {
	year, fe := parseYear(r.URL.Query().Get("year"), h.thisYear())
	if fe != nil {
		httpx.Error(w, r, queryProblem(r, *fe))
		return
	}
	cal := h.cfg.Provider.Calendar()
	resp := holidaysResponse{Year: year, Holidays: cal.Holidays(year), MakeUpDays: cal.MakeUpDays(year)}
	if resp.MakeUpDays == nil {
		resp.MakeUpDays = []calendar.Date{}
	}
	if rec, ok := h.cfg.Provider.Governing(year); ok {
		resp.Announcement = public(rec, h.canEdit(r))
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

// dueResponse is the body of GET /api/v1/calendar/working-days.
type dueResponse struct {
	From calendar.Date `json:"from"`
	Days int           `json:"days"`
	// DueDate is the Days-th working day after From (From itself when Days
	// is 0 and From is a working day).
	DueDate calendar.Date `json:"due_date"`
	// DueAt is the end of office hours on DueDate.
	DueAt time.Time `json:"due_at"`
	// DaysOff lists the holidays after From up to DueDate that the count
	// skipped (plain weekend days are not listed).
	DaysOff []calendar.Holiday `json:"days_off"`
}

func (h *Handlers) workingDays(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cal := h.cfg.Provider.Calendar()
	var problems []FieldError
	from, fe := parseFrom(q.Get("from"), cal.Location())
	if fe != nil {
		problems = append(problems, *fe)
	}
	days, err := strconv.Atoi(strings.TrimSpace(q.Get("days")))
	if err != nil || days < 0 || days > MaxDueDays {
		problems = append(problems, FieldError{Field: "days", Code: "days_range", Args: []any{"min", 0, "max", MaxDueDays}})
	}
	if problems != nil {
		httpx.Error(w, r, queryProblem(r, problems...))
		return
	}
	due := cal.AddWorkingDays(from, days)
	fromDate, dueDate := cal.DateOf(from), cal.DateOf(due)
	resp := dueResponse{From: fromDate, Days: days, DueDate: dueDate, DueAt: due, DaysOff: []calendar.Holiday{}}
	for y := fromDate.Year; y <= dueDate.Year; y++ {
		for _, hd := range cal.Holidays(y) {
			if hd.Date.After(fromDate) && !hd.Date.After(dueDate) {
				resp.DaysOff = append(resp.DaysOff, hd)
			}
		}
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

func (h *Handlers) listAnnouncements(w http.ResponseWriter, r *http.Request) {
	recs, err := h.cfg.Provider.List(r.Context())
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	editor := h.canEdit(r)
	items := make([]Record, len(recs))
	for i, rec := range recs {
		items[i] = *public(rec, editor)
	}
	n := len(items)
	httpx.WriteJSON(w, http.StatusOK, httpx.List[Record]{Items: items, Total: &n})
}

func (h *Handlers) getAnnouncement(w http.ResponseWriter, r *http.Request) {
	year, err := pathYear(r)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	rec, err := h.cfg.Provider.Get(r.Context(), year)
	if err != nil {
		httpx.Error(w, r, announcementError(r, year, err))
		return
	}
	if rec.Version > 0 {
		w.Header().Set("ETag", etag(rec.Version))
	}
	httpx.WriteJSON(w, http.StatusOK, public(rec, h.canEdit(r)))
}

// public returns rec as shown to the requester: who saved it is shown only
// to editors.
func public(rec Record, editor bool) *Record {
	if !editor {
		rec.UpdatedBy = ""
	}
	return &rec
}

// announcementInput is the body of PUT /api/v1/calendar/announcements/{year}.
// Dates are strings here so that a bad one is reported with its field
// instead of failing the whole decoding.
type announcementInput struct {
	Year        *int          `json:"year"`
	Title       string        `json:"title"`
	Replaces    bool          `json:"replaces"`
	DaysOff     []periodInput `json:"days_off"`
	WorkingDays []string      `json:"working_days"`
	Source      string        `json:"source"`
}

type periodInput struct {
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
}

// announcement converts in for the year of the path.
func (in announcementInput) announcement(year int) (calendar.Announcement, []FieldError) {
	var errs []FieldError
	a := calendar.Announcement{Year: year, Title: in.Title, Replaces: in.Replaces, Source: in.Source,
		DaysOff: make([]calendar.Period, len(in.DaysOff)), WorkingDays: make([]calendar.Date, len(in.WorkingDays))}
	if in.Year != nil && *in.Year != year {
		errs = append(errs, FieldError{Field: "year", Code: "year_mismatch", Args: []any{"year", *in.Year, "path", year}})
	}
	date := func(field, s string, d *calendar.Date) {
		v, err := calendar.ParseDate(strings.TrimSpace(s))
		if err != nil {
			errs = append(errs, FieldError{Field: field, Code: "invalid_date", Args: []any{"value", s}})
			return
		}
		*d = v
	}
	for i, p := range in.DaysOff {
		f := fmt.Sprintf("days_off[%d]", i)
		a.DaysOff[i].Name = p.Name
		if strings.TrimSpace(p.From) == "" {
			errs = append(errs, FieldError{Field: f + ".from", Code: "required", Args: []any{"what", i18n.Key("calendar.what.from")}})
		} else {
			date(f+".from", p.From, &a.DaysOff[i].From)
		}
		if strings.TrimSpace(p.To) != "" {
			date(f+".to", p.To, &a.DaysOff[i].To)
		}
	}
	for i, s := range in.WorkingDays {
		date(fmt.Sprintf("working_days[%d]", i), s, &a.WorkingDays[i])
	}
	return a, errs
}

// withRules adds to the decoding errors of a the problems [Validate] finds
// in the fields that decoded.
func withRules(decoding []FieldError, a calendar.Announcement) []FieldError {
	var verr *ValidationError
	if !errors.As(Validate(a), &verr) {
		return decoding
	}
	bad := map[string]bool{}
	for _, f := range decoding {
		bad[f.Field] = true
	}
	out := decoding
	for _, f := range verr.Fields {
		if !bad[f.Field] && f.Code != "invalid" {
			out = append(out, f)
		}
	}
	return out
}

func (h *Handlers) putAnnouncement(w http.ResponseWriter, r *http.Request) {
	if err := h.authorize(r); err != nil {
		httpx.Error(w, r, err)
		return
	}
	year, err := pathYear(r)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	version, check, err := ifMatch(r)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	var in announcementInput
	if err := httpx.DecodeJSON(w, r, &in); err != nil {
		httpx.Error(w, r, err)
		return
	}
	a, fields := in.announcement(year)
	if fields != nil {
		// Report the rule violations of the rest too, all in one answer.
		httpx.Error(w, r, validationProblem(r, year, withRules(fields, a)))
		return
	}
	var rec Record
	if check {
		rec, err = h.cfg.Provider.PutIfVersion(r.Context(), a, h.actor(r), version)
	} else {
		rec, err = h.cfg.Provider.Put(r.Context(), a, h.actor(r))
	}
	if err != nil {
		httpx.Error(w, r, announcementError(r, year, err))
		return
	}
	w.Header().Set("ETag", etag(rec.Version))
	httpx.WriteJSON(w, http.StatusOK, rec)
}

func (h *Handlers) deleteAnnouncement(w http.ResponseWriter, r *http.Request) {
	if err := h.authorize(r); err != nil {
		httpx.Error(w, r, err)
		return
	}
	year, err := pathYear(r)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if err := h.cfg.Provider.Delete(r.Context(), year, h.actor(r)); err != nil {
		httpx.Error(w, r, announcementError(r, year, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// announcementError maps the errors of the store to problems.
func announcementError(r *http.Request, year int, err error) error {
	var verr *ValidationError
	switch {
	case errors.As(err, &verr):
		return validationProblem(r, year, verr.Fields)
	case errors.Is(err, ErrNotFound):
		return &httpx.Err{Status: http.StatusNotFound, Code: "calendar.not_found", Key: "calendar.error.not_found",
			Args: []any{"year", year}, Err: err}
	case errors.Is(err, ErrStale):
		return &httpx.Err{Status: http.StatusConflict, Code: "calendar.stale", Key: "calendar.error.stale",
			Args: []any{"year", year}, Err: err}
	}
	return err
}

// validationProblem is a 422 whose detail quotes the first problem, so that a
// client showing only the detail still tells the user what to fix.
func validationProblem(r *http.Request, year int, fields []FieldError) *httpx.Err {
	lang := i18n.FromRequest(r)
	e := httpx.Validation(httpFields(lang, fields)...)
	e.Key = "calendar.error.invalid_announcement"
	e.Args = []any{"year", year, "problem", e.Fields[0].Message, "count", len(fields)}
	return e
}

// queryProblem is a 400 for bad query parameters, its detail listing them.
func queryProblem(r *http.Request, fields ...FieldError) *httpx.Err {
	lang := i18n.FromRequest(r)
	hf := httpFields(lang, fields)
	msgs := make([]string, len(hf))
	for i, f := range hf {
		msgs[i] = f.Message
	}
	return &httpx.Err{Status: http.StatusBadRequest, Code: "invalid_query", Key: "calendar.error.invalid_query",
		Args: []any{"problem", strings.Join(msgs, " ")}, Fields: hf}
}

func httpFields(lang i18n.Lang, fields []FieldError) []httpx.FieldError {
	out := make([]httpx.FieldError, len(fields))
	for i, f := range fields {
		out[i] = httpx.FieldError{Field: f.Field, Code: f.Code, Message: f.Message(lang)}
	}
	return out
}

// parseYear reads a year parameter; "" gives def.
func parseYear(s string, def int) (int, *FieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < MinYear || y > MaxYear {
		return 0, &FieldError{Field: "year", Code: "year_range", Args: []any{"min", MinYear, "max", MaxYear}}
	}
	return y, nil
}

// pathYear reads the {year} of the path.
func pathYear(r *http.Request) (int, error) {
	y, fe := parseYear(r.PathValue("year"), 0)
	if fe == nil && y == 0 {
		fe = &FieldError{Field: "year", Code: "year_range", Args: []any{"min", MinYear, "max", MaxYear}}
	}
	if fe != nil {
		lang := i18n.FromRequest(r)
		return 0, &httpx.Err{Status: http.StatusBadRequest, Code: "calendar.bad_year", Key: "calendar.error.bad_year",
			Args: []any{"min", MinYear, "max", MaxYear}, Fields: httpFields(lang, []FieldError{*fe})}
	}
	return y, nil
}

// parseFrom reads the start of a working-day count: a date (YYYY-MM-DD, the
// start of that day in loc) or an RFC 3339 instant.
func parseFrom(s string, loc *time.Location) (time.Time, *FieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, &FieldError{Field: "from", Code: "from_required"}
	}
	var t time.Time
	if d, err := calendar.ParseDate(s); err == nil {
		t = d.In(loc)
	} else if t, err = time.Parse(time.RFC3339, s); err != nil {
		return time.Time{}, &FieldError{Field: "from", Code: "invalid_from", Args: []any{"value", s}}
	}
	if y := t.In(loc).Year(); y < MinYear || y > MaxYear {
		return time.Time{}, &FieldError{Field: "from", Code: "from_range", Args: []any{"min", MinYear, "max", MaxYear}}
	}
	return t, nil
}

// ifMatch reads an If-Match header holding one version as a strong ETag.
func ifMatch(r *http.Request) (version int64, ok bool, err error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		return 0, false, nil
	}
	n, perr := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	if perr != nil || n < 0 || !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) {
		return 0, false, &httpx.Err{Status: http.StatusBadRequest, Code: "calendar.bad_if_match", Key: "calendar.error.bad_if_match"}
	}
	return n, true, nil
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }
