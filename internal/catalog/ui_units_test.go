package catalog_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

// postForm posts form to path as grant and returns the status, headers and body.
func postForm(t *testing.T, srv *httptest.Server, path, grant string, form url.Values) (int, http.Header, string) {
	t.Helper()
	return page(t, srv, "POST", path, grant, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// contains fails the test for each want missing from body.
func contains(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// redirected fails unless the answer is a 303 to a location beginning with prefix.
func redirected(t *testing.T, what string, status int, hdr http.Header, prefix string) {
	t.Helper()
	if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), prefix) {
		t.Errorf("%s: %d %q, want 303 to %s…", what, status, hdr.Get("Location"), prefix)
	}
}

// unitForm is the edit form of u as the page fills it in.
func unitForm(u catalog.AdminUnit) url.Values {
	return url.Values{
		"csrf_token": {"x"}, "code": {u.Code}, "name": {u.Name}, "level": {string(u.Level)}, "kind": {string(u.Kind)},
		"parent_code": {u.ParentCode}, "effective_from": {u.EffectiveFrom.String()}, "effective_to": {u.EffectiveTo.String()},
		"successors": {strings.Join(u.Successors, "; ")},
	}
}

func TestUnitPages(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		if err := catalog.LoadDemo(ctx, svc); err != nil {
			t.Fatal(err)
		}
		srv := uiServer(t, svc)

		// Search without diacritics finds Phường Bình Minh (today's list only).
		status, _, body := page(t, srv, "GET", "/admin/catalog/units?q=binh+minh", "*", "", nil)
		if status != 200 {
			t.Fatalf("unit search: %d", status)
		}
		contains(t, "unit search", body, "Tìm thấy 1 đơn vị.", `href="/admin/catalog/units/D99004"`, "Bình Minh", "Phường")
		if strings.Contains(body, "Hưng Phú") {
			t.Error("unit search shows a unit that does not match")
		}
		// The level filter and the history checkbox.
		_, _, body = page(t, srv, "GET", "/admin/catalog/units?level=district", "*", "", nil)
		contains(t, "districts today", body, "Tìm thấy 0 đơn vị.")
		_, _, body = page(t, srv, "GET", "/admin/catalog/units?level=district&history=1", "*", "", nil)
		contains(t, "districts with history", body, "Tìm thấy 5 đơn vị.", "Huyện", "Đông Sơn")

		// Xã Đông Lợi merged into Xã Đông Hòa in 2020, which became part of
		// Xã Đông Sơn (D99010) in 2025.
		old := must[[]catalog.AdminUnit](t)(svc.AdminUnits(ctx, catalog.AdminUnitQuery{IncludeHistory: true, Text: "dong loi"}))
		if len(old) != 1 {
			t.Fatalf("Đông Lợi: %+v", old)
		}
		dongLoi, dongHoa := old[0].Code, old[0].Successors[0]
		_, _, body = page(t, srv, "GET", "/admin/catalog/units?q=dong+loi", "*", "", nil)
		contains(t, "ceased unit without history", body, "Tìm thấy 0 đơn vị.")
		_, _, body = page(t, srv, "GET", "/admin/catalog/units?q=dong+loi&history=1", "*", "", nil)
		contains(t, "ceased unit with history", body, "Tìm thấy 1 đơn vị.", "Đông Lợi", "Đã chấm dứt",
			`href="/admin/catalog/units/`+dongHoa+`">Xã Đông Hòa</a>`, "Nay thuộc:", `href="/admin/catalog/units/D99010">Xã Đông Sơn</a>`)

		status, _, body = page(t, srv, "GET", "/admin/catalog/units/"+dongLoi, "*", "", nil)
		if status != 200 {
			t.Fatalf("unit page: %d", status)
		}
		became := body[strings.Index(body, "Được sáp nhập, chuyển thành"):strings.Index(body, "Hiện nay")]
		if i, j := strings.Index(became, "Xã Đông Hòa"), strings.Index(became, "Xã Đông Sơn"); i < 0 || j < i {
			t.Errorf("successor chain of Đông Lợi: %s", became)
		}
		contains(t, "Đông Lợi today", body[strings.Index(body, "Hiện nay"):], "Xã Đông Sơn")
		// The other way round: Đông Sơn was formed from Đông Hòa, itself formed from Đông Lợi.
		_, _, body = page(t, srv, "GET", "/admin/catalog/units/D99010", "*", "", nil)
		formed := body[strings.Index(body, "Hình thành từ"):strings.Index(body, "Được sáp nhập, chuyển thành")]
		contains(t, "predecessors of Đông Sơn", formed, "Thị trấn Đông Sơn", "Xã Đông Hòa", "Xã Đông Lợi", "Huyện Đông Sơn")
		contains(t, "Đông Sơn page", body, "Ủy ban nhân dân xã Đông Sơn", "Đơn vị đang có hiệu lực.")
		if status, _, _ := page(t, srv, "GET", "/admin/catalog/units/D77777", "*", "", nil); status != 404 {
			t.Errorf("unknown unit: %d", status)
		}

		// An invalid edit shows every problem in Vietnamese and saves nothing.
		before := must[catalog.AdminUnit](t)(svc.AdminUnit(ctx, "D99004"))
		bad := unitForm(before)
		bad.Set("name", "")
		bad.Set("effective_to", "2025-01-01")
		bad.Set("successors", "D99999")
		status, _, body = postForm(t, srv, "/admin/catalog/units/D99004", "*", bad)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("invalid unit edit: %d", status)
		}
		contains(t, "invalid unit edit", body, "Chưa lưu được", "Không được để trống.", "phải sau ngày bắt đầu hiệu lực",
			"Không có đơn vị hành chính mã", `aria-invalid="true"`, `value="D99999"`, `<a href="#name">Tên đơn vị</a>`)
		bad = unitForm(before)
		bad.Set("effective_from", "31/02/2025")
		status, _, body = postForm(t, srv, "/admin/catalog/units/D99004", "*", bad)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("unit edit with a bad date: %d", status)
		}
		contains(t, "unit edit with a bad date", body, "Ngày &#34;31/02/2025&#34; không hợp lệ")
		if strings.Contains(body, "Cần ngày bắt đầu hiệu lực") {
			t.Error("a bad date is also reported as missing")
		}
		if after := must[catalog.AdminUnit](t)(svc.AdminUnit(ctx, "D99004")); !reflect.DeepEqual(after, before) {
			t.Errorf("an invalid edit changed the unit: %+v", after)
		}

		// A valid edit is saved and shown; a date typed as DD/MM/YYYY is understood.
		good := unitForm(before)
		good.Set("name", "Bình Minh Mới")
		good.Set("effective_from", "01/07/2025")
		status, hdr, _ := postForm(t, srv, "/admin/catalog/units/D99004", "*", good)
		redirected(t, "unit edit", status, hdr, "/admin/catalog/units/D99004")
		if !strings.Contains(hdr.Get("Set-Cookie"), "catalog.ui.unit.saved") {
			t.Errorf("no flash after saving: %q", hdr.Get("Set-Cookie"))
		}
		if u := must[catalog.AdminUnit](t)(svc.AdminUnit(ctx, "D99004")); u.Name != "Bình Minh Mới" || u.EffectiveFrom != before.EffectiveFrom {
			t.Errorf("saved unit: %+v", u)
		}
		req, _ := http.NewRequest("GET", srv.URL+"/admin/catalog/units/D99004", nil)
		req.Header.Set("X-Test-Grant", "*")
		req.AddCookie(&http.Cookie{Name: "flash", Value: "catalog.ui.unit.saved"})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		contains(t, "unit page after saving", string(b), "Đã lưu đơn vị hành chính.", "<h1>Phường Bình Minh Mới</h1>")

		// Creating: the form offers the province as parent; an existing code is refused.
		status, _, body = page(t, srv, "GET", "/admin/catalog/units/new", "*", "", nil)
		if status != 200 || !strings.Contains(body, `<option value="D99" selected>`) {
			t.Errorf("new unit form: %d", status)
		}
		dup := unitForm(catalog.AdminUnit{Code: "D99004", Name: "Trùng", Level: catalog.LevelCommune, Kind: catalog.KindCommune,
			ParentCode: "D99", EffectiveFrom: date("2026-01-01")})
		status, _, body = postForm(t, srv, "/admin/catalog/units", "*", dup)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Đã có đơn vị hành chính mã D99004.") {
			t.Errorf("duplicate unit: %d", status)
		}
		if u := must[catalog.AdminUnit](t)(svc.AdminUnit(ctx, "D99004")); u.Name != "Bình Minh Mới" {
			t.Errorf("creating a duplicate overwrote the unit: %+v", u)
		}
		// A new unit that two communes merge into, typed in lower case.
		status, hdr, _ = postForm(t, srv, "/admin/catalog/units", "*", unitForm(catalog.AdminUnit{Code: "d99100", Name: "Hưng Lợi",
			Level: catalog.LevelCommune, Kind: catalog.KindWard, ParentCode: "D99", EffectiveFrom: date("2026-03-01")}))
		redirected(t, "new unit", status, hdr, "/admin/catalog/units/D99100")
		for _, code := range []string{"D99005", "D99006"} {
			f := unitForm(must[catalog.AdminUnit](t)(svc.AdminUnit(ctx, code)))
			f.Set("effective_to", "2026-03-01")
			f.Set("successors", "d99100")
			status, hdr, body = postForm(t, srv, "/admin/catalog/units/"+code, "*", f)
			redirected(t, "merge "+code, status, hdr, "/admin/catalog/units/"+code)
		}
		now := must[[]catalog.AdminUnit](t)(svc.ResolveAdminUnit(ctx, "D99005", date("2026-03-15")))
		if len(now) != 1 || now[0].Code != "D99100" {
			t.Errorf("Hưng Phú after the merger: %+v", now)
		}
		_, _, body = page(t, srv, "GET", "/admin/catalog/units/D99100", "*", "", nil)
		contains(t, "merged unit", body, "Phường Hưng Phú", "Phường Phú Lợi")
	})
}

func TestAgencyPages(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		srv := uiServer(t, svc)

		// The tree: units are nested under their agency.
		status, _, body := page(t, srv, "GET", "/admin/catalog/agencies", "*", "", nil)
		if status != 200 {
			t.Fatalf("agency list: %d", status)
		}
		contains(t, "agency tree", body, "Có 5 cơ quan, đơn vị.", "Ủy ban nhân dân tỉnh Thử Nghiệm")
		i, j := strings.Index(body, ">Sở Tư pháp<"), strings.Index(body, ">Phòng Hành chính tư pháp<")
		if i < 0 || j < i || !strings.Contains(body[i:j], "<ul>") || strings.Contains(body[i:j], "</li>") {
			t.Errorf("the unit is not nested under its agency")
		}
		_, _, body = page(t, srv, "GET", "/admin/catalog/agencies?q=so+xay+dung", "*", "", nil)
		contains(t, "agency search", body, "Có 1 cơ quan, đơn vị.", "Sở Xây dựng", "Ủy ban nhân dân tỉnh Thử Nghiệm")
		if strings.Contains(body, "Sở Tư pháp") {
			t.Error("agency search shows an agency that does not match")
		}
		_, _, body = page(t, srv, "GET", "/admin/catalog/agencies?level=commune", "*", "", nil)
		contains(t, "commune agencies", body, "Có 1 cơ quan, đơn vị.", "Ủy ban nhân dân xã An Phú")

		status, _, body = page(t, srv, "GET", "/admin/catalog/agencies/"+eidJustice, "*", "", nil)
		if status != 200 {
			t.Fatalf("agency page: %d", status)
		}
		contains(t, "agency page", body, "<h1>Sở Tư pháp</h1>", `href="/admin/catalog/agencies/`+eidJustUnit+`"`,
			`action="/admin/catalog/agencies/`+eidJustice+`/rename"`, `name="csrf_token"`)

		// An invalid edit: a unit needs a parent, and the seat must be of the agency's level.
		before := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild))
		form := url.Values{"name": {"Sở Xây dựng"}, "short_name": {"SXD"}, "kind": {"unit"}, "level": {"province"},
			"parent_eid": {""}, "admin_unit_code": {"D99501"}, "effective_from": {"1991-08-12"}}
		status, _, body = postForm(t, srv, "/admin/catalog/agencies/"+eidBuild, "*", form)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("invalid agency edit: %d", status)
		}
		contains(t, "invalid agency edit", body, "Đơn vị trực thuộc phải có cơ quan cấp trên.")
		if after := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild)); !reflect.DeepEqual(after, before) {
			t.Errorf("an invalid edit changed the agency: %+v", after)
		}
		form.Set("kind", "agency")
		form.Set("parent_eid", eidProvince)
		status, _, body = postForm(t, srv, "/admin/catalog/agencies/"+eidBuild, "*", form)
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("agency seated in a commune: %d", status)
		}
		contains(t, "agency seated in a commune", body, "khác cấp của cơ quan")

		// A valid edit.
		form.Set("admin_unit_code", "D99")
		form.Set("short_name", "Sở XD")
		status, hdr, _ := postForm(t, srv, "/admin/catalog/agencies/"+eidBuild, "*", form)
		redirected(t, "agency edit", status, hdr, "/admin/catalog/agencies/"+eidBuild)
		if a := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild)); a.ShortName != "Sở XD" || a.AdminUnitCode != "D99" {
			t.Errorf("saved agency: %+v", a)
		}

		// Renaming keeps the old e-ID as an alias.
		const newEID = "000.00.07.H99"
		status, hdr, _ = postForm(t, srv, "/admin/catalog/agencies/"+eidBuild+"/rename", "*", url.Values{"new_eid": {newEID}})
		redirected(t, "rename", status, hdr, "/admin/catalog/agencies/"+newEID)
		a := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild))
		if a.EID != newEID || !slices.Contains(a.FormerEIDs, eidBuild) || a.Name != "Sở Xây dựng" {
			t.Errorf("old e-ID after the rename: %+v", a)
		}
		if p := must[catalog.Procedure](t)(svc.Procedure(ctx, "1.004227", calendar.Date{})); p.CompetentAgency != newEID {
			t.Errorf("procedure's agency after the rename: %s", p.CompetentAgency)
		}
		status, hdr, _ = page(t, srv, "GET", "/admin/catalog/agencies/"+eidBuild, "*", "", nil)
		redirected(t, "page at the old e-ID", status, hdr, "/admin/catalog/agencies/"+newEID)
		_, _, body = page(t, srv, "GET", "/admin/catalog/agencies/"+newEID, "*", "", nil)
		contains(t, "renamed agency page", body, "Mã định danh cũ", eidBuild)

		// Refused renames change nothing.
		for _, c := range []struct{ eid, want string }{
			{eidJustice, "đã thuộc về Sở Tư pháp"},
			{eidBuild, "là mã cũ của"},
			{"abc!", "không đúng định dạng"},
			{"", "Không được để trống."},
			{newEID, "Mã mới trùng mã hiện tại."},
		} {
			status, _, body = postForm(t, srv, "/admin/catalog/agencies/"+newEID+"/rename", "*", url.Values{"new_eid": {c.eid}})
			if status != http.StatusUnprocessableEntity {
				t.Errorf("rename to %q: %d", c.eid, status)
			}
			contains(t, "rename to "+c.eid, body, c.want, "Chưa đổi được mã định danh", `id="new_eid-err"`)
		}
		if a := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild)); a.EID != newEID || len(a.FormerEIDs) != 1 {
			t.Errorf("after refused renames: %+v", a)
		}
		status, _, body = postForm(t, srv, "/admin/catalog/agencies/"+eidJustice+"/rename", "*", url.Values{"new_eid": {eidBuild}})
		if status != http.StatusUnprocessableEntity {
			t.Errorf("rename to another agency's former e-ID: %d", status)
		}
		contains(t, "rename to another agency's former e-ID", body, "là mã cũ của Sở Xây dựng (nay là "+newEID+")")
		if a := must[catalog.Agency](t)(svc.Agency(ctx, eidJustice)); a.EID != eidJustice {
			t.Errorf("Sở Tư pháp after a refused rename: %+v", a)
		}

		// Creating a unit under an agency; an e-ID in use (even a former one) is refused.
		status, _, body = page(t, srv, "GET", "/admin/catalog/agencies/new?parent="+newEID, "*", "", nil)
		if status != 200 || !strings.Contains(body, `<option value="`+newEID+`" selected>`) || !strings.Contains(body, `<option value="unit" selected>`) {
			t.Errorf("new unit form: %d", status)
		}
		unit := url.Values{"eid": {"000.01.07.h99"}, "name": {"Phòng Quản lý hoạt động xây dựng"}, "kind": {"unit"}, "level": {"province"},
			"parent_eid": {newEID}, "effective_from": {"2026-01-01"}}
		status, hdr, _ = postForm(t, srv, "/admin/catalog/agencies", "*", unit)
		redirected(t, "new unit", status, hdr, "/admin/catalog/agencies/000.01.07.H99")
		if u := must[catalog.Agency](t)(svc.Agency(ctx, "000.01.07.H99")); u.ParentEID != newEID {
			t.Errorf("new unit: %+v", u)
		}
		unit.Set("eid", eidBuild)
		status, _, body = postForm(t, srv, "/admin/catalog/agencies", "*", unit)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "là mã cũ của Sở Xây dựng") {
			t.Errorf("new agency with a former e-ID: %d", status)
		}
		if a := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild)); a.EID != newEID || a.Name != "Sở Xây dựng" {
			t.Errorf("creating with a former e-ID changed the agency: %+v", a)
		}
	})
}

func TestFieldPages(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		srv := uiServer(t, svc)
		status, _, body := page(t, srv, "GET", "/admin/catalog/fields", "*", "", nil)
		if status != 200 {
			t.Fatalf("field list: %d", status)
		}
		contains(t, "field list", body, "Có 3 lĩnh vực.", `href="/admin/catalog/fields/HT"`, "Hộ tịch", `href="/admin/catalog?field=LLTP"`)

		status, _, body = postForm(t, srv, "/admin/catalog/fields", "*", url.Values{"code": {"mã sai"}, "name": {""}})
		if status != http.StatusUnprocessableEntity {
			t.Fatalf("invalid field: %d", status)
		}
		contains(t, "invalid field", body, "không đúng định dạng", "Không được để trống.", `value="mã sai"`)
		status, _, body = postForm(t, srv, "/admin/catalog/fields", "*", url.Values{"code": {"HT"}, "name": {"Hộ tịch mới"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Đã có lĩnh vực mã HT (Hộ tịch).") {
			t.Errorf("duplicate field: %d", status)
		}
		if fields := must[[]catalog.Field](t)(svc.Fields(ctx)); len(fields) != 3 || fields[0] != (catalog.Field{Code: "HT", Name: "Hộ tịch"}) {
			t.Errorf("refused forms changed the fields: %+v", fields)
		}

		status, hdr, _ := postForm(t, srv, "/admin/catalog/fields", "*", url.Values{"code": {"CT"}, "name": {"Chứng thực"}})
		redirected(t, "new field", status, hdr, "/admin/catalog/fields")
		if status, _, body := page(t, srv, "GET", "/admin/catalog/fields/HT", "*", "", nil); status != 200 || !strings.Contains(body, `value="Hộ tịch"`) {
			t.Errorf("field form: %d", status)
		}
		status, _, body = postForm(t, srv, "/admin/catalog/fields/HT", "*", url.Values{"code": {"XX"}, "name": {"  "}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Không được để trống.") {
			t.Errorf("field emptied: %d", status)
		}
		// The code at the path wins over the (read-only) code in the form.
		status, hdr, _ = postForm(t, srv, "/admin/catalog/fields/HT", "*", url.Values{"code": {"XX"}, "name": {"Hộ tịch, chứng thực"}})
		redirected(t, "field edit", status, hdr, "/admin/catalog/fields")
		if f := must[catalog.Field](t)(svc.Field(ctx, "HT")); f.Name != "Hộ tịch, chứng thực" {
			t.Errorf("saved field: %+v", f)
		}
		if _, err := svc.Field(ctx, "XX"); err == nil {
			t.Error("the form's code created a field")
		}
		_, _, body = page(t, srv, "GET", "/admin/catalog/fields", "*", "", nil)
		contains(t, "field list after saving", body, "Có 4 lĩnh vực.", "Hộ tịch, chứng thực", "Chứng thực")
		if status, _, _ := page(t, srv, "GET", "/admin/catalog/fields/ZZ", "*", "", nil); status != 404 {
			t.Errorf("unknown field: %d", status)
		}
	})
}

func TestCatalogAdminAccess(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		srv := uiServer(t, svc)
		gets := []string{"/admin/catalog/units", "/admin/catalog/units/new", "/admin/catalog/units/D99502",
			"/admin/catalog/agencies?q=so", "/admin/catalog/agencies/new", "/admin/catalog/agencies/" + eidBuild,
			"/admin/catalog/fields", "/admin/catalog/fields/new", "/admin/catalog/fields/HT"}
		for _, path := range gets {
			status, hdr, _ := page(t, srv, "GET", path, "", "", nil)
			redirected(t, "anonymous "+path, status, hdr, "/login?next="+url.QueryEscape(path))
			// An agency's catalog administrator may edit its procedures, not the shared catalogs.
			if status, _, _ := page(t, srv, "GET", path, eidBuild, "", nil); status != http.StatusForbidden {
				t.Errorf("agency administrator on %s: %d", path, status)
			}
		}
		posts := map[string]url.Values{
			"/admin/catalog/units":                            {"code": {"D99900"}, "name": {"Mới"}, "level": {"commune"}, "kind": {"xa"}, "parent_code": {"D99"}, "effective_from": {"2026-01-01"}},
			"/admin/catalog/units/D99502":                     {"name": {"Đổi tên"}, "level": {"commune"}, "kind": {"phuong"}, "parent_code": {"D99"}, "effective_from": {"2025-07-01"}},
			"/admin/catalog/agencies":                         {"eid": {"000.00.30.H99"}, "name": {"Mới"}, "kind": {"agency"}, "level": {"province"}, "effective_from": {"2026-01-01"}},
			"/admin/catalog/agencies/" + eidBuild:             {"name": {"Đổi tên"}, "kind": {"agency"}, "level": {"province"}, "effective_from": {"1991-08-12"}},
			"/admin/catalog/agencies/" + eidBuild + "/rename": {"new_eid": {"000.00.31.H99"}},
			"/admin/catalog/fields":                           {"code": {"ZZ"}, "name": {"Mới"}},
			"/admin/catalog/fields/HT":                        {"name": {"Đổi tên"}},
		}
		for path, form := range posts {
			status, hdr, _ := postForm(t, srv, path, "", form)
			redirected(t, "anonymous POST "+path, status, hdr, "/login?next=")
			if status, _, _ := postForm(t, srv, path, eidBuild, form); status != http.StatusForbidden {
				t.Errorf("agency administrator POST %s: %d", path, status)
			}
		}
		if _, err := svc.AdminUnit(ctx, "D99900"); err == nil {
			t.Error("a forbidden post created a unit")
		}
		if u := must[catalog.AdminUnit](t)(svc.AdminUnit(ctx, "D99502")); u.Name != "Bình Minh" {
			t.Errorf("a forbidden post changed a unit: %+v", u)
		}
		if a := must[catalog.Agency](t)(svc.Agency(ctx, eidBuild)); a.Name != "Sở Xây dựng" || a.EID != eidBuild {
			t.Errorf("a forbidden post changed an agency: %+v", a)
		}
		if f := must[catalog.Field](t)(svc.Field(ctx, "HT")); f.Name != "Hộ tịch" {
			t.Errorf("a forbidden post changed a field: %+v", f)
		}
		// The procedure list links to the new pages.
		_, _, body := page(t, srv, "GET", "/admin/catalog", "*", "", nil)
		contains(t, "procedure admin list", body, `href="/admin/catalog/units"`, `href="/admin/catalog/agencies"`, `href="/admin/catalog/fields"`)
		// In English.
		req, _ := http.NewRequest("GET", srv.URL+"/admin/catalog/units?history=1", nil)
		req.Header.Set("X-Test-Grant", "*")
		req.Header.Set("Accept-Language", "en")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		contains(t, "English unit list", string(b), "Administrative units", "Succeeded by", "Ceased", "Rural district")
	})
}
