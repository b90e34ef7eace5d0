package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
)

// The catalog (OpenAPI documents included) is the agencies' developers'
// tool: a signed-in applicant (a citizen) gets 403 on its page and API.
func TestCatalogIsForOfficials(t *testing.T) {
	mux, mgr, _ := apiEnv(t)
	seed(t, mgr, "http://10.0.0.5:8080")
	for _, target := range []string{"/gateway/catalog", "/api/v1/gateway/services", "/api/v1/gateway/services?q=lltp"} {
		get := func(kind string) *httptest.ResponseRecorder {
			r := httptest.NewRequest("GET", target, nil)
			r.Header.Set("X-Test-User", "person-1")
			r.Header.Set("X-Test-Kind", kind)
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			return w
		}
		if w := get("applicant"); w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "phieu-lltp") {
			t.Errorf("GET %s as an applicant: %d, want 403 without the catalog", target, w.Code)
		}
		if w := get("official"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "phieu-lltp") {
			t.Errorf("GET %s as an official: %d, want the catalog", target, w.Code)
		}
	}
}

// The grant form shows a refusal of the Manager (a path pattern without
// "/", an end date already past) in the reader's language, next to the
// field at fault.
func TestGrantFormRefusalIsVietnameseAndOnItsField(t *testing.T) {
	mux, mgr, _ := apiEnv(t)
	seed(t, mgr, "http://10.0.0.5:8080")
	for _, c := range []struct{ what, field, path, until string }{
		{"path without /", "path", "ho-so/**", ""},
		{"end date in the past", "valid_until", "", time.Now().AddDate(0, 0, -2).Format("2006-01-02")},
	} {
		form := url.Values{"csrf_token": {"tok"}, "client": {other}, "service": {svcID}, "method": {"GET"},
			"legal_basis": {"Công văn 12/STTTT"}, "path": {c.path}, "valid_until": {c.until}}
		r := httptest.NewRequest("POST", "/admin/gateway/rights", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Accept-Language", "vi")
		r.Header.Set("X-Test-User", "admin")
		r.Header.Set("X-Test-Admin", "yes")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		b := w.Body.String()
		if w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("%s: %d", c.what, w.Code)
		}
		if strings.Contains(b, "gateway: invalid") || strings.Contains(b, "must be after") || strings.Contains(b, "must start with") {
			t.Errorf("%s: English Go error shown to the user", c.what)
		}
		if !strings.Contains(b, `id="`+c.field+`-err"`) {
			t.Errorf("%s: error not next to %q (service-err present: %v)", c.what, c.field, strings.Contains(b, `id="service-err"`))
		}
	}
}

// Redaction field names given through the JSON API are trimmed and empty
// ones dropped, as the form does: " so_dinh_danh" must still redact the
// personal number in the logged bodies.
func TestRedactFieldsAreNormalised(t *testing.T) {
	mux, mgr, _ := apiEnv(t)
	seed(t, mgr, "http://10.0.0.5:8080")
	body := `{"id":"` + svcID + `","title":"Phiếu lý lịch tư pháp","log_bodies":true,"redact":[" so_dinh_danh",""]}`
	r := httptest.NewRequest("POST", "/api/v1/gateway/services", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Test-User", "admin")
	r.Header.Set("X-Test-Admin", "yes")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("post service: %d %s", w.Code, w.Body)
	}
	reg, err := mgr.Store().Load(context.Background())
	must(t, err)
	found := false
	for _, s := range reg.Services {
		if s.ID.String() != svcID {
			continue
		}
		found = true
		logged := gateway.Redact([]byte(`{"so_dinh_danh":"046201001234"}`), s.Redact)
		if len(s.Redact) != 1 || strings.Contains(logged, "046201001234") {
			t.Errorf("redact stored as %q: the logged body: %s", s.Redact, logged)
		}
	}
	if !found {
		t.Fatal("service not stored")
	}
	// A name with a space inside can match no field: refused.
	r = httptest.NewRequest("POST", "/api/v1/gateway/services", strings.NewReader(strings.Replace(body, `" so_dinh_danh"`, `"so dinh danh"`, 1)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Test-User", "admin")
	r.Header.Set("X-Test-Admin", "yes")
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != http.StatusUnprocessableEntity {
		t.Errorf("a field name with spaces: %d %s", w.Code, w.Body)
	}
}
