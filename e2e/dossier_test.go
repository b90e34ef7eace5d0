package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The demo data this file drives (internal/app/demo_staff.go,
// internal/catalog/demo.go).
const (
	demoPassword = "demo-congso-2026"
	// permitCode is a procedure of Sở Xây dựng (000.00.07.H99): a building
	// permit for a work not along a route, 20 working days, four documents
	// and the "building" form.
	permitCode   = "1.009972"
	permitSearch = "giay phep xay dung khong theo tuyen" // typed without diacritics

	nameOfficer  = "Nguyễn Thị Mai" // motcua
	nameHead     = "Trần Văn Hùng"  // truongphong
	nameHandler  = "Võ Thị Lan"     // chuyenvien
	nameDirector = "Đặng Quốc Bảo"  // giamdoc
	nameClerk    = "Hoàng Thị Thu"  // vanthu
)

// mainSteps are the actions of the shipped one-stop process's main path
// after reception; each official must see only the one that is theirs.
var mainSteps = []string{"assign", "draft_result", "approve", "sign", "transfer", "issue", "return"}

// TestDossierNineStepsInBrowser follows one-stop.md §3 in the browser, each
// official in their own browser: the one-stop officer receives a building
// permit at the counter (step 1–2: procedure found without diacritics,
// applicant, documents with an uploaded PDF, form data; a code and an
// appointment date), the division head assigns (3), the handler appraises
// and drafts (4), the head approves (5), the agency head signs (6), the
// handler transfers and the clerk issues (7–8), the officer returns (9).
// Each official finds the dossier in their inbox and sees only their own
// action form; the end page shows the final status and a timeline naming
// who did each step. Side paths: a supplement request during appraisal
// (the clock pauses, then resumes), an extension with its apology letter,
// and a refusal at the counter, whose reason is required.
func TestDossierNineStepsInBrowser(t *testing.T) {
	s := startServer(t)
	pdf := writePDF(t, "don-de-nghi.pdf", "Don de nghi cap giay phep xay dung")
	drawingPDF := writePDF(t, "ban-ve.pdf", "Ban ve thiet ke")
	draft := writePDF(t, "du-thao-giay-phep.pdf", "Du thao giay phep xay dung")
	permit := writePDF(t, "giay-phep.pdf", "Giay phep xay dung so 15/GPXD")

	// Step 1–2: the officer receives two dossiers and refuses a third.
	officer := signIn(t, s, "motcua", nameOfficer)
	codeA, dueA := receivePermit(t, officer, s, "Nguyễn Văn An", pdf, drawingPDF)
	codeB, _ := receivePermit(t, officer, s, "Lê Thị Bình", pdf, drawingPDF)
	if codeA == codeB {
		t.Fatalf("two receptions got the same code %s", codeA)
	}
	t.Logf("received %s (appointment %s) and %s", codeA, dueA, codeB)
	// 20 working days (one-stop.md §6): at least four weeks ahead, not months.
	if due, err := time.ParseInLocation("02/01/2006", dueA, time.Local); err != nil {
		t.Errorf("appointment date %q: %v", dueA, err)
	} else if days := time.Until(due).Hours() / 24; days < 20 || days > 60 {
		t.Errorf("appointment date %s is %.0f days ahead, want 20 working days", dueA, days)
	}
	pageA := readDossier(t, officer, s, codeA)
	if !strings.Contains(pageA.state, "Phân công xử lý") {
		t.Errorf("after reception the step is %q, want it waiting for assignment", pageA.state)
	}
	for _, step := range mainSteps {
		if slices.Contains(pageA.actions, step) {
			t.Errorf("after reception the officer sees the %q form of another step (forms: %v)", step, pageA.actions)
		}
	}
	refuseAtCounter(t, officer, s)

	// Step 3: the division head finds both in the queue and assigns them.
	head := signIn(t, s, "truongphong", nameHead)
	for _, code := range []string{codeA, codeB} {
		expectInInbox(t, head, s, code)
		assign(t, head, s, code, nameHandler)
	}

	// Step 4: the handler appraises A and drafts the result; on B the handler
	// asks for a supplement listing the defects, and the clock pauses.
	handler := signIn(t, s, "chuyenvien", nameHandler)
	expectInInbox(t, handler, s, codeA)
	act(t, handler, s, codeA, "draft_result", map[string]string{"comment": "Đủ điều kiện cấp phép"}, map[string]string{"attachment": draft})
	expectInInbox(t, handler, s, codeB)
	requestSupplement(t, handler, s, codeB, "Giấy tờ đất không đọc được",
		[]string{"Bản sao giấy tờ đất bị mờ", "Diện tích chưa khớp bản vẽ"})

	// Step 5: the head approves the draft.
	head = signIn(t, s, "truongphong", nameHead)
	expectInInbox(t, head, s, codeA)
	act(t, head, s, codeA, "approve", nil, nil)

	// Step 6: the agency head signs.
	director := signIn(t, s, "giamdoc", nameDirector)
	expectInInbox(t, director, s, codeA)
	act(t, director, s, codeA, "sign", map[string]string{"signature": "CKS-2026-0001"}, nil)

	// Step 7: the handler sends the signed result to the clerk.
	handler = signIn(t, s, "chuyenvien", nameHandler)
	expectInInbox(t, handler, s, codeA)
	act(t, handler, s, codeA, "transfer", nil, nil)

	// Step 8: the clerk adds the result document, numbers and issues it.
	clerk := signIn(t, s, "vanthu", nameClerk)
	expectInInbox(t, clerk, s, codeA)
	addResult(t, clerk, s, codeA, permit)
	act(t, clerk, s, codeA, "issue", map[string]string{"signature": "15/GPXD"}, nil)

	// Step 9: the officer returns the result.
	officer = signIn(t, s, "motcua", nameOfficer)
	expectInInbox(t, officer, s, codeA)
	act(t, officer, s, codeA, "return", nil, nil)

	// The supplement arrives for B: the officer records it, the clock runs
	// again and the pause is on the page.
	expectInInbox(t, officer, s, codeB)
	act(t, officer, s, codeB, "supplement_received", nil, nil)
	resumed := readDossier(t, officer, s, codeB)
	if !strings.Contains(resumed.state, "Thẩm định") || resumed.sla == "Tạm dừng tính thời gian" {
		t.Errorf("after the supplement B is at %q with badge %q, want appraisal with the clock running", resumed.state, resumed.sla)
	}
	if !strings.Contains(resumed.main, "Thời gian tạm dừng") {
		t.Errorf("B's page does not list the pause")
	}

	// Extension (§3, form 04): the handler cannot finish B in time and
	// extends it before the due date, giving the reason; the appointment
	// moves and the apology letter is offered.
	handler = signIn(t, s, "chuyenvien", nameHandler)
	extend(t, handler, s, codeB, "Cần lấy thêm ý kiến của Sở Nông nghiệp và Môi trường", time.Now().AddDate(0, 3, 0))

	// The end: final status, no forms, every step with its official.
	end := readDossier(t, officer, s, codeA)
	t.Logf("timeline of %s:\n%s", codeA, strings.Join(end.timeline, "\n"))
	if !strings.Contains(end.state, "Đã trả kết quả") {
		t.Errorf("final step = %q, want Đã trả kết quả", end.state)
	}
	if !strings.Contains(end.national, "Đã trả kết quả") {
		t.Errorf("national status = %q, want Đã trả kết quả", end.national)
	}
	if end.sla != "Giải quyết đúng hạn" {
		t.Errorf("SLA badge = %q, want Giải quyết đúng hạn", end.sla)
	}
	if len(end.actions) != 0 {
		t.Errorf("a returned dossier still offers %v", end.actions)
	}
	for _, want := range []struct{ action, who string }{
		{"Tiếp nhận và chuyển xử lý", nameOfficer},
		{"Phân công", nameHead},
		{"Dự thảo kết quả", nameHandler},
		{"Duyệt", nameHead},
		{"Ký số", nameDirector},
		{"Chuyển văn thư", nameHandler},
		{"Phát hành kết quả", nameClerk},
		{"Trả kết quả", nameOfficer},
	} {
		if !slices.ContainsFunc(end.timeline, func(li string) bool {
			return strings.Contains(li, "– "+want.action+" →") && strings.Contains(li, want.who)
		}) {
			t.Errorf("the timeline lacks %q by %s:\n%s", want.action, want.who, strings.Join(end.timeline, "\n"))
		}
	}
	for _, want := range []string{"Đủ điều kiện cấp phép", "CKS-2026-0001", "du-thao-giay-phep.pdf"} {
		if !strings.Contains(strings.Join(end.timeline, "\n"), want) {
			t.Errorf("the timeline lacks %q", want)
		}
	}
	if !strings.Contains(end.results, "15/GPXD – Giấy phép xây dựng") {
		t.Errorf("results = %q, want the issued permit", end.results)
	}
}

// session is one official's signed-in browser.
type session struct {
	ctx  context.Context
	user string
}

// signIn starts a fresh browser (own cookies) and signs user in through the
// login form.
func signIn(t *testing.T, s *server, user, fullName string) *session {
	t.Helper()
	ss := &session{ctx: browser(t), user: user}
	ss.do(t, "sign in",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(`#username`),
		chromedp.SendKeys(`#username`, user),
		chromedp.SendKeys(`#password`, demoPassword),
		chromedp.Submit(`#password`),
		chromedp.WaitVisible(`.who`),
	)
	if who := ss.text(t, `.who`); who != fullName {
		t.Fatalf("%s signed in as %q, want %q", user, who, fullName)
	}
	return ss
}

// do runs actions with a per-step deadline; on failure it reports where the
// browser is and what the page says.
func (ss *session) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ss.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %s: %v\n%s", ss.user, what, err, ss.describe())
	}
}

// describe is the current location and main text, for failure messages.
func (ss *session) describe() string {
	ctx, cancel := context.WithTimeout(ss.ctx, 3*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText : document.body.innerText`))
	if len(body) > 3000 {
		body = body[:3000] + "…"
	}
	return "at " + loc + ":\n" + body
}

func (ss *session) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ss.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("%s: text of %s: %v\n%s", ss.user, sel, err, ss.describe())
	}
	return strings.TrimSpace(v)
}

func eval[T any](t *testing.T, ss *session, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ss.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: evaluate %s: %v\n%s", ss.user, js, err, ss.describe())
	}
	return v
}

// markStale tags the current document so that a wait after a click only
// matches the page the click leads to.
func markStale() chromedp.Action[chromedp.Void] {
	ev := chromedp.Evaluate[bool](`document.body.dataset.stale = "1", true`)
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := ev(ctx, tg)
		return chromedp.Void{}, err
	}
}

// fresh matches sel on a page loaded after markStale.
func fresh(sel string) string { return `body:not([data-stale]) ` + sel }

var (
	codeInPath = regexp.MustCompile(`/work/dossiers/([^/?#]+)`)
	dayRE      = regexp.MustCompile(`\d{2}/\d{2}/\d{4}`)
)

// receivePermit receives a complete building permit at the counter and
// returns the dossier code and the appointment date on the receipt.
func receivePermit(t *testing.T, ss *session, s *server, applicant, pdf, drawing string) (code, due string) {
	t.Helper()
	openReceptionForm(t, ss, s)
	fillApplicant(t, ss, applicant)
	fillFormData(t, ss, applicant)
	ss.do(t, "documents",
		chromedp.SetValue(`#doc_1_provided`, "electronic"),
		chromedp.SetUploadFiles(`#doc_1_file`, []string{pdf}),
		chromedp.SetValue(`#doc_2_provided`, "copy"),
		chromedp.SetValue(`#doc_3_provided`, "electronic"),
		chromedp.SetUploadFiles(`#doc_3_file`, []string{drawing}),
		chromedp.SetValue(`#doc_4_provided`, "copy"),
	)
	ss.do(t, "receive",
		markStale(),
		chromedp.Click(`button[name="op"][value="receive"]`),
		chromedp.WaitVisible(fresh(`#receipt`)),
	)
	loc := eval[string](t, ss, `location.pathname + location.search`)
	m := codeInPath.FindStringSubmatch(loc)
	if m == nil || !strings.HasSuffix(loc, "?received=1") {
		t.Fatalf("after reception the browser is at %s, want the new dossier's page", loc)
	}
	code = m[1]
	receipt := ss.text(t, `#receipt`)
	due = dayRE.FindString(receipt)
	if !strings.Contains(receipt, code) || due == "" {
		t.Fatalf("receipt %q lacks the code %s or an appointment date", receipt, code)
	}
	if h1 := ss.text(t, `main h1`); !strings.Contains(h1, code) {
		t.Errorf("dossier page heading %q lacks %s", h1, code)
	}
	if files := ss.text(t, `#components`); !strings.Contains(files, filepath.Base(pdf)) {
		t.Errorf("the uploaded %s is not among the documents:\n%s", filepath.Base(pdf), files)
	}
	return code, due
}

// openReceptionForm searches the permit typing without diacritics and opens
// its reception form.
func openReceptionForm(t *testing.T, ss *session, s *server) {
	t.Helper()
	link := `ol.results a[href="/work/receive?procedure=` + permitCode + `"]`
	ss.do(t, "search the procedure",
		chromedp.Navigate(s.URL+"/work/receive"),
		chromedp.WaitVisible(`#q`),
		chromedp.SendKeys(`#q`, permitSearch),
		markStale(),
		chromedp.Submit(`#q`),
		chromedp.WaitVisible(fresh(link)),
	)
	if first := ss.text(t, `ol.results li a`); !strings.Contains(first, "Cấp giấy phép xây dựng mới đối với công trình không theo tuyến") {
		t.Errorf("best match for %q = %q", permitSearch, first)
	}
	ss.do(t, "open the reception form",
		markStale(),
		chromedp.Click(link),
		chromedp.WaitVisible(fresh(`#applicant_name`)),
	)
}

func fillApplicant(t *testing.T, ss *session, name string) {
	t.Helper()
	ss.do(t, "applicant",
		chromedp.SetValue(`#applicant_type`, "citizen"),
		chromedp.SetValue(`#applicant_name`, name),
		chromedp.SendKeys(`#applicant_personal_id`, "001090012345"),
		chromedp.SendKeys(`#applicant_phone`, "0912345678"),
		chromedp.SetValue(`#applicant_address`, "12 Lê Lợi, phường Bến Thành"),
	)
}

// fillFormData fills the electronic application form (the procedure's
// "building" schema), which reception needs; a refusal does not (§3 step 1.2
// asks only for a reason).
func fillFormData(t *testing.T, ss *session, name string) {
	t.Helper()
	ss.do(t, "form data",
		chromedp.SetValue(`#fd_chu_dau_tu`, name),
		chromedp.SetValue(`#fd_dia_diem`, "Thửa 12, tờ bản đồ 5"),
		chromedp.SetValue(`#fd_dien_tich`, "85,5"),
		chromedp.SetValue(`#fd_so_tang`, "3"),
	)
}

// refuseAtCounter refuses a third dossier at the counter (§3 step 1.2,
// form 03): without a reason the form says it is required; with one, the
// refusal is recorded.
func refuseAtCounter(t *testing.T, ss *session, s *server) {
	t.Helper()
	openReceptionForm(t, ss, s)
	fillApplicant(t, ss, "Phạm Văn Cường")
	ss.do(t, "refuse without a reason",
		markStale(),
		chromedp.Click(`button[name="op"][value="refuse"]`),
		chromedp.WaitVisible(fresh(`#reason-err`)),
	)
	if msg := ss.text(t, `#reason-err`); msg == "" {
		t.Errorf("the refusal without a reason shows an empty error")
	}
	if inv := eval[string](t, ss, `document.querySelector('#reason').getAttribute('aria-invalid') || ''`); inv != "true" {
		t.Errorf("the reason box is not marked invalid (aria-invalid=%q)", inv)
	}
	if name := eval[string](t, ss, `document.querySelector('#applicant_name').value`); name != "Phạm Văn Cường" {
		t.Errorf("the refused form lost the applicant's name: %q", name)
	}
	if strings.Contains(eval[string](t, ss, `location.pathname`), "/work/dossiers/") {
		t.Fatalf("a refusal without a reason was recorded")
	}
	const reason = "Thủ tục không thuộc thẩm quyền giải quyết của Sở"
	ss.do(t, "refuse with a reason",
		chromedp.SetValue(`#reason`, reason),
		markStale(),
		chromedp.Click(`button[name="op"][value="refuse"]`),
		chromedp.WaitVisible(fresh(`#timeline`)),
	)
	d := readDossier(t, ss, s, "")
	if !strings.Contains(d.national, "Không tiếp nhận") || !strings.Contains(d.state, "Từ chối tiếp nhận") {
		t.Errorf("refused dossier: step %q, national status %q", d.state, d.national)
	}
	if !strings.Contains(d.main, "Phiếu từ chối tiếp nhận") || !strings.Contains(d.main, reason) {
		t.Errorf("the refused dossier lacks form 03 with the reason:\n%s", d.main)
	}
	if len(d.actions) != 0 {
		t.Errorf("a refused dossier offers %v", d.actions)
	}
}

// expectInInbox checks that the dossier is listed in the official's inbox:
// their queue, or the work assigned to them.
func expectInInbox(t *testing.T, ss *session, s *server, code string) {
	t.Helper()
	link := `table a[href="/work/dossiers/` + code + `"]`
	var tabs []string
	for _, tab := range []string{"", "?tab=assigned"} {
		ss.do(t, "open the inbox", chromedp.Navigate(s.URL+"/work"+tab), chromedp.WaitVisible(`#list-title`))
		if eval[bool](t, ss, `!!document.querySelector('`+link+`')`) {
			t.Logf("%s finds %s in the inbox tab %q", ss.user, code, ss.text(t, `#list-title`))
			return
		}
		tabs = append(tabs, ss.text(t, `#list-title`))
	}
	t.Fatalf("%s does not find %s in the inbox (%s)\n%s", ss.user, code, strings.Join(tabs, ", "), ss.describe())
}

// dossierPage is what a dossier page shows.
type dossierPage struct {
	code, state, national, sla, results, main string
	actions                                   []string
	timeline                                  []string
}

// readDossier opens a dossier page (code "": the page already open).
func readDossier(t *testing.T, ss *session, s *server, code string) dossierPage {
	t.Helper()
	if code != "" {
		ss.do(t, "open "+code, chromedp.Navigate(s.URL+"/work/dossiers/"+code), chromedp.WaitVisible(`#timeline`))
	}
	var d dossierPage
	d.code = code
	d.state = ss.text(t, `#state`)
	d.sla = ss.text(t, `#sla`)
	d.national = eval[string](t, ss, `(() => { const dt = [...document.querySelectorAll('dl.facts dt')].find(x => x.textContent.includes('DVCQG')); return dt ? dt.nextElementSibling.innerText : [...document.querySelectorAll('dl.facts dd')].map(x => x.innerText).join('\n') })()`)
	d.results = ss.text(t, `#results`)
	d.main = eval[string](t, ss, `document.querySelector('main').innerText`)
	d.actions = eval[[]string](t, ss, `[...document.querySelectorAll('#actions input[name="action"]')].map(x => x.value)`)
	d.timeline = eval[[]string](t, ss, `[...document.querySelectorAll('ol.timeline > li')].map(x => x.innerText.replace(/\s+/g, ' '))`)
	return d
}

// actionForm is the CSS selector of the form of an action.
func actionForm(key string) string {
	return `#actions form:has(input[name="action"][value="` + key + `"])`
}

// expectOnlyAction checks the page offers key and, for a step of the main
// path, none of the main path's other steps.
func expectOnlyAction(t *testing.T, ss *session, d dossierPage, key string) {
	t.Helper()
	if !slices.Contains(d.actions, key) {
		t.Fatalf("%s does not see the %q form on %s (forms: %v)\n%s", ss.user, key, d.code, d.actions, ss.describe())
	}
	if !slices.Contains(mainSteps, key) {
		return // a side action: offered together with its step's main one
	}
	for _, other := range mainSteps {
		if other != key && slices.Contains(d.actions, other) {
			t.Errorf("%s sees the %q form of another step on %s (forms: %v)", ss.user, other, d.code, d.actions)
		}
	}
}

// act fills the form of action key on the dossier page (text fields by name,
// files by input name) and submits it.
func act(t *testing.T, ss *session, s *server, code, key string, fields, files map[string]string) {
	t.Helper()
	d := readDossier(t, ss, s, code)
	expectOnlyAction(t, ss, d, key)
	form := actionForm(key)
	var steps []chromedp.Action[chromedp.Void]
	for name, v := range fields {
		steps = append(steps, chromedp.SetValue(form+` [name="`+name+`"]`, v))
	}
	for name, path := range files {
		steps = append(steps, chromedp.SetUploadFiles(form+` input[name="`+name+`"]`, []string{path}))
	}
	steps = append(steps, markStale(), chromedp.Click(form+` button[type="submit"]`), chromedp.WaitVisible(fresh(`#timeline`)))
	ss.do(t, key+" "+code, steps...)
	after := readDossier(t, ss, s, "")
	if eval[bool](t, ss, `!!document.querySelector('#problem')`) {
		t.Fatalf("%s: %s on %s was refused:\n%s", ss.user, key, code, ss.describe())
	}
	if slices.Contains(after.actions, key) {
		t.Fatalf("%s: after %s the form is still offered (step %q):\n%s", ss.user, key, after.state, ss.describe())
	}
}

// extend takes the extension on the dossier page: the reason and the new
// date are required; after it the page shows the new appointment, the
// notice with the reason and the apology letter (form 04).
func extend(t *testing.T, ss *session, s *server, code, reason string, due time.Time) {
	t.Helper()
	d := readDossier(t, ss, s, code)
	expectOnlyAction(t, ss, d, "extend")
	form := actionForm("extend")
	// Without a date the browser's own check (required) keeps the form;
	// the server refuses it too, but the page must not lose the reason.
	ss.do(t, "extend "+code,
		chromedp.SetValue(form+` [name="comment"]`, reason),
		chromedp.SetValue(form+` [name="new_due"]`, due.Format("2006-01-02")),
		markStale(), chromedp.Click(form+` button[type="submit"]`), chromedp.WaitVisible(fresh(`#timeline`)))
	if eval[bool](t, ss, `!!document.querySelector('#problem')`) {
		t.Fatalf("%s: the extension of %s was refused:\n%s", ss.user, code, ss.describe())
	}
	after := readDossier(t, ss, s, "")
	if want := due.Format("02/01/2006"); !strings.Contains(after.main, want) {
		t.Errorf("after the extension the page does not show the new appointment %s:\n%s", want, after.main)
	}
	if !strings.Contains(after.main, reason) {
		t.Errorf("after the extension the page does not show the reason %q", reason)
	}
	if !eval[bool](t, ss, `[...document.querySelectorAll('main a[href*="/forms/04"]')].length > 0`) {
		t.Errorf("after the extension the apology letter (form 04) is not offered:\n%s", after.main)
	}
	if !slices.ContainsFunc(after.timeline, func(li string) bool { return strings.Contains(li, "Gia hạn") && strings.Contains(li, nameHandler) }) {
		t.Errorf("the timeline lacks the extension by %s:\n%s", nameHandler, strings.Join(after.timeline, "\n"))
	}
}

// assign picks the handler by name in the assignment form.
func assign(t *testing.T, ss *session, s *server, code, handler string) {
	t.Helper()
	d := readDossier(t, ss, s, code)
	expectOnlyAction(t, ss, d, "assign")
	sel := actionForm("assign") + ` select[name="assignee"]`
	id := eval[string](t, ss, `(() => { const o = [...document.querySelectorAll('`+sel+` option')].find(o => o.textContent.trim() === '`+handler+`'); return o ? o.value : '' })()`)
	if id == "" {
		opts := eval[[]string](t, ss, `[...document.querySelectorAll('`+sel+` option')].map(o => o.textContent.trim())`)
		t.Fatalf("%s is not among the handlers to assign: %q", handler, opts)
	}
	act(t, ss, s, code, "assign", map[string]string{"assignee": id}, nil)
	after := readDossier(t, ss, s, "")
	if !strings.Contains(after.state, "Thẩm định") || !strings.Contains(after.state, handler) {
		t.Errorf("after assignment the step is %q, want appraisal by %s", after.state, handler)
	}
}

// requestSupplement asks for a supplement from the handler's page (§3 step
// 4, form 02): the defects one per line; the dossier's clock pauses.
func requestSupplement(t *testing.T, ss *session, s *server, code, reason string, defects []string) {
	t.Helper()
	act(t, ss, s, code, "request_supplement", map[string]string{"comment": reason, "defects": strings.Join(defects, "\n")}, nil)
	d := readDossier(t, ss, s, code)
	if !strings.Contains(d.state, "Chờ bổ sung") {
		t.Errorf("after the supplement request the step is %q", d.state)
	}
	if d.sla != "Tạm dừng tính thời gian" {
		t.Errorf("SLA badge after the supplement request = %q, want Tạm dừng tính thời gian (paused)", d.sla)
	}
	for _, want := range append([]string{reason}, defects...) {
		if !strings.Contains(d.main, want) {
			t.Errorf("the supplement notice lacks %q", want)
		}
	}
	if !slices.ContainsFunc(d.timeline, func(li string) bool {
		return strings.Contains(li, "Yêu cầu bổ sung") && strings.Contains(li, nameHandler)
	}) {
		t.Errorf("the timeline lacks the supplement request by %s:\n%s", nameHandler, strings.Join(d.timeline, "\n"))
	}
	for _, step := range mainSteps {
		if slices.Contains(d.actions, step) {
			t.Errorf("a paused dossier offers %q to the handler", step)
		}
	}
}

// addResult adds the result document (the permit) before issuing.
func addResult(t *testing.T, ss *session, s *server, code, pdf string) {
	t.Helper()
	readDossier(t, ss, s, code)
	ss.do(t, "add the result",
		chromedp.SetValue(`#res-result_code`, "15/GPXD"),
		chromedp.SetValue(`#res-name`, "Giấy phép xây dựng"),
		chromedp.SetValue(`#res-issuer`, "Sở Xây dựng"),
		chromedp.SetUploadFiles(`#res-file`, []string{pdf}),
		markStale(),
		chromedp.Click(`form[action$="/results"] button[type="submit"]`),
		chromedp.WaitVisible(fresh(`#results`)),
	)
	if res := ss.text(t, `#results`); !strings.Contains(res, "15/GPXD – Giấy phép xây dựng") {
		t.Fatalf("the result is not listed:\n%s\n%s", res, ss.describe())
	}
}

// writePDF writes a minimal valid one-page PDF to the test's folder.
func writePDF(t *testing.T, name, text string) string {
	t.Helper()
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
	obj("<< /Length " + strconv.Itoa(len(stream)) + " >>\nstream\n" + stream + "\nendstream")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
