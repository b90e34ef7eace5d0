package dossier

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/congso/congso/internal/identity"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

// AddResultInput adds a result document to a dossier: its result code
// (the number of the permit or decision, "123/GP-SXD"), name, issuer,
// issue date and validity, and its file (Body uploaded and checked, or
// FileHash of a file already stored with PutFile).
type AddResultInput struct {
	DossierCode string
	ResultCode  string
	Name        string
	Issuer      string
	IssuedAt    time.Time
	ValidFrom   calendar.Date
	ValidTo     calendar.Date
	FileName    string
	Body        io.Reader
	FileHash    string
	Actor       *identity.Principal
}

// AddResult adds a result document, or a new version of one (same result
// code; the previous version is kept as superseded), to a dossier that has
// not ended. The actor needs dossier.issue, dossier.sign or dossier.process
// in one of the dossier's units. Adding exactly the same version again is
// harmless. It publishes "dossier.result_added"; once the result is issued
// the applicant can download it ([Service.OpenResult]).
func (s *Service) AddResult(ctx context.Context, in AddResultInput) (Result, error) {
	r, err := loadDossier(ctx, s.db.Read(), in.DossierCode, false)
	if err != nil {
		return Result{}, err
	}
	units, err := dossierUnits(ctx, s.db.Read(), r.id)
	if err != nil {
		return Result{}, err
	}
	if err := require(ctx, in.Actor, units, identity.ActionDossierIssue, identity.ActionDossierSign, identity.ActionDossierProcess); err != nil {
		return Result{}, err
	}
	var ds defects
	ds.checkText("result_code", in.ResultCode, true, 100, false)
	ds.checkText("name", in.Name, true, 500, false)
	ds.checkText("issuer", in.Issuer, true, 500, false)
	if !in.ValidFrom.IsZero() && !in.ValidTo.IsZero() && in.ValidTo.Before(in.ValidFrom) {
		ds.add("valid_to", CodeInvalidValue, "Ngày hết hiệu lực phải sau ngày có hiệu lực.")
	}
	if in.Body == nil && in.FileHash == "" {
		ds.add("file", CodeRequired, "Kết quả phải có tệp.")
	}
	if err := ds.err(); err != nil {
		return Result{}, err
	}
	var f File
	if in.Body != nil {
		f, err = s.PutFile(ctx, in.FileName, in.Body)
	} else {
		f, err = s.storedFile(ctx, in.FileName, in.FileHash)
	}
	if err != nil {
		return Result{}, err
	}
	now := ts(s.now())
	res := Result{ResultCode: in.ResultCode, Name: in.Name, Issuer: in.Issuer, IssuedAt: ts(in.IssuedAt), ValidFrom: in.ValidFrom,
		ValidTo: in.ValidTo, File: f}
	res.File.AddedBy, res.File.AddedAt = actorID(in.Actor), now
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		r, err := loadDossier(ctx, tx, in.DossierCode, lockClause(tx))
		if err != nil {
			return err
		}
		if r.Ended() {
			return refuse(ErrInvalidAction, "dossier.ended", "dossier "+r.Code+" has ended")
		}
		var curID int64
		var cur Result
		var issued sql.NullTime
		var from, to string
		err = tx.QueryRowContext(ctx, `SELECT id, version, name, issuer, issued_at, valid_from, valid_to, file_hash FROM dossier_results
WHERE dossier_id = $1 AND result_code = $2 ORDER BY version DESC LIMIT 1`, r.id, in.ResultCode).
			Scan(&curID, &cur.Version, &cur.Name, &cur.Issuer, &issued, &from, &to, &cur.File.Hash)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("result %s: %w", in.ResultCode, err)
		case cur.File.Hash == res.File.Hash && cur.Name == res.Name && cur.Issuer == res.Issuer &&
			fromNull(issued).Equal(res.IssuedAt) && from == dateText(res.ValidFrom) && to == dateText(res.ValidTo):
			res.Version = cur.Version // the same version again
			return nil
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE dossier_results SET superseded_at = $2 WHERE id = $1`, curID, now); err != nil {
				return fmt.Errorf("supersede result %s: %w", in.ResultCode, err)
			}
		}
		res.Version = cur.Version + 1
		res.File.Version = res.Version
		if _, err := tx.ExecContext(ctx, `INSERT INTO dossier_results (dossier_id, result_code, version, name, issuer, issued_at,
	valid_from, valid_to, file_name, file_hash, file_size, media_type, added_by, added_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			r.id, res.ResultCode, res.Version, res.Name, res.Issuer, nullTime(res.IssuedAt), dateText(res.ValidFrom), dateText(res.ValidTo),
			res.File.Name, res.File.Hash, res.File.Size, res.File.MediaType, res.File.AddedBy, now); err != nil {
			return fmt.Errorf("add result %s: %w", in.ResultCode, err)
		}
		ev := Event{Code: r.Code, CaseID: r.CaseID, ProcedureCode: r.ProcedureCode, ProcedureVersion: r.ProcedureVersion,
			FieldCode: r.FieldCode, Channel: r.Channel, ReceivingAgency: r.ReceivingAgency, CompetentAgency: r.CompetentAgency,
			Unit: r.Unit, To: r.State, Status: r.Status, NationalStatus: r.NationalStatus, Version: r.Version,
			ActorID: actorID(in.Actor), At: now, ResultCode: res.ResultCode}
		if err := s.publish(ctx, tx, TopicResultAdded, ev); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: actorID(in.Actor), Action: AuditResultAdd, ObjectType: AuditObjectType,
			ObjectID: r.Code, Unit: r.Unit, Detail: map[string]any{"result_code": res.ResultCode, "version": res.Version, "hash": res.File.Hash}})
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// Results returns every version of a dossier's results, by result code and
// version, for officials who may view it.
func (s *Service) Results(ctx context.Context, code string, actor *identity.Principal) ([]Result, error) {
	r, err := s.viewable(ctx, code, actor)
	if err != nil {
		return nil, err
	}
	return loadResults(ctx, s.db.Read(), r.id, true)
}

func isBlobNotFound(err error) bool { return errors.Is(err, blob.ErrNotFound) }

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
