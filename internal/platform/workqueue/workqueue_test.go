package workqueue

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestDrainRunsEveryBatchBounded(t *testing.T) {
	left := 23
	var running, peak, ran atomic.Int32
	claim := func(ctx context.Context, n int) ([]int, error) {
		k := min(n, left)
		left -= k
		return make([]int, k), nil
	}
	n, err := Drain(context.Background(), 4, claim, func(ctx context.Context, _ int) {
		r := running.Add(1)
		for {
			p := peak.Load()
			if r <= p || peak.CompareAndSwap(p, r) {
				break
			}
		}
		ran.Add(1)
		running.Add(-1)
	})
	if err != nil || n != 23 || ran.Load() != 23 || peak.Load() > 4 {
		t.Fatalf("Drain = %d, %v; ran %d, peak parallelism %d (max 4)", n, err, ran.Load(), peak.Load())
	}
}

func TestDrainStopsOnClaimErrorAndCancel(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	n, err := Drain(context.Background(), 2, func(ctx context.Context, n int) ([]int, error) {
		calls++
		if calls == 2 {
			return nil, boom
		}
		return []int{1, 2}, nil
	}, func(context.Context, int) {})
	if !errors.Is(err, boom) || n != 2 {
		t.Fatalf("claim error: %d %v", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err = Drain(ctx, 2, func(ctx context.Context, n int) ([]int, error) { return []int{1}, nil },
		func(context.Context, int) { cancel() })
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("cancel: %d %v", n, err)
	}
}
