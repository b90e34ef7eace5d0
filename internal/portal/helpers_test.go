package portal_test

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
	"github.com/congso/congso/internal/dossier/stats"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
	"github.com/congso/congso/internal/portal"
	"github.com/congso/congso/internal/web"
	"github.com/congso/congso/internal/workflow"
)

func migrations() []db.Migration {
	var m []db.Migration
	m = append(m, outbox.Migrations()...)
	m = append(m, timer.Migrations()...)
	m = append(m, audit.Migrations()...)
	m = append(m, identity.Migrations()...)
	m = append(m, catalog.Migrations()...)
	m = append(m, workflow.Migrations()...)
	m = append(m, dossier.Migrations()...)
	m = append(m, stats.Migrations()...)
	return append(m, portal.Migrations()...)
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

// The places of the demo province used by the tests.
const (
	center = catalog.DemoCenterEID // Trung tâm Phục vụ hành chính công tỉnh
	desk   = "000.01.13.H99"       // its one-stop desk
	permit = "1.009972"            // building permit: 4 documents, the "building" e-form, 150.000 ₫
)

type env struct {
	t       testing.TB
	ctx     context.Context
	clock   *clock
	cat     *catalog.Service
	svc     *dossier.Service
	stats   *stats.Service
	disp    *outbox.Dispatcher
	people  *identity.Service
	srv     *httptest.Server
	handler http.Handler
	store   *storedDocs
	users   map[string]*identity.Principal
	an, bin *identity.Principal // two applicants
	officer *identity.Principal
}

// newEnv builds the real services over d (demo catalog, shipped processes,
// statistics fed by the outbox, accounts in the identity module; the clock
// on Monday 2 March 2026 at 09:00 in Vietnam) and serves the portal and the
// catalog's public pages; the header X-Test-User names the principal.
func newEnv(t testing.TB, d *db.DB) *env {
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
	svc, err := dossier.New(d, dossier.Config{Procedures: cat, Workflow: wf, Blobs: bs, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	st := stats.New(d, stats.Config{Now: c.Now})
	disp := outbox.NewDispatcher(d, outbox.Config{Now: c.Now})
	st.Subscribe(disp)
	if err := disp.Register(ctx); err != nil {
		t.Fatal(err)
	}
	people, err := identity.NewService(d, identity.Config{Now: c.Now, PasswordParams: identity.CheapPasswordParams})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, clock: c, cat: cat, svc: svc, stats: st, disp: disp, people: people, users: map[string]*identity.Principal{},
		store: &storedDocs{m: map[string][]portal.StoredDoc{}}}
	e.an = e.applicant("nguyenvanan", "Nguyễn Văn An", "001090012345", "0912 345 678", "an@example.vn")
	e.bin = e.applicant("tranthibinh", "Trần Thị Bình", "001090054321", "0987 654 321", "")
	e.officer = &identity.Principal{PersonID: "officer-1", Username: "officer-1", FullName: "Nguyễn Thị Mai", Kind: identity.KindOfficial,
		Grants: []identity.Grant{{ID: "g1", PersonID: "officer-1", Role: identity.RoleOfficer, UnitID: desk}}}
	e.users[e.officer.PersonID] = e.officer

	shell, err := web.New(web.Site{ProvinceName: catalog.DemoProvinceName, Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	shell.CurrentUser = identity.WebUser
	shell.CSRFToken = func(*http.Request) string { return "test-token" }
	shell.AddNav(catalog.NavItems()...)
	shell.AddNav(portal.NavItems()...)
	wh, err := web.NewHandlers(shell)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := portal.NewPages(portal.Config{Dossiers: svc, Catalog: cat, DB: d, Shell: shell, ErrorPage: wh.ErrorPage,
		DeskAgency: center, DeskUnit: desk, Profiles: people, Stats: st, Now: c.Now, Documents: e.store, PostalDelivery: true,
		Shipments: func(ctx context.Context, code string) ([]portal.Shipment, error) {
			return []portal.Shipment{{TrackingCode: "EB123456789VN", Status: "Đang phát", At: c.Now()}}, nil
		},
		PayURL: func(code string, n int) string {
			return fmt.Sprintf("/payments/start?dossier=%s&fee=%d", url.QueryEscape(code), n)
		}})
	if err != nil {
		t.Fatal(err)
	}
	catPages, err := catalog.NewPages(catalog.NewHandlers(cat, nil), shell, wh.ErrorPage)
	if err != nil {
		t.Fatal(err)
	}
	catPages.ApplyURL = portal.ApplyURL
	mux := http.NewServeMux()
	pages.Routes(mux)
	catPages.Routes(mux)
	wh.Routes(mux)
	e.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := e.users[r.Header.Get("X-Test-User")]; ok {
			r = r.WithContext(identity.WithPrincipal(r.Context(), p))
		}
		mux.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	e.srv = srv
	return e
}

// applicant creates an applicant account and its principal.
func (e *env) applicant(username, name, personalID, phone, email string) *identity.Principal {
	e.t.Helper()
	p, err := e.people.CreatePerson(e.ctx, nil, identity.NewPerson{Kind: identity.KindApplicant, Username: username, FullName: name,
		PersonalID: personalID, Phone: phone, Email: email})
	if err != nil {
		e.t.Fatalf("create applicant: %v", err)
	}
	pr := &identity.Principal{PersonID: p.ID, Username: p.Username, FullName: p.FullName, Kind: identity.KindApplicant}
	e.users[p.ID] = pr
	return pr
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) location() string { return r.header.Get("Location") }

var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (e *env) do(req *http.Request, who *identity.Principal) response {
	e.t.Helper()
	if who != nil {
		req.Header.Set("X-Test-User", who.PersonID)
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
	return e.do(req, who)
}

// upload is a file of a multipart post.
type upload struct {
	field, name string
	data        []byte
}

// post sends a form as who, multipart.
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
	return e.do(req, who)
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

// mustContain fails the test for each want missing from body.
func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

var draftRe = regexp.MustCompile(`^/my/drafts/([A-Za-z0-9]+)$`)

// permitForm is a valid application form of the building permit (applicant
// details and e-form; no documents).
func permitForm(op string) url.Values {
	return url.Values{"csrf_token": {"test-token"}, "op": {op},
		"applicant.type": {"citizen"}, "applicant.name": {"Nguyễn Văn An"}, "applicant.personal_id": {"001090012345"},
		"applicant.phone": {"0912 345 678"}, "applicant.address": {"12 Lê Lợi, phường Bến Thành"},
		"fd.chu_dau_tu": {"Nguyễn Văn An"}, "fd.dia_diem": {"Thửa 12, tờ bản đồ 5"}, "fd.dien_tich": {"85,5"}, "fd.so_tang": {"3"}}
}

// allDocs uploads a file for each of the permit's four documents.
func allDocs() []upload {
	return []upload{{"doc.1.file", "don.pdf", smallPDF("don de nghi")}, {"doc.2.file", "quyet-dinh.pdf", smallPDF("quyet dinh")},
		{"doc.3.file", "ban-ve.png", smallPNG()}, {"doc.4.file", "dat-dai.pdf", smallPDF("giay to dat")}}
}

// submitPermit applies for the building permit as who through the pages
// and returns the dossier code.
func (e *env) submitPermit(who *identity.Principal) string {
	e.t.Helper()
	res := e.post("/apply/"+permit, who, permitForm("review"), allDocs()...)
	if res.status != http.StatusSeeOther || !strings.HasSuffix(res.location(), "/review") {
		e.t.Fatalf("apply: %d %s\n%s", res.status, res.location(), res.body)
	}
	draft := strings.TrimSuffix(res.location(), "/review")
	res = e.post(draft+"/submit", who, url.Values{"csrf_token": {"test-token"}})
	code, ok := strings.CutPrefix(res.location(), "/my/dossiers/")
	if res.status != http.StatusSeeOther || !ok {
		e.t.Fatalf("submit: %d %s\n%s", res.status, res.location(), res.body)
	}
	code, _, _ = strings.Cut(code, "?")
	return code
}

// regexpFind returns the first group of pattern in s, or "".
func regexpFind(pattern, s string) string {
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}

// formHidden returns the hidden inputs of the form with id.
func formHidden(body, id string) url.Values {
	out := url.Values{}
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return out
	}
	end := strings.Index(body[i:], "</form>")
	if end < 0 {
		return out
	}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(body[i:i+end], -1) {
		out.Set(m[1], html.UnescapeString(m[2]))
	}
	return out
}

// storedDocs stands in for the personal data store (being built in
// internal/datastore): the documents each owner holds, offered for every
// required document whose name they share.
type storedDocs struct {
	mu sync.Mutex
	m  map[string][]portal.StoredDoc
}

func (s *storedDocs) Candidates(ctx context.Context, owner, docName string) ([]portal.StoredDoc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []portal.StoredDoc
	for _, d := range s.m[owner] {
		if d.Name == docName {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *storedDocs) add(owner string, d portal.StoredDoc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[owner] = append(s.m[owner], d)
}
