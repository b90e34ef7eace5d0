package gateway_test

import (
	"encoding/json"
	"regexp"

	"context"
	"github.com/congso/congso/internal/platform/i18n"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/web"
)

// In these tests X-Test-User says who is signed in and X-Test-Admin whether
// that person administers the gateway (standing in for sessions and roles).
type headerAuthz struct{}

func (headerAuthz) Can(r *http.Request, action string) bool {
	return r.Header.Get("X-Test-Admin") == "yes"
}

func apiEnv(t *testing.T) (*http.ServeMux, *gateway.Manager, *node) {
	return apiEnvOn(t, sqliteDB(t))
}

// apiEnvOn is apiEnv on the database d.
func apiEnvOn(t *testing.T, d *db.DB) (*http.ServeMux, *gateway.Manager, *node) {
	n := startNode(t, d, nodeOpts{})
	shell, err := web.New(web.Site{ProvinceName: "Tỉnh Demo"})
	must(t, err)
	shell.CSRFToken = func(*http.Request) string { return "tok" }
	shell.CurrentUser = func(r *http.Request) *web.User {
		if r.Header.Get("X-Test-User") == "" {
			return nil
		}
		admin := r.Header.Get("X-Test-Admin") == "yes"
		kind := r.Header.Get("X-Test-Kind") // (the platform signs in applicants too)
		if kind == "" {
			kind = "official"
		}
		return &web.User{ID: r.Header.Get("X-Test-User"), Kind: kind, CanDo: func(string) bool { return admin }}
	}
	h, err := gateway.NewHandlers(gateway.HandlerConfig{Manager: n.mgr, DB: d, Runtime: n.rt, Authorizer: headerAuthz{}, Shell: shell})
	must(t, err)
	mux := http.NewServeMux()
	h.Routes(mux)
	return mux, n.mgr, n
}

func do(mux http.Handler, method, target, user string, admin bool, body string, ct string) *httptest.ResponseRecorder {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	if user != "" {
		r.Header.Set("X-Test-User", user)
	}
	if admin {
		r.Header.Set("X-Test-Admin", "yes")
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func TestJSONAPIRegistersAndGrants(t *testing.T) {
	mux, _, n := apiEnv(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	const js = "application/json"
	steps := []struct{ path, body string }{
		{"/api/v1/gateway/members", `{"id":"VN-HUE/GOV/000.00.15.H57","name":"Sở Tư pháp","agency_eid":"000.00.15.H57"}`},
		{"/api/v1/gateway/members", `{"id":"VN-HUE/GOV/000.00.01.H57","name":"Văn phòng UBND tỉnh"}`},
		{"/api/v1/gateway/subsystems", `{"id":"` + provider + `","name":"Lý lịch tư pháp"}`},
		{"/api/v1/gateway/subsystems", `{"id":"` + client + `","name":"Một cửa"}`},
		{"/api/v1/gateway/services", `{"id":"` + svcID + `","title":"Phiếu lý lịch tư pháp","description":"Cấp phiếu","log_bodies":true,"redact":["so_dinh_danh"]}`},
		{"/api/v1/gateway/versions", `{"service":"` + svcID + `/v1","backend_url":"` + backend.URL + `","spec":"{}"}`},
		{"/api/v1/gateway/versions/status", `{"service":"` + svcID + `/v1","status":"published"}`},
		{"/api/v1/gateway/quotas", `{"client":"` + client + `","service":"` + svcID + `","rate_per_second":100}`},
	}
	for _, s := range steps {
		if w := do(mux, "POST", s.path, "admin", true, s.body, js); w.Code != 200 {
			t.Fatalf("%s: %d %s", s.path, w.Code, w.Body)
		}
	}
	if w := do(mux, "POST", "/api/v1/gateway/rights", "admin", true, `{"client":"`+client+`","service":"`+svcID+`","method":"GET","legal_basis":"NĐ 278/2025"}`, js); w.Code != 201 {
		t.Fatalf("grant: %d %s", w.Code, w.Body)
	}
	resp := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/x", "tok-client", nil)
	if b := readAll(t, resp); resp.StatusCode != 200 || b != "ok" {
		t.Fatalf("call after registering through the API: %d %s", resp.StatusCode, b)
	}
	// Errors: bad identifiers, lifecycle, rights.
	for _, c := range []struct {
		path, body string
		admin      bool
		status     int
	}{
		{"/api/v1/gateway/members", `{"id":"VN/GOV","name":"x"}`, true, 422},
		{"/api/v1/gateway/versions/status", `{"service":"` + svcID + `/v1","status":"draft"}`, true, 409},
		{"/api/v1/gateway/rights", `{"client":"` + client + `","service":"` + provider + `/none"}`, true, 404},
		{"/api/v1/gateway/members", `{"id":"VN/GOV/X","name":"x"}`, false, 403},
		{"/api/v1/gateway/members", `{"id":"VN/GOV/X","name":"x","extra":1}`, true, 400},
	} {
		if w := do(mux, "POST", c.path, "someone", c.admin, c.body, js); w.Code != c.status {
			t.Errorf("%s %s: %d, want %d: %s", c.path, c.body, w.Code, c.status, w.Body)
		}
	}
	// Catalog search ignores diacritics and hides backend addresses.
	w := do(mux, "GET", "/api/v1/gateway/services?q=ly%20lich", "dev", false, "", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), svcID) || strings.Contains(w.Body.String(), backend.URL) {
		t.Fatalf("catalog: %d %s", w.Code, w.Body)
	}
	if w := do(mux, "GET", "/api/v1/gateway/services", "", false, "", ""); w.Code != 401 {
		t.Errorf("anonymous catalog: %d", w.Code)
	}
	w = do(mux, "GET", "/api/v1/gateway/messages?service="+url.QueryEscape(svcID), "auditor", true, "", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":200`) {
		t.Fatalf("messages: %d %s", w.Code, w.Body)
	}
	if w := do(mux, "GET", "/api/v1/gateway/messages", "someone", false, "", ""); w.Code != 403 {
		t.Errorf("log read without right: %d", w.Code)
	}
	w = do(mux, "GET", "/api/v1/gateway/status", "admin", true, "", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"calls":1`) || !strings.Contains(w.Body.String(), `"node":"n1"`) ||
		!strings.Contains(w.Body.String(), `"live":true`) || !strings.Contains(w.Body.String(), `"clock_skew_ms":`) || !strings.Contains(w.Body.String(), `"time_stamping":{"enabled":false`) {
		t.Fatalf("status: %d %s", w.Code, w.Body)
	}
}

func TestAdminPages(t *testing.T) {
	mux, mgr, n := apiEnv(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	seed(t, mgr, backend.URL)
	readAll(t, call(t, n.srv.URL, "GET", "/r1/"+svcID, "tok-client", nil, gateway.HeaderIssue, "000.00.01.H57-260101-0042"))

	w := do(mux, "GET", "/gateway/catalog?q=phieu", "dev", false, "", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Phiếu lý lịch tư pháp") {
		t.Fatalf("catalog page: %d", w.Code)
	}
	if w := do(mux, "GET", "/admin/gateway", "dev", false, "", ""); w.Code != 403 {
		t.Errorf("admin page for a non-admin: %d", w.Code)
	}
	if w := do(mux, "GET", "/admin/gateway", "", false, "", ""); w.Code != 303 {
		t.Errorf("admin page anonymous: %d", w.Code)
	}
	w = do(mux, "GET", "/admin/gateway", "admin", true, "", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Nghị định 278/2025") {
		t.Fatalf("admin page: %d", w.Code)
	}
	// Granting without a legal basis shows the error next to the field.
	form := url.Values{"csrf_token": {"tok"}, "client": {other}, "service": {svcID}, "method": {"GET"}}
	w = do(mux, "POST", "/admin/gateway/rights", "admin", true, form.Encode(), "application/x-www-form-urlencoded")
	if w.Code != 422 || !strings.Contains(w.Body.String(), `id="legal_basis-err"`) || !strings.Contains(w.Body.String(), "Cần nhập căn cứ pháp lý") {
		t.Fatalf("grant form error: %d", w.Code)
	}
	form.Set("legal_basis", "Công văn 12/STTTT")
	form.Set("valid_until", time.Now().AddDate(0, 1, 0).Format("2006-01-02"))
	w = do(mux, "POST", "/admin/gateway/rights", "admin", true, form.Encode(), "application/x-www-form-urlencoded")
	if w.Code != 303 {
		t.Fatalf("grant form: %d %s", w.Code, w.Body)
	}
	readAll(t, call(t, n.srv.URL, "GET", "/r1/"+svcID, "tok-other", nil)) // now allowed
	reg, _ := mgr.Store().Load(context.Background())
	if len(reg.Rights) != 2 {
		t.Fatalf("rights after form: %d", len(reg.Rights))
	}
	w = do(mux, "GET", "/admin/gateway/messages?issue=000.00.01.H57-260101-0042", "auditor", true, "", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), client) {
		t.Fatalf("log viewer: %d", w.Code)
	}
	w = do(mux, "GET", "/admin/gateway/messages?issue=000.00.01.H57-260101-0042", "auditor", true, "", "")
	w2 := do(mux, "GET", "/admin/gateway/status", "admin", true, "", "")
	if w2.Code != 200 || !strings.Contains(w2.Body.String(), svcID) || !strings.Contains(w2.Body.String(), "<code>n1</code>") ||
		!strings.Contains(w2.Body.String(), "CONGSO_GATEWAY_TSA_URL") || !strings.Contains(w2.Body.String(), "Đồng hồ so với máy chủ CSDL") ||
		!regexp.MustCompile(`<td>(&#43;|-)[0-9]+\.[0-9] s</td>`).MatchString(w2.Body.String()) {
		t.Fatalf("status page: %d %s", w2.Code, w2.Body)
	}
	w = do(mux, "GET", "/admin/gateway/messages?from=yesterday", "auditor", true, "", "")
	if w.Code != 400 || !strings.Contains(w.Body.String(), `aria-describedby="from-err"`) {
		t.Fatalf("bad date: %d", w.Code)
	}
}

func TestPubSubAPI(t *testing.T) {
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seed(t, n.mgr, "http://127.0.0.1:1")
	ps := gateway.NewPubSub(d, gateway.PubSubConfig{})
	h, err := gateway.NewHandlers(gateway.HandlerConfig{Manager: n.mgr, DB: d, PubSub: ps, Authorizer: headerAuthz{}, Actor: func(r *http.Request) string { return r.Header.Get("X-Test-User") }})
	must(t, err)
	mux := http.NewServeMux()
	h.Routes(mux)
	const js = "application/json"
	if w := do(mux, "POST", "/api/v1/gateway/topics", "admin", true, `{"code":"handoff","owner":"`+client+`","title":"Liên thông"}`, js); w.Code != 200 {
		t.Fatalf("topic: %d %s", w.Code, w.Body)
	}
	w := do(mux, "POST", "/api/v1/gateway/subscriptions", "admin", true, `{"topic":"handoff","subscriber":"`+provider+`","url":"http://127.0.0.1:1/hook"}`, js)
	if w.Code != 201 || !strings.Contains(w.Body.String(), `"secret":"`) {
		t.Fatalf("subscription: %d %s", w.Code, w.Body)
	}
	if w := do(mux, "POST", "/api/v1/gateway/subscriptions", "admin", true, `{"topic":"none","subscriber":"`+provider+`","url":"http://127.0.0.1:1/hook"}`, js); w.Code != 404 {
		t.Errorf("subscription to unknown topic: %d", w.Code)
	}
	if w := do(mux, "POST", "/api/v1/gateway/subscriptions/1/replay?since=2026-01-01T00:00:00Z", "admin", true, "", ""); w.Code != 200 {
		t.Errorf("replay: %d %s", w.Code, w.Body)
	}
	if w := do(mux, "GET", "/api/v1/gateway/dead-letters", "admin", true, "", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"items":[]`) {
		t.Errorf("dead letters: %d %s", w.Code, w.Body)
	}
	// A new secret replaces the old one, shown once.
	var first, rotated gateway.Subscription
	must(t, json.Unmarshal(w.Body.Bytes(), &first))
	w = do(mux, "POST", "/api/v1/gateway/subscriptions/1/secret", "admin", true, "", "")
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &rotated) != nil || len(rotated.Secret) != 64 || rotated.Secret == first.Secret || rotated.Topic != "handoff" {
		t.Fatalf("rotate secret: %d %s", w.Code, w.Body)
	}
	if w := do(mux, "POST", "/api/v1/gateway/subscriptions/99/secret", "admin", true, "", ""); w.Code != 404 {
		t.Errorf("rotate unknown: %d", w.Code)
	}
	if w := do(mux, "POST", "/api/v1/gateway/subscriptions/1/secret", "someone", false, "", ""); w.Code != 403 {
		t.Errorf("rotate without right: %d", w.Code)
	}
	// A followed topic is not removed; once unfollowed it is.
	if w := do(mux, "DELETE", "/api/v1/gateway/topics/handoff", "someone", false, "", ""); w.Code != 403 {
		t.Errorf("topic removal without right: %d", w.Code)
	}
	if w := do(mux, "DELETE", "/api/v1/gateway/topics/handoff", "admin", true, "", ""); w.Code != 409 || !strings.Contains(w.Body.String(), "1 đăng ký nhận sự kiện") {
		t.Errorf("followed topic removal: %d %s", w.Code, w.Body)
	}
	if w := do(mux, "DELETE", "/api/v1/gateway/subscriptions/1", "admin", true, "", ""); w.Code != 200 {
		t.Fatalf("unsubscribe: %d %s", w.Code, w.Body)
	}
	if w := do(mux, "DELETE", "/api/v1/gateway/topics/handoff", "admin", true, "", ""); w.Code != 200 {
		t.Errorf("topic removal: %d %s", w.Code, w.Body)
	}
	if w := do(mux, "DELETE", "/api/v1/gateway/topics/handoff", "admin", true, "", ""); w.Code != 404 {
		t.Errorf("removed topic removed again: %d %s", w.Code, w.Body)
	}
	if w := do(mux, "GET", "/api/v1/gateway/topics", "dev", false, "", ""); w.Code != 200 || strings.Contains(w.Body.String(), "handoff") {
		t.Errorf("topics after removal: %d %s", w.Code, w.Body)
	}
}

func TestMessageCatalogsComplete(t *testing.T) {
	if err := i18n.Check(); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(gateway.OpenAPIFragment(), &doc); err != nil || doc["paths"] == nil {
		t.Fatalf("OpenAPI fragment: %v", err)
	}
}

// The status page tells a running node whose clock is behind (its
// heartbeat recent on the database server's clock, old on its own) from a
// node that is down.
func TestStatusPageShowsANodeWithItsClockBehind(t *testing.T) {
	d := sqliteDB(t)
	mux, _, _ := apiEnvOn(t, d)
	now := time.Now()
	_, err := d.Write().ExecContext(context.Background(), `INSERT INTO gateway_nodes (node, started_at, seen_at, revision, process, clock_skew_ms) VALUES
('n-behind', $1, $2, 0, 'p', -60000), ('n-down', $1, $1, 0, 'q', 0)`, now.Add(-time.Hour).UTC(), now.Add(-time.Minute).UTC())
	must(t, err)
	w := do(mux, "GET", "/admin/gateway/status", "admin", true, "", "")
	b := w.Body.String()
	row := func(node string) string {
		i := strings.Index(b, "<code>"+node+"</code>")
		if i < 0 {
			t.Fatalf("no row for %s", node)
		}
		return b[i : i+strings.Index(b[i:], "</tr>")]
	}
	if r := row("n-behind"); !strings.Contains(r, "đồng hồ chậm") || strings.Contains(r, "mất tín hiệu") {
		t.Errorf("a node 60 s behind, beating now: %s", r)
	}
	if r := row("n-down"); !strings.Contains(r, "mất tín hiệu") {
		t.Errorf("a node last seen an hour ago: %s", r)
	}
}
