package datastore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

// Migrations returns the schema of the personal data store (module
// "datastore"). It needs the audit schema (its migrations run first).
//
// Tables:
//
//	datastore_documents  one row per document of an owner; (owner, origin) is
//	                     unique, origin naming the dossier item it came from
//	                     ("c:<code>:<n>:<file name>", "r:<code>:<result code>")
//	                     or the upload ("u:<id>")
//	datastore_versions   the versions of each document (file, hash, validity)
//	datastore_ingest     one row per dossier item version seen in an event,
//	                     whether or not the dossier has an owner account: the
//	                     ingest's idempotency and the 766 counts
//	datastore_reuses     one row per dossier component that cited a document
//
// Indexes, each for a query that runs per request or per event:
//
//	datastore_documents_owner   the owner's list, newest first (keyset)
//	datastore_documents origin  ingest: the document of a dossier item
//	datastore_ingest PK         ingest: was this item version seen
//	datastore_ingest_at         Counts: a period's rows
//	datastore_reuses PK         ingest: was this component's reuse seen
//	datastore_reuses_document   a document's reuses (detail page)
//	datastore_reuses_at         Counts: a period's reuses
func Migrations() []db.Migration {
	return []db.Migration{{Module: "datastore", Version: 1, Name: "documents, versions, ingest ledger, reuses", Up: schema}}
}

const schema = `
CREATE TABLE datastore_documents (
	id TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	kind TEXT NOT NULL,
	origin TEXT NOT NULL,
	title TEXT NOT NULL,
	doc_type TEXT NOT NULL,
	number TEXT NOT NULL,
	dossier_code TEXT NOT NULL,
	procedure_code TEXT NOT NULL,
	issuer_id TEXT NOT NULL,
	issuer_name TEXT NOT NULL,
	version INTEGER NOT NULL,
	hidden_at {{time}},
	created_at {{time}} NOT NULL,
	updated_at {{time}} NOT NULL,
	UNIQUE (owner, origin)
);
CREATE INDEX datastore_documents_owner ON datastore_documents (owner, updated_at, id);
CREATE TABLE datastore_versions (
	document_id TEXT NOT NULL REFERENCES datastore_documents (id) ON DELETE CASCADE,
	n INTEGER NOT NULL,
	source_version INTEGER NOT NULL,
	issued_on TEXT NOT NULL,
	valid_from TEXT NOT NULL,
	valid_until TEXT NOT NULL,
	file_name TEXT NOT NULL,
	hash TEXT NOT NULL,
	media_type TEXT NOT NULL,
	size BIGINT NOT NULL,
	added_by TEXT NOT NULL,
	added_at {{time}} NOT NULL,
	PRIMARY KEY (document_id, n)
);
CREATE TABLE datastore_ingest (
	source TEXT PRIMARY KEY,
	item TEXT NOT NULL,
	kind TEXT NOT NULL,
	first_seen {{bool}} NOT NULL,
	dossier_code TEXT NOT NULL,
	agency TEXT NOT NULL,
	at {{time}} NOT NULL,
	pushed {{bool}} NOT NULL,
	document_id TEXT NOT NULL
);
CREATE INDEX datastore_ingest_item ON datastore_ingest (item);
CREATE INDEX datastore_ingest_at ON datastore_ingest (at);
CREATE TABLE datastore_reuses (
	dossier_code TEXT NOT NULL,
	component INTEGER NOT NULL,
	document_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	owner TEXT NOT NULL,
	agency TEXT NOT NULL,
	at {{time}} NOT NULL,
	PRIMARY KEY (dossier_code, component)
);
CREATE INDEX datastore_reuses_document ON datastore_reuses (document_id);
CREATE INDEX datastore_reuses_at ON datastore_reuses (at);
`

// newID returns a fresh random document ID.
func newID() string {
	var b [idLen / 2]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

func dateText(d calendar.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func parseDate(s string) calendar.Date {
	d, _ := calendar.ParseDate(s)
	return d
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

const docColumns = `d.id, d.owner, d.kind, d.title, d.doc_type, d.number, d.dossier_code, d.procedure_code, d.issuer_id,
	d.issuer_name, d.version, d.hidden_at, d.created_at, d.updated_at,
	v.n, v.source_version, v.issued_on, v.valid_from, v.valid_until, v.file_name, v.hash, v.media_type, v.size, v.added_by, v.added_at`

const docFrom = ` FROM datastore_documents d JOIN datastore_versions v ON v.document_id = d.id AND v.n = d.version`

type scanner interface{ Scan(dest ...any) error }

func scanDoc(s scanner) (*Document, error) {
	var d Document
	var hidden sql.NullTime
	var kind, issued, from, until string
	err := s.Scan(&d.ID, &d.Owner, &kind, &d.Title, &d.DocType, &d.Number, &d.DossierCode, &d.ProcedureCode, &d.Issuer.ID,
		&d.Issuer.Name, &d.Version, &hidden, &d.CreatedAt, &d.UpdatedAt,
		&d.Current.N, &d.Current.SourceVersion, &issued, &from, &until, &d.Current.FileName, &d.Current.Hash,
		&d.Current.MediaType, &d.Current.Size, &d.Current.AddedBy, &d.Current.AddedAt)
	if err != nil {
		return nil, err
	}
	d.Kind = Kind(kind)
	d.Current.IssuedOn, d.Current.ValidFrom, d.Current.ValidUntil = parseDate(issued), parseDate(from), parseDate(until)
	if hidden.Valid {
		d.Hidden, d.HiddenAt = true, hidden.Time.UTC()
	}
	d.CreatedAt, d.UpdatedAt, d.Current.AddedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC(), d.Current.AddedAt.UTC()
	return &d, nil
}

// loadDoc returns the owner's document id with its current version.
// Another owner's document is ErrNotFound. lock takes the row for the
// transaction on PostgreSQL.
func loadDoc(ctx context.Context, q db.Querier, owner, id string, lock bool) (*Document, error) {
	if !validID(id) || owner == "" {
		return nil, ErrNotFound
	}
	suffix := ""
	if lock {
		suffix = " FOR UPDATE OF d"
	}
	d, err := scanDoc(q.QueryRowContext(ctx, `SELECT `+docColumns+docFrom+` WHERE d.id = $1 AND d.owner = $2`+suffix, id, owner))
	if isNoRows(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("document %s: %w", id, err)
	}
	return d, nil
}

func loadVersions(ctx context.Context, q db.Querier, id string) ([]Version, error) {
	rows, err := q.QueryContext(ctx, `SELECT n, source_version, issued_on, valid_from, valid_until, file_name, hash, media_type, size,
	added_by, added_at FROM datastore_versions WHERE document_id = $1 ORDER BY n`, id)
	if err != nil {
		return nil, fmt.Errorf("versions of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		var issued, from, until string
		if err := rows.Scan(&v.N, &v.SourceVersion, &issued, &from, &until, &v.FileName, &v.Hash, &v.MediaType, &v.Size,
			&v.AddedBy, &v.AddedAt); err != nil {
			return nil, fmt.Errorf("versions of %s: %w", id, err)
		}
		v.IssuedOn, v.ValidFrom, v.ValidUntil, v.AddedAt = parseDate(issued), parseDate(from), parseDate(until), v.AddedAt.UTC()
		out = append(out, v)
	}
	return out, rows.Err()
}

func loadReuses(ctx context.Context, q db.Querier, id string) ([]Reuse, error) {
	rows, err := q.QueryContext(ctx, `SELECT dossier_code, component, version, agency, at FROM datastore_reuses
WHERE document_id = $1 ORDER BY at, dossier_code, component`, id)
	if err != nil {
		return nil, fmt.Errorf("reuses of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Reuse
	for rows.Next() {
		var r Reuse
		if err := rows.Scan(&r.DossierCode, &r.Component, &r.Version, &r.Agency, &r.At); err != nil {
			return nil, fmt.Errorf("reuses of %s: %w", id, err)
		}
		r.At = r.At.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// newDoc is a document to create with its first version.
type newDoc struct {
	Document
	Origin string
}

// insertDoc writes a new document and its first version (d.Current).
func insertDoc(ctx context.Context, tx *db.Tx, d *newDoc) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO datastore_documents (id, owner, kind, origin, title, doc_type, number, dossier_code,
	procedure_code, issuer_id, issuer_name, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)`,
		d.ID, d.Owner, string(d.Kind), d.Origin, d.Title, d.DocType, d.Number, d.DossierCode, d.ProcedureCode, d.Issuer.ID,
		d.Issuer.Name, d.CreatedAt); err != nil {
		return fmt.Errorf("insert document: %w", err)
	}
	d.Version, d.Current.N, d.UpdatedAt = 1, 1, d.CreatedAt
	return insertVersion(ctx, tx, d.ID, d.Current)
}

func insertVersion(ctx context.Context, tx *db.Tx, id string, v Version) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO datastore_versions (document_id, n, source_version, issued_on, valid_from, valid_until,
	file_name, hash, media_type, size, added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		id, v.N, v.SourceVersion, dateText(v.IssuedOn), dateText(v.ValidFrom), dateText(v.ValidUntil), v.FileName, v.Hash,
		v.MediaType, v.Size, v.AddedBy, v.AddedAt); err != nil {
		return fmt.Errorf("insert version %d of %s: %w", v.N, id, err)
	}
	return nil
}

// addVersion appends v as the next version of document id (locked by the
// caller) and makes it current; title and type follow the new version.
func addVersion(ctx context.Context, tx *db.Tx, d *Document, v Version, now time.Time) error {
	v.N = d.Version + 1
	if err := insertVersion(ctx, tx, d.ID, v); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE datastore_documents SET version = $2, title = $3, doc_type = $4, number = $5,
	issuer_name = $6, updated_at = $7 WHERE id = $1`, d.ID, v.N, d.Title, d.DocType, d.Number, d.Issuer.Name, now); err != nil {
		return fmt.Errorf("document %s: %w", d.ID, err)
	}
	d.Version, d.Current, d.UpdatedAt = v.N, v, now
	return nil
}

// docByOrigin returns the owner's document made from origin, locked, or
// nil.
func docByOrigin(ctx context.Context, tx *db.Tx, owner, origin string) (*Document, error) {
	lock := ""
	if tx.Dialect == db.Postgres {
		lock = " FOR UPDATE OF d"
	}
	d, err := scanDoc(tx.QueryRowContext(ctx, `SELECT `+docColumns+docFrom+` WHERE d.owner = $1 AND d.origin = $2`+lock, owner, origin))
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("document from %s: %w", origin, err)
	}
	return d, nil
}
