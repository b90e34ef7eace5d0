package dossierui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/dossier/dossierui"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/web"
)

func TestMessagesComplete(t *testing.T) {
	var b i18n.Bundle
	if err := b.AddFS(dossierui.Messages(), "messages"); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); err != nil {
		t.Error(err)
	}
}

// §3 steps 1–2 at the counter: the officer finds the procedure without
// diacritics, the completeness check lists every defect at once, a failed
// reception keeps what was typed and uploaded, and the reception redirects
// to the dossier page with the code and the appointment date; a repeated
// post (double click) receives once.
func TestCounterReception(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)

		// Step 1: the procedure, typed without diacritics.
		res := e.get("/work/receive?q="+url.QueryEscape("giay phep xay dung khong theo tuyen"), officer)
		if res.status != http.StatusOK {
			t.Fatalf("search: %d", res.status)
		}
		mustContain(t, "procedure search", res.body, `href="/work/receive?procedure=1.009972"`,
			"Cấp giấy phép xây dựng mới đối với công trình không theo tuyến", "autofocus")

		// Step 2: the form of the procedure, generated from its documents and
		// its form schema.
		idem := e.receptionForm(permit)
		form := e.get("/work/receive?procedure="+permit, officer).body
		mustContain(t, "reception form", form, `name="doc.4.provided"`, `name="doc.1.file"`, `name="fd.so_tang"`,
			"Số tầng", `name="fd.chieu_cao"`, `value="000.02.07.H99"`, `enctype="multipart/form-data"`)

		// Check: nothing provided, no personal ID, the form half filled: every
		// defect is listed at once, and what was typed stays.
		f := applicantForm(idem)
		f.Del("applicant.personal_id")
		f.Del("fd.so_tang")
		f.Set("op", "check")
		res = e.post("/work/receive", officer, f)
		if res.status != http.StatusOK {
			t.Fatalf("check: %d\n%s", res.status, res.body)
		}
		mustContain(t, "completeness check", res.body,
			"Thiếu thành phần hồ sơ: Đơn đề nghị cấp giấy phép xây dựng", "Thiếu thành phần hồ sơ: Quyết định phê duyệt dự án",
			"Thiếu thành phần hồ sơ: Bản vẽ thiết kế xây dựng", "Thiếu thành phần hồ sơ: Giấy tờ hợp pháp về đất đai",
			"Công dân phải có số định danh cá nhân", "Số tầng", `href="#fd_so_tang"`, `href="#doc_2"`,
			`value="Nguyễn Văn An"`, `value="Thửa 12, tờ bản đồ 5"`)
		summary, _, _ := strings.Cut(res.body, "</ol>")
		if n := strings.Count(summary, "Thiếu thành phần hồ sơ:"); n != 4 {
			t.Errorf("the check lists %d missing documents, want all 4", n)
		}

		// Receive without the drawing: refused with the defect; the uploaded
		// application form is kept on the page as a checked box.
		f = applicantForm(idem)
		f.Set("op", "receive")
		f.Set("doc.1.provided", "electronic")
		f.Set("doc.2.provided", "copy")
		f.Set("doc.4.provided", "copy")
		res = e.post("/work/receive", officer, f, upload{"doc.1.file", "don.pdf", smallPDF("don")})
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("incomplete reception: %d", res.status)
		}
		mustContain(t, "incomplete reception", res.body, "Bản vẽ thiết kế xây dựng", `name="doc.1.keep"`, "don.pdf", `value="Nguyễn Văn An"`)
		keep := regexp.MustCompile(`name="doc.1.keep" value="([^"]+)"`).FindStringSubmatch(res.body)
		if keep == nil {
			t.Fatal("no kept file")
		}

		// Receive for real, keeping the uploaded file and adding the drawing.
		f.Set("doc.1.keep", keep[1])
		f.Set("doc.3.provided", "electronic")
		res = e.post("/work/receive", officer, f, upload{"doc.3.file", "ban-ve.png", smallPNG()})
		if res.status != http.StatusSeeOther || !strings.HasSuffix(res.location(), "?received=1") {
			t.Fatalf("reception: %d %s\n%s", res.status, res.location(), res.body)
		}
		if res.flash() != "dossierui.flash.received" {
			t.Errorf("flash = %q", res.flash())
		}
		loc := res.location()
		code := strings.TrimSuffix(strings.TrimPrefix(loc, "/work/dossiers/"), "?received=1")
		if !dossier.ValidCode(code) || !strings.HasPrefix(code, "000.00.13.H99-260302-") {
			t.Fatalf("code %q: want the center's code of 2 March 2026 (§5)", code)
		}

		// The same post again (a double click): the same dossier, not a second.
		again := e.post("/work/receive", officer, f, upload{"doc.3.file", "ban-ve.png", smallPNG()})
		if again.status != http.StatusSeeOther || again.location() != loc {
			t.Fatalf("repeated reception: %d %s, want the first dossier %s", again.status, again.location(), loc)
		}
		list, err := e.svc.List(e.ctx, dossier.ListQuery{Actor: officer})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("dossiers after a double click: %d (%v), want 1", len(list.Items), err)
		}

		// The dossier page: the receipt with the code and the appointment date
		// (20 working days, §6), the files with a preview of the image.
		got := e.dossier(code)
		page := e.get(loc, officer)
		if page.status != http.StatusOK {
			t.Fatalf("dossier page: %d", page.status)
		}
		mustContain(t, "dossier page after reception", page.body, "Đã tiếp nhận hồ sơ "+code, got.DueAt.In(web.Location).Format("02/01/2006 15:04"),
			"Trong hạn", "Nguyễn Văn An", "don.pdf", "ban-ve.png", `<img src="/work/dossiers/`+code+`/files/`, "Phân công xử lý",
			"2 – Đã tiếp nhận")
		if len(got.Components) != 4 || len(got.Components[0].Files) != 1 || got.Components[0].Files[0].Name != "don.pdf" ||
			len(got.Components[2].Files) != 1 || got.Components[2].Files[0].MediaType != dossier.MediaPNG || got.Components[1].Provided != "copy" {
			t.Errorf("components = %+v", got.Components)
		}
		// The file link serves the file inline for preview.
		fileURL := "/work/dossiers/" + code + "/files/" + got.Components[0].Files[0].Hash
		file := e.get(fileURL, officer)
		if file.status != http.StatusOK || file.header.Get("Content-Type") != "application/pdf" ||
			!strings.HasPrefix(file.header.Get("Content-Disposition"), "inline") || !strings.HasPrefix(file.body, "%PDF-") {
			t.Errorf("file: %d %s %s", file.status, file.header.Get("Content-Type"), file.header.Get("Content-Disposition"))
		}
		if res := e.get(fileURL, stranger); res.status != http.StatusForbidden {
			t.Errorf("file for an officer of another desk: %d, want 403", res.status)
		}
	})
}

// §3 steps 3–9 through the dossier page's forms, each by its own official:
// the division head finds the dossier in the queue and assigns, the
// handler drafts, the head approves, the agency head signs, the handler
// transfers, the clerk adds the result and issues, the officer returns.
// Each page shows only the viewer's actions; a double submit applies once.
func TestNineStepsThroughThePages(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.receive()

		// The division head's queue.
		inbox := e.get("/work", head)
		if inbox.status != http.StatusOK {
			t.Fatalf("inbox: %d", inbox.status)
		}
		mustContain(t, "head's queue", inbox.body, `href="/work/dossiers/`+code+`"`, "Cấp giấy phép xây dựng mới đối với công trình không theo tuyến",
			"Nguyễn Văn An", "Phân công xử lý", `<span class="badge ok">Trong hạn</span>`, `aria-current="page"><strong>Chờ xử lý</strong> <span class="badge">1</span>`)
		if e.get("/work", handler).body == "" || strings.Contains(e.get("/work", handler).body, code) {
			t.Errorf("the handler's inbox lists the dossier before assignment")
		}

		// The officer sees no assignment form; the head does, with the
		// division's handlers to choose from.
		if _, _, ok := actionForm(e.get("/work/dossiers/"+code, officer).body, "assign"); ok {
			t.Errorf("the officer sees the assignment form")
		}
		headPage := e.get("/work/dossiers/"+code, head).body
		mustContain(t, "head's page", headPage, `<option value="handler-1">Võ Thị Lan</option>`, `<option value="handler-2">Phan Văn Hai</option>`)

		// Assign without choosing the handler: the message sits on the field
		// and nothing changes.
		target, fields, _ := actionForm(headPage, "assign")
		if res := e.post(target, head, fields); res.status != http.StatusUnprocessableEntity ||
			!strings.Contains(res.body, `<p class="err" id="a0-assignee-err">Vui lòng chọn người xử lý.</p>`) {
			t.Fatalf("assignment without a handler: %d\n%s", res.status, res.body)
		}
		// Assign, twice with the same form (a double click): applied once.
		fields.Set("assignee", handler.PersonID)
		v0 := e.dossier(code).Version
		for i := range 2 {
			res := e.post(target, head, fields)
			if res.status != http.StatusSeeOther || res.location() != "/work/dossiers/"+code {
				t.Fatalf("assign #%d: %d %s\n%s", i+1, res.status, res.location(), res.body)
			}
		}
		got := e.dossier(code)
		if count(got, "assign") != 1 || got.Version != v0+1 || got.Assignee != handler.PersonID {
			t.Fatalf("after a double submit: %d assign entries, version %d (was %d), assignee %q; want one", count(got, "assign"), got.Version, v0, got.Assignee)
		}
		mustContain(t, "handler's assigned inbox", e.get("/work?tab=assigned", handler).body, code, "Thẩm định hồ sơ")

		// Another handler of the division sees the dossier but cannot act.
		if _, _, ok := actionForm(e.get("/work/dossiers/"+code, handler2).body, "draft_result"); ok {
			t.Errorf("a handler who is not the assignee sees the draft form")
		}

		steps := []struct {
			who   *identity.Principal
			key   string
			extra url.Values
			files []upload
			state string
		}{
			{handler, "draft_result", url.Values{"comment": {"Đủ điều kiện cấp phép"}}, []upload{{"attachment", "du-thao.pdf", smallPDF("du thao")}}, "approving"},
			{head, "approve", nil, nil, "signing"},
			{director, "sign", url.Values{"signature": {"CKS-2026-0001"}}, nil, "transferring"},
			{handler, "transfer", nil, nil, "issuing"},
			{clerk, "issue", url.Values{"signature": {"15/GPXD"}}, nil, "returning"},
			{officer, "return", nil, nil, "returned"},
		}
		for _, st := range steps {
			who := st.who
			if st.key == "issue" {
				res := e.post("/work/dossiers/"+code+"/results", clerk, url.Values{"result_code": {"15/GPXD"}, "name": {"Giấy phép xây dựng"},
					"issuer": {"Sở Xây dựng"}, "valid_from": {"2026-03-05"}}, upload{"file", "giay-phep.pdf", smallPDF("giay phep")})
				if res.status != http.StatusSeeOther {
					t.Fatalf("add result: %d\n%s", res.status, res.body)
				}
			}
			res := e.actOnPage(code, who, st.key, st.extra, st.files...)
			if res.status != http.StatusSeeOther || res.flash() != "dossierui.flash.done" {
				t.Fatalf("%s by %s: %d\n%s", st.key, who.PersonID, res.status, res.body)
			}
			if s := e.dossier(code).State; s != st.state {
				t.Fatalf("after %s the dossier is in %s, want %s", st.key, s, st.state)
			}
		}

		// The end: no action forms, the timeline with every actor, the result.
		page := e.get("/work/dossiers/"+code, officer).body
		if strings.Contains(page, `name="action"`) {
			t.Errorf("a returned dossier still offers actions")
		}
		mustContain(t, "returned dossier", page, "Đã trả kết quả", "10 – Đã trả kết quả", "Giải quyết đúng hạn",
			"Nguyễn Thị Mai", "Trần Văn Hùng", "Võ Thị Lan", "Đặng Quốc Bảo", "Hoàng Thị Thu",
			"Phân công xử lý", "Dự thảo kết quả", "Đủ điều kiện cấp phép", "du-thao.pdf", "CKS-2026-0001", "15/GPXD – Giấy phép xây dựng")
	})
}

// Two division heads open the same dossier; the second to act gets a
// clear conflict message with the fresh state, and nothing is applied
// twice (§3: exactly one of two concurrent actions wins).
func TestStaleVersionShowsConflict(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.receive()
		first, firstFields, _ := actionForm(e.get("/work/dossiers/"+code, head).body, "assign")
		second, secondFields, _ := actionForm(e.get("/work/dossiers/"+code, head2).body, "assign")

		secondFields.Set("assignee", handler2.PersonID)
		if res := e.post(second, head2, secondFields); res.status != http.StatusSeeOther {
			t.Fatalf("second head assigns: %d\n%s", res.status, res.body)
		}
		firstFields.Set("assignee", handler.PersonID)
		res := e.post(first, head, firstFields)
		if res.status != http.StatusConflict {
			t.Fatalf("stale assignment: %d, want 409", res.status)
		}
		mustContain(t, "conflict page", res.body, "Hồ sơ vừa được người khác xử lý trước bạn", "Thẩm định hồ sơ", "Phan Văn Hai")
		got := e.dossier(code)
		if got.Assignee != handler2.PersonID || count(got, "assign") != 1 {
			t.Fatalf("assignee %q with %d assignments; want the first writer's only", got.Assignee, count(got, "assign"))
		}
	})
}

// Only officials with the right see forms and may post; anonymous
// visitors are sent to sign in.
func TestPermissions(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.receive()

		for _, path := range []string{"/work", "/work/receive", "/work/overview", "/work/dossiers/" + code} {
			res := e.get(path, nil)
			if res.status != http.StatusSeeOther || res.location() != "/login?next="+url.QueryEscape(path) {
				t.Errorf("anonymous %s: %d %s", path, res.status, res.location())
			}
		}
		_, fields, _ := actionForm(e.get("/work/dossiers/"+code, head).body, "assign")
		fields.Set("assignee", handler.PersonID)
		if res := e.post("/work/dossiers/"+code+"/actions", nil, fields); res.status != http.StatusSeeOther ||
			!strings.HasPrefix(res.location(), "/login?next=") {
			t.Errorf("anonymous post: %d %s", res.status, res.location())
		}

		// The agency's clerk may read the dossier but has no action at this
		// step: no forms, and a forged post is refused. A handler may only
		// extend (no assignment form) and may not assign either.
		page := e.get("/work/dossiers/"+code, clerk)
		if page.status != http.StatusOK || strings.Contains(page.body, `name="action"`) {
			t.Errorf("clerk's page: %d, forms shown: %v", page.status, strings.Contains(page.body, `name="action"`))
		}
		if res := e.post("/work/dossiers/"+code+"/actions", clerk, fields); res.status != http.StatusForbidden {
			t.Errorf("clerk posts the assignment: %d, want 403", res.status)
		}
		hp := e.get("/work/dossiers/"+code, handler).body
		if _, _, ok := actionForm(hp, "assign"); ok {
			t.Errorf("the handler sees the assignment form")
		}
		if _, _, ok := actionForm(hp, "extend"); !ok {
			t.Errorf("the handler does not see the extension form")
		}
		if res := e.post("/work/dossiers/"+code+"/actions", handler, fields); res.status != http.StatusForbidden {
			t.Errorf("handler posts the assignment: %d, want 403", res.status)
		}
		if res := e.get("/work/dossiers/"+code, stranger); res.status != http.StatusForbidden {
			t.Errorf("officer of another desk opens the dossier: %d, want 403", res.status)
		}
		if res := e.post("/work/dossiers/"+code+"/actions", stranger, fields); res.status != http.StatusForbidden {
			t.Errorf("officer of another desk posts: %d, want 403", res.status)
		}
		if got := e.dossier(code); got.State != "assigning" {
			t.Fatalf("refused posts changed the dossier: %s", got.State)
		}
		if res := e.get("/work/receive", head); res.status != http.StatusForbidden {
			t.Errorf("division head at the counter: %d, want 403", res.status)
		}
		if res := e.get("/work/overview", officer); res.status != http.StatusForbidden {
			t.Errorf("officer on the leaders' overview: %d, want 403", res.status)
		}
		if res := e.get("/work/dossiers/000.00.13.H99-260302-9999", officer); res.status != http.StatusNotFound {
			t.Errorf("unknown dossier: %d, want 404", res.status)
		}
		// Navigation by role.
		nav := func(who *identity.Principal) string { return e.get("/", who).body }
		if body := nav(head); strings.Contains(body, `href="/work/receive"`) || !strings.Contains(body, `href="/work"`) {
			t.Errorf("the head's navigation shows the counter or hides the inbox")
		}
		if body := nav(officer); !strings.Contains(body, `href="/work/receive"`) || strings.Contains(body, `href="/work/overview"`) {
			t.Errorf("the officer's navigation")
		}
		if body := nav(leader); !strings.Contains(body, `href="/work/overview"`) {
			t.Errorf("the leader's navigation lacks the overview")
		}
	})
}

// §3 step 4 and §6: during processing the handler asks for a supplement
// (every defect listed, the clock pauses) and the officer records it; an
// extension before the due date moves the appointment with form 04.
func TestSupplementAndExtension(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.receive()
		e.actOnPage(code, head, "assign", url.Values{"assignee": {handler.PersonID}})

		// The extension: reason and a new date are required.
		res := e.actOnPage(code, handler, "extend", url.Values{"comment": {"Cần lấy ý kiến thêm"}})
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "ngày hẹn trả mới") {
			t.Fatalf("extension without a date: %d\n%s", res.status, res.body)
		}
		mustContain(t, "refused extension", res.body, "Cần lấy ý kiến thêm") // the reason stays
		old := e.dossier(code).DueAt
		res = e.actOnPage(code, handler, "extend", url.Values{"comment": {"Cần lấy ý kiến thêm"}, "new_due": {"2026-04-10"}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("extension: %d\n%s", res.status, res.body)
		}
		got := e.dossier(code)
		if got.DueAt.In(web.Location).Format("2006-01-02") != "2026-04-10" || !got.DueAt.After(old) {
			t.Fatalf("due after extension = %s (was %s)", got.DueAt, old)
		}
		mustContain(t, "extended dossier", e.get("/work/dossiers/"+code, officer).body,
			"Phiếu xin lỗi và hẹn lại ngày trả kết quả", "mẫu 04", "10/04/2026 17:00")

		// The supplement request lists each line as a defect and pauses.
		page := e.get("/work/dossiers/"+code, handler).body
		mustContain(t, "handler's page", page, `name="defects"`, `name="new_due"`)
		res = e.actOnPage(code, handler, "request_supplement", url.Values{"comment": {"Giấy tờ đất không đọc được"},
			"defects": {"Bản sao giấy tờ đất bị mờ\r\n\r\nDiện tích chưa khớp bản vẽ\n"}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("supplement request: %d\n%s", res.status, res.body)
		}
		got = e.dossier(code)
		if got.Status != dossier.StatusSupplement || got.PausedAt.IsZero() {
			t.Fatalf("after the request: %s paused at %s", got.Status, got.PausedAt)
		}
		n := got.Notices[len(got.Notices)-1]
		if len(n.Defects) != 2 || n.Defects[1].Message != "Diện tích chưa khớp bản vẽ" {
			t.Fatalf("form 02 defects = %+v", n.Defects)
		}
		officerPage := e.get("/work/dossiers/"+code, officer).body
		mustContain(t, "paused dossier", officerPage, "Tạm dừng tính thời gian", "Bản sao giấy tờ đất bị mờ", "Đang tạm dừng",
			"5 – Yêu cầu bổ sung")

		// The officer records the supplement: the clock runs again and the
		// pause interval is on the page.
		e.clock.Set(at(2026, 3, 4, 9, 0))
		if res := e.actOnPage(code, officer, "supplement_received", nil); res.status != http.StatusSeeOther {
			t.Fatalf("supplement received: %d\n%s", res.status, res.body)
		}
		got = e.dossier(code)
		if !got.PausedAt.IsZero() || len(got.Pauses) != 1 || got.Pauses[0].EndedAt.IsZero() {
			t.Fatalf("pauses = %+v", got.Pauses)
		}
		mustContain(t, "resumed dossier", e.get("/work/dossiers/"+code, officer).body, "Thời gian tạm dừng", "04/03/2026 09:00")
	})
}

// §3 step 1.1 and 1.2 at the counter: a supplement request lists what the
// check finds and the officer's notes (form 02); a refusal needs a reason
// (form 03).
func TestCounterSupplementAndRefusal(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		f := applicantForm(e.receptionForm(permit))
		f.Set("doc.1.provided", "electronic")
		f.Set("op", "supplement")
		res := e.post("/work/receive", officer, f, upload{"doc.1.file", "don.pdf", smallPDF("don")})
		if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Vui lòng nhập lý do") {
			t.Fatalf("supplement request without a reason: %d", res.status)
		}
		f.Set("reason", "Hồ sơ thiếu giấy tờ")
		f.Set("notes", "Mang theo bản chính để đối chiếu")
		f.Set("doc.1.keep", regexp.MustCompile(`name="doc.1.keep" value="([^"]+)"`).FindStringSubmatch(res.body)[1])
		res = e.post("/work/receive", officer, f)
		if res.status != http.StatusSeeOther || res.flash() != "dossierui.flash.supplement" {
			t.Fatalf("supplement request: %d\n%s", res.status, res.body)
		}
		code := strings.TrimPrefix(res.location(), "/work/dossiers/")
		got := e.dossier(code)
		if got.Status != dossier.StatusSupplementRequested || len(got.Notices) != 1 {
			t.Fatalf("dossier after the request: %s, notices %+v", got.Status, got.Notices)
		}
		var msgs []string
		for _, df := range got.Notices[0].Defects {
			msgs = append(msgs, df.Message)
		}
		all := strings.Join(msgs, "\n")
		for _, want := range []string{"Quyết định phê duyệt dự án", "Bản vẽ thiết kế xây dựng", "Giấy tờ hợp pháp về đất đai", "Mang theo bản chính để đối chiếu"} {
			if !strings.Contains(all, want) {
				t.Errorf("form 02 lacks %q:\n%s", want, all)
			}
		}

		// A refusal.
		f = applicantForm(e.receptionForm(permit))
		f.Set("op", "refuse")
		if res := e.post("/work/receive", officer, f); res.status != http.StatusUnprocessableEntity {
			t.Fatalf("refusal without a reason: %d", res.status)
		}
		f.Set("reason", "Thủ tục không thuộc thẩm quyền")
		res = e.post("/work/receive", officer, f)
		if res.status != http.StatusSeeOther || res.flash() != "dossierui.flash.refused" {
			t.Fatalf("refusal: %d\n%s", res.status, res.body)
		}
		code = strings.TrimPrefix(res.location(), "/work/dossiers/")
		mustContain(t, "refused dossier", e.get("/work/dossiers/"+code, officer).body, "3 – Không tiếp nhận",
			"Phiếu từ chối tiếp nhận", "Thủ tục không thuộc thẩm quyền")
	})
}

// The leaders' overview counts open work by unit; an English page reads
// in English.
func TestOverviewAndEnglish(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		first := e.receive()
		e.receive()
		e.actOnPage(first, head, "assign", url.Values{"assignee": {handler.PersonID}})

		res := e.get("/work/overview", leader)
		if res.status != http.StatusOK || !strings.Contains(res.body, "Chọn cơ quan") {
			t.Fatalf("province-wide overview without an agency: %d", res.status)
		}
		res = e.get("/work/overview?agency="+dept, leader)
		if res.status != http.StatusOK {
			t.Fatalf("overview: %d", res.status)
		}
		// One dossier waits for assignment, one is with the handler: both open
		// in the division.
		row := regexp.MustCompile(`(?s)<th scope="row">[^<]*<span class="muted">\(` + regexp.QuoteMeta(division) + `\)</span></th>\s*<td>(\d+)</td>`).
			FindStringSubmatch(res.body)
		if row == nil || row[1] != "2" {
			t.Fatalf("division row = %v, want 2 open\n%s", row, res.body)
		}
		if res := e.get("/work/overview", director); res.status != http.StatusOK || !strings.Contains(res.body, division) {
			t.Errorf("the agency head's overview of the agency: %d", res.status)
		}

		// English.
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/work", nil)
		en := e.do(req, head, "en")
		mustContain(t, "English inbox", en.body, "Work inbox", "My queue", "Assigned to me", "Near deadline", "On time", "Assign a handler")
		req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/work/dossiers/"+first, nil)
		en = e.do(req, handler, "en")
		mustContain(t, "English dossier page", en.body, "Dossier "+first, "Appointment date", "Timeline", "Draft the result",
			"Extend with an apology letter")
		if strings.Contains(en.body, "Hồ sơ cần xử lý") {
			t.Errorf("the English page has Vietnamese labels")
		}
		// No message key shows through untranslated, in either language.
		for _, who := range []*identity.Principal{officer, head, handler, leader} {
			for _, lang := range []string{"vi", "en"} {
				for _, path := range []string{"/work", "/work/dossiers/" + first, "/work/receive?procedure=" + permit, "/work/overview?agency=" + dept} {
					req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
					if res := e.do(req, who, lang); res.status == http.StatusOK && strings.Contains(res.body, "dossierui.") {
						i := strings.Index(res.body, "dossierui.")
						t.Errorf("%s %s as %s shows a message key: %s", lang, path, who.PersonID, res.body[i:min(i+60, len(res.body))])
					}
				}
			}
		}
	})
}
