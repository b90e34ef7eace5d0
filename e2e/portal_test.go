package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The citizen of the demo data (internal/app/demo_staff.go): an applicant
// account with a personal ID and no phone.
const (
	nameCitizen       = "Nguyễn Văn Dân"
	citizenPersonalID = "099201001234"
	citizenPhone      = "0912345678"
	// The fake payment platform and congso share these.
	payMerchant = "CONGSO-E2E"
	paySecret   = "e2e-shared-hmac-secret"
	payLinkKey  = "e2e-link-key-0123456789abcdef-0123456789" // ≥ 32 bytes
	// demoConstructionDiv is Phòng Quản lý hoạt động xây dựng of Sở Xây
	// dựng, where truongphong and chuyenvien work.
	demoConstructionDiv = "000.02.07.H99"
	permitFee           = "150.000" // 1.009972's fee, VND
)

// journeyLife is how long each browser of the journey lives; each step has
// its own 20 s deadline (session.do).
const journeyLife = 12 * time.Minute

var (
	payBuildOnce sync.Once
	payBinPath   string
	payBuildErr  error
)

// payFakeBinary builds the fake payment platform's command once per run.
func payFakeBinary(t *testing.T) string {
	t.Helper()
	payBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "congso-e2e-payfake")
		if err != nil {
			payBuildErr = err
			return
		}
		payBinPath = filepath.Join(dir, "payplatform-fake")
		out, err := exec.Command("go", "build", "-o", payBinPath, "../internal/fakes/payplatform/cmd/payplatform-fake").CombinedOutput()
		if err != nil {
			payBuildErr = fmt.Errorf("go build payplatform-fake: %v\n%s", err, out)
		}
	})
	if payBuildErr != nil {
		t.Fatal(payBuildErr)
	}
	return payBinPath
}

// freeAddr returns a loopback address with a port free at the time of the
// call (for programs that must know their address before they start).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startPayFake runs the fake payment platform as its own process on a free
// loopback port and waits for its start line; it returns its base URL.
func startPayFake(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(payFakeBinary(t), "-addr", addr, "-merchant", payMerchant, "-secret", paySecret)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("payment fake did not stop within 10s of SIGTERM")
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var out strings.Builder
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("payment fake exited before ready:\n%s", out.String())
			}
			out.WriteString(l + "\n")
			if strings.Contains(l, "fake payment platform on http://"+addr) {
				go func() {
					for l := range lines {
						t.Logf("payment fake: %s", l)
					}
				}()
				// The log line comes just before ListenAndServe: wait until
				// the port accepts connections.
				for i := 0; ; i++ {
					c, err := net.DialTimeout("tcp", addr, time.Second)
					if err == nil {
						c.Close()
						return "http://" + addr
					}
					if i == 200 {
						t.Fatalf("payment fake does not accept connections on %s: %v", addr, err)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		case <-deadline:
			t.Fatalf("payment fake not ready in 30s:\n%s", out.String())
		}
	}
}

// startPortalServer runs congso with online payment pointed at a fake
// platform running as a separate process; congso's base URL is its own
// address, so the platform's return and IPN URLs reach it.
func startPortalServer(t *testing.T) (*server, string) {
	t.Helper()
	pay := startPayFake(t)
	addr := freeAddr(t)
	base := "http://" + addr
	s := startServer(t, "CONGSO_ADDR="+addr, "CONGSO_BASE_URL="+base,
		"CONGSO_PAYMENT_URL="+pay, "CONGSO_PAYMENT_MERCHANT_CODE="+payMerchant,
		"CONGSO_PAYMENT_SECRET="+paySecret, "CONGSO_PAYMENT_LINK_KEY="+payLinkKey)
	if s.URL != base {
		t.Fatalf("congso listens at %s, want %s (CONGSO_BASE_URL)", s.URL, base)
	}
	return s, pay
}

// longSignIn is signIn with a browser that lives for the whole journey.
func longSignIn(t *testing.T, s *server, user, fullName string) *session {
	t.Helper()
	ss := &session{ctx: browserFor(t, journeyLife), user: user}
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

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// evalAwait is eval of a script whose value is a promise.
func evalAwait[T any](t *testing.T, ss *session, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ss.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: evaluate %s: %v\n%s", ss.user, js, err, ss.describe())
	}
	return v
}

// mainText is the page's main text.
func mainText(t *testing.T, ss *session) string {
	t.Helper()
	return eval[string](t, ss, `(document.querySelector('main') || document.body).innerText`)
}

// jsString quotes s for a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}

// fetched is what fetch() got for a URL, body base64-encoded.
type fetched struct {
	Status      int    `json:"status"`
	Type        string `json:"type"`
	Disposition string `json:"disposition"`
	Body        string `json:"body"`
}

// fetchInPage downloads url with the page's cookies.
func fetchInPage(t *testing.T, ss *session, url string) fetched {
	t.Helper()
	js := `fetch(` + jsString(url) + `, {credentials: 'same-origin'}).then(async r => {
  const b = new Uint8Array(await r.arrayBuffer());
  let s = ''; for (const x of b) s += String.fromCharCode(x);
  return {status: r.status, type: r.headers.get('content-type') || '', disposition: r.headers.get('content-disposition') || '', body: btoa(s)};
})`
	ctx, cancel := context.WithTimeout(ss.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[fetched](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: fetch %s: %v\n%s", ss.user, url, err, ss.describe())
	}
	return v
}

// waitPortalStatus reloads the applicant's dossier page until its status
// reads want (events between modules are delivered asynchronously); it
// returns the page's main text.
func waitPortalStatus(t *testing.T, ss *session, s *server, code, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ss.do(t, "open my dossier "+code, chromedp.Navigate(s.URL+"/my/dossiers/"+code), chromedp.WaitVisible(`#timeline`))
		st := portalStatus(t, ss)
		if strings.Contains(st, want) {
			return mainText(t, ss)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the status of %s stays %q, want %q\n%s", ss.user, code, st, want, ss.describe())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// portalStatus is the status line of the applicant's dossier page.
func portalStatus(t *testing.T, ss *session) string {
	t.Helper()
	return eval[string](t, ss, `(document.querySelector('dl.facts dd strong') || {innerText: ''}).innerText.trim()`)
}

// portalTimeline is the applicant's timeline, one line per step.
func portalTimeline(t *testing.T, ss *session) []string {
	t.Helper()
	return eval[[]string](t, ss, `[...document.querySelectorAll('#timeline > li')].map(x => x.innerText.replace(/\s+/g, ' '))`)
}

// receiveOnline receives an online dossier at the desk from its page,
// routing it to the construction department's division, as the counter's
// reception form does for a dossier handed in (§3 step 2: the officer sends
// it to the competent division).
func receiveOnline(t *testing.T, ss *session, s *server, code string) {
	t.Helper()
	d := readDossier(t, ss, s, code)
	expectOnlyAction(t, ss, d, "receive")
	form := actionForm("receive")
	if !eval[bool](t, ss, `!!document.querySelector('`+form+` select[name="division"] option[value="`+demoConstructionDiv+`"]')`) {
		t.Fatalf("the receive form of %s offers no choice of the division %s:\n%s", code, demoConstructionDiv, ss.describe())
	}
	act(t, ss, s, code, "receive", map[string]string{"division": demoConstructionDiv}, nil)
}

// payFakeMode sets the fake platform's failure modes (form fields, e.g.
// "delay=1"; "" for none).
func payFakeMode(t *testing.T, pay, form string) {
	t.Helper()
	resp, err := http.Post(pay+"/_fake/mode", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("set the payment fake's mode %q: %s", form, resp.Status)
	}
}

// payFakeRelease makes the fake platform post the notifications it held.
func payFakeRelease(t *testing.T, pay string) {
	t.Helper()
	resp, err := http.Post(pay+"/_fake/release", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("release the payment fake's notifications: %s", resp.Status)
	}
}

// auditIfConfigured runs the axe audit on the session's page when axe-core
// is available (CONGSO_AXE), for pages only the journey reaches.
func auditIfConfigured(t *testing.T, ss *session, page string) {
	t.Helper()
	if os.Getenv("CONGSO_AXE") == "" {
		t.Logf("CONGSO_AXE not set: %s not audited", page)
		return
	}
	audit(ss.ctx, t, axeSource(t), page)
}

var draftPath = regexp.MustCompile(`^/my/drafts/([^/?#]+)$`)

// TestPortalJourney follows a citizen's whole online application of a
// building permit (one-stop.md §2 channel 2, §8 fees, §9 portal, §10 reuse)
// through the real binary, with online payment against the fake national
// payment platform running as its own process: a document stored in the
// personal data store and reused in the application, the other documents
// uploaded, a double submission giving one dossier; the desk receives it,
// the handler asks for a supplement that the citizen answers online; the
// handler asks for the fee, the citizen pays it on the platform and the
// dossier resumes by itself once the signed notification arrived; the
// result is drafted, approved, signed, issued and returned; the citizen
// downloads the e-result and rates the service once; the public lookup
// shows the status without personal data.
func TestPortalJourney(t *testing.T) {
	s, pay := startPortalServer(t)
	t.Logf("congso at %s, payment platform at %s", s.URL, pay)
	landPDF := writePDF(t, "giay-chung-nhan-qsdd.pdf", "Giay chung nhan quyen su dung dat CS 01234")
	appPDF := writePDF(t, "don-de-nghi.pdf", "Don de nghi cap giay phep xay dung")
	decisionPDF := writePDF(t, "quyet-dinh-phe-duyet.pdf", "Quyet dinh phe duyet du an")
	drawingPDF := writePDF(t, "ban-ve.pdf", "Ban ve thiet ke")
	drawing2PDF := writePDF(t, "ban-ve-bo-sung.pdf", "Ban ve thiet ke bo sung, ro net")
	draftPDF := writePDF(t, "du-thao-giay-phep.pdf", "Du thao giay phep xay dung")
	permitPDF := writePDF(t, "giay-phep.pdf", "Giay phep xay dung so 15/GPXD")

	// Step 1: the citizen signs in and stores the land-use certificate.
	citizen := longSignIn(t, s, "congdan", nameCitizen)
	const landTitle = "Giấy chứng nhận quyền sử dụng đất số CS 01234"
	const landType = "Giấy tờ hợp pháp về đất đai"
	citizen.do(t, "upload to the data store",
		chromedp.Navigate(s.URL+"/account/documents"),
		chromedp.WaitVisible(`a[href="/account/documents/new"]`),
		markStale(),
		chromedp.Click(`a[href="/account/documents/new"]`),
		chromedp.WaitVisible(fresh(`#title`)),
		chromedp.SendKeys(`#title`, landTitle),
		chromedp.SendKeys(`#doc_type`, landType),
		chromedp.SendKeys(`#issuer_name`, "Sở Tài nguyên và Môi trường"),
		chromedp.SetValue(`#issued_on`, "2020-05-12"),
		chromedp.SetUploadFiles(`#file`, []string{landPDF}),
		markStale(),
		chromedp.Click(`form[action="/account/documents"] button[type="submit"]`),
		chromedp.WaitVisible(fresh(`#ref`)),
	)
	if h1 := citizen.text(t, `main h1`); h1 != landTitle {
		t.Errorf("stored document page heading = %q, want %q", h1, landTitle)
	}
	if page := mainText(t, citizen); !strings.Contains(page, fileSHA256(t, landPDF)) {
		t.Errorf("the stored document's page does not show its SHA-256:\n%s", page)
	}
	citizen.do(t, "list the data store", chromedp.Navigate(s.URL+"/account/documents"), chromedp.WaitVisible(`#documents`))
	if list := citizen.text(t, `#documents`); !strings.Contains(list, landTitle) {
		t.Fatalf("the data store does not list %q:\n%s", landTitle, list)
	}

	// Step 2: search without diacritics, open the permit, apply online.
	permitLink := `table a[href="/procedures/` + permitCode + `"]`
	citizen.do(t, "search procedures",
		chromedp.Navigate(s.URL+"/procedures"),
		chromedp.WaitVisible(`#q`),
		chromedp.SendKeys(`#q`, permitSearch),
		markStale(),
		chromedp.Submit(`#q`),
		chromedp.WaitVisible(fresh(permitLink)),
	)
	if first := eval[string](t, citizen, `document.querySelector('table a[href^="/procedures/"]').getAttribute('href')`); first != "/procedures/"+permitCode {
		t.Errorf("best match for %q is %s, want /procedures/%s", permitSearch, first, permitCode)
	}
	citizen.do(t, "open the procedure",
		markStale(),
		chromedp.Click(permitLink),
		chromedp.WaitVisible(fresh(`#apply-online`)),
	)
	if h1 := citizen.text(t, `main h1`); !strings.Contains(h1, "Cấp giấy phép xây dựng mới đối với công trình không theo tuyến") {
		t.Errorf("procedure page heading = %q", h1)
	}
	if btn := citizen.text(t, `#apply-online`); btn != "Nộp trực tuyến" {
		t.Errorf("apply button reads %q, want Nộp trực tuyến", btn)
	}
	citizen.do(t, "apply online",
		markStale(),
		chromedp.Click(`#apply-online`),
		chromedp.WaitVisible(fresh(`#apply-form`)),
	)

	// Step 3: the form is pre-filled from the account.
	if got := eval[string](t, citizen, `document.querySelector('#applicant_name').value`); got != nameCitizen {
		t.Errorf("pre-filled name = %q, want %q", got, nameCitizen)
	}
	if got := eval[string](t, citizen, `document.querySelector('#applicant_personal_id').value`); got != citizenPersonalID {
		t.Errorf("pre-filled personal ID = %q, want %q", got, citizenPersonalID)
	}
	// The stored certificate is offered for the land document (4) only.
	reuseOpt := eval[string](t, citizen, `(() => { const o = [...document.querySelectorAll('#doc_4_reuse option')].find(o => o.textContent.includes(`+jsString(landTitle)+`)); return o ? o.value : '' })()`)
	if reuseOpt == "" {
		t.Fatalf("the stored %q is not offered for %q:\n%s", landTitle, landType, citizen.describe())
	}
	citizen.do(t, "fill the form",
		chromedp.SetValue(`#applicant_phone`, citizenPhone),
		chromedp.SetValue(`#applicant_address`, "12 Lê Lợi, phường Bến Thành"),
		chromedp.SetValue(`#fd_chu_dau_tu`, nameCitizen),
		chromedp.SetValue(`#fd_dia_diem`, "Thửa 12, tờ bản đồ 5"),
		chromedp.SetValue(`#fd_dien_tich`, "120"),
		chromedp.SetValue(`#fd_so_tang`, "3"),
		chromedp.SetValue(`#doc_4_reuse`, reuseOpt),
		chromedp.SetUploadFiles(`#doc_1_file`, []string{appPDF}),
		chromedp.SetUploadFiles(`#doc_2_file`, []string{decisionPDF}),
		chromedp.SetUploadFiles(`#doc_3_file`, []string{drawingPDF}),
		markStale(),
		chromedp.Click(`#save-draft`),
		chromedp.WaitVisible(fresh(`#apply-form`)),
	)
	loc := eval[string](t, citizen, `location.pathname`)
	if !draftPath.MatchString(loc) {
		t.Fatalf("after saving the browser is at %s, want the draft's page\n%s", loc, citizen.describe())
	}
	for n, pdf := range map[int]string{1: appPDF, 2: decisionPDF, 3: drawingPDF} {
		shown := eval[string](t, citizen, fmt.Sprintf(`(document.querySelector('#doc_%d ul.files') || {innerText: ''}).innerText`, n))
		if !strings.Contains(shown, filepath.Base(pdf)) || !strings.Contains(shown, fileSHA256(t, pdf)) {
			t.Errorf("document %d after saving shows %q, want %s with its SHA-256 %s", n, shown, filepath.Base(pdf), fileSHA256(t, pdf))
		}
	}
	if got := eval[string](t, citizen, `document.querySelector('#doc_4_reuse').value`); got != reuseOpt {
		t.Errorf("after saving the reused document is %q, want %q", got, reuseOpt)
	}
	if got := eval[string](t, citizen, `document.querySelector('#fd_dia_diem').value`); got != "Thửa 12, tờ bản đồ 5" {
		t.Errorf("after saving the e-form lost the site: %q", got)
	}
	citizen.do(t, "review",
		markStale(),
		chromedp.Click(`#review`),
		chromedp.WaitVisible(fresh(`#submit-dossier`)),
	)
	review := mainText(t, citizen)
	for _, want := range []string{nameCitizen, citizenPhone, "Thửa 12, tờ bản đồ 5", filepath.Base(appPDF), filepath.Base(drawingPDF), landTitle, permitFee} {
		if !strings.Contains(review, want) {
			t.Errorf("the review page lacks %q:\n%s", want, review)
		}
	}
	// A double submission: two posts of the review form at once, then the
	// button itself. All lead to the same dossier.
	twice := evalAwait[[]string](t, citizen, `(async () => {
  const f = document.querySelector('#submit-form');
  const post = () => fetch(f.action, {method: 'POST', body: new URLSearchParams(new FormData(f)), credentials: 'same-origin'}).then(r => new URL(r.url).pathname);
  return await Promise.all([post(), post()]);
})()`)
	citizen.do(t, "submit",
		markStale(),
		chromedp.Click(`#submit-dossier`),
		chromedp.WaitVisible(fresh(`#receipt`)),
	)
	auditIfConfigured(t, citizen, "/my/dossiers/{code} (receipt)")
	code := citizen.text(t, `#dossier-code`)
	t.Logf("submitted %s (double post landed on %v)", code, twice)
	if code == "" || !strings.Contains(citizen.text(t, `#receipt`), code) {
		t.Fatalf("the receipt lacks the dossier code:\n%s", citizen.describe())
	}
	for _, p := range twice {
		if p != "/my/dossiers/"+code {
			t.Errorf("a concurrent submission landed on %s, want /my/dossiers/%s", p, code)
		}
	}
	if st := portalStatus(t, citizen); st != "Mới nộp, chờ tiếp nhận" {
		t.Errorf("status after submission = %q", st)
	}
	// Resubmitting the submitted draft (back button, another tab) gives the
	// same dossier, and "my dossiers" lists it once.
	citizen.do(t, "open the submitted draft", chromedp.Navigate(s.URL+loc), chromedp.WaitVisible(`#timeline`))
	if got := eval[string](t, citizen, `location.pathname`); got != "/my/dossiers/"+code {
		t.Errorf("the submitted draft opens %s, want its dossier", got)
	}
	citizen.do(t, "my dossiers", chromedp.Navigate(s.URL+"/my/dossiers"), chromedp.WaitVisible(`#my-dossiers`))
	rows := eval[[]string](t, citizen, `[...document.querySelectorAll('#my-dossiers tbody tr')].map(r => r.innerText)`)
	if len(rows) != 1 || !strings.Contains(rows[0], code) {
		t.Fatalf("my dossiers lists %q, want exactly %s", rows, code)
	}
	citizen.do(t, "my drafts", chromedp.Navigate(s.URL+"/my/drafts"), chromedp.WaitVisible(`main h1`))
	if n := eval[int](t, citizen, `document.querySelectorAll('#drafts tbody tr').length`); n != 0 {
		t.Errorf("the submitted draft is still listed among the drafts (%d rows)", n)
	}

	// Step 4: the desk finds the online dossier, sees the reused document
	// and receives it; the head assigns; the handler asks for a supplement.
	officer := longSignIn(t, s, "motcua", nameOfficer)
	expectInInbox(t, officer, s, code)
	d := readDossier(t, officer, s, code)
	comps := eval[[]string](t, officer, `[...document.querySelectorAll('#components tbody tr')].map(r => r.innerText.replace(/\s+/g, ' '))`)
	if len(comps) != 4 {
		t.Fatalf("the desk sees %d documents, want 4: %q", len(comps), comps)
	}
	if !strings.Contains(comps[3], landType) || !strings.Contains(comps[3], "Tái sử dụng") {
		t.Errorf("the land document is not marked reused (Tái sử dụng) for the desk: %q", comps[3])
	}
	if !strings.Contains(comps[3], fileSHA256(t, landPDF)[:12]) {
		t.Errorf("the reused land document's file (SHA-256 %s…) is not attached: %q", fileSHA256(t, landPDF)[:12], comps[3])
	}
	for i, c := range comps[:3] {
		if strings.Contains(c, "Tái sử dụng") {
			t.Errorf("document %d, uploaded, is marked reused: %q", i+1, c)
		}
	}
	if !strings.Contains(d.main, nameCitizen) || !strings.Contains(d.main, citizenPhone) {
		t.Errorf("the desk does not see the applicant's details")
	}
	receiveOnline(t, officer, s, code)
	if d := readDossier(t, officer, s, code); !strings.Contains(d.state, "Phân công xử lý") {
		t.Errorf("after reception the step is %q, want assignment", d.state)
	}
	head := longSignIn(t, s, "truongphong", nameHead)
	expectInInbox(t, head, s, code)
	assign(t, head, s, code, nameHandler)
	handler := longSignIn(t, s, "chuyenvien", nameHandler)
	expectInInbox(t, handler, s, code)
	const suppReason = "Bản vẽ thiết kế không đọc được"
	suppDefects := []string{"Bản vẽ mặt bằng tầng 1 bị mờ", "Thiếu bản vẽ mặt cắt"}
	requestSupplement(t, handler, s, code, suppReason, suppDefects)

	// Step 5: the citizen sees the request with its reason and answers it.
	citizen.do(t, "open the dossier", chromedp.Navigate(s.URL+"/my/dossiers/"+code), chromedp.WaitVisible(`#respond-form`))
	if st := portalStatus(t, citizen); st != "Chờ bổ sung" {
		t.Errorf("status during the supplement = %q, want Chờ bổ sung", st)
	}
	auditIfConfigured(t, citizen, "/my/dossiers/{code} (supplement request)")
	supp := citizen.text(t, `#supplement`)
	for _, want := range append([]string{suppReason}, suppDefects...) {
		if !strings.Contains(supp, want) {
			t.Errorf("the supplement request lacks %q:\n%s", want, supp)
		}
	}
	citizen.do(t, "answer the supplement",
		chromedp.SetUploadFiles(`#r_doc_3`, []string{drawing2PDF}),
		chromedp.SetValue(`#note`, "Gửi lại bản vẽ rõ nét, có mặt cắt"),
		markStale(),
		chromedp.Click(`#respond`),
		chromedp.WaitVisible(fresh(`#timeline`)),
	)
	if eval[bool](t, citizen, `!!document.querySelector('#error-summary')`) {
		t.Fatalf("the supplement was refused:\n%s", citizen.describe())
	}
	if st := portalStatus(t, citizen); st != "Đang giải quyết" {
		t.Errorf("after the supplement the status is %q, want Đang giải quyết", st)
	}
	if eval[bool](t, citizen, `!!document.querySelector('#respond-form')`) {
		t.Errorf("after answering, the supplement form is still offered")
	}
	if docs := mainText(t, citizen); !strings.Contains(docs, filepath.Base(drawing2PDF)) {
		t.Errorf("the supplied drawing is not among the dossier's files")
	}
	// The handler has it back in appraisal with only the supplied file new.
	after := readDossier(t, handler, s, code)
	if !strings.Contains(after.state, "Thẩm định") || after.sla == "Tạm dừng tính thời gian" {
		t.Errorf("after the supplement the handler sees step %q, badge %q", after.state, after.sla)
	}
	comps = eval[[]string](t, handler, `[...document.querySelectorAll('#components tbody tr')].map(r => r.innerText.replace(/\s+/g, ' '))`)
	if len(comps) == 4 {
		if !strings.Contains(comps[2], filepath.Base(drawing2PDF)) {
			t.Errorf("the handler does not see the supplied drawing: %q", comps[2])
		}
		for _, i := range []int{0, 1, 3} {
			if strings.Contains(comps[i], filepath.Base(drawing2PDF)) {
				t.Errorf("the supplied drawing landed on document %d too", i+1)
			}
		}
	}

	// Step 6: the handler asks for the fee; the citizen pays online.
	act(t, handler, s, code, "request_payment", map[string]string{"comment": "Đề nghị nộp lệ phí cấp giấy phép xây dựng"}, nil)
	if d := readDossier(t, handler, s, code); !strings.Contains(d.state, "Chờ thực hiện nghĩa vụ tài chính") {
		t.Errorf("after the payment request the step is %q", d.state)
	}
	page := waitPortalStatus(t, citizen, s, code, "Chờ thực hiện nghĩa vụ tài chính")
	fees := citizen.text(t, `[aria-labelledby="fees-h"] tbody`)
	if !strings.Contains(fees, permitFee) || !strings.Contains(fees, "Chưa nộp") {
		t.Errorf("the fee table shows %q, want %s unpaid", fees, permitFee)
	}
	if !slices.ContainsFunc(portalTimeline(t, citizen), func(li string) bool { return strings.Contains(li, "Yêu cầu nộp phí, lệ phí") }) {
		t.Errorf("the citizen's timeline lacks the payment request:\n%s", page)
	}
	payBtn := `[id="pay-` + code + `"]`
	if b := citizen.text(t, payBtn); b != "Thanh toán" {
		t.Errorf("the pay button reads %q", b)
	}
	auditIfConfigured(t, citizen, "/my/dossiers/{code} (fee to pay)")
	citizen.do(t, "go to the payment platform",
		markStale(),
		chromedp.Click(payBtn),
		chromedp.WaitVisible(fresh(`button[name="action"][value="pay"]`)),
	)
	if loc := eval[string](t, citizen, `location.origin`); loc != pay {
		t.Fatalf("the pay button leads to %s, want the platform at %s", loc, pay)
	}
	if p := mainText(t, citizen); !strings.Contains(p, "150000 VND") || !strings.Contains(p, code) {
		t.Errorf("the platform's page does not show the amount and the order of %s:\n%s", code, p)
	}
	// This time the platform holds its signed notification: back on congso
	// the payer is told the payment is being confirmed, and nothing is paid
	// until the notification arrives (return parameters are not trusted).
	payFakeMode(t, pay, "delay=1")
	citizen.do(t, "pay",
		markStale(),
		chromedp.Click(`button[name="action"][value="pay"]`),
		chromedp.WaitVisible(fresh(`#payment-pending`)),
	)
	if got := eval[string](t, citizen, `location.origin + location.pathname`); !strings.HasPrefix(got, s.URL+"/payment/return/") {
		t.Errorf("after paying the browser is at %s, want congso's return page", got)
	}
	if p := mainText(t, citizen); !strings.Contains(p, "Đang xác nhận thanh toán") {
		t.Errorf("the return page before the notification says:\n%s", p)
	}
	auditIfConfigured(t, citizen, "/payment/return (pending)")
	if d := readDossier(t, handler, s, code); !strings.Contains(d.state, "Chờ thực hiện nghĩa vụ tài chính") || !strings.Contains(d.main, "150.000 ₫ – Chưa nộp") {
		t.Errorf("before the platform's notification the dossier is at %q, fee %q", d.state, eval[string](t, handler, `(document.querySelector('[aria-labelledby="fees-title"]') || {innerText: ''}).innerText`))
	}
	payFakeMode(t, pay, "")
	payFakeRelease(t, pay)
	citizen.do(t, "check again",
		markStale(),
		chromedp.Click(`#payment-recheck`),
		chromedp.WaitVisible(fresh(`#receipt-title`)),
	)
	auditIfConfigured(t, citizen, "/payment/return (receipt)")
	citizen.do(t, "the dossier's fees page",
		markStale(),
		chromedp.Click(`main a[href^="/payment/dossiers/"]`),
		chromedp.WaitVisible(fresh(`main table`)),
	)
	if p := mainText(t, citizen); !strings.Contains(p, "PayGov") || !strings.Contains(p, "Xem biên lai") {
		t.Errorf("the dossier's fees page does not show the paid fee with its receipt:\n%s", p)
	}
	auditIfConfigured(t, citizen, "/payment/dossiers/{code}")
	citizen.do(t, "the receipt", markStale(), chromedp.Click(`main a[href^="/payment/receipts/"]`), chromedp.WaitVisible(fresh(`#receipt-title`)))
	receipt := mainText(t, citizen)
	for _, want := range []string{"Biên lai thanh toán điện tử", code, permitFee, "Đã thanh toán"} {
		if !strings.Contains(receipt, want) {
			t.Errorf("the payment receipt lacks %q:\n%s", want, receipt)
		}
	}
	// The dossier resumes by itself: no official acted.
	page = waitPortalStatus(t, citizen, s, code, "Đang giải quyết")
	if fees := citizen.text(t, `[aria-labelledby="fees-h"] tbody`); !strings.Contains(fees, "Đã nộp") {
		t.Errorf("after paying the fee shows %q, want Đã nộp", fees)
	}
	if eval[bool](t, citizen, `!!document.querySelector('`+payBtn+`')`) {
		t.Errorf("the paid fee still offers the pay button")
	}
	tl := portalTimeline(t, citizen)
	if !slices.ContainsFunc(tl, func(li string) bool { return strings.Contains(li, "Đã nộp phí, lệ phí") }) {
		t.Errorf("the citizen's timeline lacks the payment step:\n%s", strings.Join(tl, "\n"))
	}
	resumed := readDossier(t, handler, s, code)
	if !strings.Contains(resumed.state, "Thẩm định") {
		t.Errorf("after the payment the handler sees step %q, want appraisal", resumed.state)
	}
	if !slices.ContainsFunc(resumed.timeline, func(li string) bool {
		return strings.Contains(li, "Đã thực hiện nghĩa vụ tài chính") && !strings.Contains(li, nameOfficer)
	}) {
		t.Errorf("the officials' timeline lacks the payment confirmed by the system:\n%s", strings.Join(resumed.timeline, "\n"))
	}
	if !regexp.MustCompile(`150\.000 ₫ – Đã nộp \(PayGov PG\d+\)`).MatchString(resumed.main) {
		t.Errorf("the officials' fee list lacks the fee paid with the platform's reference:\n%s", eval[string](t, handler, `(document.querySelector('[aria-labelledby="fees-title"]') || {innerText: ''}).innerText`))
	}

	// Step 7: drafting, approval, signature, issue and return.
	act(t, handler, s, code, "draft_result", map[string]string{"comment": "Đủ điều kiện cấp phép"}, map[string]string{"attachment": draftPDF})
	expectInInbox(t, head, s, code)
	act(t, head, s, code, "approve", nil, nil)
	director := longSignIn(t, s, "giamdoc", nameDirector)
	expectInInbox(t, director, s, code)
	act(t, director, s, code, "sign", map[string]string{"signature": "CKS-2026-0101"}, nil)
	act(t, handler, s, code, "transfer", nil, nil)
	clerk := longSignIn(t, s, "vanthu", nameClerk)
	expectInInbox(t, clerk, s, code)
	addResult(t, clerk, s, code, permitPDF)
	act(t, clerk, s, code, "issue", map[string]string{"signature": "15/GPXD"}, nil)
	expectInInbox(t, officer, s, code)
	act(t, officer, s, code, "return", nil, nil)

	// Step 8: the citizen downloads the e-result and rates the service.
	page = waitPortalStatus(t, citizen, s, code, "Đã trả kết quả")
	href := eval[string](t, citizen, `(document.querySelector('a[href^="/my/dossiers/`+code+`/results/"]') || {}).pathname || ''`)
	if href == "" {
		t.Fatalf("no e-result to download:\n%s", page)
	}
	got := fetchInPage(t, citizen, href)
	want, _ := os.ReadFile(permitPDF)
	body, _ := base64.StdEncoding.DecodeString(got.Body)
	if got.Status != 200 || got.Type != "application/pdf" || string(body) != string(want) {
		t.Errorf("the e-result download: status %d, type %q, %d bytes (want the %d bytes of the issued PDF)", got.Status, got.Type, len(body), len(want))
	}
	if !strings.Contains(got.Disposition, "attachment") {
		t.Errorf("the e-result is not sent as an attachment: %q", got.Disposition)
	}
	if !eval[bool](t, citizen, `!!document.querySelector('#rating-form')`) {
		t.Fatalf("the finished dossier offers no rating:\n%s", page)
	}
	if n := eval[int](t, citizen, `document.querySelectorAll('#rating-form fieldset.rating').length`); n != 12 {
		t.Errorf("the rating form has %d criteria, want 12", n)
	}
	auditIfConfigured(t, citizen, "/my/dossiers/{code} (returned, rating form)")
	// Without the overall score the rating is refused, the rest kept.
	citizen.do(t, "rate without the overall score",
		chromedp.Click(`#score_information_4`),
		chromedp.Click(`#score_attitude_5`),
		markStale(),
		chromedp.Click(`#rate`),
		chromedp.WaitVisible(fresh(`#rating-form`)),
	)
	if !eval[bool](t, citizen, `!!document.querySelector('#error-summary')`) {
		t.Errorf("a rating without the overall score was not refused:\n%s", citizen.describe())
	}
	auditIfConfigured(t, citizen, "/my/dossiers/{code} (rating refused)")
	if !eval[bool](t, citizen, `document.querySelector('#score_attitude_5').checked`) {
		t.Errorf("the refused rating lost the scores given")
	}
	replay := eval[string](t, citizen, `(() => { const fd = new FormData(document.querySelector('#rating-form')); fd.set('score.overall', '1'); return new URLSearchParams(fd).toString() })()`)
	citizen.do(t, "rate",
		chromedp.Click(`#score_overall_5`),
		chromedp.Click(`#score_timeliness_5`),
		chromedp.SetValue(`#comment`, "Nhanh, đúng hẹn"),
		markStale(),
		chromedp.Click(`#rate`),
		chromedp.WaitVisible(fresh(`#rating`)),
	)
	if eval[bool](t, citizen, `!!document.querySelector('#rating-form')`) {
		t.Errorf("after rating, the rating form is still offered")
	}
	rated := citizen.text(t, `#rating`)
	if !strings.Contains(rated, "Bạn đã đánh giá") || !strings.Contains(rated, "Mức độ hài lòng chung") {
		t.Errorf("the rating is not shown: %q", rated)
	}
	// A second rating (an old tab posting again) is refused; the first stays.
	second := evalAwait[string](t, citizen, `fetch('/my/dossiers/`+code+`/rating', {method: 'POST', body: new URLSearchParams(`+jsString(replay)+`), credentials: 'same-origin'}).then(r => r.text())`)
	if !strings.Contains(second, "mỗi hồ sơ đánh giá một lần") {
		t.Errorf("a second rating is not refused with a message")
	}
	citizen.do(t, "reopen", chromedp.Navigate(s.URL+"/my/dossiers/"+code), chromedp.WaitVisible(`#rating`))
	if again := citizen.text(t, `#rating`); again != rated {
		t.Errorf("after a second rating the first changed:\n%s\nwas\n%s", again, rated)
	}

	// Step 9: the public lookup, without an account.
	anon := &session{ctx: browserFor(t, 3*time.Minute), user: "anonymous"}
	phone4 := citizenPhone[len(citizenPhone)-4:]
	anon.do(t, "lookup",
		chromedp.Navigate(s.URL+"/lookup"),
		chromedp.WaitVisible(`#lookup-form`),
		chromedp.SendKeys(`#code`, code),
		chromedp.SendKeys(`#phone4`, phone4),
		markStale(),
		chromedp.Click(`#lookup`),
		chromedp.WaitVisible(fresh(`#lookup-result`)),
	)
	res := anon.text(t, `#lookup-result`)
	if !strings.Contains(res, "Đã trả kết quả") || !strings.Contains(res, code) {
		t.Errorf("the lookup shows %q, want %s returned", res, code)
	}
	whole := mainText(t, anon)
	for _, private := range []string{nameCitizen, citizenPersonalID, citizenPhone, "Lê Lợi", suppReason, nameHandler} {
		if strings.Contains(whole, private) {
			t.Errorf("the public lookup shows personal or internal data %q:\n%s", private, whole)
		}
	}
	anon.do(t, "lookup with a wrong second factor",
		chromedp.Navigate(s.URL+"/lookup"),
		chromedp.WaitVisible(`#lookup-form`),
		chromedp.SendKeys(`#code`, code),
		chromedp.SendKeys(`#phone4`, "0000"),
		markStale(),
		chromedp.Click(`#lookup`),
		chromedp.WaitVisible(fresh(`#error-summary`)),
	)
	if eval[bool](t, anon, `!!document.querySelector('#lookup-result')`) {
		t.Errorf("a wrong second factor still shows the dossier")
	}
	if msg := anon.text(t, `#error-summary`); !strings.Contains(msg, "Không tìm thấy hồ sơ") {
		t.Errorf("the wrong second factor's message = %q", msg)
	}
}
