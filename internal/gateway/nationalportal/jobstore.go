package nationalportal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/congso/congso/internal/platform/audit"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/timer"
)

// The SQL of the backfills and of the reconciliation schedule
// (nationalportal_backfills, nationalportal_jobs). Functions take the
// database rather than a Service so that the command line (Command) can
// use them without a portal client.

// backfillRow is a row of nationalportal_backfills.
type backfillRow struct {
	ID                      int64
	Since                   time.Time
	State                   string
	CountCursor, PageCursor string
	Total, Enqueued         int64
	Pages                   int
	DeadBefore              int64
	LastError               string
	LastErrorAt             time.Time
	RequestedBy             string
	StartedAt, UpdatedAt    time.Time
	FinishedAt              time.Time
	LeaseToken              string
	LeaseUntil              time.Time
}

const backfillColumns = `id, since, state, count_cursor, page_cursor, total, enqueued, pages, dead_before, last_error, last_error_at,
	requested_by, started_at, updated_at, finished_at, lease_token, lease_until`

func scanBackfill(row interface{ Scan(...any) error }) (backfillRow, error) {
	var b backfillRow
	var since, errAt, fin, until sql.NullTime
	var token sql.NullString
	err := row.Scan(&b.ID, &since, &b.State, &b.CountCursor, &b.PageCursor, &b.Total, &b.Enqueued, &b.Pages, &b.DeadBefore,
		&b.LastError, &errAt, &b.RequestedBy, &b.StartedAt, &b.UpdatedAt, &fin, &token, &until)
	b.Since, b.LastErrorAt, b.FinishedAt, b.LeaseUntil = utc(since), utc(errAt), utc(fin), utc(until)
	b.StartedAt, b.UpdatedAt, b.LeaseToken = b.StartedAt.UTC(), b.UpdatedAt.UTC(), token.String
	return b, err
}

func utc(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// startBackfill records a backfill and its timer (due now), or resumes the
// backfill in progress over the same period.
func startBackfill(ctx context.Context, d *db.DB, since time.Time, by string, deadBefore int64, now time.Time) error {
	if by == "" {
		by = "system"
	}
	err := d.Tx(ctx, func(tx *db.Tx) error {
		cur, err := scanBackfill(tx.QueryRowContext(ctx, `SELECT `+backfillColumns+` FROM nationalportal_backfills WHERE active = 1`))
		switch {
		case err == nil && !cur.Since.Equal(since):
			return fmt.Errorf("%w (since %s)", ErrBackfillRunning, describeSince(cur.Since))
		case err == nil:
			// Resume: wake the timer in case it was lost. The step's lease
			// keeps two nodes from stepping at once.
			if err := audit.Append(ctx, tx, audit.Entry{Actor: by, Action: "nationalportal.backfill.resume", ObjectType: "nationalportal_backfill",
				ObjectID: strconv.FormatInt(cur.ID, 10), Detail: map[string]any{"since": describeSince(since)}}); err != nil {
				return err
			}
		case errors.Is(err, sql.ErrNoRows):
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO nationalportal_backfills (since, state, active, dead_before, requested_by, started_at, updated_at)
VALUES ($1, 'counting', 1, $2, $3, $4, $4) RETURNING id`, nullTime(since), deadBefore, truncate(by, 200), now.UTC()).Scan(&id); err != nil {
				if db.IsUniqueViolation(err) {
					return ErrBackfillRunning
				}
				return err
			}
			if err := audit.Append(ctx, tx, audit.Entry{Actor: by, Action: "nationalportal.backfill.start", ObjectType: "nationalportal_backfill",
				ObjectID: strconv.FormatInt(id, 10), Detail: map[string]any{"since": describeSince(since)}}); err != nil {
				return err
			}
		default:
			return err
		}
		return timer.Set(ctx, tx, timer.Timer{Kind: TimerBackfill, Key: timerKey, DueAt: now})
	})
	if err != nil {
		return fmt.Errorf("nationalportal: start backfill: %w", err)
	}
	return nil
}

func describeSince(t time.Time) string {
	if t.IsZero() {
		return "the beginning"
	}
	return t.In(Location).Format("2006-01-02")
}

func cancelBackfill(ctx context.Context, d *db.DB, by string, now time.Time) error {
	if by == "" {
		by = "system"
	}
	err := d.Tx(ctx, func(tx *db.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM nationalportal_backfills WHERE active = 1`).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // nothing in progress: nothing changes
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE nationalportal_backfills SET state = 'cancelled', active = NULL, updated_at = $1, finished_at = $1
WHERE id = $2`, now.UTC(), id); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, audit.Entry{Actor: by, Action: "nationalportal.backfill.cancel", ObjectType: "nationalportal_backfill",
			ObjectID: strconv.FormatInt(id, 10)}); err != nil {
			return err
		}
		return timer.Cancel(ctx, tx, TimerBackfill, timerKey)
	})
	if err != nil {
		return fmt.Errorf("nationalportal: cancel backfill: %w", err)
	}
	return nil
}

// backfillStatus reads the latest backfill and, when q is set, its queue.
func backfillStatus(ctx context.Context, d *db.DB, q QueueStats) (BackfillStatus, error) {
	b, err := scanBackfill(d.Read().QueryRowContext(ctx, `SELECT `+backfillColumns+` FROM nationalportal_backfills ORDER BY id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return BackfillStatus{State: BackfillNone}, nil
	}
	if err != nil {
		return BackfillStatus{}, fmt.Errorf("nationalportal: backfill status: %w", err)
	}
	st := BackfillStatus{ID: b.ID, State: b.State, Since: b.Since, Total: b.Total, Enqueued: b.Enqueued, Pages: b.Pages,
		LastError: b.LastError, LastErrorAt: b.LastErrorAt, RequestedBy: b.RequestedBy, StartedAt: b.StartedAt,
		UpdatedAt: b.UpdatedAt, FinishedAt: b.FinishedAt}
	if q != nil {
		pending, dead, _, err := backfillQueue(ctx, q)
		if err != nil {
			return st, fmt.Errorf("nationalportal: backfill status: %w", err)
		}
		st.Pending, st.Failed = min(pending, b.Enqueued), max(0, min(dead-b.DeadBefore, b.Enqueued-pending))
	}
	st.Done = max(0, st.Enqueued-st.Pending-st.Failed)
	st.Complete = st.State == BackfillEnqueued && st.Pending == 0
	return st, nil
}

// claimBackfill takes the lease of the backfill in progress. It returns a
// zero row when there is none, and ok false when another node holds it.
func claimBackfill(ctx context.Context, d *db.DB, token string, now time.Time, lease time.Duration) (backfillRow, bool, error) {
	var b backfillRow
	var ok bool
	err := d.Tx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE nationalportal_backfills SET lease_token = $1, lease_until = $2
WHERE active = 1 AND (lease_until IS NULL OR lease_until < $3)`, token, now.Add(lease).UTC(), now.UTC())
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		b, err = scanBackfill(tx.QueryRowContext(ctx, `SELECT `+backfillColumns+` FROM nationalportal_backfills WHERE active = 1`))
		if errors.Is(err, sql.ErrNoRows) {
			b, ok = backfillRow{}, false
			return nil
		}
		return err
	})
	if err != nil {
		return backfillRow{}, false, fmt.Errorf("nationalportal: claim backfill: %w", err)
	}
	return b, ok, nil
}

func releaseBackfill(ctx context.Context, d *db.DB, id int64, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, _ = d.Write().ExecContext(ctx, `UPDATE nationalportal_backfills SET lease_token = NULL, lease_until = NULL
WHERE id = $1 AND lease_token = $2`, id, token)
}

func noteBackfillError(ctx context.Context, d *db.DB, id int64, cause error, now time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, _ = d.Write().ExecContext(ctx, `UPDATE nationalportal_backfills SET last_error = $1, last_error_at = $2 WHERE id = $3`,
		truncate(cause.Error(), 2000), now.UTC(), id)
}

// jobRow is a row of nationalportal_jobs.
type jobRow struct {
	Interval                      time.Duration
	NextRunAt                     time.Time
	Runs                          int64
	LastStartedAt, LastFinishedAt time.Time
	LastOK                        bool
	LastError                     string
	LastReportID                  int64
	LastFrom, LastTo              time.Time
	LastMismatches                int
	LeaseUntil                    time.Time
}

// reconcileJob names the reconciliation's row of nationalportal_jobs.
const reconcileJob = "reconcile"

func loadJob(ctx context.Context, q db.Querier, name string) (jobRow, bool, error) {
	var j jobRow
	var secs int64
	var started, finished, from, to, until sql.NullTime
	err := q.QueryRowContext(ctx, `SELECT interval_seconds, next_run_at, runs, last_started_at, last_finished_at, last_ok, last_error,
	last_report_id, last_from, last_to, last_mismatches, lease_until FROM nationalportal_jobs WHERE name = $1`, name).Scan(
		&secs, &j.NextRunAt, &j.Runs, &started, &finished, &j.LastOK, &j.LastError, &j.LastReportID, &from, &to, &j.LastMismatches, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return j, false, nil
	}
	if err != nil {
		return j, false, fmt.Errorf("nationalportal: job %s: %w", name, err)
	}
	j.Interval = time.Duration(secs) * time.Second
	j.NextRunAt = j.NextRunAt.UTC()
	j.LastStartedAt, j.LastFinishedAt, j.LastFrom, j.LastTo, j.LeaseUntil = utc(started), utc(finished), utc(from), utc(to), utc(until)
	return j, true, nil
}

// ensureJob creates the job's row and timer (due now) when missing, and
// follows a change of interval: the next run moves to the last start plus
// the new interval.
func ensureJob(ctx context.Context, d *db.DB, name, kind string, interval time.Duration, now time.Time) error {
	err := d.Tx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO nationalportal_jobs (name, interval_seconds, next_run_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO NOTHING`, name, int64(interval/time.Second), now.UTC())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return timer.Set(ctx, tx, timer.Timer{Kind: kind, Key: timerKey, DueAt: now})
		}
		j, _, err := loadJob(ctx, tx, name)
		if err != nil || j.Interval == interval.Truncate(time.Second) {
			return err
		}
		next := now
		if !j.LastStartedAt.IsZero() && j.LastStartedAt.Add(interval).After(now) {
			next = j.LastStartedAt.Add(interval)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE nationalportal_jobs SET interval_seconds = $1, next_run_at = $2 WHERE name = $3`,
			int64(interval/time.Second), next.UTC(), name); err != nil {
			return err
		}
		return timer.Set(ctx, tx, timer.Timer{Kind: kind, Key: timerKey, DueAt: next})
	})
	if err != nil {
		return fmt.Errorf("nationalportal: schedule %s: %w", name, err)
	}
	return nil
}

// claimJob takes the job's lease if the job is due and nobody runs it.
func claimJob(ctx context.Context, d *db.DB, name, token string, now time.Time, lease time.Duration) (jobRow, bool, error) {
	var j jobRow
	var ok bool
	err := d.Tx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE nationalportal_jobs SET lease_token = $1, lease_until = $2
WHERE name = $3 AND next_run_at <= $4 AND (lease_until IS NULL OR lease_until < $4)`, token, now.Add(lease).UTC(), name, now.UTC())
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		j, _, err = loadJob(ctx, tx, name)
		return err
	})
	if err != nil {
		return j, false, fmt.Errorf("nationalportal: claim job %s: %w", name, err)
	}
	return j, ok, nil
}

// jobOutcome is what one run of a job did.
type jobOutcome struct {
	Started, Finished time.Time
	Err               error
	ReportID          int64
	From, To          time.Time
	Mismatches        int
	Next              time.Time
}

// finishJob records a run, gives the lease back and sets the timer for the
// next run, in one transaction.
func finishJob(ctx context.Context, d *db.DB, name, kind, token string, o jobOutcome) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := d.Tx(ctx, func(tx *db.Tx) error {
		var res sql.Result
		var err error
		if o.Err == nil {
			res, err = tx.ExecContext(ctx, `UPDATE nationalportal_jobs SET runs = runs + 1, last_started_at = $1, last_finished_at = $2,
	last_ok = TRUE, last_error = '', last_report_id = $3, last_from = $4, last_to = $5, last_mismatches = $6, next_run_at = $7,
	lease_token = NULL, lease_until = NULL
WHERE name = $8 AND lease_token = $9`, o.Started.UTC(), o.Finished.UTC(), o.ReportID, o.From.UTC(), o.To.UTC(), o.Mismatches,
				o.Next.UTC(), name, token)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE nationalportal_jobs SET runs = runs + 1, last_started_at = $1, last_finished_at = $2,
	last_ok = FALSE, last_error = $3, next_run_at = $4, lease_token = NULL, lease_until = NULL
WHERE name = $5 AND lease_token = $6`, o.Started.UTC(), o.Finished.UTC(), truncate(o.Err.Error(), 2000), o.Next.UTC(), name, token)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errors.New("job lease taken over")
		}
		return timer.Set(ctx, tx, timer.Timer{Kind: kind, Key: timerKey, DueAt: o.Next})
	})
	if err != nil {
		return fmt.Errorf("nationalportal: record job %s: %w", name, err)
	}
	return nil
}

// setJobTimer sets the job's timer.
func setJobTimer(ctx context.Context, d *db.DB, kind string, at time.Time) error {
	return d.Tx(ctx, func(tx *db.Tx) error {
		return timer.Set(ctx, tx, timer.Timer{Kind: kind, Key: timerKey, DueAt: at})
	})
}
