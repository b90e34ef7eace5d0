package workflow

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// InboxKind selects an inbox.
type InboxKind string

// The inboxes.
const (
	// InboxQueue lists unassigned work waiting for the actor's roles in the
	// units where the actor holds them (unit-scoped grants only: a
	// province-wide grant would list the whole province, which is a report,
	// not an inbox).
	InboxQueue InboxKind = "queue"
	// InboxAssigned lists the work assigned to the actor.
	InboxAssigned InboxKind = "assigned"
	// InboxNearBreach lists the actor's queue and assigned work whose
	// warning time has come but whose deadline has not passed.
	InboxNearBreach InboxKind = "near_breach"
	// InboxOverdue lists the actor's queue and assigned work past its
	// deadline.
	InboxOverdue InboxKind = "overdue"
)

// InboxQuery asks for one page of an inbox, earliest deadline first (work
// without a deadline last).
type InboxQuery struct {
	Kind  InboxKind
	Actor Actor
	// Now decides near-breach and overdue; zero means the service's clock.
	Now time.Time
	// Limit is the page size (default 50, at most 500).
	Limit int
	// After is the Next cursor of the previous page.
	After string
}

// WorkItem is one piece of open work in an inbox.
type WorkItem struct {
	CaseID        string
	Ref           string
	DefinitionKey string
	Branch        string
	State         string
	Status        int
	Role          string
	Unit          string
	Assignee      string
	// DueAt is the earliest of the step's and the case's deadlines (the
	// branch's for branch work); zero when the clock does not run.
	DueAt     time.Time
	WarnAt    time.Time
	EnteredAt time.Time
}

// InboxPage is a page of work items; Next is empty on the last page.
type InboxPage struct {
	Items []WorkItem
	Next  string
}

// InboxCounts are the sizes of an actor's inboxes.
type InboxCounts struct {
	Queue      int
	Assigned   int
	NearBreach int
	Overdue    int
}

// maxWarnLead bounds warning lead times (the schema's maximum of
// warn_before_hours), which bounds how far ahead near-breach work can be due.
const maxWarnLead = 40 * time.Hour

// source is one index range an inbox reads: a role queue of a unit, or an
// assignee's work.
type source struct {
	unit, role, assignee string
}

func queueSources(a Actor) []source {
	var out []source
	units := make([]string, 0, len(a.Roles))
	for u := range a.Roles {
		if u != ProvinceWide {
			units = append(units, u)
		}
	}
	slices.Sort(units)
	for _, u := range units {
		roles := slices.Clone(a.Roles[u])
		slices.Sort(roles)
		for _, r := range slices.Compact(roles) {
			out = append(out, source{unit: u, role: r})
		}
	}
	return out
}

func (q InboxQuery) sources() []source {
	var out []source
	if q.Kind != InboxAssigned {
		out = queueSources(q.Actor)
	}
	if q.Kind != InboxQueue && q.Actor.ID != "" {
		out = append(out, source{assignee: q.Actor.ID})
	}
	return out
}

// sqlBuilder numbers placeholders.
type sqlBuilder struct {
	args []any
}

func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// where returns the predicate of one source over one deadline slice. Every
// predicate is an equality prefix of workflow_items_queue or
// workflow_items_assignee followed by a due_at range, so each reads a
// contiguous index range in deadline order.
func (b *sqlBuilder) where(src source, kind InboxKind, now time.Time, bound time.Time) string {
	var w string
	if src.assignee != "" {
		w = "assignee = " + b.arg(src.assignee) + " AND assignee <> ''"
	} else {
		w = "unit = " + b.arg(src.unit) + " AND role = " + b.arg(src.role) + " AND assignee = ''"
	}
	switch kind {
	case InboxOverdue:
		w += " AND due_at <= " + b.arg(now)
	case InboxNearBreach:
		w += " AND due_at > " + b.arg(now) + " AND due_at <= " + b.arg(bound) + " AND warn_at <= " + b.arg(now)
	}
	return w
}

const itemColumns = `case_id, branch, role, state, unit, assignee, due_at, warn_at, entered_at, status, ref, def_key`

// Inbox returns one page of an inbox. Each source (a role queue of one unit,
// or the actor's assigned work) is read by its own index range with the
// page limit; the union is merged in deadline order. A case listed through
// two of the actor's roles appears once.
func (s *Service) Inbox(ctx context.Context, q InboxQuery) (InboxPage, error) {
	query, args, err := s.inboxSQL(&q)
	if err != nil || query == "" {
		return InboxPage{}, err
	}
	rows, err := s.db.Read().QueryContext(ctx, query, args...)
	if err != nil {
		return InboxPage{}, fmt.Errorf("inbox %s: %w", q.Kind, err)
	}
	defer rows.Close()
	var page InboxPage
	more := false
	for rows.Next() {
		var it WorkItem
		if err := rows.Scan(&it.CaseID, &it.Branch, &it.Role, &it.State, &it.Unit, &it.Assignee, &it.DueAt, &it.WarnAt,
			&it.EnteredAt, &it.Status, &it.Ref, &it.DefinitionKey); err != nil {
			return InboxPage{}, fmt.Errorf("inbox %s: %w", q.Kind, err)
		}
		if n := len(page.Items); n > 0 && page.Items[n-1].CaseID == it.CaseID && page.Items[n-1].Branch == it.Branch {
			continue
		}
		if len(page.Items) == q.Limit {
			more = true
			break
		}
		it.DueAt, it.WarnAt, it.EnteredAt = fromStored(it.DueAt), fromStored(it.WarnAt), it.EnteredAt.UTC()
		page.Items = append(page.Items, it)
	}
	if err := rows.Err(); err != nil {
		return InboxPage{}, fmt.Errorf("inbox %s: %w", q.Kind, err)
	}
	if more {
		last := page.Items[len(page.Items)-1]
		page.Next = cursor{due: orNoDeadline(last.DueAt), caseID: last.CaseID, branch: last.Branch}.String()
	}
	return page, nil
}

// inboxSQL builds the query of an inbox page (empty when the actor has no
// source), normalising q's limit.
func (s *Service) inboxSQL(q *InboxQuery) (string, []any, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	now := q.Now
	if now.IsZero() {
		now = s.now()
	}
	now = ts(now)
	srcs := q.sources()
	if len(srcs) == 0 {
		return "", nil, nil
	}
	var cur *cursor
	if q.After != "" {
		c, err := parseCursor(q.After)
		if err != nil {
			return "", nil, err
		}
		cur = &c
	}
	bound := s.nearBound(now)
	b := &sqlBuilder{}
	parts := make([]string, 0, len(srcs))
	for i, src := range srcs {
		w := b.where(src, q.Kind, now, bound)
		if cur != nil {
			d, id, br := b.arg(cur.due), b.arg(cur.caseID), b.arg(cur.branch)
			w += " AND due_at >= " + d + " AND (due_at > " + d + " OR case_id > " + id + " OR (case_id = " + id + " AND branch > " + br + "))"
		}
		parts = append(parts, fmt.Sprintf("SELECT * FROM (SELECT %s FROM workflow_work_items WHERE %s ORDER BY due_at, case_id, branch LIMIT %d) s%d",
			itemColumns, w, q.Limit+1, i))
	}
	query := strings.Join(parts, " UNION ALL ") + fmt.Sprintf(" ORDER BY due_at, case_id, branch LIMIT %d", (q.Limit+1)*len(srcs))
	return query, b.args, nil
}

// InboxCounts returns the sizes of the actor's four inboxes in one query
// (index range counts; a case listed through two roles counts twice).
func (s *Service) InboxCounts(ctx context.Context, actor Actor, now time.Time) (InboxCounts, error) {
	if now.IsZero() {
		now = s.now()
	}
	now = ts(now)
	bound := s.nearBound(now)
	b := &sqlBuilder{}
	var cols []string
	for _, kind := range []InboxKind{InboxQueue, InboxAssigned, InboxNearBreach, InboxOverdue} {
		srcs := InboxQuery{Kind: kind, Actor: actor}.sources()
		if len(srcs) == 0 {
			cols = append(cols, "0")
			continue
		}
		var terms []string
		for _, src := range srcs {
			terms = append(terms, "(SELECT COUNT(*) FROM workflow_work_items WHERE "+b.where(src, kind, now, bound)+")")
		}
		cols = append(cols, strings.Join(terms, " + "))
	}
	var c InboxCounts
	err := s.db.Read().QueryRowContext(ctx, "SELECT "+strings.Join(cols, ", "), b.args...).Scan(&c.Queue, &c.Assigned, &c.NearBreach, &c.Overdue)
	if err != nil {
		return InboxCounts{}, fmt.Errorf("inbox counts: %w", err)
	}
	return c, nil
}

// nearBound is the latest deadline that can already be in its warning
// period at now.
func (s *Service) nearBound(now time.Time) time.Time {
	return ts(s.Calendar().AddWorkingHours(now, maxWarnLead).Add(24 * time.Hour))
}

func fromStored(t time.Time) time.Time {
	t = t.UTC()
	if !t.Before(noDeadline) {
		return time.Time{}
	}
	return t
}

type cursor struct {
	due    time.Time
	caseID string
	branch string
}

func (c cursor) String() string {
	raw := strconv.FormatInt(c.due.UnixMicro(), 10) + "\x00" + c.caseID + "\x00" + c.branch
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func parseCursor(s string) (cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	bad := refuse(ErrInvalidInput, "workflow.input.cursor_invalid", "bad inbox cursor")
	if err != nil {
		return cursor{}, bad
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return cursor{}, bad
	}
	us, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return cursor{}, bad
	}
	return cursor{due: time.UnixMicro(us).UTC(), caseID: parts[1], branch: parts[2]}, nil
}

// UnitLoad is the open work held in one unit: all its work items (role
// queues and assigned work), those near breach and those overdue.
type UnitLoad struct {
	Unit       string
	Open       int
	NearBreach int
	Overdue    int
}

// UnitLoads counts the open work of each unit in one query (for the
// leaders' overview), read from the covering queue index; units without
// work are returned with zeros, in the order asked.
func (s *Service) UnitLoads(ctx context.Context, units []string, now time.Time) ([]UnitLoad, error) {
	if len(units) == 0 {
		return nil, nil
	}
	if now.IsZero() {
		now = s.now()
	}
	now = ts(now)
	b := &sqlBuilder{}
	nowArg, boundArg := b.arg(now), b.arg(s.nearBound(now))
	ph := make([]string, len(units))
	for i, u := range units {
		ph[i] = b.arg(u)
	}
	q := `SELECT unit, COUNT(*),
	SUM(CASE WHEN due_at > ` + nowArg + ` AND due_at <= ` + boundArg + ` AND warn_at <= ` + nowArg + ` THEN 1 ELSE 0 END),
	SUM(CASE WHEN due_at <= ` + nowArg + ` THEN 1 ELSE 0 END)
FROM workflow_work_items WHERE unit IN (` + strings.Join(ph, ", ") + `) GROUP BY unit`
	rows, err := s.db.Read().QueryContext(ctx, q, b.args...)
	if err != nil {
		return nil, fmt.Errorf("unit loads: %w", err)
	}
	defer rows.Close()
	got := map[string]UnitLoad{}
	for rows.Next() {
		var l UnitLoad
		if err := rows.Scan(&l.Unit, &l.Open, &l.NearBreach, &l.Overdue); err != nil {
			return nil, fmt.Errorf("unit loads: %w", err)
		}
		got[l.Unit] = l
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("unit loads: %w", err)
	}
	out := make([]UnitLoad, len(units))
	for i, u := range units {
		out[i] = got[u]
		out[i].Unit = u
	}
	return out, nil
}
