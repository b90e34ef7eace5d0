package nationalportal_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
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

// §12: a dossier counts in the period it was received in, however long
// after its submission that was: an online dossier that waited 40 days
// for reception behind a full page of newer dossiers is reconciled (the
// list used to stop at a page of dossiers all submitted more than 31 days
// before the period).
func TestReconcileFindsADossierReceivedLongAfterItsSubmission(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		drawing := e.put("ban-ve.pdf", smallPDF("ban ve"))
		sub := dossier.Submission{ProcedureCode: permitCode, Channel: dossier.ChannelOnline, Owner: "acc-hoa", Applicant: citizen("Chờ tiếp nhận"),
			Components: []dossier.ComponentInput{
				{N: 1, Provided: catalog.FormElectronic, Files: []dossier.FileRef{{Name: "ban-ve.pdf", Hash: drawing.Hash}}},
				{N: 2, Provided: catalog.FormElectronic, Files: []dossier.FileRef{{Name: "ban-ve.pdf", Hash: drawing.Hash}}},
				{N: 3, Provided: catalog.FormElectronic, Files: []dossier.FileRef{{Name: "ban-ve.pdf", Hash: drawing.Hash}}},
			}}
		late, err := e.ds.Submit(e.ctx, dossier.SubmitInput{Submission: sub, IdempotencyKey: "late",
			Placement: dossier.Placement{ReceivingAgency: center, ReceivingUnit: desk, DivisionUnit: division}})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 200; i++ { // a full page of the list, all newer
			e.receive(fmt.Sprintf("Công dân %d", i))
		}
		e.clock.Add(40 * 24 * time.Hour)
		if _, err := e.ds.Receive(e.ctx, dossier.ReceiveInput{DossierCode: late.Code, Placement: dossier.Placement{DivisionUnit: division}, Actor: officer}); err != nil {
			t.Fatal(err)
		}
		e.drain()
		day := e.clock.Now().Truncate(24 * time.Hour)
		rep, err := e.np.Reconcile(e.ctx, day.Add(-24*time.Hour), day.Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Ours != 1 || rep.Theirs != 1 || len(rep.Mismatches) != 0 {
			t.Fatalf("report = %+v; want the late dossier on both sides", rep)
		}
	})
}
