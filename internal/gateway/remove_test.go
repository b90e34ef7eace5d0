package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

const (
	providerMember = "VN-HUE/GOV/000.00.15.H57"
	clientMember   = "VN-HUE/GOV/000.00.01.H57"
)

// inUse asserts err is a refusal (ErrInUse) whose message says what still
// refers to the entry.
func inUse(t *testing.T, what string, err error, msg string) {
	t.Helper()
	var e *gateway.InUseError
	if !errors.Is(err, gateway.ErrInUse) || !errors.As(err, &e) {
		t.Fatalf("%s: %v, want ErrInUse", what, err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Fatalf("%s: %q does not say %q", what, err.Error(), msg)
	}
}

// integration: the registry removes members, subsystems, services, versions,
// groups and peers only once nothing refers to them; refusals change nothing,
// removals are audited and bump the revision once each.
func TestRemovalRefusedWhileReferencedThenAllowed(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		m := gateway.NewManager(gateway.NewStore(d, nil), nil)
		seed(t, m, "http://127.0.0.1:1/api") // right: client → svc; v1 published
		must(t, m.PutQuota(ctx, "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), Daily: 100}))
		must(t, m.PutQuota(ctx, "admin", gateway.Quota{Client: cid(provider), Service: sid(svcID), Daily: 100}))
		fp := strings.Repeat("ab", 32)
		must(t, m.PutCertificate(ctx, "admin", gateway.Certificate{Fingerprint: fp, Owner: provider, Subject: "CN=LLTP"}))
		// An OAuth binding as `congso gateway bind-client` and the certificates page record it.
		form, _ := regEnv(t, d)
		saved(t, "oauth binding", page(form, "/admin/gateway/certificates", true, "", url.Values{"oauth_client": {"lltp"}, "owner": {provider}}))
		must(t, m.PutGroup(ctx, "admin", gateway.Group{Code: "so-nganh", Name: "Sở, ngành", Members: []gateway.ClientID{cid(other)}}))
		groupRight, err := m.Grant(ctx, "admin", gateway.AccessRight{Client: "group:so-nganh", Service: sid(svcID), LegalBasis: "QĐ 1"})
		must(t, err)
		must(t, m.PutPeer(ctx, "admin", gateway.Peer{Instance: "VN-DNG", URL: "https://lgsp.danang.gov.vn"}))
		peerFP := strings.Repeat("cd", 32)
		must(t, m.PutCertificate(ctx, "admin", gateway.Certificate{Fingerprint: peerFP, Owner: "peer:VN-DNG"}))
		ps := gateway.NewPubSub(d, gateway.PubSubConfig{})
		must(t, ps.PutTopic(ctx, gateway.Topic{Code: "ho-so", Owner: client, Title: "Hồ sơ"}))
		// A subscription row as pub/sub writes it (written directly, so the
		// test does not depend on the pub/sub API's schema additions).
		_, err = d.Write().ExecContext(ctx, `INSERT INTO gateway_subscriptions (topic, subscriber, url, secret, created_at) VALUES ($1, $2, $3, $4, $5)`,
			"ho-so", client, "http://127.0.0.1:1/hook", "s", time.Now().UTC())
		must(t, err)

		before := load(t, m)
		inUse(t, "member with subsystems", m.DeleteMember(ctx, "admin", cid(clientMember)),
			"the member "+clientMember+" still has 2 subsystems")
		inUse(t, "provider subsystem", m.DeleteSubsystem(ctx, "admin", cid(provider)),
			"still has 1 service, 1 quota, 1 certificate and 1 OAuth client binding")
		inUse(t, "client subsystem", m.DeleteSubsystem(ctx, "admin", cid(client)),
			"still has 1 access right, 1 quota, 1 pub/sub topic and 1 webhook subscription")
		inUse(t, "grouped subsystem", m.DeleteSubsystem(ctx, "admin", cid(other)), "still has 1 group membership")
		inUse(t, "live service", m.DeleteService(ctx, "admin", sid(svcID)),
			"the service "+svcID+" still has 1 published or deprecated version, 2 access rights and 2 quotas")
		inUse(t, "published version", m.DeleteVersion(ctx, "admin", sid(svcID+"/v1")), "is published: retire it")
		inUse(t, "group with a right", m.DeleteGroup(ctx, "admin", "so-nganh"), "the group so-nganh still has 1 access right")
		inUse(t, "peer with a certificate", m.DeletePeer(ctx, "admin", "VN-DNG"), "the peer VN-DNG still has 1 certificate")
		var e *gateway.InUseError
		if err := m.DeleteSubsystem(ctx, "admin", cid(provider)); !errors.As(err, &e) || len(e.Refs) != 4 || e.Refs[0] != (gateway.Ref{Kind: gateway.RefServices, Count: 1}) {
			t.Fatalf("structured refusal: %+v", e)
		}
		for what, err := range map[string]error{
			"unknown member":  m.DeleteMember(ctx, "admin", cid("VN-HUE/GOV/999")),
			"unknown peer":    m.DeletePeer(ctx, "admin", "VN-XXX"),
			"unknown version": m.DeleteVersion(ctx, "admin", sid(svcID+"/v9")),
			"unknown group":   m.DeleteGroup(ctx, "admin", "none"),
		} {
			if !errors.Is(err, gateway.ErrNotFound) {
				t.Errorf("%s: %v, want ErrNotFound", what, err)
			}
		}
		if err := m.DeleteMember(ctx, "admin", cid(provider)); !errors.Is(err, gateway.ErrInvalid) {
			t.Errorf("a subsystem id as member: %v", err)
		}
		if after := load(t, m); after.Revision != before.Revision || len(after.Members) != 2 || len(after.Subsystems) != 3 || len(after.Services) != 1 || len(after.Peers) != 1 || len(after.Groups) != 1 {
			t.Fatalf("refused removals changed the registry: revision %d → %d", before.Revision, after.Revision)
		}

		// Remove what refers to each entry, then the entry.
		must(t, m.Revoke(ctx, "admin", groupRight.ID))
		must(t, m.DeleteGroup(ctx, "admin", "so-nganh"))
		must(t, m.DeleteSubsystem(ctx, "admin", cid(other)))
		must(t, m.DeleteCertificate(ctx, "admin", peerFP))
		must(t, m.DeletePeer(ctx, "admin", "VN-DNG"))
		reg := load(t, m)
		for _, a := range reg.Rights {
			must(t, m.Revoke(ctx, "admin", a.ID))
		}
		must(t, m.DeleteQuota(ctx, "admin", cid(client), sid(svcID)))
		must(t, m.DeleteQuota(ctx, "admin", cid(provider), sid(svcID)))
		inUse(t, "service still published", m.DeleteService(ctx, "admin", sid(svcID)), "still has 1 published or deprecated version")
		must(t, m.SetStatus(ctx, "admin", sid(svcID+"/v1"), gateway.Retired, nil))
		must(t, m.PutVersion(ctx, "admin", sid(svcID+"/v2"), gateway.Version{BackendURL: "http://127.0.0.1:2"}))
		must(t, m.DeleteVersion(ctx, "admin", sid(svcID+"/v2")))
		if vs := load(t, m).Services[0].Versions; len(vs) != 1 || vs[0].Version != "v1" {
			t.Fatalf("versions after removing the draft: %+v", vs)
		}
		must(t, m.DeleteService(ctx, "admin", sid(svcID))) // with its retired v1
		inUse(t, "provider with bindings", m.DeleteSubsystem(ctx, "admin", cid(provider)), "still has 1 certificate and 1 OAuth client binding")
		for _, c := range load(t, m).Certificates {
			must(t, m.DeleteCertificate(ctx, "admin", c.Fingerprint))
		}
		inUse(t, "member of the provider", m.DeleteMember(ctx, "admin", cid(providerMember)), "still has 1 subsystem")
		rev := load(t, m).Revision
		must(t, m.DeleteSubsystem(ctx, "admin", cid(provider)))
		must(t, m.DeleteMember(ctx, "admin", cid(providerMember)))
		reg = load(t, m)
		if reg.Revision != rev+2 {
			t.Errorf("two removals moved the revision by %d", reg.Revision-rev)
		}
		if len(reg.Members) != 1 || len(reg.Subsystems) != 1 || reg.Subsystems[0].ID.String() != client || len(reg.Services) != 0 ||
			len(reg.Groups) != 0 || len(reg.Peers) != 0 || len(reg.Rights) != 0 || len(reg.Quotas) != 0 {
			t.Fatalf("registry after removals: %+v", reg)
		}
		// The group's member list went with it: a new group of that code starts empty.
		must(t, m.PutGroup(ctx, "admin", gateway.Group{Code: "so-nganh", Name: "x"}))
		if g := load(t, m).Groups; len(g) != 1 || len(g[0].Members) != 0 {
			t.Fatalf("group members survived the group: %+v", g)
		}

		// Each removal is audited once, with what was removed.
		entries, _, err := audit.List(ctx, d, audit.Filter{Limit: 500})
		must(t, err)
		count := map[string]int{}
		var svcDetail []byte
		for _, e := range entries {
			count[e.Action]++
			if e.Action == "gateway.service.delete" {
				svcDetail, _ = json.Marshal(e.Detail)
				if e.ObjectID != svcID || e.Actor != "admin" {
					t.Errorf("service removal audit: %+v", e)
				}
			}
		}
		for a, want := range map[string]int{"gateway.member.delete": 1, "gateway.subsystem.delete": 2, "gateway.service.delete": 1,
			"gateway.version.delete": 1, "gateway.group.delete": 1, "gateway.peer.delete": 1} {
			if count[a] != want {
				t.Errorf("audit %s: %d entries, want %d", a, count[a], want)
			}
		}
		if !strings.Contains(string(svcDetail), `"status":"retired"`) || !strings.Contains(string(svcDetail), `"title":"Phiếu lý lịch tư pháp"`) {
			t.Errorf("service removal detail: %s", svcDetail)
		}

		// The client still publishes a topic someone follows: the topic
		// goes only once its subscription is gone, then the subsystem.
		inUse(t, "followed topic", ps.DeleteTopic(ctx, "admin", "ho-so"), "the topic ho-so still has 1 webhook subscription")
		var subID int64
		must(t, d.Read().QueryRowContext(ctx, `SELECT id FROM gateway_subscriptions WHERE topic = 'ho-so'`).Scan(&subID))
		_, err = ps.Unsubscribe(ctx, "admin", subID, false)
		must(t, err)
		inUse(t, "topic owner", m.DeleteSubsystem(ctx, "admin", cid(client)), "still has 1 pub/sub topic")
		must(t, ps.DeleteTopic(ctx, "admin", "ho-so"))
		if _, _, err := ps.Publish(ctx, "ho-so", cid(client), "k1", "application/json", []byte(`{}`)); !errors.Is(err, gateway.ErrNotFound) {
			t.Fatalf("publish on a removed topic: %v", err)
		}
		if err := ps.DeleteTopic(ctx, "admin", "ho-so"); !errors.Is(err, gateway.ErrNotFound) {
			t.Fatalf("removing a removed topic: %v", err)
		}
		must(t, m.DeleteSubsystem(ctx, "admin", cid(client)))
		// The code can be taken again, by another publisher.
		must(t, ps.PutTopic(ctx, gateway.Topic{Code: "ho-so", Owner: other, Title: "Hồ sơ mới"}))
		if ts, err := ps.Topics(ctx); err != nil || len(ts) != 1 || ts[0].Owner != other {
			t.Fatalf("topics after taking the code again: %+v %v", ts, err)
		}
	})
}

// integration "better than X-Road": a removed service or peer is no longer
// served by the node that removed it, nor, within seconds, by the others;
// the message log keeps the exchanges made before.
func TestRemovedServiceAndPeerNoLongerServed(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("peer")) }))
	defer peer.Close()
	d := sqliteDB(t)
	ctx := context.Background()
	a := startNode(t, d, nodeOpts{name: "a", poll: time.Second})
	b := startNode(t, d, nodeOpts{name: "b", poll: 50 * time.Millisecond})
	right := seed(t, a.mgr, backend.URL)
	must(t, a.mgr.PutPeer(ctx, "admin", gateway.Peer{Instance: "VN-DNG", URL: peer.URL}))
	must(t, b.rt.Reload(ctx))
	const remote = "/r1/VN-DNG/GOV/000.00.00.G07/HOTICH/trich-luc/v1/x"
	for _, n := range []*node{a, b} {
		if resp := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/x", "tok-client", nil, gateway.HeaderIssue, "H57-DEL"); readAll(t, resp) != "ok" {
			t.Fatalf("before removal: %d", resp.StatusCode)
		}
		if resp := call(t, n.srv.URL, "GET", remote, "tok-client", nil); readAll(t, resp) != "peer" {
			t.Fatalf("peer before removal: %d", resp.StatusCode)
		}
	}
	must(t, a.mgr.Revoke(ctx, "admin", right.ID))
	must(t, a.mgr.SetStatus(ctx, "admin", sid(svcID+"/v1"), gateway.Retired, nil))
	must(t, a.mgr.DeleteService(ctx, "admin", sid(svcID)))
	must(t, a.mgr.DeletePeer(ctx, "admin", "VN-DNG"))

	unknown := func(n *node, path string) bool {
		resp := call(t, n.srv.URL, "GET", path, "tok-client", nil)
		readAll(t, resp)
		return resp.StatusCode == 404 && resp.Header.Get(gateway.HeaderError) == gateway.FaultUnknownService
	}
	// Node a reloads on its own change.
	if !unknown(a, "/r1/"+svcID+"/x") || !unknown(a, remote) {
		t.Fatal("node a still serves the removed service or peer")
	}
	// Node b follows the revision.
	start := time.Now()
	for !unknown(b, "/r1/"+svcID+"/x") || !unknown(b, remote) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("node b still serves the removed service or peer after 5 s")
		}
		time.Sleep(20 * time.Millisecond) // polling what another node does, not waiting for time
	}
	recs, err := gateway.Search(ctx, d, gateway.Filter{Issue: "H57-DEL"})
	must(t, err)
	if len(recs) != 2 || !strings.HasPrefix(recs[0].Service, svcID) || recs[0].Status != 200 {
		t.Fatalf("message log after removal: %+v", recs)
	}
}

// problem decodes a problem+json answer.
func problem(t *testing.T, w *httptest.ResponseRecorder) (code, detail string) {
	t.Helper()
	var p struct{ Code, Detail string }
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q: %s", ct, w.Body)
	}
	must(t, json.Unmarshal(w.Body.Bytes(), &p))
	return p.Code, p.Detail
}

func TestDeleteEndpoints(t *testing.T) {
	mux, mgr, n := apiEnv(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer backend.Close()
	right := seed(t, mgr, backend.URL)
	ctx := context.Background()
	const js = "application/json"
	del := func(path string, admin bool, lang string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("DELETE", "/api/v1/gateway/"+path, nil)
		r.Header.Set("X-Test-User", "admin")
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
	// Refusals: 409 with a Vietnamese detail saying what refers to the entry.
	for _, c := range []struct{ path, detail string }{
		{"members/" + clientMember, "Chưa gỡ bỏ được thành viên " + clientMember + ": vẫn còn 2 hệ thống thông tin. Hãy gỡ bỏ các mục này trước."},
		{"subsystems/" + client, "vẫn còn 1 quyền truy cập."},
		{"services/" + svcID, "vẫn còn 1 phiên bản đang cung cấp hoặc sắp ngừng, 1 quyền truy cập."},
		{"versions/" + svcID + "/v1", "Chưa gỡ bỏ được phiên bản " + svcID + "/v1: phiên bản đang ở trạng thái đang cung cấp."},
	} {
		w := del(c.path, true, "")
		if w.Code != http.StatusConflict {
			t.Fatalf("DELETE %s: %d, want 409: %s", c.path, w.Code, w.Body)
		}
		if code, detail := problem(t, w); code != "gateway.in_use" || !strings.Contains(detail, c.detail) {
			t.Errorf("DELETE %s: %s %q, want %q", c.path, code, detail, c.detail)
		}
	}
	if _, detail := problem(t, del("subsystems/"+client, true, "en")); detail != "The information system "+client+" cannot be removed yet: it still has 1 access right. Remove these first." {
		t.Errorf("English detail: %q", detail)
	}
	// Unknown entries: 404; malformed: 422; not an admin: 403.
	for path, status := range map[string]int{
		"members/VN-HUE/GOV/999": 404, "peers/VN-XXX": 404, "groups/none": 404, "versions/" + svcID + "/v7": 404,
		"members/VN-HUE": 422, "services/" + svcID + "/v1": 422, "versions/" + svcID: 422,
	} {
		w := del(path, true, "")
		if w.Code != status {
			t.Errorf("DELETE %s: %d, want %d: %s", path, w.Code, status, w.Body)
		}
	}
	if _, detail := problem(t, del("peers/VN-XXX", true, "")); detail != "Không có nền tảng liên kết VN-XXX trong danh mục." {
		t.Errorf("404 detail: %q", detail)
	}
	must(t, mgr.PutPeer(ctx, "admin", gateway.Peer{Instance: "VN-DNG", URL: "https://lgsp.danang.gov.vn"}))
	if w := del("peers/VN-DNG", false, ""); w.Code != http.StatusForbidden {
		t.Errorf("non-admin DELETE: %d", w.Code)
	}
	rev := load(t, mgr).Revision

	// After removing the references, each removal succeeds.
	if w := del("rights/"+strconv.FormatInt(right.ID, 10), true, ""); w.Code != 200 {
		t.Fatalf("revoke: %d", w.Code)
	}
	if w := do(mux, "POST", "/api/v1/gateway/versions/status", "admin", true, `{"service":"`+svcID+`/v1","status":"retired"}`, js); w.Code != 200 {
		t.Fatalf("retire: %d %s", w.Code, w.Body)
	}
	if w := do(mux, "POST", "/api/v1/gateway/groups", "admin", true, `{"code":"so-nganh","name":"Sở, ngành","members":["`+other+`"]}`, js); w.Code != 200 {
		t.Fatalf("group: %d %s", w.Code, w.Body)
	}
	for _, p := range []string{"versions/" + svcID + "/v1", "services/" + svcID, "subsystems/" + provider, "members/" + providerMember, "peers/VN-DNG", "groups/so-nganh"} {
		w := del(p, true, "")
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"deleted":`) {
			t.Fatalf("DELETE %s: %d %s", p, w.Code, w.Body)
		}
	}
	if w := del("peers/VN-DNG", true, ""); w.Code != 404 {
		t.Errorf("DELETE twice: %d", w.Code)
	}
	reg := load(t, mgr)
	if reg.Revision != rev+3+6 || len(reg.Services) != 0 || len(reg.Peers) != 0 || len(reg.Groups) != 0 || len(reg.Members) != 1 {
		t.Fatalf("registry after the API removals: revision %d → %d, %+v", rev, reg.Revision, reg)
	}
	resp := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/x", "tok-client", nil)
	readAll(t, resp)
	if resp.StatusCode != 404 {
		t.Errorf("removed service still served: %d", resp.StatusCode)
	}
}

// The registry pages remove entries without JavaScript: a link on each list
// row, a confirmation page with a checkbox, the flash after; a refusal says
// what to remove first, with links to where.
func TestRemovePagesConfirmAndRefuse(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		mux, mgr := regEnv(t, d)
		seed(t, mgr, "http://127.0.0.1:1")
		ctx := context.Background()
		must(t, mgr.PutPeer(ctx, "admin", gateway.Peer{Instance: "VN-DNG", URL: "https://lgsp.danang.gov.vn"}))
		must(t, mgr.PutGroup(ctx, "admin", gateway.Group{Code: "so-nganh", Name: "Sở, ngành", Members: []gateway.ClientID{cid(other)}}))
		must(t, mgr.PutQuota(ctx, "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), Daily: 5}))

		// Each list links its rows to the confirmation page.
		for p, links := range map[string][]string{
			"members":  {"/admin/gateway/remove/member?id=" + url.QueryEscape(providerMember), "/admin/gateway/remove/subsystem?id=" + url.QueryEscape(client), "/admin/gateway/remove/group?id=so-nganh"},
			"services": {"/admin/gateway/remove/service?id=" + url.QueryEscape(svcID), "/admin/gateway/remove/version?id=" + url.QueryEscape(svcID) + "/v1"},
			"peers":    {"/admin/gateway/remove/peer?id=VN-DNG"},
		} {
			b := strings.ToLower(page(mux, "/admin/gateway/"+p, true, "", nil).Body.String())
			for _, l := range links {
				if !strings.Contains(b, `href="`+strings.ToLower(l)+`"`) {
					t.Errorf("%s page: no link %s", p, l)
				}
			}
		}
		if b := page(mux, "/admin/gateway/members", true, "", nil).Body.String(); !strings.Contains(b, `aria-label="Gỡ bỏ group:so-nganh"`) || !strings.Contains(b, "Sở, ngành") {
			t.Error("the members page does not list the group with its remove action")
		}

		// A referenced subsystem: the page says what to remove first, with links, and offers no form.
		w := page(mux, "/admin/gateway/remove/subsystem?id="+url.QueryEscape(client), true, "", nil)
		b := w.Body.String()
		if w.Code != 200 || !strings.Contains(b, `role="alert"`) || !strings.Contains(b, "Chưa gỡ bỏ được hệ thống thông tin "+client+" vì vẫn còn:") ||
			!strings.Contains(b, `<a href="/admin/gateway#rights">1 quyền truy cập</a>`) || !strings.Contains(b, `<a href="/admin/gateway/quotas#quotas-h">1 hạn mức</a>`) ||
			strings.Contains(b, `name="confirm"`) {
			t.Fatalf("refusal page: %d %s", w.Code, b)
		}
		w = page(mux, "/admin/gateway/remove/version?id="+url.QueryEscape(svcID+"/v1"), true, "en", nil)
		if b := w.Body.String(); !strings.Contains(b, "The version "+svcID+"/v1 cannot be removed yet: it is published. Retire the version first.") {
			t.Fatalf("live version page: %d %s", w.Code, b)
		}

		// A free peer: the confirmation page, in both languages.
		w = page(mux, "/admin/gateway/remove/peer?id=VN-DNG", true, "", nil)
		b = w.Body.String()
		if w.Code != 200 || !strings.Contains(b, "<h1>Gỡ bỏ nền tảng liên kết</h1>") || !strings.Contains(b, `<label for="remove-confirm">Tôi xác nhận xoá nền tảng liên kết VN-DNG</label>`) ||
			!strings.Contains(b, `name="csrf_token" value="tok"`) || !strings.Contains(b, "https://lgsp.danang.gov.vn") || !strings.Contains(b, "Nhật ký trao đổi dữ liệu") {
			t.Fatalf("confirmation page: %d %s", w.Code, b)
		}
		if b := page(mux, "/admin/gateway/remove/peer?id=VN-DNG", true, "en", nil).Body.String(); !strings.Contains(b, "I confirm removing the peer gateway VN-DNG") || strings.Contains(b, "gateway.reg.") {
			t.Fatal("English confirmation page")
		}
		for _, u := range []string{"/admin/gateway/remove/peer?id=VN-XXX", "/admin/gateway/remove/thing?id=x"} {
			if w := page(mux, u, true, "", nil); w.Code != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", u, w.Code)
			}
		}

		// Without the box ticked: the page again, the error next to the box, nothing removed.
		rev := load(t, mgr).Revision
		w = page(mux, "/admin/gateway/remove/peer", true, "", url.Values{"id": {"VN-DNG"}})
		b = w.Body.String()
		if w.Code != http.StatusUnprocessableEntity || !strings.Contains(b, `<p class="err" id="remove-confirm-err">Đánh dấu ô xác nhận`) ||
			!strings.Contains(b, `aria-describedby="remove-confirm-err" aria-invalid="true"`) || !strings.Contains(b, `href="#remove-confirm"`) {
			t.Fatalf("unconfirmed: %d %s", w.Code, b)
		}
		if reg := load(t, mgr); reg.Revision != rev || len(reg.Peers) != 1 {
			t.Fatal("an unconfirmed removal changed the registry")
		}
		// Confirmed: removed, back to the list with the flash message.
		w = page(mux, "/admin/gateway/remove/peer", true, "", url.Values{"id": {"VN-DNG"}, "confirm": {"yes"}})
		saved(t, "remove peer", w)
		if loc := w.Header().Get("Location"); loc != "/admin/gateway/peers#peers-h" {
			t.Errorf("redirect to %q", loc)
		}
		if reg := load(t, mgr); len(reg.Peers) != 0 || reg.Revision != rev+1 {
			t.Fatalf("peer not removed: %+v", reg.Peers)
		}
		// Posting again (a second tab): back to the list, saying it is gone.
		w = page(mux, "/admin/gateway/remove/peer", true, "", url.Values{"id": {"VN-DNG"}, "confirm": {"yes"}})
		if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Set-Cookie"), "flash=gateway.reg.remove.gone") {
			t.Errorf("second removal: %d %v", w.Code, w.Header())
		}

		// Confirmed while still referenced: 409, the refusal, nothing removed.
		w = page(mux, "/admin/gateway/remove/member", true, "", url.Values{"id": {clientMember}, "confirm": {"yes"}})
		b = w.Body.String()
		if w.Code != http.StatusConflict || !strings.Contains(b, `<a href="/admin/gateway/members#subsystems-h">2 hệ thống thông tin</a>`) || strings.Contains(b, `name="confirm"`) {
			t.Fatalf("refused member: %d %s", w.Code, b)
		}
		if len(load(t, mgr).Members) != 2 {
			t.Fatal("a refused removal removed the member")
		}
		// The group, then its former member.
		groupRight, err := mgr.Grant(ctx, "admin", gateway.AccessRight{Client: "group:so-nganh", Service: sid(svcID)})
		must(t, err)
		w = page(mux, "/admin/gateway/remove/group", true, "", url.Values{"id": {"so-nganh"}, "confirm": {"yes"}})
		if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "1 quyền truy cập") {
			t.Fatalf("group with a right: %d", w.Code)
		}
		must(t, mgr.Revoke(ctx, "admin", groupRight.ID))
		if b := page(mux, "/admin/gateway/remove/group?id=so-nganh", true, "", nil).Body.String(); !strings.Contains(b, "danh sách 1 hệ thống thuộc nhóm") {
			t.Error("the group's confirmation page does not say its member list goes with it")
		}
		saved(t, "remove group", page(mux, "/admin/gateway/remove/group", true, "", url.Values{"id": {"so-nganh"}, "confirm": {"yes"}}))
		saved(t, "remove subsystem", page(mux, "/admin/gateway/remove/subsystem", true, "", url.Values{"id": {other}, "confirm": {"yes"}}))
		if reg := load(t, mgr); len(reg.Groups) != 0 || len(reg.Subsystems) != 2 {
			t.Fatalf("after removing the group and the subsystem: %+v %+v", reg.Groups, reg.Subsystems)
		}
	})
}
