package dossier_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/workflow"
)

// §3 (the nine steps), §4 (national codes), §5 (code), §6 (appointment on
// the working-day calendar): an officer receives, the division head
// assigns, the handler appraises and drafts, the head approves, the agency
// head signs, the handler transfers, the clerk issues, the officer returns.
// Every step is mirrored on the dossier, has its event and audit entry,
// and the wrong people are refused on the way.
func TestNineStepPath(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(at(2026, 3, 2, 9, 0))
		rc := e.receive("Nguyễn Văn An")
		if rc.Code != "000.00.13.H99-260302-0001" {
			t.Fatalf("code = %q, want the center's first dossier of 2 March 2026 (§5)", rc.Code)
		}
		if rc.Status != dossier.StatusReceived || rc.NationalStatus != 2 || rc.State != "assigning" {
			t.Fatalf("receipt = %+v; want received, national status 2", rc)
		}
		sameTime(t, "received at", rc.ReceivedAt, at(2026, 3, 2, 9, 0))
		sameTime(t, "appointment (10 working days, §6)", rc.DueAt, at(2026, 3, 16, 17, 0))

		got := e.get(rc.Code, officer)
		if len(got.Components) != 4 || got.Components[2].Files[0].Name != "ban-ve.pdf" || got.Components[0].Provided != catalog.FormOriginal {
			t.Fatalf("components = %+v", got.Components)
		}
		if len(got.Fees) != 1 || got.Fees[0].Amount != 75000 || got.Fees[0].Status != dossier.FeeUnpaid {
			t.Fatalf("fees = %+v; want the procedure's fee, unpaid", got.Fees)
		}
		if got.ProcedureVersion != 2 || got.ProcessKey != workflow.OneStop || got.ProcessVersion != 2 {
			t.Fatalf("pinned procedure %d, process %s v%d", got.ProcedureVersion, got.ProcessKey, got.ProcessVersion)
		}
		if got.DivisionUnit != division || got.AgencyUnit != dept || got.CompetentAgency != dept || got.ReceivedBy != officer.PersonID {
			t.Fatalf("placement = %s %s %s received by %s", got.DivisionUnit, got.AgencyUnit, got.CompetentAgency, got.ReceivedBy)
		}

		code := rc.Code
		v := rc.Version
		// Wrong people first: the officer cannot assign, a handler of the
		// division cannot either.
		e.refused(dossier.ActInput{DossierCode: code, Action: "assign", Actor: officer, Assignee: handler.PersonID}, dossier.ErrForbidden)
		e.refused(dossier.ActInput{DossierCode: code, Action: "assign", Actor: handler, Assignee: handler.PersonID}, dossier.ErrForbidden)
		// An action of another step.
		e.refused(dossier.ActInput{DossierCode: code, Action: "return", Actor: officer}, dossier.ErrInvalidAction)

		draft := e.put("du-thao.pdf", smallPDF("du thao giay phep"))
		steps := []struct {
			at       time.Time
			in       dossier.ActInput
			state    string
			status   dossier.Status
			national int
		}{
			{at(2026, 3, 2, 10, 0), dossier.ActInput{Action: "assign", Actor: head, Assignee: handler.PersonID}, "appraising", dossier.StatusProcessing, 4},
			{at(2026, 3, 3, 10, 0), dossier.ActInput{Action: "draft_result", Actor: handler,
				Attachments: []workflow.Attachment{{Name: draft.Name, Hash: draft.Hash}}}, "approving", dossier.StatusProcessing, 4},
			{at(2026, 3, 3, 14, 0), dossier.ActInput{Action: "approve", Actor: head}, "signing", dossier.StatusProcessing, 4},
			{at(2026, 3, 4, 9, 0), dossier.ActInput{Action: "sign", Actor: director, Signature: "sig:" + draft.Hash}, "transferring", dossier.StatusProcessing, 4},
			{at(2026, 3, 4, 10, 0), dossier.ActInput{Action: "transfer", Actor: handler}, "issuing", dossier.StatusProcessing, 4},
			{at(2026, 3, 4, 14, 0), dossier.ActInput{Action: "issue", Actor: clerk, Signature: "seal:15/GPXD"}, "returning", dossier.StatusResultReady, 9},
			{at(2026, 3, 5, 8, 0), dossier.ActInput{Action: "return", Actor: officer}, "returned", dossier.StatusReturned, 10},
		}
		for i, st := range steps {
			e.clock.Set(st.at)
			if st.in.Action == "draft_result" {
				// Another handler of the division is not the assignee.
				e.refused(dossier.ActInput{DossierCode: code, Action: "draft_result", Actor: handler2,
					Attachments: st.in.Attachments}, dossier.ErrForbidden)
			}
			if st.in.Action == "issue" {
				res, err := e.s.AddResult(e.ctx, dossier.AddResultInput{DossierCode: code, ResultCode: "15/GPXD", Name: "Giấy phép xây dựng",
					Issuer: "Sở Xây dựng", IssuedAt: st.at, ValidFrom: calendar.Date{Year: 2026, Month: 3, Day: 4},
					FileName: "giay-phep.pdf", Body: bytes.NewReader(smallPDF("giay phep")), Actor: clerk})
				if err != nil || res.Version != 1 || res.File.MediaType != dossier.MediaPDF {
					t.Fatalf("add result = %+v, %v", res, err)
				}
			}
			st.in.DossierCode, st.in.ExpectedVersion = code, v
			res := e.act(st.in)
			if res.State != st.state || res.Status != st.status || res.NationalStatus != st.national || res.Version != v+1 {
				t.Fatalf("step %d %s: %+v; want %s %s %d version %d", i, st.in.Action, res, st.state, st.status, st.national, v+1)
			}
			v = res.Version
			got := e.get(code, officer)
			if got.State != st.state || got.Status != st.status || got.NationalStatus != st.national || got.Version != v {
				t.Fatalf("after %s the dossier mirrors %s/%s/%d v%d", st.in.Action, got.State, got.Status, got.NationalStatus, got.Version)
			}
			if dossier.NationalStatusOf(got) != st.national {
				t.Fatalf("NationalStatusOf = %d, want %d (§4)", dossier.NationalStatusOf(got), st.national)
			}
		}
		got = e.get(code, officer)
		sameTime(t, "finished (result ready)", got.FinishedAt, at(2026, 3, 4, 14, 0))
		sameTime(t, "returned", got.ReturnedAt, at(2026, 3, 5, 8, 0))
		sameTime(t, "ended", got.EndedAt, at(2026, 3, 5, 8, 0))
		if got.Outcome != "approved" || len(got.Results) != 1 || got.Results[0].ResultCode != "15/GPXD" {
			t.Fatalf("outcome %q results %+v", got.Outcome, got.Results)
		}
		var trail, actors []string
		for _, h := range got.Timeline {
			trail = append(trail, h.Action)
			actors = append(actors, h.Actor)
		}
		if want := []string{"start", "receive", "assign", "draft_result", "approve", "sign", "transfer", "issue", "return"}; !slices.Equal(trail, want) {
			t.Fatalf("timeline = %v, want %v", trail, want)
		}
		if want := []string{"officer-1", "officer-1", "head-1", "handler-1", "head-1", "director-1", "handler-1", "clerk-1", "officer-1"}; !slices.Equal(actors, want) {
			t.Fatalf("timeline actors = %v, want %v", actors, want)
		}
		if h := got.Timeline[3]; len(h.Attachments) != 1 || h.Attachments[0].Hash != draft.Hash || h.ActionName != "Dự thảo kết quả" || h.Role != "handler" {
			t.Fatalf("draft step = %+v; want the draft's hash, name and role", h)
		}
		if len(got.Actions) != 0 {
			t.Fatalf("actions after the end = %+v, want none", got.Actions)
		}
		e.refused(dossier.ActInput{DossierCode: code, Action: "return", Actor: officer}, dossier.ErrInvalidAction)

		if n := len(e.events(dossier.TopicReceived, code)); n != 1 {
			t.Fatalf("%d received events, want 1", n)
		}
		if evs := e.events(dossier.TopicTransition, code); len(evs) != 7 || evs[6].To != "returned" || evs[6].NationalStatus != 10 {
			t.Fatalf("transition events = %+v; want 7, the last returned (10)", evs)
		}
		entries, _, err := audit.List(e.ctx, d, audit.Filter{ObjectType: dossier.AuditObjectType, ObjectID: code})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 9 { // receive, 7 actions, the result
			t.Fatalf("%d audit entries for the dossier, want 9", len(entries))
		}
		if rep, err := audit.Verify(e.ctx, d); err != nil || !rep.OK {
			t.Fatalf("audit chain: %+v %v", rep, err)
		}
	})
}

// §6: a supplement request during processing pauses the clock; the
// applicant's supplement resumes it and the appointment moves by the office
// time paused. The pause interval is stored and the form 02 data kept.
func TestSupplementRoundPausesClock(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(at(2026, 3, 2, 9, 0))
		rc := e.receive("Trần Thị Bình")
		e.clock.Set(at(2026, 3, 2, 10, 0))
		e.act(dossier.ActInput{DossierCode: rc.Code, Action: "assign", Actor: head, Assignee: handler.PersonID})

		// During processing the handler must say what is missing.
		e.clock.Set(at(2026, 3, 3, 9, 0))
		_, err := e.s.RequestSupplement(e.ctx, dossier.SupplementRequestInput{DossierCode: rc.Code, Reason: "Thiếu giấy tờ", Actor: handler})
		if !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("supplement request without defects: %v; want ErrInvalid", err)
		}
		_, err = e.s.RequestSupplement(e.ctx, dossier.SupplementRequestInput{DossierCode: rc.Code, Actor: handler,
			Defects: []dossier.Defect{{Field: "components.2", Message: "Bản sao giấy chứng nhận bị mờ"}}})
		if !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("supplement request without reason: %v; want ErrInvalid", err)
		}
		res, err := e.s.RequestSupplement(e.ctx, dossier.SupplementRequestInput{DossierCode: rc.Code, Actor: handler,
			Reason: "Giấy tờ đất không đọc được",
			Defects: []dossier.Defect{{Field: "components.2", Component: 2, Message: "Bản sao giấy chứng nhận quyền sử dụng đất bị mờ"},
				{Field: "form_data/dien_tich", Message: "Diện tích xây dựng chưa khớp bản vẽ"}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != dossier.StatusSupplement || res.NationalStatus != 5 || !res.Paused || res.Notice == nil || len(res.Notice.Defects) != 2 {
			t.Fatalf("supplement request = %+v; want paused, national 5, form 02 with both defects", res)
		}
		got := e.get(rc.Code, officer)
		sameTime(t, "paused at", got.PausedAt, at(2026, 3, 3, 9, 0))
		if got.Unit != desk {
			t.Fatalf("supplement waits at %s, want the desk", got.Unit)
		}

		// Thursday: the applicant brings a clear copy; the officer records it.
		e.clock.Set(at(2026, 3, 5, 9, 0))
		clear := e.put("so-do.pdf", smallPDF("so do ro"))
		res = e.act(dossier.ActInput{DossierCode: rc.Code, Action: "supplement_received", Actor: officer, ExpectedVersion: res.Version,
			Components: []dossier.ComponentInput{{N: 2, Provided: catalog.FormElectronic, Files: []dossier.FileRef{{Name: "so-do.pdf", Hash: clear.Hash}}}}})
		if res.State != "appraising" || res.Paused {
			t.Fatalf("after the supplement: %+v; want appraising, running", res)
		}
		// Paused Tue 09:00 → Thu 09:00 = 15 office hours (2 working days of
		// 7.5 h): the appointment moves from 16 to 18 March.
		sameTime(t, "appointment after the pause", res.DueAt, at(2026, 3, 18, 17, 0))
		got = e.get(rc.Code, officer)
		sameTime(t, "mirrored appointment", got.DueAt, at(2026, 3, 18, 17, 0))
		if !got.PausedAt.IsZero() || got.PausedSeconds != 15*3600 {
			t.Fatalf("pause mirror: at %v, %d s; want closed, 15 h", got.PausedAt, got.PausedSeconds)
		}
		if len(got.Pauses) != 1 || got.Pauses[0].WorkingSeconds != 15*3600 || got.Pauses[0].Reason != "Giấy tờ đất không đọc được" {
			t.Fatalf("pauses = %+v", got.Pauses)
		}
		sameTime(t, "pause start", got.Pauses[0].StartedAt, at(2026, 3, 3, 9, 0))
		sameTime(t, "pause end", got.Pauses[0].EndedAt, at(2026, 3, 5, 9, 0))
		if c := got.Components[1]; c.Provided != catalog.FormElectronic || len(c.Files) != 1 || c.Files[0].Hash != clear.Hash {
			t.Fatalf("supplied component = %+v", c)
		}
		if len(got.Notices) != 1 || got.Notices[0].Kind != dossier.NoticeSupplement || got.Notices[0].Form != "02" ||
			got.Notices[0].Defects[0].Message != "Bản sao giấy chứng nhận quyền sử dụng đất bị mờ" {
			t.Fatalf("notices = %+v", got.Notices)
		}
	})
}

// §3 step 1.1: an online dossier checked at the desk; a supplement request
// lists every defect at once (the clock has not started); the resubmitted
// dossier is then received.
func TestSupplementAtReceptionListsEveryDefect(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		form := e.put("don.pdf", smallPDF("don"))
		sub := dossier.Submission{ProcedureCode: permitCode, Channel: dossier.ChannelOnline, Applicant: citizen("Lê Văn Cường"),
			FormData: json.RawMessage(`{"ho_ten":"Lê Văn Cường","so_dinh_danh":"001090012345","dia_chi":"Hà Nội"}`),
			Components: []dossier.ComponentInput{
				{N: 1, Provided: catalog.FormElectronic, Files: []dossier.FileRef{{Name: "don.pdf", Hash: form.Hash}}},
				{N: 3, Provided: catalog.FormElectronic}, // no file
			}}
		rc, err := e.s.Submit(e.ctx, dossier.SubmitInput{Submission: sub, Placement: placement})
		if err != nil {
			t.Fatal(err)
		}
		if rc.Status != dossier.StatusNew || rc.NationalStatus != 1 || !rc.DueAt.IsZero() {
			t.Fatalf("submitted = %+v; want new (1), no appointment before reception", rc)
		}
		if n := len(e.events(dossier.TopicSubmitted, rc.Code)); n != 1 {
			t.Fatalf("%d submitted events", n)
		}
		// Receiving it as it is is refused with both defects.
		_, err = e.s.Receive(e.ctx, dossier.ReceiveInput{DossierCode: rc.Code, Placement: dossier.Placement{DivisionUnit: division}, Actor: officer})
		var ve *dossier.ValidationError
		if !errors.As(err, &ve) || !errors.Is(err, dossier.ErrIncomplete) || len(ve.Defects) != 2 {
			t.Fatalf("receive incomplete: %v; want ErrIncomplete with 2 defects", err)
		}
		res, err := e.s.RequestSupplement(e.ctx, dossier.SupplementRequestInput{DossierCode: rc.Code, Reason: "Hồ sơ chưa đầy đủ", Actor: officer})
		if err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, d := range res.Notice.Defects {
			codes = append(codes, fmt.Sprintf("%d:%s", d.Component, d.Code))
		}
		if want := []string{"2:missing_document", "3:no_file"}; !slices.Equal(codes, want) {
			t.Fatalf("form 02 defects = %v, want %v (every defect at once)", codes, want)
		}
		if res.Status != dossier.StatusSupplementRequested || res.NationalStatus != 5 || !res.DueAt.IsZero() {
			t.Fatalf("after the request: %+v; want supplement requested (5), no clock", res)
		}

		// The applicant completes it; the officer records it and receives.
		e.clock.Set(at(2026, 3, 4, 8, 30))
		land := e.put("dat.pdf", smallPDF("dat"))
		drawing := e.put("ban-ve.pdf", smallPDF("ban ve"))
		res = e.act(dossier.ActInput{DossierCode: rc.Code, Action: "supplement_received", Actor: officer, Components: []dossier.ComponentInput{
			{N: 2, Provided: catalog.FormElectronic, Files: []dossier.FileRef{{Name: "dat.pdf", Hash: land.Hash}}},
			{N: 3, Provided: catalog.FormElectronic, Files: []dossier.FileRef{{Name: "ban-ve.pdf", Hash: drawing.Hash}}}}})
		if res.State != "checking" {
			t.Fatalf("after the supplement: %s, want checking", res.State)
		}
		got, err := e.s.Receive(e.ctx, dossier.ReceiveInput{DossierCode: rc.Code, Placement: dossier.Placement{DivisionUnit: division}, Actor: officer})
		if err != nil {
			t.Fatal(err)
		}
		sameTime(t, "clock starts at valid reception (§6)", got.ReceivedAt, at(2026, 3, 4, 8, 30))
		sameTime(t, "appointment", got.DueAt, at(2026, 3, 18, 17, 0))
		if got.Code != rc.Code || got.Status != dossier.StatusReceived {
			t.Fatalf("received = %+v", got)
		}
	})
}

// §3 step 1.2: refusal to receive needs a reason and ends the dossier,
// which keeps a code and the form 03 data.
func TestRefusal(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		sub := dossier.Submission{ProcedureCode: permitCode, Channel: dossier.ChannelCounter, Applicant: citizen("Phạm Văn Dũng"),
			FormData: json.RawMessage(`{"ho_ten":"Phạm Văn Dũng","so_dinh_danh":"001090012345","dia_chi":"Huế"}`)}
		_, err := e.s.Refuse(e.ctx, dossier.RefuseInput{Submission: sub, Placement: placement, Reason: "  ", Actor: officer})
		var ve *dossier.ValidationError
		if !errors.As(err, &ve) || ve.Defects[0].Field != "reason" {
			t.Fatalf("refusal without reason: %v; want a validation error on reason", err)
		}
		_, err = e.s.Refuse(e.ctx, dossier.RefuseInput{Submission: sub, Placement: placement, Reason: "Không thuộc thẩm quyền", Actor: stranger})
		if !errors.Is(err, dossier.ErrForbidden) {
			t.Fatalf("refusal by an officer of another desk: %v; want ErrForbidden", err)
		}
		res, err := e.s.Refuse(e.ctx, dossier.RefuseInput{Submission: sub, Placement: placement,
			Reason: "Công trình thuộc thẩm quyền cấp phép của UBND xã", Actor: officer})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != dossier.StatusRefused || res.NationalStatus != 3 || !res.Ended || res.Notice == nil || res.Notice.Form != "03" {
			t.Fatalf("refusal = %+v; want refused (3), ended, form 03", res)
		}
		got := e.get(res.Code, officer)
		if got.Status != dossier.StatusRefused || got.Notices[0].Reason != "Công trình thuộc thẩm quyền cấp phép của UBND xã" || !got.ReceivedAt.IsZero() {
			t.Fatalf("refused dossier = %+v", got)
		}
		e.refused(dossier.ActInput{DossierCode: res.Code, Action: "receive", Actor: officer, Units: map[string]string{"division": division}}, dossier.ErrInvalidAction)
	})
}

// §3 (form 04): an extension with an apology letter must come before the
// due date, with a reason and a later date; it sets the new appointment.
func TestExtension(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(at(2026, 3, 2, 9, 0))
		early := e.receive("Hoàng Thị Em")
		late := e.receive("Vũ Văn Phúc")
		for _, c := range []string{early.Code, late.Code} {
			e.act(dossier.ActInput{DossierCode: c, Action: "assign", Actor: head, Assignee: handler.PersonID})
		}
		e.clock.Set(at(2026, 3, 13, 10, 0))
		err := e.refused(dossier.ActInput{DossierCode: early.Code, Action: "extend", Actor: handler}, dossier.ErrInvalid)
		var ve *dossier.ValidationError
		if !errors.As(err, &ve) || len(ve.Defects) != 2 {
			t.Fatalf("extension without date and reason: %v; want both listed", err)
		}
		e.refused(dossier.ActInput{DossierCode: early.Code, Action: "extend", Actor: handler, Comment: "Cần thẩm tra thực địa",
			NewDue: at(2026, 3, 10, 17, 0)}, dossier.ErrInvalid) // earlier than the current date
		// A date without a time is an appointment until the office closes.
		res := e.act(dossier.ActInput{DossierCode: early.Code, Action: "extend", Actor: handler, Comment: "Cần thẩm tra thực địa",
			NewDue: at(2026, 3, 20, 0, 0)})
		sameTime(t, "new appointment", res.DueAt, at(2026, 3, 20, 17, 0))
		if res.Notice == nil || res.Notice.Form != "04" {
			t.Fatalf("extension notice = %+v", res.Notice)
		}
		sameTime(t, "apology letter: previous date", res.Notice.PreviousDue, at(2026, 3, 16, 17, 0))
		sameTime(t, "apology letter: new date", res.Notice.NewDue, at(2026, 3, 20, 17, 0))
		if got := e.get(early.Code, handler); !got.DueAt.Equal(at(2026, 3, 20, 17, 0)) || got.State != "appraising" {
			t.Fatalf("after extension: due %v state %s", got.DueAt, got.State)
		}

		// The other dossier is already late: too late to apologise ahead.
		e.clock.Set(at(2026, 3, 17, 8, 0))
		e.refused(dossier.ActInput{DossierCode: late.Code, Action: "extend", Actor: handler, Comment: "Quá tải",
			NewDue: at(2026, 3, 24, 17, 0)}, dossier.ErrInvalidAction)
	})
}

// Issue 3: two officers act on the same version at once: exactly one wins,
// the other gets a conflict, and the dossier mirrors the winner.
func TestConcurrentConflictingActions(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		draft := e.put("du-thao.pdf", smallPDF("du thao"))
		for round := 0; round < 5; round++ {
			rc := e.receive(fmt.Sprintf("Người nộp %d", round))
			e.act(dossier.ActInput{DossierCode: rc.Code, Action: "assign", Actor: head, Assignee: handler.PersonID})
			res := e.act(dossier.ActInput{DossierCode: rc.Code, Action: "draft_result", Actor: handler,
				Attachments: []workflow.Attachment{{Name: "du-thao.pdf", Hash: draft.Hash}}})
			inputs := []dossier.ActInput{
				{DossierCode: rc.Code, Action: "approve", Actor: head, ExpectedVersion: res.Version},
				{DossierCode: rc.Code, Action: "send_back", Actor: head, ExpectedVersion: res.Version, Comment: "Sửa lại căn cứ pháp lý"},
			}
			errs := make([]error, len(inputs))
			results := make([]dossier.ActResult, len(inputs))
			var wg sync.WaitGroup
			for i, in := range inputs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = e.s.Act(e.ctx, in)
				}()
			}
			wg.Wait()
			wins := 0
			winner := ""
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
					winner = results[i].State
				case !errors.Is(err, dossier.ErrConflict) || !errors.Is(err, workflow.ErrConflict):
					t.Fatalf("round %d: loser got %v; want ErrConflict", round, err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d winners (%v), want exactly 1", round, wins, errs)
			}
			got := e.get(rc.Code, head)
			if got.State != winner || got.Version != res.Version+1 {
				t.Fatalf("round %d: dossier at %s v%d, want the winner's %s v%d", round, got.State, got.Version, winner, res.Version+1)
			}
		}
	})
}

// The same-day process (its own 15:00 cutoff) and a procedure's process
// reference are followed.
func TestSameDayProcess(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		sub := func(name string) dossier.Submission {
			return dossier.Submission{ProcedureCode: sameDayCode, Channel: dossier.ChannelCounter, Applicant: citizen(name),
				Components: []dossier.ComponentInput{{N: 1, Provided: catalog.FormOriginal}}}
		}
		e.clock.Set(at(2026, 3, 2, 9, 0))
		rc, err := e.s.Receive(e.ctx, dossier.ReceiveInput{Submission: sub("Sáng"), Placement: placement, Actor: officer})
		if err != nil {
			t.Fatal(err)
		}
		if rc.State != "processing" {
			t.Fatalf("same-day dossier at %s, want processing", rc.State)
		}
		sameTime(t, "same-day appointment", rc.DueAt, at(2026, 3, 2, 17, 0))
		e.clock.Set(at(2026, 3, 2, 15, 30))
		rc, err = e.s.Receive(e.ctx, dossier.ReceiveInput{Submission: sub("Chiều"), Placement: placement, Actor: officer})
		if err != nil {
			t.Fatal(err)
		}
		sameTime(t, "after 15:00: next working day", rc.DueAt, at(2026, 3, 3, 17, 0))
	})
}

// §6 (verify): the configurable cutoff counts a dossier received at or
// after it, or on a day off, from the next working day; off by default.
func TestCutoff(t *testing.T) {
	d := dbtest.SQLite(t, migrations())
	e := newEnvCfg(t, d, dossier.Config{Cutoff: 15 * time.Hour})
	cal := calendar.Default()
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"before the cutoff", at(2026, 3, 2, 14, 59)},
		{"at the cutoff", at(2026, 3, 2, 15, 0)},
		{"after the cutoff", at(2026, 3, 3, 16, 30)},
		{"on a Saturday", at(2026, 3, 7, 9, 0)},
	} {
		e.clock.Set(tc.at)
		rc := e.receive(tc.name)
		want := cal.AddWorkingDays(tc.at, 10)
		local := tc.at.In(cal.Location())
		if !cal.IsWorkingDay(tc.at) || local.Hour() >= 15 {
			want = cal.AddWorkingDays(cal.NextWorkingDay(tc.at), 10)
		}
		sameTime(t, tc.name, rc.DueAt, want)
	}
	// An online dossier submitted in the morning and received after the
	// cutoff counts from its reception, not from its submission.
	e.clock.Set(at(2026, 3, 9, 9, 0))
	sub := e.completeSubmission("Trực tuyến")
	sub.Channel = dossier.ChannelOnline
	for i := range sub.Components {
		sub.Components[i].Provided, sub.Components[i].Quantity = catalog.FormElectronic, 0
		if len(sub.Components[i].Files) == 0 {
			f := e.put("giay-to.pdf", smallPDF("giay to"))
			sub.Components[i].Files = []dossier.FileRef{{Name: f.Name, Hash: f.Hash}}
		}
	}
	online, err := e.s.Submit(e.ctx, dossier.SubmitInput{Submission: sub, Placement: placement})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(at(2026, 3, 9, 16, 0))
	got, err := e.s.Receive(e.ctx, dossier.ReceiveInput{DossierCode: online.Code, Placement: dossier.Placement{DivisionUnit: division}, Actor: officer})
	if err != nil {
		t.Fatal(err)
	}
	sameTime(t, "online dossier received after the cutoff", got.DueAt, cal.AddWorkingDays(cal.NextWorkingDay(at(2026, 3, 9, 16, 0)), 10))

	// Default: off.
	d2 := dbtest.SQLite(t, migrations())
	e2 := newEnv(t, d2)
	e2.clock.Set(at(2026, 3, 2, 16, 0))
	sameTime(t, "no cutoff by default", e2.receive("Muộn").DueAt, at(2026, 3, 16, 17, 0))
}

// Moves the workflow engine makes by itself (a deadline's action) reach the
// dossier through the workflow's transition events; redelivery is harmless.
func TestMirrorOfWorkflowMoves(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rc := e.receive("Đặng Văn Giang")
		// Someone moves the case outside the dossier module.
		res, err := e.wf.Transition(e.ctx, workflow.Input{CaseID: rc.CaseID, Action: "assign", Actor: dossier.ActorOf(head), Assignee: handler.PersonID})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.get(rc.Code, head); got.State != "assigning" {
			t.Fatalf("before the event the mirror is %s", got.State)
		}
		evs := workflowEvents(t, e, rc.CaseID)
		for range 2 { // delivered twice
			if err := e.s.HandleWorkflowTransition(e.ctx, evs[len(evs)-1]); err != nil {
				t.Fatal(err)
			}
		}
		got := e.get(rc.Code, head)
		if got.State != "appraising" || got.Version != res.Case.Version || got.Assignee != handler.PersonID {
			t.Fatalf("mirror = %s v%d %s; want appraising v%d assigned", got.State, got.Version, got.Assignee, res.Case.Version)
		}
		if n := len(e.events(dossier.TopicTransition, rc.Code)); n != 1 {
			t.Fatalf("%d dossier.transition events after two deliveries, want 1", n)
		}
		// Events of moves made through the module change nothing.
		for _, ev := range evs {
			if err := e.s.HandleWorkflowTransition(e.ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(e.events(dossier.TopicTransition, rc.Code)); n != 1 {
			t.Fatalf("%d dossier.transition events, want still 1", n)
		}
	})
}

// §4: every state of every shipped process maps to an internal status whose
// national code is the one the process declares.
func TestNationalStatusMapping(t *testing.T) {
	docs, err := workflow.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range docs {
		def, err := workflow.ParseDefinition(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range def.States {
			if st.Kind == workflow.KindJoin {
				continue
			}
			if got := dossier.NationalStatus(dossier.StatusOf(st.Key, st.Status)); got != st.Status {
				t.Errorf("%s: state %s maps to %s = %d, the process says %d", name, st.Key, dossier.StatusOf(st.Key, st.Status), got, st.Status)
			}
		}
	}
	for _, s := range dossier.Statuses() {
		if c := dossier.NationalStatus(s); c < 1 || c > 10 {
			t.Errorf("%s has national code %d", s, c)
		}
	}
}

// §3 step 1.1: the completeness check names every defect at once.
func TestCheckCompleteness(t *testing.T) {
	p := testProcedures().byCode[permitCode][0]
	file := []dossier.FileRef{{Name: "a.pdf", Hash: strings.Repeat("a", 64)}}
	cases := []struct {
		name  string
		ch    dossier.Channel
		comps []dossier.ComponentInput
		want  []string
	}{
		{"nothing", dossier.ChannelCounter, nil, []string{"1:missing_document", "2:missing_document", "3:missing_document"}},
		{"complete at the counter", dossier.ChannelCounter, []dossier.ComponentInput{
			{N: 1, Provided: catalog.FormOriginal}, {N: 2, Provided: catalog.FormOriginal}, {N: 3, Provided: catalog.FormCopy, Quantity: 2}}, nil},
		{"copy instead of original, too few drawings", dossier.ChannelCounter, []dossier.ComponentInput{
			{N: 1, Provided: catalog.FormCopy}, {N: 2, Provided: catalog.FormCopy}, {N: 3, Provided: catalog.FormCopy, Quantity: 1}},
			[]string{"1:wrong_form", "3:quantity"}},
		{"online needs files", dossier.ChannelOnline, []dossier.ComponentInput{
			{N: 1, Provided: catalog.FormElectronic, Files: file}, {N: 2, Provided: catalog.FormCopy}, {N: 3, Provided: catalog.FormElectronic}},
			[]string{"2:wrong_form", "3:no_file"}},
		{"unknown and duplicate components", dossier.ChannelCounter, []dossier.ComponentInput{
			{N: 1, Provided: catalog.FormOriginal}, {N: 1, Provided: catalog.FormOriginal}, {N: 9, Provided: catalog.FormOriginal},
			{N: 2, Provided: "scan"}, {N: 3, Provided: catalog.FormElectronic, Files: file}},
			[]string{"1:duplicate", "9:unknown_component", "2:invalid_value"}},
		{"optional document may be absent, reused electronic copy accepted", dossier.ChannelPost, []dossier.ComponentInput{
			{N: 1, Provided: catalog.FormElectronic, Reused: true, ReuseRef: "KHO-1", Files: file}, {N: 2, Provided: catalog.FormCopy},
			{N: 3, Provided: catalog.FormElectronic, Files: file}}, nil},
	}
	for _, tc := range cases {
		var got []string
		for _, d := range dossier.CheckCompleteness(p, tc.comps, tc.ch) {
			got = append(got, fmt.Sprintf("%d:%s", d.Component, d.Code))
			if d.Message == "" {
				t.Errorf("%s: defect %s without a message", tc.name, d.Code)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: defects %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Validation lists every field at once: applicant, representative, form
// data (JSON Schema), components and placement.
func TestValidationListsEveryField(t *testing.T) {
	d := dbtest.SQLite(t, migrations())
	e := newEnv(t, d)
	sub := e.completeSubmission("X")
	sub.Applicant = dossier.Applicant{Type: "robot", Name: "", PersonalID: "123", Phone: "abc", Email: "not-an-email"}
	sub.Representative = &dossier.Representative{Name: "Người\x00nộp"}
	sub.FormData = json.RawMessage(`{"ho_ten": 5, "so_dinh_danh": "12", "dien_tich": -1}`)
	sub.Components = append(sub.Components, dossier.ComponentInput{N: 4, Provided: catalog.FormOriginal,
		Files: []dossier.FileRef{{Name: "x.pdf", Hash: strings.Repeat("b", 64)}}})
	_, err := e.s.Receive(e.ctx, dossier.ReceiveInput{Submission: sub, Placement: dossier.Placement{ReceivingAgency: "bad id", ReceivingUnit: desk},
		Actor: officer})
	var ve *dossier.ValidationError
	if !errors.As(err, &ve) || ve.Incomplete {
		t.Fatalf("err = %v; want a validation error", err)
	}
	var fields []string
	for _, d := range ve.Defects {
		fields = append(fields, d.Field)
	}
	for _, want := range []string{"receiving_agency", "division_unit", "applicant.type", "applicant.name", "applicant.personal_id",
		"applicant.phone", "applicant.email", "representative.name", "form_data/ho_ten", "form_data/so_dinh_danh",
		"form_data/dia_chi", "form_data/dien_tich", "components[3].files[0].hash"} {
		if !slices.Contains(fields, want) {
			t.Errorf("no defect for %s in %v", want, fields)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM dossiers`); n != 0 {
		t.Fatalf("%d dossiers recorded by a refused request", n)
	}
}

// Fees come from the catalog; a payment is recorded once.
func TestFeePayment(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rc := e.receive("Ngô Thị Hoa")
		for range 2 {
			f, err := e.s.MarkFeePaid(e.ctx, dossier.FeePaymentInput{DossierCode: rc.Code, N: 1, Reference: "HD-0001"})
			if err != nil || f.Status != dossier.FeePaid || f.Reference != "HD-0001" {
				t.Fatalf("mark paid = %+v, %v", f, err)
			}
		}
		if n := len(e.events(dossier.TopicFeePaid, rc.Code)); n != 1 {
			t.Fatalf("%d fee events, want 1", n)
		}
		if _, err := e.s.MarkFeePaid(e.ctx, dossier.FeePaymentInput{DossierCode: rc.Code, N: 2, Reference: "x"}); !errors.Is(err, dossier.ErrNotFound) {
			t.Fatalf("unknown fee: %v", err)
		}
		if _, err := e.s.MarkFeePaid(e.ctx, dossier.FeePaymentInput{DossierCode: rc.Code, N: 1, Reference: "x", Actor: stranger}); !errors.Is(err, dossier.ErrForbidden) {
			t.Fatalf("payment recorded by another desk: %v", err)
		}
	})
}

// Reading needs a role in a unit the dossier passed through; leaders with a
// province-wide grant see everything.
func TestViewAuthorization(t *testing.T) {
	d := dbtest.SQLite(t, migrations())
	e := newEnv(t, d)
	rc := e.receive("Lý Văn Khoa")
	for _, p := range []*identity.Principal{officer, head, handler, director} {
		if _, err := e.s.Get(e.ctx, rc.Code, p); err != nil {
			t.Errorf("%s cannot read the dossier: %v", p.PersonID, err)
		}
	}
	if _, err := e.s.Get(e.ctx, rc.Code, stranger); !errors.Is(err, dossier.ErrForbidden) {
		t.Errorf("officer of another desk: %v, want ErrForbidden", err)
	}
	if _, err := e.s.Get(e.ctx, rc.Code, nil); !errors.Is(err, dossier.ErrUnauthenticated) {
		t.Errorf("anonymous: %v, want ErrUnauthenticated", err)
	}
	leader := person("leader-1", grant(identity.RoleLeader, identity.ProvinceWide))
	if _, err := e.s.Get(e.ctx, rc.Code, leader); err != nil {
		t.Errorf("province-wide leader: %v", err)
	}
	if _, err := e.s.Get(e.ctx, "000.00.13.H99-260302-9999", officer); !errors.Is(err, dossier.ErrNotFound) {
		t.Errorf("unknown code: %v", err)
	}
}

func workflowEvents(t *testing.T, e *env, caseID string) []outboxEvent {
	t.Helper()
	rows, err := e.d.Read().QueryContext(e.ctx, `SELECT id, topic, event_key, payload FROM outbox_events WHERE topic = $1 AND event_key = $2 ORDER BY id`,
		workflow.TopicTransition, caseID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxEvent
	for rows.Next() {
		var ev outboxEvent
		var p string
		if err := rows.Scan(&ev.ID, &ev.Topic, &ev.Key, &p); err != nil {
			t.Fatal(err)
		}
		ev.Payload = json.RawMessage(p)
		out = append(out, ev)
	}
	return out
}
