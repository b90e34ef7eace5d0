package outbox

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/congso/congso/internal/platform/workqueue"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Handler processes one delivered event. Returning an error schedules a retry.
// The context ends when the delivery's lease ends.
type Handler func(ctx context.Context, ev Event) error

// Config tunes a Dispatcher. The zero value gives the defaults.
type Config struct {
	// MaxAttempts is how many times a delivery is tried before it becomes a dead
	// letter (default 10).
	MaxAttempts int
	// Workers bounds the handlers running at once on this node (default 4).
	Workers int
	// PollInterval is how often Run looks for work it was not woken for, such as
	// events published on other nodes and retries coming due (default 5s).
	PollInterval time.Duration
	// Lease is how long a claimed delivery belongs to this node; a handler still
	// running after it loses its context and another node may retry (default 2m).
	Lease time.Duration
	// BackoffBase and BackoffMax bound the delay before a retry: attempt n waits
	// between half and all of min(BackoffBase·2^(n-1), BackoffMax)
	// (defaults 2s and 1h).
	BackoffBase, BackoffMax time.Duration
	// Retention is how long delivered events are kept before Run purges them
	// (default 7 days; negative keeps them forever).
	Retention time.Duration
	// BatchSize bounds the deliveries claimed by one query (default Workers).
	BatchSize int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Jitter returns a number in [0, 1) that spreads retries (default random).
	Jitter func() float64
	// Logger receives handler failures and worker errors (default slog.Default()).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 5 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 2 * time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = time.Hour
	}
	if c.Retention == 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.BatchSize <= 0 || c.BatchSize > c.Workers {
		c.BatchSize = c.Workers
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Jitter == nil {
		c.Jitter = rand.Float64
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Backoff returns the delay before the retry that follows failed attempt n (from
// 1): between half and all of min(base·2^(n-1), max), placed by jitter in [0, 1).
func Backoff(n int, base, max time.Duration, jitter float64) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d/2 + time.Duration(jitter*float64(d/2))
}

// Dispatcher delivers outbox events to the handlers subscribed on this node.
// Declare subscriptions with Subscribe, then call Run (or Drain).
type Dispatcher struct {
	db  *db.DB
	cfg Config

	mu         sync.Mutex
	subs       []subscription
	registered bool
	byID       map[int64]subscription
	idList     string // "1,2,3" for the claim query
}

type subscription struct {
	id          int64
	topic, name string
	handler     Handler
}

// NewDispatcher returns a Dispatcher over d. It does no I/O.
func NewDispatcher(d *db.DB, cfg Config) *Dispatcher {
	return &Dispatcher{db: d, cfg: cfg.withDefaults()}
}

// Subscribe declares that handler, known as name, receives every event of topic
// published once the subscription is registered. Call it while wiring, before
// Register or Run; it panics on a duplicate or late subscription (a programming
// error). The name identifies the subscriber across restarts and nodes: rename
// it and the old subscription keeps collecting deliveries until dropped
// ([Dispatcher.DropSubscription]).
func (d *Dispatcher) Subscribe(topic, name string, handler Handler) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if topic == "" || name == "" || handler == nil {
		panic("outbox: Subscribe needs a topic, a name and a handler")
	}
	if d.registered {
		panic("outbox: Subscribe after Register or Run")
	}
	for _, s := range d.subs {
		if s.topic == topic && s.name == name {
			panic(fmt.Sprintf("outbox: duplicate subscription %s/%s", topic, name))
		}
	}
	d.subs = append(d.subs, subscription{topic: topic, name: name, handler: handler})
}

// Register records this dispatcher's subscriptions in the database, so that
// events published from now on (by any node) get deliveries for them. Run and
// Drain call it; call it earlier at start-up so no event published before Run
// misses a new subscriber. It is safe to call more than once.
func (d *Dispatcher) Register(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.registered {
		return nil
	}
	byID := map[int64]subscription{}
	ids := make([]string, 0, len(d.subs))
	err := d.db.Tx(ctx, func(tx *db.Tx) error {
		clear(byID)
		ids = ids[:0]
		for _, s := range d.subs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox_subscriptions (topic, name, created_at) VALUES ($1, $2, $3)
ON CONFLICT (topic, name) DO NOTHING`, s.topic, s.name, d.cfg.Now().UTC()); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT id FROM outbox_subscriptions WHERE topic = $1 AND name = $2`,
				s.topic, s.name).Scan(&s.id); err != nil {
				return err
			}
			byID[s.id] = s
			ids = append(ids, strconv.FormatInt(s.id, 10))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("outbox: register subscriptions: %w", err)
	}
	d.byID, d.idList, d.registered = byID, strings.Join(ids, ","), true
	return nil
}

// claim is one delivery this node holds a lease on.
type claim struct {
	id, eventID int64
	sub         subscription
	token       string
	ev          Event
}

// claim leases up to n due deliveries of this dispatcher's subscriptions.
func (d *Dispatcher) claim(ctx context.Context, n int) ([]claim, error) {
	if d.idList == "" || n <= 0 {
		return nil, nil
	}
	now := d.cfg.Now().UTC()
	until := now.Add(d.cfg.Lease)
	token := newToken()
	var out []claim
	err := d.db.Tx(ctx, func(tx *db.Tx) error {
		out = out[:0]
		// The subquery walks outbox_deliveries_due and stops after n due rows.
		// SKIP LOCKED lets concurrent claimers on PostgreSQL pass over rows
		// another node is claiming. Moving next_at to the lease end takes the
		// row out of the due range until the lease expires.
		rows, err := tx.QueryContext(ctx, `UPDATE outbox_deliveries
SET attempts = attempts + 1, claimed_until = $1, next_at = $1, claim_token = $2
WHERE id IN (SELECT id FROM outbox_deliveries
	WHERE status = 'pending' AND next_at <= $3 AND `+subscriptionColumn(d.db.Dialect())+` IN (`+d.idList+`)
	ORDER BY next_at, id LIMIT $4`+d.db.ForUpdateSkipLocked()+`)
RETURNING id, event_id, subscription_id, attempts`, until, token, now, n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c claim
			var subID int64
			if err := rows.Scan(&c.id, &c.eventID, &subID, &c.ev.Attempt); err != nil {
				return err
			}
			c.sub, c.token = d.byID[subID], token
			out = append(out, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		return loadEvents(ctx, tx, out)
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: claim deliveries: %w", err)
	}
	return out, nil
}

// subscriptionColumn names subscription_id in the claim query. On SQLite a
// unary + hides the column's own index, which the planner would otherwise prefer
// for the IN list, sorting every pending row instead of reading the due index in
// order; PostgreSQL estimates the two plans well by itself.
func subscriptionColumn(d db.Dialect) string {
	if d == db.SQLite {
		return "+subscription_id"
	}
	return "subscription_id"
}

func loadEvents(ctx context.Context, q db.Querier, cs []claim) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = strconv.FormatInt(c.eventID, 10)
	}
	rows, err := q.QueryContext(ctx, `SELECT id, topic, event_key, payload, created_at FROM outbox_events WHERE id IN (`+strings.Join(ids, ",")+`)`)
	if err != nil {
		return err
	}
	defer rows.Close()
	evs := map[int64]Event{}
	for rows.Next() {
		var e Event
		var payload string
		if err := rows.Scan(&e.ID, &e.Topic, &e.Key, &payload, &e.At); err != nil {
			return err
		}
		e.Payload, e.At = json.RawMessage(payload), e.At.UTC()
		evs[e.ID] = e
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range cs {
		e := evs[cs[i].eventID]
		e.Attempt = cs[i].ev.Attempt
		cs[i].ev = e
	}
	return nil
}

func newToken() string {
	var b [12]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// process runs the handler of one claimed delivery and records the outcome. It
// keeps going when ctx is cancelled: shutdown waits for handlers in flight.
func (d *Dispatcher) process(ctx context.Context, c claim) {
	ctx = context.WithoutCancel(ctx)
	hctx, cancel := context.WithTimeout(ctx, d.cfg.Lease)
	err := safeCall(hctx, c.sub.handler, c.ev)
	cancel()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err == nil {
		res, werr := d.db.Write().ExecContext(wctx, `DELETE FROM outbox_deliveries WHERE id = $1 AND claim_token = $2`, c.id, c.token)
		d.checkRecorded(c, res, werr)
		return
	}
	now := d.cfg.Now().UTC()
	msg := err.Error()
	log := d.cfg.Logger.With("topic", c.ev.Topic, "subscriber", c.sub.name, "event", c.ev.ID, "attempt", c.ev.Attempt)
	if c.ev.Attempt >= d.cfg.MaxAttempts {
		log.Error("outbox: delivery dead-lettered", "err", msg)
		res, werr := d.db.Write().ExecContext(wctx, `UPDATE outbox_deliveries
SET status = 'dead', dead_at = $1, last_error = $2, claimed_until = NULL, claim_token = NULL
WHERE id = $3 AND claim_token = $4`, now, msg, c.id, c.token)
		d.checkRecorded(c, res, werr)
		return
	}
	next := now.Add(Backoff(c.ev.Attempt, d.cfg.BackoffBase, d.cfg.BackoffMax, d.cfg.Jitter()))
	log.Warn("outbox: delivery failed, will retry", "err", msg, "retry_at", next)
	res, werr := d.db.Write().ExecContext(wctx, `UPDATE outbox_deliveries
SET next_at = $1, last_error = $2, claimed_until = NULL, claim_token = NULL
WHERE id = $3 AND claim_token = $4`, next, msg, c.id, c.token)
	d.checkRecorded(c, res, werr)
}

// checkRecorded logs when an outcome could not be stored. Either way the
// delivery is not lost: its lease expires and it is tried again.
func (d *Dispatcher) checkRecorded(c claim, res interface{ RowsAffected() (int64, error) }, err error) {
	log := d.cfg.Logger.With("topic", c.ev.Topic, "subscriber", c.sub.name, "event", c.ev.ID)
	if err != nil {
		log.Error("outbox: record delivery outcome", "err", err)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		log.Warn("outbox: lease lost before the outcome was recorded; another worker owns the delivery")
	}
}

func safeCall(ctx context.Context, h Handler, ev Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return h(ctx, ev)
}

// Drain processes every delivery that is due now, running up to Workers
// handlers at once, and returns how many deliveries it ran (successful or not).
// Failed deliveries are not retried before their backoff ends. Useful for tests
// and one-off runs; servers use Run.
func (d *Dispatcher) Drain(ctx context.Context) (int, error) {
	if err := d.Register(ctx); err != nil {
		return 0, err
	}
	return workqueue.Drain(ctx, d.cfg.Workers, d.claim, d.process)
}

// Run delivers events until ctx is cancelled, then waits for the handlers in
// flight to finish and returns nil. It wakes when a transaction in this process
// publishes an event, when a handler finishes, and every PollInterval; it purges
// delivered events older than Retention about once an hour. It returns an error
// only if the subscriptions cannot be registered.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.Register(ctx); err != nil {
		return err
	}
	wake := wakeups.add()
	defer wakeups.remove(wake)
	var wg sync.WaitGroup
	defer wg.Wait()
	finished := make(chan struct{}, d.cfg.Workers)
	ticker := time.NewTicker(d.cfg.PollInterval)
	defer ticker.Stop()
	inflight := 0
	var lastPurge time.Time
	for {
		if ctx.Err() != nil {
			return nil
		}
		if free := d.cfg.Workers - inflight; free > 0 {
			batch, err := d.claim(ctx, min(free, d.cfg.BatchSize))
			if err != nil && ctx.Err() == nil {
				d.cfg.Logger.Error("outbox: claim", "err", err)
			}
			for _, c := range batch {
				inflight++
				wg.Go(func() {
					d.process(ctx, c)
					finished <- struct{}{}
				})
			}
			if len(batch) == min(free, d.cfg.BatchSize) && len(batch) < free {
				continue // a full batch: there may be more due work
			}
		}
		if now := d.cfg.Now(); d.cfg.Retention > 0 && now.Sub(lastPurge) >= time.Hour {
			lastPurge = now
			if _, err := d.Purge(ctx, now.Add(-d.cfg.Retention)); err != nil && ctx.Err() == nil {
				d.cfg.Logger.Error("outbox: purge", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-ticker.C:
		case <-finished:
			inflight--
		}
	}
}
