package dossier

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/httpx"
	"github.com/congso/congso/internal/workflow"
)

// RoleApplicant is the process role of the applicant acting through the
// portal on their own dossier (answering a supplement request,
// withdrawing). The dossier service grants it only to the dossier's owner.
const RoleApplicant = "applicant"

// Audit actions of the applicant's own acts.
const (
	AuditRate = "dossier.rate"
)

// ownerScope is the idempotency scope of an applicant's requests.
func ownerScope(owner string) string { return "owner:" + owner }

// loadOwned reads a dossier of owner; another applicant's dossier is "not
// found" (its existence is not disclosed).
func loadOwned(ctx context.Context, q db.Querier, code, owner string, lock bool) (*row, error) {
	if owner == "" || !ValidCode(code) {
		return nil, refuse(ErrNotFound, "dossier.not_found", "no dossier "+code, "code", code)
	}
	r, err := loadDossier(ctx, q, code, lock)
	if err != nil {
		return nil, err
	}
	if r.Owner != owner {
		return nil, refuse(ErrNotFound, "dossier.not_found", "no dossier "+code+" of this owner", "code", code)
	}
	return r, nil
}

// Mine returns one page of the dossiers owner submitted on the portal,
// newest first (keyset paging: after is the Next of the previous page).
func (s *Service) Mine(ctx context.Context, owner string, limit int, after string) (ListPage, error) {
	if owner == "" {
		return ListPage{}, refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in")
	}
	if limit <= 0 {
		limit = httpx.DefaultLimit
	}
	var ds defects
	if limit > httpx.MaxLimit {
		ds.add("limit", CodeInvalidValue, "Số kết quả mỗi trang phải từ 1 đến %d.", httpx.MaxLimit)
	}
	var afterID int64
	if after != "" {
		if err := httpx.DecodeCursor(after, &afterID); err != nil || afterID <= 0 {
			ds.add("cursor", CodeInvalidFormat, "Con trỏ phân trang không hợp lệ.")
		}
	}
	if err := ds.err(); err != nil {
		return ListPage{}, err
	}
	query := `SELECT ` + dossierColumns + ` FROM dossiers d WHERE d.owner = $1`
	args := []any{owner}
	if afterID > 0 {
		query += ` AND d.id < $2`
		args = append(args, afterID)
	}
	query += fmt.Sprintf(` ORDER BY d.id DESC LIMIT %d`, limit+1)
	rows, err := s.db.Read().QueryContext(ctx, query, args...)
	if err != nil {
		return ListPage{}, fmt.Errorf("dossiers of %s: %w", owner, err)
	}
	defer rows.Close()
	var page ListPage
	var lastID int64
	for rows.Next() {
		r, err := scanDossier(rows)
		if err != nil {
			return ListPage{}, fmt.Errorf("dossiers of %s: %w", owner, err)
		}
		if len(page.Items) == limit {
			if page.Next, err = httpx.EncodeCursor(lastID); err != nil {
				return ListPage{}, err
			}
			break
		}
		lastID = r.id
		page.Items = append(page.Items, summaryOf(r))
	}
	return page, rows.Err()
}

func summaryOf(r *row) Summary {
	return Summary{Code: r.Code, ProcedureCode: r.ProcedureCode, ProcedureName: r.ProcedureName,
		ApplicantName: r.Applicant.Name, Channel: r.Channel, State: r.State, Status: r.Status, NationalStatus: r.NationalStatus,
		Version: r.Version, Unit: r.Unit, Assignee: r.Assignee, SubmittedAt: r.SubmittedAt,
		ReceivedAt: r.ReceivedAt, DueAt: r.DueAt}
}

// applicantActor is the workflow's view of the owner acting on the portal.
func applicantActor(owner string) workflow.Actor {
	return workflow.Actor{ID: owner, Roles: map[string][]string{workflow.ProvinceWide: {RoleApplicant}}}
}

// noticeActions are the steps whose comment is addressed to the applicant
// (the reason of a refusal, a supplement request, an extension...): the
// applicant's timeline shows those comments and no others.
var noticeActions = map[string]bool{"request_supplement": true, "refuse": true, "extend": true, "stop": true,
	"withdraw": true, "request_payment": true}

// GetMine returns the owner's dossier as the applicant sees it: the same
// as Get, except that the timeline names no official, carries no internal
// comment or draft attachment (only the reasons addressed to the
// applicant), and Actions lists what the applicant may do now (answer a
// supplement request, withdraw). Another owner's dossier is ErrNotFound.
func (s *Service) GetMine(ctx context.Context, code, owner string) (*Dossier, error) {
	r, err := loadOwned(ctx, s.db.Read(), code, owner, false)
	if err != nil {
		return nil, err
	}
	d, err := s.detail(ctx, r, applicantActor(owner))
	if err != nil {
		return nil, err
	}
	for i := range d.Timeline {
		t := &d.Timeline[i]
		if t.Actor != owner {
			t.Actor = ""
		}
		if !noticeActions[t.Action] {
			t.Comment = ""
		}
		t.Attachments, t.Signature, t.Role = nil, "", ""
	}
	for i := range d.Notices {
		d.Notices[i].IssuedBy = ""
	}
	// Drafts are the officials'; the applicant gets issued results only.
	if !resultVisible(d.Status) {
		d.Results = nil
	}
	return d, nil
}

// OpenMineFile opens a file of the owner's dossier (what they handed in,
// or an issued result's file). The caller closes the reader.
func (s *Service) OpenMineFile(ctx context.Context, code, owner, hash string) (File, io.ReadCloser, error) {
	r, err := loadOwned(ctx, s.db.Read(), code, owner, false)
	if err != nil {
		return File{}, nil, err
	}
	var f File
	if validHash(hash) {
		err = s.db.Read().QueryRowContext(ctx, `SELECT name, version, hash, size, media_type, digitized, reused, added_by, added_at
FROM dossier_files WHERE dossier_id = $1 AND hash = $2 ORDER BY id LIMIT 1`, r.id, hash).
			Scan(&f.Name, &f.Version, &f.Hash, &f.Size, &f.MediaType, &f.Digitized, &f.Reused, &f.AddedBy, &f.AddedAt)
	}
	if !validHash(hash) || errors.Is(err, sql.ErrNoRows) {
		if resultVisible(r.Status) {
			res, err := loadResults(ctx, s.db.Read(), r.id, false)
			if err != nil {
				return File{}, nil, err
			}
			for _, x := range res {
				if x.File.Hash == hash {
					rc, err := s.blobs.Get(ctx, hash)
					if err != nil {
						return File{}, nil, fmt.Errorf("open %s: %w", hash, err)
					}
					return x.File, rc, nil
				}
			}
		}
		return File{}, nil, refuse(ErrNotFound, "dossier.file_not_found", "no file "+hash+" in "+code)
	} else if err != nil {
		return File{}, nil, fmt.Errorf("file %s of %s: %w", hash, code, err)
	}
	f.AddedBy = ""
	rc, err := s.blobs.Get(ctx, hash)
	if err != nil {
		return File{}, nil, fmt.Errorf("open %s: %w", hash, err)
	}
	return f, rc, nil
}

// OpenMineResult opens the file of an issued result of the owner's
// dossier (the e-result). The caller closes the reader.
func (s *Service) OpenMineResult(ctx context.Context, code, owner, resultCode string) (Result, io.ReadCloser, error) {
	r, err := loadOwned(ctx, s.db.Read(), code, owner, false)
	if err != nil {
		return Result{}, nil, err
	}
	if !resultVisible(r.Status) {
		return Result{}, nil, refuse(ErrNotFound, "dossier.result_not_found", "no result issued yet", "code", resultCode)
	}
	return s.openResult(ctx, r, resultCode)
}

// RespondInput is the applicant's answer to a supplement request: the
// documents asked for (files already stored with [Service.PutFile], or
// documents reused from the personal data store) and a note.
type RespondInput struct {
	Code            string           `json:"-"`
	Owner           string           `json:"-"`
	ExpectedVersion int64            `json:"expected_version,omitempty"`
	Components      []ComponentInput `json:"components"`
	Note            string           `json:"note,omitempty"`
	IdempotencyKey  string           `json:"-"`
}

// Respond records the applicant's answer to a supplement request and
// takes the process's "supplement_received" step as the applicant: the
// clock resumes (during processing) or the dossier goes back to the
// completeness check (before reception). It fails with ErrInvalidAction
// when no supplement is awaited, ErrInvalid when nothing is supplied.
func (s *Service) Respond(ctx context.Context, in RespondInput) (ActResult, error) {
	var ds defects
	if len(in.Components) == 0 {
		ds.add("components", CodeRequired, "Hãy nộp ít nhất một giấy tờ được yêu cầu bổ sung.")
	}
	for i, c := range in.Components {
		if len(c.Files) == 0 && !c.Reused {
			ds.add(fmt.Sprintf("components[%d].files", i), CodeRequired, "Hãy tải lên tệp của giấy tờ số %d.", c.N)
		}
	}
	if err := ds.err(); err != nil {
		return ActResult{}, err
	}
	act := ActInput{DossierCode: in.Code, Action: "supplement_received", ExpectedVersion: in.ExpectedVersion, Comment: in.Note,
		Components: in.Components, IdempotencyKey: in.IdempotencyKey, applicant: in.Owner}
	return s.applicantAct(ctx, "respond", in, act)
}

// WithdrawInput is the applicant's request to withdraw a dossier that is
// still being processed; Reason is required.
type WithdrawInput struct {
	Code            string `json:"-"`
	Owner           string `json:"-"`
	Reason          string `json:"reason"`
	ExpectedVersion int64  `json:"expected_version,omitempty"`
	IdempotencyKey  string `json:"-"`
}

// Withdraw takes the process's "withdraw" step as the applicant (the
// dossier ends with outcome "withdrawn"; a notice records the reason).
func (s *Service) Withdraw(ctx context.Context, in WithdrawInput) (ActResult, error) {
	var ds defects
	ds.checkText("reason", in.Reason, true, 2000, true)
	if err := ds.err(); err != nil {
		return ActResult{}, err
	}
	act := ActInput{DossierCode: in.Code, Action: "withdraw", ExpectedVersion: in.ExpectedVersion, Comment: in.Reason,
		IdempotencyKey: in.IdempotencyKey, applicant: in.Owner}
	return s.applicantAct(ctx, "withdraw", in, act)
}

func (s *Service) applicantAct(ctx context.Context, op string, req any, act ActInput) (ActResult, error) {
	if act.applicant == "" {
		return ActResult{}, refuse(ErrUnauthenticated, "dossier.unauthenticated", "not signed in")
	}
	if err := s.checkAct(ctx, &act); err != nil {
		return ActResult{}, err
	}
	r := struct {
		Code string `json:"code"`
		Req  any    `json:"req"`
	}{act.DossierCode, req}
	return s.act(ctx, op, r, act, func(tx *db.Tx) (*row, error) {
		return loadOwned(ctx, tx, act.DossierCode, act.applicant, lockClause(tx))
	}, ts(s.now()))
}

// RatingCriterion is one question of the applicant's rating (§9).
type RatingCriterion struct {
	Key string `json:"key"`
	VI  string `json:"vi"`
	EN  string `json:"en"`
	// Required criteria must be scored; the others may be left out.
	Required bool `json:"required,omitempty"`
}

var ratingCriteria = []RatingCriterion{
	{"overall", "Mức độ hài lòng chung", "Overall satisfaction", true},
	{"information", "Thông tin về thủ tục được công khai đầy đủ, dễ tìm", "Information about the procedure is complete and easy to find", false},
	{"simplicity", "Thủ tục đơn giản, dễ thực hiện", "The procedure is simple to follow", false},
	{"documents", "Thành phần hồ sơ hợp lý, không yêu cầu thêm giấy tờ", "The documents asked for are reasonable, nothing extra", false},
	{"convenience", "Nộp hồ sơ thuận tiện", "Submitting was convenient", false},
	{"attitude", "Thái độ của cán bộ, công chức", "Attitude of the officials", false},
	{"guidance", "Cán bộ hướng dẫn đầy đủ, dễ hiểu, một lần", "Guidance was complete, clear and given once", false},
	{"timeliness", "Trả kết quả đúng hẹn", "The result came on the appointed date", false},
	{"duration", "Thời gian giải quyết so với quy định", "Processing time compared with the legal limit", false},
	{"fees", "Phí, lệ phí đúng quy định, được công khai", "Fees were as published", false},
	{"result", "Kết quả đúng quy định, chính xác", "The result is correct and lawful", false},
	{"feedback", "Tiếp nhận, giải quyết phản ánh, kiến nghị", "Handling of feedback and complaints", false},
}

// RatingCriteria returns the 12 criteria of the applicant's rating, the
// set provincial portals use (§9); scores are 1 (very dissatisfied) to 5
// (very satisfied).
func RatingCriteria() []RatingCriterion { return append([]RatingCriterion(nil), ratingCriteria...) }

// RatingInput is the applicant's rating of a finished dossier.
type RatingInput struct {
	Code    string         `json:"-"`
	Owner   string         `json:"-"`
	Scores  map[string]int `json:"scores"`
	Comment string         `json:"comment,omitempty"`
}

// Rating is a stored rating.
type Rating struct {
	Code    string         `json:"code"`
	Scores  map[string]int `json:"scores"`
	Comment string         `json:"comment,omitempty"`
	At      time.Time      `json:"at"`
}

// Rate stores the owner's rating of a dossier that has ended (result
// returned, refused, withdrawn, stopped...), once: a second rating fails
// with ErrConflict. It publishes "dossier.rated" for the statistics
// (766 index, satisfaction group).
func (s *Service) Rate(ctx context.Context, in RatingInput) (Rating, error) {
	var ds defects
	known := map[string]bool{}
	for _, c := range ratingCriteria {
		known[c.Key] = true
		v, ok := in.Scores[c.Key]
		if c.Required && !ok {
			ds.add("scores."+c.Key, CodeRequired, "Hãy chấm điểm tiêu chí %q.", c.VI)
		}
		if ok && (v < 1 || v > 5) {
			ds.add("scores."+c.Key, CodeInvalidValue, "Điểm của tiêu chí %q phải từ 1 đến 5.", c.VI)
		}
	}
	for k := range in.Scores {
		if !known[k] {
			ds.add("scores."+k, CodeInvalidValue, "Tiêu chí %q không tồn tại.", k)
		}
	}
	ds.checkText("comment", in.Comment, false, 2000, true)
	if err := ds.err(); err != nil {
		return Rating{}, err
	}
	now := ts(s.now())
	out := Rating{Code: in.Code, Scores: in.Scores, Comment: in.Comment, At: now}
	scores, err := json.Marshal(in.Scores)
	if err != nil {
		return Rating{}, err
	}
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		r, err := loadOwned(ctx, tx, in.Code, in.Owner, lockClause(tx))
		if err != nil {
			return err
		}
		if !r.Ended() && r.Status != StatusResultReady && r.Status != StatusNotCollected {
			return refuse(ErrInvalidAction, "dossier.rate_not_finished", "dossier not finished")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO dossier_ratings (dossier_id, owner, scores, comment, competent_agency, rated_at)
VALUES ($1, $2, $3, $4, $5, $6)`, r.id, in.Owner, string(scores), in.Comment, r.CompetentAgency, now)
		if db.IsUniqueViolation(err) {
			return refuse(ErrConflict, "dossier.already_rated", "already rated")
		} else if err != nil {
			return fmt.Errorf("rate %s: %w", in.Code, err)
		}
		ev := Event{Code: r.Code, CaseID: r.CaseID, ProcedureCode: r.ProcedureCode, ProcedureVersion: r.ProcedureVersion,
			FieldCode: r.FieldCode, Channel: r.Channel, ReceivingAgency: r.ReceivingAgency, CompetentAgency: r.CompetentAgency,
			Unit: r.Unit, Action: "rate", To: r.State, Status: r.Status, NationalStatus: r.NationalStatus, Version: r.Version,
			Outcome: r.Outcome, ActorID: in.Owner, At: now, Ended: r.Ended()}
		if err := s.publish(ctx, tx, TopicRated, ev); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: in.Owner, Action: AuditRate, ObjectType: AuditObjectType,
			ObjectID: r.Code, Unit: r.CompetentAgency, Detail: map[string]any{"overall": in.Scores["overall"]}})
	})
	if err != nil {
		return Rating{}, err
	}
	return out, nil
}

// RatingOf returns the owner's rating of a dossier, or nil when it has not
// been rated.
func (s *Service) RatingOf(ctx context.Context, code, owner string) (*Rating, error) {
	r, err := loadOwned(ctx, s.db.Read(), code, owner, false)
	if err != nil {
		return nil, err
	}
	var scores string
	out := Rating{Code: code}
	err = s.db.Read().QueryRowContext(ctx, `SELECT scores, comment, rated_at FROM dossier_ratings WHERE dossier_id = $1`, r.id).
		Scan(&scores, &out.Comment, &out.At)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("rating of %s: %w", code, err)
	}
	out.At = out.At.UTC()
	if err := json.Unmarshal([]byte(scores), &out.Scores); err != nil {
		return nil, fmt.Errorf("rating of %s: %w", code, err)
	}
	return &out, nil
}

// RatingMetrics counts the ratings given in [from, to) for dossiers of a
// competent agency ("" for all): "ratings" and "ratings_satisfied" (overall
// 4 or 5), for the satisfaction group of the 766 index.
func (s *Service) RatingMetrics(ctx context.Context, agency string, from, to time.Time) (map[string]float64, error) {
	q := `SELECT scores FROM dossier_ratings WHERE rated_at >= $1 AND rated_at < $2`
	args := []any{ts(from), ts(to)}
	if agency != "" {
		q += ` AND competent_agency = $3`
		args = append(args, agency)
	}
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("rating metrics: %w", err)
	}
	defer rows.Close()
	var n, satisfied float64
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("rating metrics: %w", err)
		}
		var sc map[string]int
		if err := json.Unmarshal([]byte(raw), &sc); err != nil {
			return nil, fmt.Errorf("rating metrics: %w", err)
		}
		n++
		if sc["overall"] >= 4 {
			satisfied++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rating metrics: %w", err)
	}
	return map[string]float64{"ratings": n, "ratings_satisfied": satisfied}, nil
}

// Source returns a dossier for trusted in-process readers (the personal
// data store, the national-portal adapter, notifications, postal
// delivery): everything Get returns but the actions, without an actor
// check, and the owner's account ("" for none).
func (s *Service) Source(ctx context.Context, code string) (owner string, d *Dossier, err error) {
	r, err := loadDossier(ctx, s.db.Read(), code, false)
	if err != nil {
		return "", nil, err
	}
	d, err = s.detail(ctx, r, workflow.Actor{ID: workflow.SystemActorID})
	if err != nil {
		return "", nil, err
	}
	d.Actions = nil
	return d.Owner, d, nil
}

// Fees returns a dossier's fees for trusted in-process callers (the payment
// module).
func (s *Service) Fees(ctx context.Context, code string) ([]Fee, error) {
	r, err := loadDossier(ctx, s.db.Read(), code, false)
	if err != nil {
		return nil, err
	}
	return loadFees(ctx, s.db.Read(), r.id)
}

// SetReuse sets the resolver of personal-data-store citations when the
// store is created after the dossier service (the app's wiring); call it
// before serving requests.
func (s *Service) SetReuse(r ReuseResolver) { s.cfg.Reuse = r }
