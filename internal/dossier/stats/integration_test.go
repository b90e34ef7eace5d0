package stats_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
	"github.com/congso/congso/internal/workflow"
)

// catalogStub serves one procedure: a building permit, 10 working days.
type catalogStub struct{ p catalog.Procedure }

func (c catalogStub) Procedure(ctx context.Context, code string, on calendar.Date) (catalog.Procedure, error) {
	if code == c.p.Code {
		return c.p, nil
	}
	return catalog.Procedure{}, fmt.Errorf("procedure %s: %w", code, catalog.ErrNotFound)
}

func (c catalogStub) ProcedureVersion(ctx context.Context, code string, version int) (catalog.Procedure, error) {
	return c.Procedure(ctx, code, calendar.Date{})
}

const (
	center   = "000.00.13.H99"
	desk     = "000.01.13.H99"
	division = "000.02.07.H99"
)

func official(id string, role identity.Role, unit string) *identity.Principal {
	return person(id, identity.Grant{ID: id, PersonID: id, Role: role, UnitID: unit})
}

// onePagePDF is a complete one-page PDF.
func onePagePDF() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	var offs []int
	for i, o := range []string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"} {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// The events of the real dossier module, through the outbox: what the
// statistics make of a counter reception through the nine steps, a
// supplement request, a withdrawal and a refusal at reception.
func TestWithDossierModule(t *testing.T) {
	var migs []db.Migration
	migs = append(migs, outbox.Migrations()...)
	migs = append(migs, timer.Migrations()...)
	migs = append(migs, audit.Migrations()...)
	migs = append(migs, workflow.Migrations()...)
	migs = append(migs, dossier.Migrations()...)
	migs = append(migs, stats.Migrations()...)
	dbtest.Each(t, migs, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := &clock{t: at(2026, 3, 2, 9, 0)}
		wf := workflow.New(d, workflow.Config{Now: c.Now})
		if err := wf.InstallShipped(ctx); err != nil {
			t.Fatal(err)
		}
		bs, err := blob.NewFS(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		permit := catalog.Procedure{Code: "1.000775", Version: 1, Name: "Cấp giấy phép xây dựng", FieldCode: build,
			Level: catalog.LevelProvince, CompetentAgency: dept,
			Documents:     []catalog.Document{{Name: "Đơn đề nghị", Form: catalog.FormOriginal, Quantity: 1, Required: true}},
			Duration:      catalog.Duration{Value: 10, Unit: catalog.WorkingDays},
			EffectiveFrom: date(2026, 1, 1), Status: catalog.StatusActive}
		svc, err := dossier.New(d, dossier.Config{Procedures: catalogStub{permit}, Workflow: wf, Blobs: bs, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		st := stats.New(d, stats.Config{Now: c.Now})
		disp := outbox.NewDispatcher(d, outbox.Config{Now: c.Now})
		st.Subscribe(disp)
		if err := disp.Register(ctx); err != nil {
			t.Fatal(err)
		}

		officer := official("officer-1", identity.RoleOfficer, desk)
		head := official("head-1", identity.RoleDivisionHead, division)
		handler := official("handler-1", identity.RoleHandler, division)
		director := official("director-1", identity.RoleAgencyHead, dept)
		clerk := official("clerk-1", identity.RoleClerk, dept)
		sub := dossier.Submission{ProcedureCode: permit.Code, Channel: dossier.ChannelCounter,
			Applicant: dossier.Applicant{Type: dossier.ApplicantCitizen, Name: "Nguyễn Văn An", PersonalID: "001090012345", Phone: "0912345678"},
			FormData:  json.RawMessage(`{}`), Components: []dossier.ComponentInput{{N: 1, Provided: catalog.FormOriginal, Quantity: 1}}}
		place := dossier.Placement{ReceivingAgency: center, ReceivingUnit: desk, DivisionUnit: division}
		receive := func() string {
			rc, err := svc.Receive(ctx, dossier.ReceiveInput{Submission: sub, Placement: place, Actor: officer})
			if err != nil {
				t.Fatal(err)
			}
			return rc.Code
		}
		act := func(in dossier.ActInput) {
			if _, err := svc.Act(ctx, in); err != nil {
				t.Fatalf("%s: %v", in.Action, err)
			}
		}

		resolved, paused, withdrawn := receive(), receive(), receive()
		c.Set(at(2026, 3, 2, 10, 0))
		for _, code := range []string{resolved, paused, withdrawn} {
			act(dossier.ActInput{DossierCode: code, Action: "assign", Actor: head, Assignee: handler.PersonID})
		}
		draft, err := svc.PutFile(ctx, "du-thao.pdf", bytes.NewReader(onePagePDF()))
		if err != nil {
			t.Fatal(err)
		}
		c.Set(at(2026, 3, 3, 9, 0))
		act(dossier.ActInput{DossierCode: resolved, Action: "draft_result", Actor: handler,
			Attachments: []workflow.Attachment{{Name: draft.Name, Hash: draft.Hash}}})
		act(dossier.ActInput{DossierCode: resolved, Action: "approve", Actor: head})
		act(dossier.ActInput{DossierCode: resolved, Action: "sign", Actor: director, Signature: "sig:" + draft.Hash})
		act(dossier.ActInput{DossierCode: resolved, Action: "transfer", Actor: handler})
		act(dossier.ActInput{DossierCode: resolved, Action: "issue", Actor: clerk, Signature: "seal:15/GPXD"})
		if _, err := svc.RequestSupplement(ctx, dossier.SupplementRequestInput{DossierCode: paused, Actor: handler,
			Reason: "Bản vẽ bị mờ", Defects: []dossier.Defect{{Field: "components.1", Message: "Bản vẽ bị mờ"}}}); err != nil {
			t.Fatal(err)
		}
		c.Set(at(2026, 3, 4, 9, 0))
		act(dossier.ActInput{DossierCode: resolved, Action: "return", Actor: officer})
		act(dossier.ActInput{DossierCode: withdrawn, Action: "withdraw", Actor: officer, Comment: "Công dân xin rút"})
		if _, err := svc.Refuse(ctx, dossier.RefuseInput{Submission: sub, Placement: place, Reason: "Không thuộc thẩm quyền", Actor: officer}); err != nil {
			t.Fatal(err)
		}

		c.Set(at(2026, 3, 6, 9, 0))
		if _, err := disp.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		rep, err := st.Report(ctx, stats.Query{From: date(2026, 3, 1), To: date(2026, 4, 1)})
		if err != nil {
			t.Fatal(err)
		}
		balanced(t, rep)
		sameCounts(t, "the department's March so far", row(rep, dept, build), stats.Counts{Received: 3, ReceivedOffline: 3,
			Resolved: 1, ResolvedEarly: 1, OnTimeRate: rate(100), Returned: 1, Withdrawn: 1, SupplementRequested: 1,
			Pending: 1, PausedSupplement: 1, NotReceived: 1})
	})
}
