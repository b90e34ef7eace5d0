package catalog_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

func TestMessagesComplete(t *testing.T) {
	var b i18n.Bundle
	if err := b.AddFS(catalog.CatalogMessages(), "messages"); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); err != nil {
		t.Error(err)
	}
}

func uiServer(t *testing.T, svc *catalog.Service) *httptest.Server {
	t.Helper()
	shell, err := web.New(web.Site{ProvinceName: catalog.DemoProvinceName, Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	shell.CurrentUser = func(r *http.Request) *web.User {
		g, _ := r.Context().Value(ctxKey{}).(string)
		if g == "" {
			return nil
		}
		return &web.User{ID: "u1", Name: "Cán bộ", CanDo: func(a string) bool { return g == "*" }}
	}
	h := catalog.NewHandlers(svc, catalog.AuthorizerFunc(testAuth))
	pages, err := catalog.NewPages(h, shell, func(w http.ResponseWriter, r *http.Request, status int) {
		w.WriteHeader(status)
		io.WriteString(w, http.StatusText(status))
	})
	if err != nil {
		t.Fatal(err)
	}
	shell.AddNav(catalog.NavItems()...)
	mux := http.NewServeMux()
	pages.Routes(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, r.Header.Get("X-Test-Grant"))))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// noRedirect returns responses as they are, so redirects can be checked.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func page(t *testing.T, srv *httptest.Server, method, path, grant, contentType string, body io.Reader) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, body)
	if grant != "" {
		req.Header.Set("X-Test-Grant", grant)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

func TestPublicPages(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		fixture(t, svc)
		srv := uiServer(t, svc)
		status, _, body := page(t, srv, "GET", "/procedures?q="+url.QueryEscape("giay phep xay dung"), "", "", nil)
		if status != 200 || !strings.Contains(body, "Tìm thấy 2 thủ tục") {
			t.Fatalf("search page: %d\n%s", status, body)
		}
		first := strings.Index(body, "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ")
		second := strings.Index(body, "Cấp giấy phép sửa chữa, cải tạo công trình xây dựng")
		if first < 0 || second < 0 || first > second {
			t.Errorf("ranking on the page: %d, %d", first, second)
		}
		status, _, body = page(t, srv, "GET", "/procedures?field=HT&level=commune&page=1", "", "", nil)
		if status != 200 || !strings.Contains(body, "Đăng ký khai sinh") || strings.Contains(body, "xây dựng mới") {
			t.Errorf("filtered page: %d", status)
		}
		status, _, body = page(t, srv, "GET", "/procedures/1.004227", "", "", nil)
		for _, want := range []string{"Tờ khai theo mẫu", "Mẫu số 01", "50.000 ₫", "Luật Hộ tịch năm 2014", "Họ và tên", "Sở Xây dựng", "15 ngày làm việc"} {
			if !strings.Contains(body, want) {
				t.Errorf("detail page lacks %q", want)
			}
		}
		if status != 200 || strings.Contains(body, "/admin/catalog/procedures/") {
			t.Errorf("detail page: %d (edit link shown to the public?)", status)
		}
		if status, _, _ := page(t, srv, "GET", "/procedures/9.999999", "", "", nil); status != 404 {
			t.Errorf("unknown procedure: %d", status)
		}
		// English.
		req, _ := http.NewRequest("GET", srv.URL+"/procedures/1.004227", nil)
		req.Header.Set("Accept-Language", "en")
		res, _ := http.DefaultClient.Do(req)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(b), "Required documents") || !strings.Contains(string(b), "15 working days") {
			t.Errorf("English detail page")
		}
	})
}

func TestAdminPages(t *testing.T) {
	each(t, func(t *testing.T, svc *catalog.Service, _ *db.DB) {
		ctx := context.Background()
		fixture(t, svc)
		srv := uiServer(t, svc)
		status, hdr, _ := page(t, srv, "GET", "/admin/catalog", "", "", nil)
		if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login?next=") {
			t.Errorf("anonymous admin page: %d %s", status, hdr.Get("Location"))
		}
		if status, _, _ := page(t, srv, "GET", "/admin/catalog", eidBuild, "", nil); status != 403 {
			t.Errorf("agency admin on the province list: %d", status)
		}
		status, _, body := page(t, srv, "GET", "/admin/catalog?status=active", "*", "", nil)
		if status != 200 || !strings.Contains(body, "Tìm thấy 5 thủ tục") {
			t.Errorf("admin list: %d", status)
		}
		if status, _, body := page(t, srv, "GET", "/admin/catalog/procedures/new", "*", "", nil); status != 200 || !strings.Contains(body, `name="documents[2].name"`) {
			t.Errorf("new form: %d", status)
		}

		form := url.Values{
			"new": {"1"}, "version": {"0"}, "code": {"1.009100"}, "name": {"Cấp giấy phép chặt hạ cây xanh"}, "field_code": {"XD"},
			"level": {"province"}, "competent_agency": {eidBuild}, "online_level": {"full"}, "duration.value": {"10"},
			"duration.unit": {"working_days"}, "effective_from": {"2026-04-01"}, "process_key": {"default"},
			"legal_basis":       {"Nghị định số 64/2010/NĐ-CP\r\nThông tư số 20/2009/TT-BXD"},
			"documents[0].name": {"Đơn đề nghị"}, "documents[0].form": {"electronic"}, "documents[0].quantity": {"1"}, "documents[0].required": {"1"},
			"documents[1].name": {""}, "documents[1].form": {"original"}, "documents[1].quantity": {"1"},
			"documents[2].name": {"Sơ đồ vị trí cây"}, "documents[2].form": {"copy"}, "documents[2].quantity": {"2"},
			"fees[0].name": {"Lệ phí"}, "fees[0].amount": {"20.000"}, "fees[0].paid_at": {"reception"},
			"form_schema": {`{"type":"object","properties":{"vi_tri":{"type":"string","title":"Vị trí cây"}}}`},
		}
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("duration.value", "mười")
		bad.Set("field_code", "")
		bad.Set("form_schema", `{"type":`)
		status, _, body = page(t, srv, "POST", "/admin/catalog/procedures", "*", "application/x-www-form-urlencoded", strings.NewReader(bad.Encode()))
		if status != 422 {
			t.Fatalf("invalid form: %d", status)
		}
		for _, want := range []string{"duration.value", "field_code", "form_schema", "Chưa lưu được", "Cấp giấy phép chặt hạ cây xanh"} {
			if !strings.Contains(body, want) {
				t.Errorf("invalid form page lacks %q", want)
			}
		}
		status, hdr, _ = page(t, srv, "POST", "/admin/catalog/procedures", "*", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/admin/catalog/procedures/1.009100") {
			t.Fatalf("save: %d %s", status, hdr.Get("Location"))
		}
		p := must[catalog.Procedure](t)(svc.ProcedureVersion(ctx, "1.009100", 1))
		if p.Status != catalog.StatusDraft || len(p.Documents) != 2 || p.Documents[1].Quantity != 2 || p.Documents[1].Required ||
			p.Fees[0].Amount != 20000 || len(p.LegalBasis) != 2 {
			t.Errorf("saved from the form: %+v", p)
		}
		if status, _, body := page(t, srv, "GET", "/admin/catalog/procedures/1.009100", "*", "", nil); status != 200 || !strings.Contains(body, "Sơ đồ vị trí cây") {
			t.Errorf("edit form: %d", status)
		}
		status, _, _ = page(t, srv, "POST", "/admin/catalog/procedures/1.009100/versions/1/publish", "*", "application/x-www-form-urlencoded", nil)
		if status != http.StatusSeeOther {
			t.Errorf("publish: %d", status)
		}
		if _, err := svc.Procedure(ctx, "1.009100", date("2026-04-01")); err != nil {
			t.Errorf("published procedure: %v", err)
		}

		// Import page: a bad file lists every bad line; a dry run says what would change.
		upload := func(kind, format, content string, dry bool) (int, string) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			mw.WriteField("kind", kind)
			mw.WriteField("format", format)
			if dry {
				mw.WriteField("dry_run", "1")
			}
			fw, _ := mw.CreateFormFile("file", "data."+format)
			io.WriteString(fw, content)
			mw.Close()
			status, _, body := page(t, srv, "POST", "/admin/catalog/import", "*", mw.FormDataContentType(), &buf)
			return status, body
		}
		status, body = upload("fields", "csv", "code,name\nA1,Một\n,Thiếu\nA1,Trùng\n", false)
		if status != 422 || !strings.Contains(body, "Tệp có 2 lỗi trong 3 bản ghi") || !strings.Contains(body, "<td>3</td>") || !strings.Contains(body, "<td>4</td>") {
			t.Errorf("import page with errors: %d\n%s", status, body)
		}
		status, body = upload("fields", "csv", "code,name\nA1,Một\n", true)
		if status != 200 || !strings.Contains(body, "sẽ thêm 1") {
			t.Errorf("dry run page: %d", status)
		}
		if _, err := svc.Field(ctx, "A1"); err == nil {
			t.Error("dry run imported")
		}
		if status, _, body := page(t, srv, "GET", "/admin/catalog/import", "*", "", nil); status != 200 || !strings.Contains(body, "kind=procedures&amp;format=json") {
			t.Errorf("import form: %d", status)
		}
	})
}
