package nationalportal_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/congso/congso/internal/fakes/dvcqg"
	"github.com/congso/congso/internal/gateway/nationalportal"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

var sysadmin = person("admin-1", identity.RoleSysadmin, identity.ProvinceWide)

func TestMessages(t *testing.T) {
	if err := i18n.Check(); err != nil {
		t.Fatal(err)
	}
}

// server serves the API and the page; the X-Test-User header picks the
// signed-in person (none, "leader" or "admin").
func (e *env) server() *httptest.Server {
	e.t.Helper()
	shell, err := web.New(web.Site{ProvinceName: "Bình Phước"})
	if err != nil {
		e.t.Fatal(err)
	}
	h := nationalportal.NewHandlers(e.np, e.disp.Stats)
	pages, err := nationalportal.NewPages(h, shell, func(w http.ResponseWriter, r *http.Request, status int) {
		w.WriteHeader(status)
		io.WriteString(w, http.StatusText(status))
	})
	if err != nil {
		e.t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	pages.Routes(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Test-User") {
		case "leader":
			r = r.WithContext(identity.WithPrincipal(r.Context(), leader))
		case "admin":
			r = r.WithContext(identity.WithPrincipal(r.Context(), sysadmin))
		}
		mux.ServeHTTP(w, r)
	}))
	e.t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, user, contentType, body string, lang string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if lang != "" {
		req.AddCookie(&http.Cookie{Name: i18n.CookieName, Value: lang})
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// The JSON API and the admin page: who may see and run what, the
// reconciliation's mismatches listed with their kind, in Vietnamese and
// English, and field errors next to the field.
func TestAPIAndPage(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		srv := e.server()
		rc := e.receive("Bùi Thị Mai")
		e.drain()
		e.portal.Tamper(rc.Code, func(h *dvcqg.HoSo) { h.TrangThaiHoSo = 9 })

		if res, _ := do(t, "GET", srv.URL+"/api/v1/national-portal/state", "", "", "", ""); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("anonymous state = %d", res.StatusCode)
		}
		res, body := do(t, "GET", srv.URL+"/api/v1/national-portal/state", "leader", "", "", "")
		var st nationalportal.StateView
		if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil || st.Synced != 1 {
			t.Fatalf("state = %d %s", res.StatusCode, body)
		}
		period := `{"from": "2026-03-02", "to": "2026-03-02"}`
		if res, _ := do(t, "POST", srv.URL+"/api/v1/national-portal/reconciliations", "leader", "application/json", period, ""); res.StatusCode != http.StatusForbidden {
			t.Fatalf("leader reconcile = %d", res.StatusCode)
		}
		res, body = do(t, "POST", srv.URL+"/api/v1/national-portal/reconciliations", "admin", "application/json", `{"from": "2026-03-05", "to": "2026-03-01"}`, "")
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"field":"to"`) {
			t.Fatalf("inverted period = %d %s", res.StatusCode, body)
		}
		res, body = do(t, "POST", srv.URL+"/api/v1/national-portal/reconciliations", "admin", "application/json", period, "")
		var rep nationalportal.Report
		if res.StatusCode != http.StatusCreated || json.Unmarshal([]byte(body), &rep) != nil || len(rep.Mismatches) != 1 ||
			rep.Mismatches[0].Kind != nationalportal.MismatchStatus || rep.Mismatches[0].Theirs != "9" {
			t.Fatalf("reconcile = %d %s", res.StatusCode, body)
		}

		// The page, in Vietnamese by default and in English on request.
		res, _ = do(t, "GET", srv.URL+"/admin/national-portal", "", "", "", "")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Fatalf("anonymous page = %d %s", res.StatusCode, res.Header.Get("Location"))
		}
		res, body = do(t, "GET", srv.URL+"/admin/national-portal", "leader", "", "", "")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, rc.Code) || !strings.Contains(body, "Trạng thái khác nhau") ||
			strings.Contains(body, `action="/admin/national-portal/reconcile"`) {
			t.Fatalf("leader page = %d\n%s", res.StatusCode, body)
		}
		_, body = do(t, "GET", srv.URL+"/admin/national-portal", "admin", "", "", "en")
		if !strings.Contains(body, "Status differs") || !strings.Contains(body, `action="/admin/national-portal/reconcile"`) {
			t.Fatalf("English admin page:\n%s", body)
		}

		// A bad date is shown next to its field.
		form := url.Values{"from": {"02/03/2026"}, "to": {"2026-03-02"}}.Encode()
		res, body = do(t, "POST", srv.URL+"/admin/national-portal/reconcile", "admin", "application/x-www-form-urlencoded", form, "")
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `aria-describedby="from-err"`) ||
			!strings.Contains(body, "YYYY-MM-DD") {
			t.Fatalf("bad date = %d\n%s", res.StatusCode, body)
		}
		// Resync from the page repairs the record; the next run is clean.
		res, _ = do(t, "POST", srv.URL+"/admin/national-portal/dossiers/"+rc.Code+"/resync", "admin", "application/x-www-form-urlencoded", "", "")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("resync = %d", res.StatusCode)
		}
		if h := e.held(rc.Code); h.TrangThaiHoSo != 2 {
			t.Fatalf("after resync the portal holds status %d", h.TrangThaiHoSo)
		}
		form = url.Values{"from": {"2026-03-02"}, "to": {"2026-03-02"}}.Encode()
		if res, _ = do(t, "POST", srv.URL+"/admin/national-portal/reconcile", "admin", "application/x-www-form-urlencoded", form, ""); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("run from the page = %d", res.StatusCode)
		}
		_, body = do(t, "GET", srv.URL+"/admin/national-portal", "admin", "", "", "")
		if !strings.Contains(body, "Không có chênh lệch.") {
			t.Fatalf("clean page:\n%s", body)
		}
		// The portal down: the operator is told, nothing is recorded.
		e.portal.FailNext(1, http.StatusInternalServerError)
		res, body = do(t, "POST", srv.URL+"/api/v1/national-portal/reconciliations", "admin", "application/json", period, "")
		if res.StatusCode != http.StatusBadGateway || !strings.Contains(body, "nationalportal.unavailable") {
			t.Fatalf("portal down = %d %s", res.StatusCode, body)
		}
	})
}

// Every route of the JSON API is described in the OpenAPI fragment.
func TestOpenAPIFragment(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(nationalportal.OpenAPIFragment(), &doc); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	nationalportal.NewHandlers(nil, nil).Routes(mux)
	ops := 0
	for path, methods := range doc.Paths {
		for method := range methods {
			ops++
			req := httptest.NewRequest(strings.ToUpper(method), strings.ReplaceAll(path, "{code}", "X-1"), nil)
			if _, pattern := mux.Handler(req); pattern != strings.ToUpper(method)+" "+path {
				t.Errorf("%s %s is served by %q", method, path, pattern)
			}
		}
	}
	if ops != 9 {
		t.Errorf("openapi.json describes %d operations, the API has 9", ops)
	}
}

// The backfill and the reconciliation schedule through the JSON API and the
// page: who may start a backfill, its period checked next to the field, one
// at a time, its progress and the schedule shown.
func TestBackfillAPIAndPage(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		srv := e.server()
		e.receive("Đặng Thị Hoa")
		e.drain()

		res, body := do(t, "GET", srv.URL+"/api/v1/national-portal/backfill", "leader", "", "", "")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"state":"none"`) {
			t.Fatalf("no backfill = %d %s", res.StatusCode, body)
		}
		if res, _ := do(t, "POST", srv.URL+"/api/v1/national-portal/backfill", "leader", "application/json", `{"all": true}`, ""); res.StatusCode != http.StatusForbidden {
			t.Fatalf("leader backfill = %d", res.StatusCode)
		}
		for _, bad := range []string{`{}`, `{"since": "2026-13-01"}`, `{"since": "2026-04-01"}`, `{"since": "2026-03-01", "all": true}`} {
			res, body := do(t, "POST", srv.URL+"/api/v1/national-portal/backfill", "admin", "application/json", bad, "")
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"field":"since"`) {
				t.Fatalf("backfill %s = %d %s", bad, res.StatusCode, body)
			}
		}
		res, body = do(t, "POST", srv.URL+"/api/v1/national-portal/backfill", "admin", "application/json", `{"since": "2026-03-01"}`, "")
		var st nationalportal.BackfillStatus
		if res.StatusCode != http.StatusAccepted || json.Unmarshal([]byte(body), &st) != nil || st.State != nationalportal.BackfillCounting ||
			st.RequestedBy != sysadmin.PersonID || !st.Since.Equal(at(2026, 3, 1, 0, 0)) {
			t.Fatalf("start = %d %s", res.StatusCode, body)
		}
		res, body = do(t, "POST", srv.URL+"/api/v1/national-portal/backfill", "admin", "application/json", `{"all": true}`, "")
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, "nationalportal.backfill_running") {
			t.Fatalf("a second backfill = %d %s", res.StatusCode, body)
		}
		if _, err := e.timers.FireDue(e.ctx); err != nil {
			t.Fatal(err)
		}
		if err := e.np.ScheduleReconciliation(e.ctx); err != nil {
			t.Fatal(err)
		}
		res, body = do(t, "GET", srv.URL+"/api/v1/national-portal/state", "leader", "", "", "")
		var sv nationalportal.StateView
		if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &sv) != nil || sv.Backfill.Total != 1 || sv.Backfill.Enqueued != 1 ||
			sv.Backfill.Pending != 1 || sv.Schedule.NextRunAt.IsZero() || !sv.Schedule.Enabled {
			t.Fatalf("state = %d %s", res.StatusCode, body)
		}
		_, body = do(t, "GET", srv.URL+"/admin/national-portal", "admin", "", "", "en")
		for _, want := range []string{`data-state="enqueued"`, "Sent 0 of 1 dossiers; waiting 1", "Dossiers received since 01/03/2026",
			"Not run yet.", "02/03/2026 08:00", "24 h"} {
			if !strings.Contains(body, want) {
				t.Fatalf("English page lacks %q:\n%s", want, body)
			}
		}
		e.drain()
		if _, _, err := e.np.ReconcileIfDue(e.ctx); err != nil {
			t.Fatal(err)
		}
		res, body = do(t, "GET", srv.URL+"/api/v1/national-portal/reconciliations/schedule", "leader", "", "", "")
		var sch nationalportal.ScheduleStatus
		if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &sch) != nil || sch.Runs != 1 || !sch.LastOK ||
			!sch.NextRunAt.Equal(at(2026, 3, 3, 8, 0)) {
			t.Fatalf("schedule = %d %s", res.StatusCode, body)
		}
		_, body = do(t, "GET", srv.URL+"/admin/national-portal", "leader", "", "", "")
		for _, want := range []string{"từ 01/03/2026 đến 01/03/2026, 0 sai lệch", "03/03/2026 08:00", "Đã gửi 1/1 hồ sơ"} {
			if !strings.Contains(body, want) {
				t.Fatalf("Vietnamese page lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, `action="/admin/national-portal/backfill"`) {
			t.Fatal("a leader is offered the backfill form")
		}

		// The form: a missing choice is shown next to the field; cancelling.
		res, body = do(t, "POST", srv.URL+"/admin/national-portal/backfill", "admin", "application/x-www-form-urlencoded", "since=", "")
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `aria-describedby="since-hint since-err"`) ||
			!strings.Contains(body, "Nhập ngày tiếp nhận bắt đầu") {
			t.Fatalf("empty form = %d\n%s", res.StatusCode, body)
		}
		res, _ = do(t, "POST", srv.URL+"/admin/national-portal/backfill/cancel", "admin", "application/x-www-form-urlencoded", "", "")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("cancel = %d", res.StatusCode)
		}
		res, _ = do(t, "POST", srv.URL+"/admin/national-portal/backfill", "admin", "application/x-www-form-urlencoded", "all=1", "")
		if st, _ := e.np.BackfillStatus(e.ctx); res.StatusCode != http.StatusSeeOther || st.State != nationalportal.BackfillCounting || !st.Since.IsZero() {
			t.Fatalf("start from the page = %d, %+v", res.StatusCode, st)
		}
		res, body = do(t, "POST", srv.URL+"/api/v1/national-portal/backfill/cancel", "admin", "application/json", "", "")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"state":"cancelled"`) {
			t.Fatalf("cancel = %d %s", res.StatusCode, body)
		}
	})
}

// The command line records a backfill for the servers and reports progress.
func TestCommand(t *testing.T) {
	d := dbtest.SQLite(t, migrations())
	ctx := context.Background()
	var out strings.Builder
	run := func(args ...string) error {
		out.Reset()
		return nationalportal.Command(ctx, d, args, "ops", &out)
	}
	for _, bad := range [][]string{{}, {"backfill"}, {"backfill", "-all", "-since", "2020-01-01"}, {"backfill", "-since", "01/01/2020"},
		{"frobnicate"}, {"status", "extra"}} {
		if err := run(bad...); !errors.Is(err, nationalportal.ErrUsage) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	if err := run("status"); err != nil || !strings.Contains(out.String(), "backfill: none") ||
		!strings.Contains(out.String(), "reconciliation: not scheduled yet") {
		t.Fatalf("status = %v\n%s", err, out.String())
	}
	if err := run("backfill", "-since", "2020-01-01"); err != nil || !strings.Contains(out.String(), "backfill 1 started") ||
		!strings.Contains(out.String(), "since 2020-01-01, by ops): counting") {
		t.Fatalf("backfill = %v\n%s", err, out.String())
	}
	if err := run("backfill", "-all"); !errors.Is(err, nationalportal.ErrBackfillRunning) {
		t.Fatalf("another period: %v", err)
	}
	if err := run("backfill-cancel"); err != nil || !strings.Contains(out.String(), "cancelled") {
		t.Fatalf("cancel = %v\n%s", err, out.String())
	}
}
