package nationalportal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/fakes/dvcqg"
	"github.com/congso/congso/internal/gateway/nationalportal"
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
	return append(m, nationalportal.Migrations()...)
}

var ict = time.FixedZone("ICT", 7*3600)

func at(y int, mo time.Month, d, h, mi int) time.Time { return time.Date(y, mo, d, h, mi, 0, 0, ict) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	center   = "000.00.13.H99"
	desk     = "000.01.13.H99"
	dept     = "000.00.07.H99"
	division = "000.02.07.H99"
	province = "000.00.00.H99" // the province's madonvi on the portal
)

func person(id string, role identity.Role, unit string) *identity.Principal {
	return &identity.Principal{PersonID: id, Username: id, FullName: id, Kind: identity.KindOfficial,
		Grants: []identity.Grant{{ID: id, PersonID: id, Role: role, UnitID: unit}}}
}

var (
	officer  = person("officer-1", identity.RoleOfficer, desk)
	head     = person("head-1", identity.RoleDivisionHead, division)
	handler  = person("handler-1", identity.RoleHandler, division)
	director = person("director-1", identity.RoleAgencyHead, dept)
	clerk    = person("clerk-1", identity.RoleClerk, dept)
	leader   = person("leader-1", identity.RoleLeader, identity.ProvinceWide)
)

// people names officials.
type people map[string]string

func (p people) GetPerson(ctx context.Context, id string) (identity.Person, error) {
	if n, ok := p[id]; ok {
		return identity.Person{ID: id, FullName: n}, nil
	}
	return identity.Person{}, identity.ErrNotFound
}

type procedures struct{ byCode map[string]catalog.Procedure }

func (p *procedures) Procedure(ctx context.Context, code string, on calendar.Date) (catalog.Procedure, error) {
	if v, ok := p.byCode[code]; ok && v.InForce(on) {
		return v, nil
	}
	return catalog.Procedure{}, fmt.Errorf("procedure %s: %w", code, catalog.ErrNotFound)
}

func (p *procedures) ProcedureVersion(ctx context.Context, code string, version int) (catalog.Procedure, error) {
	if v, ok := p.byCode[code]; ok && v.Version == version {
		return v, nil
	}
	return catalog.Procedure{}, fmt.Errorf("procedure %s v%d: %w", code, version, catalog.ErrNotFound)
}

const permitCode = "1.000775"

func testProcedures() *procedures {
	permit := catalog.Procedure{Code: permitCode, Version: 1, Name: "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
		FieldCode: "HDXD", Level: catalog.LevelProvince, CompetentAgency: dept, OnlineLevel: "partial",
		Documents: []catalog.Document{
			{Name: "Đơn đề nghị cấp giấy phép xây dựng", Form: catalog.FormOriginal, Quantity: 1, Required: true},
			{Name: "Giấy tờ về quyền sử dụng đất", Form: catalog.FormCopy, Quantity: 1, Required: true},
			{Name: "Bản vẽ thiết kế xây dựng", Form: catalog.FormCopy, Quantity: 2, Required: true},
		},
		Fees:          []catalog.Fee{{Name: "Lệ phí cấp giấy phép xây dựng", Amount: 75000, PaidAt: catalog.PaidAtReception}},
		Duration:      catalog.Duration{Value: 10, Unit: catalog.WorkingDays},
		EffectiveFrom: calendar.Date{Year: 2025, Month: 7, Day: 1}, Status: catalog.StatusActive}
	return &procedures{byCode: map[string]catalog.Procedure{permitCode: permit}}
}

// env is a province (dossier service, outbox dispatcher, timer scheduler,
// the adapter) and a fake national portal on loopback, on one injected clock.
type env struct {
	t      testing.TB
	ctx    context.Context
	d      *db.DB
	clock  *clock
	ds     *dossier.Service
	disp   *outbox.Dispatcher
	timers *timer.Scheduler
	portal *dvcqg.Server
	client *nationalportal.Client
	np     *nationalportal.Service
}

func newEnv(t testing.TB, d *db.DB) *env {
	t.Helper()
	e := newProvince(t, d)
	e.np, e.timers, e.disp = e.node(nil)
	return e
}

// newProvince is the province and the portal without the link: dossiers
// received before node is called are not synced by events.
func newProvince(t testing.TB, d *db.DB) *env {
	t.Helper()
	c := &clock{t: at(2026, 3, 2, 8, 0)}
	ctx := context.Background()
	wf := workflow.New(d, workflow.Config{Now: c.Now})
	if err := wf.InstallShipped(ctx); err != nil {
		t.Fatal(err)
	}
	bs, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dossier.New(d, dossier.Config{Procedures: testProcedures(), Workflow: wf, Blobs: bs, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	portal, ts := dvcqg.NewTestServer(t, dvcqg.Config{Users: map[string]string{"bp": "s3cret"}, Units: []string{province}, Now: c.Now})
	client := nationalportal.NewClient(nationalportal.ClientConfig{URL: ts.URL, Username: "bp", Password: "s3cret", Unit: province,
		Timeout: time.Second})
	return &env{t: t, ctx: ctx, d: d, clock: c, ds: ds, portal: portal, client: client}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// node starts one node of the adapter on the province's database: a
// Service (mod may change its Config), its timer scheduler and its outbox
// dispatcher, registered.
func (e *env) node(mod func(*nationalportal.Config)) (*nationalportal.Service, *timer.Scheduler, *outbox.Dispatcher) {
	e.t.Helper()
	disp := outbox.NewDispatcher(e.d, outbox.Config{Now: e.clock.Now, Jitter: func() float64 { return 0.99 }, Logger: quiet, MaxAttempts: 12})
	cfg := nationalportal.Config{Dossiers: e.ds, Portal: e.client, InboundAgency: center, InboundUnit: desk,
		People: people{"handler-1": "Trần Văn Xử Lý"}, Queue: disp.Stats, Now: e.clock.Now, Logger: quiet}
	if mod != nil {
		mod(&cfg)
	}
	np, err := nationalportal.New(e.d, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	np.Subscribe(disp)
	if err := disp.Register(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	timers := timer.NewScheduler(e.d, timer.Config{Now: e.clock.Now, Logger: quiet, Jitter: func() float64 { return 0.99 }})
	np.HandleTimers(timers)
	return np, timers, disp
}

// drain delivers every due event.
func (e *env) drain() {
	e.t.Helper()
	if _, err := e.disp.Drain(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// pending counts the outbox deliveries not done for the adapter.
func (e *env) pending() (pending, dead int64) {
	e.t.Helper()
	stats, err := e.disp.Stats(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range stats {
		if s.Name == nationalportal.SubscriptionName {
			pending += s.Pending
			dead += s.Dead
		}
	}
	return pending, dead
}

func (e *env) put(name string, data []byte) dossier.File {
	e.t.Helper()
	f, err := e.ds.PutFile(e.ctx, name, bytes.NewReader(data))
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

func citizen(name string) dossier.Applicant {
	return dossier.Applicant{Type: dossier.ApplicantCitizen, Name: name, PersonalID: "001090012345", Phone: "0912 345 678",
		Address: "12 Lê Lợi"}
}

// receive receives a complete dossier at the counter.
func (e *env) receive(name string) dossier.Receipt {
	e.t.Helper()
	drawing := e.put("ban-ve.pdf", smallPDF("ban ve "+name))
	sub := dossier.Submission{ProcedureCode: permitCode, Channel: dossier.ChannelCounter, Applicant: citizen(name),
		Components: []dossier.ComponentInput{
			{N: 1, Provided: catalog.FormOriginal, Quantity: 1},
			{N: 2, Provided: catalog.FormCopy, Quantity: 1},
			{N: 3, Provided: catalog.FormElectronic, Files: []dossier.FileRef{{Name: "ban-ve.pdf", Hash: drawing.Hash}}},
		}}
	rc, err := e.ds.Receive(e.ctx, dossier.ReceiveInput{Submission: sub,
		Placement: dossier.Placement{ReceivingAgency: center, ReceivingUnit: desk, DivisionUnit: division}, Actor: officer})
	if err != nil {
		e.t.Fatalf("receive: %v", err)
	}
	return rc
}

func (e *env) act(code, action string, actor *identity.Principal, mod func(*dossier.ActInput)) dossier.ActResult {
	e.t.Helper()
	in := dossier.ActInput{DossierCode: code, Action: action, Actor: actor}
	if mod != nil {
		mod(&in)
	}
	res, err := e.ds.Act(e.ctx, in)
	if err != nil {
		e.t.Fatalf("%s on %s: %v", action, code, err)
	}
	return res
}

func (e *env) get(code string) *dossier.Dossier {
	e.t.Helper()
	d, err := e.ds.Get(e.ctx, code, leader)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// held returns what the portal holds for code.
func (e *env) held(code string) dvcqg.HoSo {
	e.t.Helper()
	h, ok := e.portal.Dossier(code)
	if !ok {
		e.t.Fatalf("the portal does not hold %s", code)
	}
	return h
}

// events returns the outbox events of a dossier, oldest first.
func (e *env) events(code string) []outbox.Event {
	e.t.Helper()
	rows, err := e.d.Read().QueryContext(e.ctx, `SELECT id, topic, event_key, payload FROM outbox_events WHERE event_key = $1 ORDER BY id`, code)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []outbox.Event
	for rows.Next() {
		var ev outbox.Event
		var p string
		if err := rows.Scan(&ev.ID, &ev.Topic, &ev.Key, &p); err != nil {
			e.t.Fatal(err)
		}
		ev.Payload = json.RawMessage(p)
		out = append(out, ev)
	}
	return out
}

// dossierCount counts the dossiers in the back office.
func (e *env) dossierCount() int {
	e.t.Helper()
	n, after := 0, ""
	for {
		page, err := e.ds.List(e.ctx, dossier.ListQuery{Actor: leader, Limit: 200, After: after})
		if err != nil {
			e.t.Fatal(err)
		}
		n += len(page.Items)
		if page.Next == "" {
			return n
		}
		after = page.Next
	}
}

// smallPDF is a complete one-page PDF.
func smallPDF(text string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := []int{}
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
