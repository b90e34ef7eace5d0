package dossier

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/workflow"
)

// Get returns a dossier with its components (current files and history),
// fees, results (every version), notices, its timeline (the workflow
// history with step names), its pause intervals and the actions the actor
// may take now. The actor needs dossier.view in one of the units the
// dossier has passed through.
func (s *Service) Get(ctx context.Context, code string, actor *identity.Principal) (*Dossier, error) {
	r, err := s.viewable(ctx, code, actor)
	if err != nil {
		return nil, err
	}
	return s.detail(ctx, r, ActorOf(actor))
}

// detail loads everything of a dossier for Get and GetMine: the actions
// listed are those wa may take now.
func (s *Service) detail(ctx context.Context, r *row, wa workflow.Actor) (*Dossier, error) {
	var err error
	q := s.db.Read()
	d := &r.Dossier
	if d.Components, err = loadComponents(ctx, q, r.id); err != nil {
		return nil, err
	}
	if d.Fees, err = loadFees(ctx, q, r.id); err != nil {
		return nil, err
	}
	if d.Results, err = loadResults(ctx, q, r.id, true); err != nil {
		return nil, err
	}
	if d.Notices, err = loadNotices(ctx, q, r.id); err != nil {
		return nil, err
	}
	def, err := s.wf.Definition(ctx, r.ProcessKey, r.ProcessVersion)
	if err != nil {
		return nil, translate(err)
	}
	hist, err := s.wf.History(ctx, r.CaseID)
	if err != nil {
		return nil, err
	}
	for _, h := range hist {
		d.Timeline = append(d.Timeline, TimelineEntry{At: h.At, Action: h.Action, ActionName: actionName(def, h), From: h.From, To: h.To,
			StateName: stateName(def, h.To), Status: h.Status, Branch: h.Branch, Actor: h.ActorID, Role: h.Role, Unit: h.Unit,
			Comment: h.Comment, Attachments: h.Attachments, Signature: h.Signature, SendBack: h.SendBack, DueAt: h.DueAt, Version: h.Version})
	}
	s.stepDeadlines(d.Timeline, def)
	pauses, err := s.wf.Pauses(ctx, r.CaseID)
	if err != nil {
		return nil, err
	}
	for _, p := range pauses {
		d.Pauses = append(d.Pauses, Pause{State: p.State, Reason: p.Reason, StartedAt: p.StartedAt, EndedAt: p.EndedAt,
			WorkingSeconds: int64(p.Working.Seconds())})
	}
	acts, err := s.wf.Available(ctx, r.CaseID, wa)
	if err != nil {
		return nil, err
	}
	for _, a := range acts {
		ai := ActionInfo{Key: a.Key, Name: a.Name.VI, Branch: a.Branch, SendBack: a.SendBack, Assign: a.Assign, Extends: a.Extends, Next: a.Next}
		for _, req := range a.Requires {
			ai.Requires = append(ai.Requires, string(req))
		}
		d.Actions = append(d.Actions, ai)
	}
	return d, nil
}

// viewable loads a dossier the actor may see.
func (s *Service) viewable(ctx context.Context, code string, actor *identity.Principal) (*row, error) {
	if !actor.Authenticated() {
		return nil, refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in")
	}
	r, err := loadDossier(ctx, s.db.Read(), code, false)
	if err != nil {
		return nil, err
	}
	units, err := dossierUnits(ctx, s.db.Read(), r.id)
	if err != nil {
		return nil, err
	}
	if err := require(ctx, actor, units, ActionView); err != nil {
		if _, all := identity.UnitsFor(actor, ActionView); !all {
			return nil, err
		}
	}
	return r, nil
}

// stepDeadlines fills the timeline's step deadlines the way the engine
// sets them: a step with an SLA is due SLA after it is entered; a step
// resumed after a pause keeps its deadline shifted by the pause's working
// time. Inter-agency branch steps keep only their branch's DueAt.
func (s *Service) stepDeadlines(tl []TimelineEntry, def *workflow.Definition) {
	cal := s.cal()
	last := map[string]time.Time{}
	for i := range tl {
		h := &tl[i]
		st, ok := def.State(h.To)
		if !ok || st.SLA == nil || h.Branch != "" || st.Kind != workflow.KindNormal {
			continue
		}
		due := st.SLA.After(cal, h.At)
		if from, ok := def.State(h.From); ok && from.Kind == workflow.KindPaused && !last[h.To].IsZero() && i > 0 {
			due = cal.AddWorkingHours(last[h.To], cal.WorkingTimeBetween(tl[i-1].At, h.At))
		}
		last[h.To] = due
		h.StepDueAt = due
	}
}

func actionName(def *workflow.Definition, h workflow.HistoryEntry) string {
	if h.Action == workflow.ActionStart {
		return "Nộp hồ sơ"
	}
	if h.Action == workflow.ActionJoin {
		return "Tổng hợp ý kiến liên thông"
	}
	for _, a := range def.Actions(h.From) {
		if a.Key == h.Action {
			return a.Name.VI
		}
	}
	return h.Action
}

func stateName(def *workflow.Definition, state string) string {
	if st, ok := def.State(state); ok {
		return st.Name.VI
	}
	return state
}

// ListQuery asks for one page of dossiers, newest first.
type ListQuery struct {
	Actor *identity.Principal
	// Unit restricts the list to the dossiers that passed through a unit.
	// It may be empty for actors who may view every unit, or who view in
	// exactly one unit (then it is that one).
	Unit string
	// Text is a dossier code (exact), or words of the applicant's name,
	// personal ID or tax code, or of the code, without diacritics or not.
	Text          string
	ProcedureCode string
	Statuses      []Status
	// ReceivedFrom and ReceivedTo keep the dossiers received in
	// [ReceivedFrom, ReceivedTo), or submitted then and not received yet
	// (zero: no bound).
	ReceivedFrom, ReceivedTo time.Time
	// Limit is the page size (default 20, at most 200); After the Next of
	// the previous page.
	Limit int
	After string
}

// Summary is a dossier in a list.
type Summary struct {
	Code           string    `json:"code"`
	ProcedureCode  string    `json:"procedure_code"`
	ProcedureName  string    `json:"procedure_name"`
	ApplicantName  string    `json:"applicant_name"`
	Channel        Channel   `json:"channel"`
	State          string    `json:"state"`
	Status         Status    `json:"status"`
	NationalStatus int       `json:"national_status"`
	Version        int64     `json:"version"`
	Unit           string    `json:"unit"`
	Assignee       string    `json:"assignee,omitempty"`
	SubmittedAt    time.Time `json:"submitted_at"`
	ReceivedAt     time.Time `json:"received_at,omitzero"`
	DueAt          time.Time `json:"due_at,omitzero"`
}

// ListPage is a page of dossiers; Next is empty on the last page.
type ListPage struct {
	Items []Summary
	Next  string
}

// List returns one page of the dossiers the actor may see, filtered by
// unit, text, procedure and statuses, newest first (keyset paging).
func (s *Service) List(ctx context.Context, q ListQuery) (ListPage, error) {
	if !q.Actor.Authenticated() {
		return ListPage{}, refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in")
	}
	units, all := identity.UnitsFor(q.Actor, ActionView)
	var ds defects
	switch {
	case q.Unit != "" && !all && !slices.Contains(units, q.Unit):
		return ListPage{}, refuse(ErrForbidden, "dossier.forbidden", "may not view unit "+q.Unit,
			"action", actionLabels[ActionView], "unit", q.Unit)
	case q.Unit == "" && !all && len(units) == 1:
		q.Unit = units[0]
	case q.Unit == "" && !all && len(units) == 0:
		return ListPage{}, refuse(ErrForbidden, "dossier.forbidden", "may view no unit", "action", actionLabels[ActionView], "unit", "")
	case q.Unit == "" && !all:
		ds.add("unit", CodeRequired, "Chọn đơn vị cần xem (một trong: %v).", units)
	}
	for _, st := range q.Statuses {
		if NationalStatus(st) == 0 {
			ds.add("status", CodeInvalidValue, "Trạng thái %q không tồn tại.", st)
		}
	}
	ds.checkText("q", q.Text, false, 200, false)
	if q.Limit <= 0 {
		q.Limit = httpx.DefaultLimit
	}
	if q.Limit > httpx.MaxLimit {
		ds.add("limit", CodeInvalidValue, "Số kết quả mỗi trang phải từ 1 đến %d.", httpx.MaxLimit)
	}
	var after int64
	if q.After != "" {
		if err := httpx.DecodeCursor(q.After, &after); err != nil || after <= 0 {
			ds.add("cursor", CodeInvalidFormat, "Con trỏ phân trang không hợp lệ.")
		}
	}
	if err := ds.err(); err != nil {
		return ListPage{}, err
	}
	query, args := listSQL(s.db.Dialect(), q, after, q.Limit)
	rows, err := s.db.Read().QueryContext(ctx, query, args...)
	if err != nil {
		return ListPage{}, fmt.Errorf("list dossiers: %w", err)
	}
	defer rows.Close()
	var page ListPage
	var lastID int64
	for rows.Next() {
		r, err := scanDossier(rows)
		if err != nil {
			return ListPage{}, fmt.Errorf("list dossiers: %w", err)
		}
		if len(page.Items) == q.Limit {
			cur, err := httpx.EncodeCursor(lastID)
			if err != nil {
				return ListPage{}, err
			}
			page.Next = cur
			break
		}
		lastID = r.id
		page.Items = append(page.Items, Summary{Code: r.Code, ProcedureCode: r.ProcedureCode, ProcedureName: r.ProcedureName,
			ApplicantName: r.Applicant.Name, Channel: r.Channel, State: r.State, Status: r.Status, NationalStatus: r.NationalStatus,
			Version: r.Version, Unit: r.Unit, Assignee: r.Assignee, SubmittedAt: r.SubmittedAt,
			ReceivedAt: r.ReceivedAt, DueAt: r.DueAt})
	}
	return page, rows.Err()
}

// Inbox returns one page of the actor's work queue from the workflow engine
// (q.Actor is set from actor): unassigned work of the actor's roles in its
// units, work assigned to it, near breach or overdue.
func (s *Service) Inbox(ctx context.Context, actor *identity.Principal, q workflow.InboxQuery) (workflow.InboxPage, error) {
	if !actor.Authenticated() {
		return workflow.InboxPage{}, refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in")
	}
	q.Actor = ActorOf(actor)
	page, err := s.wf.Inbox(ctx, q)
	return page, translate(err)
}

// --- public lookup (§9) ---

// Lookup finds a dossier by its code and the last four digits of the
// applicant's phone (the second factor that keeps codes printed on slips
// from exposing anything) and returns what the public may see: status,
// procedure, dates and the steps' names and dates, nothing personal. A
// wrong factor, an unknown code and a malformed code all fail with
// ErrLookupFailed, after the same work (the factor is compared in constant
// time even when there is no dossier).
func (s *Service) Lookup(ctx context.Context, code, phone4 string) (*PublicView, error) {
	r, err := s.lookupRow(ctx, code, phone4)
	if err != nil {
		return nil, err
	}
	v := &PublicView{Code: r.Code, ProcedureCode: r.ProcedureCode, ProcedureName: r.ProcedureName, Status: r.Status,
		StatusName: r.Status.Label(), NationalStatus: r.NationalStatus, SubmittedAt: r.SubmittedAt, ReceivedAt: r.ReceivedAt,
		DueAt: r.DueAt, FinishedAt: r.FinishedAt, ReturnedAt: r.ReturnedAt, Steps: []PublicStep{}}
	def, err := s.wf.Definition(ctx, r.ProcessKey, r.ProcessVersion)
	if err != nil {
		return nil, translate(err)
	}
	hist, err := s.wf.History(ctx, r.CaseID)
	if err != nil {
		return nil, err
	}
	for _, h := range hist {
		switch {
		case h.Branch != "":
			continue // consultations between agencies are internal
		case h.To == h.From:
			if h.DueAt.IsZero() || h.Detail["previous_due"] == nil {
				continue // reassignment and other internal stays
			}
			v.Steps = append(v.Steps, PublicStep{At: h.At, Name: "Gia hạn, hẹn lại ngày trả kết quả"})
		default:
			v.Steps = append(v.Steps, PublicStep{At: h.At, Name: stateName(def, h.To)})
		}
	}
	if resultVisible(r.Status) {
		res, err := loadResults(ctx, s.db.Read(), r.id, false)
		if err != nil {
			return nil, err
		}
		for _, x := range res {
			v.Results = append(v.Results, x.ResultCode)
		}
	}
	return v, nil
}

// resultVisible reports whether the applicant may download results: once
// the result is issued.
func resultVisible(st Status) bool {
	return st == StatusResultReady || st == StatusNotCollected || st == StatusReturned || st == StatusArchived
}

// dummyPhone is compared against when there is no dossier, so that an
// unknown code costs the same comparison as a wrong factor.
const dummyPhone = "0000000000"

func (s *Service) lookupRow(ctx context.Context, code, phone4 string) (*row, error) {
	failed := refuse(ErrLookupFailed, "dossier.lookup_failed", "no dossier with this code and phone digits")
	var r *row
	if ValidCode(code) {
		var err error
		r, err = loadDossier(ctx, s.db.Read(), code, false)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
	}
	phone := dummyPhone
	if r != nil {
		phone = r.Applicant.Phone
	}
	ok := factorMatches(phone, phone4)
	if r == nil || !ok {
		return nil, failed
	}
	return r, nil
}

func isNotFound(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Kind == ErrNotFound
}

// OpenResult opens the file of a result for the applicant (the e-result,
// §9), with the same second factor as Lookup. It fails with ErrLookupFailed
// like Lookup, and with ErrNotFound when the dossier has no issued result
// of that code yet. The caller closes the reader.
func (s *Service) OpenResult(ctx context.Context, code, phone4, resultCode string) (Result, io.ReadCloser, error) {
	r, err := s.lookupRow(ctx, code, phone4)
	if err != nil {
		return Result{}, nil, err
	}
	if !resultVisible(r.Status) {
		return Result{}, nil, refuse(ErrNotFound, "dossier.result_not_found", "no result issued yet", "code", resultCode)
	}
	return s.openResult(ctx, r, resultCode)
}

func (s *Service) openResult(ctx context.Context, r *row, resultCode string) (Result, io.ReadCloser, error) {
	res, err := loadResults(ctx, s.db.Read(), r.id, false)
	if err != nil {
		return Result{}, nil, err
	}
	for _, x := range res {
		if x.ResultCode == resultCode {
			rc, err := s.blobs.Get(ctx, x.File.Hash)
			if err != nil {
				return Result{}, nil, fmt.Errorf("result %s of %s: %w", resultCode, r.Code, err)
			}
			return x, rc, nil
		}
	}
	return Result{}, nil, refuse(ErrNotFound, "dossier.result_not_found", "no result "+resultCode, "code", resultCode)
}

// --- the national status mapping, for the sync adapter ---

// NationalStatusOf returns the national portal's status code of a dossier
// (§4): the code of its internal status.
func NationalStatusOf(d *Dossier) int { return NationalStatus(d.Status) }
