package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func newTestHandlers(t *testing.T, user *User) (*Handlers, *http.ServeMux) {
	t.Helper()
	s, err := New(Site{ProvinceName: "Tỉnh Demo", Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	s.CurrentUser = func(*http.Request) *User { return user }
	s.CSRFToken = func(*http.Request) string { return "tok" }
	s.AddNav(NavItem{Path: "/procedures", Label: "nav.procedures", Order: 10},
		NavItem{Path: "/admin", Label: "nav.home", Order: 20, Visible: func(u *User) bool { return u != nil }})
	h, err := NewHandlers(s)
	if err != nil {
		t.Fatal(err)
	}
	h.Cards = []HomeCard{{Path: "/admin/users", Title: "nav.procedures", Text: "nav.home", Visible: func(u *User) bool { return u.Can("user.manage") }}}
	mux := http.NewServeMux()
	h.Routes(mux)
	return h, mux
}

func get(mux http.Handler, path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func TestHomeAnonymousVietnameseByDefault(t *testing.T) {
	_, mux := newTestHandlers(t, nil)
	w := get(mux, "/")
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, `<html lang="vi">`) || !strings.Contains(body, "Dịch vụ công trực tuyến") {
		t.Fatalf("home: %d\n%s", w.Code, body)
	}
	for _, want := range []string{"Dữ liệu minh họa", `href="#main"`, `action="/procedures"`, "Đăng nhập"} {
		if !strings.Contains(body, want) {
			t.Errorf("home lacks %q", want)
		}
	}
	if strings.Contains(body, `href="/admin"`) {
		t.Error("anonymous user sees a signed-in link")
	}
	w = get(mux, "/", &http.Cookie{Name: "lang", Value: "en"})
	if !strings.Contains(w.Body.String(), "Online public services") || !strings.Contains(w.Body.String(), `<html lang="en">`) {
		t.Fatal("English not served with lang=en")
	}
}

func TestHomeCardsFollowPermissions(t *testing.T) {
	admin := &User{Name: "Trần Văn <b>An</b>", CanDo: func(a string) bool { return a == "user.manage" }}
	_, mux := newTestHandlers(t, admin)
	body := get(mux, "/").Body.String()
	if !strings.Contains(body, `href="/admin/users"`) || !strings.Contains(body, "Trần Văn &lt;b&gt;An&lt;/b&gt;") {
		t.Fatalf("admin home wrong or name not escaped:\n%s", body)
	}
	if !strings.Contains(body, `name="csrf_token" value="tok"`) {
		t.Error("logout form lacks the CSRF token")
	}
	clerk := &User{Name: "B", CanDo: func(string) bool { return false }}
	_, mux = newTestHandlers(t, clerk)
	if strings.Contains(get(mux, "/").Body.String(), `href="/admin/users"`) {
		t.Error("card shown without permission")
	}
}

func TestLangSwitchRedirectsOnlyLocally(t *testing.T) {
	_, mux := newTestHandlers(t, nil)
	for next, want := range map[string]string{"/procedures?q=x": "/procedures?q=x", "https://evil.example/": "/", "//evil.example": "/", "/\\evil": "/", "": "/"} {
		w := get(mux, "/lang?to=en&next="+urlEscape(next))
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
			t.Errorf("next=%q: %d %q, want %q", next, w.Code, w.Header().Get("Location"), want)
		}
		if !strings.Contains(w.Header().Get("Set-Cookie"), "lang=en") {
			t.Errorf("no lang cookie set")
		}
	}
}

func TestStaticAssetsEmbedded(t *testing.T) {
	_, mux := newTestHandlers(t, nil)
	w := get(mux, "/static/app.css")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "--red") || w.Header().Get("Cache-Control") == "" {
		t.Fatalf("static: %d %q", w.Code, w.Header())
	}
	if get(mux, "/static/nope.js").Code != 404 {
		t.Fatal("missing asset not 404")
	}
}

func TestErrorPage(t *testing.T) {
	h, _ := newTestHandlers(t, nil)
	w := httptest.NewRecorder()
	h.NotFound(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != 404 || !strings.Contains(w.Body.String(), "Không tìm thấy trang") {
		t.Fatalf("404 page: %d %s", w.Code, w.Body.String())
	}
}

func TestFormatVND(t *testing.T) {
	for n, want := range map[int64]string{0: "0 ₫", 500: "500 ₫", 50000: "50.000 ₫", 1234567: "1.234.567 ₫", -2000: "-2.000 ₫"} {
		if got := FormatVND(n); got != want {
			t.Errorf("FormatVND(%d) = %q, want %q", n, got, want)
		}
	}
}

func urlEscape(s string) string {
	r := strings.NewReplacer("?", "%3F", "&", "%26", "=", "%3D", ":", "%3A", "/", "%2F", "\\", "%5C")
	return r.Replace(s)
}
