package portal

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Migrations returns the schema of the portal (module "portal"): the
// applicants' drafts. It depends on no other module's tables.
//
// Indexes, each serving a query that runs per request:
//
//	portal_drafts PK          a draft by id (the form, autosave, review, submit)
//	portal_drafts_owner       an applicant's drafts, latest first ("Hồ sơ nháp")
func Migrations() []db.Migration {
	return []db.Migration{{Module: "portal", Version: 1, Name: "drafts", Up: `
CREATE TABLE portal_drafts (
	id TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	procedure_code TEXT NOT NULL,
	procedure_name TEXT NOT NULL,
	data {{json}} NOT NULL,
	idem_key TEXT NOT NULL,
	dossier_code TEXT NOT NULL,
	created_at {{time}} NOT NULL,
	updated_at {{time}} NOT NULL
);
CREATE INDEX portal_drafts_owner ON portal_drafts (owner, updated_at);
`}}
}

// ErrDraftNotFound: no draft by that id for this applicant (another
// applicant's draft is not found either).
var ErrDraftNotFound = errors.New("portal: draft not found")

// Draft is an online application being filled in: every value typed, the
// files uploaded (already checked and stored by the dossier service), and
// the idempotency key its submission uses, so a double submit records one
// dossier. DossierCode is set once it is submitted.
type Draft struct {
	ID            string
	Owner         string
	ProcedureCode string
	ProcedureName string
	Data          DraftData
	IdemKey       string
	DossierCode   string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// DraftData is what the applicant entered: input values by input name
// ("applicant.phone", "fd.dia_diem") and, per required document (1-based
// component number), the files uploaded or the stored document reused.
type DraftData struct {
	Values map[string]string   `json:"values"`
	Docs   map[int][]DraftFile `json:"docs,omitempty"`
	Reuse  map[int]ReusedDoc   `json:"reuse,omitempty"`
}

// DraftFile is a file uploaded for a document: stored and checked by the
// dossier service (PutFile), named by its SHA-256 hash.
type DraftFile struct {
	Name      string `json:"name"`
	Hash      string `json:"hash"`
	Size      int64  `json:"size"`
	MediaType string `json:"media_type"`
}

// ReusedDoc is a document of the personal data store cited for a
// component instead of an upload.
type ReusedDoc struct {
	Ref  string `json:"ref"`
	Name string `json:"name"`
	Hash string `json:"hash,omitempty"`
}

// Submitted reports whether the draft became a dossier.
func (d *Draft) Submitted() bool { return d.DossierCode != "" }

func newDraftID() string { return "d" + rand.Text() }

type store struct {
	db  *db.DB
	now func() time.Time
}

// createDraft inserts a new draft of owner for a procedure.
func (s *store) createDraft(ctx context.Context, d *Draft) error {
	now := s.now().UTC()
	d.ID, d.IdemKey, d.CreatedAt, d.UpdatedAt = newDraftID(), "portal-"+rand.Text(), now, now
	data, err := json.Marshal(d.Data)
	if err != nil {
		return fmt.Errorf("encode draft: %w", err)
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO portal_drafts (id, owner, procedure_code, procedure_name, data, idem_key, dossier_code, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, '', $7, $7)`, d.ID, d.Owner, d.ProcedureCode, d.ProcedureName, string(data), d.IdemKey, now)
		if err != nil {
			return fmt.Errorf("create draft: %w", err)
		}
		return nil
	})
}

// saveDraft stores the draft's data. A submitted draft is not changed any
// more (what was submitted stays what the dossier holds).
func (s *store) saveDraft(ctx context.Context, d *Draft) error {
	now := s.now().UTC()
	data, err := json.Marshal(d.Data)
	if err != nil {
		return fmt.Errorf("encode draft: %w", err)
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE portal_drafts SET data = $1, updated_at = $2 WHERE id = $3 AND owner = $4 AND dossier_code = ''`,
			string(data), now, d.ID, d.Owner)
		if err != nil {
			return fmt.Errorf("save draft %s: %w", d.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrDraftNotFound
		}
		d.UpdatedAt = now
		return nil
	})
}

// markSubmitted records the dossier a draft became.
func (s *store) markSubmitted(ctx context.Context, d *Draft, code string) error {
	now := s.now().UTC()
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE portal_drafts SET dossier_code = $1, updated_at = $2 WHERE id = $3 AND owner = $4`, code, now, d.ID, d.Owner)
		if err != nil {
			return fmt.Errorf("mark draft %s submitted: %w", d.ID, err)
		}
		d.DossierCode = code
		return nil
	})
}

// deleteDraft removes a draft not yet submitted.
func (s *store) deleteDraft(ctx context.Context, id, owner string) error {
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM portal_drafts WHERE id = $1 AND owner = $2 AND dossier_code = ''`, id, owner)
		if err != nil {
			return fmt.Errorf("delete draft %s: %w", id, err)
		}
		return nil
	})
}

const draftColumns = `id, owner, procedure_code, procedure_name, data, idem_key, dossier_code, created_at, updated_at`

func scanDraft(sc interface{ Scan(...any) error }) (*Draft, error) {
	var d Draft
	var data string
	if err := sc.Scan(&d.ID, &d.Owner, &d.ProcedureCode, &d.ProcedureName, &data, &d.IdemKey, &d.DossierCode, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(data), &d.Data); err != nil {
		return nil, fmt.Errorf("decode draft %s: %w", d.ID, err)
	}
	if d.Data.Values == nil {
		d.Data.Values = map[string]string{}
	}
	return &d, nil
}

// draft returns owner's draft id.
func (s *store) draft(ctx context.Context, id, owner string) (*Draft, error) {
	d, err := scanDraft(s.db.Read().QueryRowContext(ctx, `SELECT `+draftColumns+` FROM portal_drafts WHERE id = $1 AND owner = $2`, id, owner))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrDraftNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read draft %s: %w", id, err)
	}
	return d, nil
}

// maxDrafts bounds the drafts listed.
const maxDrafts = 100

// drafts lists owner's drafts not yet submitted, latest first.
func (s *store) drafts(ctx context.Context, owner string) ([]*Draft, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+draftColumns+` FROM portal_drafts WHERE owner = $1 AND dossier_code = ''
ORDER BY updated_at DESC LIMIT $2`, owner, maxDrafts)
	if err != nil {
		return nil, fmt.Errorf("list drafts: %w", err)
	}
	defer rows.Close()
	var out []*Draft
	for rows.Next() {
		d, err := scanDraft(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
