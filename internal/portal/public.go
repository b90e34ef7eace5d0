package portal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

// lookupView is the public lookup form and its answer.
type lookupView struct {
	Code   string
	Phone4 string
	Asked  bool
	Result *dossier.PublicView
	Error  string
	Errors map[string]string
}

// Err returns the message for an input, or "".
func (v lookupView) Err(name string) string { return v.Errors[name] }

// lookup answers a dossier code and the last four digits of the
// applicant's phone with the status and the steps' names and dates, and
// nothing personal (§9).
func (p *Pages) lookup(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := lookupView{Code: strings.TrimSpace(q.Get("code")), Phone4: strings.TrimSpace(q.Get("phone4")), Errors: map[string]string{}}
	if len(v.Code) > 60 {
		v.Code = v.Code[:60]
	}
	if len(v.Phone4) > 10 {
		v.Phone4 = v.Phone4[:10]
	}
	_, asked := q["code"]
	if !asked {
		p.render(w, r, "lookup", http.StatusOK, v)
		return
	}
	v.Asked = true
	lang := i18n.FromRequest(r)
	if v.Code == "" {
		v.Errors["code"] = i18n.T(lang, "portal.lookup.code_required")
	}
	if len(v.Phone4) != 4 || strings.Trim(v.Phone4, "0123456789") != "" {
		v.Errors["phone4"] = i18n.T(lang, "portal.lookup.phone4_invalid")
	}
	if len(v.Errors) > 0 {
		p.render(w, r, "lookup", http.StatusUnprocessableEntity, v)
		return
	}
	res, err := p.cfg.Dossiers.Lookup(r.Context(), v.Code, v.Phone4)
	switch {
	case errors.Is(err, dossier.ErrLookupFailed):
		v.Error = i18n.T(lang, "portal.lookup.not_found")
		p.render(w, r, "lookup", http.StatusNotFound, v)
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	v.Result = res
	p.render(w, r, "lookup", http.StatusOK, v)
}

// lookupResult sends an issued e-result to whoever holds the code and the
// phone's last four digits.
func (p *Pages) lookupResult(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	res, rc, err := p.cfg.Dossiers.OpenResult(r.Context(), q.Get("code"), q.Get("phone4"), q.Get("result"))
	if errors.Is(err, dossier.ErrLookupFailed) {
		p.cfg.ErrorPage(w, r, http.StatusNotFound)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	defer rc.Close()
	serveFile(w, res.File.Name, res.File.MediaType, res.File.Size, rc)
}

// statRow is one line of the public statistics.
type statRow struct {
	Name string
	stats.Counts
}

// statsView is the public statistics page.
type statsView struct {
	Year      int
	Years     []int
	From, To  calendar.Date
	Available bool
	ByAgency  []statRow
	ByField   []statRow
	Total     stats.Counts
	StockAt   time.Time
}

// statistics shows the on-time rate and the online share of the year, by
// agency and by field (§11), from the statistics module's counters.
func (p *Pages) statistics(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := p.cfg.Now().In(web.Location)
	v := statsView{Year: now.Year()}
	for y := now.Year(); y > now.Year()-3; y-- {
		v.Years = append(v.Years, y)
	}
	if y, err := strconv.Atoi(r.URL.Query().Get("year")); err == nil && y <= now.Year() && y > now.Year()-3 {
		v.Year = y
	}
	v.From = calendar.Date{Year: v.Year, Month: time.January, Day: 1}
	v.To = calendar.Date{Year: v.Year + 1, Month: time.January, Day: 1}
	if p.cfg.Stats == nil {
		p.render(w, r, "statistics", http.StatusOK, v)
		return
	}
	byAgency, err := p.cfg.Stats.Report(ctx, stats.Query{From: v.From, To: v.To, GroupBy: stats.GroupByAgency})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	byField, err := p.cfg.Stats.Report(ctx, stats.Query{From: v.From, To: v.To, GroupBy: stats.GroupByField})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.Available, v.Total, v.StockAt = true, byAgency.Total, byAgency.StockAt
	for _, row := range byAgency.Rows {
		name := row.Agency
		if a, err := p.cfg.Catalog.Agency(ctx, row.Agency); err == nil {
			name = a.Name
		}
		v.ByAgency = append(v.ByAgency, statRow{Name: name, Counts: row.Counts})
	}
	fields := map[string]string{}
	if list, err := p.cfg.Catalog.Fields(ctx); err == nil {
		for _, f := range list {
			fields[f.Code] = f.Name
		}
	}
	for _, row := range byField.Rows {
		name := fields[row.Field]
		if name == "" {
			name = row.Field
		}
		v.ByField = append(v.ByField, statRow{Name: name, Counts: row.Counts})
	}
	p.render(w, r, "statistics", http.StatusOK, v)
}

// help shows the frequently asked questions in the page's language.
func (p *Pages) help(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "help", http.StatusOK, FAQ(i18n.FromRequest(r)))
}
