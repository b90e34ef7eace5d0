package dossierui

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/i18n"
)

// reportRow is one line of the statistics table.
type reportRow struct {
	Name string
	stats.Counts
}

// Paused counts the dossiers waiting for a supplement or a payment.
func (r reportRow) Paused() int64 { return r.PausedSupplement + r.PausedFee }

// WithdrawnOrStopped counts the dossiers withdrawn or stopped in the period.
func (r reportRow) WithdrawnOrStopped() int64 { return r.Withdrawn + r.Stopped }

type reportsView struct {
	// Statistics (§11), for holders of report.view.
	CanStats bool
	Agencies []option // province-wide viewers choose an agency (or all)
	Agency   string
	GroupBy  string
	From, To string // the form's values, YYYY-MM-DD (To inclusive)
	Problems map[string]string
	Report   *stats.Report
	Index    *stats.IndexResult
	Rows     []reportRow
	TotalRow reportRow
	CSVURL   string

	// The tracking book (form 07), for officials who view a desk's dossiers.
	Desks []option
}

// reports shows the §11 statistics of a period by agency or field (CSV on
// ?format=csv) and the form that prints a desk's tracking book (form 07).
func (p *Pages) reports(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, "/work/reports", ActionOverview, dossier.ActionView)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	loc := calendar.Default().Location()
	today := calendar.DateOf(p.now().In(loc))
	v := reportsView{GroupBy: q.Get("group_by"), From: q.Get("from"), To: q.Get("to"), Agency: strings.TrimSpace(q.Get("agency")),
		Problems: map[string]string{}}
	if v.From == "" {
		v.From = calendar.Date{Year: today.Year, Month: today.Month, Day: 1}.String()
	}
	if v.To == "" {
		v.To = today.String()
	}
	if v.GroupBy != string(stats.GroupByField) {
		v.GroupBy = string(stats.GroupByAgency)
	}
	nm := p.names(ctx)

	units, all := identity.UnitsFor(pr, ActionOverview)
	v.CanStats = p.Stats != nil && (all || len(units) > 0)
	if v.CanStats {
		var scope []string
		if all {
			list, err := p.cat.Agencies(ctx, catalog.AgencyQuery{Kind: catalog.KindAgency})
			if err != nil {
				p.fail(w, r, "/work/reports", err)
				return
			}
			for _, a := range list {
				v.Agencies = append(v.Agencies, option{Value: a.EID, Label: a.Name})
				scope = append(scope, a.EID)
			}
		} else {
			scope = units
			for _, u := range units {
				v.Agencies = append(v.Agencies, option{Value: u, Label: nm.Unit(u)})
			}
		}
		if v.Agency != "" && !slices.Contains(scope, v.Agency) {
			p.errorPage(w, r, http.StatusForbidden)
			return
		}
		if !all && v.Agency == "" && len(units) == 1 {
			v.Agency = units[0]
		}
		from, errF := calendar.ParseDate(v.From)
		to, errT := calendar.ParseDate(v.To)
		if errF != nil {
			v.Problems["from"] = i18n.T(i18n.FromRequest(r), "dossierui.reports.bad_date")
		}
		if errT != nil {
			v.Problems["to"] = i18n.T(i18n.FromRequest(r), "dossierui.reports.bad_date")
		}
		if !all && v.Agency == "" {
			v.Problems["agency"] = i18n.T(i18n.FromRequest(r), "dossierui.reports.choose_agency")
		}
		if len(v.Problems) == 0 {
			rep, err := p.Stats.Report(ctx, stats.Query{From: from, To: to.AddDays(1), Agency: v.Agency, GroupBy: stats.GroupBy(v.GroupBy)})
			var qe *stats.QueryError
			switch {
			case errors.As(err, &qe):
				for _, pb := range qe.Problems {
					v.Problems[pb.Field] = pb.Message
				}
			case err != nil:
				p.fail(w, r, "/work/reports", err)
				return
			default:
				v.Report = rep
				if v.Index, err = p.Stats.Index(ctx, stats.Query{From: from, To: to.AddDays(1), Agency: v.Agency}, nil, p.IndexSources...); err != nil {
					p.fail(w, r, "/work/reports", err)
					return
				}
				v.TotalRow = reportRow{Name: i18n.T(i18n.FromRequest(r), "dossierui.reports.total"), Counts: rep.Total}
				for _, row := range rep.Rows {
					name := row.Field
					if v.GroupBy == string(stats.GroupByAgency) {
						name = nm.Unit(row.Agency)
					} else if f, err := p.cat.Field(ctx, row.Field); err == nil {
						name = f.Name
					}
					v.Rows = append(v.Rows, reportRow{Name: name, Counts: row.Counts})
				}
				cq := r.URL.Query()
				cq.Set("format", "csv")
				cq.Set("from", v.From)
				cq.Set("to", v.To)
				cq.Set("group_by", v.GroupBy)
				v.CSVURL = "/work/reports?" + cq.Encode()
				if q.Get("format") == "csv" {
					writeReportCSV(w, v)
					return
				}
			}
		}
	}
	desks, all := identity.UnitsFor(pr, dossier.ActionView)
	if !all {
		for _, u := range desks {
			v.Desks = append(v.Desks, option{Value: u, Label: nm.Unit(u)})
		}
	}
	p.shell.Render(w, r, p.pages["reports"], http.StatusOK, v)
}

// reportColumns are the §11 columns, in the order of the table and CSV.
var reportColumns = []struct {
	Header string
	Value  func(c stats.Counts) string
}{
	{"Kỳ trước chuyển qua", func(c stats.Counts) string { return itoa(c.CarriedOver) }},
	{"Tiếp nhận trong kỳ", func(c stats.Counts) string { return itoa(c.Received) }},
	{"Trực tuyến", func(c stats.Counts) string { return itoa(c.ReceivedOnline) }},
	{"Trực tiếp, bưu chính", func(c stats.Counts) string { return itoa(c.ReceivedOffline) }},
	{"Đã giải quyết", func(c stats.Counts) string { return itoa(c.Resolved) }},
	{"Trước hạn", func(c stats.Counts) string { return itoa(c.ResolvedEarly) }},
	{"Đúng hạn", func(c stats.Counts) string { return itoa(c.ResolvedOnTime) }},
	{"Quá hạn", func(c stats.Counts) string { return itoa(c.ResolvedLate) }},
	{"Tỷ lệ đúng hạn (%)", func(c stats.Counts) string {
		if c.OnTimeRate == nil {
			return ""
		}
		return strconv.FormatFloat(*c.OnTimeRate, 'f', 1, 64)
	}},
	{"Đang giải quyết", func(c stats.Counts) string { return itoa(c.Pending) }},
	{"Trong hạn", func(c stats.Counts) string { return itoa(c.PendingWithinTime) }},
	{"Quá hạn (đang giải quyết)", func(c stats.Counts) string { return itoa(c.PendingOverdue) }},
	{"Chờ bổ sung", func(c stats.Counts) string { return itoa(c.PausedSupplement) }},
	{"Chờ nghĩa vụ tài chính", func(c stats.Counts) string { return itoa(c.PausedFee) }},
	{"Dừng xử lý", func(c stats.Counts) string { return itoa(c.Stopped) }},
	{"Rút hồ sơ", func(c stats.Counts) string { return itoa(c.Withdrawn) }},
	{"Đã trả kết quả", func(c stats.Counts) string { return itoa(c.Returned) }},
	{"Từ chối tiếp nhận", func(c stats.Counts) string { return itoa(c.NotReceived) }},
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// writeReportCSV sends the report as CSV (UTF-8 with a byte-order mark, so
// spreadsheet programs read the Vietnamese text correctly).
func writeReportCSV(w http.ResponseWriter, v reportsView) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="thong-ke-%s-%s.csv"`, v.From, v.To))
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	head := []string{"Đơn vị / lĩnh vực"}
	for _, c := range reportColumns {
		head = append(head, c.Header)
	}
	cw.Write(head)
	line := func(name string, c stats.Counts) {
		rec := []string{name}
		for _, col := range reportColumns {
			rec = append(rec, col.Value(c))
		}
		cw.Write(rec)
	}
	for _, row := range v.Rows {
		line(row.Name, row.Counts)
	}
	line("Tổng cộng", v.Report.Total)
	cw.Flush()
}

// trackingBook serves GET /work/tracking-book?unit=&from=&to=: form 07.
func (p *Pages) trackingBook(w http.ResponseWriter, r *http.Request) {
	pr, ok := p.allow(w, r, "/work/reports", dossier.ActionView)
	if !ok {
		return
	}
	q := r.URL.Query()
	in := dossier.TrackingBookInput{Unit: q.Get("unit"), Actor: pr}
	in.From, _ = calendar.ParseDate(q.Get("from"))
	in.To, _ = calendar.ParseDate(q.Get("to"))
	b, err := p.svc.TrackingBook(r.Context(), in)
	var ve *dossier.ValidationError
	if errors.As(err, &ve) {
		msgs := make([]string, 0, len(ve.Defects))
		for _, d := range ve.Defects {
			msgs = append(msgs, d.Message)
		}
		http.Error(w, strings.Join(msgs, "\n"), http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		p.fail(w, r, "/work/reports", err)
		return
	}
	w.Header().Set("Content-Type", dossier.MediaPDF)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="so-theo-doi-%s-%s-%s.pdf"`, in.Unit, in.From, in.To))
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(b)
}
