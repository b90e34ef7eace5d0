package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

const division = "000.02.07.H99" // the building division of Sở Xây dựng

// one-stop §3 step 1.1, §9, §13: a supplement request lists what to
// supply; the applicant uploads only that, and the dossier moves on; the
// dossier page shows the fee with a payment button (payment wired) and the
// timeline in plain words; withdrawal needs a reason and a confirmation;
// a finished dossier is rated once.
func TestMyDossierSupplementWithdrawRate(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		code := e.submitPermit(e.an)
		if _, err := e.svc.RequestSupplement(e.ctx, dossier.SupplementRequestInput{DossierCode: code, Actor: e.officer,
			Reason: "Bản vẽ thiết kế bị mờ, không đọc được", Defects: []dossier.Defect{{Field: "components[2]", Component: 3,
				Code: dossier.CodeNoFile, Message: "Bản vẽ thiết kế xây dựng: nộp lại bản rõ nét."}}}); err != nil {
			t.Fatal(err)
		}
		page := e.get("/my/dossiers/"+code, e.an)
		mustContain(t, "the supplement request", page.body, `id="respond-form"`, "Bản vẽ thiết kế bị mờ", "nộp lại bản rõ nét",
			`name="doc.3.file"`, "Yêu cầu bổ sung hồ sơ")
		if strings.Contains(page.body, `name="doc.1.file"`) {
			t.Error("the supplement form asks for a document the request did not name")
		}
		hidden := formHidden(page.body, "respond-form")
		res := e.post("/my/dossiers/"+code+"/respond", e.an, hidden, upload{"doc.3.file", "ban-ve-moi.png", smallPNG()})
		if res.status != http.StatusSeeOther {
			t.Fatalf("respond: %d\n%s", res.status, res.body)
		}
		dd, err := e.svc.GetMine(e.ctx, code, e.an.PersonID)
		if err != nil {
			t.Fatal(err)
		}
		supplied := false
		for _, f := range dd.Components[2].Files {
			supplied = supplied || f.Name == "ban-ve-moi.png"
		}
		if dd.Status != dossier.StatusNew || !supplied {
			t.Errorf("after the supplement: status %s, component 3 %+v", dd.Status, dd.Components[2].Files)
		}
		// Received at the desk: the fee is due, payment is offered.
		if _, err := e.svc.Receive(e.ctx, dossier.ReceiveInput{DossierCode: code, Placement: dossier.Placement{DivisionUnit: division},
			Actor: e.officer}); err != nil {
			t.Fatal(err)
		}
		page = e.get("/my/dossiers/"+code, e.an)
		mustContain(t, "the received dossier", page.body, "Đã tiếp nhận", "Bộ phận Một cửa tiếp nhận hồ sơ", "150.000 ₫",
			`action="/payments/start?dossier=`+url.QueryEscape(code)+`&amp;fee=1"`, `id="withdraw-form"`)
		// Withdraw: reason and confirmation required; what was typed stays.
		hidden = formHidden(page.body, "withdraw-form")
		hidden.Set("reason", "Tôi đổi thiết kế")
		res = e.post("/my/dossiers/"+code+"/withdraw", e.an, hidden)
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("withdraw without confirmation: %d", res.status)
		}
		mustContain(t, "the refused withdrawal", res.body, `id="confirm-err"`, "Tôi đổi thiết kế")
		hidden.Set("confirm", "1")
		if res = e.post("/my/dossiers/"+code+"/withdraw", e.an, hidden); res.status != http.StatusSeeOther {
			t.Fatalf("withdraw: %d\n%s", res.status, res.body)
		}
		page = e.get("/my/dossiers/"+code, e.an)
		mustContain(t, "the withdrawn dossier", page.body, "Đã rút hồ sơ", "Tôi đổi thiết kế", `id="rating-form"`, "Mức độ hài lòng chung")
		if strings.Contains(page.body, "/payments/start") {
			t.Error("payment offered on an ended dossier")
		}
		// Rate once.
		rating := url.Values{"csrf_token": {"test-token"}, "score.overall": {"4"}, "score.attitude": {"5"}, "comment": {"Nhanh gọn"}}
		if res = e.post("/my/dossiers/"+code+"/rating", e.an, rating); res.status != http.StatusSeeOther {
			t.Fatalf("rate: %d\n%s", res.status, res.body)
		}
		rt, err := e.svc.RatingOf(e.ctx, code, e.an.PersonID)
		if err != nil || rt == nil || rt.Scores["overall"] != 4 {
			t.Fatalf("rating: %+v %v", rt, err)
		}
		rating.Set("score.overall", "1")
		e.post("/my/dossiers/"+code+"/rating", e.an, rating)
		if rt, _ := e.svc.RatingOf(e.ctx, code, e.an.PersonID); rt.Scores["overall"] != 4 {
			t.Error("rated twice")
		}
		page = e.get("/my/dossiers/"+code, e.an)
		if strings.Contains(page.body, `id="rating-form"`) || !strings.Contains(page.body, "Mức độ hài lòng chung: 4/5") {
			t.Error("the rated dossier still offers the rating form or hides the rating")
		}
		// Another applicant can do none of it.
		if res := e.post("/my/dossiers/"+code+"/rating", e.bin, rating); res.status != http.StatusNotFound {
			t.Errorf("another applicant rates: %d", res.status)
		}
	})
}
