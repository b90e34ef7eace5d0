package datastore_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/congso/congso/internal/datastore"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

func applicant(id, name string) *identity.Principal {
	return &identity.Principal{PersonID: id, Username: id, FullName: name, Kind: identity.KindApplicant}
}

var accounts = []*identity.Principal{applicant(an, "Nguyễn Văn An"), applicant(binh, "Trần Thị Bình")}

// serve starts the JSON API and the pages over e's store; the request
// header X-Test-User names the signed-in account.
func (e *env) serve() *httptest.Server {
	e.t.Helper()
	shell, err := web.New(web.Site{ProvinceName: "Tỉnh Demo"})
	if err != nil {
		e.t.Fatal(err)
	}
	shell.CurrentUser = identity.WebUser
	shell.AddNav(datastore.NavItems()...)
	wh, err := web.NewHandlers(shell)
	if err != nil {
		e.t.Fatal(err)
	}
	pages, err := datastore.NewPages(e.store, shell, wh.ErrorPage)
	if err != nil {
		e.t.Fatal(err)
	}
	mux := http.NewServeMux()
	datastore.NewHandlers(e.store).Routes(mux)
	pages.Routes(mux)
	wh.Routes(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range accounts {
			if p.PersonID == r.Header.Get("X-Test-User") {
				r = r.WithContext(identity.WithPrincipal(r.Context(), p))
			}
		}
		mux.ServeHTTP(w, r)
	}))
	e.t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   string
}

var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, method, u, who, lang string, body io.Reader, ct string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if who != "" {
		req.Header.Set("X-Test-User", who)
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(b)}
}

// multipartBody encodes fields and, when data is not nil, a "file" part
// last.
func multipartBody(fields map[string]string, fileName string, data []byte) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if data != nil {
		w, _ := mw.CreateFormFile("file", fileName)
		w.Write(data)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

func problemCode(t *testing.T, body string) string {
	t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	json.Unmarshal([]byte(body), &p)
	return p.Code
}

// The JSON API serves the signed-in account's own documents only.
func TestAPI(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		srv := e.serve()
		api := srv.URL + "/api/v1/me/documents"
		pdf := onePagePDF("giay khai sinh")
		body, ct := multipartBody(map[string]string{"title": "Giấy khai sinh", "issued_on": "2001-02-03"}, "khai-sinh.pdf", pdf)
		res := do(t, "POST", api, an, "", body, ct)
		if res.status != http.StatusCreated {
			t.Fatalf("upload: %d %s", res.status, res.body)
		}
		var doc datastore.Document
		if err := json.Unmarshal([]byte(res.body), &doc); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(pdf)
		if doc.Current.Hash != hex.EncodeToString(sum[:]) || doc.DocType != "Giấy khai sinh" || doc.Current.IssuedOn != date(2001, 2, 3) {
			t.Errorf("upload answered %+v", doc)
		}

		// Anonymous: 401; another account: 404 on every route of the document.
		if res := do(t, "GET", api, "", "", nil, ""); res.status != http.StatusUnauthorized {
			t.Errorf("anonymous list: %d", res.status)
		}
		for _, c := range []struct{ method, path string }{
			{"GET", "/" + doc.ID}, {"GET", "/" + doc.ID + "/file"}, {"DELETE", "/" + doc.ID}, {"POST", "/" + doc.ID + "/restore"},
			{"GET", "/resolve?ref=" + url.QueryEscape(doc.Ref())},
		} {
			if res := do(t, c.method, api+c.path, binh, "", nil, ""); res.status != http.StatusNotFound || problemCode(t, res.body) != "datastore.not_found" {
				t.Errorf("%s %s as another account: %d %s", c.method, c.path, res.status, res.body)
			}
		}
		if res := do(t, "GET", api, binh, "", nil, ""); !strings.Contains(res.body, `"items":[]`) {
			t.Errorf("another account's list: %s", res.body)
		}

		// The owner: list, pick with ref, resolve, download.
		res = do(t, "GET", api+"/pick?type=giay+khai+sinh&on=2026-03-02", an, "", nil, "")
		if res.status != 200 || !strings.Contains(res.body, `"ref":"`+doc.Ref()+`"`) {
			t.Errorf("pick: %d %s", res.status, res.body)
		}
		res = do(t, "GET", api+"/resolve?ref="+url.QueryEscape(doc.Ref()), an, "", nil, "")
		if res.status != 200 || !strings.Contains(res.body, `"hash":"`+doc.Current.Hash+`"`) {
			t.Errorf("resolve: %d %s", res.status, res.body)
		}
		if res := do(t, "GET", api+"/resolve?ref=nonsense", an, "", nil, ""); res.status != 422 || problemCode(t, res.body) != "datastore.bad_ref" {
			t.Errorf("resolve a bad ref: %d %s", res.status, res.body)
		}
		res = do(t, "GET", api+"/"+doc.ID+"/file", an, "", nil, "")
		if res.status != 200 || res.body != string(pdf) || res.header.Get("Content-Type") != "application/pdf" ||
			!strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment") {
			t.Errorf("download: %d %v", res.status, res.header)
		}

		// Refused files and fields.
		body, ct = multipartBody(map[string]string{"title": "Ảnh"}, "anh.png", []byte("<html><script>x</script></html>"))
		if res := do(t, "POST", api, an, "", body, ct); res.status != 422 || problemCode(t, res.body) != "datastore.file_rejected" {
			t.Errorf("HTML upload: %d %s", res.status, res.body)
		}
		body, ct = multipartBody(map[string]string{"title": "Ảnh"}, "anh.png", bytes.Repeat([]byte{0x89}, 2<<20))
		if res := do(t, "POST", api, an, "", body, ct); res.status != 413 {
			t.Errorf("too large: %d %s", res.status, res.body)
		}
		body, ct = multipartBody(map[string]string{"valid_until": "31/12/2030"}, "a.pdf", pdf)
		res = do(t, "POST", api, an, "en", body, ct)
		if res.status != 422 || !strings.Contains(res.body, `"field":"valid_until"`) {
			t.Errorf("bad date: %d %s", res.status, res.body)
		}

		// New version, then delete.
		body, ct = multipartBody(nil, "khai-sinh-2.png", smallPNG(7))
		res = do(t, "POST", api+"/"+doc.ID+"/versions", an, "", body, ct)
		if res.status != 201 || !strings.Contains(res.body, `"version":2`) {
			t.Errorf("new version: %d %s", res.status, res.body)
		}
		if res := do(t, "GET", api+"/"+doc.ID+"/file?version=1", an, "", nil, ""); res.body != string(pdf) {
			t.Error("version 1 does not download the first file")
		}
		res = do(t, "DELETE", api+"/"+doc.ID, an, "", nil, "")
		if res.status != 200 || !strings.Contains(res.body, `"outcome":"deleted"`) {
			t.Errorf("delete: %d %s", res.status, res.body)
		}
		if res := do(t, "GET", api+"/"+doc.ID, an, "", nil, ""); res.status != 404 {
			t.Errorf("after delete: %d", res.status)
		}
	})
}

var (
	hiddenRe = regexp.MustCompile(`aria-invalid="true"`)
	docLink  = regexp.MustCompile(`/account/documents/([0-9a-f]{16})`)
)

// The pages: sign-in redirect, upload with errors next to the fields,
// detail with versions and the rule that applies, download, delete and
// hide, in Vietnamese and English.
func TestPages(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		srv := e.serve()
		res := do(t, "GET", srv.URL+"/account/documents", "", "", nil, "")
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/login?next=%2Faccount%2Fdocuments" {
			t.Fatalf("anonymous: %d %s", res.status, res.header.Get("Location"))
		}
		res = do(t, "GET", srv.URL+"/account/documents", an, "", nil, "")
		if res.status != 200 || !strings.Contains(res.body, `id="empty"`) || !strings.Contains(res.body, `lang="vi"`) {
			t.Fatalf("empty list: %d", res.status)
		}

		// A form with every mistake at once.
		body, ct := multipartBody(map[string]string{"title": "", "valid_until": "mai"}, "x.pdf", []byte("not a pdf"))
		res = do(t, "POST", srv.URL+"/account/documents", an, "", body, ct)
		if res.status != 422 {
			t.Fatalf("bad form: %d", res.status)
		}
		mustContain(t, "bad form", res.body, `id="valid_until-err"`, `aria-describedby="valid_until-hint valid_until-err"`,
			"Ngày không hợp lệ.", `value="mai"`)
		if n := len(hiddenRe.FindAllString(res.body, -1)); n < 1 {
			t.Errorf("no field marked invalid")
		}
		body, ct = multipartBody(map[string]string{"title": ""}, "x.pdf", []byte("not a pdf"))
		res = do(t, "POST", srv.URL+"/account/documents", an, "en", body, ct)
		mustContain(t, "bad form in English", res.body, `id="title-err"`, "Required.", `id="file-err"`, "Only PDF, JPEG or PNG files are accepted.",
			`aria-describedby="file-hint file-err"`)

		// Upload, then the detail page.
		pdf := onePagePDF("so ho khau")
		body, ct = multipartBody(map[string]string{"title": "Sổ hộ khẩu", "valid_until": "2030-01-01"}, "ho-khau.pdf", pdf)
		res = do(t, "POST", srv.URL+"/account/documents", an, "", body, ct)
		if res.status != http.StatusSeeOther {
			t.Fatalf("upload: %d %s", res.status, res.body)
		}
		m := docLink.FindStringSubmatch(res.header.Get("Location"))
		if m == nil {
			t.Fatalf("upload redirected to %q", res.header.Get("Location"))
		}
		id := m[1]
		page := do(t, "GET", srv.URL+"/account/documents/"+id, an, "", nil, "")
		mustContain(t, "detail", page.body, "Sổ hộ khẩu", "Tự tải lên", "Còn hiệu lực đến 01/01/2030", `id="versions"`,
			"ds:"+id+":1", `action="/account/documents/`+id+`/delete"`, "Giấy tờ này và mọi phiên bản sẽ bị xóa",
			`action="/account/documents/`+id+`/versions"`, `name="csrf_token"`)
		en := do(t, "GET", srv.URL+"/account/documents/"+id, an, "en", nil, "")
		mustContain(t, "detail in English", en.body, `lang="en"`, "Uploaded by me", "Valid until 01/01/2030", "Delete document")
		if res := do(t, "GET", srv.URL+"/account/documents/"+id, binh, "", nil, ""); res.status != 404 {
			t.Errorf("another account's detail page: %d", res.status)
		}
		if res := do(t, "GET", srv.URL+"/account/documents/"+id+"/file", binh, "", nil, ""); res.status != 404 {
			t.Errorf("another account's download: %d", res.status)
		}
		if res := do(t, "POST", srv.URL+"/account/documents/"+id+"/delete", binh, "", nil, ""); res.status != 404 {
			t.Errorf("another account's delete: %d", res.status)
		}
		dl := do(t, "GET", srv.URL+"/account/documents/"+id+"/file", an, "", nil, "")
		if dl.body != string(pdf) {
			t.Error("download through the page is not the uploaded file")
		}

		// New version through the page's form.
		body, ct = multipartBody(nil, "ho-khau-2.png", smallPNG(2))
		res = do(t, "POST", srv.URL+"/account/documents/"+id+"/versions", an, "", body, ct)
		if res.status != http.StatusSeeOther {
			t.Fatalf("new version: %d %s", res.status, res.body)
		}
		page = do(t, "GET", srv.URL+"/account/documents/"+id, an, "", nil, "")
		mustContain(t, "detail after a new version", page.body, "ho-khau.pdf", "ho-khau-2.png", "?version=1", "ds:"+id+":2")

		// A returned result: hide, not delete; shown in the hidden list; restored.
		code := e.receive(an, "")
		e.resolve(code)
		e.act(code, "return", officer, nil)
		e.drain()
		list := do(t, "GET", srv.URL+"/account/documents?kind=result", an, "", nil, "")
		m = docLink.FindStringSubmatch(list.body)
		if m == nil || !strings.Contains(list.body, "Giấy phép xây dựng") {
			t.Fatalf("results list: %s", list.body)
		}
		rid := m[1]
		page = do(t, "GET", srv.URL+"/account/documents/"+rid, an, "", nil, "")
		mustContain(t, "result detail", page.body, "Kết quả do cơ quan nhà nước cấp không thể xóa", "Ẩn kết quả", "15/GPXD", "Sở Xây dựng",
			"Có hiệu lực từ 03/03/2026")
		if strings.Contains(page.body, "/versions\"") {
			t.Error("a result offers a new-version form")
		}
		res = do(t, "POST", srv.URL+"/account/documents/"+rid+"/delete", an, "", nil, "")
		if res.status != http.StatusSeeOther {
			t.Fatalf("hide: %d", res.status)
		}
		if list := do(t, "GET", srv.URL+"/account/documents?kind=result", an, "", nil, ""); strings.Contains(list.body, rid) {
			t.Error("the hidden result is still listed")
		}
		if list := do(t, "GET", srv.URL+"/account/documents?hidden=1", an, "", nil, ""); !strings.Contains(list.body, rid) {
			t.Error("the hidden result is not in the hidden list")
		}
		res = do(t, "POST", srv.URL+"/account/documents/"+rid+"/restore", an, "", nil, "")
		if res.status != http.StatusSeeOther {
			t.Fatalf("restore: %d", res.status)
		}

		// Delete the upload through its form.
		res = do(t, "POST", srv.URL+"/account/documents/"+id+"/delete", an, "", nil, "")
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/account/documents" {
			t.Fatalf("delete: %d", res.status)
		}
		if res := do(t, "GET", srv.URL+"/account/documents/"+id, an, "", nil, ""); res.status != 404 {
			t.Errorf("deleted document page: %d", res.status)
		}
	})
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// The OpenAPI fragment documents exactly the routes served, and its
// references resolve.
func TestOpenAPIFragment(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	raw := datastore.OpenAPIFragment()
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	served := datastore.RoutePatterns()
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("documented %v\nserved     %v", documented, served)
	}
	shared := []string{"Problem", "Limit", "Cursor", "CSRFToken", "TooManyRequests", "ServerError"}
	for _, m := range regexp.MustCompile(`"#/components/(\w+)/(\w+)"`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := doc.Components.Schemas[m[2]]; !(ok && m[1] == "schemas") && !slices.Contains(shared, m[2]) {
			t.Errorf("unresolved reference %s/%s", m[1], m[2])
		}
	}
}

// Every message exists in both languages with the same placeholders.
func TestMessages(t *testing.T) {
	var b i18n.Bundle
	if err := b.AddFS(datastore.Messages(), "messages"); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
}
