package identity_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/web"
)

// site is the identity pages inside the real shell, behind the CSRF
// middleware, as the application wires them.
func newSite(t *testing.T, f *fixture) *httptest.Server {
	t.Helper()
	shell, err := web.New(web.Site{ProvinceName: "Tỉnh Demo"})
	if err != nil {
		t.Fatal(err)
	}
	shell.CurrentUser = identity.WebUser
	shell.CSRFToken = httpx.CSRFToken
	shell.AddNav(identity.NavItems()...)
	wh, err := web.NewHandlers(shell)
	if err != nil {
		t.Fatal(err)
	}
	h := identity.NewHandlers(f.svc, identity.HandlerOptions{})
	pages, err := identity.NewPages(h, shell, wh.ErrorPage)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	wh.Routes(mux)
	h.Routes(mux)
	pages.Routes(mux)
	csrf, err := httpx.CSRF(httpx.CSRFConfig{Key: []byte(strings.Repeat("k", 32)), SessionID: identity.SessionID})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpx.Chain(h.Authenticate, csrf)(mux))
	t.Cleanup(srv.Close)
	return srv
}

type visitor struct {
	t      *testing.T
	srv    *httptest.Server
	client *http.Client
}

func newVisitor(t *testing.T, srv *httptest.Server) *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: t, srv: srv, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (v *visitor) get(path string) (int, string, http.Header) {
	v.t.Helper()
	resp, err := v.client.Get(v.srv.URL + path)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// post submits a form with the CSRF token taken from the page at from.
func (v *visitor) post(from, path string, form url.Values) (int, string, http.Header) {
	v.t.Helper()
	_, page, _ := v.get(from)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		v.t.Fatalf("no CSRF token on %s", from)
	}
	form.Set("csrf_token", m[1])
	resp, err := v.client.PostForm(v.srv.URL+path, form)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (v *visitor) signIn(username, password string) {
	v.t.Helper()
	status, body, hdr := v.post("/login", "/login", url.Values{"username": {username}, "password": {password}})
	if status != http.StatusSeeOther {
		v.t.Fatalf("sign in %s: %d\n%s", username, status, body)
	}
	_ = hdr
}

func TestPagesLogin(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.person(t, "nguyenvana", "Nguyễn Văn An")
		srv := newSite(t, f)
		v := newVisitor(t, srv)

		status, body, _ := v.get("/login?next=/admin/people")
		if status != 200 || !strings.Contains(body, `<label for="username">Tên đăng nhập</label>`) || !strings.Contains(body, `name="next" value="/admin/people"`) {
			t.Fatalf("login page: %d\n%s", status, body)
		}
		status, body, _ = v.post("/login", "/login", url.Values{"username": {`<b>nguyenvana</b>`}, "password": {"sai"}})
		if status != 401 || !strings.Contains(body, "Tên đăng nhập hoặc mật khẩu không đúng.") ||
			strings.Contains(body, "<b>nguyenvana</b>") || !strings.Contains(body, "&lt;b&gt;nguyenvana&lt;/b&gt;") {
			t.Fatalf("failed sign-in page: %d\n%s", status, body)
		}
		status, body, _ = v.post("/login", "/login", url.Values{"username": {""}, "password": {""}})
		if status != 422 || !strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, "Trường này là bắt buộc.") {
			t.Fatalf("empty sign-in: %d\n%s", status, body)
		}
		// A post without the CSRF token is refused before it reaches the page.
		resp, _ := v.client.PostForm(srv.URL+"/login", url.Values{"username": {"nguyenvana"}, "password": {goodPassword}})
		if resp.StatusCode != 403 {
			t.Fatalf("sign-in without CSRF token: %d", resp.StatusCode)
		}
		// Redirect targets stay on this site.
		status, _, hdr := v.post("/login", "/login", url.Values{"username": {"nguyenvana"}, "password": {goodPassword}, "next": {"//evil.example/x"}})
		if status != 303 || hdr.Get("Location") != "/" {
			t.Fatalf("open redirect: %d %s", status, hdr.Get("Location"))
		}
		status, body, _ = v.get("/")
		if !strings.Contains(body, "Nguyễn Văn An") || strings.Contains(body, `href="/admin/people"`) {
			t.Fatalf("home after sign-in (no admin link for a non-admin): %d\n%s", status, body)
		}
		status, _, hdr = v.post("/", "/logout", url.Values{})
		if status != 303 || hdr.Get("Location") != "/" {
			t.Fatalf("logout: %d", status)
		}
		_, body, _ = v.get("/")
		if strings.Contains(body, "Nguyễn Văn An") || !strings.Contains(body, "Bạn đã đăng xuất.") {
			t.Fatalf("still signed in after logout:\n%s", body)
		}
	})
}

func TestPagesMustChangePassword(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		p := f.person(t, "nguyenvana", "Nguyễn Văn An")
		if err := f.svc.ResetPassword(ctx, nil, p.ID, "Tạm thời 2026 đổi ngay"); err != nil {
			t.Fatal(err)
		}
		v := newVisitor(t, newSite(t, f))
		status, _, hdr := v.post("/login", "/login", url.Values{"username": {"nguyenvana"}, "password": {"Tạm thời 2026 đổi ngay"}, "next": {"/x"}})
		if status != 303 || hdr.Get("Location") != "/account/password?next=%2Fx" {
			t.Fatalf("must-change redirect: %d %s", status, hdr.Get("Location"))
		}
		_, body, _ := v.get("/account/password?next=/x")
		if !strings.Contains(body, "Bạn cần đặt mật khẩu mới trước khi tiếp tục.") {
			t.Fatalf("password page:\n%s", body)
		}
		status, body, _ = v.post("/account/password", "/account/password", url.Values{"old_password": {"Tạm thời 2026 đổi ngay"},
			"new_password": {"Mùa thu Hà Nội 1945"}, "confirm_password": {"Mùa thu Hà Nội 1946"}, "next": {"/x"}})
		if status != 422 || !strings.Contains(body, "Mật khẩu nhập lại không khớp.") {
			t.Fatalf("mismatch: %d\n%s", status, body)
		}
		status, body, _ = v.post("/account/password", "/account/password", url.Values{"old_password": {"wrong"},
			"new_password": {"Mùa thu Hà Nội 1945"}, "confirm_password": {"Mùa thu Hà Nội 1945"}})
		if status != 422 || !strings.Contains(body, "Mật khẩu hiện tại không đúng.") {
			t.Fatalf("wrong old password: %d\n%s", status, body)
		}
		status, _, hdr = v.post("/account/password", "/account/password", url.Values{"old_password": {"Tạm thời 2026 đổi ngay"},
			"new_password": {"Mùa thu Hà Nội 1945"}, "confirm_password": {"Mùa thu Hà Nội 1945"}, "next": {"/x"}})
		if status != 303 || hdr.Get("Location") != "/x" {
			t.Fatalf("change: %d %s", status, hdr.Get("Location"))
		}
		f.login(t, "nguyenvana", "Mùa thu Hà Nội 1945")
	})
}

func TestPagesAdministration(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		f.sysadmin(t, "admin")
		officer := f.person(t, "officer1", "Lê Thị Hoa")
		f.svc.Grant(ctx, nil, officer.ID, identity.RoleOfficer, "unit-A")
		srv := newSite(t, f)

		anon := newVisitor(t, srv)
		status, _, hdr := anon.get("/admin/people?q=hoa")
		if status != 303 || hdr.Get("Location") != "/login?next=%2Fadmin%2Fpeople%3Fq%3Dhoa" {
			t.Fatalf("anonymous admin page: %d %s", status, hdr.Get("Location"))
		}
		off := newVisitor(t, srv)
		off.signIn("officer1", goodPassword)
		if status, body, _ := off.get("/admin/people"); status != 403 || !strings.Contains(body, "Không có quyền truy cập") {
			t.Fatalf("officer on admin page: %d", status)
		}

		adm := newVisitor(t, srv)
		adm.signIn("admin", goodPassword)
		_, home, _ := adm.get("/")
		if !strings.Contains(home, `href="/admin/people"`) {
			t.Fatal("admin has no People link in the navigation")
		}
		// Create with a hostile name; it is shown escaped.
		status, body, _ := adm.post("/admin/people/new", "/admin/people", url.Values{"kind": {"official"}, "username": {"x"},
			"full_name": {nastyName}, "password": {"short"}})
		if status != 422 || !strings.Contains(body, "Tên đăng nhập phải có từ 3 đến 64 ký tự.") || strings.Contains(body, "short") ||
			strings.Contains(body, "<script>") {
			t.Fatalf("invalid create: %d\n%s", status, body)
		}
		status, _, hdr = adm.post("/admin/people/new", "/admin/people", url.Values{"kind": {"official"}, "username": {"hacker.one"},
			"full_name": {nastyName}, "password": {"Một mật khẩu khá dài 42"}})
		if status != 303 || !strings.HasPrefix(hdr.Get("Location"), "/admin/people/") {
			t.Fatalf("create: %d %s", status, hdr.Get("Location"))
		}
		detailPath := hdr.Get("Location")
		_, body, _ = adm.get(detailPath)
		if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") ||
			!strings.Contains(body, "Đã tạo tài khoản.") {
			t.Fatalf("detail page:\n%s", body)
		}
		status, body, _ = adm.get("/admin/people?q=script")
		if status != 200 || !strings.Contains(body, "1 người dùng") || strings.Contains(body, "<script>") {
			t.Fatalf("search page: %d\n%s", status, body)
		}

		// Grant through the form; a wrong scope shows the message.
		status, body, _ = adm.post(detailPath, detailPath+"/grants", url.Values{"role": {"sysadmin"}, "unit_id": {"unit-A"}})
		if status != 422 || !strings.Contains(body, "chỉ được cấp cho toàn tỉnh") {
			t.Fatalf("bad grant: %d\n%s", status, body)
		}
		status, _, _ = adm.post(detailPath, detailPath+"/grants", url.Values{"role": {"clerk"}, "unit_id": {"unit-A"}})
		if status != 303 {
			t.Fatalf("grant: %d", status)
		}
		id := strings.TrimPrefix(detailPath, "/admin/people/")
		person, _ := f.svc.GetPerson(ctx, id)
		if len(person.Grants) != 1 || person.Grants[0].Role != identity.RoleClerk {
			t.Fatalf("grants = %+v", person.Grants)
		}
		_, body, _ = adm.get(detailPath)
		if !strings.Contains(body, "Văn thư") || !strings.Contains(body, "/revoke") {
			t.Fatalf("grant not listed:\n%s", body)
		}
		adm.post(detailPath, detailPath+"/grants/"+person.Grants[0].ID+"/revoke", url.Values{})
		adm.post(detailPath, detailPath+"/status", url.Values{"status": {"disabled"}})
		adm.post(detailPath, detailPath+"/positions", url.Values{"title": {"Chuyên viên"}, "unit_id": {"unit-B"}})
		status, body, _ = adm.post(detailPath, detailPath+"/password", url.Values{"password": {"hacker.one 12345"}})
		if status != 422 || !strings.Contains(body, "Mật khẩu không được chứa tên đăng nhập") {
			t.Fatalf("weak reset: %d\n%s", status, body)
		}
		person, _ = f.svc.GetPerson(ctx, id)
		if person.Grants[0].Active() || person.Status != identity.StatusDisabled || len(person.Positions) != 1 {
			t.Fatalf("after forms: %+v", person)
		}
		// The officer cannot post to the admin forms either.
		if status, _, _ := off.post("/", detailPath+"/status", url.Values{"status": {"active"}}); status != 403 {
			t.Fatalf("officer changed a status: %d", status)
		}
		if status, _, _ := adm.get("/admin/people/nope"); status != 404 {
			t.Fatalf("unknown person page: %d", status)
		}
	})
}
