package dossier

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// §5: a transaction that takes a number and then fails gives it back, so
// committed codes have no gap, whatever the interleaving, on both engines.
func TestSequenceRollbackLeavesNoGap(t *testing.T) {
	dbtest.Each(t, Migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		errBoom := errors.New("boom")
		var mu sync.Mutex
		var committed []int
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var n int
				err := d.Tx(ctx, func(tx *db.Tx) error {
					var err error
					if n, err = nextSeq(ctx, tx, "000.00.13.H99", "260302"); err != nil {
						return err
					}
					if i%4 == 0 {
						return errBoom // e.g. the workflow refused after the number was taken
					}
					return nil
				})
				if err != nil && !errors.Is(err, errBoom) {
					t.Error(err)
					return
				}
				if err == nil {
					mu.Lock()
					committed = append(committed, n)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		slices.Sort(committed)
		for i, n := range committed {
			if n != i+1 {
				t.Fatalf("committed numbers %v: gap or duplicate at %d", committed, i+1)
			}
		}
		if len(committed) != 45 {
			t.Fatalf("%d committed, want 45", len(committed))
		}
	})
}
