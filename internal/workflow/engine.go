package workflow

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
)

// mainSlot is the unit slot of StartCase.Unit and of states without a slot.
const mainSlot = "main"

// ActionJoin is the action recorded when a fork's join moves the case on.
const ActionJoin = "join"

// TransitionEvent is the payload of a TopicTransition event.
type TransitionEvent struct {
	CaseID            string    `json:"case_id"`
	Ref               string    `json:"ref"`
	DefinitionKey     string    `json:"definition_key"`
	DefinitionVersion int       `json:"definition_version"`
	Version           int64     `json:"version"`
	Branch            string    `json:"branch,omitempty"`
	Action            string    `json:"action"`
	From              string    `json:"from"`
	To                string    `json:"to"`
	State             string    `json:"state"`
	Status            int       `json:"status"`
	Outcome           string    `json:"outcome,omitempty"`
	ActorID           string    `json:"actor_id"`
	Role              string    `json:"role,omitempty"`
	Unit              string    `json:"unit"`
	At                time.Time `json:"at"`
	Comment           string    `json:"comment,omitempty"`
	SendBack          bool      `json:"send_back,omitempty"`
	DueAt             time.Time `json:"due_at,omitzero"`
	Paused            bool      `json:"paused,omitempty"`
	Ended             bool      `json:"ended,omitempty"`
}

// snapshot is what the case looked like before the transition, to know which
// timers and work items to change.
type snapshot struct {
	state     string
	visit     int64
	stateDue  time.Time
	caseTimer bool
	due       time.Time
	items     []workItem
}

// txn collects one transition's changes and writes them in order.
type txn struct {
	s        *Service
	ctx      context.Context
	tx       *db.Tx
	def      *Definition
	c        *caseRow
	now      time.Time
	fixedDue time.Time // Start: explicit due date
	sla      *Duration // Input.SLA: the total SLA if this action starts the clock

	before   snapshot
	ops      []func() error
	entries  []HistoryEntry
	branches []*branchRow // of the current fork, once loaded
	joined   bool
	owned    bool // the transaction is the engine's own (Transition)
}

func (x *txn) op(f func() error) { x.ops = append(x.ops, f) }

// takeSnapshot records the case before changes (not called by Start, whose
// "before" is nothing).
func (x *txn) takeSnapshot() {
	c := x.c
	x.before = snapshot{state: c.State, visit: c.stateVisit, stateDue: c.StateDueAt,
		caseTimer: clockRunning(c), due: c.DueAt, items: x.mainItems()}
}

// clockRunning reports whether the total clock runs, which is exactly when
// the case's deadline timer exists.
func clockRunning(c *caseRow) bool {
	return !c.ClockStartedAt.IsZero() && c.FinishedAt.IsZero() && c.PausedAt.IsZero() && !c.DueAt.IsZero() && c.EndedAt.IsZero()
}

func (x *txn) slotUnit(slot string) string {
	if u := x.c.Units[slot]; u != "" {
		return u
	}
	return x.c.Units[mainSlot]
}

func (x *txn) stateUnit(st *State) string {
	if st.Unit == "" {
		return x.slotUnit(mainSlot)
	}
	return x.slotUnit(st.Unit)
}

// warnOf is the warning time of a deadline under esc (the deadline itself
// when there is no warning).
func (x *txn) warnOf(due time.Time, esc *Escalation) time.Time {
	if due.IsZero() {
		return due
	}
	if lead := esc.warnLead(); lead > 0 {
		return ts(x.s.Calendar().AddWorkingHours(due, -lead))
	}
	return due
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// mainDeadline is the deadline of the main path's current work: the step's
// or the case's, whichever comes first.
func (x *txn) mainDeadline() (due, warn time.Time) {
	c := x.c
	st := x.def.idx.states[c.State]
	due = c.StateDueAt
	warn = x.warnOf(due, st.Escalation)
	if clockRunning(c) {
		due = earliest(due, c.DueAt)
		warn = earliest(warn, x.warnOf(c.DueAt, x.def.Escalation))
	}
	return due, warn
}

func (x *txn) mainItems() []workItem {
	c := x.c
	st := x.def.idx.states[c.State]
	if st == nil || c.Ended() || st.Kind == KindJoin || st.Kind == KindFinal {
		return nil
	}
	due, warn := x.mainDeadline()
	return ownerItems(st, "", c.Unit, c.Assignee, due, warn, c.StateEnteredAt)
}

func ownerItems(st *State, branch, unit, assignee string, due, warn, entered time.Time) []workItem {
	if st.ForAssignee && assignee != "" {
		return []workItem{{branch: branch, role: st.Roles[0], state: st.Key, unit: unit, assignee: assignee, due: due, warn: warn, entered: entered, status: st.Status}}
	}
	out := make([]workItem, 0, len(st.Roles))
	for _, r := range st.Roles {
		out = append(out, workItem{branch: branch, role: r, state: st.Key, unit: unit, due: due, warn: warn, entered: entered, status: st.Status})
	}
	return out
}

// checkActor returns the role through which actor may take a in state st of
// unit, or why not.
func checkActor(st *State, a *Action, actor Actor, unit, assignee string) (string, error) {
	role, ok := actor.roleFor(a.Roles, unit)
	if !ok {
		return "", refuse(ErrForbidden, "workflow.forbidden.role",
			fmt.Sprintf("action %q needs one of the roles %v in unit %q", a.Key, a.Roles, unit),
			"action", a.Key, "roles", strings.Join(a.Roles, ", "), "unit", unit)
	}
	if st.ForAssignee && assignee != "" && slices.Contains(st.Roles, role) && actor.ID != assignee {
		for _, r := range a.Roles {
			if !slices.Contains(st.Roles, r) && actor.Has(r, unit) {
				return r, nil
			}
		}
		return "", refuse(ErrForbidden, "workflow.forbidden.assignee",
			fmt.Sprintf("step %q is assigned to %s", st.Key, assignee), "state", st.Key)
	}
	return role, nil
}

func notAvailable(def *Definition, state, action string) error {
	var keys []string
	for _, a := range def.Actions(state) {
		keys = append(keys, a.Key)
	}
	return refuse(ErrInvalidAction, "workflow.invalid_action.not_available",
		fmt.Sprintf("action %q is not available in state %q (available: %s)", action, state, strings.Join(keys, ", ")),
		"action", action, "state", state)
}

func checkInputs(def *Definition, a *Action, in *Input, branch bool) error {
	if a.requires(NeedComment) && strings.TrimSpace(in.Comment) == "" {
		return refuse(ErrInvalidInput, "workflow.input.comment_required", fmt.Sprintf("action %q requires a comment (reason)", a.Key), "action", a.Key)
	}
	if a.requires(NeedAttachments) && len(in.Attachments) == 0 {
		return refuse(ErrInvalidInput, "workflow.input.attachments_required", fmt.Sprintf("action %q requires attachments", a.Key), "action", a.Key)
	}
	for _, at := range in.Attachments {
		if at.Name == "" || at.Hash == "" {
			return refuse(ErrInvalidInput, "workflow.input.attachment_invalid", "an attachment needs a name and a content hash")
		}
	}
	if a.requires(NeedSignature) && in.Signature == "" {
		return refuse(ErrInvalidInput, "workflow.input.signature_required", fmt.Sprintf("action %q requires a digital signature", a.Key), "action", a.Key)
	}
	if a.Assign && in.Assignee == "" {
		return refuse(ErrInvalidInput, "workflow.input.assignee_required", fmt.Sprintf("action %q requires an assignee", a.Key), "action", a.Key)
	}
	if a.ExtendsDue && in.NewDue.IsZero() {
		return refuse(ErrInvalidInput, "workflow.input.new_due_required", fmt.Sprintf("action %q requires the new due date", a.Key), "action", a.Key)
	}
	for k := range in.Units {
		if branch || !slices.Contains(a.SetsUnits, k) {
			return refuse(ErrInvalidInput, "workflow.input.unit_not_settable", fmt.Sprintf("action %q cannot set unit slot %q", a.Key, k), "slot", k)
		}
	}
	if next, ok := def.idx.states[a.Next]; ok && next.Kind == KindFork {
		if len(in.Branches) == 0 {
			return refuse(ErrInvalidInput, "workflow.input.branches_required", fmt.Sprintf("action %q starts parallel branches: give the agencies", a.Key), "action", a.Key)
		}
	} else if len(in.Branches) > 0 {
		return refuse(ErrInvalidInput, "workflow.input.branches_unexpected", fmt.Sprintf("action %q starts no branches", a.Key), "action", a.Key)
	}
	return nil
}

func (x *txn) mainTransition(in *Input) (Result, error) {
	c, def := x.c, x.def
	if in.ExpectedVersion != 0 && in.ExpectedVersion != c.Version {
		return Result{}, refuse(ErrConflict, "workflow.conflict",
			fmt.Sprintf("case %s is at version %d, not %d", c.ID, c.Version, in.ExpectedVersion), "case", c.ID)
	}
	st := def.idx.states[c.State]
	a := def.action(c.State, in.Action)
	if a == nil {
		return Result{}, notAvailable(def, c.State, in.Action)
	}
	unit := c.Unit
	if a.Unit != "" {
		unit = x.slotUnit(a.Unit)
	}
	role := SystemActorID
	if !in.system {
		var err error
		if role, err = checkActor(st, a, in.Actor, unit, c.Assignee); err != nil {
			return Result{}, err
		}
	}
	if err := checkInputs(def, a, in, false); err != nil {
		return Result{}, err
	}
	x.takeSnapshot()
	prev := c.Version
	c.Version++
	from := c.State
	detail := map[string]any{}
	for k, u := range in.Units {
		if c.Units[k] != u {
			c.Units[k] = u
			c.unitsChanged = true
		}
	}
	if a.Assign {
		if c.Assignee != "" && c.Assignee != in.Assignee {
			detail["previous_assignee"] = c.Assignee
		}
		c.Assignee = in.Assignee
		detail["assignee"] = in.Assignee
	}
	if a.Outcome != "" {
		c.Outcome = a.Outcome
	}
	if a.ExtendsDue {
		if c.DueAt.IsZero() || !c.FinishedAt.IsZero() {
			return Result{}, refuse(ErrInvalidAction, "workflow.invalid_action.no_due", "the case has no running deadline to extend")
		}
		if !x.now.Before(c.DueAt) {
			return Result{}, refuse(ErrInvalidAction, "workflow.invalid_action.extension_late",
				"an extension must be issued before the due date "+c.DueAt.Format(time.RFC3339), "due", x.localTime(c.DueAt))
		}
		nd := ts(in.NewDue)
		if !nd.After(c.DueAt) {
			return Result{}, refuse(ErrInvalidInput, "workflow.input.new_due_not_later", "the new due date must be after the current one", "due", x.localTime(c.DueAt))
		}
		detail["previous_due"] = c.DueAt
		c.DueAt = nd
	}
	if !a.Stay {
		if st.Kind == KindFork {
			if err := x.cancelBranches(""); err != nil {
				return Result{}, err
			}
		}
		reason := strings.TrimSpace(in.Comment)
		if reason == "" {
			reason = a.Key
		}
		if err := x.enterMain(a.Next, in, reason); err != nil {
			return Result{}, err
		}
	}
	if unit == "" {
		unit = c.Unit
	}
	x.history(HistoryEntry{Action: a.Key, From: from, To: c.State, ActorID: actorID(in.Actor), Role: role, Unit: unit,
		Comment: in.Comment, Attachments: in.Attachments, Signature: in.Signature, SendBack: a.SendBack, Detail: detail})
	if err := x.flush(prev); err != nil {
		return Result{}, err
	}
	return x.result(from, c.State), nil
}

func (x *txn) result(from, to string) Result {
	out := x.c.Case
	for _, b := range x.branches {
		out.Branches = append(out.Branches, b.Branch)
	}
	return Result{Case: &out, From: from, To: to, Joined: x.joined, Entries: x.entries}
}

// enterMain moves the main path to target: closes or opens pause
// intervals, starts or stops the clock, computes the step deadline, ends
// the case in a final state and starts branches in a fork.
func (x *txn) enterMain(target string, in *Input, reason string) error {
	c, def, cal, now := x.c, x.def, x.s.Calendar(), x.now
	st := def.idx.states[target]
	from := c.State
	wasPaused := !c.PausedAt.IsZero()
	if wasPaused {
		work := cal.WorkingTimeBetween(c.PausedAt, now)
		seq, id := c.pauseSeq, c.ID
		x.op(func() error { return closePause(x.ctx, x.tx, id, seq, now, work) })
		c.PausedTotal += work
		c.resumeShift += work
		if !c.ClockStartedAt.IsZero() && c.FinishedAt.IsZero() && !c.DueAt.IsZero() {
			// Resuming moves the deadline by the office time paused.
			c.DueAt = ts(cal.AddWorkingHours(c.DueAt, work))
		}
		c.PausedAt = time.Time{}
	}
	if st.Kind == KindPaused {
		c.pauseSeq++
		seq, id := c.pauseSeq, c.ID
		x.op(func() error { return openPause(x.ctx, x.tx, id, seq, target, reason, now) })
		c.PausedAt = now
		if !wasPaused {
			c.resumeState, c.resumeDueAt, c.resumeShift = from, c.StateDueAt, 0
		}
	}
	resuming := wasPaused && st.Kind != KindPaused
	c.State, c.Status, c.StateEnteredAt, c.stateVisit = target, st.Status, now, c.Version
	if u := x.stateUnit(st); u != "" || st.Kind != KindFinal {
		c.Unit = u // a final state without a unit of its own keeps the last one
	}
	if c.Unit == "" {
		slot := st.Unit
		if slot == "" {
			slot = mainSlot
		}
		return refuse(ErrInvalidInput, "workflow.input.unit_required", fmt.Sprintf("state %q needs the unit of slot %q", target, slot), "slot", slot)
	}

	// The total clock.
	startsHere := def.ClockStarts == target || (def.ClockStarts == "" && from == "")
	if c.ClockStartedAt.IsZero() && startsHere && st.Kind != KindFinal {
		c.ClockStartedAt = now
		base := now
		if cut := def.idx.cutoff; cut >= 0 {
			local := now.In(cal.Location())
			tod := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute
			if !cal.IsWorkingDay(now) || tod >= cut {
				base = cal.NextWorkingDay(now)
			}
		}
		switch {
		case !x.fixedDue.IsZero():
			c.DueAt = x.fixedDue
		case x.sla != nil:
			c.DueAt = ts(x.sla.After(cal, base))
		case c.SLA != nil:
			c.DueAt = ts(c.SLA.After(cal, base))
		}
	}
	if c.FinishedAt.IsZero() && (st.Kind == KindFinal || (target == def.ClockStops && !c.ClockStartedAt.IsZero())) {
		c.FinishedAt = now
	}

	// The step deadline.
	switch {
	case st.SLA == nil:
		c.StateDueAt = time.Time{}
	case resuming && target == c.resumeState && !c.resumeDueAt.IsZero():
		c.StateDueAt = ts(cal.AddWorkingHours(c.resumeDueAt, c.resumeShift))
	default:
		c.StateDueAt = ts(st.SLA.After(cal, now))
	}
	if st.Kind != KindPaused {
		c.resumeState, c.resumeDueAt, c.resumeShift = "", time.Time{}, 0
	}

	switch st.Kind {
	case KindFinal:
		c.EndedAt = now
	case KindFork:
		return x.startBranches(st, in)
	}
	if st.ForAssignee && c.Assignee == "" {
		return refuse(ErrInvalidInput, "workflow.input.assignee_required", fmt.Sprintf("state %q is worked by an assignee; assign one first", target), "state", target)
	}
	return nil
}

// localTime formats t for messages, in the calendar's zone.
func (x *txn) localTime(t time.Time) string {
	return t.In(x.s.Calendar().Location()).Format("15:04 02/01/2006")
}

func timerKey(parts ...string) string { return strings.Join(parts, ":") }

func caseTimerKey(id string) string         { return timerKey("case", id) }
func stateTimerKey(id, state string) string { return timerKey("state", id, state) }
func branchTimerKey(id string, b *branchRow) string {
	return timerKey("branch", id, strconv.Itoa(b.ForkSeq), b.Key, b.State)
}

// slaPayload is the payload of the engine's timers.
type slaPayload struct {
	Scope   string    `json:"scope"` // "case", "state" or "branch"
	CaseID  string    `json:"case_id"`
	State   string    `json:"state,omitempty"`
	Branch  string    `json:"branch,omitempty"`
	ForkSeq int       `json:"fork_seq,omitempty"`
	Visit   int64     `json:"visit,omitempty"`
	Phase   string    `json:"phase"` // "warning" or "breach"
	DueAt   time.Time `json:"due_at"`
}

const (
	phaseWarning = "warning"
	phaseBreach  = "breach"
)

func (x *txn) schedule(key string, p slaPayload, warn time.Time) {
	at := p.DueAt
	p.Phase = phaseBreach
	if warn.Before(p.DueAt) {
		at, p.Phase = warn, phaseWarning
	}
	x.op(func() error {
		return timer.Set(x.ctx, x.tx, timer.Timer{Kind: TimerKind, Key: key, DueAt: at, Payload: p})
	})
}

func (x *txn) cancelTimer(key string) {
	x.op(func() error { return timer.Cancel(x.ctx, x.tx, TimerKind, key) })
}

// loadedBranches returns the branches of the current fork, loading them once.
func (x *txn) loadedBranches() ([]*branchRow, error) {
	if x.branches == nil && x.c.ForkSeq > 0 {
		bs, err := loadBranches(x.ctx, x.tx, x.c.ID, x.c.ForkSeq)
		if err != nil {
			return nil, err
		}
		x.branches = bs
	}
	return x.branches, nil
}

// startBranches opens one branch per BranchSpec at the fork's branch start.
func (x *txn) startBranches(st *State, in *Input) error {
	c, def, now := x.c, x.def, x.now
	c.ForkSeq++
	x.branches = []*branchRow{}
	start := def.idx.states[st.Fork.BranchStart]
	seen := map[string]bool{}
	for i, spec := range in.Branches {
		key := spec.Key
		if key == "" {
			key = spec.Unit
		}
		if spec.Unit == "" || key == "" || strings.Contains(key, ":") || seen[key] {
			return refuse(ErrInvalidInput, "workflow.input.branch_invalid",
				fmt.Sprintf("branch %d needs a unit and a unique key without ':' (got %q, %q)", i, key, spec.Unit), "branch", key)
		}
		seen[key] = true
		b := &branchRow{Branch: Branch{Key: key, Fork: st.Key, ForkSeq: c.ForkSeq, Unit: spec.Unit, Version: 1, StartedAt: now}}
		switch {
		case !spec.Due.IsZero():
			b.DueAt = ts(spec.Due)
		case spec.SLA != nil:
			b.DueAt = ts(spec.SLA.After(x.s.Calendar(), now))
		case st.Fork.BranchSLA != nil:
			b.DueAt = ts(st.Fork.BranchSLA.After(x.s.Calendar(), now))
		}
		x.enterBranch(b, start, 0)
		x.op(func() error { return insertBranch(x.ctx, x.tx, c.ID, b) })
		x.branches = append(x.branches, b)
	}
	return nil
}

// enterBranch puts b in state st: step deadline, work items, timer. before is
// the number of work items b had.
func (x *txn) enterBranch(b *branchRow, st *State, before int) {
	b.State, b.StateEnteredAt, b.stateVisit = st.Key, x.now, x.c.Version
	b.StateDueAt = time.Time{}
	if st.SLA != nil {
		b.StateDueAt = ts(st.SLA.After(x.s.Calendar(), x.now))
	}
	x.branchWork(b, st, before)
}

// branchWork rewrites b's work items and schedules its timer.
func (x *txn) branchWork(b *branchRow, st *State, before int) {
	due := earliest(b.StateDueAt, b.DueAt)
	warn := x.warnOf(due, st.Escalation)
	items := ownerItems(st, b.Key, b.Unit, b.Assignee, due, warn, b.StateEnteredAt)
	c := x.c
	x.op(func() error { return replaceItems(x.ctx, x.tx, c.ID, c.Ref, c.DefinitionKey, b.Key, before, items) })
	if !due.IsZero() {
		x.schedule(branchTimerKey(c.ID, b), slaPayload{Scope: "branch", CaseID: c.ID, State: st.Key, Branch: b.Key,
			ForkSeq: b.ForkSeq, Visit: b.stateVisit, DueAt: due}, warn)
	}
}

func branchItemCount(st *State, assignee string) int {
	if st.Kind != KindNormal {
		return 0
	}
	if st.ForAssignee && assignee != "" {
		return 1
	}
	return len(st.Roles)
}

// closeBranch ends b with outcome: no more work items or timer.
func (x *txn) closeBranch(b *branchRow, outcome string) {
	st := x.def.idx.states[b.State]
	before := branchItemCount(st, b.Assignee)
	x.cancelTimer(branchTimerKey(x.c.ID, b))
	if before > 0 {
		c := x.c
		key := b.Key
		x.op(func() error { return replaceItems(x.ctx, x.tx, c.ID, c.Ref, c.DefinitionKey, key, before, nil) })
	}
	b.Outcome, b.EndedAt = outcome, x.now
}

// cancelBranches cancels every open branch except one.
func (x *txn) cancelBranches(except string) error {
	bs, err := x.loadedBranches()
	if err != nil {
		return err
	}
	for _, b := range bs {
		if b.Outcome != "" || b.Key == except {
			continue
		}
		prev := b.Version
		b.Version++
		x.closeBranch(b, BranchCancelled)
		id := x.c.ID
		x.op(func() error { return updateBranch(x.ctx, x.tx, id, b, prev) })
	}
	return nil
}

func (x *txn) branchTransition(in *Input) (Result, error) {
	c, def := x.c, x.def
	fork := def.idx.states[c.State]
	if fork.Kind != KindFork {
		return Result{}, refuse(ErrInvalidAction, "workflow.invalid_action.no_branches",
			fmt.Sprintf("case %s is in state %q, which has no branches", c.ID, c.State), "state", c.State)
	}
	bs, err := x.loadedBranches()
	if err != nil {
		return Result{}, err
	}
	var b *branchRow
	for _, o := range bs {
		if o.Key == in.Branch {
			b = o
		}
	}
	if b == nil {
		return Result{}, refuse(ErrNotFound, "workflow.branch_not_found", fmt.Sprintf("case %s has no branch %q", c.ID, in.Branch), "branch", in.Branch)
	}
	if b.Outcome != "" {
		return Result{}, refuse(ErrInvalidAction, "workflow.invalid_action.branch_finished",
			fmt.Sprintf("branch %q has finished (%s)", b.Key, b.Outcome), "branch", b.Key)
	}
	if in.ExpectedVersion != 0 && in.ExpectedVersion != b.Version {
		return Result{}, refuse(ErrConflict, "workflow.conflict",
			fmt.Sprintf("branch %q of case %s is at version %d, not %d", b.Key, c.ID, b.Version, in.ExpectedVersion), "case", c.ID)
	}
	st := def.idx.states[b.State]
	a := def.action(b.State, in.Action)
	if a == nil {
		return Result{}, notAvailable(def, b.State, in.Action)
	}
	role := SystemActorID
	if !in.system {
		if role, err = checkActor(st, a, in.Actor, b.Unit, b.Assignee); err != nil {
			return Result{}, err
		}
	}
	if err := checkInputs(def, a, in, true); err != nil {
		return Result{}, err
	}
	x.takeSnapshot()
	prev := c.Version
	c.Version++
	prevB := b.Version
	b.Version++
	from := b.State
	before := branchItemCount(st, b.Assignee)
	detail := map[string]any{}
	if a.Assign {
		b.Assignee = in.Assignee
		detail["assignee"] = in.Assignee
	}
	join := x.def.idx.joinOf[fork.Key]
	switch {
	case a.Stay:
		x.branchWork(b, st, before)
	case a.Next == join:
		outcome := BranchDone
		if a.Refuse {
			outcome = BranchRefused
		}
		x.closeBranch(b, outcome)
		b.State = join
	default:
		x.cancelTimer(branchTimerKey(c.ID, b))
		x.enterBranch(b, def.idx.states[a.Next], before)
	}
	x.op(func() error { return updateBranch(x.ctx, x.tx, c.ID, b, prevB) })
	x.history(HistoryEntry{Branch: b.Key, Action: a.Key, From: from, To: b.State, ActorID: actorID(in.Actor), Role: role, Unit: b.Unit,
		Comment: in.Comment, Attachments: in.Attachments, Signature: in.Signature, SendBack: a.SendBack, Detail: detail})

	if b.Outcome != "" {
		j := def.idx.states[join].Join
		target := ""
		if b.Outcome == BranchRefused {
			target = j.OnRefuse
			if err := x.cancelBranches(b.Key); err != nil {
				return Result{}, err
			}
		} else if !slices.ContainsFunc(bs, func(o *branchRow) bool { return o.Outcome == "" }) {
			target = j.Next
		}
		if target != "" {
			fromMain := c.State
			if err := x.enterMain(target, &Input{system: true}, ActionJoin); err != nil {
				return Result{}, err
			}
			x.joined = true
			x.history(HistoryEntry{Action: ActionJoin, From: fromMain, To: c.State, ActorID: SystemActorID, Role: SystemActorID, Unit: c.Unit,
				Detail: map[string]any{"branch": b.Key, "outcome": b.Outcome}})
		}
	}
	if err := x.flush(prev); err != nil {
		return Result{}, err
	}
	return x.result(from, b.State), nil
}

func (x *txn) history(h HistoryEntry) {
	c := x.c
	h.CaseID, h.Version, h.At, h.Status, h.DueAt = c.ID, c.Version, x.now, c.Status, c.DueAt
	x.entries = append(x.entries, h)
}

// flush writes the case (guarded by its previous version; 0 inserts it), the
// collected changes, the timers and work items that follow from the new
// state, the history, the outbox events and, last (it locks the audit chain
// head until commit), the audit entry.
func (x *txn) flush(prev int64) error {
	ctx, tx, c, def := x.ctx, x.tx, x.c, x.def
	if prev == 0 {
		if err := insertCase(ctx, tx, c, x.now); err != nil {
			return err
		}
	} else if err := updateCase(ctx, tx, c, prev, x.now); err != nil {
		return err
	}
	b := x.before

	// Step timer of the main path.
	if b.state != c.State || b.visit != c.stateVisit || !b.stateDue.Equal(c.StateDueAt) {
		if !b.stateDue.IsZero() && (b.state != c.State || c.StateDueAt.IsZero() || c.Ended()) {
			x.cancelTimer(stateTimerKey(c.ID, b.state))
		}
		if !c.StateDueAt.IsZero() && !c.Ended() {
			st := def.idx.states[c.State]
			x.schedule(stateTimerKey(c.ID, c.State), slaPayload{Scope: "state", CaseID: c.ID, State: c.State,
				Visit: c.stateVisit, DueAt: c.StateDueAt}, x.warnOf(c.StateDueAt, st.Escalation))
		}
	}
	// Total timer: exists exactly while the clock runs.
	runs := clockRunning(c)
	if b.caseTimer && !runs {
		x.cancelTimer(caseTimerKey(c.ID))
	}
	if runs && (!b.caseTimer || !b.due.Equal(c.DueAt)) {
		x.schedule(caseTimerKey(c.ID), slaPayload{Scope: "case", CaseID: c.ID, DueAt: c.DueAt}, x.warnOf(c.DueAt, def.Escalation))
	}
	// Work items of the main path.
	if items := x.mainItems(); !slices.EqualFunc(items, b.items, workItem.same) {
		x.op(func() error { return replaceItems(ctx, tx, c.ID, c.Ref, c.DefinitionKey, "", len(b.items), items) })
	}
	for _, f := range x.ops {
		if err := f(); err != nil {
			return err
		}
	}
	for i := range x.entries {
		h := &x.entries[i]
		if err := insertHistory(ctx, tx, h); err != nil {
			return err
		}
		ev := TransitionEvent{CaseID: c.ID, Ref: c.Ref, DefinitionKey: c.DefinitionKey, DefinitionVersion: c.DefinitionVersion,
			Version: c.Version, Branch: h.Branch, Action: h.Action, From: h.From, To: h.To, State: c.State, Status: h.Status,
			Outcome: c.Outcome, ActorID: h.ActorID, Role: h.Role, Unit: h.Unit, At: h.At, Comment: h.Comment, SendBack: h.SendBack,
			DueAt: h.DueAt, Paused: !c.PausedAt.IsZero(), Ended: c.Ended()}
		if err := outbox.Publish(ctx, tx, outbox.Event{Topic: TopicTransition, Key: c.ID, Payload: ev, At: h.At}); err != nil {
			return err
		}
	}
	first := x.entries[0]
	action := AuditTransition
	if first.Action == ActionStart {
		action = AuditStart
	}
	detail := map[string]any{"ref": c.Ref, "action": first.Action, "from": first.From, "to": first.To, "version": c.Version,
		"definition": fmt.Sprintf("%s/%d", c.DefinitionKey, c.DefinitionVersion)}
	if first.Branch != "" {
		detail["branch"] = first.Branch
	}
	if first.Role != "" {
		detail["role"] = first.Role
	}
	if x.joined {
		detail["joined_to"] = c.State
	}
	if err := audit.Append(ctx, tx, audit.Entry{At: x.now, Actor: first.ActorID, Action: action, ObjectType: AuditObjectType,
		ObjectID: c.ID, Unit: first.Unit, Detail: detail}); err != nil {
		return err
	}
	if x.owned {
		// The transaction is Transition's own: its deferred writes go with
		// the COMMIT (one round trip on PostgreSQL), and a version conflict
		// is the transaction's error.
		return nil
	}
	// Send the deferred writes now (one round trip on PostgreSQL), so that a
	// version conflict is this call's ErrConflict, whatever the caller's
	// transaction does next.
	return tx.Flush(ctx)
}
