package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
)

// EscalationEvent is the payload of a TopicEscalation event: a deadline is
// near (Kind "warning") or has passed ("breach"). The notify module turns it
// into messages to the holders of Notify roles in Unit and to Assignee.
type EscalationEvent struct {
	CaseID     string    `json:"case_id"`
	Ref        string    `json:"ref"`
	Scope      string    `json:"scope"`
	Branch     string    `json:"branch,omitempty"`
	State      string    `json:"state"`
	Kind       string    `json:"kind"`
	DueAt      time.Time `json:"due_at"`
	At         time.Time `json:"at"`
	Notify     []string  `json:"notify"`
	Unit       string    `json:"unit"`
	Assignee   string    `json:"assignee,omitempty"`
	AutoAction string    `json:"auto_action,omitempty"`
}

// AutoMoveComment is the comment of automatic moves on a passed deadline.
const AutoMoveComment = "Tự động chuyển bước do quá hạn xử lý"

// RegisterTimers declares the engine's deadline timer handler on sch. Call
// it while wiring, before sch.Run.
func (s *Service) RegisterTimers(sch *timer.Scheduler) { sch.Handle(TimerKind, s.HandleTimer) }

// HandleTimer fires one deadline timer (kind TimerKind): if the deadline it
// was set for still holds, it records a warning or breach escalation, publishes
// a TopicEscalation event, and after a warning re-arms the same timer for the
// breach; on a step breach whose escalation names an action it takes that
// action for the system. A timer whose deadline no longer holds (the case
// moved on, was extended or paused) does nothing. Running it twice records
// the escalation once.
func (s *Service) HandleTimer(ctx context.Context, t timer.Timer) error {
	var p slaPayload
	if err := t.Decode(&p); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error { return s.handleSLA(ctx, tx, t.Key, p) })
}

func (s *Service) handleSLA(ctx context.Context, tx *db.Tx, key string, p slaPayload) error {
	now := ts(s.now())
	c, err := loadCase(ctx, tx, p.CaseID, tx.Dialect == db.Postgres)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	def, err := s.definitionFor(ctx, tx, c.DefinitionKey, c.DefinitionVersion, c.defChecksum)
	if err != nil {
		return err
	}
	p.DueAt = ts(p.DueAt)
	ev := EscalationEvent{CaseID: c.ID, Ref: c.Ref, Kind: p.Phase, DueAt: p.DueAt, At: now}
	var esc *Escalation
	var owners []string
	var cycle int64
	switch p.Scope {
	case "case":
		if !clockRunning(c) || !c.DueAt.Equal(p.DueAt) {
			return nil
		}
		esc, cycle = def.Escalation, p.DueAt.UnixMicro()
		ev.Scope, ev.State, ev.Unit, ev.Assignee = "case", c.State, c.Unit, c.Assignee
		owners = def.idx.states[c.State].Roles
	case "state":
		if c.Ended() || c.State != p.State || c.stateVisit != p.Visit || !c.StateDueAt.Equal(p.DueAt) {
			return nil
		}
		st := def.idx.states[c.State]
		esc, cycle, owners = st.Escalation, p.Visit, st.Roles
		ev.Scope, ev.State, ev.Unit, ev.Assignee = "state:"+c.State, c.State, c.Unit, c.Assignee
	case "branch":
		if c.Ended() || c.ForkSeq != p.ForkSeq {
			return nil
		}
		bs, err := loadBranches(ctx, tx, c.ID, c.ForkSeq)
		if err != nil {
			return err
		}
		var b *branchRow
		for _, o := range bs {
			if o.Key == p.Branch {
				b = o
			}
		}
		if b == nil || b.Outcome != "" || b.State != p.State || b.stateVisit != p.Visit || !earliest(b.StateDueAt, b.DueAt).Equal(p.DueAt) {
			return nil
		}
		st := def.idx.states[b.State]
		esc, cycle, owners = st.Escalation, p.Visit, st.Roles
		ev.Scope, ev.Branch, ev.State, ev.Unit, ev.Assignee = "branch:"+b.Key+":"+b.State, b.Key, b.State, b.Unit, b.Assignee
	default:
		return fmt.Errorf("workflow timer %s: unknown scope %q", key, p.Scope)
	}
	if p.Phase == phaseWarning {
		ev.Notify = owners
	} else if esc != nil && esc.OnBreach != nil {
		ev.Notify = esc.OnBreach.Notify
		if p.Scope != "case" {
			ev.AutoAction = esc.OnBreach.Action
		}
	}
	if ev.Notify == nil {
		ev.Notify = []string{}
	}
	notify, _ := json.Marshal(ev.Notify)
	res, err := tx.ExecContext(ctx, `INSERT INTO workflow_escalations (case_id, scope, cycle, kind, branch, state, due_at, at, notify, unit, auto_action)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (case_id, scope, cycle, kind) DO NOTHING`,
		c.ID, ev.Scope, cycle, ev.Kind, ev.Branch, ev.State, ev.DueAt, now, string(notify), ev.Unit, ev.AutoAction)
	if err != nil {
		return fmt.Errorf("record escalation of %s: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // already handled by an earlier firing
	}
	if err := outbox.Publish(ctx, tx, outbox.Event{Topic: TopicEscalation, Key: c.ID, Payload: ev, At: now}); err != nil {
		return err
	}
	if p.Phase == phaseWarning {
		p.Phase = phaseBreach
		return timer.Set(ctx, tx, timer.Timer{Kind: TimerKind, Key: key, DueAt: p.DueAt, Payload: p})
	}
	if ev.AutoAction == "" {
		return nil
	}
	_, err = s.TransitionTx(ctx, tx, Input{CaseID: c.ID, Action: ev.AutoAction, Branch: ev.Branch, ExpectedVersion: expectedFor(c, ev.Branch),
		Actor: Actor{ID: SystemActorID}, Comment: AutoMoveComment, Now: now, system: true})
	var refused *Error
	if errors.As(err, &refused) && !errors.Is(err, ErrConflict) {
		// The definition's automatic action cannot be taken here: the breach
		// stays recorded and notified; people take over.
		return nil
	}
	return err
}

// expectedFor guards an automatic move on the main path with the version the
// handler read (branch moves take the case lock instead).
func expectedFor(c *caseRow, branch string) int64 {
	if branch != "" {
		return 0
	}
	return c.Version
}
