package timer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Sentinel errors.
var (
	// ErrInvalid reports a timer missing its kind, key or due time.
	ErrInvalid = errors.New("timer: invalid")
	// ErrNotFound reports an unknown dead timer.
	ErrNotFound = errors.New("timer: not found")
)

// Timer is a piece of work due at a given time.
type Timer struct {
	// ID is assigned by Schedule and kept when the timer is rescheduled.
	ID int64
	// Kind selects the handler, for example "workflow.step-sla".
	Kind string
	// Key names the timer within its kind, for example a case and step.
	Key string
	// DueAt is when the timer fires.
	DueAt time.Time
	// Payload is encoded as JSON by Schedule; a handler receives it as a
	// json.RawMessage (see [Timer.Decode]).
	Payload any
	// Attempt counts firings of this timer, from 1; set for handlers only.
	Attempt int
}

// Decode unmarshals the payload of a fired timer into v.
func (t Timer) Decode(v any) error {
	raw, ok := t.Payload.(json.RawMessage)
	if !ok {
		b, err := json.Marshal(t.Payload)
		if err != nil {
			return fmt.Errorf("decode timer %s/%s: %w", t.Kind, t.Key, err)
		}
		raw = b
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode timer %s/%s: %w", t.Kind, t.Key, err)
	}
	return nil
}

// Schedule creates the timer (t.Kind, t.Key) in the caller's transaction, or
// replaces its due time and payload if it exists (also reviving a dead timer),
// and returns its id. Schedulers in this process are woken after the commit.
// Callers that do not need the id use [Set], which saves a round trip on
// PostgreSQL.
func Schedule(ctx context.Context, tx *db.Tx, t Timer) (int64, error) {
	args, err := scheduleArgs(t)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := tx.QueryRowContext(ctx, scheduleSQL+` RETURNING id`, args...).Scan(&id); err != nil {
		return 0, fmt.Errorf("schedule timer %s/%s: %w", t.Kind, t.Key, err)
	}
	tx.AfterCommit(wakeups.notify)
	return id, nil
}

// Set is [Schedule] without the id: the write is deferred ([db.Tx.Defer]),
// so on PostgreSQL it is sent with the transaction's other deferred writes
// in one round trip; its error may then be reported when they are sent.
func Set(ctx context.Context, tx *db.Tx, t Timer) error {
	args, err := scheduleArgs(t)
	if err != nil {
		return err
	}
	if err := tx.Defer(ctx, nil, "schedule timer "+t.Kind+"/"+t.Key, scheduleSQL, args...); err != nil {
		return err
	}
	tx.AfterCommit(wakeups.notify)
	return nil
}

const scheduleSQL = `INSERT INTO timers
	(kind, timer_key, due_at, next_at, payload, status, attempts, last_error, scheduled_at)
VALUES ($1, $2, $3, $3, $4, 'pending', 0, '', $5)
ON CONFLICT (timer_key, kind) DO UPDATE SET
	due_at = excluded.due_at, next_at = excluded.next_at, payload = excluded.payload,
	status = 'pending', attempts = 0, claimed_until = NULL, claim_token = NULL,
	last_error = '', scheduled_at = excluded.scheduled_at`

func scheduleArgs(t Timer) ([]any, error) {
	if t.Kind == "" || t.Key == "" || t.DueAt.IsZero() {
		return nil, fmt.Errorf("%w: timer needs a kind, a key and a due time (%q, %q)", ErrInvalid, t.Kind, t.Key)
	}
	payload, err := json.Marshal(t.Payload)
	if err != nil {
		return nil, fmt.Errorf("schedule timer %s/%s: encode payload: %w", t.Kind, t.Key, err)
	}
	return []any{t.Kind, t.Key, t.DueAt.UTC(), string(payload), time.Now().UTC()}, nil
}

// Cancel deletes the timer (kind, key) in the caller's transaction. Cancelling a
// timer that does not exist (or already fired) is not an error. The write is
// deferred ([db.Tx.Defer]): on PostgreSQL its error may be reported when the
// transaction's deferred writes are sent.
func Cancel(ctx context.Context, tx *db.Tx, kind, key string) error {
	return tx.Defer(ctx, nil, "cancel timer "+kind+"/"+key, `DELETE FROM timers WHERE timer_key = $1 AND kind = $2`, key, kind)
}

// Migrations returns the schema of the timers (module "timer").
func Migrations() []db.Migration {
	return []db.Migration{{Module: "timer", Version: 1, Name: "timers", Up: `
CREATE TABLE timers (
	id {{id}},
	kind TEXT NOT NULL,
	timer_key TEXT NOT NULL,
	due_at {{time}} NOT NULL,
	next_at {{time}} NOT NULL,
	payload {{json}} NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('pending', 'dead')),
	attempts INTEGER NOT NULL,
	claimed_until {{time}},
	claim_token TEXT,
	last_error TEXT NOT NULL,
	scheduled_at {{time}} NOT NULL,
	-- Key first: an index led by kind would tempt SQLite's planner away from
	-- timers_next for the claim query's kind IN (...) filter.
	UNIQUE (timer_key, kind)
);
-- Claims and the scheduler's "when is the next timer" read this index in
-- next_at order and stop at the first row they need: never a full scan.
CREATE INDEX timers_next ON timers (next_at, id) WHERE status = 'pending';
`}}
}

// hub wakes the schedulers of this process after a commit that scheduled a timer.
type hub struct {
	mu sync.Mutex
	cs map[chan struct{}]struct{}
}

var wakeups = &hub{cs: map[chan struct{}]struct{}{}}

func (h *hub) add() chan struct{} {
	c := make(chan struct{}, 1)
	h.mu.Lock()
	h.cs[c] = struct{}{}
	h.mu.Unlock()
	return c
}

func (h *hub) remove(c chan struct{}) {
	h.mu.Lock()
	delete(h.cs, c)
	h.mu.Unlock()
}

func (h *hub) notify() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.cs {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}
