package workflow_test

import (
	"slices"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/timer"
	"github.com/congso/congso/internal/workflow"
)

// §6: warn before a step deadline, escalate after it; each once, and
// nothing for a deadline that no longer holds.
func TestStepWarningThenBreach(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStop, "e1")
		e.clock.Set(at(2026, 3, 2, 9, 0))
		e.receive("e1") // assigning: due 15:00, warning at 11:00

		e.fireTimer("state:e1:assigning")
		esc, err := e.s.Escalations(e.ctx, "e1")
		if err != nil {
			t.Fatal(err)
		}
		if len(esc) != 1 || esc[0].Kind != "warning" || esc[0].Scope != "state:assigning" || !slices.Equal(esc[0].Notify, []string{"division_head"}) || esc[0].Unit != division {
			t.Fatalf("escalations = %+v; want one warning to the division heads", esc)
		}
		sameTime(t, "warning for deadline", esc[0].DueAt, at(2026, 3, 2, 15, 0))
		sameTime(t, "breach timer", e.timers("e1")["state:e1:assigning"], at(2026, 3, 2, 15, 0))

		e.fireTimer("state:e1:assigning")
		e.fireTimer("state:e1:assigning") // a second firing (lease expired) records nothing more
		esc, _ = e.s.Escalations(e.ctx, "e1")
		if len(esc) != 2 || esc[1].Kind != "breach" {
			t.Fatalf("escalations = %+v; want warning then one breach", esc)
		}
		evs := e.events(workflow.TopicEscalation, "e1")
		if len(evs) != 2 {
			t.Fatalf("%d escalation events, want 2", len(evs))
		}
		var ev workflow.EscalationEvent
		if err := evs[1].Decode(&ev); err != nil {
			t.Fatal(err)
		}
		if ev.Kind != "breach" || ev.State != "assigning" || ev.Ref != "H15.50-e1" || !slices.Equal(ev.Notify, []string{"division_head"}) {
			t.Fatalf("breach event = %+v", ev)
		}
		if c := e.caseOf("e1"); c.State != "assigning" {
			t.Fatalf("a breach without an automatic action moved the case to %s", c.State)
		}
	})
}

// A timer whose deadline was replaced does nothing: the case moved on, or
// the deadline was extended.
func TestStaleTimersDoNothing(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStop, "e2")
		e.clock.Set(at(2026, 3, 2, 9, 0))
		e.receive("e2")
		stepTimer := e.readTimer("state:e2:assigning")
		caseTimer := e.readTimer("case:e2")
		e.do(workflow.Input{CaseID: "e2", Action: "assign", Actor: head, Assignee: handler.ID})
		e.do(workflow.Input{CaseID: "e2", Action: "extend", Actor: handler, Comment: "Gia hạn", NewDue: at(2026, 3, 20, 17, 0)})
		for _, tm := range []timer.Timer{stepTimer, caseTimer} {
			e.clock.Set(tm.DueAt)
			if err := e.s.HandleTimer(e.ctx, tm); err != nil {
				t.Fatal(err)
			}
		}
		if esc, _ := e.s.Escalations(e.ctx, "e2"); len(esc) != 0 {
			t.Fatalf("stale timers recorded %+v", esc)
		}
		// The current case timer still works.
		e.fireTimer("case:e2")
		esc, _ := e.s.Escalations(e.ctx, "e2")
		if len(esc) != 1 || esc[0].Scope != "case" || !esc[0].DueAt.Equal(at(2026, 3, 20, 17, 0)) {
			t.Fatalf("escalations = %+v; want the warning of the extended deadline", esc)
		}
	})
}

// An escalation may move the case for the system: a result not collected
// for 30 working days is archived. Driven by the real scheduler.
func TestBreachAutoMoveWithScheduler(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStop, "e3")
		e.receive("e3")
		for _, in := range []workflow.Input{
			{Action: "assign", Actor: head, Assignee: handler.ID},
			{Action: "draft_result", Actor: handler, Attachments: draft},
			{Action: "approve", Actor: head},
			{Action: "sign", Actor: agencyHead, Signature: "sig"},
			{Action: "transfer", Actor: handler},
			{Action: "issue", Actor: clerk, Signature: "seal"},
			{Action: "not_collected", Actor: officer, Comment: "Công dân chưa đến nhận"},
		} {
			in.CaseID = "e3"
			e.do(in)
		}
		c := e.caseOf("e3")
		sameTime(t, "collection deadline", c.StateDueAt, at(2026, 4, 13, 17, 0))

		sch := timer.NewScheduler(d, timer.Config{Now: e.clock.Now})
		e.s.RegisterTimers(sch)
		e.clock.Set(at(2026, 4, 1, 8, 0))
		if n, err := sch.FireDue(e.ctx); err != nil || n != 0 {
			t.Fatalf("fired %d timers a fortnight early (%v)", n, err)
		}
		e.clock.Set(at(2026, 4, 14, 8, 0))
		if _, err := sch.FireDue(e.ctx); err != nil {
			t.Fatal(err)
		}
		c = e.caseOf("e3")
		if c.State != "archived" || !c.Ended() || c.Status != 9 {
			t.Fatalf("case = %s (status %d); want archived by the system", c.State, c.Status)
		}
		hist, _ := e.s.History(e.ctx, "e3")
		last := hist[len(hist)-1]
		if last.Action != "archive" || last.ActorID != workflow.SystemActorID || last.Comment != workflow.AutoMoveComment {
			t.Fatalf("last entry = %+v", last)
		}
		esc, _ := e.s.Escalations(e.ctx, "e3")
		var kinds []string
		for _, x := range esc {
			kinds = append(kinds, x.Kind+":"+x.AutoAction)
		}
		if !slices.Equal(kinds, []string{"warning:", "breach:archive"}) {
			t.Fatalf("escalations = %v", kinds)
		}
		if got := keys(e.timers("e3")); len(got) != 0 {
			t.Fatalf("timers left = %v", got)
		}
	})
}

// Branch deadlines escalate per agency (§6: a deadline per agency).
func TestBranchDeadlineEscalates(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.start(workflow.OneStopInterAgency, "e4")
		e.clock.Set(at(2026, 3, 2, 9, 0))
		e.receive("e4")
		e.do(workflow.Input{CaseID: "e4", Action: "assign", Actor: head, Assignee: handler.ID})
		e.do(workflow.Input{CaseID: "e4", Action: "consult", Actor: handler, Comment: "Xin ý kiến",
			Branches: []workflow.BranchSpec{{Unit: "XD", Due: at(2026, 3, 4, 17, 0)}, {Unit: "TNMT"}}})
		var key string
		for k := range e.timers("e4") {
			if len(k) > 7 && k[:7] == "branch:" && containsPart(k, "XD") {
				key = k
			}
		}
		if key == "" {
			t.Fatalf("no timer for branch XD in %v", keys(e.timers("e4")))
		}
		e.fireTimer(key)
		e.fireTimer(key)
		esc, _ := e.s.Escalations(e.ctx, "e4")
		if len(esc) != 2 || esc[1].Branch != "XD" || esc[1].Unit != "XD" || esc[1].Kind != "breach" {
			t.Fatalf("escalations = %+v", esc)
		}
		sameTime(t, "branch deadline", esc[1].DueAt, at(2026, 3, 4, 17, 0))
	})
}

func (e *env) readTimer(key string) timer.Timer {
	e.t.Helper()
	var t timer.Timer
	var payload string
	if err := e.d.Read().QueryRowContext(e.ctx, `SELECT id, kind, timer_key, due_at, payload FROM timers WHERE kind = $1 AND timer_key = $2`,
		workflow.TimerKind, key).Scan(&t.ID, &t.Kind, &t.Key, &t.DueAt, &payload); err != nil {
		e.t.Fatalf("timer %s: %v", key, err)
	}
	t.DueAt = t.DueAt.UTC()
	t.Payload = jsonRaw(payload)
	return t
}

var _ = time.Second
