package gateway

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/congso/congso/internal/platform/db"
)

// The message log's journal: a local write-ahead file that makes an
// appended record durable before it reaches the database.
//
// Without a journal, Append waits for the database transaction holding its
// record; at a gateway's rates that transaction carries a few records and
// its fixed cost (writing the changed pages) dominates, and while the
// database is unreachable records cannot be kept at all. With a journal
// (LogConfig.JournalDir), Append writes the record to the node's journal
// file, a checksummed entry copied into the file's shared memory mapping
// (one write(2) where there is no mmap), and returns; the writer then
// moves records into the database in large batches, retrying for as long
// as the database fails. The journal is exactly as durable as a SQLite
// commit in WAL mode with synchronous=NORMAL (both survive a crash of the
// process, neither a loss of power before the operating system wrote its
// cache).
//
// Each entry has a journal number (jseq), increasing by one per record of
// the node. The transaction that inserts a batch also stores the batch's
// highest jseq in the node's head row (journal_seq), so after a crash the
// entries above it, and only those, are inserted again: nothing is lost
// and nothing is logged twice. Entries live in segment files named after
// their first jseq; a segment is deleted once every entry in it is in the
// database, and a new one begins past journalSegmentBytes. A torn entry at
// the end of the last segment (a crash in the middle of a write) is cut
// off; a damaged entry elsewhere stops the reading of that segment, which
// is kept aside (renamed .damaged) for the operator, and logged.
//
// One process per node name and directory: the journal takes an exclusive
// lock (flock) on <node>.lock and a second process gets an error.
//
// A segment begins with journalMagic; each entry starts at a multiple of 8
// bytes: a header of 8 bytes (length and CRC-32C of what follows, big
// endian), the jseq, the record. Segments are allocated whole (fallocate)
// and mapped; an append copies the entry's body into the mapping, then
// stores its header with one atomic 8-byte store: a process that dies at
// any point leaves either the whole entry or a header of zeros, which
// ends the segment. Segments written before (no magic, no alignment,
// written with write(2)) are still read.
const journalMagic = "CGJRNL2\n"

// journalSegmentBytes is the size past which a new segment begins;
// journalRestartBytes the size past which a segment all in the database
// is replaced by a new one (variables for tests).
var journalSegmentBytes, journalRestartBytes int64 = 8 << 20, 4 << 20

// maxJournalEntry bounds one entry (a record with logged bodies included).
const maxJournalEntry = 64 << 20

type journal struct {
	dir, node string
	lock      *os.File

	mu    sync.Mutex // appends, rotation and deletion
	f     *os.File   // current segment
	m     []byte     // its mapping (nil: written with write(2))
	first uint64     // its first jseq
	size  int64      // bytes used
	seq   uint64     // last jseq written
	old   []uint64   // earlier segments' first jseqs, ascending
	buf   []byte
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// journalEntry is a record read back from the journal.
type journalEntry struct {
	jseq uint64
	rec  Record
}

// openJournal locks and reads the node's journal in dir: it returns the
// entries above committed (the database's journal_seq), in order, and a
// journal that appends after them.
func openJournal(dir, node string, committed uint64, logf func(msg string, args ...any)) (*journal, []journalEntry, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("message log journal: %w", err)
	}
	base := journalBase(node)
	lock, err := os.OpenFile(filepath.Join(dir, base+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("message log journal: %w", err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("message log journal %s: another process writes the journal of node %q (%w)", dir, node, err)
	}
	j := &journal{dir: dir, node: node, lock: lock, seq: committed}
	firsts, err := j.segments()
	if err != nil {
		j.close()
		return nil, nil, err
	}
	var out []journalEntry
	for _, first := range firsts {
		entries, end, rerr := readSegment(j.path(first), first)
		for _, e := range entries {
			if e.jseq > j.seq {
				j.seq = e.jseq
			}
			if e.jseq > committed {
				out = append(out, e)
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, errTornEntry):
			// A crash in the middle of a write (or a failed write, after
			// which a new segment began): cut the torn entry off.
			if err := os.Truncate(j.path(first), end); err != nil {
				j.close()
				return nil, nil, fmt.Errorf("message log journal: %w", err)
			}
			logf("gateway: message log journal: cut a torn entry off the end", "segment", j.path(first), "at", end)
		default:
			damaged := j.path(first) + ".damaged"
			_ = os.Rename(j.path(first), damaged)
			logf("gateway: message log journal: damaged segment kept aside; the records after the damage are not in the log", "segment", damaged, "err", rerr, "read", len(entries))
			continue
		}
		j.old = append(j.old, first)
	}
	if err := j.startSegment(); err != nil {
		j.close()
		return nil, nil, err
	}
	j.committed(committed)
	return j, out, nil
}

// journalBase is the file name stem of node's files: its name with
// anything but letters, digits, dot, dash and underscore replaced.
func journalBase(node string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, node)
}

func (j *journal) path(first uint64) string {
	return filepath.Join(j.dir, fmt.Sprintf("%s.%020d.journal", journalBase(j.node), first))
}

// segments lists the first jseqs of the node's segment files, ascending.
func (j *journal) segments() ([]uint64, error) {
	names, err := filepath.Glob(filepath.Join(j.dir, journalBase(j.node)+".*.journal"))
	if err != nil {
		return nil, err
	}
	var firsts []uint64
	for _, n := range names {
		mid := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(n), journalBase(j.node)+"."), ".journal")
		if v, err := strconv.ParseUint(mid, 10, 64); err == nil && len(mid) == 20 {
			firsts = append(firsts, v)
		}
	}
	sort.Slice(firsts, func(a, b int) bool { return firsts[a] < firsts[b] })
	return firsts, nil
}

// startSegment opens a new segment for the entries after j.seq.
func (j *journal) startSegment() error { return j.startSegmentFor(0) }

// startSegmentFor opens a new segment with room for an entry of need bytes.
func (j *journal) startSegmentFor(need int64) error {
	if j.f != nil {
		err := j.closeSegment()
		j.old = append(j.old, j.first) // its entries are on disk either way
		if err != nil {
			return fmt.Errorf("message log journal: %w", err)
		}
	}
	first := j.seq + 1
	f, err := os.OpenFile(j.path(first), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("message log journal: %w", err)
	}
	if len(j.old) > 0 && j.old[len(j.old)-1] == first {
		j.old = j.old[:len(j.old)-1] // an empty segment of the same name, replaced
	}
	if journalMapped {
		size := max(journalSegmentBytes, need+int64(len(journalMagic)))
		m, err := newSegmentMap(f, size)
		if err != nil {
			f.Close()
			os.Remove(j.path(first))
			return fmt.Errorf("message log journal: a segment of %d bytes: %w", size, err)
		}
		copy(m, journalMagic)
		j.m = m
	} else if _, err := f.WriteString(journalMagic); err != nil {
		f.Close()
		os.Remove(j.path(first))
		return fmt.Errorf("message log journal: %w", err)
	}
	j.f, j.first, j.size = f, first, int64(len(journalMagic))
	return nil
}

// closeSegment unmaps and closes the current segment, giving back the
// room reserved past its entries.
func (j *journal) closeSegment() error {
	var err error
	if j.m != nil {
		err = unmapSegment(j.m)
		j.m = nil
		err = errors.Join(err, j.f.Truncate(j.size))
	}
	err = errors.Join(err, j.f.Close())
	j.f = nil
	return err
}

// append writes rec as the next entry and returns its jseq. The caller
// holds j.mu.
func (j *journal) append(rec *Record) (uint64, error) {
	if j.lock == nil {
		return 0, errJournalClosed
	}
	if j.f == nil { // the last segment failed: try a new one
		if err := j.startSegment(); err != nil {
			return 0, err
		}
	}
	jseq := j.seq + 1
	b := j.buf[:0]
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0) // length, checksum
	b = binary.BigEndian.AppendUint64(b, jseq)
	b = appendJournalRecord(b, rec)
	if len(b)-8 > maxJournalEntry {
		return 0, fmt.Errorf("message log journal: record of %d bytes is too large", len(b))
	}
	binary.BigEndian.PutUint32(b[0:4], uint32(len(b)-8))
	binary.BigEndian.PutUint32(b[4:8], crc32.Checksum(b[8:], crcTable))
	for len(b)%8 != 0 {
		b = append(b, 0) // the next entry starts at a multiple of 8
	}
	if j.m != nil && j.size+int64(len(b)) > int64(len(j.m)) {
		if err := j.startSegmentFor(int64(len(b))); err != nil {
			return 0, err
		}
	}
	if j.m != nil {
		at := j.m[j.size : j.size+int64(len(b))]
		copy(at[8:], b[8:])
		// The header last, in one store: the entry is whole or absent.
		atomic.StoreUint64((*uint64)(unsafe.Pointer(&at[0])), binary.NativeEndian.Uint64(b[:8]))
	} else if _, err := j.f.Write(b); err != nil {
		// The entry may be partly written: begin a new segment so that no
		// later entry follows a torn one.
		_ = j.startSegment() // on failure j.f stays nil: the next append tries again
		return 0, fmt.Errorf("message log journal: %w", err)
	}
	if cap(b) <= 1<<20 {
		j.buf = b[:0]
	}
	j.seq = jseq
	j.size += int64(len(b))
	if j.size >= journalSegmentBytes {
		if err := j.startSegment(); err != nil {
			return jseq, nil // the entry is written; the next append reports the failure
		}
	}
	return jseq, nil
}

// committed notes that every entry up to jseq is in the database: it
// deletes the segments holding only such entries, and starts afresh when
// the current one holds only such entries and has grown.
func (j *journal) committed(jseq uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for len(j.old) > 0 {
		next := j.first
		if len(j.old) > 1 {
			next = j.old[1]
		}
		if next-1 > jseq {
			break
		}
		_ = os.Remove(j.path(j.old[0]))
		j.old = j.old[1:]
	}
	if j.f != nil && jseq >= j.seq && j.size >= journalRestartBytes {
		_ = j.startSegment()
		if len(j.old) > 0 {
			_ = os.Remove(j.path(j.old[len(j.old)-1]))
			j.old = j.old[:len(j.old)-1]
		}
	}
}

func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var err error
	if j.f != nil {
		err = j.closeSegment()
	}
	if j.lock != nil {
		unlockFile(j.lock)
		j.lock.Close()
		j.lock = nil
	}
	return err
}

var errTornEntry = errors.New("torn entry")

// newSegmentMap reserves and maps a new segment (a variable: tests make
// it fail, as a full disk would).
var newSegmentMap = mapSegment

// errJournalClosed: the log stopped (Run returned or Close was called).
var errJournalClosed = errors.New("message log journal closed")

// errLogStopped answers an Append waiting for a commit that will not come.
var errLogStopped = errors.New("message log stopped before the record reached the database")

// readSegment reads the entries of a segment whose first jseq is first;
// end is the offset after the last whole entry. A segment that ends inside
// an entry returns errTornEntry; a damaged entry another error.
func readSegment(path string, first uint64) (entries []journalEntry, end int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	aligned := false
	if magic, err := r.Peek(len(journalMagic)); err == nil && string(magic) == journalMagic {
		r.Discard(len(journalMagic))
		aligned, end = true, int64(len(journalMagic))
	}
	var head [8]byte
	want := first
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			if err == io.EOF {
				return entries, end, nil
			}
			return entries, end, errTornEntry
		}
		if head == [8]byte{} && (aligned || end == 0) {
			// The room after the last entry; or a segment begun and not
			// yet marked when the process stopped (no entry in it).
			return entries, end, nil
		}
		n := binary.BigEndian.Uint32(head[0:4])
		if n < 8 || n > maxJournalEntry {
			return entries, end, fmt.Errorf("entry at %d: length %d", end, n)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return entries, end, errTornEntry
		}
		if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(head[4:8]) {
			return entries, end, fmt.Errorf("entry at %d: checksum mismatch", end)
		}
		jseq := binary.BigEndian.Uint64(body[:8])
		if jseq != want {
			return entries, end, fmt.Errorf("entry at %d: number %d, want %d", end, jseq, want)
		}
		rec, err := readJournalRecord(body[8:])
		if err != nil {
			return entries, end, fmt.Errorf("entry at %d: %w", end, err)
		}
		size := int64(8 + n)
		if aligned {
			var pad [8]byte
			n := (8 - size%8) % 8
			if _, err := io.ReadFull(r, pad[:n]); err != nil {
				return entries, end, errTornEntry
			}
			if pad != [8]byte{} {
				return entries, end, fmt.Errorf("entry at %d: padding not zero", end)
			}
			size += n
		}
		entries = append(entries, journalEntry{jseq: jseq, rec: rec})
		end += size
		want++
	}
}

// appendJournalRecord encodes the fields Append receives (not the chain:
// the writer chains records as it inserts them).
func appendJournalRecord(b []byte, r *Record) []byte {
	b = binary.AppendVarint(b, r.At.UnixNano())
	b = binary.AppendVarint(b, r.DoneAt.UnixNano())
	for _, s := range [...]string{r.Client, r.Service, r.MessageID, r.RequestID, r.UserID, r.Issue, r.Method, r.Path, r.ErrorType,
		r.RequestHash, r.ResponseHash, r.RequestBody, r.ResponseBody} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, int64(r.Status))
	b = binary.AppendVarint(b, r.RequestBytes)
	b = binary.AppendVarint(b, r.ResponseBytes)
	return b
}

func readJournalRecord(b []byte) (Record, error) {
	var r Record
	bad := errors.New("malformed record")
	varint := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			b = nil
			return 0
		}
		b = b[n:]
		return v
	}
	at, done := varint(), varint()
	for _, p := range [...]*string{&r.Client, &r.Service, &r.MessageID, &r.RequestID, &r.UserID, &r.Issue, &r.Method, &r.Path, &r.ErrorType,
		&r.RequestHash, &r.ResponseHash, &r.RequestBody, &r.ResponseBody} {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return Record{}, bad
		}
		*p = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	if b == nil {
		return Record{}, bad
	}
	r.Status = int(varint())
	r.RequestBytes = varint()
	r.ResponseBytes = varint()
	if b == nil || len(b) != 0 {
		return Record{}, bad
	}
	r.At, r.DoneAt = time.Unix(0, at).UTC(), time.Unix(0, done).UTC()
	return r, nil
}

// journalQueue bounds the records held in memory between the journal and
// the database; past it, Append waits for the database (a variable for
// tests).
var journalQueue = 1 << 16

// journalLinger is how long the writer gathers records for one batch
// once the first has arrived (nobody waits for the commit).
const journalLinger = 20 * time.Millisecond

func journalMigrations() []db.Migration {
	return []db.Migration{{Module: "gateway", Version: 8, Name: "message log journal", Up: `
ALTER TABLE gateway_msglog_head ADD COLUMN journal_seq BIGINT NOT NULL DEFAULT 0;
`}}
}

// journalCommitted reads the highest journal number the database holds
// for node.
func journalCommitted(ctx context.Context, d *db.DB, node string) (uint64, error) {
	var n int64
	err := d.Read().QueryRowContext(ctx, `SELECT journal_seq FROM gateway_msglog_head WHERE node = $1`, node).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("message log journal: %w", err)
	}
	return uint64(n), nil
}

// appendJournal writes rec to the journal and queues it for the database.
// If the journal cannot take it (a full disk, a segment that cannot be
// made), the record goes to the database all the same and Append waits
// for that commit, as without a journal: an exchange is not answered
// without its record.
func (l *MessageLog) appendJournal(rec Record) error {
	// l.qmu keeps the queue in journal order, so the journal_seq the
	// writer stores covers every record before it. The journal's own lock
	// is not held while the queue is full: the writer takes it after each
	// batch (committed).
	l.qmu.Lock()
	l.j.mu.Lock()
	jseq, err := l.j.append(&rec)
	l.j.mu.Unlock()
	if errors.Is(err, errJournalClosed) {
		l.qmu.Unlock()
		return err
	}
	p := pendingPool.Get().(*pending)
	p.rec, p.jseq, p.wait = rec, jseq, err != nil
	l.in <- p
	if n := len(l.in); n >= l.cfg.MaxBatch || n == cap(l.in) {
		select { // a batch's worth, or a full queue: the writer need not wait
		case l.full <- struct{}{}:
		default:
		}
	}
	l.qmu.Unlock()
	if err == nil {
		return nil
	}
	l.jstat.Lock()
	l.jbypassed++
	first := l.jbypassed == 1
	l.jstat.Unlock()
	if first {
		l.cfg.Logger.Error("gateway: message log journal failing: records go to the database directly", "err", err)
	}
	derr := <-p.done
	p.rec, p.wait = Record{}, false
	pendingPool.Put(p)
	if derr != nil {
		return errors.Join(err, derr)
	}
	return nil
}

// writeRecovered moves into the database the journal's records that were
// not there at start; false if it gave up because ctx ended (nothing
// later may then be written).
func (l *MessageLog) writeRecovered(ctx context.Context) bool {
	rec := l.recovered
	l.recovered = nil
	for len(rec) > 0 {
		n := min(len(rec), l.cfg.MaxBatch)
		batch := make([]*pending, n)
		for i := range batch {
			// From the pool, which writeJournaled returns them to: a
			// pending made here would lack the done channel an Append
			// without a journal waits on.
			p := pendingPool.Get().(*pending)
			p.rec, p.jseq = rec[i].rec, rec[i].jseq
			batch[i] = p
		}
		if !l.writeJournaled(ctx, batch) {
			return false // stopping: the rest stays in the journal
		}
		rec = rec[n:]
	}
	return true
}

// linger adds to batch what arrives within journalLinger, up to MaxBatch.
// The records wait in the channel's buffer meanwhile: the writer wakes
// once a batch (the timer, or l.full when a batch's worth is queued),
// not once a record, which at moderate rates cost each exchange a
// goroutine wake-up.
func (l *MessageLog) linger(ctx context.Context, batch []*pending) []*pending {
	if batch = l.drain(batch); len(batch) >= l.cfg.MaxBatch {
		return batch
	}
	t := time.NewTimer(journalLinger)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return l.drain(batch)
		case <-l.full:
			// The queue is full (a batch's worth, or all it holds): take
			// what waits, and go on gathering unless the batch is full.
			if batch = l.drain(batch); len(batch) >= l.cfg.MaxBatch {
				return batch
			}
		case <-ctx.Done():
			return l.drain(batch)
		}
	}
}

// writeJournaled inserts a batch of journaled records, retrying while the
// database fails (the records are safe in the journal meanwhile); it
// reports false if it gave up because ctx ended, the records then staying
// in the journal for the next start.
func (l *MessageLog) writeJournaled(ctx context.Context, batch []*pending) bool {
	wait := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := l.insert(context.WithoutCancel(ctx), batch)
		if err == nil {
			break
		}
		l.headOK = false // the head may be what failed: read it again
		l.jstat.Lock()
		if l.jfailSince.IsZero() {
			l.jfailSince = l.cfg.Now()
		}
		l.jlastErr = err.Error()
		l.jstat.Unlock()
		if attempt == 1 || attempt%50 == 0 {
			l.cfg.Logger.Error("gateway: message log: records wait in the journal for the database", "records", len(batch), "attempt", attempt, "err", err)
		}
		if ctx.Err() != nil && attempt >= 3 {
			for _, p := range batch {
				if p.wait {
					p.done <- errLogStopped
				}
			}
			return false
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, 5*time.Second)
	}
	l.records.Add(int64(len(batch)))
	l.commits.Add(1)
	last := lastJseq(batch)
	l.jstat.Lock()
	l.jcommitted = max(l.jcommitted, last)
	l.jfailSince, l.jlastErr = time.Time{}, ""
	l.jstat.Unlock()
	if last > 0 {
		l.j.committed(last)
	}
	for _, p := range batch {
		if p.wait {
			p.done <- nil // its Append returns it to the pool
			continue
		}
		p.rec, p.jseq = Record{}, 0
		pendingPool.Put(p)
	}
	return true
}

// Close releases the journal without moving what it holds into the
// database (that stays for the next start); Run does it when it returns.
// Append fails afterwards. Without a journal Close does nothing.
func (l *MessageLog) Close() error {
	if l.j == nil {
		return nil
	}
	return l.j.close()
}

// JournalStatus is the state of this node's message log journal, for the
// status page: how many records of answered exchanges wait in it for the
// database, and since when the database refuses them.
type JournalStatus struct {
	Enabled bool   `json:"enabled"`
	Dir     string `json:"dir,omitempty"`
	// Waiting counts the records in the journal not yet in the database.
	Waiting int64 `json:"waiting"`
	// FailingSince is when the writer last began failing (zero: it is
	// not); LastError says why.
	FailingSince time.Time `json:"failing_since,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	// Bypassed counts the records the journal could not take since the
	// node started (they went to the database directly, each exchange
	// waiting for its commit): not zero means the journal's disk needs
	// looking at.
	Bypassed int64 `json:"bypassed,omitempty"`
}

// JournalStatus reports the state of the journal.
func (l *MessageLog) JournalStatus() JournalStatus {
	if l == nil || l.j == nil {
		return JournalStatus{}
	}
	l.jstat.Lock()
	defer l.jstat.Unlock()
	l.j.mu.Lock()
	written := l.j.seq
	l.j.mu.Unlock()
	st := JournalStatus{Enabled: true, Dir: l.j.dir, FailingSince: l.jfailSince, LastError: l.jlastErr, Bypassed: l.jbypassed}
	if written > l.jcommitted {
		st.Waiting = int64(written - l.jcommitted)
	}
	return st
}

// journalHealth reads node's journal in dir (without its lock: the node
// may be running) for `congso gateway doctor`: the records in it that the
// database lacks, and damaged segments kept aside.
func journalHealth(ctx context.Context, d *db.DB, dir, node string) (string, Health) {
	waiting, damaged, segments, err := journalWaiting(ctx, d, dir, node)
	if err != nil {
		return err.Error(), Fail
	}
	switch {
	case len(damaged) > 0:
		return fmt.Sprintf("damaged segments kept aside (records after the damage are not in the log): %s", strings.Join(damaged, ", ")), Fail
	case waiting > 0:
		return fmt.Sprintf("%d records wait in %s for the database (normal for a moment under load; if it lasts, the status page says why)", waiting, dir), Warn
	case segments == 0:
		return fmt.Sprintf("empty (%s)", dir), OK
	}
	return fmt.Sprintf("every record is in the database (%s)", dir), OK
}

// journalWaiting reads node's journal in dir without opening it for
// writing: how many records wait for the database, the damaged segments
// kept aside, and how many segments there are.
func journalWaiting(ctx context.Context, d *db.DB, dir, node string) (waiting uint64, damaged []string, segments int, err error) {
	committed, err := journalCommitted(ctx, d, node)
	if err != nil {
		return 0, nil, 0, err
	}
	damaged, _ = filepath.Glob(filepath.Join(dir, journalBase(node)+".*.journal.damaged"))
	j := &journal{dir: dir, node: node}
	firsts, err := j.segments()
	if err != nil {
		return 0, nil, 0, err
	}
	var last uint64
	if len(firsts) > 0 {
		entries, _, _ := readSegment(j.path(firsts[len(firsts)-1]), firsts[len(firsts)-1])
		if len(entries) > 0 {
			last = entries[len(entries)-1].jseq
		}
	}
	if last > committed {
		waiting = last - committed
	}
	return waiting, damaged, len(firsts), nil
}
