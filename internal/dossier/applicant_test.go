package dossier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/workflow"
)

// submitOnline records a portal dossier of owner (§2 online channel).
func (e *env) submitOnline(owner, key string) dossier.Receipt {
	e.t.Helper()
	sub := e.completeSubmission("Nguyễn Thị Hoa")
	sub.Channel, sub.Owner = dossier.ChannelOnline, owner
	for i := range sub.Components {
		sub.Components[i].Provided, sub.Components[i].Quantity = catalog.FormElectronic, 0
		if len(sub.Components[i].Files) == 0 {
			f := e.put("giay-to.pdf", smallPDF("giay to"))
			sub.Components[i].Files = []dossier.FileRef{{Name: f.Name, Hash: f.Hash}}
		}
	}
	rc, err := e.s.Submit(e.ctx, dossier.SubmitInput{Submission: sub, Placement: placement, IdempotencyKey: key})
	if err != nil {
		e.t.Fatalf("submit: %v", err)
	}
	return rc
}

// §9: the applicant follows their own dossiers; nobody else's.
func TestMineAndGetMine(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		a1 := e.submitOnline("acc-hoa", "k1")
		again := e.submitOnline("acc-hoa", "k1")
		if again.Code != a1.Code {
			t.Fatalf("double submit created %s and %s", a1.Code, again.Code)
		}
		a2 := e.submitOnline("acc-hoa", "k2")
		e.submitOnline("acc-other", "k1") // same key, other owner: its own dossier
		e.receive("Counter Applicant")    // no owner

		page, err := e.s.Mine(e.ctx, "acc-hoa", 1, "")
		if err != nil || len(page.Items) != 1 || page.Items[0].Code != a2.Code || page.Next == "" {
			t.Fatalf("first page = %+v, %v; want %s and a next page", page, err, a2.Code)
		}
		page, err = e.s.Mine(e.ctx, "acc-hoa", 1, page.Next)
		if err != nil || len(page.Items) != 1 || page.Items[0].Code != a1.Code {
			t.Fatalf("second page = %+v, %v; want %s", page, err, a1.Code)
		}
		if _, err := e.s.GetMine(e.ctx, a1.Code, "acc-other"); !errors.Is(err, dossier.ErrNotFound) {
			t.Fatalf("another account reads my dossier: %v, want ErrNotFound", err)
		}
		got, err := e.s.GetMine(e.ctx, a1.Code, "acc-hoa")
		if err != nil || got.Owner != "acc-hoa" || len(got.Timeline) != 1 {
			t.Fatalf("get mine = %+v, %v", got, err)
		}
		// Before reception the applicant may withdraw; nothing else.
		if len(got.Actions) != 1 || got.Actions[0].Key != "withdraw" {
			t.Fatalf("applicant actions = %+v; want withdraw only", got.Actions)
		}
		f := got.Components[2].Files[0]
		if _, rc, err := e.s.OpenMineFile(e.ctx, a1.Code, "acc-other", f.Hash); !errors.Is(err, dossier.ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Fatalf("another account opens my file: %v", err)
		}
		_, rc, err := e.s.OpenMineFile(e.ctx, a1.Code, "acc-hoa", f.Hash)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.HasPrefix(b, []byte("%PDF")) {
			t.Fatalf("file = %q", b[:10])
		}
	})
}

// §3 step 3, §6: the applicant answers a supplement request on the portal
// and the clock resumes; the timeline hides officials and internal notes.
func TestRespondToSupplement(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rc := e.submitOnline("acc-hoa", "")
		e.clock.Set(at(2026, 3, 2, 9, 0))
		if _, err := e.s.Receive(e.ctx, dossier.ReceiveInput{DossierCode: rc.Code, Placement: dossier.Placement{DivisionUnit: division}, Actor: officer}); err != nil {
			t.Fatal(err)
		}
		e.act(dossier.ActInput{DossierCode: rc.Code, Action: "assign", Actor: head, Assignee: handler.PersonID, Comment: "ghi chú nội bộ"})
		e.clock.Set(at(2026, 3, 3, 9, 0))
		if _, err := e.s.RequestSupplement(e.ctx, dossier.SupplementRequestInput{DossierCode: rc.Code, Reason: "Thiếu bản vẽ mặt bằng",
			Defects: []dossier.Defect{{Component: 3, Message: "Bản vẽ mặt bằng có chữ ký"}}, Actor: handler}); err != nil {
			t.Fatal(err)
		}
		mine, err := e.s.GetMine(e.ctx, rc.Code, "acc-hoa")
		if err != nil {
			t.Fatal(err)
		}
		if mine.Status != dossier.StatusSupplement || len(mine.Notices) != 1 || mine.Notices[0].Defects[0].Component != 3 {
			t.Fatalf("applicant sees %s, notices %+v", mine.Status, mine.Notices)
		}
		keys := map[string]bool{}
		for _, a := range mine.Actions {
			keys[a.Key] = true
		}
		if !keys["supplement_received"] || !keys["withdraw"] || len(keys) != 2 {
			t.Fatalf("applicant actions = %+v", mine.Actions)
		}
		for _, tl := range mine.Timeline {
			if tl.Actor != "" && tl.Actor != "acc-hoa" || tl.Comment == "ghi chú nội bộ" {
				t.Fatalf("applicant timeline shows %+v", tl)
			}
		}
		// Not the owner: not found. Nothing supplied: refused.
		if _, err := e.s.Respond(e.ctx, dossier.RespondInput{Code: rc.Code, Owner: "acc-other", Components: []dossier.ComponentInput{{N: 3}}}); !errors.Is(err, dossier.ErrNotFound) && !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("stranger responds: %v", err)
		}
		if _, err := e.s.Respond(e.ctx, dossier.RespondInput{Code: rc.Code, Owner: "acc-hoa"}); !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("empty answer: %v, want ErrInvalid", err)
		}
		e.clock.Set(at(2026, 3, 5, 9, 0))
		f := e.put("ban-ve-moi.pdf", smallPDF("ban ve moi"))
		in := dossier.RespondInput{Code: rc.Code, Owner: "acc-hoa", Note: "Đã bổ sung", IdempotencyKey: "resp-1",
			Components: []dossier.ComponentInput{{N: 3, Provided: catalog.FormElectronic, Files: []dossier.FileRef{{Name: f.Name, Hash: f.Hash}}}}}
		res, err := e.s.Respond(e.ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if res.State != "appraising" || res.Paused {
			t.Fatalf("after the answer: %+v; want appraising, clock running", res)
		}
		again, err := e.s.Respond(e.ctx, in)
		if err != nil || !again.Replayed || again.Version != res.Version {
			t.Fatalf("retried answer = %+v, %v; want the first answer replayed", again, err)
		}
		got := e.get(rc.Code, handler)
		if n := len(got.Pauses); n != 1 || got.Pauses[0].EndedAt.IsZero() {
			t.Fatalf("pauses = %+v; want one closed pause", got.Pauses)
		}
		last := got.Timeline[len(got.Timeline)-1]
		if last.Action != "supplement_received" || last.Actor != "acc-hoa" {
			t.Fatalf("last step = %+v; want the applicant's answer", last)
		}
		found := false
		for _, x := range got.Components[2].Files {
			found = found || x.Hash == f.Hash && x.AddedBy == "acc-hoa"
		}
		if !found {
			t.Fatalf("component 3 files = %+v; want the new drawing added by the applicant", got.Components[2].Files)
		}
		// No supplement awaited any more.
		if _, err := e.s.Respond(e.ctx, dossier.RespondInput{Code: rc.Code, Owner: "acc-hoa", Components: in.Components}); !errors.Is(err, dossier.ErrInvalidAction) && !errors.Is(err, dossier.ErrForbidden) {
			t.Fatalf("answer without request: %v", err)
		}
	})
}

// The applicant withdraws (§3: withdrawal at the applicant's request).
func TestApplicantWithdraws(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rc := e.submitOnline("acc-hoa", "")
		if _, err := e.s.Withdraw(e.ctx, dossier.WithdrawInput{Code: rc.Code, Owner: "acc-hoa"}); !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("withdraw without reason: %v", err)
		}
		if _, err := e.s.Withdraw(e.ctx, dossier.WithdrawInput{Code: rc.Code, Owner: "acc-other", Reason: "x"}); !errors.Is(err, dossier.ErrNotFound) {
			t.Fatalf("stranger withdraws: %v", err)
		}
		res, err := e.s.Withdraw(e.ctx, dossier.WithdrawInput{Code: rc.Code, Owner: "acc-hoa", Reason: "Không còn nhu cầu"})
		if err != nil || res.Status != dossier.StatusWithdrawn || !res.Ended {
			t.Fatalf("withdraw = %+v, %v", res, err)
		}
		got, _ := e.s.GetMine(e.ctx, rc.Code, "acc-hoa")
		if len(got.Notices) != 1 || got.Notices[0].Reason != "Không còn nhu cầu" || len(got.Actions) != 0 {
			t.Fatalf("after withdrawal: notices %+v, actions %+v", got.Notices, got.Actions)
		}
	})
}

// §9: the 12 criteria; once per finished dossier.
func TestRating(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		if n := len(dossier.RatingCriteria()); n != 12 {
			t.Fatalf("%d criteria, want 12", n)
		}
		rc := e.submitOnline("acc-hoa", "")
		scores := map[string]int{"overall": 5, "timeliness": 4}
		if _, err := e.s.Rate(e.ctx, dossier.RatingInput{Code: rc.Code, Owner: "acc-hoa", Scores: scores}); !errors.Is(err, dossier.ErrInvalidAction) {
			t.Fatalf("rating an unfinished dossier: %v", err)
		}
		// Process it to the end.
		if _, err := e.s.Receive(e.ctx, dossier.ReceiveInput{DossierCode: rc.Code, Placement: dossier.Placement{DivisionUnit: division}, Actor: officer}); err != nil {
			t.Fatal(err)
		}
		draft := e.put("du-thao.pdf", smallPDF("du thao"))
		for _, in := range []dossier.ActInput{
			{Action: "assign", Actor: head, Assignee: handler.PersonID},
			{Action: "draft_result", Actor: handler, Attachments: []workflow.Attachment{{Name: draft.Name, Hash: draft.Hash}}},
			{Action: "approve", Actor: head}, {Action: "sign", Actor: director, Signature: "sig"},
			{Action: "transfer", Actor: handler}} {
			in.DossierCode = rc.Code
			e.act(in)
		}
		if _, err := e.s.AddResult(e.ctx, dossier.AddResultInput{DossierCode: rc.Code, ResultCode: "21/GPXD", Name: "Giấy phép xây dựng",
			Issuer: "Sở Xây dựng", IssuedAt: at(2026, 3, 4, 9, 0), ValidFrom: calendar.Date{Year: 2026, Month: 3, Day: 4},
			FileName: "giay-phep.pdf", Body: bytes.NewReader(smallPDF("giay phep")), Actor: clerk}); err != nil {
			t.Fatal(err)
		}
		mine, _ := e.s.GetMine(e.ctx, rc.Code, "acc-hoa")
		if len(mine.Results) != 0 {
			t.Fatalf("a draft result is visible to the applicant before issue: %+v", mine.Results)
		}
		e.act(dossier.ActInput{DossierCode: rc.Code, Action: "issue", Actor: clerk, Signature: "seal"})
		res, body, err := e.s.OpenMineResult(e.ctx, rc.Code, "acc-hoa", "21/GPXD")
		if err != nil {
			t.Fatal(err)
		}
		body.Close()
		if res.ResultCode != "21/GPXD" {
			t.Fatalf("result = %+v", res)
		}
		if _, err := e.s.Rate(e.ctx, dossier.RatingInput{Code: rc.Code, Owner: "acc-hoa", Scores: map[string]int{"timeliness": 4}}); !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("rating without the overall score: %v", err)
		}
		if _, err := e.s.Rate(e.ctx, dossier.RatingInput{Code: rc.Code, Owner: "acc-hoa", Scores: map[string]int{"overall": 6}}); !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("score 6: %v", err)
		}
		if _, err := e.s.Rate(e.ctx, dossier.RatingInput{Code: rc.Code, Owner: "acc-other", Scores: scores}); !errors.Is(err, dossier.ErrNotFound) {
			t.Fatalf("stranger rates: %v", err)
		}
		if r, err := e.s.RatingOf(e.ctx, rc.Code, "acc-hoa"); r != nil || err != nil {
			t.Fatalf("rating before rating = %+v, %v", r, err)
		}
		if _, err := e.s.Rate(e.ctx, dossier.RatingInput{Code: rc.Code, Owner: "acc-hoa", Scores: scores, Comment: "Nhanh"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Rate(e.ctx, dossier.RatingInput{Code: rc.Code, Owner: "acc-hoa", Scores: scores}); !errors.Is(err, dossier.ErrConflict) {
			t.Fatalf("second rating: %v, want ErrConflict", err)
		}
		r, err := e.s.RatingOf(e.ctx, rc.Code, "acc-hoa")
		if err != nil || r == nil || r.Scores["overall"] != 5 || r.Comment != "Nhanh" {
			t.Fatalf("stored rating = %+v, %v", r, err)
		}
		if n := len(e.events(dossier.TopicRated, rc.Code)); n != 1 {
			t.Fatalf("%d rated events", n)
		}
		b, _ := json.Marshal(r)
		if !bytes.Contains(b, []byte(`"overall":5`)) {
			t.Fatalf("rating JSON = %s", b)
		}
	})
}

// The applicant's JSON API: my list, my dossier, a withdrawal with an
// idempotency key; another citizen gets 404, an anonymous caller 401.
func TestMeAPI(t *testing.T) {
	hoa := &identity.Principal{PersonID: "acc-hoa", Username: "hoa", FullName: "Nguyễn Thị Hoa", Kind: identity.KindApplicant}
	other := &identity.Principal{PersonID: "acc-other", Username: "other", FullName: "Người khác", Kind: identity.KindApplicant}
	users[hoa.PersonID], users[other.PersonID] = hoa, other
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		a := newAPI(t, d)
		rc := a.submitOnline("acc-hoa", "")
		r := a.do(t, "GET", "/api/v1/me/dossiers", "acc-hoa", nil)
		var list struct {
			Items []dossier.Summary `json:"items"`
		}
		r.decode(t, &list)
		if r.status != 200 || len(list.Items) != 1 || list.Items[0].Code != rc.Code {
			t.Fatalf("my list: %d %s", r.status, r.body)
		}
		if r := a.do(t, "GET", "/api/v1/me/dossiers", "", nil); r.status != 401 {
			t.Fatalf("anonymous list: %d", r.status)
		}
		if r := a.do(t, "GET", "/api/v1/me/dossiers/"+rc.Code, "acc-other", nil); r.status != 404 {
			t.Fatalf("another citizen reads my dossier: %d", r.status)
		}
		r = a.do(t, "POST", "/api/v1/me/dossiers/"+rc.Code+"/withdrawal", "acc-hoa", map[string]any{"reason": ""})
		if p := r.problem(t); r.status != 422 || p.Detail == "" {
			t.Fatalf("withdraw without reason: %d %s", r.status, r.body)
		}
		body := map[string]any{"reason": "Nộp nhầm thủ tục"}
		r = a.do(t, "POST", "/api/v1/me/dossiers/"+rc.Code+"/withdrawal", "acc-hoa", body, "Idempotency-Key", "w-1")
		again := a.do(t, "POST", "/api/v1/me/dossiers/"+rc.Code+"/withdrawal", "acc-hoa", body, "Idempotency-Key", "w-1")
		if r.status != 200 || again.status != 200 || again.header.Get(dossier.ReplayedHeader) != "true" {
			t.Fatalf("withdraw: %d %s; retry %d %s", r.status, r.body, again.status, again.header)
		}
		r = a.do(t, "GET", "/api/v1/me/dossiers/"+rc.Code, "acc-hoa", nil)
		var got dossier.Dossier
		r.decode(t, &got)
		if got.Status != dossier.StatusWithdrawn {
			t.Fatalf("after withdrawal: %s", got.Status)
		}
		r = a.do(t, "GET", "/api/v1/rating-criteria", "", nil)
		var crit []dossier.RatingCriterion
		r.decode(t, &crit)
		if r.status != 200 || len(crit) != 12 {
			t.Fatalf("criteria: %d %s", r.status, r.body)
		}
	})
}

// §8: a fee paid through the payment platform (no official: Actor nil)
// resumes a dossier waiting for its payment; the step is the system's.
func TestOnlinePaymentResumes(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rc := e.receive("Đỗ Văn Giang")
		e.act(dossier.ActInput{DossierCode: rc.Code, Action: "assign", Actor: head, Assignee: handler.PersonID})
		e.clock.Set(at(2026, 3, 3, 9, 0))
		e.act(dossier.ActInput{DossierCode: rc.Code, Action: "request_payment", Actor: handler, Comment: "Nộp lệ phí"})
		fees, err := e.s.Fees(e.ctx, rc.Code)
		if err != nil || len(fees) != 1 || fees[0].Status != dossier.FeeUnpaid {
			t.Fatalf("fees = %+v, %v", fees, err)
		}
		e.clock.Set(at(2026, 3, 4, 9, 0))
		if _, err := e.s.MarkFeePaid(e.ctx, dossier.FeePaymentInput{DossierCode: rc.Code, N: 1, Reference: "PayGov 123"}); err != nil {
			t.Fatal(err)
		}
		got := e.get(rc.Code, handler)
		if got.State != "appraising" || !got.PausedAt.IsZero() {
			t.Fatalf("after the online payment: %s (paused %v); want appraising, clock running", got.State, got.PausedAt)
		}
		last := got.Timeline[len(got.Timeline)-1]
		if last.Action != "payment_confirmed" || last.Actor != workflow.SystemActorID {
			t.Fatalf("last step = %+v; want payment_confirmed by the system", last)
		}
		// Paying again changes nothing.
		if _, err := e.s.MarkFeePaid(e.ctx, dossier.FeePaymentInput{DossierCode: rc.Code, N: 1, Reference: "PayGov 123"}); err != nil {
			t.Fatal(err)
		}
		if again := e.get(rc.Code, handler); again.Version != got.Version {
			t.Fatalf("a second payment notice moved the dossier: v%d → v%d", got.Version, again.Version)
		}
	})
}

// §2: the result by post needs a delivery address; the choice is kept and
// read by trusted modules through Source.
func TestReturnByPost(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		sub := e.completeSubmission("Mai Văn Hậu")
		sub.ReturnMethod = dossier.ReturnByPost
		if _, err := e.s.Receive(e.ctx, dossier.ReceiveInput{Submission: sub, Placement: placement, Actor: officer}); !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("post without an address: %v", err)
		}
		sub.ReturnMethod, sub.DeliveryAddress = "fax", ""
		if _, err := e.s.Receive(e.ctx, dossier.ReceiveInput{Submission: sub, Placement: placement, Actor: officer}); !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("unknown return method: %v", err)
		}
		sub.ReturnMethod, sub.DeliveryAddress = dossier.ReturnByPost, "5 Trần Hưng Đạo, phường Tân Phú"
		rc, err := e.s.Receive(e.ctx, dossier.ReceiveInput{Submission: sub, Placement: placement, Actor: officer})
		if err != nil {
			t.Fatal(err)
		}
		owner, got, err := e.s.Source(e.ctx, rc.Code)
		if err != nil || owner != "" || got.ReturnMethod != dossier.ReturnByPost || got.DeliveryAddress != sub.DeliveryAddress || len(got.Timeline) == 0 {
			t.Fatalf("source = %q %+v %v", owner, got, err)
		}
	})
}

// resolver is a personal data store of one owner with one document.
type resolver struct{ owner, ref, name, hash string }

func (r *resolver) ResolveReuse(ctx context.Context, owner, ref string) (string, string, error) {
	if owner != r.owner || ref != r.ref {
		return "", "", dossier.ErrNotFound
	}
	return r.name, r.hash, nil
}

// §10: a document cited from the personal data store is attached from the
// store, for its owner only.
func TestReuseFromDataStore(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		res := &resolver{owner: "acc-hoa", ref: "ds:7:1", name: "giay-phep-cu.pdf"}
		e := newEnvCfg(t, d, dossier.Config{Reuse: res})
		stored := e.put("giay-phep-cu.pdf", smallPDF("giay phep cu"))
		res.hash = stored.Hash
		sub := e.completeSubmission("Nguyễn Thị Hoa")
		sub.Channel, sub.Owner = dossier.ChannelOnline, "acc-hoa"
		sub.Components[1] = dossier.ComponentInput{N: 2, Provided: catalog.FormElectronic, Reused: true, ReuseRef: "ds:7:1"}
		other := sub
		other.Owner = "acc-other"
		other.Components = append([]dossier.ComponentInput(nil), sub.Components...)
		if _, err := e.s.Submit(e.ctx, dossier.SubmitInput{Submission: other, Placement: placement}); !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("citing another owner's document: %v, want ErrInvalid", err)
		}
		rc, err := e.s.Submit(e.ctx, dossier.SubmitInput{Submission: sub, Placement: placement})
		if err != nil {
			t.Fatal(err)
		}
		_, got, _ := e.s.Source(e.ctx, rc.Code)
		c := got.Components[1]
		if !c.Reused || c.ReuseRef != "ds:7:1" || len(c.Files) != 1 || c.Files[0].Hash != stored.Hash || !c.Files[0].Reused {
			t.Fatalf("reused component = %+v", c)
		}
	})
}

// The applicant downloads the forms handed to them (§7: receipt 01,
// supplement request 02…), not the officials' control slip 06.
func TestMineForms(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rc := e.submitOnline("acc-hoa", "")
		if _, err := e.s.Receive(e.ctx, dossier.ReceiveInput{DossierCode: rc.Code, Placement: dossier.Placement{DivisionUnit: division}, Actor: officer}); err != nil {
			t.Fatal(err)
		}
		b, err := e.s.MineForm(e.ctx, rc.Code, "acc-hoa", "01")
		if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Fatalf("form 01 for the owner: %v %.10q", err, b)
		}
		if _, err := e.s.MineForm(e.ctx, rc.Code, "acc-other", "01"); !errors.Is(err, dossier.ErrNotFound) {
			t.Fatalf("form 01 for another account: %v", err)
		}
		if _, err := e.s.MineForm(e.ctx, rc.Code, "acc-hoa", "06"); !errors.Is(err, dossier.ErrNotFound) {
			t.Fatalf("form 06 for the applicant: %v", err)
		}
		if _, err := e.s.MineForm(e.ctx, rc.Code, "acc-hoa", "02"); !errors.Is(err, dossier.ErrInvalidAction) {
			t.Fatalf("form 02 without a supplement request: %v", err)
		}
	})
}
