package workflow

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

// Outbox topics the engine publishes.
const (
	// TopicTransition carries a [TransitionEvent] for every start, transition
	// and automatic move, keyed by case ID.
	TopicTransition = "workflow.transition"
	// TopicEscalation carries an [EscalationEvent] when a deadline is near or
	// has passed.
	TopicEscalation = "workflow.escalation"
)

// TimerKind is the kind of the engine's durable timers (deadline warnings
// and breaches); wire it with [Service.RegisterTimers].
const TimerKind = "workflow.sla"

// Audit actions the engine records.
const (
	AuditStart      = "workflow.start"
	AuditTransition = "workflow.transition"
	AuditPublish    = "workflow.definition.publish"
)

// AuditObjectType is the object type of the engine's audit entries.
const AuditObjectType = "workflow_case"

// Config tunes a Service. The zero value works.
type Config struct {
	// Calendar computes deadlines; default calendar.Default().
	Calendar *calendar.Calendar
	// CalendarSource, when set, is asked for the calendar at each use, so
	// holiday announcements edited while running apply at once (it wins over
	// Calendar).
	CalendarSource func() *calendar.Calendar
	// Now is the clock; default time.Now.
	Now func() time.Time
	// NewID makes case IDs when StartCase.CaseID is empty; default UUIDv7.
	NewID func() string
}

// Service is the workflow engine. It is safe for concurrent use; several
// nodes may run it over the same database.
type Service struct {
	db    *db.DB
	calFn func() *calendar.Calendar
	now   func() time.Time
	newID func() string

	defs sync.Map // checksum → *Definition
}

// New returns a Service over d, whose schema must include the outbox, timer,
// audit and workflow migrations. It does no I/O.
func New(d *db.DB, cfg Config) *Service {
	s := &Service{db: d, calFn: cfg.CalendarSource, now: cfg.Now, newID: cfg.NewID}
	if s.calFn == nil {
		cal := cfg.Calendar
		if cal == nil {
			cal = calendar.Default()
		}
		s.calFn = func() *calendar.Calendar { return cal }
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	return s
}

// Calendar returns the calendar deadlines are computed on now.
func (s *Service) Calendar() *calendar.Calendar { return s.calFn() }

// DefinitionInfo describes a published definition version.
type DefinitionInfo struct {
	Key       string
	Version   int
	Name      string
	Checksum  string
	CreatedBy string
	CreatedAt time.Time
}

// Publish validates a definition document and stores it as version
// (key, version). Publishing identical content again is a no-op; different
// content under an existing version fails with ErrExists: versions are
// immutable, so running cases keep the process they pinned.
func (s *Service) Publish(ctx context.Context, raw []byte, by string) (*Definition, error) {
	var out *Definition
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		d, err := s.PublishTx(ctx, tx, raw, by)
		out = d
		return err
	})
	return out, err
}

// PublishTx is Publish inside the caller's transaction.
func (s *Service) PublishTx(ctx context.Context, tx *db.Tx, raw []byte, by string) (*Definition, error) {
	d, err := ParseDefinition(raw)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("publish %s v%d: %w", d.Key, d.Version, err)
	}
	sum := sha256.Sum256(body)
	checksum := hex.EncodeToString(sum[:])
	now := ts(s.now())
	// ON CONFLICT keeps concurrent start-ups of several nodes (each installing
	// the shipped definitions) from failing each other.
	res, err := tx.ExecContext(ctx, `INSERT INTO workflow_definitions (def_key, version, name, body, checksum, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (def_key, version) DO NOTHING`, d.Key, d.Version, d.Name.VI, string(body), checksum, by, now)
	if err != nil {
		return nil, fmt.Errorf("publish %s v%d: %w", d.Key, d.Version, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("publish %s v%d: %w", d.Key, d.Version, err)
	} else if n == 0 {
		var existing string
		if err := tx.QueryRowContext(ctx, `SELECT checksum FROM workflow_definitions WHERE def_key = $1 AND version = $2`, d.Key, d.Version).Scan(&existing); err != nil {
			return nil, fmt.Errorf("publish %s v%d: %w", d.Key, d.Version, err)
		}
		if existing != checksum {
			return nil, refuse(ErrExists, "workflow.definition_exists",
				fmt.Sprintf("definition %s v%d is already published with different content; publish a new version", d.Key, d.Version),
				"key", d.Key, "version", d.Version)
		}
		return d, nil
	}
	actor := by
	if actor == "" {
		actor = SystemActorID
	}
	if err := audit.Append(ctx, tx, audit.Entry{At: now, Actor: actor, Action: AuditPublish, ObjectType: "workflow_definition",
		ObjectID: fmt.Sprintf("%s/%d", d.Key, d.Version), Detail: map[string]any{"checksum": checksum}}); err != nil {
		return nil, err
	}
	return d, nil
}

// Definition returns a published definition; version 0 means the latest.
func (s *Service) Definition(ctx context.Context, key string, version int) (*Definition, error) {
	return s.definition(ctx, s.db.Read(), key, version)
}

// definition resolves (key, version), version 0 meaning the latest, through
// the cache.
func (s *Service) definition(ctx context.Context, q db.Querier, key string, version int) (*Definition, error) {
	var checksum string
	var err error
	if version == 0 {
		err = q.QueryRowContext(ctx, `SELECT version, checksum FROM workflow_definitions WHERE def_key = $1 ORDER BY version DESC LIMIT 1`, key).Scan(&version, &checksum)
	} else {
		err = q.QueryRowContext(ctx, `SELECT checksum FROM workflow_definitions WHERE def_key = $1 AND version = $2`, key, version).Scan(&checksum)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, refuse(ErrNotFound, "workflow.definition_not_found", fmt.Sprintf("no definition %s v%d", key, version), "key", key)
	}
	if err != nil {
		return nil, fmt.Errorf("definition %s v%d: %w", key, version, err)
	}
	return s.definitionFor(ctx, q, key, version, checksum)
}

// definitionFor returns the definition (key, version) whose stored content
// has checksum. The cache is keyed by checksum, so a definition read inside
// a transaction that later rolled back can never stand for different
// content published under the same version.
func (s *Service) definitionFor(ctx context.Context, q db.Querier, key string, version int, checksum string) (*Definition, error) {
	if d, ok := s.defs.Load(checksum); ok {
		return d.(*Definition), nil
	}
	var body, stored string
	err := q.QueryRowContext(ctx, `SELECT body, checksum FROM workflow_definitions WHERE def_key = $1 AND version = $2`, key, version).Scan(&body, &stored)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && stored != checksum) {
		return nil, refuse(ErrNotFound, "workflow.definition_not_found", fmt.Sprintf("no definition %s v%d", key, version), "key", key)
	}
	if err != nil {
		return nil, fmt.Errorf("load definition %s v%d: %w", key, version, err)
	}
	var d Definition
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		return nil, fmt.Errorf("decode definition %s v%d: %w", key, version, err)
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("stored definition %s v%d: %w", key, version, err)
	}
	actual, _ := s.defs.LoadOrStore(checksum, &d)
	return actual.(*Definition), nil
}

// Definitions lists every published definition version, by key then version.
func (s *Service) Definitions(ctx context.Context) ([]DefinitionInfo, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT def_key, version, name, checksum, created_by, created_at
FROM workflow_definitions ORDER BY def_key, version`)
	if err != nil {
		return nil, fmt.Errorf("list definitions: %w", err)
	}
	defer rows.Close()
	var out []DefinitionInfo
	for rows.Next() {
		var d DefinitionInfo
		if err := rows.Scan(&d.Key, &d.Version, &d.Name, &d.Checksum, &d.CreatedBy, &d.CreatedAt); err != nil {
			return nil, fmt.Errorf("list definitions: %w", err)
		}
		d.CreatedAt = d.CreatedAt.UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// Start starts a case in the caller's transaction (the dossier module's, so
// the dossier and its case commit together): it pins the definition version,
// enters the initial state (starting the clock if the definition says so),
// writes the first history entry, the work items, the timers, the outbox
// event and the audit entry.
func (s *Service) Start(ctx context.Context, tx *db.Tx, sc StartCase) (*Case, error) {
	def, err := s.definition(ctx, tx, sc.DefinitionKey, sc.DefinitionVersion)
	if err != nil {
		return nil, err
	}
	now := sc.StartedAt
	if now.IsZero() {
		now = s.now()
	}
	now = ts(now)
	id := sc.CaseID
	if id == "" {
		id = s.newID()
	}
	c := &caseRow{Case: Case{
		ID: id, Ref: sc.Ref, DefinitionKey: def.Key, DefinitionVersion: def.Version,
		Units: map[string]string{}, StartedAt: now, SLA: def.SLA, Version: 1,
	}}
	maps.Copy(c.Units, sc.Units)
	if sc.Unit != "" {
		c.Units[mainSlot] = sc.Unit
	}
	if sc.SLA != nil {
		sla := *sc.SLA
		if sla.Value < 0 || (sla.Unit != WorkingDays && sla.Unit != Hours) {
			return nil, refuse(ErrInvalidInput, "workflow.input.sla_invalid", fmt.Sprintf("bad SLA %+v", sla))
		}
		c.SLA = &sla
	}
	x := &txn{s: s, ctx: ctx, tx: tx, def: def, c: c, now: now, fixedDue: ts(sc.Due)}
	in := Input{Actor: sc.Actor, Action: ActionStart}
	if err := x.enterMain(def.Initial, &in, ""); err != nil {
		return nil, err
	}
	x.history(HistoryEntry{Action: ActionStart, From: "", To: c.State, ActorID: actorID(sc.Actor), Unit: c.Unit})
	if err := x.flush(0); err != nil {
		return nil, err
	}
	out := c.Case
	return &out, nil
}

// ActionStart is the action recorded in the history entry of a case's start.
const ActionStart = "start"

// Transition takes an action on a case in its own transaction. See
// [Service.TransitionTx].
func (s *Service) Transition(ctx context.Context, in Input) (Result, error) {
	var res Result
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		var err error
		res, err = s.transitionTx(ctx, tx, in, true)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// TransitionTx takes an action on a case inside the caller's transaction, so
// that the caller's own changes commit with it. Everything the transition
// does is written in tx: the case's new state and version (an UPDATE guarded
// by the version read, so of two concurrent conflicting actions exactly one
// succeeds and the other gets ErrConflict), history entries, pause intervals,
// work items, timers scheduled and cancelled, outbox events and the audit
// entry. Refusals are *Error values matching ErrNotFound, ErrConflict,
// ErrForbidden, ErrInvalidAction or ErrInvalidInput.
func (s *Service) TransitionTx(ctx context.Context, tx *db.Tx, in Input) (Result, error) {
	return s.transitionTx(ctx, tx, in, false)
}

// transitionTx is TransitionTx; owned tells that tx is the engine's own, so
// the deferred writes may wait for the commit.
func (s *Service) transitionTx(ctx context.Context, tx *db.Tx, in Input, owned bool) (Result, error) {
	now := in.Now
	if now.IsZero() {
		now = s.now()
	}
	now = ts(now)
	// A branch action takes the case row's lock first on PostgreSQL: sibling
	// branches act independently and must not fail each other's version check.
	c, err := loadCase(ctx, tx, in.CaseID, in.Branch != "" && tx.Dialect == db.Postgres)
	if err != nil {
		return Result{}, err
	}
	def, err := s.definitionFor(ctx, tx, c.DefinitionKey, c.DefinitionVersion, c.defChecksum)
	if err != nil {
		return Result{}, err
	}
	if c.Ended() {
		return Result{}, refuse(ErrInvalidAction, "workflow.invalid_action.ended",
			fmt.Sprintf("case %s has ended in state %s", c.ID, c.State), "state", c.State)
	}
	x := &txn{s: s, ctx: ctx, tx: tx, def: def, c: c, now: now, owned: owned, sla: in.SLA}
	if in.Branch == "" {
		return x.mainTransition(&in)
	}
	return x.branchTransition(&in)
}

// Case returns a case with the branches of its current or last fork.
func (s *Service) Case(ctx context.Context, id string) (*Case, error) {
	c, err := loadCase(ctx, s.db.Read(), id, false)
	if err != nil {
		return nil, err
	}
	if c.ForkSeq > 0 {
		bs, err := loadBranches(ctx, s.db.Read(), id, c.ForkSeq)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			c.Branches = append(c.Branches, b.Branch)
		}
	}
	out := c.Case
	return &out, nil
}

// History returns a case's timeline, oldest first.
func (s *Service) History(ctx context.Context, caseID string) ([]HistoryEntry, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT id, case_id, case_version, branch, action, from_state, to_state, status,
	actor, role, unit, at, comment, attachments, signature, send_back, due_at, detail
FROM workflow_history WHERE case_id = $1 ORDER BY id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", caseID, err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var h HistoryEntry
		var att, detail string
		var due sql.NullTime
		if err := rows.Scan(&h.ID, &h.CaseID, &h.Version, &h.Branch, &h.Action, &h.From, &h.To, &h.Status,
			&h.ActorID, &h.Role, &h.Unit, &h.At, &h.Comment, &att, &h.Signature, &h.SendBack, &due, &detail); err != nil {
			return nil, fmt.Errorf("history of %s: %w", caseID, err)
		}
		h.At, h.DueAt = h.At.UTC(), fromNull(due)
		if err := json.Unmarshal([]byte(att), &h.Attachments); err != nil {
			return nil, fmt.Errorf("history of %s: attachments: %w", caseID, err)
		}
		if err := json.Unmarshal([]byte(detail), &h.Detail); err != nil {
			return nil, fmt.Errorf("history of %s: detail: %w", caseID, err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// Pauses returns a case's pause intervals, oldest first.
func (s *Service) Pauses(ctx context.Context, caseID string) ([]Pause, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT seq, state, reason, started_at, ended_at, working_seconds
FROM workflow_pauses WHERE case_id = $1 ORDER BY seq`, caseID)
	if err != nil {
		return nil, fmt.Errorf("pauses of %s: %w", caseID, err)
	}
	defer rows.Close()
	var out []Pause
	for rows.Next() {
		var p Pause
		var ended sql.NullTime
		var work sql.NullInt64
		if err := rows.Scan(&p.Seq, &p.State, &p.Reason, &p.StartedAt, &ended, &work); err != nil {
			return nil, fmt.Errorf("pauses of %s: %w", caseID, err)
		}
		p.StartedAt, p.EndedAt = p.StartedAt.UTC(), fromNull(ended)
		p.Working = time.Duration(work.Int64) * time.Second
		out = append(out, p)
	}
	return out, rows.Err()
}

// Escalations returns the deadline warnings and breaches recorded for a case.
func (s *Service) Escalations(ctx context.Context, caseID string) ([]EscalationRecord, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT id, case_id, scope, kind, branch, state, due_at, at, notify, unit, auto_action
FROM workflow_escalations WHERE case_id = $1 ORDER BY id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("escalations of %s: %w", caseID, err)
	}
	defer rows.Close()
	var out []EscalationRecord
	for rows.Next() {
		var e EscalationRecord
		var notify string
		if err := rows.Scan(&e.ID, &e.CaseID, &e.Scope, &e.Kind, &e.Branch, &e.State, &e.DueAt, &e.At, &notify, &e.Unit, &e.AutoAction); err != nil {
			return nil, fmt.Errorf("escalations of %s: %w", caseID, err)
		}
		e.DueAt, e.At = e.DueAt.UTC(), e.At.UTC()
		if err := json.Unmarshal([]byte(notify), &e.Notify); err != nil {
			return nil, fmt.Errorf("escalations of %s: %w", caseID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Available lists the actions actor may take on the case now, on the main
// path and on each open branch, with the same role and assignee rules as
// Transition.
func (s *Service) Available(ctx context.Context, caseID string, actor Actor) ([]ActionInfo, error) {
	c, err := loadCase(ctx, s.db.Read(), caseID, false)
	if err != nil {
		return nil, err
	}
	if c.Ended() {
		return nil, nil
	}
	def, err := s.definitionFor(ctx, s.db.Read(), c.DefinitionKey, c.DefinitionVersion, c.defChecksum)
	if err != nil {
		return nil, err
	}
	x := &txn{s: s, def: def, c: c}
	var out []ActionInfo
	add := func(branch, state, unit, assignee string) {
		st := def.idx.states[state]
		for _, a := range def.Actions(state) {
			u := unit
			if a.Unit != "" && branch == "" {
				u = x.slotUnit(a.Unit)
			}
			if _, err := checkActor(st, a, actor, u, assignee); err != nil {
				continue
			}
			info := ActionInfo{Branch: branch, Key: a.Key, Name: a.Name, Requires: a.Requires, SendBack: a.SendBack,
				Assign: a.Assign, Extends: a.ExtendsDue, Next: a.Next}
			if n, ok := def.idx.states[a.Next]; ok && n.Kind == KindFork {
				info.Fork = true
			}
			out = append(out, info)
		}
	}
	add("", c.State, c.Unit, c.Assignee)
	if def.idx.states[c.State].Kind == KindFork {
		bs, err := loadBranches(ctx, s.db.Read(), caseID, c.ForkSeq)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			if b.Outcome == "" {
				add(b.Key, b.State, b.Unit, b.Assignee)
			}
		}
	}
	return out, nil
}

func actorID(a Actor) string {
	if a.ID == "" {
		return SystemActorID
	}
	return a.ID
}
