package dossier_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/workflow"
)

// §3 "also required": withdrawal, stop (form 05), awaiting fee payment,
// result ready but not collected, archive; each mirrored with its national
// code (§4) and clock behaviour (§6).
func TestOtherOutcomes(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(at(2026, 3, 2, 9, 0))
		assigned := func(name string) dossier.Receipt {
			rc := e.receive(name)
			e.act(dossier.ActInput{DossierCode: rc.Code, Action: "assign", Actor: head, Assignee: handler.PersonID})
			return rc
		}

		// Withdrawal at the applicant's request, recorded by the desk.
		w := assigned("Rút")
		e.refused(dossier.ActInput{DossierCode: w.Code, Action: "withdraw", Actor: officer}, dossier.ErrInvalid) // reason required
		res := e.act(dossier.ActInput{DossierCode: w.Code, Action: "withdraw", Actor: officer, Comment: "Công dân có đơn xin rút hồ sơ"})
		if res.Status != dossier.StatusWithdrawn || res.NationalStatus != 7 || !res.Ended || res.Notice == nil || res.Notice.Kind != dossier.NoticeWithdrawal {
			t.Fatalf("withdrawal = %+v", res)
		}

		// Stop of processing by the division head (form 05).
		s := assigned("Dừng")
		e.refused(dossier.ActInput{DossierCode: s.Code, Action: "stop", Actor: handler, Comment: "x"}, dossier.ErrForbidden)
		res = e.act(dossier.ActInput{DossierCode: s.Code, Action: "stop", Actor: head, Comment: "Có tranh chấp đất đai"})
		if res.Status != dossier.StatusStopped || res.NationalStatus != 8 || res.Notice.Form != "05" {
			t.Fatalf("stop = %+v", res)
		}

		// Financial obligation: the clock pauses until payment.
		p := assigned("Phí")
		e.clock.Set(at(2026, 3, 3, 9, 0))
		res = e.act(dossier.ActInput{DossierCode: p.Code, Action: "request_payment", Actor: handler, Comment: "Nộp lệ phí trước bạ"})
		if res.Status != dossier.StatusAwaitingPayment || res.NationalStatus != 6 || !res.Paused {
			t.Fatalf("request payment = %+v", res)
		}
		if _, err := e.s.MarkFeePaid(e.ctx, dossier.FeePaymentInput{DossierCode: p.Code, N: 1, Reference: "KBNN-778", Actor: officer}); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(at(2026, 3, 4, 9, 0))
		res = e.act(dossier.ActInput{DossierCode: p.Code, Action: "payment_confirmed", Actor: officer})
		sameTime(t, "appointment after one day of payment pause", res.DueAt, at(2026, 3, 17, 17, 0))

		// Result ready, not collected, archived.
		n := assigned("Không đến nhận")
		draft := e.put("du-thao.pdf", smallPDF("du thao"))
		for _, in := range []dossier.ActInput{
			{Action: "draft_result", Actor: handler, Attachments: []workflow.Attachment{{Name: "du-thao.pdf", Hash: draft.Hash}}},
			{Action: "approve", Actor: head}, {Action: "sign", Actor: director, Signature: "sig"},
			{Action: "transfer", Actor: handler}, {Action: "issue", Actor: clerk, Signature: "seal"},
		} {
			in.DossierCode = n.Code
			e.act(in)
		}
		res = e.act(dossier.ActInput{DossierCode: n.Code, Action: "not_collected", Actor: officer, Comment: "Đã gọi điện hai lần"})
		if res.Status != dossier.StatusNotCollected || res.NationalStatus != 9 {
			t.Fatalf("not collected = %+v", res)
		}
		res = e.act(dossier.ActInput{DossierCode: n.Code, Action: "archive", Actor: officer})
		if res.Status != dossier.StatusArchived || res.NationalStatus != 9 || !res.Ended {
			t.Fatalf("archive = %+v", res)
		}
		// A process without the action answers a clear invalid action.
		e.refused(dossier.ActInput{DossierCode: p.Code, Action: "teleport", Actor: officer}, dossier.ErrInvalidAction)
	})
}

// Results: versions by result code, history kept, the e-result downloadable
// by the applicant with the second factor once issued (§9).
func TestResultsAndEResult(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rc := e.receive("Kết Quả")
		add := func(text string, p *identity.Principal) (dossier.Result, error) {
			return e.s.AddResult(e.ctx, dossier.AddResultInput{DossierCode: rc.Code, ResultCode: "21/GPXD", Name: "Giấy phép xây dựng",
				Issuer: "Sở Xây dựng", ValidFrom: calendar.Date{Year: 2026, Month: 3, Day: 5}, ValidTo: calendar.Date{Year: 2027, Month: 3, Day: 5},
				FileName: "gp.pdf", Body: bytes.NewReader(smallPDF(text)), Actor: p})
		}
		if _, err := add("v1", stranger); !errors.Is(err, dossier.ErrForbidden) {
			t.Fatalf("stranger adds a result: %v", err)
		}
		if _, err := e.s.AddResult(e.ctx, dossier.AddResultInput{DossierCode: rc.Code, Actor: clerk, ValidFrom: calendar.Date{Year: 2026, Month: 3, Day: 5},
			ValidTo: calendar.Date{Year: 2026, Month: 1, Day: 1}}); !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("empty result: %v", err)
		}
		v1, err := add("ban 1", clerk)
		if err != nil || v1.Version != 1 {
			t.Fatalf("v1 = %+v, %v", v1, err)
		}
		if same, err := add("ban 1", clerk); err != nil || same.Version != 1 {
			t.Fatalf("same result again = %+v, %v; want version 1", same, err)
		}
		v2, err := add("ban 2 dinh chinh", clerk)
		if err != nil || v2.Version != 2 {
			t.Fatalf("v2 = %+v, %v", v2, err)
		}
		all, err := e.s.Results(e.ctx, rc.Code, officer)
		if err != nil || len(all) != 2 || all[0].SupersededAt.IsZero() || !all[1].SupersededAt.IsZero() {
			t.Fatalf("results = %+v, %v; want v1 superseded, v2 current", all, err)
		}
		if n := len(e.events(dossier.TopicResultAdded, rc.Code)); n != 2 {
			t.Fatalf("%d result events, want 2", n)
		}
		// Not downloadable before it is issued.
		if _, _, err := e.s.OpenResult(e.ctx, rc.Code, "5678", "21/GPXD"); !errors.Is(err, dossier.ErrNotFound) {
			t.Fatalf("before issue: %v", err)
		}
		draft := e.put("du-thao.pdf", smallPDF("du thao"))
		for _, in := range []dossier.ActInput{
			{Action: "assign", Actor: head, Assignee: handler.PersonID},
			{Action: "draft_result", Actor: handler, Attachments: []workflow.Attachment{{Name: "du-thao.pdf", Hash: draft.Hash}}},
			{Action: "approve", Actor: head}, {Action: "sign", Actor: director, Signature: "sig"},
			{Action: "transfer", Actor: handler}, {Action: "issue", Actor: clerk, Signature: "seal"},
		} {
			in.DossierCode = rc.Code
			e.act(in)
		}
		res, r, err := e.s.OpenResult(e.ctx, rc.Code, "5678", "21/GPXD")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if res.Version != 2 || !bytes.Equal(b, smallPDF("ban 2 dinh chinh")) {
			t.Fatalf("e-result = %+v; want the current version's file", res)
		}
		if _, _, err := e.s.OpenResult(e.ctx, rc.Code, "1111", "21/GPXD"); !errors.Is(err, dossier.ErrLookupFailed) {
			t.Fatalf("wrong factor: %v", err)
		}
		v, err := e.s.Lookup(e.ctx, rc.Code, "5678")
		if err != nil || !slices.Equal(v.Results, []string{"21/GPXD"}) || v.Status != dossier.StatusResultReady {
			t.Fatalf("lookup after issue = %+v, %v", v, err)
		}
		// The draft attached to a step can be downloaded by officials.
		if _, r, err := e.s.OpenFile(e.ctx, rc.Code, draft.Hash, head); err != nil {
			t.Fatalf("draft download: %v", err)
		} else {
			r.Close()
		}
		// After the return the dossier is closed for results.
		e.act(dossier.ActInput{DossierCode: rc.Code, Action: "return", Actor: officer})
		if _, err := add("ban 3", clerk); !errors.Is(err, dossier.ErrInvalidAction) {
			t.Fatalf("result after the end: %v", err)
		}
	})
}

// Lists: keyset pages newest first, filtered by unit, status, procedure and
// text; who may list what.
func TestListPaging(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		var codes []string
		for i := range 5 {
			codes = append(codes, e.receive(fmt.Sprintf("Trang %d", i)).Code)
		}
		e.act(dossier.ActInput{DossierCode: codes[1], Action: "assign", Actor: head, Assignee: handler.PersonID})
		var seen []string
		after := ""
		for pages := 0; ; pages++ {
			page, err := e.s.List(e.ctx, dossier.ListQuery{Actor: officer, Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				seen = append(seen, it.Code)
			}
			if page.Next == "" {
				if pages != 2 {
					t.Fatalf("%d pages, want 3", pages+1)
				}
				break
			}
			after = page.Next
		}
		want := slices.Clone(codes)
		slices.Reverse(want)
		if !slices.Equal(seen, want) {
			t.Fatalf("pages = %v, want newest first %v", seen, want)
		}
		page, err := e.s.List(e.ctx, dossier.ListQuery{Actor: head, Statuses: []dossier.Status{dossier.StatusProcessing}})
		if err != nil || len(page.Items) != 1 || page.Items[0].Code != codes[1] || page.Items[0].Assignee != handler.PersonID {
			t.Fatalf("processing in the division = %+v, %v", page.Items, err)
		}
		page, err = e.s.List(e.ctx, dossier.ListQuery{Actor: officer, ProcedureCode: sameDayCode})
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("other procedure = %+v, %v", page.Items, err)
		}
		page, err = e.s.List(e.ctx, dossier.ListQuery{Actor: officer, Text: codes[3]})
		if err != nil || len(page.Items) != 1 || page.Items[0].Code != codes[3] {
			t.Fatalf("by code = %+v, %v", page.Items, err)
		}
		page, err = e.s.List(e.ctx, dossier.ListQuery{Actor: officer, Text: "trang 4"})
		if err != nil || len(page.Items) != 1 || page.Items[0].Code != codes[4] {
			t.Fatalf("by name without diacritics = %+v, %v", page.Items, err)
		}
		if _, err := e.s.List(e.ctx, dossier.ListQuery{Actor: stranger, Unit: desk}); !errors.Is(err, dossier.ErrForbidden) {
			t.Fatalf("stranger lists the desk: %v", err)
		}
		if page, err := e.s.List(e.ctx, dossier.ListQuery{Actor: stranger}); err != nil || len(page.Items) != 0 {
			t.Fatalf("stranger's own desk = %+v, %v", page.Items, err)
		}
		two := person("two-desks", grant(identity.RoleOfficer, desk), grant(identity.RoleOfficer, "000.01.99.H99"))
		if _, err := e.s.List(e.ctx, dossier.ListQuery{Actor: two}); !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("two desks without unit: %v; want the unit asked for", err)
		}
		if _, err := e.s.List(e.ctx, dossier.ListQuery{Actor: officer, After: "!!"}); !errors.Is(err, dossier.ErrInvalid) {
			t.Fatalf("bad cursor: %v", err)
		}
		inbox, err := e.s.Inbox(e.ctx, head, workflow.InboxQuery{Kind: workflow.InboxQueue})
		if err != nil || len(inbox.Items) != 4 {
			t.Fatalf("head's queue = %d items, %v; want the 4 unassigned dossiers", len(inbox.Items), err)
		}
	})
}

// Every message key exists in Vietnamese and English with the same
// placeholders.
func TestMessages(t *testing.T) {
	if err := i18n.Check(); err != nil {
		t.Fatal(err)
	}
	e := &dossier.Error{Code: "dossier.forbidden", Args: []any{"action", "tiếp nhận hồ sơ", "unit", desk}}
	if got := e.Message(i18n.Vietnamese); got != "Bạn không có quyền tiếp nhận hồ sơ tại đơn vị "+desk+"." {
		t.Fatalf("message = %q", got)
	}
}

// The reception period filter (the national-portal reconciliation and
// backfill list by it): a dossier counts on the day it was received, or,
// not received yet, on the day it was submitted; an online dossier
// received a long while after its submission counts on its reception day.
func TestListByReceptionPeriod(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.clock.Set(at(2026, 1, 5, 9, 0))
		late := e.submitOnline("acc-hoa", "late").Code // submitted 5 Jan
		e.clock.Set(at(2026, 3, 2, 9, 0))
		counter := e.receive("Quầy").Code // received 2 Mar
		e.clock.Set(at(2026, 3, 9, 9, 0))
		if _, err := e.s.Receive(e.ctx, dossier.ReceiveInput{DossierCode: late, Placement: dossier.Placement{DivisionUnit: division}, Actor: officer}); err != nil {
			t.Fatal(err) // received 9 Mar, 63 days after
		}
		e.clock.Set(at(2026, 3, 10, 9, 0))
		waiting := e.submitOnline("acc-hoa", "waiting").Code // submitted 10 Mar, not received
		list := func(from, to time.Time) []string {
			t.Helper()
			var out []string
			after := ""
			for {
				page, err := e.s.List(e.ctx, dossier.ListQuery{Actor: officer, ReceivedFrom: from, ReceivedTo: to, Limit: 1, After: after})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range page.Items {
					out = append(out, it.Code)
				}
				if page.Next == "" {
					return out
				}
				after = page.Next
			}
		}
		for _, c := range []struct {
			from, to time.Time
			want     []string
		}{
			{at(2026, 3, 1, 0, 0), at(2026, 3, 9, 0, 0), []string{counter}},
			{at(2026, 3, 9, 0, 0), at(2026, 3, 10, 0, 0), []string{late}},
			{at(2026, 3, 1, 0, 0), time.Time{}, []string{waiting, counter, late}},
			{time.Time{}, at(2026, 3, 1, 0, 0), nil},
			{at(2026, 3, 10, 9, 0), at(2026, 3, 10, 9, 1), []string{waiting}},
		} {
			if got := list(c.from, c.to); !slices.Equal(got, c.want) {
				t.Errorf("received in [%v, %v) = %v, want %v", c.from, c.to, got, c.want)
			}
		}
	})
}
