package stats_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// §11: the 766 index's weights are data: the shipped file parses, its
// groups carry the five groups' points (18/20/22/22/18 = 100), and a bad
// file is refused with every problem named.
func TestIndexDefinition(t *testing.T) {
	def := stats.DefaultIndexDefinition()
	want := map[string]float64{"transparency": 18, "progress": 20, "online": 22, "digitization": 22, "satisfaction": 18}
	var total float64
	for _, g := range def.Groups {
		if want[g.Key] != g.Points {
			t.Errorf("group %s: %g points, want %g", g.Key, g.Points, want[g.Key])
		}
		total += g.Points
	}
	if total != 100 || len(def.Groups) != 5 {
		t.Fatalf("%d groups, %g points; want 5 groups, 100 points", len(def.Groups), total)
	}
	bad := `{"version": 1, "groups": [{"key": "g", "name": "G", "points": 10, "indicators": [
		{"key": "a", "name": "A", "points": 4, "numerator": "x", "denominator": "Y Z"}]}]}`
	_, err := stats.ParseIndexDefinition([]byte(bad))
	if err == nil || !strings.Contains(err.Error(), "add up to 4") || !strings.Contains(err.Error(), "must name metrics") {
		t.Fatalf("bad definition: %v", err)
	}
}

// Scoring: ratios capped at 1, inverse indicators, and indicators without
// data left out of both the score and the attainable maximum.
func TestIndexScore(t *testing.T) {
	def := stats.DefaultIndexDefinition()
	m := stats.Metrics{"received": 100, "received_online": 40, "resolved": 50, "resolved_in_time": 45,
		"pending": 20, "pending_overdue": 5, "ratings": 0, "ratings_satisfied": 0}
	r := stats.Score(def, m, calendar.Date{Year: 2026, Month: 3, Day: 1}, calendar.Date{Year: 2026, Month: 4, Day: 1}, "")
	got := map[string]stats.IndicatorResult{}
	for _, g := range r.Groups {
		for _, in := range g.Indicators {
			got[in.Key] = in
		}
	}
	if s := got["online_share"].Score; s == nil || *s != 4.8 {
		t.Errorf("online share 40%% of 12 points = %v, want 4.8", s)
	}
	if s := got["resolved_in_time"].Score; s == nil || *s != 12.6 {
		t.Errorf("in time 90%% of 14 points = %v, want 12.6", s)
	}
	if s := got["pending_not_overdue"].Score; s == nil || *s != 4.5 {
		t.Errorf("overdue 25%% (inverse) of 6 points = %v, want 4.5", s)
	}
	if in := got["online_payment"]; in.Score != nil || len(in.Missing) != 2 {
		t.Errorf("payments without a source: %+v; want missing metrics, no score", in)
	}
	if in := got["satisfied"]; in.Score != nil || !in.NoData {
		t.Errorf("no ratings: %+v; want no data", in)
	}
	// in time (8 × 0.9 = 7.2) + 12.6 + 4.5 + 4.8 = 29.1 of 8 + 14 + 6 + 12 = 40 attainable.
	if r.Score != 29.1 || r.Max != 40 || r.Total != 100 {
		t.Errorf("score %g of %g (total %g); want 29.1 of 40 (100)", r.Score, r.Max, r.Total)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"ratio":null`) {
		t.Errorf("unscored indicators should have a null ratio: %s", b)
	}
}

// Index reads the §11 totals and the sources' metrics.
func TestIndexFromReport(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, at(2026, 4, 10, 9, 0))
		e.apply(allEvents(march())...)
		var asked string
		src := func(ctx context.Context, agency string, from, to time.Time) (stats.Metrics, error) {
			asked = agency + " " + from.Format(time.RFC3339) + " " + to.Format(time.RFC3339)
			return stats.Metrics{"ratings": 4, "ratings_satisfied": 3}, nil
		}
		q := marchQuery
		q.Agency = dept
		r, err := e.s.Index(context.Background(), q, nil, src)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range r.Groups {
			if g.Key == "satisfaction" && (g.Score != 13.5 || g.Max != 18) {
				t.Errorf("satisfaction = %g of %g, want 13.5 of 18 (3 of 4 satisfied)", g.Score, g.Max)
			}
			if g.Key == "online" {
				for _, in := range g.Indicators {
					// March at the department: 9 received, 3 online (wantBuild + wantCivil).
					if in.Key == "online_share" && (in.Numerator != 3 || in.Denominator != 9) {
						t.Errorf("online share = %g / %g, want 3 / 9 from the §11 report", in.Numerator, in.Denominator)
					}
				}
			}
		}
		if want := dept + " 2026-03-01T00:00:00+07:00 2026-04-01T00:00:00+07:00"; asked != want {
			t.Errorf("the source was asked for %q, want %q", asked, want)
		}
	})
}

// GET /api/v1/statistics/index766: the same permission as the report, the
// sources' metrics in the score.
func TestIndexHTTP(t *testing.T) {
	dbtest.Each(t, stats.Migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, at(2026, 4, 10, 9, 0))
		e.apply(allEvents(march())...)
		h := stats.NewHandlers(e.s)
		h.Sources = []stats.MetricSource{func(ctx context.Context, agency string, from, to time.Time) (stats.Metrics, error) {
			return stats.Metrics{"ratings": 2, "ratings_satisfied": 2}, nil
		}}
		mux := http.NewServeMux()
		h.Routes(mux)
		get := func(p *identity.Principal) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/statistics/index766?from=2026-03-01&to=2026-04-01", nil)
			if p != nil {
				req = req.WithContext(identity.WithPrincipal(req.Context(), p))
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			return w
		}
		w := get(person("leader-1", identity.Grant{Role: identity.RoleLeader, UnitID: identity.ProvinceWide}))
		var r stats.IndexResult
		if err := json.Unmarshal(w.Body.Bytes(), &r); w.Code != 200 || err != nil {
			t.Fatalf("index: %d %s", w.Code, w.Body)
		}
		for _, g := range r.Groups {
			if g.Key == "satisfaction" && g.Score != 18 {
				t.Errorf("satisfaction %g, want 18 (2 of 2 satisfied)", g.Score)
			}
		}
		if w := get(nil); w.Code != http.StatusUnauthorized {
			t.Errorf("anonymous: %d", w.Code)
		}
		if w := get(person("clerk-1", identity.Grant{Role: identity.RoleClerk, UnitID: dept})); w.Code != http.StatusUnprocessableEntity && w.Code != http.StatusForbidden {
			t.Errorf("clerk: %d %s", w.Code, w.Body)
		}
	})
}
