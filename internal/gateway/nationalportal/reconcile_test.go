package nationalportal_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/congso/congso/internal/fakes/dvcqg"
	"github.com/congso/congso/internal/gateway/nationalportal"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// one-stop §12 "reconciliation job that lists mismatches", §13 "figures that
// differ between the provincial and national systems": a record changed or
// lost on the portal, and one the province does not know, are listed; a
// resync repairs what is ours.
func TestReconcile(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		var codes []string
		for i := 0; i < 4; i++ {
			codes = append(codes, e.receive(fmt.Sprintf("Công dân %d", i)).Code)
			e.clock.Add(time.Minute)
		}
		e.drain()
		from, to := at(2026, 3, 2, 0, 0), at(2026, 3, 3, 0, 0)
		rep, err := e.np.Reconcile(e.ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Ours != 4 || rep.Theirs != 4 || len(rep.Mismatches) != 0 {
			t.Fatalf("clean report = %+v", rep)
		}

		e.portal.Tamper(codes[0], func(h *dvcqg.HoSo) { h.TrangThaiHoSo = 4 })
		e.portal.Tamper(codes[1], func(h *dvcqg.HoSo) { h.NgayHenTra = "20260401170000" })
		e.portal.Forget(codes[2])
		stranger := nationalportal.HoSo{MaHoSo: "000.00.13.H99-260302-9999", MaTTHC: permitCode, TenTTHC: "x", ChuHoSo: "x",
			LoaiDoiTuong: 1, NgayTiepNhan: "20260302100000", NgayHenTra: "20260316170000", TrangThaiHoSo: 2, HinhThuc: 2, DonViXuLy: dept}
		if err := e.client.Upsert(e.ctx, []nationalportal.HoSo{stranger}); err != nil {
			t.Fatal(err)
		}
		rep, err = e.np.Reconcile(e.ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{codes[0]: nationalportal.MismatchStatus, codes[1]: nationalportal.MismatchDue,
			codes[2]: nationalportal.MismatchMissing, stranger.MaHoSo: nationalportal.MismatchUnknown}
		if len(rep.Mismatches) != len(want) {
			t.Fatalf("mismatches = %+v", rep.Mismatches)
		}
		for _, m := range rep.Mismatches {
			if want[m.Code] != m.Kind || m.SyncPending {
				t.Fatalf("mismatch %+v, want kind %q", m, want[m.Code])
			}
		}
		if m := rep.Mismatches[0]; m.Code == codes[0] && (m.Ours != "2" || m.Theirs != "4") {
			t.Fatalf("status mismatch = %+v", m)
		}
		last, err := e.np.LastReport(e.ctx)
		if err != nil || last.ID != rep.ID || len(last.Mismatches) != 4 {
			t.Fatalf("last report = %+v, %v", last, err)
		}

		for _, c := range codes[:3] {
			if err := e.np.Resync(e.ctx, c, "admin"); err != nil {
				t.Fatal(err)
			}
		}
		// Each forced sync is in the audit log, by whom and of what.
		entries, _, err := audit.List(e.ctx, e.d, audit.Filter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		resynced := map[string]string{}
		for _, en := range entries {
			if en.Action == "nationalportal.resync" {
				resynced[en.ObjectID] = en.Actor
			}
		}
		if len(resynced) != 3 || resynced[codes[0]] != "admin" {
			t.Fatalf("audit of the forced syncs: %v", resynced)
		}
		rep, err = e.np.Reconcile(e.ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Mismatches) != 1 || rep.Mismatches[0].Kind != nationalportal.MismatchUnknown {
			t.Fatalf("after resync = %+v", rep.Mismatches)
		}
		e.clock.Add(24 * time.Hour)
		daily, err := e.np.ReconcilePreviousDay(e.ctx)
		if err != nil || !daily.From.Equal(from) || !daily.To.Equal(to) || daily.Ours != 4 || len(daily.Mismatches) != 1 {
			t.Fatalf("previous day = %+v, %v", daily, err)
		}
		if _, err := e.np.Reconcile(e.ctx, to, from); err == nil {
			t.Fatal("an inverted period was accepted")
		}
	})
}
