package nationalportal

import (
	"context"
	"fmt"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/timer"
)

// The scheduled reconciliation. Its schedule lives in the adapter's own
// table (nationalportal_jobs: next run, last run and its result, a lease);
// a durable timer (TimerReconcile) only wakes a node up when the next run
// is due. Whoever fires, a run happens only if the row says it is due and
// nobody holds its lease, so restarts and several nodes run each
// reconciliation once.

// reconcileLease bounds one scheduled reconciliation; another node may run
// it again after that.
const reconcileLease = time.Hour

// reconcileRetry is the delay before a failed scheduled reconciliation is
// tried again (at most the interval).
const reconcileRetry = 15 * time.Minute

// maxCatchUp bounds how far back a late reconciliation reaches for the
// days it missed.
const maxCatchUp = 31 * 24 * time.Hour

// ScheduleStatus is the state of the scheduled reconciliation.
type ScheduleStatus struct {
	// Enabled is false when Config.ReconcileInterval is negative.
	Enabled         bool  `json:"enabled"`
	IntervalSeconds int64 `json:"interval_seconds"`
	// NextRunAt is when the next run is due (zero before ScheduleReconciliation).
	NextRunAt time.Time `json:"next_run_at,omitzero"`
	// Running is true while a node runs it (until RunningUntil at most).
	Running      bool      `json:"running"`
	RunningUntil time.Time `json:"running_until,omitzero"`
	// Runs counts the scheduled runs so far.
	Runs           int64     `json:"runs"`
	LastStartedAt  time.Time `json:"last_started_at,omitzero"`
	LastFinishedAt time.Time `json:"last_finished_at,omitzero"`
	// LastOK is true if the last run succeeded; LastError says why not.
	LastOK    bool   `json:"last_ok"`
	LastError string `json:"last_error"`
	// LastReportID, LastFrom, LastTo and LastMismatches describe the report
	// of the last successful run.
	LastReportID   int64     `json:"last_report_id"`
	LastFrom       time.Time `json:"last_from,omitzero"`
	LastTo         time.Time `json:"last_to,omitzero"`
	LastMismatches int       `json:"last_mismatches"`
}

// HandleTimers declares the adapter's timers on the scheduler (call while
// wiring, before the scheduler runs): the scheduled reconciliation and the
// backfill's steps.
func (s *Service) HandleTimers(sch *timer.Scheduler) {
	sch.Handle(TimerReconcile, s.fireReconcile)
	sch.Handle(TimerBackfill, s.fireBackfill)
}

// ScheduleReconciliation makes sure the reconciliation is scheduled (call at
// start-up, after the migrations): the first time it is due at once; after
// that the stored schedule stands, so a restart neither skips nor repeats
// a run. A new Config.ReconcileInterval moves the next run to the last start
// plus the new interval. A negative interval removes the timer.
func (s *Service) ScheduleReconciliation(ctx context.Context) error {
	if s.cfg.ReconcileInterval < 0 {
		return s.db.Tx(ctx, func(tx *db.Tx) error { return timer.Cancel(ctx, tx, TimerReconcile, timerKey) })
	}
	return ensureJob(ctx, s.db, reconcileJob, TimerReconcile, s.cfg.ReconcileInterval, s.cfg.Now())
}

// ReconcileSchedule returns the state of the scheduled reconciliation.
func (s *Service) ReconcileSchedule(ctx context.Context) (ScheduleStatus, error) {
	st := ScheduleStatus{Enabled: s.cfg.ReconcileInterval >= 0, IntervalSeconds: int64(s.cfg.ReconcileInterval / time.Second)}
	j, ok, err := loadJob(ctx, s.db.Read(), reconcileJob)
	if err != nil || !ok {
		return st, err
	}
	if st.Enabled {
		st.NextRunAt = j.NextRunAt
	}
	now := s.cfg.Now()
	st.Running, st.RunningUntil = j.LeaseUntil.After(now), j.LeaseUntil
	if !st.Running {
		st.RunningUntil = time.Time{}
	}
	st.Runs, st.LastStartedAt, st.LastFinishedAt, st.LastOK, st.LastError = j.Runs, j.LastStartedAt, j.LastFinishedAt, j.LastOK, j.LastError
	st.LastReportID, st.LastFrom, st.LastTo, st.LastMismatches = j.LastReportID, j.LastFrom, j.LastTo, j.LastMismatches
	return st, nil
}

// ReconcileIfDue runs the scheduled reconciliation if it is due and no other
// node runs it, and says whether it ran. The period is the previous day
// (Vietnam's time), reaching back to the end of the last successful run's
// period when runs were missed (at most 31 days). The outcome, the next due
// time (now plus the interval; after a failure, a retry in 15 minutes at
// most) and the timer move in one transaction.
func (s *Service) ReconcileIfDue(ctx context.Context) (Report, bool, error) {
	if s.cfg.ReconcileInterval < 0 {
		return Report{}, false, nil
	}
	start := s.cfg.Now()
	token := newToken()
	j, ok, err := claimJob(ctx, s.db, reconcileJob, token, start, reconcileLease)
	if err != nil || !ok {
		return Report{}, false, err
	}
	from, to := schedulePeriod(start, j.LastTo)
	rep, rerr := s.Reconcile(ctx, from, to)
	o := jobOutcome{Started: start, Finished: s.cfg.Now(), Err: rerr, ReportID: rep.ID, From: from, To: to,
		Mismatches: len(rep.Mismatches), Next: start.Add(s.cfg.ReconcileInterval)}
	if rerr != nil {
		o.Next = o.Finished.Add(min(reconcileRetry, s.cfg.ReconcileInterval))
		s.cfg.Logger.WarnContext(ctx, "nationalportal: scheduled reconciliation", "err", rerr)
	} else if len(rep.Mismatches) > 0 {
		s.cfg.Logger.WarnContext(ctx, "nationalportal: mismatches with the portal", "from", from, "to", to, "count", len(rep.Mismatches))
	}
	if err := finishJob(ctx, s.db, reconcileJob, TimerReconcile, token, o); err != nil {
		return rep, true, err
	}
	if rerr != nil {
		return rep, true, fmt.Errorf("nationalportal: scheduled reconciliation: %w", rerr)
	}
	return rep, true, nil
}

// schedulePeriod is the period a scheduled run at now compares: the
// previous day, or from lastTo if that is earlier (missed runs).
func schedulePeriod(now, lastTo time.Time) (time.Time, time.Time) {
	n := now.In(Location)
	to := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, Location)
	from := to.AddDate(0, 0, -1)
	if !lastTo.IsZero() && lastTo.Before(from) {
		from = lastTo.In(Location)
		if to.Sub(from) > maxCatchUp {
			from = to.Add(-maxCatchUp)
		}
	}
	return from, to
}

// fireReconcile is the handler of TimerReconcile. The run gets its own
// deadline (reconcileLease), not the timer's shorter lease; when it is not
// due or runs elsewhere, the timer is set for when it should be looked at.
func (s *Service) fireReconcile(ctx context.Context, _ timer.Timer) error {
	if s.cfg.ReconcileInterval < 0 {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reconcileLease)
	defer cancel()
	_, ran, err := s.ReconcileIfDue(rctx)
	if ran || err != nil {
		return err
	}
	st, err := s.ReconcileSchedule(ctx)
	if err != nil {
		return err
	}
	next := st.NextRunAt
	if st.Running && st.RunningUntil.After(next) {
		next = st.RunningUntil
	}
	if now := s.cfg.Now(); !next.After(now) {
		next = now.Add(time.Minute)
	}
	return setJobTimer(ctx, s.db, TimerReconcile, next)
}

// RunDailyReconciliation checks the reconciliation's schedule every interval
// until ctx ends and runs it when due (ScheduleReconciliation, then
// ReconcileIfDue): a worker for deployments that do not run the adapter's
// timers.
//
// Deprecated: wire HandleTimers and call ScheduleReconciliation at start-up
// instead. Both may run together: a run still happens once.
func (s *Service) RunDailyReconciliation(ctx context.Context, interval time.Duration) {
	if err := s.ScheduleReconciliation(ctx); err != nil {
		s.cfg.Logger.WarnContext(ctx, "nationalportal: schedule reconciliation", "err", err)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, _, err := s.ReconcileIfDue(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.WarnContext(ctx, "nationalportal: scheduled reconciliation", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
