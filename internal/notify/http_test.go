package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/notify"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/web"
)

// server serves the JSON API and the pages; the X-Test-User header names
// the signed-in person.
func server(t *testing.T, svc *notify.Service) *httptest.Server {
	t.Helper()
	shell, err := web.New(web.Site{ProvinceName: "Tỉnh Mẫu"})
	if err != nil {
		t.Fatal(err)
	}
	shell.CurrentUser = func(r *http.Request) *web.User {
		if p := identity.PrincipalFrom(r.Context()); p.Authenticated() {
			return &web.User{ID: p.PersonID, Name: p.FullName, Kind: "applicant", CanDo: func(string) bool { return false }}
		}
		return nil
	}
	shell.CSRFToken = func(*http.Request) string { return "tok" }
	shell.AddNav(notify.NavItems()...)
	pages, err := notify.NewPages(svc, shell, func(w http.ResponseWriter, _ *http.Request, status int) {
		w.WriteHeader(status)
		io.WriteString(w, http.StatusText(status))
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	notify.NewHandlers(svc).Routes(mux)
	pages.Routes(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := r.Header.Get("X-Test-User"); u != "" {
			r = r.WithContext(identity.WithPrincipal(r.Context(), &identity.Principal{PersonID: u, FullName: u}))
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, srv *httptest.Server, method, path, user, ctype, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// seed gives p-nhung two in-app notifications (received, result ready) and
// someone else one.
func seed(t *testing.T, e *env) {
	t.Helper()
	e.dos.facts[code] = factsFor(nhung())
	e.publish(dossier.TopicReceived, receivedEvent())
	e.drain()
	ev := receivedEvent()
	ev.Action, ev.From, ev.To, ev.Status, ev.Version = "issue", "issuing", "returning", dossier.StatusResultReady, 9
	e.publish(dossier.TopicTransition, ev)
	e.drain()
	other := nhung()
	other.AccountID, other.Email = "p-other", ""
	e.dos.facts["O-1"] = factsFor(other)
	ev = receivedEvent()
	ev.Code = "O-1"
	e.publish(dossier.TopicReceived, ev)
	e.drain()
}

// one-stop §9: the applicant sees their own notifications, only theirs.
func TestNotificationsAPIMineOnly(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, envOpt{})
		seed(t, e)
		srv := server(t, e.svc)

		if st, _, _ := do(t, srv, "GET", "/api/v1/notifications", "", "", ""); st != http.StatusUnauthorized {
			t.Errorf("anonymous: %d", st)
		}
		st, _, body := do(t, srv, "GET", "/api/v1/notifications?limit=1", "p-nhung", "", "")
		var page struct {
			Items  []notify.Notification `json:"items"`
			Next   string                `json:"next"`
			Unread int                   `json:"unread"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil || st != 200 {
			t.Fatalf("%d %s", st, body)
		}
		if len(page.Items) != 1 || page.Unread != 2 || page.Next == "" || page.Items[0].Kind != notify.KindResultReady {
			t.Fatalf("page 1: %s", body)
		}
		_, _, body = do(t, srv, "GET", "/api/v1/notifications?limit=1&cursor="+url.QueryEscape(page.Next), "p-nhung", "", "")
		page.Items, page.Next = nil, ""
		_ = json.Unmarshal([]byte(body), &page)
		if len(page.Items) != 1 || page.Next != "" || page.Items[0].Kind != notify.KindReceived {
			t.Fatalf("page 2: %s", body)
		}
		received := page.Items[0].ID

		others, _, _ := e.svc.List(context.Background(), "p-other", false, 10, 0)
		if st, _, body := do(t, srv, "POST", "/api/v1/notifications/"+itoa(others[0].ID)+"/read", "p-nhung", "", ""); st != 404 ||
			!strings.Contains(body, "notify.not_found") {
			t.Errorf("marking another's notification: %d %s", st, body)
		}
		if st, _, _ := do(t, srv, "POST", "/api/v1/notifications/"+itoa(received)+"/read", "p-nhung", "", ""); st != 204 {
			t.Errorf("mark read: %d", st)
		}
		_, _, body = do(t, srv, "GET", "/api/v1/notifications?unread=true", "p-nhung", "", "")
		page.Items = nil
		_ = json.Unmarshal([]byte(body), &page)
		if len(page.Items) != 1 || page.Unread != 1 || page.Items[0].ID == received {
			t.Errorf("unread after reading one: %s", body)
		}
		if st, _, _ := do(t, srv, "GET", "/api/v1/notifications?unread=maybe", "p-nhung", "", ""); st != 400 {
			t.Errorf("bad unread param: %d", st)
		}
		if st, _, body := do(t, srv, "POST", "/api/v1/notifications/read-all", "p-nhung", "", ""); st != 200 || !strings.Contains(body, `"marked":1`) {
			t.Errorf("read-all: %d %s", st, body)
		}
		if n, _ := e.svc.UnreadCount(context.Background(), "p-other"); n != 1 {
			t.Errorf("another account's unread changed: %d", n)
		}

		// Preferences.
		if st, _, body := do(t, srv, "GET", "/api/v1/notifications/preferences", "p-nhung", "", ""); st != 200 ||
			!strings.Contains(body, `"email":true`) || !strings.Contains(body, `"sms":true`) {
			t.Errorf("default preferences: %d %s", st, body)
		}
		if st, _, body := do(t, srv, "PUT", "/api/v1/notifications/preferences", "p-nhung", "application/json", `{"sms":false}`); st != 422 ||
			!strings.Contains(body, `"field":"email"`) {
			t.Errorf("partial preferences: %d %s", st, body)
		}
		if st, _, _ := do(t, srv, "PUT", "/api/v1/notifications/preferences", "p-nhung", "application/json", `{"sms":false,"email":true,"inapp":true,"x":1}`); st != 400 {
			t.Errorf("unknown field: %d", st)
		}
		if st, _, _ := do(t, srv, "PUT", "/api/v1/notifications/preferences", "p-nhung", "application/json", `{"sms":false,"email":true,"inapp":true}`); st != 200 {
			t.Errorf("set preferences: %d", st)
		}
		if p, _ := e.svc.Preferences(context.Background(), "p-nhung"); p != (notify.Preferences{Email: true, InApp: true}) {
			t.Errorf("stored %+v", p)
		}
	})
}

// The pages: list with unread badges and mark-read forms, settings form
// whose unchecked boxes turn channels off; anonymous callers sign in first.
func TestNotificationPages(t *testing.T) {
	each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, envOpt{})
		seed(t, e)
		srv := server(t, e.svc)

		st, hdr, _ := do(t, srv, "GET", "/account/notifications", "", "", "")
		if st != http.StatusSeeOther || hdr.Get("Location") != "/login?next=%2Faccount%2Fnotifications" {
			t.Errorf("anonymous: %d %s", st, hdr.Get("Location"))
		}
		st, _, body := do(t, srv, "GET", "/account/notifications", "p-nhung", "", "")
		if st != 200 {
			t.Fatalf("list: %d", st)
		}
		contains(t, "list page", body, `<html lang="vi"`, "Thông báo của tôi", "Chưa đọc: 2", "Hồ sơ "+code+" đã có kết quả",
			`action="/account/notifications/read-all"`, `name="csrf_token" value="tok"`, `href="/my/dossiers/`+code+`"`)
		if strings.Contains(body, "O-1") {
			t.Errorf("another account's notification is listed")
		}
		list, _, _ := e.svc.List(context.Background(), "p-nhung", false, 10, 0)
		st, hdr, _ = do(t, srv, "POST", "/account/notifications/"+itoa(list[0].ID)+"/read", "p-nhung", "application/x-www-form-urlencoded", "csrf_token=tok")
		if st != http.StatusSeeOther || hdr.Get("Location") != "/account/notifications" {
			t.Errorf("mark read: %d", st)
		}
		_, _, body = do(t, srv, "GET", "/account/notifications?unread=1", "p-nhung", "", "")
		contains(t, "unread page", body, "Chưa đọc: 1", "Đã tiếp nhận hồ sơ "+code)
		if strings.Contains(body, "đã có kết quả") {
			t.Errorf("a read notification in the unread list")
		}

		_, _, body = do(t, srv, "GET", "/account/notifications/settings", "p-nhung", "", "")
		contains(t, "settings page", body, "<legend>", `<label for="sms">Tin nhắn SMS</label>`, `id="sms" name="sms" value="on" checked`)
		st, hdr, _ = do(t, srv, "POST", "/account/notifications/settings", "p-nhung", "application/x-www-form-urlencoded",
			url.Values{"csrf_token": {"tok"}, "inapp": {"on"}, "email": {"on"}}.Encode())
		if st != http.StatusSeeOther || hdr.Get("Location") != "/account/notifications/settings" {
			t.Errorf("save: %d", st)
		}
		if p, _ := e.svc.Preferences(context.Background(), "p-nhung"); p != (notify.Preferences{Email: true, InApp: true}) {
			t.Errorf("saved %+v", p)
		}
		_, _, body = do(t, srv, "GET", "/account/notifications/settings", "p-nhung", "", "")
		if strings.Contains(body, `id="sms" name="sms" value="on" checked`) || !strings.Contains(body, `id="email" name="email" value="on" checked`) {
			t.Errorf("settings after saving do not show SMS off")
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
