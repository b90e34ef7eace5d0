package calendardb

import (
	"strconv"

	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/congso/congso/internal/platform/audit"
	"strings"
	"time"

	"github.com/congso/congso/internal/platform/calendar"
	"github.com/congso/congso/internal/platform/db"
)

// Migrations returns the schema of the stored announcements (module
// "calendar").
func Migrations() []db.Migration {
	return []db.Migration{{Module: "calendar", Version: 1, Name: "announcements", Up: `
CREATE TABLE calendar_announcements (
	year INTEGER PRIMARY KEY,
	announcement {{json}} NOT NULL,
	updated_by TEXT NOT NULL,
	updated_at {{time}} NOT NULL,
	version BIGINT NOT NULL
);
-- One row, bumped by every write: the other nodes poll it (a primary-key
-- lookup) to learn that they must reload, and writers take its row lock so
-- that versions follow commit order.
CREATE TABLE calendar_revision (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	revision BIGINT NOT NULL
);
INSERT INTO calendar_revision (id, revision) VALUES (1, 0);
`}}
}

// Origin tells where the announcement of a year comes from.
type Origin string

// The origins of an announcement, by precedence.
const (
	// OriginDatabase: entered by an administrator and stored.
	OriginDatabase Origin = "database"
	// OriginConfigured: given in calendar.Options.Announcements.
	OriginConfigured Origin = "configured"
	// OriginShipped: embedded in the binary (calendar.ShippedAnnouncements).
	OriginShipped Origin = "shipped"
)

// Record is the announcement of one year with its bookkeeping. Only stored
// records have UpdatedBy, UpdatedAt and Version.
type Record struct {
	Year         int                   `json:"year"`
	Origin       Origin                `json:"origin"`
	Announcement calendar.Announcement `json:"announcement"`
	UpdatedBy    string                `json:"updated_by,omitempty"`
	UpdatedAt    time.Time             `json:"updated_at,omitzero"`
	// Version changes at every save of the year; clients send it back to
	// save only if nobody saved in between.
	Version int64 `json:"version,omitempty"`
}

// Store reads and writes the stored announcements. It is safe for
// concurrent use.
type Store struct {
	db  *db.DB
	now func() time.Time
}

// NewStore returns a Store on d, whose schema must include [Migrations].
// now is the clock for UpdatedAt; nil means time.Now.
func NewStore(d *db.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: d, now: now}
}

// Every query here reads by primary key (year, or the revision's id) except
// List, which reads the whole table: one row per year, a few dozen at most.
const selectRecord = `SELECT year, announcement, updated_by, updated_at, version FROM calendar_announcements`

// List returns the stored announcements by year.
func (s *Store) List(ctx context.Context) ([]Record, error) {
	rows, err := s.db.Read().QueryContext(ctx, selectRecord+` ORDER BY year`)
	if err != nil {
		return nil, fmt.Errorf("list calendar announcements: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("list calendar announcements: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list calendar announcements: %w", err)
	}
	return out, nil
}

// Get returns the stored announcement of year, or an error wrapping
// [ErrNotFound].
func (s *Store) Get(ctx context.Context, year int) (Record, error) {
	r, err := scanRecord(s.db.Read().QueryRowContext(ctx, selectRecord+` WHERE year = $1`, year))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, fmt.Errorf("calendar announcement %d: %w", year, ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("get calendar announcement %d: %w", year, err)
	}
	return r, nil
}

// Put validates a (see [Validate]) and stores it as the announcement of
// a.Year, replacing any stored one; actor is recorded as UpdatedBy. A
// validation failure returns a *ValidationError and stores nothing.
func (s *Store) Put(ctx context.Context, a calendar.Announcement, actor string) (Record, error) {
	return s.put(ctx, a, actor, -1)
}

// PutIfVersion is [Store.Put] with optimistic locking: it stores a only if
// the stored version of a.Year is still version (0 meaning that nothing is
// stored for the year), and otherwise fails with an error wrapping
// [ErrStale].
func (s *Store) PutIfVersion(ctx context.Context, a calendar.Announcement, actor string, version int64) (Record, error) {
	if version < 0 {
		return Record{}, fmt.Errorf("put calendar announcement %d: negative version %d", a.Year, version)
	}
	return s.put(ctx, a, actor, version)
}

// put stores a; expect < 0 skips the version check.
func (s *Store) put(ctx context.Context, a calendar.Announcement, actor string, expect int64) (Record, error) {
	if err := Validate(a); err != nil {
		return Record{}, fmt.Errorf("put calendar announcement: %w", err)
	}
	actor = strings.TrimSpace(actor)
	if actor == "" {
		return Record{}, fmt.Errorf("put calendar announcement %d: no actor", a.Year)
	}
	a = normalize(a)
	doc, err := json.Marshal(a)
	if err != nil {
		return Record{}, fmt.Errorf("put calendar announcement %d: encode: %w", a.Year, err)
	}
	rec := Record{Year: a.Year, Origin: OriginDatabase, Announcement: a, UpdatedBy: actor,
		UpdatedAt: s.now().UTC().Truncate(time.Microsecond)}
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		rev, err := bumpRevision(ctx, tx)
		if err != nil {
			return err
		}
		if expect >= 0 {
			cur, err := currentVersion(ctx, tx, a.Year)
			if err != nil {
				return err
			}
			if cur != expect {
				return fmt.Errorf("calendar announcement %d is at version %d, not %d: %w", a.Year, cur, expect, ErrStale)
			}
		}
		rec.Version = rev
		_, err = tx.ExecContext(ctx, `INSERT INTO calendar_announcements (year, announcement, updated_by, updated_at, version)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (year) DO UPDATE SET announcement = excluded.announcement, updated_by = excluded.updated_by,
	updated_at = excluded.updated_at, version = excluded.version`,
			a.Year, string(doc), actor, rec.UpdatedAt, rev)
		if err != nil {
			return err
		}
		// Last write of the transaction, as the audit log asks.
		return audit.Append(ctx, tx, audit.Entry{At: rec.UpdatedAt, Actor: actor, Action: "calendar.announcement.saved",
			ObjectType: "calendar_announcement", ObjectID: strconv.Itoa(a.Year),
			Detail: map[string]any{"version": rev, "title": a.Title, "replaces": a.Replaces}})
	})
	if err != nil {
		return Record{}, fmt.Errorf("put calendar announcement %d: %w", a.Year, err)
	}
	return rec, nil
}

// Delete removes the stored announcement of year, so that the year falls
// back to the shipped announcement or the default rule. It fails with an
// error wrapping [ErrNotFound] if none is stored.
func (s *Store) Delete(ctx context.Context, year int, actor string) error {
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := bumpRevision(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM calendar_announcements WHERE year = $1`, year)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound // rolls back the revision bump
		}
		return audit.Append(ctx, tx, audit.Entry{At: s.now().UTC(), Actor: actor, Action: "calendar.announcement.deleted",
			ObjectType: "calendar_announcement", ObjectID: strconv.Itoa(year)})
	})
	if err != nil {
		return fmt.Errorf("delete calendar announcement %d: %w", year, err)
	}
	return nil
}

// Revision returns a number that changes whenever an announcement is stored
// or deleted. It reads one row by primary key.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.db.Read().QueryRowContext(ctx, `SELECT revision FROM calendar_revision WHERE id = 1`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("read calendar revision: %w", err)
	}
	return rev, nil
}

// bumpRevision increments the revision and returns it. Its row lock
// serialises writers on PostgreSQL (SQLite has a single writer anyway).
func bumpRevision(ctx context.Context, tx *db.Tx) (int64, error) {
	var rev int64
	err := tx.QueryRowContext(ctx, `UPDATE calendar_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision`).Scan(&rev)
	if err != nil {
		return 0, fmt.Errorf("bump calendar revision: %w", err)
	}
	return rev, nil
}

// currentVersion returns the stored version of year, 0 if none.
func currentVersion(ctx context.Context, tx *db.Tx, year int) (int64, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `SELECT version FROM calendar_announcements WHERE year = $1`, year).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read version of calendar announcement %d: %w", year, err)
	}
	return v, nil
}

func scanRecord(row interface{ Scan(...any) error }) (Record, error) {
	var (
		r   Record
		doc []byte
	)
	if err := row.Scan(&r.Year, &doc, &r.UpdatedBy, &r.UpdatedAt, &r.Version); err != nil {
		return Record{}, err
	}
	if err := json.Unmarshal(doc, &r.Announcement); err != nil {
		return Record{}, fmt.Errorf("decode calendar announcement %d: %w", r.Year, err)
	}
	r.Origin = OriginDatabase
	r.Announcement.Year = r.Year
	r.UpdatedAt = r.UpdatedAt.UTC()
	return r, nil
}
