package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// integration §quotas: a busy client × service leases its tokens ahead,
// in the background: after its first call of a second, no call waits for
// the database, the next second's first tokens are there before it
// begins, and the limit still holds to the call.
func TestQuotaLeasesAhead(t *testing.T) {
	dbtest.Each(t, Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var at atomic.Int64
		at.Store(time.Date(2026, 3, 2, 10, 0, 0, 100_000_000, time.UTC).UnixNano())
		q := newQuotaLimiter(d, func() time.Time { return time.Unix(0, at.Load()) })
		take := func() bool {
			ok, _, err := q.take(ctx, "k", "c", "s", "s", 1000)
			check(t, err)
			return ok
		}
		// 1,000 calls a second: chunks of 100, topped up below 25.
		for i := range 1000 {
			if !take() {
				t.Fatalf("call %d refused within the limit", i+1)
			}
			if i%10 == 0 {
				q.wg.Wait() // the background lease lands, as it would between calls
			}
		}
		if w := q.waited.Load(); w != 1 {
			t.Errorf("calls waited for %d leases, want 1 (the first)", w)
		}
		if take() {
			t.Fatal("call 1,001 of the second let through")
		}
		q.wg.Wait()
		// In the second's last quarter, the next second is leased ahead.
		at.Store(time.Date(2026, 3, 2, 10, 0, 0, 800_000_000, time.UTC).UnixNano())
		take()
		q.wg.Wait()
		at.Store(time.Date(2026, 3, 2, 10, 0, 1, 0, time.UTC).UnixNano())
		waited := q.waited.Load()
		if !take() || q.waited.Load() != waited {
			t.Errorf("the next second's first call waited for a lease (%d, then %d)", waited, q.waited.Load())
		}
		q.wg.Wait()
	})
}

// Two nodes leasing ahead, each with concurrent calls, never let more than
// the limit through.
func TestQuotaLeasesAheadKeepTheLimitAcrossNodes(t *testing.T) {
	dbtest.Each(t, Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clock := func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 900_000_000, time.UTC) }
		var ok atomic.Int64
		var wg sync.WaitGroup
		for range 2 {
			q := newQuotaLimiter(d, clock)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						got, _, err := q.take(ctx, "k", "c", "s", "s", 500)
						if err != nil {
							t.Error(err)
							return
						}
						if !got {
							return
						}
						ok.Add(1)
					}
				}()
			}
			defer q.wg.Wait()
		}
		wg.Wait()
		// Never more than the limit; fewer only by what a node leased and
		// its calls had stopped asking for (at most a chunk per node).
		if n := ok.Load(); n > 500 || n < 500-2*50 {
			t.Fatalf("%d calls through a limit of 500", n)
		}
	})
}
