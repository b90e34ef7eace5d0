package nationalportal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/db"
)

// The kinds of mismatch the reconciliation reports.
const (
	MismatchMissing  = "missing_on_portal" // we hold it, the portal does not
	MismatchUnknown  = "unknown_to_us"     // the portal holds a code we do not know
	MismatchStatus   = "status"            // TrangThaiHoSo differs
	MismatchReceived = "received_date"     // NgayTiepNhan differs
	MismatchDue      = "due_date"          // NgayHenTra differs
	MismatchReturned = "returned_date"     // NgayTra differs
)

// Mismatch is one difference between the province and the portal.
type Mismatch struct {
	Code   string `json:"code"`
	Kind   string `json:"kind"`
	Ours   string `json:"ours"`
	Theirs string `json:"theirs"`
	// SyncPending is true when the dossier changed since its last sync (the
	// difference may be the sync queue's, not a lost update).
	SyncPending bool `json:"sync_pending"`
}

// Report is the result of one reconciliation run.
type Report struct {
	ID         int64      `json:"id"`
	From       time.Time  `json:"from"`
	To         time.Time  `json:"to"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt time.Time  `json:"finished_at"`
	Ours       int        `json:"ours"`
	Theirs     int        `json:"theirs"`
	Mismatches []Mismatch `json:"mismatches"`
}

// ErrInvalidPeriod reports a reconciliation period that is empty or longer
// than a year.
var ErrInvalidPeriod = errors.New("nationalportal: invalid period")

// view is what the reconciliation compares, from either side.
type view struct {
	status                 int
	received, due, returns string
	returnsKnown           bool
	version                int64
}

func viewOf(d *dossier.Dossier) view {
	return view{status: dossier.NationalStatusOf(d), received: FormatDate(Received(d)), due: FormatDate(d.DueAt),
		returns: FormatDate(d.ReturnedAt), returnsKnown: true, version: d.Version}
}

// Reconcile compares the dossiers received (NgayTiepNhan) in [from, to) on
// both sides and records and returns every mismatch: held by one side only,
// status differs, reception, appointment or return dates differ.
func (s *Service) Reconcile(ctx context.Context, from, to time.Time) (Report, error) {
	if !from.Before(to) || to.Sub(from) > 366*24*time.Hour {
		return Report{}, ErrInvalidPeriod
	}
	rep := Report{From: from.UTC(), To: to.UTC(), StartedAt: s.cfg.Now().UTC(), Mismatches: []Mismatch{}}
	ours := map[string]view{}
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	after := ""
	for {
		// (received in the period, however long after their submission)
		page, err := s.cfg.Dossiers.List(ctx, dossier.ListQuery{Actor: reader, ReceivedFrom: from, ReceivedTo: to, Limit: 200, After: after})
		if err != nil {
			return rep, fmt.Errorf("nationalportal: list our dossiers: %w", err)
		}
		for _, it := range page.Items {
			rec := it.ReceivedAt
			if rec.IsZero() {
				rec = it.SubmittedAt
			}
			if in(rec) {
				ours[it.Code] = view{status: it.NationalStatus, received: FormatDate(rec), due: FormatDate(it.DueAt), version: it.Version}
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	held, err := s.cfg.Portal.List(ctx, from, to)
	if err != nil {
		return rep, fmt.Errorf("nationalportal: list the portal's dossiers: %w", err)
	}
	theirs := map[string]HoSo{}
	for _, h := range held {
		theirs[h.MaHoSo] = h
	}
	// Ours that the portal lists under another date: look them up by code.
	var ask []string
	for code := range ours {
		if _, ok := theirs[code]; !ok {
			ask = append(ask, code)
		}
	}
	sort.Strings(ask)
	for len(ask) > 0 {
		n := min(len(ask), 100)
		found, err := s.cfg.Portal.Lookup(ctx, ask[:n])
		if err != nil {
			return rep, fmt.Errorf("nationalportal: look up dossiers on the portal: %w", err)
		}
		for _, h := range found {
			theirs[h.MaHoSo] = h
		}
		ask = ask[n:]
	}
	rep.Ours, rep.Theirs = len(ours), len(held)

	add := func(code, kind, o, t string) error {
		st, err := loadState(ctx, s.db.Read(), code)
		if err != nil {
			return err
		}
		m := Mismatch{Code: code, Kind: kind, Ours: o, Theirs: t}
		if v, ok := ours[code]; ok {
			m.SyncPending = st.Version < v.version
		}
		rep.Mismatches = append(rep.Mismatches, m)
		return nil
	}
	compare := func(code string, o view, t HoSo) error {
		if o.status != t.TrangThaiHoSo {
			if err := add(code, MismatchStatus, strconv.Itoa(o.status), strconv.Itoa(t.TrangThaiHoSo)); err != nil {
				return err
			}
		}
		if o.received != t.NgayTiepNhan {
			if err := add(code, MismatchReceived, o.received, t.NgayTiepNhan); err != nil {
				return err
			}
		}
		if o.due != t.NgayHenTra {
			if err := add(code, MismatchDue, o.due, t.NgayHenTra); err != nil {
				return err
			}
		}
		if !o.returnsKnown && (o.status == 10 || t.TrangThaiHoSo == 10 || t.NgayTra != "") {
			d, err := s.cfg.Dossiers.Get(ctx, code, reader)
			if err != nil {
				return fmt.Errorf("nationalportal: read %s: %w", code, err)
			}
			o.returns = FormatDate(d.ReturnedAt)
			o.returnsKnown = true
		}
		if o.returnsKnown && o.returns != t.NgayTra {
			return add(code, MismatchReturned, o.returns, t.NgayTra)
		}
		return nil
	}
	codes := make([]string, 0, len(ours))
	for c := range ours {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, code := range codes {
		t, ok := theirs[code]
		if !ok {
			if err := add(code, MismatchMissing, ours[code].received, ""); err != nil {
				return rep, err
			}
			continue
		}
		if err := compare(code, ours[code], t); err != nil {
			return rep, err
		}
	}
	var extra []string
	for code := range theirs {
		if _, ok := ours[code]; !ok {
			extra = append(extra, code)
		}
	}
	sort.Strings(extra)
	for _, code := range extra {
		d, err := s.cfg.Dossiers.Get(ctx, code, reader)
		switch {
		case errors.Is(err, dossier.ErrNotFound):
			err = add(code, MismatchUnknown, "", theirs[code].NgayTiepNhan)
		case err == nil:
			err = compare(code, viewOf(d), theirs[code])
		}
		if err != nil {
			return rep, err
		}
	}
	rep.FinishedAt = s.cfg.Now().UTC()
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO nationalportal_runs (period_from, period_to, started_at, finished_at, ours, theirs, mismatches)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, rep.From, rep.To, rep.StartedAt, rep.FinishedAt, rep.Ours, rep.Theirs,
			len(rep.Mismatches)).Scan(&rep.ID); err != nil {
			return err
		}
		for _, m := range rep.Mismatches {
			if _, err := tx.ExecContext(ctx, `INSERT INTO nationalportal_mismatches (run_id, dossier_code, kind, ours, theirs, sync_pending)
VALUES ($1, $2, $3, $4, $5, $6)`, rep.ID, m.Code, m.Kind, m.Ours, m.Theirs, m.SyncPending); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("nationalportal: record reconciliation: %w", err)
	}
	return rep, nil
}

// LastReport returns the latest reconciliation run, or dossier.ErrNotFound
// when none ran yet.
func (s *Service) LastReport(ctx context.Context) (Report, error) {
	q := s.db.Read()
	var r Report
	err := q.QueryRowContext(ctx, `SELECT id, period_from, period_to, started_at, finished_at, ours, theirs FROM nationalportal_runs
ORDER BY id DESC LIMIT 1`).Scan(&r.ID, &r.From, &r.To, &r.StartedAt, &r.FinishedAt, &r.Ours, &r.Theirs)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("nationalportal: no reconciliation yet: %w", dossier.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("nationalportal: last reconciliation: %w", err)
	}
	r.From, r.To, r.StartedAt, r.FinishedAt = r.From.UTC(), r.To.UTC(), r.StartedAt.UTC(), r.FinishedAt.UTC()
	rows, err := q.QueryContext(ctx, `SELECT dossier_code, kind, ours, theirs, sync_pending FROM nationalportal_mismatches
WHERE run_id = $1 ORDER BY id`, r.ID)
	if err != nil {
		return r, fmt.Errorf("nationalportal: mismatches: %w", err)
	}
	defer rows.Close()
	r.Mismatches = []Mismatch{}
	for rows.Next() {
		var m Mismatch
		if err := rows.Scan(&m.Code, &m.Kind, &m.Ours, &m.Theirs, &m.SyncPending); err != nil {
			return r, err
		}
		r.Mismatches = append(r.Mismatches, m)
	}
	return r, rows.Err()
}

// ReconcilePreviousDay reconciles the day before today (Vietnam's time):
// the daily job.
func (s *Service) ReconcilePreviousDay(ctx context.Context) (Report, error) {
	now := s.cfg.Now().In(Location)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, Location)
	return s.Reconcile(ctx, today.AddDate(0, 0, -1), today)
}
