package stats

import (
	_ "embed"
	"errors"
	"net/http"
	"slices"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/httpx"
)

// Handlers serves the statistics JSON API. The caller is the principal the
// identity middleware put in the request context.
type Handlers struct {
	svc *Service
	// Sources add other modules' metrics to the 766 index (digitization,
	// payments, ratings, synchronisation); set before Routes.
	Sources []MetricSource
}

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// Routes registers the JSON API on mux:
//
//	GET /api/v1/statistics?from=YYYY-MM-DD&to=YYYY-MM-DD&group_by=agency|field|agency_field&agency=&field=
//
// The period is [from, to). The caller needs report.view: province-wide
// for every agency, else for the agency asked (which may be omitted when
// the caller has report.view in exactly one unit).
//
//	GET /api/v1/statistics/index766?from=&to=&agency=
//
// The second is the Decision 766 service-quality index of the period,
// scored from the same figures and the other modules' metrics.
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/statistics", h.report)
	mux.HandleFunc("GET /api/v1/statistics/index766", h.index)
}

func (h *Handlers) report(w http.ResponseWriter, r *http.Request) { h.serve(w, r, false) }

func (h *Handlers) index(w http.ResponseWriter, r *http.Request) { h.serve(w, r, true) }

func (h *Handlers) serve(w http.ResponseWriter, r *http.Request, index bool) {
	p := identity.PrincipalFrom(r.Context())
	if !p.Authenticated() {
		httpx.Error(w, r, httpx.Unauthorized(""))
		return
	}
	v := r.URL.Query()
	q := Query{Agency: v.Get("agency"), Field: v.Get("field"), GroupBy: GroupBy(v.Get("group_by"))}
	var fields []httpx.FieldError
	for _, d := range []struct {
		name string
		dst  *calendar.Date
	}{{"from", &q.From}, {"to", &q.To}} {
		name, dst := d.name, d.dst
		if s := v.Get(name); s != "" {
			d, err := calendar.ParseDate(s)
			if err != nil {
				fields = append(fields, httpx.FieldError{Field: name, Code: "invalid_format",
					Message: "Ngày phải có dạng YYYY-MM-DD."})
				continue
			}
			*dst = d
		}
	}
	units, all := identity.UnitsFor(p, identity.ActionReportView)
	switch {
	case all:
	case q.Agency == "" && len(units) == 1:
		q.Agency = units[0]
	case q.Agency == "" && len(units) > 1:
		fields = append(fields, httpx.FieldError{Field: "agency", Code: "required",
			Message: "Chọn cơ quan cần xem thống kê."})
	case !slices.Contains(units, q.Agency):
		httpx.Error(w, r, httpx.Forbidden("stats.forbidden"))
		return
	}
	if len(fields) > 0 {
		e := httpx.Validation(fields...)
		e.Code = "stats.invalid"
		httpx.Error(w, r, e)
		return
	}
	var rep any
	var err error
	if index {
		rep, err = h.svc.Index(r.Context(), q, nil, h.Sources...)
	} else {
		rep, err = h.svc.Report(r.Context(), q)
	}
	var qe *QueryError
	if errors.As(err, &qe) {
		for _, pr := range qe.Problems {
			fields = append(fields, httpx.FieldError{Field: pr.Field, Code: pr.Code, Message: pr.Message})
		}
		e := httpx.Validation(fields...)
		e.Code, e.Err = "stats.invalid", err
		httpx.Error(w, r, e)
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
}

//go:embed openapi.json
var openapiFragment []byte

// OpenAPIFragment returns the OpenAPI paths and schemas of this API, merged
// into the app's document.
func OpenAPIFragment() []byte { return append([]byte(nil), openapiFragment...) }
