package outbox

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
	// ErrInvalid reports an event or subscription missing a required field.
	ErrInvalid = errors.New("outbox: invalid")
	// ErrNotFound reports an unknown dead letter or subscription.
	ErrNotFound = errors.New("outbox: not found")
)

// Event is something that happened in a module, for other modules to react to.
type Event struct {
	// ID is assigned by Publish; handlers use it to stay idempotent.
	ID int64
	// Topic names the kind of event, for example "dossier.received".
	Topic string
	// Key names the object the event is about, for example a dossier code.
	Key string
	// Payload is encoded as JSON by Publish. A handler receives it as a
	// json.RawMessage; use [Event.Decode].
	Payload any
	// At is when the event happened; Publish uses the current time when zero.
	At time.Time
	// Attempt counts deliveries of this event to this subscriber, from 1; set
	// for handlers only.
	Attempt int
}

// Decode unmarshals the payload of a delivered event into v.
func (e Event) Decode(v any) error {
	var raw []byte
	switch p := e.Payload.(type) {
	case json.RawMessage:
		raw = p
	case []byte:
		raw = p
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("decode event %d: %w", e.ID, err)
		}
		raw = b
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode event %d (%s): %w", e.ID, e.Topic, err)
	}
	return nil
}

// Publish records ev in the caller's transaction, with one pending delivery per
// subscription of ev.Topic. Nothing is delivered unless tx commits; after the
// commit, dispatchers in this process are woken at once (others notice at their
// next poll).
func Publish(ctx context.Context, tx *db.Tx, ev Event) error {
	if ev.Topic == "" {
		return fmt.Errorf("%w: event without topic", ErrInvalid)
	}
	payload, err := json.Marshal(ev.Payload)
	if err != nil {
		return fmt.Errorf("publish %s: encode payload: %w", ev.Topic, err)
	}
	at := ev.At
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	wake := func(n int64) error {
		if n > 0 {
			tx.AfterCommit(wakeups.notify)
		}
		return nil
	}
	if tx.Dialect == db.Postgres {
		// One statement, queued with the transaction's other deferred writes
		// (without a check, so that it may travel with the COMMIT); the
		// dispatchers are woken even if the topic has no subscriber.
		tx.AfterCommit(wakeups.notify)
		return tx.Defer(ctx, nil, "publish "+ev.Topic+" "+ev.Key, `WITH e AS (
	INSERT INTO outbox_events (topic, event_key, payload, created_at) VALUES ($1, $2, $3, $4) RETURNING id)
INSERT INTO outbox_deliveries (event_id, subscription_id, status, attempts, next_at, last_error)
SELECT e.id, s.id, 'pending', 0, $4, '' FROM e, outbox_subscriptions s WHERE s.topic = $1`, ev.Topic, ev.Key, string(payload), at)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox_events (topic, event_key, payload, created_at)
VALUES ($1, $2, $3, $4)`, ev.Topic, ev.Key, string(payload), at); err != nil {
		return fmt.Errorf("publish %s %s: %w", ev.Topic, ev.Key, err)
	}
	// The single write connection runs nothing between the two statements,
	// and AUTOINCREMENT ids only grow: the newest event is this one. (Not
	// last_insert_rowid(), which moves with each delivery inserted.)
	res, err := tx.ExecContext(ctx, `INSERT INTO outbox_deliveries (event_id, subscription_id, status, attempts, next_at, last_error)
SELECT (SELECT max(id) FROM outbox_events), id, 'pending', 0, $1, '' FROM outbox_subscriptions WHERE topic = $2`, at, ev.Topic)
	if err != nil {
		return fmt.Errorf("publish %s %s: deliveries: %w", ev.Topic, ev.Key, err)
	}
	n, _ := res.RowsAffected()
	return wake(n)
}

// Migrations returns the schema of the outbox (module "outbox").
func Migrations() []db.Migration {
	return []db.Migration{{Module: "outbox", Version: 1, Name: "events, subscriptions, deliveries", Up: `
CREATE TABLE outbox_events (
	id {{id}},
	topic TEXT NOT NULL,
	event_key TEXT NOT NULL,
	payload {{json}} NOT NULL,
	created_at {{time}} NOT NULL
);
CREATE INDEX outbox_events_created ON outbox_events (created_at);
CREATE TABLE outbox_subscriptions (
	id {{id}},
	topic TEXT NOT NULL,
	name TEXT NOT NULL,
	created_at {{time}} NOT NULL,
	UNIQUE (topic, name)
);
CREATE TABLE outbox_deliveries (
	id {{id}},
	event_id BIGINT NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
	subscription_id BIGINT NOT NULL REFERENCES outbox_subscriptions (id) ON DELETE CASCADE,
	status TEXT NOT NULL CHECK (status IN ('pending', 'dead')),
	attempts INTEGER NOT NULL,
	next_at {{time}} NOT NULL,
	claimed_until {{time}},
	claim_token TEXT,
	last_error TEXT NOT NULL,
	dead_at {{time}},
	UNIQUE (event_id, subscription_id)
);
-- Claims walk this index in next_at order and stop at the first row not yet due.
CREATE INDEX outbox_deliveries_due ON outbox_deliveries (next_at, id) WHERE status = 'pending';
CREATE INDEX outbox_deliveries_dead ON outbox_deliveries (id) WHERE status = 'dead';
CREATE INDEX outbox_deliveries_subscription ON outbox_deliveries (subscription_id);
`}}
}

// hub wakes the dispatchers of this process after a commit that published work.
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
		default: // already pending
		}
	}
}
