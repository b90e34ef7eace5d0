package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/web"
)

// regEnv serves the gateway's pages on d; X-Test-User / X-Test-Admin say who
// is signed in, as in apiEnv.
func regEnv(t *testing.T, d *db.DB) (*http.ServeMux, *gateway.Manager) {
	t.Helper()
	mgr := gateway.NewManager(gateway.NewStore(d, nil), nil)
	shell, err := web.New(web.Site{ProvinceName: "Tỉnh Demo"})
	must(t, err)
	shell.CSRFToken = func(*http.Request) string { return "tok" }
	shell.CurrentUser = func(r *http.Request) *web.User {
		if r.Header.Get("X-Test-User") == "" {
			return nil
		}
		admin := r.Header.Get("X-Test-Admin") == "yes"
		return &web.User{ID: r.Header.Get("X-Test-User"), Kind: "official", CanDo: func(string) bool { return admin }}
	}
	h, err := gateway.NewHandlers(gateway.HandlerConfig{Manager: mgr, DB: d, Authorizer: headerAuthz{}, Shell: shell,
		Actor: func(r *http.Request) string { return r.Header.Get("X-Test-User") }})
	must(t, err)
	mux := http.NewServeMux()
	h.Routes(mux)
	return mux, mgr
}

// page sends a GET (form nil) or a form POST as an admin (or not), in lang.
func page(mux http.Handler, target string, admin bool, lang string, form url.Values) *httptest.ResponseRecorder {
	var r *http.Request
	if form == nil {
		r = httptest.NewRequest("GET", target, nil)
	} else {
		form.Set("csrf_token", "tok")
		r = httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("X-Test-User", "nguyen.van.a")
	if admin {
		r.Header.Set("X-Test-Admin", "yes")
	}
	if lang != "" {
		r.Header.Set("Accept-Language", lang)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func load(t *testing.T, m *gateway.Manager) *gateway.Registry {
	t.Helper()
	reg, err := m.Store().Load(context.Background())
	must(t, err)
	return reg
}

// saved asserts a form was accepted: a redirect with a flash message.
func saved(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Set-Cookie"), "flash=gateway.flash.") {
		t.Fatalf("%s: %d (want 303 with a flash) %s", what, w.Code, w.Body)
	}
}

// rejected asserts a form came back (422) with msg next to the field id:
// the error paragraph, referenced by the field's aria-describedby.
func rejected(t *testing.T, what string, w *httptest.ResponseRecorder, id, msg string) {
	t.Helper()
	b := w.Body.String()
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("%s: %d, want 422: %s", what, w.Code, b)
	}
	errP := `<p class="err" id="` + id + `-err">` + msg
	if !strings.Contains(b, errP) {
		t.Fatalf("%s: no %q in the page", what, errP)
	}
	if !strings.Contains(b, `id="`+id+`"`) || !strings.Contains(b, id+`-err" aria-invalid="true"`) {
		t.Fatalf("%s: field %s not described by its error", what, id)
	}
	if !strings.Contains(b, `role="alert"`) || !strings.Contains(b, `href="#`+id+`"`) {
		t.Fatalf("%s: no error summary linking to %s", what, id)
	}
}

func TestRegistryPagesNeedGatewayAdmin(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		mux, mgr := regEnv(t, d)
		for _, p := range []string{"members", "certificates", "services", "quotas", "peers", "remove/peer?id=VN-DNG"} {
			if w := page(mux, "/admin/gateway/"+p, false, "", nil); w.Code != http.StatusForbidden {
				t.Errorf("GET %s without gateway.admin: %d", p, w.Code)
			}
		}
		posts := map[string]url.Values{
			"/admin/gateway/members":             {"id": {"VN-HUE/GOV/000.00.15.H57"}, "name": {"Sở Tư pháp"}},
			"/admin/gateway/subsystems":          {"id": {provider}},
			"/admin/gateway/certificates":        {"fingerprint": {strings.Repeat("a", 64)}, "owner": {client}},
			"/admin/gateway/certificates/delete": {"fingerprint": {strings.Repeat("a", 64)}},
			"/admin/gateway/services":            {"id": {svcID}, "title": {"x"}},
			"/admin/gateway/versions":            {"service": {svcID}, "version": {"v1"}, "backend_url": {"http://127.0.0.1:1"}},
			"/admin/gateway/versions/status":     {"version": {svcID + "/v1"}, "status": {"published"}},
			"/admin/gateway/quotas":              {"client": {client}, "service": {svcID}, "daily": {"5"}},
			"/admin/gateway/quotas/delete":       {"client": {client}, "service": {svcID}},
			"/admin/gateway/peers":               {"instance": {"VN-DNG"}, "url": {"https://lgsp.danang.gov.vn"}},
			"/admin/gateway/remove/peer":         {"id": {"VN-DNG"}, "confirm": {"yes"}},
			"/admin/gateway/remove/member":       {"id": {"VN-HUE/GOV/000.00.15.H57"}, "confirm": {"yes"}},
		}
		for target, form := range posts {
			if w := page(mux, target, false, "", form); w.Code != http.StatusForbidden {
				t.Errorf("POST %s without gateway.admin: %d", target, w.Code)
			}
		}
		if reg := load(t, mgr); reg.Revision != 0 || len(reg.Members) != 0 || len(reg.Peers) != 0 {
			t.Fatalf("refused forms changed the registry: revision %d", reg.Revision)
		}
	})
}

func TestRegistryPagesRenderInBothLanguages(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		mux, mgr := regEnv(t, d)
		seed(t, mgr, "http://127.0.0.1:1")
		ctx := context.Background()
		must(t, mgr.PutQuota(ctx, "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), Daily: 777}))
		must(t, mgr.PutPeer(ctx, "admin", gateway.Peer{Instance: "VN-DNG", URL: "https://lgsp.danang.gov.vn"}))
		must(t, mgr.PutCertificate(ctx, "admin", gateway.Certificate{Fingerprint: strings.Repeat("b", 64), Owner: "peer:VN-DNG"}))
		pages := []struct{ path, vi, en, data string }{
			{"members", "Thành viên và hệ thống thông tin", "Members and information systems", "000.00.15.H57"},
			{"certificates", "Chứng thư số và ứng dụng OAuth", "Certificates and OAuth clients", "peer:VN-DNG"},
			{"services", "Dịch vụ và phiên bản", "Services and versions", "Phiếu lý lịch tư pháp"},
			{"quotas", "Hạn mức sử dụng dịch vụ", "Service quotas", "777"},
			{"peers", "Nền tảng tích hợp liên kết", "Peer gateways", "https://lgsp.danang.gov.vn"},
		}
		for _, p := range pages {
			for _, l := range []struct{ accept, title, lang string }{{"vi", p.vi, `lang="vi"`}, {"en-US,en;q=0.9", p.en, `lang="en"`}} {
				w := page(mux, "/admin/gateway/"+p.path, true, l.accept, nil)
				b := w.Body.String()
				if w.Code != 200 || !strings.Contains(b, "<h1>"+l.title+"</h1>") || !strings.Contains(b, l.lang) || !strings.Contains(b, p.data) {
					t.Fatalf("%s in %s: %d, want title %q and %q", p.path, l.accept, w.Code, l.title, p.data)
				}
				for _, want := range []string{`<caption>`, `scope="col"`, `class="table-wrap" role="region"`, `name="csrf_token" value="tok"`,
					`href="/admin/gateway/peers"`, `aria-current="page"`, `<fieldset><legend>`, "<label for="} {
					if !strings.Contains(b, want) {
						t.Errorf("%s in %s: no %s", p.path, l.accept, want)
					}
				}
				if strings.Contains(b, "gateway.") {
					i := strings.Index(b, "gateway.")
					if strings.Contains(b[i:i+40], "gateway.f.") || strings.Contains(b[i:i+40], "gateway.reg.") {
						t.Errorf("%s in %s: untranslated key near %q", p.path, l.accept, b[i:i+40])
					}
				}
			}
		}
		// The access-rights page links to the registry pages.
		if w := page(mux, "/admin/gateway", true, "", nil); !strings.Contains(w.Body.String(), `href="/admin/gateway/members"`) {
			t.Error("the admin page does not link to the members page")
		}
	})
}

func TestRegistryFormsMembersSubsystemsCertificates(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		mux, mgr := regEnv(t, d)
		const mem = "VN-HUE/GOV/000.00.15.H57"
		rejected(t, "member id", page(mux, "/admin/gateway/members", true, "", url.Values{"id": {"VN-HUE/GOV"}, "name": {"Sở Tư pháp"}}),
			"member-id", "Mã thành viên phải có dạng")
		rejected(t, "member name", page(mux, "/admin/gateway/members", true, "", url.Values{"id": {mem}, "name": {" "}}),
			"member-name", "Cần nhập tên")
		saved(t, "member", page(mux, "/admin/gateway/members", true, "", url.Values{"id": {mem}, "name": {"Sở Tư pháp"}, "agency_eid": {"000.00.15.H57"}}))
		reg := load(t, mgr)
		if len(reg.Members) != 1 || reg.Members[0].Name != "Sở Tư pháp" || reg.Members[0].AgencyEID != "000.00.15.H57" || reg.Revision != 1 {
			t.Fatalf("member after the form: %+v (revision %d)", reg.Members, reg.Revision)
		}
		// Edit: the page prefills the form, the form renames.
		if w := page(mux, "/admin/gateway/members?edit="+url.QueryEscape(mem), true, "", nil); !strings.Contains(w.Body.String(), `value="Sở Tư pháp"`) {
			t.Fatal("edit page not prefilled")
		}
		saved(t, "member edit", page(mux, "/admin/gateway/members", true, "", url.Values{"id": {mem}, "name": {"Sở Tư pháp tỉnh"}, "agency_eid": {"000.00.15.H57"}}))
		if reg := load(t, mgr); len(reg.Members) != 1 || reg.Members[0].Name != "Sở Tư pháp tỉnh" {
			t.Fatalf("member after edit: %+v", reg.Members)
		}

		rejected(t, "subsystem id", page(mux, "/admin/gateway/subsystems", true, "", url.Values{"id": {mem}}),
			"subsystem-id", "Mã hệ thống phải có dạng")
		rejected(t, "subsystem of an unknown member", page(mux, "/admin/gateway/subsystems", true, "", url.Values{"id": {"VN-HUE/GOV/999/X"}}),
			"subsystem-id", "Chưa có trong danh mục")
		saved(t, "subsystem", page(mux, "/admin/gateway/subsystems", true, "", url.Values{"id": {provider}, "name": {"Lý lịch tư pháp"}}))
		if reg := load(t, mgr); len(reg.Subsystems) != 1 || reg.Subsystems[0].ID.String() != provider || reg.Subsystems[0].Name != "Lý lịch tư pháp" {
			t.Fatalf("subsystems: %+v", reg.Subsystems)
		}

		// Certificates: by fingerprint, by OAuth client, then removed.
		rejected(t, "fingerprint", page(mux, "/admin/gateway/certificates", true, "", url.Values{"fingerprint": {"abc"}, "owner": {provider}}),
			"certificate-fingerprint", "Dấu vân tay phải là 64 chữ số")
		rejected(t, "owner", page(mux, "/admin/gateway/certificates", true, "", url.Values{"fingerprint": {strings.Repeat("c", 64)}, "owner": {"someone"}}),
			"certificate-owner", "Chủ sở hữu phải là")
		fp := strings.Repeat("AB:", 31) + "AB"
		saved(t, "certificate", page(mux, "/admin/gateway/certificates", true, "", url.Values{"fingerprint": {fp}, "owner": {provider}, "not_after": {"2027-06-30"}}))
		saved(t, "oauth binding", page(mux, "/admin/gateway/certificates", true, "", url.Values{"oauth_client": {"mot-cua"}, "owner": {provider}}))
		sum := sha256.Sum256([]byte("oauth-client:mot-cua"))
		oauthFP := hex.EncodeToString(sum[:])
		got := map[string]string{}
		for _, c := range load(t, mgr).Certificates {
			got[c.Fingerprint] = c.Owner
		}
		if got[strings.Repeat("ab", 32)] != provider || got[oauthFP] != provider || len(got) != 2 {
			t.Fatalf("certificates: %v", got)
		}
		b := page(mux, "/admin/gateway/certificates", true, "", nil).Body.String()
		if !strings.Contains(b, "Ứng dụng OAuth <code>mot-cua</code>") || strings.Contains(b, oauthFP+"</code></th>") {
			t.Fatal("the OAuth binding is not shown as such")
		}
		saved(t, "remove certificate", page(mux, "/admin/gateway/certificates/delete", true, "", url.Values{"fingerprint": {strings.Repeat("ab", 32)}}))
		if cs := load(t, mgr).Certificates; len(cs) != 1 || cs[0].Fingerprint != oauthFP {
			t.Fatalf("certificates after removal: %+v", cs)
		}
	})
}

func TestRegistryFormsServicesAndLifecycle(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		mux, mgr := regEnv(t, d)
		ctx := context.Background()
		must(t, mgr.PutMember(ctx, "admin", gateway.Member{ID: cid("VN-HUE/GOV/000.00.15.H57"), Name: "Sở Tư pháp"}))
		must(t, mgr.PutSubsystem(ctx, "admin", gateway.Subsystem{ID: cid(provider)}))
		svc := url.Values{"id": {svcID}, "title": {""}, "description": {"Cấp phiếu"}, "kind": {"rest"}, "timeout": {"45"},
			"max_body_bytes": {"1048576"}, "log_bodies": {"on"}, "redact": {"so_dinh_danh, so_dien_thoai"}, "fail_policy": {"open"}}
		rejected(t, "service title", page(mux, "/admin/gateway/services", true, "", svc), "service-title", "Cần nhập tên dịch vụ")
		svc.Set("title", "Phiếu lý lịch tư pháp")
		svc.Set("timeout", "601")
		rejected(t, "service timeout", page(mux, "/admin/gateway/services", true, "", svc), "service-timeout", "Thời gian chờ phải là")
		svc.Set("timeout", "45")
		saved(t, "service", page(mux, "/admin/gateway/services", true, "", svc))
		reg := load(t, mgr)
		if len(reg.Services) != 1 {
			t.Fatalf("services: %d", len(reg.Services))
		}
		s := reg.Services[0]
		if s.Title != "Phiếu lý lịch tư pháp" || s.Timeout != 45*time.Second || s.MaxBodyBytes != 1<<20 || !s.LogBodies ||
			strings.Join(s.Redact, ",") != "so_dinh_danh,so_dien_thoai" || s.FailPolicy != gateway.FailOpen || s.Kind != gateway.REST {
			t.Fatalf("service after the form: %+v", s)
		}
		// Edit: prefilled, and unchecking "log bodies" turns it off.
		if w := page(mux, "/admin/gateway/services?edit="+url.QueryEscape(svcID), true, "", nil); !strings.Contains(w.Body.String(), `value="Phiếu lý lịch tư pháp"`) ||
			!strings.Contains(w.Body.String(), `value="on" checked`) {
			t.Fatal("service edit page not prefilled")
		}
		svc.Del("log_bodies")
		svc.Set("fail_policy", "closed")
		saved(t, "service edit", page(mux, "/admin/gateway/services", true, "", svc))
		if s := load(t, mgr).Services[0]; s.LogBodies || s.FailPolicy != gateway.FailClosed {
			t.Fatalf("service after edit: %+v", s)
		}

		ver := url.Values{"service": {svcID}, "version": {"1"}, "backend_url": {"http://10.0.0.5:8080/api"}, "spec": {`{"openapi":"3.0.0"}`}}
		rejected(t, "version label", page(mux, "/admin/gateway/versions", true, "", ver), "version-version", "Phiên bản phải có dạng v1")
		ver.Set("version", "v1")
		ver.Set("backend_url", "10.0.0.5/api")
		rejected(t, "backend url", page(mux, "/admin/gateway/versions", true, "", ver), "version-backend-url", "Địa chỉ phải là địa chỉ http(s)")
		ver.Set("backend_url", "http://10.0.0.5:8080/api")
		saved(t, "version", page(mux, "/admin/gateway/versions", true, "", ver))
		v := load(t, mgr).Services[0].Versions
		if len(v) != 1 || v[0].Version != "v1" || v[0].Status != gateway.Draft || v[0].BackendURL != "http://10.0.0.5:8080/api" || v[0].Spec != `{"openapi":"3.0.0"}` {
			t.Fatalf("version after the form: %+v", v)
		}

		status := func(st, sunset string) *httptest.ResponseRecorder {
			return page(mux, "/admin/gateway/versions/status", true, "", url.Values{"version": {svcID + "/v1"}, "status": {st}, "sunset": {sunset}})
		}
		rejected(t, "sunset when publishing", status("published", "2027-01-01"), "status-sunset", "Ngày ngừng chỉ nhập khi")
		saved(t, "publish", status("published", ""))
		if v := load(t, mgr).Services[0].Versions[0]; v.Status != gateway.Published {
			t.Fatalf("after publishing: %s", v.Status)
		}
		saved(t, "deprecate", status("deprecated", "2027-01-01"))
		v0 := load(t, mgr).Services[0].Versions[0]
		if v0.Status != gateway.Deprecated || v0.SunsetAt == nil || v0.SunsetAt.In(web.Location).Format("2006-01-02") != "2027-01-01" {
			t.Fatalf("after deprecating: %+v", v0)
		}
		saved(t, "retire", status("retired", ""))
		rejected(t, "publish a retired version", status("published", ""), "status-status", "Không thể chuyển phiên bản sang trạng thái này")
		if v := load(t, mgr).Services[0].Versions[0]; v.Status != gateway.Retired {
			t.Fatalf("a refused transition changed the status: %s", v.Status)
		}
		rejected(t, "unknown version", page(mux, "/admin/gateway/versions/status", true, "", url.Values{"version": {svcID + "/v9"}, "status": {"published"}}),
			"status-version", "Chưa có trong danh mục")
	})
}

func TestRegistryFormsQuotasAndPeers(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		mux, mgr := regEnv(t, d)
		seed(t, mgr, "http://127.0.0.1:1")
		q := url.Values{"client": {client}, "service": {svcID}, "rate_per_second": {""}, "daily": {"0"}, "max_concurrent": {""}}
		rejected(t, "empty quota", page(mux, "/admin/gateway/quotas", true, "", q), "quota-rate-per-second", "Nhập số nguyên không âm")
		q.Set("daily", "-3")
		rejected(t, "negative quota", page(mux, "/admin/gateway/quotas", true, "", q), "quota-daily", "Nhập số nguyên không âm")
		q.Set("client", "VN-HUE/GOV/000.00.01.H57")
		q.Set("daily", "20000")
		rejected(t, "quota client", page(mux, "/admin/gateway/quotas", true, "", q), "quota-client", "Hệ thống sử dụng phải có dạng")
		q.Set("client", client)
		q.Set("rate_per_second", "50")
		q.Set("max_concurrent", "10")
		saved(t, "quota", page(mux, "/admin/gateway/quotas", true, "", q))
		qs := load(t, mgr).Quotas
		if len(qs) != 1 || qs[0].Client.String() != client || qs[0].Service.String() != svcID || qs[0].RatePerSecond != 50 || qs[0].Daily != 20000 || qs[0].MaxConcurrent != 10 {
			t.Fatalf("quotas after the form: %+v", qs)
		}
		saved(t, "remove quota", page(mux, "/admin/gateway/quotas/delete", true, "", url.Values{"client": {client}, "service": {svcID}}))
		if qs := load(t, mgr).Quotas; len(qs) != 0 {
			t.Fatalf("quotas after removal: %+v", qs)
		}

		rejected(t, "peer url", page(mux, "/admin/gateway/peers", true, "", url.Values{"instance": {"VN-DNG"}, "url": {"lgsp.danang.gov.vn"}}),
			"peer-url", "Địa chỉ phải là địa chỉ http(s)")
		rejected(t, "peer instance", page(mux, "/admin/gateway/peers", true, "", url.Values{"instance": {"VN DNG"}, "url": {"https://lgsp.danang.gov.vn"}}),
			"peer-instance", "Instance chỉ gồm")
		before := load(t, mgr).Revision
		saved(t, "peer", page(mux, "/admin/gateway/peers", true, "", url.Values{"instance": {"VN-DNG"}, "url": {"https://lgsp.danang.gov.vn/"}}))
		saved(t, "peer edit", page(mux, "/admin/gateway/peers", true, "", url.Values{"instance": {"VN-DNG"}, "url": {"https://lgsp2.danang.gov.vn"}}))
		reg := load(t, mgr)
		if len(reg.Peers) != 1 || reg.Peers[0].URL != "https://lgsp2.danang.gov.vn" || reg.Revision != before+2 {
			t.Fatalf("peers after the forms: %+v (revision %d → %d)", reg.Peers, before, reg.Revision)
		}
		if w := page(mux, "/admin/gateway/peers?edit=VN-DNG", true, "en", nil); !strings.Contains(w.Body.String(), `value="https://lgsp2.danang.gov.vn"`) {
			t.Fatal("peer edit page not prefilled")
		}
	})
}
