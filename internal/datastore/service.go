package datastore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/congso/congso/internal/catalog"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/blob"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

// Audit actions (object type "datastore_document", object id the document
// ID; the actor is the owner, or "system" for the ingest).
const (
	AuditObjectType = "datastore_document"
	AuditUpload     = "datastore.upload"
	AuditVersion    = "datastore.version"
	AuditDelete     = "datastore.delete"
	AuditHide       = "datastore.hide"
	AuditRestore    = "datastore.restore"
	AuditIngest     = "datastore.ingest"
)

// Agencies names agencies by e-ID; *catalog.Service implements it.
type Agencies interface {
	Agency(ctx context.Context, eid string) (catalog.Agency, error)
}

// Config wires a Service.
type Config struct {
	// Blobs holds the files (required): the same store as the dossier
	// module's, so that a reused document is the very same blob.
	Blobs blob.Store
	// Dossiers reads the dossiers the ingest pushes from; required for
	// [Service.Subscribe] and [Service.Ingest].
	Dossiers Dossiers
	// Agencies names the issuing and digitizing agencies; nil: e-IDs only.
	Agencies Agencies
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxUploadBytes bounds an uploaded file (default 20 MiB).
	MaxUploadBytes int64
	// MaxImagePixels bounds an uploaded image's width × height (default
	// 100 million).
	MaxImagePixels int64
}

// Service is the personal data store's Go API. Every method that reads or
// changes documents takes the owner's account ID: callers pass the
// signed-in account, never one taken from a request's parameters. It is
// safe for concurrent use; several nodes may run it over one database.
type Service struct {
	db  *db.DB
	cfg Config
}

// New returns a Service over d, whose schema must include the audit and
// datastore migrations. It does no I/O.
func New(d *db.DB, cfg Config) (*Service, error) {
	if d == nil || cfg.Blobs == nil {
		return nil, errors.New("datastore: a database and a blob store are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = 20 << 20
	}
	if cfg.MaxImagePixels <= 0 {
		cfg.MaxImagePixels = 100_000_000
	}
	return &Service{db: d, cfg: cfg}, nil
}

// MaxUploadBytes is the size limit of an uploaded file.
func (s *Service) MaxUploadBytes() int64 { return s.cfg.MaxUploadBytes }

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// Today is the current day in Vietnam.
func (s *Service) Today() calendar.Date { return calendar.DateOf(s.cfg.Now().In(Location)) }

// Location is Vietnam's time zone, in which days (issue dates, periods of
// the counts) are read.
var Location = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return l
	}
	return time.FixedZone("ICT", 7*3600)
}()

func ownerOK(owner string) error {
	if strings.TrimSpace(owner) == "" {
		return ErrUnauthenticated
	}
	return nil
}

// ListQuery asks for one page of an owner's documents, most recently
// changed first.
type ListQuery struct {
	// Kind restricts the list to one kind ("" for all).
	Kind Kind
	// Hidden lists the hidden documents (results the owner hid) instead of
	// the visible ones.
	Hidden bool
	// Limit is the page size (default 20, at most 200); After is the Next
	// of the previous page.
	Limit int
	After string
}

// Page is a page of documents; Next is empty on the last page.
type Page struct {
	Items []Document
	Next  string
}

// List returns one page of the owner's documents (current versions).
func (s *Service) List(ctx context.Context, owner string, q ListQuery) (Page, error) {
	if err := ownerOK(owner); err != nil {
		return Page{}, err
	}
	if q.Kind != "" && !q.Kind.Valid() {
		return Page{}, &ValidationError{Fields: []FieldError{{Field: "kind", Code: "invalid", Message: "Loại giấy tờ không hợp lệ."}}}
	}
	if q.Limit <= 0 {
		q.Limit = 20
	}
	q.Limit = min(q.Limit, 200)
	where := []string{"d.owner = $1"}
	args := []any{owner}
	if q.Hidden {
		where = append(where, "d.hidden_at IS NOT NULL")
	} else {
		where = append(where, "d.hidden_at IS NULL")
	}
	if q.Kind != "" {
		args = append(args, string(q.Kind))
		where = append(where, "d.kind = $"+strconv.Itoa(len(args)))
	}
	if q.After != "" {
		at, id, ok := parseCursor(q.After)
		if !ok {
			return Page{}, &ValidationError{Fields: []FieldError{{Field: "cursor", Code: "invalid", Message: "Con trỏ trang không hợp lệ."}}}
		}
		args = append(args, at, id)
		n := len(args)
		where = append(where, fmt.Sprintf("(d.updated_at < $%d OR (d.updated_at = $%d AND d.id < $%d))", n-1, n-1, n))
	}
	args = append(args, q.Limit+1)
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+docColumns+docFrom+` WHERE `+strings.Join(where, " AND ")+
		` ORDER BY d.updated_at DESC, d.id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return Page{}, fmt.Errorf("list documents: %w", err)
	}
	defer rows.Close()
	page := Page{Items: []Document{}}
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return Page{}, fmt.Errorf("list documents: %w", err)
		}
		page.Items = append(page.Items, *d)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("list documents: %w", err)
	}
	if len(page.Items) > q.Limit {
		page.Items = page.Items[:q.Limit]
		last := page.Items[q.Limit-1]
		page.Next = strconv.FormatInt(last.UpdatedAt.UnixMicro(), 10) + "-" + last.ID
	}
	return page, nil
}

func parseCursor(c string) (time.Time, string, bool) {
	us, id, ok := strings.Cut(c, "-")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || !validID(id) {
		return time.Time{}, "", false
	}
	return time.UnixMicro(n).UTC(), id, true
}

// Get returns one of the owner's documents with every version (oldest
// first) and the dossiers that reused it. Another owner's document, or a
// malformed ID, is ErrNotFound.
func (s *Service) Get(ctx context.Context, owner, id string) (*Document, error) {
	if err := ownerOK(owner); err != nil {
		return nil, err
	}
	q := s.db.Read()
	d, err := loadDoc(ctx, q, owner, id, false)
	if err != nil {
		return nil, err
	}
	if d.Versions, err = loadVersions(ctx, q, id); err != nil {
		return nil, err
	}
	if d.Reuses, err = loadReuses(ctx, q, id); err != nil {
		return nil, err
	}
	return d, nil
}

// Open opens the file of version v (0: the current one) of one of the
// owner's documents. The caller closes the reader.
func (s *Service) Open(ctx context.Context, owner, id string, v int) (Version, io.ReadCloser, error) {
	d, err := s.Get(ctx, owner, id)
	if err != nil {
		return Version{}, nil, err
	}
	ver, ok := d.version(v)
	if !ok {
		return Version{}, nil, ErrNotFound
	}
	rc, err := s.cfg.Blobs.Get(ctx, ver.Hash)
	if err != nil {
		return Version{}, nil, fmt.Errorf("open %s v%d: %w", id, ver.N, err)
	}
	return ver, rc, nil
}

// version returns version n of a document fetched with Get (0: current).
func (d *Document) version(n int) (Version, bool) {
	if n == 0 {
		return d.Current, true
	}
	for _, v := range d.Versions {
		if v.N == n {
			return v, true
		}
	}
	return Version{}, false
}

// UploadInput is a document the applicant adds to their own store, or a
// new version of one of their uploads.
type UploadInput struct {
	Owner string
	// Title is required; DocType defaults to the title.
	Title   string
	DocType string
	// IssuerName is who issued the paper, as the applicant says.
	IssuerName string
	IssuedOn   calendar.Date
	ValidUntil calendar.Date
	FileName   string
	Body       io.Reader
}

func (in *UploadInput) check() error {
	var fe fieldErrors
	in.Title, in.DocType, in.IssuerName = strings.TrimSpace(in.Title), strings.TrimSpace(in.DocType), strings.TrimSpace(in.IssuerName)
	fe.text("title", in.Title, true, 500)
	fe.text("doc_type", in.DocType, false, 500)
	fe.text("issuer_name", in.IssuerName, false, 500)
	if !in.IssuedOn.IsZero() && !in.ValidUntil.IsZero() && in.ValidUntil.Before(in.IssuedOn) {
		fe.add("valid_until", "before_issue", "Ngày hết hiệu lực phải sau ngày cấp.")
	}
	if in.Body == nil {
		fe.add("file", "required", "Chọn tệp.")
	}
	if in.DocType == "" {
		in.DocType = in.Title
	}
	return fe.err()
}

// Upload adds a document the applicant uploaded (kind upload) to their
// store, after the file checks (type by content, size, readable).
func (s *Service) Upload(ctx context.Context, in UploadInput) (*Document, error) {
	if err := ownerOK(in.Owner); err != nil {
		return nil, err
	}
	v, err := s.putFile(ctx, in.check, in.FileName, in.Body)
	if err != nil {
		return nil, err
	}
	now := s.now()
	v.IssuedOn, v.ValidUntil, v.AddedBy, v.AddedAt = in.IssuedOn, in.ValidUntil, in.Owner, now
	d := &newDoc{Document: Document{ID: newID(), Owner: in.Owner, Kind: KindUpload, Title: in.Title, DocType: in.DocType,
		Issuer: Issuer{Name: in.IssuerName}, CreatedAt: now, Current: v}}
	d.Origin = "u:" + d.ID
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		if err := insertDoc(ctx, tx, d); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: in.Owner, Action: AuditUpload, ObjectType: AuditObjectType,
			ObjectID: d.ID, Detail: map[string]any{"hash": v.Hash, "size": v.Size, "media_type": v.MediaType}})
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, in.Owner, d.ID)
}

// AddVersion adds a new version of one of the owner's uploads (a renewed
// paper, a better scan): the previous versions stay in the history and a
// reference to them still resolves. Documents from agencies get new
// versions only from their dossier: for them it fails with ErrNotAllowed.
func (s *Service) AddVersion(ctx context.Context, id string, in UploadInput) (*Document, error) {
	if err := ownerOK(in.Owner); err != nil {
		return nil, err
	}
	cur, err := loadDoc(ctx, s.db.Read(), in.Owner, id, false)
	if err != nil {
		return nil, err
	}
	if cur.Kind != KindUpload {
		return nil, ErrNotAllowed
	}
	if in.Title == "" {
		in.Title = cur.Title
	}
	if in.DocType == "" {
		in.DocType = cur.DocType
	}
	v, err := s.putFile(ctx, in.check, in.FileName, in.Body)
	if err != nil {
		return nil, err
	}
	now := s.now()
	v.IssuedOn, v.ValidUntil, v.AddedBy, v.AddedAt = in.IssuedOn, in.ValidUntil, in.Owner, now
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		d, err := loadDoc(ctx, tx, in.Owner, id, tx.Dialect == db.Postgres)
		if err != nil {
			return err
		}
		d.Title, d.DocType = in.Title, in.DocType
		if in.IssuerName != "" {
			d.Issuer.Name = in.IssuerName
		}
		if err := addVersion(ctx, tx, d, v, now); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: in.Owner, Action: AuditVersion, ObjectType: AuditObjectType,
			ObjectID: id, Detail: map[string]any{"version": d.Version, "hash": v.Hash}})
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, in.Owner, id)
}

// Outcome is what Delete did.
type Outcome string

// The outcomes of Delete.
const (
	// Deleted: the document and all its versions are gone from the store
	// (its file stays wherever a dossier uses it).
	Deleted Outcome = "deleted"
	// Hidden: the document (an issued result) no longer shows in the
	// owner's lists, but its record is kept; Restore shows it again.
	Hidden Outcome = "hidden"
)

// Delete removes one of the owner's documents from their store. Uploads
// and digitized copies of their own papers are deleted for good, with
// every version (Decree 13/2023: the data subject's right to deletion;
// the dossier keeps its own copy under the archives rules). Results
// issued by an agency are hidden instead: the owner no longer sees them in
// lists, reuse and pick, but the record stays, because the issued result
// is an official record the issuing agency's own files and the national
// portal refer to. Deleting again is harmless (it answers the same
// outcome while the record exists).
func (s *Service) Delete(ctx context.Context, owner, id string) (Outcome, error) {
	if err := ownerOK(owner); err != nil {
		return "", err
	}
	var out Outcome
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		d, err := loadDoc(ctx, tx, owner, id, tx.Dialect == db.Postgres)
		if err != nil {
			return err
		}
		now := s.now()
		if !d.Kind.Deletable() {
			out = Hidden
			if d.Hidden {
				return nil
			}
			if _, err := tx.ExecContext(ctx, `UPDATE datastore_documents SET hidden_at = $2 WHERE id = $1`, id, now); err != nil {
				return fmt.Errorf("hide %s: %w", id, err)
			}
			return audit.Append(ctx, tx, audit.Entry{At: now, Actor: owner, Action: AuditHide, ObjectType: AuditObjectType, ObjectID: id,
				Detail: map[string]any{"kind": string(d.Kind)}})
		}
		out = Deleted
		if _, err := tx.ExecContext(ctx, `DELETE FROM datastore_versions WHERE document_id = $1`, id); err != nil {
			return fmt.Errorf("delete %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM datastore_documents WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete %s: %w", id, err)
		}
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: owner, Action: AuditDelete, ObjectType: AuditObjectType, ObjectID: id,
			Detail: map[string]any{"kind": string(d.Kind), "versions": d.Version}})
	})
	if err != nil {
		return "", err
	}
	return out, nil
}

// Restore shows a hidden document again. Restoring a visible one is
// harmless.
func (s *Service) Restore(ctx context.Context, owner, id string) error {
	if err := ownerOK(owner); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		d, err := loadDoc(ctx, tx, owner, id, tx.Dialect == db.Postgres)
		if err != nil || !d.Hidden {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE datastore_documents SET hidden_at = NULL WHERE id = $1`, id); err != nil {
			return fmt.Errorf("restore %s: %w", id, err)
		}
		return audit.Append(ctx, tx, audit.Entry{At: s.now(), Actor: owner, Action: AuditRestore, ObjectType: AuditObjectType, ObjectID: id})
	})
}

// PickQuery asks which of an owner's documents can stand for a document a
// procedure requires.
type PickQuery struct {
	// DocType is the required document's name or type code; documents of
	// the same type come first, then those whose type or title holds every
	// word of it (diacritics and case aside). Empty: every document.
	DocType string
	// On is the day the document must be valid on (default today in
	// Vietnam).
	On calendar.Date
	// Limit bounds the answer (default 20, at most 200).
	Limit int
}

// Pick lists the owner's visible documents that match a required document
// and whose current version is valid on the day, best match first, then
// newest. The applicant picks one and the portal puts its [Document.Ref]
// into the dossier component's reuse_ref with reused=true.
func (s *Service) Pick(ctx context.Context, owner string, q PickQuery) ([]Document, error) {
	if err := ownerOK(owner); err != nil {
		return nil, err
	}
	if q.On.IsZero() {
		q.On = s.Today()
	}
	if q.Limit <= 0 {
		q.Limit = 20
	}
	q.Limit = min(q.Limit, 200)
	// A store holds tens of documents: the owner's are read through the
	// owner index and matched here, with the portal's folding rules.
	rows, err := s.db.Read().QueryContext(ctx, `SELECT `+docColumns+docFrom+` WHERE d.owner = $1 AND d.hidden_at IS NULL
ORDER BY d.updated_at DESC, d.id DESC`, owner)
	if err != nil {
		return nil, fmt.Errorf("pick: %w", err)
	}
	defer rows.Close()
	type scored struct {
		d     Document
		score int
	}
	var found []scored
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return nil, fmt.Errorf("pick: %w", err)
		}
		if !d.Current.ValidOn(q.On) {
			continue
		}
		if sc := matches(d, q.DocType); sc > 0 {
			found = append(found, scored{*d, sc})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pick: %w", err)
	}
	slices.SortStableFunc(found, func(a, b scored) int { return b.score - a.score })
	out := make([]Document, 0, min(len(found), q.Limit))
	for i := 0; i < len(found) && i < q.Limit; i++ {
		out = append(out, found[i].d)
	}
	return out, nil
}

// Resolve returns what a reference ("ds:<id>:<version>", or "ds:<id>" for
// the current version) names in the owner's store: the blob hash of the
// very file to attach to the dossier component and the metadata the
// officer sees. A reference to another owner's document is ErrNotFound,
// like an unknown one; a malformed one ErrBadRef. It reads only: the
// reuse is counted when the dossier that cites it is received (see
// [Service.Ingest]), so a submission that fails counts nothing.
func (s *Service) Resolve(ctx context.Context, owner, ref string) (Resolved, error) {
	if err := ownerOK(owner); err != nil {
		return Resolved{}, err
	}
	id, v, err := ParseRef(ref)
	if err != nil {
		return Resolved{}, err
	}
	d, err := s.Get(ctx, owner, id)
	if err != nil {
		return Resolved{}, err
	}
	ver, ok := d.version(v)
	if !ok {
		return Resolved{}, ErrNotFound
	}
	return Resolved{Ref: FormatRef(d.ID, ver.N), DocumentID: d.ID, Version: ver.N, Latest: ver.N == d.Version, Kind: d.Kind,
		Title: d.Title, DocType: d.DocType, Number: d.Number, DossierCode: d.DossierCode, Issuer: d.Issuer,
		IssuedOn: ver.IssuedOn, ValidFrom: ver.ValidFrom, ValidUntil: ver.ValidUntil, FileName: ver.FileName, Hash: ver.Hash,
		MediaType: ver.MediaType, Size: ver.Size}, nil
}

// CountsQuery asks for the 766 digitization figures of the days [From,
// To) in Vietnam, per agency (Agency: one agency's e-ID; empty: all).
type CountsQuery struct {
	From, To calendar.Date
	Agency   string
}

// Counts returns the figures that feed the digitization group of the
// Decision 766 index, per agency (the dossier's competent agency, else
// the receiving one, as the statistics module counts), sorted by agency.
// A component is counted on the day it was digitized, a result on the day
// it was added to its dossier, a reuse on the day the citing dossier was
// received. Dossiers of applicants without an account count too.
func (s *Service) Counts(ctx context.Context, q CountsQuery) ([]Counts, error) {
	if q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To) {
		return nil, &ValidationError{Fields: []FieldError{{Field: "to", Code: "invalid", Message: "Khoảng thời gian không hợp lệ."}}}
	}
	from, to := q.From.In(Location).UTC(), q.To.In(Location).UTC()
	byAgency := map[string]*Counts{}
	get := func(a string) *Counts {
		c := byAgency[a]
		if c == nil {
			c = &Counts{Agency: a}
			byAgency[a] = c
		}
		return c
	}
	args := []any{from, to}
	filter := ""
	if q.Agency != "" {
		args, filter = append(args, q.Agency), " AND agency = $3"
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT agency, kind, COUNT(*), COUNT(DISTINCT dossier_code) FROM datastore_ingest
WHERE at >= $1 AND at < $2 AND first_seen`+filter+` GROUP BY agency, kind`, args...)
	if err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var agency, kind string
		var n, dossiers int64
		if err := rows.Scan(&agency, &kind, &n, &dossiers); err != nil {
			return nil, fmt.Errorf("counts: %w", err)
		}
		c := get(agency)
		switch Kind(kind) {
		case KindComponent:
			c.ComponentsDigitized, c.DossiersDigitized = n, dossiers
		case KindResult:
			c.ResultsElectronic, c.DossiersWithResult = n, dossiers
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	rrows, err := s.db.Read().QueryContext(ctx, `SELECT agency, COUNT(*), COUNT(DISTINCT dossier_code) FROM datastore_reuses
WHERE at >= $1 AND at < $2`+filter+` GROUP BY agency`, args...)
	if err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	defer rrows.Close()
	for rrows.Next() {
		var agency string
		var n, dossiers int64
		if err := rrows.Scan(&agency, &n, &dossiers); err != nil {
			return nil, fmt.Errorf("counts: %w", err)
		}
		c := get(agency)
		c.Reuses, c.DossiersReusing = n, dossiers
	}
	if err := rrows.Err(); err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	out := make([]Counts, 0, len(byAgency))
	for _, c := range byAgency {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Counts) int { return strings.Compare(a.Agency, b.Agency) })
	return out, nil
}
