package timer

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/congso/congso/internal/platform/workqueue"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// Handler fires one timer. Returning an error retries it after a backoff. The
// context ends when the timer's lease ends.
type Handler func(ctx context.Context, t Timer) error

// Config tunes a Scheduler. The zero value gives the defaults.
type Config struct {
	// MaxAttempts is how many times a timer is fired before it is kept as dead
	// (default 10).
	MaxAttempts int
	// Workers bounds the handlers running at once on this node (default 4).
	Workers int
	// PollInterval is the longest Run sleeps, so that timers scheduled on other
	// nodes are noticed (default 30s).
	PollInterval time.Duration
	// Lease is how long a claimed timer belongs to this node (default 2m).
	Lease time.Duration
	// BackoffBase and BackoffMax bound the delay before a retry: attempt n waits
	// between half and all of min(BackoffBase·2^(n-1), BackoffMax)
	// (defaults 5s and 1h).
	BackoffBase, BackoffMax time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// After returns a channel that receives after d; Run sleeps with it
	// (default time.After). Tests inject it together with Now.
	After func(d time.Duration) <-chan time.Time
	// Jitter returns a number in [0, 1) that spreads retries (default random).
	Jitter func() float64
	// Logger receives handler failures and errors (default slog.Default()).
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
		c.PollInterval = 30 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 5 * time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.After == nil {
		c.After = time.After
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

// minWait keeps Run from spinning on a timer that is due but that another node
// is claiming right now.
const minWait = 50 * time.Millisecond

// Scheduler fires the timers of the kinds it handles. Declare handlers with
// Handle, then call Run (or FireDue).
type Scheduler struct {
	db  *db.DB
	cfg Config

	mu       sync.Mutex
	handlers map[string]Handler
	started  bool
	kinds    []string
}

// NewScheduler returns a Scheduler over d. It does no I/O.
func NewScheduler(d *db.DB, cfg Config) *Scheduler {
	return &Scheduler{db: d, cfg: cfg.withDefaults(), handlers: map[string]Handler{}}
}

// Handle declares the handler of timers of kind. Call it while wiring, before
// Run; it panics on a duplicate or late declaration (a programming error).
// Timers of kinds this Scheduler does not handle are left to other nodes.
func (s *Scheduler) Handle(kind string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == "" || h == nil {
		panic("timer: Handle needs a kind and a handler")
	}
	if s.started {
		panic("timer: Handle after Run")
	}
	if _, dup := s.handlers[kind]; dup {
		panic("timer: duplicate handler for " + kind)
	}
	s.handlers[kind] = h
}

// start freezes the set of handled kinds on first use.
func (s *Scheduler) start() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		for kind := range s.handlers {
			s.kinds = append(s.kinds, kind)
		}
		slices.Sort(s.kinds)
	}
	out := make([]any, len(s.kinds))
	for i, k := range s.kinds {
		out[i] = k
	}
	return out
}

// placeholders returns "$first, $first+1, ..." for n arguments.
func placeholders(first, n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(ph, ", ")
}

type claim struct {
	t       Timer
	token   string
	handler Handler
}

func (s *Scheduler) claim(ctx context.Context, n int) ([]claim, error) {
	kinds := s.start()
	if len(kinds) == 0 || n <= 0 {
		return nil, nil
	}
	now := s.cfg.Now().UTC()
	until := now.Add(s.cfg.Lease)
	token := newToken()
	var out []claim
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		out = out[:0]
		// Reads timers_next in order and stops after n due rows (see the package
		// comment for next_at); SKIP LOCKED passes over rows that another node
		// is claiming on PostgreSQL.
		rows, err := tx.QueryContext(ctx, `UPDATE timers
SET attempts = attempts + 1, claimed_until = $1, next_at = $1, claim_token = $2
WHERE id IN (SELECT id FROM timers
	WHERE status = 'pending' AND next_at <= $3 AND kind IN (`+placeholders(5, len(kinds))+`)
	ORDER BY next_at, id LIMIT $4`+s.db.ForUpdateSkipLocked()+`)
RETURNING id, kind, timer_key, due_at, payload, attempts`, append([]any{until, token, now, n}, kinds...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c claim
			var payload string
			if err := rows.Scan(&c.t.ID, &c.t.Kind, &c.t.Key, &c.t.DueAt, &payload, &c.t.Attempt); err != nil {
				return err
			}
			c.t.DueAt, c.t.Payload, c.token = c.t.DueAt.UTC(), json.RawMessage(payload), token
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("timer: claim: %w", err)
	}
	s.mu.Lock()
	for i := range out {
		out[i].handler = s.handlers[out[i].t.Kind]
	}
	s.mu.Unlock()
	return out, nil
}

// nextDue returns when the earliest pending timer of a handled kind needs
// attention (ok false if there is none), reading the first entries of
// timers_next.
func (s *Scheduler) nextDue(ctx context.Context) (next time.Time, ok bool, err error) {
	kinds := s.start()
	if len(kinds) == 0 {
		return time.Time{}, false, nil
	}
	err = s.db.Read().QueryRowContext(ctx, `SELECT next_at FROM timers
WHERE status = 'pending' AND kind IN (`+placeholders(1, len(kinds))+`)
ORDER BY next_at, id LIMIT 1`, kinds...).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("timer: next due: %w", err)
	}
	return next.UTC(), true, nil
}

// process fires one claimed timer and records the outcome. It keeps going when
// ctx is cancelled: shutdown waits for handlers in flight.
func (s *Scheduler) process(ctx context.Context, c claim) {
	ctx = context.WithoutCancel(ctx)
	hctx, cancel := context.WithTimeout(ctx, s.cfg.Lease)
	err := safeCall(hctx, c.handler, c.t)
	cancel()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	log := s.cfg.Logger.With("kind", c.t.Kind, "key", c.t.Key, "attempt", c.t.Attempt)
	var res sql.Result
	switch {
	case err == nil:
		res, err = s.db.Write().ExecContext(wctx, `DELETE FROM timers WHERE id = $1 AND claim_token = $2`, c.t.ID, c.token)
	case c.t.Attempt >= s.cfg.MaxAttempts:
		log.Error("timer: gave up firing", "err", err)
		res, err = s.db.Write().ExecContext(wctx, `UPDATE timers
SET status = 'dead', last_error = $1, claimed_until = NULL, claim_token = NULL
WHERE id = $2 AND claim_token = $3`, err.Error(), c.t.ID, c.token)
	default:
		next := s.cfg.Now().UTC().Add(Backoff(c.t.Attempt, s.cfg.BackoffBase, s.cfg.BackoffMax, s.cfg.Jitter()))
		log.Warn("timer: handler failed, will retry", "err", err, "retry_at", next)
		res, err = s.db.Write().ExecContext(wctx, `UPDATE timers
SET next_at = $1, last_error = $2, claimed_until = NULL, claim_token = NULL
WHERE id = $3 AND claim_token = $4`, next, err.Error(), c.t.ID, c.token)
	}
	// If the outcome is not stored, the lease expires and the timer fires again.
	if err != nil {
		log.Error("timer: record outcome", "err", err)
	} else if n, _ := res.RowsAffected(); n == 0 {
		log.Info("timer: rescheduled, cancelled or taken over while firing; outcome not recorded")
	}
}

func safeCall(ctx context.Context, h Handler, t Timer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return h(ctx, t)
}

// FireDue fires every timer that is due now, running up to Workers handlers at
// once, and returns how many firings it ran (successful or not). A failed timer
// is not fired again before its backoff ends. Useful for tests and one-off
// runs; servers use Run.
func (s *Scheduler) FireDue(ctx context.Context) (int, error) {
	return workqueue.Drain(ctx, s.cfg.Workers, s.claim, s.process)
}

// Run fires timers until ctx is cancelled, then waits for the handlers in
// flight and returns nil. Between firings it sleeps until the earliest pending
// timer, at most PollInterval, waking early when a transaction in this process
// schedules a timer or a handler finishes.
func (s *Scheduler) Run(ctx context.Context) error {
	wake := wakeups.add()
	defer wakeups.remove(wake)
	var wg sync.WaitGroup
	defer wg.Wait()
	finished := make(chan struct{}, s.cfg.Workers)
	inflight := 0
	for {
		if ctx.Err() != nil {
			return nil
		}
		free := s.cfg.Workers - inflight
		if free > 0 {
			batch, err := s.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				s.cfg.Logger.Error("timer: claim", "err", err)
			}
			for _, c := range batch {
				inflight++
				wg.Go(func() {
					s.process(ctx, c)
					finished <- struct{}{}
				})
			}
			free -= len(batch)
		}
		wait := s.cfg.PollInterval
		if free > 0 {
			next, ok, err := s.nextDue(ctx)
			if err != nil && ctx.Err() == nil {
				s.cfg.Logger.Error("timer: next due", "err", err)
			}
			if ok {
				wait = min(max(next.Sub(s.cfg.Now()), minWait), s.cfg.PollInterval)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-finished:
			inflight--
		case <-s.cfg.After(wait):
		}
	}
}

func newToken() string {
	var b [12]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}
