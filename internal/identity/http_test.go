package identity_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/i18n"
)

// browser is an HTTP client with its own cookie jar against a test server.
type browser struct {
	t      *testing.T
	srv    *httptest.Server
	client *http.Client
}

func newServer(t *testing.T, f *fixture, opt identity.HandlerOptions, tls bool) *httptest.Server {
	h := identity.NewHandlers(f.svc, opt)
	mux := http.NewServeMux()
	h.Routes(mux)
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h.Authenticate(mux))
	} else {
		srv = httptest.NewServer(h.Authenticate(mux))
	}
	t.Cleanup(srv.Close)
	return srv
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	// srv.Client() is shared; each browser needs its own jar.
	c := &http.Client{Transport: srv.Client().Transport, Jar: jar}
	return &browser{t: t, srv: srv, client: c}
}

// do sends a request; body, when not empty, is sent as JSON. Extra headers
// come as name, value pairs.
func (b *browser) do(method, path, body string, headers ...string) (*http.Response, string) {
	b.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// expect checks the status and returns the decoded JSON body.
func (b *browser) expect(status int, method, path, body string, headers ...string) map[string]any {
	b.t.Helper()
	resp, data := b.do(method, path, body, headers...)
	if resp.StatusCode != status {
		b.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, status, data)
	}
	var out map[string]any
	if data != "" {
		if err := json.Unmarshal([]byte(data), &out); err != nil {
			b.t.Fatalf("%s %s: body is not JSON: %s", method, path, data)
		}
	}
	if status >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		b.t.Fatalf("%s %s: error with Content-Type %q", method, path, resp.Header.Get("Content-Type"))
	}
	return out
}

// problem checks an error response's status and code and returns its body.
func (b *browser) problem(status int, code, method, path, body string, headers ...string) map[string]any {
	b.t.Helper()
	p := b.expect(status, method, path, body, headers...)
	if p["code"] != code {
		b.t.Fatalf("%s %s: code %v, want %s; %v", method, path, p["code"], code, p)
	}
	return p
}

func (b *browser) login(username, password string) map[string]any {
	b.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	return b.expect(http.StatusCreated, "POST", "/api/v1/session", string(body))
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "congso_session") {
			return c
		}
	}
	return nil
}

// fieldCodes returns "field:code" of a validation problem's errors.
func fieldCodes(p map[string]any) []string {
	var out []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		m := e.(map[string]any)
		out = append(out, m["field"].(string)+":"+m["code"].(string))
	}
	return out
}

func TestHTTPLoginLogoutMe(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		p := f.person(t, "nguyenvana", "Nguyễn Văn An")
		f.svc.Grant(context.Background(), nil, p.ID, identity.RoleOfficer, "unit-A")
		srv := newServer(t, f, identity.HandlerOptions{}, false)
		b := newBrowser(t, srv)

		prob := b.problem(401, "unauthorized", "GET", "/api/v1/me", "")
		if prob["detail"] != "Bạn cần đăng nhập để tiếp tục." {
			t.Errorf("detail = %v", prob["detail"])
		}
		prob = b.problem(401, "identity.invalid_credentials", "POST", "/api/v1/session", `{"username":"nguyenvana","password":"sai rồi sai rồi"}`)
		if prob["detail"] != "Tên đăng nhập hoặc mật khẩu không đúng." {
			t.Errorf("Vietnamese detail = %v", prob["detail"])
		}
		prob = b.problem(401, "identity.invalid_credentials", "POST", "/api/v1/session", `{"username":"nobody","password":"x"}`, "Accept-Language", "en")
		if prob["detail"] != "The username or password is incorrect." {
			t.Errorf("English detail = %v", prob["detail"])
		}

		resp, body := b.do("POST", "/api/v1/session", `{"username":"NguyenVanA","password":"`+goodPassword+`"}`)
		if resp.StatusCode != 201 {
			t.Fatalf("login: %d %s", resp.StatusCode, body)
		}
		c := sessionCookie(resp)
		if c == nil || c.Name != "congso_session" || !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || len(c.Value) != 43 {
			t.Fatalf("session cookie = %+v", c)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Error("login response may be cached")
		}
		me := b.expect(200, "GET", "/api/v1/me", "")
		if me["full_name"] != "Nguyễn Văn An" || me["username"] != "nguyenvana" {
			t.Fatalf("me = %v", me)
		}
		grants := me["grants"].([]any)
		if len(grants) != 1 || grants[0].(map[string]any)["role_label"] != "Cán bộ một cửa" || grants[0].(map[string]any)["unit_id"] != "unit-A" {
			t.Fatalf("grants = %v", grants)
		}
		me = b.expect(200, "GET", "/api/v1/me", "", "Accept-Language", "en")
		if me["grants"].([]any)[0].(map[string]any)["role_label"] != "One-stop officer" {
			t.Fatalf("English role label = %v", me["grants"])
		}

		// A Bearer request is never authenticated by the cookie.
		b.problem(401, "unauthorized", "GET", "/api/v1/me", "", "Authorization", "Bearer whatever")

		resp, _ = b.do("DELETE", "/api/v1/session", "")
		if resp.StatusCode != 204 {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		if c := sessionCookie(resp); c == nil || c.MaxAge >= 0 {
			t.Fatalf("logout does not clear the cookie: %+v", c)
		}
		b.problem(401, "unauthorized", "GET", "/api/v1/me", "")
		// Replaying the old cookie after logout fails, and the server clears it.
		replay := newBrowser(t, srv)
		u, _ := url.Parse(srv.URL)
		replay.client.Jar.SetCookies(u, []*http.Cookie{{Name: "congso_session", Value: c.Value}})
		resp, _ = replay.do("GET", "/api/v1/me", "")
		if resp.StatusCode != 401 || sessionCookie(resp) == nil || sessionCookie(resp).MaxAge >= 0 {
			t.Fatalf("replayed cookie: %d, cookie %+v", resp.StatusCode, sessionCookie(resp))
		}
		// Logging out twice is fine.
		b.expect(204, "DELETE", "/api/v1/session", "")

		// Signing in again replaces the previous session of the browser.
		b.login("nguyenvana", goodPassword)
		first, _ := f.svc.ListSessions(context.Background(), p.ID)
		b.login("nguyenvana", goodPassword)
		second, _ := f.svc.ListSessions(context.Background(), p.ID)
		if len(first) != 1 || len(second) != 1 || first[0].ID == second[0].ID {
			t.Fatalf("sessions after re-login: %d then %d", len(first), len(second))
		}
	})
}

func TestHTTPLoginRejectsBadInput(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.person(t, "nguyenvana", "Nguyễn Văn An")
		b := newBrowser(t, newServer(t, f, identity.HandlerOptions{}, false))
		cases := []struct {
			body   string
			status int
			code   string
		}{
			{`{"username":"nguyenvana",`, 400, "invalid_json"},
			{`{"username":"nguyenvana","password":"x"} {}`, 400, "trailing_data"},
			{`{"username":"nguyenvana","password":"x","remember":true}`, 400, "unknown_field"},
			{`{"username":123,"password":"x"}`, 400, "invalid_type"},
			{`["nguyenvana"]`, 400, "invalid_type"},
			{`{}`, 422, "validation_failed"},
			{`{"username":"nguyenvana"}`, 422, "validation_failed"},
		}
		for _, c := range cases {
			b.problem(c.status, c.code, "POST", "/api/v1/session", c.body)
		}
		p := b.problem(422, "validation_failed", "POST", "/api/v1/session", `{"username":"  "}`)
		if got := strings.Join(fieldCodes(p), " "); got != "username:required password:required" {
			t.Errorf("fields = %s", got)
		}
		if msg := p["errors"].([]any)[0].(map[string]any)["message"]; msg != "Trường này là bắt buộc." {
			t.Errorf("message = %v", msg)
		}
		b.problem(415, "unsupported_media_type", "POST", "/api/v1/session", `{"username":"a","password":"b"}`, "Content-Type", "text/plain")
		// Lockout over HTTP: the fifth failure answers 403 with the time.
		for i := 0; i < 4; i++ {
			b.problem(401, "identity.invalid_credentials", "POST", "/api/v1/session", `{"username":"nguyenvana","password":"wrong wrong"}`)
		}
		p = b.problem(403, "identity.account_locked", "POST", "/api/v1/session", `{"username":"nguyenvana","password":"wrong wrong"}`)
		// The clock is 01:30 UTC; locked until 01:45 UTC = 08:45 in Vietnam.
		if !strings.Contains(p["detail"].(string), "08:45 02/03/2026") {
			t.Errorf("lockout detail = %v", p["detail"])
		}
	})
}

func TestHTTPSecureCookie(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.person(t, "nguyenvana", "Nguyễn Văn An")
		srv := newServer(t, f, identity.HandlerOptions{}, true)
		b := newBrowser(t, srv)
		resp, body := b.do("POST", "/api/v1/session", `{"username":"nguyenvana","password":"`+goodPassword+`"}`)
		c := sessionCookie(resp)
		if resp.StatusCode != 201 || c == nil || c.Name != "__Host-congso_session" || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" {
			t.Fatalf("login over TLS: %d %s cookie %+v", resp.StatusCode, body, c)
		}
		b.expect(200, "GET", "/api/v1/me", "")
		// Over HTTPS a session in the unprefixed cookie is not accepted.
		other := newBrowser(t, srv)
		u, _ := url.Parse(srv.URL)
		other.client.Jar.SetCookies(u, []*http.Cookie{{Name: "congso_session", Value: c.Value}})
		other.problem(401, "unauthorized", "GET", "/api/v1/me", "")
	})
	// Behind a TLS-terminating proxy the option gives the secure cookie too.
	d := dbtest.SQLite(t, identity.Migrations())
	f := newFixture(t, d)
	f.person(t, "nguyenvana", "Nguyễn Văn An")
	b := newBrowser(t, newServer(t, f, identity.HandlerOptions{SecureCookies: true}, false))
	resp, _ := b.do("POST", "/api/v1/session", `{"username":"nguyenvana","password":"`+goodPassword+`"}`)
	if c := sessionCookie(resp); c == nil || c.Name != "__Host-congso_session" || !c.Secure {
		t.Fatalf("cookie with SecureCookies: %+v", c)
	}
}

const nastyName = `<script>alert("x")</script>'; DROP TABLE identity_people; -- & "Nguyễn"`

func TestHTTPAdminAPI(t *testing.T) {
	dbtest.Each(t, identity.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		f.sysadmin(t, "admin")
		officer := f.person(t, "officer1", "Lê Thị Hoa")
		f.svc.Grant(ctx, nil, officer.ID, identity.RoleOfficer, "unit-A")
		srv := newServer(t, f, identity.HandlerOptions{}, false)

		anon := newBrowser(t, srv)
		anon.problem(401, "unauthorized", "GET", "/api/v1/people", "")
		anon.problem(401, "unauthorized", "POST", "/api/v1/people", `{}`)
		off := newBrowser(t, srv)
		off.login("officer1", goodPassword)
		p := off.problem(403, "forbidden", "GET", "/api/v1/people", "")
		if p["detail"] != "Bạn không có quyền thực hiện thao tác này." {
			t.Errorf("forbidden detail = %v", p["detail"])
		}
		off.problem(403, "forbidden", "POST", "/api/v1/people/"+officer.ID+"/grants", `{"role":"sysadmin","unit_id":""}`)

		adm := newBrowser(t, srv)
		adm.login("admin", goodPassword)

		// Create, with injection strings stored verbatim and escaped in JSON.
		created := adm.expect(201, "POST", "/api/v1/people", `{"kind":"official","username":"Hacker.One","full_name":`+
			jsonString(nastyName)+`,"email":"h1@example.vn","phone":"+84 912 345 678","password":"Một mật khẩu khá dài 42"}`)
		id := created["id"].(string)
		if created["username"] != "hacker.one" || created["full_name"] != nastyName || created["must_change_password"] != true ||
			created["phone"] != "+84912345678" || created["has_password"] != true {
			t.Fatalf("created = %v", created)
		}
		resp, raw := adm.do("GET", "/api/v1/people/"+id, "")
		if resp.StatusCode != 200 || strings.Contains(raw, "<script>") || !strings.Contains(raw, `\u003cscript\u003e`) {
			t.Fatalf("detail is not escaped: %s", raw)
		}
		var detail map[string]any
		json.Unmarshal([]byte(raw), &detail)
		if detail["full_name"] != nastyName || len(detail["grants"].([]any)) != 0 || len(detail["positions"].([]any)) != 0 {
			t.Fatalf("detail = %v", detail)
		}
		var tables int
		d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM identity_people`).Scan(&tables)
		if tables != 3 {
			t.Fatalf("people = %d after an injection attempt", tables)
		}

		// Bad input on create.
		for _, c := range []struct {
			body   string
			status int
			code   string
		}{
			{`{"kind":"official","username":"x1","full_name":"X",}`, 400, "invalid_json"},
			{`{"kind":"official","username":"xyz","full_name":"X","is_admin":true}`, 400, "unknown_field"},
			{`{"kind":5,"username":"xyz","full_name":"X"}`, 400, "invalid_type"},
			{`{"kind":"official","username":"xyz","full_name":"X","must_change_password":"yes"}`, 400, "invalid_type"},
			{`{"kind":"official","username":"HACKER.ONE","full_name":"X"}`, 409, "identity.username_taken"},
		} {
			adm.problem(c.status, c.code, "POST", "/api/v1/people", c.body)
		}
		p = adm.problem(422, "validation_failed", "POST", "/api/v1/people",
			`{"kind":"robot","username":"ab","full_name":"","email":"no","phone":"1","personal_id":"12ab","password":"short"}`)
		if got := strings.Join(fieldCodes(p), " "); got != "kind:invalid_kind username:username_length full_name:required email:invalid_email phone:invalid_phone personal_id:invalid_personal_id password:password_too_short" {
			t.Fatalf("fields = %s", got)
		}
		msgs := map[string]string{}
		for _, e := range p["errors"].([]any) {
			m := e.(map[string]any)
			msgs[m["field"].(string)] = m["message"].(string)
		}
		if msgs["password"] != "Mật khẩu phải có ít nhất 10 ký tự." || msgs["personal_id"] != "Số định danh cá nhân phải gồm đúng 12 chữ số." {
			t.Fatalf("messages = %v", msgs)
		}

		// List, search and pagination.
		list := adm.expect(200, "GET", "/api/v1/people?q=nguyen", "")
		if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id || list["total"] != 1.0 {
			t.Fatalf("search = %v", list)
		}
		if _, hasPID := list["items"].([]any)[0].(map[string]any)["personal_id"]; hasPID {
			t.Fatal("lists show personal ID numbers")
		}
		var seen []string
		next := "/api/v1/people?limit=1"
		for next != "" {
			page := adm.expect(200, "GET", next, "")
			for _, it := range page["items"].([]any) {
				seen = append(seen, it.(map[string]any)["username"].(string))
			}
			next = ""
			if c, ok := page["next"].(string); ok {
				next = "/api/v1/people?limit=1&cursor=" + url.QueryEscape(c)
			}
		}
		if strings.Join(seen, ",") != "admin,hacker.one,officer1" {
			t.Fatalf("pages = %v", seen)
		}
		list = adm.expect(200, "GET", "/api/v1/people?role=officer&unit_id=unit-A", "")
		if len(list["items"].([]any)) != 1 {
			t.Fatalf("role filter = %v", list)
		}
		empty := adm.expect(200, "GET", "/api/v1/people?q=zzzz", "")
		if items, ok := empty["items"].([]any); !ok || len(items) != 0 {
			t.Fatalf("empty list must be [] not null: %v", empty)
		}
		adm.problem(400, "invalid_query", "GET", "/api/v1/people?limit=0", "")
		adm.problem(400, "invalid_query", "GET", "/api/v1/people?kind=robot", "")
		adm.problem(400, "invalid_query", "GET", "/api/v1/people?cursor=not*base64", "")
		adm.problem(400, "invalid_query", "GET", "/api/v1/people?cursor=bm90anNvbg", "")
		adm.problem(404, "identity.person_not_found", "GET", "/api/v1/people/nope", "")

		// Grants.
		g := adm.expect(201, "POST", "/api/v1/people/"+id+"/grants", `{"role":"handler","unit_id":"unit-B"}`)
		if g["role_label"] != "Chuyên viên xử lý" || g["province_wide"] != false || g["unit_id"] != "unit-B" {
			t.Fatalf("grant = %v", g)
		}
		adm.problem(409, "identity.grant_exists", "POST", "/api/v1/people/"+id+"/grants", `{"role":"handler","unit_id":"unit-B"}`)
		p = adm.problem(422, "validation_failed", "POST", "/api/v1/people/"+id+"/grants", `{"role":"sysadmin","unit_id":"unit-B"}`)
		if m := p["errors"].([]any)[0].(map[string]any)["message"]; m != "Vai trò Quản trị hệ thống chỉ được cấp cho toàn tỉnh, không gắn với một đơn vị." {
			t.Errorf("province-only message = %v", m)
		}
		adm.problem(422, "validation_failed", "POST", "/api/v1/people/"+id+"/grants", `{"role":"emperor","unit_id":""}`)
		adm.problem(404, "identity.person_not_found", "POST", "/api/v1/people/nope/grants", `{"role":"clerk","unit_id":""}`)
		adm.problem(400, "unknown_field", "POST", "/api/v1/people/"+id+"/grants", `{"role":"clerk","scope":"all"}`)
		adm.expect(204, "DELETE", "/api/v1/people/"+id+"/grants/"+g["id"].(string), "")
		adm.problem(404, "identity.grant_not_found", "DELETE", "/api/v1/people/"+id+"/grants/nope", "")
		detail = adm.expect(200, "GET", "/api/v1/people/"+id, "")
		if gs := detail["grants"].([]any); len(gs) != 1 || gs[0].(map[string]any)["revoked_at"] == nil {
			t.Fatalf("revoked grant history = %v", gs)
		}

		// Positions.
		x := adm.expect(201, "POST", "/api/v1/people/"+id+"/positions", `{"title":"Chuyên viên","unit_id":"unit-B","agency_id":"H15.50","started_at":"2026-01-05T08:00:00+07:00"}`)
		if x["started_at"] != "2026-01-05T01:00:00Z" {
			t.Fatalf("position = %v", x)
		}
		adm.problem(400, "invalid_json", "POST", "/api/v1/people/"+id+"/positions", `{"title":"X","unit_id":"u","started_at":"tomorrow"}`)
		adm.problem(422, "validation_failed", "POST", "/api/v1/people/"+id+"/positions", `{"title":"","unit_id":""}`)
		adm.expect(204, "DELETE", "/api/v1/people/"+id+"/positions/"+x["id"].(string), "")
		adm.problem(404, "identity.position_not_found", "DELETE", "/api/v1/people/"+id+"/positions/nope", "")

		// Password reset ends the person's sessions.
		h1 := newBrowser(t, srv)
		h1.login("hacker.one", "Một mật khẩu khá dài 42")
		p = adm.problem(422, "validation_failed", "POST", "/api/v1/people/"+id+"/password", `{"password":"hacker.one!!"}`)
		if got := strings.Join(fieldCodes(p), " "); got != "password:password_contains_username" {
			t.Fatalf("weak reset: %s", got)
		}
		adm.expect(204, "POST", "/api/v1/people/"+id+"/password", `{"password":"Mật khẩu tạm thời 77","must_change":true}`)
		h1.problem(401, "unauthorized", "GET", "/api/v1/me", "")
		me := h1.login("hacker.one", "Mật khẩu tạm thời 77")
		if me["must_change_password"] != true {
			t.Fatalf("must change after reset: %v", me)
		}

		// Own password and sessions.
		h1.problem(422, "validation_failed", "POST", "/api/v1/me/password", `{"old_password":"nope","new_password":"Một mật khẩu mới 2026"}`)
		h2 := newBrowser(t, srv)
		h2.login("hacker.one", "Mật khẩu tạm thời 77")
		sessions := h1.expect(200, "GET", "/api/v1/me/sessions", "")["items"].([]any)
		if len(sessions) != 2 {
			t.Fatalf("sessions = %v", sessions)
		}
		var otherID string
		for _, s := range sessions {
			if s.(map[string]any)["current"] == false {
				otherID = s.(map[string]any)["id"].(string)
			}
		}
		h1.expect(204, "DELETE", "/api/v1/me/sessions/"+otherID, "")
		h2.problem(401, "unauthorized", "GET", "/api/v1/me", "")
		h1.problem(404, "identity.session_not_found", "DELETE", "/api/v1/me/sessions/"+otherID, "")
		h1.expect(204, "POST", "/api/v1/me/password", `{"old_password":"Mật khẩu tạm thời 77","new_password":"Một mật khẩu mới 2026"}`)
		if me := h1.expect(200, "GET", "/api/v1/me", ""); me["must_change_password"] != false {
			t.Fatalf("after change: %v", me)
		}

		// Status: disable ends sessions; the last sysadmin cannot disable themself.
		adm.expect(204, "POST", "/api/v1/people/"+id+"/status", `{"status":"disabled"}`)
		h1.problem(401, "unauthorized", "GET", "/api/v1/me", "")
		h1.problem(403, "identity.account_disabled", "POST", "/api/v1/session", `{"username":"hacker.one","password":"Một mật khẩu mới 2026"}`)
		adm.problem(422, "validation_failed", "POST", "/api/v1/people/"+id+"/status", `{"status":"gone"}`)
		me = adm.expect(200, "GET", "/api/v1/me", "")
		adm.problem(409, "identity.last_sysadmin", "POST", "/api/v1/people/"+me["id"].(string)+"/status", `{"status":"disabled"}`)
		revoked := adm.expect(200, "DELETE", "/api/v1/people/"+officer.ID+"/sessions", "")
		if revoked["revoked"] != 1.0 {
			t.Fatalf("revoked = %v", revoked)
		}
		off.problem(401, "unauthorized", "GET", "/api/v1/me", "")

		// Every admin change is audited with the admin as actor and the client address.
		for _, action := range []string{identity.AuditPersonCreated, identity.AuditGrantAdded, identity.AuditGrantRevoked,
			identity.AuditPasswordReset, identity.AuditStatusChanged, identity.AuditPositionAdded, identity.AuditPositionEnded} {
			evs := f.audit.find(action)
			last := evs[len(evs)-1]
			if last.ActorID != me["id"] || last.IP != "127.0.0.1" {
				t.Errorf("%s audited as %+v", action, last)
			}
		}
	})
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestMessagesComplete(t *testing.T) {
	var b i18n.Bundle
	if err := b.AddFS(os.DirFS("."), "messages"); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	for _, r := range identity.Roles() {
		if got := i18n.T(i18n.Vietnamese, "identity.role."+string(r)); got != r.Label() {
			t.Errorf("role %s: catalog %q, Label %q", r, got, r.Label())
		}
		if got := i18n.T(i18n.English, "identity.role."+string(r)); got == "identity.role."+string(r) {
			t.Errorf("role %s has no English name", r)
		}
	}
}
