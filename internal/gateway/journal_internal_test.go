package gateway

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func journalTestRecord(i int) Record {
	at := time.Date(2026, 3, 2, 8, 0, i, 0, time.UTC)
	return Record{At: at, DoneAt: at.Add(time.Millisecond), Client: "VN/GOV/A/APP", Service: "VN/GOV/P/S/x/v1",
		RequestID: fmt.Sprint(i), Issue: "H57-1", Method: "GET", Path: "/x", Status: 200}
}

func nopLog(string, ...any) {}

// A process killed while it appends leaves its mapped segment at full
// size, zeros after the last entry: a restart reads every entry and
// appends after them.
func TestJournalReadsASegmentLeftMapped(t *testing.T) {
	if !journalMapped {
		t.Skip("no mapped journal on this system")
	}
	dir := t.TempDir()
	j, rec, err := openJournal(dir, "n1", 0, nopLog)
	check(t, err)
	if len(rec) != 0 {
		t.Fatalf("new journal recovered %d entries", len(rec))
	}
	for i := range 3 {
		r := journalTestRecord(i)
		j.mu.Lock()
		_, err := j.append(&r)
		j.mu.Unlock()
		check(t, err)
	}
	// As after a kill: no unmapping, no truncation, the lock released by
	// the kernel.
	unlockFile(j.lock)
	st, err := os.Stat(j.path(1))
	check(t, err)
	if st.Size() != journalSegmentBytes {
		t.Fatalf("segment of %d bytes, want the whole reservation %d", st.Size(), journalSegmentBytes)
	}
	j2, rec, err := openJournal(dir, "n1", 0, nopLog)
	check(t, err)
	defer j2.close()
	if len(rec) != 3 || rec[2].jseq != 3 || rec[2].rec.RequestID != "2" || rec[0].rec.At != journalTestRecord(0).At {
		t.Fatalf("recovered %+v", rec)
	}
	r := journalTestRecord(3)
	j2.mu.Lock()
	jseq, err := j2.append(&r)
	j2.mu.Unlock()
	check(t, err)
	if jseq != 4 {
		t.Fatalf("next entry numbered %d, want 4", jseq)
	}
	if _, err := os.Stat(j.path(1) + ".damaged"); err == nil {
		t.Fatal("the segment was taken for damaged")
	}
}

// Segments written before the mapped format (no magic, entries not
// aligned, one write(2) each) are still read after an upgrade.
func TestJournalReadsTheEarlierFormat(t *testing.T) {
	dir := t.TempDir()
	var b []byte
	for i := range 3 {
		r := journalTestRecord(i)
		e := binary.BigEndian.AppendUint64(nil, uint64(i+1))
		e = appendJournalRecord(e, &r)
		b = binary.BigEndian.AppendUint32(b, uint32(len(e)))
		b = binary.BigEndian.AppendUint32(b, crc32.Checksum(e, crcTable))
		b = append(b, e...)
	}
	check(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("n1.%020d.journal", 1)), b, 0o600))
	j, rec, err := openJournal(dir, "n1", 1, nopLog)
	check(t, err)
	defer j.close()
	if len(rec) != 2 || rec[0].jseq != 2 || rec[1].rec.RequestID != "2" {
		t.Fatalf("recovered %+v", rec)
	}
	if j.seq != 3 {
		t.Fatalf("journal continues after %d, want 3", j.seq)
	}
}

// A process stopped between making a segment and marking it leaves a
// file of zeros: an empty segment, not a damaged one.
func TestJournalReadsAnUnmarkedSegmentAsEmpty(t *testing.T) {
	dir := t.TempDir()
	check(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("n1.%020d.journal", 1)), make([]byte, 4096), 0o600))
	var warned []string
	j, rec, err := openJournal(dir, "n1", 0, func(msg string, _ ...any) { warned = append(warned, msg) })
	check(t, err)
	defer j.close()
	if len(rec) != 0 || len(warned) != 0 {
		t.Fatalf("recovered %d entries, warnings %q", len(rec), warned)
	}
	if _, err := os.Stat(j.path(1) + ".damaged"); err == nil {
		t.Fatal("the segment was taken for damaged")
	}
}
