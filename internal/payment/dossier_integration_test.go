package payment_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/payment"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
	"github.com/congso/congso/internal/workflow"
)

// The real dossier module implements what the payment module needs.
var _ payment.Dossiers = payment.DossierAdapter{}

type oneProcedure struct{ p catalog.Procedure }

func (o oneProcedure) Procedure(ctx context.Context, code string, on calendar.Date) (catalog.Procedure, error) {
	if code != o.p.Code {
		return catalog.Procedure{}, fmt.Errorf("procedure %s: %w", code, catalog.ErrNotFound)
	}
	return o.p, nil
}

func (o oneProcedure) ProcedureVersion(ctx context.Context, code string, v int) (catalog.Procedure, error) {
	return o.Procedure(ctx, code, calendar.Date{})
}

// one-stop §8 with the real dossier module: paying online records the fee
// on the dossier with the platform's reference, once.
func TestPayWithDossierModule(t *testing.T) {
	migs := append(append(append(append(outbox.Migrations(), timer.Migrations()...), audit.Migrations()...),
		workflow.Migrations()...), dossier.Migrations()...)
	migs = append(migs, payment.Migrations()...)
	dbtest.Each(t, migs, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := &clock{t: mustTime("2026-03-02T09:00:00+07:00")}
		wf := workflow.New(d, workflow.Config{Now: clk.Now})
		if err := wf.InstallShipped(ctx); err != nil {
			t.Fatal(err)
		}
		bs, err := blob.NewFS(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		const dept, desk, center = "000.00.07.H99", "000.01.13.H99", "000.00.13.H99"
		proc := catalog.Procedure{Code: "1.000775", Version: 1, Name: "Cấp giấy phép xây dựng", FieldCode: "HDXD",
			Level: catalog.LevelProvince, CompetentAgency: dept, OnlineLevel: "partial",
			Documents:     []catalog.Document{{Name: "Đơn đề nghị", Form: catalog.FormOriginal, Quantity: 1, Required: true}},
			Fees:          []catalog.Fee{{Name: "Lệ phí cấp giấy phép xây dựng", Amount: 75000, PaidAt: catalog.PaidAtReception}},
			Duration:      catalog.Duration{Value: 10, Unit: catalog.WorkingDays},
			EffectiveFrom: calendar.Date{Year: 2025, Month: 7, Day: 1}, Status: catalog.StatusActive}
		ds, err := dossier.New(d, dossier.Config{Procedures: oneProcedure{proc}, Workflow: wf, Blobs: bs, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		officer := &identity.Principal{PersonID: "officer-1", Kind: identity.KindOfficial,
			Grants: []identity.Grant{{ID: "g", PersonID: "officer-1", Role: identity.RoleOfficer, UnitID: desk}}}
		rc, err := ds.Receive(ctx, dossier.ReceiveInput{Actor: officer,
			Placement: dossier.Placement{ReceivingAgency: center, ReceivingUnit: desk, DivisionUnit: "000.02.07.H99"},
			Submission: dossier.Submission{ProcedureCode: proc.Code, Channel: dossier.ChannelCounter,
				Applicant: dossier.Applicant{Type: dossier.ApplicantCitizen, Name: "Nguyễn Văn An", PersonalID: "001090012345",
					Phone: "0912345678", Address: "12 Lê Lợi"},
				Components: []dossier.ComponentInput{{N: 1, Provided: catalog.FormOriginal, Quantity: 1}}}})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		e := newEnv(t, d, payment.DossierAdapter{Service: ds})
		p, err := e.svc.Start(ctx, payment.StartInput{DossierCode: rc.Code, FeeN: 1})
		if err != nil {
			t.Fatal(err)
		}
		if p.Amount != 75000 || p.FeeName != "Lệ phí cấp giấy phép xây dựng" {
			t.Fatalf("payment %+v", p)
		}
		c := e.browser()
		pay := e.do(c, http.MethodGet, p.PayURL, nil)
		back := e.press(c, pay, "pay")
		if !strings.Contains(back.body, "Biên lai") {
			t.Fatalf("no receipt:\n%s", back.body)
		}
		got, err := ds.Get(ctx, rc.Code, officer)
		if err != nil {
			t.Fatal(err)
		}
		paid, _ := e.svc.Get(ctx, p.OrderID)
		if f := got.Fees[0]; f.Status != dossier.FeePaid || f.Reference != paid.Receipt() {
			t.Fatalf("dossier fee %+v, payment %+v", f, paid)
		}
		if !(payment.DossierAdapter{Service: ds}).CanView(ctx, officer, rc.Code) ||
			(payment.DossierAdapter{Service: ds}).CanView(ctx, nil, rc.Code) {
			t.Fatal("CanView does not follow dossier.view")
		}
	})
}
