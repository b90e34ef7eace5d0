package outbox_test

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
	"github.com/congso/congso/internal/platform/outbox"
)

// clock is a settable clock shared by dispatchers in a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	// Ahead of the wall clock, so events published with the real time are due.
	return &clock{t: time.Date(2030, 1, 2, 8, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type payload struct {
	Code string `json:"code"`
	N    int    `json:"n"`
}

// testLogger shows the dispatcher's log only for failed or verbose tests.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func publish(t *testing.T, d *db.DB, evs ...outbox.Event) {
	t.Helper()
	err := d.Tx(context.Background(), func(tx *db.Tx) error {
		for _, ev := range evs {
			if err := outbox.Publish(context.Background(), tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func drain(t *testing.T, disp *outbox.Dispatcher) int {
	t.Helper()
	n, err := disp.Drain(context.Background())
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	return n
}

func count(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Read().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestEverySubscriberGetsEveryEventOfItsTopic(t *testing.T) {
	dbtest.Each(t, outbox.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := newClock()
		var mu sync.Mutex
		got := map[string][]string{}
		record := func(name string) outbox.Handler {
			return func(ctx context.Context, ev outbox.Event) error {
				var p payload
				if err := ev.Decode(&p); err != nil {
					return err
				}
				mu.Lock()
				got[name] = append(got[name], fmt.Sprintf("%s/%s/%s/%d", ev.Topic, ev.Key, p.Code, p.N))
				mu.Unlock()
				return nil
			}
		}
		disp := outbox.NewDispatcher(d, outbox.Config{Logger: testLogger(t), Now: clk.Now})
		disp.Subscribe("dossier.received", "notify", record("notify"))
		disp.Subscribe("dossier.received", "sync", record("sync"))
		disp.Subscribe("dossier.finished", "stats", record("stats"))
		if err := disp.Register(ctx); err != nil {
			t.Fatal(err)
		}
		publish(t, d,
			outbox.Event{Topic: "dossier.received", Key: "H1", Payload: payload{"H1", 1}},
			outbox.Event{Topic: "dossier.received", Key: "H2", Payload: payload{"H2", 2}},
		)
		publish(t, d, outbox.Event{Topic: "dossier.other", Key: "H3", Payload: payload{"H3", 3}})

		if n := drain(t, disp); n != 4 {
			t.Fatalf("drained %d deliveries, want 4 (2 events × 2 subscribers)", n)
		}
		want := "[dossier.received/H1/H1/1 dossier.received/H2/H2/2]"
		for _, name := range []string{"notify", "sync"} {
			slices.Sort(got[name]) // handlers run concurrently: no order is promised
			if fmt.Sprint(got[name]) != want {
				t.Errorf("%s got %v, want %s", name, got[name], want)
			}
		}
		if len(got["stats"]) != 0 {
			t.Errorf("stats got events of another topic: %v", got["stats"])
		}
		if n := drain(t, disp); n != 0 {
			t.Fatalf("second drain ran %d deliveries, want 0 (delivered events delivered again)", n)
		}

		// A subscriber that appears later receives new events but no history.
		late := outbox.NewDispatcher(d, outbox.Config{Logger: testLogger(t), Now: clk.Now})
		late.Subscribe("dossier.received", "late", record("late"))
		if n := drain(t, late); n != 0 {
			t.Fatalf("late subscriber received %d old events", n)
		}
		publish(t, d, outbox.Event{Topic: "dossier.received", Key: "H4", Payload: payload{"H4", 4}})
		drain(t, late)
		if fmt.Sprint(got["late"]) != "[dossier.received/H4/H4/4]" {
			t.Fatalf("late got %v", got["late"])
		}
	})
}

func TestRollbackPublishesNothing(t *testing.T) {
	dbtest.Each(t, outbox.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		calls := 0
		disp := outbox.NewDispatcher(d, outbox.Config{Logger: testLogger(t), Now: newClock().Now})
		disp.Subscribe("t", "s", func(context.Context, outbox.Event) error { calls++; return nil })
		if err := disp.Register(ctx); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("validation failed")
		err := d.Tx(ctx, func(tx *db.Tx) error {
			if err := outbox.Publish(ctx, tx, outbox.Event{Topic: "t", Key: "k"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("tx err = %v", err)
		}
		if n := drain(t, disp); n != 0 || calls != 0 {
			t.Fatalf("rolled-back event delivered: drained %d, calls %d", n, calls)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM outbox_events`); n != 0 {
			t.Fatalf("%d events stored after rollback", n)
		}
		err = d.Tx(ctx, func(tx *db.Tx) error { return outbox.Publish(ctx, tx, outbox.Event{Key: "no topic"}) })
		if !errors.Is(err, outbox.ErrInvalid) {
			t.Fatalf("publish without topic: %v, want ErrInvalid", err)
		}
	})
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		n      int
		jitter float64
		want   time.Duration
	}{
		{1, 0, 1 * time.Second},
		{1, 0.5, 1500 * time.Millisecond},
		{2, 0, 2 * time.Second},
		{3, 0.5, 6 * time.Second},
		{10, 0, 30 * time.Second}, // capped at 60s
		{50, 0.5, 45 * time.Second},
	}
	for _, tt := range tests {
		if got := outbox.Backoff(tt.n, 2*time.Second, time.Minute, tt.jitter); got != tt.want {
			t.Errorf("Backoff(%d, jitter %v) = %v, want %v", tt.n, tt.jitter, got, tt.want)
		}
	}
}

func TestFailedDeliveryIsRetriedAfterBackoff(t *testing.T) {
	dbtest.Each(t, outbox.Migrations(), func(t *testing.T, d *db.DB) {
		clk := newClock()
		var attempts []int
		disp := outbox.NewDispatcher(d, outbox.Config{Logger: testLogger(t),
			Now: clk.Now, BackoffBase: 10 * time.Second, Jitter: func() float64 { return 0.5 },
		})
		disp.Subscribe("t", "s", func(_ context.Context, ev outbox.Event) error {
			attempts = append(attempts, ev.Attempt)
			if ev.Attempt < 3 {
				return fmt.Errorf("gateway timeout %d", ev.Attempt)
			}
			return nil
		})
		if err := disp.Register(context.Background()); err != nil {
			t.Fatal(err)
		}
		publish(t, d, outbox.Event{Topic: "t", Key: "k"})

		// Attempt 1 fails at t0; with jitter 0.5 the retry waits 3/4 of 10s.
		steps := []struct {
			advance time.Duration
			want    int
		}{
			{0, 1},
			{7500*time.Millisecond - time.Millisecond, 0},
			{time.Millisecond, 1}, // attempt 2 fails; waits 3/4 of 20s
			{15*time.Second - time.Millisecond, 0},
			{time.Millisecond, 1}, // attempt 3 succeeds
			{time.Hour, 0},
		}
		for i, s := range steps {
			clk.Add(s.advance)
			if n := drain(t, disp); n != s.want {
				t.Fatalf("step %d (+%v): drained %d, want %d; attempts so far %v", i, s.advance, n, s.want, attempts)
			}
		}
		if fmt.Sprint(attempts) != "[1 2 3]" {
			t.Fatalf("attempts = %v", attempts)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM outbox_deliveries`); n != 0 {
			t.Fatalf("%d deliveries left after success", n)
		}
	})
}

func TestDeadLetterAfterMaxAttemptsThenRetry(t *testing.T) {
	dbtest.Each(t, outbox.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := newClock()
		healthy := false
		var seen []int
		disp := outbox.NewDispatcher(d, outbox.Config{Logger: testLogger(t), Now: clk.Now, MaxAttempts: 3})
		disp.Subscribe("dossier.received", "sms", func(_ context.Context, ev outbox.Event) error {
			seen = append(seen, ev.Attempt)
			if !healthy {
				return fmt.Errorf("sms gateway down (%d)", ev.Attempt)
			}
			return nil
		})
		if err := disp.Register(ctx); err != nil {
			t.Fatal(err)
		}
		publish(t, d, outbox.Event{Topic: "dossier.received", Key: "H1", Payload: payload{"H1", 7}})
		for range 5 {
			drain(t, disp)
			clk.Add(2 * time.Hour) // past any backoff
		}
		if fmt.Sprint(seen) != "[1 2 3]" {
			t.Fatalf("attempts = %v, want [1 2 3] then dead", seen)
		}
		dead, err := disp.DeadLetters(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) != 1 {
			t.Fatalf("dead letters = %+v, want 1", dead)
		}
		dl := dead[0]
		var p payload
		if err := dl.Event.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if dl.Attempts != 3 || dl.LastError != "sms gateway down (3)" || dl.Subscriber != "sms" ||
			dl.Event.Key != "H1" || p.N != 7 || dl.DeadAt.IsZero() {
			t.Fatalf("dead letter = %+v (payload %+v)", dl, p)
		}
		stats, err := disp.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(stats) != 1 || stats[0].Pending != 0 || stats[0].Dead != 1 {
			t.Fatalf("stats = %+v, want 1 dead, 0 pending", stats)
		}

		healthy = true
		if err := disp.RetryDeadLetter(ctx, dl.ID); err != nil {
			t.Fatal(err)
		}
		if n := drain(t, disp); n != 1 {
			t.Fatalf("retried dead letter: drained %d, want 1", n)
		}
		if fmt.Sprint(seen) != "[1 2 3 1]" {
			t.Fatalf("attempts = %v, want a fresh attempt 1 after retry", seen)
		}
		if dead, _ := disp.DeadLetters(ctx, 0, 0); len(dead) != 0 {
			t.Fatalf("dead letters after successful retry: %+v", dead)
		}
		if err := disp.RetryDeadLetter(ctx, dl.ID); !errors.Is(err, outbox.ErrNotFound) {
			t.Fatalf("retry of a delivered dead letter: %v, want ErrNotFound", err)
		}
	})
}

func TestExpiredLeaseIsRedelivered(t *testing.T) {
	dbtest.Each(t, outbox.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := newClock()
		started, release := make(chan struct{}), make(chan struct{})
		var calls atomic.Int32
		var attemptB int
		// Node A takes the delivery and hangs (as if it had crashed).
		a := outbox.NewDispatcher(d, outbox.Config{Logger: testLogger(t), Now: clk.Now, Lease: time.Minute})
		a.Subscribe("t", "s", func(context.Context, outbox.Event) error {
			calls.Add(1)
			close(started)
			<-release
			return nil
		})
		b := outbox.NewDispatcher(d, outbox.Config{Logger: testLogger(t), Now: clk.Now, Lease: time.Minute})
		b.Subscribe("t", "s", func(_ context.Context, ev outbox.Event) error {
			calls.Add(1)
			attemptB = ev.Attempt
			return nil
		})
		if err := a.Register(ctx); err != nil {
			t.Fatal(err)
		}
		publish(t, d, outbox.Event{Topic: "t", Key: "k"})
		aDone := make(chan error)
		go func() { _, err := a.Drain(ctx); aDone <- err }()
		<-started

		if n := drain(t, b); n != 0 {
			t.Fatalf("node B ran %d deliveries leased by node A", n)
		}
		clk.Add(time.Minute)
		if n := drain(t, b); n != 1 || attemptB != 2 {
			t.Fatalf("after lease expiry node B drained %d (attempt %d), want 1 (attempt 2)", n, attemptB)
		}
		close(release)
		if err := <-aDone; err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 2 {
			t.Fatalf("handler calls = %d, want 2", calls.Load())
		}
		if n := count(t, d, `SELECT COUNT(*) FROM outbox_deliveries`); n != 0 {
			t.Fatalf("%d deliveries left", n)
		}
		clk.Add(time.Hour)
		if n := drain(t, b); n != 0 {
			t.Fatalf("delivery ran again after both nodes finished: %d", n)
		}
	})
}

func TestConcurrentDispatchersNeverRunADeliveryTwiceAtOnce(t *testing.T) {
	dbtest.Each(t, outbox.Migrations(), func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const events = 200
		var mu sync.Mutex
		inflight, calls := map[int64]int{}, map[int64]int{}
		overlaps := 0
		done := make(chan struct{})
		var perNode [2]atomic.Int32
		handler := func(node int) outbox.Handler {
			return func(_ context.Context, ev outbox.Event) error {
				mu.Lock()
				inflight[ev.ID]++
				if inflight[ev.ID] > 1 {
					overlaps++
				}
				calls[ev.ID]++
				mu.Unlock()
				perNode[node].Add(1)
				time.Sleep(200 * time.Microsecond) // some work, so runs could overlap
				mu.Lock()
				inflight[ev.ID]--
				if len(calls) == events {
					select {
					case <-done:
					default:
						close(done)
					}
				}
				mu.Unlock()
				return nil
			}
		}
		var wg sync.WaitGroup
		for node := range 2 {
			disp := outbox.NewDispatcher(d, outbox.Config{Logger: testLogger(t), Workers: 4, PollInterval: 5 * time.Millisecond})
			disp.Subscribe("t", "s", handler(node))
			if err := disp.Register(ctx); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				if err := disp.Run(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		for i := 0; i < events; i += 20 {
			var batch []outbox.Event
			for j := i; j < i+20; j++ {
				batch = append(batch, outbox.Event{Topic: "t", Key: fmt.Sprint(j)})
			}
			publish(t, d, batch...)
		}
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("only %d of %d events delivered", len(calls), events)
		}
		cancel()
		wg.Wait()
		if overlaps != 0 {
			t.Fatalf("%d concurrent runs of the same delivery", overlaps)
		}
		for id, n := range calls {
			if n != 1 {
				t.Errorf("event %d delivered %d times, want once in normal operation", id, n)
			}
		}
		t.Logf("node 0 ran %d, node 1 ran %d", perNode[0].Load(), perNode[1].Load())
		if n := count(t, d, `SELECT COUNT(*) FROM outbox_deliveries`); n != 0 {
			t.Fatalf("%d deliveries left", n)
		}
	})
}

func TestRunWakesOnCommitAndWaitsForHandlersOnShutdown(t *testing.T) {
	dbtest.Each(t, outbox.Migrations(), func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		started, release := make(chan struct{}), make(chan struct{})
		var finished atomic.Bool
		// An hour between polls: only the commit's wake-up can start the handler.
		disp := outbox.NewDispatcher(d, outbox.Config{Logger: testLogger(t), PollInterval: time.Hour})
		disp.Subscribe("t", "s", func(hctx context.Context, ev outbox.Event) error {
			close(started)
			<-release
			if hctx.Err() != nil {
				return hctx.Err() // shutdown must not cancel a running handler
			}
			finished.Store(true)
			return nil
		})
		if err := disp.Register(ctx); err != nil {
			t.Fatal(err)
		}
		runDone := make(chan error)
		go func() { runDone <- disp.Run(ctx) }()
		publish(t, d, outbox.Event{Topic: "t", Key: "k"})
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not wake after the commit")
		}
		cancel()
		select {
		case err := <-runDone:
			t.Fatalf("Run returned (%v) while a handler was running", err)
		default:
		}
		close(release)
		if err := <-runDone; err != nil {
			t.Fatal(err)
		}
		if !finished.Load() {
			t.Fatal("handler did not finish before Run returned")
		}
		if n := count(t, d, `SELECT COUNT(*) FROM outbox_deliveries`); n != 0 {
			t.Fatalf("outcome of the in-flight handler not recorded: %d deliveries left", n)
		}
	})
}

func TestStatsPurgeAndDropSubscription(t *testing.T) {
	dbtest.Each(t, outbox.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := newClock()
		disp := outbox.NewDispatcher(d, outbox.Config{Logger: testLogger(t), Now: clk.Now, MaxAttempts: 1})
		disp.Subscribe("t", "ok", func(context.Context, outbox.Event) error { return nil })
		disp.Subscribe("t", "broken", func(context.Context, outbox.Event) error { return errors.New("no") })
		if err := disp.Register(ctx); err != nil {
			t.Fatal(err)
		}
		at := time.Date(2029, 12, 1, 0, 0, 0, 0, time.UTC)
		publish(t, d, outbox.Event{Topic: "t", Key: "1", At: at}, outbox.Event{Topic: "t", Key: "2", At: at.Add(time.Hour)})
		stats, err := disp.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%+v", stats) != fmt.Sprintf("%+v", []outbox.SubscriptionStats{
			{Topic: "t", Name: "broken", Pending: 2, OldestPending: at},
			{Topic: "t", Name: "ok", Pending: 2, OldestPending: at},
		}) {
			t.Fatalf("stats = %+v", stats)
		}
		drain(t, disp)
		stats, _ = disp.Stats(ctx)
		if stats[0].Dead != 2 || stats[0].Pending != 0 || stats[1].Pending != 0 || !stats[1].OldestPending.IsZero() {
			t.Fatalf("stats after drain = %+v", stats)
		}
		// Events with a dead letter are kept.
		if n, err := disp.Purge(ctx, clk.Now()); err != nil || n != 0 {
			t.Fatalf("purge = %d, %v; want 0 (dead letters keep their events)", n, err)
		}
		if err := disp.DropSubscription(ctx, "t", "broken"); err != nil {
			t.Fatal(err)
		}
		if err := disp.DropSubscription(ctx, "t", "broken"); !errors.Is(err, outbox.ErrNotFound) {
			t.Fatalf("second drop: %v", err)
		}
		if n, err := disp.Purge(ctx, at.Add(time.Minute)); err != nil || n != 1 {
			t.Fatalf("purge before the second event = %d, %v; want 1", n, err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM outbox_events`); n != 1 {
			t.Fatalf("%d events left, want 1", n)
		}
	})
}

// TestClaimUsesTheDueIndex checks the plan of the claim query, which runs on
// every poll of every node, on a table holding a backlog.
func TestClaimUsesTheDueIndex(t *testing.T) {
	dbtest.Each(t, outbox.Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		disp := outbox.NewDispatcher(d, outbox.Config{Logger: testLogger(t)})
		for i := range 4 {
			disp.Subscribe("t", fmt.Sprint("s", i), func(context.Context, outbox.Event) error { return nil })
		}
		if err := disp.Register(ctx); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var evs []outbox.Event
		for i := range 300 {
			evs = append(evs, outbox.Event{Topic: "t", Key: fmt.Sprint(i), At: start.Add(time.Duration(i) * time.Minute)})
		}
		publish(t, d, evs...)
		if _, err := d.Write().ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
		col := "subscription_id"
		if d.Dialect() == db.SQLite {
			col = "+subscription_id" // as the dispatcher writes it
		}
		q := `SELECT id FROM outbox_deliveries
	WHERE status = 'pending' AND next_at <= $1 AND ` + col + ` IN (1, 2, 3, 4)
	ORDER BY next_at, id LIMIT 4`
		plan := explain(t, d, q, start.Add(time.Hour))
		t.Logf("%s\n%s", q, plan)
		if !strings.Contains(plan, "outbox_deliveries_due") {
			t.Fatalf("claim does not use outbox_deliveries_due:\n%s", plan)
		}
		for _, bad := range []string{"TEMP B-TREE", "Sort", "Seq Scan"} {
			if strings.Contains(plan, bad) {
				t.Fatalf("claim sorts or scans (%s):\n%s", bad, plan)
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
