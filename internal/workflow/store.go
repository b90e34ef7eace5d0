package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Migrations returns the schema of the workflow module (module "workflow").
// It needs the outbox and timer schemas too (their Migrations run first).
func Migrations() []db.Migration {
	return []db.Migration{{Module: "workflow", Version: 1, Name: "definitions, cases, branches, history, pauses, escalations, work items", Up: `
CREATE TABLE workflow_definitions (
	def_key TEXT NOT NULL,
	version INTEGER NOT NULL,
	name TEXT NOT NULL,
	body {{json}} NOT NULL,
	checksum TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at {{time}} NOT NULL,
	PRIMARY KEY (def_key, version)
);
CREATE TABLE workflow_cases (
	id TEXT PRIMARY KEY,
	ref TEXT NOT NULL,
	def_key TEXT NOT NULL,
	def_version INTEGER NOT NULL,
	state TEXT NOT NULL,
	status INTEGER NOT NULL,
	version BIGINT NOT NULL,
	units {{json}} NOT NULL,
	unit TEXT NOT NULL,
	assignee TEXT NOT NULL,
	outcome TEXT NOT NULL,
	sla TEXT NOT NULL,
	started_at {{time}} NOT NULL,
	clock_started_at {{time}},
	finished_at {{time}},
	ended_at {{time}},
	due_at {{time}},
	state_entered_at {{time}} NOT NULL,
	state_visit BIGINT NOT NULL,
	state_due_at {{time}},
	paused_at {{time}},
	pause_seq INTEGER NOT NULL,
	paused_seconds BIGINT NOT NULL,
	resume_state TEXT NOT NULL,
	resume_due_at {{time}},
	resume_shift BIGINT NOT NULL,
	fork_seq INTEGER NOT NULL,
	updated_at {{time}} NOT NULL,
	FOREIGN KEY (def_key, def_version) REFERENCES workflow_definitions (def_key, version)
);
CREATE INDEX workflow_cases_ref ON workflow_cases (ref);
CREATE TABLE workflow_branches (
	case_id TEXT NOT NULL REFERENCES workflow_cases (id),
	fork_seq INTEGER NOT NULL,
	branch TEXT NOT NULL,
	fork TEXT NOT NULL,
	unit TEXT NOT NULL,
	state TEXT NOT NULL,
	version BIGINT NOT NULL,
	assignee TEXT NOT NULL,
	outcome TEXT NOT NULL,
	due_at {{time}},
	state_entered_at {{time}} NOT NULL,
	state_visit BIGINT NOT NULL,
	state_due_at {{time}},
	started_at {{time}} NOT NULL,
	ended_at {{time}},
	PRIMARY KEY (case_id, fork_seq, branch)
);
CREATE TABLE workflow_history (
	id {{id}},
	case_id TEXT NOT NULL REFERENCES workflow_cases (id),
	case_version BIGINT NOT NULL,
	branch TEXT NOT NULL,
	action TEXT NOT NULL,
	from_state TEXT NOT NULL,
	to_state TEXT NOT NULL,
	status INTEGER NOT NULL,
	actor TEXT NOT NULL,
	role TEXT NOT NULL,
	unit TEXT NOT NULL,
	at {{time}} NOT NULL,
	comment TEXT NOT NULL,
	attachments {{json}} NOT NULL,
	signature TEXT NOT NULL,
	send_back {{bool}} NOT NULL,
	due_at {{time}},
	detail {{json}} NOT NULL
);
CREATE INDEX workflow_history_case ON workflow_history (case_id, id);
CREATE TABLE workflow_pauses (
	case_id TEXT NOT NULL REFERENCES workflow_cases (id),
	seq INTEGER NOT NULL,
	state TEXT NOT NULL,
	reason TEXT NOT NULL,
	started_at {{time}} NOT NULL,
	ended_at {{time}},
	working_seconds BIGINT,
	PRIMARY KEY (case_id, seq)
);
CREATE TABLE workflow_escalations (
	id {{id}},
	case_id TEXT NOT NULL REFERENCES workflow_cases (id),
	scope TEXT NOT NULL,
	cycle BIGINT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('warning', 'breach')),
	branch TEXT NOT NULL,
	state TEXT NOT NULL,
	due_at {{time}} NOT NULL,
	at {{time}} NOT NULL,
	notify {{json}} NOT NULL,
	unit TEXT NOT NULL,
	auto_action TEXT NOT NULL,
	UNIQUE (case_id, scope, cycle, kind)
);
-- Open work: one row per (case, branch, role) that someone must act on.
-- Maintained by the engine in the transaction of every transition; final
-- states have none. due_at/warn_at hold 9999-12-31 when there is no deadline
-- (clock not started, stopped or paused) so that keyset order is the same on
-- both engines (no NULL ordering differences).
CREATE TABLE workflow_work_items (
	case_id TEXT NOT NULL,
	branch TEXT NOT NULL,
	role TEXT NOT NULL,
	state TEXT NOT NULL,
	unit TEXT NOT NULL,
	assignee TEXT NOT NULL,
	due_at {{time}} NOT NULL,
	warn_at {{time}} NOT NULL,
	entered_at {{time}} NOT NULL,
	status INTEGER NOT NULL,
	ref TEXT NOT NULL,
	def_key TEXT NOT NULL,
	PRIMARY KEY (case_id, branch, role)
);
-- Role queues ("waiting for my roles in my units"), their near-breach and
-- overdue slices, and their counts: equality on (unit, role, assignee = ''),
-- then due order. The trailing columns make the index covering: pages,
-- near-breach filtering and counts never touch the table. See doc.go.
CREATE INDEX workflow_items_queue ON workflow_work_items
	(unit, role, assignee, due_at, case_id, branch, warn_at, state, status, entered_at, ref, def_key);
-- "Assigned to me" and its near-breach/overdue slices, covering likewise.
CREATE INDEX workflow_items_assignee ON workflow_work_items
	(assignee, due_at, case_id, branch, warn_at, role, unit, state, status, entered_at, ref, def_key) WHERE assignee <> '';
`}}
}

// noDeadline is stored in work items instead of NULL.
var noDeadline = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

func orNoDeadline(t time.Time) time.Time {
	if t.IsZero() {
		return noDeadline
	}
	return t
}

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func fromNull(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// ts normalises a time for storage: UTC, microseconds (PostgreSQL's
// precision), so values read back compare equal on both engines.
func ts(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// caseRow is a case as stored, with the fields the engine needs.
type caseRow struct {
	Case
	stateVisit   int64
	pauseSeq     int
	resumeState  string
	resumeDueAt  time.Time
	resumeShift  time.Duration
	unitsChanged bool
	defChecksum  string
}

const caseColumns = `id, ref, def_key, def_version, state, status, version, units, unit, assignee, outcome, sla, started_at, clock_started_at, finished_at, ended_at, due_at, state_entered_at, state_visit, state_due_at,
	paused_at, pause_seq, paused_seconds, resume_state, resume_due_at, resume_shift, fork_seq`

func scanCase(row interface{ Scan(...any) error }) (*caseRow, error) {
	var c caseRow
	var units, sla string
	var clock, finished, ended, due, stateDue, paused, resumeDue sql.NullTime
	var pausedSec, shift int64
	err := row.Scan(&c.ID, &c.Ref, &c.DefinitionKey, &c.DefinitionVersion, &c.State, &c.Status, &c.Version,
		&units, &c.Unit, &c.Assignee, &c.Outcome, &sla,
		&c.StartedAt, &clock, &finished, &ended, &due, &c.StateEnteredAt, &c.stateVisit, &stateDue,
		&paused, &c.pauseSeq, &pausedSec, &c.resumeState, &resumeDue, &shift, &c.ForkSeq, &c.defChecksum)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(units), &c.Units); err != nil {
		return nil, fmt.Errorf("case %s: units: %w", c.ID, err)
	}
	if sla != "" {
		c.SLA = new(Duration)
		if err := json.Unmarshal([]byte(sla), c.SLA); err != nil {
			return nil, fmt.Errorf("case %s: sla: %w", c.ID, err)
		}
	}
	c.StartedAt = c.StartedAt.UTC()
	c.StateEnteredAt = c.StateEnteredAt.UTC()
	c.ClockStartedAt, c.FinishedAt, c.EndedAt = fromNull(clock), fromNull(finished), fromNull(ended)
	c.DueAt, c.StateDueAt, c.PausedAt = fromNull(due), fromNull(stateDue), fromNull(paused)
	c.resumeDueAt = fromNull(resumeDue)
	c.PausedTotal = time.Duration(pausedSec) * time.Second
	c.resumeShift = time.Duration(shift)
	return &c, nil
}

// loadCaseSQL reads a case with the checksum of its pinned definition (the
// key of the definition cache), in one round trip.
var loadCaseSQL = `SELECT c.` + strings.ReplaceAll(caseColumns, ", ", ", c.") + `, d.checksum
FROM workflow_cases c JOIN workflow_definitions d ON d.def_key = c.def_key AND d.version = c.def_version
WHERE c.id = $1`

func loadCase(ctx context.Context, q db.Querier, id string, lock bool) (*caseRow, error) {
	query := loadCaseSQL
	if lock {
		query += ` FOR UPDATE OF c`
	}
	c, err := scanCase(q.QueryRowContext(ctx, query, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, refuse(ErrNotFound, "workflow.case_not_found", "no case "+id, "case", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load case %s: %w", id, err)
	}
	return c, nil
}

func insertCase(ctx context.Context, tx *db.Tx, c *caseRow, now time.Time) error {
	units, _ := json.Marshal(c.Units)
	sla := ""
	if c.SLA != nil {
		b, _ := json.Marshal(c.SLA)
		sla = string(b)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO workflow_cases (`+caseColumns+`, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)`,
		c.ID, c.Ref, c.DefinitionKey, c.DefinitionVersion, c.State, c.Status, c.Version, string(units), c.Unit, c.Assignee, c.Outcome, sla,
		c.StartedAt, nullTime(c.ClockStartedAt), nullTime(c.FinishedAt), nullTime(c.EndedAt), nullTime(c.DueAt), c.StateEnteredAt, c.stateVisit, nullTime(c.StateDueAt),
		nullTime(c.PausedAt), c.pauseSeq, int64(c.PausedTotal/time.Second), c.resumeState, nullTime(c.resumeDueAt), int64(c.resumeShift), c.ForkSeq, now)
	if db.IsUniqueViolation(err) {
		return refuse(ErrExists, "workflow.case_exists", "case "+c.ID+" already started", "case", c.ID)
	}
	if err != nil {
		return fmt.Errorf("insert case %s: %w", c.ID, err)
	}
	return nil
}

// updateCase writes c with version c.Version, if the stored version is still
// prev; otherwise the case changed underneath: ErrConflict.
func updateCase(ctx context.Context, tx *db.Tx, c *caseRow, prev int64, now time.Time) error {
	var units any
	setUnits := ""
	args := []any{c.ID, prev, c.State, c.Status, c.Version, c.Unit, c.Assignee, c.Outcome,
		nullTime(c.ClockStartedAt), nullTime(c.FinishedAt), nullTime(c.EndedAt), nullTime(c.DueAt), c.StateEnteredAt, c.stateVisit, nullTime(c.StateDueAt),
		nullTime(c.PausedAt), c.pauseSeq, int64(c.PausedTotal / time.Second), c.resumeState, nullTime(c.resumeDueAt), int64(c.resumeShift), c.ForkSeq, now}
	if c.unitsChanged {
		b, _ := json.Marshal(c.Units)
		units = string(b)
		args = append(args, units)
		setUnits = `, units = $24`
	}
	// Deferred: on PostgreSQL the guard's verdict arrives with the
	// transition's other writes, and a conflict fails the transaction.
	return tx.DeferGuard(ctx, func() error {
		return refuse(ErrConflict, "workflow.conflict", fmt.Sprintf("case %s changed since version %d", c.ID, prev), "case", c.ID)
	}, "update case "+c.ID, `UPDATE workflow_cases SET state = $3, status = $4, version = $5, unit = $6, assignee = $7, outcome = $8,
	clock_started_at = $9, finished_at = $10, ended_at = $11, due_at = $12, state_entered_at = $13, state_visit = $14, state_due_at = $15,
	paused_at = $16, pause_seq = $17, paused_seconds = $18, resume_state = $19, resume_due_at = $20, resume_shift = $21, fork_seq = $22,
	updated_at = $23`+setUnits+`
WHERE id = $1 AND version = $2`, args...)
}

const branchColumns = `branch, fork, fork_seq, unit, state, version, assignee, outcome, due_at, state_entered_at, state_visit, state_due_at, started_at, ended_at`

type branchRow struct {
	Branch
	stateVisit int64
}

func scanBranch(row interface{ Scan(...any) error }) (*branchRow, error) {
	var b branchRow
	var due, stateDue, ended sql.NullTime
	if err := row.Scan(&b.Key, &b.Fork, &b.ForkSeq, &b.Unit, &b.State, &b.Version, &b.Assignee, &b.Outcome,
		&due, &b.StateEnteredAt, &b.stateVisit, &stateDue, &b.StartedAt, &ended); err != nil {
		return nil, err
	}
	b.StateEnteredAt, b.StartedAt = b.StateEnteredAt.UTC(), b.StartedAt.UTC()
	b.DueAt, b.StateDueAt, b.EndedAt = fromNull(due), fromNull(stateDue), fromNull(ended)
	return &b, nil
}

func loadBranches(ctx context.Context, q db.Querier, caseID string, forkSeq int) ([]*branchRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+branchColumns+` FROM workflow_branches WHERE case_id = $1 AND fork_seq = $2 ORDER BY branch`, caseID, forkSeq)
	if err != nil {
		return nil, fmt.Errorf("load branches of %s: %w", caseID, err)
	}
	defer rows.Close()
	var out []*branchRow
	for rows.Next() {
		b, err := scanBranch(rows)
		if err != nil {
			return nil, fmt.Errorf("load branches of %s: %w", caseID, err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func insertBranch(ctx context.Context, tx *db.Tx, caseID string, b *branchRow) error {
	return tx.Defer(ctx, nil, "insert branch "+caseID+"/"+b.Key, `INSERT INTO workflow_branches (case_id, `+branchColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		caseID, b.Key, b.Fork, b.ForkSeq, b.Unit, b.State, b.Version, b.Assignee, b.Outcome,
		nullTime(b.DueAt), b.StateEnteredAt, b.stateVisit, nullTime(b.StateDueAt), b.StartedAt, nullTime(b.EndedAt))
}

func updateBranch(ctx context.Context, tx *db.Tx, caseID string, b *branchRow, prev int64) error {
	return tx.DeferGuard(ctx, func() error {
		return refuse(ErrConflict, "workflow.conflict", fmt.Sprintf("branch %s of case %s changed since version %d", b.Key, caseID, prev), "case", caseID)
	}, "update branch "+caseID+"/"+b.Key, `UPDATE workflow_branches SET state = $5, version = $6, assignee = $7, outcome = $8,
	state_entered_at = $9, state_visit = $10, state_due_at = $11, ended_at = $12
WHERE case_id = $1 AND fork_seq = $2 AND branch = $3 AND version = $4`,
		caseID, b.ForkSeq, b.Key, prev, b.State, b.Version, b.Assignee, b.Outcome,
		b.StateEnteredAt, b.stateVisit, nullTime(b.StateDueAt), nullTime(b.EndedAt))
}

func insertHistory(ctx context.Context, tx *db.Tx, h *HistoryEntry) error {
	att := "[]"
	if len(h.Attachments) > 0 {
		b, _ := json.Marshal(h.Attachments)
		att = string(b)
	}
	detail := "{}"
	if len(h.Detail) > 0 {
		b, _ := json.Marshal(h.Detail)
		detail = string(b)
	}
	return tx.Defer(ctx, nil, "insert history of "+h.CaseID, `INSERT INTO workflow_history
	(case_id, case_version, branch, action, from_state, to_state, status, actor, role, unit, at, comment, attachments, signature, send_back, due_at, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		h.CaseID, h.Version, h.Branch, h.Action, h.From, h.To, h.Status, h.ActorID, h.Role, h.Unit, h.At,
		h.Comment, att, h.Signature, h.SendBack, nullTime(h.DueAt), detail)
}

// workItem is one row of workflow_work_items.
type workItem struct {
	branch, role, state, unit, assignee string
	due, warn, entered                  time.Time
	status                              int
}

func (a workItem) same(b workItem) bool {
	return a.branch == b.branch && a.role == b.role && a.state == b.state && a.unit == b.unit && a.assignee == b.assignee &&
		a.due.Equal(b.due) && a.warn.Equal(b.warn) && a.entered.Equal(b.entered) && a.status == b.status
}

// replaceItems makes the open work of (case, branch) exactly items. The
// common case, one item replacing one item, is a single UPDATE (on
// PostgreSQL a deferred UPDATE that inserts the item if it was missing).
func replaceItems(ctx context.Context, tx *db.Tx, caseID, ref, defKey, branch string, before int, items []workItem) error {
	if before == 1 && len(items) == 1 && tx.Dialect == db.Postgres {
		it := items[0]
		return tx.Defer(ctx, nil, "replace work item of "+caseID, `WITH u AS (
	UPDATE workflow_work_items SET role = $3, state = $4, unit = $5, assignee = $6,
		due_at = $7, warn_at = $8, entered_at = $9, status = $10
	WHERE case_id = $1 AND branch = $2 RETURNING 1)
INSERT INTO workflow_work_items (case_id, branch, role, state, unit, assignee, due_at, warn_at, entered_at, status, ref, def_key)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 WHERE NOT EXISTS (SELECT 1 FROM u)`,
			caseID, branch, it.role, it.state, it.unit, it.assignee,
			orNoDeadline(it.due), orNoDeadline(it.warn), it.entered, it.status, ref, defKey)
	}
	if before == 1 && len(items) == 1 {
		it := items[0]
		res, err := tx.ExecContext(ctx, `UPDATE workflow_work_items SET role = $3, state = $4, unit = $5, assignee = $6,
	due_at = $7, warn_at = $8, entered_at = $9, status = $10
WHERE case_id = $1 AND branch = $2`, caseID, branch, it.role, it.state, it.unit, it.assignee,
			orNoDeadline(it.due), orNoDeadline(it.warn), it.entered, it.status)
		if err != nil {
			return fmt.Errorf("update work item of %s: %w", caseID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
	}
	if before > 0 {
		if err := tx.Defer(ctx, nil, "delete work items of "+caseID, `DELETE FROM workflow_work_items WHERE case_id = $1 AND branch = $2`, caseID, branch); err != nil {
			return err
		}
	}
	for _, it := range items {
		if err := tx.Defer(ctx, nil, "insert work item of "+caseID, `INSERT INTO workflow_work_items
	(case_id, branch, role, state, unit, assignee, due_at, warn_at, entered_at, status, ref, def_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, caseID, branch, it.role, it.state, it.unit, it.assignee,
			orNoDeadline(it.due), orNoDeadline(it.warn), it.entered, it.status, ref, defKey); err != nil {
			return err
		}
	}
	return nil
}

func openPause(ctx context.Context, tx *db.Tx, caseID string, seq int, state, reason string, at time.Time) error {
	return tx.Defer(ctx, nil, "open pause of "+caseID, `INSERT INTO workflow_pauses (case_id, seq, state, reason, started_at) VALUES ($1, $2, $3, $4, $5)`,
		caseID, seq, state, reason, at)
}

func closePause(ctx context.Context, tx *db.Tx, caseID string, seq int, at time.Time, working time.Duration) error {
	return tx.Defer(ctx, nil, "close pause of "+caseID, `UPDATE workflow_pauses SET ended_at = $3, working_seconds = $4 WHERE case_id = $1 AND seq = $2`,
		caseID, seq, at, int64(working/time.Second))
}
