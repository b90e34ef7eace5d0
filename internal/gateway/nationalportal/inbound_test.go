package nationalportal_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/fakes/dvcqg"
	"github.com/congso/congso/internal/gateway/nationalportal"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

func (e *env) submitOnPortal(name, procedure string) dvcqg.HoSoMoi {
	return e.portal.AddInbound(dvcqg.HoSoMoi{MaTTHC: procedure, ChuHoSo: name, LoaiDoiTuong: dvcqg.DoiTuongCongDan,
		SoDinhDanh: "001090012345", SoDienThoai: "0987654321", DiaChi: "5 Trần Hưng Đạo", NgayNop: "20260302073000",
		TaiLieuNop: []dvcqg.TaiLieu{
			{TepDinhKemId: name + "-don", TenTepDinhKem: "don.pdf", MaThanhPhanHoSo: "1"},
			{TepDinhKemId: name + "-ban-ve", TenTepDinhKem: "ban-ve.pdf", MaThanhPhanHoSo: "3"},
		}}, map[string][]byte{name + "-don": smallPDF("don " + name), name + "-ban-ve": smallPDF("ban ve " + name)})
}

func (e *env) pull() nationalportal.PullReport {
	e.t.Helper()
	rep, err := e.np.Pull(e.ctx)
	if err != nil {
		e.t.Fatalf("pull: %v", err)
	}
	return rep
}

// one-stop §2: a dossier submitted on the national portal becomes one
// online dossier in the back office, with its files, even when the portal
// delivers it twice or the mapping is lost after the dossier was recorded;
// the portal learns our code and gets the dossier back through the sync.
func TestInbound(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		before := e.dossierCount()
		qg := e.submitOnPortal("Đỗ Thị Giang", permitCode)

		// The portal is down: nothing is taken, the cursor stays.
		e.portal.FailNext(1, http.StatusServiceUnavailable)
		if _, err := e.np.Pull(e.ctx); !errors.Is(err, nationalportal.ErrUnavailable) {
			t.Fatalf("pull from a failing portal: %v", err)
		}
		if n := e.dossierCount(); n != before {
			t.Fatalf("dossiers = %d after a failed pull", n)
		}

		rep := e.pull()
		if rep.Created != 1 || rep.Acked != 1 {
			t.Fatalf("pull = %+v", rep)
		}
		rec, err := e.np.InboundDossier(e.ctx, qg.MaHoSoQG)
		if err != nil || rec.Outcome != "created" || !rec.Acked {
			t.Fatalf("mapping = %+v, %v", rec, err)
		}
		got := e.get(rec.DossierCode)
		if got.Channel != dossier.ChannelOnline || got.Status != dossier.StatusNew || got.Applicant.Name != "Đỗ Thị Giang" ||
			got.Applicant.Phone != "0987654321" || got.ReceivingAgency != center {
			t.Fatalf("dossier = %+v", got)
		}
		files := 0
		for _, c := range got.Components {
			for _, f := range c.Files {
				if f.Name == "" || len(f.Hash) != 64 {
					t.Fatalf("file %+v", f)
				}
				files++
			}
		}
		if files != 2 {
			t.Fatalf("files = %d, want 2", files)
		}
		if link := e.portal.Link(qg.MaHoSoQG); link != rec.DossierCode {
			t.Fatalf("portal link = %q, want %q", link, rec.DossierCode)
		}

		// Delivered twice: still one dossier.
		e.portal.Redeliver(qg.MaHoSoQG)
		if rep := e.pull(); rep.Duplicates != 1 || rep.Created != 0 {
			t.Fatalf("redelivery = %+v", rep)
		}
		// The mapping lost after the dossier was recorded (a crash between
		// the two): the idempotency key gives the same dossier back.
		if _, err := d.Write().ExecContext(e.ctx, `DELETE FROM nationalportal_inbound`); err != nil {
			t.Fatal(err)
		}
		e.portal.Redeliver(qg.MaHoSoQG)
		if rep := e.pull(); rep.Created != 1 {
			t.Fatalf("after the lost mapping = %+v", rep)
		}
		if n := e.dossierCount(); n != before+1 {
			t.Fatalf("dossiers = %d, want %d", n, before+1)
		}
		if again, _ := e.np.InboundDossier(e.ctx, qg.MaHoSoQG); again.DossierCode != rec.DossierCode {
			t.Fatalf("mapped again to %q, want %q", again.DossierCode, rec.DossierCode)
		}

		// The recorded dossier goes back to the portal as online, status 1.
		e.drain()
		if h := e.held(rec.DossierCode); h.TrangThaiHoSo != 1 || h.HinhThuc != 2 || len(h.TaiLieuNop) != 2 {
			t.Fatalf("held = %+v", h)
		}

		// A dossier for a procedure the province does not have is listed
		// for operators and does not block the feed.
		bad := e.submitOnPortal("Vũ Văn Hải", "9.999999")
		next := e.submitOnPortal("Ngô Thị Lan", permitCode)
		if rep := e.pull(); rep.Rejected != 1 || rep.Created != 1 {
			t.Fatalf("pull = %+v", rep)
		}
		st, err := e.np.State(e.ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.InboundRejected) != 1 || st.InboundRejected[0].NationalID != bad.MaHoSoQG || st.InboundCursor != next.SoThuTu {
			t.Fatalf("state = %+v", st)
		}
		if n := e.dossierCount(); n != before+2 {
			t.Fatalf("dossiers = %d, want %d", n, before+2)
		}
		if rep := e.pull(); rep.Fetched != 0 {
			t.Fatalf("empty pull = %+v", rep)
		}
	})
}

// crashAfterSubmit records the dossier, then fails as a process killed
// before writing the mapping would.
type crashAfterSubmit struct{ *dossier.Service }

func (c crashAfterSubmit) Submit(ctx context.Context, in dossier.SubmitInput) (dossier.Receipt, error) {
	if _, err := c.Service.Submit(ctx, in); err != nil {
		return dossier.Receipt{}, err
	}
	return dossier.Receipt{}, errors.New("killed after the dossier was recorded")
}

// one-stop.md §12 (inbound, nothing lost): a node killed between recording
// an inbound dossier and its mapping, restarted with another inbound unit,
// maps the dossier it recorded (one dossier, acknowledged), rather than
// calling it rejected because the request changed.
func TestInboundResumesAfterACrashBeforeTheMapping(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		h := e.submitOnPortal("Lê Văn Khải", permitCode)
		n1, _, _ := e.node(func(c *nationalportal.Config) { c.Dossiers = crashAfterSubmit{e.ds} })
		if _, err := n1.Pull(e.ctx); err == nil {
			t.Fatal("the crash went unnoticed")
		}
		if e.dossierCount() != 1 {
			t.Fatalf("%d dossiers after the crash", e.dossierCount())
		}
		n2, _, _ := e.node(func(c *nationalportal.Config) { c.InboundUnit = "000.05.13.H99" })
		rep, err := n2.Pull(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := n2.InboundDossier(e.ctx, h.MaHoSoQG)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Created != 1 || rep.Rejected != 0 || rec.Outcome != "created" || rec.DossierCode == "" || e.dossierCount() != 1 {
			t.Fatalf("after the restart: %+v, %+v, %d dossiers", rep, rec, e.dossierCount())
		}
	})
}

// one-stop.md §12 (inbound): a dossier whose file keeps failing to
// download holds up the feed for at most InboundGiveUp (1 h): then it is
// set aside as "could not be taken in", and the dossiers after it come in.
// A file link the portal says is gone (410) is set aside at once.
func TestInboundDossierFailingTooLongIsSetAside(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		stuck := e.submitOnPortal("Ngô Văn Bình", permitCode)
		next := e.submitOnPortal("Trịnh Thị Mai", permitCode)
		e.portal.FailFile("Ngô Văn Bình-ban-ve", http.StatusForbidden)
		for i := 0; i < 3; i++ { // three pulls within the hour: the feed waits
			if _, err := e.np.Pull(e.ctx); err == nil {
				t.Fatal("a failing download went unnoticed")
			}
			e.clock.Add(20 * time.Minute)
		}
		if e.dossierCount() != 0 {
			t.Fatalf("%d dossiers taken in past a failing one", e.dossierCount())
		}
		rep := e.pull() // an hour since the first failure
		rec, err := e.np.InboundDossier(e.ctx, stuck.MaHoSoQG)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rejected != 1 || rep.Created != 1 || rec.Outcome != "rejected" || !strings.Contains(rec.Error, "403") || e.dossierCount() != 1 {
			t.Fatalf("after an hour: %+v, %+v, %d dossiers", rep, rec, e.dossierCount())
		}
		if rec, err := e.np.InboundDossier(e.ctx, next.MaHoSoQG); err != nil || rec.Outcome != "created" {
			t.Fatalf("the next dossier: %+v, %v", rec, err)
		}
		gone := e.submitOnPortal("Đinh Văn Tùng", permitCode)
		e.portal.FailFile("Đinh Văn Tùng-don", http.StatusGone)
		if rep := e.pull(); rep.Rejected != 1 {
			t.Fatalf("a file gone: %+v", rep)
		}
		if rec, _ := e.np.InboundDossier(e.ctx, gone.MaHoSoQG); rec.Outcome != "rejected" {
			t.Fatalf("a file gone: %+v", rec)
		}
	})
}
