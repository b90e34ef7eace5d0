package gateway_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// integration: registry of members, subsystems, services, versions, lifecycle, rights, quotas; every change audited.
func TestRegistryStoreOnBothEngines(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		m := gateway.NewManager(gateway.NewStore(d, nil), nil)
		right := seed(t, m, "http://127.0.0.1:1/api")
		until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
		must(t, m.PutGroup(ctx, "admin", gateway.Group{Code: "so-ban-nganh", Name: "Sở, ban, ngành", Members: []gateway.ClientID{cid(other)}}))
		gr, err := m.Grant(ctx, "admin", gateway.AccessRight{Client: "group:so-ban-nganh", Service: sid(svcID), Method: "get", Path: "/phieu/*", ValidUntil: &until, LegalBasis: "QĐ 123"})
		must(t, err)
		must(t, m.PutQuota(ctx, "admin", gateway.Quota{Client: cid(client), Service: sid(svcID), RatePerSecond: 50, Daily: 1000, MaxConcurrent: 4}))
		sunset := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		must(t, m.SetStatus(ctx, "admin", sid(svcID+"/v1"), gateway.Deprecated, &sunset))

		reg, err := m.Store().Load(ctx)
		must(t, err)
		if len(reg.Members) != 2 || len(reg.Subsystems) != 3 || len(reg.Services) != 1 || len(reg.Rights) != 2 || len(reg.Quotas) != 1 || len(reg.Groups) != 1 {
			t.Fatalf("registry %+v", reg)
		}
		v := reg.Services[0].Versions[0]
		if v.Status != gateway.Deprecated || v.SunsetAt == nil || !v.SunsetAt.Equal(sunset) {
			t.Errorf("version %+v", v)
		}
		g := reg.Rights[1]
		if g.ID != gr.ID || g.Method != "GET" || g.ValidUntil == nil || !g.ValidUntil.Equal(until) || g.LegalBasis != "QĐ 123" || g.CreatedBy != "admin" {
			t.Errorf("right %+v", g)
		}
		if !g.Allows("GET", "/phieu/1", time.Now()) || g.Allows("GET", "/phieu/1", until) || g.Allows("POST", "/phieu/1", time.Now()) {
			t.Error("time-boxed endpoint right")
		}

		// Lifecycle: retired is final; drafts cannot be deprecated.
		must(t, m.SetStatus(ctx, "admin", sid(svcID+"/v1"), gateway.Retired, nil))
		if err := m.SetStatus(ctx, "admin", sid(svcID+"/v1"), gateway.Published, nil); !errors.Is(err, gateway.ErrLifecycle) {
			t.Errorf("retired → published: %v", err)
		}
		must(t, m.PutVersion(ctx, "admin", sid(svcID+"/v2"), gateway.Version{BackendURL: "https://example.org"}))
		if err := m.SetStatus(ctx, "admin", sid(svcID+"/v2"), gateway.Deprecated, nil); !errors.Is(err, gateway.ErrLifecycle) {
			t.Errorf("draft → deprecated: %v", err)
		}
		// Validation and references.
		if err := m.PutSubsystem(ctx, "admin", gateway.Subsystem{ID: cid("VN-HUE/GOV/NOBODY/X")}); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("subsystem of unknown member: %v", err)
		}
		if _, err := m.Grant(ctx, "admin", gateway.AccessRight{Client: client, Service: sid(provider + "/none")}); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("right on unknown service: %v", err)
		}
		if err := m.PutVersion(ctx, "admin", sid(svcID+"/v3"), gateway.Version{BackendURL: "ftp://x"}); !errors.Is(err, gateway.ErrInvalid) {
			t.Errorf("bad backend: %v", err)
		}
		if err := m.Revoke(ctx, "admin", 9999); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("revoke unknown: %v", err)
		}
		must(t, m.Revoke(ctx, "admin", right.ID))

		// Every change is in the audit log, and the registry revision moved each time.
		entries, _, err := audit.List(ctx, d, audit.Filter{Limit: 100})
		must(t, err)
		count := map[string]int{}
		for _, e := range entries {
			count[e.Action]++
		}
		if count["gateway.right.grant"] != 2 || count["gateway.right.revoke"] != 1 || count["gateway.version.status"] != 3 || count["gateway.quota.put"] != 1 {
			t.Errorf("audit: %v", count)
		}
		rev, _, err := m.Store().Revision(ctx)
		must(t, err)
		if rev < 15 {
			t.Errorf("revision %d", rev)
		}
	})
}
