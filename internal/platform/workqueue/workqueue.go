// Package workqueue holds the loop that the outbox dispatcher and the timer
// scheduler share for one-off runs: claim a batch of due work, run it with
// bounded parallelism, repeat until nothing is due.
package workqueue

import (
	"context"
	"sync"
)

// Drain claims up to n items at a time with claim and runs each with process,
// n at once, until claim returns none; it returns how many items ran. It stops
// early with ctx's error when ctx is cancelled between batches.
func Drain[T any](ctx context.Context, n int, claim func(ctx context.Context, n int) ([]T, error), process func(ctx context.Context, item T)) (int, error) {
	total := 0
	for {
		batch, err := claim(ctx, n)
		if err != nil {
			return total, err
		}
		if len(batch) == 0 {
			return total, nil
		}
		var wg sync.WaitGroup
		for _, item := range batch {
			wg.Go(func() { process(ctx, item) })
		}
		wg.Wait()
		total += len(batch)
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}
