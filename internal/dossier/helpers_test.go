package dossier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/catalog"
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

type outboxEvent = outbox.Event

// Compile-time check: the catalog service is what the dossier module reads
// procedures from.
var _ dossier.Procedures = (*catalog.Service)(nil)

func migrations() []db.Migration {
	var m []db.Migration
	m = append(m, outbox.Migrations()...)
	m = append(m, timer.Migrations()...)
	m = append(m, audit.Migrations()...)
	m = append(m, workflow.Migrations()...)
	return append(m, dossier.Migrations()...)
}

var ict = time.FixedZone("ICT", 7*3600)

// at returns a wall-clock time in Vietnam.
func at(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, ict)
}

// clock is an injected, settable clock.
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

// The places of the tests (demo-style e-IDs): the provincial public
// service center and its desk, the Department of Construction with its
// division and leadership.
const (
	center   = "000.00.13.H99"
	desk     = "000.01.13.H99"
	dept     = "000.00.07.H99"
	division = "000.02.07.H99"
)

func person(id string, grants ...identity.Grant) *identity.Principal {
	p := &identity.Principal{PersonID: id, Username: id, FullName: id, Kind: identity.KindOfficial}
	for i := range grants {
		grants[i].PersonID = id
	}
	p.Grants = grants
	return p
}

func grant(role identity.Role, unit string) identity.Grant {
	return identity.Grant{ID: string(role) + "@" + unit, Role: role, UnitID: unit}
}

var (
	officer  = person("officer-1", grant(identity.RoleOfficer, desk))
	head     = person("head-1", grant(identity.RoleDivisionHead, division))
	handler  = person("handler-1", grant(identity.RoleHandler, division))
	handler2 = person("handler-2", grant(identity.RoleHandler, division))
	director = person("director-1", grant(identity.RoleAgencyHead, dept))
	clerk    = person("clerk-1", grant(identity.RoleClerk, dept))
	stranger = person("stranger-1", grant(identity.RoleOfficer, "000.01.99.H99"))
)

// procedures is an in-memory catalog.
type procedures struct {
	byCode map[string][]catalog.Procedure
}

func (p *procedures) Procedure(ctx context.Context, code string, on calendar.Date) (catalog.Procedure, error) {
	for _, v := range p.byCode[code] {
		if v.InForce(on) {
			return v, nil
		}
	}
	return catalog.Procedure{}, fmt.Errorf("procedure %s: %w", code, catalog.ErrNotFound)
}

func (p *procedures) ProcedureVersion(ctx context.Context, code string, version int) (catalog.Procedure, error) {
	for _, v := range p.byCode[code] {
		if v.Version == version {
			return v, nil
		}
	}
	return catalog.Procedure{}, fmt.Errorf("procedure %s v%d: %w", code, version, catalog.ErrNotFound)
}

const (
	permitCode  = "1.000775" // building permit: 10 working days, three documents
	sameDayCode = "2.000488" // same-day certificate
)

func testProcedures() *procedures {
	from := calendar.Date{Year: 2025, Month: 7, Day: 1}
	permit := catalog.Procedure{Code: permitCode, Version: 2, Name: "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
		FieldCode: "HDXD", Level: catalog.LevelProvince, CompetentAgency: dept, OnlineLevel: "partial",
		Documents: []catalog.Document{
			{Name: "Đơn đề nghị cấp giấy phép xây dựng", Form: catalog.FormOriginal, Quantity: 1, Template: "Mẫu số 01", Required: true},
			{Name: "Giấy tờ về quyền sử dụng đất", Form: catalog.FormCopy, Quantity: 1, Required: true},
			{Name: "Bản vẽ thiết kế xây dựng", Form: catalog.FormCopy, Quantity: 2, Required: true},
			{Name: "Giấy ủy quyền (nếu nộp thay)", Form: catalog.FormOriginal, Quantity: 1, Required: false},
		},
		Fees:          []catalog.Fee{{Name: "Lệ phí cấp giấy phép xây dựng", Amount: 75000, PaidAt: catalog.PaidAtReception}},
		Duration:      catalog.Duration{Value: 10, Unit: catalog.WorkingDays},
		LegalBasis:    []string{"Luật Xây dựng 2014"},
		FormSchema:    json.RawMessage(personForm),
		EffectiveFrom: from, Status: catalog.StatusActive}
	sameDay := catalog.Procedure{Code: sameDayCode, Version: 1, Name: "Cấp bản sao trích lục hộ tịch", FieldCode: "HT",
		Level: catalog.LevelProvince, CompetentAgency: dept, OnlineLevel: "full",
		Documents:     []catalog.Document{{Name: "Tờ khai", Form: catalog.FormOriginal, Quantity: 1, Required: true}},
		Duration:      catalog.Duration{Value: 0, Unit: catalog.WorkingDays},
		ProcessKey:    workflow.OneStopSameDay,
		EffectiveFrom: from, Status: catalog.StatusActive}
	return &procedures{byCode: map[string][]catalog.Procedure{permitCode: {permit}, sameDayCode: {sameDay}}}
}

const personForm = `{
  "type": "object",
  "required": ["ho_ten", "so_dinh_danh", "dia_chi"],
  "properties": {
    "ho_ten": {"type": "string", "maxLength": 100},
    "so_dinh_danh": {"type": "string", "pattern": "^[0-9]{12}$"},
    "dia_chi": {"type": "string", "maxLength": 300},
    "dien_tich": {"type": "number", "minimum": 0}
  }
}`

type env struct {
	t       testing.TB
	d       *db.DB
	wf      *workflow.Service
	s       *dossier.Service
	blobs   blob.Store
	blobDir string
	clock   *clock
	ctx     context.Context
}

// newEnv returns a dossier service over d with the shipped processes
// installed and the clock at Monday 2 March 2026, 08:00 in Vietnam.
func newEnv(t testing.TB, d *db.DB) *env {
	t.Helper()
	return newEnvCfg(t, d, dossier.Config{})
}

func newEnvCfg(t testing.TB, d *db.DB, cfg dossier.Config) *env {
	t.Helper()
	c := &clock{t: at(2026, 3, 2, 8, 0)}
	wf := workflow.New(d, workflow.Config{Now: c.Now})
	ctx := context.Background()
	if err := wf.InstallShipped(ctx); err != nil {
		t.Fatalf("install shipped definitions: %v", err)
	}
	dir := t.TempDir()
	bs, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Procedures, cfg.Workflow, cfg.Blobs, cfg.Now = testProcedures(), wf, bs, c.Now
	s, err := dossier.New(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, d: d, wf: wf, s: s, blobs: bs, blobDir: dir, clock: c, ctx: ctx}
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

// smallPNG is a readable 8×8 PNG.
func smallPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := 0; x < 8; x++ {
		img.Set(x, x, color.RGBA{200, 0, 0, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// smallJPEG is a readable 8×8 JPEG.
func smallJPEG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// countBlobs counts the complete blobs in the store's folder.
func countBlobs(t testing.TB, e *env) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(e.blobDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "tmp" {
			return filepath.SkipDir
		}
		if !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// put uploads a file and fails the test if it is refused.
func (e *env) put(name string, data []byte) dossier.File {
	e.t.Helper()
	f, err := e.s.PutFile(e.ctx, name, bytes.NewReader(data))
	if err != nil {
		e.t.Fatalf("put %s: %v", name, err)
	}
	return f
}

// citizen returns a valid applicant.
func citizen(name string) dossier.Applicant {
	return dossier.Applicant{Type: dossier.ApplicantCitizen, Name: name, PersonalID: "001090012345", Phone: "0912 345 678",
		Email: "an@example.vn", Address: "12 Lê Lợi, phường Bến Thành"}
}

// completeSubmission returns a complete counter submission of the permit.
func (e *env) completeSubmission(name string) dossier.Submission {
	drawing := e.put("ban-ve.pdf", smallPDF("ban ve"))
	return dossier.Submission{ProcedureCode: permitCode, Channel: dossier.ChannelCounter, Applicant: citizen(name),
		FormData: json.RawMessage(`{"ho_ten": "` + name + `", "so_dinh_danh": "001090012345", "dia_chi": "12 Lê Lợi"}`),
		Components: []dossier.ComponentInput{
			{N: 1, Provided: catalog.FormOriginal, Quantity: 1},
			{N: 2, Provided: catalog.FormCopy, Quantity: 1},
			{N: 3, Provided: catalog.FormElectronic, Files: []dossier.FileRef{{Name: "ban-ve.pdf", Hash: drawing.Hash}}},
		}}
}

var placement = dossier.Placement{ReceivingAgency: center, ReceivingUnit: desk, DivisionUnit: division}

// receive receives a new complete dossier at the counter.
func (e *env) receive(name string) dossier.Receipt {
	e.t.Helper()
	rc, err := e.s.Receive(e.ctx, dossier.ReceiveInput{Submission: e.completeSubmission(name), Placement: placement, Actor: officer})
	if err != nil {
		e.t.Fatalf("receive: %v", err)
	}
	return rc
}

// act takes an action and fails the test if it is refused.
func (e *env) act(in dossier.ActInput) dossier.ActResult {
	e.t.Helper()
	res, err := e.s.Act(e.ctx, in)
	if err != nil {
		e.t.Fatalf("%s on %s by %s: %v", in.Action, in.DossierCode, in.Actor.PersonID, err)
	}
	return res
}

// refused takes an action that must fail with want.
func (e *env) refused(in dossier.ActInput, want error) error {
	e.t.Helper()
	_, err := e.s.Act(e.ctx, in)
	if !errors.Is(err, want) {
		e.t.Fatalf("%s on %s by %s: err = %v, want %v", in.Action, in.DossierCode, in.Actor.PersonID, err, want)
	}
	return err
}

func (e *env) get(code string, p *identity.Principal) *dossier.Dossier {
	e.t.Helper()
	d, err := e.s.Get(e.ctx, code, p)
	if err != nil {
		e.t.Fatalf("get %s: %v", code, err)
	}
	return d
}

// events returns the payloads of the outbox events of topic for key.
func (e *env) events(topic, key string) []dossier.Event {
	e.t.Helper()
	rows, err := e.d.Read().QueryContext(e.ctx, `SELECT payload FROM outbox_events WHERE topic = $1 AND event_key = $2 ORDER BY id`, topic, key)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []dossier.Event
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			e.t.Fatal(err)
		}
		var ev dossier.Event
		if err := json.Unmarshal([]byte(p), &ev); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.d.Read().QueryRowContext(e.ctx, query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func sameTime(t testing.TB, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %s, want %s", what, got.In(ict).Format(time.RFC3339), want.In(ict).Format(time.RFC3339))
	}
}
