package datastore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/datastore"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
	"github.com/congso/congso/internal/workflow"
)

func migrations() []db.Migration {
	var m []db.Migration
	m = append(m, outbox.Migrations()...)
	m = append(m, timer.Migrations()...)
	m = append(m, audit.Migrations()...)
	m = append(m, workflow.Migrations()...)
	m = append(m, dossier.Migrations()...)
	return append(m, datastore.Migrations()...)
}

var ict = time.FixedZone("ICT", 7*3600)

func at(y int, mo time.Month, d, h, mi int) time.Time { return time.Date(y, mo, d, h, mi, 0, 0, ict) }

func date(y int, mo time.Month, d int) calendar.Date {
	return calendar.Date{Year: y, Month: mo, Day: d}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// catalogStub serves one procedure: a building permit with two documents.
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

func (c catalogStub) Agency(ctx context.Context, eid string) (catalog.Agency, error) {
	names := map[string]string{center: "Trung tâm Phục vụ hành chính công tỉnh", dept: "Sở Xây dựng"}
	if n, ok := names[eid]; ok {
		return catalog.Agency{EID: eid, Name: n}, nil
	}
	return catalog.Agency{}, catalog.ErrNotFound
}

const (
	center   = "000.00.13.H99"
	desk     = "000.01.13.H99"
	dept     = "000.00.07.H99"
	division = "000.02.07.H99"
	permitNo = "1.000775"
)

var permit = catalog.Procedure{Code: permitNo, Version: 1, Name: "Cấp giấy phép xây dựng", FieldCode: "XD",
	Level: catalog.LevelProvince, CompetentAgency: dept,
	Documents: []catalog.Document{
		{Name: "Đơn đề nghị cấp giấy phép xây dựng", Form: catalog.FormOriginal, Quantity: 1, Required: true},
		{Name: "Giấy chứng nhận quyền sử dụng đất", Form: catalog.FormCopy, Quantity: 1, Required: true}},
	Duration:      catalog.Duration{Value: 10, Unit: catalog.WorkingDays},
	EffectiveFrom: date(2026, 1, 1), Status: catalog.StatusActive}

func official(id string, role identity.Role, unit string) *identity.Principal {
	return &identity.Principal{PersonID: id, Username: id, Kind: identity.KindOfficial,
		Grants: []identity.Grant{{ID: id, PersonID: id, Role: role, UnitID: unit}}}
}

var (
	officer  = official("officer-1", identity.RoleOfficer, desk)
	head     = official("head-1", identity.RoleDivisionHead, division)
	handler  = official("handler-1", identity.RoleHandler, division)
	director = official("director-1", identity.RoleAgencyHead, dept)
	clerk    = official("clerk-1", identity.RoleClerk, dept)
	reader   = official("reader", identity.RoleLeader, identity.ProvinceWide)
)

// Applicant accounts.
const (
	an   = "acc-an"   // Nguyễn Văn An
	binh = "acc-binh" // Trần Thị Bình
)

// dossiers implements datastore.Dossiers over the real dossier module the
// way the lead will: a trusted read of the dossier and its owner account
// (kept here in a map until the dossier module records owners).
type dossiers struct {
	svc    *dossier.Service
	mu     sync.Mutex
	owners map[string]string
	reads  int
}

func (d *dossiers) Source(ctx context.Context, code string) (string, *dossier.Dossier, error) {
	x, err := d.svc.Get(ctx, code, reader)
	if err != nil {
		return "", nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reads++
	return d.owners[code], x, nil
}

func (d *dossiers) own(code, owner string) {
	d.mu.Lock()
	d.owners[code] = owner
	d.mu.Unlock()
}

// env is the dossier module, the store and a dispatcher over one database.
type env struct {
	t     *testing.T
	ctx   context.Context
	db    *db.DB
	clock *clock
	blobs blob.Store
	dos   *dossier.Service
	src   *dossiers
	store *datastore.Service
	disp  *outbox.Dispatcher
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
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
	dos, err := dossier.New(d, dossier.Config{Procedures: catalogStub{permit}, Workflow: wf, Blobs: bs, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	src := &dossiers{svc: dos, owners: map[string]string{}}
	st, err := datastore.New(d, datastore.Config{Blobs: bs, Dossiers: src, Agencies: catalogStub{permit}, Now: c.Now, MaxUploadBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	disp := outbox.NewDispatcher(d, outbox.Config{Now: c.Now})
	st.Subscribe(disp)
	if err := disp.Register(ctx); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, db: d, clock: c, blobs: bs, dos: dos, src: src, store: st, disp: disp}
}

// drain delivers every event due.
func (e *env) drain() {
	e.t.Helper()
	if _, err := e.disp.Drain(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// receive receives a building permit dossier at the counter for owner,
// both papers scanned at the desk (digitized), and returns its code.
// reuse, when set, is the store reference the applicant cites for the
// land-use certificate instead of a scan.
func (e *env) receive(owner, reuse string) string {
	e.t.Helper()
	form, err := e.dos.PutFile(e.ctx, "don.pdf", bytes.NewReader(onePagePDF("don "+owner+reuse)))
	if err != nil {
		e.t.Fatal(err)
	}
	land, err := e.dos.PutFile(e.ctx, "so-do.png", bytes.NewReader(smallPNG(3)))
	if err != nil {
		e.t.Fatal(err)
	}
	comps := []dossier.ComponentInput{
		{N: 1, Provided: catalog.FormElectronic, Quantity: 1, Files: []dossier.FileRef{{Name: form.Name, Hash: form.Hash, Digitized: true}}},
		{N: 2, Provided: catalog.FormElectronic, Quantity: 1, Files: []dossier.FileRef{{Name: land.Name, Hash: land.Hash, Digitized: true}}},
	}
	if reuse != "" {
		r, err := e.store.Resolve(e.ctx, owner, reuse)
		if err != nil {
			e.t.Fatalf("resolve %s: %v", reuse, err)
		}
		comps[1] = dossier.ComponentInput{N: 2, Provided: catalog.FormElectronic, Quantity: 1, Reused: true, ReuseRef: r.Ref,
			Files: []dossier.FileRef{{Name: r.FileName, Hash: r.Hash}}}
	}
	rc, err := e.dos.Receive(e.ctx, dossier.ReceiveInput{Actor: officer,
		Submission: dossier.Submission{ProcedureCode: permitNo, Channel: dossier.ChannelCounter,
			Applicant: dossier.Applicant{Type: dossier.ApplicantCitizen, Name: "Nguyễn Văn An", PersonalID: "001090012345", Phone: "0912345678"},
			FormData:  json.RawMessage(`{}`), Components: comps},
		Placement: dossier.Placement{ReceivingAgency: center, ReceivingUnit: desk, DivisionUnit: division}})
	if err != nil {
		e.t.Fatalf("receive: %v", err)
	}
	if owner != "" {
		e.src.own(rc.Code, owner)
	}
	return rc.Code
}

func (e *env) act(code, action string, who *identity.Principal, extra func(*dossier.ActInput)) {
	e.t.Helper()
	in := dossier.ActInput{DossierCode: code, Action: action, Actor: who}
	if extra != nil {
		extra(&in)
	}
	if _, err := e.dos.Act(e.ctx, in); err != nil {
		e.t.Fatalf("%s: %v", action, err)
	}
}

// resolve takes a dossier through the nine steps up to the issued result
// "15/GPXD" (added before issuing).
func (e *env) resolve(code string) {
	e.t.Helper()
	e.act(code, "assign", head, func(in *dossier.ActInput) { in.Assignee = handler.PersonID })
	draft, err := e.dos.PutFile(e.ctx, "du-thao.pdf", bytes.NewReader(onePagePDF("du thao "+code)))
	if err != nil {
		e.t.Fatal(err)
	}
	e.act(code, "draft_result", handler, func(in *dossier.ActInput) {
		in.Attachments = []workflow.Attachment{{Name: draft.Name, Hash: draft.Hash}}
	})
	e.act(code, "approve", head, nil)
	e.act(code, "sign", director, func(in *dossier.ActInput) { in.Signature = "sig:" + draft.Hash })
	e.act(code, "transfer", handler, nil)
	e.addResult(code, "giay-phep.pdf", "giay phep "+code)
	e.act(code, "issue", clerk, func(in *dossier.ActInput) { in.Signature = "seal:15/GPXD" })
}

func (e *env) addResult(code, name, text string) dossier.Result {
	e.t.Helper()
	res, err := e.dos.AddResult(e.ctx, dossier.AddResultInput{DossierCode: code, ResultCode: "15/GPXD", Name: "Giấy phép xây dựng",
		Issuer: "Sở Xây dựng", IssuedAt: e.clock.Now(), ValidFrom: date(2026, 3, 3), ValidTo: date(2027, 3, 2),
		FileName: name, Body: bytes.NewReader(onePagePDF(text)), Actor: clerk})
	if err != nil {
		e.t.Fatalf("add result: %v", err)
	}
	return res
}

// docs lists owner's visible documents (all of them: one page).
func (e *env) docs(owner string) []datastore.Document {
	e.t.Helper()
	p, err := e.store.List(e.ctx, owner, datastore.ListQuery{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Items
}

func byKind(ds []datastore.Document, k datastore.Kind) []datastore.Document {
	var out []datastore.Document
	for _, d := range ds {
		if d.Kind == k {
			out = append(out, d)
		}
	}
	return out
}

// onePagePDF is a complete one-page PDF whose content varies with text.
func onePagePDF(text string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>")
	stream := "BT /F1 12 Tf 20 100 Td (" + text + ") Tj ET"
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream))
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// smallPNG is a readable 8×8 PNG; seed varies its content.
func smallPNG(seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := 0; x < 8; x++ {
		img.Set(x, (x+seed)%8, color.RGBA{200, uint8(seed), 0, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func jsonMarshal(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	return json.RawMessage(b), err
}
