package portal_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// one-stop §9: the public lookup needs the code and the phone's last four
// digits, shows the status and steps, and nothing personal; the statistics
// page shows the on-time rate and the online share by agency and field.
func TestLookupAndStatisticsPages(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.submitPermit(e.an)
		if _, err := e.svc.Receive(e.ctx, dossier.ReceiveInput{DossierCode: code, Placement: dossier.Placement{DivisionUnit: division},
			Actor: e.officer}); err != nil {
			t.Fatal(err)
		}
		if res := e.get("/lookup", nil); res.status != http.StatusOK || !strings.Contains(res.body, `id="lookup-form"`) {
			t.Errorf("lookup form: %d", res.status)
		}
		res := e.get("/lookup?code="+code+"&phone4=5678", nil)
		if res.status != http.StatusOK {
			t.Fatalf("lookup: %d\n%s", res.status, res.body)
		}
		mustContain(t, "the lookup", res.body, `id="lookup-result"`, "Đã tiếp nhận", "Cấp giấy phép xây dựng mới", "Ngày hẹn trả")
		for _, secret := range []string{"Nguyễn Văn An", "001090012345", "Lê Lợi", "Thửa 12"} {
			if strings.Contains(res.body, secret) {
				t.Errorf("the public lookup shows %q", secret)
			}
		}
		res = e.get("/lookup?code="+code+"&phone4=1234", nil)
		if res.status != http.StatusNotFound || !strings.Contains(res.body, "Không tìm thấy hồ sơ") || strings.Contains(res.body, "lookup-result") {
			t.Errorf("wrong digits: %d", res.status)
		}
		res = e.get("/lookup?code=&phone4=12", nil)
		mustContain(t, "the invalid lookup", res.body, `id="code-err"`, `id="phone4-err"`, `aria-invalid="true"`)

		if _, err := e.disp.Drain(e.ctx); err != nil {
			t.Fatal(err)
		}
		res = e.get("/statistics", nil)
		if res.status != http.StatusOK {
			t.Fatalf("statistics: %d\n%s", res.status, res.body)
		}
		mustContain(t, "the statistics", res.body, `id="by-agency"`, `id="by-field"`, "Sở Xây dựng", "Xây dựng", "100.0%")
		if res := e.get("/statistics?year=1990", nil); res.status != http.StatusOK || !strings.Contains(res.body, "2026") {
			t.Errorf("statistics of an odd year: %d", res.status)
		}
		res = e.get("/help", nil)
		mustContain(t, "the help page", res.body, "Câu hỏi thường gặp", "Đang khai mà mất mạng thì sao?")
	})
}

// gzipSize is the size of b compressed as a server would send it.
func gzipSize(b []byte) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	w.Write(b)
	w.Close()
	return buf.Len()
}

// budget is the most a page with its style sheet and script may weigh
// compressed: a cheap phone on a slow mobile network (issue 4).
const budget = 100 << 10

// The procedure page and the application form, each with the CSS and
// script they load, stay under 100 KB compressed.
func TestPageWeight(t *testing.T) {
	e := newEnv(t, dbtest.SQLite(t, migrations()))
	css := e.get("/static/app.css", nil)
	js := e.get("/portal/autosave.js", nil)
	if css.status != 200 || js.status != 200 {
		t.Fatalf("assets: %d %d", css.status, js.status)
	}
	for _, c := range []struct {
		path   string
		assets []string
	}{
		{"/procedures/" + permit, []string{css.body}},
		{"/apply/" + permit, []string{css.body, js.body}},
	} {
		page := e.get(c.path, e.an)
		if page.status != 200 {
			t.Fatalf("%s: %d", c.path, page.status)
		}
		total := gzipSize([]byte(page.body))
		for _, a := range c.assets {
			total += gzipSize([]byte(a))
		}
		t.Logf("%s: %d bytes of HTML, %d bytes gzip with its assets", c.path, len(page.body), total)
		if total > budget {
			t.Errorf("%s weighs %d bytes compressed with its assets, over %d", c.path, total, budget)
		}
	}
}

// BenchmarkPages measures the server time of the procedure page and the
// application form (in process, no network), on each engine, and reports
// the 95th percentile:
//
//	CONGSO_TEST_POSTGRES=postgres://... go test -run '^$' -bench BenchmarkPages -benchtime 300x ./internal/portal/
func BenchmarkPages(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		e := newEnv(b, dbtest.Open(b, engine, migrations()))
		for _, path := range []string{"/procedures/" + permit, "/apply/" + permit, "/procedures?q=giay+phep+xay+dugn"} {
			b.Run(string(engine)+path, func(b *testing.B) {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("X-Test-User", e.an.PersonID)
				durations := make([]time.Duration, 0, b.N)
				for b.Loop() {
					w := httptest.NewRecorder()
					start := time.Now()
					e.handler.ServeHTTP(w, req)
					durations = append(durations, time.Since(start))
					if w.Code != 200 {
						b.Fatalf("%s: %d", path, w.Code)
					}
				}
				slices.Sort(durations)
				b.ReportMetric(float64(durations[len(durations)*95/100].Microseconds())/1000, "p95-ms")
			})
		}
	}
}
