package nationalportal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/congso/congso/internal/dossier"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/outbox"
	"github.com/congso/congso/internal/platform/timer"
)

// TopicBackfill is the outbox topic of the backfill's sync requests: one
// event per dossier (key: its code, payload BackfillEvent), delivered to
// the same handler as the dossier events (Service.Subscribe declares it).
const TopicBackfill = "nationalportal.backfill"

// The kinds of the adapter's durable timers (Service.HandleTimers).
const (
	// TimerBackfill advances the backfill in progress by one step.
	TimerBackfill = "nationalportal.backfill"
	// TimerReconcile runs the scheduled reconciliation when it is due.
	TimerReconcile = "nationalportal.reconcile"
)

// timerKey is the key of both timers (there is one of each).
const timerKey = "nationalportal"

// The states of a backfill.
const (
	BackfillNone       = "none"       // no backfill ever started
	BackfillCounting   = "counting"   // counting the dossiers to sync
	BackfillEnqueueing = "enqueueing" // enqueueing them page by page
	BackfillEnqueued   = "enqueued"   // every page enqueued; the outbox delivers the rest
	BackfillCancelled  = "cancelled"  // stopped by an operator
)

// countPages bounds the pages of 200 dossiers one counting step reads.
const countPages = 50

// ErrBackfillRunning reports a backfill request while another backfill,
// over another period, is in progress.
var ErrBackfillRunning = errors.New("nationalportal: another backfill is in progress")

// BackfillEvent is the payload of a TopicBackfill event.
type BackfillEvent struct {
	Backfill int64 `json:"backfill"`
}

// BackfillStatus is the progress of the latest backfill, for operators.
type BackfillStatus struct {
	ID    int64  `json:"id"`
	State string `json:"state"`
	// Since is the first reception date covered; zero: every dossier.
	Since time.Time `json:"since,omitzero"`
	// Total is the number of dossiers to sync (it grows while counting).
	Total int64 `json:"total"`
	// Enqueued counts the sync requests put in the outbox, Pending those
	// not delivered yet, Failed those given up (dead letters, retried from
	// the outbox console) and Done those delivered.
	Enqueued int64 `json:"enqueued"`
	Pending  int64 `json:"pending"`
	Failed   int64 `json:"failed"`
	Done     int64 `json:"done"`
	Pages    int   `json:"pages"`
	// Complete is true once every request was enqueued and delivered.
	Complete    bool      `json:"complete"`
	LastError   string    `json:"last_error"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	RequestedBy string    `json:"requested_by"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
	// FinishedAt is when the last page was enqueued (or the backfill cancelled).
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Active reports whether the backfill still enqueues requests.
func (b BackfillStatus) Active() bool {
	return b.State == BackfillCounting || b.State == BackfillEnqueueing
}

// Percent is Done out of Total, 0 to 100.
func (b BackfillStatus) Percent() int {
	if b.Total <= 0 {
		if b.Complete {
			return 100
		}
		return 0
	}
	return int(min(100, b.Done*100/b.Total))
}

// StartBackfill starts a backfill of the dossiers received since since (zero:
// every dossier): the adapter's timer (HandleTimers) counts them, then puts one
// sync request per dossier in the outbox, a page (Config.BackfillPage) at a
// time, waiting between pages (Config.BackfillPause) and while the previous
// page is still queued, so that live syncs are never behind more than a page.
// The cursor moves in the transaction that enqueues the page, so a crash
// neither loses nor repeats a page; and a sync request for a dossier the
// portal already holds sends nothing. If a backfill over the same period is
// in progress, StartBackfill resumes it; over another period it fails with
// ErrBackfillRunning. by names who asked (for the record).
func (s *Service) StartBackfill(ctx context.Context, since time.Time, by string) (BackfillStatus, error) {
	dead, err := backfillDead(ctx, s.cfg.Queue)
	if err != nil {
		return BackfillStatus{}, err
	}
	if err := startBackfill(ctx, s.db, since, by, dead, s.cfg.Now()); err != nil {
		return BackfillStatus{}, err
	}
	return s.BackfillStatus(ctx)
}

// CancelBackfill stops the backfill in progress: no further page is
// enqueued (requests already enqueued are still delivered). It returns the
// latest backfill's status; without a backfill in progress it changes
// nothing. by names who asked (audited, as the start is).
func (s *Service) CancelBackfill(ctx context.Context, by string) (BackfillStatus, error) {
	if err := cancelBackfill(ctx, s.db, by, s.cfg.Now()); err != nil {
		return BackfillStatus{}, err
	}
	return s.BackfillStatus(ctx)
}

// BackfillStatus returns the progress of the latest backfill (State
// BackfillNone if there never was one).
func (s *Service) BackfillStatus(ctx context.Context) (BackfillStatus, error) {
	return backfillStatus(ctx, s.db, s.cfg.Queue)
}

// BackfillStep advances the backfill in progress by one step, as its timer
// does: count up to countPages pages of dossiers, or enqueue one page if the
// previous one left the queue. It returns the status after the step. A
// step whose context ends before its transaction commits leaves no trace:
// the next step does it again. Another node running a step makes it fail
// with ErrBusy.
func (s *Service) BackfillStep(ctx context.Context) (BackfillStatus, error) {
	st, _, err := s.backfillStep(ctx)
	return st, err
}

// backfillStep is BackfillStep; counted is true for a counting step (the
// next step may follow at once).
func (s *Service) backfillStep(ctx context.Context) (st BackfillStatus, counted bool, err error) {
	token := newToken()
	b, ok, err := claimBackfill(ctx, s.db, token, s.cfg.Now(), s.cfg.Lease)
	if err != nil {
		return BackfillStatus{}, false, err
	}
	if b.ID == 0 {
		st, err = s.BackfillStatus(ctx)
		return st, false, err
	}
	if !ok {
		return BackfillStatus{}, false, fmt.Errorf("%w: backfill %d", ErrBusy, b.ID)
	}
	defer releaseBackfill(ctx, s.db, b.ID, token)
	switch b.State {
	case BackfillCounting:
		counted = true
		err = s.countStep(ctx, b, token)
	case BackfillEnqueueing:
		err = s.enqueueStep(ctx, b, token)
	}
	if err != nil {
		noteBackfillError(ctx, s.db, b.ID, err, s.cfg.Now())
		return BackfillStatus{}, counted, fmt.Errorf("nationalportal: backfill %d: %w", b.ID, err)
	}
	st, err = s.BackfillStatus(ctx)
	return st, counted, err
}

// errLeaseLost reports a step whose lease another node took over.
var errLeaseLost = errors.New("backfill lease taken over")

func (s *Service) countStep(ctx context.Context, b backfillRow, token string) error {
	cur, n, done := b.CountCursor, int64(0), false
	for i := 0; i < countPages && !done; i++ {
		page, err := s.cfg.Dossiers.List(ctx, dossier.ListQuery{Actor: reader, ReceivedFrom: b.Since, Limit: 200, After: cur})
		if err != nil {
			return fmt.Errorf("count dossiers: %w", err)
		}
		n += int64(len(page.Items))
		done = page.Next == ""
		cur = page.Next
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		state := BackfillCounting
		if done {
			state = BackfillEnqueueing
		}
		res, err := tx.ExecContext(ctx, `UPDATE nationalportal_backfills SET total = total + $1, count_cursor = $2, state = $3, updated_at = $4
WHERE id = $5 AND lease_token = $6`, n, cur, state, s.cfg.Now().UTC(), b.ID, token)
		return leaseHeld(res, err)
	})
}

func (s *Service) enqueueStep(ctx context.Context, b backfillRow, token string) error {
	if s.cfg.Queue != nil {
		pending, _, known, err := backfillQueue(ctx, s.cfg.Queue)
		if err != nil {
			return err
		}
		if !known {
			return fmt.Errorf("no outbox subscription %s/%s on this database: Service.Subscribe is not wired", TopicBackfill, SubscriptionName)
		}
		if pending >= int64(s.cfg.BackfillPage) {
			return nil // the previous page is still queued: wait
		}
	}
	page, err := s.cfg.Dossiers.List(ctx, dossier.ListQuery{Actor: reader, ReceivedFrom: b.Since, Limit: s.cfg.BackfillPage, After: b.PageCursor})
	if err != nil {
		return fmt.Errorf("list dossiers: %w", err)
	}
	end := page.Next == ""
	now := s.cfg.Now().UTC()
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		var n int64
		for _, it := range page.Items {
			if err := outbox.Publish(ctx, tx, outbox.Event{Topic: TopicBackfill, Key: it.Code,
				Payload: BackfillEvent{Backfill: b.ID}, At: now}); err != nil {
				return err
			}
			n++
		}
		var res interface{ RowsAffected() (int64, error) }
		var err error
		if end {
			res, err = tx.ExecContext(ctx, `UPDATE nationalportal_backfills SET enqueued = enqueued + $1, pages = pages + 1,
	page_cursor = $2, state = 'enqueued', active = NULL, total = CASE WHEN total < enqueued + $1 THEN enqueued + $1 ELSE total END,
	updated_at = $3, finished_at = $3
WHERE id = $4 AND lease_token = $5`, n, page.Next, now, b.ID, token)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE nationalportal_backfills SET enqueued = enqueued + $1, pages = pages + 1,
	page_cursor = $2, updated_at = $3
WHERE id = $4 AND lease_token = $5`, n, page.Next, now, b.ID, token)
		}
		if err := leaseHeld(res, err); err != nil {
			return err
		}
		if end {
			return timer.Cancel(ctx, tx, TimerBackfill, timerKey)
		}
		return nil
	})
}

func leaseHeld(res interface{ RowsAffected() (int64, error) }, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errLeaseLost
	}
	return nil
}

// backfillQueue returns the deliveries of the backfill topic for the sync:
// pending, dead, and whether the subscription exists at all.
func backfillQueue(ctx context.Context, q QueueStats) (pending, dead int64, known bool, err error) {
	all, err := q(ctx)
	if err != nil {
		return 0, 0, false, fmt.Errorf("outbox stats: %w", err)
	}
	for _, st := range all {
		if st.Topic == TopicBackfill && st.Name == SubscriptionName {
			return st.Pending, st.Dead, true, nil
		}
	}
	return 0, 0, false, nil
}

func backfillDead(ctx context.Context, q QueueStats) (int64, error) {
	if q == nil {
		return 0, nil
	}
	_, dead, _, err := backfillQueue(ctx, q)
	return dead, err
}

// fireBackfill is the handler of TimerBackfill: one step, then the timer
// for the next (at once while counting, after BackfillPause while
// enqueueing, none once done).
func (s *Service) fireBackfill(ctx context.Context, _ timer.Timer) error {
	st, counted, err := s.backfillStep(ctx)
	now := s.cfg.Now()
	var next time.Time
	switch {
	case errors.Is(err, ErrBusy):
		next = now.Add(s.cfg.Lease)
	case err != nil:
		s.cfg.Logger.WarnContext(ctx, "nationalportal: backfill step", "err", err)
		next = now.Add(max(s.cfg.BackfillPause, time.Minute))
	case counted && st.Active():
		next = now
	case st.State == BackfillEnqueueing:
		next = now.Add(s.cfg.BackfillPause)
	default:
		return nil
	}
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		return timer.Set(ctx, tx, timer.Timer{Kind: TimerBackfill, Key: timerKey, DueAt: next})
	})
}

// noteBackfillEvent records, on the backfill that enqueued it, the failure
// of a sync request (the outbox retries it).
func (s *Service) noteBackfillEvent(ctx context.Context, ev outbox.Event, err error) {
	var e BackfillEvent
	if ev.Decode(&e) != nil || e.Backfill == 0 || errors.Is(err, ErrBusy) {
		return
	}
	noteBackfillError(ctx, s.db, e.Backfill, fmt.Errorf("%s: %w", ev.Key, err), s.cfg.Now())
}
