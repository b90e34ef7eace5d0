package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/audit"
)

// integration "Registry and access rights": a right on path "/" covers the
// service's root (and so a SOAP service: its calls have no path).
func TestRightOnTheRootPath(t *testing.T) {
	for _, p := range []string{"", "/"} {
		if !gateway.MatchPath("/", p) {
			t.Errorf("MatchPath(/, %q) = false", p)
		}
	}
	if gateway.MatchPath("/", "/x") {
		t.Error(`MatchPath(/, "/x") = true`)
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	n := startNode(t, sqliteDB(t), nodeOpts{})
	seed(t, n.mgr, backend.URL+"/api")
	_, err := n.mgr.Grant(t.Context(), "admin", gateway.AccessRight{Client: other, Service: sid(svcID), Method: "GET", Path: "/", LegalBasis: "x"})
	must(t, err)
	for p, want := range map[string]int{"": 200, "/": 200, "/x": 403} {
		resp := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/v1"+p, "tok-other", nil)
		readAll(t, resp)
		if resp.StatusCode != want {
			t.Errorf("GET %q with a right on /: %d, want %d", p, resp.StatusCode, want)
		}
	}
}

// integration "Registry and access rights": a right limited to a path
// cannot be stepped out of with segments Java servers resolve after
// dropping ";parameters", or with backslashes IIS takes for slashes.
func TestRightPathCannotBeEscaped(t *testing.T) {
	var hits atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer backend.Close()
	n := startNode(t, sqliteDB(t), nodeOpts{})
	seed(t, n.mgr, backend.URL+"/api")
	_, err := n.mgr.Grant(t.Context(), "admin", gateway.AccessRight{Client: other, Service: sid(svcID), Method: "GET", Path: "/public/**", LegalBasis: "x"})
	must(t, err)
	for _, p := range []string{"/public/..;/..;/admin", "/public/%2e%2e;/admin", "/public/..;x/admin", "/public/.;/x", "/public/..%5cadmin", "/public/a%5C..%5C..%5Cadmin"} {
		resp := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/v1"+p, "tok-other", nil)
		readAll(t, resp)
		if resp.StatusCode != 400 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	resp := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/v1/public/bao-cao;v=2", "tok-other", nil)
	readAll(t, resp)
	if resp.StatusCode != 200 || hits.Load() != 1 {
		t.Fatalf("a ;parameter in a plain segment: %d, %d calls", resp.StatusCode, hits.Load())
	}
}

// integration "Quotas": a daily limit raised is served at once by a node
// that had run out, and a limit lowered is not passed with tokens leased
// under the old one.
func TestQuotaLimitChangesApplyAtOnce(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	var at atomic.Int64
	at.Store(time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, at.Load()) }
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{now: now})
	seed(t, n.mgr, backend.URL)
	ctx := context.Background()
	status := func() int {
		resp := call(t, n.srv.URL, "GET", "/r1/"+svcID+"/x", "tok-client", nil)
		readAll(t, resp)
		return resp.StatusCode
	}
	must(t, n.mgr.PutQuota(ctx, "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), Daily: 2}))
	must(t, n.rt.Reload(ctx))
	if a, b, c := status(), status(), status(); a != 200 || b != 200 || c != 429 {
		t.Fatalf("daily 2: %d %d %d", a, b, c)
	}
	must(t, n.mgr.PutQuota(ctx, "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), Daily: 5000}))
	must(t, n.rt.Reload(ctx))
	at.Add(int64(time.Hour))
	if s := status(); s != 200 {
		t.Fatalf("after raising the limit: %d", s)
	}
	// 3 calls counted, and a chunk of 50 leased ahead under 5000: lowered
	// to 4, one call more passes, then none.
	must(t, n.mgr.PutQuota(ctx, "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), Daily: 4}))
	must(t, n.rt.Reload(ctx))
	passed := 0
	for i := 0; i < 10; i++ {
		if status() == 200 {
			passed++
		}
	}
	if passed > 1 {
		t.Fatalf("%d calls passed a daily limit lowered to 4 after 3 calls", passed)
	}
}

// integration "Quotas": a quota on another instance's service (whose
// calls go to its gateway, which applies its own) is refused rather than
// stored and never applied.
func TestQuotaOnAnotherInstancesServiceIsRefused(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	const dngSvc = "VN-DNG/GOV/000.00.00.G07/HOTICH/trich-luc"
	f := federate(t, backend.URL, dngSvc, gateway.REST, gateway.AccessRight{}, nil)
	err := f.a.mgr.PutQuota(t.Context(), "admin", gateway.Quota{Client: cid(client), Service: sid(dngSvc), Daily: 1})
	if !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("a quota on another instance's service: %v", err)
	}
}

// integration "Registry and access rights": a right cannot be granted
// already expired; the audit trail names what a revoke removed.
func TestGrantAndRevokeAreAuditedWhole(t *testing.T) {
	d := sqliteDB(t)
	n := startNode(t, d, nodeOpts{})
	seed(t, n.mgr, "http://127.0.0.1:1")
	ctx := t.Context()
	past := time.Now().Add(-24 * time.Hour)
	if _, err := n.mgr.Grant(ctx, "admin", gateway.AccessRight{Client: other, Service: sid(svcID), ValidUntil: &past, LegalBasis: "x"}); !errors.Is(err, gateway.ErrInvalid) {
		t.Fatalf("a right granted already expired: %v", err)
	}
	a, err := n.mgr.Grant(ctx, "admin", gateway.AccessRight{Client: other, Service: sid(svcID), Method: "GET", Path: "/phieu/*", LegalBasis: "Nghị định 278/2025"})
	must(t, err)
	must(t, n.mgr.Revoke(ctx, "admin-2", a.ID))
	entries, _, err := audit.List(ctx, d, audit.Filter{ObjectType: "gateway_right"})
	must(t, err)
	var det map[string]any
	for _, e := range entries {
		if e.Action == "gateway.right.revoke" {
			det = e.Detail
		}
	}
	if det["client"] != other || det["service"] != svcID || det["path"] != "/phieu/*" || det["legal_basis"] != "Nghị định 278/2025" || det["granted_by"] != "admin" {
		t.Fatalf("the revoke's entry: %+v", det)
	}
}
