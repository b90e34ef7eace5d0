package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/portal"
)

func TestMessagesComplete(t *testing.T) {
	var b i18n.Bundle
	if err := b.AddFS(portal.Messages(), "messages"); err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); err != nil {
		t.Error(err)
	}
}

// one-stop §9: applying online needs an account; the form is pre-filled
// from it (§13: no re-typing what the state holds).
func TestApplyFormNeedsSignInAndIsPrefilled(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		res := e.get("/apply/"+permit, nil)
		if res.status != http.StatusSeeOther || res.location() != "/login?next="+url.QueryEscape("/apply/"+permit) {
			t.Fatalf("anonymous: %d %s", res.status, res.location())
		}
		res = e.get("/apply/"+permit, e.an)
		if res.status != http.StatusOK {
			t.Fatalf("form: %d\n%s", res.status, res.body)
		}
		mustContain(t, "the form", res.body, `id="apply-form"`, `value="Nguyễn Văn An"`, `value="001090012345"`,
			`id="applicant_phone" name="applicant.phone" value="0912`, `value="an@example.vn"`, `name="fd.dien_tich"`, `name="doc.4.file"`, `id="save-draft"`,
			`<label for="fd_so_tang">Số tầng`, "Giấy tờ hợp pháp về đất đai")
		// A procedure that cannot be submitted online has no form.
		if res := e.get("/apply/9.999999", e.an); res.status != http.StatusNotFound {
			t.Errorf("unknown procedure: %d", res.status)
		}
	})
}

// one-stop §9, §13: a validation error never loses what was typed or
// uploaded: the draft is saved first, the errors sit next to their inputs,
// and the draft is listed under "Hồ sơ nháp".
func TestDraftKeptAfterValidationError(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		f := permitForm("review")
		f.Del("fd.dien_tich")
		f.Set("fd.so_tang", "ba")
		res := e.post("/apply/"+permit, e.an, f, upload{"doc.1.file", "don.pdf", smallPDF("don")},
			upload{"doc.2.file", "virus.exe", []byte("MZ not a document")})
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("invalid form: %d\n%s", res.status, res.body)
		}
		mustContain(t, "the refused form", res.body, `id="error-summary"`, `autofocus`,
			`value="Thửa 12, tờ bản đồ 5"`, // typed, kept
			`value="ba"`,                   // wrong, kept as typed
			"don.pdf", "SHA-256",           // the good upload, with its hash
			"virus.exe", // the refused upload, named in its error
			`aria-describedby="docs-hint doc_2-err"`)
		// The draft exists and holds everything.
		drafts := e.get("/my/drafts", e.an)
		m := regexpFind(`href="(/my/drafts/[A-Za-z0-9]+)"`, drafts.body)
		if drafts.status != http.StatusOK || m == "" {
			t.Fatalf("drafts list: %d\n%s", drafts.status, drafts.body)
		}
		page := e.get(m, e.an)
		mustContain(t, "the draft", page.body, `value="Thửa 12, tờ bản đồ 5"`, "don.pdf", `action="`+m+`"`)
		// Review with the rest: every defect is listed at once, next to its input.
		f = permitForm("review")
		f.Del("fd.dien_tich")
		res = e.post(m, e.an, f)
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("incomplete review: %d", res.status)
		}
		mustContain(t, "the incomplete form", res.body, `id="fd_dien_tich-err"`, `aria-describedby="fd_dien_tich-err"`,
			`href="#doc_2_file"`, `href="#doc_3_file"`, `href="#doc_4_file"`, "Quyết định phê duyệt dự án")
		// Another account sees none of it.
		if res := e.get(m, e.bin); res.status != http.StatusNotFound {
			t.Errorf("another applicant's draft: %d", res.status)
		}
		if res := e.get("/my/drafts", e.bin); strings.Contains(res.body, m) {
			t.Error("another applicant lists my draft")
		}
	})
}

// one-stop §9: apply with uploads → review → submit; a double submit (two
// posts at once, as a double click on a slow network does) records one
// dossier; the receipt names its code and the next steps.
func TestApplySubmitOnceEvenOnDoubleSubmit(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		res := e.post("/apply/"+permit, e.an, permitForm("save"), allDocs()...)
		if res.status != http.StatusSeeOther || !draftRe.MatchString(res.location()) {
			t.Fatalf("save: %d %s\n%s", res.status, res.location(), res.body)
		}
		draft := res.location()
		res = e.post(draft, e.an, url.Values{"csrf_token": {"test-token"}, "op": {"review"}, "applicant.type": {"citizen"},
			"applicant.name": {"Nguyễn Văn An"}, "applicant.personal_id": {"001090012345"}, "applicant.phone": {"0912 345 678"},
			"fd.chu_dau_tu": {"Nguyễn Văn An"}, "fd.dia_diem": {"Thửa 12"}, "fd.dien_tich": {"85,5"}, "fd.so_tang": {"3"}})
		if res.status != http.StatusSeeOther || res.location() != draft+"/review" {
			t.Fatalf("review: %d %s\n%s", res.status, res.location(), res.body)
		}
		review := e.get(draft+"/review", e.an)
		mustContain(t, "the review", review.body, `id="submit-dossier"`, "Thửa 12", "ban-ve.png", "150.000 ₫",
			"Trung tâm Phục vụ hành chính công tỉnh")
		var wg sync.WaitGroup
		locs := make([]string, 2)
		for i := range locs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				locs[i] = e.post(draft+"/submit", e.an, url.Values{"csrf_token": {"test-token"}}).location()
			}()
		}
		wg.Wait()
		if locs[0] == "" || locs[0] != locs[1] || !strings.HasSuffix(locs[0], "?submitted=1") {
			t.Fatalf("double submit went to %q and %q", locs[0], locs[1])
		}
		// And a third, later.
		if again := e.post(draft+"/submit", e.an, url.Values{"csrf_token": {"test-token"}}); again.location() != locs[0] {
			t.Errorf("submit again: %s", again.location())
		}
		mine, err := e.svc.Mine(e.ctx, e.an.PersonID, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(mine.Items) != 1 {
			t.Fatalf("dossiers after a double submit: %d", len(mine.Items))
		}
		code := mine.Items[0].Code
		dd, err := e.svc.GetMine(e.ctx, code, e.an.PersonID)
		if err != nil {
			t.Fatal(err)
		}
		if dd.Channel != dossier.ChannelOnline || len(dd.Components) != 4 || len(dd.Components[2].Files) != 1 ||
			!strings.Contains(string(dd.FormData), `"dien_tich":85.5`) || dd.Applicant.Phone != "0912 345 678" {
			t.Errorf("recorded dossier: channel %d, components %+v, form %s", dd.Channel, dd.Components, dd.FormData)
		}
		receipt := e.get(locs[0], e.an)
		mustContain(t, "the receipt", receipt.body, `id="receipt"`, `id="dossier-code">`+code, "Mới nộp, chờ tiếp nhận", `id="timeline"`)
		list := e.get("/my/dossiers", e.an)
		mustContain(t, "my dossiers", list.body, code, "Cấp giấy phép xây dựng mới")
		// The submitted draft left "Hồ sơ nháp" and cannot change.
		if res := e.get("/my/drafts", e.an); strings.Contains(res.body, draft+`"`) {
			t.Error("a submitted draft is still listed")
		}
		if res := e.post(draft, e.an, permitForm("save")); res.status != http.StatusSeeOther || !strings.HasPrefix(res.location(), "/my/dossiers/") {
			t.Errorf("editing a submitted draft: %d %s", res.status, res.location())
		}
		// Another account: not found, files too.
		if res := e.get("/my/dossiers/"+code, e.bin); res.status != http.StatusNotFound {
			t.Errorf("another applicant's dossier: %d", res.status)
		}
		if res := e.get("/my/dossiers/"+code+"/files/"+dd.Components[0].Files[0].Hash, e.bin); res.status != http.StatusNotFound {
			t.Errorf("another applicant's file: %d", res.status)
		}
		if res := e.get("/my/dossiers/"+code+"/files/"+dd.Components[0].Files[0].Hash, e.an); res.status != http.StatusOK ||
			!strings.HasPrefix(res.body, "%PDF") || !strings.Contains(res.header.Get("Content-Disposition"), "attachment") {
			t.Errorf("my file: %d %s", res.status, res.header.Get("Content-Disposition"))
		}
		if res := e.get("/my/dossiers", e.bin); strings.Contains(res.body, code) {
			t.Error("another applicant lists my dossier")
		}
	})
}

// one-stop §9, §10: a document already in the applicant's data store is
// cited instead of uploaded, and the dossier records it as reused; the
// autosave script's post (op=autosave) creates the draft of a fresh form and
// answers where it lives.
func TestReuseAndAutosave(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		f, err := e.svc.PutFile(e.ctx, "so-do.pdf", strings.NewReader(string(smallPDF("so do"))))
		if err != nil {
			t.Fatal(err)
		}
		e.store.add(e.an.PersonID, portal.StoredDoc{Ref: "ds:land-1@1", Name: "Giấy tờ hợp pháp về đất đai", Issuer: "Sở Nông nghiệp và Môi trường",
			FileName: "so-do.pdf", Hash: f.Hash})
		form := e.get("/apply/"+permit, e.an)
		mustContain(t, "the form", form.body, `<select id="doc_4_reuse" name="doc.4.reuse">`, `value="ds:land-1@1"`)
		if strings.Contains(e.get("/apply/"+permit, e.bin).body, "ds:land-1@1") {
			t.Error("another applicant is offered my stored document")
		}

		auto := permitForm("autosave")
		res := e.post("/apply/"+permit, e.an, auto)
		draft := res.header.Get("X-Draft")
		if res.status != http.StatusNoContent || !draftRe.MatchString(draft) {
			t.Fatalf("autosave: %d %q", res.status, draft)
		}
		if page := e.get(draft, e.an); !strings.Contains(page.body, `value="Thửa 12, tờ bản đồ 5"`) {
			t.Error("the autosaved draft lost what was typed")
		}
		rf := permitForm("review")
		rf.Set("doc.4.reuse", "ds:land-1@1")
		res = e.post(draft, e.an, rf, allDocs()[:3]...)
		if res.status != http.StatusSeeOther {
			t.Fatalf("review with a reused document: %d\n%s", res.status, res.body)
		}
		res = e.post(draft+"/submit", e.an, url.Values{"csrf_token": {"test-token"}})
		code, _, _ := strings.Cut(strings.TrimPrefix(res.location(), "/my/dossiers/"), "?")
		dd, err := e.svc.GetMine(e.ctx, code, e.an.PersonID)
		if err != nil {
			t.Fatalf("submit: %d %s: %v", res.status, res.location(), err)
		}
		if c := dd.Components[3]; !c.Reused || c.ReuseRef != "ds:land-1@1" {
			t.Errorf("component 4: %+v", c)
		}
	})
}

// Every status and every rating criterion reads in plain words in both
// languages, and the English form is in English.
func TestWordsForEveryStatus(t *testing.T) {
	for _, s := range dossier.Statuses() {
		for _, k := range []string{"portal.status." + string(s), "portal.status." + string(s) + ".what"} {
			if !i18n.Has(k) {
				t.Errorf("no message %s", k)
			}
		}
	}
	if n := len(dossier.RatingCriteria()); n != 12 {
		t.Errorf("rating criteria: %d", n)
	}
	e := newEnv(t, dbtest.SQLite(t, migrations()))
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/apply/"+permit, nil)
	req.Header.Set("Accept-Language", "en")
	res := e.do(req, e.an)
	mustContain(t, "the English form", res.body, "Apply online", "Save draft", "Check and review", "Personal ID number")
}

// §2/§9: the applicant chooses how to receive the result; by post needs
// the address, which the review shows and the dossier keeps.
func TestResultByPost(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		who := e.applicant("hoa", "Nguyễn Thị Hoa", "001190054321", "0912345678", "")
		form := permitForm("review")
		form.Set("return_method", "post")
		res := e.post("/apply/"+permit, who, form, allDocs()...)
		if res.status != http.StatusUnprocessableEntity && res.status != http.StatusOK || !strings.Contains(res.body, `id="delivery_address-err"`) {
			t.Fatalf("post without an address: %d; want the address marked\n%s", res.status, res.body)
		}
		form.Set("delivery_address", "5 Trần Hưng Đạo, phường Tân Phú")
		draft := regexpFind(`action="(/my/drafts/[A-Za-z0-9]+)"`, res.body)
		res = e.post(draft, who, form)
		if res.status != http.StatusSeeOther || !strings.HasSuffix(res.location(), "/review") {
			t.Fatalf("with the address: %d %s\n%s", res.status, res.location(), res.body)
		}
		review := e.get(res.location(), who)
		mustContain(t, "review", review.body, "Qua dịch vụ bưu chính", "5 Trần Hưng Đạo")
		res = e.post(draft+"/submit", who, url.Values{"csrf_token": {"test-token"}})
		code, _, _ := strings.Cut(strings.TrimPrefix(res.location(), "/my/dossiers/"), "?")
		got, err := e.svc.GetMine(e.ctx, code, who.PersonID)
		if err != nil || got.ReturnMethod != "post" || got.DeliveryAddress != "5 Trần Hưng Đạo, phường Tân Phú" {
			t.Fatalf("dossier %q: %+v %v", code, got, err)
		}
		page := e.get("/my/dossiers/"+code, who)
		mustContain(t, "dossier page", page.body, `id="shipments"`, "EB123456789VN", "Đang phát")
	})
}
