package catalog_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/web"
)

// one-stop §9, §13: a search with a typing mistake still finds the procedure
// (citizens type on phones, without diacritics); exact matches come first
// and are never mixed with approximate ones.
func TestSearchToleratesTypos(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		cases := []struct {
			q      string
			want   string // a code among the results
			approx bool
		}{
			{"giay phep xay dung", "1.004227", false},
			{"xay dugn", "1.004227", true},           // two letters swapped
			{"giay phep xay dumg", "1.004227", true}, // one wrong letter
			{"giay php xay dung", "1.004227", true},  // one letter missing
			{"giay pheep xay", "1.004227", true},     // one letter too many
			{"ly lich tu phap", "2.000488", false},
			{"ly lich tu phapp", "2.000488", true},
			{"khai sinh", "1.001193", false},
			{"khai sihn", "1.001193", true},
			{"ket hon", "1.000894", false},
		}
		for _, c := range cases {
			page := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{Text: c.q}))
			found := false
			for _, it := range page.Items {
				found = found || it.Code == c.want
			}
			if !found || page.Approximate != c.approx {
				t.Errorf("search %q: found %s %v, approximate %v (want %v)", c.q, c.want, found, page.Approximate, c.approx)
			}
		}
		// Nonsense finds nothing; short words get no typo budget.
		for _, q := range []string{"qwxzv plmkj", "xo"} {
			if page := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{Text: q})); page.Total != 0 {
				t.Errorf("search %q found %d", q, page.Total)
			}
		}
		// The typo pass respects filters.
		page := must[catalog.ProcedurePage](t)(svc.SearchProcedures(ctx, catalog.ProcedureQuery{Text: "xay dugn", FieldCode: "HT"}))
		if page.Total != 0 {
			t.Errorf("typo search ignored the field filter: %+v", page.Items)
		}
	})
}

// one-stop §9: the public search filters by agency and shows approximate
// results with a note; the procedure page offers "apply online" for
// procedures that can be submitted online, and tells how to apply.
func TestPublicPagesPortal(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		fixture(t, svc)
		shell, err := web.New(web.Site{ProvinceName: catalog.DemoProvinceName})
		if err != nil {
			t.Fatal(err)
		}
		pages, err := catalog.NewPages(catalog.NewHandlers(svc, nil), shell, func(w http.ResponseWriter, r *http.Request, status int) {
			w.WriteHeader(status)
		})
		if err != nil {
			t.Fatal(err)
		}
		pages.ApplyURL = func(code string) string { return "/apply/" + code }
		mux := http.NewServeMux()
		pages.Routes(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		get := func(path string) string {
			t.Helper()
			res, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				t.Fatalf("GET %s: %d", path, res.StatusCode)
			}
			return string(b)
		}
		body := get("/procedures?q=" + url.QueryEscape("xay dugn"))
		if !strings.Contains(body, "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ") || !strings.Contains(body, "kết quả gần đúng") {
			t.Errorf("typo search page lacks the permit or the note")
		}
		body = get("/procedures?agency=" + eidJustice)
		if !strings.Contains(body, "Tìm thấy 1 thủ tục") || !strings.Contains(body, "lý lịch tư pháp") ||
			!strings.Contains(body, `<option value="`+eidJustice+`" selected>Sở Tư pháp</option>`) {
			t.Errorf("agency filter page:\n%s", body)
		}
		body = get("/procedures/1.004227")
		for _, want := range []string{`id="apply-online" href="/apply/1.004227"`, "Cách thực hiện", "Sở Xây dựng"} {
			if !strings.Contains(body, want) {
				t.Errorf("procedure page lacks %q", want)
			}
		}
		// Not online: no button.
		must[catalog.Procedure](t)(svc.SaveProcedure(context.Background(), func() catalog.Procedure {
			p := fixtureProcedures()[4]
			p.Code, p.Name, p.OnlineLevel = "2.000499", "Thủ tục chỉ nộp trực tiếp", catalog.OnlineNone
			return p
		}()))
		if body := get("/procedures/2.000499"); strings.Contains(body, "apply-online") {
			t.Error("apply button on a procedure that cannot be submitted online")
		}
	})
}
