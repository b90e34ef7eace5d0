package db_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/platform/db"
)

// The write-ahead log stays bounded under writes that never pause, although
// the writer no longer checkpoints inside its commits, and closing leaves
// everything in the database file.
func TestBackgroundCheckpointBoundsTheLog(t *testing.T) {
	if testing.Short() {
		t.Skip("writes about 150 MB")
	}
	// Small thresholds, so that a short test sees many restarts: a log of
	// 256 pages (1 MB) is restarted, checked every 20 ms.
	defer db.SetCheckpointing(20*time.Millisecond, 256)()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ckpt.db")
	d, err := db.Open(ctx, path, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(ctx, []db.Migration{{Module: "c", Version: 1, Name: "blobs", Up: `CREATE TABLE blobs (k INTEGER PRIMARY KEY, v BLOB NOT NULL)`}}); err != nil {
		t.Fatal(err)
	}
	// Eight writers without pause (commit groups back to back, as under
	// the gateway's load), each write rewriting a 16 KB row: about 180 MB
	// go through the log.
	const writers, perWriter = 8, 1100
	var maxWAL atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			blob := make([]byte, 16<<10)
			for i := 0; i < perWriter; i++ {
				k := w*perWriter + i
				blob[0] = byte(k)
				if err := d.Tx(ctx, func(tx *db.Tx) error {
					_, err := tx.ExecContext(ctx, `INSERT INTO blobs (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, k%64, blob)
					return err
				}); err != nil {
					errs <- err
					return
				}
				if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > maxWAL.Load() {
					maxWAL.Store(st.Size())
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const commits = writers * perWriter
	t.Logf("largest log seen: %d MB", maxWAL.Load()>>20)
	if maxWAL.Load() > 8<<20 {
		t.Fatalf("the log grew to %d MB: it is not restarted under continuous writes", maxWAL.Load()>>20)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > 0 {
		t.Fatalf("after Close the log still holds %d bytes", st.Size())
	}
	d, err = db.Open(ctx, path, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT count(*) FROM blobs WHERE length(v) = $1`, 16<<10).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 64 {
		t.Fatalf("after reopening: %d rows, want 64", n)
	}
}
