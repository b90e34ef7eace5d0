package db

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// SQLite checkpoints in the background.
//
// By default SQLite checkpoints the write-ahead log inside the COMMIT that
// makes it pass 1,000 pages: that commit copies the log into the database
// file and syncs both, which takes milliseconds to tens of milliseconds,
// and every caller waiting on that commit (a whole commit group, a whole
// batch of the gateway's message log) waits with it. The writer
// connection therefore never checkpoints (wal_autocheckpoint 0); a
// goroutine with its own connection runs PASSIVE checkpoints instead,
// which copy what they can without blocking the writer or the readers.
// The log starts again from its beginning only when a checkpoint has copied
// all of it before a write begins, which a checkpoint on another
// connection cannot ensure while writes keep coming. So once the log is
// over restartFrames and the background checkpoint has copied what it saw,
// the writer connection itself runs a PASSIVE checkpoint between two
// transactions: it copies only the frames written since (a short pause),
// and the next write restarts the log. The file is then cut back to
// journal_size_limit.
//
// A passive checkpoint cannot copy pages that a reader still needs; a
// reader that stays open for minutes makes the log grow until it ends, as
// with automatic checkpoints.

// walSizeLimit is what the log file is cut back to after a reset.
const walSizeLimit = 64 << 20

var (
	// checkpointEvery is how often the log is checkpointed.
	checkpointEvery = 200 * time.Millisecond
	// restartFrames is the log size (4 KiB pages) from which the writer
	// finishes the checkpoint so that the log restarts (16 MiB).
	restartFrames = 4096
)

type checkpointer struct {
	conn   *sql.DB // its own connection
	writer *sql.DB // the writer's (one connection)
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

func startCheckpointer(conn, writer *sql.DB) *checkpointer {
	c := &checkpointer{conn: conn, writer: writer, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.step(context.Background())
		}
	}
}

// step checkpoints in the background and, when the log is large and
// copied, lets the writer restart it.
func (c *checkpointer) step(ctx context.Context) {
	frames, copied, err := c.checkpoint(ctx, "PASSIVE")
	if err != nil || frames < restartFrames || copied < frames {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _ = c.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
}

// checkpoint runs one checkpoint of mode and reports the log's frames
// and how many of them are in the database file.
func (c *checkpointer) checkpoint(ctx context.Context, mode string) (logFrames, copied int, err error) {
	var busy int
	err = c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &copied)
	return logFrames, copied, err
}

// close stops the goroutine, copies the whole log into the database file
// (TRUNCATE: the log file is emptied) and closes the connection.
func (c *checkpointer) close() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _, _ = c.checkpoint(ctx, "TRUNCATE")
		err = c.conn.Close()
	})
	return err
}
