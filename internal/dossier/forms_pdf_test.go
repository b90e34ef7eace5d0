package dossier_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/platform/pdf"
)

// directory names the test officials.
type directory map[string]string

func (d directory) GetPerson(ctx context.Context, id string) (identity.Person, error) {
	if n, ok := d[id]; ok {
		return identity.Person{ID: id, FullName: n}, nil
	}
	return identity.Person{}, errors.New("no such person")
}

var officials = directory{officer.PersonID: "Trần Thị Bích Ngọc", head.PersonID: "Đặng Quốc Hưng", handler.PersonID: "Lê Văn Cường"}

const baseURL = "https://dichvucong.example.vn"

func newFormsAPI(t *testing.T, d *db.DB, reg *pdf.Registry) *apiEnv {
	t.Helper()
	e := newEnvCfg(t, d, dossier.Config{PublicBaseURL: baseURL + "/", Place: "Bình Phước", People: officials, Forms: reg})
	mux := http.NewServeMux()
	dossier.NewHandlers(e.s).Routes(mux)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := users[r.Header.Get("X-Test-User")]; p != nil {
			r = r.WithContext(identity.WithPrincipal(r.Context(), p))
		}
		mux.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(httpx.AssignRequestID(h))
	t.Cleanup(srv.Close)
	return &apiEnv{env: e, srv: srv}
}

// pdfText extracts the text of a PDF with pdftotext, words separated by
// single spaces.
func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed")
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.60q", b)
	}
	in := filepath.Join(t.TempDir(), "form.pdf")
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// downloadForm fetches a form through the API and checks it is a PDF
// attachment named after the dossier and the form.
func downloadForm(t *testing.T, a *apiEnv, code, form, user string) string {
	t.Helper()
	r := a.do(t, "GET", "/api/v1/dossiers/"+code+"/forms/"+form, user, nil)
	if r.status != 200 {
		t.Fatalf("form %s of %s: %d %s", form, code, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/pdf" {
		t.Fatalf("form %s: content type %q", form, ct)
	}
	want := `attachment; filename=` + code + "-" + form + ".pdf"
	if cd := r.header.Get("Content-Disposition"); cd != want {
		t.Fatalf("form %s: Content-Disposition %q, want %q", form, cd, want)
	}
	return pdfText(t, r.body)
}

func mustContain(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s does not print %q; text:\n%s", what, w, text)
		}
	}
}

// The forms of a received dossier through the API: 01 and 06 print the
// code, the applicant with diacritics, the officials by name and the lookup
// address; a form the state does not allow is a 409 in Vietnamese; the
// forms need the right to view the dossier.
func TestFormsAPI(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		a := newFormsAPI(t, d, nil)
		a.clock.Set(at(2026, 3, 2, 9, 0))
		rc := a.receive("Nguyễn Thị Ánh Tuyết")

		txt := downloadForm(t, a, rc.Code, "01", "officer-1")
		mustContain(t, "form 01", txt, "GIẤY TIẾP NHẬN HỒ SƠ", rc.Code, "Nguyễn Thị Ánh Tuyết", "Trần Thị Bích Ngọc",
			"Cấp giấy phép xây dựng mới", "Bản vẽ thiết kế xây dựng", "75.000 đồng", "Bình Phước")
		if !strings.Contains(strings.ReplaceAll(txt, " ", ""), baseURL+"/lookup?code="+rc.Code) {
			t.Errorf("form 01 does not print the lookup address; text:\n%s", txt)
		}

		a.clock.Set(at(2026, 3, 2, 10, 0))
		a.act(dossier.ActInput{DossierCode: rc.Code, Action: "assign", Actor: head, Assignee: handler.PersonID})
		txt = downloadForm(t, a, rc.Code, "06", "handler-1")
		mustContain(t, "form 06", txt, "PHIẾU KIỂM SOÁT QUÁ TRÌNH", rc.Code, "Nguyễn Thị Ánh Tuyết",
			"Đặng Quốc Hưng", "Lê Văn Cường", "Trần Thị Bích Ngọc", "Đúng hạn")

		// Form 03 of a dossier that was received, not refused: 409.
		r := a.do(t, "GET", "/api/v1/dossiers/"+rc.Code+"/forms/03", "officer-1", nil)
		p := r.problem(t)
		if r.status != 409 || p.Code != "dossier.form_not_available" || !strings.Contains(p.Detail+p.Title, "mẫu 03") {
			t.Fatalf("form 03 of a received dossier: %d %s; want 409 dossier.form_not_available in Vietnamese", r.status, r.body)
		}
		if r := a.do(t, "GET", "/api/v1/dossiers/"+rc.Code+"/forms/07", "officer-1", nil); r.status != 404 {
			t.Fatalf("form 07 of a dossier: %d %s; want 404", r.status, r.body)
		}
		if r := a.do(t, "GET", "/api/v1/dossiers/"+rc.Code+"/forms/01", "", nil); r.status != 401 {
			t.Fatalf("anonymous: %d %s; want 401", r.status, r.body)
		}
		if r := a.do(t, "GET", "/api/v1/dossiers/"+rc.Code+"/forms/01", "stranger-1", nil); r.status != 403 {
			t.Fatalf("official of another unit: %d %s; want 403", r.status, r.body)
		}

		// A refused dossier prints form 03 with the reason, and no form 01.
		sub := a.completeSubmission("Phạm Văn Dũng")
		res, err := a.s.Refuse(a.ctx, dossier.RefuseInput{Submission: sub, Placement: placement,
			Reason: "Công trình thuộc thẩm quyền cấp phép của UBND xã", Actor: officer})
		if err != nil {
			t.Fatal(err)
		}
		txt = downloadForm(t, a, res.Code, "03", "officer-1")
		mustContain(t, "form 03", txt, res.Code, "Phạm Văn Dũng", "Công trình thuộc thẩm quyền cấp phép của UBND xã")
		if r := a.do(t, "GET", "/api/v1/dossiers/"+res.Code+"/forms/01", "officer-1", nil); r.status != 409 {
			t.Fatalf("form 01 of a refused dossier: %d %s; want 409", r.status, r.body)
		}
	})
}

// A dossier prints with the template in force when it was received: a
// newer version applies to dossiers received from its effective date only.
func TestFormTemplatePinnedAtReception(t *testing.T) {
	d := dbtest.SQLite(t, migrations())
	reg, err := pdf.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	v1, err := reg.Template(pdf.FormReceipt, at(2026, 3, 1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	src := string(v1.Source())
	for old, repl := range map[string]string{`"version": 1`: `"version": 2`, `"effective_from": "2025-07-01"`: `"effective_from": "2026-03-10"`,
		`GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"`: `GIẤY BIÊN NHẬN HỒ SƠ (MẪU TỈNH)"`} {
		if !strings.Contains(src, old) {
			t.Fatalf("form01 v1 source lacks %q", old)
		}
		src = strings.Replace(src, old, repl, 1)
	}
	if _, err := reg.RegisterJSON([]byte(src)); err != nil {
		t.Fatal(err)
	}
	a := newFormsAPI(t, d, reg)
	a.clock.Set(at(2026, 3, 2, 9, 0))
	before := a.receive("Hoàng Thị Em")
	a.clock.Set(at(2026, 3, 10, 9, 0))
	after := a.receive("Vũ Văn Phúc")

	old := downloadForm(t, a, before.Code, "01", "officer-1")
	mustContain(t, "form 01 of a dossier received before the new version", old, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", "Hoàng Thị Em")
	cur := downloadForm(t, a, after.Code, "01", "officer-1")
	mustContain(t, "form 01 of a dossier received under the new version", cur, "GIẤY BIÊN NHẬN HỒ SƠ (MẪU TỈNH)", "Vũ Văn Phúc")

	// The service refuses with sentinels callers can test.
	if _, err := a.s.Form(a.ctx, before.Code, "05", officer); !errors.Is(err, dossier.ErrInvalidAction) {
		t.Fatalf("form 05 of a dossier being processed: %v; want ErrInvalidAction", err)
	}
	if _, err := a.s.Form(a.ctx, before.Code, "99", officer); !errors.Is(err, dossier.ErrNotFound) {
		t.Fatalf("form 99: %v; want ErrNotFound", err)
	}
}

// Form 06 judges each hand-off against the step's own deadline (§7: "each
// hand-off as early/on time/late"): the division head assigns the dossier
// after the 4 office hours of the assignment step, so that hand-off is late
// although the dossier is well within its 10 working days.
func TestFormControlJudgesEachStep(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		a := newFormsAPI(t, d, nil)
		a.clock.Set(at(2026, 3, 2, 9, 0))
		rc := a.receive("Nguyễn Thị Ánh Tuyết")
		a.clock.Set(at(2026, 3, 3, 16, 0)) // next day: the 4 hours ran out on Monday afternoon
		a.act(dossier.ActInput{DossierCode: rc.Code, Action: "assign", Actor: head, Assignee: handler.PersonID})

		got := a.get(rc.Code, head)
		var receive dossier.TimelineEntry
		for _, h := range got.Timeline {
			if h.Action == "receive" {
				receive = h
			}
		}
		sameTime(t, "assignment step due (4 office hours)", receive.StepDueAt, at(2026, 3, 2, 15, 0))
		if !receive.StepDueAt.Before(receive.DueAt) {
			t.Fatalf("step due %v is not before the dossier's due %v", receive.StepDueAt, receive.DueAt)
		}
		txt := downloadForm(t, a, rc.Code, "06", "head-1")
		mustContain(t, "form 06", txt, "Quá hạn")
	})
}

// Form 07 lists every dossier the desk received in the period, and only
// those; it needs the right to view the desk's dossiers.
func TestTrackingBook(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		a := newFormsAPI(t, d, nil)
		a.clock.Set(at(2026, 3, 2, 9, 0))
		first := a.receive("Nguyễn Thị Ánh Tuyết")
		a.clock.Set(at(2026, 3, 3, 9, 0))
		second := a.receive("Phạm Văn Dũng")
		a.clock.Set(at(2026, 4, 1, 9, 0))
		later := a.receive("Hoàng Minh Châu")

		r := a.do(t, "GET", "/api/v1/units/"+desk+"/tracking-book?from=2026-03-01&to=2026-03-31", "officer-1", nil)
		if r.status != 200 {
			t.Fatalf("tracking book: %d %s", r.status, r.body)
		}
		txt := pdfText(t, []byte(r.body))
		// Codes wrap inside the narrow column: compare without hyphens and spaces.
		flat := strings.NewReplacer(" ", "", "-", "").Replace
		mustContain(t, "form 07", flat(txt), flat(first.Code), flat(second.Code))
		mustContain(t, "form 07", txt, "SỔ THEO DÕI HỒ SƠ", "Nguyễn Thị Ánh Tuyết", "Phạm Văn Dũng")
		if strings.Contains(flat(txt), flat(later.Code)) || strings.Contains(txt, "Hoàng Minh Châu") {
			t.Fatalf("form 07 of March lists an April dossier:\n%s", txt)
		}
		if r := a.do(t, "GET", "/api/v1/units/"+desk+"/tracking-book?from=2026-03-01&to=2026-03-31", "stranger-1", nil); r.status != 403 {
			t.Fatalf("official of another desk: %d %s; want 403", r.status, r.body)
		}
		for _, q := range []string{"from=2026-03-01&to=2026-12-31", "from=2026-03-31&to=2026-03-01", "from=01/03/2026&to=2026-03-31", "to=2026-03-31"} {
			r := a.do(t, "GET", "/api/v1/units/"+desk+"/tracking-book?"+q, "officer-1", nil)
			if p := r.problem(t); r.status != 422 || p.Detail == "" {
				t.Fatalf("%s: %d %s; want 422 with a Vietnamese detail", q, r.status, r.body)
			}
		}
	})
}
