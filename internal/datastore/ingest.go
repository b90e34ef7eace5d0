package datastore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
)

// Dossiers is all the store needs from the dossier module.
type Dossiers interface {
	// Source returns a dossier with its components (current files and
	// their history, with the digitized and reused marks) and its results
	// (every version), and the identity account ID of its owner ("" when
	// no account owns it, such as a counter dossier of someone without
	// one). It is a trusted in-process read: no actor check. An unknown code
	// is an error wrapping dossier.ErrNotFound.
	Source(ctx context.Context, code string) (owner string, d *dossier.Dossier, err error)
}

// SubscriberName is the name of the store's outbox subscriptions.
const SubscriberName = "datastore"

// Topics are the dossier topics the store follows.
var Topics = []string{dossier.TopicReceived, dossier.TopicTransition, dossier.TopicResultAdded}

// Subscribe registers the store's handler for [Topics] on d (call it while
// wiring, before the dispatcher's Register or Run).
func (s *Service) Subscribe(d *outbox.Dispatcher) {
	for _, t := range Topics {
		d.Subscribe(t, SubscriberName, s.Handle)
	}
}

// Handle is the outbox handler: it ingests the dossier an event is about
// when the event may have brought something for the store (reception,
// supplement received, return, a result added); other transitions are
// skipped without reading the dossier. Redelivery is harmless.
func (s *Service) Handle(ctx context.Context, e outbox.Event) error {
	var ev dossier.Event
	if err := e.Decode(&ev); err != nil {
		return fmt.Errorf("datastore: decode %s event %d: %w", e.Topic, e.ID, err)
	}
	if e.Topic == dossier.TopicTransition && ev.Status != dossier.StatusReturned && ev.Action != "supplement_received" && ev.Action != "return" {
		return nil
	}
	if ev.Code == "" {
		ev.Code = e.Key
	}
	return s.Ingest(ctx, ev.Code)
}

// Ingest brings a dossier's electronic documents into its owner's store,
// from the dossier's current state (so events arriving late, twice or out
// of order all end the same way):
//
//   - once the dossier is received, every digitized component file (each
//     version; files the applicant reused from the store are skipped, they
//     are already in it) becomes a document of kind component, one document
//     per component file name with the versions in order;
//   - once the dossier is returned, every result version becomes a document
//     of kind result, one document per result code (Decree 45/2020: the
//     electronic result goes into the applicant's store when it is
//     returned; one-stop.md §3 step 9, §10);
//   - every component marked reused is recorded as a reuse;
//   - every digitized component file and every result is recorded in the
//     ledger whether or not the dossier has an owner account, for [Service.Counts].
//
// The ledger names each item version ("c:<code>:<n>:<name>:<version>",
// "r:<code>:<result code>:<version>") and remembers whether it was pushed:
// an item version is pushed once, and a document the owner deleted is not
// brought back by a redelivered event.
func (s *Service) Ingest(ctx context.Context, code string) error {
	if s.cfg.Dossiers == nil {
		return fmt.Errorf("datastore: ingest %s: no Dossiers configured", code)
	}
	owner, d, err := s.cfg.Dossiers.Source(ctx, code)
	if err != nil {
		return fmt.Errorf("datastore: ingest %s: %w", code, err)
	}
	if d.ReceivedAt.IsZero() {
		return nil // not received (yet, or refused): nothing is the applicant's
	}
	agency := d.CompetentAgency
	if agency == "" {
		agency = d.ReceivingAgency
	}
	digitizer := s.agency(ctx, d.ReceivingAgency)
	items := s.items(d, digitizer)
	now := s.now()
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		pushed := 0
		for _, it := range items {
			p, err := s.ingestItem(ctx, tx, owner, agency, d, it, now)
			if err != nil {
				return err
			}
			pushed += p
		}
		reused, err := s.recordReuses(ctx, tx, owner, agency, d)
		if err != nil {
			return err
		}
		if pushed == 0 && reused == 0 {
			return nil
		}
		return audit.Append(ctx, tx, audit.Entry{At: now, Actor: "system", Action: AuditIngest, ObjectType: "dossier", ObjectID: d.Code,
			Unit: agency, Detail: map[string]any{"documents": pushed, "reuses": reused, "owner": owner}})
	})
}

// item is one version of a dossier file the store may take.
type item struct {
	kind   Kind
	origin string // the document it belongs to, per owner
	source string // this version, in the ledger
	at     time.Time
	push   bool
	doc    Document // title, type, issuer...; Current is the version
}

// items lists the digitized component files and the results of d, each
// document's versions in order.
func (s *Service) items(d *dossier.Dossier, digitizer Issuer) []item {
	var out []item
	for _, c := range d.Components {
		if c.Reused {
			continue
		}
		files := append(slices.Clone(c.History), c.Files...)
		slices.SortStableFunc(files, func(a, b dossier.File) int {
			if a.Name != b.Name {
				if a.Name < b.Name {
					return -1
				}
				return 1
			}
			return a.Version - b.Version
		})
		for _, f := range files {
			if !f.Digitized || f.Reused {
				continue
			}
			origin := "c:" + d.Code + ":" + strconv.Itoa(c.N) + ":" + f.Name
			out = append(out, item{kind: KindComponent, origin: origin, source: origin + ":" + strconv.Itoa(f.Version),
				at: f.AddedAt, push: true, doc: Document{Kind: KindComponent, Title: c.Name, DocType: c.Name,
					DossierCode: d.Code, ProcedureCode: d.ProcedureCode, Issuer: digitizer,
					Current: Version{IssuedOn: calendar.DateOf(f.AddedAt.In(Location)), FileName: f.Name, Hash: f.Hash,
						MediaType: f.MediaType, Size: f.Size, SourceVersion: f.Version, AddedBy: f.AddedBy}}})
		}
	}
	results := slices.Clone(d.Results)
	slices.SortStableFunc(results, func(a, b dossier.Result) int {
		if a.ResultCode != b.ResultCode {
			if a.ResultCode < b.ResultCode {
				return -1
			}
			return 1
		}
		return a.Version - b.Version
	})
	returned := !d.ReturnedAt.IsZero() || d.Status == dossier.StatusReturned
	for _, r := range results {
		origin := "r:" + d.Code + ":" + r.ResultCode
		at := r.File.AddedAt
		if at.IsZero() {
			at = r.IssuedAt
		}
		issued := calendar.Date{}
		if !r.IssuedAt.IsZero() {
			issued = calendar.DateOf(r.IssuedAt.In(Location))
		}
		out = append(out, item{kind: KindResult, origin: origin, source: origin + ":" + strconv.Itoa(r.Version), at: at, push: returned,
			doc: Document{Kind: KindResult, Title: r.Name, DocType: r.Name, Number: r.ResultCode, DossierCode: d.Code,
				ProcedureCode: d.ProcedureCode, Issuer: Issuer{ID: d.CompetentAgency, Name: r.Issuer},
				Current: Version{IssuedOn: issued, ValidFrom: r.ValidFrom, ValidUntil: r.ValidTo, FileName: r.File.Name,
					Hash: r.File.Hash, MediaType: r.File.MediaType, Size: r.File.Size, SourceVersion: r.Version, AddedBy: r.File.AddedBy}}})
	}
	return out
}

// ingestItem records one item version in the ledger and, when it is due
// and the dossier has an owner, pushes it into the owner's store. It
// returns 1 when it pushed.
func (s *Service) ingestItem(ctx context.Context, tx *db.Tx, owner, agency string, d *dossier.Dossier, it item, now time.Time) (int, error) {
	// Insert first, then read the row locked: on PostgreSQL a concurrent
	// ingest of the same item waits for the first to commit and then sees
	// that it was pushed.
	if _, err := tx.ExecContext(ctx, `INSERT INTO datastore_ingest (source, item, kind, first_seen, dossier_code, agency, at, pushed, document_id)
SELECT $1, $2, $3, NOT EXISTS (SELECT 1 FROM datastore_ingest WHERE item = $2), $4, $5, $6, FALSE, ''
ON CONFLICT (source) DO NOTHING`, it.source, it.origin, string(it.kind), d.Code, agency, it.at.UTC()); err != nil {
		return 0, fmt.Errorf("ledger %s: %w", it.source, err)
	}
	lock := ""
	if tx.Dialect == db.Postgres {
		lock = " FOR UPDATE"
	}
	var pushed bool
	var docID string
	if err := tx.QueryRowContext(ctx, `SELECT pushed, document_id FROM datastore_ingest WHERE source = $1`+lock, it.source).Scan(&pushed, &docID); err != nil {
		return 0, fmt.Errorf("ledger %s: %w", it.source, err)
	}
	if pushed || !it.push || owner == "" {
		return 0, nil
	}
	doc, err := docByOrigin(ctx, tx, owner, it.origin)
	if err != nil {
		return 0, err
	}
	v := it.doc.Current
	v.AddedAt = now
	if doc == nil {
		nd := &newDoc{Document: it.doc, Origin: it.origin}
		nd.ID, nd.Owner, nd.CreatedAt, nd.Current = newID(), owner, now, v
		if err := insertDoc(ctx, tx, nd); err != nil {
			return 0, err
		}
		docID = nd.ID
	} else {
		doc.Title, doc.DocType, doc.Number, doc.Issuer.Name = it.doc.Title, it.doc.DocType, it.doc.Number, it.doc.Issuer.Name
		if err := addVersion(ctx, tx, doc, v, now); err != nil {
			return 0, err
		}
		docID = doc.ID
	}
	if _, err := tx.ExecContext(ctx, `UPDATE datastore_ingest SET pushed = TRUE, document_id = $2 WHERE source = $1`, it.source, docID); err != nil {
		return 0, fmt.Errorf("ledger %s: %w", it.source, err)
	}
	return 1, nil
}

// recordReuses records each component of d marked reused (once per
// dossier and component). A reference to the store names the document
// when it belongs to the dossier's owner; one naming another owner's
// document is not counted. Reuses of other sources (reuse_ref not "ds:")
// count for the 766 index without a document.
func (s *Service) recordReuses(ctx context.Context, tx *db.Tx, owner, agency string, d *dossier.Dossier) (int, error) {
	n := 0
	for _, c := range d.Components {
		if !c.Reused {
			continue
		}
		docID, version := "", 0
		if IsRef(c.ReuseRef) {
			id, v, err := ParseRef(c.ReuseRef)
			if err == nil {
				var docOwner string
				err := tx.QueryRowContext(ctx, `SELECT owner FROM datastore_documents WHERE id = $1`, id).Scan(&docOwner)
				switch {
				case isNoRows(err): // deleted since the dossier cited it
				case err != nil:
					return 0, fmt.Errorf("reuse %s: %w", c.ReuseRef, err)
				case docOwner != owner:
					continue // not the owner's: never counted, never linked
				}
				docID, version = id, v
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO datastore_reuses (dossier_code, component, document_id, version, owner, agency, at)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dossier_code, component) DO NOTHING`,
			d.Code, c.N, docID, version, owner, agency, d.ReceivedAt.UTC())
		if err != nil {
			return 0, fmt.Errorf("reuse of %s component %d: %w", d.Code, c.N, err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	return n, nil
}

// agency names an agency by e-ID, or gives the e-ID alone.
func (s *Service) agency(ctx context.Context, eid string) Issuer {
	is := Issuer{ID: eid, Name: eid}
	if s.cfg.Agencies != nil && eid != "" {
		if a, err := s.cfg.Agencies.Agency(ctx, eid); err == nil && a.Name != "" {
			is.Name = a.Name
		}
	}
	return is
}
