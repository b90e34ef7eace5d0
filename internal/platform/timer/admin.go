package timer

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Stats summarises the timers table for /metrics and the admin console.
type Stats struct {
	// Pending counts timers waiting to fire (including ones firing or waiting to
	// retry).
	Pending int64
	// Dead counts timers that failed MaxAttempts times.
	Dead int64
	// NextDue is when the earliest pending timer needs attention (zero if none):
	// if it is far in the past, no scheduler is running.
	NextDue time.Time
}

// Stats reports pending and dead timers of every kind.
func (s *Scheduler) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	r := s.db.Read()
	// Pending and NextDue read timers_next; dead timers are few.
	if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM timers WHERE status = 'pending'`).Scan(&st.Pending); err != nil {
		return st, fmt.Errorf("timer: stats: %w", err)
	}
	if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM timers WHERE status = 'dead'`).Scan(&st.Dead); err != nil {
		return st, fmt.Errorf("timer: stats: %w", err)
	}
	if st.Pending > 0 {
		if err := r.QueryRowContext(ctx, `SELECT next_at FROM timers WHERE status = 'pending' ORDER BY next_at, id LIMIT 1`).Scan(&st.NextDue); err != nil {
			return st, fmt.Errorf("timer: stats: %w", err)
		}
		st.NextDue = st.NextDue.UTC()
	}
	return st, nil
}

// DeadTimer is a timer that failed MaxAttempts times.
type DeadTimer struct {
	Timer
	Attempts  int
	LastError string
}

// DeadTimers lists dead timers by id, up to limit (default 50) after afterID.
func (s *Scheduler) DeadTimers(ctx context.Context, limit int, afterID int64) ([]DeadTimer, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT id, kind, timer_key, due_at, payload, attempts, last_error
FROM timers WHERE status = 'dead' AND id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("timer: list dead timers: %w", err)
	}
	defer rows.Close()
	var out []DeadTimer
	for rows.Next() {
		var t DeadTimer
		var payload string
		if err := rows.Scan(&t.ID, &t.Kind, &t.Key, &t.DueAt, &payload, &t.Attempts, &t.LastError); err != nil {
			return nil, fmt.Errorf("timer: list dead timers: %w", err)
		}
		t.DueAt, t.Payload, t.Attempt = t.DueAt.UTC(), json.RawMessage(payload), t.Attempts
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("timer: list dead timers: %w", err)
	}
	return out, nil
}

// Retry makes dead timer id due now with a fresh count of attempts. It returns
// ErrNotFound when id is not a dead timer.
func (s *Scheduler) Retry(ctx context.Context, id int64) error {
	res, err := s.db.Write().ExecContext(ctx, `UPDATE timers SET status = 'pending', attempts = 0, next_at = $1
WHERE id = $2 AND status = 'dead'`, s.cfg.Now().UTC(), id)
	if err != nil {
		return fmt.Errorf("timer: retry %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("timer: retry %d: %w", id, ErrNotFound)
	}
	wakeups.notify()
	return nil
}
