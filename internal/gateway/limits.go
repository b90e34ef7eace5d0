package gateway

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// quotaLimiter enforces rate and daily quotas across nodes. Usage lives in
// SQL per window (a second, or a day in Vietnam's time zone); each node
// leases tokens from it in chunks with one short transaction and spends
// them from memory, so the database sees a few writes per second per busy
// client × service, and the nodes together never pass the limit.
//
// A busy lease is topped up before it runs out, and a per-second lease
// gets its next window's first chunk in the last quarter of the second,
// both in the background: a call then waits for the database only at its
// first call of a window, or when the background lease failed. Without
// that, every call of the client × service arriving while a lease's
// transaction ran (each second, every chunk) waited for it. Small limits
// (chunks under prefetchMinChunk) are leased only when needed, so no node
// holds tokens ahead that another node could use.
type quotaLimiter struct {
	db     *db.DB
	now    func() time.Time
	mu     sync.Mutex
	leases map[string]*lease
	// Background leases (wg: Run waits for them); leases a call waited
	// for, and leases made ahead (for the tests).
	wg               sync.WaitGroup
	waited, prefetch atomic.Int64
	stopMu           sync.Mutex
	stopped          bool // no background lease begins any more
}

// stop waits for the background leases; none begins afterwards.
func (q *quotaLimiter) stop() {
	q.stopMu.Lock()
	q.stopped = true
	q.stopMu.Unlock()
	q.wg.Wait()
}

type lease struct {
	mu     sync.Mutex
	window int64
	left   int64
	empty  bool // the window is exhausted: answer 429 without asking SQL
	// refilling: a background lease runs; ahead holds the tokens it got
	// for window aheadWindow before that window began.
	refilling          bool
	aheadWindow, ahead int64
	// limit is the limit the tokens held were leased under: when the
	// registry changes it, they are dropped and the node asks SQL again
	// (a raised limit serves at once; a lowered one is not passed with
	// tokens of the old one).
	limit int64
}

// prefetchMinChunk is the smallest chunk leased ahead (a limit of 80 calls
// a second, or 800 a day).
const prefetchMinChunk = 8

func newQuotaLimiter(d *db.DB, now func() time.Time) *quotaLimiter {
	return &quotaLimiter{db: d, now: now, leases: map[string]*lease{}}
}

// vnOffset is Asia/Ho_Chi_Minh's fixed offset (no daylight saving).
const vnOffset = 7 * 3600

// refund gives back a token taken in window (when a later check refused
// the call), to this node's lease.
func (q *quotaLimiter) refund(key, kind string, window int64) {
	q.mu.Lock()
	l := q.leases[key+"|"+kind]
	q.mu.Unlock()
	if l == nil {
		return
	}
	l.mu.Lock()
	if l.window == window {
		l.left++
		l.empty = false
	}
	l.mu.Unlock()
}

// window returns the current window of a kind.
func (q *quotaLimiter) window(kind string) int64 {
	if kind == "s" {
		return q.now().Unix()
	}
	return (q.now().Unix() + vnOffset) / 86400
}

// take spends one call of client on service against limit for the window
// kind ("s" per second, "d" per day). It returns ok=false and the seconds
// until the window ends when the limit is reached.
//
// key is client + "|" + service.
func (q *quotaLimiter) take(ctx context.Context, key, client, service, kind string, limit int64) (bool, int, error) {
	now := q.now()
	var window int64
	var retry int
	switch kind {
	case "s":
		window = now.Unix()
		retry = 1
	default:
		local := now.Unix() + vnOffset
		window = local / 86400
		retry = int(86400 - local%86400)
	}
	key += "|" + kind
	q.mu.Lock()
	l := q.leases[key]
	if l == nil {
		l = &lease{}
		q.leases[key] = l
	}
	q.mu.Unlock()
	chunk := limit / 10
	if kind == "d" {
		chunk = limit / 100
	}
	chunk = max(1, min(chunk, 1000))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limit != limit {
		l.limit, l.left, l.empty, l.aheadWindow, l.ahead = limit, 0, false, 0, 0
	}
	if l.window != window {
		l.window, l.left, l.empty = window, 0, false
		if l.aheadWindow == window {
			l.left, l.empty = l.ahead, l.ahead == 0
		}
		l.aheadWindow, l.ahead = 0, 0
	}
	if l.left > 0 {
		l.left--
		q.prefetchLocked(l, client, service, kind, window, limit, chunk, now)
		return true, 0, nil
	}
	if l.empty {
		q.prefetchLocked(l, client, service, kind, window, limit, chunk, now)
		return false, retry, nil
	}
	q.waited.Add(1)
	got, err := q.lease(ctx, client, service, kind, window, limit, chunk)
	if err != nil {
		return false, 0, err
	}
	if got == 0 {
		l.empty = true
		return false, retry, nil
	}
	l.left = got - 1
	q.prefetchLocked(l, client, service, kind, window, limit, chunk, now)
	return true, 0, nil
}

// prefetchLocked starts a background lease when l runs low (a quarter of
// a chunk left) or, for a per-second lease, in the last quarter of the
// second when the next one has nothing yet. The caller holds l.mu.
func (q *quotaLimiter) prefetchLocked(l *lease, client, service, kind string, window, limit, chunk int64, now time.Time) {
	if chunk < prefetchMinChunk || l.refilling {
		return
	}
	target := window
	switch {
	case !l.empty && l.left < chunk/4:
	case kind == "s" && l.aheadWindow != window+1 && now.Nanosecond() >= 750_000_000:
		target = window + 1
	default:
		return
	}
	q.stopMu.Lock()
	if q.stopped {
		q.stopMu.Unlock()
		return
	}
	q.wg.Add(1) // never concurrently with stop's Wait
	q.stopMu.Unlock()
	l.refilling = true
	q.prefetch.Add(1)
	go func() {
		defer q.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		got, err := q.lease(ctx, client, service, kind, target, limit, chunk)
		cancel()
		l.mu.Lock()
		defer l.mu.Unlock()
		l.refilling = false
		switch {
		case err != nil: // the next call that runs out leases itself
		case l.limit != limit: // leased under a limit since changed: not used
		case target == l.window:
			l.left += got
			l.empty = l.empty || got == 0
		case target > l.window:
			l.aheadWindow, l.ahead = target, got
		} // a window already past: its tokens are not used
	}()
}

// lease moves up to chunk tokens of the window from SQL to this node.
func (q *quotaLimiter) lease(ctx context.Context, client, service, kind string, window, limit, chunk int64) (int64, error) {
	var got int64
	err := q.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_quota_usage (client, service_id, window_kind, window_start, used) VALUES ($1, $2, $3, $4, 0)
ON CONFLICT (client, service_id, window_kind, window_start) DO NOTHING`, client, service, kind, window); err != nil {
			return err
		}
		lock := ""
		if tx.Dialect == db.Postgres {
			lock = " FOR UPDATE"
		}
		var used int64
		if err := tx.QueryRowContext(ctx, `SELECT used FROM gateway_quota_usage WHERE client = $1 AND service_id = $2 AND window_kind = $3 AND window_start = $4`+lock,
			client, service, kind, window).Scan(&used); err != nil {
			return err
		}
		got = min(chunk, limit-used)
		if got <= 0 {
			got = 0
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE gateway_quota_usage SET used = used + $1 WHERE client = $2 AND service_id = $3 AND window_kind = $4 AND window_start = $5`,
			got, client, service, kind, window)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("lease quota %s %s: %w", client, service, err)
	}
	return got, nil
}

// clean forgets per-second windows older than a minute and daily windows
// older than two days.
func (q *quotaLimiter) clean(ctx context.Context) error {
	now := q.now().Unix()
	return q.db.Tx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM gateway_quota_usage WHERE (window_kind = 's' AND window_start < $1) OR (window_kind = 'd' AND window_start < $2)`,
			now-60, (now+vnOffset)/86400-2)
		return err
	})
}

// Usage returns the calls counted (leased by nodes) for client on service
// in the current second and day.
func (q *quotaLimiter) usage(ctx context.Context, client, service string) (perSecond, daily int64, err error) {
	now := q.now().Unix()
	for _, w := range []struct {
		kind  string
		start int64
		dst   *int64
	}{{"s", now, &perSecond}, {"d", (now + vnOffset) / 86400, &daily}} {
		err = q.db.Read().QueryRowContext(ctx, `SELECT used FROM gateway_quota_usage WHERE client = $1 AND service_id = $2 AND window_kind = $3 AND window_start = $4`,
			client, service, w.kind, w.start).Scan(w.dst)
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
		if err != nil {
			return 0, 0, err
		}
	}
	return perSecond, daily, nil
}

// admit refuses the calls of fail-closed services while time-stamping
// fails (tsa.go) or the client certificate's status is unknown (ocsp.go),
// then applies the client's quota on the service: concurrency (this
// node's share of the limit, see nodes.go), then the shared rate and daily
// windows.
func (rt *Runtime) admit(ctx context.Context, snap *snapshot, ex *exchange) *Fault {
	if rt.cfg.Log.stampFailing() && (ex.svc == nil || ex.svc.FailPolicy != FailOpen) {
		f := fault(http.StatusServiceUnavailable, FaultTimestamp, "the message log cannot be time-stamped; this service accepts no calls until it can")
		f.RetryAfter = 60
		return f
	}
	if ex.certUnchecked && (ex.svc == nil || ex.svc.FailPolicy != FailOpen) {
		return certStatusFault()
	}
	q, ok := snap.quotas[ex.qkey]
	if !ok {
		return nil
	}
	if q.MaxConcurrent > 0 {
		if f := rt.takeConcurrency(ctx, ex, q.MaxConcurrent); f != nil {
			return f
		}
	}
	type taken struct {
		kind   string
		window int64
	}
	var took []taken
	refund := func() {
		for _, t := range took {
			rt.quotas.refund(ex.qkey, t.kind, t.window)
		}
	}
	for _, w := range []struct {
		kind  string
		limit int64
		what  string
	}{{"s", q.RatePerSecond, "per second"}, {"d", q.Daily, "per day"}} {
		if w.limit <= 0 {
			continue
		}
		win := rt.quotas.window(w.kind)
		ok, retry, err := rt.quotas.take(ctx, ex.qkey, ex.cs, ex.us, w.kind, w.limit)
		if ok {
			took = append(took, taken{w.kind, win})
		}
		if err != nil {
			if ex.svc.FailPolicy == FailOpen {
				rt.cfg.Logger.Warn("gateway: quota store unreachable, letting the call through (fail-open)", "service", ex.service.String(), "err", err)
				continue
			}
			rt.release(snap, ex)
			refund()
			f := fault(http.StatusServiceUnavailable, FaultDatabase, "quotas cannot be checked now")
			f.RetryAfter = 1
			return f
		}
		if !ok {
			rt.release(snap, ex)
			refund()
			f := fault(http.StatusTooManyRequests, FaultQuota, fmt.Sprintf("quota of %d calls %s reached", w.limit, w.what))
			f.RetryAfter = retry
			return f
		}
	}
	return nil
}

const (
	concNone int8 = iota
	concLocal
	concSlot
)

// takeConcurrency counts the call against its client × service's limit of
// calls at a time: in this node's share of it when every live node has a
// share of at least one, else in the database's slots (slots.go).
func (rt *Runtime) takeConcurrency(ctx context.Context, ex *exchange, limit int64) *Fault {
	busy := func() *Fault {
		f := fault(http.StatusTooManyRequests, FaultQuota, fmt.Sprintf("at most %d calls at a time", limit))
		f.RetryAfter = 1
		return f
	}
	c := rt.cluster.Load()
	if int64(c.n) <= limit {
		v, _ := rt.conc.LoadOrStore(ex.qkey, new(atomic.Int64))
		if v.(*atomic.Int64).Add(1) > c.share(limit) {
			v.(*atomic.Int64).Add(-1)
			return busy()
		}
		ex.conc = concLocal
		return nil
	}
	timeout := 5 * time.Minute
	if ex.svc != nil && ex.svc.Timeout > 0 {
		timeout = ex.svc.Timeout
	}
	var inFlight int64 // this node's calls counted in its share, still running
	if v, ok := rt.conc.Load(ex.qkey); ok {
		inFlight = v.(*atomic.Int64).Load()
	}
	slot, err := rt.store.takeSlot(ctx, ex.qkey, limit, inFlight, rt.cfg.Node, ex.requestID, rt.cfg.Now().Add(timeout+slotMargin))
	switch {
	case err != nil && ex.svc != nil && ex.svc.FailPolicy == FailOpen:
		rt.cfg.Logger.Warn("gateway: concurrency slots unreachable, letting the call through (fail-open)", "service", ex.service.String(), "err", err)
		return nil
	case err != nil:
		rt.cfg.Logger.Error("gateway: concurrency slots unreachable", "service", ex.service.String(), "err", err)
		f := fault(http.StatusServiceUnavailable, FaultDatabase, "quotas cannot be checked now")
		f.RetryAfter = 1
		return f
	case slot < 0:
		return busy()
	}
	ex.conc, ex.slot = concSlot, slot
	return nil
}

// release ends a call admitted by admit.
func (rt *Runtime) release(_ *snapshot, ex *exchange) {
	switch ex.conc {
	case concLocal:
		if v, ok := rt.conc.Load(ex.qkey); ok {
			v.(*atomic.Int64).Add(-1)
		}
	case concSlot:
		// (the client may have left: the slot is freed all the same)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.store.giveSlot(ctx, ex.qkey, ex.slot, ex.requestID); err != nil {
			rt.cfg.Logger.Warn("gateway: concurrency slot not freed (it lapses with its time limit)", "service", ex.service.String(), "err", err)
		}
	}
	ex.conc = concNone
}

// breaker is a per-service circuit breaker: after n consecutive failures it
// opens for a cooldown, then lets one trial call through (half-open).
type breaker struct {
	mu        sync.Mutex
	failures  int
	openUntil time.Time
	trial     bool
}

func (rt *Runtime) breakerFor(key string) *breaker {
	rt.brMu.Lock()
	defer rt.brMu.Unlock()
	b := rt.breaker[key]
	if b == nil {
		b = &breaker{}
		rt.breaker[key] = b
	}
	return b
}

func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openUntil.IsZero() || now.Before(b.openUntil) && b.failures == 0 {
		return true
	}
	if now.Before(b.openUntil) {
		return false
	}
	if b.trial {
		return false
	}
	b.trial = true
	return true
}

// record takes an exchange's verdict. An exchange with none ends a
// half-open circuit's trial without closing or reopening it: the next call
// is the trial.
func (b *breaker) record(v verdict, now time.Time, n int, cooldown time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trial = false
	switch v {
	case noVerdict:
		return
	case healthy:
		b.failures, b.openUntil = 0, time.Time{}
		return
	}
	b.failures++
	if b.failures >= n {
		b.openUntil = now.Add(cooldown)
	}
}
