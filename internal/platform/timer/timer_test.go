package timer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
	"github.com/congso/congso/internal/platform/timer"
)

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func testLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

type slaPayload struct {
	Case string `json:"case"`
	Step int    `json:"step"`
}

func schedule(t *testing.T, d *db.DB, tm timer.Timer) int64 {
	t.Helper()
	var id int64
	err := d.Tx(context.Background(), func(tx *db.Tx) error {
		var err error
		id, err = timer.Schedule(context.Background(), tx, tm)
		return err
	})
	if err != nil {
		t.Fatalf("schedule: %v", err)
	}
	return id
}

func cancelTimer(t *testing.T, d *db.DB, kind, key string) {
	t.Helper()
	if err := d.Tx(context.Background(), func(tx *db.Tx) error {
		return timer.Cancel(context.Background(), tx, kind, key)
	}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
}

func fire(t *testing.T, s *timer.Scheduler) int {
	t.Helper()
	n, err := s.FireDue(context.Background())
	if err != nil {
		t.Fatalf("fire due: %v", err)
	}
	return n
}

// recorder is a handler that remembers what it fired.
type recorder struct {
	mu    sync.Mutex
	fired []string
	err   func(timer.Timer) error
}

func (r *recorder) handle(_ context.Context, tm timer.Timer) error {
	var p slaPayload
	if err := tm.Decode(&p); err != nil {
		return err
	}
	r.mu.Lock()
	r.fired = append(r.fired, fmt.Sprintf("%s/%s due %s %s#%d attempt %d", tm.Kind, tm.Key, tm.DueAt.Format(time.TimeOnly), p.Case, p.Step, tm.Attempt))
	r.mu.Unlock()
	if r.err != nil {
		return r.err(tm)
	}
	return nil
}

// String lists the firings sorted: handlers run concurrently, in no set order.
func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprint(slices.Sorted(slices.Values(r.fired)))
}

func TestFiresOnceAtDueTimeNotBefore(t *testing.T) {
	dbtest.Each(t, timer.Migrations(), func(t *testing.T, d *db.DB) {
		clk := &clock{t: t0}
		rec := &recorder{}
		s := timer.NewScheduler(d, timer.Config{Now: clk.Now, Logger: testLogger(t)})
		s.Handle("sla.warn", rec.handle)
		schedule(t, d, timer.Timer{Kind: "sla.warn", Key: "H1/2", DueAt: t0.Add(time.Hour), Payload: slaPayload{"H1", 2}})
		schedule(t, d, timer.Timer{Kind: "other.kind", Key: "x", DueAt: t0})

		if n := fire(t, s); n != 0 {
			t.Fatalf("fired %d timers an hour early", n)
		}
		clk.Set(t0.Add(time.Hour - time.Millisecond))
		if n := fire(t, s); n != 0 {
			t.Fatalf("fired %d timers a millisecond early", n)
		}
		clk.Set(t0.Add(time.Hour))
		if n := fire(t, s); n != 1 {
			t.Fatalf("fired %d timers at due time, want 1", n)
		}
		clk.Add(24 * time.Hour)
		if n := fire(t, s); n != 0 {
			t.Fatalf("fired %d more timers later, want the timer fired once", n)
		}
		if got, want := rec.String(), "[sla.warn/H1/2 due 09:00:00 H1#2 attempt 1]"; got != want {
			t.Fatalf("fired %s, want %s", got, want)
		}
		st, err := s.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// The timer of a kind nobody handles here is still waiting.
		if st.Pending != 1 || st.Dead != 0 || !st.NextDue.Equal(t0) {
			t.Fatalf("stats = %+v", st)
		}
	})
}

func TestScheduleValidates(t *testing.T) {
	dbtest.Each(t, timer.Migrations(), func(t *testing.T, d *db.DB) {
		for _, tm := range []timer.Timer{{Key: "k", DueAt: t0}, {Kind: "k", DueAt: t0}, {Kind: "k", Key: "k"}} {
			err := d.Tx(context.Background(), func(tx *db.Tx) error {
				_, err := timer.Schedule(context.Background(), tx, tm)
				return err
			})
			if !errors.Is(err, timer.ErrInvalid) {
				t.Errorf("Schedule(%+v) = %v, want ErrInvalid", tm, err)
			}
		}
	})
}

func TestCancel(t *testing.T) {
	dbtest.Each(t, timer.Migrations(), func(t *testing.T, d *db.DB) {
		clk := &clock{t: t0}
		rec := &recorder{}
		s := timer.NewScheduler(d, timer.Config{Now: clk.Now, Logger: testLogger(t)})
		s.Handle("sla", rec.handle)
		schedule(t, d, timer.Timer{Kind: "sla", Key: "a", DueAt: t0.Add(time.Minute), Payload: slaPayload{"A", 1}})
		schedule(t, d, timer.Timer{Kind: "sla", Key: "b", DueAt: t0.Add(time.Minute), Payload: slaPayload{"B", 1}})
		schedule(t, d, timer.Timer{Kind: "sla", Key: "c", DueAt: t0.Add(time.Minute), Payload: slaPayload{"C", 1}})
		cancelTimer(t, d, "sla", "a")
		cancelTimer(t, d, "sla", "never-scheduled")
		cancelTimer(t, d, "other", "b") // same key, another kind: b stays
		// A cancel in a transaction that rolls back leaves the timer.
		boom := errors.New("boom")
		err := d.Tx(context.Background(), func(tx *db.Tx) error {
			if err := timer.Cancel(context.Background(), tx, "sla", "c"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		clk.Add(time.Hour)
		fire(t, s)
		if got, want := rec.String(), "[sla/b due 08:01:00 B#1 attempt 1 sla/c due 08:01:00 C#1 attempt 1]"; got != want {
			t.Fatalf("fired %s, want %s", got, want)
		}
	})
}

func TestRescheduleReplaces(t *testing.T) {
	dbtest.Each(t, timer.Migrations(), func(t *testing.T, d *db.DB) {
		clk := &clock{t: t0}
		rec := &recorder{}
		s := timer.NewScheduler(d, timer.Config{Now: clk.Now, Logger: testLogger(t)})
		s.Handle("sla", rec.handle)
		id1 := schedule(t, d, timer.Timer{Kind: "sla", Key: "H1", DueAt: t0.Add(time.Hour), Payload: slaPayload{"H1", 1}})
		id2 := schedule(t, d, timer.Timer{Kind: "sla", Key: "H1", DueAt: t0.Add(2 * time.Hour), Payload: slaPayload{"H1", 2}})
		if id1 != id2 {
			t.Fatalf("rescheduling gave a new id %d, want %d", id2, id1)
		}
		clk.Set(t0.Add(time.Hour))
		if n := fire(t, s); n != 0 {
			t.Fatalf("fired at the replaced due time")
		}
		// Rescheduling earlier works too.
		schedule(t, d, timer.Timer{Kind: "sla", Key: "H1", DueAt: t0.Add(90 * time.Minute), Payload: slaPayload{"H1", 3}})
		clk.Set(t0.Add(90 * time.Minute))
		if n := fire(t, s); n != 1 {
			t.Fatalf("fired %d at the new due time, want 1", n)
		}
		clk.Set(t0.Add(3 * time.Hour))
		fire(t, s)
		if got, want := rec.String(), "[sla/H1 due 09:30:00 H1#3 attempt 1]"; got != want {
			t.Fatalf("fired %s, want %s", got, want)
		}
		// After firing, the same key can be scheduled again.
		schedule(t, d, timer.Timer{Kind: "sla", Key: "H1", DueAt: t0.Add(4 * time.Hour), Payload: slaPayload{"H1", 4}})
		clk.Set(t0.Add(4 * time.Hour))
		if n := fire(t, s); n != 1 {
			t.Fatalf("fired %d after scheduling a fired key again, want 1", n)
		}
	})
}

func TestRetriesWithBackoffThenGivesUp(t *testing.T) {
	dbtest.Each(t, timer.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := &clock{t: t0}
		healthy := false
		rec := &recorder{err: func(tm timer.Timer) error {
			if healthy {
				return nil
			}
			return fmt.Errorf("escalation failed (%d)", tm.Attempt)
		}}
		s := timer.NewScheduler(d, timer.Config{Now: clk.Now, Logger: testLogger(t), MaxAttempts: 3,
			BackoffBase: 10 * time.Second, Jitter: func() float64 { return 0 }})
		s.Handle("sla", rec.handle)
		schedule(t, d, timer.Timer{Kind: "sla", Key: "H1", DueAt: t0, Payload: slaPayload{"H1", 1}})
		steps := []struct {
			at   time.Duration
			want int
		}{
			{0, 1},                                // attempt 1 fails: retry after 5s
			{5*time.Second - time.Millisecond, 0}, //
			{5 * time.Second, 1},                  // attempt 2 fails: retry after 10s
			{15*time.Second - time.Millisecond, 0},
			{15 * time.Second, 1}, // attempt 3 fails: dead
			{24 * time.Hour, 0},
		}
		for i, st := range steps {
			clk.Set(t0.Add(st.at))
			if n := fire(t, s); n != st.want {
				t.Fatalf("step %d (t0+%v): fired %d, want %d; so far %s", i, st.at, n, st.want, rec)
			}
		}
		dead, err := s.DeadTimers(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) != 1 || dead[0].Key != "H1" || dead[0].Attempts != 3 || dead[0].LastError != "escalation failed (3)" {
			t.Fatalf("dead timers = %+v", dead)
		}
		if st, _ := s.Stats(ctx); st.Dead != 1 || st.Pending != 0 {
			t.Fatalf("stats = %+v", st)
		}
		healthy = true
		if err := s.Retry(ctx, dead[0].ID); err != nil {
			t.Fatal(err)
		}
		if n := fire(t, s); n != 1 {
			t.Fatalf("fired %d after retry, want 1", n)
		}
		if err := s.Retry(ctx, dead[0].ID); !errors.Is(err, timer.ErrNotFound) {
			t.Fatalf("retry of a fired timer: %v, want ErrNotFound", err)
		}
		if st, _ := s.Stats(ctx); st.Dead != 0 || st.Pending != 0 {
			t.Fatalf("stats = %+v", st)
		}
	})
}

func TestSurvivesRestart(t *testing.T) {
	dbtest.Each(t, timer.Migrations(), func(t *testing.T, d *db.DB) {
		clk := &clock{t: t0}
		// The first node runs for a while, then stops before the timers are due.
		first := timer.NewScheduler(d, timer.Config{Now: clk.Now, Logger: testLogger(t), PollInterval: time.Millisecond})
		first.Handle("sla", func(context.Context, timer.Timer) error { t.Error("fired before due"); return nil })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- first.Run(ctx) }()
		schedule(t, d, timer.Timer{Kind: "sla", Key: "a", DueAt: t0.Add(time.Hour), Payload: slaPayload{"A", 1}})
		schedule(t, d, timer.Timer{Kind: "sla", Key: "b", DueAt: t0.Add(2 * time.Hour), Payload: slaPayload{"B", 1}})
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}

		// A node that crashed while firing "b": it holds a lease that will expire.
		started, release := make(chan struct{}), make(chan struct{})
		// One worker: it records a's failure before it claims b.
		crashed := timer.NewScheduler(d, timer.Config{Now: clk.Now, Logger: testLogger(t), Lease: time.Minute, Workers: 1})
		crashed.Handle("sla", func(_ context.Context, tm timer.Timer) error {
			if tm.Key != "b" {
				return errors.New("not me")
			}
			close(started)
			<-release
			return nil
		})
		clk.Set(t0.Add(2 * time.Hour))
		go func() { crashed.FireDue(context.Background()) }()
		<-started
		defer close(release)

		// After the restart, a new scheduler fires what is pending.
		rec := &recorder{}
		second := timer.NewScheduler(d, timer.Config{Now: clk.Now, Logger: testLogger(t), Lease: time.Minute})
		second.Handle("sla", rec.handle)
		clk.Set(t0.Add(2*time.Hour + 30*time.Second))
		fire(t, second)
		if got := rec.String(); !strings.Contains(got, "sla/a") || strings.Contains(got, "sla/b") {
			t.Fatalf("fired %s: want a (pending) and not b (still leased)", got)
		}
		clk.Set(t0.Add(2*time.Hour + time.Minute))
		fire(t, second)
		if got, want := rec.String(), "[sla/a due 09:00:00 A#1 attempt 2 sla/b due 10:00:00 B#1 attempt 2]"; got != want {
			// a: its attempt 1 was the crashed node's "not me" failure.
			t.Fatalf("fired %s, want %s", got, want)
		}
	})
}

func TestConcurrentSchedulersFireEachTimerOnce(t *testing.T) {
	dbtest.Each(t, timer.Migrations(), func(t *testing.T, d *db.DB) {
		const timers = 200
		clk := &clock{t: t0.Add(time.Hour)}
		var mu sync.Mutex
		fired := map[string]int{}
		var total atomic.Int32
		all := make(chan struct{})
		handler := func(_ context.Context, tm timer.Timer) error {
			mu.Lock()
			fired[tm.Key]++
			mu.Unlock()
			time.Sleep(100 * time.Microsecond) // some work
			if total.Add(1) == timers {
				close(all)
			}
			return nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		for range 2 {
			s := timer.NewScheduler(d, timer.Config{Now: clk.Now, Logger: testLogger(t), PollInterval: 5 * time.Millisecond})
			s.Handle("sla", handler)
			wg.Go(func() {
				if err := s.Run(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		for i := 0; i < timers; i += 50 {
			err := d.Tx(context.Background(), func(tx *db.Tx) error {
				for j := i; j < i+50; j++ {
					due := t0.Add(time.Duration(j%7) * time.Minute)
					if _, err := timer.Schedule(context.Background(), tx, timer.Timer{Kind: "sla", Key: fmt.Sprint(j), DueAt: due}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-all:
		case <-time.After(60 * time.Second):
			t.Fatalf("fired %d of %d timers", total.Load(), timers)
		}
		cancel()
		wg.Wait()
		if len(fired) != timers {
			t.Fatalf("%d distinct timers fired, want %d", len(fired), timers)
		}
		for k, n := range fired {
			if n != 1 {
				t.Errorf("timer %s fired %d times", k, n)
			}
		}
	})
}

// sleeper replaces time.After: it records each requested sleep and wakes the
// sleeping scheduler when the test calls wake.
type sleeper struct {
	reqs chan time.Duration
	ch   chan time.Time
}

func newSleeper() *sleeper {
	return &sleeper{reqs: make(chan time.Duration, 1000), ch: make(chan time.Time)}
}

func (s *sleeper) After(d time.Duration) <-chan time.Time {
	select {
	case s.reqs <- d:
	default:
	}
	return s.ch
}

// waitFor waits until the scheduler asks to sleep for d.
func (s *sleeper) waitFor(t *testing.T, d time.Duration) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	var seen []time.Duration
	for {
		select {
		case got := <-s.reqs:
			if got == d {
				return
			}
			seen = append(seen, got)
		case <-timeout:
			t.Fatalf("scheduler never slept for %v (slept for %v)", d, seen)
		}
	}
}

func TestRunSleepsUntilTheNextDueTimer(t *testing.T) {
	dbtest.Each(t, timer.Migrations(), func(t *testing.T, d *db.DB) {
		clk := &clock{t: t0}
		sl := newSleeper()
		fired := make(chan string, 10)
		s := timer.NewScheduler(d, timer.Config{Now: clk.Now, After: sl.After, PollInterval: time.Hour, Logger: testLogger(t)})
		s.Handle("sla", func(_ context.Context, tm timer.Timer) error { fired <- tm.Key; return nil })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()

		sl.waitFor(t, time.Hour) // nothing scheduled: sleep the poll interval
		schedule(t, d, timer.Timer{Kind: "sla", Key: "late", DueAt: t0.Add(90 * time.Second)})
		sl.waitFor(t, 90*time.Second) // woken by the commit, sleeps until due
		schedule(t, d, timer.Timer{Kind: "sla", Key: "early", DueAt: t0.Add(30 * time.Second)})
		sl.waitFor(t, 30*time.Second) // an earlier timer shortens the sleep

		clk.Set(t0.Add(30 * time.Second))
		sl.ch <- clk.Now()
		if got := <-fired; got != "early" {
			t.Fatalf("fired %s, want early", got)
		}
		sl.waitFor(t, 60*time.Second)
		select {
		case k := <-fired:
			t.Fatalf("fired %s before its time", k)
		default:
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestQueriesUseTheNextIndex checks that the scheduler's per-poll queries read
// the partial index timers_next instead of scanning the table.
func TestQueriesUseTheNextIndex(t *testing.T) {
	dbtest.Each(t, timer.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		// A realistic table: many timers over the coming weeks, of a few kinds,
		// some dead. Statistics let the planners pick what production would.
		err := d.Tx(ctx, func(tx *db.Tx) error {
			for i := range 1000 {
				tm := timer.Timer{Kind: fmt.Sprint("kind", i%5), Key: fmt.Sprint(i), DueAt: t0.Add(time.Duration(i) * 20 * time.Minute)}
				if _, err := timer.Schedule(ctx, tx, tm); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, `UPDATE timers SET status = 'dead' WHERE id % 10 = 0`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write().ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(24 * time.Hour)
		queries := map[string][]any{
			`SELECT id FROM timers WHERE status = 'pending' AND next_at <= $1 AND kind IN ($2, $3) ORDER BY next_at, id LIMIT 4`: {now, "kind1", "kind2"},
			`SELECT next_at FROM timers WHERE status = 'pending' AND kind IN ($1, $2) ORDER BY next_at, id LIMIT 1`:              {"kind1", "kind2"},
		}
		for q, args := range queries {
			plan := explain(t, d, q, args...)
			t.Logf("%s\n%s", q, plan)
			if !strings.Contains(plan, "timers_next") {
				t.Errorf("%s\ndoes not use timers_next:\n%s", q, plan)
			}
			for _, bad := range []string{"TEMP B-TREE", "Sort", "Seq Scan", "SCAN timers\n"} {
				if strings.Contains(plan+"\n", bad) {
					t.Errorf("%s\nsorts or scans the table (%s):\n%s", q, bad, plan)
				}
			}
		}
	})
}

func explain(t *testing.T, d *db.DB, q string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	var lines []string
	err := d.Tx(ctx, func(tx *db.Tx) error {
		prefix := "EXPLAIN QUERY PLAN "
		if tx.Dialect == db.Postgres {
			prefix = "EXPLAIN "
		}
		rows, err := tx.QueryContext(ctx, prefix+q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	return strings.Join(lines, "\n")
}
