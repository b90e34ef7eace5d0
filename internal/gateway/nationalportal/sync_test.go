package nationalportal_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/fakes/dvcqg"
	"github.com/congso/congso/internal/gateway/nationalportal"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/workflow"
)

// process takes a received dossier through the nine steps to its return,
// draining the outbox after each step.
func (e *env) process(code string) {
	e.t.Helper()
	draft := e.put("du-thao.pdf", smallPDF("du thao"))
	steps := []struct {
		action string
		mod    func(*dossier.ActInput)
	}{
		{"assign", func(in *dossier.ActInput) { in.Actor, in.Assignee = head, handler.PersonID }},
		{"draft_result", func(in *dossier.ActInput) {
			in.Actor, in.Attachments = handler, []workflow.Attachment{{Name: "du-thao.pdf", Hash: draft.Hash}}
		}},
		{"approve", func(in *dossier.ActInput) { in.Actor = head }},
		{"sign", func(in *dossier.ActInput) { in.Actor, in.Signature = director, "sig" }},
		{"transfer", func(in *dossier.ActInput) { in.Actor = handler }},
		{"issue", func(in *dossier.ActInput) { in.Actor, in.Signature = clerk, "seal" }},
		{"return", func(in *dossier.ActInput) { in.Actor = officer }},
	}
	for _, st := range steps {
		e.clock.Add(time.Hour)
		e.act(code, st.action, nil, st.mod)
		e.drain()
	}
}

// one-stop §12, §4: a received dossier is upserted on the portal with the
// §12 field names and its national status; every processing step updates
// the status in order and adds its progress entries; the result's return
// ends at status 10 with NgayTra.
func TestOutboundSync(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rc := e.receive("Nguyễn Văn An")
		if _, ok := e.portal.Dossier(rc.Code); ok {
			t.Fatal("the portal holds the dossier before the outbox delivered its event")
		}
		e.drain()
		h := e.held(rc.Code)
		ours := e.get(rc.Code)
		if h.TrangThaiHoSo != 2 || h.MaTTHC != permitCode || h.TenTTHC != ours.ProcedureName || h.MaLinhVuc != "HDXD" ||
			h.ChuHoSo != "Nguyễn Văn An" || h.LoaiDoiTuong != dvcqg.DoiTuongCongDan || h.HinhThuc != 1 || h.DonViXuLy != dept {
			t.Fatalf("held after reception = %+v", h)
		}
		if h.NgayTiepNhan != ours.ReceivedAt.In(ict).Format("20060102150405") || h.NgayTiepNhan != "20260302080000" ||
			h.NgayHenTra != ours.DueAt.In(ict).Format("20060102150405") || h.NgayTra != "" {
			t.Fatalf("dates = %s %s %s, ours %s %s", h.NgayTiepNhan, h.NgayHenTra, h.NgayTra, ours.ReceivedAt, ours.DueAt)
		}
		if len(h.TaiLieuNop) != 1 || h.TaiLieuNop[0].TenTepDinhKem != "ban-ve.pdf" || h.TaiLieuNop[0].MaThanhPhanHoSo != "3" ||
			len(h.DanhSachLePhi) != 1 || h.DanhSachLePhi[0].Gia != 75000 {
			t.Fatalf("documents and fees = %+v %+v", h.TaiLieuNop, h.DanhSachLePhi)
		}

		e.process(rc.Code)
		if got := e.portal.StatusHistory(rc.Code); !slices.Equal(got, []int{2, 4, 9, 10}) {
			t.Fatalf("status history on the portal = %v, want [2 4 9 10]", got)
		}
		h = e.held(rc.Code)
		ours = e.get(rc.Code)
		if h.TrangThaiHoSo != 10 || h.NgayTra == "" || h.NgayTra != nationalportal.FormatDate(ours.ReturnedAt) {
			t.Fatalf("after return: status %d, NgayTra %q (ours %s)", h.TrangThaiHoSo, h.NgayTra, ours.ReturnedAt)
		}
		progress := e.portal.Progress(rc.Code)
		if len(progress) != len(ours.Timeline) {
			t.Fatalf("progress entries = %d, timeline steps = %d", len(progress), len(ours.Timeline))
		}
		var states []int
		for i, p := range progress {
			if p.NoiDungXuLy == "" || p.NguoiXuLy == "" || p.ThoiDiemXuLy != nationalportal.FormatDate(ours.Timeline[i].At) {
				t.Fatalf("progress %d = %+v, timeline %+v", i, p, ours.Timeline[i])
			}
			states = append(states, p.TrangThai)
		}
		if !slices.ContainsFunc(progress, func(p dvcqg.TienDo) bool { return p.NguoiXuLy == "Trần Văn Xử Lý" && p.ChucDanh != "" }) {
			t.Fatalf("no progress entry names the handler: %+v", progress)
		}
		if !slices.IsSorted(states) || states[len(states)-1] != 10 {
			t.Fatalf("progress statuses = %v, want ascending to 10", states)
		}
		if v, st, _ := e.np.SyncedVersion(e.ctx, rc.Code); v != ours.Version || st != 10 {
			t.Fatalf("synced version = %d/%d, want %d/10", v, st, ours.Version)
		}

		// Redelivered and out-of-order events change nothing on the portal:
		// deliver every event of the dossier again, newest first.
		before := len(e.portal.Requests())
		evs := e.events(rc.Code)
		if len(evs) < 8 {
			t.Fatalf("events = %d", len(evs))
		}
		for i := len(evs) - 1; i >= 0; i-- {
			if err := e.np.HandleEvent(e.ctx, evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if after := len(e.portal.Requests()); after != before {
			t.Fatalf("redelivery sent %d requests to the portal", after-before)
		}
		if got := e.portal.StatusHistory(rc.Code); !slices.Equal(got, []int{2, 4, 9, 10}) {
			t.Fatalf("status history after redelivery = %v", got)
		}
	})
}

// Events delivered late and all at once: the portal receives the current
// state once, with every step's progress entry, and never goes back.
func TestOutOfOrderBatch(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rc := e.receive("Trần Thị Bình")
		e.act(rc.Code, "assign", head, func(in *dossier.ActInput) { in.Assignee = handler.PersonID })
		e.act(rc.Code, "request_payment", handler, func(in *dossier.ActInput) { in.Comment = "Nộp lệ phí" })
		evs := e.events(rc.Code)
		// The newest event first, then the older ones.
		for _, i := range []int{len(evs) - 1, 0, 1} {
			if err := e.np.HandleEvent(e.ctx, evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.portal.StatusHistory(rc.Code); !slices.Equal(got, []int{6}) {
			t.Fatalf("status history = %v, want [6] (financial obligation)", got)
		}
		if n := e.portal.Calls(dvcqg.ServiceUpsert, http.StatusOK); n != 1 {
			t.Fatalf("upserts = %d, want 1", n)
		}
		if p := e.portal.Progress(rc.Code); len(p) != len(e.get(rc.Code).Timeline) || !strings.Contains(p[len(p)-1].NoiDungXuLy, "Nộp lệ phí") {
			t.Fatalf("progress = %+v", p)
		}
		// Another worker holding the dossier's lease makes this one wait.
		if ok, err := nationalportal.ClaimForTest(e.np, rc.Code); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		e.act(rc.Code, "payment_confirmed", officer, nil)
		if err := e.np.Sync(e.ctx, rc.Code); !errors.Is(err, nationalportal.ErrBusy) {
			t.Fatalf("sync while another worker holds the lease: %v", err)
		}
		e.clock.Add(10 * time.Minute) // the other worker's lease ran out
		if err := e.np.Sync(e.ctx, rc.Code); err != nil {
			t.Fatal(err)
		}
		if got := e.portal.StatusHistory(rc.Code); !slices.Equal(got, []int{6, 4}) {
			t.Fatalf("status history = %v, want [6 4]", got)
		}
	})
}

// one-stop §12 "retries with backoff": the portal fails (500, dropped
// connections, a hang past the timeout, an expired session); the outbox
// retries later, nothing is lost, nothing is duplicated.
func TestPortalFailures(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.portal.FailNext(2, http.StatusInternalServerError)
		rc := e.receive("Lê Văn Cường")
		e.drain()
		if _, ok := e.portal.Dossier(rc.Code); ok {
			t.Fatal("held despite the failure")
		}
		st, err := e.np.State(e.ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Failing) != 1 || st.Failing[0].DossierCode != rc.Code || !strings.Contains(st.Failing[0].LastError, "500") {
			t.Fatalf("failing = %+v", st.Failing)
		}
		if p, _ := e.pending(); p != 1 {
			t.Fatalf("pending deliveries = %d, want 1", p)
		}
		e.drain() // not due yet: backoff
		if n := e.portal.Calls(dvcqg.ServiceUpsert, 500); n != 1 {
			t.Fatalf("failed calls = %d before the backoff ended", n)
		}
		for i := 0; i < 3; i++ {
			e.clock.Add(time.Hour)
			e.drain()
		}
		h := e.held(rc.Code)
		if h.TrangThaiHoSo != 2 || e.portal.Calls(dvcqg.ServiceUpsert, 500) != 2 || e.portal.Calls(dvcqg.ServiceUpsert, 200) != 1 {
			t.Fatalf("after retries: status %d, 500s %d, 200s %d", h.TrangThaiHoSo, e.portal.Calls(dvcqg.ServiceUpsert, 500),
				e.portal.Calls(dvcqg.ServiceUpsert, 200))
		}
		if p, dead := e.pending(); p != 0 || dead != 0 {
			t.Fatalf("pending %d dead %d", p, dead)
		}
		if st, _ := e.np.State(e.ctx, 10); len(st.Failing) != 0 {
			t.Fatalf("still failing: %+v", st.Failing)
		}

		// Every third call dropped without an answer.
		e.portal.DropEvery(3)
		e.process(rc.Code)
		for i := 0; i < 6; i++ {
			e.clock.Add(time.Hour)
			e.drain()
		}
		e.portal.DropEvery(0)
		// Retries back off: let the clock run until nothing is pending.
		// Which calls are dropped depends on the order the events are
		// tried, so an event may have been dropped at every attempt and
		// be a dead letter: the operator sends it again, as from the
		// admin page.
		for i := 0; i < 48; i++ {
			dls, err := e.disp.DeadLetters(e.ctx, 100, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, dl := range dls {
				if err := e.disp.RetryDeadLetter(e.ctx, dl.ID); err != nil {
					t.Fatal(err)
				}
			}
			if p, dead := e.pending(); p == 0 && dead == 0 {
				break
			}
			e.clock.Add(time.Hour)
			e.drain()
		}
		if p, dead := e.pending(); p != 0 || dead != 0 {
			t.Fatalf("after the drops: pending %d dead %d", p, dead)
		}
		// A retried event pushes the dossier as it is then, so an
		// intermediate status may be skipped while the portal drops
		// calls; what must hold is that the portal never goes back and
		// ends on the final status (every step still arrives as progress,
		// checked below).
		got := e.portal.StatusHistory(rc.Code)
		if len(got) < 2 || got[0] != 2 || got[len(got)-1] != 10 || !slices.IsSorted(got) || len(got) > 4 {
			t.Fatalf("status history with drops = %v; want 2 first, 10 last, never going back", got)
		}
		if p := e.portal.Progress(rc.Code); len(p) != len(e.get(rc.Code).Timeline) {
			t.Fatalf("progress = %d entries, timeline %d", len(p), len(e.get(rc.Code).Timeline))
		}

		// Answers lost after the portal applied the request (the upsert
		// and the progress of the next dossier): the retry applies them
		// again without duplicating anything.
		rc3 := e.receive("Đinh Văn Khoa")
		e.act(rc3.Code, "assign", head, func(in *dossier.ActInput) { in.Assignee = handler.PersonID })
		lost := func() int {
			return e.portal.Calls(dvcqg.ServiceUpsert, 0) + e.portal.Calls(dvcqg.ServiceProgress, 0)
		}
		lostBefore := lost()
		e.portal.LoseAnswers(2)
		e.drain()
		for i := 0; i < 3; i++ {
			e.clock.Add(time.Hour)
			e.drain()
		}
		if lost()-lostBefore != 2 {
			t.Fatalf("answers lost = %d, want 2", lost()-lostBefore)
		}
		if got := e.portal.StatusHistory(rc3.Code); !slices.Equal(got, []int{4}) {
			t.Fatalf("status history with lost answers = %v", got)
		}
		if p, tl := e.portal.Progress(rc3.Code), e.get(rc3.Code).Timeline; len(p) != len(tl) {
			t.Fatalf("progress with lost answers = %d entries, timeline %d", len(p), len(tl))
		}

		// A hang past the client's timeout, then an expired session.
		rc2 := e.receive("Phạm Thị Dung")
		e.portal.HangNext(1)
		e.portal.ExpireSessions()
		e.drain()
		if _, ok := e.portal.Dossier(rc2.Code); ok {
			t.Fatal("held despite the hang")
		}
		e.clock.Add(time.Hour)
		e.drain()
		if h := e.held(rc2.Code); h.TrangThaiHoSo != 2 {
			t.Fatalf("after the hang: %+v", h)
		}
		if p, dead := e.pending(); p != 0 || dead != 0 {
			t.Fatalf("pending %d dead %d", p, dead)
		}
	})
}

// A payload the portal refuses for its content is not retried forever: it
// is listed for operators, and resolved by the next successful sync.
func TestRejection(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.portal.KnownProcedures("9.999999")
		rc := e.receive("Hoàng Văn Em")
		e.drain()
		if p, dead := e.pending(); p != 0 || dead != 0 {
			t.Fatalf("a rejection left pending %d dead %d", p, dead)
		}
		st, err := e.np.State(e.ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Rejections) != 1 || st.Rejections[0].DossierCode != rc.Code || len(st.Rejections[0].Errors) != 1 ||
			st.Rejections[0].Errors[0].TruongDuLieu != "MaTTHC" {
			t.Fatalf("rejections = %+v", st.Rejections)
		}
		// An operator's "sync again" is told of the refusal (not "synced").
		if err := e.np.Resync(e.ctx, rc.Code, "admin"); !errors.Is(err, nationalportal.ErrRejected) {
			t.Fatalf("resync of a refused dossier: %v", err)
		}
		e.portal.KnownProcedures() // the national database learns the code
		e.act(rc.Code, "assign", head, func(in *dossier.ActInput) { in.Assignee = handler.PersonID })
		e.drain()
		if h := e.held(rc.Code); h.TrangThaiHoSo != 4 {
			t.Fatalf("held = %+v", h)
		}
		if st, _ := e.np.State(e.ctx, 10); len(st.Rejections) != 0 || st.Synced != 1 {
			t.Fatalf("after success: %+v", st)
		}
	})
}

// one-stop.md §4, §12: a supplement requested at reception (before the
// dossier is received: no appointment date yet) reaches the portal as
// status 5; the portal asks for NgayHenTra only of received dossiers.
func TestSupplementAtReceptionIsSynced(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		f1 := e.put("don.pdf", smallPDF("don"))
		f3 := e.put("ban-ve.pdf", smallPDF("bv"))
		sub := dossier.Submission{ProcedureCode: permitCode, Channel: dossier.ChannelOnline, Applicant: citizen("Phan Thị Lan"),
			Components: []dossier.ComponentInput{
				{N: 1, Provided: catalog.FormElectronic, Quantity: 1, Files: []dossier.FileRef{{Name: "don.pdf", Hash: f1.Hash}}},
				{N: 3, Provided: catalog.FormElectronic, Quantity: 1, Files: []dossier.FileRef{{Name: "ban-ve.pdf", Hash: f3.Hash}}},
			}}
		rc, err := e.ds.Submit(e.ctx, dossier.SubmitInput{Submission: sub, Placement: dossier.Placement{ReceivingAgency: center, ReceivingUnit: desk}})
		if err != nil {
			t.Fatal(err)
		}
		e.drain()
		if h := e.held(rc.Code); h.TrangThaiHoSo != 1 {
			t.Fatalf("after submission: %+v", h)
		}
		e.clock.Add(time.Hour)
		e.act(rc.Code, "request_supplement", officer, func(in *dossier.ActInput) { in.Comment = "thiếu bản vẽ" })
		e.drain()
		st, err := e.np.State(e.ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if h := e.held(rc.Code); h.TrangThaiHoSo != 5 || h.NgayHenTra != "" || len(st.Rejections) != 0 {
			t.Fatalf("after the supplement request: held %+v, rejections %+v", h, st.Rejections)
		}
	})
}
