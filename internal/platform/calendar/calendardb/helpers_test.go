package calendardb_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/calendar/calendardb"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/web"
)

// In the tests a request says who makes it in X-Test-User and whether that
// person may edit the calendar in X-Test-Editor, standing in for the app's
// session and roles.
const (
	hdrUser   = "X-Test-User"
	hdrEditor = "X-Test-Editor"
)

type headerAuthz struct{}

func (headerAuthz) Can(r *http.Request, action string) bool {
	return action == calendardb.ActionEdit && r.Header.Get(hdrEditor) == "yes"
}

type env struct {
	t        *testing.T
	provider *calendardb.Provider
	mux      *http.ServeMux
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	p := newProvider(t, d, calendar.Options{})
	shell, err := web.New(web.Site{ProvinceName: "Tỉnh Demo"})
	if err != nil {
		t.Fatal(err)
	}
	shell.CSRFToken = func(*http.Request) string { return "tok" }
	shell.CurrentUser = func(r *http.Request) *web.User {
		name := r.Header.Get(hdrUser)
		if name == "" {
			return nil
		}
		editor := r.Header.Get(hdrEditor) == "yes"
		return &web.User{ID: "id-" + name, Name: name, CanDo: func(a string) bool { return editor && a == calendardb.ActionEdit }}
	}
	h, err := calendardb.NewHandlers(calendardb.HandlerConfig{Provider: p, Authorizer: headerAuthz{}, Shell: shell, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	return &env{t: t, provider: p, mux: mux}
}

type who int

const (
	anonymous who = iota
	citizen
	editor
)

func (e *env) do(method, target string, as who, body io.Reader, header ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, target, body)
	switch as {
	case citizen:
		r.Header.Set(hdrUser, "Lê Văn Dân")
	case editor:
		r.Header.Set(hdrUser, "Phạm Thị Quản")
		r.Header.Set(hdrEditor, "yes")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

func (e *env) putJSON(year string, as who, body string, header ...string) *httptest.ResponseRecorder {
	return e.do("PUT", "/api/v1/calendar/announcements/"+year, as, strings.NewReader(body),
		append([]string{"Content-Type", "application/json"}, header...)...)
}

func (e *env) postForm(path string, as who, form url.Values) *httptest.ResponseRecorder {
	return e.do("POST", path, as, strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v\n%s", w.Header().Get("Content-Type"), err, w.Body.String())
	}
	return v
}

// problem decodes a problem+json answer, checking its status.
func problem(t *testing.T, w *httptest.ResponseRecorder, status int) httpx.Problem {
	t.Helper()
	if w.Code != status || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %s, want a %d problem:\n%s", w.Code, w.Header().Get("Content-Type"), status, w.Body.String())
	}
	return decode[httpx.Problem](t, w)
}
