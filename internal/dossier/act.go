package dossier

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/workflow"
)

// BranchInput names an agency consulted in parallel (inter-agency
// processes): Unit owns the branch, Key names it (default Unit), Due is its
// own deadline (default: the process's).
type BranchInput struct {
	Key  string    `json:"key,omitempty"`
	Unit string    `json:"unit"`
	Due  time.Time `json:"due,omitzero"`
}

// ActInput is an official's action on a dossier, taken through the
// dossier's process (the workflow definition it pinned). Which actions
// exist, who may take them and what they require is the definition's; the
// shipped one-stop process has: request_supplement, refuse, receive,
// supplement_received, assign, reassign, draft_result, draft_refusal,
// request_payment, payment_confirmed, approve, send_back,
// send_back_to_approval, sign, transfer, issue, return, not_collected,
// archive, withdraw, stop and extend.
type ActInput struct {
	DossierCode string              `json:"-"`
	Action      string              `json:"action"`
	Actor       *identity.Principal `json:"-"`
	// ExpectedVersion is the dossier version the official saw (0: any); a
	// different current version fails with ErrConflict.
	ExpectedVersion int64 `json:"expected_version,omitempty"`
	// Comment is the official's comment; it is the reason of refusals,
	// supplement requests, send-backs, stops, withdrawals and extensions.
	Comment string `json:"comment,omitempty"`
	// Attachments are files already stored ([Service.PutFile]) that the
	// action attaches (the draft result, the signed document).
	Attachments []workflow.Attachment `json:"attachments,omitempty"`
	// Signature references the digital signature of sign and issue.
	Signature string `json:"signature,omitempty"`
	// Assignee is the handler of assign and reassign.
	Assignee string `json:"assignee,omitempty"`
	// NewDue is the new appointment of an extension (form 04); a date at
	// midnight (Vietnam time) means the close of that day's office hours.
	NewDue time.Time `json:"new_due,omitzero"`
	// Branch names the inter-agency branch acted on; Branches the agencies
	// a consultation starts.
	Branch   string        `json:"branch,omitempty"`
	Branches []BranchInput `json:"branches,omitempty"`
	// Units sets the process's unit slots when the action allows it
	// (receive: "division", "agency").
	Units map[string]string `json:"units,omitempty"`
	// Defects lists what a supplement request asks for (form 02). At
	// reception an empty list means "what the completeness check finds".
	Defects []Defect `json:"defects,omitempty"`
	// Components records what the applicant supplied (supplement_received)
	// or handed in at the counter.
	Components []ComponentInput `json:"components,omitempty"`
	// IdempotencyKey makes a retried request answer the first result
	// instead of acting twice.
	IdempotencyKey string `json:"-"`

	files map[string]File // Components' files, checked
	// applicant is the owner account acting through the portal (Respond,
	// Withdraw); it acts in the process's "applicant" role.
	applicant string
	// system: the platform acts (a payment confirmed online).
	system bool
}

// who is the acting account: the official, the applicant or the system.
func (in *ActInput) who() string {
	if in.system {
		return workflow.SystemActorID
	}
	if in.applicant != "" {
		return in.applicant
	}
	return actorID(in.Actor)
}

// wfActor is the workflow's view of who acts.
func (in *ActInput) wfActor() workflow.Actor {
	if in.system {
		return systemActor()
	}
	if in.applicant != "" {
		return workflow.Actor{ID: in.applicant, Roles: map[string][]string{workflow.ProvinceWide: {RoleApplicant}}}
	}
	return ActorOf(in.Actor)
}

// ActResult is what an action did. It is what an idempotent retry gets back.
type ActResult struct {
	Code           string    `json:"code"`
	Action         string    `json:"action"`
	From           string    `json:"from"`
	To             string    `json:"to"`
	State          string    `json:"state"`
	Status         Status    `json:"status"`
	NationalStatus int       `json:"national_status"`
	Version        int64     `json:"version"`
	Unit           string    `json:"unit"`
	Assignee       string    `json:"assignee,omitempty"`
	At             time.Time `json:"at"`
	DueAt          time.Time `json:"due_at,omitzero"`
	Paused         bool      `json:"paused,omitempty"`
	Ended          bool      `json:"ended,omitempty"`
	Outcome        string    `json:"outcome,omitempty"`
	Joined         bool      `json:"joined,omitempty"`
	Notice         *Notice   `json:"notice,omitempty"`
	// Replayed is true when the answer is the stored one of an earlier
	// request with the same idempotency key.
	Replayed bool `json:"-"`
}

var actionRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Act takes an action on a dossier in one transaction: the workflow
// transition (role and assignee checks, optimistic version, pauses, timers,
// history, the engine's audit entry), the dossier's mirror of the case
// (state, national status, due date, pause, dates), the notice of a
// supplement request, refusal, stop, withdrawal or extension, the
// "dossier.transition" event, the idempotency key and the dossier's audit
// entry. Of two concurrent conflicting actions exactly one wins; the other
// fails with ErrConflict. Refusals: ErrForbidden (role, assignee),
// ErrInvalidAction (not possible in the current state, extension after the
// due date), ErrConflict (stale version), ErrInvalid (missing reason, new
// date, attachments...).
func (s *Service) Act(ctx context.Context, in ActInput) (ActResult, error) {
	if !in.Actor.Authenticated() {
		return ActResult{}, refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in")
	}
	if err := s.checkAct(ctx, &in); err != nil {
		return ActResult{}, err
	}
	req := struct {
		Code string `json:"code"`
		ActInput
	}{in.DossierCode, in}
	now := ts(s.now())
	return s.act(ctx, "act", req, in, func(tx *db.Tx) (*row, error) {
		return loadDossier(ctx, tx, in.DossierCode, lockClause(tx))
	}, now)
}

// checkAct validates an action's inputs and fills attachment sizes.
func (s *Service) checkAct(ctx context.Context, in *ActInput) error {
	var ds defects
	if !actionRe.MatchString(in.Action) {
		ds.add("action", CodeInvalidFormat, "Thao tác không hợp lệ.")
	}
	if in.ExpectedVersion < 0 {
		ds.add("expected_version", CodeInvalidValue, "Phiên bản phải là số không âm.")
	}
	ds.checkText("comment", in.Comment, false, 4000, true)
	ds.checkText("signature", in.Signature, false, 500, false)
	ds.checkText("assignee", in.Assignee, false, 100, false)
	ds.checkText("branch", in.Branch, false, 100, false)
	if len(in.Attachments) > 20 {
		ds.add("attachments", CodeTooLong, "Quá nhiều tệp đính kèm.")
	}
	for i := range in.Attachments {
		a := &in.Attachments[i]
		f := fmt.Sprintf("attachments[%d]", i)
		ds.checkText(f+".name", a.Name, true, 255, false)
		if !validHash(a.Hash) {
			ds.add(f+".hash", CodeInvalidFormat, "Mã băm tệp phải là SHA-256 (64 ký tự hex thường).")
			continue
		}
		info, err := s.blobs.Stat(ctx, a.Hash)
		if errors.Is(err, blob.ErrNotFound) {
			ds.add(f+".hash", CodeFileNotFound, "Tệp %q chưa được tải lên.", a.Name)
			continue
		} else if err != nil {
			return fmt.Errorf("check attachment %s: %w", a.Hash, err)
		}
		a.Size = info.Size
	}
	for i, b := range in.Branches {
		ds.checkEID(fmt.Sprintf("branches[%d].unit", i), b.Unit, true)
		ds.checkText(fmt.Sprintf("branches[%d].key", i), b.Key, false, 100, false)
	}
	for k, u := range in.Units {
		ds.checkEID("units."+k, u, true)
	}
	if len(in.Defects) > 100 {
		ds.add("defects", CodeTooLong, "Quá nhiều nội dung cần bổ sung.")
	}
	for i, d := range in.Defects {
		f := fmt.Sprintf("defects[%d]", i)
		ds.checkText(f+".message", d.Message, true, 1000, true)
		ds.checkText(f+".field", d.Field, false, 200, false)
		ds.checkText(f+".document", d.Document, false, 500, false)
		ds.checkText(f+".code", d.Code, false, 50, false)
	}
	ds.checkComponentShape(in.Components)
	files, fds, err := s.resolveFiles(ctx, in.Components)
	if err != nil {
		return err
	}
	in.files = files
	ds = append(ds, fds...)
	return ds.err()
}

// SupplementRequestInput asks the applicant to complete a dossier (form 02):
// at reception (the clock has not started) or during processing (the clock
// pauses until the supplement is received). Reason is required; Defects
// list everything to supply (at reception, empty means what the
// completeness check finds).
type SupplementRequestInput struct {
	DossierCode     string              `json:"-"`
	Reason          string              `json:"reason"`
	Defects         []Defect            `json:"defects,omitempty"`
	ExpectedVersion int64               `json:"expected_version,omitempty"`
	Actor           *identity.Principal `json:"-"`
	IdempotencyKey  string              `json:"-"`
}

// RequestSupplement takes the process's "request_supplement" action with
// the form 02 data (§3 step 1.1, §6: the clock pauses).
func (s *Service) RequestSupplement(ctx context.Context, in SupplementRequestInput) (ActResult, error) {
	var ds defects
	ds.checkText("reason", in.Reason, true, 2000, true)
	if err := ds.err(); err != nil {
		return ActResult{}, err
	}
	return s.Act(ctx, ActInput{DossierCode: in.DossierCode, Action: "request_supplement", Actor: in.Actor, Comment: in.Reason,
		Defects: in.Defects, ExpectedVersion: in.ExpectedVersion, IdempotencyKey: in.IdempotencyKey})
}

// act runs one transition on the dossier that load returns (locked), with
// an optional idempotency key.
func (s *Service) act(ctx context.Context, op string, req any, in ActInput, load func(tx *db.Tx) (*row, error), now time.Time) (ActResult, error) {
	if err := checkIdemKey(in.IdempotencyKey); err != nil {
		return ActResult{}, err
	}
	var unit string
	out, replayed, err := runIdempotent(ctx, s, op, in.who(), in.IdempotencyKey, req, func(tx *db.Tx) (ActResult, error) {
		r, err := load(tx)
		if err != nil {
			return ActResult{}, err
		}
		unit = r.Unit
		return s.transition(ctx, tx, r, in, now)
	}, func(tx *db.Tx, res ActResult) error {
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: in.who(), Action: AuditAct, ObjectType: AuditObjectType,
			ObjectID: res.Code, Unit: unit, Detail: map[string]any{"action": res.Action, "from": res.From, "to": res.To, "version": res.Version}})
	})
	out.Replayed = replayed
	return out, err
}

// transition takes in.Action on r in tx and writes everything that follows.
func (s *Service) transition(ctx context.Context, tx *db.Tx, r *row, in ActInput, now time.Time) (ActResult, error) {
	def, err := s.wf.Definition(ctx, r.ProcessKey, r.ProcessVersion)
	if err != nil {
		return ActResult{}, translate(err)
	}
	ext := false
	for _, a := range def.Actions(r.State) {
		if a.Key == in.Action && a.ExtendsDue {
			ext = true
		}
	}
	var ds defects
	if ext {
		if in.NewDue.IsZero() {
			ds.add("new_due", CodeRequired, "Gia hạn phải có ngày hẹn trả mới.")
		}
		if in.Comment == "" {
			ds.add("comment", CodeRequired, "Gia hạn phải nêu lý do (phiếu xin lỗi và hẹn lại ngày trả).")
		}
	}
	defs := in.Defects
	if in.Action == "request_supplement" && len(defs) == 0 && r.State == def.Initial {
		if defs, err = s.storedDefects(ctx, tx, r); err != nil {
			return ActResult{}, err
		}
	}
	if in.Action == "request_supplement" && len(defs) == 0 {
		ds.add("defects", CodeRequired, "Phiếu yêu cầu bổ sung phải liệt kê đầy đủ các nội dung cần bổ sung.")
	}
	if err := ds.err(); err != nil {
		return ActResult{}, err
	}
	if ext {
		in.NewDue = s.closeOfDay(in.NewDue)
	}
	if len(in.Components) > 0 {
		if err := supply(ctx, tx, r.id, in.Components, in.files, in.who(), now); err != nil {
			return ActResult{}, err
		}
	}
	wi := workflow.Input{CaseID: r.CaseID, Action: in.Action, Branch: in.Branch, Actor: in.wfActor(),
		ExpectedVersion: in.ExpectedVersion, Comment: in.Comment, Attachments: in.Attachments, Signature: in.Signature,
		Assignee: in.Assignee, Units: in.Units, NewDue: in.NewDue, Now: now}
	for _, b := range in.Branches {
		wi.Branches = append(wi.Branches, workflow.BranchSpec{Key: b.Key, Unit: b.Unit, Due: b.Due})
	}
	res, err := s.wf.TransitionTx(ctx, tx, wi)
	if err != nil {
		return ActResult{}, translate(err)
	}
	c := res.Case
	if err := mirror(ctx, tx, r.id, c, in.who(), now); err != nil {
		return ActResult{}, err
	}
	out := ActResult{Code: r.Code, Action: in.Action, From: res.From, To: res.To, State: c.State, Status: StatusOf(c.State, c.Status),
		NationalStatus: c.Status, Version: c.Version, Unit: c.Unit, Assignee: c.Assignee, At: now, DueAt: c.DueAt,
		Paused: !c.PausedAt.IsZero(), Ended: c.Ended(), Outcome: c.Outcome, Joined: res.Joined}
	if kind, ok := noticeOf(in.Action, ext); ok {
		n := Notice{Kind: kind, Form: kind.Form(), Action: in.Action, CaseVersion: c.Version, Reason: in.Comment,
			IssuedBy: in.who(), IssuedAt: now}
		if kind == NoticeSupplement {
			n.Defects = defs
		}
		if kind == NoticeExtension {
			n.PreviousDue, n.NewDue = r.DueAt, c.DueAt
		}
		if err := insertNotice(ctx, tx, r.id, n); err != nil {
			return ActResult{}, err
		}
		out.Notice = &n
	}
	ev := eventOf(r, c, in.Action, res.From, in.who(), now)
	if err := s.publish(ctx, tx, TopicTransition, ev); err != nil {
		return ActResult{}, err
	}
	return out, nil
}

// closeOfDay moves an appointment given as a date (midnight, local time)
// to the close of office hours of that day: a new appointment date is a
// day, and the applicant may come until the office closes.
func (s *Service) closeOfDay(t time.Time) time.Time {
	cal := s.cal()
	local := t.In(cal.Location())
	if local.Hour() != 0 || local.Minute() != 0 || local.Second() != 0 {
		return t
	}
	hours := cal.OfficeHours()
	if len(hours) == 0 {
		return t
	}
	return local.Add(hours[len(hours)-1].End)
}

// storedDefects is what the completeness check finds in a recorded
// dossier's components.
func (s *Service) storedDefects(ctx context.Context, q db.Querier, r *row) ([]Defect, error) {
	p, err := s.cat.ProcedureVersion(ctx, r.ProcedureCode, r.ProcedureVersion)
	if err != nil {
		return nil, fmt.Errorf("procedure of %s: %w", r.Code, err)
	}
	comps, err := loadComponents(ctx, q, r.id)
	if err != nil {
		return nil, err
	}
	return CheckCompleteness(p, inputsOf(comps), r.Channel), nil
}

// runIdempotent runs one write in a transaction with an optional
// idempotency key: a key already used for the same request answers the
// stored response without doing anything (replayed); a key used for another
// request fails with ErrIdempotencyKeyReused. fn does the work; last writes
// the audit entry after the response is stored, so that the audit append
// stays the transaction's last write.
func runIdempotent[T any](ctx context.Context, s *Service, op string, scope string, key string, req any,
	fn func(tx *db.Tx) (T, error), last func(tx *db.Tx, v T) error) (out T, replayed bool, err error) {
	var hash string
	if key != "" {
		if hash, err = requestHash(op, req); err != nil {
			return out, false, err
		}
	}
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		var zero T
		out, replayed = zero, false
		if key != "" {
			stored, found, err := claimKey(ctx, tx, scope, key, hash, s.now())
			if err != nil {
				return err
			}
			if found {
				if err := json.Unmarshal(stored, &out); err != nil {
					return fmt.Errorf("stored response of key %s: %w", key, err)
				}
				replayed = true
				return nil
			}
		}
		v, err := fn(tx)
		if err != nil {
			return err
		}
		if key != "" {
			if err := storeResponse(ctx, tx, scope, key, v); err != nil {
				return err
			}
		}
		out = v
		return last(tx, v)
	})
	if err != nil {
		var zero T
		return zero, false, err
	}
	return out, replayed, nil
}

// --- the workflow's own moves ---

// HandleWorkflowTransition keeps dossiers in step with moves the workflow
// engine makes on its own (a deadline's automatic action, such as archiving
// a result never collected): subscribe it to workflow.TopicTransition. For
// a case whose dossier is behind the event's version it mirrors the case
// and publishes a "dossier.transition" event; moves made through the
// dossier module are already mirrored and are skipped, so redelivery is
// harmless.
func (s *Service) HandleWorkflowTransition(ctx context.Context, ev outbox.Event) error {
	var te workflow.TransitionEvent
	if err := ev.Decode(&te); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		lock := ""
		if tx.Dialect == db.Postgres {
			lock = " FOR UPDATE"
		}
		r, err := scanDossier(tx.QueryRowContext(ctx, `SELECT `+dossierColumns+` FROM dossiers d WHERE d.case_id = $1`+lock, te.CaseID))
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil // a case of another module
			}
			return fmt.Errorf("mirror %s: %w", te.CaseID, err)
		}
		if r.Version >= te.Version {
			return nil
		}
		c, err := s.wf.Case(ctx, te.CaseID)
		if err != nil {
			return fmt.Errorf("mirror %s: %w", te.CaseID, err)
		}
		now := ts(s.now())
		if err := mirror(ctx, tx, r.id, c, "", now); err != nil {
			return err
		}
		out := eventOf(r, c, te.Action, te.From, te.ActorID, te.At)
		if err := s.publish(ctx, tx, TopicTransition, out); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: workflow.SystemActorID, Action: AuditAct, ObjectType: AuditObjectType,
			ObjectID: r.Code, Unit: c.Unit, Detail: map[string]any{"action": te.Action, "from": te.From, "to": c.State,
				"version": c.Version, "mirrored": true}})
	})
}

// --- fees ---

// FeePaymentInput records that fee N (1-based, as listed by Get) of a
// dossier was paid, with the payment platform's or e-invoice reference.
// Actor nil means a trusted in-process caller (the payment adapter).
type FeePaymentInput struct {
	DossierCode string
	N           int
	Reference   string
	Actor       *identity.Principal
}

// MarkFeePaid records a payment (§8). Recording the same payment again is
// harmless; it publishes "dossier.fee_paid".
func (s *Service) MarkFeePaid(ctx context.Context, in FeePaymentInput) (Fee, error) {
	var ds defects
	ds.checkText("reference", in.Reference, true, 200, false)
	if err := ds.err(); err != nil {
		return Fee{}, err
	}
	now := ts(s.now())
	var out Fee
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		r, err := loadDossier(ctx, tx, in.DossierCode, lockClause(tx))
		if err != nil {
			return err
		}
		if in.Actor != nil {
			if err := require(ctx, in.Actor, []string{r.ReceivingUnit}, identity.ActionDossierReceive); err != nil {
				return err
			}
		}
		fees, err := loadFees(ctx, tx, r.id)
		if err != nil {
			return err
		}
		if in.N < 1 || in.N > len(fees) {
			return refuse(ErrNotFound, "dossier.fee_not_found", fmt.Sprintf("dossier %s has no fee %d", r.Code, in.N), "n", in.N)
		}
		out = fees[in.N-1]
		if out.Status == FeePaid {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE dossier_fees SET status = $3, paid_at = $4, reference = $5 WHERE dossier_id = $1 AND n = $2`,
			r.id, in.N, string(FeePaid), now, in.Reference); err != nil {
			return fmt.Errorf("mark fee paid: %w", err)
		}
		out.Status, out.PaidAt, out.Reference = FeePaid, now, in.Reference
		ev := Event{Code: r.Code, CaseID: r.CaseID, ProcedureCode: r.ProcedureCode, ProcedureVersion: r.ProcedureVersion,
			FieldCode: r.FieldCode, Channel: r.Channel, ReceivingAgency: r.ReceivingAgency, CompetentAgency: r.CompetentAgency,
			Unit: r.Unit, To: r.State, Status: r.Status, NationalStatus: r.NationalStatus, Version: r.Version, ActorID: actorID(in.Actor),
			At: now, FeeN: in.N}
		if err := s.publish(ctx, tx, TopicFeePaid, ev); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, audit.Entry{At: now, Actor: actorID(in.Actor), Action: AuditFeePaid, ObjectType: AuditObjectType,
			ObjectID: r.Code, Unit: r.ReceivingUnit, Detail: map[string]any{"fee": in.N, "amount": out.Amount, "reference": in.Reference}}); err != nil {
			return err
		}
		if in.Actor != nil {
			return nil // at the counter the officer confirms the payment as a step
		}
		fees[in.N-1] = out
		return s.resumeWhenPaid(ctx, tx, r, fees, in.Reference, now)
	})
	return out, err
}

// resumeWhenPaid takes the process's "payment_confirmed" step as the system
// when the dossier waits for its fees (§8) and none is unpaid any more: a
// payment confirmed by the payment platform resumes processing without an
// official.
func (s *Service) resumeWhenPaid(ctx context.Context, tx *db.Tx, r *row, fees []Fee, ref string, now time.Time) error {
	for _, f := range fees {
		if f.Status != FeePaid {
			return nil
		}
	}
	def, err := s.wf.Definition(ctx, r.ProcessKey, r.ProcessVersion)
	if err != nil {
		return translate(err)
	}
	found := false
	for _, a := range def.Actions(r.State) {
		found = found || a.Key == "payment_confirmed" && slices.Contains(a.Roles, RoleSystem)
	}
	if !found {
		return nil
	}
	in := ActInput{DossierCode: r.Code, Action: "payment_confirmed", Comment: "Đã thanh toán trực tuyến (" + ref + ")", system: true}
	res, err := s.transition(ctx, tx, r, in, now)
	if err != nil {
		return err
	}
	return audit.Append(ctx, tx, audit.Entry{At: now, Actor: workflow.SystemActorID, Action: AuditAct, ObjectType: AuditObjectType,
		ObjectID: res.Code, Unit: r.Unit, Detail: map[string]any{"action": res.Action, "from": res.From, "to": res.To, "version": res.Version}})
}

// RoleSystem is the process role of the platform's own steps (a payment
// confirmed by the payment platform).
const RoleSystem = "system"

func systemActor() workflow.Actor {
	return workflow.Actor{ID: workflow.SystemActorID, Roles: map[string][]string{workflow.ProvinceWide: {RoleSystem}}}
}

// PurgeIdempotencyKeys deletes idempotency keys recorded before cutoff and
// returns how many. A retry after that is treated as a new request, so keep
// keys longer than any client retries (a day is plenty; a week is safe).
func (s *Service) PurgeIdempotencyKeys(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.Write().ExecContext(ctx, `DELETE FROM dossier_idempotency WHERE created_at < $1`, ts(cutoff))
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return res.RowsAffected()
}
