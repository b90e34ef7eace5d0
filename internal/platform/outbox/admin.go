package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// DeadLetter is a delivery that failed MaxAttempts times and waits for an
// administrator.
type DeadLetter struct {
	// ID identifies the delivery for RetryDeadLetter.
	ID         int64
	Event      Event
	Subscriber string
	Attempts   int
	LastError  string
	DeadAt     time.Time
}

// DeadLetters lists dead letters, newest first, up to limit (default 50) with an
// ID below beforeID when beforeID > 0 (for paging).
func (d *Dispatcher) DeadLetters(ctx context.Context, limit int, beforeID int64) ([]DeadLetter, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	rows, err := d.db.Read().QueryContext(ctx, `SELECT d.id, d.attempts, d.last_error, d.dead_at, s.name,
	e.id, e.topic, e.event_key, e.payload, e.created_at
FROM outbox_deliveries d
JOIN outbox_subscriptions s ON s.id = d.subscription_id
JOIN outbox_events e ON e.id = d.event_id
WHERE d.status = 'dead' AND d.id < $1
ORDER BY d.id DESC LIMIT $2`, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: list dead letters: %w", err)
	}
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		var l DeadLetter
		var payload string
		if err := rows.Scan(&l.ID, &l.Attempts, &l.LastError, &l.DeadAt, &l.Subscriber,
			&l.Event.ID, &l.Event.Topic, &l.Event.Key, &payload, &l.Event.At); err != nil {
			return nil, fmt.Errorf("outbox: list dead letters: %w", err)
		}
		l.DeadAt, l.Event.At = l.DeadAt.UTC(), l.Event.At.UTC()
		l.Event.Payload, l.Event.Attempt = json.RawMessage(payload), l.Attempts
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: list dead letters: %w", err)
	}
	return out, nil
}

// RetryDeadLetter makes dead letter id due now with a fresh count of attempts
// (its last error is kept until the next attempt). It returns ErrNotFound when
// id is not a dead letter.
func (d *Dispatcher) RetryDeadLetter(ctx context.Context, id int64) error {
	res, err := d.db.Write().ExecContext(ctx, `UPDATE outbox_deliveries
SET status = 'pending', attempts = 0, next_at = $1, dead_at = NULL
WHERE id = $2 AND status = 'dead'`, d.cfg.Now().UTC(), id)
	if err != nil {
		return fmt.Errorf("outbox: retry dead letter %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("outbox: retry dead letter %d: %w", id, ErrNotFound)
	}
	wakeups.notify()
	return nil
}

// SubscriptionStats counts the deliveries waiting for one subscription.
type SubscriptionStats struct {
	Topic, Name string
	// Pending counts deliveries not yet done (due, leased or waiting to retry).
	Pending int64
	// Dead counts dead letters.
	Dead int64
	// OldestPending is when the oldest pending event happened (zero if none):
	// now minus it is the subscriber's lag.
	OldestPending time.Time
}

// Stats reports pending and dead deliveries per subscription, for /metrics and
// the admin console. Subscriptions with nothing waiting are included.
func (d *Dispatcher) Stats(ctx context.Context) ([]SubscriptionStats, error) {
	// The deliveries table holds only undelivered rows, so this stays small.
	rows, err := d.db.Read().QueryContext(ctx, `SELECT s.topic, s.name,
	(SELECT COUNT(*) FROM outbox_deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending'),
	(SELECT COUNT(*) FROM outbox_deliveries d WHERE d.subscription_id = s.id AND d.status = 'dead'),
	(SELECT e.created_at FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id
		WHERE d.subscription_id = s.id AND d.status = 'pending' ORDER BY d.event_id LIMIT 1)
FROM outbox_subscriptions s ORDER BY s.topic, s.name`)
	if err != nil {
		return nil, fmt.Errorf("outbox: stats: %w", err)
	}
	defer rows.Close()
	var out []SubscriptionStats
	for rows.Next() {
		var s SubscriptionStats
		var oldest any
		if err := rows.Scan(&s.Topic, &s.Name, &s.Pending, &s.Dead, &oldest); err != nil {
			return nil, fmt.Errorf("outbox: stats: %w", err)
		}
		if s.OldestPending, err = timeValue(oldest); err != nil {
			return nil, fmt.Errorf("outbox: stats: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox: stats: %w", err)
	}
	return out, nil
}

// DropSubscription removes a subscription that no code handles any more, with
// its pending deliveries and dead letters. Events published afterwards no longer
// get deliveries for it (until a dispatcher registers it again). It returns
// ErrNotFound for an unknown subscription.
func (d *Dispatcher) DropSubscription(ctx context.Context, topic, name string) error {
	res, err := d.db.Write().ExecContext(ctx, `DELETE FROM outbox_subscriptions WHERE topic = $1 AND name = $2`, topic, name)
	if err != nil {
		return fmt.Errorf("outbox: drop subscription %s/%s: %w", topic, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("outbox: drop subscription %s/%s: %w", topic, name, ErrNotFound)
	}
	return nil
}

// Purge deletes events that happened before cutoff and have no delivery left
// (every subscriber got them), in batches, and returns how many it deleted.
// Events with a pending delivery or a dead letter are kept.
func (d *Dispatcher) Purge(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		res, err := d.db.Write().ExecContext(ctx, `DELETE FROM outbox_events WHERE id IN (
	SELECT e.id FROM outbox_events e
	WHERE e.created_at < $1 AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.event_id = e.id)
	ORDER BY e.created_at LIMIT 1000)`, cutoff.UTC())
		if err != nil {
			return total, fmt.Errorf("outbox: purge: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 1000 || ctx.Err() != nil {
			return total, nil
		}
	}
}

// timeValue reads a time computed by a subquery: SQLite returns such values as
// text because they have no declared column type.
func timeValue(v any) (time.Time, error) {
	switch t := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return t.UTC(), nil
	case string:
		return parseSQLiteTime(t)
	case []byte:
		return parseSQLiteTime(string(t))
	}
	return time.Time{}, fmt.Errorf("unexpected time value %T", v)
}

func parseSQLiteTime(s string) (time.Time, error) {
	for _, f := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(f, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unexpected time text %q", s)
}
