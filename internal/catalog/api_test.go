package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/db"
)

type ctxKey struct{}

// testAuth allows what the request's X-Test-Grant header says: "*" for
// everything province-wide, or an agency e-ID for that agency only.
func testAuth(ctx context.Context, action, unitID string) bool {
	g, _ := ctx.Value(ctxKey{}).(string)
	return g == "*" || (g != "" && g == unitID && action == catalog.ActionEdit)
}

func apiServer(t *testing.T, svc *catalog.Service) *httptest.Server {
	mux := http.NewServeMux()
	catalog.NewHandlers(svc, catalog.AuthorizerFunc(testAuth)).Routes(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, r.Header.Get("X-Test-Grant"))))
	}))
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func call(t *testing.T, srv *httptest.Server, method, path, grant, contentType string, body string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if grant != "" {
		req.Header.Set("X-Test-Grant", grant)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, b}
}

func get(t *testing.T, srv *httptest.Server, path string) response {
	t.Helper()
	return call(t, srv, "GET", path, "", "", "")
}

func items(t *testing.T, r response) []map[string]any {
	t.Helper()
	var l struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func expect(t *testing.T, r response, status int, what string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
	}
}

func TestAPIReads(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		fixture(t, svc)
		srv := apiServer(t, svc)

		r := get(t, srv, "/api/v1/procedures?q="+url.QueryEscape("giay phep xay dung"))
		expect(t, r, 200, "search")
		if it := items(t, r); len(it) != 2 || it[0]["code"] != "1.004227" || it[0]["field_name"] != "Xây dựng" {
			t.Errorf("search: %s", r.body)
		}
		// Paging with cursors covers every result once.
		seen := map[string]bool{}
		path := "/api/v1/procedures?limit=2"
		for pages := 0; path != ""; pages++ {
			r := get(t, srv, path)
			expect(t, r, 200, "page")
			m := r.json(t)
			if m["total"] != float64(5) || pages > 3 {
				t.Fatalf("page %d: %s", pages, r.body)
			}
			for _, it := range items(t, r) {
				seen[it["code"].(string)] = true
			}
			path = ""
			if next, _ := m["next"].(string); next != "" {
				path = "/api/v1/procedures?limit=2&cursor=" + next
			}
		}
		if len(seen) != 5 {
			t.Errorf("paging saw %d procedures", len(seen))
		}

		r = get(t, srv, "/api/v1/procedures/1.004227")
		expect(t, r, 200, "detail")
		m := r.json(t)
		if m["competent_agency_name"] != "Sở Xây dựng" || m["total_fee"] != float64(50000) || len(m["documents"].([]any)) != 2 {
			t.Errorf("detail: %s", r.body)
		}
		if _, ok := m["form_schema"].(map[string]any); !ok {
			t.Errorf("form schema should be embedded JSON: %s", r.body)
		}
		r = get(t, srv, "/api/v1/procedures/9.999999")
		expect(t, r, 404, "unknown procedure")
		if r.header.Get("Content-Type") != "application/problem+json" || r.json(t)["code"] != "catalog.not_found" {
			t.Errorf("404 problem: %s", r.body)
		}
		expect(t, get(t, srv, "/api/v1/procedures?at=15-03-2026"), 400, "bad date")
		expect(t, get(t, srv, "/api/v1/procedures?level=district"), 422, "bad level")
		expect(t, get(t, srv, "/api/v1/procedures?latest=1"), 403, "latest view without right")

		r = get(t, srv, "/api/v1/admin-units?at=2025-06-30&level=district")
		if it := items(t, r); len(it) != 1 || it[0]["code"] != "D991" {
			t.Errorf("districts on 2025-06-30: %s", r.body)
		}
		r = get(t, srv, "/api/v1/admin-units?include_history=1&limit=200")
		if n := len(items(t, r)); n != 8 {
			t.Errorf("with history: %d units", n)
		}
		r = get(t, srv, "/api/v1/admin-units/D99101")
		expect(t, r, 200, "old unit")
		m = r.json(t)
		if m["in_force"] != false || m["full_name"] != "Xã An Hòa" || m["current"].([]any)[0].(map[string]any)["code"] != "D99501" {
			t.Errorf("old unit: %s", r.body)
		}
		r = get(t, srv, "/api/v1/admin-units/D99501")
		if p := r.json(t)["predecessors"].([]any); len(p) != 3 {
			t.Errorf("predecessors: %s", r.body)
		}
		r = get(t, srv, "/api/v1/agencies?parent="+eidJustice)
		if it := items(t, r); len(it) != 1 || it[0]["eid"] != eidJustUnit {
			t.Errorf("units of the justice department: %s", r.body)
		}
		r = get(t, srv, "/api/v1/fields")
		if n := len(items(t, r)); n != 3 {
			t.Errorf("fields: %s", r.body)
		}
	})
}

func TestAPIWrites(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		fixture(t, svc)
		srv := apiServer(t, svc)
		const js = "application/json"

		body := `{"code":"1.009000","name":"Cấp chứng chỉ năng lực hoạt động xây dựng","field_code":"XD","level":"province",
"competent_agency":"` + eidBuild + `","online_level":"full","documents":[{"name":"Đơn","form":"electronic","quantity":1,"required":true}],
"fees":[],"duration":{"value":20,"unit":"working_days"},"legal_basis":["Luật Xây dựng"],"form_schema":{"type":"object"},
"effective_from":"2025-07-01","status":"draft"}`
		expect(t, call(t, srv, "POST", "/api/v1/procedures", "", js, body), 403, "anonymous create")
		// A catalog administrator of another agency may not create it.
		expect(t, call(t, srv, "POST", "/api/v1/procedures", eidJustice, js, body), 403, "other agency")
		r := call(t, srv, "POST", "/api/v1/procedures", eidBuild, js, body)
		expect(t, r, 201, "create")
		if m := r.json(t); m["version"] != float64(1) || m["status"] != "draft" {
			t.Errorf("created: %s", r.body)
		}
		expect(t, call(t, srv, "POST", "/api/v1/procedures", eidBuild, js, body), 409, "create twice")
		// The draft is hidden from the public, visible to its editors.
		expect(t, get(t, srv, "/api/v1/procedures/1.009000?version=1"), 404, "public draft")
		expect(t, call(t, srv, "GET", "/api/v1/procedures/1.009000?version=1", eidBuild, "", ""), 200, "editor's draft")
		r = call(t, srv, "GET", "/api/v1/procedures?latest=1&status=draft", "*", "", "")
		if it := items(t, r); len(it) != 1 {
			t.Errorf("drafts: %s", r.body)
		}
		expect(t, call(t, srv, "POST", "/api/v1/procedures/1.009000/versions/1/publish", eidBuild, js, ""), 200, "publish")
		expect(t, get(t, srv, "/api/v1/procedures/1.009000"), 200, "published")

		// Validation errors name each field.
		bad := strings.Replace(body, `"field_code":"XD"`, `"field_code":"ZZ"`, 1)
		bad = strings.Replace(bad, `"duration":{"value":20`, `"duration":{"value":0`, 1)
		r = call(t, srv, "PUT", "/api/v1/procedures/1.009000", eidBuild, js, bad)
		expect(t, r, 422, "invalid save")
		fields := map[string]bool{}
		for _, e := range r.json(t)["errors"].([]any) {
			fields[e.(map[string]any)["field"].(string)] = true
		}
		if !fields["field_code"] || !fields["duration.value"] {
			t.Errorf("field errors: %s", r.body)
		}
		// In English the messages are English.
		r = call(t, srv, "PUT", "/api/v1/procedures/1.009000", eidBuild, js, bad, "Accept-Language", "en")
		if !strings.Contains(string(r.body), "The referenced entry does not exist.") {
			t.Errorf("English problem: %s", r.body)
		}
		// Moving a procedure to another agency needs rights on both.
		moved := strings.Replace(body, eidBuild, eidJustice, 1)
		expect(t, call(t, srv, "PUT", "/api/v1/procedures/1.009000", eidJustice, js, moved), 403, "move away")
		expect(t, call(t, srv, "PUT", "/api/v1/procedures/1.009000", "*", js, strings.Replace(body, `"status":"draft"`, `"status":"draft","version":0`, 1)), 200, "new draft")
		expect(t, call(t, srv, "POST", "/api/v1/procedures/1.009000/retire", "*", js, `{"effective_to":"2027-01-01"}`), 200, "retire")

		// Province-wide catalogs need a province-wide grant.
		unit := `{"code":"D99700","name":"Tân Thành","level":"commune","kind":"xa","parent_code":"D99","effective_from":"2025-07-01"}`
		expect(t, call(t, srv, "PUT", "/api/v1/admin-units/D99700", eidBuild, js, unit), 403, "unit by agency admin")
		expect(t, call(t, srv, "PUT", "/api/v1/admin-units/D99700", "*", js, unit), 200, "unit")
		expect(t, call(t, srv, "PUT", "/api/v1/admin-units/D99701", "*", js, unit), 422, "code mismatch")
		expect(t, call(t, srv, "PUT", "/api/v1/fields/QH", "*", js, `{"name":"Quy hoạch"}`), 200, "field")
		// Renaming an agency through PUT on its old e-ID.
		a := `{"eid":"000.00.39.H99","name":"Sở Tư pháp","kind":"agency","level":"province","parent_eid":"` + eidProvince + `","effective_from":"1991-08-12"}`
		r = call(t, srv, "PUT", "/api/v1/agencies/"+eidJustice, "*", js, a)
		expect(t, r, 200, "rename")
		r = get(t, srv, "/api/v1/agencies/"+eidJustice)
		if m := r.json(t); m["eid"] != "000.00.39.H99" {
			t.Errorf("old e-ID: %s", r.body)
		}
		expect(t, call(t, srv, "PUT", "/api/v1/fields/QH", "*", "text/plain", `{"name":"x"}`), 415, "wrong content type")
		expect(t, call(t, srv, "PUT", "/api/v1/fields/QH", "*", js, `{"name":"x","colour":1}`), 400, "unknown JSON field")
	})
}

func TestAPIImportExport(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		fixture(t, svc)
		srv := apiServer(t, svc)
		csvFile := "code,name\nA1,Một\n,Thiếu mã\nA1,Trùng\n"
		expect(t, call(t, srv, "POST", "/api/v1/catalog/import?kind=fields&format=csv", "", "text/csv", csvFile), 403, "anonymous import")
		expect(t, call(t, srv, "POST", "/api/v1/catalog/import?kind=fields&format=csv", eidBuild, "text/csv", csvFile), 403, "agency admin import")
		expect(t, call(t, srv, "POST", "/api/v1/catalog/import?kind=things&format=csv", "*", "text/csv", csvFile), 400, "bad kind")
		r := call(t, srv, "POST", "/api/v1/catalog/import?kind=fields&format=csv", "*", "text/csv", csvFile)
		expect(t, r, 422, "bad import")
		var p struct {
			Code   string               `json:"code"`
			Report catalog.ImportReport `json:"report"`
		}
		json.Unmarshal(r.body, &p)
		if p.Code != "catalog.import_rejected" || len(p.Report.Errors) != 2 || p.Report.Errors[0].Line != 3 || p.Report.Errors[1].Line != 4 {
			t.Errorf("rejected import: %s", r.body)
		}
		good := "code,name\nA1,Một\nA2,Hai\n"
		r = call(t, srv, "POST", "/api/v1/catalog/import?kind=fields&format=csv&dry_run=1", "*", "text/csv", good)
		expect(t, r, 200, "dry run")
		if m := r.json(t); m["created"] != float64(2) || m["dry_run"] != true {
			t.Errorf("dry run: %s", r.body)
		}
		if n := len(items(t, get(t, srv, "/api/v1/fields"))); n != 3 {
			t.Errorf("dry run wrote: %d fields", n)
		}
		expect(t, call(t, srv, "POST", "/api/v1/catalog/import?kind=fields&format=csv", "*", "text/csv", good), 200, "import")

		r = get(t, srv, "/api/v1/catalog/export?kind=fields&format=csv")
		expect(t, r, 200, "export")
		if !bytes.HasPrefix(r.body, []byte("\ufeffcode,name\r\nA1,Một\r\n")) || !strings.Contains(r.header.Get("Content-Disposition"), "fields-2026-03-15.csv") {
			t.Errorf("export: %q %v", r.body, r.header)
		}
		expect(t, get(t, srv, "/api/v1/catalog/export?kind=procedures&format=json"), 403, "procedures export holds drafts")
		r = call(t, srv, "GET", "/api/v1/catalog/export?kind=procedures&format=json", "*", "", "")
		expect(t, r, 200, "procedures export")
		var list []catalog.Procedure
		if err := json.Unmarshal(r.body, &list); err != nil || len(list) != 5 {
			t.Errorf("procedures export: %v, %d", err, len(list))
		}
	})
}
