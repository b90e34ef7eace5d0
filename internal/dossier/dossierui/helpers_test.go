package dossierui_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/dossierui"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
	"github.com/congso/congso/internal/web"
	"github.com/congso/congso/internal/workflow"
)

func migrations() []db.Migration {
	var m []db.Migration
	m = append(m, outbox.Migrations()...)
	m = append(m, timer.Migrations()...)
	m = append(m, audit.Migrations()...)
	m = append(m, catalog.Migrations()...)
	m = append(m, workflow.Migrations()...)
	return append(m, dossier.Migrations()...)
}

var ict = time.FixedZone("ICT", 7*3600)

func at(y int, mo time.Month, d, h, mi int) time.Time { return time.Date(y, mo, d, h, mi, 0, 0, ict) }

// clock is an injected, settable clock shared by every service.
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

// procedures is the real catalog with the demo's process keys mapped to
// the keys the workflow engine ships ("default" → "one-stop", "same-day" →
// "one-stop-same-day"): the demo catalog and the shipped definitions do
// not agree yet (see the report).
type procedures struct{ cat *catalog.Service }

var processKeys = map[string]string{"default": workflow.OneStop, "same-day": workflow.OneStopSameDay}

func (p procedures) fix(pr catalog.Procedure, err error) (catalog.Procedure, error) {
	if k, ok := processKeys[pr.ProcessKey]; ok {
		pr.ProcessKey = k
	}
	return pr, err
}

func (p procedures) Procedure(ctx context.Context, code string, on calendar.Date) (catalog.Procedure, error) {
	return p.fix(p.cat.Procedure(ctx, code, on))
}

func (p procedures) ProcedureVersion(ctx context.Context, code string, version int) (catalog.Procedure, error) {
	return p.fix(p.cat.ProcedureVersion(ctx, code, version))
}

// The places of the demo province used by the tests.
const (
	desk      = "000.01.13.H99" // Bộ phận Tiếp nhận và Trả kết quả, provincial center
	dept      = "000.00.07.H99" // Sở Xây dựng
	division  = "000.02.07.H99" // its building division
	otherDesk = "000.01.99.H99"
	permit    = "1.009972" // building permit (not along a route): 20 working days, four documents, "building" form
)

func person(id, name string, role identity.Role, unit string) *identity.Principal {
	return &identity.Principal{PersonID: id, Username: id, FullName: name, Kind: identity.KindOfficial,
		Grants: []identity.Grant{{ID: id + "-g", PersonID: id, Role: role, UnitID: unit}}}
}

var (
	officer  = person("officer-1", "Nguyễn Thị Mai", identity.RoleOfficer, desk)
	head     = person("head-1", "Trần Văn Hùng", identity.RoleDivisionHead, division)
	head2    = person("head-2", "Lê Văn Phó", identity.RoleDivisionHead, division)
	handler  = person("handler-1", "Võ Thị Lan", identity.RoleHandler, division)
	handler2 = person("handler-2", "Phan Văn Hai", identity.RoleHandler, division)
	director = person("director-1", "Đặng Quốc Bảo", identity.RoleAgencyHead, dept)
	// The clerk holds the role at the agency, where the shipped process
	// puts the issuing step (the demo's clerk sits in the agency's office
	// unit: see the report).
	clerk    = person("clerk-1", "Hoàng Thị Thu", identity.RoleClerk, dept)
	stranger = person("stranger-1", "Người Lạ", identity.RoleOfficer, otherDesk)
	leader   = person("leader-1", "Phạm Minh Lãnh", identity.RoleLeader, identity.ProvinceWide)
)

var everyone = []*identity.Principal{officer, head, head2, handler, handler2, director, clerk, stranger, leader}

// directory answers the workspace's questions about people from the
// principals above.
type directory struct{}

func (directory) Grantees(ctx context.Context, role identity.Role, unit string) ([]identity.Person, error) {
	var out []identity.Person
	for _, p := range everyone {
		for _, g := range p.Grants {
			if g.Role == role && g.Covers(unit) {
				out = append(out, identity.Person{ID: p.PersonID, FullName: p.FullName})
			}
		}
	}
	return out, nil
}

func (directory) GetPerson(ctx context.Context, id string) (identity.Person, error) {
	for _, p := range everyone {
		if p.PersonID == id {
			return identity.Person{ID: p.PersonID, FullName: p.FullName}, nil
		}
	}
	return identity.Person{}, identity.ErrNotFound
}

type env struct {
	t     *testing.T
	ctx   context.Context
	clock *clock
	cat   *catalog.Service
	wf    *workflow.Service
	svc   *dossier.Service
	pages *dossierui.Pages
	srv   *httptest.Server
}

// newEnv builds the real services over d (the demo catalog loaded, the
// shipped processes installed, the clock on Monday 2 March 2026 at 09:00 in
// Vietnam) and serves the workspace; the request header X-Test-User names
// the principal.
func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: at(2026, 3, 2, 9, 0)}
	cat := catalog.NewService(d, c.Now)
	if err := catalog.LoadDemo(ctx, cat); err != nil {
		t.Fatalf("load demo catalog: %v", err)
	}
	wf := workflow.New(d, workflow.Config{Now: c.Now})
	if err := wf.InstallShipped(ctx); err != nil {
		t.Fatalf("install shipped processes: %v", err)
	}
	bs, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dossier.New(d, dossier.Config{Procedures: procedures{cat}, Workflow: wf, Blobs: bs, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	shell, err := web.New(web.Site{ProvinceName: catalog.DemoProvinceName, Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	shell.CurrentUser = identity.WebUser
	shell.AddNav(dossierui.NavItems()...)
	wh, err := web.NewHandlers(shell)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := dossierui.NewPages(svc, cat, wf, shell, wh.ErrorPage)
	if err != nil {
		t.Fatal(err)
	}
	pages.People = directory{}
	pages.Now = c.Now
	mux := http.NewServeMux()
	pages.Routes(mux)
	wh.Routes(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range everyone {
			if p.PersonID == r.Header.Get("X-Test-User") {
				r = r.WithContext(identity.WithPrincipal(r.Context(), p))
			}
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &env{t: t, ctx: ctx, clock: c, cat: cat, wf: wf, svc: svc, pages: pages, srv: srv}
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) location() string { return r.header.Get("Location") }

// flash returns the flash message key the response set, or "".
func (r response) flash() string {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "flash" && c.MaxAge >= 0 {
			return c.Value
		}
	}
	return ""
}

var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (e *env) do(req *http.Request, who *identity.Principal, lang string) response {
	e.t.Helper()
	if who != nil {
		req.Header.Set("X-Test-User", who.PersonID)
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// get fetches a page as who (nil: anonymous).
func (e *env) get(path string, who *identity.Principal) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req, who, "")
}

// upload is a file of a multipart post.
type upload struct {
	field, name string
	data        []byte
}

// post sends a form as who, multipart when it has files.
func (e *env) post(path string, who *identity.Principal, form url.Values, files ...upload) response {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range form {
		for _, v := range vs {
			if err := mw.WriteField(k, v); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	for _, f := range files {
		w, err := mw.CreateFormFile(f.field, f.name)
		if err != nil {
			e.t.Fatal(err)
		}
		w.Write(f.data)
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, &body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return e.do(req, who, "")
}

var (
	formRe   = regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	actionRe = regexp.MustCompile(`action="([^"]*)"`)
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// actionForm finds the dossier page's form of action key and returns its
// target and hidden fields (version, idempotency key...); ok is false when
// the page has no such form.
func actionForm(body, key string) (target string, fields url.Values, ok bool) {
	for _, m := range formRe.FindAllStringSubmatch(body, -1) {
		if !strings.Contains(m[2], `name="action" value="`+key+`"`) {
			continue
		}
		fields = url.Values{}
		for _, h := range hiddenRe.FindAllStringSubmatch(m[2], -1) {
			fields.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
		}
		if a := actionRe.FindStringSubmatch(m[1]); a != nil {
			target = html.UnescapeString(a[1])
		}
		return target, fields, true
	}
	return "", nil, false
}

// actOnPage loads the dossier page as who, fills the form of action key
// with extra and posts it; it fails the test when the page has no such
// form.
func (e *env) actOnPage(code string, who *identity.Principal, key string, extra url.Values, files ...upload) response {
	e.t.Helper()
	page := e.get("/work/dossiers/"+code, who)
	if page.status != http.StatusOK {
		e.t.Fatalf("dossier page for %s: %d", who.PersonID, page.status)
	}
	target, fields, ok := actionForm(page.body, key)
	if !ok {
		e.t.Fatalf("%s sees no %q form on %s in state %s", who.PersonID, key, code, e.dossier(code).State)
	}
	for k, vs := range extra {
		fields[k] = vs
	}
	return e.post(target, who, fields, files...)
}

// dossier reads a dossier through the service, as the officer.
func (e *env) dossier(code string) *dossier.Dossier {
	e.t.Helper()
	d, err := e.svc.Get(e.ctx, code, officer)
	if err != nil {
		e.t.Fatalf("get %s: %v", code, err)
	}
	return d
}

var idemRe = regexp.MustCompile(`name="idem" value="([^"]+)"`)

// receptionForm returns the idempotency key of the counter form of
// procedure code.
func (e *env) receptionForm(code string) string {
	e.t.Helper()
	res := e.get("/work/receive?procedure="+code, officer)
	if res.status != http.StatusOK {
		e.t.Fatalf("reception form: %d\n%s", res.status, res.body)
	}
	m := idemRe.FindStringSubmatch(res.body)
	if m == nil {
		e.t.Fatal("the reception form has no idempotency key")
	}
	return m[1]
}

// applicantForm is a valid counter form of the building permit, without
// any document provided.
func applicantForm(idem string) url.Values {
	return url.Values{
		"procedure": {permit}, "idem": {idem}, "desk": {desk}, "division": {division}, "channel": {"1"},
		"applicant.type": {"citizen"}, "applicant.name": {"Nguyễn Văn An"}, "applicant.personal_id": {"001090012345"},
		"applicant.phone": {"0912 345 678"}, "applicant.address": {"12 Lê Lợi, phường Bến Thành"},
		"fd.chu_dau_tu": {"Nguyễn Văn An"}, "fd.dia_diem": {"Thửa 12, tờ bản đồ 5"}, "fd.dien_tich": {"85,5"}, "fd.so_tang": {"3"},
	}
}

// receive receives a complete building permit dossier through the counter
// form and returns its code.
func (e *env) receive() string {
	e.t.Helper()
	f := applicantForm(e.receptionForm(permit))
	f.Set("op", "receive")
	for _, n := range []string{"1", "2", "3", "4"} {
		f.Set("doc."+n+".provided", "copy")
	}
	f.Set("doc.1.provided", "electronic")
	f.Set("doc.3.provided", "electronic")
	res := e.post("/work/receive", officer, f,
		upload{"doc.1.file", "don.pdf", smallPDF("don de nghi")}, upload{"doc.3.file", "ban-ve.png", smallPNG()})
	if res.status != http.StatusSeeOther {
		e.t.Fatalf("receive: %d\n%s", res.status, res.body)
	}
	code, ok := strings.CutPrefix(res.location(), "/work/dossiers/")
	if !ok {
		e.t.Fatalf("receive redirected to %q", res.location())
	}
	code, _, _ = strings.Cut(code, "?")
	return code
}

// smallPDF is a complete one-page PDF.
func smallPDF(text string) []byte {
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

// count returns how many times action appears in the dossier's timeline.
func count(d *dossier.Dossier, action string) int {
	n := 0
	for _, h := range d.Timeline {
		if h.Action == action {
			n++
		}
	}
	return n
}

// mustContain fails the test for each want missing from body.
func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// The identity service is the directory the app wires.
var _ dossierui.Directory = (*identity.Service)(nil)
