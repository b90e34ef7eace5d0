package gateway_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/congso/congso/internal/gateway"
	"github.com/congso/congso/internal/platform/db"
	"github.com/congso/congso/internal/platform/db/dbtest"
)

// journaled returns a message log of node n1 with its journal in dir.
func journaled(t *testing.T, d *db.DB, dir string) *gateway.MessageLog {
	t.Helper()
	ml, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: "n1", Key: testKey, SignInterval: time.Hour, JournalDir: dir})
	must(t, err)
	return ml
}

// run runs ml until the returned stop is called.
func run(ml *gateway.MessageLog) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ml.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func journalRecord(i int) gateway.Record {
	now := time.Now()
	return gateway.Record{At: now, DoneAt: now.Add(time.Millisecond), Client: client, Service: svcID, Method: "POST", Path: "/ho-so",
		Status: 200, Issue: fmt.Sprintf("H57-J%03d", i), RequestID: fmt.Sprintf("req-%03d", i), MessageID: fmt.Sprintf("msg-%03d", i),
		UserID: "VN/001099001234", RequestBytes: int64(i), ResponseBytes: 2 * int64(i), RequestHash: strings.Repeat("a", 64),
		ResponseHash: strings.Repeat("b", 64), RequestBody: `{"so_dinh_danh":"***"}`, ErrorType: ""}
}

// waitRecords waits until the database holds n records of n1, and
// checks that each request id is there once and the chain verifies.
func waitRecords(t *testing.T, d *db.DB, n int) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got int
		must(t, d.Read().QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(last_seq - first_seq + 1), 0) AS BIGINT) FROM gateway_msglog_pages WHERE node = 'n1'`).Scan(&got))
		if got == n {
			break
		}
		if got > n || time.Now().After(deadline) {
			t.Fatalf("records in the database: %d, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	recs, err := gateway.Records(ctx, d, "n1")
	must(t, err)
	ids := map[string]bool{}
	for _, r := range recs {
		ids[r.RequestID] = true
	}
	if distinct := len(ids); distinct != n {
		t.Fatalf("%d distinct exchanges in %d records: some logged twice", distinct, n)
	}
	rep, err := gateway.VerifyDB(ctx, d, nil)
	must(t, err)
	if !rep.OK() || rep.Records != int64(n) {
		t.Fatalf("chain: %+v", rep)
	}
}

// integration (message log, "nothing accepted is lost"): with a journal,
// Append returns once the record is in the local journal, and every
// record reaches the database, in order, exactly once.
func TestJournalRecordsReachTheDatabase(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ml := journaled(t, d, t.TempDir())
		stop := run(ml)
		defer stop()
		var wg sync.WaitGroup
		for i := 0; i < 300; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				must(t, ml.Append(context.Background(), journalRecord(i)))
			}(i)
		}
		wg.Wait()
		waitRecords(t, d, 300)
		recs, err := gateway.Search(context.Background(), d, gateway.Filter{Issue: "H57-J042"})
		must(t, err)
		want := journalRecord(42)
		if len(recs) != 1 || recs[0].RequestID != want.RequestID || recs[0].UserID != want.UserID || recs[0].RequestBytes != 42 ||
			recs[0].ResponseBytes != 84 || recs[0].RequestHash != want.RequestHash || recs[0].RequestBody != want.RequestBody ||
			recs[0].Path != "/ho-so" || recs[0].DoneAt.Sub(recs[0].At) != time.Millisecond || time.Since(recs[0].At) > time.Minute {
			t.Fatalf("record read back: %+v", recs)
		}
		if st := ml.Stats(); st.Commits >= 300 {
			t.Fatalf("%d commits for 300 records: not batched", st.Commits)
		}
	})
}

// A crash (the process stops without moving the journal into the
// database) loses nothing: the next start inserts what the database
// lacks, and nothing twice, also when the database already had part of it.
func TestJournalRecoversAfterACrash(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		dir := t.TempDir()
		// 40 records appended, none in the database: the process dies.
		ml := journaled(t, d, dir)
		for i := 0; i < 40; i++ {
			must(t, ml.Append(context.Background(), journalRecord(i)))
		}
		must(t, ml.Close())
		if err := ml.Append(context.Background(), journalRecord(99)); err == nil {
			t.Fatal("Append after Close succeeded")
		}

		// The next start moves them in; 20 more arrive and reach the
		// database too; then it dies again before deleting its journal.
		ml = journaled(t, d, dir)
		stop := run(ml)
		for i := 40; i < 60; i++ {
			must(t, ml.Append(context.Background(), journalRecord(i)))
		}
		waitRecords(t, d, 60)
		stop()

		// A third start finds only records the database has.
		ml = journaled(t, d, dir)
		stop = run(ml)
		must(t, ml.Append(context.Background(), journalRecord(60)))
		waitRecords(t, d, 61)
		stop()
	})
}

// A crash in the middle of a write leaves a torn entry at the end of the
// journal: it is cut off, the whole entries before it are kept.
func TestJournalCutsATornEntry(t *testing.T) {
	d := sqliteDB(t)
	dir := t.TempDir()
	ml := journaled(t, d, dir)
	for i := 0; i < 5; i++ {
		must(t, ml.Append(context.Background(), journalRecord(i)))
	}
	must(t, ml.Close())
	segs, err := filepath.Glob(filepath.Join(dir, "n1.*.journal"))
	must(t, err)
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	st, err := os.Stat(segs[0])
	must(t, err)
	f, err := os.OpenFile(segs[0], os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	f.Write([]byte{0, 0, 1, 0, 0xde, 0xad}) // the start of a sixth entry
	f.Close()

	ml = journaled(t, d, dir)
	if st2, _ := os.Stat(segs[0]); st2.Size() != st.Size() {
		t.Fatalf("segment is %d bytes after recovery, want %d (torn entry cut off)", st2.Size(), st.Size())
	}
	stop := run(ml)
	defer stop()
	waitRecords(t, d, 5)
	must(t, ml.Append(context.Background(), journalRecord(5)))
	waitRecords(t, d, 6)
}

// A journal entry damaged in the middle is not believed: the segment is
// kept aside for the operator and the entries before the damage are kept.
// Any byte of the last entry counts, its padding to 8 bytes included.
func TestJournalKeepsADamagedSegmentAside(t *testing.T) {
	for _, back := range []int{1, 3, 9} { // from the end of the file
		t.Run(fmt.Sprint(back), func(t *testing.T) {
			d := sqliteDB(t)
			dir := t.TempDir()
			ml := journaled(t, d, dir)
			for i := 0; i < 3; i++ {
				must(t, ml.Append(context.Background(), journalRecord(i)))
			}
			must(t, ml.Close())
			segs, _ := filepath.Glob(filepath.Join(dir, "n1.*.journal"))
			b, err := os.ReadFile(segs[0])
			must(t, err)
			b[len(b)-back] ^= 0xff // inside the third entry or its padding
			must(t, os.WriteFile(segs[0], b, 0o600))

			ml = journaled(t, d, dir)
			stop := run(ml)
			defer stop()
			waitRecords(t, d, 2)
			if _, err := os.Stat(segs[0] + ".damaged"); err != nil {
				t.Fatalf("damaged segment not kept aside: %v", err)
			}
		})
	}
}

// While the database cannot take the records (here: the table is
// renamed away), Append still succeeds and the records wait in the
// journal; they arrive once the database is back.
func TestJournalOutlivesADatabaseOutage(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ml := journaled(t, d, t.TempDir())
		stop := run(ml)
		defer stop()
		must(t, ml.Append(ctx, journalRecord(0)))
		waitRecords(t, d, 1)
		_, err := d.Write().ExecContext(ctx, `ALTER TABLE gateway_msglog_pages RENAME TO gateway_msglog_away`)
		must(t, err)
		for i := 1; i <= 20; i++ {
			must(t, ml.Append(ctx, journalRecord(i)))
		}
		// The status page shows the records waiting and the failure.
		deadline := time.Now().Add(10 * time.Second)
		for st := ml.JournalStatus(); st.FailingSince.IsZero(); st = ml.JournalStatus() {
			if time.Now().After(deadline) {
				t.Fatalf("journal status during the outage: %+v", st)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if st := ml.JournalStatus(); !st.Enabled || st.Waiting != 20 || !strings.Contains(st.LastError, "gateway_msglog") {
			t.Fatalf("journal status during the outage: %+v", st)
		}
		_, err = d.Write().ExecContext(ctx, `ALTER TABLE gateway_msglog_away RENAME TO gateway_msglog_pages`)
		must(t, err)
		waitRecords(t, d, 21)
		deadline = time.Now().Add(10 * time.Second)
		for st := ml.JournalStatus(); st.Waiting != 0 || !st.FailingSince.IsZero(); st = ml.JournalStatus() {
			if time.Now().After(deadline) {
				t.Fatalf("journal status after the outage: %+v", st)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// One process per node's journal: a second one is refused.
func TestJournalIsLocked(t *testing.T) {
	d := sqliteDB(t)
	dir := t.TempDir()
	ml := journaled(t, d, dir)
	defer ml.Close()
	_, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: "n1", Key: testKey, JournalDir: dir})
	if err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second journal of n1: %v", err)
	}
	other, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: "n2", Key: testKey, JournalDir: dir})
	must(t, err)
	other.Close()
}

// The journal stays small: segments whose records are all in the
// database are deleted, also after a crash that left several behind.
func TestJournalSegmentsAreDeleted(t *testing.T) {
	defer gateway.SetJournalSegments(4<<10, 8<<10)()
	d := sqliteDB(t)
	dir := t.TempDir()
	segments := func() []string {
		s, err := filepath.Glob(filepath.Join(dir, "n1.*.journal"))
		must(t, err)
		return s
	}
	ml := journaled(t, d, dir)
	for i := 0; i < 100; i++ { // about 30 KB: several segments
		must(t, ml.Append(context.Background(), journalRecord(i)))
	}
	must(t, ml.Close())
	if n := len(segments()); n < 4 {
		t.Fatalf("%d segments for 100 records of 4 KiB segments", n)
	}
	ml = journaled(t, d, dir)
	stop := run(ml)
	defer stop()
	waitRecords(t, d, 100)
	for i := 100; i < 300; i++ {
		must(t, ml.Append(context.Background(), journalRecord(i)))
	}
	waitRecords(t, d, 300)
	deadline := time.Now().Add(5 * time.Second)
	for len(segments()) > 2 {
		if time.Now().After(deadline) {
			t.Fatalf("segments left with every record in the database: %v", segments())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The process is killed (SIGKILL) while exchanges are being logged and
// the writer is moving them into the database: every record whose Append
// had returned is in the log after the restart, once, and the chain
// verifies (SQLite; the journal does not depend on the engine).
func TestJournalSurvivesKill(t *testing.T) {
	if dir := os.Getenv("CONGSO_JOURNAL_CRASH_DIR"); dir != "" {
		journalCrashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(dir, "log.db"), db.Options{})
	must(t, err)
	must(t, d.Migrate(ctx, migrations()))
	d.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CONGSO_JOURNAL_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	// Killed once it acknowledged 3,000 records and its writer moved some
	// (but not all) into the database.
	acked := map[string]bool{}
	inDB := 0
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(30 * time.Second)
	for (len(acked) < 3000 || inDB == 0) && sc.Scan() && time.Now().Before(deadline) {
		if id, ok := strings.CutPrefix(sc.Text(), "ok "); ok {
			acked[id] = true
		} else if n, ok := strings.CutPrefix(sc.Text(), "db "); ok {
			inDB, _ = strconv.Atoi(n)
		}
	}
	must(t, cmd.Process.Kill())
	cmd.Wait()
	if len(acked) < 1000 {
		t.Fatalf("only %d records acknowledged before the kill", len(acked))
	}

	d, err = db.Open(ctx, filepath.Join(dir, "log.db"), db.Options{})
	must(t, err)
	defer d.Close()
	ml, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: "n1", Key: testKey, SignInterval: time.Hour, JournalDir: filepath.Join(dir, "journal")})
	must(t, err)
	stop := run(ml)
	defer stop()
	for {
		recs, err := gateway.Records(ctx, d, "n1")
		must(t, err)
		seen := map[string]int{}
		for _, r := range recs {
			seen[r.RequestID]++
		}
		missing := 0
		for id := range acked {
			if seen[id] == 0 {
				missing++
			}
		}
		for id, n := range seen {
			if n > 1 {
				t.Fatalf("%s logged %d times", id, n)
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline.Add(15 * time.Second)) {
			t.Fatalf("%d of %d acknowledged records missing after the restart", missing, len(acked))
		}
		time.Sleep(20 * time.Millisecond)
	}
	rep, err := gateway.VerifyDB(ctx, d, nil)
	must(t, err)
	if !rep.OK() {
		t.Fatalf("chain after the kill: %+v", rep)
	}
	t.Logf("%d records acknowledged before the kill (%d of them in the database), %d in the log after the restart", len(acked), inDB, rep.Records)
}

// journalCrashChild logs records from several goroutines until killed,
// printing the request id of each record whose Append returned.
func journalCrashChild(t *testing.T, dir string) {
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(dir, "log.db"), db.Options{})
	must(t, err)
	ml, err := gateway.NewMessageLog(d, gateway.LogConfig{Node: "n1", Key: testKey, SignInterval: 50 * time.Millisecond, JournalDir: filepath.Join(dir, "journal")})
	must(t, err)
	go ml.Run(ctx)
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	go func() {
		for range time.Tick(5 * time.Millisecond) {
			mu.Lock()
			fmt.Fprintf(w, "db %d\n", ml.Stats().Records)
			w.Flush()
			mu.Unlock()
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				rec := journalRecord(i)
				rec.RequestID = fmt.Sprintf("g%d-%d", g, i)
				if err := ml.Append(ctx, rec); err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				fmt.Fprintf(w, "ok %s\n", rec.RequestID)
				w.Flush()
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
}

// `congso gateway doctor` reports records waiting in a node's journal and
// damaged segments.
func TestDoctorReadsTheJournal(t *testing.T) {
	d := sqliteDB(t)
	dir := t.TempDir()
	ctx := context.Background()
	journalCheck := func() gateway.Check {
		return doctorCheck(t, gateway.DoctorConfig{DB: d, Node: "n1", JournalDir: dir}, "message log journal")
	}
	if c := journalCheck(); c.Health != gateway.OK {
		t.Fatalf("no journal yet: %+v", c)
	}
	ml := journaled(t, d, dir)
	for i := 0; i < 7; i++ {
		must(t, ml.Append(ctx, journalRecord(i)))
	}
	if c := journalCheck(); c.Health != gateway.Warn || !strings.HasPrefix(c.Detail, "7 records wait") {
		t.Fatalf("7 records not in the database: %+v", c)
	}
	must(t, ml.Close())
	ml = journaled(t, d, dir)
	stop := run(ml)
	waitRecords(t, d, 7)
	stop()
	if c := journalCheck(); c.Health != gateway.OK || !strings.Contains(c.Detail, "every record") {
		t.Fatalf("all in the database: %+v", c)
	}
	must(t, os.WriteFile(filepath.Join(dir, "n1.00000000000000000001.journal.damaged"), []byte("x"), 0o600))
	if c := journalCheck(); c.Health != gateway.Fail {
		t.Fatalf("damaged segment: %+v", c)
	}
}

// With the database down longer than the queue in memory holds, Append
// waits (it does not drop or deadlock), and everything lands once the
// database is back; a node stopped meanwhile stops promptly and leaves
// the rest in its journal for the next start.
func TestJournalFullQueueAndStopDuringAnOutage(t *testing.T) {
	defer gateway.SetJournalQueue(4)()
	d := sqliteDB(t)
	dir := t.TempDir()
	ctx := context.Background()
	ml := journaled(t, d, dir)
	stop := run(ml)
	must(t, ml.Append(ctx, journalRecord(0)))
	waitRecords(t, d, 1)
	_, err := d.Write().ExecContext(ctx, `ALTER TABLE gateway_msglog_pages RENAME TO gateway_msglog_away`)
	must(t, err)
	for i := 1; i <= 10; i++ { // the writer takes these and retries them
		must(t, ml.Append(ctx, journalRecord(i)))
	}
	for deadline := time.Now().Add(10 * time.Second); ml.JournalStatus().FailingSince.IsZero(); {
		if time.Now().After(deadline) {
			t.Fatal("the writer does not fail")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var wg sync.WaitGroup
	var appended atomic.Int32
	for i := 11; i <= 30; i++ { // more than the queue holds: these wait
		wg.Add(1)
		go func(i int) { defer wg.Done(); must(t, ml.Append(ctx, journalRecord(i))); appended.Add(1) }(i)
	}
	time.Sleep(100 * time.Millisecond)
	if n := appended.Load(); n == 20 {
		t.Fatalf("all 20 appends returned with a queue of 4 and the database down")
	}
	status := make(chan gateway.JournalStatus)
	go func() { status <- ml.JournalStatus() }()
	select { // the status page still answers
	case st := <-status:
		if st.Waiting < 14 {
			t.Fatalf("status during the outage: %+v", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("JournalStatus blocked while appends wait for the queue")
	}
	_, err = d.Write().ExecContext(ctx, `ALTER TABLE gateway_msglog_away RENAME TO gateway_msglog_pages`)
	must(t, err)
	wg.Wait()
	waitRecords(t, d, 31)

	// Down again, and the node stops: Run returns, the records stay in
	// the journal and arrive with the next start.
	_, err = d.Write().ExecContext(ctx, `ALTER TABLE gateway_msglog_pages RENAME TO gateway_msglog_away`)
	must(t, err)
	for i := 31; i < 34; i++ {
		must(t, ml.Append(ctx, journalRecord(i)))
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return while the database was down")
	}
	_, err = d.Write().ExecContext(ctx, `ALTER TABLE gateway_msglog_away RENAME TO gateway_msglog_pages`)
	must(t, err)
	ml = journaled(t, d, dir)
	stop = run(ml)
	defer stop()
	waitRecords(t, d, 34)
}

// Records recovered from a journal go through the same pool as every
// Append: a log without a journal in the same process must not pick up a
// pending that lacks what it waits on (it hung forever once).
func TestJournalRecoveryLeavesThePoolSound(t *testing.T) {
	d := sqliteDB(t)
	dir := t.TempDir()
	ctx := context.Background()
	ml := journaled(t, d, dir)
	for i := 0; i < 200; i++ {
		must(t, ml.Append(ctx, journalRecord(i)))
	}
	must(t, ml.Close())
	ml = journaled(t, d, dir)
	stop := run(ml)
	waitRecords(t, d, 200)
	stop()

	plain, err := gateway.NewMessageLog(sqliteDB(t), gateway.LogConfig{Node: "n2", Key: testKey, SignInterval: time.Hour})
	must(t, err)
	rctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { plain.Run(rctx); close(stopped) }()
	defer func() {
		cancel()
		select { // a writer stuck on a broken pending never returns
		case <-stopped:
		case <-time.After(5 * time.Second):
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func(i int) { defer wg.Done(); must(t, plain.Append(ctx, journalRecord(i))) }(i)
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Append without a journal hangs after a journal's recovery")
	}
}

// integration "nothing accepted is lost": when the journal cannot take a
// record (its disk is full: no new segment can be made), the record goes
// to the database directly and Append waits for that commit; the status
// counts such records; once the disk has room again the journal takes
// over, and a restart inserts nothing twice.
func TestJournalFailureFallsBackToTheDatabase(t *testing.T) {
	if !gateway.JournalMapped {
		t.Skip("segments are not mapped on this system")
	}
	defer gateway.SetJournalSegments(4<<10, 8<<10)()
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		dir := t.TempDir()
		ml := journaled(t, d, dir)
		stop := run(ml)
		for i := 0; i < 5; i++ {
			must(t, ml.Append(context.Background(), journalRecord(i)))
		}
		restore := gateway.FailJournalSegments(errors.New("no space left on device"))
		var wg sync.WaitGroup
		for i := 5; i < 80; i++ { // more than a 4 KB segment holds
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if err := ml.Append(context.Background(), journalRecord(i)); err != nil {
					t.Errorf("append %d while the journal fails: %v", i, err)
				}
			}(i)
		}
		wg.Wait()
		st := ml.JournalStatus()
		if st.Bypassed == 0 {
			t.Fatalf("no record went around the failing journal: %+v", st)
		}
		restore()
		for i := 80; i < 90; i++ {
			must(t, ml.Append(context.Background(), journalRecord(i)))
		}
		waitRecords(t, d, 90)
		if st2 := ml.JournalStatus(); st2.Bypassed != st.Bypassed {
			t.Errorf("records still go around the journal once it works: %d, then %d", st.Bypassed, st2.Bypassed)
		}
		stop()
		// A restart reads the journal again: nothing is inserted twice.
		ml = journaled(t, d, dir)
		stop = run(ml)
		defer stop()
		must(t, ml.Append(context.Background(), journalRecord(90)))
		waitRecords(t, d, 91)
		t.Logf("%d of 75 records went to the database directly", st.Bypassed)
	})
}

// A node whose journal on this machine still holds records the database
// lacks is not retired: they would be lost with it.
func TestRetireRefusesANodeWithRecordsInItsJournal(t *testing.T) {
	dbtest.Each(t, migrations(), func(t *testing.T, d *db.DB) {
		dir := t.TempDir()
		ctx := context.Background()
		ml := journaled(t, d, dir)
		for i := 0; i < 5; i++ {
			must(t, ml.Append(ctx, journalRecord(i)))
		}
		must(t, ml.Close()) // the process dies
		opt := gateway.RetireOptions{LiveFor: time.Nanosecond, JournalDir: dir}
		if _, err := gateway.RetireNode(ctx, d, "n1", testKey, opt); err == nil || !strings.Contains(err.Error(), "5 records wait in its journal") {
			t.Fatalf("retired with 5 records in its journal: %v", err)
		}
		ml = journaled(t, d, dir)
		stop := run(ml)
		waitRecords(t, d, 5)
		stop()
		r, err := gateway.RetireNode(ctx, d, "n1", testKey, opt)
		must(t, err)
		if r.Records != 5 {
			t.Fatalf("retired: %+v", r)
		}
	})
}
