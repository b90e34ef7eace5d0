package workflow_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/i18n"
	"github.com/congso/congso/internal/workflow"
)

// §3: the nine steps, from the completeness check to the returned result,
// with the clock from reception (§6), DVCQG codes (§4), history, outbox,
// audit, work items and timers at every step.
func TestNineStepPath(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		c := e.start(workflow.OneStop, "c1")
		if c.State != "checking" || c.Status != 1 || c.Version != 1 || !c.DueAt.IsZero() || c.DefinitionVersion != 2 {
			t.Fatalf("started case = %+v; want checking, status 1, version 1, no due date before reception", c)
		}
		if got := keys(e.timers("c1")); len(got) != 0 {
			t.Fatalf("timers before reception = %v, want none (clock not started)", got)
		}

		// Step 1–2: reception starts the 10-working-day clock.
		e.clock.Set(at(2026, 3, 2, 9, 0))
		res := e.receive("c1")
		sameTime(t, "clock start", res.Case.ClockStartedAt, at(2026, 3, 2, 9, 0))
		sameTime(t, "appointment (10 working days)", res.Case.DueAt, at(2026, 3, 16, 17, 0))
		sameTime(t, "assign step due (4 office hours)", res.Case.StateDueAt, at(2026, 3, 2, 15, 0))
		if res.Case.Unit != division || res.Case.Status != 2 {
			t.Fatalf("after receive: unit %q status %d; want the division, status 2", res.Case.Unit, res.Case.Status)
		}
		tm := e.timers("c1")
		if !slices.Equal(keys(tm), []string{"case:c1", "state:c1:assigning"}) {
			t.Fatalf("timers = %v; want the case and the assign step", keys(tm))
		}
		sameTime(t, "case warning (8 office hours before)", tm["case:c1"], at(2026, 3, 13, 16, 30))
		sameTime(t, "step warning (2 office hours before)", tm["state:c1:assigning"], at(2026, 3, 2, 11, 0))

		// Steps 3–9.
		steps := []struct {
			at     time.Time
			in     workflow.Input
			state  string
			status int
			timers []string
		}{
			{at(2026, 3, 2, 10, 0), workflow.Input{Action: "assign", Actor: head, Assignee: handler.ID}, "appraising", 4, []string{"case:c1"}},
			{at(2026, 3, 3, 10, 0), workflow.Input{Action: "draft_result", Actor: handler, Attachments: draft}, "approving", 4, []string{"case:c1", "state:c1:approving"}},
			{at(2026, 3, 3, 14, 0), workflow.Input{Action: "approve", Actor: head}, "signing", 4, []string{"case:c1", "state:c1:signing"}},
			{at(2026, 3, 4, 9, 0), workflow.Input{Action: "sign", Actor: agencyHead, Signature: "sig:ab12"}, "transferring", 4, []string{"case:c1", "state:c1:transferring"}},
			{at(2026, 3, 4, 10, 0), workflow.Input{Action: "transfer", Actor: handler}, "issuing", 4, []string{"case:c1", "state:c1:issuing"}},
			{at(2026, 3, 4, 14, 0), workflow.Input{Action: "issue", Actor: clerk, Signature: "seal:cd34"}, "returning", 9, nil},
			{at(2026, 3, 5, 8, 0), workflow.Input{Action: "return", Actor: officer}, "returned", 10, nil},
		}
		version := res.Case.Version
		for _, st := range steps {
			e.clock.Set(st.at)
			st.in.CaseID, st.in.ExpectedVersion = "c1", version
			res = e.do(st.in)
			if res.Case.State != st.state || res.Case.Status != st.status || res.Case.Version != version+1 {
				t.Fatalf("%s: state %s status %d version %d; want %s, %d, %d", st.in.Action, res.Case.State, res.Case.Status, res.Case.Version, st.state, st.status, version+1)
			}
			version = res.Case.Version
			if got := keys(e.timers("c1")); !slices.Equal(got, st.timers) {
				t.Fatalf("after %s timers = %v, want %v", st.in.Action, got, st.timers)
			}
		}
		if res.Case.Outcome != "approved" || !res.Case.Ended() {
			t.Fatalf("final case = %+v; want ended with outcome approved", res.Case)
		}
		sameTime(t, "finished (result ready)", res.Case.FinishedAt, at(2026, 3, 4, 14, 0))

		hist, err := e.s.History(e.ctx, "c1")
		if err != nil {
			t.Fatal(err)
		}
		var trail []string
		var codes []int
		for _, h := range hist {
			trail = append(trail, h.Action)
			codes = append(codes, h.Status)
		}
		if want := []string{"start", "receive", "assign", "draft_result", "approve", "sign", "transfer", "issue", "return"}; !slices.Equal(trail, want) {
			t.Fatalf("history = %v, want %v", trail, want)
		}
		if want := []int{1, 2, 4, 4, 4, 4, 4, 9, 10}; !slices.Equal(codes, want) {
			t.Fatalf("status codes = %v, want %v", codes, want)
		}
		h := hist[3]
		if h.ActorID != handler.ID || h.Role != "handler" || h.Unit != division || len(h.Attachments) != 1 || h.Attachments[0].Hash != "sha256-aa11" {
			t.Fatalf("draft entry = %+v; want handler in the division with the draft's hash", h)
		}
		if hist[5].Signature != "sig:ab12" || hist[5].Unit != agency || hist[5].Role != "agency_head" {
			t.Fatalf("sign entry = %+v", hist[5])
		}
		if hist[2].Detail["assignee"] != handler.ID {
			t.Fatalf("assign entry detail = %v", hist[2].Detail)
		}

		evs := e.events(workflow.TopicTransition, "c1")
		if len(evs) != 9 {
			t.Fatalf("%d transition events, want 9", len(evs))
		}
		var last workflow.TransitionEvent
		if err := evs[8].Decode(&last); err != nil {
			t.Fatal(err)
		}
		if last.To != "returned" || last.Status != 10 || !last.Ended || last.Ref != "H15.50-c1" {
			t.Fatalf("last event = %+v", last)
		}
		entries, _, err := audit.List(e.ctx, d, audit.Filter{ObjectType: workflow.AuditObjectType, ObjectID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 9 {
			t.Fatalf("%d audit entries for the case, want 9", len(entries))
		}
		if rep, err := audit.Verify(e.ctx, d); err != nil || !rep.OK {
			t.Fatalf("audit chain: %v %v", rep, err)
		}
		page, err := e.s.Inbox(e.ctx, workflow.InboxQuery{Kind: workflow.InboxQueue, Actor: officer})
		if err != nil || len(page.Items) != 0 {
			t.Fatalf("officer queue after return = %+v, %v; want empty (ended cases leave no work)", page.Items, err)
		}
		e.refused(workflow.Input{CaseID: "c1", Action: "return", Actor: officer}, workflow.ErrInvalidAction)
	})
}

// §6: a supplement request during processing pauses the clock; the pause
// interval is stored, and resuming moves the appointment by the office time
// paused.
func TestSupplementPausesTheClock(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStop, "c2")
		e.clock.Set(at(2026, 3, 2, 9, 0))
		e.receive("c2")
		e.do(workflow.Input{CaseID: "c2", Action: "assign", Actor: head, Assignee: handler.ID})

		e.clock.Set(at(2026, 3, 3, 10, 0))
		e.refused(workflow.Input{CaseID: "c2", Action: "request_supplement", Actor: handler}, workflow.ErrInvalidInput) // §3 1.1: reason required
		res := e.do(workflow.Input{CaseID: "c2", Action: "request_supplement", Actor: handler, Comment: "Thiếu bản sao giấy chứng nhận quyền sử dụng đất"})
		if res.Case.State != "supplement" || res.Case.Status != 5 || res.Case.PausedAt.IsZero() || res.Case.Unit != desk {
			t.Fatalf("after request: %+v; want paused at the desk, status 5", res.Case)
		}
		if got := keys(e.timers("c2")); len(got) != 0 {
			t.Fatalf("timers while paused = %v, want none", got)
		}
		// The paused case waits at the desk with no deadline.
		page, err := e.s.Inbox(e.ctx, workflow.InboxQuery{Kind: workflow.InboxQueue, Actor: officer})
		if err != nil || len(page.Items) != 1 || page.Items[0].State != "supplement" || !page.Items[0].DueAt.IsZero() {
			t.Fatalf("desk queue = %+v, %v", page.Items, err)
		}

		// Two working days later (Tuesday 10:00 → Thursday 10:00 = 15 office hours).
		e.clock.Set(at(2026, 3, 5, 10, 0))
		res = e.do(workflow.Input{CaseID: "c2", Action: "supplement_received", Actor: officer})
		if res.Case.State != "appraising" || res.Case.Assignee != handler.ID || !res.Case.PausedAt.IsZero() {
			t.Fatalf("after supplement: %+v; want back with the same handler, running", res.Case)
		}
		sameTime(t, "appointment after the pause", res.Case.DueAt, at(2026, 3, 18, 17, 0))
		if res.Case.PausedTotal != 15*time.Hour {
			t.Fatalf("paused total = %v, want 15h", res.Case.PausedTotal)
		}
		pauses, err := e.s.Pauses(e.ctx, "c2")
		if err != nil {
			t.Fatal(err)
		}
		if len(pauses) != 1 {
			t.Fatalf("pauses = %+v, want one interval", pauses)
		}
		p := pauses[0]
		sameTime(t, "pause start", p.StartedAt, at(2026, 3, 3, 10, 0))
		sameTime(t, "pause end", p.EndedAt, at(2026, 3, 5, 10, 0))
		if p.Working != 15*time.Hour || p.State != "supplement" || p.Reason != "Thiếu bản sao giấy chứng nhận quyền sử dụng đất" {
			t.Fatalf("pause = %+v", p)
		}
		tm := e.timers("c2")
		sameTime(t, "re-armed case warning", tm["case:c2"], at(2026, 3, 17, 16, 30))
	})
}

// §3 1.1 and §6: a supplement before reception is recorded as a pause, and
// the clock starts only at reception.
func TestSupplementBeforeReception(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStop, "c3")
		e.do(workflow.Input{CaseID: "c3", Action: "request_supplement", Actor: officer, Comment: "Thiếu tờ khai"})
		e.clock.Set(at(2026, 3, 4, 8, 0))
		e.do(workflow.Input{CaseID: "c3", Action: "supplement_received", Actor: officer})
		e.clock.Set(at(2026, 3, 4, 9, 0))
		res := e.receive("c3")
		sameTime(t, "clock start", res.Case.ClockStartedAt, at(2026, 3, 4, 9, 0))
		sameTime(t, "appointment", res.Case.DueAt, at(2026, 3, 18, 17, 0))
		pauses, _ := e.s.Pauses(e.ctx, "c3")
		if len(pauses) != 1 || pauses[0].EndedAt.IsZero() || pauses[0].State != "supplement_at_reception" {
			t.Fatalf("pauses = %+v", pauses)
		}
	})
}

// A step deadline interrupted by a pause is restored, moved by the office
// time paused, when the case returns to the step (custom definition).
func TestPauseMovesStepDeadline(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		def := `{"key": "pause-step", "version": 1, "name": {"vi": "Thử tạm dừng"}, "initial": "work",
  "sla": {"value": 5, "unit": "working_days"},
  "states": [
    {"key": "work", "name": {"vi": "Xử lý"}, "kind": "normal", "status": 4, "roles": ["handler"],
     "sla": {"value": 2, "unit": "working_days"}, "actions": [
      {"key": "wait", "name": {"vi": "Chờ"}, "roles": ["handler"], "next": "waiting", "requires": ["comment"]},
      {"key": "finish", "name": {"vi": "Xong"}, "roles": ["handler"], "next": "done"}]},
    {"key": "waiting", "name": {"vi": "Chờ bổ sung"}, "kind": "paused", "status": 5, "roles": ["handler"], "actions": [
      {"key": "resume", "name": {"vi": "Tiếp tục"}, "roles": ["handler"], "next": "work"}]},
    {"key": "done", "name": {"vi": "Xong"}, "kind": "final", "status": 10}]}`
		if _, err := e.s.Publish(e.ctx, []byte(def), "admin"); err != nil {
			t.Fatal(err)
		}
		worker := workflow.Actor{ID: "w", Roles: map[string][]string{"U": {"handler"}}}
		var c *workflow.Case
		if err := d.Tx(e.ctx, func(tx *db.Tx) error {
			var err error
			c, err = e.s.Start(e.ctx, tx, workflow.StartCase{CaseID: "p1", DefinitionKey: "pause-step", Unit: "U", Actor: worker})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		sameTime(t, "step due", c.StateDueAt, at(2026, 3, 4, 17, 0))
		sameTime(t, "case due", c.DueAt, at(2026, 3, 9, 17, 0))
		e.clock.Set(at(2026, 3, 3, 8, 30)) // Tuesday 08:30 to Wednesday 08:30: 7.5 office hours
		e.do(workflow.Input{CaseID: "p1", Action: "wait", Actor: worker, Comment: "chờ"})
		e.clock.Set(at(2026, 3, 4, 8, 30))
		res := e.do(workflow.Input{CaseID: "p1", Action: "resume", Actor: worker})
		sameTime(t, "step due after the pause", res.Case.StateDueAt, at(2026, 3, 5, 17, 0))
		sameTime(t, "case due after the pause", res.Case.DueAt, at(2026, 3, 10, 17, 0))
		if tm := e.timers("p1"); !tm["state:p1:work"].Equal(res.Case.StateDueAt) || !tm["case:p1"].Equal(res.Case.DueAt) {
			t.Fatalf("timers = %v; want both re-armed at the moved deadlines", tm)
		}
	})
}

// §3 steps 5–6: disagreement sends the draft back with a mandatory comment.
func TestSendBacks(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStop, "c4")
		e.receive("c4")
		e.do(workflow.Input{CaseID: "c4", Action: "assign", Actor: head, Assignee: handler.ID})
		e.do(workflow.Input{CaseID: "c4", Action: "draft_result", Actor: handler, Attachments: draft})
		e.refused(workflow.Input{CaseID: "c4", Action: "send_back", Actor: head}, workflow.ErrInvalidInput)
		res := e.do(workflow.Input{CaseID: "c4", Action: "send_back", Actor: head, Comment: "Bổ sung căn cứ pháp lý"})
		if res.Case.State != "appraising" || res.Case.Assignee != handler.ID {
			t.Fatalf("after send-back: %+v; want appraising by the same handler", res.Case)
		}
		e.do(workflow.Input{CaseID: "c4", Action: "draft_result", Actor: handler, Attachments: draft})
		e.do(workflow.Input{CaseID: "c4", Action: "approve", Actor: head})
		res = e.do(workflow.Input{CaseID: "c4", Action: "send_back_to_approval", Actor: agencyHead, Comment: "Xem lại"})
		if res.Case.State != "approving" {
			t.Fatalf("state = %s, want approving", res.Case.State)
		}
		e.do(workflow.Input{CaseID: "c4", Action: "approve", Actor: head})
		res = e.do(workflow.Input{CaseID: "c4", Action: "send_back", Actor: agencyHead, Comment: "Sai thẩm quyền"})
		if res.Case.State != "appraising" {
			t.Fatalf("state = %s, want appraising", res.Case.State)
		}
		hist, _ := e.s.History(e.ctx, "c4")
		var backs []string
		for _, h := range hist {
			if h.SendBack {
				backs = append(backs, h.From+"→"+h.To+" "+h.Comment)
			}
		}
		want := []string{"approving→appraising Bổ sung căn cứ pháp lý", "signing→approving Xem lại", "signing→appraising Sai thẩm quyền"}
		if !slices.Equal(backs, want) {
			t.Fatalf("send-backs = %v, want %v", backs, want)
		}
	})
}

// Role checks (§1: roles are scoped to a unit) and availability.
func TestRolesAndAvailability(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStop, "c5")
		we := e.refused(workflow.Input{CaseID: "c5", Action: "receive", Actor: handler}, workflow.ErrForbidden)
		if we.Code != "workflow.forbidden.role" || we.Message(i18n.Vietnamese) == we.Code {
			t.Fatalf("refusal = %+v (message %q)", we, we.Message(i18n.Vietnamese))
		}
		elsewhere := workflow.Actor{ID: "officer-9", Roles: map[string][]string{"OTHER": {"officer"}}}
		e.refused(workflow.Input{CaseID: "c5", Action: "receive", Actor: elsewhere}, workflow.ErrForbidden)
		we = e.refused(workflow.Input{CaseID: "c5", Action: "approve", Actor: head}, workflow.ErrInvalidAction)
		if we.Code != "workflow.invalid_action.not_available" {
			t.Fatalf("code = %s", we.Code)
		}
		e.refused(workflow.Input{CaseID: "nope", Action: "receive", Actor: officer}, workflow.ErrNotFound)
		// The receive must name the division: the case would belong to no unit.
		we = e.refused(workflow.Input{CaseID: "c5", Action: "receive", Actor: officer}, workflow.ErrInvalidInput)
		if we.Code != "workflow.input.unit_required" {
			t.Fatalf("code = %s", we.Code)
		}
		e.refused(workflow.Input{CaseID: "c5", Action: "receive", Actor: officer, Units: map[string]string{"desk": "X", "division": division}}, workflow.ErrInvalidInput)

		e.receive("c5")
		e.refused(workflow.Input{CaseID: "c5", Action: "assign", Actor: head}, workflow.ErrInvalidInput) // no assignee
		e.do(workflow.Input{CaseID: "c5", Action: "assign", Actor: head, Assignee: handler.ID})
		we = e.refused(workflow.Input{CaseID: "c5", Action: "draft_result", Actor: handler2, Attachments: draft}, workflow.ErrForbidden)
		if we.Code != "workflow.forbidden.assignee" {
			t.Fatalf("code = %s, want the assignee rule", we.Code)
		}
		e.refused(workflow.Input{CaseID: "c5", Action: "draft_result", Actor: handler}, workflow.ErrInvalidInput) // no draft attached

		// The division head reassigns; the desk withdraws on the applicant's
		// behalf although the case is at the division.
		avail, err := e.s.Available(e.ctx, "c5", head)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range avail {
			names = append(names, a.Key)
		}
		if want := []string{"reassign", "stop", "extend"}; !slices.Equal(names, want) {
			t.Fatalf("head may %v, want %v", names, want)
		}
		e.do(workflow.Input{CaseID: "c5", Action: "reassign", Actor: head, Assignee: handler2.ID})
		e.refused(workflow.Input{CaseID: "c5", Action: "draft_result", Actor: handler, Attachments: draft}, workflow.ErrForbidden)
		province := workflow.Actor{ID: "admin", Roles: map[string][]string{workflow.ProvinceWide: {"officer"}}}
		res := e.do(workflow.Input{CaseID: "c5", Action: "withdraw", Actor: province, Comment: "Công dân rút hồ sơ"})
		if res.Case.State != "withdrawn" || res.Case.Status != 7 || !res.Case.Ended() {
			t.Fatalf("after withdraw: %+v", res.Case)
		}
		e.refused(workflow.Input{CaseID: "c5", Action: "stop", Actor: head, Comment: "x"}, workflow.ErrInvalidAction)
	})
}

// §3 extension: a new appointment date, only before the current one.
func TestExtension(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStop, "c6")
		e.clock.Set(at(2026, 3, 2, 9, 0))
		e.receive("c6")
		e.do(workflow.Input{CaseID: "c6", Action: "assign", Actor: head, Assignee: handler.ID})
		e.refused(workflow.Input{CaseID: "c6", Action: "extend", Actor: handler, Comment: "Chờ xác minh",
			NewDue: at(2026, 3, 10, 17, 0)}, workflow.ErrInvalidInput) // earlier than the current due date
		res := e.do(workflow.Input{CaseID: "c6", Action: "extend", Actor: handler, Comment: "Chờ xác minh thực địa", NewDue: at(2026, 3, 20, 17, 0)})
		if res.Case.State != "appraising" {
			t.Fatalf("extension moved the case to %s", res.Case.State)
		}
		sameTime(t, "new due", res.Case.DueAt, at(2026, 3, 20, 17, 0))
		sameTime(t, "case warning", e.timers("c6")["case:c6"], at(2026, 3, 19, 16, 30))
		hist, _ := e.s.History(e.ctx, "c6")
		if h := hist[len(hist)-1]; h.Action != "extend" || h.Detail["previous_due"] == nil {
			t.Fatalf("last entry = %+v", h)
		}
		e.clock.Set(at(2026, 3, 23, 8, 0))
		we := e.refused(workflow.Input{CaseID: "c6", Action: "extend", Actor: handler, Comment: "x", NewDue: at(2026, 3, 30, 17, 0)}, workflow.ErrInvalidAction)
		if we.Code != "workflow.invalid_action.extension_late" {
			t.Fatalf("code = %s", we.Code)
		}
	})
}

// Optimistic concurrency: of conflicting actions on the same version,
// exactly one wins and the others get ErrConflict.
func TestConcurrentActionsOneWins(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStop, "c7")
		e.receive("c7")
		e.do(workflow.Input{CaseID: "c7", Action: "assign", Actor: head, Assignee: handler.ID})
		res := e.do(workflow.Input{CaseID: "c7", Action: "draft_result", Actor: handler, Attachments: draft})
		v := res.Case.Version
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				in := workflow.Input{CaseID: "c7", Action: "approve", Actor: head, ExpectedVersion: v}
				if i%2 == 1 {
					in.Action, in.Comment = "send_back", "Chưa đạt"
				}
				_, errs[i] = e.s.Transition(e.ctx, in)
			})
		}
		wg.Wait()
		wins, conflicts := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, workflow.ErrConflict):
				conflicts++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if wins != 1 || conflicts != n-1 {
			t.Fatalf("wins = %d, conflicts = %d; want exactly one winner", wins, conflicts)
		}
		c := e.caseOf("c7")
		hist, _ := e.s.History(e.ctx, "c7")
		if c.Version != v+1 || len(hist) != 5 {
			t.Fatalf("version %d with %d history entries; want %d and 5", c.Version, len(hist), v+1)
		}
		// A stale token is refused before anything is written.
		e.refused(workflow.Input{CaseID: "c7", Action: "approve", Actor: head, ExpectedVersion: v}, workflow.ErrConflict)
	})
}

// §3 step 4 and §6: consultation of several agencies in parallel, each with
// its own deadline; one refusal ends the consultation at once.
func TestForkJoinWithRefusal(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStopInterAgency, "f1")
		e.clock.Set(at(2026, 3, 2, 9, 0))
		e.receive("f1")
		e.do(workflow.Input{CaseID: "f1", Action: "assign", Actor: head, Assignee: handler.ID})
		e.refused(workflow.Input{CaseID: "f1", Action: "consult", Actor: handler, Comment: "Xin ý kiến"}, workflow.ErrInvalidInput) // no agencies
		res := e.do(workflow.Input{CaseID: "f1", Action: "consult", Actor: handler, Comment: "Xin ý kiến",
			Branches: []workflow.BranchSpec{
				{Unit: "TNMT"},
				{Unit: "XD", SLA: &workflow.Duration{Value: 3, Unit: workflow.WorkingDays}},
				{Key: "thue", Unit: "THUE", Due: at(2026, 3, 6, 17, 0)},
			}})
		if res.Case.State != "consulting" || len(res.Case.Branches) != 3 {
			t.Fatalf("after consult: %+v", res.Case)
		}
		due := map[string]time.Time{}
		for _, b := range res.Case.Branches {
			due[b.Key] = b.DueAt
			if b.State != "consult_review" || b.Outcome != "" {
				t.Fatalf("branch %+v", b)
			}
		}
		sameTime(t, "default branch deadline", due["TNMT"], at(2026, 3, 9, 17, 0))
		sameTime(t, "branch SLA", due["XD"], at(2026, 3, 5, 17, 0))
		sameTime(t, "branch due", due["thue"], at(2026, 3, 6, 17, 0))
		tm := e.timers("f1")
		if len(tm) != 4 { // case + one per branch
			t.Fatalf("timers = %v", keys(tm))
		}

		tnmt := workflow.Actor{ID: "tnmt-1", Roles: map[string][]string{"TNMT": {"handler"}}}
		xd := workflow.Actor{ID: "xd-1", Roles: map[string][]string{"XD": {"handler"}}}
		page, err := e.s.Inbox(e.ctx, workflow.InboxQuery{Kind: workflow.InboxQueue, Actor: xd})
		if err != nil || len(page.Items) != 1 || page.Items[0].Branch != "XD" || !page.Items[0].DueAt.Equal(at(2026, 3, 5, 17, 0)) {
			t.Fatalf("XD queue = %+v, %v", page.Items, err)
		}
		e.refused(workflow.Input{CaseID: "f1", Branch: "XD", Action: "agree", Actor: tnmt, Comment: "ok"}, workflow.ErrForbidden)
		e.refused(workflow.Input{CaseID: "f1", Branch: "NONE", Action: "agree", Actor: tnmt, Comment: "ok"}, workflow.ErrNotFound)
		res = e.do(workflow.Input{CaseID: "f1", Branch: "TNMT", Action: "agree", Actor: tnmt, Comment: "Đồng ý", ExpectedVersion: 1})
		if res.Joined || res.Case.State != "consulting" {
			t.Fatalf("one agreement joined: %+v", res)
		}
		res = e.do(workflow.Input{CaseID: "f1", Branch: "XD", Action: "refuse", Actor: xd, Comment: "Không phù hợp quy hoạch"})
		if !res.Joined || res.Case.State != "drafting_refusal" || res.Case.Assignee != handler.ID {
			t.Fatalf("refusal: joined=%v state=%s", res.Joined, res.Case.State)
		}
		outcomes := map[string]string{}
		for _, b := range e.caseOf("f1").Branches {
			outcomes[b.Key] = b.Outcome
		}
		if want := map[string]string{"TNMT": "done", "XD": "refused", "thue": "cancelled"}; fmt.Sprint(outcomes) != fmt.Sprint(want) {
			t.Fatalf("outcomes = %v, want %v", outcomes, want)
		}
		if got := keys(e.timers("f1")); !slices.Equal(got, []string{"case:f1"}) {
			t.Fatalf("timers after the join = %v; branch timers must be cancelled", got)
		}
		thue := workflow.Actor{ID: "thue-1", Roles: map[string][]string{"THUE": {"handler"}}}
		e.refused(workflow.Input{CaseID: "f1", Branch: "thue", Action: "agree", Actor: thue, Comment: "muộn"}, workflow.ErrInvalidAction)
		if page, _ := e.s.Inbox(e.ctx, workflow.InboxQuery{Kind: workflow.InboxQueue, Actor: thue}); len(page.Items) != 0 {
			t.Fatalf("cancelled branch still in THUE's queue: %+v", page.Items)
		}
		hist, _ := e.s.History(e.ctx, "f1")
		last := hist[len(hist)-1]
		if last.Action != workflow.ActionJoin || last.ActorID != workflow.SystemActorID || last.From != "consulting" || last.To != "drafting_refusal" {
			t.Fatalf("join entry = %+v", last)
		}
		e.do(workflow.Input{CaseID: "f1", Action: "draft_refusal", Actor: handler, Comment: "Từ chối", Attachments: draft})
		if c := e.caseOf("f1"); c.State != "approving" || c.Outcome != "rejected" {
			t.Fatalf("case = %s/%s", c.State, c.Outcome)
		}
	})
}

// All branches agreeing join back to appraising; withdrawing during a
// consultation cancels the branches.
func TestForkJoinAllAgree(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		for _, id := range []string{"f2", "f3"} {
			e.start(workflow.OneStopInterAgency, id)
			e.receive(id)
			e.do(workflow.Input{CaseID: id, Action: "assign", Actor: head, Assignee: handler.ID})
			e.do(workflow.Input{CaseID: id, Action: "consult", Actor: handler, Comment: "Xin ý kiến",
				Branches: []workflow.BranchSpec{{Unit: "A1"}, {Unit: "A2"}}})
		}
		both := workflow.Actor{ID: "x", Roles: map[string][]string{"A1": {"handler"}, "A2": {"division_head"}}}
		e.do(workflow.Input{CaseID: "f2", Branch: "A2", Action: "agree", Actor: both, Comment: "Đồng ý"})
		res := e.do(workflow.Input{CaseID: "f2", Branch: "A1", Action: "agree", Actor: both, Comment: "Đồng ý"})
		if !res.Joined || res.Case.State != "appraising" {
			t.Fatalf("all agreed: joined=%v state=%s", res.Joined, res.Case.State)
		}

		res = e.do(workflow.Input{CaseID: "f3", Action: "withdraw", Actor: officer, Comment: "Rút"})
		for _, b := range res.Case.Branches {
			if b.Outcome != workflow.BranchCancelled {
				t.Fatalf("branch %s outcome %q after withdrawal", b.Key, b.Outcome)
			}
		}
		if got := keys(e.timers("f3")); len(got) != 0 {
			t.Fatalf("timers after withdrawal = %v", got)
		}
		if n, _ := e.s.InboxCounts(e.ctx, both, time.Time{}); n.Queue != 0 {
			t.Fatalf("queue after withdrawal = %+v", n)
		}
	})
}

// §3: "processes are declared as data, versioned, and pinned to the dossier".
func TestPinnedVersion(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStop, "old")
		e.receive("old")
		e.do(workflow.Input{CaseID: "old", Action: "assign", Actor: head, Assignee: handler.ID})

		docs, _ := workflow.Shipped()
		v2 := oneStopV2(t, docs["one-stop.json"])
		if _, err := e.s.Publish(e.ctx, v2, "admin"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Publish(e.ctx, v2, "admin"); err != nil {
			t.Fatalf("republishing the same content: %v", err)
		}
		changed := replaceOnce(t, v2, `"Bỏ bước duyệt"`, `"Khác"`)
		if _, err := e.s.Publish(e.ctx, changed, "admin"); !errors.Is(err, workflow.ErrExists) {
			t.Fatalf("changing a published version: %v, want ErrExists", err)
		}

		res := e.do(workflow.Input{CaseID: "old", Action: "draft_result", Actor: handler, Attachments: draft})
		shipped := shippedVersion(t, docs["one-stop.json"])
		if res.Case.State != "approving" || res.Case.DefinitionVersion != shipped {
			t.Fatalf("running case moved to %s (v%d); want approving under v%d", res.Case.State, res.Case.DefinitionVersion, shipped)
		}
		c := e.start(workflow.OneStop, "new")
		if c.DefinitionVersion != shipped+1 {
			t.Fatalf("new case pinned v%d, want the latest (%d)", c.DefinitionVersion, shipped+1)
		}
		e.receive("new")
		e.do(workflow.Input{CaseID: "new", Action: "assign", Actor: head, Assignee: handler.ID})
		res = e.do(workflow.Input{CaseID: "new", Action: "draft_result", Actor: handler, Attachments: draft})
		if res.Case.State != "signing" {
			t.Fatalf("v2 case moved to %s, want signing", res.Case.State)
		}
		infos, _ := e.s.Definitions(e.ctx)
		var got []string
		for _, i := range infos {
			got = append(got, fmt.Sprintf("%s/%d", i.Key, i.Version))
		}
		want := []string{fmt.Sprintf("one-stop/%d", shipped), fmt.Sprintf("one-stop/%d", shipped+1),
			fmt.Sprintf("one-stop-interagency/%d", shippedVersion(t, docs["one-stop-interagency.json"])),
			fmt.Sprintf("one-stop-same-day/%d", shippedVersion(t, docs["one-stop-same-day.json"]))}
		if !slices.Equal(got, want) {
			t.Fatalf("definitions = %v, want %v", got, want)
		}
	})
}

// §6 same-day procedures: received after the 15:00 cutoff, due at the close
// of the next working day.
func TestSameDayCutoff(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStopSameDay, "s1")
		e.start(workflow.OneStopSameDay, "s2")
		e.clock.Set(at(2026, 3, 6, 10, 0)) // Friday morning
		res := e.receive("s1")
		sameTime(t, "same day", res.Case.DueAt, at(2026, 3, 6, 17, 0))
		e.clock.Set(at(2026, 3, 6, 15, 30))
		res = e.receive("s2")
		sameTime(t, "after the cutoff", res.Case.DueAt, at(2026, 3, 9, 17, 0))
	})
}

// oneStopV2 derives version 2 of the one-stop process in which the division
// head's approval is skipped (the draft goes straight to signing).
// shippedVersion is the version of a shipped definition document.
func shippedVersion(t *testing.T, doc []byte) int {
	t.Helper()
	var v struct{ Version int }
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	return v.Version
}

func oneStopV2(t *testing.T, v1 []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(v1, &doc); err != nil {
		t.Fatal(err)
	}
	doc["version"] = doc["version"].(float64) + 1
	doc["description"] = "Bỏ bước duyệt"
	for _, s := range doc["states"].([]any) {
		st := s.(map[string]any)
		if st["key"] != "appraising" {
			continue
		}
		for _, a := range st["actions"].([]any) {
			if act := a.(map[string]any); act["key"] == "draft_result" {
				act["next"] = "signing"
			}
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func replaceOnce(t *testing.T, doc []byte, old, new string) []byte {
	t.Helper()
	if bytes.Count(doc, []byte(old)) != 1 {
		t.Fatalf("%q does not occur once", old)
	}
	return bytes.Replace(doc, []byte(old), []byte(new), 1)
}

// Agencies answer at the same time: sibling branches do not conflict, and
// the join happens exactly once.
func TestConcurrentBranches(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStopInterAgency, "f4")
		e.receive("f4")
		e.do(workflow.Input{CaseID: "f4", Action: "assign", Actor: head, Assignee: handler.ID})
		units := []string{"A1", "A2", "A3", "A4", "A5", "A6"}
		var specs []workflow.BranchSpec
		roles := map[string][]string{}
		for _, u := range units {
			specs = append(specs, workflow.BranchSpec{Unit: u})
			roles[u] = []string{"handler"}
		}
		e.do(workflow.Input{CaseID: "f4", Action: "consult", Actor: handler, Comment: "Xin ý kiến", Branches: specs})
		agencies := workflow.Actor{ID: "agency-officer", Roles: roles}
		var wg sync.WaitGroup
		results := make([]workflow.Result, len(units))
		errs := make([]error, len(units))
		for i, u := range units {
			wg.Go(func() {
				results[i], errs[i] = e.s.Transition(e.ctx, workflow.Input{CaseID: "f4", Branch: u, Action: "agree", Actor: agencies,
					Comment: "Đồng ý", ExpectedVersion: 1})
			})
		}
		wg.Wait()
		joins := 0
		for i, err := range errs {
			if err != nil {
				t.Fatalf("branch %s: %v", units[i], err)
			}
			if results[i].Joined {
				joins++
			}
		}
		c := e.caseOf("f4")
		if joins != 1 || c.State != "appraising" {
			t.Fatalf("joins = %d, state %s; want exactly one join back to appraising", joins, c.State)
		}
		hist, _ := e.s.History(e.ctx, "f4")
		n := 0
		for _, h := range hist {
			if h.Action == workflow.ActionJoin {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d join entries in the history", n)
		}
	})
}

// Several nodes start at once and all install the shipped definitions.
func TestInstallShippedConcurrently(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { errs[i] = workflow.New(d, workflow.Config{}).InstallShipped(t.Context()) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		infos, err := workflow.New(d, workflow.Config{}).Definitions(t.Context())
		if err != nil || len(infos) != 3 {
			t.Fatalf("definitions = %+v, %v; want the three shipped", infos, err)
		}
	})
}
